"""The pad model unchanged behind the runner: in-process loopback (plugin fixture), sim:// URL
and the pure-Python pyusb backend; a scripted customer; unplug/replug power-cycles the pad."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest
import usb.core
import usb.util

from firmware_sim.usb_backend import PINPAD_PID, PINPAD_VID, pinpad_usb_backend
from protocol import dukpt, pinblock
from protocol.pinblock import PinBlockFormat
from protocol.tpp import NEED_DATA, Role, TppConnection
from protocol.tpp import messages as m

TDES_BDK = "0123456789ABCDEFFEDCBA9876543210"
PAN = "4012345678909"


class HostLoop:
    """A minimal host I/O loop over any write/read pair (real time, short deadlines)."""

    def __init__(self, write: Callable[[bytes], None], read: Callable[[], bytes]) -> None:
        self.write, self.read = write, read
        self.conn = TppConnection(Role.HOST)
        self.received: list[Any] = []

    def until(self, done: Callable[[list[Any]], bool], timeout: float = 5.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.read()
            if data:
                self.conn.receive_data(data)
            out = self.conn.data_to_send()
            if out:
                self.write(out)
            while (item := self.conn.next_event()) is not NEED_DATA:
                self.received.append(item)
            if done(self.received):
                return self.received
            again = self.conn.retransmit_due(time.monotonic())
            if again:
                self.write(again)
        raise AssertionError(f"timed out; received {self.received[-5:]}")

    def call(self, req: m.Request) -> Any:
        start = len(self.received)
        self.write(self.conn.send(req))
        got = self.until(lambda r: any(isinstance(x, m.Response) for x in r[start:]))
        return next(x for x in got[start:] if isinstance(x, m.Response))

    def wait_for(self, cls: type, timeout: float = 5.0) -> Any:
        start = len(self.received)
        got = self.until(lambda r: any(isinstance(x, cls) for x in r[start:]), timeout)
        return next(x for x in got[start:] if isinstance(x, cls))


def _pin_entry_round(loop: HostLoop, pad: Any) -> None:
    assert isinstance(loop.call(m.Hello(session=3)), m.HelloReply)
    pad.script("press 1", "press 2", "press 3", "press 4", "press enter")
    assert isinstance(loop.call(m.PinEntry(lang="en")), m.Done)
    done = loop.wait_for(m.PinEntryCompleted)
    assert done.digits == 4
    reply = loop.call(m.GetPinBlock(format=PinBlockFormat.ISO0, customer_data=PAN))
    key = dukpt.tdes_derive_pin_key(TDES_BDK, reply.ksn)
    assert pinblock.decipher_pin_block("iso0", key, reply.block, PAN) == "1234"


def test_loopback_through_the_runner_with_a_scripted_customer(simulated_pinpad):
    link = simulated_pinpad.transport()
    loop = HostLoop(link.write, lambda: link.read(4096, 0.02))
    _pin_entry_round(loop, simulated_pinpad)
    modes = [e["mode"] for e in simulated_pinpad.events if e["event"] == "mode"]
    assert modes[-2:] == ["pin", "idle"]
    link.close()


@pytest.mark.simulated_pinpad(layout="pos")
def test_fixture_options_reach_the_model(simulated_pinpad):
    link = simulated_pinpad.transport()
    loop = HostLoop(link.write, lambda: link.read(4096, 0.02))
    loop.call(m.Hello(session=1))
    assert loop.call(m.GetLayout()).name == "pos"
    link.close()


def test_usb_backend_runs_the_same_model(simulator_factory):
    pad = simulator_factory("pinpad", serial="USB-PAD-7")
    backend = pinpad_usb_backend(pad.runner)
    dev = usb.core.find(idVendor=PINPAD_VID, idProduct=PINPAD_PID, backend=backend)
    assert dev is not None and dev.serial_number == "USB-PAD-7"
    dev.set_configuration()
    intf = dev.get_active_configuration()[(0, 0)]
    ep_out = usb.util.find_descriptor(intf, custom_match=lambda e: usb.util.endpoint_direction(
        e.bEndpointAddress) == usb.util.ENDPOINT_OUT)
    ep_in = usb.util.find_descriptor(intf, custom_match=lambda e: usb.util.endpoint_direction(
        e.bEndpointAddress) == usb.util.ENDPOINT_IN)

    def read() -> bytes:
        try:
            return bytes(ep_in.read(4096, timeout=20))
        except usb.core.USBTimeoutError:
            return b""

    loop = HostLoop(lambda data: ep_out.write(data), read)
    _pin_entry_round(loop, pad)
    info = loop.call(m.GetInfo())
    assert info.serial == "USB-PAD-7"
    usb.util.dispose_resources(dev)


def test_unplug_replug_power_cycles_and_wipes(simulated_pinpad):
    link = simulated_pinpad.transport()
    loop = HostLoop(link.write, lambda: link.read(4096, 0.02))
    loop.call(m.Hello(session=1))
    loop.call(m.PinEntry(lang="en"))
    simulated_pinpad.press("1")
    loop.wait_for(m.DigitEntered)
    link.close()
    simulated_pinpad.unplug()
    simulated_pinpad.replug()
    simulated_pinpad.wait_for(lambda e: e.get("event") == "power-on" and e["boot_count"] == 2)
    link = simulated_pinpad.transport()
    loop = HostLoop(link.write, lambda: link.read(4096, 0.02))
    reply = loop.call(m.Hello(session=2))
    assert reply.boot_count == 2
    status = loop.call(m.GetStatus())
    assert status.digits == 0 and not status.pin_held
    link.close()


def test_unplug_during_pin_entry_reports_mode_off_before_the_replug(simulated_pinpad):
    # the stdout contract: every mode change is a line; the power loss of an unplug is one
    # (mode "off"), even when the replug comes before the model's next timer is due
    link = simulated_pinpad.transport()
    loop = HostLoop(link.write, lambda: link.read(4096, 0.02))
    loop.call(m.Hello(session=1))
    loop.call(m.PinEntry(lang="en"))
    simulated_pinpad.press("1")
    loop.wait_for(m.DigitEntered)
    link.close()
    simulated_pinpad.unplug()
    simulated_pinpad.replug()
    simulated_pinpad.wait_for(lambda e: e.get("event") == "power-on" and e["boot_count"] == 2)
    modes = [e["mode"] for e in simulated_pinpad.events if e["event"] == "mode"]
    assert modes[-3:] == ["pin", "off", "idle"]
