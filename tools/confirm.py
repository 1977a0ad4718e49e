"""``tactile confirm PORT_PAD PORT_FINGERPRINT ...``: one guided confirmation in place of a signature.

::

    tactile confirm PORT_PAD PORT_FINGERPRINT --item TEXT --terms FILE --customer ID
        --teller ID --reviewer ID --db DB [--lang zh-CN|en] [--profile P]
        [--reader-position right|left|above|below|front|behind]

The confirmation is guided (:class:`drivers.guidance.Guide`) in the customer's language
(``--lang``, default the counter configuration's, else en; see drivers/counter.py) and profile
(``--profile``: standard, blind, low-vision, deaf, deafblind, elderly; default standard), with
the headset offered first to a profile that hears private words; at the end the customer hears
(or reads) the outcome and the pad returns to the counter's defaults:

1. the exact terms (``--terms``, UTF-8) are read aloud on the pad part by part (Help repeats
   a part, Backspace goes back, any key pauses, Cancel stops, Enter "I have heard them"; at
   the end the pad asks for Enter and waits the profile's time limit) or, for a profile
   without speech (``deaf``), paged in large text on the pad's display (Enter: next page);
2. when no template is kept, the customer is enrolled on the spot, coached (two captures,
   duplicate check; the enrollment is a record of its own), then asked to lift the finger;
3. the customer confirms by a 1:1 verification against their template with coached retries
   (``--attempts``, default 3): where the reader is (``--reader-position``, the counter's
   configuration, default right of the keypad), place, hold, lift, and a reason and a remedy
   for every unusable scan;
4. the teller confirms and the reviewer reviews (two different staff ids); the signed record
   goes to DB (a SQLite file or a postgresql:// URL).

Output: the last line on stdout is ``RECORD_ID OUTCOME`` (``confirmed`` or ``cancelled``);
``--json`` prints one object instead.  Everything said or shown to the customer, the teller's
notices (``[guide] ...``, ``[pad] ...``, ``[teller] ...`` lines) and progress go to stderr.
Every session that has started ends in a record: the customer's Cancel (terms or fingerprint),
a reading that timed out or could not be spoken, a failed enrollment on the spot, no match
after the last attempt, a device fault or Ctrl-C are recorded as a cancellation (exit 1).

The customer's template: ``--template FILE`` (a sealed template, as ``enroll_customer``
exports it: AES-GCM under the config's template key, bound to the customer id), else the
sealed template kept in DB for ``--customer``, else the customer is enrolled on the spot.

Fallback (worn prints, injury, refusal): ``--fallback REASON --witness ID [--witness ID]``
records a manual identity check instead of the fingerprint (the terms are still presented).
``--home-visit`` records a visit at the customer's home (both staff present).

Staff confirmation: when stdin is a terminal the teller and then the reviewer confirm by
typing their own staff id (a typo asks again, three tries in all); otherwise (scripts, CI) the ids given on
the command line stand for their confirmations.

Keys: ``--config FILE``, else ``$TACTILE_AUDIT_CONFIG``, else ~/.config/tactile/audit.json
(``tactile audit keygen`` writes one).  Exit status: 0 confirmed; 1 cancelled, no match, or a
device or store fault; 2 bad usage (including an unknown ``--profile``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console

from drivers.confirmation import (
    ConfirmationSession,
    Staff,
    TemplateSealError,
    TemplateVault,
    enroll_customer,
    load_customer_template,
)
from drivers.guidance import Guide
from drivers.guidance.guide import READER_POSITIONS
from drivers.guidance.profiles import PROFILE_NAMES, profile as _profile
from protocol.errors import ConfigurationError, TactileError
from tools.args import (
    add_customer_arguments,
    add_json_flag,
    apply_sound,
    counter_config,
    positive,
    print_json,
)
from tools.audit import add_config_argument, add_db_argument, load_config, open_db
from tools.commands import COMMANDS

__all__ = ["register", "run", "main"]


_seconds = positive(float, unit="seconds")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "confirm", help=COMMANDS["confirm"],
        description="A guided confirmation in the customer's language and profile: the exact "
                    "terms are read aloud on the pad (repeatable, interruptible; Enter at the "
                    "end) or paged in large text for a deaf customer; the customer confirms by "
                    "a coached 1:1 fingerprint verify; the teller confirms and a second staff "
                    "member reviews; one signed audit record is written. Prints "
                    "'RECORD_ID OUTCOME' as the last stdout line; coaching and the teller's "
                    "feed go to stderr. Template: --template FILE (sealed), else the one kept "
                    "in DB for the customer, else the customer is enrolled on the spot "
                    "(coached). When stdin is a terminal, teller and reviewer confirm by typing "
                    "their staff id; otherwise the ids on the command line stand. Exit status: "
                    "0 confirmed, 1 cancelled / no match / device or store fault, 2 bad usage.")
    parser.add_argument("port_pad", metavar="PORT_PAD",
                        help="the PIN pad: serial port, pyserial URL (sim://pinpad ...) or "
                             "usb:VID:PID[:SERIAL]")
    parser.add_argument("port_fingerprint", metavar="PORT_FINGERPRINT",
                        help="the fingerprint module: serial port or pyserial URL "
                             "(sim://fingerprint ...)")
    parser.add_argument("--item", required=True, metavar="TEXT",
                        help="the business item, e.g. 'debit card replacement'")
    parser.add_argument("--terms", required=True, metavar="FILE",
                        help="the exact terms text read to the customer (UTF-8)")
    parser.add_argument("--customer", required=True, metavar="ID", help="the customer id")
    parser.add_argument("--teller", required=True, metavar="ID", help="the teller's staff id")
    parser.add_argument("--reviewer", required=True, metavar="ID",
                        help="the reviewing staff member's id (not the teller's)")
    add_db_argument(parser, positional=False)
    add_customer_arguments(parser, what="the customer's language: the terms are read and the "
                                         "guidance spoken in it")
    parser.add_argument("--profile", default="standard", metavar="P",
                        help="the customer's profile: " + ", ".join(PROFILE_NAMES)
                             + " (default standard); deaf: the terms and the coaching are "
                               "shown on the pad's display, nothing is spoken")
    parser.add_argument("--reader-position", choices=READER_POSITIONS, default=None,
                        help="where the fingerprint reader sits relative to the keypad, as the "
                             "customer is told (counter configuration; default right)")
    parser.add_argument("--template", metavar="FILE", default=None,
                        help="the customer's sealed template (default: the one kept in DB; "
                             "none there: enroll on the spot)")
    parser.add_argument("--attempts", type=positive(int), default=3,
                        help="fingerprint attempts allowed (default 3)")
    parser.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                        help="seconds to wait for the customer to place or lift the finger at "
                             "each step (default: the profile's, 10 s standard to 30 s elderly)")
    parser.add_argument("--fallback", metavar="REASON", default=None,
                        help="skip the fingerprint: a manual identity check, with this reason")
    parser.add_argument("--witness", metavar="ID", action="append", default=[],
                        help="a staff member who witnessed the manual identity check "
                             "(repeatable; needed with --fallback)")
    parser.add_argument("--home-visit", action="store_true",
                        help="the confirmation happens at the customer's home (both staff present)")
    add_config_argument(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _usage(message: str) -> int:
    print(f"tactile confirm: {message}", file=sys.stderr)
    return 2


def _read_terms(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the terms file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"the terms file {path} is not UTF-8 text") from None
    if not text.strip():
        raise ConfigurationError(f"the terms file {path} is empty")
    return text


#: how many times a staff member may type their id before the confirmation is cancelled
STAFF_TRIES = 3


def _staff_confirms(role: str, staff_id: str, err: Console, text: Any) -> bool:
    """The staff member types their own id; a typo asks again (:data:`STAFF_TRIES` in all),
    so the terms heard and the finger verified are not lost to one slip of the hand."""
    if not sys.stdin.isatty():
        return True
    role_name = text(f"confirm.role.{role}")
    for left in range(STAFF_TRIES - 1, -1, -1):
        err.print(text("confirm.cli.staff_prompt", role=role_name, staff=staff_id), end="",
                  markup=False)
        try:
            answer = input()
        except EOFError:
            return False
        if answer.strip().casefold() == staff_id.strip().casefold():
            return True
        if left:
            err.print(text("confirm.cli.staff_again", left, staff=staff_id), markup=False)
    return False


def _teller_line(line: str) -> None:
    """The teller's feed: one line per thing said, shown or noticed, on stderr."""
    print(line, file=sys.stderr, flush=True)


def _confirm(args: argparse.Namespace, session: ConfirmationSession, guide: Guide,
             reader: Any, store: Any, config: Any, template: Any, err: Console) -> None:
    """The steps of one confirmation; every way out leaves ``session.record`` written (or
    raises, and the session's ``with`` block records the cancellation)."""
    from drivers.guidance import FingerprintCancelled
    from drivers.guidance.coaching import capture_timeout

    text = guide.announcer.text     # every line in the session's language
    note = lambda line: err.print(line, markup=False)  # noqa: E731
    terms = session.read_terms()
    outcome = getattr(terms, "outcome", None)
    note(text("confirm.cli.terms", outcome=text(f"confirm.terms_outcome.{outcome}")
              if outcome else "-", reached=getattr(terms, "reached", 0),
              parts=getattr(terms, "parts", 0), repeats=getattr(terms, "repeats", 0),
              chars=len(session.terms)))
    if session.record is not None:          # the customer cancelled the reading
        return
    if outcome in ("timeout", "failed"):
        why = ("no key was pressed within the time limit" if outcome == "timeout"
               else "the pad could not present them")
        session.cancel(f"the terms were not presented: {why}", by="system")
        return
    if args.fallback is not None:
        session.manual_identity_check(reason=args.fallback, witnesses=args.witness)
    else:
        if template is None:
            note(text("confirm.cli.enrolling", customer=args.customer))
            try:
                enrollment = enroll_customer(store, config, reader, customer=args.customer,
                                             staff=args.teller, guide=guide,
                                             timeout=args.timeout)
            except TactileError as exc:
                note(text("confirm.cli.enroll_failed", error=f"{type(exc).__name__}: {exc}"))
                session.cancel(f"the enrollment on the spot failed ({type(exc).__name__})",
                               by="customer" if isinstance(exc, FingerprintCancelled)
                               else "system")
                return
            note(text("confirm.cli.enrolled", record=enrollment.record.id))
            template = enrollment.template
            # the same finger confirms next: it must leave the sensor first
            lift = args.timeout or capture_timeout(guide.profile)
            reader.wait_for_lift(timeout=lift, on_event=lambda event: (
                guide.say("fingerprint.lift") if type(event).__name__ == "LiftFinger" else None))
        try:
            result = session.verify_customer(template, timeout=args.timeout)
        except FingerprintCancelled:
            note(text("confirm.cli.cancelled_by_customer"))
            return                          # recorded by the session
        note(text("confirm.cli.match" if result.matched else "confirm.cli.no_match",
                  result.attempts_used, score=result.score))
        if not result.matched:
            session.cancel(f"the fingerprint did not match in {args.attempts} attempt(s) and no "
                           "fallback was given", by="system")
            return
    if not _staff_confirms("teller", args.teller, err, text):
        session.cancel("the teller did not confirm", by="teller")
        return
    session.teller_confirm(Staff(args.teller))
    if not _staff_confirms("reviewer", args.reviewer, err, text):
        session.cancel("the reviewer did not confirm", by="reviewer")
        return
    session.review(Staff(args.reviewer))


def run(args: argparse.Namespace) -> int:
    from drivers import FingerprintReader, TactilePinPad

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if args.teller.strip().casefold() == args.reviewer.strip().casefold():
        return _usage("the reviewer must be a different staff member from the teller "
                      "(dual control)")
    if args.fallback is not None and not args.witness:
        return _usage("--fallback needs at least one --witness (the staff who checked the "
                      "customer's identity)")
    if args.witness and args.fallback is None:
        return _usage("--witness is for a manual identity check: give --fallback REASON too")
    counter = counter_config(args)
    try:
        customer_profile = _profile(args.profile)
        terms = _read_terms(args.terms)
        config = load_config(args)
        sealed = None
        if args.template:
            with open(args.template, "rb") as fh:
                sealed = fh.read()
        store = open_db(args, readonly=False)
    except ConfigurationError as exc:
        return _usage(str(exc))
    except OSError as exc:
        return _usage(f"cannot read the template file {args.template}: {exc.strerror}")

    session = None
    with store:
        try:
            # the customer's template opens before anyone is asked to do anything
            template = None
            if args.fallback is None:
                if sealed is not None:
                    template = TemplateVault(config.template_key).open(sealed, args.customer)
                else:
                    template = load_customer_template(store, config, args.customer)
            with TactilePinPad.open(args.port_pad) as pad, \
                    FingerprintReader.open(args.port_fingerprint) as reader:
                guide = Guide(pad, lang=args.lang, profile=customer_profile,
                              teller=_teller_line, counter=counter,
                              reader_position=args.reader_position or counter.reader_position)
                apply_sound(guide, args)
                session = ConfirmationSession(
                    store, config, item=args.item, terms=terms, customer=args.customer,
                    reader=reader, pad=pad, guide=guide, attempts=args.attempts,
                    home_visit=args.home_visit)
                with guide, session:
                    _confirm(args, session, guide, reader, store, config, template, err)
        except TemplateSealError as exc:
            print(f"tactile confirm: {exc}", file=sys.stderr)
            if session is None or session.record is None:
                return 1
        except TactileError as exc:
            print(f"tactile confirm: {type(exc).__name__}: {exc}", file=sys.stderr)
            if session is None or session.record is None:
                return 1
        except KeyboardInterrupt:
            print("tactile confirm: interrupted", file=sys.stderr)
            if session is None or session.record is None:
                return 1
    record = session.record
    if args.json:
        body = record.body
        print_json({"record": record.id, "outcome": record.outcome,
                    "customer_check": (body.get("customer_check") or {}).get("method"),
                    "fingerprint": body.get("fingerprint"), "cancel": body.get("cancel")})
    else:
        print(f"{record.id} {record.outcome}", flush=True)
    return 0 if record.outcome == "confirmed" else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.confirm ...`` (the same as ``tactile confirm ...``)."""
    from tools.cli import main as cli_main

    return cli_main(["confirm", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
