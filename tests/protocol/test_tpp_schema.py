"""TPP wire format: checksums, frame schema, every message payload (round trip and garbage)."""

from __future__ import annotations

import pytest
from construct import ConstructError
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import LocalProtocolError, RemoteProtocolError
from protocol.layout import get_layout
from protocol.tpp import messages as m
from protocol.tpp.codes import MAX_PAYLOAD, MessageType, ResultCode
from protocol.tpp.schema import (
    FRAME,
    MESSAGE_FRAME,
    PAYLOADS,
    BadMessageError,
    build_frame,
    crc8,
    crc16,
    decode_message,
    encode_message,
)
from test_tpp_strategies import ALL, any_message, request_type_for


def test_crc_check_values():
    # the catalogue check values of the named CRCs (reveng.sourceforge.io)
    assert crc16(b"123456789") == 0x29B1   # CRC-16/CCITT-FALSE (IBM-3740)
    assert crc8(b"123456789") == 0xF4      # CRC-8/SMBUS
    assert crc16(b"") == 0xFFFF and crc8(b"") == 0


def test_frame_layout_byte_by_byte():
    frame = build_frame(0x12, 0x34, 0x8A, b"\x03\x01")
    assert frame[0] == 0xA5
    assert frame[1:3] == b"\x00\x02"
    assert frame[3:6] == b"\x12\x34\x8A"
    assert frame[6] == crc8(frame[1:6])
    assert frame[7:9] == b"\x03\x01"
    assert int.from_bytes(frame[9:], "big") == crc16(frame[1:9])
    parsed = FRAME.parse(frame)
    assert (parsed.seq, parsed.ref, parsed.type, parsed.payload) == (0x12, 0x34, 0x8A, b"\x03\x01")


def test_frame_rejects_oversize_and_bad_checks():
    with pytest.raises(LocalProtocolError):
        build_frame(0, 0, 1, bytes(MAX_PAYLOAD + 1))
    assert len(build_frame(0, 0, 0x18, bytes(MAX_PAYLOAD))) == MAX_PAYLOAD + 9
    good = build_frame(1, 0, 2, b"")
    for i in range(1, len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x40
        with pytest.raises(ConstructError):
            FRAME.parse(bytes(bad))
    with pytest.raises(ConstructError):
        FRAME.parse(good + b"\x00")  # Terminated


@settings(max_examples=200)
@given(any_message, st.data())
def test_every_message_round_trips(message, data):
    rtype = request_type_for(message, data.draw(st.integers(0, 1)))
    type_byte, payload = encode_message(message, rtype)
    assert decode_message(type_byte, payload) == message
    frame = build_frame(7, 9, type_byte, payload)
    assert MESSAGE_FRAME.parse(frame).message == message


@settings(max_examples=300)
@given(st.sampled_from(sorted(PAYLOADS)), st.binary(max_size=80))
def test_garbage_payloads_raise_only_bad_message(type_byte, payload):
    try:
        decoded = decode_message(type_byte, payload)
    except BadMessageError as exc:
        assert isinstance(exc, RemoteProtocolError)
        assert exc.message_type == type_byte
        return
    # whatever parses must re-encode to exactly the same bytes (strict, canonical schemas)
    if type_byte == MessageType.ACK:
        return
    rtype = type_byte & 0x3F if 0x41 <= type_byte <= 0x7F else None
    assert encode_message(decoded, rtype) == (type_byte, payload)


@settings(max_examples=100)
@given(any_message, st.data())
def test_mutated_payloads_raise_only_bad_message(message, data):
    rtype = request_type_for(message)
    type_byte, payload = encode_message(message, rtype)
    if not payload:
        return
    i = data.draw(st.integers(0, len(payload) - 1))
    mutated = bytearray(payload)
    mutated[i] = data.draw(u8_values)
    cut = data.draw(st.integers(0, len(mutated)))
    for candidate in (bytes(mutated), bytes(mutated[:cut]), bytes(mutated) + b"\x00"):
        try:
            decode_message(type_byte, candidate)
        except BadMessageError:
            pass


u8_values = st.integers(0, 255)


@pytest.mark.parametrize("type_byte,payload,why", [
    (0x82, b"\x02", "bool must be 0 or 1"),
    (0x8A, b"\x0d\x01", "digit count above 12"),
    (0x8B, b"\x63\x04\x41", "unknown EntryEnd"),
    (0x88, b"\x20\x00\x00", "unknown key code"),
    (0x8E, b"\x00\x0a\x00", "trailing byte"),
    (0x02, b"\x00", "payload on an empty message"),
    (0x18, b"\x00\x02\xff\xfe\x02en\x00\x00\x00\x00\x01\x00", "invalid UTF-8"),
    (0x21, b"\x00", "haptic pattern needs at least one value"),
    (0xC5, b"", "unknown type"),
    (0x00, b"\x00\x01", "ACK is link-level, not a message"),
])
def test_strictness(type_byte, payload, why):
    with pytest.raises(BadMessageError):
        decode_message(type_byte, payload)


def test_unknown_request_refusal_decodes():
    assert decode_message(0x7E, b"\x01") == m.Refused(0x3E, ResultCode.UNKNOWN_MESSAGE)
    with pytest.raises(BadMessageError):
        decode_message(0x7E, b"\x00")  # OK to an unknown request makes no sense


def test_encoding_misuse_is_local():
    with pytest.raises(LocalProtocolError):
        encode_message(m.Done(MessageType.GET_INFO))  # GetInfo has a body
    with pytest.raises(LocalProtocolError):
        encode_message(m.Refused(MessageType.GET_INFO, ResultCode.OK))
    with pytest.raises(LocalProtocolError):
        encode_message(m.SpeechQueued(3))  # which request?
    with pytest.raises(LocalProtocolError):
        encode_message(m.TimeLeft(3), MessageType.SPEAK)
    with pytest.raises(LocalProtocolError):
        encode_message(m.DigitEntered(13))
    with pytest.raises(LocalProtocolError):
        encode_message(m.KeyPressed("seventeen"))
    with pytest.raises(LocalProtocolError):
        encode_message(m.HeadsetChanged(1))  # type: ignore[arg-type]  - not a bool
    with pytest.raises(LocalProtocolError):
        encode_message(m.Speak("x" * 901))


def test_layout_keys_are_validated_when_parsed():
    layout = m.KeyLayout.from_layout(get_layout("telephone"))
    type_byte, payload = encode_message(layout, MessageType.GET_LAYOUT)
    assert decode_message(type_byte, payload).to_layout() == get_layout("telephone")
    # two keys in one cell: a consistent encoding of an inconsistent layout is refused
    keys = list(layout.keys)
    keys[1] = keys[1].__class__(**{**{f: getattr(keys[1], f) for f in
                                      ("name", "label", "x", "y", "width", "height", "mark",
                                       "colour")}, "row": keys[0].row, "column": keys[0].column})
    bad = m.KeyLayout(layout.name, layout.rows, layout.columns, tuple(keys))
    type_byte, payload = encode_message(bad, MessageType.GET_LAYOUT)
    with pytest.raises(BadMessageError):
        decode_message(type_byte, payload)


def test_key_material_not_in_repr():
    msg = m.LoadKey(1, m.LoadKind.AES_DUKPT_INITIAL, bytes.fromhex("1273671EA26AC29AFA4D1084127652A1"),
                    bytes.fromhex("1234567890123456"))
    assert "1273671E" not in repr(msg).upper() and "key=" not in repr(msg)


def test_digit_events_carry_counts_only():
    from dataclasses import fields
    assert {f.name for f in fields(m.DigitEntered)} == {"digits", "accepted"}
    assert {f.name for f in fields(m.PinEntryCompleted)} == {"how", "digits", "key"}
    assert {f.name for f in fields(m.PinChangeCompleted)} == {"how", "digits", "key"}
    assert len(ALL) == 48
