"""TPP messages as frozen, slotted dataclasses (one class per message; SPEC section 6).

* :class:`Request` - host to pad (``TYPE`` 0x01..0x3F);
* :class:`Response` - pad to host, answering one request (``TYPE`` = request | 0x40): a body
  class below, :class:`Done` (success, no body) or :class:`Refused` (a result code);
* :class:`Event` - pad to host, unsolicited (``TYPE`` 0x80..0xBF).

No message has a field that could carry a PIN digit: digit events carry only a count, and
named keys are never digits while a PIN is being entered (the connection enforces this).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from protocol.layout import Key, Layout
from protocol.pinblock import PinBlockFormat
from protocol.tpp.codes import (
    PROTOCOL_VERSION,
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
    RESULT_MEANINGS,
    SpeechEnd,
    State,
    TamperCause,
    Tone,
    Version,
)
from protocol.tpp.prompts import PromptId

__all__ = [
    "Message", "Request", "Response", "Event",
    "ActiveKey", "KeySlot", "DEFAULT_ACTIVE_KEYS",
    # requests
    "Hello", "GetInfo", "GetLayout", "GetStatus", "Reset", "SetLanguage", "ExploreStart", "ExploreStop",
    "PinEntry", "PinChange", "CancelEntry", "ExtendTime", "GetPinBlock", "LoadKey",
    "GetKeyInfo", "DeleteKey", "Speak", "SpeakPrompt", "StopSpeech", "PlayTone",
    "KeypressBeep", "SetVolume", "SetFeedback", "Display", "Haptic",
    # responses
    "Done", "Refused", "HelloReply", "DeviceInfo", "KeyLayout", "DeviceStatus",
    "PinBlockReply", "KeyLoaded", "KeyInfo", "SpeechQueued", "TimeLeft",
    # events
    "PowerOn", "Tamper", "HeadsetChanged", "SpeechEnded", "KeyPressed", "EntryReady",
    "DigitEntered", "PinEntryCompleted", "PinChangeCompleted", "PinChangeMismatch",
    "TimeWarning", "TimeExtended",
    "REQUEST_CLASSES", "RESPONSE_CLASSES", "EVENT_CLASSES", "DONE_REQUESTS",
]


class Message:
    """Base of every TPP message."""

    __slots__ = ()
    TYPE: ClassVar[MessageType]


class Request(Message):
    """Host -> pad."""

    __slots__ = ()


class Response(Message):
    """Pad -> host, answering a request.

    ``REQUESTS`` lists the request types this response class can answer."""

    __slots__ = ()
    REQUESTS: ClassVar[tuple[MessageType, ...]] = ()


class Event(Message):
    """Pad -> host, unsolicited (acknowledged by the host like every data frame)."""

    __slots__ = ()


# -- helper records ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ActiveKey:
    """One active key of a PIN entry: XFS key name and whether it ends the entry."""

    key: str
    terminate: bool = False


@dataclass(frozen=True, slots=True)
class KeySlot:
    """A key slot of the pad: number used on the wire, what it holds, a readable name."""

    slot: int
    kind: KeyKind
    name: str


#: digits (never terminate), enter and cancel (terminate), clear, backspace, help
DEFAULT_ACTIVE_KEYS: tuple[ActiveKey, ...] = (
    *(ActiveKey(k) for k in ("zero", "one", "two", "three", "four", "five", "six", "seven",
                             "eight", "nine")),
    ActiveKey("enter", True), ActiveKey("cancel", True), ActiveKey("clear"),
    ActiveKey("backspace"), ActiveKey("help"),
)


# ============================================================================ requests
@dataclass(frozen=True, slots=True)
class Hello(Request):
    """Open a session and agree a protocol version.  Aborts any explore / entry, wipes PINs."""

    TYPE: ClassVar[MessageType] = MessageType.HELLO
    min_version: Version = PROTOCOL_VERSION
    max_version: Version = PROTOCOL_VERSION
    #: differs between host sessions (random or a counter): makes each Hello frame unique
    session: int = 0
    host: str = ""


@dataclass(frozen=True, slots=True)
class GetInfo(Request):
    TYPE: ClassVar[MessageType] = MessageType.GET_INFO


@dataclass(frozen=True, slots=True)
class GetLayout(Request):
    TYPE: ClassVar[MessageType] = MessageType.GET_LAYOUT


@dataclass(frozen=True, slots=True)
class GetStatus(Request):
    TYPE: ClassVar[MessageType] = MessageType.GET_STATUS


@dataclass(frozen=True, slots=True)
class Reset(Request):
    """Restart the pad (answered with Done, then a PowerOn event with reason HOST_RESET)."""

    TYPE: ClassVar[MessageType] = MessageType.RESET


@dataclass(frozen=True, slots=True)
class SetLanguage(Request):
    """The language of the pad's own prompts and key names from now on, in every mode (idle
    included: the headset prompt, explore key names); kept until the next SetLanguage
    (capability CUSTOMER_SETTINGS)."""

    TYPE: ClassVar[MessageType] = MessageType.SET_LANGUAGE
    lang: str = "en"


@dataclass(frozen=True, slots=True)
class ExploreStart(Request):
    """Key exploration: every key press is reported BY NAME; no PIN can be active."""

    TYPE: ClassVar[MessageType] = MessageType.EXPLORE_START
    lang: str = "en"


@dataclass(frozen=True, slots=True)
class ExploreStop(Request):
    TYPE: ClassVar[MessageType] = MessageType.EXPLORE_STOP


@dataclass(frozen=True, slots=True)
class PinEntry(Request):
    """XFS4IoT Keyboard.PinEntry.  ``time_limit`` is an inactivity limit in seconds, re-armed
    by every key press; ``prompt`` must be a prompt that may start a PIN entry."""

    TYPE: ClassVar[MessageType] = MessageType.PIN_ENTRY
    min_len: int = 4
    max_len: int = 12
    auto_end: bool = False
    time_limit: int = 90
    prompt: int = PromptId.ENTER_PIN
    prompt_args: tuple[int, ...] = ()
    lang: str = "en"
    beep: BeepPolicy = BeepPolicy.FOLLOW_SETTING
    active_keys: tuple[ActiveKey, ...] = DEFAULT_ACTIVE_KEYS


@dataclass(frozen=True, slots=True)
class PinChange(Request):
    """The customer enters a new PIN twice; the pad compares the two entries itself.
    After ``max_mismatches`` mismatches the change ends with how=MISMATCH."""

    TYPE: ClassVar[MessageType] = MessageType.PIN_CHANGE
    min_len: int = 4
    max_len: int = 12
    auto_end: bool = False
    time_limit: int = 90
    prompt: int = PromptId.ENTER_NEW_PIN
    prompt_args: tuple[int, ...] = ()
    lang: str = "en"
    beep: BeepPolicy = BeepPolicy.FOLLOW_SETTING
    active_keys: tuple[ActiveKey, ...] = DEFAULT_ACTIVE_KEYS
    max_mismatches: int = 3


@dataclass(frozen=True, slots=True)
class CancelEntry(Request):
    """End the running PIN entry / PIN change (completion how=HOST_CANCEL) or explore mode.
    Idempotent: Done even when nothing runs."""

    TYPE: ClassVar[MessageType] = MessageType.CANCEL_ENTRY


@dataclass(frozen=True, slots=True)
class ExtendTime(Request):
    TYPE: ClassVar[MessageType] = MessageType.EXTEND_TIME
    seconds: int = 30


@dataclass(frozen=True, slots=True)
class GetPinBlock(Request):
    """Encipher the held PIN (one use).  ``customer_data``: the PAN digits for formats 0, 3, 4
    and SM4; for format 1 optional (ignored by TPP 1.0 pads).  ``slot`` 0 = the pad's default
    slot for the format."""

    TYPE: ClassVar[MessageType] = MessageType.GET_PIN_BLOCK
    format: PinBlockFormat = PinBlockFormat.ISO4
    customer_data: str = ""
    slot: int = 0


@dataclass(frozen=True, slots=True)
class LoadKey(Request):
    """Load a key into a slot in clear (test and key-loading-room use).  There is NO message
    that reads a key back: only its check value."""

    TYPE: ClassVar[MessageType] = MessageType.LOAD_KEY
    slot: int
    kind: LoadKind
    key: bytes = field(repr=False)
    #: TDES: initial KSN (10 bytes); AES: initial key ID (8 bytes); fixed keys: empty
    ksn: bytes = b""
    #: expected key check value (3 bytes) or empty for "do not check"
    kcv: bytes = b""


@dataclass(frozen=True, slots=True)
class GetKeyInfo(Request):
    TYPE: ClassVar[MessageType] = MessageType.GET_KEY_INFO
    slot: int


@dataclass(frozen=True, slots=True)
class DeleteKey(Request):
    TYPE: ClassVar[MessageType] = MessageType.DELETE_KEY
    slot: int


@dataclass(frozen=True, slots=True)
class Speak(Request):
    """Free text speech.  Refused (NOT_ALLOWED_DURING_PIN) during PIN entry / PIN change.
    ``rate`` in percent of normal (50..200, 0 = current), ``volume`` 1..1000 (0 = current);
    ``queue`` False replaces what is being said."""

    TYPE: ClassVar[MessageType] = MessageType.SPEAK
    text: str
    lang: str = "en"
    rate: int = 0
    volume: int = 0
    interruptible: bool = True
    queue: bool = False


@dataclass(frozen=True, slots=True)
class SpeakPrompt(Request):
    """Speak (and, with ``display``, show) a prompt of the pad's fixed table."""

    TYPE: ClassVar[MessageType] = MessageType.SPEAK_PROMPT
    prompt: int
    lang: str = "en"
    args: tuple[int, ...] = ()
    interruptible: bool = True
    display: bool = True


@dataclass(frozen=True, slots=True)
class StopSpeech(Request):
    TYPE: ClassVar[MessageType] = MessageType.STOP_SPEECH


@dataclass(frozen=True, slots=True)
class PlayTone(Request):
    """A named tone, or CUSTOM with ``frequency`` (Hz) and ``duration`` (ms).  0 = default."""

    TYPE: ClassVar[MessageType] = MessageType.PLAY_TONE
    tone: Tone = Tone.ATTENTION
    frequency: int = 0
    duration: int = 0
    volume: int = 0


@dataclass(frozen=True, slots=True)
class KeypressBeep(Request):
    """XFS4IoT KeypressBeep: automatic tones for active / inactive keys."""

    TYPE: ClassVar[MessageType] = MessageType.KEYPRESS_BEEP
    active: bool = True
    inactive: bool = True


@dataclass(frozen=True, slots=True)
class SetVolume(Request):
    """Volume 1..1000 and speech rate 50..200 % (0 = the pad's default for either)."""

    TYPE: ClassVar[MessageType] = MessageType.SET_VOLUME
    volume: int = 0
    rate: int = 0


@dataclass(frozen=True, slots=True)
class SetFeedback(Request):
    """Which senses the pad's OWN feedback reaches (capability CUSTOMER_SETTINGS), for the
    customer now at the pad.  ``speech`` False: the silent form of every fixed prompt and
    explore key name, and of host Speak too (shown on the display for as long as it would take
    to say, never spoken); ``tones`` False: no tone, key tones included; ``haptics`` True: the
    named vibration patterns for keys, warnings and the end of each step; ``captions`` True:
    whatever the pad says is also shown, laid out in pages in step with the speech; ``large``:
    the pad's own text and captions in large type (SPEC 6.7).  Back to speech, tones and
    captions on, haptics and large type off at Hello, Reset and power-up."""

    TYPE: ClassVar[MessageType] = MessageType.SET_FEEDBACK
    speech: bool = True
    tones: bool = True
    haptics: bool = False
    captions: bool = True
    large: bool = False


@dataclass(frozen=True, slots=True)
class Display(Request):
    """Show text (empty = clear).  Refused during PIN entry / PIN change."""

    TYPE: ClassVar[MessageType] = MessageType.DISPLAY
    text: str
    large: bool = False


@dataclass(frozen=True, slots=True)
class Haptic(Request):
    """Vibration pattern: milliseconds on, off, on, ... (1..16 values, each 1..2000)."""

    TYPE: ClassVar[MessageType] = MessageType.HAPTIC
    pattern: tuple[int, ...] = (100,)


# ============================================================================ responses
@dataclass(frozen=True, slots=True)
class Done(Response):
    """Success of a request whose response has no body."""

    request_type: MessageType


@dataclass(frozen=True, slots=True)
class Refused(Response):
    """The pad refused a request.  ``request_type`` may be a type the pad does not know (int)."""

    request_type: int
    result: ResultCode

    @property
    def meaning(self) -> str:
        return RESULT_MEANINGS[self.result]


@dataclass(frozen=True, slots=True)
class HelloReply(Response):
    REQUESTS: ClassVar[tuple[MessageType, ...]] = (MessageType.HELLO,)
    version: Version
    #: the largest payload the pad accepts (>= 256, <= 1024)
    max_payload: int
    boot_count: int
    mode: State


@dataclass(frozen=True, slots=True)
class DeviceInfo(Response):
    REQUESTS: ClassVar[tuple[MessageType, ...]] = (MessageType.GET_INFO,)
    vendor: str
    model: str
    serial: str
    firmware: str
    min_version: Version
    max_version: Version
    capabilities: Capability
    languages: tuple[str, ...]
    display_columns: int
    display_rows: int
    pin_block_formats: tuple[PinBlockFormat, ...]
    key_slots: tuple[KeySlot, ...]
    max_pin_entries_per_hour: int
    prompts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class KeyLayout(Response):
    """GetLayout: every key with XFS name, label, rectangle in the 0..999 frame, grid cell,
    tactile mark and colour (the keys are :class:`protocol.layout.Key`)."""

    REQUESTS: ClassVar[tuple[MessageType, ...]] = (MessageType.GET_LAYOUT,)
    name: str
    rows: int
    columns: int
    keys: tuple[Key, ...]

    def to_layout(self) -> Layout:
        return Layout(name=self.name, keys=self.keys, rows=self.rows, columns=self.columns)

    @classmethod
    def from_layout(cls, layout: Layout) -> "KeyLayout":
        return cls(name=layout.name, rows=layout.rows, columns=layout.columns,
                   keys=tuple(layout.keys))


@dataclass(frozen=True, slots=True)
class DeviceStatus(Response):
    REQUESTS: ClassVar[tuple[MessageType, ...]] = (MessageType.GET_STATUS,)
    mode: State
    headset: bool
    speaking: bool
    volume: int
    rate: int
    lang: str
    #: digits in the entry buffer (0 outside PIN entry / change) and phase 1/2 (0 outside)
    digits: int
    phase: int
    seconds_left: int
    pin_held: bool
    entries_left: int
    beep_active: bool
    beep_inactive: bool


@dataclass(frozen=True, slots=True)
class PinBlockReply(Response):
    REQUESTS: ClassVar[tuple[MessageType, ...]] = (MessageType.GET_PIN_BLOCK,)
    format: PinBlockFormat
    slot: int
    block: bytes
    #: DUKPT key serial number (10 bytes TDES, 12 bytes AES) or empty for fixed keys
    ksn: bytes = b""


@dataclass(frozen=True, slots=True)
class KeyLoaded(Response):
    REQUESTS: ClassVar[tuple[MessageType, ...]] = (MessageType.LOAD_KEY,)
    slot: int
    kcv: bytes


@dataclass(frozen=True, slots=True)
class KeyInfo(Response):
    REQUESTS: ClassVar[tuple[MessageType, ...]] = (MessageType.GET_KEY_INFO,)
    slot: int
    kind: KeyKind
    kcv: bytes = b""
    ksn: bytes = b""


@dataclass(frozen=True, slots=True)
class SpeechQueued(Response):
    REQUESTS: ClassVar[tuple[MessageType, ...]] = (MessageType.SPEAK, MessageType.SPEAK_PROMPT)
    utterance_id: int


@dataclass(frozen=True, slots=True)
class TimeLeft(Response):
    REQUESTS: ClassVar[tuple[MessageType, ...]] = (MessageType.EXTEND_TIME,)
    seconds_left: int


# ============================================================================ events
@dataclass(frozen=True, slots=True)
class PowerOn(Event):
    TYPE: ClassVar[MessageType] = MessageType.POWER_ON
    #: increments at every start (persisted): makes each PowerOn frame unique
    boot_count: int
    reason: ResetReason = ResetReason.POWER_UP
    max_version: Version = PROTOCOL_VERSION


@dataclass(frozen=True, slots=True)
class Tamper(Event):
    """The pad detected tampering: PIN buffers and keys are erased, mode TAMPERED."""

    TYPE: ClassVar[MessageType] = MessageType.TAMPER
    cause: TamperCause = TamperCause.OTHER


@dataclass(frozen=True, slots=True)
class HeadsetChanged(Event):
    """Headset in: private audio (speaker muted).  Out: public audio, volume back to default."""

    TYPE: ClassVar[MessageType] = MessageType.HEADSET_CHANGED
    inserted: bool


@dataclass(frozen=True, slots=True)
class SpeechEnded(Event):
    TYPE: ClassVar[MessageType] = MessageType.SPEECH_ENDED
    utterance_id: int
    how: SpeechEnd = SpeechEnd.COMPLETED


@dataclass(frozen=True, slots=True)
class KeyPressed(Event):
    """A NAMED key.  Digit keys are named only in explore mode; during PIN entry and PIN change
    digits produce :class:`DigitEntered` instead.  ``digits``: the entry's digit count after
    the key acted (0 outside entry)."""

    TYPE: ClassVar[MessageType] = MessageType.KEY_PRESSED
    key: str
    digits: int = 0
    status: KeyStatus = KeyStatus.ACCEPTED


@dataclass(frozen=True, slots=True)
class EntryReady(Event):
    """The pad accepts keys: phase 1 (PIN entry, first PIN of a change) or 2 (re-entry)."""

    TYPE: ClassVar[MessageType] = MessageType.ENTRY_READY
    phase: int = 1
    seconds_left: int = 0


@dataclass(frozen=True, slots=True)
class DigitEntered(Event):
    """A digit key was pressed: only the count, never the value.  ``accepted`` False when the
    buffer was already full (max_len reached, auto_end off)."""

    TYPE: ClassVar[MessageType] = MessageType.DIGIT_ENTERED
    digits: int
    accepted: bool = True


@dataclass(frozen=True, slots=True)
class PinEntryCompleted(Event):
    """``digits``: the PIN length when kept (ENTER/AUTO), else the count when it ended;
    ``key``: the terminating key, if one ended it."""

    TYPE: ClassVar[MessageType] = MessageType.PIN_ENTRY_COMPLETED
    how: EntryEnd
    digits: int = 0
    key: str | None = None

    @property
    def pin_kept(self) -> bool:
        return self.how.pin_kept


@dataclass(frozen=True, slots=True)
class PinChangeCompleted(Event):
    """``matched`` True (how ENTER/AUTO): the two entries matched and the new PIN is held for
    GetPinBlock.  Never carries the PIN."""

    TYPE: ClassVar[MessageType] = MessageType.PIN_CHANGE_COMPLETED
    how: EntryEnd
    digits: int = 0
    key: str | None = None

    @property
    def matched(self) -> bool:
        return self.how.pin_kept


@dataclass(frozen=True, slots=True)
class PinChangeMismatch(Event):
    """The re-entered PIN differed; the change restarts at phase 1 (EntryReady follows)."""

    TYPE: ClassVar[MessageType] = MessageType.PIN_CHANGE_MISMATCH
    attempts_left: int


@dataclass(frozen=True, slots=True)
class TimeWarning(Event):
    TYPE: ClassVar[MessageType] = MessageType.TIME_WARNING
    seconds_left: int


@dataclass(frozen=True, slots=True)
class TimeExtended(Event):
    TYPE: ClassVar[MessageType] = MessageType.TIME_EXTENDED
    seconds_left: int
    by: Extender = Extender.HOST


REQUEST_CLASSES: dict[MessageType, type[Request]] = {
    c.TYPE: c for c in (
        Hello, GetInfo, GetLayout, GetStatus, Reset, SetLanguage, ExploreStart, ExploreStop,
        PinEntry, PinChange, CancelEntry, ExtendTime, GetPinBlock, LoadKey, GetKeyInfo,
        DeleteKey, Speak, SpeakPrompt, StopSpeech, PlayTone, KeypressBeep, SetVolume,
        SetFeedback, Display, Haptic)}

#: request type -> the response class with a body that answers it
RESPONSE_CLASSES: dict[MessageType, type[Response]] = {
    t: c for c in (HelloReply, DeviceInfo, KeyLayout, DeviceStatus, PinBlockReply, KeyLoaded,
                   KeyInfo, SpeechQueued, TimeLeft) for t in c.REQUESTS}

#: requests whose success is :class:`Done`
DONE_REQUESTS: frozenset[MessageType] = frozenset(REQUEST_CLASSES) - frozenset(RESPONSE_CLASSES)

EVENT_CLASSES: dict[MessageType, type[Event]] = {
    c.TYPE: c for c in (
        PowerOn, Tamper, HeadsetChanged, SpeechEnded, KeyPressed, EntryReady, DigitEntered,
        PinEntryCompleted, PinChangeCompleted, PinChangeMismatch, TimeWarning, TimeExtended)}
