"""The keypad tour and explore mode on a simulated pad, through the public Guide API.

A scripted *customer* listens to the pad (the simulator's events) and acts on what it hears or
sees: at each trigger (an utterance starting, or text shown for a profile without speech) it
takes the next action of its script: ``listen`` (let the utterance play to its end: the pad's
clock moves on by the utterance's duration), ``press KEY``, ``headset``, ``wait`` (do nothing).
The pad runs on that injected clock, so nothing depends on real time and every run is the same.
"""

from __future__ import annotations

import queue
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import pytest

from drivers.guidance import Guide
from drivers.guidance.tour import ExploreResult, TourResult
from drivers.pinpad import TactilePinPad
from pinpad_rig import new_runner
from protocol.errors import LocalProtocolError
from fake_clock import FakeClock
from protocol.tpp.display import read_page


class Customer:
    """Acts on the pad's output, one script action per trigger (see module docstring)."""

    def __init__(self, runner, clock: FakeClock, script=(), *, triggers=("say",)) -> None:
        self.runner = runner
        self.clock = clock
        self.script = list(script)
        self.triggers = set(triggers)
        self.heard: list[dict] = []
        self.heard_all: list[dict] = []
        self.log: list[tuple[str, str]] = []     # (what triggered, the action taken)
        self._events: "queue.Queue[dict | None]" = queue.Queue()
        self._unsubscribe = runner.subscribe(self._events.put)
        self._thread = threading.Thread(target=self._run, name="test-customer", daemon=True)
        self._thread.start()

    def add(self, *actions: str) -> None:
        self._events.put({"event": "_add", "actions": list(actions)})

    def _run(self) -> None:
        while True:
            event = self._events.get()
            if event is None:
                return
            kind = event.get("event")
            if kind == "_add":
                self.script.extend(event["actions"])
                continue
            if kind == "say":
                self.heard.append(event)
            self.heard_all.append(event)
            if kind not in self.triggers:
                continue
            if kind == "display":
                # a person reads a text page by page and acts once, when it begins
                words, page, _ = read_page(event["text"])
                if page != 1:
                    continue
                event = {**event, "text": words}
            action = self.script.pop(0) if self.script else "listen"
            self.log.append((event.get("text", ""), action))
            if action == "listen":
                if kind == "say":
                    self.clock.advance(float(event["duration"]) + 0.01)
                    self.runner.wake()
            elif action.startswith("press "):
                self.runner.command(action)
            elif action == "headset":
                self.runner.command("headset in")
            elif action != "wait":
                raise AssertionError(f"unknown customer action {action!r}")

    def stop(self) -> None:
        self._unsubscribe()
        self._events.put(None)
        self._thread.join(5)


@contextmanager
def counter(*, layout: str = "telephone", lang: str = "en", profile="blind", script=(),
            triggers=("say",)) -> Iterator[tuple[Guide, Customer, list[str]]]:
    clock = FakeClock()
    runner = new_runner(layout, clock=clock, start=False)
    link = runner.loopback()        # attached before power-on: the pad's clock stands still
    runner.start()
    customer = Customer(runner, clock, script, triggers=triggers)
    lines: list[str] = []
    try:
        with TactilePinPad.open(link) as pad:
            yield Guide(pad, lang=lang, profile=profile, teller=lines.append), customer, lines
    finally:
        customer.stop()
        runner.stop()


def _host_said(customer: Customer) -> list[str]:
    return [e["text"] for e in customer.heard if e.get("source") == "host"]


# -- the tour -------------------------------------------------------------------------------------
def test_blind_tour_with_headset_then_explore_five_and_enter():
    # the demo's scene: headset plugged in when offered, the tour heard to the end, then the
    # customer explores the 5 and Enter and leaves with Cancel
    with counter(profile="blind", script=["headset"]) as (guide, customer, lines):
        # after the tour: explore start prompt -> press 5; 5's name -> listen; our addition ->
        # press enter; Enter's name -> listen; addition -> press cancel
        steps = len(guide.keypad_phrases().describe(purpose=True)) + 2   # intro, explore intro
        customer.add("listen", *["listen"] * steps, "press 5", "listen", "press enter",
                     "listen", "press cancel")
        result = guide.tour()
    assert isinstance(result, TourResult)
    assert result.headset == "inserted"
    assert not result.skipped and result.interrupted == 0 and result.repeated == 0
    assert result.completed == len(result.steps)
    assert result.steps[0] == "keypad.tour.intro"
    assert "keypad.shape" in result.steps and "keypad.five.dot" in result.steps
    assert result.steps[-1] == "keypad.tour.explore"
    explore = result.explore
    assert isinstance(explore, ExploreResult)
    assert explore.keys == ("five", "enter", "cancel") and explore.ended == "cancel"
    heard = " | ".join(e["text"] for e in customer.heard)
    # blind: full spatial detail, heard from the pad
    assert "This keypad has fifteen keys in four rows" in heard
    assert "Enter, the green key with a raised circle, at the right end of the third row, " \
           "right of 9" in heard
    assert "Row by row" in heard                          # full: every row
    # explore: the pad names the key itself, the host adds the place
    assert "five, row 2, column 2, with a raised dot" in heard
    assert "5 is in the centre of the digits" in heard
    assert "Enter is at the right end of the third row, right of 9" in heard
    # the headset offer came first; the pad confirmed the headset itself
    assert _host_said(customer)[0].startswith("For private listening, plug a headset")
    # the pad speaks the customer's language from the start (TPP SetLanguage): its own
    # HEADSET_IN is in English, said once, in one term, and the guide does not repeat it
    confirmed = "Headset connected. From now on, sound plays only in the headset."
    assert [e["text"] for e in customer.heard].count(confirmed) == 1
    assert not any("耳机" in e["text"] for e in customer.heard)
    assert f"[pad] {confirmed}" in lines
    # the teller saw every phrase, the pad's own words included
    assert any(line.startswith("[pad] five, row 2, column 2") for line in lines)
    assert any(line.startswith("[guide] Enter is at the right end") for line in lines)
    assert "[pad] Key exploration finished." in lines
    assert any("the customer pressed Cancel after trying 3 keys" in line for line in lines)
    # nothing said in explore is a digit sequence of a PIN: explore names single keys only
    assert result.said[-1] == "Key exploration finished."


def test_help_repeats_a_step_any_key_goes_on_and_cancel_skips():
    with counter(profile="standard", script=["press help", "listen", "press 7",
                                             "press cancel"]) as (guide, customer, lines):
        result = guide.tour(explore=False)
    assert result.repeated == 1                 # Help: the intro again
    assert result.completed == 1                # the intro heard to the end the second time
    assert result.interrupted == 1              # 7 (a digit: not reported, but cut speech)
    assert result.skipped and result.explore is None
    said = _host_said(customer)
    assert said[0] == said[1]                   # the same step twice
    assert said[0].startswith("Here is a short tour of the keypad.")
    assert said[2].startswith("This keypad has fifteen keys")     # step 2, cut by the 7
    assert said[3].startswith("The digits are laid out as on a telephone")  # step 3, Cancel
    assert said[-1] == "Tour skipped."
    assert "[teller] The customer skipped the rest of the keypad tour (Cancel)." in lines


def test_headset_offer_enter_goes_on_without_and_time_up_says_so():
    with counter(profile="blind", script=["press enter", "press cancel"]) as (guide, customer, _):
        result = guide.tour(explore=False)
    assert result.headset == "declined" and result.skipped
    with counter(profile="blind", script=["wait"]) as (guide, customer, _):
        guide.profile = guide.profile.adjust(headset_wait=0.3)
        customer.add("press cancel")
        result = guide.tour(explore=False)
    assert result.headset == "not-found"
    assert "No headset was connected. We will go on with the speaker." in \
        _host_said(customer)
    # the headset already in: no offer at all
    with counter(profile="blind", script=["headset", "press cancel"]) as (guide, customer, _):
        deadline = time.monotonic() + 5
        while not guide.pad.status().headset:
            assert time.monotonic() < deadline
            customer.runner.command("headset in")
            time.sleep(0.05)
        result = guide.tour(explore=False)
    assert result.headset == "already"


def test_mandarin_tour_for_the_ear():
    with counter(lang="zh-CN", profile="blind", script=["headset"]) as (guide, customer, lines):
        customer.add("listen", "listen", "listen", "press cancel")
        result = guide.tour(explore=False)
    said = _host_said(customer)
    assert said[0].startswith("如需私密收听")
    assert said[1].startswith("下面为您介绍一下这个键盘")
    assert said[2].startswith("这个键盘共有十五个键，分成四排；数字键在左边，共三列")
    assert "数字的排法和电话一样" in said[3]
    assert all(e["lang"] == "zh-CN" for e in customer.heard if e.get("source") == "host")
    assert result.skipped


def test_deaf_tour_is_text_only_and_self_paced():
    # no speech: each step is shown; the customer reads and presses Enter for the next one
    with counter(profile="deaf", triggers=("display",),
                 script=["press enter", "press help", "press enter", "press cancel"]) as \
            (guide, customer, lines):
        result = guide.tour(explore=False)
    assert not any(e.get("source") == "host" for e in customer.heard)   # nothing spoken
    shown = [text for text, _ in customer.log]       # the first page of each step shown
    assert "Keypad tour. Press Enter for the next step".startswith(shown[0])
    assert shown[1] == shown[2]                 # Help showed the step again
    assert "This keypad has fifteen keys".startswith(shown[1])
    assert result.repeated == 1 and result.skipped and result.headset is None
    displays = [e for e in customer.heard_all if e.get("event") == "display"]
    assert displays and all(e["large"] for e in displays)      # deaf: large text
    assert all(line.startswith(("[guide]", "[teller]", "[pad]", "[haptic]", "[tone]"))
               for line in lines)


def test_a_failed_speech_unit_is_counted_and_told_to_the_teller():
    with counter(profile="standard", triggers=("display",),
                 script=["press enter", "press cancel"]) as (guide, customer, lines):
        assert customer.runner.command("pad-fault speech-fail")["ok"]
        result = guide.tour(explore=False)
    assert result.speech_failed >= 2 and result.skipped
    assert "[teller] The keypad's speech failed; read the screen text to the customer or call " \
           "a technician." in lines


def test_elderly_hears_an_instruction_again_only_after_a_pause_and_full_detail():
    with counter(profile="elderly", script=["press enter", "listen", "listen", "listen",
                                            "press cancel"]) as (guide, customer, _):
        guide.profile = guide.profile.adjust(repeat_after=0.5)
        result = guide.tour(explore=False)
    said = _host_said(customer)
    # the headset offer (Enter: without), then the intro, heard to its end; nothing pressed
    # for repeat_after seconds: the intro once more, then the tour goes on
    assert said[1] == said[2] and said[1].startswith("Here is a short tour")
    assert result.steps.count("keypad.tour.intro") == 1 and result.repeated == 1
    assert "keypad.rows" in result.steps                  # full spatial detail
    with counter(profile="standard", script=["press cancel"]) as (guide, customer, _):
        standard = guide.tour(explore=False)
    assert "keypad.rows" not in standard.steps
    assert standard.steps.count("keypad.tour.intro") == 1


# -- explore --------------------------------------------------------------------------------------
def test_explore_names_each_key_with_its_place_in_mandarin():
    with counter(lang="zh-CN", profile="standard",
                 script=["press 6", "listen", "press clear", "listen", "press cancel"]) as \
            (guide, customer, lines):
        result = guide.explore()
    assert result.keys == ("six", "clear", "cancel") and result.cancelled
    heard = [e["text"] for e in customer.heard]
    assert "六，第二排第三个。" in heard                                  # the pad's own words
    assert any(t.startswith("这是数字六，") and "数字五的右边" in t for t in heard)
    assert any(t.startswith("这是更正键，在第二排最右边") for t in heard)
    assert "[pad] 取消，第一排第四个，红色，有凸起的叉号。" in lines
    assert "[pad] 按键学习结束。" in lines


def test_explore_confirm_end_needs_cancel_twice():
    with counter(profile="standard", script=["press cancel", "listen", "press cancel"]) as \
            (guide, customer, _):
        result = guide.explore(confirm_end=True)
    assert result.keys == ("cancel", "cancel") and result.cancelled
    assert "Press Cancel again to finish exploring." in _host_said(customer)


def test_explore_warns_then_ends_after_the_time_limit_without_a_key():
    with counter(profile="deaf", triggers=()) as (guide, customer, lines):
        started = time.monotonic()
        result = guide.explore(limit=0.6, warn_before=0.3)
        took = time.monotonic() - started
    assert result.ended == "timeout" and result.warned and result.keys == ()
    assert "Key exploration ends in one second unless you press a key." in result.said
    assert "[haptic] warning" in lines                      # deaf: the warning is felt
    assert any("no key was pressed for 1 s" in line for line in lines)
    assert took < 5


def test_guide_to_enter_from_the_five():
    with counter(profile="blind") as (guide, customer, lines):
        phrase = guide.guide_to("enter")
        deadline = time.monotonic() + 5
        while not customer.heard:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    assert phrase.text.startswith("Put a finger on 5, the key with the raised dot. Then move")
    assert customer.heard[0]["text"] == phrase.text
    assert "[teller] Guiding the customer to Enter." in lines
    assert guide.where_is("0", say=False).text.startswith("0 is in the middle of the bottom row")


def test_no_explore_tour_or_guidance_during_a_pin_entry():
    with counter(profile="blind") as (guide, customer, lines):
        pad = guide.pad
        with pad.pin_entry(min_len=4, max_len=6, pan="4111111111111111", timeout=30) as entry:
            for event in entry:
                break                      # the entry is running
            sent = len(guide.pad_channel.utterances)
            for attempt in (guide.explore, guide.tour, lambda: guide.guide_to("enter"),
                            guide.describe_keypad, lambda: guide.where_is("5")):
                with pytest.raises(LocalProtocolError, match="PIN entry"):
                    attempt()
            assert len(guide.pad_channel.utterances) == sent      # nothing was sent
            entry.cancel()
            for event in entry:
                pass
        # afterwards exploring works again
        customer.add("press cancel")
        assert guide.explore().cancelled


def test_describe_keypad_follows_the_layout_the_pad_reports():
    with counter(layout="pos", profile="low-vision") as (guide, customer, _):
        phrases = guide.describe_keypad(say=False)
        assert guide.pad.layout().name == "pos"
    text = " ".join(p.text for p in phrases)
    assert "Cancel, Clear and Enter are in a row below the digits" in text
    assert "Row by row" not in text                         # low vision: brief


def test_the_teller_can_guide_to_enter_while_the_customer_explores():
    with counter(profile="blind", script=["wait"]) as (guide, customer, lines):
        results: list = []
        explorer = threading.Thread(target=lambda: results.append(guide.explore(limit=5)),
                                    name="test-explore")
        explorer.start()
        try:
            deadline = time.monotonic() + 5
            while guide.pad.state.name != "EXPLORE":
                assert time.monotonic() < deadline, "explore mode never started"
                time.sleep(0.01)
            # the customer presses Enter while hearing the way there, listens to its name
            # and place, and leaves with Cancel
            customer.add("press enter", "listen", "press cancel")
            phrase = guide.guide_to("enter")        # the teller's button, another thread
        finally:
            explorer.join(10)
        assert not explorer.is_alive()
    assert results and results[0].keys == ("enter", "cancel") and results[0].cancelled
    assert phrase.text in [e["text"] for e in customer.heard]
    assert "[teller] Guiding the customer to Enter." in lines
