"""Argument and output helpers shared by the ``tactile`` subcommands (as python-can's tools share
theirs): the same flags spelled the same way everywhere, and one JSON-lines writer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from typing import Any, Callable, Collection, TextIO

__all__ = ["add_json_flag", "add_port_argument", "add_timeout_argument", "host_port",
           "positive", "baud_argument", "print_json", "JsonLines", "add_customer_arguments",
           "counter_config", "whole_number", "apply_sound"]

PORT_HELP = ("serial port or pyserial URL: /dev/ttyUSB0, COM3, socket://HOST:PORT, "
             "sim://fingerprint, sim://pinpad, or the path `tactile sim` printed for its pty "
             "(`tactile list` shows the ports)")
#: PORT of the commands that talk to a PIN pad (pad, pin, tour)
PAD_PORT_HELP = ("the pad: a serial port or pyserial URL (/dev/ttyUSB0, socket://HOST:PORT, "
                 "sim://pinpad, the pty `tactile sim pinpad` printed) or a USB selector "
                 "usb:VID:PID[:SERIAL] (`tactile list` shows both, `tactile list --probe` what "
                 "answers where)")


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """``--json``: print machine-readable JSON instead of text for people."""
    parser.add_argument("--json", action="store_true",
                        help="print JSON (one object per line) instead of text for people")


def add_port_argument(parser: argparse.ArgumentParser, *, name: str = "port",
                      required: bool = True, help: str | None = None) -> None:
    """The positional PORT (a device path or any pyserial URL), or ``--port`` if optional."""
    if required:
        parser.add_argument(name, metavar="PORT", help=help or PORT_HELP)
    else:
        parser.add_argument(f"--{name}", metavar="PORT", default=None, help=help or PORT_HELP)


def whole_number(low: int, high: int, *, unit: str = "") -> Callable[[str], int]:
    """argparse type for a whole number in ``low..high`` (the range named when it is not)."""
    what = f" {unit}" if unit else ""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number {low}..{high}{what}, "
                                             f"not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low}..{high}{what}, not {value}")
        return value
    return parse


def add_customer_arguments(parser: argparse.ArgumentParser, *, sound: bool = True,
                           what: str = "the customer's language") -> None:
    """``--counter FILE`` and ``--lang`` (default: the counter configuration's, else en), and
    with ``sound`` ``--volume`` / ``--rate`` for this customer (back to the counter's when the
    command ends).  Call :func:`counter_config` in the command's ``run``."""
    parser.add_argument("--counter", metavar="FILE", default=None,
                        help="the counter configuration, JSON (default $TACTILE_COUNTER_CONFIG, "
                             "else ~/.config/tactile/counter.json; see drivers/counter.py)")
    parser.add_argument("--lang", choices=["zh-CN", "en"], default=None,
                        help=f"{what} (default: the counter configuration's, else en)")
    if sound:
        parser.add_argument("--volume", type=whole_number(1, 1000), default=None, metavar="N",
                            help="this customer's volume, 1..1000 (default the counter's)")
        parser.add_argument("--rate", type=whole_number(50, 200, unit="%"), default=None,
                            metavar="PERCENT",
                            help="this customer's speech rate, 50..200 %% of normal "
                                 "(default the counter's)")


def counter_config(args: argparse.Namespace) -> Any:
    """The counter configuration for this command (``--counter``, else the documented file,
    else built-in defaults); fills ``args.lang`` when it was not given.  A file that cannot be
    used is bad usage: its message and exit 2."""
    from drivers.counter import CounterConfig
    from protocol.errors import ConfigurationError

    try:
        config = CounterConfig.load(getattr(args, "counter", None))
    except ConfigurationError as exc:
        print(f"tactile {getattr(args, 'command', '')}: {exc}".replace("  ", " "),
              file=sys.stderr)
        raise SystemExit(2) from None
    if getattr(args, "lang", None) is None:
        args.lang = config.lang
    return config


def apply_sound(guide: Any, args: argparse.Namespace) -> None:
    """``--volume`` / ``--rate``: this customer's settings on the pad (the guide puts the
    counter's back when the customer's session ends)."""
    if getattr(args, "volume", None) is not None:
        guide.announcer.set_volume(args.volume)
    if getattr(args, "rate", None) is not None:
        guide.announcer.set_rate(args.rate)


def add_timeout_argument(parser: argparse.ArgumentParser, *, default: float = 2.0,
                         help: str | None = None) -> None:
    """``--timeout SECONDS``: the deadline for one reply from the device."""
    parser.add_argument("--timeout", type=positive(float, unit="seconds"), default=default,
                        metavar="SECONDS",
                        help=help or f"seconds to wait for the device to answer "
                                     f"(default {default})")


def positive(kind: type = float, *, unit: str | None = None) -> Callable[[str], Any]:
    """argparse type for a number above 0 of ``kind`` (int or float); ``unit`` ("seconds")
    names it in the message: ``expected a positive number of seconds, not 0``."""
    noun = "whole number" if kind is int else "number"
    if unit:
        noun += f" of {unit}"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {noun}, not {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {noun}, not {text}")
        return value
    return parse


def baud_argument(*, example: str, allowed: Collection[int] | None = None,
                  rule: str = "") -> Callable[[str], int | str]:
    """argparse type for ``--baud``: ``auto`` (the command finds the rate) or a positive baud
    rate.  ``example`` is the rate the message suggests ("115200"); ``allowed``, if given, the
    only rates the device runs at, and ``rule`` how the message says them ("EF01 modules run
    at 9600 x N baud (N 1..12)")."""
    def parse(text: str) -> int | str:
        if text == "auto":
            return text
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"the baud rate is a number such as {example}, or "
                                             f"auto; not {text!r}") from None
        if allowed is not None and value not in allowed:
            raise argparse.ArgumentTypeError(f"{rule}, not {value}")
        if value <= 0:
            raise argparse.ArgumentTypeError(f"the baud rate must be positive, not {value}")
        return value
    return parse


def host_port(text: str) -> tuple[str, int]:
    """argparse type for ``HOST:PORT`` (``[::1]:PORT`` for IPv6; port 0 picks a free one)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT such as 127.0.0.1:7000, not {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the port in {text!r} is not a number") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"the port in {text!r} must be 0..65535")
    return host, number


def _encode(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def print_json(obj: Any, *, file: TextIO | None = None) -> None:
    """Print ``obj`` as one line of JSON (UTF-8 whatever the locale) and flush."""
    stream = file if file is not None else sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(_encode(obj))
        buffer.flush()
    else:
        stream.write(_encode(obj).decode("utf-8"))
        stream.flush()


class JsonLines:
    """A thread-safe JSON-lines writer for event streams.

    Lines are flushed one by one.  If the reader goes away (broken pipe), further lines are
    discarded and stdout is pointed at /dev/null, so the program can still shut down cleanly.
    """

    def __init__(self, file: TextIO | None = None) -> None:
        self._file = file if file is not None else sys.stdout
        self._lock = threading.Lock()
        self.broken = False

    def __call__(self, obj: Any) -> None:
        self.write(obj)

    def write(self, obj: Any) -> None:
        with self._lock:
            if self.broken:
                return
            try:
                print_json(obj, file=self._file)
            except (BrokenPipeError, ValueError, OSError):
                self.broken = True
                self._silence()

    def _silence(self) -> None:
        try:
            fd = self._file.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, fd)
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass


# ---------------------------------------------------------------------- the CLI edge
#: driver messages speak to Python programmers in places; at the CLI they must name the
#: command's options instead (pattern -> replacement, applied in order)
_CLI_WORDING: tuple[tuple[str, str], ...] = (
    (r"reconnect \(TactilePinPad\.reconnect\(\), or run the command again\)",
     "run the command again"),
    (r"TactilePinPad\.reconnect\(\)", "running the command again"),
    (r"or pass overwrite=True \(`--overwrite` with `tactile fingerprint`\)", "or add --overwrite"),
    (r"overwrite=True", "--overwrite"),
    (r"open it with baudrate=(\d+) \(`--baud \d+` with `tactile fingerprint`\)",
     r"use --baud \1"),
    (r"baudrate=(\d+)", r"--baud \1"),
    (r"\(then call connect\(\) or reopen the reader\)", "(then run the command again)"),
    (r"Open the reader with the password set on this module \(password=\.\.\., or "
     r"`--password N` with `tactile fingerprint`\)",
     "Give the password set on this module with --password N"),
    (r"Open the reader with the module's password \(password=\.\.\., or `--password N` with "
     r"`tactile fingerprint`\)", "Give the module's password with --password N"),
    (r"password=\.\.\., or ", ""),
    (r"check_duplicate=False", "--no-duplicate-check"),
    (r"detect_baudrate\(\)", "--baud auto"),
)


def cli_message(text: str) -> str:
    """A driver message as the CLI prints it: options, not Python methods."""
    import re

    for pattern, replacement in _CLI_WORDING:
        text = re.sub(pattern, replacement, text)
    return text


def add_trace_flag(parser: argparse.ArgumentParser) -> None:
    """``--trace``: decoded frames of the host side to stderr."""
    parser.add_argument("--trace", action="store_true",
                        help="print every frame on the line, decoded, to stderr")


def quiet_driver_logs() -> None:
    """The drivers log warnings (a lost link ...) that the CLI also reports as its error: with
    no logging configured Python would print them too (logging.lastResort), so a technician
    saw an unplugged pad's message twice.  A NullHandler on ``drivers`` keeps them for
    programs that configure logging and silent otherwise."""
    import logging

    logger = logging.getLogger("drivers")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
