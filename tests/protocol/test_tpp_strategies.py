"""Hypothesis strategies for every TPP message (imported by the other test_tpp_* files), and
the test that they cover every message class the protocol defines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.layout import LAYOUT_NAMES, get_layout
from protocol.pinblock import PinBlockFormat
from protocol.tpp import messages as m
from protocol.tpp.codes import (
    KEY_CODES,
    BeepPolicy,
    Capability,
    EntryEnd,
    Extender,
    KeyKind,
    KeyStatus,
    LoadKind,
    MessageType,
    ResetReason,
    ResultCode,
    SpeechEnd,
    State,
    TamperCause,
    Tone,
    Version,
)
from protocol.tpp.schema import decode_message, encode_message

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
versions = st.builds(Version, u8, u8)
langs = st.one_of(st.sampled_from(["en", "zh-CN"]), st.text(max_size=4))
str8 = st.text(max_size=60)
str16 = st.text(max_size=200)
key_names = st.sampled_from(sorted(KEY_CODES))
prompt_args = st.lists(st.integers(0, 999), max_size=4).map(tuple)
active_keys = st.lists(st.builds(m.ActiveKey, key_names, st.booleans()), max_size=20).map(tuple)
formats = st.sampled_from(list(PinBlockFormat))
layouts = st.sampled_from(LAYOUT_NAMES).map(lambda n: m.KeyLayout.from_layout(get_layout(n)))


def _entry_kwargs() -> dict:
    return dict(min_len=u8, max_len=u8, auto_end=st.booleans(), time_limit=u16, prompt=u8,
                prompt_args=prompt_args, lang=langs, beep=st.sampled_from(BeepPolicy),
                active_keys=active_keys)


REQUESTS: dict[type, st.SearchStrategy] = {
    m.Hello: st.builds(m.Hello, versions, versions, u32, str8),
    m.GetInfo: st.just(m.GetInfo()),
    m.GetLayout: st.just(m.GetLayout()),
    m.GetStatus: st.just(m.GetStatus()),
    m.Reset: st.just(m.Reset()),
    m.ExploreStart: st.builds(m.ExploreStart, langs),
    m.SetLanguage: st.builds(m.SetLanguage, langs),
    m.ExploreStop: st.just(m.ExploreStop()),
    m.PinEntry: st.builds(m.PinEntry, **_entry_kwargs()),
    m.PinChange: st.builds(m.PinChange, **_entry_kwargs(), max_mismatches=u8),
    m.CancelEntry: st.just(m.CancelEntry()),
    m.ExtendTime: st.builds(m.ExtendTime, u16),
    m.GetPinBlock: st.builds(m.GetPinBlock, formats, st.text("0123456789", max_size=19), u8),
    m.LoadKey: st.builds(m.LoadKey, st.integers(1, 255), st.sampled_from(LoadKind),
                         st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
                         st.sampled_from([0, 8, 10]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
                         st.sampled_from([b"", b"\x01\x02\x03"])),
    m.GetKeyInfo: st.builds(m.GetKeyInfo, st.integers(1, 255)),
    m.DeleteKey: st.builds(m.DeleteKey, st.integers(1, 255)),
    m.Speak: st.builds(m.Speak, str16, langs, u16, u16, st.booleans(), st.booleans()),
    m.SpeakPrompt: st.builds(m.SpeakPrompt, u8, langs, prompt_args, st.booleans(), st.booleans()),
    m.StopSpeech: st.just(m.StopSpeech()),
    m.PlayTone: st.builds(m.PlayTone, st.sampled_from(Tone), u16, u16, u16),
    m.KeypressBeep: st.builds(m.KeypressBeep, st.booleans(), st.booleans()),
    m.SetVolume: st.builds(m.SetVolume, u16, u16),
    m.SetFeedback: st.builds(m.SetFeedback, st.booleans(), st.booleans(), st.booleans(),
                             st.booleans(), st.booleans()),
    m.Display: st.builds(m.Display, str16, st.booleans()),
    m.Haptic: st.builds(m.Haptic, st.lists(st.integers(1, 2000), min_size=1, max_size=16).map(tuple)),
}

RESPONSES: dict[type, st.SearchStrategy] = {
    m.Done: st.builds(m.Done, st.sampled_from(sorted(m.DONE_REQUESTS))),
    m.Refused: st.builds(m.Refused, st.sampled_from(sorted(m.REQUEST_CLASSES)),
                         st.sampled_from([c for c in ResultCode if c != ResultCode.OK])),
    m.HelloReply: st.builds(m.HelloReply, versions, st.integers(256, 1024), u32,
                            st.sampled_from(State)),
    m.DeviceInfo: st.builds(
        m.DeviceInfo, str8, str8, str8, str8, versions, versions,
        st.integers(0, 0x3FF).map(Capability), st.lists(langs, max_size=4).map(tuple), u8, u8,
        st.lists(formats, max_size=5).map(tuple),
        st.lists(st.builds(m.KeySlot, st.integers(1, 255), st.sampled_from(KeyKind), str8),
                 max_size=4).map(tuple),
        u16, st.lists(u8, max_size=30).map(tuple)),
    m.KeyLayout: layouts,
    m.DeviceStatus: st.builds(m.DeviceStatus, st.sampled_from(State), st.booleans(),
                              st.booleans(), u16, u16, langs, u8, u8, u16, st.booleans(), u16,
                              st.booleans(), st.booleans()),
    m.PinBlockReply: st.builds(
        m.PinBlockReply, formats, u8,
        st.sampled_from([8, 16]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
        st.sampled_from([0, 10, 12]).flatmap(lambda n: st.binary(min_size=n, max_size=n))),
    m.KeyLoaded: st.builds(m.KeyLoaded, u8, st.binary(min_size=3, max_size=3)),
    m.KeyInfo: st.builds(m.KeyInfo, u8, st.sampled_from(KeyKind), st.sampled_from([b"", b"abc"]),
                         st.sampled_from([0, 10, 12]).flatmap(
                             lambda n: st.binary(min_size=n, max_size=n))),
    m.SpeechQueued: st.builds(m.SpeechQueued, u16),
    m.TimeLeft: st.builds(m.TimeLeft, u16),
}

EVENTS: dict[type, st.SearchStrategy] = {
    m.PowerOn: st.builds(m.PowerOn, u32, st.sampled_from(ResetReason), versions),
    m.Tamper: st.builds(m.Tamper, st.sampled_from(TamperCause)),
    m.HeadsetChanged: st.builds(m.HeadsetChanged, st.booleans()),
    m.SpeechEnded: st.builds(m.SpeechEnded, u16, st.sampled_from(SpeechEnd)),
    m.KeyPressed: st.builds(m.KeyPressed, key_names, u8, st.sampled_from(KeyStatus)),
    m.EntryReady: st.builds(m.EntryReady, st.integers(1, 2), u16),
    m.DigitEntered: st.builds(m.DigitEntered, st.integers(0, 12), st.booleans()),
    m.PinEntryCompleted: st.builds(m.PinEntryCompleted, st.sampled_from(EntryEnd),
                                   st.integers(0, 12), st.one_of(st.none(), key_names)),
    m.PinChangeCompleted: st.builds(m.PinChangeCompleted, st.sampled_from(EntryEnd),
                                    st.integers(0, 12), st.one_of(st.none(), key_names)),
    m.PinChangeMismatch: st.builds(m.PinChangeMismatch, u8),
    m.TimeWarning: st.builds(m.TimeWarning, u16),
    m.TimeExtended: st.builds(m.TimeExtended, u16, st.sampled_from(Extender)),
}

ALL = {**REQUESTS, **RESPONSES, **EVENTS}


def request_type_for(message: m.Message, draw_index: int = 0) -> int | None:
    """The request type a response answers (first listed for SpeechQueued)."""
    if isinstance(message, (m.Done, m.Refused)):
        return int(message.request_type)
    if isinstance(message, m.Response):
        return int(type(message).REQUESTS[draw_index % len(type(message).REQUESTS)])
    return None


any_message = st.one_of(*ALL.values())
any_request = st.one_of(*REQUESTS.values())
any_event = st.one_of(*EVENTS.values())


def test_strategies_cover_every_message_class():
    defined = (set(m.REQUEST_CLASSES.values()) | set(m.RESPONSE_CLASSES.values())
               | set(m.EVENT_CLASSES.values()) | {m.Done, m.Refused})
    assert defined == set(ALL)
    assert {t for t in MessageType if t.is_request} == set(m.REQUEST_CLASSES)
    assert {t for t in MessageType if t.is_event} == set(m.EVENT_CLASSES)


@settings(max_examples=60)
@given(any_message)
def test_strategies_produce_encodable_messages(message):
    type_byte, payload = encode_message(message, request_type_for(message))
    assert decode_message(type_byte, payload) == message
