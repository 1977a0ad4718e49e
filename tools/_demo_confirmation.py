"""The confirmation scene of ``tactile demo``: a customer who cannot sign confirms a business
item by fingerprint, the teller confirms, a second staff member reviews (the same staff id
twice is refused), the signed record goes to a temporary SQLite trail, and the trail is
verified, once as written and once as a copy with one field changed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import tempfile
from typing import Any

__all__ = ["run_confirmation_demo"]

_FINGER = 3
# the bank's own terms text for the demo item (not guidance: the bank supplies this text)
_TERMS = {
    "zh-CN": "借记卡换卡确认：您的旧卡今日注销，新卡即日生效，换卡不收取手续费。",
    "en": "Debit card replacement: your old card is cancelled today and the new card is active "
          "from today. There is no fee for the replacement.",
}


def run_confirmation_demo(report: Any, args: argparse.Namespace, rng: random.Random) -> bool:
    """Run the scene on fresh simulators; report lines and checks through ``report``
    (tools.demo._Report); True when every check passed."""
    from drivers import FingerprintReader, LiftFinger, PlaceFinger, TactilePinPad
    from drivers.confirmation import (
        AuditConfig,
        ConfirmationSession,
        DualControlError,
        SqliteStore,
        enroll_customer,
        verify_trail,
    )
    from firmware_sim import simulate

    report.heading("Confirmation in place of a signature (fingerprint + two staff)")
    lang = args.lang if args.lang in _TERMS else "en"
    terms = _TERMS[lang]
    config = AuditConfig.generate("DEMO-C01")       # demo keys, made fresh for this run
    with tempfile.TemporaryDirectory(prefix="tactile-demo-") as tmp, \
            simulate("fingerprint", model=args.model, seed=rng.randrange(2**31)) as fp, \
            simulate("pinpad", layout=args.layout) as pp:
        def customer(event: Any) -> None:
            if isinstance(event, PlaceFinger):
                fp.command(f"place {_FINGER} 90")
            elif isinstance(event, LiftFinger):
                fp.command("lift")

        db = os.path.join(tmp, "trail.db")
        with SqliteStore(db) as store, \
                FingerprintReader.open(f"sim://fingerprint?name={fp.name}") as reader, \
                TactilePinPad.open(f"sim://pinpad?name={pp.name}") as pad:
            report.line(f"  audit trail: temporary SQLite file {db}")
            enrollment = enroll_customer(store, config, reader, customer="C-0093", staff="T-017",
                                         on_event=customer, lang=lang, profile="blind")
            fp.command("lift")
            report.line(f"  customer C-0093 enrolled at the counter: record {enrollment.record.id}, "
                        f"template sealed with AES-GCM ({len(enrollment.sealed)} bytes kept)")
            with ConfirmationSession(store, config, item="debit card replacement", terms=terms,
                                     customer="C-0093", reader=reader, pad=pad, lang=lang,
                                     profile="blind", on_event=customer) as session:
                session.read_terms()
                report.line(f"  the pad read the terms aloud ({lang}): {terms}")
                result = session.verify_customer(enrollment.template)
                fp.command("lift")
                report.line(f"  fingerprint: {'match' if result.matched else 'no match'}, score "
                            f"{result.score}, {result.attempts_used} attempt(s)")
                if result.matched:
                    session.teller_confirm("T-017")
                    try:
                        session.review("T-017")
                        same_refused = False
                    except DualControlError as exc:
                        same_refused = True
                        report.line(f"  review by T-017 refused: {exc}")
                    record = session.review("R-042")
                else:
                    same_refused = False
                    record = session.cancel("the fingerprint did not match", by="system")
            report.line(f"  record {record.id}: {record.outcome} (teller T-017, reviewer R-042)")
            checkpoint = store.make_checkpoint(config)
            verified = verify_trail(store, [("the demo checkpoint", checkpoint.note())])
        report.line(f"  signed checkpoint:\n    " + checkpoint.note().rstrip().replace("\n", "\n    "))
        report.line(f"  tactile audit verify: {'OK' if verified.ok else 'FAIL'} "
                    f"{verified.records} records, {verified.checkpoints_checked} checkpoint(s)")
        # an altered copy: the outcome of the enrollment record edited by hand
        altered = os.path.join(tmp, "altered.db")
        shutil.copyfile(db, altered)
        conn = sqlite3.connect(altered, isolation_level=None)
        try:
            conn.execute("DROP TRIGGER audit_records_no_update")
            conn.execute("UPDATE audit_records SET body = replace(body, 'T-017', 'T-999') "
                         "WHERE seq = 1")
        finally:
            conn.close()
        with SqliteStore(altered, readonly=True) as copy:
            tampered = verify_trail(copy)
        report.line(f"  the same check on a copy with one field changed: "
                    f"{'OK' if tampered.ok else f'FAIL {tampered.first}'}")
    body = record.body
    report.data["confirmation"] = {
        "record": record.id, "outcome": record.outcome, "score": result.score,
        "attempts": result.attempts_used, "terms_sha256": body["terms_sha256"],
        "staff": body["staff"], "verify": verified.to_dict(),
        "tampered_copy": str(tampered.first) if tampered.first else None,
        "checkpoint": checkpoint.note(),
    }
    ok = report.check(f"customer's finger {_FINGER} verified (score {result.score})", result.matched)
    ok &= report.check("the teller's own id refused as reviewer (dual control)", same_refused)
    ok &= report.check(f"record {record.id} confirmed by teller T-017 and reviewer R-042",
                       record.outcome == "confirmed"
                       and [s["role"] for s in body["staff"]] == ["teller", "reviewer"])
    ok &= report.check(f"trail verifies: {verified.records} records, chain, signatures, head and "
                       "checkpoint hold", verified.ok and verified.records == 2)
    ok &= report.check("a copy with one field changed fails verify, naming the record",
                       not tampered.ok and tampered.first.record_id == enrollment.record.id)
    return ok
