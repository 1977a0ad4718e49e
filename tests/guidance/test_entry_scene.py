"""The counter scenes of the demo, on a real clock, with a customer who acts ONLY on what it
perceives (firmware_sim.customer.VirtualCustomer): a blind customer changes the PIN (one
mismatch, then success) by following the speech; a deaf customer enters a PIN from the text on
the pad's display and the vibrations alone."""

from __future__ import annotations

from protocol.tpp.codes import HAPTIC_PATTERNS

import re

import pytest

from drivers import TactilePinPad
from drivers.guidance import Guide
from firmware_sim import simulate
from firmware_sim.customer import VirtualCustomer
from pinpad_rig import PAN, decrypt


def typed(pin: str) -> list[str]:
    return [f"press {d}" for d in pin] + ["press enter"]


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_blind_customer_changes_the_pin_by_ear(lang):
    words = {"en": ("Please enter your new PIN, then press Enter.",
                    "Please enter the new PIN again.", "do not match"),
             "zh-CN": ("请输入新密码，输完按确认键。", "请再次输入新密码。", "不一致")}[lang]
    with simulate("pinpad") as sim, TactilePinPad.open(f"sim://pinpad?name={sim.name}") as pad:
        lines: list[str] = []
        guide = Guide(pad, lang=lang, profile="blind", teller=lines.append)
        with VirtualCustomer(sim, senses={"hear", "feel"}) as customer:
            sim.command("headset in")
            # knows the routine: goes on as soon as the instructions begin
            customer.on(re.compile(r"^(You will now choose|现在请设置)"), "press enter")
            customer.on(words[0], *typed("205813"))
            customer.on(words[1], *typed("205831"))          # a slip: the entries differ
            customer.on(words[2], *typed("770415"))
            customer.on(words[1], *typed("770415"))
            # English: leaving the with block waits until the result has been said
            with guide.pin_change(pan=PAN, min_len=6, max_len=6,
                                  wait_result=lang == "en") as entry:
                for _ in entry:
                    pass
            assert customer.errors == []
            heard = customer.heard()
        assert entry.status == "ok" and entry.matched and entry.mismatches == 1
        assert decrypt(entry.pin_block, entry.ksn, "iso4") == "770415"
        if lang == "en":
            assert heard[-1] == guide.announcer.text("entry.result.changed")
        for pin in ("205813", "205831", "770415"):
            assert pin not in " ".join(heard + lines)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_deaf_customer_enters_the_pin_from_text_and_vibration(lang):
    start, ask = {"en": ("Press Enter now to start.", r"^Please enter your 6-digit PIN\.$"),
                  "zh-CN": ("现在请按确认键开始。", r"^请输入6位密码。$")}[lang]
    with simulate("pinpad") as sim, TactilePinPad.open(f"sim://pinpad?name={sim.name}") as pad:
        guide = Guide(pad, lang=lang, profile="deaf")
        with VirtualCustomer(sim, senses={"see", "feel"}) as customer:
            customer.on(start, "press enter")
            customer.on(re.compile(ask), *typed("591046"))
            entry = guide.pin_entry(pan=PAN, min_len=6, max_len=6).run()
            customer.wait_idle(5)
            felt = customer.felt()
            seen = customer.seen()
        assert entry.status == "ok"
        assert decrypt(entry.pin_block, entry.ksn, "iso4") == "591046"
        # the pad's own pulse: identical for the six digits (and Enter), then "done"
        key, done = (",".join(map(str, HAPTIC_PATTERNS[n])) for n in ("key", "done"))
        assert felt.count(key) >= 6 and felt[-1] == done
        assert seen[-1] == guide.announcer.text("entry.result.ok")
        assert customer.heard() == []                             # it cannot hear: not needed
