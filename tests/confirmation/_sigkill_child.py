"""Child process for test_durability: runs confirmations on simulated devices for ever and
prints each record id as soon as the call that wrote it returned.  The test kills it."""

from __future__ import annotations

import sys

from drivers import FingerprintReader, LiftFinger, PlaceFinger, TactilePinPad
from drivers.confirmation import AuditConfig, ConfirmationSession, enroll_customer, open_store
from firmware_sim import simulate


def main() -> None:
    target, schema, config_path, customer = sys.argv[1:5]
    config = AuditConfig.load(config_path)
    store = open_store(target, schema=schema or None)
    with simulate("fingerprint", model="r503", seed=5) as fp, simulate("pinpad") as pp:
        def finger(event):
            if isinstance(event, PlaceFinger):
                fp.command("place 3 90")
            elif isinstance(event, LiftFinger):
                fp.command("lift")

        with FingerprintReader.open(f"sim://fingerprint?name={fp.name}") as reader, \
                TactilePinPad.open(f"sim://pinpad?name={pp.name}") as pad:
            enrollment = enroll_customer(store, config, reader, customer=customer, staff="T-1",
                                         on_event=finger)
            print(enrollment.record.id, flush=True)
            fp.command("lift")
            n = 0
            while True:
                n += 1
                session = ConfirmationSession(store, config, item=f"item {n}", terms="terms " * 50,
                                              customer=customer, reader=reader, pad=pad,
                                              on_event=finger)
                session.read_terms()
                if n % 3 == 0:
                    session.verify_customer(enrollment.template)
                    fp.command("lift")
                else:
                    session.manual_identity_check(reason="worn prints", witnesses=["W-1"])
                session.teller_confirm("T-1")
                record = session.review("R-2")
                print(record.id, flush=True)


if __name__ == "__main__":
    main()
