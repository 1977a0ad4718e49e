"""``tactile list``: serial ports and USB devices, table and JSON; USB problems are shown."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

from protocol.errors import TransportError
from tools import list as list_tool


def test_json_output_in_a_real_process():
    done = subprocess.run([sys.executable, "-m", "tools.cli", "list", "--json"],
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"serial", "usb", "usb_error"}
    for port in report["serial"]:
        assert set(port) >= {"device", "description", "vid_pid", "serial"}


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
    assert devices == [{"selector": "1209:0001:SIM0001", "vid_pid": "1209:0001",
                        "serial": "SIM0001", "manufacturer": "Tactile", "product": "Pad",
                        "bus": 1, "address": 4}]


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
    assert list_tool.run(SimpleNamespace(json=True)) == 0
    assert json.loads(capsys.readouterr().out) == {"serial": [{"device": "/dev/ttyUSB0"}],
                                                   "usb": [], "usb_error": "USB off"}
