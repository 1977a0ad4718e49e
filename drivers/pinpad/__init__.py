"""TactilePinPad: the driver for accessible PIN pads speaking TPP (protocol/tpp/SPEC.md).

See :mod:`drivers.pinpad.pad` for opening, threads, deadlines and reconnection, and
:mod:`drivers.pinpad.events` for what a session yields.
"""

from drivers.pinpad._link import DeviceDisconnectedError
from drivers.pinpad.listener import KeyListener, pressed_key
from drivers.pinpad.events import (
    Completed,
    Completion,
    DigitAccepted,
    EntryReady,
    HeadsetInserted,
    HeadsetRemoved,
    KeyPressed,
    KeyRejected,
    PadEvent,
    PadRestarted,
    PinMismatch,
    SpeechEnded,
    TamperDetected,
    TimeExtended,
    TimeWarning,
)
from drivers.pinpad.pad import DEFAULT_BAUDRATE, DEFAULT_TIMEOUT, TEST_KEYS, TactilePinPad, TestKey
from drivers.pinpad.sessions import (
    ExploreSession,
    PadRestartedError,
    PadTamperedError,
    PinBlock,
    PinChangeSession,
    PinEntrySession,
)

__all__ = [
    "TactilePinPad",
    "DEFAULT_BAUDRATE",
    "DEFAULT_TIMEOUT",
    "TEST_KEYS",
    "TestKey",
    "PinBlock",
    "PinEntrySession",
    "PinChangeSession",
    "ExploreSession",
    "KeyListener",
    "pressed_key",
    "DeviceDisconnectedError",
    "PadRestartedError",
    "PadTamperedError",
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
