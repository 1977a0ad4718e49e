"""Errors of the biometric pipeline, carrying the EF01 confirmation code the module replies."""

from __future__ import annotations

from protocol.errors import TactileError

__all__ = ["FingerImageError", "MergeError"]


class FingerImageError(TactileError):
    """The image cannot give a template.

    ``code`` 0x06: image too messy (no clear ridge flow); 0x07: too few feature points (blank,
    too small a contact area, or too few minutiae).
    """

    def __init__(self, code: int, message: str) -> None:
        if code not in (0x06, 0x07):
            raise ValueError(f"FingerImageError code must be 0x06 or 0x07, not {code:#04x}")
        super().__init__(message)
        self.code = code


class MergeError(TactileError):
    """Two templates do not register as one finger (EF01 code 0x0A)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = 0x0A
