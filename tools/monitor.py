"""``tactile monitor HOST_SIDE DEVICE_SIDE``: a tap between a teller application and a device.

Every byte read on one side is written to the other side unchanged, at once, in the order it
came; then it is decoded (EF01 or TPP, told by the frame header) and shown with its direction,
time and checksum verdict, PIN-related fields masked (see :mod:`tools._frames`).

HOST_SIDE is the port the teller application's end is wired to (one end of a null-modem pair,
for example a virtual pair made with ``socat -d -d pty,raw,echo=0 pty,raw,echo=0``), or
``pty:PATH``: the monitor then makes a pty itself and a symlink to it at PATH, and the teller
application (or ``tactile fingerprint ... PATH``) opens PATH.  DEVICE_SIDE is the device's
port (``/dev/ttyUSB0``, ``socket://HOST:PORT``, the pty of ``tactile sim``).

``--raw FILE`` records every chunk with its time and direction (``tactile decode FILE`` reads
it back).  ``--json``: a ``{"event": "ready", ...}`` line, one object per frame, and a
``{"event": "stopped", ...}`` summary.  It runs until Ctrl-C / SIGTERM or ``--duration``;
exit status 0, or 1 when a side failed (unplugged), 2 bad usage.
"""

from __future__ import annotations

import argparse
import errno
import os
import select
import signal
import sys
import threading
import time
import tty
from pathlib import Path
from typing import Any, Callable, TextIO

from drivers.transport import SerialTransport, Transport
from protocol.errors import ConfigurationError, TactileError, TransportError
from tools._frames import (
    DEVICE_TO_HOST,
    HOST_TO_DEVICE,
    RECORDING_HEADER,
    DecodeContext,
    Frame,
    StreamDecoder,
    format_frame,
    recording_line,
)
from tools.args import JsonLines, add_json_flag
from tools.commands import COMMANDS

__all__ = ["register", "run", "Monitor", "PtyEnd"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "monitor", help=COMMANDS["monitor"],
        description="Forward every byte between HOST_SIDE and DEVICE_SIDE unchanged and print "
                    "each frame decoded (EF01 or TPP), with direction, time and checksum "
                    "verdict, PIN-related fields masked. HOST_SIDE may be pty:PATH: a pty made "
                    "here (symlink at PATH) for the teller application to open. Runs until "
                    "Ctrl-C / SIGTERM or --duration.")
    parser.add_argument("host_side", metavar="HOST_SIDE",
                        help="the teller application's side: a port or pyserial URL, or "
                             "pty:PATH to make a pty at PATH")
    parser.add_argument("device_side", metavar="DEVICE_SIDE",
                        help="the device's side: a port or pyserial URL")
    parser.add_argument("--baud", type=int, default=57600, metavar="BAUD",
                        help="serial speed of both sides (default 57600, EF01 modules; a TPP "
                             "pad runs at 115200)")
    parser.add_argument("--host-baud", type=int, metavar="BAUD",
                        help="the host side's speed, when it differs from --baud")
    parser.add_argument("--raw", type=Path, metavar="FILE",
                        help="also record every chunk with time and direction "
                             "(read it back with `tactile decode FILE`)")
    parser.add_argument("--protocol", choices=["auto", "ef01", "tpp"], default="auto",
                        help="decode only this protocol (default auto: by the frame header)")
    parser.add_argument("--duration", type=float, metavar="SECONDS",
                        help="stop after this many seconds (default: until Ctrl-C)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


class PtyEnd(Transport):
    """A raw pty made for the teller application; its slave path (or a symlink) is opened by
    that application.  We keep a slave descriptor open, so the master never sees EIO when the
    application closes and re-opens the port."""

    def __init__(self, link: str) -> None:
        self.link = os.path.abspath(link)
        if os.path.lexists(self.link):
            if not os.path.islink(self.link):
                raise ConfigurationError(f"{self.link} exists and is not a symlink; choose "
                                         "another path for pty:PATH")
            if os.path.exists(self.link):
                raise ConfigurationError(f"{self.link} points to {os.path.realpath(self.link)}, "
                                         "which exists: another monitor or simulator may use "
                                         "it. Stop it or choose another path.")
            os.unlink(self.link)
        self._master, self._slave = os.openpty()
        try:
            tty.setraw(self._slave)
            self.path = os.ttyname(self._slave)
            os.symlink(self.path, self.link)
        except OSError as exc:
            self._close_fds()
            raise ConfigurationError(f"cannot make the pty link {self.link}: {exc.strerror}") \
                from exc
        self.description = f"pty {self.link}"
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = os.write(self._master, view)
            except BlockingIOError:
                select.select([], [self._master], [], 0.05)
                continue
            except OSError as exc:
                raise TransportError(f"write to {self.description} failed: {exc}") from exc
            view = view[sent:]

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if self._closed:
            raise TransportError(f"{self.description} is closed")
        ready, _, _ = select.select([self._master], [], [], max(0.0, timeout))
        if not ready:
            return b""
        try:
            return os.read(self._master, max_bytes)
        except OSError as exc:
            if exc.errno == errno.EIO:
                return b""
            raise TransportError(f"read from {self.description} failed: {exc}") from exc

    def _close_fds(self) -> None:
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._close_fds()
        try:
            if os.path.islink(self.link) and os.readlink(self.link) == self.path:
                os.unlink(self.link)
        except OSError:
            pass


def open_side(spec: str, baudrate: int) -> Transport:
    """``pty:PATH`` -> a new pty; anything else -> an exclusively opened pyserial port."""
    if spec.startswith("pty:"):
        return PtyEnd(spec[4:])
    return SerialTransport(spec, baudrate)


class Monitor:
    """Two forwarding threads between ``host`` and ``device``; ``on_frame(frame)`` sees every
    decoded frame (called from those threads, one at a time)."""

    def __init__(self, host: Transport, device: Transport, *,
                 on_frame: Callable[[Frame], None], raw: TextIO | None = None,
                 protocol: str = "auto", clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.device = device
        self.on_frame = on_frame
        self.raw = raw
        self.clock = clock
        self.start_time = clock()
        context = DecodeContext()
        self._decoders = {HOST_TO_DEVICE: StreamDecoder(HOST_TO_DEVICE, context, protocol),
                          DEVICE_TO_HOST: StreamDecoder(DEVICE_TO_HOST, context, protocol)}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.failure: TactileError | None = None
        self.bytes = {HOST_TO_DEVICE: 0, DEVICE_TO_HOST: 0}
        self.frames = {HOST_TO_DEVICE: 0, DEVICE_TO_HOST: 0}
        self.bad = 0
        self._threads = [
            threading.Thread(target=self._pump, args=(host, device, HOST_TO_DEVICE),
                             name="tactile-monitor-h2d", daemon=True),
            threading.Thread(target=self._pump, args=(device, host, DEVICE_TO_HOST),
                             name="tactile-monitor-d2h", daemon=True)]

    def start(self) -> "Monitor":
        for thread in self._threads:
            thread.start()
        return self

    @property
    def stopped(self) -> threading.Event:
        return self._stop

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout=2.0)
        with self._lock:
            for decoder in self._decoders.values():
                for frame in decoder.flush():
                    self._show(frame)

    def _pump(self, src: Transport, dst: Transport, direction: str) -> None:
        try:
            while not self._stop.is_set():
                data = src.read(4096, 0.05)
                if not data:
                    continue
                dst.write(data)          # forwarded first: the tap adds no delay it can avoid
                when = self.clock() - self.start_time
                with self._lock:
                    self.bytes[direction] += len(data)
                    if self.raw is not None:
                        self.raw.write(recording_line(when, direction, data))
                        self.raw.flush()
                    for frame in self._decoders[direction].feed(data, when):
                        self._show(frame)
        except TactileError as exc:
            if not self._stop.is_set():
                self.failure = exc
                self._stop.set()

    def _show(self, frame: Frame) -> None:
        if frame.protocol is not None and frame.direction is not None:
            self.frames[frame.direction] += 1
            if not frame.checksum_ok:
                self.bad += 1
        self.on_frame(frame)


def run(args: argparse.Namespace) -> int:
    if args.duration is not None and not args.duration > 0:
        print("tactile monitor: error: --duration must be a positive number of seconds",
              file=sys.stderr)
        return 2
    out = JsonLines() if args.json else None
    console = None
    if out is None:
        from rich.console import Console
        console = Console(highlight=False, soft_wrap=True)
    raw_file = None
    if args.raw is not None:
        try:
            raw_file = open(args.raw, "w", encoding="ascii")
        except OSError as exc:
            print(f"tactile monitor: cannot write {args.raw}: {exc.strerror}", file=sys.stderr)
            return 2
    host = device = None
    try:
        device = open_side(args.device_side, args.baud)
        host = open_side(args.host_side, args.host_baud or args.baud)
        if raw_file is not None:
            started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            raw_file.write(f"{RECORDING_HEADER}\n# host side {host.description}; device side "
                           f"{device.description}; started {started}\n")
            raw_file.flush()

        def on_frame(frame: Frame) -> None:
            if out is not None:
                out(frame.to_dict())
            else:
                from rich.markup import escape
                line = escape(format_frame(frame))
                if frame.protocol is None:
                    line = f"[dim]{line}[/dim]"
                elif not frame.checksum_ok:
                    line = f"[red]{line}[/red]"
                console.print(line)

        monitor = Monitor(host, device, on_frame=on_frame, raw=raw_file, protocol=args.protocol)
        where = {"event": "ready", "host": host.description, "device": device.description}
        if isinstance(host, PtyEnd):
            where["host_port"] = host.link
        if out is not None:
            out(where)
        else:
            console.print(f"Monitoring [bold]{host.description}[/] (host) <-> "
                          f"[bold]{device.description}[/] (device). Ctrl-C stops.")
        reason = _wait(monitor, args.duration)
        monitor.stop()
        summary = {"event": "stopped", "reason": reason if monitor.failure is None else "failed",
                   "bytes": dict(monitor.bytes), "frames": dict(monitor.frames),
                   "bad_checksums": monitor.bad}
        if monitor.failure is not None:
            summary["error"] = str(monitor.failure)
        if out is not None:
            out(summary)
        else:
            console.print(f"Stopped ({summary['reason']}): host->device "
                          f"{monitor.bytes[HOST_TO_DEVICE]} bytes in "
                          f"{monitor.frames[HOST_TO_DEVICE]} frames, device->host "
                          f"{monitor.bytes[DEVICE_TO_HOST]} bytes in "
                          f"{monitor.frames[DEVICE_TO_HOST]} frames, {monitor.bad} bad "
                          "checksum(s).")
        if monitor.failure is not None:
            print(f"tactile monitor: {monitor.failure}", file=sys.stderr)
            return 1
        return 0
    finally:
        for side in (host, device):
            if side is not None:
                side.close()
        if raw_file is not None:
            raw_file.close()


def _wait(monitor: Monitor, duration: float | None) -> str:
    """Run until a signal, ``duration`` or a failing side; returns why it stopped."""
    reason = {"why": "duration"}
    old: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        def handle(signum: int, frame: object) -> None:
            reason["why"] = signal.Signals(signum).name
            monitor.stopped.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handle)
    try:
        monitor.start()
        monitor.stopped.wait(duration)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return reason["why"]
