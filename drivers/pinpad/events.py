"""What a teller application sees from the pad: typed, immutable events.

Every event is a frozen, slotted dataclass.  None of them can carry a PIN digit: a digit key
during PIN entry becomes :class:`DigitAccepted` with only the running count, and ``repr`` of
every event shows counts and key NAMES of function keys only.  (In explore mode no PIN can be
active, so :class:`KeyPressed` may name digit keys there.)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol.layout import Key

__all__ = [
    "Completion",
    "PadEvent",
    "EntryReady",
    "DigitAccepted",
    "KeyPressed",
    "KeyRejected",
    "TimeWarning",
    "TimeExtended",
    "PinMismatch",
    "Completed",
    "HeadsetInserted",
    "HeadsetRemoved",
    "SpeechEnded",
    "TamperDetected",
    "PadRestarted",
]


class Completion(enum.StrEnum):
    """How a PIN entry or PIN change ended (XFS4IoT ``completion``).

    A ``StrEnum``: ``entry.completion == "enter"`` holds.
    """

    ENTER = "enter"          # the customer pressed Enter with enough digits
    AUTO = "auto"            # autoEnd: max_len digits reached
    CANCEL = "cancel"        # the customer pressed Cancel (or the host cancelled)
    CLEAR = "clear"          # a clear key configured to terminate
    BACKSPACE = "backspace"  # a backspace key configured to terminate
    HELP = "help"            # a help key configured to terminate
    FDK = "fdk"              # a function display key configured to terminate
    TIMEOUT = "timeout"      # the time limit ran out
    MISMATCH = "mismatch"    # PIN change: the two new PINs differed (pad gave up)
    ERROR = "error"          # the pad ended the entry on an internal fault

    @property
    def pin_kept(self) -> bool:
        """True when the pad holds a PIN for a PIN block after this completion."""
        return self in (Completion.ENTER, Completion.AUTO)


class PadEvent:
    """Base class of every event (for ``isinstance`` filtering)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class EntryReady(PadEvent):
    """The pad is ready for digits (``stage`` 2 = the confirmation stage of a PIN change)."""

    stage: int = 1


@dataclass(frozen=True, slots=True)
class DigitAccepted(PadEvent):
    """A digit key was accepted.  Carries ONLY the number of digits now entered."""

    count: int


@dataclass(frozen=True, slots=True)
class KeyPressed(PadEvent):
    """A named key was pressed and did what it does.

    During PIN entry only function keys appear here (``"backspace"``, ``"clear"``, ``"help"``,
    ...), with ``count`` the digits entered afterwards.  In explore mode any key appears, with
    ``key`` its layout entry (label, row, column, mark, colour) when the layout is known.
    """

    name: str
    count: int | None = None
    key: Key | None = None

    def __repr__(self) -> str:
        extra = f", count={self.count}" if self.count is not None else ""
        return f"KeyPressed({self.name!r}{extra})"


@dataclass(frozen=True, slots=True)
class KeyRejected(PadEvent):
    """A key press that did nothing: ``reason`` "inactive" (not active now), "too-short"
    (Enter below min_len), "no-more-extensions" (Help after the last extension)."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class TimeWarning(PadEvent):
    """The time limit runs out in ``seconds_left`` seconds; :meth:`extend_time` gives more."""

    seconds_left: int


@dataclass(frozen=True, slots=True)
class TimeExtended(PadEvent):
    """The time limit was extended (``by`` "host" or "customer"); ``seconds_left`` now."""

    seconds_left: int
    by: str = "host"


@dataclass(frozen=True, slots=True)
class PinMismatch(PadEvent):
    """PIN change: the two new PINs differed; the pad starts the change again at stage 1."""

    attempts_left: int | None = None


@dataclass(frozen=True, slots=True)
class Completed(PadEvent):
    """The entry ended: how, and with how many digits.  Always the last event of an entry."""

    completion: Completion
    digits: int

    def __repr__(self) -> str:
        return f"Completed({self.completion.value!r}, digits={self.digits})"


@dataclass(frozen=True, slots=True)
class HeadsetInserted(PadEvent):
    """A headset went in: the pad switched to private audio (speaker muted)."""


@dataclass(frozen=True, slots=True)
class HeadsetRemoved(PadEvent):
    """The headset came out: audio is back on the speaker."""


@dataclass(frozen=True, slots=True)
class SpeechEnded(PadEvent):
    """An utterance ended: ``how`` is "completed", "interrupted-by-key", "stopped",
    "replaced", "mode-change" or "failed".

    "failed" (``failed`` True) means the pad's speech unit could not say it - the pad's own
    prompts too (SPEC 6.4): the customer did not hear the guidance, so a session counts these
    (``speech_failed``) and a teller application should offer help (staff, another pad).
    """

    utterance: int
    how: str

    @property
    def failed(self) -> bool:
        return self.how == "failed"


@dataclass(frozen=True, slots=True)
class TamperDetected(PadEvent):
    """The pad detected tampering and erased its keys: take it out of service."""

    cause: str


@dataclass(frozen=True, slots=True)
class PadRestarted(PadEvent):
    """The pad powered on or reset (``reason``): any entry in progress is gone."""

    reason: str
