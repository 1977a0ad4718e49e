"""What a fingerprint reader tells the person at the counter while it works.

Every long operation (:meth:`FingerprintReader.capture`, ``enroll``, ``verify``, ``identify``)
takes ``on_event``, a callable that receives these frozen dataclasses as they happen.  The
vocabulary follows fprintd (``status``: ``verify-retry-scan``, ``enroll-stage-passed`` ...) and
the XFS4IoT Biometric interface (``PresentSubject``/``SubjectDetected``/``RemoveSubject``/
``SubjectRemoved`` are aliases of the four finger events), so bank developers and the guidance
layer recognise them.  ``str(event)`` is a short English sentence for a log or a demo; the
guidance layer (``drivers.guidance``) speaks them in zh-CN and en.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

__all__ = [
    "ReaderEvent",
    "PlaceFinger",
    "FingerDetected",
    "LiftFinger",
    "FingerLifted",
    "RetryScan",
    "StagePassed",
    "NoMatch",
    "Matched",
    "EnrollCompleted",
    "PresentSubject",
    "SubjectDetected",
    "RemoveSubject",
    "SubjectRemoved",
    "EventCallback",
]


@dataclass(frozen=True, slots=True)
class ReaderEvent:
    """Base class of every event; ``status`` is the fprintd-style status word."""

    status: ClassVar[str] = "event"

    def __str__(self) -> str:  # pragma: no cover - every subclass overrides
        return self.status


@dataclass(frozen=True, slots=True)
class PlaceFinger(ReaderEvent):
    """Ask the customer to put a finger on the sensor (XFS4IoT PresentSubject).

    ``stage``/``stages`` count the captures of an enrollment (1-based); both 0 outside one.
    """

    stage: int = 0
    stages: int = 0
    status: ClassVar[str] = "place-finger"

    def __str__(self) -> str:
        if self.stages:
            return f"Place your finger on the sensor ({self.stage} of {self.stages})."
        return "Place your finger on the sensor."


@dataclass(frozen=True, slots=True)
class FingerDetected(ReaderEvent):
    """A finger is on the sensor and an image was taken (XFS4IoT SubjectDetected)."""

    status: ClassVar[str] = "finger-detected"

    def __str__(self) -> str:
        return "Finger detected, hold still."


@dataclass(frozen=True, slots=True)
class LiftFinger(ReaderEvent):
    """Ask the customer to lift the finger (XFS4IoT RemoveSubject)."""

    status: ClassVar[str] = "lift-finger"

    def __str__(self) -> str:
        return "Lift your finger."


@dataclass(frozen=True, slots=True)
class FingerLifted(ReaderEvent):
    """The sensor is clear again (XFS4IoT SubjectRemoved)."""

    status: ClassVar[str] = "finger-lifted"

    def __str__(self) -> str:
        return "Finger lifted."


# fprintd's retry reasons, keyed by the module's confirmation code
_RETRY_STATUS = {
    0x03: ("verify-retry-scan", "The scan failed; place the finger again."),
    0x04: ("verify-retry-scan", "The finger is too dry; breathe on it lightly and try again."),
    0x05: ("verify-retry-scan", "The finger is too wet; dry it and try again."),
    0x06: ("verify-retry-scan", "The image was unclear; press the finger flat and hold still."),
    0x07: ("verify-finger-not-centered",
           "Too little of the finger was seen; centre it on the sensor and press a little harder."),
    0x17: ("verify-remove-and-retry", "Lift the finger and place it again, slightly moved."),
}


@dataclass(frozen=True, slots=True)
class RetryScan(ReaderEvent):
    """A scan was not usable; the reader asks again (fprintd verify-retry-scan and friends).

    ``code`` is the module's confirmation code (06 messy image, 07 too few feature points,
    03 capture failed, 04/05 too dry/wet on Synochip firmware, 17 residual print);
    ``reason`` is fprintd's status word for it, ``advice`` one sentence for the customer.
    """

    code: int
    reason: str = "verify-retry-scan"
    advice: str = "Place the finger again."
    status: ClassVar[str] = "retry-scan"

    @classmethod
    def for_code(cls, code: int) -> "RetryScan":
        reason, advice = _RETRY_STATUS.get(code, ("verify-retry-scan", "Place the finger again."))
        return cls(code=code, reason=reason, advice=advice)

    def __str__(self) -> str:
        return self.advice


@dataclass(frozen=True, slots=True)
class StagePassed(ReaderEvent):
    """One enrollment capture was accepted (fprintd enroll-stage-passed)."""

    stage: int
    stages: int
    status: ClassVar[str] = "enroll-stage-passed"

    def __str__(self) -> str:
        return f"Capture {self.stage} of {self.stages} accepted."


@dataclass(frozen=True, slots=True)
class EnrollCompleted(ReaderEvent):
    """The enrolled template was built (fprintd enroll-completed); ``slot`` None if exported only."""

    slot: int | None = None
    status: ClassVar[str] = "enroll-completed"

    def __str__(self) -> str:
        return "Enrollment complete." if self.slot is None else \
            f"Enrollment complete, stored in slot {self.slot}."


@dataclass(frozen=True, slots=True)
class NoMatch(ReaderEvent):
    """A verify attempt did not match (fprintd verify-no-match); ``attempt`` is 1-based."""

    attempt: int
    attempts: int
    score: int = 0
    status: ClassVar[str] = "verify-no-match"

    def __str__(self) -> str:
        left = self.attempts - self.attempt
        return "The finger did not match." + (f" {left} attempt(s) left." if left else "")


@dataclass(frozen=True, slots=True)
class Matched(ReaderEvent):
    """The finger matched (fprintd verify-match); ``slot`` is set by identify."""

    score: int
    slot: int | None = None
    status: ClassVar[str] = "verify-match"

    def __str__(self) -> str:
        where = "" if self.slot is None else f"slot {self.slot}, "
        return f"The finger matched ({where}score {self.score})."


# XFS4IoT Biometric event names: the same classes, so isinstance works with either name
PresentSubject = PlaceFinger
SubjectDetected = FingerDetected
RemoveSubject = LiftFinger
SubjectRemoved = FingerLifted

#: the type of every ``on_event`` argument
EventCallback = Callable[[ReaderEvent], object]
