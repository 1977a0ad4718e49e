"""PIN pad model core: XFS key semantics, PIN change, time limits, audio, keys (no protocol)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from firmware_sim.pinpad.audio import estimate_duration
from firmware_sim.pinpad.core import EntryRequest, Mode, PadCore, Refusal, RefusalCode
from firmware_sim.pinpad.keys import Keystore
from firmware_sim.pinpad.state import StateStore
from protocol import dukpt, pinblock
from protocol.layout import DIGIT_KEY_NAMES, get_layout

AES_BDK = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
TDES_BDK = "0123456789ABCDEFFEDCBA9876543210"


class Pad:
    """A core with a fake clock and recorded events/notices."""

    def __init__(self, state: str | None = None, *, layout: str = "telephone",
                 rate_limit: int = 120, wall: list[float] | None = None, seed: int = 1) -> None:
        self.t = 0.0
        self.wall = wall if wall is not None else [1_000_000.0]
        self.events: list[tuple[str, dict]] = []
        self.notices: list[tuple[str, dict]] = []
        rng = random.Random(seed)
        self.store = StateStore(state)
        self.core = PadCore(layout=get_layout(layout), store=self.store,
                            keystore=Keystore(self.store, rng.randbytes),
                            emit=lambda n, **f: self.events.append((n, f)),
                            notify=lambda k, **f: self.notices.append((k, f)),
                            now=lambda: self.t, wall_now=lambda: self.wall[0],
                            random_bytes=rng.randbytes, rate_limit=rate_limit)
        self.core.power_on()

    def press(self, *keys: str) -> None:
        for k in keys:
            self.core.press(DIGIT_KEY_NAMES[int(k)] if k.isdigit() else k)

    def advance(self, seconds: float) -> None:
        target = self.t + seconds
        while True:
            nxt = self.core.next_deadline()
            if nxt is None or nxt > target:
                break
            self.t = max(self.t, nxt)
            self.core.tick(self.t)
        self.t = target
        self.core.tick(self.t)

    def kinds(self) -> list[str]:
        return [k for k, _ in self.notices]

    def last(self, kind: str) -> dict:
        return [f for k, f in self.notices if k == kind][-1]

    def said(self) -> list[str]:
        return [f["text"] for n, f in self.events if n == "say"]


def test_digits_are_masked_and_enter_completes():
    pad = Pad()
    pad.core.start_pin_entry(EntryRequest(min_len=4, max_len=6))
    assert pad.core.mode is Mode.PIN
    pad.press("1", "2", "3", "4")
    assert [f["digits"] for k, f in pad.notices if k == "digit"] == [1, 2, 3, 4]
    pad.press("enter")
    assert pad.last("entry-complete") == {"how": "enter", "digits": 4, "key": "enter",
                                         "change": False}
    assert pad.core.mode is Mode.IDLE
    modes = [f["mode"] for n, f in pad.events if n == "mode"]
    assert modes == ["idle", "pin", "idle"]


def test_clear_backspace_and_max_length():
    pad = Pad()
    pad.core.start_pin_entry(EntryRequest(min_len=4, max_len=4))
    pad.press("1", "2", "3", "4", "5")
    assert pad.last("digit") == {"digits": 4, "accepted": False}
    tones = [f["tone"] for n, f in pad.events if n == "tone"]
    assert tones[-1] == "inactive"
    pad.press("backspace")
    assert pad.core.status()["digits"] == 3
    pad.press("6", "clear")
    assert pad.core.status()["digits"] == 0
    pad.press("9", "8", "7", "6", "enter")
    b, ksn, slot = pad.core.pin_block("iso0", "4012345678909")
    assert slot == 2
    key = dukpt.tdes_derive_pin_key(TDES_BDK, ksn)
    assert pinblock.decipher_pin_block("iso0", key, b, "4012345678909") == "9876"


def test_enter_below_min_is_refused_and_entry_continues():
    pad = Pad()
    pad.core.start_pin_entry(EntryRequest(min_len=6, max_len=6))
    pad.press("1", "2", "3", "enter")
    assert pad.core.mode is Mode.PIN
    assert pad.last("key") == {"key": "enter", "digits": 3, "status": "too-short"}
    assert "至少需要6位" in pad.said()[-1]
    pad.press("4", "5", "6", "enter")
    assert pad.last("entry-complete")["digits"] == 6


def test_auto_end_and_cancel():
    pad = Pad()
    pad.core.start_pin_entry(EntryRequest(min_len=4, max_len=4, auto_end=True))
    pad.press("1", "2", "3", "4")
    assert pad.last("entry-complete")["how"] == "auto"
    pad.core.start_pin_entry(EntryRequest())
    pad.press("1", "2", "cancel")
    assert pad.last("entry-complete") == {"how": "cancel", "digits": 0, "key": "cancel",
                                         "change": False}
    with pytest.raises(Refusal) as info:
        pad.core.pin_block("iso0", "4012345678909")
    assert info.value.code is RefusalCode.NO_PIN


def test_inactive_keys_and_terminate_flags():
    pad = Pad()
    active = {**{d: False for d in DIGIT_KEY_NAMES}, "enter": True, "clear": True}
    pad.core.start_pin_entry(EntryRequest(active_keys=active))
    pad.press("1", "cancel")  # cancel not active: inactive tone, nothing else
    assert pad.core.mode is Mode.PIN and pad.core.status()["digits"] == 1
    assert [f["tone"] for n, f in pad.events if n == "tone"][-1] == "inactive"
    pad.press("clear")  # clear is a terminate key here
    assert pad.last("entry-complete")["how"] == "clear"


@pytest.mark.parametrize("lang,expected", [("en", "You now have 65 seconds."),
                                             ("zh-CN", "时间已延长，现在还剩65秒。")])
def test_time_extended_prompt_speaks_the_seconds_left(lang, expected):
    # prompt 9's argument is the time now left (SPEC 6.5), so its text must say "left", not
    # "extended by": 40 s limit, 5 s gone, plus 30 s from the host = 65 s left
    pad = Pad()
    pad.core.start_pin_entry(EntryRequest(timeout=40, lang=lang))
    pad.press("1")
    pad.advance(5)
    pad.core.extend_time(30)
    assert pad.last("time-extended")["seconds_left"] == 65
    assert pad.said()[-1] == expected


def test_timeout_with_warnings_and_extensions():
    pad = Pad()
    pad.core.start_pin_entry(EntryRequest(timeout=40))
    pad.press("1")
    pad.advance(10.5)
    assert pad.last("time-warning") == {"seconds_left": 30}
    pad.advance(20)
    assert [f["seconds_left"] for k, f in pad.notices if k == "time-warning"] == [30, 10]
    pad.press("help")  # the customer asks for more time
    assert pad.last("time-extended")["by"] == "customer"
    assert pad.core.mode is Mode.PIN
    pad.core.extend_time(20)
    assert pad.last("time-extended")["seconds_left"] == 100
    pad.advance(99)
    assert pad.core.mode is Mode.PIN
    pad.advance(2)
    assert pad.last("entry-complete") == {"how": "timeout", "digits": 1, "key": None,
                                         "change": False}
    assert "输入超时" in pad.said()[-1]


def test_pin_change_match_and_mismatch():
    pad = Pad()
    pad.core.start_pin_change(EntryRequest(prompt_id=4, max_mismatches=2))
    assert pad.core.mode is Mode.PIN_CHANGE
    pad.press("1", "1", "2", "2", "enter")
    assert pad.last("entry-ready")["phase"] == 2
    pad.press("1", "1", "2", "3", "enter")
    assert pad.last("change-mismatch") == {"attempts_left": 1}
    assert pad.core.status()["phase"] == 1
    assert pad.last("entry-ready")["phase"] == 1
    pad.press("5", "5", "6", "6", "enter", "5", "5", "6", "6", "enter")
    assert pad.last("entry-complete") == {"how": "enter", "digits": 4, "key": "enter",
                                         "change": True}
    b, ksn, _ = pad.core.pin_block("iso4", "4111111111111111")
    key = dukpt.aes_derive_pin_key(AES_BDK, ksn)
    assert pinblock.decipher_pin_block("iso4", key, b, "4111111111111111") == "5566"
    pad.core.start_pin_change(EntryRequest(prompt_id=4, max_mismatches=1))
    pad.press("1", "2", "3", "4", "enter", "4", "3", "2", "1", "enter")
    assert pad.last("entry-complete")["how"] == "mismatch"


def test_pin_entry_needs_a_pin_prompt_from_the_table():
    pad = Pad()
    with pytest.raises(Refusal):
        pad.core.start_pin_entry(EntryRequest(prompt_id=15))  # "entry complete" is no PIN prompt
    with pytest.raises(Refusal):
        pad.core.start_pin_entry(EntryRequest(prompt_id=999))
    with pytest.raises(Refusal):
        pad.core.start_pin_change(EntryRequest(prompt_id=1))


def test_speak_refused_during_pin_entry_but_prompts_allowed():
    pad = Pad()
    pad.core.speak("Welcome", "en")
    pad.core.start_pin_entry(EntryRequest())
    with pytest.raises(Refusal) as info:
        pad.core.speak("Say your PIN", "en")
    assert info.value.code is RefusalCode.NOT_ALLOWED_DURING_PIN
    with pytest.raises(Refusal):
        pad.core.display("type here", False)
    pad.core.speak_prompt(10, (2,), "en")
    assert pad.said()[-1] == "2 digits."
    with pytest.raises(Refusal):
        pad.core.speak_prompt(10, (1234,), "en")  # arguments are 0..999


def test_key_press_interrupts_speech_and_duration_model():
    pad = Pad()
    pad.core.speak("x" * 150, "en", rate=1.0)
    assert pad.events[-1][1]["duration"] == pytest.approx(0.25 + 10.0)
    assert estimate_duration("五" * 9, "zh-CN", 2.0) == pytest.approx(0.25 + 1.0)
    pad.t = 1.0
    pad.press("5")
    assert ("say-stopped", {"id": 1, "reason": "key"}) in pad.events


def test_explore_names_keys_with_position_and_mark():
    pad = Pad()
    pad.core.start_explore("en")
    pad.press("5")
    assert pad.said()[-1] == "five, row 2, column 2, with a raised dot"
    assert pad.last("key") == {"key": "five", "digits": 0, "status": "accepted"}
    pad.press("enter")
    assert pad.said()[-1] == "Enter, row 3, column 4, green, with a raised circle"
    with pytest.raises(Refusal):
        pad.core.start_pin_entry(EntryRequest())  # explore must be stopped first
    pad.core.cancel_entry()
    assert pad.core.mode is Mode.IDLE


def test_headset_private_audio_and_digit_feedback_identical():
    pad = Pad()
    pad.core.set_headset(True)
    assert pad.last("headset") == {"inserted": True}
    pad.core.start_pin_entry(EntryRequest())
    start = len(pad.events)
    pad.press("1")
    one = [e for e in pad.events[start:] if e[0] in ("tone", "haptic")]
    start = len(pad.events)
    pad.press("9")
    nine = [e for e in pad.events[start:] if e[0] in ("tone", "haptic")]
    assert one == nine and one
    assert all(f.get("channel", "headset") == "headset" for _, f in one)
    assert not any(f.get("channel") == "speaker" for n, f in pad.events[start:])


def test_rate_limit_is_persisted(tmp_path):
    path = str(tmp_path / "pad.json")
    wall = [5_000.0]
    pad = Pad(path, rate_limit=2, wall=wall)
    for _ in range(2):
        pad.core.start_pin_entry(EntryRequest())
        pad.press("cancel")
    pad2 = Pad(path, rate_limit=2, wall=wall)
    with pytest.raises(Refusal) as info:
        pad2.core.start_pin_entry(EntryRequest())
    assert info.value.code is RefusalCode.RATE_LIMITED
    wall[0] += 3601
    pad2.core.start_pin_entry(EntryRequest())


def test_counter_starts_at_one_and_persists(tmp_path):
    path = str(tmp_path / "pad.json")
    pad = Pad(path)
    ksns = []
    for _ in range(2):
        pad.core.start_pin_entry(EntryRequest())
        pad.press("1", "2", "3", "4", "enter")
        ksns.append(pad.core.pin_block("iso0", "4012345678909")[:2])
    assert ksns[0][0].hex().upper() == "1B9C1845EB993A7A"
    assert ksns[0][1].hex().upper() == "FFFF9876543210E00001"
    assert ksns[1][1].hex().upper() == "FFFF9876543210E00002"
    saved = json.loads(Path(path).read_text())
    assert TDES_BDK not in json.dumps(saved) and AES_BDK not in json.dumps(saved)
    pad2 = Pad(path)
    pad2.core.start_pin_entry(EntryRequest())
    pad2.press("1", "2", "3", "4", "enter")
    assert pad2.core.pin_block("iso0", "4012345678909")[1].hex().upper() == "FFFF9876543210E00003"


def test_pin_used_once_and_bad_pan_does_not_consume_it():
    pad = Pad()
    pad.core.start_pin_entry(EntryRequest())
    pad.press("1", "2", "3", "4", "enter")
    with pytest.raises(Refusal) as info:
        pad.core.pin_block("iso0", "12ab")
    assert info.value.code is RefusalCode.BAD_CUSTOMER_DATA
    pad.core.pin_block("iso0", "4012345678909")
    with pytest.raises(Refusal):
        pad.core.pin_block("iso0", "4012345678909")


def test_tamper_locks_and_erases_keys(tmp_path):
    path = str(tmp_path / "pad.json")
    pad = Pad(path)
    pad.core.start_pin_entry(EntryRequest())
    pad.press("1", "2")
    pad.core.tamper()
    assert pad.core.mode is Mode.LOCKED
    assert pad.last("tamper") == {}
    assert json.loads(Path(path).read_text())["keys"] == {}
    pad2 = Pad(path)
    assert pad2.core.mode is Mode.LOCKED
    with pytest.raises(Refusal) as info:
        pad2.core.start_pin_entry(EntryRequest())
    assert info.value.code is RefusalCode.TAMPERED
    pad2.core.service_reset()
    pad2.core.start_pin_entry(EntryRequest())


@pytest.mark.parametrize("ending", ["enter", "cancel", "timeout", "tamper", "power"])
def test_pin_buffer_is_overwritten_not_just_dropped(ending):
    pad = Pad()
    pad.core.start_pin_entry(EntryRequest(timeout=30))
    pad.press("7", "8", "9", "6")
    buffer = pad.core._entry.buffer._data  # the very bytearray that held the digits
    assert bytes(buffer[:4]) == bytes([7, 8, 9, 6])
    if ending in ("enter", "cancel"):
        pad.press(ending)
    elif ending == "timeout":
        pad.advance(31)
    elif ending == "tamper":
        pad.core.tamper()
    else:
        pad.core.power_off()
    assert bytes(buffer) == bytes(len(buffer))
    if ending == "enter":  # the held copy is ciphertext under the session key
        held = pad.core._held[0]
        assert bytes([7, 8, 9, 6]) not in held and b"7896" not in held


def test_own_speech_outside_an_entry_uses_the_current_language():
    # SPEC 6.7: zh-CN at first start; ExploreStart(lang) changes it; entries speak their own lang
    pad = Pad()
    assert pad.core.status()["lang"] == "zh-CN"
    pad.core.set_headset(True)
    assert pad.said()[-1] == "已接入耳机，现在声音只从耳机播放。"
    pad.core.set_headset(False)
    pad.core.start_explore("en")
    pad.core.stop_explore()
    assert pad.said()[-1] == "Key exploration finished."
    assert pad.core.status()["lang"] == "en"
    pad.core.set_headset(True)
    assert pad.said()[-1] == "Headset connected. From now on, sound plays only in the headset."
    pad.core.set_headset(False)
    pad.core.start_pin_entry(EntryRequest(lang="zh-CN"))
    assert pad.said()[-1] == "请输入密码，输完按确认键。"


def test_the_shortest_time_limit_still_warns_before_it_expires():
    # no WARN_AT mark is below a 10 s limit: the pad warns at half of it (SPEC 6.5)
    pad = Pad()
    pad.core.start_pin_entry(EntryRequest(timeout=10, lang="en"))
    pad.advance(4.9)
    assert "time-warning" not in pad.kinds()
    pad.advance(0.2)
    assert pad.last("time-warning") == {"seconds_left": 5}
    assert pad.said()[-1] == "5 seconds left. Press Help for more time."
    pad.advance(5)
    assert pad.last("entry-complete")["how"] == "timeout"


def test_help_repeats_the_instruction_after_the_extension():
    # prompts are repeatable: Help gives more time, then the entry's own instruction again
    pad = Pad()
    pad.core.start_pin_entry(EntryRequest(timeout=40, lang="en", prompt_id=2, prompt_args=(6,)))
    pad.press("1", "help")
    assert pad.said()[-1] == "You now have 80 seconds."
    pad.advance(3)                                   # queued: it starts when prompt 9 ends
    assert pad.said()[-2:] == ["You now have 80 seconds.", "Please enter your 6-digit PIN."]
    assert [f["seconds_left"] for k, f in pad.notices if k == "time-extended"] == [80]
    pad.core.cancel_entry()
    pad.core.start_pin_change(EntryRequest(timeout=40, lang="zh-CN", prompt_id=4))
    pad.press("1", "2", "3", "4", "enter", "help")               # phase 2: the confirm prompt
    pad.advance(6)
    assert pad.said()[-1] == "请再次输入新密码。"
