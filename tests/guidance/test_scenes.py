"""Whole scenes, as the issue's "done when" puts it: a customer who cannot hear learns the
keypad, changes and enters a PIN and enrolls a finger from text and vibration alone, in either
language.  The customer is a :class:`firmware_sim.customer.VirtualCustomer` that sees and feels
but does not hear, and acts only on the words it reads on the pad's display.

(The blind customer's scene, by ear, is the README's main job ``tactile demo``: run in English by
``.ci/run`` and in Mandarin by tests/tools/test_demo_cli.py.)
"""

from __future__ import annotations

import re

import pytest

from drivers import FingerprintReader, TactilePinPad
from drivers.guidance import Guide
from firmware_sim import simulate
from firmware_sim.customer import VirtualCustomer
from protocol.tpp.codes import HAPTIC_PATTERNS
from perceive import prompt_pattern, read_pattern
from protocol.tpp.prompts import PromptId

PAN = "6222020200112233445"


_read = read_pattern
_prompt = prompt_pattern


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_a_deaf_customer_does_it_all_from_text_and_vibration(lang):
    pin = "583920"
    with simulate("pinpad", time_scale=20) as pad_sim, \
            simulate("fingerprint", model="r503", seed=5) as fp_sim, \
            TactilePinPad.open(f"sim://pinpad?name={pad_sim.name}") as pad, \
            FingerprintReader.open(f"sim://fingerprint?name={fp_sim.name}") as reader:
        feed: list[str] = []
        guide = Guide(pad, lang=lang, profile="deaf", teller=feed.append)
        mode = {"now": "idle"}
        pad_sim.subscribe(lambda e: mode.update(now=e["mode"]) if e.get("event") == "mode"
                          else None)
        customer = VirtualCustomer(pad_sim, fingerprint=fp_sim, senses={"see", "feel"})
        # what the customer reads, and does
        customer.on(_prompt(lang, PromptId.EXPLORE_START), "press 5", "wait 0.2", "press enter",
                    "wait 0.2", "press cancel")
        customer.on(_prompt(lang, PromptId.ENTER_NEW_PIN), *[f"press {d}" for d in pin],
                    "press enter")
        customer.on(_prompt(lang, PromptId.CONFIRM_NEW_PIN), *[f"press {d}" for d in pin],
                    "press enter")
        customer.on(_read(lang, "fingerprint.enroll.place_first", "fingerprint.enroll.place_again"),
                    "fingerprint: place 3 90", repeat=True)
        customer.on(_read(lang, "fingerprint.lift", "fingerprint.enroll.stage_passed"),
                    "fingerprint: lift", repeat=True)
        # a step of the tour or an instruction read to its end: Enter goes on (self-paced)
        customer.on(lambda p: p.kind == "display" and mode["now"] == "idle" and
                    bool(re.search(r"[.。!！]$", p.text)), "press enter", repeat=True)
        with customer:
            tour = guide.tour()
            with guide.pin_change(pan=PAN, min_len=6, max_len=6) as change:
                for _ in change:
                    pass
            template = guide.enroll_finger(reader, captures=2)
        fp_sim.command("lift")
        assert customer.heard() == []                        # nothing depended on hearing
        assert not [e for e in customer.perceived if e.kind == "say"]
        assert tour.explore is not None and tour.explore.keys[:2] == ("five", "enter")
        assert tour.explore.ended == "cancel"
        assert change.status == "ok" and change.pin_block and change.ksn
        assert template is not None
        felt = customer.felt()
        # the pad's own identical pulse per digit (SetFeedback haptics), and the end of each
        # step by its own pattern
        assert felt.count("30") >= 12
        assert ",".join(map(str, HAPTIC_PATTERNS["done"])) in felt
        seen = " ".join(customer.seen())
        assert pin not in seen and pin not in " ".join(feed)
        assert (re.search(r"[\u4e00-\u9fff]", seen) is not None) == (lang == "zh-CN")
