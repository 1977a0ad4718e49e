"""``tactile confirm PORT_PAD PORT_FINGERPRINT ...`` on simulated devices (issue 7 contract)."""

from __future__ import annotations

import json
import threading

import pytest

from drivers import FingerprintReader, LiftFinger, PlaceFinger
from drivers.confirmation import AuditConfig, SqliteStore, TemplateVault, enroll_customer
from tools.cli import main

pytestmark = pytest.mark.simulated_fingerprint(model="r503", seed=3)

TERMS = "借记卡换卡条款：旧卡注销，新卡即日生效。\nThe old card is cancelled today.\n"


@pytest.fixture
def setup(tmp_path, simulated_fingerprint, simulated_pinpad):
    config = AuditConfig.generate("BR0107-C03")
    config_path = config.save(tmp_path / "audit.json")
    terms = tmp_path / "terms.txt"
    terms.write_bytes(TERMS.encode("utf-8"))
    db = tmp_path / "trail.db"

    def args(*extra, customer="C-1001"):
        return ["confirm", simulated_pinpad.url, simulated_fingerprint.url,
                "--item", "debit card replacement", "--terms", str(terms),
                "--customer", customer, "--teller", "T-17", "--reviewer", "R-04",
                "--db", str(db), "--config", str(config_path), "--timeout", "2", *extra]

    def enroll(customer="C-1001"):
        def finger(event):
            if isinstance(event, PlaceFinger):
                simulated_fingerprint.place(3)
            elif isinstance(event, LiftFinger):
                simulated_fingerprint.lift()

        with SqliteStore(db) as store, FingerprintReader.open(simulated_fingerprint.url) as reader:
            enrollment = enroll_customer(store, config, reader, customer=customer, staff="T-17",
                                         on_event=finger)
        simulated_fingerprint.lift()
        return enrollment

    return type("Setup", (), dict(args=staticmethod(args), enroll=staticmethod(enroll), db=db,
                                  config=config, fp=simulated_fingerprint, tmp=tmp_path,
                                  pad=simulated_pinpad))


def _last_line(capsys):
    captured = capsys.readouterr()
    return captured.out.strip().splitlines()[-1], captured


def test_confirm_with_the_kept_template(setup, capsys):
    setup.enroll()
    setup.fp.place(3)                       # the customer rests the finger on the sensor
    assert main(setup.args("--lang", "en", "--profile", "blind")) == 0
    line, captured = _last_line(capsys)
    assert line == "BR0107-C03-000002 confirmed"
    assert "fingerprint: match" in captured.err
    with SqliteStore(setup.db, readonly=True) as store:
        body = store.record("BR0107-C03-000002").body
    assert body["lang"] == "en" and body["profile"] == "blind"
    assert [s["role"] for s in body["staff"]] == ["teller", "reviewer"]
    spoken = "".join(e["text"] for e in setup.pad.events if e.get("event") == "say")
    assert TERMS in spoken
    assert main(["audit", "verify", str(setup.db)]) == 0


def test_confirm_with_a_sealed_template_file_and_json(setup, capsys):
    enrollment = setup.enroll()
    sealed = setup.tmp / "C-1001.tpl"
    sealed.write_bytes(enrollment.sealed)
    setup.fp.place(3)
    assert main(setup.args("--template", str(sealed), "--json")) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["record"] == "BR0107-C03-000002" and out["outcome"] == "confirmed"
    assert out["customer_check"] == "fingerprint"
    # a template sealed for another customer does not open for this one
    other = setup.tmp / "other.tpl"
    other.write_bytes(TemplateVault(setup.config.template_key).seal(enrollment.template, "C-9"))
    assert main(setup.args("--template", str(other))) == 1
    assert "does not open for customer 'C-1001'" in capsys.readouterr().err


def test_no_match_is_recorded_as_cancelled_and_exits_1(setup, capsys):
    setup.enroll()
    setup.fp.place(8)                       # another finger on the sensor, every attempt
    assert main(setup.args("--attempts", "1")) == 1
    line, _ = _last_line(capsys)
    assert line == "BR0107-C03-000002 cancelled"
    with SqliteStore(setup.db, readonly=True) as store:
        body = store.record("BR0107-C03-000002").body
    assert body["cancel"]["by"] == "system" and body["fingerprint"]["attempts_used"] == 1


def test_fallback_with_witnesses(setup, capsys):
    assert main(setup.args("--fallback", "worn fingerprints", "--witness", "W-09")) == 0
    line, _ = _last_line(capsys)
    assert line == "BR0107-C03-000001 confirmed"
    with SqliteStore(setup.db, readonly=True) as store:
        check = store.records()[0].body["customer_check"]
    assert check["method"] == "manual-identity-check" and check["witnesses"] == ["W-09"]


def test_enroll_on_the_spot_when_no_template_is_kept(setup, capsys):
    stop = threading.Event()

    def customer():     # puts the finger down and lifts it again, as the coaching asks
        while not stop.is_set():
            setup.fp.place(3)
            stop.wait(0.25)
            setup.fp.lift()
            stop.wait(0.15)

    helper = threading.Thread(target=customer)
    helper.start()
    try:
        assert main(setup.args()) == 0
    finally:
        stop.set()
        helper.join(5)
    line, captured = _last_line(capsys)
    assert line == "BR0107-C03-000002 confirmed"
    assert "enrolling on the spot" in captured.err
    with SqliteStore(setup.db, readonly=True) as store:
        assert [r.kind for r in store.records()] == ["enrollment", "confirmation"]
        assert store.load_template("C-1001") is not None


@pytest.mark.parametrize("change, message", [
    (("--reviewer", "t-17"), "different staff member"),
    (("--fallback", "injury"), "--witness"),
    (("--witness", "W-1"), "--fallback"),
    (("--terms", "/nonexistent/terms.txt"), "cannot read the terms"),
    (("--config", "/nonexistent/audit.json"), "no audit key configuration"),
])
def test_bad_usage_exits_2_and_writes_nothing(setup, capsys, change, message):
    argv = setup.args()
    flag, value = change
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not setup.db.exists() or not SqliteStore(setup.db, readonly=True).records()
