"""``tactile list``: serial ports and USB devices, table and JSON; USB problems are shown."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from types import SimpleNamespace

from drivers import FingerprintReader
from drivers.transport import SerialTransport
from firmware_sim.attach import create_runner
from protocol.errors import TransportError
from tools import list as list_tool
from tools.cli import main


def test_json_output_in_a_real_process():
    done = subprocess.run([sys.executable, "-m", "tools.cli", "list", "--json"],
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert isinstance(report, list)           # the contract: one array of objects
    for item in report:
        assert item["type"] in ("serial", "usb")
        if item["type"] == "serial":
            assert set(item) >= {"device", "description", "vid_pid", "serial", "known_as"}


def test_table_output_in_a_real_process():
    done = subprocess.run([sys.executable, "-m", "tools.cli", "list"], capture_output=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert "Serial ports" in text or "No serial ports found" in text
    assert "USB" in text


def test_usb_devices_are_described():
    device = SimpleNamespace(selector="1209:0001:SIM0001", vid=0x1209, pid=0x0001,
                             serial="SIM0001", manufacturer="Tactile", product="Pad",
                             bus=1, address=4)
    devices, problem = list_tool.usb_devices(lambda: [device])
    assert problem is None
    assert devices == [{"type": "usb", "selector": "1209:0001:SIM0001", "vid_pid": "1209:0001",
                        "serial": "SIM0001", "manufacturer": "Tactile", "product": "Pad",
                        "bus": 1, "address": 4,
                        "known_as": "TPP PIN pad (USB, pid.codes test PID)"}]


def test_a_missing_usb_backend_is_reported_not_hidden(capsys):
    def broken():
        raise TransportError("no libusb backend: pip install libusb-package")

    devices, problem = list_tool.usb_devices(broken)
    assert devices == [] and "libusb" in problem
    list_tool._print_tables([], [], "no libusb [backend]")
    out = capsys.readouterr().out
    assert "USB devices not listed" in out and "no libusb [backend]" in out
    assert "No serial ports found" in out


def test_run_with_json(monkeypatch, capsys):
    monkeypatch.setattr(list_tool, "serial_ports", lambda: [{"device": "/dev/ttyUSB0"}])
    monkeypatch.setattr(list_tool, "usb_devices", lambda: ([], "USB off"))
    assert main(["list", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [{"device": "/dev/ttyUSB0"}]
    assert "USB devices not listed: USB off" in captured.err


def test_ports_without_probe_is_bad_usage(capsys):
    assert main(["list", "/dev/ttyUSB0"]) == 2
    assert "--probe" in capsys.readouterr().err


def test_probe_finds_each_device_in_parallel(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    fp = create_runner("fingerprint", {"model": "r503", "baud_check": "1"}, name="probe-fp")
    pad = create_runner("pinpad", {"baud_check": "1"}, name="probe-pad")
    other = create_runner("fingerprint", {"address": "12345678"}, name="probe-other")
    try:
        paths = [r.serve_pty(str(tmp_path / n)) for r, n in ((fp, "fp"), (pad, "pad"),
                                                              (other, "other"))]
        for runner in (fp, pad, other):
            runner.start()
        _wait_ready(fp, other)
        busy = SerialTransport(paths[1], 115200)         # a program holding the pad's port
        try:
            assert main(["list", "--probe", *paths, str(tmp_path / "missing"), "--json"]) == 0
            report = json.loads(capsys.readouterr().out)
        finally:
            busy.close()
        probes = {item["device"]: item["probe"] for item in report if item["type"] == "serial"}
        assert probes[paths[0]]["answer"] == "fingerprint"
        assert probes[paths[0]]["baudrate"] == 57600
        assert probes[paths[0]]["details"]["capacity"] == 200
        assert "in use by another program" in probes[paths[1]]["error"]
        assert probes[paths[2]]["answer"] is None          # wrong address: no answer
        assert probes[paths[2]]["summary"] == "nothing answered"
        assert "cannot open" in probes[str(tmp_path / "missing")]["error"]

        assert main(["list", "--probe", paths[1]]) == 0    # the pad, free now
        out = capsys.readouterr().out
        assert "TPP PIN pad at 115200 baud" in out
    finally:
        for runner in (fp, pad, other):
            runner.stop()


def test_probe_finds_a_module_at_another_baud_rate(tmp_path, capsys):
    state = str(tmp_path / "fp.json")
    fp = create_runner("fingerprint", {"model": "r503", "state": state}, name="baud-fp")
    try:
        fp.start()
        with FingerprintReader.open(fp.loopback(), close_transport=True) as reader:
            reader.set_baudrate(38400)                     # takes effect at the next power-up
    finally:
        fp.stop()
    fp = create_runner("fingerprint", {"model": "r503", "state": state, "baud_check": "1"},
                       name="baud-fp2")
    try:
        path = fp.serve_pty(str(tmp_path / "fp"))
        fp.start()
        _wait_ready(fp)
        assert main(["list", "--probe", path, "--json"]) == 0
        probe = json.loads(capsys.readouterr().out)[0]["probe"]
        assert probe["answer"] == "fingerprint" and probe["baudrate"] == 38400
        assert probe["details"]["configured_baudrate"] == 38400
    finally:
        fp.stop()


def test_probe_as_a_process(tmp_path):
    pad = create_runner("pinpad", {}, name="probe-proc-pad")
    try:
        path = pad.serve_pty(str(tmp_path / "pad"))
        pad.start()
        done = subprocess.run([sys.executable, "-m", "tools.cli", "list", "--probe", path,
                               "--json"], capture_output=True, timeout=60)
    finally:
        pad.stop()
    assert done.returncode == 0, done.stderr
    (item,) = [x for x in json.loads(done.stdout) if x["type"] == "serial"]
    assert item["device"] == path and item["probe"]["answer"] == "pinpad"
    assert item["probe"]["details"]["mode"] == "idle"


def _wait_ready(*runners, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while not all(getattr(r.device, "ready", True) for r in runners):
        assert time.monotonic() < deadline, "the simulated module did not boot"
        time.sleep(0.01)


def test_a_pad_probed_twice_in_a_row_answers_both_times(tmp_path):
    # a pad drops a frame identical to a recent one as a retransmission (TPP SPEC 4.3): the
    # probe's Hello must differ each time
    from tools._probe import probe_port

    pad = create_runner("pinpad", {}, name="probe-twice")
    try:
        path = pad.serve_pty(str(tmp_path / "pad"))
        pad.start()
        assert [probe_port(path).kind for _ in range(3)] == ["pinpad"] * 3
    finally:
        pad.stop()
