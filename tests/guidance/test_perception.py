"""Each profile proven by perception (issue: accessibility as the customer perceives it).

Twice over: a :class:`~firmware_sim.customer.VirtualCustomer` with that profile's senses must
succeed acting only on what it perceives, AND an :class:`~firmware_sim.customer.Observer` with
the senses the customer lacks must find nothing that breaks the profile's promise:

* deaf: not one utterance or tone, on the speaker or in a headset, in any step (the pad's silent
  form, TPP SetFeedback); the explore keys named on the display and felt as a pulse;
* deafblind: nothing to hear and nothing relied on the display: the teller guides the hand,
  the keypad vibrates;
* low vision and elderly: every text shown fits the 20 x 4 display in its type size;
* blind, low vision and elderly: nothing said on the public speaker before the headset offer.

Every profile, in both languages, on every shipped layout.  The pad's own clock runs 20 times
faster (its speech and paging), the customer's reactions are real.
"""

from __future__ import annotations

import re

import pytest

from drivers import TactilePinPad
from drivers.counter import CounterConfig
from drivers.guidance import Guide, profile
from firmware_sim import simulate
from firmware_sim.customer import Observer, VirtualCustomer
from perceive import prompt_pattern, read_pattern
from protocol.layout import LAYOUT_NAMES
from protocol.tpp.codes import HAPTIC_PATTERNS
from protocol.tpp.prompts import PromptId

PAN = "6222020200112233445"
PIN = "4826"
COLUMNS, ROWS = 20, 4                       # the reference pad's display (DeviceInfo)
SENSES = {"blind": {"hear", "feel"}, "low-vision": {"hear", "see", "feel"},
          "deaf": {"see", "feel"}, "deafblind": {"feel"}, "elderly": {"hear", "see", "feel"}}


def _guide(pad, name: str, lang: str, teller) -> Guide:
    quick = profile(name).adjust(headset_wait=4.0, repeat_after=0.5)
    return Guide(pad, lang=lang, profile=quick, teller=teller, counter=CounterConfig())


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize("name", sorted(SENSES))
def test_a_pin_entry_as_each_customer_perceives_it(name, lang, layout):
    with simulate("pinpad", layout=layout, time_scale=20) as sim, \
            TactilePinPad.open(f"sim://pinpad?name={sim.name}") as pad:
        customer = VirtualCustomer(sim, senses=SENSES[name])
        typing = [f"press {d}" for d in PIN] + ["press enter"]
        offer = read_pattern(lang, "common.headset_offer")
        lines: list[str] = []

        def teller(line: str) -> None:
            lines.append(line)
            if name != "deafblind":
                return
            # the teller guides the deafblind customer's hand, as the lines say
            if re.match(r"\[teller\] (Guide the customer's hand|请带客户的手)", line):
                customer.do("press enter")
            elif re.match(r"\[teller\] (PIN entry|密码输入)[:：]", line):
                customer.do(*typing)

        guide = _guide(pad, name, lang, teller)
        if "hear" in customer.senses:
            customer.on(offer, "headset in")                 # offered: plugged in
        if name != "deafblind":
            customer.on(prompt_pattern(lang, PromptId.ENTER_PIN_DIGITS), *typing)
        mode = {"now": "idle"}
        sim.subscribe(lambda e: mode.update(now=e["mode"]) if e.get("event") == "mode"
                      else None)
        if "hear" not in customer.senses and "see" in customer.senses:
            # a reader starts the entry with Enter once the instructions are read
            customer.on(lambda p: p.kind == "display" and mode["now"] == "idle" and
                        bool(re.search(r"[.。]$", p.text)), "press enter", repeat=True)
        observer = Observer.beside(customer)
        everything = Observer(sim)
        with customer, observer, everything, guide:
            with guide.pin_entry(pan=PAN, min_len=4, max_len=4) as entry:
                for _ in entry:
                    pass
        assert entry.status == "ok", (name, lang, layout, lines[-8:])
        assert entry.pin_block and entry.digits == 4
        perceived = [p.text for p in customer.perceived]
        for text in perceived + lines:
            assert PIN not in text.replace(" ", "")
        sounds = everything.sounds()
        if name in ("deaf", "deafblind"):
            # a deaf customer's session fails on any sound: the observer hears none
            assert observer.sounds() == [] and sounds == [], sounds[:3]
            assert customer.heard() == []
            felt = customer.felt()
            key = ",".join(map(str, HAPTIC_PATTERNS["key"]))
            assert felt.count(key) >= 5                      # 4 digits and Enter, identical
            assert ",".join(map(str, HAPTIC_PATTERNS["done"])) in felt
        if name == "deafblind":
            assert customer.seen() == []                     # not relied on: no sight
            assert any("[teller]" in line and ("hand" in line or "手" in line) for line in lines)
        if name in ("low-vision", "elderly", "deaf"):
            # what is shown fits the display, normal or large type, every page
            assert everything.overflowing(COLUMNS, ROWS) == []
            assert all(e.get("large") for e in everything.events if e["event"] == "display")
        if name in ("blind", "low-vision", "elderly"):
            # private audio first: nothing said on the speaker before the headset offer
            leaked = everything.private_before(
                lambda e: e["event"] == "say" and offer.search(e.get("text", "")) is not None)
            assert leaked == [], [e["text"] for e in leaked]
            assert pad.status().headset
            counts = [e for e in sounds if e["event"] == "say" and re.fullmatch(
                r"\d digits?\.|已输入\d位。", e["text"])]
            assert all(e["channel"] == "headset" for e in counts)
        # the next customer starts clean: the counter's language, volume and rate
        status = pad.status()
        assert status.lang == "en" and status.volume == 500 and status.rate == 100


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_a_deaf_customer_explores_the_keypad_in_silence_by_text_and_pulses(lang, layout):
    with simulate("pinpad", layout=layout, time_scale=20) as sim, \
            TactilePinPad.open(f"sim://pinpad?name={sim.name}") as pad:
        customer = VirtualCustomer(sim, senses={"see", "feel"})
        mode = {"now": "idle"}
        sim.subscribe(lambda e: mode.update(now=e["mode"]) if e.get("event") == "mode"
                      else None)
        customer.on(prompt_pattern(lang, PromptId.EXPLORE_START), "press 5", "wait 0.3",
                    "press enter", "wait 0.3", "press cancel")
        customer.on(lambda p: p.kind == "display" and mode["now"] == "idle" and
                    bool(re.search(r"[.。]$", p.text)), "press enter", repeat=True)
        observer = Observer.beside(customer)
        with customer, observer, _guide(pad, "deaf", lang, None) as guide:
            result = guide.tour()
        assert result.explore is not None and result.explore.ended == "cancel"
        assert observer.sounds() == []                      # the key names too are silent
        seen = " ".join(customer.seen())
        five = "五" if lang == "zh-CN" else "five"
        assert five in seen                                  # named on the display
        key = ",".join(map(str, HAPTIC_PATTERNS["key"]))
        assert customer.felt().count(key) >= 3               # felt: 5, Enter, Cancel
        assert observer.overflowing(COLUMNS, ROWS) == []
