"""Channels and the announcer, against a simulated pad."""

from __future__ import annotations

import shutil
import subprocess
import wave

import pytest

from drivers import TactilePinPad
from drivers.guidance import (
    Announcement,
    Announcer,
    EspeakChannel,
    Guide,
    PadChannel,
    TellerFeed,
    TranscriptRecorder,
)
from drivers.guidance.channels import HAPTIC_PATTERNS, _chunks
from firmware_sim import simulate
from protocol.errors import ConfigurationError, LocalProtocolError
from protocol.tpp.display import paginate


@pytest.fixture
def pad_and_sim():
    with simulate("pinpad", layout="telephone") as sim:
        seen: list[dict] = []
        sim.subscribe(seen.append)
        with TactilePinPad.open(f"sim://pinpad?name={sim.name}") as pad:
            yield pad, sim, seen


def _said(seen):
    return [e["text"] for e in seen if e.get("event") == "say"]


def _shown(seen):
    return [e for e in seen if e.get("event") == "display"]


def test_say_reaches_pad_speech_display_feed_and_transcript(pad_and_sim):
    pad, sim, seen = pad_and_sim
    lines: list[str] = []
    guide = Guide(pad, lang="en", teller=lines.append)
    guide.say("common.welcome")
    text = guide.announcer.text("common.welcome")
    assert text in _said(seen)
    # the pad shows it laid out for its 20 x 4 display, page by page in step with the speech
    first = paginate(text, 20, 4, False)[0]
    assert any(e["text"] == first for e in _shown(seen))
    assert lines == [f"[guide] {text}"]
    assert guide.transcript.texts() == [text]


def test_deaf_profile_shows_large_text_and_never_speaks(pad_and_sim):
    pad, sim, seen = pad_and_sim
    guide = Guide(pad, lang="zh-CN", profile="deaf")
    item = guide.say("common.controls")
    assert not item.speak and item.large
    assert _said(seen) == []
    first = paginate(item.text, 20, 4, True)[0]
    assert [e["large"] for e in _shown(seen) if e["text"] == first] == [True]


def test_haptics_follow_the_profile(pad_and_sim):
    pad, sim, seen = pad_and_sim
    guide = Guide(pad, profile="standard")
    guide.announcer.cue(haptic="done")
    assert not [e for e in seen if e.get("event") == "haptic"]
    guide.profile = "deaf"
    guide.announcer.cue(haptic="done", tone="success")
    haptics = [e["pattern"] for e in seen if e.get("event") == "haptic"]
    assert haptics == [list(HAPTIC_PATTERNS["done"])]


def test_free_text_is_refused_during_pin_entry_but_prompts_work(pad_and_sim):
    pad, sim, seen = pad_and_sim
    guide = Guide(pad, lang="en")
    with pad.pin_entry(min_len=4, max_len=6, timeout=30) as entry:
        with pytest.raises(LocalProtocolError, match="fixed prompts"):
            guide.say("common.welcome")
        # even a channel called directly refuses free text while the pad is in PIN entry
        with pytest.raises(LocalProtocolError):
            guide.pad_channel.announce(Announcement(text="type 1234", lang="en"))
        guide.announcer.prompt(10, 0)  # DIGITS_ENTERED(0)
        entry.cancel()
    assert "0 digits." in _said(seen)
    assert "type 1234" not in " ".join(_said(seen))


def test_repeat_and_stop(pad_and_sim):
    pad, sim, seen = pad_and_sim
    guide = Guide(pad, lang="en")
    assert guide.repeat() is None
    guide.say("common.controls")
    guide.repeat()
    text = guide.announcer.text("common.controls")
    assert _said(seen).count(text) == 2
    guide.stop_speaking()
    assert any(e.get("event") == "say-stopped" for e in seen)


def test_volume_and_rate_reach_the_pad(pad_and_sim):
    pad, sim, seen = pad_and_sim
    guide = Guide(pad, lang="en")
    guide.set_volume(800)
    guide.set_rate(70)
    status = pad.status()
    assert status.volume == 800 and status.rate == 70
    with pytest.raises(ConfigurationError):
        guide.set_volume(0)
    with pytest.raises(ConfigurationError):
        guide.set_rate(300)


def test_long_text_is_cut_at_sentences_within_the_pad_limit():
    text = "这是一句很长的话。" * 60 + "End."
    pieces = _chunks(text, 900)
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= 900 for p in pieces) and len(pieces) > 1
    assert all(p.endswith("。") for p in pieces[:-1])
    one = "x" * 2000
    assert "".join(_chunks(one, 900)) == one


def test_teller_only_lines_reach_no_customer_channel(pad_and_sim):
    pad, sim, seen = pad_and_sim
    feed, record = TellerFeed(), TranscriptRecorder()
    announcer = Announcer([PadChannel(pad), feed, record], "en", pad=pad)
    announcer.teller("common.teller_waiting")
    assert _said(seen) == [] and _shown(seen) == []
    assert feed.lines == ["[teller] Waiting for the customer at the keypad."]
    assert record.texts() == [] and record.texts(audience="teller")


def test_pad_said_is_recorded_not_repeated(pad_and_sim):
    pad, sim, seen = pad_and_sim
    feed = TellerFeed()
    announcer = Announcer([PadChannel(pad), feed], "zh-CN", pad=pad)
    announcer.pad_said(6, 6)
    assert feed.lines == ["[pad] 密码至少需要6位，请继续输入。"]
    assert _said(seen) == []


def test_espeak_voice_for_mandarin_is_pinyin():
    if not EspeakChannel.available():
        with pytest.raises(ConfigurationError, match="espeak-ng is not installed"):
            EspeakChannel()
        return
    channel = EspeakChannel(rate=80)
    cmd = channel.command(Announcement(text="请输入密码", lang="zh-CN"))
    assert cmd[cmd.index("-v") + 1] == "cmn-latn-pinyin"
    assert int(cmd[cmd.index("-s") + 1]) == 140


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is not installed "
                    "(apt-get install espeak-ng); .ci/run installs it")
@pytest.mark.parametrize("lang, text", [("en", "Please enter your PIN."),
                                        ("zh-CN", "请输入密码，输完按确认键。")])
def test_espeak_renders_speech(tmp_path, lang, text):
    channel = EspeakChannel(wav_dir=str(tmp_path))
    channel.announce(Announcement(text=text, lang=lang))
    with wave.open(channel.files[0]) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert seconds > 0.8  # real speech, not an empty file
    # slower rate, longer speech
    slow = EspeakChannel(wav_dir=str(tmp_path / "slow"), rate=60)
    (tmp_path / "slow").mkdir()
    slow.announce(Announcement(text=text, lang=lang))
    with wave.open(slow.files[0]) as wav:
        assert wav.getnframes() / wav.getframerate() > seconds * 1.3
