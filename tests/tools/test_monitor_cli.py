"""``tactile monitor``: a tap that forwards every byte unchanged and decodes both directions.

A driver on one side (through the monitor's own pty), a simulator on the other (its pty): a
whole fingerprint enrollment and a PIN entry pass through; what the driver wrote is exactly
what the monitor forwarded (and back), and the decoded frames show both directions with the
PIN block and the PAN masked."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time

import pytest

from drivers import FingerprintReader, TactilePinPad
from drivers.transport import SerialTransport, Transport
from fingerprint_helpers import Customer, new_runner as new_fp_runner
from pinpad_rig import PAN, decrypt, new_runner as new_pad_runner
from tools._frames import DEVICE_TO_HOST, HOST_TO_DEVICE
from tools.cli import main
from tools.monitor import Monitor, PtyEnd

LAUNCH = "import sys; from tools.cli import main; sys.exit(main(sys.argv[1:]))"


class Recording(Transport):
    """The driver's own view of the line: every byte it wrote and read."""

    def __init__(self, inner: SerialTransport) -> None:
        self.inner = inner
        self.description = inner.description
        self.baudrate = inner.baudrate
        self.written = bytearray()
        self.read_back = bytearray()

    def write(self, data: bytes) -> None:
        self.written += data
        self.inner.write(data)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        data = self.inner.read(max_bytes, timeout)
        self.read_back += data
        return data

    def set_baudrate(self, baudrate: int) -> None:
        self.inner.set_baudrate(baudrate)

    def reset_input(self) -> None:
        self.inner.reset_input()

    @property
    def closed(self) -> bool:
        return self.inner.closed

    def close(self) -> None:
        self.inner.close()


class Tap:
    """A Monitor between a pty it makes (for the driver) and a simulator's pty."""

    def __init__(self, tmp_path, device_port: str, raw=None) -> None:
        self.frames = []
        self.host = PtyEnd(str(tmp_path / "tap"))
        self.device = SerialTransport(device_port, 115200)
        self.monitor = Monitor(self.host, self.device, on_frame=self.frames.append, raw=raw)
        self.monitor.start()

    def close(self) -> None:
        self.monitor.stop()
        self.host.close()
        self.device.close()

    def stream(self, direction: str) -> bytes:
        return b"".join(f.raw for f in self.frames if f.direction == direction)


def test_a_fingerprint_enrollment_passes_through_unchanged(tmp_path):
    runner = new_fp_runner("r503")
    try:
        tap = Tap(tmp_path, runner.serve_pty(str(tmp_path / "fp")))
        try:
            line = Recording(SerialTransport(str(tmp_path / "tap"), 57600))
            customer = Customer(runner, finger=4)
            with FingerprintReader.open(line, close_transport=True) as reader:
                template = reader.enroll(slot=5, on_event=customer)
                assert template.slot == 5
                assert reader.verify(5, on_event=customer).matched
            deadline = time.monotonic() + 3
            while (len(tap.stream(DEVICE_TO_HOST)) < len(line.read_back)
                   and time.monotonic() < deadline):
                time.sleep(0.02)
        finally:
            tap.close()
    finally:
        runner.stop()
    # every byte, both ways, unchanged and in order (frames and garbage together)
    assert tap.stream(HOST_TO_DEVICE) == bytes(line.written)
    assert tap.stream(DEVICE_TO_HOST) == bytes(line.read_back)
    sent = [f.message for f in tap.frames if f.direction == HOST_TO_DEVICE]
    got = [f.message for f in tap.frames if f.direction == DEVICE_TO_HOST]
    for name in ("ReadSysPara", "GenImg", "Img2Tz", "RegModel", "Store", "Search"):
        assert name in sent, sent
    for name in ("reply to GenImg", "reply to RegModel", "reply to Store"):
        assert name in got, got
    assert all(f.checksum_ok for f in tap.frames if f.protocol)


def test_a_pin_entry_passes_through_with_the_pin_block_masked(tmp_path):
    runner = new_pad_runner("telephone")
    try:
        tap = Tap(tmp_path, runner.serve_pty(str(tmp_path / "pad")))
        try:
            line = Recording(SerialTransport(str(tmp_path / "tap"), 115200))
            with TactilePinPad.open(line) as pad:
                runner.command("script press 4; press 7; press 1; press 9; press enter")
                with pad.pin_entry(min_len=4, max_len=6, pan=PAN) as entry:
                    for _ in entry:
                        pass
                assert decrypt(entry.pin_block, entry.ksn, "iso4") == "4719"
            deadline = time.monotonic() + 3
            while (len(tap.stream(DEVICE_TO_HOST)) < len(line.read_back)
                   and time.monotonic() < deadline):
                time.sleep(0.02)
        finally:
            tap.close()
    finally:
        runner.stop()
    assert tap.stream(HOST_TO_DEVICE) == bytes(line.written)
    assert tap.stream(DEVICE_TO_HOST) == bytes(line.read_back)
    names = {(f.direction, f.message) for f in tap.frames}
    for expected in [(HOST_TO_DEVICE, "Hello"), (HOST_TO_DEVICE, "PinEntry"),
                     (DEVICE_TO_HOST, "DigitEntered"), (DEVICE_TO_HOST, "PinEntryCompleted"),
                     (HOST_TO_DEVICE, "GetPinBlock"), (DEVICE_TO_HOST, "PinBlockReply"),
                     (HOST_TO_DEVICE, "ACK"), (DEVICE_TO_HOST, "ACK")]:
        assert expected in names
    reply = next(f for f in tap.frames if f.message == "PinBlockReply")
    assert reply.fields["block"] == "****"
    shown = json.dumps([f.to_dict() for f in tap.frames])
    assert entry.pin_block.hex().upper() not in shown
    assert PAN not in shown and "411111******1111" in shown
    assert "4719" not in shown


def test_monitor_as_a_process_records_and_decode_reads_it_back(tmp_path, capsys):
    runner = new_fp_runner("r307")
    tap = str(tmp_path / "tap")
    raw = tmp_path / "line.rec"
    try:
        device = runner.serve_pty(str(tmp_path / "fp"))
        proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "monitor", f"pty:{tap}", device,
                                 "--json", "--raw", str(raw)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            ready = _read_json_line(proc)
            assert ready["event"] == "ready" and ready["host_port"] == tap
            assert main(["fingerprint", "info", tap, "--json"]) == 0
            info = json.loads(capsys.readouterr().out.splitlines()[-1])
            assert info["model"] == "ZFM/R30x-class module"
            time.sleep(0.3)
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
    finally:
        runner.stop()
    lines = [json.loads(x) for x in out.decode().splitlines()]
    assert lines[-1]["event"] == "stopped" and lines[-1]["reason"] == "SIGINT"
    frames = [x for x in lines if "protocol" in x]
    assert {x["dir"] for x in frames} == {HOST_TO_DEVICE, DEVICE_TO_HOST}
    assert "ReadSysPara" in [x["message"] for x in frames]
    assert not os.path.lexists(tap)
    # the recording decodes to the same frames
    assert main(["decode", str(raw), "--json"]) == 0
    decoded = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["message"] for x in decoded if "protocol" in x] == [x["message"] for x in frames]
    assert decoded[-1]["summary"] and decoded[-1]["bad_checksums"] == 0


def test_a_device_side_that_cannot_be_opened_is_a_plain_error(tmp_path, capsys):
    code = main(["monitor", f"pty:{tmp_path / 'tap'}", str(tmp_path / "nothing-here"),
                 "--duration", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "cannot open" in err and "Traceback" not in err
    assert not os.path.lexists(tmp_path / "tap")


def _read_json_line(proc, timeout: float = 20.0) -> dict:
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    deadline = time.monotonic() + timeout
    try:
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                pytest.fail("the monitor printed no ready line: " + proc.stderr.read1().decode())
            chunk = os.read(proc.stdout.fileno(), 1)
            if not chunk:
                pytest.fail("the monitor ended: " + proc.stderr.read().decode())
            buf += chunk
    finally:
        sel.close()
    return json.loads(buf)


def test_monitor_in_process_with_a_duration(tmp_path, capsys):
    import threading

    runner = new_fp_runner("r503")
    tap = tmp_path / "tap"
    codes = []
    try:
        device = runner.serve_pty(str(tmp_path / "fp"))
        thread = threading.Thread(target=lambda: codes.append(main(
            ["monitor", f"pty:{tap}", device, "--duration", "1.5"])))
        thread.start()
        deadline = time.monotonic() + 5
        while not tap.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        with FingerprintReader.open(str(tap)) as reader:
            assert reader.template_count() == 0
        thread.join(10)
    finally:
        runner.stop()
    assert codes == [0]
    out = capsys.readouterr().out
    assert "host>dev  EF01  TemplateNum  [ok]" in out
    assert "dev>host  EF01  reply to TemplateNum code=0x00" in out and "count=0" in out
    assert "Stopped (duration)" in out and not tap.exists()
