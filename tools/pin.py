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

Guidance (``drivers.guidance``): ``--profile blind|low-vision|deaf|elderly|standard`` runs the
entry with full guidance for that customer: instructions in words before it (in ``--lang``), the
profile's per-digit feedback (a spoken count, the uniform key tone, one identical vibration),
spoken backspace / maximum / "N digits entered" after an early Enter, the pad's warnings and
extensions, and the result in words after it.  ``--change`` runs a guided PIN change (the new
PIN twice, compared inside the pad; at most ``--mismatches`` mismatches, default 3; profile
"standard" unless ``--profile`` says otherwise).  The output contract is the same as for a PIN
entry, with one more status, ``mismatch`` (the pad gave up: no block, exit 1); for a change the
block is the NEW PIN's.  Every phrase the customer is given, and every teller notice, is
printed as one line (``[guide] ...``, ``[pad] ...``, ``[teller] ...``, ``[haptic] NAME``): on
stdout for people, and on STDERR with ``--json``, so that stdout still carries exactly the one
JSON object.  ``--time-limit`` defaults to the profile's limit with guidance, 90 s without.
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
from drivers.guidance import PROFILE_NAMES
from protocol.errors import DeviceError
from protocol.tpp.prompts import PromptId
from tools.args import (
    PAD_PORT_HELP,
    add_customer_arguments,
    add_json_flag,
    apply_sound,
    counter_config,
    add_timeout_argument,
    add_trace_flag,
    print_json,
)
from tools.pad import _baud as _pad_baud, open_pad
from tools.commands import COMMANDS

__all__ = ["register", "run", "STATUS"]

#: completion -> the "status" of the JSON contract
STATUS = {Completion.ENTER: "ok", Completion.AUTO: "ok", Completion.CANCEL: "cancelled",
          Completion.TIMEOUT: "timeout"}


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
        "pin", help=COMMANDS["pin"],
        description="Run one PIN entry on a tactile PIN pad with spoken prompts from the pad's "
                    "fixed table. Only the enciphered PIN block and KSN reach this program. "
                    "With --json it prints exactly one object: {\"status\": ok|cancelled|timeout, "
                    "\"digits\": N, \"format\", \"pin_block\": HEX|null, \"ksn\": HEX|null} "
                    "(hex in upper case); --change adds status mismatch. With --profile or "
                    "--change the customer is guided and every guidance line is printed "
                    "(on stderr with --json). Exit status: 0 ok, 1 cancelled / timeout / "
                    "mismatch / error / "
                    "the pad's speech failed (JSON as usual, warning on stderr), "
                    "2 bad usage.")
    parser.add_argument("port", metavar="PORT", help=PAD_PORT_HELP)
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
    add_customer_arguments(parser, what="language of the spoken prompts")
    parser.add_argument("--time-limit", type=int, default=None, metavar="SECONDS",
                        help="the pad's inactivity limit for the entry, 10..600 (default 90; "
                             "with --profile or --change the profile's)")
    parser.add_argument("--profile", choices=list(PROFILE_NAMES), default=None,
                        help="guide the customer for this profile: instructions, feedback and "
                             "the result in words (guidance lines on stdout, on stderr with "
                             "--json)")
    parser.add_argument("--change", action="store_true",
                        help="a guided PIN change: the new PIN twice, compared inside the pad "
                             "(status ok, cancelled, timeout or mismatch)")
    parser.add_argument("--mismatches", type=int, default=3, choices=range(1, 10),
                        metavar="N", help="--change: mismatches allowed before the pad gives "
                                          "up, 1..9 (default 3)")
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


#: the statuses of a guided entry or change that the JSON contract has
GUIDED_STATUS = ("ok", "cancelled", "timeout", "mismatch")


def _guided(pad: Any, args: argparse.Namespace, console: Any, counter: Any) -> Any:
    """A guided PIN entry or change; every guidance line printed for the teller (stdout for
    people, stderr with --json).  Returns the finished GuidedPinEntry."""
    from drivers.guidance import Guide

    if console is not None:
        def write(line: str) -> None:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    else:
        def write(line: str) -> None:
            print(line, file=sys.stderr, flush=True)
    with Guide(pad, lang=args.lang, profile=args.profile or counter.profile, teller=write,
               counter=counter, reader_position=counter.reader_position) as guide:
        apply_sound(guide, args)
        # the pad says the result by itself after we leave: no need to wait for its words here
        options: dict[str, Any] = dict(pan=args.pan, min_len=args.min_len, max_len=args.max_len,
                                       block_format=args.block_format,
                                       time_limit=args.time_limit, wait_result=False)
        if args.change:
            return guide.pin_change(max_mismatches=args.mismatches, **options).run()
        return guide.pin_entry(**options).run()


def run(args: argparse.Namespace) -> int:
    if args.min_len > args.max_len:   # bad usage: exit 2, as argparse does for its own checks
        print(f"tactile pin: error: --min {args.min_len} is more than --max {args.max_len}",
              file=sys.stderr)
        return 2
    counter = counter_config(args)
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
        guided = args.profile is not None or args.change
        if guided:
            entry: Any = _guided(pad, args, console, counter)
        else:
            with pad.pin_entry(min_len=args.min_len, max_len=args.max_len, pan=args.pan,
                               block_format=args.block_format,
                               timeout=args.time_limit if args.time_limit is not None else 90,
                               prompt=prompt, prompt_args=prompt_args,
                               lang=args.lang) as entry:
                for event in entry:
                    if console is not None:
                        _show(console, event, args.max_len)
        # the pad itself speaks the closing prompt (complete / cancelled / time is up)
        completion = entry.completion
    if guided:
        status = entry.status if entry.status in GUIDED_STATUS else None
    else:
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
