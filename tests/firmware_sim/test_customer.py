"""The virtual customer perceives only through its senses and acts on what it perceives."""

from __future__ import annotations

import re

import pytest

from drivers import TactilePinPad
from firmware_sim import simulate
from firmware_sim.customer import VirtualCustomer
from protocol.errors import ConfigurationError


@pytest.fixture
def pad_sim():
    with simulate("pinpad") as sim:
        with TactilePinPad.open(f"sim://pinpad?name={sim.name}") as pad:
            yield pad, sim


def test_a_blind_customer_hears_and_acts(pad_sim):
    pad, sim = pad_sim
    with VirtualCustomer(sim, senses={"hear", "feel"}) as customer:
        customer.on("headphones", "headset in")
        pad.speak("Plug your headphones in now.", "en")
        assert customer.wait_actions(1, 5)
        pad.display("only on the screen")
    assert customer.actions_done == ["headset in"]
    assert pad.status().headset
    # then the pad's own HEADSET_IN prompt, in its current language (zh-CN at first start)
    assert customer.heard() == ["Plug your headphones in now.", "已接入耳机，现在声音只从耳机播放。"]
    assert customer.seen() == []


def test_a_deaf_customer_sees_and_feels_but_does_not_hear(pad_sim):
    pad, sim = pad_sim
    with VirtualCustomer(sim, senses={"see", "feel"}) as customer:
        customer.on(re.compile(r"^Press"), "press cancel")
        pad.speak("Press Enter.", "en")          # not heard: no action
        pad.haptic([60, 60, 60])
        pad.display("Press Cancel.")
        assert customer.wait_actions(1, 5)
    assert customer.heard() == []
    assert customer.felt() == ["60,60,60"]
    assert customer.actions_done == ["press cancel"]


def test_a_customer_types_during_entry_only_what_the_prompt_asks(pad_sim):
    pad, sim = pad_sim
    with VirtualCustomer(sim, senses={"hear"}) as customer:
        customer.on("Please enter your PIN", "press 4", "press 3", "press 2", "press 1",
                    "press enter")
        with pad.pin_entry(min_len=4, max_len=4, timeout=20) as entry:
            for _ in entry:
                pass
    assert entry.completion == "enter" and entry.digits == 4


def test_bad_rules_are_refused(pad_sim):
    pad, sim = pad_sim
    customer = VirtualCustomer(sim)
    with pytest.raises(ConfigurationError, match="at least one action"):
        customer.on("x")
    with pytest.raises(ConfigurationError, match="wait SECONDS"):
        customer.on("x", "wait soon")
    with pytest.raises(ConfigurationError, match="fingerprint simulator"):
        customer.on("x", "fingerprint: place 3")
    with pytest.raises(ConfigurationError, match="senses"):
        VirtualCustomer(sim, senses={"smell"})


def test_failed_actions_are_recorded(pad_sim):
    pad, sim = pad_sim
    with VirtualCustomer(sim) as customer:
        customer.do("press nonsense")
        assert customer.wait_actions(1, 5)
    assert customer.errors and "press nonsense" in customer.errors[0]
