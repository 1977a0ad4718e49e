"""TPP wire format as construct schemas: the executable form of SPEC sections 3 and 6.

* :data:`FRAME` - one frame with its raw payload (start marker, length, header check, CRC);
* :data:`PAYLOADS` - TYPE byte -> schema of that message's payload, parsing straight into the
  dataclasses of :mod:`protocol.tpp.messages` (Switch by message type: :data:`MESSAGE_FRAME`);
* :func:`encode_message` / :func:`decode_message` / :func:`build_frame` for the connection.

Every schema is strict: enumerations reject unknown values, booleans are exactly 0 or 1, text
must be valid UTF-8, ranges are checked, and every payload ends with ``Terminated`` (no trailing
bytes).  construct's own ``Enum``/``FlagsEnum`` pass unknown values through silently, so the
adapters below map to Python enums and raise instead.  Never ``.compile()`` these schemas: the
compiled form skips checks.
"""

from __future__ import annotations

import binascii
import enum
import struct
from dataclasses import fields
from typing import Any, Mapping

from construct import (
    Adapter,
    Bytes,
    Check,
    Checksum,
    Const,
    Construct,
    ConstructError,
    FocusedSeq,
    GreedyBytes,
    If,
    Int8ub,
    Int16ub,
    Int32ub,
    Prefixed,
    PrefixedArray,
    Rebuild,
    RestreamData,
    Struct,
    Switch,
    Terminated,
    ValidationError,
    len_,
    this,
)

from protocol.errors import ConfigurationError, LocalProtocolError, RemoteProtocolError
from protocol.layout import Key
from protocol.tpp import messages as m
from protocol.tpp.prompts import PromptId
from protocol.tpp.codes import (
    COLOUR_CODES,
    FORMAT_CODES,
    KEY_CODES,
    MARK_CODES,
    MAX_PAYLOAD,
    SOF,
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

__all__ = [
    "crc16",
    "crc8",
    "FRAME",
    "PAYLOADS",
    "MESSAGE_FRAME",
    "BadMessageError",
    "build_frame",
    "encode_message",
    "decode_message",
    "ack_payload",
]


# -- checksums ---------------------------------------------------------------------------------
def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0): check value
    0x29B1 for b"123456789".  binascii.crc_hqx with init 0xFFFF is exactly this CRC."""
    return binascii.crc_hqx(data, 0xFFFF)


def _crc8_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return tuple(table)


_CRC8 = _crc8_table()


def crc8(data: bytes) -> int:
    """CRC-8/SMBUS (poly 0x07, init 0, no reflection, xorout 0): check value 0xF4 for
    b"123456789".  Written by hand: neither the standard library nor our dependencies have it."""
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


class BadMessageError(RemoteProtocolError):
    """A frame arrived intact (CRC good) but its message is unknown or malformed.

    The frame was acknowledged; the link goes on.  ``result`` is the code a pad answers a bad
    request with (UNKNOWN_MESSAGE or BAD_PARAMETER)."""

    def __init__(self, message: str, *, message_type: int, seq: int,
                 result: ResultCode = ResultCode.BAD_PARAMETER) -> None:
        super().__init__(message)
        self.message_type = message_type
        self.seq = seq
        self.result = result


# -- strict adapters -----------------------------------------------------------------------------
class _EnumAdapter(Adapter):
    """An integer field holding a Python IntEnum member; unknown values raise."""

    def __init__(self, subcon: Construct, enum_cls: type[enum.IntEnum]) -> None:
        super().__init__(subcon)
        self.enum_cls = enum_cls

    def _decode(self, obj: int, context: Any, path: str) -> enum.IntEnum:
        try:
            return self.enum_cls(obj)
        except ValueError:
            raise ValidationError(f"{obj:#x} is not a valid {self.enum_cls.__name__}",
                                  path=path) from None

    def _encode(self, obj: Any, context: Any, path: str) -> int:
        if isinstance(obj, bool) or not isinstance(obj, int):
            raise ValidationError(f"{obj!r} is not a {self.enum_cls.__name__}", path=path)
        return int(self._decode(int(obj), context, path))


class _FlagsAdapter(Adapter):
    """An integer field holding an IntFlag; undefined bits raise."""

    def __init__(self, subcon: Construct, flag_cls: type[enum.IntFlag]) -> None:
        super().__init__(subcon)
        self.flag_cls = flag_cls
        self.mask = 0
        for member in flag_cls:
            self.mask |= int(member)

    def _decode(self, obj: int, context: Any, path: str) -> enum.IntFlag:
        if obj & ~self.mask:
            raise ValidationError(f"undefined {self.flag_cls.__name__} bits {obj & ~self.mask:#x}",
                                  path=path)
        return self.flag_cls(obj)

    def _encode(self, obj: Any, context: Any, path: str) -> int:
        if isinstance(obj, bool) or not isinstance(obj, int):
            raise ValidationError(f"{obj!r} is not a {self.flag_cls.__name__}", path=path)
        return int(self._decode(int(obj), context, path))


class _MappedAdapter(Adapter):
    """An integer code standing for a value of a mapping (key names, marks, formats)."""

    def __init__(self, subcon: Construct, mapping: Mapping[Any, int], what: str) -> None:
        super().__init__(subcon)
        self.mapping = dict(mapping)
        self.reverse = {v: k for k, v in self.mapping.items()}
        self.what = what

    def _decode(self, obj: int, context: Any, path: str) -> Any:
        try:
            return self.reverse[obj]
        except KeyError:
            raise ValidationError(f"{obj:#x} is not a valid {self.what} code", path=path) from None

    def _encode(self, obj: Any, context: Any, path: str) -> int:
        try:
            return self.mapping[obj]
        except (KeyError, TypeError):
            raise ValidationError(f"{obj!r} is not a valid {self.what}", path=path) from None


class _BoolAdapter(Adapter):
    """A byte that is exactly 0 (False) or 1 (True)."""

    def _decode(self, obj: int, context: Any, path: str) -> bool:
        if obj not in (0, 1):
            raise ValidationError(f"boolean byte must be 0 or 1, got {obj:#x}", path=path)
        return bool(obj)

    def _encode(self, obj: Any, context: Any, path: str) -> int:
        if not isinstance(obj, bool):
            raise ValidationError(f"{obj!r} is not a bool", path=path)
        return int(obj)


class _RangeAdapter(Adapter):
    """An unsigned integer limited to lo..hi (checked both ways)."""

    def __init__(self, subcon: Construct, lo: int, hi: int) -> None:
        super().__init__(subcon)
        self.lo, self.hi = lo, hi

    def _check(self, obj: Any, path: str) -> int:
        if isinstance(obj, bool) or not isinstance(obj, int) or not self.lo <= obj <= self.hi:
            raise ValidationError(f"{obj!r} is outside {self.lo}..{self.hi}", path=path)
        return obj

    def _decode(self, obj: int, context: Any, path: str) -> int:
        return self._check(obj, path)

    def _encode(self, obj: Any, context: Any, path: str) -> int:
        return int(self._check(obj, path))


class _TextAdapter(Adapter):
    """Length-prefixed UTF-8 text (``max_bytes`` after encoding)."""

    def __init__(self, lenfield: Construct, max_bytes: int) -> None:
        super().__init__(Prefixed(lenfield, GreedyBytes))
        self.max_bytes = max_bytes

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        if len(obj) > self.max_bytes:
            raise ValidationError(f"text longer than {self.max_bytes} bytes", path=path)
        try:
            return obj.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError("text is not valid UTF-8", path=path) from None

    def _encode(self, obj: Any, context: Any, path: str) -> bytes:
        if not isinstance(obj, str):
            raise ValidationError(f"{obj!r} is not text", path=path)
        data = obj.encode("utf-8", errors="strict")
        if len(data) > self.max_bytes:
            raise ValidationError(f"text longer than {self.max_bytes} bytes", path=path)
        return data


class _BlobAdapter(Adapter):
    """Length-prefixed bytes whose length must be one of ``sizes``."""

    def __init__(self, sizes: tuple[int, ...]) -> None:
        super().__init__(Prefixed(Int8ub, GreedyBytes))
        self.sizes = sizes

    def _check(self, obj: Any, path: str) -> bytes:
        if not isinstance(obj, (bytes, bytearray)) or len(obj) not in self.sizes:
            raise ValidationError(f"bytes of length {self.sizes} expected, got {obj!r:.40}",
                                  path=path)
        return bytes(obj)

    def _decode(self, obj: bytes, context: Any, path: str) -> bytes:
        return self._check(obj, path)

    def _encode(self, obj: Any, context: Any, path: str) -> bytes:
        return self._check(obj, path)


class _TupleAdapter(Adapter):
    """A u8 count then that many items (at most ``max_items``), as a tuple."""

    def __init__(self, subcon: Construct, max_items: int, min_items: int = 0) -> None:
        super().__init__(PrefixedArray(Int8ub, subcon))
        self.item = subcon
        self.min_items, self.max_items = min_items, max_items

    def _check(self, n: int, path: str) -> None:
        if not self.min_items <= n <= self.max_items:
            raise ValidationError(f"{n} items, expected {self.min_items}..{self.max_items}",
                                  path=path)

    def _decode(self, obj: list, context: Any, path: str) -> tuple:
        self._check(len(obj), path)
        return tuple(obj)

    def _encode(self, obj: Any, context: Any, path: str) -> list:
        if not isinstance(obj, (tuple, list)):
            raise ValidationError(f"{obj!r} is not a sequence", path=path)
        self._check(len(obj), path)
        return list(obj)


class _RecordAdapter(Adapter):
    """A Struct whose field names are the fields of a dataclass."""

    def __init__(self, subcon: Construct, cls: type) -> None:
        super().__init__(subcon)
        self.cls = cls
        self.names = [f.name for f in fields(cls)]

    def _decode(self, obj: Any, context: Any, path: str) -> Any:
        return self.cls(**{name: obj[name] for name in self.names})

    def _encode(self, obj: Any, context: Any, path: str) -> dict:
        if not isinstance(obj, self.cls):
            raise ValidationError(f"{type(obj).__name__} given where {self.cls.__name__} "
                                  "is expected", path=path)
        return {name: getattr(obj, name) for name in self.names}


class _PromptAdapter(Adapter):
    """A prompt id: a PromptId member when the table has it, else the plain number (a pad
    answers an unknown id with UNKNOWN_PROMPT, so it must still decode)."""

    def _decode(self, obj: int, context: Any, path: str) -> int:
        return PromptId(obj) if obj in PromptId._value2member_map_ else obj

    def _encode(self, obj: Any, context: Any, path: str) -> int:
        if isinstance(obj, bool) or not isinstance(obj, int):
            raise ValidationError(f"{obj!r} is not a prompt id", path=path)
        return int(obj)


class _VersionAdapter(Adapter):
    def _decode(self, obj: Any, context: Any, path: str) -> Version:
        return Version(obj.major, obj.minor)

    def _encode(self, obj: Any, context: Any, path: str) -> dict:
        if not isinstance(obj, tuple) or len(obj) != 2:
            raise ValidationError(f"{obj!r} is not a Version", path=path)
        return {"major": obj[0], "minor": obj[1]}


class _LayoutAdapter(_RecordAdapter):
    """KeyLayout, additionally validated as a :class:`protocol.layout.Layout`."""

    def _decode(self, obj: Any, context: Any, path: str) -> Any:
        reply = super()._decode(obj, context, path)
        try:
            reply.to_layout()
        except ConfigurationError as exc:
            raise ValidationError(f"inconsistent layout: {exc}", path=path) from None
        return reply


# -- field types (names used in SPEC's field tables) --------------------------------------------
u8, u16, u32 = Int8ub, Int16ub, Int32ub
Bool = _BoolAdapter(Int8ub)
VersionField = _VersionAdapter(Struct("major" / u8, "minor" / u8))
Str8 = _TextAdapter(u8, 255)
Str16 = _TextAdapter(u16, 900)
Lang = _TextAdapter(u8, 16)
KeyName = _MappedAdapter(u8, KEY_CODES, "key")
OptionalKeyName = _MappedAdapter(u8, {None: 0, **KEY_CODES}, "key")
Format = _MappedAdapter(u8, FORMAT_CODES, "PIN block format")
PromptField = _PromptAdapter(u8)
PromptArgs = _TupleAdapter(_RangeAdapter(u16, 0, 999), max_items=4)


def _enum(cls: type[enum.IntEnum], sub: Construct = u8) -> _EnumAdapter:
    return _EnumAdapter(sub, cls)


def _record(cls: type, *subcons: Any) -> _RecordAdapter:
    return _RecordAdapter(Struct(*subcons), cls)


_ACTIVE_KEY = _record(m.ActiveKey, "key" / KeyName * "key code (section 5.3)",
                      "terminate" / Bool * "1 = this key ends the entry")
_KEY_SLOT = _record(m.KeySlot, "slot" / _RangeAdapter(u8, 1, 255) * "slot number",
                    "kind" / _enum(KeyKind) * "what the slot holds",
                    "name" / Str8 * "readable slot name, e.g. aes-dukpt")
_KEY = _record(
    Key,
    "name" / KeyName * "XFS key name, as a key code (section 5.3)",
    "label" / Str8 * "the label printed on the key",
    "x" / _RangeAdapter(u16, 0, 999) * "left edge in the 0..999 frame",
    "y" / _RangeAdapter(u16, 0, 999) * "top edge in the 0..999 frame",
    "width" / _RangeAdapter(u16, 1, 1000) * "width, 1..1000",
    "height" / _RangeAdapter(u16, 1, 1000) * "height, 1..1000",
    "row" / u8 * "grid row, 0 = top",
    "column" / u8 * "grid column, 0 = left",
    "mark" / _MappedAdapter(u8, MARK_CODES, "tactile mark") * "tactile mark (section 5.2)",
    "colour" / _MappedAdapter(u8, COLOUR_CODES, "colour") * "key colour (section 5.2)",
)
_ENTRY_FIELDS = (
    "min_len" / u8 * "minimum PIN length (4..12)",
    "max_len" / u8 * "maximum PIN length (min_len..12)",
    "auto_end" / Bool * "1 = end the entry automatically at max_len digits",
    "time_limit" / u16 * "inactivity limit in seconds (10..600), re-armed by every key",
    "prompt" / PromptField * "prompt id from the fixed table (section 9)",
    "prompt_args" / PromptArgs * "numeric prompt arguments (u8 count, then u16 each, 0..999)",
    "lang" / Lang * "language of prompts (zh-CN, en)",
    "beep" / _enum(BeepPolicy) * "key tone policy (section 5.2)",
    "active_keys" / _TupleAdapter(_ACTIVE_KEY, max_items=64) *
    "u8 count, then per key: key code (u8) and terminate flag (u8 0/1)",
)

_REQUEST_BODIES: dict[MessageType, Construct] = {
    MessageType.HELLO: _record(
        m.Hello,
        "min_version" / VersionField * "lowest version the host speaks (major, minor)",
        "max_version" / VersionField * "highest version the host speaks",
        "session" / u32 * "host session number: differs between host sessions",
        "host" / Str8 * "host software name, for the pad's log"),
    MessageType.GET_INFO: _record(m.GetInfo),
    MessageType.GET_LAYOUT: _record(m.GetLayout),
    MessageType.GET_STATUS: _record(m.GetStatus),
    MessageType.RESET: _record(m.Reset),
    MessageType.SET_LANGUAGE: _record(
        m.SetLanguage, "lang" / Lang * "language of the pad's own prompts and key names"),
    MessageType.EXPLORE_START: _record(m.ExploreStart, "lang" / Lang * "language of key names"),
    MessageType.EXPLORE_STOP: _record(m.ExploreStop),
    MessageType.PIN_ENTRY: _record(m.PinEntry, *_ENTRY_FIELDS),
    MessageType.PIN_CHANGE: _record(
        m.PinChange, *_ENTRY_FIELDS,
        "max_mismatches" / u8 * "mismatches allowed before the change fails (1..9)"),
    MessageType.CANCEL_ENTRY: _record(m.CancelEntry),
    MessageType.EXTEND_TIME: _record(m.ExtendTime, "seconds" / u16 * "seconds to add (1..600)"),
    MessageType.GET_PIN_BLOCK: _record(
        m.GetPinBlock,
        "format" / Format * "PIN block format code (section 5.2)",
        "customer_data" / _TextAdapter(u8, 32) * "PAN digits (ASCII) or empty",
        "slot" / u8 * "key slot, 0 = the pad's default slot for the format"),
    MessageType.LOAD_KEY: _record(
        m.LoadKey,
        "slot" / _RangeAdapter(u8, 1, 255) * "key slot",
        "kind" / _enum(LoadKind) * "what the key is (section 5.2)",
        "key" / _BlobAdapter((16, 24, 32)) * "u8 length (16, 24, 32), then the key",
        "ksn" / _BlobAdapter((0, 8, 10)) * "u8 length (0, 8, 10), then initial KSN / key ID",
        "kcv" / _BlobAdapter((0, 3)) * "u8 length (0 or 3), then the expected check value"),
    MessageType.GET_KEY_INFO: _record(m.GetKeyInfo, "slot" / _RangeAdapter(u8, 1, 255) * "key slot"),
    MessageType.DELETE_KEY: _record(m.DeleteKey, "slot" / _RangeAdapter(u8, 1, 255) * "key slot"),
    MessageType.SPEAK: _record(
        m.Speak,
        "text" / Str16 * "u16 length, then UTF-8 text (at most 900 bytes)",
        "lang" / Lang * "language",
        "rate" / u16 * "percent of normal speed, 50..200; 0 = current",
        "volume" / u16 * "1..1000; 0 = current",
        "interruptible" / Bool * "1 = a key press stops it",
        "queue" / Bool * "1 = after what is being said; 0 = replace it"),
    MessageType.SPEAK_PROMPT: _record(
        m.SpeakPrompt,
        "prompt" / PromptField * "prompt id (section 9)",
        "lang" / Lang * "language",
        "args" / PromptArgs * "numeric arguments (u8 count, then u16 each, 0..999)",
        "interruptible" / Bool * "1 = a key press stops it",
        "display" / Bool * "1 = also show the prompt text"),
    MessageType.STOP_SPEECH: _record(m.StopSpeech),
    MessageType.PLAY_TONE: _record(
        m.PlayTone,
        "tone" / _enum(Tone) * "tone (section 5.2)",
        "frequency" / u16 * "Hz for CUSTOM (100..8000), else 0",
        "duration" / u16 * "ms (10..3000); 0 = the tone's default",
        "volume" / u16 * "1..1000; 0 = current"),
    MessageType.KEYPRESS_BEEP: _record(
        m.KeypressBeep, "active" / Bool * "tone for active keys",
        "inactive" / Bool * "tone for inactive keys"),
    MessageType.SET_VOLUME: _record(
        m.SetVolume, "volume" / u16 * "1..1000; 0 = the pad's default",
        "rate" / u16 * "speech rate 50..200 %; 0 = the pad's default"),
    MessageType.SET_FEEDBACK: _record(
        m.SetFeedback, "speech" / Bool * "1 = the pad speaks its prompts; 0 = shown only",
        "tones" / Bool * "1 = tones (key tones included); 0 = none",
        "haptics" / Bool * "1 = named vibration patterns for keys, warnings, ends of steps",
        "captions" / Bool * "1 = what the pad says is also shown, paged in step with it",
        "large" / Bool * "1 = the pad's own text and captions in large type"),
    MessageType.DISPLAY: _record(
        m.Display, "text" / Str16 * "u16 length, then UTF-8 text; empty clears",
        "large" / Bool * "1 = large type"),
    MessageType.HAPTIC: _record(
        m.Haptic, "pattern" / _TupleAdapter(_RangeAdapter(u16, 1, 2000), max_items=16,
                                             min_items=1) *
        "u8 count (1..16), then u16 ms each: on, off, on, ..."),
}

_RESPONSE_BODIES: dict[MessageType, Construct] = {
    MessageType.HELLO: _record(
        m.HelloReply,
        "version" / VersionField * "the version both ends now speak",
        "max_payload" / _RangeAdapter(u16, 256, MAX_PAYLOAD) * "largest payload the pad accepts",
        "boot_count" / u32 * "the pad's start counter",
        "mode" / _enum(State) * "the pad's mode now (IDLE or TAMPERED)"),
    MessageType.GET_INFO: _record(
        m.DeviceInfo,
        "vendor" / Str8 * "manufacturer", "model" / Str8 * "model name",
        "serial" / Str8 * "serial number (also the USB iSerialNumber)",
        "firmware" / Str8 * "firmware version",
        "min_version" / VersionField * "lowest protocol version spoken",
        "max_version" / VersionField * "highest protocol version spoken",
        "capabilities" / _FlagsAdapter(u16, Capability) * "capability bits (section 5.2)",
        "languages" / _TupleAdapter(Lang, max_items=16) * "u8 count, then language tags",
        "display_columns" / u8 * "0 = no display",
        "display_rows" / u8 * "0 = no display",
        "pin_block_formats" / _TupleAdapter(Format, max_items=8) * "u8 count, then format codes",
        "key_slots" / _TupleAdapter(_KEY_SLOT, max_items=16) *
        "u8 count, then per slot: slot (u8), kind (u8), name (str8)",
        "max_pin_entries_per_hour" / u16 * "the pad's rate limit",
        "prompts" / _TupleAdapter(u8, max_items=255) * "u8 count, then the prompt ids it has"),
    MessageType.GET_LAYOUT: _LayoutAdapter(Struct(
        "name" / Str8 * "layout name (telephone, calculator, pos, or vendor's)",
        "rows" / u8 * "grid rows", "columns" / u8 * "grid columns",
        "keys" / _TupleAdapter(_KEY, max_items=64) * "u8 count, then the keys (section 6.11)"),
        m.KeyLayout),
    MessageType.GET_STATUS: _record(
        m.DeviceStatus,
        "mode" / _enum(State) * "the pad's mode", "headset" / Bool * "1 = headset in",
        "speaking" / Bool * "1 = speech in progress",
        "volume" / u16 * "current volume 1..1000", "rate" / u16 * "current speech rate %",
        "lang" / Lang * "current language",
        "digits" / u8 * "digits in the entry buffer (count only)",
        "phase" / u8 * "1 or 2 during PIN entry/change, else 0",
        "seconds_left" / u16 * "in a timed mode, else 0",
        "pin_held" / Bool * "a completed PIN waits for GetPinBlock",
        "entries_left" / u16 * "PIN entries left in the current hour",
        "beep_active" / Bool * "KeypressBeep: active keys",
        "beep_inactive" / Bool * "KeypressBeep: inactive keys"),
    MessageType.GET_PIN_BLOCK: _record(
        m.PinBlockReply,
        "format" / Format * "format used", "slot" / u8 * "key slot used",
        "block" / _BlobAdapter((8, 16)) * "u8 length (8 or 16), then the enciphered PIN block",
        "ksn" / _BlobAdapter((0, 10, 12)) * "u8 length (0, 10 or 12), then the DUKPT KSN"),
    MessageType.LOAD_KEY: _record(
        m.KeyLoaded, "slot" / u8 * "key slot",
        "kcv" / _BlobAdapter((3,)) * "u8 3, then the key check value (section 6.6)"),
    MessageType.GET_KEY_INFO: _record(
        m.KeyInfo, "slot" / u8 * "key slot", "kind" / _enum(KeyKind) * "NONE = empty slot",
        "kcv" / _BlobAdapter((0, 3)) * "key check value (empty for an empty slot)",
        "ksn" / _BlobAdapter((0, 10, 12)) * "next DUKPT KSN, or empty"),
    MessageType.SPEAK: _record(
        m.SpeechQueued, "utterance_id" / u16 * "names the utterance in SpeechEnded"),
    MessageType.SPEAK_PROMPT: _record(
        m.SpeechQueued, "utterance_id" / u16 * "names the utterance in SpeechEnded"),
    MessageType.EXTEND_TIME: _record(
        m.TimeLeft, "seconds_left" / u16 * "seconds left after the extension (<= 600)"),
}

_EVENT_BODIES: dict[MessageType, Construct] = {
    MessageType.POWER_ON: _record(
        m.PowerOn, "boot_count" / u32 * "start counter (persisted, +1 per start)",
        "reason" / _enum(ResetReason) * "why the pad started",
        "max_version" / VersionField * "highest protocol version spoken"),
    MessageType.TAMPER: _record(m.Tamper, "cause" / _enum(TamperCause) * "which sensor fired"),
    MessageType.HEADSET_CHANGED: _record(
        m.HeadsetChanged, "inserted" / Bool * "1 = plugged in (private audio), 0 = removed"),
    MessageType.SPEECH_ENDED: _record(
        m.SpeechEnded, "utterance_id" / u16 * "from SpeechQueued, or the pad's own speech",
        "how" / _enum(SpeechEnd) * "why it ended"),
    MessageType.KEY_PRESSED: _record(
        m.KeyPressed, "key" / KeyName * "key code (never a digit during PIN entry/change)",
        "digits" / u8 * "entry digit count after the key acted (0 outside entry)",
        "status" / _enum(KeyStatus) * "what the press did"),
    MessageType.ENTRY_READY: _record(
        m.EntryReady, "phase" / _RangeAdapter(u8, 1, 2) * "1 = (first) entry, 2 = re-entry",
        "seconds_left" / u16 * "inactivity time left"),
    MessageType.DIGIT_ENTERED: _record(
        m.DigitEntered, "digits" / _RangeAdapter(u8, 0, 12) * "digit count (never a value)",
        "accepted" / Bool * "0 = ignored, the buffer was full"),
    MessageType.PIN_ENTRY_COMPLETED: _record(
        m.PinEntryCompleted, "how" / _enum(EntryEnd) * "how it ended (ENTER/AUTO keep the PIN)",
        "digits" / _RangeAdapter(u8, 0, 12) * "PIN length kept, or digits when it ended",
        "key" / OptionalKeyName * "terminating key code, 0 = none"),
    MessageType.PIN_CHANGE_COMPLETED: _record(
        m.PinChangeCompleted, "how" / _enum(EntryEnd) * "ENTER/AUTO = matched, MISMATCH, ...",
        "digits" / _RangeAdapter(u8, 0, 12) * "new PIN length when matched, else 0..12",
        "key" / OptionalKeyName * "terminating key code, 0 = none"),
    MessageType.PIN_CHANGE_MISMATCH: _record(
        m.PinChangeMismatch, "attempts_left" / u8 * "re-tries left before the change fails"),
    MessageType.TIME_WARNING: _record(
        m.TimeWarning, "seconds_left" / u16 * "seconds before the entry times out"),
    MessageType.TIME_EXTENDED: _record(
        m.TimeExtended, "seconds_left" / u16 * "seconds left now",
        "by" / _enum(Extender) * "HOST (ExtendTime) or CUSTOMER (help key)"),
}


class _ResponseAdapter(Adapter):
    """result byte, then the body only when result is OK."""

    def __init__(self, request_type: MessageType, body: Construct | None) -> None:
        super().__init__(Struct(
            "result" / _enum(ResultCode) * "result code (section 5.1)",
            "body" / If(this.result == ResultCode.OK, body) if body is not None else
            "body" / If(lambda ctx: False, Int8ub)))
        self.request_type = request_type

    def _decode(self, obj: Any, context: Any, path: str) -> m.Response:
        if obj.result != ResultCode.OK:
            return m.Refused(self.request_type, obj.result)
        if obj.body is None:
            return m.Done(self.request_type)
        return obj.body

    def _encode(self, obj: Any, context: Any, path: str) -> dict:
        if isinstance(obj, m.Refused):
            if obj.result == ResultCode.OK:
                raise ValidationError("Refused with result OK: send Done instead", path=path)
            return {"result": obj.result, "body": None}
        if isinstance(obj, m.Done):
            return {"result": ResultCode.OK, "body": None}
        return {"result": ResultCode.OK, "body": obj}


def _payload(sub: Construct) -> Construct:
    return FocusedSeq("message", "message" / sub, Terminated)


#: TYPE byte -> payload schema (parses to / builds from a message dataclass)
PAYLOADS: dict[int, Construct] = {
    **{int(t): _payload(s) for t, s in _REQUEST_BODIES.items()},
    **{int(t) | 0x40: _payload(_ResponseAdapter(t, _RESPONSE_BODIES.get(t)))
       for t in _REQUEST_BODIES},
    **{int(t): _payload(s) for t, s in _EVENT_BODIES.items()},
    int(MessageType.ACK): _payload("crc" / u16 * "CRC-16 of the frame acknowledged"),
}


def _header_bytes(ctx: Any) -> bytes:
    return struct.pack(">HBBB", ctx.length, ctx.seq, ctx.ref, ctx.type)


#: one frame, payload as raw bytes (SPEC section 3.1)
FRAME = Struct(
    "sof" / Const(bytes([SOF])) * "start marker 0xA5",
    "length" / Rebuild(u16, len_(this.payload)) * "payload length N, big-endian",
    Check(this.length <= MAX_PAYLOAD),
    "seq" / u8 * "sender's sequence number",
    "ref" / u8 * "ACK: the seq acknowledged; response: the request's seq; else 0",
    "type" / u8 * "message type (section 5.0)",
    "hck" / Checksum(u8, crc8, _header_bytes) * "CRC-8/SMBUS of LEN, SEQ, REF, TYPE",
    "payload" / Bytes(this.length) * "N bytes, per message type",
    "crc" / Checksum(u16, crc16, lambda ctx: _header_bytes(ctx) + bytes([ctx.hck]) + ctx.payload)
    * "CRC-16/CCITT-FALSE of LEN..payload (bytes 1..6+N), big-endian",
    Terminated,
)

#: a frame with its payload decoded by message type (parse only: for documents and tests)
MESSAGE_FRAME = Struct(
    "frame" / FRAME,
    "message" / RestreamData(this.frame.payload, Switch(this.frame.type, PAYLOADS)),
)


def ack_payload(frame_crc: int) -> bytes:
    return struct.pack(">H", frame_crc)


def build_frame(seq: int, ref: int, type_byte: int, payload: bytes) -> bytes:
    """Frame ``payload`` (LocalProtocolError if it cannot be framed)."""
    if len(payload) > MAX_PAYLOAD:
        raise LocalProtocolError(f"payload of {len(payload)} bytes exceeds the TPP maximum "
                                 f"of {MAX_PAYLOAD}")
    try:
        return FRAME.build({"seq": seq, "ref": ref, "type": type_byte, "payload": payload})
    except ConstructError as exc:
        raise LocalProtocolError(f"cannot frame message type {type_byte:#04x}: {exc}") from None


def encode_message(message: m.Message, request_type: int | None = None) -> tuple[int, bytes]:
    """(TYPE byte, payload) of a message.  A response needs the type of the request it answers
    when that is ambiguous (SpeechQueued answers Speak and SpeakPrompt); Done and Refused carry
    it themselves."""
    if isinstance(message, (m.Done, m.Refused)):
        request_type = message.request_type
    if isinstance(message, m.Response):
        if request_type is None and len(type(message).REQUESTS) == 1:
            request_type = type(message).REQUESTS[0]
        if request_type is None:
            raise LocalProtocolError(f"{type(message).__name__}: which request does it answer?")
        if isinstance(message, m.Refused):
            if not 0x01 <= int(request_type) <= 0x3F:
                raise LocalProtocolError(f"{request_type!r} is not a request type")
            if message.result == ResultCode.OK or not isinstance(message.result, ResultCode):
                raise LocalProtocolError("Refused needs a ResultCode other than OK")
            return int(request_type) | 0x40, bytes([int(message.result)])
        if isinstance(message, m.Done):
            if request_type not in m.DONE_REQUESTS:
                raise LocalProtocolError(f"Done cannot answer {request_type!r}: that request "
                                         "has a response body")
        elif request_type not in type(message).REQUESTS:
            raise LocalProtocolError(f"{type(message).__name__} cannot answer {request_type!r}")
        type_byte = int(request_type) | 0x40
    elif isinstance(message, (m.Request, m.Event)):
        type_byte = int(message.TYPE)
    else:
        raise LocalProtocolError(f"{message!r} is not a TPP message")
    try:
        payload = PAYLOADS[type_byte].build(message)
    except (ConstructError, KeyError, TypeError, ValueError, UnicodeError) as exc:
        raise LocalProtocolError(f"cannot encode {type(message).__name__}: {exc}") from None
    return type_byte, payload


def decode_message(type_byte: int, payload: bytes, *, seq: int = 0) -> m.Message:
    """The message in a frame's payload; BadMessageError if unknown or malformed."""
    if 0x41 <= type_byte <= 0x7F and type_byte not in PAYLOADS:
        # a pad refusing a request type it does not know: exactly one non-OK result byte
        if len(payload) == 1 and payload[0] in ResultCode._value2member_map_ and payload[0]:
            return m.Refused(type_byte & 0x3F, ResultCode(payload[0]))
    schema = PAYLOADS.get(type_byte)
    if schema is None or type_byte == MessageType.ACK:
        raise BadMessageError(f"unknown message type {type_byte:#04x}", message_type=type_byte,
                              seq=seq, result=ResultCode.UNKNOWN_MESSAGE)
    try:
        return schema.parse(payload)
    except (ConstructError, ValueError, TypeError) as exc:
        name = MessageType(type_byte & ~0x40 if 0x41 <= type_byte <= 0x7F else type_byte).name \
            if (type_byte & ~0x40 if 0x41 <= type_byte <= 0x7F else type_byte) in \
            MessageType._value2member_map_ else f"{type_byte:#04x}"
        raise BadMessageError(f"malformed {name} payload ({len(payload)} bytes): "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                              message_type=type_byte, seq=seq,
                              result=ResultCode.BAD_PARAMETER) from None
