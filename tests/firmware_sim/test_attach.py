"""Attach points: loopback, sim:// URL, TCP, pty - one contract suite over all of them, then
what is particular to each (URL options, one client at a time, links, unplug per transport)."""

from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager

import pytest
import serial

from drivers.transport import SerialTransport
from firmware_sim import registry
from firmware_sim.attach import parse_sim_url
from firmware_sim.runner import DeviceRunner, open_runners
from protocol.errors import ConfigurationError, TransportError
from sim_echo import EchoDevice

registry.register_kind("echo", "sim_echo")


def read_exactly(transport, count: int, timeout: float = 3.0) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        out += transport.read(count - len(out), 0.05)
    return out


def wait_for(predicate, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


@contextmanager
def attached(kind: str, runner: DeviceRunner, tmp_path):
    """Yield a host Transport reaching ``runner`` through the attach point ``kind``."""
    if kind == "loopback":
        transport = runner.loopback()
    elif kind == "sim-url":
        registry.register_runner(f"attach-{id(runner)}", runner)
        transport = SerialTransport(f"sim://echo?name=attach-{id(runner)}")
    elif kind == "tcp":
        runner.serve_tcp("127.0.0.1", 0)
        transport = SerialTransport(runner.port)
    elif kind == "pty":
        transport = SerialTransport(runner.serve_pty(str(tmp_path / "echo-link")))
    else:  # pragma: no cover
        raise AssertionError(kind)
    try:
        yield transport
    finally:
        transport.close()


ATTACH_POINTS = ["loopback", "sim-url", "tcp", "pty"]


@pytest.mark.parametrize("kind", ATTACH_POINTS)
def test_contract_round_trip(kind, tmp_path):
    device = EchoDevice(flavour="upper")
    with DeviceRunner(device) as runner, attached(kind, runner, tmp_path) as link:
        link.write(b"hello")
        assert read_exactly(link, 5) == b"HELLO"
        # a bigger transfer both ways keeps every byte in order
        payload = bytes(range(97, 123)) * 4000  # 104 kB
        link.write(payload)
        assert read_exactly(link, len(payload), timeout=10) == payload.upper()
        assert link.read(10, 0.02) == b""


@pytest.mark.parametrize("kind", ATTACH_POINTS)
def test_contract_control_commands_and_faults(kind, tmp_path):
    device = EchoDevice()
    with DeviceRunner(device) as runner, attached(kind, runner, tmp_path) as link:
        assert runner.command("fault drop 1")["ok"]
        link.write(b"xyz")
        assert read_exactly(link, 2) == b"yz"
        assert runner.command("emit 0102")["ok"]
        assert read_exactly(link, 2) == b"\x01\x02"
        assert runner.command("power-cycle")["ok"]
        assert device.power_ons == 2


@pytest.mark.parametrize("kind", ATTACH_POINTS)
def test_contract_unplug_is_a_transport_error(kind, tmp_path):
    with DeviceRunner(EchoDevice()) as runner, attached(kind, runner, tmp_path) as link:
        link.write(b"a")
        assert read_exactly(link, 1) == b"a"
        assert runner.command("unplug")["ok"]
        with pytest.raises(TransportError):
            # a TCP peer may accept one write into its buffer: keep going until the error
            for _ in range(50):
                link.write(b"b")
                link.read(1, 0.02)
        assert runner.command("replug")["ok"]


@pytest.mark.parametrize("kind", ATTACH_POINTS)
def test_contract_reconnect_after_replug(kind, tmp_path):
    with DeviceRunner(EchoDevice()) as runner:
        with attached(kind, runner, tmp_path):
            runner.command("unplug")
            runner.command("replug")
        # open the same attach point again, as a driver reconnecting does
        if kind == "loopback":
            again = runner.loopback()
        elif kind == "sim-url":
            again = SerialTransport(f"sim://echo?name=attach-{id(runner)}")
        else:
            again = SerialTransport(runner.port)
        with again:
            again.write(b"back")
            assert read_exactly(again, 4) == b"back"


# ---------------------------------------------------------------------------- sim://
def test_sim_url_private_runner_lives_as_long_as_the_port():
    port = serial.serial_for_url("sim://echo?banner=55aa&flavour=upper", timeout=1)
    try:
        runner = port.simulator
        assert runner.running and runner in open_runners()
        assert port.read(2) == b"\x55\xaa"  # attached before power-on: the banner arrives
        port.write(b"ok")
        assert port.read(2) == b"OK"
        assert runner.command("say hi")["ok"]
    finally:
        port.close()
    assert runner.stopped and runner not in open_runners()
    assert runner.device.closed == 1


def test_sim_url_read_follows_pyserial_timeouts():
    port = serial.serial_for_url("sim://echo", timeout=0.05)
    try:
        port.write(b"abc")
        wait_for(lambda: port.in_waiting == 3)
        assert port.read(10) == b"abc"                 # partial read at the timeout
        port.timeout = 0
        assert port.read(5) == b""                     # non-blocking
        port.write(b"zz")
        wait_for(lambda: port.in_waiting == 2)
        port.reset_input_buffer()
        assert port.in_waiting == 0
        assert port.out_waiting == 0 and port.cts and port.dsr and port.cd and not port.ri
        port.timeout = None
        port.write(b"1234")
        assert port.read(4) == b"1234"                 # blocking read returns once filled
    finally:
        port.close()
    with pytest.raises(serial.PortNotOpenError):
        port.read(1)


def test_sim_url_attaches_to_a_named_runner_and_only_detaches(tmp_path):
    with DeviceRunner(EchoDevice(), name="shared-echo") as runner:
        registry.register_runner("shared-echo", runner)
        port = serial.serial_for_url("sim://echo?name=shared-echo", timeout=1)
        assert port.simulator is runner
        with pytest.raises(serial.SerialException, match="already has a host attached"):
            serial.serial_for_url("sim://echo?name=shared-echo")
        port.close()
        assert runner.running
        again = serial.serial_for_url("sim://echo?name=shared-echo", timeout=1)
        again.write(b"x")
        assert again.read(1) == b"x"
        runner.command("unplug")
        with pytest.raises(serial.SerialException, match="unplugged"):
            again.read(1)
        with pytest.raises(serial.SerialException, match="unplugged"):
            again.write(b"y")
        again.close()


@pytest.mark.parametrize("url, message", [
    ("sim://nope", "unknown simulator kind 'nope'"),
    ("sim://echo?colour=red", "unknown echo option"),
    ("sim://echo?name=missing", "no running simulator is named 'missing'"),
    ("sim://echo?name=x&flavour=upper", "attaches to a running simulator"),
    ("sim://echo?wire_time=maybe", "wire_time must be 1 or 0"),
    ("sim://echo?seed=abc", "seed must be an integer"),
    ("sim://echo?seed=1&seed=2", "appears twice"),
    ("sim:///path", "cannot read the simulator URL"),
])
def test_sim_url_errors_are_plain(url, message):
    with pytest.raises(ConfigurationError, match=message):
        SerialTransport(url)
    with pytest.raises(ValueError, match=message):
        serial.serial_for_url(url)
    assert open_runners() == []


def test_sim_url_named_runner_of_another_kind():
    class Other(EchoDevice):
        kind = "other"

    with DeviceRunner(Other()) as runner:
        registry.register_runner("other-kind", runner)
        with pytest.raises(ValueError, match="is a other, not a echo"):
            serial.serial_for_url("sim://echo?name=other-kind")


def test_sim_url_generic_options():
    port = serial.serial_for_url("sim://echo?wire_time=1&seed=5&baudrate=9600", timeout=1)
    try:
        assert port.simulator.wire_baud == 9600
        port.simulator.command("fault garbage 4")
        first = port.read(4)
    finally:
        port.close()
    port = serial.serial_for_url("sim://echo?seed=5", timeout=1)
    try:
        assert port.simulator.wire_baud is None
        port.simulator.command("fault garbage 4")
        assert port.read(4) == first
    finally:
        port.close()


def test_sim_url_wire_time_needs_a_baud_rate():
    class NoBaud(EchoDevice):
        def __init__(self, **kw):
            super().__init__(**kw)
            del self.baudrate

    registry.register_kind("nobaud", "test_attach_nobaud")
    import sys
    import types
    module = types.ModuleType("test_attach_nobaud")
    module.create = lambda **options: NoBaud()
    sys.modules["test_attach_nobaud"] = module
    try:
        with pytest.raises(ValueError, match="has no baud rate"):
            serial.serial_for_url("sim://nobaud?wire_time=1")
    finally:
        del sys.modules["test_attach_nobaud"]
        registry._KINDS.pop("nobaud")


def test_the_url_handler_imports_nothing_but_pyserial():
    # pyserial turns any ImportError in the handler into "protocol not known": the handler
    # module must import even if the simulator machinery or a model is broken
    import subprocess
    import sys

    code = ("import sys, firmware_sim.urlhandler.protocol_sim; "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('firmware_sim', 'drivers', 'protocol', 'numpy', 'usb'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.decode().split()
    assert "firmware_sim.urlhandler.protocol_sim" in loaded
    heavy = [m for m in loaded if m.split(".")[0] in ("drivers", "numpy", "usb")
             or m.startswith(("firmware_sim.fingerprint", "firmware_sim.pinpad",
                              "firmware_sim.biometrics", "firmware_sim.attach"))]
    assert heavy == []


def test_sim_url_baud_check_follows_the_port_setting():
    port = serial.serial_for_url("sim://echo?baud_check=1&baudrate=57600", baudrate=9600,
                                 timeout=0.3)
    try:
        assert port.simulator.baud_check is True
        port.write(b"A" * 120)
        assert port.read(120) != b"A" * 120
        port.baudrate = 57600                 # pyserial reconfigures the open port
        port.reset_input_buffer()
        port.write(b"hello")
        assert port.read(5) == b"hello"
    finally:
        port.close()


def test_pty_baud_check_reads_the_speed_the_host_set(tmp_path):
    with DeviceRunner(EchoDevice(baudrate=57600), baud_check=True) as runner:
        path = runner.serve_pty(str(tmp_path / "line"))
        with SerialTransport(path, baudrate=19200) as wrong:
            wrong.write(b"Z" * 60)
            assert read_exactly(wrong, 60, timeout=0.5) != b"Z" * 60
        with SerialTransport(path, baudrate=57600) as right:
            right.reset_input()
            right.write(b"right")
            assert read_exactly(right, 5) == b"right"


def test_parse_sim_url():
    assert parse_sim_url("sim://pinpad?layout=pos&trace=1") == ("pinpad",
                                                                {"layout": "pos", "trace": "1"})
    assert parse_sim_url("sim://fingerprint") == ("fingerprint", {})
    assert parse_sim_url("sim://fingerprint/?model=r503") == ("fingerprint", {"model": "r503"})
    with pytest.raises(ConfigurationError, match="not a sim:// URL"):
        parse_sim_url("loop://")


# ---------------------------------------------------------------------------- TCP
def test_tcp_one_client_at_a_time():
    with DeviceRunner(EchoDevice()) as runner:
        events = []
        runner.subscribe(events.append)
        host, port = runner.serve_tcp("127.0.0.1", 0)
        assert port > 0 and runner.port == f"socket://127.0.0.1:{port}"
        with pytest.raises(ConfigurationError, match="already serves TCP"):
            runner.serve_tcp()
        first = SerialTransport(runner.port)
        first.write(b"1")
        assert read_exactly(first, 1) == b"1"
        second = socket.create_connection((host, port), timeout=2)
        second.settimeout(2)
        assert second.recv(10) == b""  # accepted and closed at once
        second.close()
        wait_for(lambda: any(e["event"] == "refused" for e in events))
        first.close()
        wait_for(lambda: any(e["event"] == "disconnected" for e in events))
        third = SerialTransport(runner.port)
        third.write(b"3")
        assert read_exactly(third, 1) == b"3"
        third.close()
        assert [e["event"] for e in events if e["event"] != "power-on"][:2] == ["connected",
                                                                              "refused"]


def test_tcp_refuses_connections_while_unplugged():
    with DeviceRunner(EchoDevice()) as runner:
        host, port = runner.serve_tcp("127.0.0.1", 0)
        runner.command("unplug")
        with pytest.raises(TransportError, match="cannot open"):
            SerialTransport(runner.port)
        reply = runner.command("replug")
        assert reply == {"ok": True, "command": "replug", "port": f"socket://127.0.0.1:{port}"}
        with SerialTransport(runner.port) as link:
            link.write(b"ok")
            assert read_exactly(link, 2) == b"ok"


def test_tcp_port_in_use_is_a_plain_error():
    blocker = socket.create_server(("127.0.0.1", 0))
    try:
        with DeviceRunner(EchoDevice()) as runner:
            with pytest.raises(TransportError, match="cannot listen on 127.0.0.1"):
                runner.serve_tcp("127.0.0.1", blocker.getsockname()[1])
    finally:
        blocker.close()


# ---------------------------------------------------------------------------- pty
def test_pty_link_is_replaced_if_stale_and_removed_on_stop(tmp_path):
    link = tmp_path / "pad"
    os.symlink("/dev/pts/nonexistent", link)
    runner = DeviceRunner(EchoDevice())
    with runner:
        path = runner.serve_pty(str(link))
        assert path == str(link) and os.path.realpath(link).startswith("/dev/pts/")
        assert runner.port == str(link)
        with pytest.raises(ConfigurationError, match="already serves a pty"):
            runner.serve_pty()
        with pytest.raises(TransportError, match="already has a host attached"):
            runner.loopback()
    assert not os.path.lexists(link)


def test_pty_link_of_a_live_simulator_is_not_taken_over(tmp_path):
    link = str(tmp_path / "busy")
    with DeviceRunner(EchoDevice()) as first, DeviceRunner(EchoDevice()) as second:
        first.serve_pty(link)
        with pytest.raises(ConfigurationError, match="another simulator may be using it"):
            second.serve_pty(link)
        target = os.path.realpath(link)
    assert not os.path.lexists(link) and target.startswith("/dev/pts/")


def test_pty_without_link_returns_the_pty_path():
    with DeviceRunner(EchoDevice()) as runner:
        path = runner.serve_pty()
        assert path.startswith("/dev/pts/")
        with SerialTransport(path) as port:
            port.write(b"raw\n\x03\x11")  # raw mode: no line editing, no signals, no XON/XOFF
            assert read_exactly(port, 6) == b"raw\n\x03\x11"


def test_pty_refuses_to_replace_a_regular_file(tmp_path):
    path = tmp_path / "not-a-link"
    path.write_text("keep me")
    with DeviceRunner(EchoDevice()) as runner:
        with pytest.raises(ConfigurationError, match="not a symlink"):
            runner.serve_pty(str(path))
        with pytest.raises(ConfigurationError, match="does not exist"):
            runner.serve_pty(str(tmp_path / "missing-dir" / "link"))
    assert path.read_text() == "keep me"


def test_pty_unplug_removes_the_link_until_replug(tmp_path):
    link = str(tmp_path / "fp")
    with DeviceRunner(EchoDevice()) as runner:
        runner.serve_pty(link)
        host = SerialTransport(link)
        runner.command("unplug")
        assert not os.path.lexists(link)
        with pytest.raises(TransportError):
            host.read(1, 1.0)
        host.close()
        with pytest.raises(TransportError, match="cannot open"):
            SerialTransport(link)
        runner.command("replug")
        with SerialTransport(link) as again:
            again.write(b"hi")
            assert read_exactly(again, 2) == b"hi"


def test_pty_host_may_close_and_reopen(tmp_path):
    link = str(tmp_path / "fp")
    with DeviceRunner(EchoDevice()) as runner:
        runner.serve_pty(link)
        for _ in range(3):
            with SerialTransport(link) as host:
                host.write(b"again")
                assert read_exactly(host, 5) == b"again"
