"""``tactile pin PORT --pan PAN``: run one PIN entry on a tactile PIN pad.

PORT is anything :meth:`drivers.pinpad.TactilePinPad.open` accepts: a serial device or pyserial
URL (``/dev/ttyUSB0``, ``socket://HOST:PORT``, ``sim://pinpad``, the pty ``tactile sim pinpad``
made) or a USB selector ``usb:VID:PID[:SERIAL]``.  The pad guides the customer with prompts from
its fixed prompt table in ``--lang``; the PIN never reaches this program, only the enciphered
ISO 9564 PIN block.

``--json`` prints exactly one JSON object when the entry ends::

    {"status": "ok" | "cancelled" | "timeout", "digits": N, "format": "iso4",
     "pin_block": "HEX" | null, "ksn": "HEX" | null}

Hex is UPPER CASE (as ISO 9564 and ANSI X9.24 print it); ``pin_block`` and ``ksn`` are null
when no PIN was kept (cancelled, timeout) and ``ksn`` is null for a fixed (non-DUKPT) key.
On an error (no pad, refused, link lost) nothing is printed on stdout: the message goes to
stderr.  Exit status: 0 ok; 1 cancelled, timeout or error; 2 bad usage.  When the pad reports
that its own speech failed (TPP SpeechEnded FAILED: the customer did not hear the prompts) the
JSON is printed as usual, a warning goes to stderr and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from drivers.pinpad import (
    Completion,
    DigitAccepted,
    EntryReady,
    HeadsetInserted,
    HeadsetRemoved,
    KeyPressed,
    KeyRejected,
    PadEvent,
    TimeExtended,
    TimeWarning,
)
from protocol.errors import DeviceError
from protocol.tpp.prompts import PromptId
from tools.args import add_json_flag, add_timeout_argument, add_trace_flag, print_json
from tools.pad import _baud as _pad_baud, open_pad

__all__ = ["register", "run", "STATUS"]

#: completion -> the "status" of the JSON contract
STATUS = {Completion.ENTER: "ok", Completion.AUTO: "ok", Completion.CANCEL: "cancelled",
          Completion.TIMEOUT: "timeout"}

_PORT_HELP = ("the pad: a serial port or pyserial URL (/dev/ttyUSB0, socket://HOST:PORT, "
              "sim://pinpad, the pty `tactile sim pinpad` printed) or a USB selector "
              "usb:VID:PID[:SERIAL] (`tactile list` shows both)")


def _length(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a PIN length 4..12, not {text!r}") from None
    if not 4 <= value <= 12:
        raise argparse.ArgumentTypeError(f"a PIN has 4 to 12 digits, not {value}")
    return value


def _pan(text: str) -> str:
    if not (text.isascii() and text.isdigit() and 8 <= len(text) <= 19):
        raise argparse.ArgumentTypeError("the PAN (card number) is 8 to 19 digits, no spaces")
    return text


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pin", help="run a PIN entry on a tactile PIN pad and show the PIN block",
        description="Run one PIN entry on a tactile PIN pad with spoken prompts from the pad's "
                    "fixed table. Only the enciphered PIN block and KSN reach this program. "
                    "With --json it prints exactly one object: {\"status\": ok|cancelled|timeout, "
                    "\"digits\": N, \"format\", \"pin_block\": HEX|null, \"ksn\": HEX|null} "
                    "(hex in upper case). Exit status: 0 ok, 1 cancelled / timeout / error / "
                    "the pad's speech failed (JSON as usual, warning on stderr), "
                    "2 bad usage.")
    parser.add_argument("port", metavar="PORT", help=_PORT_HELP)
    parser.add_argument("--pan", type=_pan, required=True,
                        help="the card number (PAN) the PIN block is bound to")
    parser.add_argument("--format", dest="block_format", default="iso4",
                        choices=["iso4", "iso0", "iso1", "iso3"],
                        help="ISO 9564 PIN block format (default iso4: AES DUKPT; iso0/1/3: "
                             "TDES DUKPT)")
    parser.add_argument("--min", dest="min_len", type=_length, default=4, metavar="N",
                        help="fewest digits (default 4)")
    parser.add_argument("--max", dest="max_len", type=_length, default=12, metavar="N",
                        help="most digits (default 12)")
    parser.add_argument("--lang", default="en", choices=["zh-CN", "en"],
                        help="language of the spoken prompts (default en)")
    parser.add_argument("--time-limit", type=int, default=90, metavar="SECONDS",
                        help="the pad's inactivity limit for the entry, 10..600 (default 90)")
    parser.add_argument("--baud", type=_pad_baud, default=115200, metavar="BAUD",
                        help="serial speed (default 115200; `auto` asks the pad at 115200 and "
                             "9600; ignored for USB)")
    add_timeout_argument(parser, default=3.0)
    add_json_flag(parser)
    add_trace_flag(parser)
    parser.set_defaults(func=run)


def _show(console: Any, event: PadEvent, max_len: int) -> None:
    """One line for people per event (never a digit: the events carry none)."""
    if isinstance(event, EntryReady):
        console.print("[bold]Ready[/]: the customer can type the PIN now"
                      + (" (confirmation)" if event.stage == 2 else ""))
    elif isinstance(event, DigitAccepted):
        dots = "●" * event.count + "○" * max(0, max_len - event.count)
        console.print(f"  {dots}  {event.count} digit{'s' if event.count != 1 else ''}")
    elif isinstance(event, KeyPressed):
        console.print(f"  key [bold]{event.name}[/]"
                      + (f" ({event.count} digits)" if event.count is not None else ""))
    elif isinstance(event, KeyRejected):
        console.print(f"  key {event.name} ignored: {event.reason}")
    elif isinstance(event, TimeWarning):
        console.print(f"  [yellow]{event.seconds_left} s left[/]")
    elif isinstance(event, TimeExtended):
        console.print(f"  time extended: {event.seconds_left} s left")
    elif isinstance(event, HeadsetInserted):
        console.print("  headset in: private audio")
    elif isinstance(event, HeadsetRemoved):
        console.print("  headset out: speaker audio")


def run(args: argparse.Namespace) -> int:
    if args.min_len > args.max_len:   # bad usage: exit 2, as argparse does for its own checks
        print(f"tactile pin: error: --min {args.min_len} is more than --max {args.max_len}",
              file=sys.stderr)
        return 2
    console = None
    if not args.json:
        from rich.console import Console

        console = Console(highlight=False)
    if args.min_len == args.max_len:
        prompt, prompt_args = PromptId.ENTER_PIN_DIGITS, (args.min_len,)
    else:
        prompt, prompt_args = PromptId.ENTER_PIN, ()
    # exclusive port, --baud auto, --trace, driver warnings not printed twice: tools.pad
    with open_pad(args.port, baud=args.baud, timeout=args.timeout, trace=args.trace) as pad:
        if console is not None:
            info = pad.info()
            console.print(f"[bold]{info.vendor} {info.model}[/] serial {info.serial}, "
                          f"firmware {info.firmware}, TPP {pad.version}", soft_wrap=True)
            console.print(f"on {pad.target}", soft_wrap=True)
        with pad.pin_entry(min_len=args.min_len, max_len=args.max_len, pan=args.pan,
                           block_format=args.block_format, timeout=args.time_limit,
                           prompt=prompt, prompt_args=prompt_args, lang=args.lang) as entry:
            for event in entry:
                if console is not None:
                    _show(console, event, args.max_len)
        # the pad itself speaks the closing prompt (complete / cancelled / time is up)
        completion = entry.completion
    status = STATUS.get(completion)  # type: ignore[arg-type]
    if status is None:
        raise DeviceError(f"the PIN entry ended with {completion} (the pad's fault or a "
                          "terminating function key): no PIN block", code=None,
                          meaning="entry did not complete")
    result = {
        "status": status,
        "digits": entry.digits,
        "format": entry.format.value,
        "pin_block": entry.pin_block.hex().upper() if entry.pin_block else None,
        "ksn": entry.ksn.hex().upper() if entry.ksn else None,
    }
    if args.json:
        print_json(result)
    else:
        assert console is not None
        from rich.table import Table

        table = Table(show_header=False, box=None)
        colour = "green" if status == "ok" else "yellow"
        table.add_row("status", f"[{colour}]{status}[/]")
        table.add_row("digits", str(result["digits"]))
        table.add_row("format", result["format"])
        table.add_row("PIN block", result["pin_block"] or "-")
        table.add_row("KSN", result["ksn"] or "-")
        console.print(table)
    if entry.speech_failed:
        # the customer did not hear the pad's guidance: the JSON stays as it is, but a script
        # must not take this for a clean entry
        print(f"tactile pin: warning: the pad's speech failed ({entry.speech_failed} "
              "utterance(s) not spoken): the customer may not have heard the prompts; check "
              "the pad's speech unit", file=sys.stderr)
        return 1
    return 0 if status == "ok" else 1
