"""``tactile confirm PORT_PAD PORT_FINGERPRINT ...`` on simulated devices (issue 7 contract).

The confirmation is guided (issue 6): the customer here is a
:class:`~firmware_sim.customer.VirtualCustomer` that acts only on what the pad says or shows,
in the chosen language: it presses Enter when it hears (or, deaf, sees) the end of the terms,
places its finger when coached to, lifts it when told.  The pad's own clock runs 25 times
faster (speech, time limits), so hearing the terms takes a fraction of a second.
"""

from __future__ import annotations

from protocol.tpp.display import fits, paginate

import json
import re

import pytest

from drivers import FingerprintReader, LiftFinger, PlaceFinger
from drivers.confirmation import AuditConfig, SqliteStore, TemplateVault, enroll_customer
from drivers.guidance.catalog import DOMAINS, catalogue_entries, messages
from firmware_sim.customer import VirtualCustomer
from tools.cli import main

pytestmark = [pytest.mark.simulated_fingerprint(model="r503", seed=3),
              pytest.mark.simulated_pinpad(fast_clock=25)]

TERMS = "借记卡换卡条款：旧卡注销，新卡即日生效。\nThe old card is cancelled today.\n"


def _said(lang: str, *msgids: str) -> "re.Pattern[str]":
    """Any of these catalogue messages as the pad says or shows them (placeholders: anything)."""
    forms = [form for domain in DOMAINS for msgid in msgids
             for form in catalogue_entries(lang, domain).get(msgid, ())]
    assert forms, f"no such guidance messages: {msgids}"
    return re.compile("|".join(
        "(?:" + re.sub(r"\\\{[a-z_]+\\\}", ".*?", re.escape(form)) + ")" for form in forms))


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
                "--db", str(db), "--config", str(config_path), "--timeout", "8",
                *(() if "--lang" in extra else ("--lang", "zh-CN")), *extra]

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

    def customer(lang="zh-CN", finger=3, senses=("hear", "see", "feel")):
        """A customer who follows the guidance (what it perceives with ``senses``)."""
        person = VirtualCustomer(simulated_pinpad.runner, fingerprint=simulated_fingerprint.runner,
                                 senses=senses)
        person.on(_said(lang, "fingerprint.enroll.place_first", "fingerprint.enroll.place_again",
                        "fingerprint.verify.place", "fingerprint.verify.place_again",
                        "fingerprint.reminder.place"),
                  f"fingerprint: place {finger} 90", repeat=True)
        person.on(_said(lang, "fingerprint.lift", "fingerprint.enroll.completed"),
                  "fingerprint: lift", repeat=True)
        person.on(_said(lang, "fingerprint.terms.end", "fingerprint.terms.show_intro"),
                  "press enter", repeat=True)
        person.on(_said(lang, "common.headset_offer"), "headset in")   # private audio first
        if "hear" not in senses:
            # a page of the terms on the display (its last line "1/2"): read, Enter for the next
            person.on(lambda p: p.kind == "display" and re.search(
                r"\n\d+/\d+$", str(p.event.get("text", ""))) is not None, "press enter",
                repeat=True, senses={"see"})
        return person

    return type("Setup", (), dict(args=staticmethod(args), enroll=staticmethod(enroll),
                                  customer=staticmethod(customer), db=db, config=config,
                                  fp=simulated_fingerprint, tmp=tmp_path, pad=simulated_pinpad))


def _last_line(capsys):
    captured = capsys.readouterr()
    return captured.out.strip().splitlines()[-1], captured


def _events(pad, kind):
    return [e for e in pad.events if e.get("event") == kind]


def test_confirm_with_the_kept_template_terms_spoken_in_english(setup, capsys):
    setup.enroll()
    with setup.customer("en", senses={"hear", "feel"}) as person:
        assert main(setup.args("--lang", "en", "--profile", "blind")) == 0
    line, captured = _last_line(capsys)
    assert line == "BR0107-C03-000002 confirmed"
    assert "fingerprint: match" in captured.err and "terms: heard" in captured.err
    with SqliteStore(setup.db, readonly=True) as store:
        body = store.record("BR0107-C03-000002").body
    assert body["lang"] == "en" and body["profile"] == "blind" and body["guided"] is True
    assert [s["role"] for s in body["staff"]] == ["teller", "reviewer"]
    reading = next(s for s in body["steps"] if s["step"] == "terms-presented")
    assert reading["how"] == "guide" and reading["outcome"] == "heard" and reading["acknowledged"]
    # the guide introduced the reading and said the exact terms, in English, on the pad
    en = messages("en")
    said = _events(setup.pad, "say")
    intro = en.text("fingerprint.terms.intro", title=en.text("fingerprint.terms.default_title"))
    assert any(e["text"] == intro for e in said)
    spoken = " ".join(e["text"] for e in said)
    for line_of_terms in TERMS.splitlines():
        assert line_of_terms.strip() in spoken
    assert {e["lang"] for e in said if TERMS.splitlines()[1] in e["text"]} == {"en"}
    # coached: where the reader is, then the verification; the customer pressed only Enter
    assert any("to the right of the keypad" in e["text"] for e in said)
    assert person.actions_done.count("press enter") == 1 and not person.errors
    # the teller's feed (stderr) shows the guidance and the terms
    assert "[guide] " + intro in captured.err and "The old card is cancelled today." in captured.err
    assert main(["audit", "verify", str(setup.db)]) == 0


def test_confirm_in_mandarin_with_the_reader_on_the_left(setup, capsys):
    setup.enroll()
    with setup.customer("zh-CN"):
        assert main(setup.args("--reader-position", "left")) == 0
    line, _ = _last_line(capsys)
    assert line == "BR0107-C03-000002 confirmed"
    zh = messages("zh-CN")
    said = _events(setup.pad, "say")
    assert any(e["text"] == zh.text("fingerprint.terms.intro",
                                    title=zh.text("fingerprint.terms.default_title"))
               and e["lang"] == "zh-CN" for e in said)
    assert any("借记卡换卡条款" in e["text"] and e["lang"] == "zh-CN" for e in said)
    left = zh.text("fingerprint.position.left")
    assert any(left in e["text"] for e in said)


def test_deaf_profile_pages_the_terms_on_the_display_and_says_nothing(setup, capsys):
    setup.enroll()
    with setup.customer("en", senses={"see", "feel"}) as person:
        assert main(setup.args("--lang", "en", "--profile", "deaf")) == 0
    line, captured = _last_line(capsys)
    assert line == "BR0107-C03-000002 confirmed"
    assert _events(setup.pad, "say") == []
    # the terms laid out for the 20 x 4 display in large type, every page shown as it is,
    # whole words, "n/N" on the last line
    pages = paginate(TERMS, 20, 4, True)
    shown = [e for e in _events(setup.pad, "display")]
    assert len(pages) > 1 and all(e.get("large") for e in shown)
    texts = [e["text"] for e in shown]
    assert all(page in texts for page in pages)
    assert all(fits(t, 20, 4, True) for t in texts)
    with SqliteStore(setup.db, readonly=True) as store:
        body = store.record("BR0107-C03-000002").body
    reading = next(s for s in body["steps"] if s["step"] == "terms-presented")
    assert body["profile"] == "deaf" and reading["outcome"] == "read"
    assert "terms: read (" in captured.err


def test_confirm_with_a_sealed_template_file_and_json(setup, capsys):
    enrollment = setup.enroll()
    sealed = setup.tmp / "C-1001.tpl"
    sealed.write_bytes(enrollment.sealed)
    with setup.customer():
        assert main(setup.args("--template", str(sealed), "--json")) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["record"] == "BR0107-C03-000002" and out["outcome"] == "confirmed"
    assert out["customer_check"] == "fingerprint"
    # a template sealed for another customer does not open for this one: nothing is asked
    other = setup.tmp / "other.tpl"
    other.write_bytes(TemplateVault(setup.config.template_key).seal(enrollment.template, "C-9"))
    said_before = len(_events(setup.pad, "say"))
    assert main(setup.args("--template", str(other))) == 1
    assert "does not open for customer 'C-1001'" in capsys.readouterr().err
    assert len(_events(setup.pad, "say")) == said_before


def test_no_match_is_recorded_as_cancelled_and_exits_1(setup, capsys):
    setup.enroll()
    with setup.customer(finger=8):          # another finger, every attempt
        assert main(setup.args("--attempts", "1")) == 1
    line, captured = _last_line(capsys)
    assert line == "BR0107-C03-000002 cancelled"
    assert "指纹：比对不成功" in captured.err          # the session's language (zh-CN)
    with SqliteStore(setup.db, readonly=True) as store:
        body = store.record("BR0107-C03-000002").body
    assert body["cancel"]["by"] == "system" and body["fingerprint"]["attempts_used"] == 1


def test_cancel_while_the_terms_are_read_is_recorded(setup, capsys):
    setup.enroll()
    with setup.customer("en") as person:
        person.on(_said("en", "fingerprint.terms.intro"), "wait 0.05", "press cancel")
        assert main(setup.args("--lang", "en")) == 1
    line, _ = _last_line(capsys)
    assert line == "BR0107-C03-000002 cancelled"
    with SqliteStore(setup.db, readonly=True) as store:
        body = store.record("BR0107-C03-000002").body
    assert body["cancel"]["by"] == "customer" and body["cancel"]["at_step"] == "terms"
    assert body["customer_check"] is None


def test_fallback_with_witnesses(setup, capsys):
    with setup.customer():
        assert main(setup.args("--fallback", "worn fingerprints", "--witness", "W-09")) == 0
    line, _ = _last_line(capsys)
    assert line == "BR0107-C03-000001 confirmed"
    with SqliteStore(setup.db, readonly=True) as store:
        check = store.records()[0].body["customer_check"]
    assert check["method"] == "manual-identity-check" and check["witnesses"] == ["W-09"]


def test_enroll_on_the_spot_when_no_template_is_kept(setup, capsys):
    with setup.customer("en") as person:
        assert main(setup.args("--lang", "en")) == 0
    line, captured = _last_line(capsys)
    assert line == "BR0107-C03-000002 confirmed"
    assert "enrolling on the spot" in captured.err
    with SqliteStore(setup.db, readonly=True) as store:
        assert [r.kind for r in store.records()] == ["enrollment", "confirmation"]
        assert store.records()[0].body["guided"] is True
        assert store.load_template("C-1001") is not None
    # coached: placed for each capture, lifted when told, placed again to confirm
    places = [a for a in person.actions_done if a.startswith("fingerprint: place")]
    assert len(places) >= 3 and "fingerprint: lift" in person.actions_done


@pytest.mark.parametrize("change, message", [
    (("--reviewer", "t-17"), "different staff member"),
    (("--fallback", "injury"), "--witness"),
    (("--witness", "W-1"), "--fallback"),
    (("--terms", "/nonexistent/terms.txt"), "cannot read the terms"),
    (("--config", "/nonexistent/audit.json"), "no audit key configuration"),
    (("--profile", "martian"), "use one of standard, blind, low-vision, deaf, deafblind, elderly"),
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
    assert _events(setup.pad, "say") == []


def test_a_staff_id_typo_asks_again_three_tries_in_all(monkeypatch):
    from rich.console import Console

    from tools.confirm import STAFF_TRIES, _staff_confirms

    text = messages("zh-CN").text
    answers = iter(["T-71", "T-17"])                 # a slip of the hand, then right
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda: next(answers))
    err = Console(stderr=True, record=True, width=200)
    assert _staff_confirms("teller", "T-17", err, text)
    shown = err.export_text()
    assert "柜员 T-17：请输入您的员工号确认：" in shown and "还可以再试2次" in shown
    wrong = iter(["x"] * STAFF_TRIES)
    monkeypatch.setattr("builtins.input", lambda: next(wrong))
    assert STAFF_TRIES == 3 and not _staff_confirms("reviewer", "R-04", err, text)
