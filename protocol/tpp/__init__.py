"""TPP, the open Tactile PIN Pad protocol (normative text: ``protocol/tpp/SPEC.md``, v1.0).

Sans-I/O, h11 style; the same code runs in the host (driver) and in the pad (simulator)::

    from protocol.tpp import TppConnection, Role, NEED_DATA, Hello, GetInfo, PinEntry

    conn = TppConnection(Role.HOST, baudrate=115200)   # baudrate=None on USB
    transport.write(conn.send(Hello(session=rng.getrandbits(32), host="tactile")))
    while True:
        conn.receive_data(transport.read(4096, timeout=...))
        transport.write(conn.data_to_send())            # ACKs (write these promptly)
        ev = conn.next_event()                          # message dataclass, link event, NEED_DATA
        ...
        due = conn.retransmit_due(now)                  # bytes | None: retransmissions
        deadline = conn.next_deadline(now)              # float | None: when to call it again

Connection (``protocol.tpp.connection``):

* ``TppConnection(role, *, baudrate=None, ack_timeout=None, max_retries=3,
  response_timeout=3.0, initial_seq=0)``; ``role`` is ``Role.HOST`` or ``Role.DEVICE``
  (a host SHOULD send Hello first; ``initial_seq`` random makes even a first GetInfo unique).
* ``receive_data(bytes) -> None``; ``next_event() -> TppEvent | NEED_DATA``;
  ``send(message) -> bytes`` (assigns the sequence number; a frame waits while an earlier one
  is unacknowledged: stop-and-wait); ``data_to_send() -> bytes`` (ACKs, released frames);
  ``retransmit_due(now) -> bytes | None``; ``next_deadline(now) -> float | None``;
  ``check_request(request) -> ResultCode`` (DEVICE: the protocol's verdict in this mode);
  ``abandon_requests(seq=None) -> tuple[int, ...]`` (DEVICE: forget requests it will never
  answer, e.g. a simulated no-reply fault; else the next response would answer the stale one);
  attributes ``state`` (``State``), ``mode_known`` (HOST: False until HelloReply,
  DeviceStatus, PowerOn or Tamper; pad messages are not judged before), ``version``,
  ``peer_max_payload``, ``stats``, ``pending_requests``, ``idle``.
* Link events: ``Resynchronised(skipped)``, ``DeliveryFailed(seq, message, attempts)``,
  ``RequestTimedOut(seq, request)``, ``LateResponse(request_seq, message)``.
* Errors: ``BadMessageError(RemoteProtocolError)`` (intact frame, bad message: ``.seq``,
  ``.message_type``, ``.result`` - a pad answers ``Refused(exc.message_type, exc.result)``);
  other ``RemoteProtocolError`` (peer broke the state table, e.g. a digit key named during PIN
  entry); ``LocalProtocolError`` (we misused the API).  All raised from ``next_event`` /
  ``send``; the connection stays usable.
* The state TABLE: ``TRANSITIONS[(State, Trigger)] -> State | REPORTED``, ``ALLOWED[request
  type] -> modes``, ``check_request(state, request)``, ``trigger_of(message)``.

Messages (``protocol.tpp.messages``; frozen slotted dataclasses):

* Requests (host): ``Hello(min_version, max_version, session, host)``, ``GetInfo()``,
  ``GetLayout()``, ``GetStatus()``, ``Reset()``, ``ExploreStart(lang)``, ``ExploreStop()``,
  ``PinEntry(min_len, max_len, auto_end, time_limit, prompt, prompt_args, lang, beep,
  active_keys)``, ``PinChange(... same ..., max_mismatches)``, ``CancelEntry()``,
  ``ExtendTime(seconds)``, ``GetPinBlock(format, customer_data, slot)``,
  ``LoadKey(slot, kind, key, ksn, kcv)``, ``GetKeyInfo(slot)``, ``DeleteKey(slot)``,
  ``Speak(text, lang, rate, volume, interruptible, queue)``, ``SpeakPrompt(prompt, lang, args,
  interruptible, display)``, ``StopSpeech()``, ``PlayTone(tone, frequency, duration, volume)``,
  ``KeypressBeep(active, inactive)``, ``SetVolume(volume, rate)``, ``Display(text, large)``,
  ``Haptic(pattern)``.  ``ActiveKey(key, terminate)``, ``DEFAULT_ACTIVE_KEYS``.
* Responses (pad): ``Done(request_type)``, ``Refused(request_type, result)`` (``.meaning``),
  ``HelloReply(version, max_payload, boot_count, mode)``, ``DeviceInfo(vendor, model, serial,
  firmware, min_version, max_version, capabilities, languages, display_columns, display_rows,
  pin_block_formats, key_slots, max_pin_entries_per_hour, prompts)``, ``KeyLayout(name, rows,
  columns, keys)`` (keys are ``protocol.layout.Key``; ``to_layout()``, ``from_layout()``),
  ``DeviceStatus(mode, headset, speaking, volume, rate, lang, digits, phase, seconds_left,
  pin_held, entries_left, beep_active, beep_inactive)``, ``PinBlockReply(format, slot, block,
  ksn)``, ``KeyLoaded(slot, kcv)``, ``KeyInfo(slot, kind, kcv, ksn)``,
  ``SpeechQueued(utterance_id)``, ``TimeLeft(seconds_left)``.
* Events (pad): ``PowerOn(boot_count, reason, max_version)``, ``Tamper(cause)``,
  ``HeadsetChanged(inserted)``, ``SpeechEnded(utterance_id, how)``, ``KeyPressed(key, digits,
  status)``, ``EntryReady(phase, seconds_left)``, ``DigitEntered(digits, accepted)``,
  ``PinEntryCompleted(how, digits, key)``, ``PinChangeCompleted(how, digits, key)``
  (``.matched``), ``PinChangeMismatch(attempts_left)``, ``TimeWarning(seconds_left)``,
  ``TimeExtended(seconds_left, by)``.

Codes (``protocol.tpp.codes``): ``MessageType``, ``ResultCode`` + ``RESULT_MEANINGS``,
``State``, ``Capability``, ``KeyKind``, ``LoadKind``, ``BeepPolicy``, ``KeyStatus``,
``EntryEnd``, ``Extender``, ``SpeechEnd``, ``Tone``, ``ResetReason``, ``TamperCause``,
``Version``/``PROTOCOL_VERSION``, limits (``MAX_PAYLOAD``, ``MAX_PIN_ENTRIES_PER_HOUR``,
``HELD_PIN_LIFETIME``, ``WARN_AT``, ``HELP_EXTENSIONS``, ``MAX_TIME_LIMIT``), ``USB_VID``,
``USB_PID``.  Prompts (``protocol.tpp.prompts``): ``PromptId``, ``PROMPTS``, ``LANGUAGES``,
``render_prompt(id, lang, args)``.  Wire (``protocol.tpp.schema``): ``FRAME``, ``PAYLOADS``,
``MESSAGE_FRAME``, ``crc16``, ``crc8``, ``encode_message``, ``decode_message``,
``build_frame``.  ``describe(message) -> dict`` gives a JSON-ready form for traces (key material
redacted).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from protocol.tpp import codes, messages, prompts, schema
from protocol.tpp.codes import *  # noqa: F401,F403 - re-exported, listed in __all__
from protocol.tpp.connection import (
    ALLOWED,
    NEED_DATA,
    REPORTED,
    TRANSITIONS,
    DeliveryFailed,
    LateResponse,
    LinkEvent,
    NeedData,
    RequestTimedOut,
    Resynchronised,
    Role,
    TppConnection,
    UnexpectedResponse,
    TppEvent,
    Trigger,
    check_request,
    negotiate_version,
    trigger_of,
)
from protocol.tpp.messages import *  # noqa: F401,F403 - re-exported, listed in __all__
from protocol.tpp.prompts import LANGUAGES, PROMPTS, PromptDef, PromptId, render_prompt
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

_REDACTED_FIELDS = {("LoadKey", "key")}


def describe(message: Any) -> dict[str, Any]:
    """A JSON-ready dict of a message or link event (enums by name, bytes as hex, key material
    redacted), e.g. for the simulator's ``--trace`` lines."""
    out: dict[str, Any] = {"message": type(message).__name__}
    for f in dataclasses.fields(message):
        value = getattr(message, f.name)
        if (type(message).__name__, f.name) in _REDACTED_FIELDS:
            value = f"<{len(value)} bytes redacted>"
        out[f.name] = _jsonable(value)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name.lower() if isinstance(value, (enum.IntEnum, enum.IntFlag)) else value.value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex().upper()
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return str(value) if isinstance(value, codes.Version) else list(value)
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


__all__ = [
    *codes.__all__,
    *messages.__all__,
    "PromptId", "PromptDef", "PROMPTS", "LANGUAGES", "render_prompt",
    "FRAME", "MESSAGE_FRAME", "PAYLOADS", "BadMessageError", "build_frame", "crc8", "crc16",
    "decode_message", "encode_message",
    "Role", "NeedData", "NEED_DATA", "TppConnection", "TppEvent", "LinkEvent",
    "Resynchronised", "DeliveryFailed", "RequestTimedOut", "LateResponse", "UnexpectedResponse",
    "Trigger", "TRANSITIONS", "ALLOWED", "REPORTED", "check_request", "negotiate_version",
    "trigger_of", "describe",
]
