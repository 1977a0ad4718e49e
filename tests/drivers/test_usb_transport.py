"""drivers.usb: selectors, discovery and UsbTransport over the simulated pyusb backend."""

from __future__ import annotations

import threading

import libusb_package
import pytest

from drivers.transport import Transport, loopback_pair
from drivers.usb import (
    PINPAD_PID,
    PINPAD_VID,
    UsbSelector,
    UsbTransport,
    default_backend,
    find_devices,
    is_usb_selector,
    parse_selector,
)
from firmware_sim.base import SimulatedDevice
from firmware_sim.runner import DeviceRunner
from firmware_sim.usb_backend import (
    PINPAD_PRODUCT,
    SimulatedUsbBackend,
    UsbDeviceSpec,
    pinpad_usb_backend,
    pinpad_usb_spec,
)
from protocol.errors import ConfigurationError, TransportError


@pytest.fixture
def pads():
    """Two simulated pads on one bus; yields (backend, {serial: device end})."""
    backend = SimulatedUsbBackend()
    ends = {}
    for serial in ("TPP-A", "TPP-B"):
        host, device_end = loopback_pair(serial)
        backend.add_device(pinpad_usb_spec(serial), host)
        ends[serial] = device_end
    return backend, ends


def test_constants_are_the_pid_codes_test_ids():
    assert (PINPAD_VID, PINPAD_PID) == (0x1209, 0x0001)


@pytest.mark.parametrize("text,expected", [
    ("usb:1209:0001", UsbSelector(0x1209, 0x0001)),
    ("USB:1209:0001:TPP-A", UsbSelector(0x1209, 0x0001, "TPP-A")),
    ("usb:0x1209:0x1:with:colons", UsbSelector(0x1209, 0x0001, "with:colons")),
    ("usb:1209:0001:", UsbSelector(0x1209, 0x0001)),
])
def test_parse_selector(text, expected):
    assert parse_selector(text) == expected
    assert is_usb_selector(text)


@pytest.mark.parametrize("text", ["usb:1209", "usb:zz:0001", "/dev/ttyUSB0", "usb:12345:1"])
def test_bad_selectors(text):
    with pytest.raises(ConfigurationError, match="e.g. usb:1209:0001"):
        parse_selector(text)


def test_selector_text_round_trip():
    sel = UsbSelector(0x1209, 1, "X")
    assert str(sel) == "usb:1209:0001:X" and parse_selector(str(sel)) == sel


def test_find_devices(pads):
    backend, _ = pads
    infos = find_devices(backend)
    assert [i.serial for i in infos] == ["TPP-A", "TPP-B"]
    assert infos[0].product == PINPAD_PRODUCT and infos[0].selector == "usb:1209:0001:TPP-A"
    assert "Tactile PIN pad (simulated)" in infos[0].description
    assert find_devices(backend, vid=0x1209, pid=0x0001) == infos
    assert find_devices(backend, vid=0x1234) == []


def test_open_by_serial_write_and_read(pads):
    backend, ends = pads
    with UsbTransport("usb:1209:0001:TPP-B", backend=backend) as t:
        assert isinstance(t, Transport) and t.serial == "TPP-B"
        assert "usb:1209:0001:TPP-B" in t.description
        t.write(b"\x02frame")
        assert ends["TPP-B"].read(64, 1.0) == b"\x02frame"
        assert ends["TPP-A"].read(64, 0.0) == b""
        ends["TPP-B"].write(b"0123456789" * 30)
        got = t.read(5, 1.0)
        assert got == b"01234"  # the rest stays buffered, nothing is lost
        while len(got) < 300:
            chunk = t.read(1000, 1.0)
            assert chunk
            got += chunk
        assert got == b"0123456789" * 30
        assert t.read(10, 0.03) == b""  # a read with nothing to read honours its timeout
        assert t.read(10, 0.0) == b""
    assert t.closed
    t.close()  # idempotent
    with pytest.raises(TransportError, match="closed"):
        t.read(1, 0.1)


def test_ambiguous_and_missing_devices(pads):
    backend, _ = pads
    with pytest.raises(ConfigurationError, match="2 USB devices match.*TPP-A, TPP-B"):
        UsbTransport("usb:1209:0001", backend=backend)
    with pytest.raises(TransportError, match="no USB device 1209:0001 with serial NOPE"):
        UsbTransport("usb:1209:0001:NOPE", backend=backend)
    with pytest.raises(TransportError, match="tactile list"):
        UsbTransport("usb:dead:beef", backend=backend)


def test_reset_input_discards_pending_bytes(pads):
    backend, ends = pads
    with UsbTransport("usb:1209:0001:TPP-A", backend=backend) as t:
        ends["TPP-A"].write(b"old bytes")
        assert t.read(3, 1.0) == b"old"
        t.reset_input()
        ends["TPP-A"].write(b"new")
        assert t.read(10, 1.0) == b"new"


def test_unplug_gives_a_plain_transport_error_and_replug_reopens(pads):
    backend, ends = pads
    t = UsbTransport("usb:1209:0001:TPP-A", backend=backend)
    backend.unplug("TPP-A")
    with pytest.raises(TransportError, match="unplugged or stopped answering.*Check the cable"):
        t.read(10, 0.5)
    with pytest.raises(TransportError, match="unplugged"):
        t.write(b"x")
    t.close()
    with pytest.raises(TransportError, match="no USB device"):
        UsbTransport("usb:1209:0001:TPP-A", backend=backend)
    backend.replug("TPP-A")
    with UsbTransport("usb:1209:0001:TPP-A", backend=backend) as again:
        again.write(b"back")
        assert ends["TPP-A"].read(10, 1.0) == b"back"


def test_a_second_transport_on_the_same_pad_is_refused(pads):
    backend, _ = pads
    with UsbTransport("usb:1209:0001:TPP-A", backend=backend):
        with pytest.raises(TransportError, match="in use by another program"):
            UsbTransport("usb:1209:0001:TPP-A", backend=backend)
    # released on close
    UsbTransport("usb:1209:0001:TPP-A", backend=backend).close()


def test_interrupt_in_endpoint_is_accepted():
    backend = SimulatedUsbBackend()
    host, device_end = loopback_pair()
    backend.add_device(pinpad_usb_spec("INT", in_transfer="interrupt"), host)
    with UsbTransport("usb:1209:0001", backend=backend) as t:
        device_end.write(b"evt")
        assert t.read(10, 1.0) == b"evt"


def test_a_device_without_a_vendor_interface_is_refused():
    backend = SimulatedUsbBackend()
    backend.add_device(UsbDeviceSpec(0x1209, 0x0002, "x", "HID thing", "H", interface_class=3),
                       loopback_pair()[0])
    with pytest.raises(TransportError, match="no vendor-specific interface"):
        UsbTransport("usb:1209:0002", backend=backend)
    # and it is free again afterwards (the failed open released it)
    assert find_devices(backend)[0].serial == "H"


def test_no_libusb_tells_the_technician_what_to_install(monkeypatch):
    monkeypatch.setattr(libusb_package, "get_libusb1_backend", lambda: None)
    with pytest.raises(TransportError, match="pip install libusb-package"):
        default_backend()
    with pytest.raises(TransportError, match="libusb"):
        UsbTransport("usb:1209:0001")
    with pytest.raises(TransportError, match="libusb"):
        find_devices()


class _UsbDriverEchoModel(SimulatedDevice):
    kind = "echo"
    serial = "ECHO-7"

    def receive(self, data):
        self.send(data[::-1])

    def command(self, line):
        raise ConfigurationError(f"unknown command {line!r}")


def test_transport_over_a_runner_survives_unplug_by_reopening():
    with DeviceRunner(_UsbDriverEchoModel()) as runner:
        backend = pinpad_usb_backend(runner)
        t = UsbTransport("usb:1209:0001:ECHO-7", backend=backend)
        t.write(b"abc")
        assert t.read(10, 2.0) == b"cba"
        runner.command("unplug")
        with pytest.raises(TransportError, match="unplugged"):
            t.read(10, 1.0)
        t.close()
        runner.command("replug")
        with UsbTransport("usb:1209:0001:ECHO-7", backend=backend) as t2:
            t2.write(b"xyz")
            assert t2.read(10, 2.0) == b"zyx"


def test_a_reader_thread_and_a_writer_share_the_transport(pads):
    backend, ends = pads
    with UsbTransport("usb:1209:0001:TPP-A", backend=backend) as t:
        got = bytearray()

        def reader():
            while len(got) < 3 * 100:
                chunk = t.read(64, 2.0)
                if not chunk:
                    return
                got.extend(chunk)

        thread = threading.Thread(target=reader)
        thread.start()
        for i in range(100):
            t.write(b"%03d" % i)  # a write goes through while the reader waits
            ends["TPP-A"].write(ends["TPP-A"].read(3, 1.0))  # the device echoes it
        thread.join(5)
        assert not thread.is_alive()
        assert bytes(got) == b"".join(b"%03d" % i for i in range(100))
