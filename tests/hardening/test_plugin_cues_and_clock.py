"""The pytest plugin's new helpers (issue 9): checked script lines, a scripted finger acting on
cue, and a fast clock so a downstream time-out test does not wait the time-out out."""

from __future__ import annotations

import time

import pytest

from drivers import FingerprintReader
from drivers.pinpad import Completion, TactilePinPad, TimeWarning
from firmware_sim.pytest_plugin import FastClock, SimulatorCommandError
from pinpad_rig import PAN, decrypt


@pytest.mark.parametrize("line", ["pres 1", "press 1x", "headset on", "wait", "wait -1",
                                  "pad-fault melt", "script press 1"])
def test_a_bad_scripted_line_is_refused_at_once(simulated_pinpad, line):
    with pytest.raises(SimulatorCommandError) as info:
        simulated_pinpad.script("press 1", line)
    assert "refused" in str(info.value)
    assert simulated_pinpad.do("status")["script_queued"] == 0   # nothing half-queued


def test_a_bad_line_never_echoes_digits(simulated_pinpad):
    with pytest.raises(SimulatorCommandError) as info:
        simulated_pinpad.script("pres 4711")
    assert "4711" not in str(info.value) and "digits masked" in str(info.value)


@pytest.mark.simulated_pinpad(fast_clock=20)
def test_fast_clock_times_a_pin_entry_out_without_waiting(simulated_pinpad):
    start = time.monotonic()
    with TactilePinPad.open(simulated_pinpad.url) as pad:
        with pad.pin_entry(pan=PAN, timeout=10) as entry:
            events = list(entry)
        took = time.monotonic() - start
        assert entry.completion is Completion.TIMEOUT and entry.pin_block is None
        assert any(isinstance(e, TimeWarning) for e in events)     # warned before it expired
        assert took < 5.0, f"a 10 s limit at 20x took {took:.1f} s"
        # the link still works at normal speed afterwards: a scripted customer, fast too
        simulated_pinpad.script("press 2", "press 4", "press 6", "press 8", "press enter")
        with pad.pin_entry(pan=PAN, timeout=30) as entry:
            list(entry)
        assert decrypt(entry.pin_block, entry.ksn, "iso4") == "2468"
    assert simulated_pinpad.speed == 20


def test_scripted_finger_enrols_and_verifies_on_cue(simulated_fingerprint):
    simulated_fingerprint.follow(finger=3, quality=90, times=2)
    with pytest.raises(SimulatorCommandError):
        simulated_fingerprint.script("plase 3")
    with FingerprintReader.open(simulated_fingerprint.url) as reader:
        template = reader.enroll()
        assert simulated_fingerprint.script_left == 0
        simulated_fingerprint.follow(finger=3)
        assert reader.verify(template).matched
        simulated_fingerprint.follow(finger=4)
        assert not reader.verify(template, attempts=1).matched


@pytest.mark.simulated_fingerprint(fast_clock=10)
def test_fast_clock_for_the_readers_finger_timeout(simulated_fingerprint):
    sim = simulated_fingerprint
    assert isinstance(sim.clock, FastClock) and sim.speed == 10
    start = time.monotonic()
    with FingerprintReader.open(sim.url, clock=sim.clock, sleep=sim.sleep) as reader:
        with pytest.raises(TimeoutError):
            reader.capture(timeout=10.0)                 # nobody places a finger
    took = time.monotonic() - start
    assert took < 5.0, f"a 10 s finger timeout at 10x took {took:.1f} s"
