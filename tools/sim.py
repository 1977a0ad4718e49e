"""``tactile sim KIND``: run a simulated device on a pty or a TCP port, for people and programs.

stdout carries JSON objects, one per line, flushed: first ``{"event": "ready", "port": ...}``
once the port can be opened, then every event of the model (``say``, ``mode``, ``trace`` ...)
and the runner (``connected``, ``error`` ...), and one reply per stdin command.  stdin carries
plain commands, one per line (``place 3 90``, ``press 5``, ``power-cycle``, ``unplug``,
``fault drop 4`` ...); blank lines and lines starting with ``#`` are skipped.  Closing stdin
does not end the simulator: SIGTERM (or SIGINT) does, cleanly: the state file is flushed, the
pty link removed, exit status 0.
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import socket
import stat
import sys
import threading
import time
from typing import Any

from firmware_sim import registry
from firmware_sim.attach import create_runner
from firmware_sim.runner import FAULTS, DeviceRunner
from protocol.errors import ConfigurationError
from tools.args import JsonLines, host_port
from tools.commands import COMMANDS

__all__ = ["register", "run", "build_kind_parser"]

_GENERIC_FLAGS = {"--pty-link", "--tcp", "--state", "--trace", "--wire-time", "--baud-check",
                  "-h", "--help"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim", help=COMMANDS["sim"],
        description="Run a simulated device. `tactile sim KIND --help` lists the options of "
                    f"a kind. Kinds: {', '.join(registry.kinds())}.",
        epilog="Generic stdin commands: power-cycle, unplug, replug, "
               + "; ".join(f"fault {text}" for text in FAULTS.values()))
    parser.add_argument("kind", metavar="KIND", help="device kind: "
                        + ", ".join(registry.kinds()))
    parser.add_argument("options", nargs=argparse.REMAINDER,
                        help="--pty-link PATH | --tcp HOST:PORT, then the kind's options")
    parser.set_defaults(func=run)


def build_kind_parser(kind: str) -> argparse.ArgumentParser:
    """The parser of ``tactile sim KIND`` (imports the kind's module for its CLI_OPTIONS)."""
    parser = argparse.ArgumentParser(
        prog=f"tactile sim {kind}",
        description=f"Run a simulated {kind}. stdout: JSON lines, the first "
                    '{"event": "ready", "port": ...}; stdin: commands, one per line. '
                    "SIGTERM ends it; closing stdin does not.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty-link", metavar="PATH",
                       help="create a pty and a symlink to it at PATH (removed on exit)")
    where.add_argument("--tcp", metavar="HOST:PORT", type=host_port,
                       help="serve one TCP client at a time (pyserial socket://HOST:PORT); "
                            "port 0 picks a free port")
    parser.add_argument("--state", metavar="FILE",
                        help="keep the device's persistent state in FILE (JSON)")
    parser.add_argument("--trace", action="store_true",
                        help="print one decoded JSON line per frame in each direction")
    parser.add_argument("--wire-time", action="store_true",
                        help="deliver bytes no faster than the device's baud rate would")
    parser.add_argument("--baud-check", action="store_true",
                        help="a host whose port is set to another baud rate than the device's "
                             "receives garbage, as on a real line (pty only: TCP has no baud)")
    for option in registry.cli_options(kind):
        if option["flag"] in _GENERIC_FLAGS:
            continue  # the runner owns these
        parser.add_argument(option["flag"], dest=option["dest"], choices=option.get("choices"),
                            default=option.get("default"), help=option.get("help"))
    return parser


def run(args: argparse.Namespace) -> int:
    kind = args.kind
    if kind not in registry.kinds():
        raise ConfigurationError(f"unknown simulator kind {kind!r}; known kinds: "
                                 f"{', '.join(registry.kinds())}")
    parser = build_kind_parser(kind)
    opts = parser.parse_args(args.options)
    options: dict[str, str] = {}
    for option in registry.cli_options(kind):
        if option["flag"] in _GENERIC_FLAGS:
            continue
        value = getattr(opts, option["dest"], None)
        if value is not None:
            options[option["dest"]] = str(value)
    if opts.state:
        options["state"] = os.path.abspath(opts.state)
    if opts.trace:
        options["trace"] = "1"
    return _serve(kind, options, opts)


def _serve(kind: str, options: dict[str, str], opts: argparse.Namespace) -> int:
    out = JsonLines()
    stopper = _Stopper()  # before the (slow) model import, so SIGTERM is always clean
    try:
        return _serve_with(kind, options, opts, out, stopper)
    finally:
        stopper.restore()


def _serve_with(kind: str, options: dict[str, str], opts: argparse.Namespace, out: JsonLines,
                stopper: "_Stopper") -> int:
    runner = create_runner(kind, {**options, "wire_time": "1" if opts.wire_time else "0",
                                  "baud_check": "1" if opts.baud_check else "0"}, name=kind)
    device = runner.device

    # events wait until the ready line is out: it must be the first line
    held: list[dict[str, Any]] = []
    held_lock = threading.Lock()
    ready = False

    def on_event(event: dict[str, Any]) -> None:
        with held_lock:
            if not ready:
                held.append(event)
                return
        out(event)

    runner.subscribe(on_event)
    try:
        ready_line: dict[str, Any] = {"event": "ready"}
        if opts.pty_link:
            ready_line["port"] = runner.serve_pty(opts.pty_link)
            ready_line["pty"] = os.path.realpath(opts.pty_link)
        else:
            runner.serve_tcp(*opts.tcp)
            ready_line["port"] = runner.port
        runner.start()
        _wait_until_booted(device, stopper)
        ready_line.update(kind=kind, pid=os.getpid(), wire_time=runner.follow_device_baud,
                          baud_check=runner.baud_check)
        baudrate = getattr(device, "baudrate", None)
        if isinstance(baudrate, int):
            ready_line["baudrate"] = baudrate
        ready_line["options"] = {k: v for k, v in options.items() if k != "state"}
        out(ready_line)
        with held_lock:  # held while the backlog goes out, so newer events wait their turn
            for event in held:
                out(event)
            held.clear()
            ready = True
        reason = _command_loop(runner, out, stopper)
    except BaseException:
        runner.stop()
        raise
    try:
        runner.stop()
    except Exception as exc:  # noqa: BLE001 - e.g. the state file could not be written
        message = f"stopping the {kind} simulator failed: {type(exc).__name__}: {exc}"
        out({"event": "error", "source": "runner", "message": message})
        print(f"tactile sim: {message}", file=sys.stderr)
        return 1
    out({"event": "stopped", "reason": reason})
    return 0


def _wait_until_booted(device: Any, stopper: "_Stopper", limit: float = 10.0) -> None:
    """Hold the ready line until the device answers: an EF01 ZFM/R307 boots for 500 ms after
    power-up and drops every command meanwhile, and the contract promises that a tool may talk
    as soon as it reads ``ready``.  A device without a ``ready`` flag is usable at once."""
    deadline = time.monotonic() + limit
    while (getattr(device, "ready", True) is False and stopper.reason is None
           and time.monotonic() < deadline):
        time.sleep(0.005)


_HANGUP = (signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()


class _Stopper:
    """SIGTERM/SIGINT/SIGHUP set a flag and wake the command loop (via signal.set_wakeup_fd)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self._old: dict[int, Any] = {}
        self._old_fd: int | None = None
        if threading.current_thread() is threading.main_thread():
            # SIGHUP too: a technician closing the terminal (or tmux pane) it runs in
            for sig in (signal.SIGTERM, signal.SIGINT, *_HANGUP):
                self._old[sig] = signal.signal(sig, self._handle)
            self._old_fd = signal.set_wakeup_fd(self.wake_w.fileno(), warn_on_full_buffer=False)

    def _handle(self, signum: int, frame: object) -> None:
        self.reason = signal.Signals(signum).name

    def restore(self) -> None:
        if self._old:
            signal.set_wakeup_fd(self._old_fd if self._old_fd is not None else -1)
            for sig, handler in self._old.items():
                signal.signal(sig, handler)
            self._old.clear()
        self.wake_r.close()
        self.wake_w.close()


def _command_loop(runner: DeviceRunner, out: JsonLines, stopper: _Stopper) -> str:
    """Answer stdin commands until a signal; stdin EOF only stops the reading."""
    selector = selectors.DefaultSelector()
    selector.register(stopper.wake_r, selectors.EVENT_READ)
    pending = b""
    try:
        stdin_fd = sys.stdin.fileno() if sys.stdin is not None else None
    except (OSError, ValueError):
        stdin_fd = None

    def handle(raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").strip()
        if line and not line.startswith("#"):
            out(runner.command(line))

    try:
        if stdin_fd is not None:
            if stat.S_ISREG(os.fstat(stdin_fd).st_mode):
                # a file never blocks (and epoll refuses files): run it all now
                for raw in _read_all(stdin_fd).splitlines():
                    handle(raw)
            else:
                try:
                    selector.register(stdin_fd, selectors.EVENT_READ)
                except PermissionError:
                    # not pollable, e.g. /dev/null (`tactile sim ... </dev/null &` in CI):
                    # it never blocks either, so it is read like a file
                    for raw in _read_all(stdin_fd).splitlines():
                        handle(raw)
        while stopper.reason is None:
            for key, _ in selector.select(1.0):
                if key.fileobj is stopper.wake_r:
                    try:
                        while stopper.wake_r.recv(4096):
                            pass
                    except (BlockingIOError, OSError):
                        pass
                    continue
                try:
                    data = os.read(stdin_fd, 65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:  # EOF: keep serving until a signal
                    selector.unregister(stdin_fd)
                    if pending:
                        handle(pending)
                        pending = b""
                    continue
                pending += data
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    handle(raw)
    finally:
        selector.close()
    return stopper.reason or "stopped"


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
