"""Fuzzing the parsers in both roles: what tests/protocol did not cover yet (issue 9).

tests/protocol already throws random bytes at both connections in both roles, random payloads
at every TPP message schema and random frames at the EF01 schemas.  Added here: replies to a
PENDING request (the paths a host takes only when it waits for an answer, which random frames
alone never reach), mutated real frames with their checks fixed up (so the corruption gets past
the CRC into the decoders), the layout a pad reports turned into the host's Layout, and a
connection that must stay usable after any of it.  Only typed protocol errors may come out.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.ef01 import Command, Connection, Instruction, NEED_DATA, Role
from protocol.ef01.schema import build_frame as ef01_frame
from protocol.errors import ProtocolError, TactileError
from protocol.tpp import NEED_DATA as TPP_NEED_DATA
from protocol.tpp import Role as TppRole
from protocol.tpp import TppConnection, build_frame, encode_message
from protocol.tpp import messages as m
from protocol.pinblock import PinBlockFormat
from protocol.tpp.codes import LoadKind, State

_FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: requests a host may send in IDLE after Hello, one of each kind of answer
_IDLE_REQUESTS = [m.GetInfo(), m.GetLayout(), m.GetStatus(), m.GetKeyInfo(slot=1),
                  m.Speak(text="x", lang="en"), m.SpeakPrompt(prompt=23, lang="en"),
                  m.GetPinBlock(format=PinBlockFormat.ISO4, customer_data="4111111111111111",
                                slot=0),
                  m.ExtendTime(seconds=5),
                  m.LoadKey(slot=4, kind=LoadKind.TDES_FIXED, key=bytes(16)),
                  m.Reset(), m.StopSpeech()]


def _drain_tpp(conn: TppConnection) -> list:
    out = []
    for _ in range(200):
        try:
            ev = conn.next_event()
        except ProtocolError:
            continue
        if ev is TPP_NEED_DATA:
            return out
        out.append(ev)
    raise AssertionError("next_event never returned NEED_DATA")


def _host_after_hello() -> tuple[TppConnection, TppConnection]:
    host, pad = TppConnection(TppRole.HOST), TppConnection(TppRole.DEVICE)
    pad.receive_data(host.send(m.Hello(session=1, host="fuzz")))
    _drain_tpp(pad)
    host.receive_data(pad.data_to_send())
    pad.send(m.HelloReply(version=m.Version(1, 0), max_payload=1024, boot_count=1,
                          mode=State.STARTING))
    host.receive_data(pad.data_to_send())
    _drain_tpp(host)
    pad.receive_data(host.data_to_send())
    return host, pad


@_FAST
@given(st.sampled_from(_IDLE_REQUESTS), st.binary(max_size=120), st.integers(0, 255))
def test_a_reply_to_a_pending_request_with_any_payload(request, payload, seq):
    """The host waits for an answer; the pad sends a frame of the right type and REF with any
    payload: a typed error or a message, and the next request still works."""
    host, _ = _host_after_hello()
    host.send(request)
    ref = list(host._pending)[-1]              # the seq the host now waits on
    host.receive_data(build_frame(seq, ref, request.TYPE | 0x40, payload))
    _drain_tpp(host)
    host.send(m.GetStatus())                     # still usable (stop-and-wait may queue it)


@_FAST
@given(st.sampled_from(_IDLE_REQUESTS + [m.Hello(session=7, host="h"), m.CancelEntry()]),
       st.data(), st.sampled_from([TppRole.HOST, TppRole.DEVICE]))
def test_mutated_real_frames_with_a_fixed_crc(request, data, role):
    """A real frame with some payload bytes changed and its CRCs recomputed reaches the
    decoders: only protocol errors, whatever the role."""
    type_byte, payload = encode_message(request)
    if role is TppRole.HOST:
        type_byte |= 0x40
    mutated = bytearray(payload)
    for _ in range(data.draw(st.integers(1, 4))):
        if not mutated:
            break
        i = data.draw(st.integers(0, len(mutated) - 1))
        mutated[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        mutated = mutated[:data.draw(st.integers(0, len(mutated)))]
    conn = TppConnection(role)
    conn.receive_data(build_frame(3, 0, type_byte, bytes(mutated)))
    _drain_tpp(conn)


@_FAST
@given(st.data())
def test_any_decodable_layout_becomes_a_layout_or_a_typed_error(data):
    """The host turns a pad's KeyLayout into its Layout: a pad with nonsense keys gives a
    typed error a technician can read, never a crash."""
    from protocol.layout import get_layout

    base = m.KeyLayout.from_layout(get_layout(data.draw(st.sampled_from(
        ["telephone", "calculator", "pos"]))))
    type_byte, payload = encode_message(base)
    mutated = bytearray(payload)
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(mutated) - 1))
        mutated[i] = data.draw(st.integers(0, 255))
    from protocol.tpp import decode_message
    try:
        msg = decode_message(type_byte, bytes(mutated))
    except ProtocolError:
        return
    try:
        msg.to_layout()
    except TactileError:
        pass


_EF01_INSTRUCTIONS = [i for i in Instruction]


@_FAST
@given(st.sampled_from(_EF01_INSTRUCTIONS), st.binary(max_size=80), st.integers(0, 0xFFFF))
def test_ef01_host_a_reply_with_any_content_to_any_pending_command(ins, content, pid):
    """The host waits for the reply to ``ins``; an ack frame with a valid checksum and any
    content arrives: only protocol errors, and the connection hunts on."""
    conn = Connection(Role.HOST)
    try:
        conn.send(Command(ins))
    except ProtocolError:
        return  # a command that needs parameters: nothing pending
    except (TypeError, KeyError, ValueError):
        return  # the caller's misuse (missing params) is not what is fuzzed here
    conn.receive_data(ef01_frame(0xFFFFFFFF, 0x07, content) + ef01_frame(0xFFFFFFFF, 0x07, b"\x00"))
    for _ in range(50):
        try:
            if conn.next_event() is NEED_DATA:
                break
        except ProtocolError:
            pass


@_FAST
@given(st.integers(0, 255), st.binary(max_size=80), st.sampled_from([0x01, 0x02, 0x07, 0x08]))
def test_ef01_device_any_valid_checksum_frame(first, rest, pid):
    conn = Connection(Role.DEVICE)
    conn.receive_data(ef01_frame(0xFFFFFFFF, pid, bytes([first]) + rest))
    for _ in range(50):
        try:
            if conn.next_event() is NEED_DATA:
                break
        except ProtocolError:
            pass
