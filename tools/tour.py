"""``tactile tour PORT [--lang zh-CN|en] [--profile P] [--volume N] [--rate PERCENT] [--json]
[--trace]``: the keypad tour, then explore mode.

The pad explains itself to the customer in ``--lang`` for the ``--profile`` (blind,
low-vision, deaf, elderly, standard): the shape of the keypad, the 5 and its raised dot, every
function key with its mark, colour and place, computed from the layout the pad reports; then
explore mode, where every key the customer presses is named (by the pad) with its place and
use (by the guide), until the customer presses Cancel.

Output (stdout): every phrase said or shown, one line each, as the teller's screen shows it::

    [guide] Here is a short tour of the keypad. ...      what the guide asked the pad to say/show
    [pad] five, row 2, column 2, with a raised dot       what the pad said by itself
    [teller] Keypad tour started: 12 steps.              notices for the teller only
    [tone] warning / [haptic] warning                    cues without words

With ``--json`` each line is a JSON object instead (``{"line": "[guide] ...", "tag": "guide",
"text": "..."}``, one per line) and the last one is the result (``{"result": "tour", "ok": ...,
"steps": ..., "explored": [...], "ended": ...}``); ``--trace`` prints every frame on the line,
decoded, to stderr.  The pad returns to the counter's language, volume and speed at the end.

Exit status: 0 the customer finished with Cancel; 1 a device fault, or the customer never
pressed Cancel (explore mode ended after the time limit without a key: said on stderr);
2 bad usage.  PORT is anything ``tactile pin`` accepts.
"""

from __future__ import annotations

import argparse
import sys

from drivers.guidance import Guide
from drivers.guidance.profiles import PROFILE_NAMES
from tools.args import (
    PAD_PORT_HELP,
    add_customer_arguments,
    add_json_flag,
    add_timeout_argument,
    add_trace_flag,
    apply_sound,
    counter_config,
    print_json,
)
from tools.commands import COMMANDS

__all__ = ["register", "run"]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not 1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"expected 1..3600 seconds, not {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tour", help=COMMANDS["tour"],
        description="Explain the keypad to the customer (its shape, the 5 with its dot, every "
                    "function key with its mark, colour and place, from the layout the pad "
                    "reports), then let the customer explore the keys until they press "
                    "Cancel. Every phrase said or shown is printed as one line ([guide], [pad], "
                    "[teller], [tone], [haptic]). Exit status: 0 the customer pressed Cancel, "
                    "1 device fault or no Cancel before the explore time limit, 2 bad usage.")
    parser.add_argument("port", metavar="PORT", help=PAD_PORT_HELP)
    add_customer_arguments(parser)
    parser.add_argument("--profile", default=None, choices=list(PROFILE_NAMES),
                        help="guidance profile (default the counter's, else standard; blind: "
                             "full spatial detail "
                             "and the headset offer; deaf: text and vibration only; elderly: "
                             "slower, instructions repeated)")
    parser.add_argument("--explore-limit", type=_seconds, default=None, metavar="SECONDS",
                        help="end explore mode after this many seconds without a key "
                             "(default: the profile's, 60..120 s)")
    parser.add_argument("--baud", type=int, default=115200, metavar="BAUD",
                        help="serial speed (default 115200; ignored for USB)")
    add_timeout_argument(parser, default=3.0)
    add_json_flag(parser)
    add_trace_flag(parser)
    parser.set_defaults(func=run)


def _line(text: str) -> None:
    """One line for the teller, in UTF-8 whatever the locale (Mandarin must not fail on a
    technician's C-locale terminal), flushed at once so a script sees it as it happens."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        print(text, flush=True)
        return
    sys.stdout.flush()
    buffer.write(text.encode("utf-8") + b"\n")
    buffer.flush()


def _json_line(text: str) -> None:
    tag, _, words = text.partition("] ")
    print_json({"line": text, "tag": tag.lstrip("["), "text": words})


def run(args: argparse.Namespace) -> int:
    from tools.pad import open_pad

    counter = counter_config(args)
    profile = args.profile or counter.profile
    with open_pad(args.port, baud=args.baud, timeout=args.timeout, trace=args.trace) as pad:
        with Guide(pad, lang=args.lang, profile=profile, counter=counter,
                   teller=_json_line if args.json else _line,
                   reader_position=counter.reader_position) as guide:
            apply_sound(guide, args)
            result = guide.tour(explore=True, explore_limit=args.explore_limit)
            explore_limit = guide.profile.explore_limit
    explore = result.explore
    if args.json:
        print_json({"result": "tour", "ok": bool(explore and explore.cancelled),
                    "steps": len(result.steps), "completed": result.completed,
                    "interrupted": result.interrupted, "repeated": result.repeated,
                    "skipped": result.skipped, "headset": result.headset,
                    "explored": list(explore.keys) if explore else [],
                    "ended": explore.ended if explore else None,
                    "speech_failed": result.speech_failed})
    if explore is None or not explore.cancelled:
        limit = args.explore_limit if args.explore_limit is not None else explore_limit
        print(f"tactile tour: the customer never pressed Cancel: explore mode ended after "
              f"{limit:g} s without a key ({len(explore.keys) if explore else 0} key(s) "
              "explored)", file=sys.stderr)
        return 1
    if result.speech_failed:
        print(f"tactile tour: warning: the pad's speech failed ({result.speech_failed} "
              "utterance(s) not spoken): the customer may not have heard the tour; check the "
              "pad's speech unit", file=sys.stderr)
    return 0
