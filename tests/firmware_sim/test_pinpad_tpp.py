"""The simulated PIN pad driven through TPP bytes by the protocol's HOST-role connection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pinpad_harness import PadHarness
from protocol import dukpt, pinblock
from protocol.errors import LocalProtocolError
from protocol.layout import get_layout
from protocol.pinblock import PinBlockFormat
from protocol.tpp import (
    ActiveKey,
    BeepPolicy,
    EntryEnd,
    Extender,
    KeyKind,
    KeyStatus,
    LoadKind,
    ResetReason,
    ResultCode,
    SpeechEnd,
    State,
    Tone,
)
from protocol.tpp import messages as m

AES_BDK = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
TDES_BDK = "0123456789ABCDEFFEDCBA9876543210"
PAN = "4012345678909"


def entry(**kw) -> m.PinEntry:
    kw.setdefault("lang", "en")
    return m.PinEntry(**kw)


def test_hello_info_and_power_on_event():
    pad = PadHarness(hello=False)
    power = pad.of(m.PowerOn)
    assert power and power[0].reason is ResetReason.POWER_UP and power[0].boot_count == 1
    refused = pad.request(m.GetLayout())
    assert isinstance(refused, m.Refused) and refused.result is ResultCode.NO_SESSION
    reply = pad.ok(m.Hello(session=5))
    assert reply.mode is State.IDLE and reply.boot_count == 1
    info = pad.ok(m.GetInfo())
    assert info.serial == "TPPSIM-0001" and set(info.languages) == {"zh-CN", "en"}
    assert PinBlockFormat.ISO4 in info.pin_block_formats
    assert {s.slot: s.kind for s in info.key_slots}[1] is KeyKind.AES_DUKPT


@pytest.mark.parametrize("name", ["telephone", "calculator", "pos"])
def test_layout_matches_the_layout_model(name):
    pad = PadHarness(layout=name)
    reply = pad.ok(m.GetLayout())
    assert reply.to_layout() == get_layout(name)
    five = reply.to_layout().key("five")
    assert five.mark.value == "dot"


def test_explore_names_keys_by_position_and_mark():
    pad = PadHarness()
    pad.ok(m.ExploreStart(lang="en"))
    assert pad.stdout("mode")[-1]["mode"] == "explore"
    start = len(pad.received)
    pad.press("5", "enter")
    keys = pad.of(m.KeyPressed, start)
    assert [k.key for k in keys] == ["five", "enter"]
    said = pad.said()
    assert said[-2] == "five, row 2, column 2, with a raised dot"
    assert said[-1] == "Enter, row 3, column 4, green, with a raised circle"
    pad.ok(m.ExploreStop())
    pad.ok(m.ExploreStart(lang="zh-CN"))
    pad.press("5")
    assert pad.said()[-1] == "五，第二排第二个，有凸点。"
    # calculator layout: 7 is on top
    # the "do not enter your PIN" warning comes back every 60 s of explore mode
    start = len(pad.events)
    pad.advance(61)
    assert "请勿输入密码" in pad.said(start)[-1]
    calc = PadHarness(layout="calculator")
    calc.ok(m.ExploreStart(lang="en"))
    calc.press("7")
    assert calc.said()[-1] == "seven, row 1, column 1"


def test_digits_are_masked_clear_backspace_and_max_length():
    pad = PadHarness()
    pad.ok(entry(min_len=4, max_len=4))
    ready = pad.of(m.EntryReady)[-1]
    assert ready.phase == 1 and ready.seconds_left == 90
    start = len(pad.received)
    pad.press("1", "2", "3", "4", "5")
    digits = pad.of(m.DigitEntered, start)
    assert [(d.digits, d.accepted) for d in digits] == [(1, True), (2, True), (3, True), (4, True),
                                                         (4, False)]
    assert not any(isinstance(k, m.KeyPressed) and k.key[0].isdigit() for k in pad.received)
    pad.press("backspace")
    assert pad.of(m.KeyPressed)[-1] == m.KeyPressed("backspace", 3, KeyStatus.ACCEPTED)
    pad.press("clear")
    assert pad.of(m.KeyPressed)[-1].digits == 0
    assert pad.ok(m.GetStatus()).digits == 0
    pad.press("9", "8", "7", "6", "enter")
    done = pad.of(m.PinEntryCompleted)[-1]
    assert done == m.PinEntryCompleted(EntryEnd.ENTER, 4, "enter")
    block = pad.ok(m.GetPinBlock(format=PinBlockFormat.ISO0, customer_data=PAN))
    key = dukpt.tdes_derive_pin_key(TDES_BDK, block.ksn)
    assert pinblock.decipher_pin_block("iso0", key, block.block, PAN) == "9876"


def test_enter_below_min_is_refused_and_the_entry_goes_on():
    pad = PadHarness()
    pad.ok(entry(min_len=6, max_len=6))
    pad.press("1", "2", "3", "enter")
    assert pad.of(m.KeyPressed)[-1] == m.KeyPressed("enter", 3, KeyStatus.TOO_SHORT)
    assert pad.said()[-1] == "The PIN needs at least 6 digits. Please continue."
    assert pad.device.core.mode.value == "pin"
    pad.press("4", "5", "6", "enter")
    assert pad.of(m.PinEntryCompleted)[-1].digits == 6


def test_cancel_auto_end_and_host_cancel():
    pad = PadHarness()
    pad.ok(entry(max_len=4, auto_end=True))
    pad.press("1", "2", "3", "4")
    assert pad.of(m.PinEntryCompleted)[-1].how is EntryEnd.AUTO
    pad.ok(entry())
    pad.press("1", "2", "cancel")
    assert pad.of(m.PinEntryCompleted)[-1] == m.PinEntryCompleted(EntryEnd.CANCEL, 0, "cancel")
    refused = pad.request(m.GetPinBlock(format=PinBlockFormat.ISO0, customer_data=PAN))
    assert refused.result is ResultCode.NO_PIN
    pad.ok(entry())
    pad.press("1")
    pad.ok(m.CancelEntry())
    assert pad.of(m.PinEntryCompleted)[-1].how is EntryEnd.HOST_CANCEL
    assert pad.ok(m.GetStatus()).mode is State.IDLE


def test_inactive_key_and_custom_terminate_keys():
    pad = PadHarness()
    keys = tuple(ActiveKey(d) for d in ("zero", "one", "two", "three", "four", "five", "six",
                                        "seven", "eight", "nine")) + (ActiveKey("enter", True),
                                                                       ActiveKey("help", True))
    pad.ok(entry(active_keys=keys))
    pad.press("1", "cancel")
    assert pad.of(m.KeyPressed)[-1] == m.KeyPressed("cancel", 1, KeyStatus.INACTIVE)
    assert pad.stdout("tone")[-1]["tone"] == "inactive"
    pad.press("help")
    assert pad.of(m.PinEntryCompleted)[-1] == m.PinEntryCompleted(EntryEnd.HELP, 1, "help")


def test_timeout_with_warnings_and_extensions():
    pad = PadHarness()
    pad.ok(entry(time_limit=40))
    pad.press("1")
    pad.advance(10.5)
    assert pad.of(m.TimeWarning)[-1].seconds_left == 30
    assert pad.said()[-1] == "30 seconds left. Press Help for more time."
    pad.advance(20)
    assert [w.seconds_left for w in pad.of(m.TimeWarning)] == [30, 10]
    left = pad.ok(m.ExtendTime(seconds=20))
    assert isinstance(left, m.TimeLeft) and 29 <= left.seconds_left <= 30
    assert pad.of(m.TimeExtended)[-1].by is Extender.HOST
    pad.press("help")  # the customer asks for more time: + the entry's limit
    ext = pad.of(m.TimeExtended)[-1]
    assert ext.by is Extender.CUSTOMER and ext.seconds_left == 40 + 40
    pad.advance(79)
    assert not pad.of(m.PinEntryCompleted)
    pad.advance(2)
    done = pad.of(m.PinEntryCompleted)[-1]
    assert done.how is EntryEnd.TIMEOUT and done.digits == 1
    assert pad.said()[-1] == "Time is up. The entry was cancelled."
    assert pad.device.core._entry is None  # buffer gone (it was wiped, see test_pinpad_core)


def test_help_extensions_are_limited():
    pad = PadHarness()
    pad.ok(entry(time_limit=10))
    for _ in range(3):
        pad.press("help")
    pad.press("help")
    assert pad.of(m.KeyPressed)[-1].status is KeyStatus.NO_MORE_EXTENSIONS


def test_pin_change_match_and_mismatch():
    pad = PadHarness()
    pad.ok(m.PinChange(lang="en", max_mismatches=2))
    assert pad.stdout("mode")[-1]["mode"] == "pin-change"
    pad.press("1", "1", "2", "2", "enter")
    assert pad.of(m.EntryReady)[-1].phase == 2
    assert pad.said()[-1] == "Please enter the new PIN again."
    pad.press("1", "1", "2", "3", "enter")
    assert pad.of(m.PinChangeMismatch)[-1].attempts_left == 1
    assert pad.of(m.EntryReady)[-1].phase == 1
    pad.press("5", "5", "6", "6", "enter", "5", "5", "6", "6", "enter")
    done = pad.of(m.PinChangeCompleted)[-1]
    assert done.matched and done.digits == 4
    reply = pad.ok(m.GetPinBlock(format=PinBlockFormat.ISO4, customer_data="4111111111111111"))
    key = dukpt.aes_derive_pin_key(AES_BDK, reply.ksn)
    assert pinblock.decipher_pin_block("iso4", key, reply.block, "4111111111111111") == "5566"
    pad.ok(m.PinChange(lang="en", max_mismatches=1))
    pad.press("1", "2", "3", "4", "enter", "4", "3", "2", "1", "enter")
    assert pad.of(m.PinChangeMismatch)[-1].attempts_left == 0
    assert pad.of(m.PinChangeCompleted)[-1] == m.PinChangeCompleted(EntryEnd.MISMATCH, 0, None)


def test_pin_change_needs_a_change_prompt_and_entry_a_pin_prompt():
    pad = PadHarness()
    assert pad.request(entry(prompt=4)).result is ResultCode.PROMPT_NOT_ALLOWED
    assert pad.request(m.PinChange(prompt=1)).result is ResultCode.PROMPT_NOT_ALLOWED
    assert pad.request(entry(prompt=15)).result is ResultCode.PROMPT_NOT_ALLOWED
    assert pad.request(m.SpeakPrompt(prompt=1)).result is ResultCode.PROMPT_NOT_ALLOWED


@pytest.mark.parametrize("fmt", ["iso0", "iso1", "iso3", "iso4", "sm4-iso4-like"])
def test_pin_block_decrypts_with_the_published_test_keys(fmt):
    pad = PadHarness()
    pad.ok(entry(max_len=12))
    pad.press("2", "4", "6", "8", "0", "1", "enter")
    f = PinBlockFormat.parse(fmt)
    reply = pad.ok(m.GetPinBlock(format=f, customer_data=PAN))
    if f.cipher == "aes":
        assert reply.slot == 1 and len(reply.ksn) == 12
        assert reply.ksn.hex().upper() == "123456789012345600000001"
        key = dukpt.aes_derive_pin_key(AES_BDK, reply.ksn)
    elif f.cipher == "tdes":
        assert reply.slot == 2 and reply.ksn.hex().upper() == "FFFF9876543210E00001"
        key = dukpt.tdes_derive_pin_key(TDES_BDK, reply.ksn)
    else:
        assert reply.slot == 3 and reply.ksn == b""
        key = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    pan = PAN if f.uses_pan else None
    assert pinblock.decipher_pin_block(f, key, reply.block, pan) == "246801"
    # the PIN is used once
    assert pad.request(m.GetPinBlock(format=f, customer_data=PAN)).result is ResultCode.NO_PIN


def test_published_iso0_vector_and_ksn_persists_across_restarts(tmp_path):
    state = str(tmp_path / "pad.json")
    pad = PadHarness(state=state)
    blocks = []
    for _ in range(2):
        pad.ok(entry())
        pad.press("1", "2", "3", "4", "enter")
        blocks.append(pad.ok(m.GetPinBlock(format=PinBlockFormat.ISO0, customer_data=PAN)))
    assert blocks[0].block.hex().upper() == "1B9C1845EB993A7A"
    assert [b.ksn.hex().upper()[-5:] for b in blocks] == ["00001", "00002"]
    info = pad.ok(m.GetKeyInfo(slot=2))
    assert info.kind is KeyKind.TDES_DUKPT and info.ksn.hex().upper() == "FFFF9876543210E00003"
    saved = Path(state).read_text()
    assert TDES_BDK not in saved and AES_BDK not in saved  # only derived keys are stored
    pad.device.close()
    again = PadHarness(state=state)
    assert again.of(m.PowerOn)[0].boot_count == 2
    again.ok(entry())
    again.press("1", "2", "3", "4", "enter")
    reply = again.ok(m.GetPinBlock(format=PinBlockFormat.ISO0, customer_data=PAN))
    assert reply.ksn.hex().upper() == "FFFF9876543210E00003"
    data = json.loads(saved)
    assert data["keys"]["tdes-dukpt"]["counter"] == 3


def test_rate_limit_per_hour_is_persisted(tmp_path):
    state = str(tmp_path / "pad.json")
    wall = [2_000_000.0]
    pad = PadHarness(state=state, rate_limit=2, wall=wall)
    for _ in range(2):
        pad.ok(entry())
        pad.ok(m.CancelEntry())
    assert pad.ok(m.GetStatus()).entries_left == 0
    again = PadHarness(state=state, rate_limit=2, wall=wall)
    refused = again.request(entry())
    assert refused.result is ResultCode.RATE_LIMITED
    assert again.said()[-1] == "Too many PIN entries. Please try again later."
    wall[0] += 3601
    again.ok(entry())


def test_speak_refused_during_pin_entry_prompts_allowed():
    pad = PadHarness()
    queued = pad.ok(m.Speak(text="Welcome to the bank", lang="en"))
    assert isinstance(queued, m.SpeechQueued)
    pad.ok(entry())
    assert pad.request(m.Speak(text="type your PIN here")).result is \
        ResultCode.NOT_ALLOWED_DURING_PIN
    assert pad.request(m.Display(text="PIN?")).result is ResultCode.NOT_ALLOWED_DURING_PIN
    pad.press("1", "2")
    pad.ok(m.SpeakPrompt(prompt=10, lang="en", args=(2,)))
    assert pad.said()[-1] == "2 digits."
    with pytest.raises(LocalProtocolError):  # prompt arguments are 0..999 on the wire
        pad.host.send(m.SpeakPrompt(prompt=10, lang="en", args=(1234,)))
    assert pad.request(m.PlayTone(tone=Tone.KEY)).result is ResultCode.NOT_ALLOWED_DURING_PIN


def test_speech_rate_volume_queue_interrupt_and_duration():
    pad = PadHarness()
    pad.ok(m.SetVolume(volume=800, rate=150))
    first = pad.ok(m.Speak(text="a" * 150, lang="en"))
    say = pad.stdout("say")[-1]
    assert say["volume"] == 800 and say["rate"] == 1.5 and say["channel"] == "speaker"
    assert say["duration"] == pytest.approx(0.25 + 150 / (15 * 1.5), abs=0.01)
    second = pad.ok(m.Speak(text="queued", lang="en", queue=True))
    pad.advance(say["duration"] + 0.01)
    ended = pad.of(m.SpeechEnded)
    assert ended[0] == m.SpeechEnded(first.utterance_id, SpeechEnd.COMPLETED)
    assert pad.said()[-1] == "queued"
    pad.press("cancel")  # any key press interrupts
    assert pad.of(m.SpeechEnded)[-1] == m.SpeechEnded(second.utterance_id,
                                                      SpeechEnd.INTERRUPTED_BY_KEY)
    pad.ok(m.Speak(text="你好，欢迎光临", lang="zh-CN", interruptible=False))
    assert pad.stdout("say")[-1]["duration"] == pytest.approx(0.25 + 7 / (4.5 * 1.5), abs=0.01)
    pad.press("cancel")
    assert pad.device.core.audio.speaking  # not interruptible by keys
    pad.ok(m.StopSpeech())
    assert pad.of(m.SpeechEnded)[-1].how is SpeechEnd.STOPPED
    pad.ok(m.PlayTone(tone=Tone.CUSTOM, frequency=440, duration=200, volume=300))
    assert pad.stdout("tone")[-1] == {"event": "tone", "tone": "custom", "freq": 440, "ms": 200,
                                      "channel": "speaker", "volume": 300}
    pad.ok(m.Haptic(pattern=(50, 20, 50)))
    assert pad.stdout("haptic")[-1]["pattern"] == [50, 20, 50]
    pad.ok(m.Display(text="Welcome", large=True))
    assert pad.stdout("display")[-1] == {"event": "display", "text": "Welcome", "large": True}
    pad.ok(m.SetVolume())  # defaults
    assert pad.ok(m.GetStatus()).volume == 500


def test_headset_private_audio_and_identical_digit_feedback():
    pad = PadHarness()
    pad.command("headset in")
    assert pad.of(m.HeadsetChanged)[-1].inserted
    audio = pad.stdout("audio")[-1]
    assert audio == {"event": "audio", "channel": "headset", "private": True, "speaker": "muted"}
    pad.ok(entry(beep=BeepPolicy.FOLLOW_SETTING))
    assert pad.stdout("say")[-1]["channel"] == "headset"
    feedback = []
    for digit in "19":
        start = len(pad.events)
        pad.press(digit)
        feedback.append([e for e in pad.events[start:] if e["event"] in ("tone", "haptic")])
    assert feedback[0] == feedback[1] and feedback[0]
    assert all(e.get("channel", "headset") == "headset" for e in feedback[0])
    pad.command("headset out")
    assert not pad.of(m.HeadsetChanged)[-1].inserted
    start = len(pad.events)
    pad.press("5")
    assert [e["channel"] for e in pad.events[start:] if e["event"] == "tone"] == ["speaker"]


def test_beep_policy_private_only_keeps_the_speaker_silent():
    pad = PadHarness()
    pad.ok(entry(beep=BeepPolicy.PRIVATE_ONLY))
    start = len(pad.events)
    pad.press("3")
    assert not [e for e in pad.events[start:] if e["event"] == "tone"]


def test_tamper_locks_erases_keys_and_persists(tmp_path):
    state = str(tmp_path / "pad.json")
    pad = PadHarness(state=state)
    pad.ok(entry())
    pad.press("1", "2")
    pad.command("tamper")
    assert pad.of(m.Tamper)
    assert pad.stdout("mode")[-1]["mode"] == "locked"
    assert json.loads(Path(state).read_text())["keys"] == {}
    assert pad.request(entry()).result is ResultCode.TAMPERED
    assert pad.ok(m.GetKeyInfo(slot=1)).kind is KeyKind.NONE
    again = PadHarness(state=state)
    assert again.ok(m.GetStatus()).mode is State.TAMPERED
    assert again.request(m.GetPinBlock(format=PinBlockFormat.ISO0, customer_data=PAN)).result \
        is ResultCode.TAMPERED
    again.command("service-reset")
    again.ok(m.Hello(session=9))
    again.ok(entry())


def test_reset_and_hello_abort_an_entry():
    pad = PadHarness()
    pad.ok(entry())
    pad.press("1", "2", "3", "4", "enter")
    pad.ok(m.Hello(session=2))  # a new session wipes the held PIN
    assert pad.request(m.GetPinBlock(format=PinBlockFormat.ISO0, customer_data=PAN)).result \
        is ResultCode.NO_PIN
    pad.ok(entry())
    pad.press("7")
    start = len(pad.received)
    pad.ok(m.Reset())
    assert [type(x) for x in pad.since(start)] == [m.Done, m.PowerOn]
    assert pad.of(m.PowerOn)[-1].reason is ResetReason.HOST_RESET
    assert pad.request(entry()).result is ResultCode.NO_SESSION


def test_load_key_kcv_and_delete():
    pad = PadHarness()
    tdes_key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    kcv = dukpt.tdes_kcv(tdes_key)
    bad = pad.request(m.LoadKey(slot=4, kind=LoadKind.TDES_FIXED, key=tdes_key, kcv=b"\0\0\0"))
    assert bad.result is ResultCode.KCV_MISMATCH
    loaded = pad.ok(m.LoadKey(slot=4, kind=LoadKind.TDES_FIXED, key=tdes_key, kcv=kcv))
    assert loaded.kcv == kcv
    wrong = pad.request(m.LoadKey(slot=1, kind=LoadKind.TDES_FIXED, key=tdes_key))
    assert wrong.result is ResultCode.KEY_TYPE_MISMATCH
    pad.ok(entry())
    pad.press("4", "3", "2", "1", "enter")
    reply = pad.ok(m.GetPinBlock(format=PinBlockFormat.ISO0, customer_data=PAN, slot=4))
    assert reply.ksn == b""
    assert pinblock.decipher_pin_block("iso0", tdes_key, reply.block, PAN) == "4321"
    pad.ok(m.DeleteKey(slot=4))
    assert pad.ok(m.GetKeyInfo(slot=4)).kind is KeyKind.NONE
    # a test BDK load derives the IPEK and restarts the counter
    pad.ok(m.LoadKey(slot=2, kind=LoadKind.TDES_DUKPT_BDK_TEST, key=bytes.fromhex(TDES_BDK),
                     ksn=bytes.fromhex("FFFF9876543210E00000")))
    info = pad.ok(m.GetKeyInfo(slot=2))
    assert info.ksn.hex().upper() == "FFFF9876543210E00001"
    assert info.kcv == dukpt.tdes_kcv("6AC292FAA1315B4D858AB3A3D7D5933A")


def test_script_plays_when_the_entry_starts():
    pad = PadHarness()
    reply = pad.command("script press 1; press 2; press 3; press 4; press enter")
    assert reply["ok"] and reply["queued"] == 5
    pad.advance(1.0)
    assert not pad.of(m.DigitEntered)  # waits for an entry mode
    pad.ok(entry())
    pad.advance(0.14)
    assert not pad.of(m.DigitEntered)
    pad.advance(0.7)
    assert pad.of(m.PinEntryCompleted)[-1].digits == 4
    assert all("1" not in e.get("line", "") for e in pad.stdout("script"))


def test_faults_dead_key_speech_fail_no_reply():
    pad = PadHarness()
    pad.command("pad-fault dead-key 5")
    pad.ok(entry())
    pad.press("5", "1")
    assert pad.of(m.DigitEntered)[-1].digits == 1
    pad.command("pad-fault key-stuck 2")
    pad.press("2", "2")
    assert pad.of(m.DigitEntered)[-1].digits == 2  # one press edge, then stuck down
    pad.command("pad-fault key-bounce 3")
    pad.press("3")
    pad.advance(0.2)                                # the bounce 5 ms later is debounced
    assert pad.of(m.DigitEntered)[-1].digits == 3
    assert set(pad.command("pad-fault")["active"]) == {"dead-key", "key-stuck", "key-bounce"}
    pad.command("pad-fault speech-fail")
    pad.ok(m.CancelEntry())
    assert pad.request(m.Speak(text="hello", lang="en")).result is ResultCode.SPEECH_FAILED
    pad.command("pad-fault clear")
    assert pad.command("pad-fault")["active"] == {}
    pad.command("pad-fault no-reply")
    start = len(pad.received)
    pad.device.receive(pad.host.send(m.GetStatus()))
    pad.pump()
    assert pad.host.stats.retransmissions == 0  # acknowledged ...
    assert not pad.of(m.Response, start)  # ... but never answered
    pad.command("pad-fault clear")  # the lost request is never answered late
    status = pad.request(m.GetStatus())
    assert isinstance(status, m.DeviceStatus)
    assert pad.of(m.Response, start) == [status]
    bad = pad.device.command  # unknown commands are refused with a plain message
    with pytest.raises(Exception) as info:
        bad("pad-fault melt")
    assert "unknown pad fault" in str(info.value)


def test_no_ack_fault_makes_the_host_retransmit():
    pad = PadHarness()
    pad.command("pad-fault no-ack")
    data = pad.host.send(m.GetStatus())
    pad.device.receive(data)
    pad.pump()
    assert pad.host.stats.retransmissions == 0
    due = pad.host.next_deadline(pad.t)
    assert due is not None
    again = pad.host.retransmit_due(due)
    assert again  # the host sends the frame again: its ACK never came


def test_unknown_command_and_bad_key_are_configuration_errors():
    from protocol.errors import ConfigurationError
    pad = PadHarness()
    with pytest.raises(ConfigurationError):
        pad.device.command("press eleven")
    with pytest.raises(ConfigurationError):
        pad.device.command("dance")


def test_default_slot_follows_the_spec_rule():
    # SPEC 6.6: slot 0 = the lowest-numbered slot whose kind uses the format's cipher
    from firmware_sim.pinpad.keys import DEFAULT_SLOT, SLOTS
    from protocol.tpp.codes import KeyKind

    cipher_kinds = {"aes": {KeyKind.AES, KeyKind.AES_DUKPT},
                    "tdes": {KeyKind.TDES, KeyKind.TDES_DUKPT}, "sm4": {KeyKind.SM4}}
    for cipher, kinds in cipher_kinds.items():
        assert DEFAULT_SLOT[cipher] == min(s for s, (_, k) in SLOTS.items() if k in kinds)
