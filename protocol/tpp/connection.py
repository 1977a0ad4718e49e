"""Sans-I/O TPP connection for both ends of the link (h11 style; SPEC sections 3, 4 and 7).

Bytes in with :meth:`TppConnection.receive_data`, typed events out with
:meth:`TppConnection.next_event` (a message dataclass, a link event such as
:class:`Resynchronised`, or :data:`NEED_DATA`); messages in with :meth:`TppConnection.send`,
which returns the bytes to write.  The connection acknowledges every data frame, retransmits
unacknowledged frames, drops duplicates, hunts past garbage, tracks the pad's mode with the
state TABLE below, and reports deadlines as numbers: it never reads a clock, every method that
needs the time takes ``now`` (seconds, any monotonic origin) from the caller.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Iterable, Union

from protocol.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from protocol.pinblock import PAN_MAX_LENGTH, PAN_MIN_LENGTH, PinBlockFormat
from protocol.tpp import messages as m
from protocol.tpp.codes import (
    DIGIT_KEYS,
    FRAME_OVERHEAD,
    HEADER_SIZE,
    MAX_PAYLOAD,
    MAX_TIME_LIMIT,
    PROTOCOL_VERSION,
    SOF,
    LoadKind,
    MessageType,
    ResultCode,
    State,
    Tone,
    Version,
)
from protocol.tpp.prompts import LANGUAGES, PROMPTS
from protocol.tpp.schema import (
    FRAME,
    BadMessageError,
    ack_payload,
    build_frame,
    crc8,
    crc16,
    decode_message,
    encode_message,
)

__all__ = [
    "Role",
    "NeedData",
    "NEED_DATA",
    "Trigger",
    "TRANSITIONS",
    "ALLOWED",
    "REPORTED",
    "Resynchronised",
    "DeliveryFailed",
    "RequestTimedOut",
    "LateResponse",
    "UnexpectedResponse",
    "LinkEvent",
    "TppEvent",
    "TppConnection",
    "check_request",
    "negotiate_version",
    "trigger_of",
    "ACK_TIMEOUT",
    "MAX_RETRIES",
    "RESPONSE_TIMEOUT",
    "DUPLICATE_WINDOW",
    "ack_timeout_for",
]

#: base acknowledgement timeout in seconds (plus the frame's time on the wire at low baud)
ACK_TIMEOUT = 0.2
#: retransmissions after the first transmission (so at most 1 + MAX_RETRIES transmissions)
MAX_RETRIES = 3
#: seconds from a request's first transmission to its response
RESPONSE_TIMEOUT = 3.0
_ACK_FRAME_SIZE = FRAME_OVERHEAD + 2
_RECENT_EXPIRED = 32
#: seconds after which a receiver forgets the last accepted (SEQ, CRC): longer than any
#: sender's whole retransmission span (4 transmissions of a 1033-byte frame at 9600 baud)
DUPLICATE_WINDOW = 6.0
_MAX_UNANSWERED = 16


def ack_timeout_for(frame_size: int, baudrate: int | None) -> float:
    """ACK timeout of one frame: 200 ms plus the time the frame and its ACK spend on the wire
    (10 bit times per byte) at ``baudrate``; 200 ms flat on USB (baudrate None)."""
    wire = 0.0 if not baudrate else (frame_size + _ACK_FRAME_SIZE) * 10.0 / baudrate
    return ACK_TIMEOUT + wire


class Role(enum.Enum):
    HOST = "host"
    DEVICE = "device"


class NeedData(enum.Enum):
    """What next_event() returns when it needs more bytes."""

    NEED_DATA = "NEED_DATA"


NEED_DATA = NeedData.NEED_DATA


# -- link events (not messages) -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Resynchronised:
    """``skipped`` bytes that were not part of any valid frame were discarded before the
    frame that follows (line noise, a wrong baud rate, a peer restarting mid-frame)."""

    skipped: int


@dataclass(frozen=True, slots=True)
class DeliveryFailed:
    """A frame was sent 1 + MAX_RETRIES times without an acknowledgement and is given up."""

    seq: int
    message: m.Message
    attempts: int


@dataclass(frozen=True, slots=True)
class RequestTimedOut:
    """A request was acknowledged (or not) but no response arrived in time."""

    seq: int
    request: m.Request


@dataclass(frozen=True, slots=True)
class LateResponse:
    """A response arrived after its request had timed out: for logs only."""

    request_seq: int
    message: m.Response


class UnexpectedResponse(RemoteProtocolError):
    """A response to a request seq this host has no record of (never sent by this session, or
    long expired): a stale frame still on the line from an earlier session, or another
    program on the same port.  It never answers anything; ``request_seq`` is its REF."""

    def __init__(self, message: str, request_seq: int) -> None:
        super().__init__(message)
        self.request_seq = request_seq


LinkEvent = Union[Resynchronised, DeliveryFailed, RequestTimedOut, LateResponse]
TppEvent = Union[m.Message, LinkEvent]


# -- the state TABLE (SPEC section 7 renders it) -------------------------------------------------
class Trigger(enum.Enum):
    """What moves the pad's mode: a success response to a request, or an event."""

    HELLO_REPLY = "HelloReply"
    STATUS_REPLY = "DeviceStatus"
    RESET_DONE = "Done(Reset)"
    POWER_ON = "PowerOn"
    TAMPER = "Tamper"
    AUDIO_EVENT = "HeadsetChanged / SpeechEnded"
    EXPLORE_STARTED = "Done(ExploreStart)"
    EXPLORE_STOPPED = "Done(ExploreStop)"
    PIN_ENTRY_STARTED = "Done(PinEntry)"
    PIN_CHANGE_STARTED = "Done(PinChange)"
    CANCEL_DONE = "Done(CancelEntry)"
    NAMED_KEY = "KeyPressed (not a digit)"
    DIGIT_KEY_NAMED = "KeyPressed (a digit)"
    ENTRY_READY = "EntryReady"
    DIGIT_ENTERED = "DigitEntered"
    TIME_NOTICE = "TimeWarning / TimeExtended"
    PIN_CHANGE_MISMATCH = "PinChangeMismatch"
    PIN_ENTRY_COMPLETED = "PinEntryCompleted"
    PIN_CHANGE_COMPLETED = "PinChangeCompleted"


#: marks a transition to the mode the message itself reports (HelloReply.mode, DeviceStatus.mode)
REPORTED = None

_S = State
_ALL = tuple(State)
_SESSION = (_S.IDLE, _S.EXPLORE, _S.PIN_ENTRY, _S.PIN_CHANGE)
_ENTRY = (_S.PIN_ENTRY, _S.PIN_CHANGE)


def _table() -> dict[tuple[State, Trigger], State | None]:
    t: dict[tuple[State, Trigger], State | None] = {}
    for s in _ALL:
        t[s, Trigger.HELLO_REPLY] = REPORTED
        t[s, Trigger.STATUS_REPLY] = REPORTED
        t[s, Trigger.RESET_DONE] = _S.STARTING
        t[s, Trigger.POWER_ON] = _S.STARTING
        t[s, Trigger.TAMPER] = _S.TAMPERED
        t[s, Trigger.AUDIO_EVENT] = s
    t[_S.IDLE, Trigger.EXPLORE_STARTED] = _S.EXPLORE
    t[_S.EXPLORE, Trigger.EXPLORE_STOPPED] = _S.IDLE
    t[_S.IDLE, Trigger.PIN_ENTRY_STARTED] = _S.PIN_ENTRY
    t[_S.IDLE, Trigger.PIN_CHANGE_STARTED] = _S.PIN_CHANGE
    t[_S.IDLE, Trigger.CANCEL_DONE] = _S.IDLE
    t[_S.EXPLORE, Trigger.CANCEL_DONE] = _S.IDLE
    for s in _ENTRY:
        # the completion event that follows Done(CancelEntry) ends the entry
        t[s, Trigger.CANCEL_DONE] = s
        t[s, Trigger.ENTRY_READY] = s
        t[s, Trigger.DIGIT_ENTERED] = s
        t[s, Trigger.TIME_NOTICE] = s
    for s in _SESSION:
        t[s, Trigger.NAMED_KEY] = s
    t[_S.EXPLORE, Trigger.DIGIT_KEY_NAMED] = _S.EXPLORE
    t[_S.PIN_CHANGE, Trigger.PIN_CHANGE_MISMATCH] = _S.PIN_CHANGE
    t[_S.PIN_ENTRY, Trigger.PIN_ENTRY_COMPLETED] = _S.IDLE
    t[_S.PIN_CHANGE, Trigger.PIN_CHANGE_COMPLETED] = _S.IDLE
    return t


#: (mode, trigger) -> next mode (REPORTED: the mode the message states).  A trigger not listed
#: for a mode is a protocol violation: LocalProtocolError for the pad sending it,
#: RemoteProtocolError for the host receiving it.
TRANSITIONS: dict[tuple[State, Trigger], State | None] = _table()

_MT = MessageType
#: request type -> modes in which the pad may carry it out (elsewhere it answers Refused with
#: the code :func:`check_request` gives)
ALLOWED: dict[MessageType, frozenset[State]] = {
    **{t: frozenset(_ALL) for t in (_MT.HELLO, _MT.GET_INFO, _MT.GET_STATUS, _MT.RESET)},
    **{t: frozenset((*_SESSION, _S.TAMPERED)) for t in (_MT.GET_LAYOUT, _MT.GET_KEY_INFO)},
    _MT.EXPLORE_START: frozenset({_S.IDLE}),
    _MT.SET_LANGUAGE: frozenset({_S.IDLE, _S.EXPLORE}),
    _MT.SET_FEEDBACK: frozenset({_S.IDLE, _S.EXPLORE}),
    _MT.EXPLORE_STOP: frozenset({_S.EXPLORE}),
    _MT.PIN_ENTRY: frozenset({_S.IDLE}),
    _MT.PIN_CHANGE: frozenset({_S.IDLE}),
    _MT.CANCEL_ENTRY: frozenset(_SESSION),
    _MT.EXTEND_TIME: frozenset(_ENTRY),
    _MT.GET_PIN_BLOCK: frozenset({_S.IDLE}),
    _MT.LOAD_KEY: frozenset({_S.IDLE}),
    _MT.DELETE_KEY: frozenset({_S.IDLE}),
    _MT.SPEAK: frozenset({_S.IDLE, _S.EXPLORE}),
    _MT.DISPLAY: frozenset({_S.IDLE, _S.EXPLORE}),
    **{t: frozenset(_SESSION) for t in (_MT.SPEAK_PROMPT, _MT.STOP_SPEECH, _MT.PLAY_TONE,
                                         _MT.KEYPRESS_BEEP, _MT.SET_VOLUME, _MT.HAPTIC)},
}

_DONE_TRIGGERS = {
    _MT.RESET: Trigger.RESET_DONE,
    _MT.EXPLORE_START: Trigger.EXPLORE_STARTED,
    _MT.EXPLORE_STOP: Trigger.EXPLORE_STOPPED,
    _MT.PIN_ENTRY: Trigger.PIN_ENTRY_STARTED,
    _MT.PIN_CHANGE: Trigger.PIN_CHANGE_STARTED,
    _MT.CANCEL_ENTRY: Trigger.CANCEL_DONE,
}
_EVENT_TRIGGERS: dict[type, Trigger] = {
    m.PowerOn: Trigger.POWER_ON,
    m.Tamper: Trigger.TAMPER,
    m.HeadsetChanged: Trigger.AUDIO_EVENT,
    m.SpeechEnded: Trigger.AUDIO_EVENT,
    m.EntryReady: Trigger.ENTRY_READY,
    m.DigitEntered: Trigger.DIGIT_ENTERED,
    m.TimeWarning: Trigger.TIME_NOTICE,
    m.TimeExtended: Trigger.TIME_NOTICE,
    m.PinChangeMismatch: Trigger.PIN_CHANGE_MISMATCH,
    m.PinEntryCompleted: Trigger.PIN_ENTRY_COMPLETED,
    m.PinChangeCompleted: Trigger.PIN_CHANGE_COMPLETED,
}


def trigger_of(message: m.Message) -> Trigger | None:
    """The trigger a pad message fires (None: a response that does not move the mode)."""
    if isinstance(message, m.Done):
        return _DONE_TRIGGERS.get(message.request_type)
    if isinstance(message, m.HelloReply):
        return Trigger.HELLO_REPLY
    if isinstance(message, m.DeviceStatus):
        return Trigger.STATUS_REPLY
    if isinstance(message, m.KeyPressed):
        return Trigger.DIGIT_KEY_NAMED if message.key in DIGIT_KEYS else Trigger.NAMED_KEY
    return _EVENT_TRIGGERS.get(type(message))


def negotiate_version(hello: m.Hello, device_min: Version = PROTOCOL_VERSION,
                      device_max: Version = PROTOCOL_VERSION) -> Version | None:
    """The highest version both ends speak, or None (answer UNSUPPORTED_VERSION)."""
    low = max(tuple(hello.min_version), tuple(device_min))
    high = min(tuple(hello.max_version), tuple(device_max))
    return Version(*high) if low <= high else None


def _refusal_for_mode(state: State, request_type: MessageType) -> ResultCode:
    if state is State.STARTING:
        return ResultCode.NO_SESSION
    if state is State.TAMPERED:
        return ResultCode.TAMPERED
    if request_type is _MT.GET_PIN_BLOCK:
        return ResultCode.NO_PIN
    if state in _ENTRY:
        return ResultCode.NOT_ALLOWED_DURING_PIN
    return ResultCode.NOT_ALLOWED_IN_MODE


def _check_entry(req: m.PinEntry | m.PinChange, languages: Iterable[str]) -> ResultCode:
    if not 4 <= req.min_len <= req.max_len <= 12:
        return ResultCode.BAD_PARAMETER
    if not 10 <= req.time_limit <= MAX_TIME_LIMIT:
        return ResultCode.BAD_PARAMETER
    prompt = PROMPTS.get(req.prompt)
    if prompt is None:
        return ResultCode.UNKNOWN_PROMPT
    starts = prompt.starts_change if isinstance(req, m.PinChange) else prompt.starts_entry
    if not starts:
        return ResultCode.PROMPT_NOT_ALLOWED
    if len(req.prompt_args) != prompt.arity:
        return ResultCode.BAD_PARAMETER
    if req.lang not in languages:
        return ResultCode.UNSUPPORTED_LANGUAGE
    names = [k.key for k in req.active_keys]
    if len(set(names)) != len(names):
        return ResultCode.BAD_PARAMETER
    terminate = {k.key: k.terminate for k in req.active_keys}
    # every digit key active and none terminating: identical behaviour for every digit
    if any(d not in terminate or terminate[d] for d in DIGIT_KEYS):
        return ResultCode.BAD_PARAMETER
    if not req.auto_end and not terminate.get("enter", False):
        return ResultCode.BAD_PARAMETER
    if isinstance(req, m.PinChange) and not 1 <= req.max_mismatches <= 9:
        return ResultCode.BAD_PARAMETER
    return ResultCode.OK


_LOAD_SIZES: dict[LoadKind, tuple[tuple[int, ...], tuple[int, ...]]] = {
    LoadKind.TDES_DUKPT_IPEK: ((16,), (10,)),
    LoadKind.TDES_DUKPT_BDK_TEST: ((16,), (10,)),
    LoadKind.AES_DUKPT_INITIAL: ((16, 24, 32), (8,)),
    LoadKind.AES_DUKPT_BDK_TEST: ((16, 24, 32), (8,)),
    LoadKind.TDES_FIXED: ((16, 24), (0,)),
    LoadKind.AES_FIXED: ((16, 24, 32), (0,)),
    LoadKind.SM4_FIXED: ((16,), (0,)),
}


def check_request(state: State, request: m.Request, *,
                  languages: Iterable[str] = LANGUAGES) -> ResultCode:
    """What a pad in ``state`` must answer ``request`` with, as far as the protocol decides:
    OK, or the result code of a refusal (mode rules of SPEC section 7, then the parameter rules
    of section 6).  Device-specific checks (keys present, rate limit, hardware) come after."""
    rtype = request.TYPE
    if state not in ALLOWED[rtype]:
        return _refusal_for_mode(state, rtype)
    languages = tuple(languages)
    if isinstance(request, m.Hello):
        if tuple(request.min_version) > tuple(request.max_version):
            return ResultCode.BAD_PARAMETER
        return ResultCode.OK if negotiate_version(request) else ResultCode.UNSUPPORTED_VERSION
    if isinstance(request, (m.PinEntry, m.PinChange)):
        return _check_entry(request, languages)
    if isinstance(request, (m.ExploreStart, m.SetLanguage)):
        return ResultCode.OK if request.lang in languages else ResultCode.UNSUPPORTED_LANGUAGE
    if isinstance(request, m.ExtendTime):
        return ResultCode.OK if 1 <= request.seconds <= MAX_TIME_LIMIT else ResultCode.BAD_PARAMETER
    if isinstance(request, m.GetPinBlock):
        data = request.customer_data
        if data and not (data.isascii() and data.isdigit()):
            return ResultCode.BAD_CUSTOMER_DATA
        if request.format is not PinBlockFormat.ISO1 and \
                not PAN_MIN_LENGTH <= len(data) <= PAN_MAX_LENGTH:
            return ResultCode.BAD_CUSTOMER_DATA
        return ResultCode.OK
    if isinstance(request, m.LoadKey):
        key_sizes, ksn_sizes = _LOAD_SIZES[request.kind]
        if len(request.key) not in key_sizes or len(request.ksn) not in ksn_sizes:
            return ResultCode.BAD_PARAMETER
        return ResultCode.OK
    if isinstance(request, m.Speak):
        if not request.text.strip() or not (request.rate == 0 or 50 <= request.rate <= 200) \
                or not 0 <= request.volume <= 1000:
            return ResultCode.BAD_PARAMETER
        return ResultCode.OK if request.lang in languages else ResultCode.UNSUPPORTED_LANGUAGE
    if isinstance(request, m.SpeakPrompt):
        prompt = PROMPTS.get(request.prompt)
        if prompt is None:
            return ResultCode.UNKNOWN_PROMPT
        if prompt.asks_for_pin and state not in _ENTRY:
            return ResultCode.PROMPT_NOT_ALLOWED
        if len(request.args) != prompt.arity:
            return ResultCode.BAD_PARAMETER
        return ResultCode.OK if request.lang in languages else ResultCode.UNSUPPORTED_LANGUAGE
    if isinstance(request, m.PlayTone):
        if request.tone is Tone.CUSTOM:
            ok = 100 <= request.frequency <= 8000 and 10 <= request.duration <= 3000
        else:
            ok = request.frequency == 0 and (request.duration == 0
                                             or 10 <= request.duration <= 3000)
        return ResultCode.OK if ok and request.volume <= 1000 else ResultCode.BAD_PARAMETER
    if isinstance(request, m.SetVolume):
        ok = request.volume <= 1000 and (request.rate == 0 or 50 <= request.rate <= 200)
        return ResultCode.OK if ok else ResultCode.BAD_PARAMETER
    return ResultCode.OK


# -- the connection -------------------------------------------------------------------------------
@dataclass(slots=True)
class _Outgoing:
    seq: int
    crc: int
    frame: bytes
    message: m.Message
    attempts: int = 0
    deadline: float | None = None


@dataclass(slots=True)
class _Pending:
    seq: int
    request_type: int
    request: m.Request | None = None
    sent: bool = False
    deadline: float | None = None


@dataclass(slots=True)
class _Stats:
    frames_in: int = 0
    frames_out: int = 0
    duplicates: int = 0
    retransmissions: int = 0
    skipped_bytes: int = 0


class TppConnection:
    """One end of a TPP link.  ``role``: Role.HOST (sends requests) or Role.DEVICE (the pad:
    sends responses and events).  ``baudrate`` (None on USB) scales the ACK timeout."""

    def __init__(self, role: Role, *, baudrate: int | None = None,
                 ack_timeout: float | None = None, max_retries: int = MAX_RETRIES,
                 response_timeout: float = RESPONSE_TIMEOUT, initial_seq: int = 0) -> None:
        if not isinstance(role, Role):
            raise LocalProtocolError(f"role must be Role.HOST or Role.DEVICE, not {role!r}")
        self.role = role
        self.baudrate = baudrate
        self._ack_timeout = ack_timeout
        self.max_retries = max_retries
        self.response_timeout = response_timeout
        self.state = State.STARTING
        # a pad knows its mode from its first frame; a host that opens a link to a pad that may
        # be mid-session learns it only from HelloReply, DeviceStatus, PowerOn or Tamper
        self._mode_known = role is Role.DEVICE
        #: protocol version agreed by Hello (None before)
        self.version: Version | None = None
        #: the largest payload the peer accepts (the pad announces it in HelloReply)
        self.peer_max_payload = MAX_PAYLOAD
        self.stats = _Stats()
        self._rx = bytearray()
        self._skipped = 0
        self._events: deque[TppEvent | ProtocolError] = deque()
        self._out = bytearray()
        if not 0 <= initial_seq <= 0xFF:
            raise LocalProtocolError(f"initial_seq must be 0..255, not {initial_seq!r}")
        self._tx_seq = initial_seq
        self._last_rx: tuple[int, int] | None = None
        self._last_rx_at: float | None = None
        self._outstanding: _Outgoing | None = None
        self._queue: deque[_Outgoing] = deque()
        # HOST: requests awaiting a response; DEVICE: requests the pad must still answer
        self._pending: dict[int, _Pending] = {}
        self._expired: deque[int] = deque(maxlen=_RECENT_EXPIRED)

    # -- public API -----------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the wire (any split: partial frames are kept, garbage skipped)."""
        if data:
            self._rx += data
            self._hunt()

    def next_event(self) -> TppEvent | NeedData:
        """The next event, or NEED_DATA.  Raises RemoteProtocolError (BadMessageError for an
        intact frame with a bad message) in the order the offending frame arrived; the
        connection stays usable after it."""
        if not self._events:
            return NEED_DATA
        item = self._events.popleft()
        if isinstance(item, ProtocolError):
            raise item
        return item

    def send(self, message: m.Message) -> bytes:
        """Queue ``message`` and return the bytes to write now (possibly empty while an earlier
        frame awaits its ACK: they come out of a later :meth:`data_to_send` /
        :meth:`retransmit_due`)."""
        ref = 0
        pending: _Pending | None = None
        if self.role is Role.HOST:
            if not isinstance(message, m.Request):
                raise LocalProtocolError(f"the host sends requests only, not {type(message).__name__}")
            type_byte, payload = encode_message(message)
        else:
            if isinstance(message, m.Response):
                pending = self._pending_for(message)
                type_byte, payload = encode_message(message, pending.request_type)
                ref = pending.seq
                self._apply(message, local=True, request_type=pending.request_type)
                del self._pending[pending.seq]
            elif isinstance(message, m.Event):
                type_byte, payload = encode_message(message)
                self._apply(message, local=True)
            else:
                raise LocalProtocolError(
                    f"the pad sends responses and events only, not {type(message).__name__}")
        if len(payload) > self.peer_max_payload:
            raise LocalProtocolError(f"{type(message).__name__} payload of {len(payload)} bytes "
                                     f"exceeds the peer's limit of {self.peer_max_payload}")
        seq = self._tx_seq
        self._tx_seq = (seq + 1) & 0xFF
        frame = build_frame(seq, ref, type_byte, payload)
        if self.role is Role.HOST:
            self._pending[seq] = _Pending(seq, type_byte, message)
        self._enqueue(_Outgoing(seq, crc16(frame[1:-2]), frame, message))
        return self.data_to_send()

    def data_to_send(self) -> bytes:
        """Bytes waiting to be written: ACKs for received frames, frames released by an ACK."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def next_deadline(self, now: float) -> float | None:
        """The earliest time :meth:`retransmit_due` has work (an ACK or response deadline), or
        None.  Timers of frames sent since the last call start at ``now``."""
        self._arm(now)
        times = [p.deadline for p in self._pending.values() if p.deadline is not None]
        if self._outstanding is not None and self._outstanding.deadline is not None:
            times.append(self._outstanding.deadline)
        return min(times) if times else None

    def retransmit_due(self, now: float) -> bytes | None:
        """Run the timers at ``now``: the bytes to write (a retransmission, or the next frame
        after one was given up) or None.  Gives up a frame after 1 + max_retries transmissions
        (event :class:`DeliveryFailed`) and a request without response after
        ``response_timeout`` (event :class:`RequestTimedOut`)."""
        self._arm(now)
        if self._last_rx_at is not None and now >= self._last_rx_at + DUPLICATE_WINDOW:
            # no retransmission of that frame can still come: a new session may reuse its bytes
            self._last_rx = self._last_rx_at = None
        o = self._outstanding
        if o is not None and o.deadline is not None and now >= o.deadline:
            if o.attempts > self.max_retries:
                self._outstanding = None
                self._events.append(DeliveryFailed(o.seq, o.message, o.attempts))
                if self.role is Role.HOST and o.seq in self._pending:
                    del self._pending[o.seq]
                    self._expired.append(o.seq)
                self._release()
            else:
                o.attempts += 1
                o.deadline = now + self._timeout_for(o.frame)
                self._out += o.frame
                self.stats.retransmissions += 1
        if self.role is Role.HOST:
            for p in list(self._pending.values()):
                if p.deadline is not None and now >= p.deadline:
                    del self._pending[p.seq]
                    self._expired.append(p.seq)
                    assert p.request is not None
                    self._events.append(RequestTimedOut(p.seq, p.request))
        self._arm(now)
        out = self.data_to_send()
        return out or None

    def check_request(self, request: m.Request, *,
                      languages: Iterable[str] = LANGUAGES) -> ResultCode:
        """DEVICE role: the protocol's verdict on ``request`` in the current mode."""
        return check_request(self.state, request, languages=languages)

    def abandon_requests(self, seq: int | None = None) -> tuple[int, ...]:
        """DEVICE role: forget received requests without answering them (all, or the one with
        ``seq``); returns the seqs dropped.  For a pad that lost requests (a restart, a
        simulated no-reply fault): otherwise its next response of the same type would be
        matched, in order, to the stale request and reach the host as a LateResponse."""
        if self.role is not Role.DEVICE:
            raise LocalProtocolError("only the pad abandons requests; a host waits for "
                                     "RequestTimedOut")
        dropped = tuple(s for s in self._pending if seq is None or s == seq)
        for s in dropped:
            del self._pending[s]
        return dropped

    @property
    def pending_requests(self) -> tuple[tuple[int, m.Request | None], ...]:
        """(seq, request): HOST - awaiting a response; DEVICE - still to be answered
        (request None when it could not be decoded)."""
        return tuple((p.seq, p.request) for p in self._pending.values())

    @property
    def mode_known(self) -> bool:
        """HOST: False until a HelloReply, DeviceStatus, PowerOn or Tamper told us the pad's
        mode; until then pad messages are not checked against the state table."""
        return self._mode_known

    @property
    def awaiting_ack(self) -> bool:
        """A data frame sent and not yet acknowledged by the peer's link layer."""
        return self._outstanding is not None

    @property
    def idle(self) -> bool:
        """Nothing unacknowledged, queued or awaiting a response."""
        return self._outstanding is None and not self._queue and not self._pending

    # -- sending internals ----------------------------------------------------------------------
    def _pending_for(self, response: m.Response) -> _Pending:
        if isinstance(response, (m.Done, m.Refused)):
            wanted: tuple[int, ...] = (int(response.request_type),)
        else:
            wanted = tuple(int(t) for t in type(response).REQUESTS)
        for p in self._pending.values():  # oldest first: the pad answers in order
            if p.request_type in wanted:
                return p
        raise LocalProtocolError(f"{type(response).__name__} answers no request received: the pad "
                                 "may only respond to a request it has not answered yet")

    def _timeout_for(self, frame: bytes) -> float:
        if self._ack_timeout is not None:
            return self._ack_timeout
        return ack_timeout_for(len(frame), self.baudrate)

    def _enqueue(self, o: _Outgoing) -> None:
        if self._outstanding is None:
            self._transmit(o)
        else:
            self._queue.append(o)

    def _transmit(self, o: _Outgoing) -> None:
        self._outstanding = o
        o.attempts = 1
        o.deadline = None
        self._out += o.frame
        self.stats.frames_out += 1
        p = self._pending.get(o.seq)
        if self.role is Role.HOST and p is not None:
            p.sent = True

    def _release(self) -> None:
        if self._outstanding is None and self._queue:
            self._transmit(self._queue.popleft())

    def _arm(self, now: float) -> None:
        if self._last_rx is not None and self._last_rx_at is None:
            self._last_rx_at = now
        o = self._outstanding
        if o is not None and o.deadline is None:
            o.deadline = now + self._timeout_for(o.frame)
        if self.role is Role.HOST:
            for p in self._pending.values():
                if p.sent and p.deadline is None:
                    p.deadline = now + self.response_timeout

    # -- receiving internals ----------------------------------------------------------------------
    def _hunt(self) -> None:
        """Find frames in the receive buffer (SPEC 3.4).  The hand-written checks below only
        pre-filter candidates cheaply; the construct FRAME schema gives the final verdict."""
        buf = self._rx
        while buf:
            start = buf.find(SOF)
            if start < 0:
                self._skip(len(buf))
                return
            if start:
                self._skip(start)
            if len(buf) < HEADER_SIZE:
                return
            length = (buf[1] << 8) | buf[2]
            if length > MAX_PAYLOAD or crc8(bytes(buf[1:6])) != buf[6]:
                self._skip(1)
                continue
            total = FRAME_OVERHEAD + length
            if len(buf) < total:
                return
            raw = bytes(buf[:total])
            try:
                frame = FRAME.parse(raw)
            except Exception:  # noqa: BLE001 - any parse failure means "not a frame here"
                self._skip(1)
                continue
            del buf[:total]
            self._on_frame(frame, crc16(raw[1:-2]))

    def _skip(self, n: int) -> None:
        del self._rx[:n]
        self._skipped += n
        self.stats.skipped_bytes += n

    def _on_frame(self, frame: object, crc: int) -> None:
        self.stats.frames_in += 1
        if self._skipped:
            self._events.append(Resynchronised(self._skipped))
            self._skipped = 0
        seq, ref, type_byte, payload = frame.seq, frame.ref, frame.type, frame.payload  # type: ignore[attr-defined]
        if type_byte == MessageType.ACK:
            self._on_ack(ref, payload)
            return
        # every intact data frame is acknowledged, duplicates included (their ACK was lost)
        self._out += build_frame(0, seq, int(MessageType.ACK), ack_payload(crc))
        if self._last_rx == (seq, crc):
            self.stats.duplicates += 1
            return
        self._last_rx = (seq, crc)
        self._last_rx_at = None
        self._deliver(seq, ref, type_byte, payload)

    def _on_ack(self, ref: int, payload: bytes) -> None:
        o = self._outstanding
        if len(payload) != 2:
            self._events.append(BadMessageError(
                f"ACK with a {len(payload)}-byte payload (2 expected)", message_type=0, seq=0))
            return
        if o is not None and ref == o.seq and payload == ack_payload(o.crc):
            self._outstanding = None
            self._release()
        # any other ACK is stale (a duplicate ACK of a frame already released): ignore it

    def _deliver(self, seq: int, ref: int, type_byte: int, payload: bytes) -> None:
        is_request = 0x01 <= type_byte <= 0x3F
        if self.role is Role.DEVICE:
            if not is_request:
                self._events.append(RemoteProtocolError(
                    f"the host sent message type {type_byte:#04x}, which only a pad sends"))
                return
            try:
                message = decode_message(type_byte, payload, seq=seq)
            except BadMessageError as exc:
                self._remember_request(_Pending(seq, type_byte))
                self._events.append(exc)
                return
            assert isinstance(message, m.Request)
            self._remember_request(_Pending(seq, type_byte, message))
            self._events.append(message)
            return
        # HOST role
        if is_request:
            self._events.append(RemoteProtocolError(
                f"the pad sent message type {type_byte:#04x}, which only a host sends"))
            return
        try:
            message = decode_message(type_byte, payload, seq=seq)
        except BadMessageError as exc:
            self._events.append(exc)
            return
        if isinstance(message, m.Response):
            p = self._pending.get(ref)
            if p is None:
                if ref in self._expired:
                    self._events.append(LateResponse(ref, message))
                else:
                    self._events.append(UnexpectedResponse(
                        f"the pad answered request seq {ref}, which is not pending", ref))
                return
            if p.request_type | 0x40 != type_byte:
                self._events.append(RemoteProtocolError(
                    f"the pad answered request seq {ref} ({MessageType(p.request_type).name}) "
                    f"with message type {type_byte:#04x}"))
                return
            try:
                self._apply(message, local=False, request_type=p.request_type)
            except RemoteProtocolError as exc:
                del self._pending[ref]
                self._events.append(exc)
                return
            del self._pending[ref]
            self._events.append(message)
            return
        try:
            self._apply(message, local=False)
        except RemoteProtocolError as exc:
            self._events.append(exc)
            return
        self._events.append(message)

    def _remember_request(self, p: _Pending) -> None:
        # a pad answers in order, so more than a few unanswered requests means some will never
        # be answered: keep the newest (a seq reused after wrapping replaces its old entry)
        self._pending.pop(p.seq, None)
        self._pending[p.seq] = p
        while len(self._pending) > _MAX_UNANSWERED:
            del self._pending[next(iter(self._pending))]

    # -- the state machine ------------------------------------------------------------------------
    def _apply(self, message: m.Message, *, local: bool, request_type: int | None = None) -> None:
        """Check ``message`` against the state table and move the mode."""
        error = LocalProtocolError if local else RemoteProtocolError
        who = "this pad" if local else "the pad"
        if isinstance(message, m.Refused):
            return
        if not self._mode_known:
            if not isinstance(message, (m.HelloReply, m.DeviceStatus, m.PowerOn, m.Tamper)):
                return  # a host that just opened the link cannot judge the pad's mode yet
            self._mode_known = True
        if isinstance(message, m.Response):
            rtype = MessageType(request_type)
            if self.state not in ALLOWED[rtype]:
                raise error(f"{who} carried out {rtype.name} in mode {self.state.name}, where "
                            "the protocol forbids it")
        trigger = trigger_of(message)
        if trigger is None:
            return
        key = (self.state, trigger)
        if key not in TRANSITIONS:
            secrecy = " (a digit key may be named only in explore mode)" \
                if trigger is Trigger.DIGIT_KEY_NAMED else ""
            raise error(f"{who} sent {type(message).__name__} in mode {self.state.name}, "
                        f"which the state table does not allow{secrecy}")
        target = TRANSITIONS[key]
        if target is REPORTED:
            target = message.mode  # type: ignore[attr-defined]
        if isinstance(message, m.HelloReply):
            self.version = message.version
            if self.role is Role.HOST:
                self.peer_max_payload = message.max_payload
        self.state = target
