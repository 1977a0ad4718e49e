"""TPP numbers: message types, result codes, modes, and every enumerated field value.

Each table here is normative (SPEC.md renders it and a test checks the rendering), so the codes
on the wire can never drift from the document.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from protocol.layout import KeyColour, TactileMark
from protocol.pinblock import PinBlockFormat

__all__ = [
    "Version",
    "PROTOCOL_VERSION",
    "SOF",
    "HEADER_SIZE",
    "TRAILER_SIZE",
    "FRAME_OVERHEAD",
    "MAX_PAYLOAD",
    "MIN_PAYLOAD_LIMIT",
    "MAX_FRAME",
    "MessageType",
    "ResultCode",
    "RESULT_MEANINGS",
    "State",
    "KEY_CODES",
    "KEY_NAMES_BY_CODE",
    "DIGIT_KEYS",
    "MARK_CODES",
    "COLOUR_CODES",
    "FORMAT_CODES",
    "Capability",
    "KeyKind",
    "LoadKind",
    "BeepPolicy",
    "KeyStatus",
    "EntryEnd",
    "Extender",
    "SpeechEnd",
    "Tone",
    "ResetReason",
    "TamperCause",
    "MAX_PIN_ENTRIES_PER_HOUR",
    "HELD_PIN_LIFETIME",
    "KEY_DEBOUNCE",
    "WARN_AT",
    "warning_marks",
    "HELP_EXTENSIONS",
    "MAX_TIME_LIMIT",
    "MAX_PROMPT_ARG",
    "USB_VID",
    "USB_PID",
    "HAPTIC_PATTERNS",
    "LARGE_TYPE_CELLS",
]


class Version(NamedTuple):
    """A protocol version: major changes break compatibility, minor ones only add."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


PROTOCOL_VERSION = Version(1, 0)

# -- framing constants (SPEC section 3) ------------------------------------------------------
SOF = 0xA5
#: SOF, LEN(2), SEQ, REF, TYPE, HCK
HEADER_SIZE = 7
#: CRC-16
TRAILER_SIZE = 2
FRAME_OVERHEAD = HEADER_SIZE + TRAILER_SIZE
#: the largest payload any TPP 1.0 frame may carry
MAX_PAYLOAD = 1024
#: a device may announce a smaller receive limit in HelloReply, but never below this
MIN_PAYLOAD_LIMIT = 256
MAX_FRAME = MAX_PAYLOAD + FRAME_OVERHEAD

# -- device rules (SPEC section 8) -----------------------------------------------------------
MAX_PIN_ENTRIES_PER_HOUR = 120
#: seconds a completed PIN waits inside the pad for one GetPinBlock
HELD_PIN_LIFETIME = 120
#: seconds-left marks at which the pad sends TimeWarning during a timed mode
WARN_AT = (30, 10)
#: seconds: a closure of the same key within this interval of its last registered press is
#: contact bounce, not a new press (SPEC 6.3 and 10); no customer presses one key this fast
KEY_DEBOUNCE = 0.05


def warning_marks(seconds_left: float) -> tuple[int, ...]:
    """The seconds-left marks still to warn at, once an entry's time is (re-)armed.

    The marks of :data:`WARN_AT` below ``seconds_left``; when none is (a 10 s limit), half the
    time left, so that every time limit warns before it expires (SPEC 6.5).
    """
    marks = tuple(w for w in WARN_AT if w < seconds_left)
    if marks:
        return marks
    half = int(seconds_left) // 2
    return (half,) if half >= 1 else ()
#: how many times the customer may extend an entry with the help key
HELP_EXTENSIONS = 3
#: upper bound for any time limit and for the seconds left after an extension
MAX_TIME_LIMIT = 600
#: prompt arguments are 0..999: three digits at most, so no argument can carry a 4+ digit PIN
MAX_PROMPT_ARG = 999

#: large type shows half the cells of normal type in each line (SPEC 6.7): each glyph is two
#: cells wide, so a 20 x 4 display holds lines of 10 cells (a CJK character takes two cells in
#: either size, so 5 Chinese characters to a large line, 10 to a normal one)
LARGE_TYPE_CELLS = 2

#: the named vibration patterns (ms on, off, on, ...) of the pad and the host (SPEC 6.7), one
#: home for both: each is distinct by rhythm, so a deaf or deafblind customer tells them apart
#: by touch alone.  "key" is the pad's own identical pulse for every key during PIN entry (the
#: host may not send it then); "accepted" the host's one pulse per digit; the ends of a step
#: differ: "done" three short, "cancelled" two long, "timeout" one long and two short, "error"
#: one long.
HAPTIC_PATTERNS: dict[str, tuple[int, ...]] = {
    "key": (30,),
    "inactive": (15, 40, 15),
    "accepted": (50,),
    "warning": (120, 80, 120, 80, 120),
    "error": (600,),
    "done": (60, 60, 60, 60, 60),
    "cancelled": (300, 150, 300),
    "timeout": (500, 150, 60, 100, 60),
    "attention": (200, 100, 200, 100, 200, 100, 200),
}

# pid.codes test VID:PID (https://pid.codes/1209/0001/): for development, never for products
USB_VID = 0x1209
USB_PID = 0x0001


class MessageType(enum.IntEnum):
    """TYPE byte.  0x01..0x3F host requests, request|0x40 the device's response to it,
    0x80..0xBF device events, 0x00 the link-level ACK."""

    ACK = 0x00
    # session and information
    HELLO = 0x01
    GET_INFO = 0x02
    GET_LAYOUT = 0x03
    GET_STATUS = 0x04
    RESET = 0x05
    SET_LANGUAGE = 0x06
    # keyboard
    EXPLORE_START = 0x08
    EXPLORE_STOP = 0x09
    PIN_ENTRY = 0x0A
    PIN_CHANGE = 0x0B
    CANCEL_ENTRY = 0x0C
    EXTEND_TIME = 0x0D
    # PIN pad and keys
    GET_PIN_BLOCK = 0x10
    LOAD_KEY = 0x11
    GET_KEY_INFO = 0x12
    DELETE_KEY = 0x13
    # audio, display, haptics
    SPEAK = 0x18
    SPEAK_PROMPT = 0x19
    STOP_SPEECH = 0x1A
    PLAY_TONE = 0x1B
    KEYPRESS_BEEP = 0x1C
    SET_VOLUME = 0x1D
    SET_FEEDBACK = 0x1E
    DISPLAY = 0x20
    HAPTIC = 0x21
    # events
    POWER_ON = 0x80
    TAMPER = 0x81
    HEADSET_CHANGED = 0x82
    SPEECH_ENDED = 0x83
    KEY_PRESSED = 0x88
    ENTRY_READY = 0x89
    DIGIT_ENTERED = 0x8A
    PIN_ENTRY_COMPLETED = 0x8B
    PIN_CHANGE_COMPLETED = 0x8C
    PIN_CHANGE_MISMATCH = 0x8D
    TIME_WARNING = 0x8E
    TIME_EXTENDED = 0x8F

    @property
    def is_request(self) -> bool:
        return 0x01 <= self.value <= 0x3F

    @property
    def is_event(self) -> bool:
        return 0x80 <= self.value <= 0xBF


def response_type(request_type: int) -> int:
    """The TYPE byte of the response to a request type."""
    return request_type | 0x40


class ResultCode(enum.IntEnum):
    """First payload byte of every response."""

    OK = 0x00
    UNKNOWN_MESSAGE = 0x01
    BAD_PARAMETER = 0x02
    BUSY = 0x03
    NO_SESSION = 0x04
    NOT_ALLOWED_IN_MODE = 0x05
    NOT_ALLOWED_DURING_PIN = 0x06
    RATE_LIMITED = 0x07
    NO_PIN = 0x08
    NO_KEY_IN_SLOT = 0x09
    BAD_KEY_SLOT = 0x0A
    KEY_TYPE_MISMATCH = 0x0B
    KCV_MISMATCH = 0x0C
    KEY_EXHAUSTED = 0x0D
    UNSUPPORTED_FORMAT = 0x0E
    BAD_CUSTOMER_DATA = 0x0F
    UNKNOWN_PROMPT = 0x10
    PROMPT_NOT_ALLOWED = 0x11
    UNSUPPORTED_LANGUAGE = 0x12
    UNSUPPORTED_VERSION = 0x13
    NOT_SUPPORTED = 0x14
    SPEECH_FAILED = 0x15
    EXTENSION_LIMIT = 0x16
    KEY_LOAD_REFUSED = 0x17
    TAMPERED = 0x18
    INTERNAL_ERROR = 0x19
    TEXT_TOO_LONG = 0x1A


#: plain meanings, for technicians (DeviceError.meaning) and for SPEC.md
RESULT_MEANINGS: dict[ResultCode, str] = {
    ResultCode.OK: "done",
    ResultCode.UNKNOWN_MESSAGE: "the pad does not know this message type (check the protocol "
                                "version agreed in Hello)",
    ResultCode.BAD_PARAMETER: "a field is malformed or out of range",
    ResultCode.BUSY: "the pad is busy with another request; retry shortly",
    ResultCode.NO_SESSION: "no session yet: send Hello first",
    ResultCode.NOT_ALLOWED_IN_MODE: "not allowed in the pad's current mode",
    ResultCode.NOT_ALLOWED_DURING_PIN: "not allowed while a PIN is being entered (free text "
                                       "speech and display are refused during PIN entry)",
    # the pad's own limit (at most MAX_PIN_ENTRIES_PER_HOUR) is DeviceInfo.max_pin_entries_per_hour
    ResultCode.RATE_LIMITED: "too many PIN entries in the last hour (the pad's hourly limit, "
                             "shown by GetInfo, is reached); try again later",
    ResultCode.NO_PIN: "no completed PIN is held (none entered, already used, or expired)",
    ResultCode.NO_KEY_IN_SLOT: "the key slot is empty: load a key first",
    ResultCode.BAD_KEY_SLOT: "no such key slot on this pad",
    ResultCode.KEY_TYPE_MISMATCH: "the key in this slot cannot serve this PIN block format "
                                  "or load",
    ResultCode.KCV_MISMATCH: "the key check value does not match: the key was not loaded",
    ResultCode.KEY_EXHAUSTED: "the DUKPT transaction counter is used up: load a new initial key",
    ResultCode.UNSUPPORTED_FORMAT: "this PIN block format is not supported by the pad",
    ResultCode.BAD_CUSTOMER_DATA: "the PAN / customer data is missing or malformed",
    ResultCode.UNKNOWN_PROMPT: "the prompt id is not in the pad's fixed prompt table",
    ResultCode.PROMPT_NOT_ALLOWED: "this prompt is not allowed here (a PIN prompt outside PIN "
                                   "entry, or a non-PIN prompt to start PIN entry)",
    ResultCode.UNSUPPORTED_LANGUAGE: "the pad has no speech or text for this language",
    ResultCode.UNSUPPORTED_VERSION: "no protocol version in common with the host",
    ResultCode.NOT_SUPPORTED: "the pad lacks the hardware for this (speaker, display, haptics)",
    ResultCode.SPEECH_FAILED: "the speech engine failed to speak",
    ResultCode.EXTENSION_LIMIT: "no more time extensions are allowed for this entry",
    ResultCode.KEY_LOAD_REFUSED: "the pad refuses clear key loading (production lock)",
    ResultCode.TAMPERED: "the pad detected tampering and erased its keys; it needs the vendor",
    ResultCode.INTERNAL_ERROR: "internal fault in the pad; power-cycle it and report the fault",
    ResultCode.TEXT_TOO_LONG: "the text does not fit the pad's display in this type size "
                              "(lines of at most the display's cells, at most its rows; see "
                              "GetInfo): lay it out in pages",
}


class State(enum.IntEnum):
    """The pad's mode, tracked identically by both ends (SPEC section 7)."""

    STARTING = 0  # powered on or just connected; only Hello / GetInfo / GetStatus / Reset
    IDLE = 1
    EXPLORE = 2
    PIN_ENTRY = 3
    PIN_CHANGE = 4
    TAMPERED = 5


# -- keys ------------------------------------------------------------------------------------
#: XFS4IoT key name -> key code (0 means "no key")
KEY_CODES: dict[str, int] = {
    **{name: 0x30 + i for i, name in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"))},
    "enter": 0x41,
    "cancel": 0x42,
    "clear": 0x43,
    "backspace": 0x44,
    "help": 0x45,
    "decPoint": 0x46,
    "doubleZero": 0x47,
    "tripleZero": 0x48,
    **{f"fdk{i:02d}": 0x60 + i for i in range(1, 33)},   # fdk01 = 0x61 .. fdk32 = 0x80
    **{f"vendor{i:02d}": 0xC0 + i for i in range(0, 32)},  # vendor00 = 0xC0 .. vendor31 = 0xDF
}
KEY_NAMES_BY_CODE: dict[int, str] = {v: k for k, v in KEY_CODES.items()}
DIGIT_KEYS: tuple[str, ...] = tuple(k for k, v in KEY_CODES.items() if 0x30 <= v <= 0x39)

#: tactile mark codes (protocol.layout.TactileMark)
MARK_CODES: dict[TactileMark, int] = {
    TactileMark.NONE: 0, TactileMark.DOT: 1, TactileMark.CIRCLE: 2, TactileMark.LEFT_ARROW: 3,
    TactileMark.X: 4, TactileMark.PLUS: 5, TactileMark.MINUS: 6,
}
#: colour codes (protocol.layout.KeyColour); unknown future colours are refused, not guessed
COLOUR_CODES: dict[KeyColour, int] = {
    KeyColour.NONE: 0, KeyColour.RED: 1, KeyColour.YELLOW: 2, KeyColour.GREEN: 3,
}
#: PIN block format codes (protocol.pinblock.PinBlockFormat).  0x84 is OUR labelled SM4
#: configuration (ISO format 4's construction with SM4), deliberately outside the ISO numbers.
FORMAT_CODES: dict[PinBlockFormat, int] = {
    PinBlockFormat.ISO0: 0x00, PinBlockFormat.ISO1: 0x01, PinBlockFormat.ISO3: 0x03,
    PinBlockFormat.ISO4: 0x04, PinBlockFormat.SM4_ISO4_LIKE: 0x84,
}


class Capability(enum.IntFlag):
    """GetInfo capability bits."""

    SPEAKER = 0x0001
    HEADSET_JACK = 0x0002
    DISPLAY = 0x0004
    LARGE_TYPE = 0x0008
    HAPTICS = 0x0010
    KEYPRESS_BEEP = 0x0020
    TEXT_TO_SPEECH = 0x0040
    EXPLORE = 0x0080
    PIN_CHANGE = 0x0100
    TAMPER_SENSOR = 0x0200
    #: SetLanguage and SetFeedback (SPEC 6.2, 6.7): the pad's own prompts follow the
    #: customer's language and senses
    CUSTOMER_SETTINGS = 0x0400


class KeyKind(enum.IntEnum):
    """What a key slot holds (or can hold)."""

    NONE = 0
    TDES_DUKPT = 1
    AES_DUKPT = 2
    TDES = 3
    AES = 4
    SM4 = 5


class LoadKind(enum.IntEnum):
    """How LoadKey's key field is to be used."""

    TDES_DUKPT_IPEK = 1       # key = IPEK (16 B), ksn = initial KSN (10 B)
    TDES_DUKPT_BDK_TEST = 2   # key = BDK (16 B), ksn = initial KSN (10 B); TEST pads only
    AES_DUKPT_INITIAL = 3     # key = initial key (16 B), ksn = initial key ID (8 B)
    AES_DUKPT_BDK_TEST = 4    # key = BDK (16 B), ksn = initial key ID (8 B); TEST pads only
    TDES_FIXED = 5            # key = 16 or 24 B, ksn empty
    AES_FIXED = 6             # key = 16, 24 or 32 B, ksn empty
    SM4_FIXED = 7             # key = 16 B, ksn empty


class BeepPolicy(enum.IntEnum):
    """Key tones during PIN entry; whatever the policy, every digit key sounds the same."""

    FOLLOW_SETTING = 0  # as set by KeypressBeep
    SILENT = 1
    ALWAYS = 2
    PRIVATE_ONLY = 3    # only while a headset is in (never on the public speaker)


class KeyStatus(enum.IntEnum):
    """What a named key press did."""

    ACCEPTED = 0
    INACTIVE = 1            # not an active key now: ignored
    TOO_SHORT = 2           # enter below minLen: the entry goes on
    NO_MORE_EXTENSIONS = 3  # help pressed after the last allowed extension


class EntryEnd(enum.IntEnum):
    """How a PIN entry (or PIN change) ended."""

    ENTER = 1
    AUTO = 2
    CANCEL = 3
    CLEAR = 4
    BACKSPACE = 5
    HELP = 6
    FDK = 7
    TIMEOUT = 8
    HOST_CANCEL = 9
    MISMATCH = 10
    ERROR = 11

    @property
    def pin_kept(self) -> bool:
        """True when the pad now holds a PIN for GetPinBlock."""
        return self in (EntryEnd.ENTER, EntryEnd.AUTO)


class Extender(enum.IntEnum):
    HOST = 1
    CUSTOMER = 2


class SpeechEnd(enum.IntEnum):
    COMPLETED = 1
    INTERRUPTED_BY_KEY = 2
    STOPPED = 3      # StopSpeech
    REPLACED = 4     # a new non-queued utterance replaced it
    MODE_CHANGE = 5  # cut by the start of PIN entry / change or a reset
    FAILED = 6


class Tone(enum.IntEnum):
    CUSTOM = 0   # frequency and duration from the message
    KEY = 1
    INACTIVE = 2
    WARNING = 3
    ERROR = 4
    SUCCESS = 5
    ATTENTION = 6


class ResetReason(enum.IntEnum):
    POWER_UP = 1
    HOST_RESET = 2
    WATCHDOG = 3
    BROWN_OUT = 4
    SERVICE = 5


class TamperCause(enum.IntEnum):
    CASE_OPENED = 1
    MESH = 2
    TEMPERATURE = 3
    VOLTAGE = 4
    OTHER = 5
