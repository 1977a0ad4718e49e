"""The TPP state table and the request rules: properties, check_request, prompt table, and a
random walk in which host and pad must always agree on the pad's mode."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import LocalProtocolError
from protocol.pinblock import PinBlockFormat
from protocol.tpp import messages as m
from protocol.tpp.codes import (
    DIGIT_KEYS,
    PROTOCOL_VERSION,
    EntryEnd,
    LoadKind,
    MessageType,
    ResultCode,
    State,
    Version,
)
from protocol.tpp.connection import (
    ALLOWED,
    REPORTED,
    TRANSITIONS,
    Trigger,
    check_request,
    negotiate_version,
    trigger_of,
)
from protocol.tpp.prompts import LANGUAGES, PROMPTS, PromptId, render_prompt
from test_tpp_connection import Pair
from test_tpp_strategies import EVENTS


def test_every_request_has_an_admission_row():
    assert set(ALLOWED) == set(m.REQUEST_CLASSES)


def test_digit_keys_are_named_only_in_explore():
    rows = {s for (s, t) in TRANSITIONS if t is Trigger.DIGIT_KEY_NAMED}
    assert rows == {State.EXPLORE}
    for digit in DIGIT_KEYS:
        assert trigger_of(m.KeyPressed(digit)) is Trigger.DIGIT_KEY_NAMED
    assert trigger_of(m.KeyPressed("enter")) is Trigger.NAMED_KEY


def test_power_on_tamper_and_audio_in_every_mode():
    for s in State:
        assert TRANSITIONS[s, Trigger.POWER_ON] is State.STARTING
        assert TRANSITIONS[s, Trigger.TAMPER] is State.TAMPERED
        assert TRANSITIONS[s, Trigger.AUDIO_EVENT] is s
        assert TRANSITIONS[s, Trigger.HELLO_REPLY] is REPORTED


def test_mode_changing_requests_agree_with_admission():
    done_triggers = {MessageType.EXPLORE_START: Trigger.EXPLORE_STARTED,
                     MessageType.EXPLORE_STOP: Trigger.EXPLORE_STOPPED,
                     MessageType.PIN_ENTRY: Trigger.PIN_ENTRY_STARTED,
                     MessageType.PIN_CHANGE: Trigger.PIN_CHANGE_STARTED,
                     MessageType.CANCEL_ENTRY: Trigger.CANCEL_DONE,
                     MessageType.RESET: Trigger.RESET_DONE}
    for request, trigger in done_triggers.items():
        assert trigger_of(m.Done(request)) is trigger
        states = {s for (s, t) in TRANSITIONS if t is trigger}
        assert states == ALLOWED[request], request


def test_pin_modes_end_only_by_completion_power_tamper_or_session():
    for mode in (State.PIN_ENTRY, State.PIN_CHANGE):
        exits = {t for (s, t), target in TRANSITIONS.items() if s is mode and target is not mode}
        assert exits == {Trigger.HELLO_REPLY, Trigger.STATUS_REPLY, Trigger.RESET_DONE,
                         Trigger.POWER_ON, Trigger.TAMPER,
                         Trigger.PIN_ENTRY_COMPLETED if mode is State.PIN_ENTRY
                         else Trigger.PIN_CHANGE_COMPLETED}


def test_free_text_refused_during_pin_entry():
    for mode in (State.PIN_ENTRY, State.PIN_CHANGE):
        assert check_request(mode, m.Speak("hello")) is ResultCode.NOT_ALLOWED_DURING_PIN
        assert check_request(mode, m.Display("hello")) is ResultCode.NOT_ALLOWED_DURING_PIN
        assert check_request(mode, m.SpeakPrompt(PromptId.DIGITS_ENTERED, args=(3,))) \
            is ResultCode.OK
    assert check_request(State.IDLE, m.Speak("hello")) is ResultCode.OK
    assert check_request(State.EXPLORE, m.Speak("five, row 2")) is ResultCode.OK


@pytest.mark.parametrize("request_,code", [
    (m.PinEntry(), ResultCode.OK),
    (m.PinEntry(min_len=3), ResultCode.BAD_PARAMETER),
    (m.PinEntry(min_len=8, max_len=6), ResultCode.BAD_PARAMETER),
    (m.PinEntry(max_len=13), ResultCode.BAD_PARAMETER),
    (m.PinEntry(time_limit=5), ResultCode.BAD_PARAMETER),
    (m.PinEntry(time_limit=601), ResultCode.BAD_PARAMETER),
    (m.PinEntry(prompt=200), ResultCode.UNKNOWN_PROMPT),
    (m.PinEntry(prompt=PromptId.PLEASE_WAIT), ResultCode.PROMPT_NOT_ALLOWED),
    (m.PinEntry(prompt=PromptId.ENTER_NEW_PIN), ResultCode.PROMPT_NOT_ALLOWED),
    (m.PinEntry(prompt=PromptId.ENTER_PIN_DIGITS), ResultCode.BAD_PARAMETER),
    (m.PinEntry(prompt=PromptId.ENTER_PIN_DIGITS, prompt_args=(6,)), ResultCode.OK),
    (m.PinEntry(lang="fr"), ResultCode.UNSUPPORTED_LANGUAGE),
    (m.PinEntry(active_keys=m.DEFAULT_ACTIVE_KEYS[1:]), ResultCode.BAD_PARAMETER),
    (m.PinEntry(active_keys=(m.ActiveKey("zero", True), *m.DEFAULT_ACTIVE_KEYS[1:])),
     ResultCode.BAD_PARAMETER),
    (m.PinEntry(active_keys=m.DEFAULT_ACTIVE_KEYS[:10]), ResultCode.BAD_PARAMETER),
    (m.PinEntry(active_keys=m.DEFAULT_ACTIVE_KEYS[:10], auto_end=True), ResultCode.OK),
    (m.PinEntry(active_keys=m.DEFAULT_ACTIVE_KEYS + m.DEFAULT_ACTIVE_KEYS[:1]),
     ResultCode.BAD_PARAMETER),
    (m.PinChange(), ResultCode.OK),
    (m.PinChange(prompt=PromptId.ENTER_PIN), ResultCode.PROMPT_NOT_ALLOWED),
    (m.PinChange(max_mismatches=0), ResultCode.BAD_PARAMETER),
    (m.SpeakPrompt(PromptId.ENTER_PIN), ResultCode.PROMPT_NOT_ALLOWED),
    (m.SpeakPrompt(PromptId.TIME_WARNING), ResultCode.BAD_PARAMETER),
    (m.SpeakPrompt(PromptId.TIME_WARNING, args=(30,)), ResultCode.OK),
    (m.SpeakPrompt(99), ResultCode.UNKNOWN_PROMPT),
    (m.Speak("   "), ResultCode.BAD_PARAMETER),
    (m.Speak("hi", rate=20), ResultCode.BAD_PARAMETER),
    (m.Speak("hi", volume=1001), ResultCode.BAD_PARAMETER),
    (m.Speak("你好", lang="zh-CN", rate=80, volume=700), ResultCode.OK),
    (m.PlayTone(m.Tone.CUSTOM, 50, 100), ResultCode.BAD_PARAMETER),
    (m.PlayTone(m.Tone.CUSTOM, 440, 100), ResultCode.OK),
    (m.PlayTone(m.Tone.ERROR, 440, 100), ResultCode.BAD_PARAMETER),
    (m.SetVolume(0, 0), ResultCode.OK),
    (m.SetVolume(1200, 0), ResultCode.BAD_PARAMETER),
    (m.GetPinBlock(PinBlockFormat.ISO4, "4111111111111111"), ResultCode.OK),
    (m.GetPinBlock(PinBlockFormat.ISO4, ""), ResultCode.BAD_CUSTOMER_DATA),
    (m.GetPinBlock(PinBlockFormat.ISO0, "41111"), ResultCode.BAD_CUSTOMER_DATA),
    (m.GetPinBlock(PinBlockFormat.ISO1, ""), ResultCode.OK),
    (m.LoadKey(1, LoadKind.TDES_DUKPT_IPEK, bytes(16), bytes(10)), ResultCode.OK),
    (m.LoadKey(1, LoadKind.TDES_DUKPT_IPEK, bytes(16), bytes(8)), ResultCode.BAD_PARAMETER),
    (m.LoadKey(1, LoadKind.SM4_FIXED, bytes(24)), ResultCode.BAD_PARAMETER),
    (m.ExtendTime(0), ResultCode.BAD_PARAMETER),
    (m.Hello(min_version=Version(2, 0), max_version=Version(2, 1)),
     ResultCode.UNSUPPORTED_VERSION),
    (m.Hello(min_version=Version(1, 1), max_version=Version(1, 0)), ResultCode.BAD_PARAMETER),
])
def test_check_request_parameters(request_, code):
    state = State.PIN_ENTRY if isinstance(request_, (m.ExtendTime,)) else State.IDLE
    assert check_request(state, request_) is code


def test_mode_refusal_codes():
    assert check_request(State.STARTING, m.PinEntry()) is ResultCode.NO_SESSION
    assert check_request(State.TAMPERED, m.GetPinBlock()) is ResultCode.TAMPERED
    assert check_request(State.EXPLORE, m.PinEntry()) is ResultCode.NOT_ALLOWED_IN_MODE
    assert check_request(State.PIN_ENTRY, m.GetPinBlock()) is ResultCode.NO_PIN
    assert check_request(State.PIN_ENTRY, m.LoadKey(1, LoadKind.AES_FIXED, bytes(16))) \
        is ResultCode.NOT_ALLOWED_DURING_PIN
    assert check_request(State.TAMPERED, m.Hello()) is ResultCode.OK


def test_version_negotiation_picks_the_highest_common():
    hello = m.Hello(min_version=Version(1, 0), max_version=Version(1, 5))
    assert negotiate_version(hello, Version(1, 0), Version(1, 2)) == Version(1, 2)
    assert negotiate_version(hello) == PROTOCOL_VERSION
    assert negotiate_version(m.Hello(min_version=Version(0, 1), max_version=Version(0, 9))) is None


def test_prompt_table():
    assert set(LANGUAGES) == {"zh-CN", "en"}
    for p in PROMPTS.values():
        assert p.zh.count("{") == p.en.count("{"), p.name
        assert p.zh.strip() and p.en.strip()
        if p.starts_entry or p.starts_change:
            assert p.asks_for_pin
    assert any(p.starts_entry for p in PROMPTS.values())
    assert any(p.starts_change for p in PROMPTS.values())
    assert render_prompt(PromptId.TIME_WARNING, "en", (30,)).startswith("30 seconds left")
    assert "30" in render_prompt(PromptId.TIME_WARNING, "zh-CN", (30,))
    with pytest.raises(ValueError):
        render_prompt(PromptId.TIME_WARNING, "en", (1000,))  # could carry a 4-digit PIN
    with pytest.raises(ValueError):
        render_prompt(PromptId.ENTER_PIN, "fr")
    with pytest.raises(KeyError):
        render_prompt(250, "en")


# -- random walk: the pad sends whatever the table allows, the host mirrors it -----------------
_pad_messages = st.one_of(
    *(EVENTS[c] for c in (m.KeyPressed, m.EntryReady, m.DigitEntered, m.PinEntryCompleted,
                          m.PinChangeCompleted, m.PinChangeMismatch, m.TimeWarning, m.Tamper,
                          m.HeadsetChanged, m.PowerOn)),
    st.sampled_from([m.GetStatus(), m.ExploreStart(), m.ExploreStop(), m.PinEntry(),
                     m.PinChange(), m.CancelEntry(), m.Hello(), m.Reset(), m.SpeakPrompt(8)]),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_pad_messages, max_size=40))
def test_host_and_pad_always_agree_on_the_mode(steps):
    p = Pair()
    for step in steps:
        if isinstance(step, m.Request):
            req = p.request(step)
            code = p.pad.check_request(req)
            if code is not ResultCode.OK:
                answer: m.Response = m.Refused(req.TYPE, code)
            elif isinstance(req, m.Hello):
                answer = m.HelloReply(PROTOCOL_VERSION, 1024, 1,
                                      State.TAMPERED if p.pad.state is State.TAMPERED
                                      else State.IDLE)
            elif isinstance(req, m.GetStatus):
                answer = m.DeviceStatus(p.pad.state, False, False, 1, 100, "en", 0, 0, 0,
                                        False, 120, True, True)
            elif isinstance(req, m.SpeakPrompt):
                answer = m.SpeechQueued(1)
            else:
                answer = m.Done(req.TYPE)
            before = p.pad.state
            got = p.answer(answer)
            assert got == [answer]
            if isinstance(answer, m.Refused):
                assert p.pad.state is before
        else:
            before = p.pad.state
            try:
                frame = p.pad.send(step)
            except LocalProtocolError:
                assert p.pad.state is before  # a refused send changes nothing
                continue
            assert p.to_host(frame) == [step]
            p.to_host(p.pad.data_to_send())
            if isinstance(step, m.KeyPressed) and step.key in DIGIT_KEYS:
                assert before is State.EXPLORE
            if isinstance(step, m.PinEntryCompleted):
                assert p.pad.state is State.IDLE
        assert p.host.state is p.pad.state
        assert p.host.idle and p.pad.idle


def test_completion_keeps_pin_only_on_enter_or_auto():
    assert {e for e in EntryEnd if e.pin_kept} == {EntryEnd.ENTER, EntryEnd.AUTO}
    assert m.PinChangeCompleted(EntryEnd.AUTO, 6).matched
    assert not m.PinChangeCompleted(EntryEnd.MISMATCH, 0).matched


def test_warning_marks_cover_every_time_limit():
    from protocol.tpp import MAX_TIME_LIMIT, WARN_AT, warning_marks

    assert warning_marks(90) == WARN_AT
    assert warning_marks(30) == (10,)
    assert warning_marks(10) == (5,)
    assert warning_marks(1) == ()
    for limit in range(10, MAX_TIME_LIMIT + 1):       # every limit PinEntry accepts warns
        marks = warning_marks(limit)
        assert marks and all(0 < m < limit for m in marks)


def test_rate_limited_meaning_does_not_claim_a_fixed_limit():
    # a pad may have a lower limit than 120 (DeviceInfo.max_pin_entries_per_hour): the generic
    # meaning a driver shows must not state a number that may be wrong for this pad
    from protocol.tpp.codes import RESULT_MEANINGS, ResultCode

    text = RESULT_MEANINGS[ResultCode.RATE_LIMITED]
    assert "try again later" in text and not any(ch.isdigit() for ch in text)
