"""USB transport: our frames over a vendor-specific interface, through pyusb.

The pad exposes one vendor-specific interface (class FF): a bulk OUT endpoint for host frames
and a bulk or interrupt IN endpoint for device frames, carrying the same byte stream as the
serial link.  Devices are named by a selector ``usb:VID:PID[:SERIAL]`` (hex VID and PID, e.g.
``usb:1209:0001`` or ``usb:1209:0001:TPP-0001``).

The pyusb ``backend`` is injectable: real hardware uses libusb from the ``libusb-package``
wheel (the default), tests and the demo pass
:class:`firmware_sim.usb_backend.SimulatedUsbBackend`, so the same pyusb code path runs in both.
"""

from __future__ import annotations

import errno
import math
import threading
from dataclasses import dataclass
from typing import Any

import usb.core
import usb.util

from drivers.transport import Transport
from protocol.errors import ConfigurationError, TransportError

__all__ = [
    "PINPAD_VID",
    "PINPAD_PID",
    "UsbSelector",
    "UsbDeviceInfo",
    "UsbTransport",
    "parse_selector",
    "is_usb_selector",
    "default_backend",
    "find_devices",
]

#: our pad's VID:PID, from the open pid.codes test range (1209:0001 "pid.codes Test PID")
PINPAD_VID = 0x1209
PINPAD_PID = 0x0001

#: how many buffered bytes reset_input discards per read
_READ_CHUNK = 4096
_VENDOR_CLASS = 0xFF

_INSTALL_HINT = (
    "pyusb found no libusb library. Install the libusb-package wheel "
    "(`pip install libusb-package`) or the system libusb 1.0 (Debian/Ubuntu: "
    "`apt install libusb-1.0-0`; Windows: the WinUSB driver via Zadig), then try again.")


@dataclass(frozen=True, slots=True)
class UsbSelector:
    """``usb:VID:PID[:SERIAL]``."""

    vid: int
    pid: int
    serial: str | None = None

    def __str__(self) -> str:
        text = f"usb:{self.vid:04x}:{self.pid:04x}"
        return text + (f":{self.serial}" if self.serial else "")


def is_usb_selector(text: str) -> bool:
    """True if ``text`` looks like a USB selector (``usb:...``) rather than a serial URL."""
    return isinstance(text, str) and text.lower().startswith("usb:")


def parse_selector(text: str | UsbSelector) -> UsbSelector:
    """Parse ``usb:VID:PID[:SERIAL]``; ConfigurationError with an example when malformed."""
    if isinstance(text, UsbSelector):
        return text
    example = "e.g. usb:1209:0001 or usb:1209:0001:TPP-0001 (VID and PID in hex)"
    if not is_usb_selector(text):
        raise ConfigurationError(f"{text!r} is not a USB selector: {example}")
    parts = text[4:].split(":", 2)
    if len(parts) < 2:
        raise ConfigurationError(f"USB selector {text!r} needs a VID and a PID: {example}")
    try:
        vid, pid = (int(p.removeprefix("0x"), 16) for p in parts[:2])
    except ValueError:
        raise ConfigurationError(f"USB selector {text!r}: VID and PID must be hex: {example}") \
            from None
    if not (0 <= vid <= 0xFFFF and 0 <= pid <= 0xFFFF):
        raise ConfigurationError(f"USB selector {text!r}: VID and PID are 4 hex digits: {example}")
    serial = parts[2] if len(parts) == 3 and parts[2] else None
    return UsbSelector(vid, pid, serial)


@dataclass(frozen=True, slots=True)
class UsbDeviceInfo:
    """One USB device found by :func:`find_devices`."""

    vid: int
    pid: int
    serial: str | None
    manufacturer: str | None
    product: str | None
    bus: int | None
    address: int | None

    @property
    def selector(self) -> str:
        """The selector that opens exactly this device."""
        return str(UsbSelector(self.vid, self.pid, self.serial))

    @property
    def description(self) -> str:
        name = " ".join(p for p in (self.manufacturer, self.product) if p) or "USB device"
        where = f"bus {self.bus} address {self.address}" if self.bus is not None else "USB"
        return f"{name} ({self.selector}, {where})"


def default_backend() -> Any:
    """libusb 1.0 from the ``libusb-package`` wheel; TransportError telling what to install."""
    try:
        import libusb_package
    except ImportError as exc:
        raise TransportError(_INSTALL_HINT) from exc
    backend = libusb_package.get_libusb1_backend()
    if backend is None:
        raise TransportError(_INSTALL_HINT)
    return backend


def _string(dev: Any, attr: str) -> str | None:
    """A string descriptor, or None when the device will not tell (permissions, no strings)."""
    try:
        return getattr(dev, attr)
    except (usb.core.USBError, ValueError, NotImplementedError):
        return None


def _info(dev: Any) -> UsbDeviceInfo:
    return UsbDeviceInfo(vid=dev.idVendor, pid=dev.idProduct, serial=_string(dev, "serial_number"),
                         manufacturer=_string(dev, "manufacturer"),
                         product=_string(dev, "product"), bus=dev.bus, address=dev.address)


def _find(backend: Any, vid: int | None, pid: int | None) -> list[Any]:
    match: dict[str, int] = {}
    if vid is not None:
        match["idVendor"] = vid
    if pid is not None:
        match["idProduct"] = pid
    try:
        return list(usb.core.find(find_all=True, backend=backend, **match))
    except usb.core.NoBackendError as exc:
        raise TransportError(_INSTALL_HINT) from exc
    except usb.core.USBError as exc:
        raise TransportError(f"cannot list USB devices: {exc}") from exc


def find_devices(backend: Any = None, vid: int | None = None,
                 pid: int | None = None) -> list[UsbDeviceInfo]:
    """USB devices present, optionally only one VID and/or PID (for ``tactile list``)."""
    backend = backend if backend is not None else default_backend()
    devices = _find(backend, vid, pid)
    try:
        return [_info(dev) for dev in devices]
    finally:
        for dev in devices:
            usb.util.dispose_resources(dev)


def _timeout_ms(seconds: float) -> int:
    # libusb treats 0 as "wait for ever": never pass it
    return max(1, math.ceil(max(0.0, seconds) * 1000))


def _is_gone(exc: usb.core.USBError) -> bool:
    # libusb: LIBUSB_ERROR_NO_DEVICE (-4, ENODEV); some platforms report a pulled cable as
    # LIBUSB_ERROR_IO (-1, EIO)
    return exc.errno in (errno.ENODEV, errno.EIO) \
        or getattr(exc, "backend_error_code", None) in (-4, -1)


class UsbTransport(Transport):
    """A :class:`Transport` over the pad's vendor interface (bulk OUT, bulk/interrupt IN).

    ``selector``: ``usb:VID:PID[:SERIAL]`` (or a :class:`UsbSelector`).  ``backend``: a pyusb
    backend (default :func:`default_backend`).  ``write_timeout`` in seconds.  Every read
    honours its own timeout (b"" when it passes); an unplugged device raises TransportError.
    """

    def __init__(self, selector: str | UsbSelector = f"usb:{PINPAD_VID:04x}:{PINPAD_PID:04x}",
                 *, backend: Any = None, write_timeout: float = 1.0) -> None:
        self.selector = parse_selector(selector)
        self.backend = backend if backend is not None else default_backend()
        self.write_timeout = write_timeout
        self.description = str(self.selector)
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._closed = False
        self._dev: Any = None
        self._open()

    # -- opening ------------------------------------------------------------------------------
    def _select(self) -> Any:
        sel = self.selector
        devices = _find(self.backend, sel.vid, sel.pid)
        chosen = None
        try:
            if sel.serial is not None:
                for dev in devices:
                    if _string(dev, "serial_number") == sel.serial:
                        chosen = dev
                        break
            elif len(devices) == 1:
                chosen = devices[0]
            elif len(devices) > 1:
                serials = [_string(dev, "serial_number") or "?" for dev in devices]
                raise ConfigurationError(
                    f"{len(devices)} USB devices match {sel} (serials {', '.join(serials)}): add "
                    f"the serial to choose one, e.g. {UsbSelector(sel.vid, sel.pid, serials[0])}")
        finally:
            for dev in devices:
                if dev is not chosen:
                    usb.util.dispose_resources(dev)
        if chosen is None:
            what = f"with serial {sel.serial} " if sel.serial else ""
            raise TransportError(
                f"no USB device {sel.vid:04x}:{sel.pid:04x} {what}found. Check that the pad is "
                "plugged in and powered; `tactile list` shows the USB devices this computer sees.")
        return chosen

    def _open(self) -> None:
        dev = self._select()
        try:
            self._dev = dev
            self._claim(dev)
        except BaseException:
            usb.util.dispose_resources(dev)
            self._dev = None
            raise
        info = _info(dev)
        self.info = info
        self.description = f"{info.product or 'USB device'} {self.selector} " \
                           f"(bus {info.bus} address {info.address})"

    def _claim(self, dev: Any) -> None:
        try:
            try:
                cfg = dev.get_active_configuration()
            except usb.core.USBError:
                cfg = None
            if cfg is None or cfg.bConfigurationValue == 0:
                dev.set_configuration()
                cfg = dev.get_active_configuration()
            intf, ep_out, ep_in = self._endpoints(cfg)
            try:
                if dev.is_kernel_driver_active(intf.bInterfaceNumber):
                    dev.detach_kernel_driver(intf.bInterfaceNumber)
            except (NotImplementedError, usb.core.USBError):
                pass  # Windows/macOS backends do not do this; a vendor interface has no driver
            usb.util.claim_interface(dev, intf)
        except usb.core.USBError as exc:
            raise TransportError(self._open_error(exc)) from exc
        self._intf, self._ep_out, self._ep_in = intf, ep_out, ep_in
        self._packet = max(1, ep_in.wMaxPacketSize)

    def _endpoints(self, cfg: Any) -> tuple[Any, Any, Any]:
        for intf in cfg:
            if intf.bInterfaceClass != _VENDOR_CLASS:
                continue
            ep_out = usb.util.find_descriptor(
                intf, custom_match=lambda e: usb.util.endpoint_direction(e.bEndpointAddress)
                == usb.util.ENDPOINT_OUT and usb.util.endpoint_type(e.bmAttributes)
                == usb.util.ENDPOINT_TYPE_BULK)
            ep_in = usb.util.find_descriptor(
                intf, custom_match=lambda e: usb.util.endpoint_direction(e.bEndpointAddress)
                == usb.util.ENDPOINT_IN and usb.util.endpoint_type(e.bmAttributes)
                in (usb.util.ENDPOINT_TYPE_BULK, usb.util.ENDPOINT_TYPE_INTR))
            if ep_out is not None and ep_in is not None:
                return intf, ep_out, ep_in
        raise TransportError(
            f"{self.selector} has no vendor-specific interface with a bulk OUT and a bulk or "
            "interrupt IN endpoint: it is not a tactile PIN pad, or its firmware is wrong")

    def _open_error(self, exc: usb.core.USBError) -> str:
        if exc.errno == errno.EACCES:
            return (f"no permission to open {self.selector}: on Linux add a udev rule, e.g. "
                    'SUBSYSTEM=="usb", ATTR{idVendor}=="%04x", ATTR{idProduct}=="%04x", '
                    'MODE="0660", GROUP="plugdev", and replug the pad' % (self.selector.vid,
                                                                          self.selector.pid))
        if exc.errno == errno.EBUSY:
            return (f"{self.selector} is in use by another program: close it "
                    "(another teller application or a second driver instance) and try again")
        return f"cannot open {self.selector}: {exc}. Check the cable and replug the pad."

    # -- Transport ----------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def device(self) -> Any:
        """The pyusb Device (descriptors, strings)."""
        return self._dev

    @property
    def serial(self) -> str | None:
        return self.info.serial

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError(f"{self.description} is closed")

    def _gone(self, exc: usb.core.USBError, doing: str) -> TransportError:
        if _is_gone(exc):
            return TransportError(
                f"the USB device {self.selector} was unplugged or stopped answering ({doing}: "
                f"{exc}). Check the cable; reopen the pad once it is back.")
        return TransportError(f"USB {doing} on {self.selector} failed: {exc}")

    def write(self, data: bytes) -> None:
        self._check_open()
        try:
            sent = self._ep_out.write(bytes(data), _timeout_ms(self.write_timeout))
        except usb.core.USBTimeoutError as exc:
            raise TransportError(
                f"{self.selector} did not accept data within {self.write_timeout} s: "
                "the pad may be hung; replug it") from exc
        except usb.core.USBError as exc:
            raise self._gone(exc, "write") from exc
        if sent != len(data):
            raise TransportError(f"{self.selector} accepted {sent} of {len(data)} bytes")

    def read(self, max_bytes: int, timeout: float) -> bytes:
        self._check_open()
        with self._lock:
            if self._buffer:
                return self._take(max_bytes)
        # One packet per transfer: a packet never overflows the buffer, each read completes as
        # soon as a packet arrives (the device needs no zero-length packets), and no bytes are
        # lost to a timeout in the middle of a multi-packet transfer (pyusb discards the partial
        # count when libusb reports a timeout).
        try:
            data = bytes(self._ep_in.read(self._packet, _timeout_ms(timeout)))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as exc:
            raise self._gone(exc, "read") from exc
        with self._lock:
            self._buffer += data
            return self._take(max_bytes)

    def _take(self, max_bytes: int) -> bytes:
        out = bytes(self._buffer[:max_bytes])
        del self._buffer[:max_bytes]
        return out

    def reset_input(self) -> None:
        with self._lock:
            self._buffer.clear()
        while self.read(_READ_CHUNK, 0.001):
            pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        dev, self._dev = self._dev, None
        if dev is None:
            return
        try:
            usb.util.release_interface(dev, self._intf)
        except usb.core.USBError:
            pass  # already gone (unplugged)
        usb.util.dispose_resources(dev)
