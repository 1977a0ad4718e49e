"""EF01 fingerprint-module protocol (ZFM-20/60, R305/R307, FPM10A, AS608, R503), sans-I/O.

API summary::

    from protocol.ef01 import (Connection, Role, State, NEED_DATA, Command, Reply, DataPacket,
                               DataTransfer, RawByte, Skipped, InvalidCommand, Instruction,
                               Confirmation, describe_confirmation)

    conn = Connection(Role.HOST, address=0xFFFFFFFF, model="r307", packet_size=128, baudrate=57600)
    wire = conn.send(Command(Instruction.SEARCH, {"buffer": 1, "start": 0, "count": 1000}))
    # write `wire`; read with deadline conn.reply_due (seconds); then:
    conn.receive_data(chunk)
    while (ev := conn.next_event()) is not NEED_DATA:
        ...  # Reply(instruction, code, fields, address): ev.ok, ev.slot, ev.score, ev.info.meaning
             # Skipped(data, reason): garbage hunted past (log it); RawByte(0x55): module (re)booted

Events (frozen, slotted dataclasses):

* ``Command(instruction, params={}, address=None)`` - host sends / device receives.
  ``instruction`` is an :class:`Instruction` (or a raw int opcode the model lacks: params
  ``{"raw": bytes}``).  Param names per instruction: see ``schema.COMMAND_PARAMS`` (``buffer``,
  ``start``, ``count``, ``slot``, ``register``, ``value``, ``password``, ``new_address``, ``on``,
  ``page``, ``data``, ``control``/``speed``/``colour``/``times``).
* ``Reply(instruction, code=0, fields={}, address=None)`` - device sends / host receives;
  ``.ok``, ``.confirmation``, ``.info`` (meaning + action); payload fields are attributes
  (``reply.score``).  Fields left out when sending are zero: replies keep their fixed length.
* ``DataPacket(data, last, address)`` per data packet, then ``DataTransfer(instruction, data,
  packets, address)`` with all of them joined.  To send a transfer, ``send(DataTransfer(ins,
  data))``: split at ``conn.packet_size``.  Uploads (UpChar/UpImage/ReadINFpage): the host
  receives them after an OK Reply.  Downloads (DownChar/DownImage): after the OK Reply the host
  sends them (state SENDING_DATA) and nothing comes back.
* ``RawByte(0x55)`` - the unframed byte after power-up/SoftRst (device sends, host receives).
* ``Skipped(data, reason)`` - bytes thrown away while hunting for the next valid frame
  (garbage, false headers, bad checksums, frames for another address, late replies).
* ``InvalidCommand(instruction, content, address, reason)`` - device role: a frame whose
  parameters do not fit; acknowledge it with code 01.

Device role: while a reply is owed (state REPLY_DUE) ``next_event()`` returns ``PAUSED``;
send the Reply, then keep reading (h11's rule: bytes after a request wait for its response).

Connection attributes: ``role``, ``state`` (:class:`State`), ``pending``, ``address``,
``packet_size``, ``baudrate``, ``opcodes``, ``password``/``locked``/``password_verified``
(device), ``password_refused``/``awaiting_handshake`` (host), ``reply_due`` (seconds or None),
``bytes_expected``, ``trailing_data``; methods ``reset()`` (power cycle / lost sync) and
``cancel()`` (give up on the exchange after a timeout).

Errors: :class:`~protocol.errors.LocalProtocolError` (we misused the API: wrong state, bad
parameters), :class:`~protocol.errors.RemoteProtocolError` (a valid frame that breaks the
exchange; the connection stays usable).  Garbage never raises: it becomes ``Skipped``.

Schemas (``schema``): ``Frame``, ``CommandFrame``, ``AckFrame``, ``DataFrame``,
``CommandContent``, ``ReplyContent``, ``COMMAND_PARAMS``, ``REPLY_PAYLOADS``, ``SysParaBlock``,
``ProdInfo``, ``IndexTableBits`` and build/parse helpers.  Codes (``codes``): ``Instruction``,
``Confirmation``, ``CONFIRMATIONS``, ``OpcodeTable``/``OPCODE_TABLES`` per model,
``REPLY_PAYLOAD_SIZE``, ``REPLY_TIME``, ``PACKET_SIZES``.
"""

from protocol.ef01.codes import (
    CONFIRMATIONS,
    DEFAULT_ADDRESS,
    DEFAULT_BAUDRATE,
    DOWNLOAD_INSTRUCTIONS,
    HANDSHAKE_BYTE,
    OPCODE_TABLES,
    PACKET_SIZES,
    REPLY_PAYLOAD_SIZE,
    REPLY_TIME,
    UPLOAD_INSTRUCTIONS,
    Confirmation,
    ConfirmationInfo,
    Instruction,
    OpcodeTable,
    PacketId,
    SysParam,
    describe_confirmation,
    opcode_table,
    packet_code_from_size,
    packet_size_from_code,
    reply_content_size,
)
from protocol.ef01.connection import (
    NEED_DATA,
    PAUSED,
    TRANSITIONS,
    Command,
    Connection,
    DataPacket,
    DataTransfer,
    Event,
    InvalidCommand,
    NeedData,
    RawByte,
    Reply,
    Role,
    Signal,
    Skipped,
    State,
)
from protocol.ef01.schema import (
    COMMAND_PARAMS,
    HEADER,
    MAX_CONTENT,
    REPLY_PAYLOADS,
    AckFrame,
    CommandContent,
    CommandFrame,
    DataFrame,
    Frame,
    IndexTableBits,
    ProdInfo,
    ReplyContent,
    SysParaBlock,
    build_command,
    build_data_frame,
    build_frame,
    build_index_table,
    build_reply,
    checksum16,
    index_table_slots,
    parse_command,
    parse_data_frame,
    parse_frame,
    parse_reply,
)

__all__ = [
    # connection
    "Connection", "Role", "State", "Signal", "NeedData", "NEED_DATA", "PAUSED", "TRANSITIONS",
    "Event",
    "Command", "InvalidCommand", "Reply", "DataPacket", "DataTransfer", "RawByte", "Skipped",
    # codes
    "Instruction", "Confirmation", "ConfirmationInfo", "CONFIRMATIONS", "describe_confirmation",
    "PacketId", "SysParam", "OpcodeTable", "OPCODE_TABLES", "opcode_table", "REPLY_PAYLOAD_SIZE",
    "reply_content_size", "REPLY_TIME", "UPLOAD_INSTRUCTIONS", "DOWNLOAD_INSTRUCTIONS",
    "PACKET_SIZES", "packet_size_from_code", "packet_code_from_size", "HANDSHAKE_BYTE",
    "DEFAULT_ADDRESS", "DEFAULT_BAUDRATE",
    # schema
    "HEADER", "MAX_CONTENT", "checksum16", "Frame", "CommandFrame", "AckFrame", "DataFrame",
    "CommandContent", "ReplyContent", "COMMAND_PARAMS", "REPLY_PAYLOADS", "SysParaBlock",
    "ProdInfo", "IndexTableBits", "build_frame", "parse_frame", "build_command", "parse_command",
    "build_reply", "parse_reply", "build_data_frame", "parse_data_frame", "index_table_slots",
    "build_index_table",
]
