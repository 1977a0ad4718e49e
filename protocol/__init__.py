"""Wire protocols as pure code: no serial, usb, socket, threading or time imports."""

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

__all__ = [
    "ConfigurationError",
    "DeviceError",
    "DeviceTimeoutError",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "TactileError",
    "TransportError",
]
