"""pad.listen(): function keys, speech endings and headset changes of an IDLE pad."""

from __future__ import annotations

import pytest

from drivers import TactilePinPad
from drivers.pinpad import (
    HeadsetInserted,
    KeyListener,
    PadRestartedError,
    SpeechEnded,
    pressed_key,
)
from firmware_sim import simulate
from protocol.errors import TactileError


@pytest.fixture
def pad_sim():
    with simulate("pinpad") as sim:
        with TactilePinPad.open(f"sim://pinpad?name={sim.name}") as pad:
            yield pad, sim


def test_function_keys_speech_and_headset_reach_the_listener(pad_sim):
    pad, sim = pad_sim
    with pad.listen() as listener:
        assert isinstance(listener, KeyListener)
        utterance = pad.speak("Press Help to hear this again.", "en")
        sim.command("press help")
        sim.command("press 5")          # a digit in IDLE is never reported
        sim.command("headset in")
        events = list(listener.events(0.5))
    keys = [pressed_key(e) for e in events if pressed_key(e)]
    assert keys == ["help"]
    ends = [e for e in events if isinstance(e, SpeechEnded) and e.utterance == utterance]
    assert ends and ends[0].how == "interrupted-by-key"
    assert any(isinstance(e, HeadsetInserted) for e in events)
    assert not any("five" in repr(e) for e in events)


def test_one_session_at_a_time_and_with_block_required(pad_sim):
    pad, sim = pad_sim
    listener = pad.listen()
    with pytest.raises(TactileError, match="with block"):
        listener.next(0)
    with pad.listen():
        with pytest.raises(TactileError, match="already running"):
            with pad.pin_entry(min_len=4, max_len=4):
                pass
    with pad.pin_entry(min_len=4, max_len=4, timeout=10) as entry:  # free again afterwards
        entry.cancel()


def test_nothing_waiting_returns_none_within_the_timeout(pad_sim):
    pad, _ = pad_sim
    with pad.listen() as listener:
        assert listener.next(0.05) is None
        assert listener.drain() == []


def test_a_restart_while_listening_raises(pad_sim):
    pad, sim = pad_sim
    with pad.listen() as listener:
        sim.command("power-cycle")
        with pytest.raises(PadRestartedError, match="restarted"):
            for _ in range(40):
                listener.next(0.25)
