"""Byte transports under the drivers: one small interface, several links.

A :class:`Transport` moves raw bytes; it knows nothing of frames.  Every read takes a timeout,
so nothing blocks for ever.  Implementations:

* :class:`SerialTransport` - anything ``serial.serial_for_url`` opens (``/dev/ttyUSB0``,
  ``socket://host:port``, ``spy://...``, ``hwgrep://...``, our ``sim://...``).
* :class:`LoopbackTransport` - an in-process null modem; :func:`loopback_pair` makes both ends.
* ``UsbTransport`` lives in :mod:`drivers.usb` (bulk endpoints through pyusb, injectable backend).
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from abc import ABC, abstractmethod
from typing import Callable

import serial

from protocol.errors import ConfigurationError, TransportError

__all__ = ["Transport", "SerialTransport", "PortBusyError", "LoopbackTransport", "loopback_pair"]

# Our simulators are reachable as pyserial URLs (``sim://fingerprint?model=r503``): pyserial
# imports ``<package>.protocol_sim`` lazily for the ``sim`` scheme.  A string, not an import.
if "firmware_sim.urlhandler" not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append("firmware_sim.urlhandler")

try:  # pyserial lets termios.error (not an OSError) escape from flush()/tcflush on a dead tty
    from termios import error as _TermiosError
except ImportError:  # pragma: no cover - not POSIX
    class _TermiosError(Exception):  # type: ignore[no-redef]
        """Never raised where there is no termios."""

#: what a pyserial port raises when the link fails (a pulled adapter, a hung-up pty, a reset
#: TCP peer); AttributeError/TypeError: pyserial's socket handler after its socket is gone
_PORT_ERRORS = (serial.SerialException, OSError, _TermiosError, AttributeError, TypeError)


class PortBusyError(TransportError):
    """The serial port is held by another program (it took the exclusive lock first)."""


def _is_busy(exc: BaseException) -> bool:
    """pyserial's failed flock: SerialException(EAGAIN/EWOULDBLOCK, "Could not exclusively
    lock port ..."); a Windows port another program opened: "PermissionError(13, 'Access is
    denied.'..."."""
    if getattr(exc, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY):
        return True
    text = str(exc)
    return "exclusively lock" in text or ("PermissionError" in text and "Access is denied" in text)


#: where programs following the UUCP convention put ``LCK..ttyUSB0`` (FHS: /var/lock = /run/lock)
UUCP_LOCK_DIRS: tuple[str, ...] = ("/var/lock", "/run/lock", "/var/spool/uucp")


def uucp_lock_holder(device: str) -> tuple[int, str] | None:
    """(pid, lock file) of a live process holding ``device``'s UUCP lock file, else None.

    The file holds the PID as ASCII (HDB UUCP, minicom, picocom) or as a binary int (old UUCP);
    a lock left by a process that is gone is stale and ignored (its owner crashed)."""
    if not device.startswith("/dev/"):
        return None
    name = "LCK.." + os.path.basename(device)
    for directory in UUCP_LOCK_DIRS:
        path = os.path.join(directory, name)
        try:
            with open(path, "rb") as f:
                data = f.read(64)
        except OSError:
            continue
        text = data.strip(b"\x00 \n\t")
        if text.isdigit():
            pid = int(text)
        elif len(data) == 4:
            pid = int.from_bytes(data, sys.byteorder)
        else:
            continue
        if pid <= 0 or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue           # stale: its owner is gone
        except PermissionError:
            pass               # alive, another user's
        return pid, path
    return None


def _device_of(url: str) -> str:
    """The device a URL names, for messages: spy:///dev/ttyUSB0?file=x -> /dev/ttyUSB0."""
    if url.lower().startswith("spy://"):
        url = url[len("spy://"):].split("?", 1)[0]
    return url


class Transport(ABC):
    """A bidirectional byte link with deadlines."""

    #: a short human description used in error messages ("/dev/ttyUSB0 at 57600 baud")
    description: str = "transport"

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send all of ``data`` or raise :class:`TransportError`."""

    @abstractmethod
    def read(self, max_bytes: int, timeout: float) -> bytes:
        """Return 1..max_bytes bytes as soon as any are available, or b"" after ``timeout`` s."""

    @abstractmethod
    def close(self) -> None:
        """Release the link; idempotent."""

    def reset_input(self) -> None:
        """Discard bytes already received and not yet read."""
        while self.read(4096, 0.0):
            pass

    @property
    def closed(self) -> bool:  # pragma: no cover - overridden
        return False

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"


class SerialTransport(Transport):
    """A pyserial port opened only through ``serial.serial_for_url``."""

    def __init__(self, url: str, baudrate: int = 57600, *, exclusive: bool = True,
                 **serial_kwargs: object) -> None:
        self.url = url
        self.baudrate = baudrate
        self.description = f"{url} at {baudrate} baud"
        # exclusive: a second program on the same port gets "in use" at open, not a protocol
        # error later.  Every pyserial class accepts the flag; the POSIX port (and spy://, which
        # wraps it) takes an flock on the device, Windows ports are exclusive anyway, and URL
        # handlers with no device (socket://, sim://, loop://) ignore it.  Programs that do not
        # flock (minicom, many serial terminals) take a UUCP lock file instead: honour that too.
        if exclusive:
            holder = uucp_lock_holder(_device_of(url))
            if holder is not None:
                raise PortBusyError(
                    f"port {_device_of(url)} is in use by another program (process {holder[0]} "
                    f"holds the lock file {holder[1]}). Close that program or pick another port "
                    "(`tactile list` shows them).")
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=0,
                                               exclusive=exclusive or None, **serial_kwargs)
        except ValueError as exc:  # pyserial: "protocol not known" or a bad parameter
            raise ConfigurationError(
                f"cannot open {url!r}: {exc}. Check the URL (a device path such as /dev/ttyUSB0, "
                "socket://host:port, or sim://fingerprint / sim://pinpad) and the baud rate."
            ) from exc
        except (serial.SerialException, OSError) as exc:
            if _is_busy(exc):
                raise PortBusyError(
                    f"port {_device_of(url)} is in use by another program. Close the other "
                    "program (a terminal, a teller application, another tactile command) or "
                    "pick another port (`tactile list` shows them)."
                ) from exc
            raise TransportError(
                f"cannot open {url}: {exc}. Check that the device is plugged in, that the path is "
                "right (`tactile list` shows ports) and that no other program holds the port."
            ) from exc

    @property
    def serial(self) -> serial.SerialBase:
        """The underlying pyserial object (for baud changes and line control)."""
        return self._port

    @property
    def closed(self) -> bool:
        return not self._port.is_open

    def set_baudrate(self, baudrate: int) -> None:
        try:
            self._port.baudrate = baudrate
        except ValueError as exc:
            raise ConfigurationError(f"{self.url} cannot run at {baudrate} baud: {exc}") from exc
        except _PORT_ERRORS as exc:
            raise TransportError(f"cannot set {self.url} to {baudrate} baud: {exc}. "
                                 "Check that the device is still connected.") from exc
        self.baudrate = baudrate
        self.description = f"{self.url} at {baudrate} baud"

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
            self._port.flush()
        except _PORT_ERRORS as exc:
            raise TransportError(f"write to {self.description} failed: {exc}. "
                                 "Check the cable and that the device is still connected.") from exc

    def read(self, max_bytes: int, timeout: float) -> bytes:
        try:
            self._port.timeout = max(0.0, timeout)
            first = self._port.read(1)
            if not first:
                return b""
            self._port.timeout = 0
            waiting = self._port.in_waiting
            rest = self._port.read(min(max_bytes - 1, waiting)) if waiting and max_bytes > 1 else b""
            return first + rest
        except _PORT_ERRORS as exc:
            raise TransportError(f"read from {self.description} failed: {exc}. "
                                 "Check the cable and that the device is still connected.") from exc

    def reset_input(self) -> None:
        try:
            self._port.reset_input_buffer()
        except _PORT_ERRORS as exc:
            raise TransportError(f"cannot flush {self.description}: {exc}") from exc

    def close(self) -> None:
        # pyserial 3.5's socket:// close() skips socket.close() when shutdown() fails (the peer
        # already hung up), leaking the socket: close it ourselves afterwards (idempotent).
        sock = getattr(self._port, "_socket", None)
        try:
            self._port.close()
        except _PORT_ERRORS:
            pass
        finally:
            if sock is not None:
                sock.close()
            # pyserial 3.5's spy://...?file=LOG never closes its log file
            output = getattr(getattr(self._port, "formatter", None), "output", None)
            if output is not None and output not in (sys.stderr, sys.stdout, sys.__stderr__):
                try:
                    output.close()
                except OSError:
                    pass


class _Pipe:
    """One direction of the null modem: a byte buffer with a condition variable."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.cond = threading.Condition()
        self.closed = False


class LoopbackTransport(Transport):
    """One end of an in-process null modem.  Thread-safe; every read honours its timeout.

    ``manipulator``, when given, sees every chunk this end writes and returns the bytes the other
    end receives instead (to split, corrupt or drop bytes in fault tests, as pymodbus does).
    """

    def __init__(self, rx: _Pipe, tx: _Pipe, description: str = "loopback",
                 manipulator: Callable[[bytes], bytes] | None = None) -> None:
        self._rx = rx
        self._tx = tx
        self.description = description
        self.manipulator = manipulator

    @property
    def closed(self) -> bool:
        return self._rx.closed

    def write(self, data: bytes) -> None:
        if self._tx.closed or self._rx.closed:
            raise TransportError(f"{self.description} is closed: the other end went away")
        if self.manipulator is not None:
            data = self.manipulator(bytes(data))
        with self._tx.cond:
            self._tx.buf += data
            self._tx.cond.notify_all()

    def read(self, max_bytes: int, timeout: float) -> bytes:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._rx.cond:
            while not self._rx.buf:
                if self._rx.closed:
                    raise TransportError(f"{self.description} is closed")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return b""
                self._rx.cond.wait(remaining)
            out = bytes(self._rx.buf[:max_bytes])
            del self._rx.buf[:max_bytes]
            return out

    def reset_input(self) -> None:
        with self._rx.cond:
            self._rx.buf.clear()

    def close(self) -> None:
        for pipe in (self._rx, self._tx):
            with pipe.cond:
                pipe.closed = True
                pipe.cond.notify_all()


def loopback_pair(description: str = "loopback") -> tuple[LoopbackTransport, LoopbackTransport]:
    """Two connected ends: what one writes, the other reads."""
    a_to_b, b_to_a = _Pipe(), _Pipe()
    return (LoopbackTransport(b_to_a, a_to_b, description),
            LoopbackTransport(a_to_b, b_to_a, description + " (device end)"))
