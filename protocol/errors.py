"""The one exception hierarchy of the stack.

It lives in ``protocol`` (the lowest layer, pure code) so that codecs, simulators and drivers
all raise the same types; ``drivers`` re-exports every name.  Each message is written for a
technician: what happened, then what to check.
"""

from __future__ import annotations

__all__ = [
    "TactileError",
    "ProtocolError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "TransportError",
    "DeviceTimeoutError",
    "DeviceError",
    "ConfigurationError",
]


class TactileError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigurationError(TactileError, ValueError):
    """The caller asked for something that cannot work (bad URL, bad argument, bad key)."""


class ProtocolError(TactileError):
    """Bytes or a protocol step that break the protocol's rules."""


class LocalProtocolError(ProtocolError):
    """We (the caller of this library) misused the protocol: a bug on this side."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that break the protocol: check wiring, baud rate and device model."""


class TransportError(TactileError, OSError):
    """The link itself failed: port missing, unplugged, refused, closed."""


class DeviceTimeoutError(TactileError, TimeoutError):
    """The device did not answer within its deadline."""


class DeviceError(TactileError):
    """The device understood the request and refused it.

    ``code`` is the device's own code (an int), ``meaning`` its plain-language meaning.
    """

    def __init__(self, message: str, *, code: int | None = None, meaning: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.meaning = meaning
