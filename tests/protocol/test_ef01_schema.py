"""EF01 schemas: golden frames byte for byte, round trips, fast path == schema, garbage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ef01_strategies import schema_strategy
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.ef01 import (
    COMMAND_PARAMS,
    CONFIRMATIONS,
    OPCODE_TABLES,
    REPLY_PAYLOAD_SIZE,
    REPLY_PAYLOADS,
    AckFrame,
    Confirmation,
    DataFrame,
    Instruction,
    PacketId,
    build_command,
    build_data_frame,
    build_frame,
    build_index_table,
    build_reply,
    checksum16,
    describe_confirmation,
    index_table_slots,
    parse_command,
    parse_data_frame,
    parse_frame,
    parse_reply,
    reply_content_size,
)
from protocol.errors import LocalProtocolError, RemoteProtocolError

GOLDEN = json.loads((Path(__file__).parents[1] / "data" / "ef01_golden.json").read_text())


@pytest.mark.parametrize("case", GOLDEN["commands"], ids=lambda c: c["name"])
def test_golden_commands(case: dict) -> None:
    wire = bytes.fromhex(case["hex"])
    ins = Instruction[case["instruction"]]
    assert build_command(0xFFFFFFFF, ins, case["params"]) == wire
    assert parse_command(wire) == (0xFFFFFFFF, ins, case["params"])


@pytest.mark.parametrize("case", GOLDEN["replies"], ids=lambda c: c["name"])
def test_golden_replies(case: dict) -> None:
    wire = bytes.fromhex(case["hex"])
    ins = Instruction[case["instruction"]]
    assert build_reply(0xFFFFFFFF, ins, case["code"], case["fields"]) == wire
    assert parse_reply(wire, ins) == (0xFFFFFFFF, case["code"], case["fields"])
    assert len(wire) == 11 + reply_content_size(ins)


def test_smallest_frame_and_checksum_rule() -> None:
    wire = bytes.fromhex("EF01FFFFFFFF0700030000 0A".replace(" ", ""))
    assert len(wire) == 12
    assert checksum16(wire[6:-2]) == 0x000A  # header and address are not summed
    assert parse_frame(wire) == (0xFFFFFFFF, PacketId.ACK, b"\x00")


def test_search_miss_zero_filled() -> None:
    assert build_reply(0xFFFFFFFF, Instruction.SEARCH, 0x09) == bytes.fromhex("EF01FFFFFFFF07000709000000000017")


def test_every_confirmation_has_meaning_and_action() -> None:
    for code in Confirmation:
        info = CONFIRMATIONS[code]
        assert info.meaning and info.action
    for code in (0x04, 0x05, 0x17, 0x29, 0xFC):
        assert code in CONFIRMATIONS
    assert "unknown" in describe_confirmation(0x77).meaning


def test_fixed_reply_sizes_match_schemas() -> None:
    for ins in Instruction:
        assert REPLY_PAYLOADS[ins].sizeof() == REPLY_PAYLOAD_SIZE[ins]
    assert reply_content_size(Instruction.READ_SYS_PARA) == 17
    assert reply_content_size(Instruction.READ_PROD_INFO) == 47


def test_opcode_tables_per_model() -> None:
    r307, r503, as608 = (OPCODE_TABLES[m] for m in ("r307", "r503", "as608"))
    assert r307.decode(0x1B) is Instruction.HIGH_SPEED_SEARCH
    assert r503.decode(0x1B) is None
    assert r503.decode(0x35) is Instruction.AURA_LED_CONFIG
    assert as608.decode(0x35) is Instruction.HANDSHAKE
    assert r503.encode(Instruction.HANDSHAKE) == 0x40 and as608.encode(Instruction.HANDSHAKE) == 0x35
    assert r307.decode(0x17) is Instruction.PORT_CONTROL and r503.decode(0x17) is None
    assert r503.unsupported_code == 0xFC and r307.unsupported_code == 0x01
    with pytest.raises(LocalProtocolError):
        build_command(0xFFFFFFFF, Instruction.HIGH_SPEED_SEARCH, {"buffer": 1, "start": 0, "count": 1},
                      opcodes="r503")
    # the same wire opcode means different things per firmware
    wire = build_command(0xFFFFFFFF, Instruction.HANDSHAKE, {}, opcodes="as608")
    assert parse_command(wire, "as608")[1] is Instruction.HANDSHAKE
    with pytest.raises(RemoteProtocolError):  # read as R503 Aura LED, its 4 parameters are missing
        parse_command(wire, "r503")


def test_index_table_bit_order() -> None:
    table = build_index_table({0, 9, 255, 256 + 3}, 0)
    assert table[0] == 0x01 and table[1] == 0x02 and table[31] == 0x80
    assert index_table_slots(table, 0) == [0, 9, 255]
    assert index_table_slots(build_index_table({256 + 3}, 1), 1) == [259]


# --- hypothesis: strategies derived from the schemas themselves -------------------------------
_strategy = schema_strategy


_addresses = st.integers(0, 0xFFFFFFFF)


@pytest.mark.parametrize("ins", list(Instruction), ids=lambda i: i.name)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_command_round_trip(ins: Instruction, data: st.DataObject) -> None:
    address = data.draw(_addresses)
    params = data.draw(_strategy(COMMAND_PARAMS[ins]))
    wire = build_command(address, ins, params)
    assert parse_command(wire) == (address, ins, params)
    assert parse_frame(wire)[1] is PacketId.COMMAND


@pytest.mark.parametrize("ins", list(Instruction), ids=lambda i: i.name)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_reply_round_trip(ins: Instruction, data: st.DataObject) -> None:
    address = data.draw(_addresses)
    code = data.draw(st.integers(0, 255))
    fields = data.draw(_strategy(REPLY_PAYLOADS[ins]))
    wire = build_reply(address, ins, code, fields)
    assert len(wire) == 11 + reply_content_size(ins)
    assert parse_reply(wire, ins) == (address, code, fields)


@settings(max_examples=200, deadline=None)
@given(address=_addresses, payload=st.binary(min_size=1, max_size=256), last=st.booleans())
def test_data_fast_path_equals_schema(address: int, payload: bytes, last: bool) -> None:
    fast = build_data_frame(address, payload, last)
    pid = "END_DATA" if last else "DATA"
    slow = DataFrame.build({"address": address,
                            "body": {"value": {"packet_id": pid, "content": {"data": payload}}}})
    assert fast == slow
    assert parse_data_frame(fast) == (address, payload, last)
    parsed = DataFrame.parse(slow)
    assert bytes(parsed.body.value.content.data) == payload


def _schema_verdict(frame: bytes) -> tuple | None:
    try:
        c = DataFrame.parse(frame)
    except Exception:  # noqa: BLE001 - any construct failure is the verdict "invalid"
        return None
    return c.address, bytes(c.body.value.content.data), str(c.body.value.packet_id) == "END_DATA"


def _fast_verdict(frame: bytes) -> tuple | None:
    try:
        return parse_data_frame(frame)
    except RemoteProtocolError:
        return None


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=300),
    st.tuples(_addresses, st.binary(min_size=1, max_size=40), st.booleans(), st.integers(0, 1000),
              st.integers(0, 255)).map(lambda t: _corrupt(build_data_frame(t[0], t[1], t[2]), t[3], t[4])),
    st.tuples(st.sampled_from([1, 2, 7, 8, 0, 3]), st.binary(max_size=300), st.integers(0, 70000))
      .map(lambda t: build_frame(0xFFFFFFFF, t[0], t[1]) if t[0] in (1, 2, 7, 8) and t[1] else
           b"\xef\x01\xff\xff\xff\xff" + bytes([t[0]]) + (t[2] & 0xFFFF).to_bytes(2, "big") + t[1]),
))
def test_data_fast_path_same_verdict_on_garbage(frame: bytes) -> None:
    assert _fast_verdict(frame) == _schema_verdict(frame)


def _corrupt(frame: bytes, index: int, value: int) -> bytes:
    b = bytearray(frame)
    b[index % len(b)] = value
    return bytes(b)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.sampled_from(list(Instruction) + [None]))
def test_garbage_raises_only_protocol_errors(data: bytes, ins: Instruction | None) -> None:
    for fn in (parse_frame, lambda d: parse_command(d, "r503"), lambda d: parse_reply(d, ins),
               parse_data_frame):
        try:
            fn(data)
        except RemoteProtocolError:
            pass


def test_strict_trailing_bytes_rejected() -> None:
    wire = build_command(0xFFFFFFFF, Instruction.GEN_IMG)
    with pytest.raises(RemoteProtocolError):
        parse_frame(wire + b"\x00")
    # a GenImg with a stray parameter byte (valid checksum) is not a GenImg
    with pytest.raises(RemoteProtocolError):
        parse_command(build_frame(0xFFFFFFFF, PacketId.COMMAND, b"\x01\x00"))
    # an ack one byte longer than the instruction's fixed size
    with pytest.raises(RemoteProtocolError):
        parse_reply(build_frame(0xFFFFFFFF, PacketId.ACK, b"\x00\x00\x01\x00"), Instruction.MATCH)
    with pytest.raises(RemoteProtocolError):
        parse_frame(wire[:-1] + bytes([wire[-1] ^ 1]))
    with pytest.raises(RemoteProtocolError):
        parse_reply(AckFrame.build({"address": 1, "body": {"value": {"packet_id": "ACK", "content": {
            "code": 0, "payload": {}}}}}, instruction=Instruction.GEN_IMG), Instruction.MATCH)


def test_local_errors_on_bad_input() -> None:
    with pytest.raises(LocalProtocolError):
        build_command(0xFFFFFFFF, Instruction.SEARCH, {"buffer": 1})
    with pytest.raises(LocalProtocolError):
        build_command(0xFFFFFFFF, Instruction.IMG2TZ, {"buffer": 300})
    with pytest.raises(LocalProtocolError):
        build_reply(0xFFFFFFFF, Instruction.MATCH, 0, {"nonsense": 1})
    with pytest.raises(LocalProtocolError):
        build_data_frame(0xFFFFFFFF, b"", True)
    with pytest.raises(LocalProtocolError):
        build_data_frame(0xFFFFFFFF, bytes(257), True)
