"""Device drivers for tactile PIN pads and EF01 fingerprint modules.

Teller software imports everything it needs from here::

    from drivers import FingerprintReader, TactilePinPad, DeviceError
"""

from protocol.errors import (
    ConfigurationError,
    DeviceError,
    DeviceTimeoutError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    TactileError,
    TransportError,
)
from drivers.transport import LoopbackTransport, SerialTransport, Transport, loopback_pair
from drivers.usb import UsbDeviceInfo, UsbTransport, find_devices

__all__ = [
    "ConfigurationError",
    "DeviceError",
    "DeviceTimeoutError",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "TactileError",
    "TransportError",
    "Transport",
    "SerialTransport",
    "LoopbackTransport",
    "loopback_pair",
    "UsbTransport",
    "UsbDeviceInfo",
    "find_devices",
]

# EF01 fingerprint modules (drivers/fingerprint): the reader, its results, events and errors
from drivers.fingerprint import (
    AlreadyEnrolledError,
    CaptureError,
    EmptySlotError,
    EnrollCompleted,
    FingerDetected,
    FingerLifted,
    FingerprintError,
    FingerprintReader,
    FingerTimeoutError,
    IdentifyResult,
    LibraryFullError,
    LiftFinger,
    Matched,
    MergeError,
    NoMatch,
    PasswordError,
    PlaceFinger,
    ReaderEvent,
    ReaderInfo,
    RetryScan,
    SlotError,
    StagePassed,
    Template,
    UnsupportedError,
    VerifyResult,
)

__all__ += [
    "FingerprintReader", "Template", "VerifyResult", "IdentifyResult", "ReaderInfo",
    "ReaderEvent", "PlaceFinger", "FingerDetected", "LiftFinger", "FingerLifted", "RetryScan",
    "StagePassed", "NoMatch", "Matched", "EnrollCompleted",
    "FingerprintError", "AlreadyEnrolledError", "CaptureError", "EmptySlotError",
    "FingerTimeoutError", "LibraryFullError", "MergeError", "PasswordError", "SlotError",
    "UnsupportedError",
]

# tactile PIN pads (drivers/pinpad): the pad, its sessions, events and errors
from drivers.pinpad import (
    Completed,
    Completion,
    DeviceDisconnectedError,
    DigitAccepted,
    EntryReady,
    ExploreSession,
    HeadsetInserted,
    HeadsetRemoved,
    KeyPressed,
    KeyRejected,
    PadEvent,
    PadRestarted,
    PadRestartedError,
    PadTamperedError,
    PinBlock,
    PinChangeSession,
    PinEntrySession,
    PinMismatch,
    SpeechEnded,
    TactilePinPad,
    TamperDetected,
    TimeExtended,
    TimeWarning,
)

__all__ += [
    "TactilePinPad", "PinEntrySession", "PinChangeSession", "ExploreSession", "PinBlock",
    "Completion", "PadEvent", "EntryReady", "DigitAccepted", "KeyPressed", "KeyRejected",
    "TimeWarning", "TimeExtended", "PinMismatch", "Completed", "HeadsetInserted",
    "HeadsetRemoved", "SpeechEnded", "TamperDetected", "PadRestarted",
    "DeviceDisconnectedError", "PadRestartedError", "PadTamperedError",
]

# guidance (drivers/guidance): a keypad that explains itself, guided PIN entry, coaching
from drivers.guidance import Guide, Profile, profile, suggest_profile

__all__ += ["Guide", "Profile", "profile", "suggest_profile"]

# confirmation in place of a signature (drivers/confirmation): fingerprint plus dual staff
# review, and the signed audit trail (SQLite or PostgreSQL)
from drivers.confirmation import (
    AuditConfig,
    AuditRecord,
    AuditStore,
    AuditStoreError,
    Checkpoint,
    ConfirmationError,
    ConfirmationSession,
    DualControlError,
    PostgresStore,
    SessionStateError,
    SqliteStore,
    Staff,
    TemplateSealError,
    TemplateVault,
    enroll_customer,
    load_customer_template,
    open_store,
    verify_trail,
)

__all__ += [
    "ConfirmationSession", "Staff", "enroll_customer", "load_customer_template", "AuditConfig",
    "AuditStore", "SqliteStore", "PostgresStore", "open_store", "AuditRecord", "Checkpoint",
    "TemplateVault", "verify_trail", "ConfirmationError", "DualControlError",
    "SessionStateError", "AuditStoreError", "TemplateSealError",
]
