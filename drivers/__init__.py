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
