"""Fingerprint coaching through the PIN pad (drivers.guidance.coaching, Guide.enroll_finger /
verify_finger / identify_finger), on a simulated pad and a simulated fingerprint module, with
a virtual customer who follows the coaching (tests/helpers/coaching_rig.py)."""

from __future__ import annotations

import time

import pytest

from coaching_rig import FollowingCustomer, counter
from drivers.fingerprint import AlreadyEnrolledError, FingerTimeoutError, Template
from drivers.guidance import HAPTIC_PATTERNS, profile
from drivers.guidance.coaching import (
    RETRY_REASONS,
    Coach,
    CoachStep,
    FingerprintCancelled,
    TooManyRetriesError,
    capture_timeout,
)
from protocol.errors import ConfigurationError

SECOND_OF_THREE = {"en": "This is the second of three.", "zh-CN": "这是三次中的第二次。"}
RIGHT = {"en": "to the right of the keypad", "zh-CN": "在键盘的右边"}


def _texts(steps, status):
    return [s.text for s in steps if s.status == status]


# -- enrollment ------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_blind_enrollment_with_one_coached_retry(lang):
    with counter(lang, "blind") as c:
        customer = c.customer(qualities=(0, 90))   # a smudged first press
        template = c.guide.enroll_finger(c.reader, captures=3, on_event=customer)
        assert isinstance(template, Template) and template.captures == 3 and template.slot is None

        steps = customer.steps
        assert all(isinstance(s, CoachStep) for s in steps)
        statuses = [s.status for s in steps]
        # the dialogue, as fprintd words
        assert statuses[0] == "enroll-start"
        assert statuses.count("enroll-place-finger") == 3
        assert statuses.count("enroll-retry-scan") == 1
        assert statuses.count("enroll-stage-passed") == 3
        assert statuses.count("enroll-lift-finger") == 2
        assert statuses[-1] == "enroll-completed" and steps[-1].final and steps[-1].ok
        assert statuses.index("enroll-retry-scan") < statuses.index("enroll-stage-passed")

        # the retry has a reason and a remedy, and the customer was asked to retry
        retry = next(s for s in steps if s.status == "enroll-retry-scan")
        assert (retry.reason, retry.code, retry.action) == ("unclear", 0x06, "retry")
        assert retry.msgid == "fingerprint.retry.unclear"
        if lang == "en":
            assert "too light or smudged" in retry.text and "press it down flat" in retry.text
        else:
            assert "太淡" in retry.text and "平平地按下去" in retry.text

        # the stages, for the ear: "the second of three"
        places = [s for s in steps if s.status == "enroll-place-finger"]
        assert [(s.stage, s.stages) for s in places] == [(1, 3), (2, 3), (3, 3)]
        assert places[0].msgid == "fingerprint.enroll.place_first"
        assert SECOND_OF_THREE[lang] in places[1].text
        assert [s.msgid for s in steps if s.status == "enroll-lift-finger"] == \
            ["fingerprint.lift"] * 2

        # it all went through the pad: spoken in the customer's language, where the reader is
        said = c.said()
        assert any(RIGHT[lang] in t for t in said)
        assert retry.text in said
        assert places[1].text in said
        assert steps[-1].text in said
        assert {e["lang"] for e in c.events("say")} == {lang}
        # and onto the teller's feed, with the module's code of the retry
        lines = c.guide.feed.lines
        assert f"[guide] {retry.text}" in lines
        teller_reason = {"en": "image too light or smudged", "zh-CN": "图像太淡或模糊"}[lang]
        assert any(line.startswith("[teller]") and "06" in line and teller_reason in line
                   for line in lines)


def test_a_finger_placed_early_does_not_wait_for_speech():
    # the pad speaks in real time here: the introduction alone lasts more than ten seconds
    with counter("en", "blind", speed=1) as c:
        eager = FollowingCustomer(c.fp_sim)        # places the finger before hearing "place"
        started = time.monotonic()
        c.guide.enroll_finger(c.reader, on_event=eager)
        took = time.monotonic() - started
        says = c.events("say")
        assert says[0]["duration"] > 10
        assert took < says[0]["duration"] / 2      # less than the introduction would take
        # but the result is said in full before the call returns (the next step cannot cut it)
        done = says[-1]
        assert done["text"].startswith("Your fingerprint is registered")
        assert done["id"] not in {e["id"] for e in c.events("say-stopped")}
        assert took >= done["duration"] * 0.9
        stopped = {e["id"]: e["reason"] for e in c.events("say-stopped")}
        assert stopped[says[0]["id"]] == "replaced"        # cut by the next instruction
        assert eager.statuses()[-1] == "enroll-completed"


def test_already_enrolled_finger_is_told_and_raised():
    with counter("en", "standard") as c:
        c.guide.enroll_finger(c.reader, slot=0, on_event=c.customer())
        c.fp_sim.command("lift")
        again = c.customer()
        with pytest.raises(AlreadyEnrolledError) as exc:
            c.guide.enroll_finger(c.reader, slot=1, on_event=again)
        assert exc.value.slot == 0
        last = again.steps[-1]
        assert (last.status, last.msgid, last.final) == \
            ("enroll-duplicate", "fingerprint.enroll.duplicate", True)
        assert "already registered" in last.text and last.text in c.said()
        assert "[teller] This finger is already enrolled in slot 0 of the reader." in \
            c.guide.feed.lines


def test_too_many_unusable_scans_stop_the_enrollment():
    with counter("zh-CN", profile("standard").adjust(fingerprint_attempts=2)) as c:
        customer = c.customer(qualities=(0,))       # never a usable image
        with pytest.raises(TooManyRetriesError) as exc:
            c.guide.enroll_finger(c.reader, on_event=customer)
        assert exc.value.retries == 2 and exc.value.code == 0x06
        assert [s.status for s in customer.steps].count("enroll-retry-scan") == 1
        last = customer.steps[-1]
        assert (last.status, last.reason, last.final) == ("enroll-failed", "unclear", True)
        assert "试了两次" in last.text and last.text in c.said()


# -- verification ----------------------------------------------------------------------------
def test_verify_match():
    with counter("zh-CN", "standard") as c:
        template = c.guide.enroll_finger(c.reader, on_event=c.customer())
        c.fp_sim.command("lift")
        customer = c.customer()
        result = c.guide.verify_finger(c.reader, template, on_event=customer)
        assert result.matched and result.attempts_used == 1
        assert [s.status for s in customer.steps] == [
            "verify-start", "verify-place-finger", "verify-finger-detected", "verify-match"]
        assert customer.steps[1].msgid == "fingerprint.verify.place"
        assert customer.steps[-1].ok and "指纹确认成功" in customer.steps[-1].text
        assert any(line.startswith("[teller] 指纹匹配成功") for line in c.guide.feed.lines)

        # Help after the result says it again, and the call waits for that too
        match = customer.steps[-1].text
        c.on_pad(lambda e: e.get("event") == "say" and e["text"] == match, "press help")
        c.fp_sim.command("lift")
        again = c.customer()
        assert c.guide.verify_finger(c.reader, template, on_event=again).matched
        assert [s.status for s in again.steps][-1] == "verify-repeat"
        says = [e for e in c.events("say") if e["text"] == match]
        assert len(says) == 3                             # the first verify, then twice
        assert says[-1]["id"] not in {e["id"] for e in c.events("say-stopped")}


@pytest.mark.parametrize("lang, one_more", [("en", "You can try one more time."),
                                            ("zh-CN", "您还可以再试一次。")])
def test_verify_no_match_with_attempts_left_then_failure(lang, one_more):
    with counter(lang, profile("standard").adjust(fingerprint_attempts=2)) as c:
        template = c.guide.enroll_finger(c.reader, on_event=c.customer())
        c.fp_sim.command("lift")
        stranger = c.customer(8)
        result = c.guide.verify_finger(c.reader, template, on_event=stranger)  # profile: 2
        assert not result.matched and result.attempts_used == 2
        misses = [s for s in stranger.steps if s.status == "verify-no-match"]
        assert [(s.attempt, s.attempts, s.final) for s in misses] == [(1, 2, False), (2, 2, True)]
        assert misses[0].msgid == "fingerprint.verify.no_match" and one_more in misses[0].text
        assert misses[1].msgid == "fingerprint.verify.failed"
        # between the attempts: lift, then place again
        statuses = [s.status for s in stranger.steps]
        first, second = (i for i, s in enumerate(statuses) if s == "verify-no-match")
        assert statuses[first + 1:second].count("verify-lift-finger") == 1
        places = [s for s in stranger.steps if s.status == "verify-place-finger"]
        assert [s.msgid for s in places] == ["fingerprint.verify.place",
                                            "fingerprint.verify.place_again"]
        assert [(s.attempt, s.attempts) for s in places] == [(1, 2), (2, 2)]
        assert misses[0].text in c.said() and misses[1].text in c.said()
        if lang == "en":   # an explicit number of attempts wins over the profile's
            c.fp_sim.command("lift")
            once = c.customer(8)
            result = c.guide.verify_finger(c.reader, template, attempts=1, on_event=once)
            assert not result.matched and result.attempts_used == 1
            assert once.statuses().count("verify-no-match") == 1
            assert once.steps[-1].msgid == "fingerprint.verify.failed"


def test_identify_finds_the_enrolled_slot():
    with counter("en", "standard") as c:
        c.guide.enroll_finger(c.reader, slot=7, on_event=c.customer())
        c.fp_sim.command("lift")
        customer = c.customer()
        found = c.guide.identify_finger(c.reader, on_event=customer)
        assert found.slot == 7
        assert customer.steps[-1].status == "verify-match"
        assert customer.steps[-1].msgid == "fingerprint.identify.match"


def test_residue_on_the_window_is_coached_wipe_and_place_again():
    # an AS608 reports a latent print as 17: fprintd's remove-and-retry
    with counter("en", "standard", model="as608") as c:
        template = c.guide.enroll_finger(c.reader, on_event=c.customer())
        c.fp_sim.command("lift")
        c.fp_sim.command("defect residue")
        # the customer is slow: the reader sees only the old print, then the coach's remedy
        slow = c.customer(place_on_place=False)
        result = c.guide.verify_finger(c.reader, template, on_event=slow)
        assert result.matched
        retry = next(s for s in slow.steps if s.action == "retry")
        assert (retry.status, retry.reason, retry.code) == \
            ("verify-remove-and-retry", "residue", 0x17)
        assert "old print on the glass" in retry.text and "wipe the window" in retry.text


def test_a_reader_unplugged_mid_verify_is_verify_disconnected():
    from protocol.errors import TransportError

    with counter("zh-CN", "standard") as c:
        def unplug(step):
            if step.status == "verify-place-finger":
                assert c.fp_sim.command("unplug")["ok"]

        customer = c.customer(place_on_place=False, also=unplug)
        with pytest.raises(TransportError):
            c.guide.verify_finger(c.reader, bytes(1536), on_event=customer)
        last = customer.steps[-1]
        assert (last.status, last.msgid, last.final) == \
            ("verify-disconnected", "fingerprint.reader_fault", True)
        assert "指纹仪现在出了故障" in last.text and last.text in c.said()
        assert "unplugged" in c.guide.feed.lines[-1]        # the teller sees why


# -- time limits, Help, Cancel ---------------------------------------------------------------
def test_no_finger_warns_before_the_limit_then_times_out():
    with counter("en", "blind") as c:
        template = bytes(1536)                                # nobody comes to match it
        absent = c.customer(place_on_place=False)
        started = time.monotonic()
        with pytest.raises(FingerTimeoutError):
            c.guide.verify_finger(c.reader, template, timeout=1.0, on_event=absent)
        assert time.monotonic() - started < 5
        statuses = [s.status for s in absent.steps]
        assert "verify-reminder" in statuses               # warned before the limit
        assert statuses.index("verify-reminder") < len(statuses) - 1
        reminder = next(s for s in absent.steps if s.status == "verify-reminder")
        assert reminder.msgid == "fingerprint.reminder.place" and RIGHT["en"] in reminder.text
        last = absent.steps[-1]
        assert (last.status, last.reason, last.final) == ("verify-failed", "no-finger", True)
        assert "No finger reached the reader in time" in last.text and last.text in c.said()
        assert any(line.startswith("[teller] The fingerprint step ended") for line in
                   c.guide.feed.lines)


def test_help_on_the_pad_repeats_the_instruction_with_the_reader_position():
    from drivers.guidance import messages

    with counter("zh-CN", "blind") as c:
        place = messages("zh-CN").text("fingerprint.enroll.place_first", stages="两")
        # the customer hears "place one finger", presses Help instead, and follows the repeat
        c.on_pad(lambda e: e.get("event") == "say" and e["text"] == place, "press help")
        customer = c.customer(ignore_places=1)
        c.guide.enroll_finger(c.reader, on_event=customer, timeout=5.0)
        repeat = next(s for s in customer.steps if s.status == "enroll-repeat")
        assert (repeat.msgid, repeat.text) == ("fingerprint.enroll.place_first", place)
        said = c.said()
        assert said.count(place) == 2
        again = said.index(place, said.index(place) + 1)
        assert said[again - 1] == "指纹仪在键盘的右边。"      # where it is, then the instruction
        assert customer.statuses()[-1] == "enroll-completed"


def test_cancel_on_the_pad_stops_the_fingerprint_step():
    from drivers.guidance import messages

    with counter("en", "standard") as c:
        place = messages("en").text("fingerprint.enroll.place_first", stages="two")
        c.on_pad(lambda e: e.get("event") == "say" and e["text"] == place, "press cancel")
        customer = c.customer(place_on_place=False)
        started = time.monotonic()
        with pytest.raises(FingerprintCancelled):
            c.guide.enroll_finger(c.reader, on_event=customer, timeout=1.0)
        assert time.monotonic() - started < 6
        cancelled = next(s for s in customer.steps if s.status == "enroll-cancelled")
        assert cancelled.msgid == "fingerprint.cancelled" and cancelled.text in c.said()
        assert "enroll-failed" not in customer.statuses()


# -- profiles --------------------------------------------------------------------------------
def test_deaf_customer_gets_text_and_haptics_and_no_speech():
    with counter("en", "deaf") as c:
        customer = c.customer(qualities=(0, 90))
        c.guide.enroll_finger(c.reader, on_event=customer)
        assert c.events("say") == []                       # nothing to hear
        assert customer.steps[0].msgid == "fingerprint.enroll.intro_shown"
        assert "to see an instruction again" in customer.steps[0].text
        shown = c.shown()
        place = next(s for s in customer.steps if s.status == "enroll-place-finger")
        retry = next(s for s in customer.steps if s.status == "enroll-retry-scan")
        done = customer.steps[-1]
        for step in (place, retry, done):
            # shown from its first page on (a page at a time, large type; the next step may
            # follow before the last page of this one, once the customer has acted)
            assert any(p and step.text.startswith(p) for p in shown), step.text
            assert f"[guide] {step.text}" in c.guide.feed.lines
        assert all(e["large"] for e in c.events("display"))
        felt = c.felt()
        for name in ("attention", "error", "done"):
            assert list(HAPTIC_PATTERNS[name]) in felt
        # attention when asked to place, error for the retry, done at the end, in that order
        order = [felt.index(list(HAPTIC_PATTERNS[n])) for n in ("attention", "error", "done")]
        assert order == sorted(order)
        assert all(e.heard is None for e in c.guide.transcript.entries if e.item and
                   e.item.audience == "customer" and e.item.text)


def test_elderly_customer_hears_instructions_twice_and_slower():
    with counter("en", "elderly") as c:
        customer = c.customer()
        c.guide.enroll_finger(c.reader, on_event=customer)
        place = next(s for s in customer.steps if s.status == "enroll-place-finger")
        told = [i for i in c.guide.transcript.items if i.text == place.text]
        assert [i.queue for i in told] == [True, True]       # after the intro, then again
        lift = next(s for s in customer.steps if s.status == "enroll-lift-finger")
        assert len([i for i in c.guide.transcript.items if i.text == lift.text]) == 2
        hold = next(s for s in customer.steps if s.status == "enroll-finger-detected")
        assert len([i for i in c.guide.transcript.items if i.text == hold.text]) == 2  # 2 stages
        says = c.events("say")
        assert {e["rate"] for e in says} == {0.8}
        # the elderly profile's place / lift limit is longer (90 s PIN limit / 3)
        assert capture_timeout(c.guide.profile) == 30.0
        assert "It has a small, smooth glass window" in says[0]["text"]   # full spatial


POSITIONS = [
    ("left", "The fingerprint reader is to the left of the keypad.", "指纹仪在键盘的左边。"),
    ("above", "The fingerprint reader is above the keypad, on the side away from you.",
     "指纹仪在键盘的上方，离您远的那一边。"),
    ("front", "The fingerprint reader is in front of the keypad, between the keypad and you.",
     "指纹仪在键盘的前面，就在键盘和您之间。"),
    (None, "The fingerprint reader is near the keypad; a member of staff will show you where.",
     "指纹仪在键盘旁边，具体位置工作人员会告诉您。"),
]


def test_reader_position_phrase_comes_from_configuration():
    from drivers.guidance import Guide

    with counter("en", "standard", reader_position="left") as c:
        c.guide.verify_finger(c.reader, c.guide.enroll_finger(c.reader, on_event=c.customer()),
                              on_event=c.customer())
        assert c.said()[0] == POSITIONS[0][1]
        for position, en, zh in POSITIONS:
            for lang, words in (("en", en), ("zh-CN", zh)):
                guide = Guide(c.pad, lang=lang, profile="low-vision", reader_position=position)
                Coach(guide.announcer, guide.profile, mode="verify",
                      position=guide.reader_position).start(listen=False)
                # said, and shown from its first page on (the pages follow the speech)
                assert words in c.said() and any(p and words.startswith(p) for p in c.shown())


def test_bad_configuration_is_refused():
    from drivers.guidance import Announcer, TranscriptRecorder

    announcer = Announcer([TranscriptRecorder()], "en")
    with pytest.raises(ConfigurationError, match="reader position"):
        Coach(announcer, profile("standard"), position="under the desk")
    with pytest.raises(ConfigurationError, match="mode"):
        Coach(announcer, profile("standard"), mode="swipe")
    with pytest.raises(ConfigurationError, match="max_retries"):
        Coach(announcer, profile("standard"), max_retries=0)


def test_bad_arguments_are_refused_before_anything_is_said():
    with counter("en", "standard") as c:
        with pytest.raises(ConfigurationError, match="at least 2 captures"):
            c.guide.enroll_finger(c.reader, captures=1)
        with pytest.raises(ConfigurationError, match="attempts"):
            c.guide.verify_finger(c.reader, 0, attempts=0)
        assert c.guide.transcript.items == []


def test_every_retry_code_has_a_reason_and_a_remedy_in_both_languages():
    from drivers.guidance import messages

    from drivers.guidance.coaching import _REASON_IDS

    for code, (reason, suffix, msgid) in RETRY_REASONS.items():
        assert suffix in ("retry-scan", "finger-not-centered", "remove-and-retry")
        assert reason in _REASON_IDS                       # a short name for the teller
        for lang in ("en", "zh-CN"):
            text = messages(lang).text(msgid)
            # two sentences at least: what went wrong, then what to do
            assert text.count("." if lang == "en" else "。") >= 2, (code, lang, text)


def test_help_while_the_reader_waits_gives_the_full_time_again_as_in_a_pin_entry():
    from drivers.fingerprint import PlaceFinger
    from drivers.guidance import Announcer, TranscriptRecorder
    from protocol.tpp.codes import HELP_EXTENSIONS

    calls: list[float] = []

    class Reader:
        def extend_wait(self, seconds: float) -> None:
            calls.append(seconds)

    feed = TranscriptRecorder()
    coach = Coach(Announcer([feed], "en"), profile("standard"), mode="verify", timeout=7.0,
                  reader=Reader())
    coach.start(listen=False)
    coach(PlaceFinger(0, 0))                      # the reader asks for the finger
    coach.repeat()                                # Help on the pad
    assert calls == [7.0]
    for _ in range(5):
        coach.repeat()
    assert calls == [7.0] * HELP_EXTENSIONS       # at most as many times as in a PIN entry
    assert any(i.audience == "teller" and "Help" in i.text for i in feed.items)


def test_the_reader_waits_longer_when_asked_while_it_waits():
    import threading

    from drivers.fingerprint import FingerprintReader
    from firmware_sim import simulate

    with simulate("fingerprint", model="r503") as sim, \
            FingerprintReader.open(f"sim://fingerprint?name={sim.name}") as reader:
        time.sleep(0.1)                           # the module's power-up
        late = threading.Timer(1.2, lambda: sim.command("place 3 90"))
        more = threading.Timer(0.3, lambda: reader.extend_wait(2.0))
        late.start()
        more.start()
        try:
            result = reader.capture(timeout=0.8)  # without the extension: no finger in time
        finally:
            late.cancel()
            more.cancel()
        assert result.scans >= 1
