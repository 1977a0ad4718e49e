"""Guided PIN entry and PIN change: transcripts per profile and locale, checked for content.

Each test runs a Guide on a simulated pad whose clock the test drives (tests/helpers/
guided_entry_rig.py), so speech ends, warnings come and limits expire exactly when the test
says, without waiting.  What the customer perceived is read from the simulator's own events
(what the pad really said, showed, sounded and vibrated), what the teller saw from the feed.
"""

from __future__ import annotations

import logging
import re

import pytest

from drivers.guidance.entry import ACCEPTED_PULSE, GuidedPinEntry
from drivers.pinpad import Completion, PinMismatch
from guided_entry_rig import EntryRig
from perceive import read_pattern
from pinpad_rig import PAN, decrypt
from protocol.errors import ConfigurationError
from protocol.tpp.codes import HAPTIC_PATTERNS

ERROR, WARNING, DONE, KEY = (HAPTIC_PATTERNS[n] for n in ("error", "warning", "done", "key"))


@pytest.fixture
def quiet(caplog):
    """The guidance never had to swallow an error (a refused prompt, a failed channel)."""
    caplog.set_level(logging.WARNING, logger="drivers.guidance")
    yield
    assert [r.getMessage() for r in caplog.records if r.name == "drivers.guidance"] == []


_OFFERED = re.compile("|".join(read_pattern(lang, "common.headset_offer",
                                            "common.headset_not_found").pattern
                               for lang in ("en", "zh-CN")))


def host_said(rig):
    """The host's words, after the headset offer (made first, to profiles with private audio:
    tests/guidance/test_perception.py)."""
    return [e["text"] for e in rig.perceived if e["event"] == "say" and e["source"] == "host"
            and not _OFFERED.search(e["text"])]


def keys(rig, sequence, dt=5.0):
    for key in sequence.split():
        rig.step(key, dt)


# -- profiles and languages ---------------------------------------------------------------------
def test_blind_english_counts_every_digit_and_hears_the_result(quiet):
    with EntryRig(lang="en", profile="blind") as rig:
        entry = rig.start(min_len=6, max_len=6)
        assert isinstance(entry, GuidedPinEntry)
        intro = host_said(rig)
        assert intro[0].startswith("You will now enter your six-digit PIN")
        assert any("how many digits you have typed" in t for t in intro)
        assert any("press Help" in t for t in intro)
        keys(rig, "one two three four five six enter")
        rig.finish()
        said = rig.said()
        counts = [t for t in said if re.fullmatch(r"\d+ digits?\.", t)]
        assert counts == ["1 digit."] + [f"{n} digits." for n in range(2, 6)]
        assert "That's the most digits allowed. Press Enter, or Clear to start again." in said   # the sixth
        assert "Thank you, your entry is complete." in said                # the pad's own
        assert said[-1].startswith("Your PIN has been entered")           # ours, after it
        # private-only key tones: no key tone on the public speaker without a headset
        assert "key" not in rig.tones()
        assert entry.status == "ok" and entry.completion is Completion.ENTER
        assert entry.digits == 6 and decrypt(entry.pin_block, entry.ksn, "iso4") == "123456"
        assert "[teller] PIN entry ended: completed, 6 digits." in rig.feed
        assert "[pad] Thank you, your entry is complete." in rig.feed


def test_blind_mandarin_counts_in_mandarin_through_the_headset(quiet):
    with EntryRig(lang="zh-CN", profile="blind") as rig:
        rig.runner.command("headset in")
        rig.start(min_len=4, max_len=6)
        assert host_said(rig)[0] == "现在请在键盘上输入密码，密码是四到六位。没有人能看到或听到您的密码。"
        keys(rig, "nine nine one enter")
        rig.finish()
        said = rig.said()
        assert "已输入3位。" in said and "密码至少需要4位，请继续输入。" in said
        says = [e for e in rig.perceived if e["event"] == "say"]
        assert {e["channel"] for e in says} == {"headset"}
        # with a headset in, the key tone is private and every digit sounds the same
        key_tones = [e for e in rig.perceived if e["event"] == "tone" and e["tone"] == "key"]
        assert len(key_tones) >= 3 and {(e["freq"], e["ms"], e["channel"]) for e in key_tones} \
            == {(1000, 60, "headset")}
        assert rig.entry.status == "cancelled"
        assert rig.said()[-1] == "密码输入已取消，没有保留任何内容。"


def test_deaf_gets_text_and_haptics_and_no_speech_from_the_host(quiet):
    with EntryRig(lang="en", profile="deaf") as rig:
        rig.start(min_len=6, max_len=6)
        shown = rig.shown()
        assert "Enter your 6-digit PIN, then press Enter.".startswith(shown[0])  # page 1
        told = rig.guide.transcript.texts()[0]
        assert told.startswith("Enter your 6-digit PIN, then press Enter.")
        assert told.endswith("Press Enter now to start.")
        keys(rig, "one two three four enter five six")
        rig.wait(20.0)                                  # the 30 s warning (limit 45 s)
        rig.press("enter")
        rig.finish()
        assert host_said(rig) == []                     # nothing depends on hearing
        prompts = [e for e in rig.perceived if e["event"] == "say"]
        assert all(e.get("prompt") not in (10, 11, 21) for e in prompts)  # no host prompts
        felt = rig.felt()
        # the pad vibrates by itself (TPP SetFeedback haptics): one identical pulse per key,
        # the error for Enter too early, the warning, and "done" at the end; the host sends
        # none of these again (each is felt once)
        assert felt.count(KEY) == 9                     # Enter to start, 6 digits, Enter twice
        assert felt.count(ERROR) == 1                   # Enter too early
        assert felt.count(WARNING) == 1 and felt[-1] == DONE
        assert ACCEPTED_PULSE not in felt
        assert "The PIN needs at least 6 digits. Please continue." in rig.shown()
        assert "PIN: ******" in rig.shown()             # the mask shows the count
        assert rig.shown()[-1].startswith("Your PIN has been entered")
        assert all(e["large"] for e in rig.perceived if e["event"] == "display")
        assert rig.entry.status == "ok"
        assert not any(line.startswith("[guide]") for line in rig.feed[1:-1])


def test_deaf_mandarin_reads_the_instructions():
    with EntryRig(lang="zh-CN", profile="deaf") as rig:
        rig.start(min_len=6, max_len=6)
        assert rig.shown()[0].startswith("请输入6位密码，输完按确认键。")
        rig.finish()
        assert rig.shown()[-1] == "密码输入已取消，没有保留任何内容。"


def test_elderly_hears_the_instructions_again_after_a_pause_and_slower(quiet):
    with EntryRig(lang="en", profile="elderly") as rig:
        rig.start(min_len=6, max_len=6)
        intro = host_said(rig)
        half = len(intro) // 2
        # heard to the end, no key for repeat_after seconds: once more (not back to back)
        assert len(intro) >= 8 and intro[:half] == intro[half:]
        keys(rig, "one two")
        rig.finish()
        prompts = [e for e in rig.perceived if e["event"] == "say" and e["source"] == "prompt"]
        assert prompts and {e["rate"] for e in prompts} == {0.8}   # the pad's own words too
        assert [t for t in rig.said() if re.fullmatch(r"\d+ digits?\.", t)] == ["1 digit.",
                                                                                 "2 digits."]
        assert all(e["large"] for e in rig.perceived if e["event"] == "display")
        assert rig.pad.status().rate == 100        # the pad's own setting is back afterwards


def test_standard_profile_gives_the_uniform_key_tone_and_no_count(quiet):
    with EntryRig(lang="en", profile="standard") as rig:
        rig.start(min_len=4, max_len=8)
        assert any("same short beep" in t for t in host_said(rig))
        keys(rig, "five five five")
        rig.finish()
        assert not any(re.fullmatch(r"\d+ digits?\.", t) for t in rig.said())
        key_tones = {(e["freq"], e["ms"]) for e in rig.perceived
                     if e["event"] == "tone" and e["tone"] == "key"}
        assert key_tones == {(1000, 60)}


# -- keys during the entry --------------------------------------------------------------------------
def test_enter_too_early_says_how_many_after_the_pads_own_words(quiet):
    with EntryRig(lang="en", profile="standard") as rig:
        rig.start(min_len=6, max_len=6)
        keys(rig, "one two three four")
        rig.press("enter")
        said = rig.said()
        assert said[-1] == "The PIN needs at least 6 digits. Please continue."
        rig.wait(5.0)                                   # the pad's words end ...
        assert rig.said()[-1] == "4 digits."    # ... then the count follows
        assert "[teller] Enter pressed after 4 digits; at least 6 are needed." in rig.feed
        # a key that cuts the pad's words cancels the count: the customer is acting
        rig.press("enter")
        rig.press("five")
        rig.wait(5.0)
        assert rig.said()[-1] == "The PIN needs at least 6 digits. Please continue."
        rig.finish()


def test_backspace_and_clear_are_spoken(quiet):
    with EntryRig(lang="en", profile="low-vision") as rig:
        rig.start(min_len=4, max_len=6)
        keys(rig, "one two three backspace")
        assert rig.said()[-1] == "One digit deleted; 2 remain."
        rig.step("clear")
        assert rig.said()[-1] == "Cleared. Please start again."
        assert "[pad] Cleared. Please start again." in rig.feed
        assert "[guide] One digit deleted; 2 remain." in rig.feed
        assert rig.feed.count("[teller] 0 of 6 digits entered.") == 1
        rig.finish()


def test_maximum_reached_and_a_digit_beyond_it(quiet):
    with EntryRig(lang="zh-CN", profile="elderly") as rig:
        rig.start(min_len=4, max_len=4)
        keys(rig, "one two three four")
        assert rig.said()[-1] == "已经输满了。请按确认键；要重输，请按更正键。"
        rig.step("five")                                # rejected: max-length
        assert rig.said()[-1] == "已经输满了。请按确认键；要重输，请按更正键。"
        assert "[teller] 客户已输入最多位数（4位），再按数字不起作用。" in rig.feed
        rig.step("enter")
        rig.finish()
        assert rig.entry.status == "ok" and rig.entry.digits == 4
        assert decrypt(rig.entry.pin_block, rig.entry.ksn, "iso4") == "1234"


def test_cancel_key_ends_with_the_result_in_words(quiet):
    with EntryRig(lang="en", profile="blind") as rig:
        rig.start(min_len=6, max_len=6)
        keys(rig, "one two cancel")
        rig.finish()
        entry = rig.entry
        assert entry.status == "cancelled" and entry.pin_block is None and entry.ksn is None
        assert rig.said()[-2:] == ["Cancelled.", "The PIN entry was cancelled; nothing was kept."]


def test_time_warning_then_timeout(quiet):
    with EntryRig(lang="en", profile="blind") as rig:
        rig.start(min_len=6, max_len=6, time_limit=40)
        keys(rig, "one")
        rig.wait(6.0)                                   # 29 s left: the pad warns at 30
        assert "30 seconds left. Press Help for more time." in rig.said()
        assert "[teller] 30 s left before the entry times out; you can give more time." \
            in rig.feed
        rig.wait(20.0)                                  # and at 10
        assert "10 seconds left. Press Help for more time." in rig.said()
        rig.wait(10.0)
        entry = rig.entry
        assert entry.status == "timeout" and entry.completion is Completion.TIMEOUT
        rig.finish()
        assert "Time is up. The entry was cancelled." in rig.said()
        assert rig.said()[-1].startswith("Time ran out, so the entry stopped; nothing was kept.")
        assert entry.pin_block is None


def test_teller_gives_more_time_and_the_customer_asks_for_it(quiet):
    with EntryRig(lang="en", profile="standard") as rig:
        entry = rig.start(min_len=4, max_len=6, time_limit=40)
        rig.wait(11.0)                                  # the 30 s warning
        left = entry.extend_time(60)
        assert left == 89
        rig.sync()
        assert rig.said()[-1] == "You now have 89 seconds."
        assert "[teller] More time given: 89 s left." in rig.feed
        rig.press("help")                               # the customer's own extension
        said = rig.said()
        assert "You now have 80 seconds." in said      # re-armed 40 + 40
        assert "[teller] The customer pressed Help: more time, 80 s left." in rig.feed
        rig.wait(5.0)                                   # then the instruction again
        assert rig.said()[-1] == "Please enter your PIN, then press Enter."
        assert rig.feed[-3:-1] == ["[pad] You now have 80 seconds.",
                                   "[pad] Please enter your PIN, then press Enter."]
        rig.finish()


def test_help_after_every_extension_is_used(quiet):
    with EntryRig(lang="en", profile="standard") as rig:
        rig.start(min_len=4, max_len=4, time_limit=20)
        keys(rig, "help help help help")
        assert "[pad] Enter your PIN and press Enter; Clear starts again, Cancel stops." in rig.feed
        assert any("used every extension" in line for line in rig.feed)
        rig.finish()


def test_teller_controls_during_the_entry(quiet):
    with EntryRig(lang="en", profile="blind") as rig:
        entry = rig.start(min_len=6, max_len=6)
        keys(rig, "one two")
        entry.repeat()
        assert rig.said()[-1] == "2 digits."
        entry.set_volume(800)
        rig.sync()
        last = [e for e in rig.perceived if e["event"] == "say"][-1]
        assert last["text"] == "2 digits." and last["volume"] == 800
        entry.set_rate(70)
        last = [e for e in rig.perceived if e["event"] == "say"][-1]
        assert last["rate"] == 0.7
        entry.stop_speaking()
        rig.sync()
        assert rig.perceived[-1]["event"] == "say-stopped"
        entry.cancel()
        rig.sync()
        assert entry.status == "cancelled"
        rig.finish()


# -- before the entry ------------------------------------------------------------------------------
def test_cancel_during_the_instructions_starts_no_entry():
    with EntryRig(lang="en", profile="blind", listen_to_host_text=False) as rig:
        # the customer presses Cancel as soon as the instructions begin
        rig.runner.subscribe(lambda e: e.get("event") == "say" and e.get("source") == "host"
                             and rig.runner.command("press cancel"))
        entry = rig.start(min_len=6, max_len=6)
        assert entry.status == "cancelled" and entry.completion is Completion.CANCEL
        assert list(entry) == [] and entry.next_event() is None
        assert not any(e["event"] == "mode" for e in rig.perceived)
        assert "[teller] The customer pressed Cancel during the instructions: no PIN entry " \
               "was started." in rig.feed
        entry.__exit__(None, None, None)
        assert rig.pad.status().mode.name == "IDLE"


def test_help_during_the_instructions_says_them_again():
    with EntryRig(lang="en", profile="standard", listen_to_host_text=False) as rig:
        pressed = []
        last_part = rig.guide.announcer.text("entry.help")

        def customer(event):
            # listens to each part, and presses Help when the last one begins
            if event.get("event") != "say" or event.get("source") != "host":
                return
            if event["text"] == last_part and not pressed:
                pressed.append(1)
                rig.runner.command("press help")
            else:
                rig.clock.advance(event["duration"] + 0.01)
                rig.runner.wake()
        rig.runner.subscribe(customer)
        rig.start(min_len=4, max_len=4)
        intro = host_said(rig)
        assert len(intro) == 8 and intro[:4] == intro[4:] and intro[3] == last_part
        assert intro[0].startswith("You will now enter your four-digit")
        assert rig.entry.running
        rig.finish()


def test_bad_arguments_fail_before_anything_is_said():
    with EntryRig(lang="en", profile="blind") as rig:
        with pytest.raises(ConfigurationError):
            rig.guide.pin_entry(pan=PAN, min_len=7, max_len=5)
        with pytest.raises(ConfigurationError):
            rig.guide.pin_entry(pan=PAN, time_limit=5)
        with pytest.raises(ConfigurationError):
            rig.guide.pin_change(pan=PAN, max_mismatches=0)
        with pytest.raises(ConfigurationError):
            rig.guide.pin_entry(pan="12ab")
        assert rig.said() == []


# -- PIN change --------------------------------------------------------------------------------------
def test_pin_change_one_mismatch_then_success(quiet):
    with EntryRig(lang="en", profile="blind") as rig:
        entry = rig.start(change=True, min_len=6, max_len=6)
        assert host_said(rig)[0].startswith("You will now choose a new six-digit PIN")
        assert rig.feed[-1] == "[pad] Please enter your new PIN, then press Enter."
        keys(rig, "one two three four five six enter")
        assert "[pad] Please enter the new PIN again." in rig.feed
        keys(rig, "six five four three two one enter")
        assert "[pad] The two new PINs do not match; 2 tries left. Please enter the new PIN " \
            "again." in rig.feed
        assert "[teller] The two new PINs differed; 2 tries left." in rig.feed
        assert any(isinstance(e, PinMismatch) for e in rig.events)
        keys(rig, "two four six eight zero two enter two four six eight zero two enter")
        rig.finish()
        assert entry.status == "ok" and entry.matched and entry.mismatches == 1
        assert decrypt(entry.pin_block, entry.ksn, "iso4") == "246802"
        said = rig.said()
        assert "Your new PIN is confirmed." in said
        assert said[-1].startswith("You typed the new PIN twice and both entries match.")


def test_pin_change_mismatch_limit_ends_with_status_mismatch(quiet):
    with EntryRig(lang="zh-CN", profile="standard") as rig:
        entry = rig.start(change=True, min_len=4, max_len=4, max_mismatches=2)
        keys(rig, "one one one one enter two two two two enter")
        keys(rig, "three three three three enter four four four four enter")
        rig.finish()
        assert entry.status == "mismatch" and entry.completion is Completion.MISMATCH
        assert not entry.matched and entry.pin_block is None and entry.mismatches == 2
        assert "[teller] 两次输入的新密码不一致；还可以再试0次。" in rig.feed
        assert rig.said()[-1] == "两次输入的新密码两次都不一致，所以密码没有修改。如果想再试一次，请告诉柜员。"


def test_help_after_the_entry_repeats_the_result():
    with EntryRig(lang="en", profile="blind", listen_to_host_text=False) as rig:
        result = rig.guide.announcer.text("entry.result.cancelled")
        heard = []

        def customer(event):
            # hears the result begin, asks for it again with Help, then listens to the end
            if event.get("event") == "say" and event.get("source") == "host":
                if event["text"] == result and not heard:
                    heard.append(1)
                    rig.runner.command("press help")
                else:
                    rig.clock.advance(event["duration"] + 0.01)
                    rig.runner.wake()
        rig.runner.subscribe(customer)
        rig.start(min_len=6, max_len=6)
        rig.press("cancel")
        rig.wait(1.5)                  # "Cancelled." ends, the result begins (3 s long)
        rig.entry.__exit__(None, None, None)            # waits for the result, Help included
        assert rig.said()[-2:] == [result, result]


def test_speech_unit_failed_the_teller_is_told_and_the_entry_goes_on():
    with EntryRig(lang="en", profile="blind") as rig:
        rig.runner.command("pad-fault speech-fail")
        entry = rig.start(min_len=4, max_len=4)
        assert entry.running and host_said(rig) == []
        assert "[teller] " + rig.guide.announcer.text("common.teller_speech_failed") in rig.feed
        keys(rig, "one two three four enter")
        rig.finish()
        assert entry.status == "ok" and entry.speech_failed >= 1
        assert "PIN: ****" in rig.shown()               # the pad still shows what it can
