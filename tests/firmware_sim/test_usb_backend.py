"""The pure-Python pyusb backend, exercised through pyusb's real code path (usb.core / usb.util)."""

from __future__ import annotations

import errno
import threading

import pytest
import usb.control
import usb.core
import usb.util

from drivers.transport import loopback_pair
from firmware_sim.base import SimulatedDevice
from firmware_sim.runner import DeviceRunner
from firmware_sim.usb_backend import (
    PINPAD_MANUFACTURER,
    PINPAD_PRODUCT,
    SimulatedUsbBackend,
    UsbDeviceSpec,
    pinpad_usb_backend,
    pinpad_usb_spec,
)
from protocol.errors import ConfigurationError


@pytest.fixture
def bus():
    """A backend with one pad on a plain loopback; yields (backend, device end of the link)."""
    host, device = loopback_pair("usb test")
    backend = SimulatedUsbBackend()
    backend.add_device(pinpad_usb_spec("TPP-0001"), host)
    devices = []
    yield backend, device, devices
    for dev in devices:
        usb.util.dispose_resources(dev)
    host.close()


def find(backend, devices, **match):
    dev = usb.core.find(backend=backend, **match)
    if dev is not None:
        devices.append(dev)
    return dev


def test_find_strings_and_descriptors(bus):
    backend, _, devs = bus
    dev = find(backend, devs, idVendor=0x1209, idProduct=0x0001)
    assert dev is not None
    assert (dev.manufacturer, dev.product, dev.serial_number) == \
        (PINPAD_MANUFACTURER, PINPAD_PRODUCT, "TPP-0001")
    assert dev.langids == (0x0409,)
    assert dev.bcdUSB == 0x0200 and dev.bNumConfigurations == 1 and dev.bus == 1
    cfg = dev[0]
    intf = cfg[(0, 0)]
    assert intf.bInterfaceClass == 0xFF and intf.bNumEndpoints == 2
    assert usb.util.get_string(dev, intf.iInterface) == "Tactile PIN pad protocol"
    out_ep, in_ep = intf
    assert (out_ep.bEndpointAddress, in_ep.bEndpointAddress) == (0x01, 0x81)
    assert usb.util.endpoint_type(in_ep.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK
    assert "Tactile PIN pad (simulated)" in str(dev)  # pyusb's full descriptor dump works
    assert find(backend, devs, idVendor=0x1234) is None


def test_raw_descriptors_via_control_transfers(bus):
    backend, _, devs = bus
    dev = find(backend, devs, idVendor=0x1209)
    raw = usb.control.get_descriptor(dev, 18, usb.util.DESC_TYPE_DEVICE, 0)
    assert bytes(raw[:2]) == b"\x12\x01" and bytes(raw[8:12]) == b"\x09\x12\x01\x00"
    raw = usb.control.get_descriptor(dev, 255, usb.util.DESC_TYPE_CONFIG, 0)
    assert len(raw) == 32 and raw[2] == 32
    assert usb.control.get_configuration(dev) == 1
    assert usb.control.get_status(dev) == 0
    with pytest.raises(usb.core.USBError) as info:  # no such string: the device stalls
        usb.util.get_string(dev, 9)
    assert info.value.errno == errno.EPIPE
    with pytest.raises(usb.core.USBError):  # vendor request: not defined, stall
        dev.ctrl_transfer(0xC0, 0x01, 0, 0, 8)


def test_configuration_and_bulk_transfer_both_ways(bus):
    backend, device_end, devs = bus
    dev = find(backend, devs, idVendor=0x1209)
    dev.set_configuration()
    assert dev.get_active_configuration().bConfigurationValue == 1
    intf = dev.get_active_configuration()[(0, 0)]
    out_ep = usb.util.find_descriptor(intf, custom_match=lambda e: not e.bEndpointAddress & 0x80)
    in_ep = usb.util.find_descriptor(intf, custom_match=lambda e: e.bEndpointAddress & 0x80)
    assert out_ep.write(b"\x02host frame") == 11
    assert device_end.read(100, 1.0) == b"\x02host frame"
    device_end.write(b"device frame " * 10)
    first = bytes(in_ep.read(64, 1000))
    assert first == (b"device frame " * 10)[:64]
    rest = bytes(dev.read(0x81, 4096, 1000))
    assert first + rest == b"device frame " * 10
    buf = usb.util.create_buffer(16)
    device_end.write(b"abc")
    assert dev.read(0x81, buf, 1000) == 3 and bytes(buf[:3]) == b"abc"


def test_read_timeout_raises_usb_timeout_error(bus):
    backend, _, devs = bus
    dev = find(backend, devs, idVendor=0x1209)
    with pytest.raises(usb.core.USBTimeoutError) as info:
        dev.read(0x81, 64, 30)
    assert info.value.errno == errno.ETIMEDOUT and info.value.backend_error_code == -7


def test_unplug_kills_handles_and_replug_gives_a_new_address(bus):
    backend, device_end, devs = bus
    dev = find(backend, devs, idVendor=0x1209)
    dev.write(0x01, b"x")
    old_address = dev.address
    backend.unplug("TPP-0001")
    with pytest.raises(usb.core.USBError) as info:
        dev.write(0x01, b"y")
    assert info.value.errno == errno.ENODEV
    with pytest.raises(usb.core.USBError):
        dev.read(0x81, 64, 10)
    assert find(backend, devs, idVendor=0x1209) is None
    device_end.write(b"stale")  # sent while unplugged: must not reach the next host
    backend.replug("TPP-0001")
    again = find(backend, devs, idVendor=0x1209)
    assert again is not None and again.address != old_address
    with pytest.raises(usb.core.USBError):  # the old handle stays dead
        dev.write(0x01, b"z")
    usb.util.dispose_resources(dev)
    with pytest.raises(usb.core.USBError):  # ... and the old device cannot be reopened
        dev.write(0x01, b"z")
    with pytest.raises(usb.core.USBTimeoutError):
        again.read(0x81, 64, 20)
    again.write(0x01, b"fresh")
    assert device_end.read(100, 1.0) == b"xfresh"  # the device end reads on as before
    with pytest.raises(ConfigurationError, match="not unplugged"):
        backend.replug("TPP-0001")
    with pytest.raises(ConfigurationError, match="serials: TPP-0001"):
        backend.unplug("nope")


def test_a_quick_replug_still_moves_the_address(bus):
    backend, _, devs = bus
    dev = find(backend, devs, idVendor=0x1209)
    backend.unplug("TPP-0001")
    backend.replug("TPP-0001")  # nobody enumerated in between
    again = find(backend, devs, idVendor=0x1209)
    assert again.address != dev.address
    with pytest.raises(usb.core.USBError):
        dev.write(0x01, b"old handle")
    again.write(0x01, b"new handle")


def test_unplug_interrupts_a_read_without_limit(bus):
    backend, _, devs = bus
    dev = find(backend, devs, idVendor=0x1209)
    dev.set_configuration()
    usb.util.claim_interface(dev, 0)
    caught = []

    def reader():
        try:
            dev.read(0x81, 64, 0)  # 0 = no limit, as in libusb
        except usb.core.USBError as exc:
            caught.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    t.join(0.1)
    assert t.is_alive()
    backend.unplug("TPP-0001")
    t.join(5)
    assert not t.is_alive() and caught and caught[0].errno == errno.ENODEV


def test_a_second_handle_cannot_claim_the_interface(bus):
    backend, _, devs = bus
    first = find(backend, devs, idVendor=0x1209)
    second = find(backend, devs, idVendor=0x1209)
    usb.util.claim_interface(first, 0)
    with pytest.raises(usb.core.USBError) as info:
        usb.util.claim_interface(second, 0)
    assert info.value.errno == errno.EBUSY
    usb.util.dispose_resources(first)
    usb.util.claim_interface(second, 0)  # free again once the first program lets go


def test_transfers_need_a_configuration(bus):
    backend, _, devs = bus
    dev = find(backend, devs, idVendor=0x1209)
    dev.set_configuration(0)
    with pytest.raises(usb.core.USBError):
        dev.get_active_configuration()
    dev.set_configuration(1)
    dev.write(0x01, b"ok")


def test_interrupt_in_endpoint():
    host, device_end = loopback_pair()
    backend = SimulatedUsbBackend()
    backend.add_device(pinpad_usb_spec("INT-1", in_transfer="interrupt"), host)
    dev = usb.core.find(backend=backend)
    try:
        ep = dev[0][(0, 0)][1]
        assert usb.util.endpoint_type(ep.bmAttributes) == usb.util.ENDPOINT_TYPE_INTR
        assert ep.bInterval == 1
        device_end.write(b"event")
        assert bytes(dev.read(0x81, 64, 1000)) == b"event"
    finally:
        usb.util.dispose_resources(dev)


def test_link_factory_and_presence():
    made = []

    def connect():
        host, device_end = loopback_pair()
        made.append((host, device_end))
        return host

    here = [True]
    backend = SimulatedUsbBackend()
    backend.add_device(UsbDeviceSpec(0x1209, 0x0001, "m", "p", "S1"), connect,
                       present=lambda: here[0])
    dev = usb.core.find(backend=backend)
    assert made == []  # nothing attaches before the device is opened
    dev.write(0x01, b"a")
    assert len(made) == 1 and made[0][1].read(10, 1) == b"a"
    usb.util.dispose_resources(dev)
    assert made[0][0].closed  # the backend closes the link it made
    here[0] = False
    assert usb.core.find(backend=backend) is None
    here[0] = True
    dev = usb.core.find(backend=backend)
    dev.write(0x01, b"b")
    assert len(made) == 2 and made[1][1].read(10, 1) == b"b"
    usb.util.dispose_resources(dev)


def test_device_side_hang_up_looks_like_an_unplug():
    host, device_end = loopback_pair()
    backend = SimulatedUsbBackend()
    backend.add_device(pinpad_usb_spec("H1"), host)
    dev = usb.core.find(backend=backend)
    device_end.close()
    with pytest.raises(usb.core.USBError) as info:
        dev.read(0x81, 64, 100)
    assert info.value.errno == errno.ENODEV
    usb.util.dispose_resources(dev)


def test_spec_validation():
    with pytest.raises(ConfigurationError):
        UsbDeviceSpec(0x10000, 1, "m", "p", "s")
    with pytest.raises(ConfigurationError):
        UsbDeviceSpec(1, 1, "m", "p", "s", in_transfer="iso")
    with pytest.raises(ConfigurationError):
        UsbDeviceSpec(1, 1, "m", "p", "")
    backend = SimulatedUsbBackend()
    backend.add_device(pinpad_usb_spec("A"), loopback_pair()[0])
    with pytest.raises(ConfigurationError, match="already"):
        backend.add_device(pinpad_usb_spec("A"), loopback_pair()[0])


# -- with a DeviceRunner ------------------------------------------------------------------------

class _UsbEchoModel(SimulatedDevice):
    """The smallest model: answers every byte string with itself, upper-cased."""

    kind = "echo"
    serial = "ECHO-42"

    def __init__(self):
        super().__init__()
        self.powered = 0

    def power_on(self):
        self.powered += 1

    def receive(self, data):
        self.send(data.upper())

    def command(self, line):
        raise ConfigurationError(f"unknown command {line!r}")


def _read_all(dev, n, timeout_ms=2000):
    got = b""
    while len(got) < n:
        got += bytes(dev.read(0x81, 64, timeout_ms))
    return got


def test_pinpad_usb_backend_with_a_runner():
    model = _UsbEchoModel()
    with DeviceRunner(model) as runner:
        backend = pinpad_usb_backend(runner)
        dev = usb.core.find(backend=backend, idVendor=0x1209, idProduct=0x0001)
        try:
            assert dev.serial_number == "ECHO-42" and dev.product == PINPAD_PRODUCT
            dev.set_configuration()
            dev.write(0x01, b"hello")
            assert _read_all(dev, 5) == b"HELLO"
            # the runner's own unplug command unplugs it from USB as well
            runner.command("unplug")
            with pytest.raises(usb.core.USBError) as info:
                dev.read(0x81, 64, 200)
            assert info.value.errno == errno.ENODEV
            assert usb.core.find(backend=backend) is None
            runner.command("replug")
        finally:
            usb.util.dispose_resources(dev)
        dev = usb.core.find(backend=backend)
        try:
            dev.write(0x01, b"again")
            assert _read_all(dev, 5) == b"AGAIN"
            # and the backend's unplug power-cycles the model through the runner
            before = model.powered
            backend.unplug("ECHO-42")
            assert not runner.plugged
            backend.replug("ECHO-42")
            assert runner.plugged and model.powered == before + 1
        finally:
            usb.util.dispose_resources(dev)
        dev = usb.core.find(backend=backend)
        try:
            dev.write(0x01, b"third")
            assert _read_all(dev, 5) == b"THIRD"
        finally:
            usb.util.dispose_resources(dev)


def test_pinpad_descriptors_are_the_ones_spec_2_2_gives(bus):
    # a firmware engineer builds the descriptors from SPEC 2.2: the reference pad must match it
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    spec = (root / "protocol" / "tpp" / "SPEC.md").read_text(encoding="utf-8")
    table = spec.split("### 2.2 ", 1)[1].split("Rules:", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3:
            rows[(cells[0], cells[1])] = cells[2]
    backend, _, devs = bus
    dev = find(backend, devs, idVendor=0x1209, idProduct=0x0001)
    assert rows[("device", "bcdUSB")] == f"0x{dev.bcdUSB:04X}"
    assert rows[("device", "bMaxPacketSize0")] == str(dev.bMaxPacketSize0)
    assert rows[("device", "idVendor : idProduct")].startswith(
        f"0x{dev.idVendor:04X} : 0x{dev.idProduct:04X}")
    assert rows[("device", "iManufacturer, iProduct, iSerialNumber")] == \
        f"{dev.iManufacturer}, {dev.iProduct}, {dev.iSerialNumber}"
    assert rows[("device", "bNumConfigurations")] == str(dev.bNumConfigurations)
    cfg = dev[0]
    assert rows[("configuration", "bNumInterfaces")] == str(cfg.bNumInterfaces)
    assert rows[("configuration", "bmAttributes")].startswith(f"0x{cfg.bmAttributes:02X}")
    assert f"0x{cfg.bMaxPower:02X}" in rows[("configuration", "bMaxPower")]
    intf = cfg[(0, 0)]
    assert rows[("interface 0", "bInterfaceClass")].startswith(f"0x{intf.bInterfaceClass:02X}")
    sub = re.match(r"0x(\w\w) \('T'\) / 0x(\w\w)",
                   rows[("interface 0", "bInterfaceSubClass / Protocol")])
    assert (int(sub[1], 16), int(sub[2], 16)) == (intf.bInterfaceSubClass, intf.bInterfaceProtocol)
    assert rows[("interface 0", "bNumEndpoints")] == str(intf.bNumEndpoints)
    for ep in intf:
        text = rows[("endpoint", f"0x{ep.bEndpointAddress:02X}")]
        kind = "OUT" if usb.util.endpoint_direction(ep.bEndpointAddress) == usb.util.ENDPOINT_OUT \
            else "IN"
        assert text.startswith(f"bulk {kind}, wMaxPacketSize {ep.wMaxPacketSize}")
