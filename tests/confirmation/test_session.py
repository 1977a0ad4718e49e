"""Every path of a confirmation on simulated devices: success, retries then success, failure
then fallback, cancellation at every step, dual control refusals, home visits, the guide."""

from __future__ import annotations

from protocol.tpp.display import read_page

import datetime as dt
import hashlib

import pytest

from drivers import AlreadyEnrolledError, FingerTimeoutError
from drivers.confirmation import (
    ConfirmationSession,
    DualControlError,
    SessionStateError,
    Staff,
    Step,
    TemplateSealError,
    TemplateVault,
    enroll_customer,
    load_customer_template,
    terms_sha256,
    verify_trail,
)
from tests.confirmation.conftest import FakeGuide

pytestmark = pytest.mark.simulated_fingerprint(model="r503", seed=11)

TERMS = ("借记卡换卡：您同意注销旧卡并启用新卡。The old card is cancelled and the new card "
         "becomes active today. 手续费为零。")


@pytest.fixture(scope="module")
def template():
    """Finger 3's template, enrolled once for the module (a template from one simulated
    module verifies on another: the virtual fingers are the same)."""
    from drivers import FingerprintReader, LiftFinger, PlaceFinger
    from firmware_sim import simulate

    with simulate("fingerprint", model="r503", seed=11) as sim, \
            FingerprintReader.open(f"sim://fingerprint?name={sim.name}") as reader:
        def finger(event):
            if isinstance(event, PlaceFinger):
                sim.command("place 3 90")
            elif isinstance(event, LiftFinger):
                sim.command("lift")

        return reader.enroll(on_event=finger)


@pytest.fixture
def enrolled(counter, sqlite_store, config):
    """Customer C-1001 enrolled with finger 3 (template sealed in the store)."""
    enrollment = enroll_customer(sqlite_store, config, counter.reader, customer="C-1001",
                                 staff="T-17", on_event=counter.customer(3))
    counter.fp.do("lift")
    return enrollment


def _session(counter, store, config, **options):
    options.setdefault("on_event", counter.customer(3))
    return ConfirmationSession(store, config, item="debit card replacement", terms=TERMS,
                               customer="C-1001", reader=counter.reader, pad=counter.pad,
                               lang=options.pop("lang", "zh-CN"), **options)


def _steps(record):
    return [s["step"] for s in record.body["steps"]]


def test_fingerprint_then_dual_review_is_recorded(counter, sqlite_store, config, enrolled):
    assert enrolled.record.outcome == "enrolled"
    template = load_customer_template(sqlite_store, config, "C-1001")
    assert bytes(template) == bytes(enrolled.template)
    with _session(counter, sqlite_store, config, profile="blind") as session:
        session.read_terms()
        result = session.verify_customer(template)
        assert result.matched and result.attempts_used == 1
        session.teller_confirm("T-17")
        record = session.review(Staff("R-04"))
    assert session.step is Step.DONE and session.record is record
    body = record.body
    assert record.outcome == "confirmed" and record.kind == "confirmation"
    assert body["terms_sha256"] == hashlib.sha256(TERMS.encode()).hexdigest() == terms_sha256(TERMS)
    assert body["lang"] == "zh-CN" and body["profile"] == "blind"
    assert body["customer_check"] == {"method": "fingerprint", "score": result.score}
    assert body["fingerprint"] == {"attempts_used": 1, "attempts_allowed": 3,
                                   "best_score": result.score}
    assert body["staff"] == [{"id": "T-17", "role": "teller", "present": True},
                             {"id": "R-04", "role": "reviewer", "present": True}]
    assert body["devices"]["fingerprint"]["model"] == "R503"
    assert body["devices"]["fingerprint"]["serial"]
    assert body["devices"]["pinpad"]["serial"] == counter.pad.info().serial
    assert _steps(record) == ["terms-presented", "fingerprint", "teller-confirmed", "reviewed"]
    assert body["started"] <= body["completed"]
    # the pad read the exact terms aloud in the customer's language
    said = [e for e in counter.padsim.events if e.get("event") == "say"]
    assert "".join(e["text"] for e in said if e["text"] in TERMS) == TERMS
    assert verify_trail(sqlite_store).ok
    with pytest.raises(SessionStateError, match="already recorded"):
        session.cancel("too late")


def test_retries_then_success(counter, sqlite_store, config, template):
    customer = counter.customer([8, 8, 3])      # wrong finger twice, then the right one
    with _session(counter, sqlite_store, config, on_event=customer) as session:
        session.read_terms()
        result = session.verify_customer(template)
        session.teller_confirm("T-17")
        record = session.review("R-04")
    assert result.matched and result.attempts_used == 3
    assert [e.status for e in customer.events].count("verify-no-match") == 2
    assert record.body["fingerprint"]["attempts_used"] == 3
    assert record.outcome == "confirmed"


def test_failure_then_manual_fallback(counter, sqlite_store, config, template):
    with _session(counter, sqlite_store, config, attempts=2,
                  on_event=counter.customer(8)) as session:
        session.read_terms()
        result = session.verify_customer(template)
        assert not result.matched and session.attempts_left == 0
        with pytest.raises(SessionStateError, match="used up"):
            session.verify_customer(template)
        with pytest.raises(SessionStateError, match="customer must confirm first"):
            session.teller_confirm("T-17")
        with pytest.raises(DualControlError, match="witness"):
            session.manual_identity_check(reason="worn fingerprints", witnesses=[])
        session.manual_identity_check(reason="worn fingerprints", witnesses=["T-17", "W-09"],
                                      document="resident identity card")
        session.teller_confirm("T-17")
        record = session.review("R-04")
    body = record.body
    assert record.outcome == "confirmed"
    assert body["customer_check"]["method"] == "manual-identity-check"
    assert body["customer_check"]["witnesses"] == ["T-17", "W-09"]
    assert body["fallback_reasons"] == ["worn fingerprints"]
    assert {"id": "W-09", "role": "witness", "present": True} in body["staff"]
    assert body["fingerprint"]["attempts_used"] == 2
    assert _steps(record) == ["terms-presented", "fingerprint", "fallback", "teller-confirmed",
                              "reviewed"]


def test_deaf_customer_reads_large_text_and_leaves_a_handwritten_statement(counter, sqlite_store, config):
    scan = b"%PDF- scan of the statement the customer copied by hand"
    with _session(counter, sqlite_store, config, profile="deaf", lang="en") as session:
        session.read_terms()
        session.handwritten_statement(reference="DOC-2024-0042",
                                      sha256=hashlib.sha256(scan).hexdigest())
        session.attach_recording(hashlib.sha256(b"video").hexdigest(), reference="CAM-3")
        session.teller_confirm("T-17")
        record = session.review("R-04")
    shown = [e for e in counter.padsim.events if e.get("event") == "display"]
    assert any(e["large"] and read_page(e["text"])[0] in TERMS for e in shown)
    assert not [e for e in counter.padsim.events if e.get("event") == "say" and e["text"] in TERMS]
    check = record.body["customer_check"]
    assert check["method"] == "handwritten-statement" and check["reference"] == "DOC-2024-0042"
    assert check["sha256"] == hashlib.sha256(scan).hexdigest()
    assert record.body["recordings"][0]["sha256"] == hashlib.sha256(b"video").hexdigest()


@pytest.mark.parametrize("at", ["terms", "customer", "customer-after-failure", "teller", "review"])
def test_cancel_at_every_step_is_recorded(counter, sqlite_store, config, template, at):
    session = _session(counter, sqlite_store, config, attempts=1,
                       on_event=counter.customer(8 if at == "customer-after-failure" else 3))
    if at != "terms":
        session.read_terms()
    if at == "customer-after-failure":
        assert not session.verify_customer(template).matched
    if at in ("teller", "review"):
        assert session.verify_customer(template).matched
    if at == "review":
        session.teller_confirm("T-17")
    record = session.cancel("the customer changed their mind", by="customer")
    expected = "customer" if at.startswith("customer") else at
    assert record.outcome == "cancelled"
    assert record.body["cancel"] == {"at_step": expected, "by": "customer",
                                     "reason": "the customer changed their mind"}
    assert _steps(record)[-1] == "cancelled"
    assert verify_trail(sqlite_store).ok


def test_leaving_the_block_without_a_decision_records_a_system_cancel(counter, sqlite_store, config):
    with pytest.raises(RuntimeError):
        with _session(counter, sqlite_store, config) as session:
            session.read_terms()
            raise RuntimeError("teller application closed")
    assert session.record.outcome == "cancelled"
    assert session.record.body["cancel"]["by"] == "system"
    assert "RuntimeError" in session.record.body["cancel"]["reason"]


def test_dual_control_refuses_the_same_staff_twice_and_a_missing_reviewer(counter, sqlite_store,
                                                                         config, template):
    with _session(counter, sqlite_store, config) as session:
        session.read_terms()
        with pytest.raises(SessionStateError, match="customer must confirm first"):
            session.review("R-04")
        session.verify_customer(template)
        with pytest.raises(SessionStateError, match="teller must confirm first"):
            session.review("R-04")
        session.teller_confirm("T-17")
        with pytest.raises(DualControlError, match="different staff member"):
            session.review("T-17")
        with pytest.raises(DualControlError, match="different staff member"):
            session.review(" t-17 ")
        with pytest.raises(DualControlError, match="reviewer is required"):
            session.review(None)
        with pytest.raises(DualControlError, match="reviewer is required"):
            session.review("")
        assert session.step is Step.REVIEW and session.record is None
        assert not sqlite_store.records()                           # nothing written yet
        record = session.review("R-04")
    refusals = [s for s in record.body["steps"] if s["step"] == "review-refused"]
    assert len(refusals) == 4
    with pytest.raises(DualControlError, match="teller is required"):
        s2 = _session(counter, sqlite_store, config)
        s2.read_terms()
        s2.manual_identity_check(reason="injured hand", witnesses=["W-1"])
        s2.teller_confirm(None)
    s2.cancel("test over", by="teller")


def test_home_visit_needs_both_staff_present(counter, sqlite_store, config, template):
    with _session(counter, sqlite_store, config, home_visit=True, profile="elderly") as session:
        session.read_terms()
        session.verify_customer(template)
        session.teller_confirm(Staff("T-17", present=True))
        with pytest.raises(DualControlError, match="both staff must be present"):
            session.review(Staff("R-04", present=False))
        record = session.review(Staff("R-04", present=True))
    assert record.body["home_visit"] is True
    assert all(s["present"] for s in record.body["staff"])


def test_steps_out_of_order_are_refused(counter, sqlite_store, config, template):
    with _session(counter, sqlite_store, config) as session:
        with pytest.raises(SessionStateError, match="present the terms first"):
            session.verify_customer(template)
        session.read_terms()
        session.read_terms()                         # the customer asked to hear it again
        session.verify_customer(template)
        with pytest.raises(SessionStateError):
            session.manual_identity_check(reason="x", witnesses=["W-1"])
        session.teller_confirm("T-17")
        record = session.review("R-04")
    assert record.body["terms_readings"] == 2


def test_device_fault_during_verify_is_recorded_and_the_session_goes_on(counter, sqlite_store,
                                                                       config, template):
    with _session(counter, sqlite_store, config, on_event=lambda e: None) as session:
        session.read_terms()
        with pytest.raises(FingerTimeoutError):       # nobody puts a finger on the sensor
            session.verify_customer(template, timeout=0.3)
        session.manual_identity_check(reason="reader did not see the finger", witnesses=["W-1"])
        session.teller_confirm("T-17")
        record = session.review("R-04")
    fault = [s for s in record.body["steps"] if s["step"] == "fingerprint-fault"]
    assert fault and fault[0]["error"] == "FingerTimeoutError"


def test_the_guide_reads_and_coaches_and_names_language_and_profile(counter, sqlite_store, config):
    guide = FakeGuide(counter.customer(3), lang="en", profile="low-vision")
    enrollment = enroll_customer(sqlite_store, config, counter.reader, customer="C-1001",
                                 staff="T-17", guide=guide, captures=3)
    counter.fp.do("lift")
    with ConfirmationSession(sqlite_store, config, item="utilities debit agreement", terms=TERMS,
                             customer="C-1001", reader=counter.reader, guide=guide,
                             lang="zh-CN", profile="ignored") as session:
        session.read_terms()
        session.verify_customer(enrollment.template)
        session.teller_confirm("T-17")
        record = session.review("R-04")
    assert guide.calls == [("enroll_finger", 3, None), ("read_terms", TERMS), ("verify_finger", 3)]
    assert record.body["lang"] == "en" and record.body["profile"] == "low-vision"
    assert record.body["guided"] is True and enrollment.record.body["guided"] is True
    assert enrollment.record.body["captures"] == 3


def test_duplicate_enrollment_is_recorded_and_refused(counter, sqlite_store, config):
    first = enroll_customer(sqlite_store, config, counter.reader, customer="C-1", staff="T-17",
                            slot=5, on_event=counter.customer(3))
    counter.fp.do("lift")
    assert first.record.body["slot"] == 5
    with pytest.raises(AlreadyEnrolledError):
        enroll_customer(sqlite_store, config, counter.reader, customer="C-2", staff="T-17",
                        on_event=counter.customer(3))
    last = sqlite_store.records()[-1]
    assert last.outcome == "duplicate" and last.body["duplicate_slot"] == 5
    assert sqlite_store.load_template("C-2") is None


def test_sealed_template_is_bound_to_customer_and_key(config):
    vault = TemplateVault(config.template_key)
    blob = vault.seal(b"\x03" * 512, "C-1")
    assert b"\x03" * 16 not in blob
    assert bytes(vault.open(blob, "C-1")) == b"\x03" * 512
    with pytest.raises(TemplateSealError, match="another customer"):
        vault.open(blob, "C-2")
    with pytest.raises(TemplateSealError):
        TemplateVault(b"\x00" * 32).open(blob, "C-1")
    with pytest.raises(TemplateSealError):
        vault.open(blob[:-1] + bytes([blob[-1] ^ 1]), "C-1")


def test_clock_gives_record_times(counter, sqlite_store, config):
    times = iter(dt.datetime(2026, 3, 1, 9, 0, s, tzinfo=dt.timezone.utc) for s in range(60))
    session = _session(counter, sqlite_store, config, clock=lambda: next(times))
    session.read_terms()
    record = session.cancel("customer left", by="teller")
    assert record.body["started"] == "2026-03-01T09:00:00.000Z"
    assert record.body["completed"] == "2026-03-01T09:00:03.000Z"


def test_guided_reading_outcomes_decide_whether_the_customer_may_confirm(counter, sqlite_store,
                                                                        config, template):
    from drivers import TactileError

    class FingerprintCancelled(TactileError):   # the guidance layer's Cancel, by name
        pass

    guide = FakeGuide(counter.customer(3), lang="zh-CN", profile="blind")
    session = ConfirmationSession(sqlite_store, config, item="account opening", terms=TERMS,
                                  customer="C-1001", reader=counter.reader, guide=guide)
    guide.terms_outcome = "timeout"            # the customer paused and walked away
    assert session.read_terms().outcome == "timeout"
    assert session.step is Step.TERMS
    with pytest.raises(SessionStateError, match="present the terms first"):
        session.verify_customer(template)
    guide.terms_outcome = "heard"
    session.read_terms()
    assert session.step is Step.CUSTOMER
    guide.verify_raises = FingerprintCancelled("Cancel pressed")
    with pytest.raises(FingerprintCancelled):
        session.verify_customer(template)
    record = session.record
    assert record.outcome == "cancelled"
    assert record.body["cancel"] == {"at_step": "customer", "by": "customer",
                                     "reason": "the customer cancelled during the fingerprint"}
    steps = record.body["steps"]
    assert [s["step"] for s in steps] == ["terms-not-presented", "terms-presented",
                                          "fingerprint-cancelled", "cancelled"]
    assert steps[1]["outcome"] == "heard" and steps[1]["reached"] == 3
    assert record.body["terms_readings"] == 1


def test_customer_cancel_during_the_guided_reading_is_recorded(counter, sqlite_store, config):
    guide = FakeGuide(counter.customer(3))
    guide.terms_outcome = "cancelled"
    with ConfirmationSession(sqlite_store, config, item="account opening", terms=TERMS,
                             customer="C-1001", reader=counter.reader, guide=guide) as session:
        session.read_terms()
    assert session.record.outcome == "cancelled"
    assert session.record.body["cancel"]["by"] == "customer"
    assert session.record.body["cancel"]["at_step"] == "terms"
