"""TactilePinPad contract suite: the same driver tests over every attach point (in-process
loopback, sim:// URL, pty, TCP socket://, USB through pyusb with the simulated backend),
against the simulated pad."""

from __future__ import annotations

import pytest

import drivers
from drivers.pinpad import (
    Completed,
    Completion,
    DeviceDisconnectedError,
    DigitAccepted,
    EntryReady,
    HeadsetInserted,
    HeadsetRemoved,
    KeyPressed,
    KeyRejected,
    PadRestarted,
    PadRestartedError,
    PadTamperedError,
    PinMismatch,
    TactilePinPad,
    TamperDetected,
)
from pinpad_rig import (ATTACH_POINTS, PAN, customer, decrypt, new_runner, open_pad,
                        press_script)
from protocol.errors import ConfigurationError, DeviceError, DeviceTimeoutError
from protocol.layout import KeyColour, TactileMark
from protocol.pinblock import PinBlockFormat
from protocol.tpp.codes import ResultCode, State


@pytest.fixture(params=ATTACH_POINTS)
def rig(request, tmp_path):
    runner = new_runner()
    try:
        with open_pad(request.param, runner, tmp_path) as (pad, rig):
            yield pad, rig
    finally:
        runner.stop()


def _kinds(events):
    return [type(e).__name__ for e in events]


def test_exported_from_drivers():
    assert drivers.TactilePinPad is TactilePinPad
    assert "TactilePinPad" in drivers.__all__


def test_info_version_and_layout(rig):
    pad, _ = rig
    assert str(pad.version) == "1.0"
    info = pad.info()
    assert info.model == "TPP-SIM" and info.serial
    assert set(info.languages) >= {"zh-CN", "en"}
    assert PinBlockFormat.ISO4 in info.pin_block_formats
    layout = pad.layout()
    five = layout.key("five")
    assert (five.row, five.column, five.mark) == (1, 1, TactileMark.DOT)
    enter = layout.key("enter")
    assert enter.mark is TactileMark.CIRCLE and enter.colour is KeyColour.GREEN
    assert layout.right_of("three").name == "cancel"          # ECBS: Cancel right of 3
    assert all(0 <= k.x <= 999 and 0 <= k.y <= 999 for k in layout.keys)
    assert pad.state is State.IDLE and pad.connected


@pytest.mark.parametrize("fmt", ["iso4", "iso0", "iso1", "iso3"])
def test_pin_entry_gives_a_block_that_decrypts_to_the_pin(rig, fmt):
    pad, rig_ = rig
    with pad.pin_entry(min_len=6, max_len=6, pan=PAN, block_format=fmt, timeout=30) as entry:
        events = customer(entry, rig_.runner, "246813 enter")
    assert isinstance(events[0], EntryReady)
    counts = [e.count for e in events if isinstance(e, DigitAccepted)]
    assert counts == [1, 2, 3, 4, 5, 6]
    assert events[-1] == Completed(Completion.ENTER, 6)
    assert entry.completion == "enter" and entry.digits == 6
    assert entry.format is PinBlockFormat.parse(fmt)
    assert len(entry.pin_block) == (16 if fmt == "iso4" else 8)
    assert entry.ksn is not None
    assert decrypt(entry.pin_block, entry.ksn, fmt) == "246813"
    assert pad.state is State.IDLE


def test_backspace_clear_and_enter_below_min_len(rig):
    pad, rig_ = rig
    with pad.pin_entry(min_len=4, max_len=8, pan=PAN, timeout=30) as entry:
        events = customer(entry, rig_.runner, "12 enter backspace clear 9876 enter")
    assert KeyRejected("enter", "too-short") in events
    assert KeyPressed("backspace", count=1) in events
    assert KeyPressed("clear", count=0) in events
    assert entry.completion is Completion.ENTER and entry.digits == 4
    assert decrypt(entry.pin_block, entry.ksn, "iso4") == "9876"


def test_max_length_ignores_digits_and_auto_end(rig):
    pad, rig_ = rig
    with pad.pin_entry(min_len=4, max_len=4, pan=PAN, timeout=30) as entry:
        events = customer(entry, rig_.runner, "12345 enter")
    assert KeyRejected("digit", "max-length") in events
    assert decrypt(entry.pin_block, entry.ksn, "iso4") == "1234"

    rig_.runner.command(press_script("4321"))
    with pad.pin_entry(min_len=4, max_len=4, auto_end=True, pan=PAN, timeout=30) as entry:
        pass                                      # leaving the block waits for the end
    assert entry.completion is Completion.AUTO
    assert decrypt(entry.pin_block, entry.ksn, "iso4") == "4321"


def test_customer_cancel_and_host_cancel(rig):
    pad, rig_ = rig
    with pad.pin_entry(pan=PAN, timeout=30) as entry:
        events = customer(entry, rig_.runner, "12 cancel")
    assert isinstance(events[-1], Completed) and events[-1].completion is Completion.CANCEL
    assert entry.pin_block is None and entry.ksn is None

    with pytest.raises(KeyError):
        with pad.pin_entry(pan=PAN, timeout=30) as entry:
            next(iter(entry))                      # EntryReady
            raise KeyError("the teller application failed")
    assert entry.completion is Completion.CANCEL and entry.pin_block is None
    assert pad.state is State.IDLE


def test_pin_change_compares_inside_the_pad(rig):
    pad, rig_ = rig
    with pad.pin_change(min_len=4, max_len=4, pan=PAN, timeout=30) as change:
        events = customer(change, rig_.runner, "1357 enter", "1358 enter", "2468 enter",
                          "2468 enter")
    assert any(isinstance(e, PinMismatch) for e in events)
    assert EntryReady(stage=2) in events
    assert change.matched and change.completion is Completion.ENTER
    assert decrypt(change.pin_block, change.ksn, "iso4") == "2468"


def test_explore_names_every_key(rig):
    pad, rig_ = rig
    with pad.explore(idle_timeout=2.0) as tour:
        rig_.runner.command("press 5")
        rig_.runner.command("press enter")
        seen = []
        for event in tour:
            if isinstance(event, KeyPressed):
                seen.append(event)
            if len(seen) == 2:
                break
    assert [e.name for e in seen] == ["five", "enter"]
    assert seen[0].key.mark is TactileMark.DOT and seen[1].key.colour is KeyColour.GREEN
    assert pad.state is State.IDLE


def test_audio_display_haptics(rig):
    pad, rig_ = rig
    start = len(rig_.runner.device.core.audio.transcript) if hasattr(
        rig_.runner.device.core.audio, "transcript") else 0
    utterance = pad.speak("Welcome to the counter", "en", rate=80, volume=500)
    assert utterance > 0
    assert pad.speak_prompt("help", lang="zh-CN") > 0
    pad.stop_speech()
    pad.play_tone("success")
    pad.play_tone("custom", frequency=880, duration=100)
    pad.keypress_beep(active=True, inactive=False)
    pad.set_volume(600, rate=120)
    pad.display("请稍候", large=True)
    pad.haptic([100, 50, 100])
    texts = [u.text for u in rig_.runner.device.core.audio.transcript[start:]]
    assert "Welcome to the counter" in texts
    status = pad.status()
    assert status.volume == 600 and status.rate == 120
    assert not status.beep_inactive


def test_refusals_are_device_errors_with_code_and_meaning(rig):
    pad, _ = rig
    with pad.pin_entry(pan=PAN, timeout=30) as entry:
        with pytest.raises(DeviceError) as exc:
            pad.speak("no free text during PIN entry")
        assert exc.value.code == ResultCode.NOT_ALLOWED_DURING_PIN
        assert "PIN" in exc.value.meaning
        entry.cancel()
    with pytest.raises(DeviceError) as exc:
        pad.get_pin_block(PAN)                        # nothing held
    assert exc.value.code == ResultCode.NO_PIN
    with pytest.raises(ConfigurationError):
        pad.pin_entry(min_len=3)
    with pytest.raises(ConfigurationError):
        pad.pin_entry(pan="12ab")


def test_extend_time_and_headset_events(rig):
    pad, rig_ = rig
    with pad.pin_entry(pan=PAN, timeout=30) as entry:
        it = iter(entry)
        assert isinstance(next(it), EntryReady)
        assert entry.extend_time(60) >= 60
        rig_.runner.command("headset in")
        rig_.runner.command("headset out")
        got = []
        for event in it:
            if isinstance(event, (HeadsetInserted, HeadsetRemoved)):
                got.append(type(event))
            if len(got) == 2:
                break
        entry.cancel()
    assert got == [HeadsetInserted, HeadsetRemoved]
    assert pad.headset is False
    assert isinstance(pad.next_event(), HeadsetInserted)


def test_load_test_keys_restarts_the_counters(rig):
    pad, rig_ = rig
    kcvs = pad.load_test_keys()
    assert len(kcvs) == 2 and all(len(k) >= 3 for k in kcvs.values())
    with pad.pin_entry(pan=PAN, block_format="iso0", timeout=30) as entry:
        customer(entry, rig_.runner, "8642 enter")
    assert entry.ksn.hex().upper() == "FFFF9876543210E00001"
    assert decrypt(entry.pin_block, entry.ksn, "iso0") == "8642"


def test_unplug_is_noticed_and_reconnect_negotiates_again(rig):
    pad, rig_ = rig
    rig_.runner.command("unplug")
    with pytest.raises(DeviceDisconnectedError) as exc:
        for _ in range(50):                       # the reader notices within its poll time
            pad.status()
    assert "reconnect" in str(exc.value)
    assert not pad.connected
    rig_.runner.command("replug")
    rig_.reconnect(pad)
    assert pad.connected and pad.state is State.IDLE
    with pad.pin_entry(pan=PAN, timeout=30) as entry:
        customer(entry, rig_.runner, "5555 enter")
    assert decrypt(entry.pin_block, entry.ksn, "iso4") == "5555"


def test_unplug_during_entry_ends_the_session_with_a_typed_error(rig):
    pad, rig_ = rig
    with pytest.raises(DeviceDisconnectedError):
        with pad.pin_entry(pan=PAN, timeout=30) as entry:
            for event in entry:
                if isinstance(event, EntryReady):
                    rig_.runner.command("unplug")
    rig_.runner.command("replug")
    rig_.reconnect(pad)
    assert pad.info().model == "TPP-SIM"


def test_a_silent_pad_gives_a_technicians_timeout(rig):
    pad, rig_ = rig
    pad.close()
    pad = rig_.open(timeout=0.5)
    try:
        rig_.runner.command("fault stall 1.5")       # the pad says nothing for 1.5 s
        with pytest.raises(DeviceTimeoutError) as exc:
            pad.status()
        text = str(exc.value)
        assert "no reply from the PIN pad" in text and "Check" in text
        assert pad.transport.description in text
        rig_.runner.command("fault clear")
        assert pad.status().mode is State.IDLE        # the late reply is dropped, not mistaken
    finally:
        pad.close()


def test_line_noise_and_lost_bytes_are_recovered(rig):
    pad, rig_ = rig
    rig_.runner.command("fault garbage 40")
    assert pad.info(refresh=True).model == "TPP-SIM"
    rig_.runner.command("fault drop 5")              # a reply frame loses bytes: retransmitted
    assert pad.status().mode is State.IDLE
    rig_.runner.command("fault drop-in 4")           # our request loses bytes: we retransmit
    assert pad.layout(refresh=True).key("zero").label == "0"


def test_a_pad_restart_during_entry_is_a_typed_error_and_the_next_call_negotiates(rig):
    pad, rig_ = rig
    with pytest.raises(PadRestartedError):
        with pad.pin_entry(pan=PAN, timeout=30) as entry:
            for event in entry:
                if isinstance(event, EntryReady):
                    rig_.runner.command("power-cycle")
    assert entry.pin_block is None
    assert pad.status().mode is State.IDLE           # Hello again first, transparently
    assert isinstance(pad.next_event(), PadRestarted)


def test_tamper_is_a_device_error_and_the_pad_refuses_pins(rig):
    pad, rig_ = rig
    with pytest.raises(PadTamperedError) as exc:
        with pad.pin_entry(pan=PAN, timeout=30) as entry:
            for event in entry:
                if isinstance(event, EntryReady):
                    rig_.runner.command("tamper")
    assert exc.value.code == ResultCode.TAMPERED and "vendor" in str(exc.value)
    assert isinstance(pad.next_event(), TamperDetected)
    with pytest.raises(DeviceError) as refused:
        with pad.pin_entry(pan=PAN, timeout=30):
            pass
    assert refused.value.code == ResultCode.TAMPERED


def test_run_with_a_callback(rig):
    pad, rig_ = rig
    seen = []

    def on_event(event):
        seen.append(event)
        if isinstance(event, EntryReady):
            for key in "2580":
                rig_.runner.command(f"press {key}")
            rig_.runner.command("press enter")

    entry = pad.pin_entry(pan=PAN, timeout=30).run(on_event)
    assert seen[-1] == Completed(Completion.ENTER, 4) and entry.finished
    assert decrypt(entry.pin_block, entry.ksn, "iso4") == "2580"


def test_xfs_active_keys_and_beep_policy(rig):
    pad, rig_ = rig
    digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    active = {**{d: {"terminate": False} for d in digits}, "enter": {"terminate": True}}
    tones = []
    unsubscribe = rig_.runner.subscribe(
        lambda e: tones.append(e) if e.get("event") == "tone" and e.get("tone") == "key" else None)
    try:
        with pad.pin_entry(pan=PAN, timeout=30, active_keys=active, beep="silent") as entry:
            events = customer(entry, rig_.runner, "cancel 4321 enter")
    finally:
        unsubscribe()
    assert KeyRejected("cancel", "inactive") in events       # cancel is not active here
    assert entry.completion is Completion.ENTER
    assert decrypt(entry.pin_block, entry.ksn, "iso4") == "4321"
    assert tones == []                                        # no key tones at all
