"""Typed refusals of an EF01 fingerprint module, one class per family of confirmation codes.

Every class is a :class:`protocol.errors.DeviceError` (``code`` = the module's confirmation
code, ``meaning`` = its plain meaning), so ``except DeviceError`` still catches them all; the
families let teller code react without comparing numbers::

    try:
        reader.enroll(slot=5)
    except AlreadyEnrolledError as exc:
        print("this finger is already enrolled in slot", exc.slot)
"""

from __future__ import annotations

from protocol.errors import DeviceError, TactileError

__all__ = [
    "FingerprintError",
    "PacketError",
    "CaptureError",
    "MergeError",
    "SlotError",
    "EmptySlotError",
    "LibraryFullError",
    "LibraryEmptyError",
    "AlreadyEnrolledError",
    "PasswordError",
    "TransferError",
    "StorageError",
    "SettingError",
    "SensorError",
    "UnsupportedError",
    "FingerTimeoutError",
    "error_for_code",
]


class FingerprintError(DeviceError):
    """The fingerprint module refused an instruction (base of the families below)."""


class PacketError(FingerprintError):
    """01: the module received a damaged packet (noise on the line, wrong baud)."""


class CaptureError(FingerprintError):
    """03/04/05/06/07/15/17: no usable image or too few features in it."""


class MergeError(FingerprintError):
    """0A: the enrollment captures do not look like one finger."""


class SlotError(FingerprintError):
    """0B: the slot number is outside the module's library."""


class EmptySlotError(SlotError):
    """0C: the slot holds no (valid) template."""


class LibraryFullError(FingerprintError):
    """1F: every slot of the library is used."""


class LibraryEmptyError(FingerprintError):
    """24: the library holds no template."""


class AlreadyEnrolledError(FingerprintError):
    """27 (or the driver's duplicate check): the finger is already in the library at ``slot``."""

    def __init__(self, message: str, *, code: int | None = 0x27, meaning: str = "",
                 slot: int | None = None, score: int | None = None) -> None:
        super().__init__(message, code=code, meaning=meaning)
        self.slot = slot
        self.score = score


class PasswordError(FingerprintError):
    """13/21: wrong password, or the module wants its password verified first."""


class TransferError(FingerprintError):
    """0D/0E/0F: a template or image could not be moved between host and module."""


class StorageError(FingerprintError):
    """10/11/18: the module could not write or erase its flash."""


class SettingError(FingerprintError):
    """1A/1B/1C/20/1D: a bad register, value, notepad page, address or port operation."""


class SensorError(FingerprintError):
    """29/FD: the sensor or the module's hardware reports a fault: service the unit."""


class UnsupportedError(FingerprintError):
    """FC, or the driver knows this model lacks the feature (no Aura LED, no CheckSensor)."""


class FingerTimeoutError(TactileError, TimeoutError):
    """Nobody placed (or lifted) a finger within the time allowed.

    Not a device fault (that is :class:`protocol.errors.DeviceTimeoutError`): the module
    answered every poll, the customer did not act.  ``waiting_for`` is "place" or "lift".
    """

    def __init__(self, message: str, *, waiting_for: str = "place") -> None:
        super().__init__(message)
        self.waiting_for = waiting_for


_FAMILY: dict[int, type[FingerprintError]] = {
    0x01: PacketError,
    0x03: CaptureError, 0x04: CaptureError, 0x05: CaptureError, 0x06: CaptureError,
    0x07: CaptureError, 0x15: CaptureError, 0x17: CaptureError, 0x02: CaptureError,
    0x0A: MergeError,
    0x0B: SlotError,
    0x0C: EmptySlotError,
    0x1F: LibraryFullError,
    0x24: LibraryEmptyError,
    0x27: AlreadyEnrolledError,
    0x13: PasswordError, 0x21: PasswordError,
    0x0D: TransferError, 0x0E: TransferError, 0x0F: TransferError,
    0x10: StorageError, 0x11: StorageError, 0x18: StorageError,
    0x1A: SettingError, 0x1B: SettingError, 0x1C: SettingError, 0x1D: SettingError,
    0x20: SettingError,
    0x29: SensorError, 0xFD: SensorError,
    0xFC: UnsupportedError,
}

# what a technician or teller should do about each family
_ADVICE: dict[type[FingerprintError], str] = {
    PacketError: "Check the cable, the baud rate and electrical noise; the request was not run.",
    CaptureError: "Ask the customer to clean and dry the finger and press it flat on the centre.",
    MergeError: "The captures were of different fingers or too different; enroll again.",
    SlotError: "Use a slot number below the library capacity (see `tactile fingerprint info`).",
    EmptySlotError: "Nothing is enrolled there; check the slot number (`tactile fingerprint index`).",
    LibraryFullError: "Delete unused templates or store the template on the host instead.",
    LibraryEmptyError: "Enroll a finger first.",
    AlreadyEnrolledError: "Use the existing enrollment or delete it first.",
    PasswordError: ("Open the reader with the module's password (password=..., or "
                    "`--password N` with `tactile fingerprint`)."),
    TransferError: "Check the cable and the packet size; the data was not transferred.",
    StorageError: "The module's flash may be worn; retry once, then replace the module.",
    SettingError: "Check the value against the module's manual.",
    SensorError: "Clean the sensor window; if it persists, replace the module.",
    UnsupportedError: "This module model does not have that feature.",
    FingerprintError: "See the module's manual for this code.",
}


def error_for_code(code: int, meaning: str, *, instruction: str = "", where: str = "",
                   action: str = "") -> FingerprintError:
    """The typed error for a non-zero confirmation code, with a technician-readable message.

    ``instruction`` names the refused request (``"Store"``), ``where`` the port and address,
    ``action`` what to do about this code (the protocol's table); without it, the family's
    general advice is given.
    """
    cls = _FAMILY.get(code, FingerprintError)
    what = f"{instruction} refused" if instruction else "request refused"
    place = f" by the fingerprint module on {where}" if where else " by the fingerprint module"
    advice = action[:1].upper() + action[1:] + "." if action else _ADVICE[cls]
    message = f"{what}{place}: code 0x{code:02X}, {meaning}. {advice}"
    return cls(message, code=code, meaning=meaning)
