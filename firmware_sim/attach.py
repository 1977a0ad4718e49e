"""Attach points of a :class:`~firmware_sim.runner.DeviceRunner`: how a host reaches a model.

* :class:`SimulatorTransport` - the host end of an in-process link (``runner.loopback()``);
* ``_TcpServer`` - one TCP client at a time, reachable as pyserial ``socket://host:port``;
* ``_PtyServer`` - a pseudo-terminal in raw mode, optionally behind a symlink;
* :func:`runner_for_url` - what the ``sim://`` pyserial URL handler opens.

Runner-side link objects (``_LoopbackLink``, ``_SocketLink``, ``_PtyLink``) share one small
interface, used with the runner's lock held: ``deliver(data)`` (bytes towards the host),
``hang_up(reason)`` (the link goes dead: unplug or stop) and ``description``.
An unplug hangs up the host link the way a pulled cable does: a transport raises
:class:`~protocol.errors.TransportError`, a TCP client sees the connection closed and refused
until ``replug``, a pty hangs up (its symlink disappears until ``replug`` makes a new pty).
"""

from __future__ import annotations

import errno
import os
import random
import selectors
import socket
import termios
import threading
import time
import tty
import urllib.parse
from typing import TYPE_CHECKING, Protocol

from drivers.transport import Transport
from protocol.errors import ConfigurationError, TransportError

if TYPE_CHECKING:  # pragma: no cover
    from firmware_sim.runner import DeviceRunner

__all__ = ["SimulatorTransport", "parse_sim_url", "runner_for_url", "create_runner"]

#: bytes kept for a host that does not read (TCP/pty); beyond that the oldest are lost, as a
#: UART receiver overruns
_MAX_PENDING = 1 << 20

_TRUE = {"1", "true", "yes", "on"}
#: termios speed constant -> baud rate (B57600 -> 57600); B0 (hang up) is left out
_SPEEDS = {getattr(termios, name): int(name[1:]) for name in dir(termios)
           if name.startswith("B") and name[1:].isdigit() and int(name[1:]) > 0}
_FALSE = {"0", "false", "no", "off", ""}


class _Link(Protocol):
    description: str

    def deliver(self, data: bytes) -> None: ...

    def hang_up(self, reason: str) -> None: ...


# ---------------------------------------------------------------------------- loopback
class _LoopbackLink:
    """An in-process link: the runner delivers into a buffer the host end reads."""

    def __init__(self, runner: "DeviceRunner", description: str) -> None:
        self.runner = runner
        self.description = description
        self._cond = threading.Condition()
        self._buf = bytearray()
        self._dead: str | None = None
        self._cancel = False
        #: the baud rate the host end is set to, if it says (for the runner's baud check)
        self.host_baud: int | None = None

    # runner side (runner lock held)
    def deliver(self, data: bytes) -> None:
        with self._cond:
            if self._dead is None:
                self._buf += data
                self._cond.notify_all()

    def hang_up(self, reason: str) -> None:
        with self._cond:
            if self._dead is None:
                self._dead = reason
            self._buf.clear()  # a pulled cable loses what was in flight
            self._cond.notify_all()

    # host side (any thread)
    @property
    def dead(self) -> str | None:
        return self._dead

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._buf)

    def write(self, data: bytes) -> None:
        if self._dead is not None:
            raise TransportError(f"{self.description}: {self._dead}")
        if data:
            self.runner._host_bytes(self, bytes(data))

    def read(self, size: int, timeout: float | None, *, fill: bool) -> bytes:
        """Up to ``size`` bytes; returns when any arrived (``fill=False``) or when ``size``
        arrived (``fill=True``), or at the timeout (``None``: until the link dies)."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        out = bytearray()
        with self._cond:
            self._cancel = False
            while len(out) < size:
                if self._buf:
                    take = size - len(out)
                    out += self._buf[:take]
                    del self._buf[:take]
                    if not fill:
                        break
                    continue
                if self._dead is not None:
                    if out:
                        break
                    raise TransportError(f"{self.description}: {self._dead}")
                if self._cancel:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
        return bytes(out)

    def cancel_read(self) -> None:
        with self._cond:
            self._cancel = True
            self._cond.notify_all()

    def reset(self) -> None:
        with self._cond:
            self._buf.clear()

    def close(self) -> None:
        with self._cond:
            if self._dead is None:
                self._dead = "the link was closed"
            self._buf.clear()
            self._cond.notify_all()
        self.runner._detach(self)


class SimulatorTransport(Transport):
    """The host end of an in-process link to a running simulator (``runner.loopback()``)."""

    def __init__(self, link: _LoopbackLink) -> None:
        self._link = link
        self.runner = link.runner
        self.description = link.description

    @property
    def closed(self) -> bool:
        return self._link.dead is not None

    @property
    def baudrate(self) -> int | None:
        return self._link.host_baud

    def set_baudrate(self, baudrate: int) -> None:
        """Set the host end's line speed (it matters only to a runner with ``baud_check``)."""
        self._link.host_baud = int(baudrate)

    def write(self, data: bytes) -> None:
        self._link.write(data)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if max_bytes <= 0:
            return b""
        return self._link.read(max_bytes, timeout, fill=False)

    def reset_input(self) -> None:
        self._link.reset()

    def close(self) -> None:
        self._link.close()


# ---------------------------------------------------------------------------- fd links
class _FdLink:
    """Shared machinery of the TCP and pty links: non-blocking fd, output buffer."""

    description = "fd link"

    def __init__(self, runner: "DeviceRunner") -> None:
        self.runner = runner
        self._out = bytearray()
        self._writing = False
        self._closed = False

    def _fileobj(self) -> object:
        raise NotImplementedError

    def _recv(self) -> bytes | None:
        """Bytes from the host; None if nothing now; b"" if the host went away."""
        raise NotImplementedError

    def _send(self, data: bytes) -> int:
        raise NotImplementedError

    def _close_fds(self) -> None:
        raise NotImplementedError

    def _host_gone(self) -> None:
        """The host closed its end (TCP only; a pty never reports it)."""

    def _start(self) -> None:
        self.runner._register(self._fileobj(), selectors.EVENT_READ, self._on_ready)

    def _on_ready(self, mask: int) -> None:
        if self._closed:
            return
        if mask & selectors.EVENT_READ:
            data = self._recv()
            if data == b"":
                self._host_gone()
                return
            if data:
                self.runner._host_bytes(self, data)
        if mask & selectors.EVENT_WRITE and not self._closed:
            self._flush()

    def deliver(self, data: bytes) -> None:
        if self._closed:
            return
        self._out += data
        if len(self._out) > _MAX_PENDING:
            del self._out[:len(self._out) - _MAX_PENDING]
        self._flush()

    def _flush(self) -> None:
        while self._out and not self._closed:
            try:
                sent = self._send(bytes(self._out[:65536]))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self._host_gone()
                return
            if sent <= 0:
                break
            del self._out[:sent]
        want_write = bool(self._out) and not self._closed
        if want_write != self._writing and not self._closed:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if want_write else 0)
            self.runner._modify(self._fileobj(), events, self._on_ready)
            self._writing = want_write

    def hang_up(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self.runner._unregister(self._fileobj())
        self._close_fds()


class _SocketLink(_FdLink):
    def __init__(self, runner: "DeviceRunner", conn: socket.socket, peer: str) -> None:
        super().__init__(runner)
        self._conn = conn
        self.peer = peer
        self.description = f"TCP client {peer}"
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._start()

    def _fileobj(self) -> object:
        return self._conn

    def _recv(self) -> bytes | None:
        try:
            return self._conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return b""

    def _send(self, data: bytes) -> int:
        return self._conn.send(data)

    def _close_fds(self) -> None:
        try:
            self._conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._conn.close()

    def _host_gone(self) -> None:
        self.hang_up("the TCP client disconnected")
        self.runner._detach(self)
        self.runner._emit("disconnected", via="tcp", peer=self.peer)


class _PtyLink(_FdLink):
    def __init__(self, runner: "DeviceRunner", master: int, slave: int, path: str) -> None:
        super().__init__(runner)
        self._master = master
        # keeping the slave open in here means the master never sees EIO when a host closes
        # the port, and bytes the device sends to nobody wait in the tty (pyserial flushes
        # them when it opens the port, as with a real UART)
        self._slave = slave
        self.path = path
        self.description = f"pty {path}"
        self._start()

    def _fileobj(self) -> object:
        return self._master

    @property
    def host_baud(self) -> int | None:
        """The speed the host set on the pty (pyserial sets it at open), if a standard one."""
        try:
            speed = termios.tcgetattr(self._slave)[5]
        except (termios.error, OSError):
            return None
        return _SPEEDS.get(speed)

    def _recv(self) -> bytes | None:
        try:
            return os.read(self._master, 65536)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as exc:
            if exc.errno == errno.EIO:  # no slave open (cannot happen while we hold it)
                return None
            raise

    def _send(self, data: bytes) -> int:
        return os.write(self._master, data)

    def _host_gone(self) -> None:
        # a write error on the master: drop what is pending, keep the pty
        self._out.clear()

    def _close_fds(self) -> None:
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


# ---------------------------------------------------------------------------- servers
class _TcpServer:
    """Listens on host:port; the first client becomes the host link, others are refused."""

    def __init__(self, runner: "DeviceRunner", host: str, port: int) -> None:
        self.runner = runner
        self._host = host
        self._port = port
        self._sock: socket.socket | None = None
        self._listen()

    @property
    def address(self) -> tuple[str, int]:
        return self._host, self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"socket://{host}:{self._port}"

    def _listen(self) -> None:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        try:
            sock = socket.create_server((self._host, self._port), family=family, backlog=4)
        except OSError as exc:
            raise TransportError(
                f"cannot listen on {self._host}:{self._port}: {exc.strerror or exc}. "
                "Choose another port (0 picks a free one) or stop the program that holds it."
            ) from exc
        sock.setblocking(False)
        self._port = sock.getsockname()[1]
        self._sock = sock
        self.runner._register(sock, selectors.EVENT_READ, self._on_accept)

    def _on_accept(self, mask: int) -> None:
        if self._sock is None:
            return
        try:
            conn, addr = self._sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        peer = f"{addr[0]}:{addr[1]}"
        runner = self.runner
        if runner._link is not None or not runner.plugged:
            busy = runner._link.description if runner._link is not None else "nothing"
            conn.close()
            runner._emit("refused", via="tcp", peer=peer,
                         reason=f"one client at a time; attached: {busy}")
            return
        link = _SocketLink(runner, conn, peer)
        runner._attach(link)
        runner._emit("connected", via="tcp", peer=peer)

    def _close_listener(self) -> None:
        if self._sock is not None:
            self.runner._unregister(self._sock)
            self._sock.close()
            self._sock = None

    def unplug(self) -> None:
        self._close_listener()  # connections are refused while unplugged

    def replug(self) -> None:
        self._listen()

    def close(self) -> None:
        self._close_listener()


class _PtyServer:
    """A raw-mode pty whose slave path (or a symlink to it) the host opens."""

    def __init__(self, runner: "DeviceRunner", link_path: str | None) -> None:
        self.runner = runner
        self._link_path = os.path.abspath(link_path) if link_path else None
        if self._link_path is not None:
            if os.path.lexists(self._link_path) and not os.path.islink(self._link_path):
                raise ConfigurationError(
                    f"--pty-link {self._link_path} exists and is not a symlink; "
                    "refusing to replace it. Choose another path.")
            if os.path.islink(self._link_path) and os.path.exists(self._link_path):
                # a link left by a killed simulator dangles (its pty vanished with it); one
                # that resolves may belong to a simulator still running
                raise ConfigurationError(
                    f"--pty-link {self._link_path} points to {os.path.realpath(self._link_path)}, "
                    "which exists: another simulator may be using it. Stop it, remove the "
                    "link, or choose another path.")
            parent = os.path.dirname(self._link_path)
            if not os.path.isdir(parent):
                raise ConfigurationError(f"cannot create the pty link {self._link_path}: "
                                         f"directory {parent} does not exist")
        self.pty_path = ""
        self._open()

    @property
    def path(self) -> str:
        return self._link_path or self.pty_path

    @property
    def url(self) -> str:
        return self.path

    def _open(self) -> None:
        master, slave = os.openpty()
        try:
            tty.setraw(slave)
            os.set_blocking(master, False)
            self.pty_path = os.ttyname(slave)
            if self._link_path is not None:
                _replace_symlink(self.pty_path, self._link_path)
            link = _PtyLink(self.runner, master, slave, self.pty_path)
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        try:
            self.runner._attach(link)
        except BaseException:
            link.hang_up("attach failed")
            raise

    def _remove_link(self) -> None:
        if self._link_path is None:
            return
        try:
            if os.path.islink(self._link_path) and os.readlink(self._link_path) == self.pty_path:
                os.unlink(self._link_path)
        except OSError:
            pass

    def unplug(self) -> None:
        self._remove_link()  # the runner has hung up the link: like a USB adapter pulled out

    def replug(self) -> None:
        self._open()

    def close(self) -> None:
        self._remove_link()


def _replace_symlink(target: str, link_path: str) -> None:
    """Point ``link_path`` at ``target`` atomically (a stale link from a killed run is replaced)."""
    tmp = f"{link_path}.{os.getpid()}.tmp"
    try:
        os.symlink(target, tmp)
        os.replace(tmp, link_path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise TransportError(f"cannot create the pty link {link_path}: {exc.strerror or exc}. "
                             "Check that the directory is writable.") from exc


# ---------------------------------------------------------------------------- sim:// URLs
def parse_sim_url(url: str) -> tuple[str, dict[str, str]]:
    """``sim://KIND?opt=val&...`` -> (kind, options).  Raises ConfigurationError."""
    parts = urllib.parse.urlsplit(url)
    usage = ("expected sim://KIND?option=value&... (for example sim://fingerprint?model=r503 "
             "or sim://pinpad?layout=calculator)")
    if parts.scheme != "sim":
        raise ConfigurationError(f"{url!r} is not a sim:// URL; {usage}")
    kind = parts.netloc
    if not kind or parts.path not in ("", "/") or parts.fragment:
        raise ConfigurationError(f"cannot read the simulator URL {url!r}; {usage}")
    options: dict[str, str] = {}
    try:
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True) \
            if parts.query else []
    except ValueError:
        raise ConfigurationError(f"cannot read the options of {url!r}; {usage}") from None
    for key, value in pairs:
        if key in options:
            raise ConfigurationError(f"option {key!r} appears twice in {url!r}")
        options[key] = value
    return kind, options


def _flag(value: str, name: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigurationError(f"option {name} must be 1 or 0, not {value!r}")


def runner_for_url(url: str) -> tuple["DeviceRunner", bool]:
    """The runner a ``sim://`` URL names: (runner, owned).

    ``sim://KIND?name=N`` returns the runner registered under N (owned False: the caller only
    attaches).  Otherwise a new model is created from the options and a new, not yet started
    runner is returned (owned True: the caller starts and stops it).  Generic options:
    ``wire_time=1`` (model the wire time at the model's baud rate) and ``seed=N`` (random source
    of the byte faults; also passed to the model).
    """
    from firmware_sim import registry

    kind, options = parse_sim_url(url)
    if "name" in options:
        name = options.pop("name")
        if options:
            raise ConfigurationError(
                f"{url!r}: sim://{kind}?name={name} attaches to a running simulator; set the "
                f"other options ({', '.join(sorted(options))}) where that simulator was created")
        runner = registry.lookup_runner(name)
        if runner.kind != kind:
            raise ConfigurationError(f"{url!r}: the simulator named {name!r} is a {runner.kind}, "
                                     f"not a {kind}")
        return runner, False
    return create_runner(kind, options), True


def create_runner(kind: str, options: dict[str, str], *, name: str | None = None) -> "DeviceRunner":
    """A new, not yet started runner for a new model of ``kind``.

    ``options`` are strings as in a URL query.  Generic ones are handled here: ``wire_time``
    ("1": model the wire time at the model's ``baudrate``) and ``seed`` (random source of the
    byte faults, also passed to the model) and ``baud_check`` ("1": a host at another baud
    rate than the model's gets garbage); the rest go to the kind's ``create()``.
    """
    from firmware_sim import registry
    from firmware_sim.runner import DeviceRunner

    options = dict(options)
    wire_time = _flag(options.pop("wire_time", "0"), "wire_time")
    baud_check = _flag(options.pop("baud_check", "0"), "baud_check")
    rng = None
    if options.get("seed") is not None:
        try:
            rng = random.Random(int(options["seed"]))
        except ValueError:
            raise ConfigurationError(f"option seed must be an integer, not "
                                     f"{options['seed']!r}") from None
    device = registry.create_device(kind, **options)
    return DeviceRunner(device, rng=rng, name=name, follow_device_baud=wire_time,
                        baud_check=baud_check)


def attach_loopback(runner: "DeviceRunner") -> _LoopbackLink:
    """Attach a raw in-process link (what the ``sim://`` port uses)."""
    with runner._lock:
        link = _LoopbackLink(runner, f"sim://{runner.kind}?name={runner.name}")
        runner._attach(link)
    return link
