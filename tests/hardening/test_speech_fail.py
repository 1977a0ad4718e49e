"""`pad-fault speech-fail`: the pad's own prompts fail, and the host hears of it (issue 9).

SPEC 6.4: the pad's own utterances get ids from the same counter as host speech; an utterance
the speech unit cannot say ends at once with ``SpeechEnded(FAILED)``.  The driver's session
counts them (``speech_failed``) and yields the event; ``tactile pin`` keeps its JSON contract
but warns on stderr and exits 1.
"""

from __future__ import annotations

import json

from drivers.pinpad import Completed, Completion, SpeechEnded, TactilePinPad
from pinpad_harness import PadHarness
from pinpad_rig import PAN, decrypt, new_runner
from protocol.tpp import messages as m
from protocol.tpp.codes import SpeechEnd
from tools.cli import main


def test_the_pads_own_prompt_failing_is_a_speech_ended_failed_on_the_wire():
    pad = PadHarness()
    pad.command("pad-fault speech-fail")
    start = len(pad.received)
    pad.ok(m.PinEntry(lang="en"))
    ended = pad.of(m.SpeechEnded, start)
    assert [e.how for e in ended] == [SpeechEnd.FAILED]
    failed = pad.stdout("say-failed")
    assert failed[-1]["id"] == ended[0].utterance_id and failed[-1]["prompt"] == 1
    # host speech is refused instead (it learns from the refusal) and ids stay unique
    pad.command("pad-fault clear")
    pad.ok(m.CancelEntry())
    queued = pad.ok(m.SpeakPrompt(prompt=23, lang="en"))
    assert queued.utterance_id > ended[0].utterance_id


def test_explore_descriptions_failing_reach_the_host_too():
    pad = PadHarness()
    pad.ok(m.ExploreStart(lang="en"))
    pad.command("pad-fault speech-fail")
    start = len(pad.received)
    pad.press("5")                 # interrupts the explore prompt, then fails to describe 5
    assert [e.how for e in pad.of(m.SpeechEnded, start)][-1] is SpeechEnd.FAILED


def test_the_session_reports_failed_speech_and_still_gives_the_block():
    runner = new_runner()
    try:
        runner.command("pad-fault speech-fail")
        with TactilePinPad.open(runner.loopback()) as pad:
            runner.command("script press 4; press 7; press 1; press 1; press enter")
            with pad.pin_entry(pan=PAN, timeout=30) as entry:
                events = list(entry)
            assert entry.speech_failed >= 1
            failed = [e for e in events if isinstance(e, SpeechEnded) and e.failed]
            assert len(failed) == entry.speech_failed and failed[0].how == "failed"
            assert isinstance(events[-1], Completed) and entry.completion is Completion.ENTER
            assert decrypt(entry.pin_block, entry.ksn, "iso4") == "4711"
            runner.command("pad-fault clear")
            runner.command("script press 1; press 2; press 3; press 4; press enter")
            with pad.pin_entry(pan=PAN, timeout=30) as entry:
                list(entry)
            assert entry.speech_failed == 0
    finally:
        runner.stop()


def _pin(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_tactile_pin_warns_and_exits_1_when_the_pads_speech_failed(simulated_pinpad, capsys):
    simulated_pinpad.do("pad-fault speech-fail")
    simulated_pinpad.script("press 1", "press 3", "press 5", "press 7", "press enter")
    code, out, err = _pin(["pin", simulated_pinpad.url, "--pan", PAN, "--json"], capsys)
    result = json.loads(out)
    assert set(result) == {"status", "digits", "format", "pin_block", "ksn"}
    assert result["status"] == "ok" and result["digits"] == 4 and result["pin_block"]
    assert code == 1
    assert "speech" in err and "warning" in err.lower()
    assert "1357" not in out + err

    simulated_pinpad.do("pad-fault clear")
    simulated_pinpad.script("press 1", "press 3", "press 5", "press 7", "press enter")
    code, out, err = _pin(["pin", simulated_pinpad.url, "--pan", PAN, "--json"], capsys)
    assert code == 0 and json.loads(out)["status"] == "ok" and "speech" not in err
