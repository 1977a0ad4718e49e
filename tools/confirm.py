"""``tactile confirm PORT_PAD PORT_FINGERPRINT ...``: one confirmation in place of a signature.

::

    tactile confirm PORT_PAD PORT_FINGERPRINT --item TEXT --terms FILE --customer ID
        --teller ID --reviewer ID --db DB [--lang zh-CN|en] [--profile P]

The pad reads the exact terms (``--terms``, UTF-8; large text on its display for
``--profile deaf``), the customer confirms by a 1:1 fingerprint verify with coached retries
(``--attempts``, default 3), the teller confirms and the reviewer reviews (two different staff
ids); the signed record goes to DB (a SQLite file or a postgresql:// URL).  The last line on
stdout is ``RECORD_ID OUTCOME`` (``confirmed`` or ``cancelled``); ``--json`` prints one object
instead.  Coaching and progress go to stderr.

The customer's template: ``--template FILE`` (a sealed template, as ``enroll_customer``
exports it: AES-GCM under the config's template key, bound to the customer id), else the
sealed template kept in DB for ``--customer``, else the customer is enrolled on the spot
(two captures, duplicate check; the enrollment is a record of its own).

Fallback (worn prints, injury, refusal): ``--fallback REASON --witness ID [--witness ID]``
records a manual identity check instead of the fingerprint.  ``--home-visit`` records a visit
at the customer's home (both staff present).

Staff confirmation: when stdin is a terminal the teller and then the reviewer confirm by
typing their own staff id (anything else cancels); otherwise (scripts, CI) the ids given on
the command line stand for their confirmations.

Keys: ``--config FILE``, else ``$TACTILE_AUDIT_CONFIG``, else ~/.config/tactile/audit.json
(``tactile audit keygen`` writes one).  Exit status: 0 confirmed; 1 cancelled, no match, or a
device or store fault; 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console

from drivers.confirmation import (
    LANGUAGES,
    ConfirmationSession,
    Staff,
    TemplateSealError,
    TemplateVault,
    enroll_customer,
    load_customer_template,
)
from protocol.errors import ConfigurationError, TactileError
from tools.args import add_json_flag, print_json
from tools.audit import add_config_argument, add_db_argument, load_config, open_db

__all__ = ["register", "run", "main"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, not {value}")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "confirm", help="confirm a business item by fingerprint plus dual staff review",
        description="Read the terms on the pad, verify the customer's fingerprint (coached "
                    "retries), take the teller's confirmation and a second staff member's "
                    "review, and write one signed audit record. Prints 'RECORD_ID OUTCOME'. "
                    "Template: --template FILE (sealed), else the one kept in DB for the "
                    "customer, else the customer is enrolled on the spot. When stdin is a "
                    "terminal, teller and reviewer confirm by typing their staff id; otherwise "
                    "the ids on the command line stand. Exit status: 0 confirmed, 1 cancelled / "
                    "no match / device or store fault, 2 bad usage.")
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
    parser.add_argument("--lang", choices=LANGUAGES, default="zh-CN",
                        help="the customer's language (default zh-CN)")
    parser.add_argument("--profile", default="standard", metavar="P",
                        help="the customer's profile: standard, blind, low-vision, deaf, "
                             "elderly (default standard)")
    parser.add_argument("--template", metavar="FILE", default=None,
                        help="the customer's sealed template (default: the one kept in DB; "
                             "none there: enroll on the spot)")
    parser.add_argument("--attempts", type=_positive_int, default=3,
                        help="fingerprint attempts allowed (default 3)")
    parser.add_argument("--timeout", type=float, default=15.0, metavar="SECONDS",
                        help="seconds to wait for a finger at each attempt (default 15)")
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


def _staff_confirms(role: str, staff_id: str, err: Console) -> bool:
    if not sys.stdin.isatty():
        return True
    err.print(f"{role} {staff_id}: type your staff id to confirm (anything else cancels): ", end="")
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().casefold() == staff_id.strip().casefold()


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
    try:
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

    def coach(event: Any) -> None:
        err.print(f"  reader: {event}", markup=False)

    session = None
    with store:
        try:
            with TactilePinPad.open(args.port_pad) as pad, \
                    FingerprintReader.open(args.port_fingerprint) as reader:
                template = None
                if args.fallback is None:
                    if sealed is not None:
                        template = TemplateVault(config.template_key).open(sealed, args.customer)
                    else:
                        template = load_customer_template(store, config, args.customer)
                    if template is None:
                        err.print(f"no template kept for customer {args.customer}: enrolling "
                                  "on the spot", markup=False)
                        enrollment = enroll_customer(store, config, reader, customer=args.customer,
                                                     staff=args.teller, on_event=coach,
                                                     lang=args.lang, profile=args.profile)
                        err.print(f"enrolled: record {enrollment.record.id}", markup=False)
                        template = enrollment.template
                        reader.wait_for_lift(timeout=args.timeout, on_event=coach)
                session = ConfirmationSession(
                    store, config, item=args.item, terms=terms, customer=args.customer,
                    reader=reader, pad=pad, lang=args.lang, profile=args.profile,
                    attempts=args.attempts, home_visit=args.home_visit, on_event=coach)
                with session:
                    session.read_terms()
                    err.print(f"terms presented ({len(terms)} characters)", markup=False)
                    if args.fallback is not None:
                        session.manual_identity_check(reason=args.fallback,
                                                      witnesses=args.witness)
                    else:
                        result = session.verify_customer(template, timeout=args.timeout)
                        err.print(f"fingerprint: {'match' if result.matched else 'no match'} "
                                  f"(score {result.score}, {result.attempts_used} attempt(s))",
                                  markup=False)
                        if not result.matched:
                            session.cancel(f"the fingerprint did not match in {args.attempts} "
                                           "attempt(s) and no fallback was given", by="system")
                    if session.record is None:
                        if not _staff_confirms("teller", args.teller, err):
                            session.cancel("the teller did not confirm", by="teller")
                        else:
                            session.teller_confirm(Staff(args.teller))
                    if session.record is None:
                        if not _staff_confirms("reviewer", args.reviewer, err):
                            session.cancel("the reviewer did not confirm", by="reviewer")
                        else:
                            session.review(Staff(args.reviewer))
        except TemplateSealError as exc:
            print(f"tactile confirm: {exc}", file=sys.stderr)
            return 1
        except TactileError as exc:
            print(f"tactile confirm: {type(exc).__name__}: {exc}", file=sys.stderr)
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
