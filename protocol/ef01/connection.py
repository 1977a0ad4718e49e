"""Sans-I/O EF01 connection (h11 style) for the host role and the device role.

Feed received bytes with :meth:`Connection.receive_data`, pull typed events with
:meth:`Connection.next_event` until it returns :data:`NEED_DATA`; turn events you want to send
into bytes with :meth:`Connection.send`.  No I/O, no clocks: :attr:`Connection.reply_due` says
how long the awaited reply may take, and the layer above enforces it.

Exchanges tracked (the state table is :data:`TRANSITIONS`):

* command -> acknowledge (fixed length per instruction, also on errors);
* upload (UpChar, UpImage, ReadINFpage): OK ack, then data packets 02..02 08 from the module;
  the host role reports each as :class:`DataPacket` and all of them as one :class:`DataTransfer`;
* download (DownChar, DownImage): OK ack, then the HOST sends data packets and the module
  answers nothing;
* SoftRst: OK ack, then the single raw byte 0x55 (:class:`RawByte`), which R503-class modules
  also send after power-up.

The receiver hunts past garbage and false headers to the next valid frame (pymodbus-style) and
reports what it threw away as one :class:`Skipped` event per run of discarded bytes.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, Union

from protocol.ef01.codes import (
    DEFAULT_ADDRESS,
    DEFAULT_BAUDRATE,
    DOWNLOAD_INSTRUCTIONS,
    HANDSHAKE_BYTE,
    PACKET_SIZES,
    REPLY_TIME,
    UPLOAD_INSTRUCTIONS,
    Confirmation,
    ConfirmationInfo,
    Instruction,
    OpcodeTable,
    PacketId,
    describe_confirmation,
    opcode_table,
    reply_content_size,
)
from protocol.ef01.schema import (
    HEADER,
    HEADER_SIZE,
    MAX_CONTENT,
    build_command,
    build_data_frame,
    build_reply,
    parse_command,
    parse_data_frame,
    parse_reply,
)
from protocol.ef01.schema import _zero_fill
from protocol.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "Role",
    "State",
    "Signal",
    "NeedData",
    "NEED_DATA",
    "PAUSED",
    "Command",
    "InvalidCommand",
    "Reply",
    "DataPacket",
    "DataTransfer",
    "RawByte",
    "Skipped",
    "Event",
    "Connection",
    "TRANSITIONS",
]


class Role(enum.Enum):
    HOST = "host"
    DEVICE = "device"


class State(enum.Enum):
    IDLE = "idle"                       # host may send a command / device waits for one
    AWAIT_REPLY = "await-reply"         # host: command sent, acknowledge due
    REPLY_DUE = "reply-due"             # device: command received, must acknowledge
    SENDING_DATA = "sending-data"       # this side must send the data packets of a transfer
    RECEIVING_DATA = "receiving-data"   # data packets of a transfer are coming in


class Signal(enum.Enum):
    """Results of :meth:`Connection.next_event` that are not events (as in h11)."""

    #: feed more bytes with receive_data()
    NEED_DATA = "NEED_DATA"
    #: device role: a reply is owed; further buffered bytes wait until it is sent
    PAUSED = "PAUSED"


NeedData = Signal  # the name of this enum in the first API cut
NEED_DATA = Signal.NEED_DATA
PAUSED = Signal.PAUSED

#: (role, state, what happens) -> next state; documentation and tests read the same table
TRANSITIONS: Mapping[tuple[Role, State, str], State] = MappingProxyType({
    (Role.HOST, State.IDLE, "send Command"): State.AWAIT_REPLY,
    (Role.HOST, State.AWAIT_REPLY, "receive Reply"): State.IDLE,
    (Role.HOST, State.AWAIT_REPLY, "receive OK Reply to an upload"): State.RECEIVING_DATA,
    (Role.HOST, State.AWAIT_REPLY, "receive OK Reply to a download"): State.SENDING_DATA,
    (Role.HOST, State.RECEIVING_DATA, "receive last DataPacket"): State.IDLE,
    (Role.HOST, State.SENDING_DATA, "send last DataPacket"): State.IDLE,
    (Role.DEVICE, State.IDLE, "receive Command"): State.REPLY_DUE,
    (Role.DEVICE, State.REPLY_DUE, "send Reply"): State.IDLE,
    (Role.DEVICE, State.REPLY_DUE, "send OK Reply to an upload"): State.SENDING_DATA,
    (Role.DEVICE, State.REPLY_DUE, "send OK Reply to a download"): State.RECEIVING_DATA,
    (Role.DEVICE, State.SENDING_DATA, "send last DataPacket"): State.IDLE,
    (Role.DEVICE, State.RECEIVING_DATA, "receive last DataPacket"): State.IDLE,
    (Role.DEVICE, State.RECEIVING_DATA, "receive Command (aborts the download)"): State.REPLY_DUE,
})


class _FieldAccess:
    """``event.score`` reads ``event.fields["score"]`` (or params): convenience for callers."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("params", "fields"):
            raise AttributeError(name)
        values = getattr(self, "params", None)
        if values is None:
            values = getattr(self, "fields", None)
        if values is not None and name in values:
            return values[name]
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")


@dataclass(frozen=True, slots=True)
class Command(_FieldAccess):
    """A command packet.  ``instruction`` is an Instruction, or a raw int opcode the model's
    table lacks (its params are then ``{"raw": bytes}``).  ``address`` None = the connection's."""

    instruction: Instruction | int
    params: Mapping[str, Any] = field(default_factory=dict)
    address: int | None = None


@dataclass(frozen=True, slots=True)
class InvalidCommand:
    """Device role: a command frame with a valid checksum whose parameters do not fit the
    instruction (wrong length).  The module must still acknowledge it (code 01, fixed length)."""

    instruction: Instruction | int
    content: bytes
    address: int
    reason: str


@dataclass(frozen=True, slots=True)
class Reply(_FieldAccess):
    """An acknowledge: confirmation ``code`` and the instruction's payload ``fields``."""

    instruction: Instruction | int
    code: int = Confirmation.OK
    fields: Mapping[str, Any] = field(default_factory=dict)
    address: int | None = None

    @property
    def ok(self) -> bool:
        return self.code == Confirmation.OK

    @property
    def confirmation(self) -> Confirmation | int:
        try:
            return Confirmation(self.code)
        except ValueError:
            return self.code

    @property
    def info(self) -> ConfirmationInfo:
        """Plain meaning and advice for the confirmation code."""
        return describe_confirmation(self.code)


@dataclass(frozen=True, slots=True)
class DataPacket:
    """One data packet (id 02, or 08 when ``last``)."""

    data: bytes
    last: bool = False
    address: int | None = None


@dataclass(frozen=True, slots=True)
class DataTransfer:
    """All data packets of one upload or download, joined (after the :class:`DataPacket` events).

    To send, give the whole data: the connection splits it at :attr:`Connection.packet_size`."""

    instruction: Instruction | int
    data: bytes
    packets: int = 0
    address: int | None = None


@dataclass(frozen=True, slots=True)
class RawByte:
    """The single unframed byte (0x55) a module sends after power-up or SoftRst."""

    value: int = HANDSHAKE_BYTE


@dataclass(frozen=True, slots=True)
class Skipped:
    """Bytes the receiver threw away while hunting for a valid frame, and why."""

    data: bytes
    reason: str


Event = Union[Command, InvalidCommand, Reply, DataPacket, DataTransfer, RawByte, Skipped]


def _wire_time(nbytes: int, baudrate: int) -> float:
    return nbytes * 10 / baudrate  # 8N1: 10 bit times per byte


class Connection:
    """One end of an EF01 link.

    ``model`` chooses the opcode table ("standard", "r307", "r503", "as608" or an
    :class:`OpcodeTable`).  ``address`` is the module's address (a device ignores frames for
    other addresses; a host ignores replies from other modules).  ``packet_size`` is the data
    packet size in bytes (32/64/128/256); change it when the module's setting changes.
    ``baudrate`` only feeds :attr:`reply_due`.  ``password`` (device role) arms the lock.
    """

    def __init__(self, role: Role, *, address: int = DEFAULT_ADDRESS, model: str | OpcodeTable = "standard",
                 packet_size: int = 128, baudrate: int = DEFAULT_BAUDRATE, password: int = 0) -> None:
        if not isinstance(role, Role):
            raise LocalProtocolError(f"role must be Role.HOST or Role.DEVICE, not {role!r}")
        self.role = role
        self.opcodes = opcode_table(model)
        self.address = self._check_address(address)
        self.packet_size = packet_size
        self.baudrate = baudrate
        #: device role: the module password (non-zero = VfyPwd needed first)
        self.password = password
        #: True after a VfyPwd acknowledged OK (until reset)
        self.password_verified = False
        #: host role: the module refused a command with 0x21 since the last VfyPwd
        self.password_refused = False
        #: host role: a SoftRst was acknowledged and its 0x55 has not arrived yet
        self.awaiting_handshake = False
        self.state = State.IDLE
        self.pending: Instruction | int | None = None
        self._pending_params: Mapping[str, Any] = {}
        self._reply_address: int = self.address
        self._buf = bytearray()
        self._events: deque[Event] = deque()
        self._skipped = bytearray()
        self._skip_reasons: list[str] = []
        self._transfer = bytearray()
        self._transfer_packets = 0

    # -- configuration -----------------------------------------------------------------------
    @property
    def packet_size(self) -> int:
        return self._packet_size

    @packet_size.setter
    def packet_size(self, size: int) -> None:
        if size not in PACKET_SIZES:
            raise LocalProtocolError(f"data packet size must be one of {PACKET_SIZES}, not {size!r}")
        self._packet_size = size

    @staticmethod
    def _check_address(address: int) -> int:
        if not isinstance(address, int) or not 0 <= address <= 0xFFFFFFFF:
            raise LocalProtocolError(f"module address must be a 32-bit unsigned int, not {address!r}")
        return address

    @property
    def locked(self) -> bool:
        """Device role: the password lock is armed and not yet opened by VfyPwd."""
        return self.password != 0 and not self.password_verified

    def reset(self) -> None:
        """Forget buffered bytes and the exchange in progress (power cycle, lost sync).

        The password must be verified again; address, packet size and model stay."""
        self._buf.clear()
        self._events.clear()
        self._skipped.clear()
        self._skip_reasons.clear()
        self._end_exchange()
        self.password_verified = False
        self.password_refused = False
        self.awaiting_handshake = False

    def cancel(self) -> None:
        """Give up on the exchange in progress (e.g. after a timeout); keeps buffered bytes.

        A late reply that then arrives is reported as :class:`Skipped`."""
        self._end_exchange()
        self.awaiting_handshake = False

    def _end_exchange(self) -> None:
        self.state = State.IDLE
        self.pending = None
        self._pending_params = {}
        self._reply_address = self.address
        self._transfer.clear()
        self._transfer_packets = 0

    # -- deadlines ----------------------------------------------------------------------------
    @property
    def reply_due(self) -> float | None:
        """Host role: seconds the awaited reply, data packet or 0x55 byte may take to arrive
        (processing time from the data sheets + wire time at :attr:`baudrate`); None if
        nothing is awaited."""
        if self.role is not Role.HOST:
            return None
        if self.state is State.AWAIT_REPLY:
            budget = REPLY_TIME.get(self.pending, 1.0) if isinstance(self.pending, Instruction) else 1.0
            return budget + _wire_time(HEADER_SIZE + 2 + reply_content_size(self.pending), self.baudrate)
        if self.state is State.RECEIVING_DATA:
            return 0.5 + _wire_time(HEADER_SIZE + 2 + self.packet_size, self.baudrate)
        if self.awaiting_handshake:
            return 1.0
        return None

    @property
    def bytes_expected(self) -> int | None:
        """Host role: size of the acknowledge frame now awaited (fixed per instruction)."""
        if self.role is Role.HOST and self.state is State.AWAIT_REPLY:
            return HEADER_SIZE + 2 + reply_content_size(self.pending)
        return None

    # -- receiving ----------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Add received bytes (any split; b"" is ignored: a serial line has no end of file)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise LocalProtocolError(f"receive_data takes bytes, not {type(data).__name__}")
        self._buf += data

    @property
    def trailing_data(self) -> bytes:
        """Bytes received and not yet turned into events."""
        return bytes(self._buf)

    def next_event(self) -> Event | Signal:
        """The next event, NEED_DATA, or (device role, while a reply is owed) PAUSED.

        Raises RemoteProtocolError for a valid frame that breaks the exchange (the connection
        stays usable: the exchange is abandoned)."""
        while True:
            if self._events:
                return self._events.popleft()
            if self.role is Role.DEVICE and self.state is State.REPLY_DUE:
                # what follows a command (e.g. DownChar's data) is read after the reply is sent
                return PAUSED
            frame_events = self._step()
            if frame_events is None:
                if self._skipped:
                    return self._flush_skipped()
                return NEED_DATA
            if not frame_events:
                continue
            if self._skipped:
                self._events.extend(frame_events)
                return self._flush_skipped()
            self._events.extend(frame_events)

    def _skip(self, data: bytes | bytearray, reason: str) -> None:
        self._skipped += data
        if reason not in self._skip_reasons:
            self._skip_reasons.append(reason)

    def _flush_skipped(self) -> Skipped:
        ev = Skipped(bytes(self._skipped), "; ".join(self._skip_reasons))
        self._skipped.clear()
        self._skip_reasons.clear()
        return ev

    def _frame_at(self, pos: int) -> int | str | None:
        """Length of a complete, checksum-valid frame at ``pos``; a reason (str) if it is
        certainly not one; None if more bytes are needed to tell."""
        buf = self._buf
        if len(buf) - pos < HEADER_SIZE:
            return None
        length = (buf[pos + 7] << 8) | buf[pos + 8]
        if buf[pos + 6] not in _PACKET_IDS or not 3 <= length <= MAX_CONTENT + 2:
            return _FALSE_HEADER
        total = HEADER_SIZE + length
        if len(buf) - pos < total:
            return None
        body_end = pos + total - 2
        if (sum(buf[pos + 6:body_end]) & 0xFFFF) != ((buf[body_end] << 8) | buf[body_end + 1]):
            return _BAD_CHECKSUM
        return total

    def _step(self) -> list[Event] | None:
        """Consume one frame (or a run of garbage).  None = need more bytes."""
        buf = self._buf
        if not buf:
            return None
        if self.role is Role.HOST and buf[0] == HANDSHAKE_BYTE:
            del buf[0]
            self.awaiting_handshake = False
            return [RawByte(HANDSHAKE_BYTE)]
        start = buf.find(HEADER)
        if start != 0:
            end = start if start > 0 else len(buf) - (1 if buf[-1] == HEADER[0] else 0)
            if self.role is Role.HOST:  # a 0x55 inside the run is reported on its own
                h = buf.find(HANDSHAKE_BYTE, 0, end)
                end = h if h > 0 else end
            if end == 0:
                return None
            self._skip(buf[:end], _STRAY)
            del buf[:end]
            return []
        size = self._frame_at(0)
        if isinstance(size, str):
            self._skip(buf[:2], size)
            del buf[:2]
            return []
        if size is None:
            # a complete valid frame further on proves this header false (frames never overlap)
            pos = buf.find(HEADER, 2)
            while pos > 0:
                if isinstance(self._frame_at(pos), int):
                    self._skip(buf[:pos], _TRUNCATED)
                    del buf[:pos]
                    return []
                pos = buf.find(HEADER, pos + 1)
            return None
        frame = bytes(buf[:size])
        del buf[:size]
        return self._dispatch(frame)

    def _dispatch(self, frame: bytes) -> list[Event]:
        pid = frame[6]
        address = int.from_bytes(frame[2:6], "big")
        if self.role is Role.DEVICE:
            if address != self.address:
                self._skip(frame, f"frame for another module (address {address:08X})")
                return []
            if pid == PacketId.COMMAND:
                return self._device_command(frame, address)
            if pid in (PacketId.DATA, PacketId.END_DATA) and self.state is State.RECEIVING_DATA:
                return self._data(frame)
            self._skip(frame, "acknowledge or data packet the module did not expect")
            return []
        # host
        if pid == PacketId.ACK and self.state is State.AWAIT_REPLY:
            if address not in (self._reply_address, self.address):
                self._skip(frame, f"reply from another module (address {address:08X})")
                return []
            return self._host_reply(frame, address)
        if pid in (PacketId.DATA, PacketId.END_DATA) and self.state is State.RECEIVING_DATA:
            if address != self.address:
                self._skip(frame, f"data from another module (address {address:08X})")
                return []
            return self._data(frame)
        if self.state is State.RECEIVING_DATA:
            self._end_exchange()
            raise RemoteProtocolError("the module interrupted its data transfer with another packet; "
                                      "the upload is incomplete: repeat it")
        self._skip(frame, "packet nobody was waiting for (a late reply?)")
        return []

    def _device_command(self, frame: bytes, address: int) -> list[Event]:
        # a command during a download aborts it (the host gave up); the new command wins
        self._end_exchange()
        opcode = frame[HEADER_SIZE]
        ins = self.opcodes.decode(opcode)
        key: Instruction | int = ins if ins is not None else opcode
        self.state = State.REPLY_DUE
        self.pending = key
        try:
            _, instruction, params = parse_command(frame, self.opcodes)
        except RemoteProtocolError as exc:
            return [InvalidCommand(key, frame[HEADER_SIZE:-2], address, str(exc))]
        self._pending_params = params
        return [Command(instruction, params, address)]

    def _host_reply(self, frame: bytes, address: int) -> list[Event]:
        ins = self.pending
        assert ins is not None
        schema_key = ins if isinstance(ins, Instruction) else None
        content = frame[HEADER_SIZE:-2]
        if len(content) == 1 and content[0] != Confirmation.OK and reply_content_size(ins) > 1:
            # tolerated: some firmware answers errors with a bare confirmation code
            code, fields = content[0], _zero_fields(schema_key)
        else:
            try:
                _, code, fields = parse_reply(frame, schema_key)
            except RemoteProtocolError:
                self._end_exchange()
                raise
        params = self._pending_params
        self._end_exchange()
        if code == Confirmation.OK:
            if ins is Instruction.SET_ADDER:
                self.address = params["new_address"]
            elif ins is Instruction.VFY_PWD:
                self.password_verified, self.password_refused = True, False
            elif ins is Instruction.SOFT_RST:
                self.awaiting_handshake = True
                self.password_verified = False
            elif ins in UPLOAD_INSTRUCTIONS:
                self.state, self.pending = State.RECEIVING_DATA, ins
            elif ins in DOWNLOAD_INSTRUCTIONS:
                self.state, self.pending = State.SENDING_DATA, ins
        elif code == Confirmation.PASSWORD_REQUIRED:
            self.password_refused = True
        return [Reply(ins, code, fields, address)]

    def _data(self, frame: bytes) -> list[Event]:
        address, data, last = parse_data_frame(frame)
        if self.role is Role.DEVICE and len(data) > self.packet_size:
            self._end_exchange()
            raise RemoteProtocolError(
                f"data packet of {len(data)} bytes is larger than the module's packet size "
                f"{self.packet_size}; the download is abandoned: use the packet size ReadSysPara reports")
        self._transfer += data
        self._transfer_packets += 1
        events: list[Event] = [DataPacket(data, last, address)]
        if last:
            events.append(DataTransfer(self.pending, bytes(self._transfer), self._transfer_packets, address))
            self._end_exchange()
        return events

    # -- sending ------------------------------------------------------------------------------
    def send(self, event: Event) -> bytes:
        """Bytes for ``event``; raises LocalProtocolError if it is not ours to send now."""
        if self.role is Role.HOST:
            return self._send_host(event)
        return self._send_device(event)

    def _send_host(self, event: Event) -> bytes:
        if isinstance(event, Command):
            if self.state is not State.IDLE:
                raise LocalProtocolError(
                    f"cannot send {_label(event.instruction)} now: the connection is in state "
                    f"{self.state.value} ({_label(self.pending)}); finish or cancel() that exchange first")
            address = self._check_address(event.address if event.address is not None else self.address)
            data = build_command(address, event.instruction, event.params, self.opcodes)
            self.state, self.pending = State.AWAIT_REPLY, event.instruction
            self._pending_params = dict(event.params)
            self._reply_address = address
            if event.instruction is Instruction.SET_ADDER:
                self._reply_address = event.params.get("new_address", address)
            return data
        if isinstance(event, (DataTransfer, DataPacket)):
            return self._send_data(event)
        raise LocalProtocolError(f"a host does not send {type(event).__name__} events")

    def _send_device(self, event: Event) -> bytes:
        if isinstance(event, RawByte):
            return bytes([event.value])
        if isinstance(event, Reply):
            if self.state is not State.REPLY_DUE or not _same(event.instruction, self.pending):
                raise LocalProtocolError(
                    f"cannot send a reply to {_label(event.instruction)}: state {self.state.value}, "
                    f"awaiting a reply to {_label(self.pending)}")
            ins = self.pending
            params = self._pending_params
            if event.code == Confirmation.OK and ins is Instruction.SET_ADDER:
                # the acknowledge already comes from the new address
                self.address = self._check_address(params["new_address"])
            address = event.address if event.address is not None else self.address
            data = build_reply(address, ins if isinstance(ins, Instruction) else None, event.code, event.fields)
            self._end_exchange()
            if event.code == Confirmation.OK:
                if ins is Instruction.VFY_PWD:
                    self.password_verified = True
                elif ins is Instruction.SET_PWD:
                    # the session that set the password stays open until the next reset
                    self.password_verified = self.password_verified or not self.locked
                    self.password = params["password"]
                elif ins in UPLOAD_INSTRUCTIONS:
                    self.state, self.pending = State.SENDING_DATA, ins
                elif ins in DOWNLOAD_INSTRUCTIONS:
                    self.state, self.pending = State.RECEIVING_DATA, ins
            return data
        if isinstance(event, (DataTransfer, DataPacket)):
            return self._send_data(event)
        raise LocalProtocolError(f"a module does not send {type(event).__name__} events")

    def _send_data(self, event: DataTransfer | DataPacket) -> bytes:
        if self.state is not State.SENDING_DATA:
            raise LocalProtocolError(f"cannot send data packets in state {self.state.value}: data "
                                     "follows only an OK acknowledge of an upload or download")
        if isinstance(event, DataTransfer) and not _same(event.instruction, self.pending):
            raise LocalProtocolError(f"the transfer in progress is {_label(self.pending)}, "
                                     f"not {_label(event.instruction)}")
        data = bytes(event.data)
        if not data:
            raise LocalProtocolError("EF01 has no empty data packets: send at least one byte")
        address = event.address if event.address is not None else self.address
        size = self.packet_size
        if isinstance(event, DataPacket):
            if len(data) > size:
                raise LocalProtocolError(f"data packet of {len(data)} bytes exceeds the packet size {size}")
            out = build_data_frame(address, data, event.last)
            if event.last:
                self._end_exchange()
            return out
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        out = b"".join(build_data_frame(address, c, i == len(chunks) - 1) for i, c in enumerate(chunks))
        self._end_exchange()
        return out


_PACKET_IDS = frozenset(int(p) for p in PacketId)
# Skipped.reason texts: what a technician should suspect
_STRAY = "stray bytes (line noise, wrong baud rate, a console on the UART, or a lost frame's tail)"
_FALSE_HEADER = "false header (EF 01 inside garbage)"
_BAD_CHECKSUM = "bad checksum (a corrupted frame: check wiring, ground and baud rate)"
_TRUNCATED = "truncated frame or false header (bytes were lost)"


def _same(a: Instruction | int | None, b: Instruction | int | None) -> bool:
    return a is not None and b is not None and int(a) == int(b) and type(a) is type(b)


def _label(ins: Instruction | int | None) -> str:
    if isinstance(ins, Instruction):
        return ins.name
    if ins is None:
        return "nothing"
    return f"opcode 0x{ins:02X}"


def _zero_fields(instruction: Instruction | None) -> dict[str, Any]:
    return _zero_fill(instruction, {})  # one definition of "zero-filled payload"
