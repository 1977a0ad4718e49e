"""Third-party host libraries written for real EF01 modules, unchanged, against the simulator.

* pyfingerprint 1.5 (reads byte by byte, opens the port with ``serial.Serial``): over a pty.
* adafruit-circuitpython-fingerprint (reads fixed sizes per reply; takes a pyserial object):
  over our ``sim://`` pyserial URL, with the module timing model on (timing=1).

Both are optional test dependencies (``pip install pyfingerprint adafruit-circuitpython-fingerprint``).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time

import pytest
import serial

from firmware_sim import registry
from firmware_sim.attach import create_runner


def _wait_ready(runner, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not runner.device.ready:
        assert time.monotonic() < deadline, "the simulated module never finished booting"
        time.sleep(0.01)


@pytest.fixture
def module_runner(request):
    options = {"seed": "11", **getattr(request, "param", {})}
    runner = create_runner("fingerprint", options)
    runner.start()
    try:
        _wait_ready(runner)
        yield runner
    finally:
        runner.stop()


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pty")
def test_pyfingerprint_over_a_pty(module_runner, tmp_path) -> None:
    pyfingerprint = pytest.importorskip("pyfingerprint.pyfingerprint")
    link = str(tmp_path / "ttyFP")
    module_runner.serve_pty(link)
    f = pyfingerprint.PyFingerprint(link, 57600, 0xFFFFFFFF, 0x00000000)
    try:
        assert f.verifyPassword() is True
        assert f.getStorageCapacity() == 1000 and f.getSecurityLevel() == 3
        assert f.getMaxPacketSize() == 128 and f.getBaudRate() == 57600
        assert f.getTemplateCount() == 0
        assert f.readImage() is False  # no finger
        for buffer in (0x01, 0x02):
            module_runner.command("place 5 95")
            assert f.readImage() is True
            f.convertImage(buffer)
            module_runner.command("lift")
        assert f.compareCharacteristics() > 0
        f.createTemplate()
        assert f.storeTemplate(7, 0x01) == 7
        assert f.getTemplateIndex(0)[7] is True and f.getTemplateCount() == 1
        module_runner.command("place 5 95")
        assert f.readImage()
        f.convertImage(0x01)
        assert f.searchTemplate()[0] == 7
        template = f.downloadCharacteristics(0x01)
        assert len(template) == 512
        assert f.uploadCharacteristics(0x02, template) is True  # round trip through the module
        png = tmp_path / "finger.png"
        f.downloadImage(str(png))  # 36,864 bytes read one by one
        assert png.stat().st_size > 1000
        module_runner.command("place 9 95")
        assert f.readImage()
        f.convertImage(0x01)
        assert f.searchTemplate()[0] == -1
        assert isinstance(f.generateRandomNumber(), int)
        assert f.deleteTemplate(7) is True and f.getTemplateCount() == 0
        assert f.clearDatabase() is True
    finally:
        del f


@pytest.mark.parametrize("module_runner", [{"model": "r503", "timing": "1"}], indirect=True)
def test_adafruit_fingerprint_with_a_pyserial_port(module_runner) -> None:
    adafruit_fingerprint = pytest.importorskip("adafruit_fingerprint")
    name = f"adafruit-{id(module_runner)}"
    registry.register_runner(name, module_runner)
    uart = serial.serial_for_url(f"sim://fingerprint?name={name}", baudrate=57600, timeout=1)
    try:
        finger = adafruit_fingerprint.Adafruit_Fingerprint(uart)
        assert finger.library_size == 200 and finger.data_packet_size == 2
        assert finger.get_image() == adafruit_fingerprint.NOFINGER
        for slot in (1, 2):
            module_runner.command("place 3 95")
            assert finger.get_image() == adafruit_fingerprint.OK
            assert finger.image_2_tz(slot) == adafruit_fingerprint.OK
            module_runner.command("lift")
        assert finger.create_model() == adafruit_fingerprint.OK
        assert finger.store_model(12, 1) == adafruit_fingerprint.OK
        assert finger.count_templates() == adafruit_fingerprint.OK and finger.template_count == 1
        assert finger.read_templates() == adafruit_fingerprint.OK and finger.templates == [12]
        module_runner.command("place 3 95")
        assert finger.get_image() == adafruit_fingerprint.OK
        assert finger.image_2_tz(1) == adafruit_fingerprint.OK
        assert finger.finger_search() == adafruit_fingerprint.OK and finger.finger_id == 12
        template = finger.get_fpdata("char", 1)
        assert len(template) == 1536
        assert finger.send_fpdata(template, "char", 2)
        assert finger.get_fpdata("char", 2) == template
        assert finger.compare_templates() == adafruit_fingerprint.OK
        # R503 has no HighSpeedSearch: like the real part it answers a bare 12-byte "FC", so
        # this library (reading 16 bytes) fails as it does in the field; nothing is left over
        with pytest.raises(RuntimeError):
            finger.finger_fast_search()
        assert uart.in_waiting == 0
        assert finger.set_led(color=2, mode=1) == adafruit_fingerprint.OK
        assert module_runner.device.led["colour"] == "blue"
        finger.soft_reset()  # reads the 0x55 handshake after the ack
        assert finger.verify_password() == adafruit_fingerprint.OK
        assert finger.delete_model(12) == adafruit_fingerprint.OK
        assert finger.empty_library() == adafruit_fingerprint.OK
    finally:
        uart.close()


class _SimProcess:
    """``tactile sim fingerprint`` as a technician runs it, with a deadline on every line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "sim", "fingerprint", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._buf = b""
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)

    def line(self, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            assert remaining > 0 and self._sel.select(remaining), f"no line: {self._buf!r}"
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            assert chunk, f"tactile sim ended: {self.proc.stderr.read()!r}"
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\n", 1)
        return json.loads(raw)

    def ask(self, command: str) -> dict:
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()
        while "ok" not in (reply := self.line()):
            pass
        return reply

    def wait_booted(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.ask("status")["ready"]:
            assert time.monotonic() < deadline, "the simulated module never finished booting"
            time.sleep(0.05)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        finally:
            self._sel.close()
            for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                pipe.close()


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pty")
def test_pyfingerprint_against_the_cli_simulator_keeps_prints_across_runs(tmp_path) -> None:
    pyfingerprint = pytest.importorskip("pyfingerprint.pyfingerprint")
    link, state = str(tmp_path / "ttyFP"), str(tmp_path / "module.json")
    sim = _SimProcess("--pty-link", link, "--state", state, "--seed", "4")
    try:
        assert sim.line()["event"] == "ready"
        sim.wait_booted()  # the ZFM boots for 500 ms and answers nothing meanwhile
        f = pyfingerprint.PyFingerprint(link, 57600, 0xFFFFFFFF, 0)
        assert f.verifyPassword()
        for buffer in (0x01, 0x02):
            assert sim.ask("place 8 95")["ok"]
            assert f.readImage()
            f.convertImage(buffer)
            assert sim.ask("lift")["ok"]
        f.createTemplate()
        assert f.storeTemplate(42, 0x01) == 42
        del f
    finally:
        assert sim.stop() == 0
    sim = _SimProcess("--pty-link", link, "--state", state, "--seed", "5")
    try:
        assert sim.line()["event"] == "ready"
        sim.wait_booted()
        f = pyfingerprint.PyFingerprint(link, 57600, 0xFFFFFFFF, 0)
        assert f.verifyPassword() and f.getTemplateCount() == 1
        assert sim.ask("place 8 95")["ok"]
        assert f.readImage()
        f.convertImage(0x01)
        assert f.searchTemplate()[0] == 42
        del f
    finally:
        assert sim.stop() == 0
    assert not os.path.lexists(link)
