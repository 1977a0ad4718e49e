"""construct schemas for EF01 frames and for every instruction's parameters and reply payload.

These schemas are the executable specification (never ``.compile()`` them: compiled parsers
skip checks).  A frame::

    EF 01 | address u32be | packet id u8 | length u16be (= content + 2) | content | checksum u16be

checksum = (packet id + both length bytes + every content byte) mod 65536.

Content schemas are selected with ``Switch`` keyed by :class:`~protocol.ef01.codes.Instruction`;
the wire opcode is mapped to an instruction by the model's
:class:`~protocol.ef01.codes.OpcodeTable`, passed as the context keyword ``opcodes`` (commands)
or the pending ``instruction`` (acknowledges, whose content does not name it).

Data packets sit on the image-transfer hot path, so :func:`parse_data_frame` and
:func:`build_data_frame` have a ``struct`` fast path proven equal to :data:`DataFrame` by
hypothesis tests (tests/protocol/test_ef01_schema.py).
"""

from __future__ import annotations

import struct
from typing import Any, Mapping

from construct import (
    Array,
    Bitwise,
    BitsSwapped,
    Bytes,
    Check,
    Checksum,
    Const,
    Construct,
    ConstructError,
    Enum,
    ExprAdapter,
    Flag,
    GreedyBytes,
    Int8ub,
    Int16ub,
    Int32ub,
    Prefixed,
    RawCopy,
    Struct,
    Switch,
    Terminated,
    this,
)

from protocol.ef01.codes import (
    PACKET_SIZES,
    REPLY_PAYLOAD_SIZE,
    Instruction,
    OpcodeTable,
    PacketId,
    opcode_table,
)
from protocol.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "HEADER",
    "HEADER_SIZE",
    "MAX_CONTENT",
    "checksum16",
    "Frame",
    "CommandContent",
    "ReplyContent",
    "CommandFrame",
    "AckFrame",
    "DataFrame",
    "COMMAND_PARAMS",
    "REPLY_PAYLOADS",
    "SysParaBlock",
    "ProdInfo",
    "NotepadPage",
    "IndexTable",
    "IndexTableBits",
    "build_frame",
    "parse_frame",
    "build_command",
    "parse_command",
    "build_reply",
    "parse_reply",
    "build_data_frame",
    "parse_data_frame",
    "index_table_slots",
    "build_index_table",
]

HEADER = b"\xef\x01"
#: header + address + packet id + length: the bytes before the content
HEADER_SIZE = 9
#: the largest content a frame may carry (a 256-byte data packet)
MAX_CONTENT = max(PACKET_SIZES)


def checksum16(data: bytes) -> int:
    """Sum of the bytes mod 65536 (over packet id, length and content)."""
    return sum(data) & 0xFFFF


# length field on the wire counts the checksum too: content bytes = length - 2
_Length = ExprAdapter(Int16ub, decoder=lambda obj, ctx: obj - 2, encoder=lambda obj, ctx: obj + 2)


def _frame(content: Construct, packet_ids: tuple[PacketId, ...] | None = None) -> Struct:
    """A whole frame around ``content``; ``packet_ids`` restricts the packet identifier."""
    allowed = frozenset(p.name for p in (packet_ids or tuple(PacketId)))
    body = Struct(
        "packet_id" / Enum(Int8ub, PacketId),
        Check(lambda ctx: ctx.packet_id in allowed),
        "content" / Prefixed(_Length, content),
    )
    return Struct(
        "header" / Const(HEADER),
        "address" / Int32ub,
        "body" / RawCopy(body),
        "checksum" / Checksum(Int16ub, checksum16, this.body.data),
        Terminated,
    )


# --- payloads of instructions ---------------------------------------------------------------

#: ReadSysPara 16-byte block (big-endian)
SysParaBlock = Struct(
    "status" / Int16ub,            # bit0 busy, bit1 match found, bit2 password verified, bit3 image valid
    "system_id" / Int16ub,
    "capacity" / Int16ub,
    "security_level" / Int16ub,
    "device_address" / Int32ub,
    "packet_size_code" / Int16ub,
    "baud_multiplier" / Int16ub,
)

#: ReadProdInfo (R503): 46 bytes; strings are ASCII padded with NUL
ProdInfo = Struct(
    "model" / Bytes(16),
    "batch" / Bytes(4),
    "serial" / Bytes(8),
    "hw_major" / Int8ub,
    "hw_minor" / Int8ub,
    "sensor" / Bytes(8),
    "width" / Int16ub,
    "height" / Int16ub,
    "template_size" / Int16ub,
    "database_size" / Int16ub,
)

NotepadPage = Bytes(32)
IndexTable = Bytes(32)
#: the index table as 256 flags: element 8k+b is bit b (LSB first) of byte k
IndexTableBits = Array(32, BitsSwapped(Bitwise(Array(8, Flag))))

_Buffer = "buffer" / Int8ub
_Empty = Struct()

#: parameters after the opcode, per instruction
COMMAND_PARAMS: Mapping[Instruction, Construct] = {
    **{ins: _Empty for ins in Instruction},
    Instruction.IMG2TZ: Struct(_Buffer),
    Instruction.SEARCH: Struct(_Buffer, "start" / Int16ub, "count" / Int16ub),
    Instruction.HIGH_SPEED_SEARCH: Struct(_Buffer, "start" / Int16ub, "count" / Int16ub),
    Instruction.STORE: Struct(_Buffer, "slot" / Int16ub),
    Instruction.LOAD_CHAR: Struct(_Buffer, "slot" / Int16ub),
    Instruction.UP_CHAR: Struct(_Buffer),
    Instruction.DOWN_CHAR: Struct(_Buffer),
    Instruction.DELETE_CHAR: Struct("start" / Int16ub, "count" / Int16ub),
    Instruction.SET_SYS_PARA: Struct("register" / Int8ub, "value" / Int8ub),
    Instruction.SET_PWD: Struct("password" / Int32ub),
    Instruction.VFY_PWD: Struct("password" / Int32ub),
    Instruction.SET_ADDER: Struct("new_address" / Int32ub),
    Instruction.PORT_CONTROL: Struct("on" / Int8ub),
    Instruction.WRITE_NOTEPAD: Struct("page" / Int8ub, "data" / NotepadPage),
    Instruction.READ_NOTEPAD: Struct("page" / Int8ub),
    Instruction.READ_INDEX_TABLE: Struct("page" / Int8ub),
    Instruction.AURA_LED_CONFIG: Struct("control" / Int8ub, "speed" / Int8ub, "colour" / Int8ub,
                                        "times" / Int8ub),
}

#: reply payload after the confirmation code, per instruction (fixed size, also on errors)
REPLY_PAYLOADS: Mapping[Instruction, Construct] = {
    **{ins: _Empty for ins in Instruction},
    Instruction.MATCH: Struct("score" / Int16ub),
    Instruction.SEARCH: Struct("slot" / Int16ub, "score" / Int16ub),
    Instruction.HIGH_SPEED_SEARCH: Struct("slot" / Int16ub, "score" / Int16ub),
    Instruction.READ_SYS_PARA: SysParaBlock,
    Instruction.GET_RANDOM_CODE: Struct("value" / Int32ub),
    Instruction.READ_NOTEPAD: Struct("data" / NotepadPage),
    Instruction.TEMPLATE_NUM: Struct("count" / Int16ub),
    Instruction.READ_INDEX_TABLE: Struct("table" / IndexTable),
    Instruction.GET_ALG_VER: Struct("version" / Bytes(32)),
    Instruction.GET_FW_VER: Struct("version" / Bytes(32)),
    Instruction.READ_PROD_INFO: ProdInfo,
}
assert all(REPLY_PAYLOADS[i].sizeof() == REPLY_PAYLOAD_SIZE[i] for i in Instruction)

_RawParams = Struct("raw" / GreedyBytes)


def _command_key(ctx: Any) -> Instruction | None:
    return ctx._params.opcodes.decode(ctx.opcode)


#: command content: opcode + parameters; parse/build with ``opcodes=<OpcodeTable>``.
#: An opcode the table lacks parses as ``{"raw": remaining bytes}``.
CommandContent = Struct(
    "opcode" / Int8ub,
    "params" / Switch(_command_key, dict(COMMAND_PARAMS), default=_RawParams),
    Terminated,
)

#: acknowledge content: confirmation code + payload; parse/build with ``instruction=``
#: (an Instruction, or None for an instruction the table lacks: payload then raw bytes)
ReplyContent = Struct(
    "code" / Int8ub,
    "payload" / Switch(lambda ctx: ctx._params.instruction, dict(REPLY_PAYLOADS), default=_RawParams),
    Terminated,
)

#: any frame; content as bytes
Frame = _frame(GreedyBytes)
#: a command frame (host -> module)
CommandFrame = _frame(CommandContent, (PacketId.COMMAND,))
#: an acknowledge frame (module -> host)
AckFrame = _frame(ReplyContent, (PacketId.ACK,))
#: a data packet frame (either direction): 1..256 content bytes
DataFrame = _frame(
    Struct("data" / GreedyBytes, Check(lambda ctx: 1 <= len(ctx.data) <= MAX_CONTENT)),
    (PacketId.DATA, PacketId.END_DATA),
)


# --- functions over the schemas ---------------------------------------------------------------

def build_frame(address: int, packet_id: PacketId | int, content: bytes) -> bytes:
    """Frame ``content`` (any packet type) for ``address``."""
    try:
        return Frame.build({"address": address,
                            "body": {"value": {"packet_id": PacketId(packet_id).name, "content": content}}})
    except (ConstructError, ValueError) as exc:
        raise LocalProtocolError(f"cannot build an EF01 frame: {exc}") from exc


def parse_frame(data: bytes) -> tuple[int, PacketId, bytes]:
    """Strictly parse one whole frame -> (address, packet id, content)."""
    try:
        c = Frame.parse(data)
    except ConstructError as exc:
        raise RemoteProtocolError(f"invalid EF01 frame: {_why(exc)}") from exc
    return c.address, PacketId[str(c.body.value.packet_id)], bytes(c.body.value.content)


def build_command(address: int, instruction: Instruction | int, params: Mapping[str, Any] | None = None,
                  opcodes: OpcodeTable | str = "standard") -> bytes:
    """A command frame.  ``instruction`` may be a raw opcode int (params then ``{"raw": b"..."}``)."""
    table = opcode_table(opcodes)
    try:
        opcode = table.encode(instruction)
    except LookupError as exc:
        raise LocalProtocolError(str(exc)) from exc
    try:
        return CommandFrame.build(
            {"address": address, "body": {"value": {"packet_id": "COMMAND",
                                                    "content": {"opcode": opcode, "params": dict(params or {})}}}},
            opcodes=table)
    except (ConstructError, KeyError, TypeError, ValueError) as exc:
        raise LocalProtocolError(f"cannot build {_name(instruction)} command: {_why(exc)}") from exc


def parse_command(data: bytes, opcodes: OpcodeTable | str = "standard"
                  ) -> tuple[int, Instruction | int, dict[str, Any]]:
    """A whole command frame -> (address, instruction or raw opcode, params)."""
    table = opcode_table(opcodes)
    try:
        c = CommandFrame.parse(data, opcodes=table)
    except ConstructError as exc:
        raise RemoteProtocolError(f"invalid EF01 command frame: {_why(exc)}") from exc
    content = c.body.value.content
    ins = table.decode(content.opcode)
    return c.address, (ins if ins is not None else content.opcode), _plain(content.params)


def build_reply(address: int, instruction: Instruction | None, code: int,
                payload: Mapping[str, Any] | None = None) -> bytes:
    """An acknowledge frame; payload fields left out are zero (replies have a fixed length)."""
    fields = _zero_fill(instruction, payload or {})
    try:
        return AckFrame.build(
            {"address": address, "body": {"value": {"packet_id": "ACK",
                                                    "content": {"code": code, "payload": fields}}}},
            instruction=instruction)
    except (ConstructError, KeyError, TypeError, ValueError) as exc:
        raise LocalProtocolError(f"cannot build {_name(instruction)} reply: {_why(exc)}") from exc


def parse_reply(data: bytes, instruction: Instruction | None) -> tuple[int, int, dict[str, Any]]:
    """A whole acknowledge frame -> (address, confirmation code, payload fields)."""
    try:
        c = AckFrame.parse(data, instruction=instruction)
    except ConstructError as exc:
        raise RemoteProtocolError(f"invalid reply to {_name(instruction)}: {_why(exc)}") from exc
    content = c.body.value.content
    return c.address, content.code, _plain(content.payload)


_DATA_HEAD = struct.Struct(">2sIBH")
_DATA_IDS = (PacketId.DATA.value, PacketId.END_DATA.value)


def build_data_frame(address: int, data: bytes, last: bool) -> bytes:
    """A data packet (id 02, or 08 if ``last``).  Hot path: plain ``struct`` (equal to DataFrame)."""
    n = len(data)
    if not 1 <= n <= MAX_CONTENT or not 0 <= address <= 0xFFFFFFFF:
        raise LocalProtocolError(f"a data packet carries 1..{MAX_CONTENT} bytes, not {n}"
                                 if not 1 <= n <= MAX_CONTENT else f"bad address {address!r}")
    pid = PacketId.END_DATA if last else PacketId.DATA
    length = n + 2
    head = _DATA_HEAD.pack(HEADER, address, pid, length)
    total = (pid + (length >> 8) + (length & 0xFF) + sum(data)) & 0xFFFF
    return head + bytes(data) + total.to_bytes(2, "big")


def parse_data_frame(frame: bytes) -> tuple[int, bytes, bool]:
    """A whole data packet -> (address, data, last).  Same verdicts as :data:`DataFrame`."""
    if len(frame) < HEADER_SIZE + 3:
        raise RemoteProtocolError(f"invalid EF01 data frame: {len(frame)} bytes is too short")
    header, address, pid, length = _DATA_HEAD.unpack_from(frame)
    n = length - 2
    if (header != HEADER or pid not in _DATA_IDS or not 1 <= n <= MAX_CONTENT
            or len(frame) != HEADER_SIZE + length):
        raise RemoteProtocolError("invalid EF01 data frame: bad header, packet id or length")
    data = frame[HEADER_SIZE:HEADER_SIZE + n]
    if (sum(frame[6:HEADER_SIZE + n]) & 0xFFFF) != int.from_bytes(frame[-2:], "big"):
        raise RemoteProtocolError("invalid EF01 data frame: wrong checksum")
    return address, bytes(data), pid == PacketId.END_DATA


def index_table_slots(table: bytes, page: int) -> list[int]:
    """Slots marked used in one ReadIndexTable page (bit b of byte k = slot page*256 + 8k + b)."""
    bits = IndexTableBits.parse(table)
    return [page * 256 + 8 * k + b for k, byte in enumerate(bits) for b, used in enumerate(byte) if used]


def build_index_table(slots: set[int] | list[int], page: int) -> bytes:
    """The 32-byte ReadIndexTable page for the used ``slots`` (others ignored)."""
    used = {s - page * 256 for s in slots if page * 256 <= s < (page + 1) * 256}
    return IndexTableBits.build([[8 * k + b in used for b in range(8)] for k in range(32)])


# --- helpers ------------------------------------------------------------------------------------

def _zero_fill(instruction: Instruction | None, payload: Mapping[str, Any]) -> dict[str, Any]:
    schema = REPLY_PAYLOADS.get(instruction) if instruction is not None else None
    if schema is None:
        return {"raw": bytes(payload.get("raw", b""))}
    out: dict[str, Any] = {}
    for sub in schema.subcons:
        if sub.name in payload:
            out[sub.name] = payload[sub.name]
        else:
            out[sub.name] = bytes(sub.sizeof()) if _is_bytes(sub) else 0
    unknown = set(payload) - set(out)
    if unknown:
        raise LocalProtocolError(f"{_name(instruction)} reply has no field(s) {sorted(unknown)}")
    return out


def _is_bytes(sub: Construct) -> bool:
    inner = getattr(sub, "subcon", sub)
    return type(inner).__name__ == "Bytes"


def _plain(container: Any) -> dict[str, Any]:
    """A construct Container -> a plain dict (private keys dropped, bytes kept as bytes)."""
    return {k: (bytes(v) if isinstance(v, (bytes, bytearray)) else v)
            for k, v in container.items() if not k.startswith("_")}


def _name(instruction: Instruction | int | None) -> str:
    if isinstance(instruction, Instruction):
        return instruction.name
    if instruction is None:
        return "an unknown instruction"
    return f"opcode 0x{instruction:02X}"


def _why(exc: Exception) -> str:
    return str(exc).replace("\n", " ")
