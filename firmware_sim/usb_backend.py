"""A pure-Python pyusb backend: simulated USB devices, no libusb, no hardware.

``usb.core.find(backend=SimulatedUsbBackend(...))`` finds the devices added with
:meth:`SimulatedUsbBackend.add_device` and pyusb runs its real code path on them: device,
configuration, interface and endpoint descriptors, string descriptors fetched with control
transfers (``GET_DESCRIPTOR``), ``set_configuration``, interface claiming, bulk (or interrupt)
transfers with timeouts.  Each device has one configuration with one vendor-specific interface
(class FF): a bulk OUT endpoint carrying host frames and a bulk or interrupt IN endpoint carrying
device frames.  Behind the endpoints sits a :class:`drivers.transport.Transport` - the host end
of the device model's link (for the PIN pad, :meth:`firmware_sim.runner.DeviceRunner.loopback`):
``bulk_write`` -> ``link.write``, ``bulk_read`` -> ``link.read``.

Errors mirror what pyusb's libusb1 backend raises, with libusb's codes and errno values, so a
driver tested here handles real hardware the same way: a timeout raises
``usb.core.USBTimeoutError`` (-7, ETIMEDOUT); a transfer on an unplugged device raises
``usb.core.USBError`` (-4, ENODEV); an interface claimed through another handle raises (-6,
EBUSY).  A timeout of 0 means "no limit", as in libusb (the wait still ends on unplug).

:meth:`SimulatedUsbBackend.unplug` / :meth:`~SimulatedUsbBackend.replug` model a cable being
pulled and pushed back: open handles die for good and the device comes back at a new address,
so drivers must find and open it again, exactly as with real hardware.

pyusb has no in-memory backend of its own (pyftdi's virtual backend is FTDI-specific), so this
one is written by hand against ``usb.backend.IBackend``.
"""

from __future__ import annotations

import array
import errno
import itertools
import struct
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Union

import usb.backend
import usb.core
import usb.util

from drivers.transport import Transport
from drivers.usb import PINPAD_PID, PINPAD_VID  # pid.codes test VID:PID 1209:0001
from protocol.errors import ConfigurationError, TactileError

if TYPE_CHECKING:  # pragma: no cover
    from firmware_sim.runner import DeviceRunner

__all__ = [
    "UsbDeviceSpec",
    "SimulatedUsbBackend",
    "PINPAD_VID",
    "PINPAD_PID",
    "PINPAD_MANUFACTURER",
    "PINPAD_PRODUCT",
    "pinpad_usb_spec",
    "pinpad_usb_backend",
]

PINPAD_MANUFACTURER = "tactile project"
PINPAD_PRODUCT = "Tactile PIN pad (simulated)"

# libusb error codes (libusb.h), as pyusb's libusb1 backend reports them
_ERR_IO, _ERR_INVALID, _ERR_NO_DEVICE, _ERR_NOT_FOUND = -1, -2, -4, -5
_ERR_BUSY, _ERR_TIMEOUT, _ERR_PIPE = -6, -7, -9
_ERRORS = {
    _ERR_NOT_FOUND: ("Entity not found", errno.ENOENT),
    _ERR_IO: ("Input/output error", errno.EIO),
    _ERR_INVALID: ("Invalid parameter", errno.EINVAL),
    _ERR_NO_DEVICE: ("No such device (it may have been disconnected)", errno.ENODEV),
    _ERR_BUSY: ("Resource busy", errno.EBUSY),
    _ERR_TIMEOUT: ("Operation timed out", errno.ETIMEDOUT),
    _ERR_PIPE: ("Pipe error", errno.EPIPE),
}

# standard requests and descriptor types (USB 2.0 chapter 9)
_GET_STATUS, _CLEAR_FEATURE, _SET_FEATURE, _GET_DESCRIPTOR, _GET_CONFIGURATION = 0, 1, 3, 6, 8
_DT_DEVICE, _DT_CONFIG, _DT_STRING, _DT_INTERFACE, _DT_ENDPOINT = 1, 2, 3, 4, 5
_LANGID_EN_US = 0x0409

#: how long a blocking read waits on the link before it looks at the plug state again
_SLICE = 0.05

#: a Transport, or a callable making a fresh one each time the device is opened
LinkSource = Union[Transport, Callable[[], Transport]]


def _usb_error(code: int, detail: str = "") -> usb.core.USBError:
    text, err = _ERRORS[code]
    if detail:
        text = f"{text}: {detail}"
    cls = usb.core.USBTimeoutError if code == _ERR_TIMEOUT else usb.core.USBError
    return cls(text, code, err)


@dataclass(frozen=True, slots=True)
class UsbDeviceSpec:
    """What the simulated device tells the host about itself."""

    vid: int
    pid: int
    manufacturer: str
    product: str
    serial: str
    bcd_device: int = 0x0100
    bcd_usb: int = 0x0200
    interface_class: int = 0xFF          # vendor specific
    interface_subclass: int = 0x00
    interface_protocol: int = 0x00
    interface_name: str | None = None
    out_endpoint: int = 0x01
    in_endpoint: int = 0x81
    #: "bulk" or "interrupt" for the IN endpoint (the OUT endpoint is always bulk)
    in_transfer: str = "bulk"
    max_packet_size: int = 64
    interval: int = 1                    # bInterval of an interrupt IN endpoint (frames)
    max_power_ma: int = 100

    def __post_init__(self) -> None:
        if not (0 <= self.vid <= 0xFFFF and 0 <= self.pid <= 0xFFFF):
            raise ConfigurationError("a USB VID and PID are 16-bit numbers")
        if self.in_transfer not in ("bulk", "interrupt"):
            raise ConfigurationError("in_transfer must be 'bulk' or 'interrupt'")
        if self.out_endpoint & 0x80 or not self.in_endpoint & 0x80:
            raise ConfigurationError("the OUT endpoint address has bit 7 clear, the IN one set")
        if not self.serial:
            raise ConfigurationError("a simulated USB device needs a serial number")

    # descriptor field values ---------------------------------------------------------------
    @property
    def strings(self) -> dict[int, str]:
        """String descriptor index -> text (1 manufacturer, 2 product, 3 serial, 4 interface)."""
        out = {1: self.manufacturer, 2: self.product, 3: self.serial}
        if self.interface_name:
            out[4] = self.interface_name
        return out


class _Descriptor:
    """A descriptor object with exactly the attributes pyusb copies (see usb/core.py)."""

    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)


class _Entry:
    """One simulated device on the bus (survives unplug/replug; its address changes)."""

    def __init__(self, spec: UsbDeviceSpec, link: LinkSource, bus: int, port: int,
                 present: Callable[[], bool] | None,
                 on_unplug: Callable[[], object] | None,
                 on_replug: Callable[[], object] | None) -> None:
        self.spec = spec
        self.source = link
        self.bus = bus
        self.port = port
        self.present_fn = present
        self.on_unplug = on_unplug
        self.on_replug = on_replug
        self.plugged = True
        self.generation = 0
        self.address = 0
        self.configuration = 1       # Linux sets configuration 1 when a device enumerates
        self.claims: dict[int, "_Handle"] = {}
        self.handles: set["_Handle"] = set()   # open handles of the current generation
        self.link: Transport | None = link if isinstance(link, Transport) else None
        self.owns_link = not isinstance(link, Transport)
        self.was_present = True

    def present(self) -> bool:
        return self.plugged and (self.present_fn is None or bool(self.present_fn()))


@dataclass(frozen=True, slots=True)
class _DeviceRef:
    """The opaque ``dev`` pyusb passes back to us: one device at one plug-in."""

    entry: _Entry
    generation: int


class _Handle:
    """An open device (``dev_handle``)."""

    def __init__(self, ref: _DeviceRef) -> None:
        self.ref = ref
        self.closed = False

    @property
    def entry(self) -> _Entry:
        return self.ref.entry


class SimulatedUsbBackend(usb.backend.IBackend):
    """A pyusb backend whose devices are simulated in process (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._entries: list[_Entry] = []
        self._addresses = itertools.count(1)

    # -- managing the simulated bus -----------------------------------------------------------
    def add_device(self, spec: UsbDeviceSpec, link: LinkSource, *,
                   present: Callable[[], bool] | None = None,
                   on_unplug: Callable[[], object] | None = None,
                   on_replug: Callable[[], object] | None = None) -> None:
        """Plug a device in.

        ``link`` is the device side's host-end Transport, or a callable returning a fresh one
        each time the device is opened (the backend then closes it when the handle closes).
        ``present``, when given, is asked at every enumeration and transfer whether the device
        is still there (e.g. ``lambda: runner.plugged``); ``on_unplug``/``on_replug`` run when
        :meth:`unplug`/:meth:`replug` are called (e.g. to power-cycle the model).
        """
        with self._lock:
            if any(e.spec.serial == spec.serial and e.spec.vid == spec.vid
                   and e.spec.pid == spec.pid for e in self._entries):
                raise ConfigurationError(
                    f"a device {spec.vid:04x}:{spec.pid:04x} with serial {spec.serial!r} is "
                    "already on the simulated bus")
            entry = _Entry(spec, link, bus=1, port=len(self._entries) + 1, present=present,
                           on_unplug=on_unplug, on_replug=on_replug)
            entry.address = next(self._addresses)
            self._entries.append(entry)

    def _entry(self, serial: str) -> _Entry:
        for entry in self._entries:
            if entry.spec.serial == serial:
                return entry
        raise ConfigurationError(f"no simulated USB device has serial {serial!r}; serials: "
                                 + ", ".join(e.spec.serial for e in self._entries))

    def unplug(self, serial: str) -> None:
        """Pull the cable: open handles die, the device leaves the bus."""
        with self._lock:
            entry = self._entry(serial)
            if not entry.plugged:
                raise ConfigurationError(f"the simulated USB device {serial} is already unplugged")
            entry.plugged = False
            entry.was_present = False
            self._drop_link(entry)
        if entry.on_unplug is not None:
            entry.on_unplug()

    def replug(self, serial: str) -> None:
        """Push the cable back: the device enumerates again, at a new address."""
        with self._lock:
            entry = self._entry(serial)
            if entry.plugged:
                raise ConfigurationError(f"the simulated USB device {serial} is not unplugged")
            entry.plugged = True
            self._flush_static_link(entry)
        if entry.on_replug is not None:
            entry.on_replug()
        with self._lock:
            self._refresh(entry)

    def _drop_link(self, entry: _Entry) -> None:
        """The device went away: forget claims and the configuration, end the link."""
        entry.generation += 1
        entry.claims.clear()
        entry.handles.clear()
        entry.configuration = 1
        if entry.owns_link and entry.link is not None:
            entry.link.close()
            entry.link = None
        else:
            self._flush_static_link(entry)

    @staticmethod
    def _flush_static_link(entry: _Entry) -> None:
        """Device bytes sent before or while unplugged must not reach the next host."""
        if not entry.owns_link and entry.link is not None:
            try:
                entry.link.reset_input()
            except TactileError:
                pass

    def _refresh(self, entry: _Entry) -> None:
        """Notice a device that (re)appeared through ``present``: give it a new address."""
        now = entry.present()
        if now and not entry.was_present:
            entry.generation += 1
            entry.address = next(self._addresses)
            entry.claims.clear()
            entry.handles.clear()
            entry.configuration = 1
            self._flush_static_link(entry)
        elif not now and entry.was_present:
            self._drop_link(entry)
        entry.was_present = now

    def _live(self, handle: _Handle) -> _Entry:
        """The entry behind an open handle, or ENODEV if it was unplugged since."""
        with self._lock:
            entry = handle.entry
            self._refresh(entry)
            if handle.closed:
                raise _usb_error(_ERR_INVALID, "the device handle is closed")
            if handle.ref.generation != entry.generation or not entry.present():
                raise _usb_error(_ERR_NO_DEVICE)
            return entry

    def _link(self, handle: _Handle) -> Transport:
        entry = self._live(handle)
        with self._lock:
            if entry.link is None:
                raise _usb_error(_ERR_NO_DEVICE, "the simulated device has no link")
            return entry.link

    def _link_failed(self, handle: _Handle) -> usb.core.USBError:
        """The device side hung up (e.g. its runner was unplugged): the device is gone."""
        with self._lock:
            entry = handle.entry
            if handle.ref.generation == entry.generation:
                entry.was_present = False
                self._drop_link(entry)
        return _usb_error(_ERR_NO_DEVICE)

    # -- IBackend: enumeration and descriptors ------------------------------------------------
    def enumerate_devices(self):
        with self._lock:
            refs = []
            for entry in self._entries:
                self._refresh(entry)
                if entry.present():
                    refs.append(_DeviceRef(entry, entry.generation))
        return iter(refs)

    def get_parent(self, dev):
        return None

    def get_device_descriptor(self, dev):
        spec, entry = dev.entry.spec, dev.entry
        return _Descriptor(
            bLength=18, bDescriptorType=_DT_DEVICE, bcdUSB=spec.bcd_usb,
            bDeviceClass=0, bDeviceSubClass=0, bDeviceProtocol=0, bMaxPacketSize0=64,
            idVendor=spec.vid, idProduct=spec.pid, bcdDevice=spec.bcd_device,
            iManufacturer=1, iProduct=2, iSerialNumber=3, bNumConfigurations=1,
            bus=entry.bus, address=entry.address, port_number=entry.port,
            port_numbers=(entry.port,), speed=usb.util.SPEED_FULL)

    def get_configuration_descriptor(self, dev, config):
        if config != 0:
            raise IndexError("the simulated device has one configuration")
        spec = dev.entry.spec
        return _Descriptor(
            bLength=9, bDescriptorType=_DT_CONFIG, wTotalLength=9 + 9 + 7 + 7,
            bNumInterfaces=1, bConfigurationValue=1, iConfiguration=0,
            bmAttributes=0x80, bMaxPower=(spec.max_power_ma + 1) // 2, extra_descriptors=[])

    def get_interface_descriptor(self, dev, intf, alt, config):
        if config != 0 or intf != 0 or alt != 0:
            raise IndexError("the simulated device has one interface with one setting")
        spec = dev.entry.spec
        return _Descriptor(
            bLength=9, bDescriptorType=_DT_INTERFACE, bInterfaceNumber=0, bAlternateSetting=0,
            bNumEndpoints=2, bInterfaceClass=spec.interface_class,
            bInterfaceSubClass=spec.interface_subclass,
            bInterfaceProtocol=spec.interface_protocol,
            iInterface=4 if spec.interface_name else 0, extra_descriptors=[])

    def get_endpoint_descriptor(self, dev, ep, intf, alt, config):
        if config != 0 or intf != 0 or alt != 0 or ep not in (0, 1):
            raise IndexError("the simulated interface has two endpoints")
        spec = dev.entry.spec
        if ep == 0:
            address, attributes, interval = spec.out_endpoint, 0x02, 0
        else:
            interrupt = spec.in_transfer == "interrupt"
            address = spec.in_endpoint
            attributes, interval = (0x03, spec.interval) if interrupt else (0x02, 0)
        return _Descriptor(
            bLength=7, bDescriptorType=_DT_ENDPOINT, bEndpointAddress=address,
            bmAttributes=attributes, wMaxPacketSize=spec.max_packet_size, bInterval=interval,
            bRefresh=0, bSynchAddress=0, extra_descriptors=[])

    def _descriptor_bytes(self, dev: _DeviceRef, kind: int, index: int) -> bytes:
        """Raw descriptor bytes as a device answers GET_DESCRIPTOR."""
        spec = dev.entry.spec
        if kind == _DT_DEVICE:
            d = self.get_device_descriptor(dev)
            return struct.pack("<BBHBBBBHHHBBBB", 18, 1, d.bcdUSB, 0, 0, 0, 64, d.idVendor,
                               d.idProduct, d.bcdDevice, 1, 2, 3, 1)
        if kind == _DT_CONFIG and index == 0:
            c = self.get_configuration_descriptor(dev, 0)
            i = self.get_interface_descriptor(dev, 0, 0, 0)
            out = struct.pack("<BBHBBBBB", 9, 2, c.wTotalLength, 1, 1, 0, c.bmAttributes,
                              c.bMaxPower)
            out += struct.pack("<BBBBBBBBB", 9, 4, 0, 0, 2, i.bInterfaceClass,
                               i.bInterfaceSubClass, i.bInterfaceProtocol, i.iInterface)
            for n in (0, 1):
                e = self.get_endpoint_descriptor(dev, n, 0, 0, 0)
                out += struct.pack("<BBBBHB", 7, 5, e.bEndpointAddress, e.bmAttributes,
                                   e.wMaxPacketSize, e.bInterval)
            return out
        if kind == _DT_STRING:
            if index == 0:
                return struct.pack("<BBH", 4, _DT_STRING, _LANGID_EN_US)
            text = spec.strings.get(index)
            if text is not None:
                body = text.encode("utf-16-le")[:252]
                return bytes([2 + len(body), _DT_STRING]) + body
        raise _usb_error(_ERR_PIPE, f"no descriptor type {kind} index {index}")  # a stall

    # -- IBackend: handles, configuration, interfaces ----------------------------------------
    def open_device(self, dev):
        with self._lock:
            entry = dev.entry
            self._refresh(entry)
            if dev.generation != entry.generation or not entry.present():
                raise _usb_error(_ERR_NO_DEVICE)
            if entry.link is None:
                try:
                    entry.link = entry.source() if callable(entry.source) else entry.source
                except TactileError as exc:
                    raise _usb_error(_ERR_IO, f"the simulated device did not attach: {exc}")
            handle = _Handle(dev)
            entry.handles.add(handle)
            return handle

    def close_device(self, dev_handle):
        # never raises: pyusb calls this while disposing, also after an unplug
        with self._lock:
            handle: _Handle = dev_handle
            if handle.closed:
                return
            handle.closed = True
            entry = handle.entry
            if handle.ref.generation != entry.generation:
                return  # that plug-in is over; its link went with it
            for number in [n for n, h in entry.claims.items() if h is handle]:
                del entry.claims[number]
            entry.handles.discard(handle)
            if entry.owns_link and entry.link is not None and not entry.handles:
                entry.link.close()
                entry.link = None

    def set_configuration(self, dev_handle, config_value):
        entry = self._live(dev_handle)
        if config_value not in (0, 1):
            raise _usb_error(_ERR_NOT_FOUND, f"no configuration {config_value}")
        with self._lock:
            if config_value != entry.configuration and entry.claims:
                raise _usb_error(_ERR_BUSY, "release the interface before changing configuration")
            entry.configuration = config_value

    def get_configuration(self, dev_handle):
        return self._live(dev_handle).configuration

    def set_interface_altsetting(self, dev_handle, intf, altsetting):
        self._live(dev_handle)
        if intf != 0 or altsetting != 0:
            raise _usb_error(_ERR_NOT_FOUND, f"no interface {intf} setting {altsetting}")

    def claim_interface(self, dev_handle, intf):
        entry = self._live(dev_handle)
        with self._lock:
            if intf != 0 or entry.configuration == 0:
                raise _usb_error(_ERR_NOT_FOUND, f"no interface {intf}")
            holder = entry.claims.get(intf)
            if holder is not None and holder is not dev_handle and not holder.closed:
                raise _usb_error(_ERR_BUSY, "another program holds the interface")
            entry.claims[intf] = dev_handle

    def release_interface(self, dev_handle, intf):
        with self._lock:
            entry = dev_handle.entry
            if entry.claims.get(intf) is dev_handle:
                del entry.claims[intf]

    def is_kernel_driver_active(self, dev_handle, intf):
        self._live(dev_handle)
        return False

    def detach_kernel_driver(self, dev_handle, intf):
        self._live(dev_handle)

    def attach_kernel_driver(self, dev_handle, intf):
        self._live(dev_handle)

    def clear_halt(self, dev_handle, ep):
        self._live(dev_handle)

    def reset_device(self, dev_handle):
        link = self._link(dev_handle)
        try:
            link.reset_input()
        except TactileError as exc:
            raise self._link_failed(dev_handle) from exc

    # -- IBackend: transfers ------------------------------------------------------------------
    def _check_endpoint(self, entry: _Entry, handle: _Handle, ep: int, want: int) -> None:
        if ep != want:
            raise _usb_error(_ERR_INVALID, f"endpoint {ep:#04x} is not {want:#04x}")
        if entry.configuration == 0:
            raise _usb_error(_ERR_IO, "the device is not configured")
        if entry.claims.get(0) is not handle:
            raise _usb_error(_ERR_IO, "claim the interface before using its endpoints")

    def bulk_write(self, dev_handle, ep, intf, data, timeout):
        entry = self._live(dev_handle)
        self._check_endpoint(entry, dev_handle, ep, entry.spec.out_endpoint)
        link = self._link(dev_handle)
        try:
            link.write(bytes(data))
        except TactileError as exc:
            raise self._link_failed(dev_handle) from exc
        return len(data)

    def _read(self, dev_handle, ep, buff, timeout, transfer: str) -> int:
        entry = self._live(dev_handle)
        if entry.spec.in_transfer != transfer:
            raise _usb_error(_ERR_INVALID, f"endpoint {ep:#04x} is not an {transfer} endpoint")
        self._check_endpoint(entry, dev_handle, ep, entry.spec.in_endpoint)
        size = len(buff) * buff.itemsize
        # timeout in milliseconds; 0 means no limit (libusb)
        deadline = None if not timeout else time.monotonic() + timeout / 1000.0
        while True:
            link = self._link(dev_handle)  # raises ENODEV once unplugged
            wait = _SLICE if deadline is None else min(_SLICE, deadline - time.monotonic())
            try:
                data = link.read(size, max(0.0, wait))
            except TactileError as exc:
                raise self._link_failed(dev_handle) from exc
            if data:
                view = memoryview(buff).cast("B")
                view[:len(data)] = data
                return len(data)
            if deadline is not None and time.monotonic() >= deadline:
                raise _usb_error(_ERR_TIMEOUT)

    def bulk_read(self, dev_handle, ep, intf, buff, timeout):
        return self._read(dev_handle, ep, buff, timeout, "bulk")

    def intr_read(self, dev_handle, ep, intf, buff, timeout):
        return self._read(dev_handle, ep, buff, timeout, "interrupt")

    def ctrl_transfer(self, dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout):
        entry = self._live(dev_handle)
        direction_in = bool(bmRequestType & 0x80)
        kind = (bmRequestType >> 5) & 3
        if kind != 0:  # class / vendor requests: this device defines none, so it stalls
            raise _usb_error(_ERR_PIPE, f"request {bRequest:#04x} is not supported")
        if direction_in and bRequest == _GET_DESCRIPTOR:
            reply = self._descriptor_bytes(dev_handle.ref, wValue >> 8, wValue & 0xFF)
        elif direction_in and bRequest == _GET_STATUS:
            reply = b"\x00\x00"
        elif direction_in and bRequest == _GET_CONFIGURATION:
            reply = bytes([entry.configuration])
        elif not direction_in and bRequest in (_CLEAR_FEATURE, _SET_FEATURE):
            return 0
        else:
            raise _usb_error(_ERR_PIPE, f"standard request {bRequest} is not supported")
        n = min(len(reply), len(data))
        if isinstance(data, array.array):
            data[:n] = array.array("B", reply[:n])
        return n


# -- the PIN pad ---------------------------------------------------------------------------------

def pinpad_usb_spec(serial: str, *, in_transfer: str = "bulk") -> UsbDeviceSpec:
    """The simulated PIN pad's USB identity (pid.codes test VID:PID 1209:0001)."""
    # interface subclass 0x54 ('T') / protocol 0x01 (TPP 1.x): the values SPEC 2.2 recommends
    return UsbDeviceSpec(vid=PINPAD_VID, pid=PINPAD_PID, manufacturer=PINPAD_MANUFACTURER,
                         product=PINPAD_PRODUCT, serial=serial, interface_subclass=0x54,
                         interface_protocol=0x01, interface_name="Tactile PIN pad protocol",
                         in_transfer=in_transfer)


def pinpad_usb_backend(runner: "DeviceRunner", serial: str | None = None, *,
                       backend: SimulatedUsbBackend | None = None,
                       in_transfer: str = "bulk") -> SimulatedUsbBackend:
    """A backend (new, or ``backend``) with the runner's PIN pad plugged in over USB.

    Each open attaches ``runner.loopback()``; the device is present while the runner is plugged
    (its ``unplug``/``replug`` commands unplug it from USB too), and the backend's own
    :meth:`~SimulatedUsbBackend.unplug`/:meth:`~SimulatedUsbBackend.replug` send those commands
    to the runner, so the pad powers down and up as a bus-powered pad does.  ``serial`` defaults
    to the model's ``serial`` attribute, else the runner's name.
    """
    backend = backend if backend is not None else SimulatedUsbBackend()
    if serial is None:
        serial = str(getattr(runner.device, "serial", "") or runner.name)

    def unplug() -> None:
        if runner.plugged:
            runner.command("unplug")

    def replug() -> None:
        if not runner.plugged:
            runner.command("replug")

    backend.add_device(pinpad_usb_spec(serial, in_transfer=in_transfer), runner.loopback,
                       present=lambda: runner.plugged, on_unplug=unplug, on_replug=replug)
    return backend
