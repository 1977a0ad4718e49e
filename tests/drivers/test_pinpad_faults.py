"""TactilePinPad against pads that misbehave: silent, noisy, breaking the protocol's secrecy
rule, or a link that fails in an unexpected way.  Nothing may hang and every failure must reach
the caller as a typed error (the reader thread never dies silently).

The misbehaving pads are injected Transports built on the protocol's DEVICE role, so no test
hook is needed in the driver.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import pytest

from drivers.pinpad import EntryReady, TactilePinPad
from drivers.transport import Transport
from protocol.errors import (
    DeviceTimeoutError,
    LocalProtocolError,
    RemoteProtocolError,
    TransportError,
)
from protocol.tpp import NEED_DATA, Role, TppConnection, build_frame, encode_message
from protocol.tpp import messages as m
from protocol.tpp.codes import EntryEnd, MessageType, State


class FakePad(Transport):
    """A pad in the test's hands: requests go to ``answer(request) -> [messages]``; what it
    returns is sent back (responses through the DEVICE connection; raw frames as bytes)."""

    description = "fake pad (test)"

    def __init__(self, answer: Callable[[m.Request], list]) -> None:
        self.device = TppConnection(Role.DEVICE)
        self.answer = answer
        self._buf = bytearray()
        self._cond = threading.Condition()
        self._closed = False

    def push(self, data: bytes) -> None:
        with self._cond:
            self._buf += data
            self._cond.notify_all()

    def write(self, data: bytes) -> None:
        if self._closed:
            raise TransportError("fake pad closed")
        self.device.receive_data(data)
        out = bytearray(self.device.data_to_send())
        while (item := self.device.next_event()) is not NEED_DATA:
            if isinstance(item, m.Request):
                for reply in self.answer(item):
                    out += reply if isinstance(reply, bytes) else self.device.send(reply)
        out += self.device.data_to_send()
        self.push(bytes(out))

    def read(self, max_bytes: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._buf:
                if self._closed:
                    raise TransportError("fake pad closed")
                left = deadline - time.monotonic()
                if left <= 0:
                    return b""
                self._cond.wait(left)
            out = bytes(self._buf[:max_bytes])
            del self._buf[:max_bytes]
            return out

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def polite(request: m.Request) -> list:
    if isinstance(request, m.Hello):
        return [m.HelloReply(version=request.max_version, max_payload=1024, boot_count=1,
                             mode=State.IDLE)]
    return [m.Done(request.TYPE)]


def test_a_silent_pad_times_out_at_open_with_a_checklist():
    pad = FakePad(lambda request: [])
    started = time.monotonic()
    with pytest.raises(DeviceTimeoutError) as exc:
        TactilePinPad.open(pad, timeout=0.5)
    assert time.monotonic() - started < 5.0
    assert "Hello" in str(exc.value) and "Check" in str(exc.value)


def test_noise_only_is_a_timeout_not_a_hang():
    pad = FakePad(lambda request: [bytes(range(256)) * 4])
    with pytest.raises(DeviceTimeoutError):
        TactilePinPad.open(pad, timeout=0.5)


def test_a_pad_that_names_a_digit_during_pin_entry_is_refused_and_the_entry_cancelled():
    seen: list[type] = []

    def leaky(request: m.Request) -> list:
        seen.append(type(request))
        if isinstance(request, m.PinEntry):
            done = [m.Done(MessageType.PIN_ENTRY), m.EntryReady(phase=1, seconds_left=30)]
            type_byte, payload = encode_message(m.KeyPressed(key="five", digits=1))
            return done + [build_frame(200, 0, type_byte, payload)]   # forged past the rules
        if isinstance(request, m.CancelEntry):
            return [m.Done(MessageType.CANCEL_ENTRY),
                    m.PinEntryCompleted(how=EntryEnd.HOST_CANCEL, digits=0)]
        return polite(request)

    fake = FakePad(leaky)
    with TactilePinPad.open(fake, timeout=1.0) as pad:
        with pytest.raises(RemoteProtocolError) as exc:
            with pad.pin_entry(pan="4111111111111111", timeout=30) as entry:
                for event in entry:
                    assert isinstance(event, EntryReady)
        assert "five" not in str(exc.value)          # the error does not repeat the leak
        assert m.CancelEntry in seen                  # leaving by the error cancelled the entry
        assert entry.completion == "cancel" and pad.state is State.IDLE


class BrokenTransport(FakePad):
    """A transport with a bug: its read raises something no one planned for."""

    def __init__(self) -> None:
        super().__init__(polite)
        self.broken = False

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if self.broken:
            raise ValueError("bug in a third-party transport")
        return super().read(max_bytes, timeout)


def test_an_unexpected_error_in_the_reader_reaches_the_caller_typed():
    fake = BrokenTransport()
    with TactilePinPad.open(fake, timeout=1.0) as pad:
        fake.broken = True
        deadline = time.monotonic() + 5.0
        while pad.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not pad.connected
        with pytest.raises(LocalProtocolError) as exc:
            pad.status()
        assert "reader thread" in str(exc.value)
        assert isinstance(exc.value.__cause__, ValueError)
        with pytest.raises(LocalProtocolError):
            pad.next_event(0.1)
