"""drivers.transport: every failure of a link is a TransportError, every read has a deadline."""

from __future__ import annotations

import threading
import time

import pytest

from drivers.transport import SerialTransport, loopback_pair
from firmware_sim.runner import DeviceRunner
from protocol.errors import ConfigurationError, TransportError
from sim_echo import EchoDevice


def test_a_hung_up_pty_raises_transport_errors_only():
    # pyserial lets termios.error (not an OSError) out of tcflush/tcdrain on a dead tty
    with DeviceRunner(EchoDevice()) as runner:
        port = SerialTransport(runner.serve_pty())
        runner.command("unplug")
        for action in (lambda: port.write(b"x"), port.reset_input, lambda: port.read(1, 0.1),
                       lambda: port.set_baudrate(9600)):
            with pytest.raises(TransportError):
                action()
        port.close()
        port.close()


def test_open_errors_are_typed():
    with pytest.raises(ConfigurationError, match="Check the URL"):
        SerialTransport("nosuchscheme://x")
    with pytest.raises(TransportError, match="tactile list"):
        SerialTransport("/dev/nonexistent-tactile-port")


def test_serial_transport_round_trip_and_baud_change():
    with DeviceRunner(EchoDevice()) as runner:
        port = SerialTransport(runner.serve_pty(), 57600)
        try:
            port.set_baudrate(115200)
            assert port.baudrate == 115200 and "115200 baud" in port.description
            with pytest.raises(ConfigurationError):
                port.set_baudrate(-5)
            port.write(b"ping")
            got = b""
            deadline = time.monotonic() + 3
            while len(got) < 4 and time.monotonic() < deadline:
                got += port.read(4 - len(got), 0.1)
            assert got == b"ping"
            assert port.read(10, 0.02) == b""
        finally:
            port.close()
        assert port.closed


def test_loopback_pair_moves_bytes_and_honours_deadlines():
    host, device = loopback_pair()
    host.write(b"abc")
    assert device.read(2, 1.0) == b"ab"
    assert device.read(10, 1.0) == b"c"
    start = time.monotonic()
    assert device.read(10, 0.05) == b""
    assert time.monotonic() - start >= 0.04
    device.write(b"zz")
    host.reset_input()
    assert host.read(10, 0.01) == b""
    host.manipulator = lambda data: data[::-1]
    host.write(b"123")
    assert device.read(10, 1.0) == b"321"


def test_loopback_close_wakes_a_blocked_reader():
    host, device = loopback_pair()
    errors = []

    def reader():
        try:
            device.read(1, 5.0)
        except TransportError as exc:
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.02)
    host.close()
    thread.join(2)
    assert errors and not thread.is_alive()
    assert device.closed
    with pytest.raises(TransportError, match="other end went away"):
        device.write(b"x")


def test_a_serial_port_is_opened_exclusively():
    # a real pty (the flock pyserial takes is per device, as on /dev/ttyUSB0)
    import os

    from drivers.transport import PortBusyError

    master, slave = os.openpty()
    try:
        path = os.ttyname(slave)
        first = SerialTransport(path, 57600)
        try:
            with pytest.raises(PortBusyError,
                               match=f"port {path} is in use by another program") as info:
                SerialTransport(path, 57600)
            assert isinstance(info.value, TransportError)
        finally:
            first.close()
        again = SerialTransport(path, 57600)   # released on close
        again.close()
    finally:
        os.close(master)
        os.close(slave)


def test_a_busy_simulator_pty_is_reported_by_the_drivers_too():
    from drivers import FingerprintReader
    from firmware_sim.attach import create_runner

    with create_runner("fingerprint", {}) as runner:
        path = runner.serve_pty()
        with FingerprintReader.open(path):
            with pytest.raises(TransportError, match="in use by another program"):
                FingerprintReader.open(path)


def test_a_uucp_lock_file_of_a_live_program_makes_the_port_busy(tmp_path, monkeypatch):
    # minicom and many serial terminals do not flock: they write /var/lock/LCK..ttyUSB0
    import os
    import subprocess
    import sys

    from drivers import transport
    from drivers.transport import PortBusyError

    monkeypatch.setattr(transport, "UUCP_LOCK_DIRS", (str(tmp_path),))
    master, slave = os.openpty()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        path = os.ttyname(slave)
        lock = tmp_path / ("LCK.." + os.path.basename(path))
        lock.write_text(f"{holder.pid:>10}\n")
        with pytest.raises(PortBusyError, match=rf"port {path} is in use by another program "
                                                rf"\(process {holder.pid} holds the lock file"):
            SerialTransport(path)
        holder.kill()
        holder.wait()
        SerialTransport(path).close()          # a stale lock (its owner is gone) is ignored
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        os.close(master)
        os.close(slave)
