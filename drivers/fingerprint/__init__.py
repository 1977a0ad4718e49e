"""Driver for EF01 optical fingerprint modules (ZFM-20/60, R305/R307, FPM10A, AS608, R503).

::

    from drivers import FingerprintReader

    with FingerprintReader.open("/dev/ttyUSB0") as reader:     # or socket://..., sim://fingerprint
        print(reader.info())
        template = reader.enroll(on_event=print)           # prompts and coaching as events
        print(reader.verify(template, on_event=print))      # VerifyResult(matched, score, ...)

Modules: :mod:`.reader` (:class:`FingerprintReader`), :mod:`.events` (what to tell the
customer), :mod:`.results` (typed results), :mod:`.errors` (one DeviceError subclass per family
of confirmation codes).  ``tactile fingerprint ...`` (tools/fingerprint.py) is the technician's
command line on top of it.
"""

from drivers.fingerprint.errors import (
    AlreadyEnrolledError,
    CaptureError,
    EmptySlotError,
    FingerprintError,
    FingerTimeoutError,
    LibraryEmptyError,
    LibraryFullError,
    MergeError,
    PacketError,
    PasswordError,
    SensorError,
    SettingError,
    SlotError,
    StorageError,
    TransferError,
    UnsupportedError,
    error_for_code,
)
from drivers.fingerprint.events import (
    EnrollCompleted,
    EventCallback,
    FingerDetected,
    FingerLifted,
    LiftFinger,
    Matched,
    NoMatch,
    PlaceFinger,
    PresentSubject,
    ReaderEvent,
    RemoveSubject,
    RetryScan,
    StagePassed,
    SubjectDetected,
    SubjectRemoved,
)
from drivers.fingerprint.reader import (
    BAUDRATES,
    LED_COLOURS,
    LED_MODES,
    FingerprintReader,
    ProgressCallback,
)
from drivers.fingerprint.results import (
    CaptureResult,
    IdentifyResult,
    ProductInfo,
    ReaderInfo,
    SensorReport,
    SettingChange,
    SystemParameters,
    Template,
    VerifyResult,
)

__all__ = [
    "FingerprintReader", "ProgressCallback", "LED_COLOURS", "LED_MODES", "BAUDRATES",
    # results
    "CaptureResult", "IdentifyResult", "ProductInfo", "ReaderInfo", "SensorReport",
    "SettingChange", "SystemParameters", "Template", "VerifyResult",
    # events
    "ReaderEvent", "PlaceFinger", "FingerDetected", "LiftFinger", "FingerLifted", "RetryScan",
    "StagePassed", "NoMatch", "Matched", "EnrollCompleted", "PresentSubject", "SubjectDetected",
    "RemoveSubject", "SubjectRemoved", "EventCallback",
    # errors
    "FingerprintError", "PacketError", "CaptureError", "MergeError", "SlotError",
    "EmptySlotError", "LibraryFullError", "LibraryEmptyError", "AlreadyEnrolledError",
    "PasswordError", "TransferError", "StorageError", "SettingError", "SensorError",
    "UnsupportedError", "FingerTimeoutError", "error_for_code",
]
