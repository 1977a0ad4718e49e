"""Test helper: a simulated PIN pad driven byte for byte by a HOST-role TPP connection.

No threads, no runner: the model is bound to in-memory callbacks and a fake clock, and every
request crosses the wire as TPP frames (encoded, acknowledged, decoded) in both directions.
"""

from __future__ import annotations

import json
from typing import Any

from firmware_sim.pinpad import PinPadDevice
from protocol.tpp import NEED_DATA, Hello, Role, TppConnection
from protocol.tpp import messages as m


class PadHarness:
    def __init__(self, *, layout: str = "telephone", state: str | None = None,
                 trace: bool = True, seed: int = 7, rate_limit: int = 120,
                 wall: list[float] | None = None, hello: bool = True) -> None:
        self.t = 100.0
        self.wall = wall if wall is not None else [1_700_000_000.0]
        self.device = PinPadDevice(layout=layout, state=state, seed=seed, trace=trace,
                                   rate_limit=rate_limit, wall_clock=lambda: self.wall[0])
        self.events: list[dict[str, Any]] = []     # the simulator's stdout events
        self.wire: list[bytes] = []                # every chunk of bytes, both directions
        self.received: list[Any] = []              # every message/event the host got
        self.replies: list[dict[str, Any]] = []    # control command replies
        self._out = bytearray()
        self.device.bind(self._device_bytes, self.events.append, lambda: self.t)
        self.host = TppConnection(Role.HOST)
        self.power_on()
        if hello:
            self.request(Hello(session=1, host="tests"))

    # -- plumbing -----------------------------------------------------------------------
    def _device_bytes(self, data: bytes) -> None:
        self.wire.append(bytes(data))
        self._out += data

    def power_on(self) -> None:
        self.host = TppConnection(Role.HOST)
        self.device.power_on()
        self.pump()

    def pump(self) -> None:
        for _ in range(10_000):
            moved = False
            if self._out:
                data = bytes(self._out)
                self._out.clear()
                self.host.receive_data(data)
                moved = True
            back = self.host.data_to_send()
            if back:
                self.wire.append(back)
                self.device.receive(back)
                moved = True
            while True:
                item = self.host.next_event()
                if item is NEED_DATA:
                    break
                self.received.append(item)
            if not moved:
                return
        raise AssertionError("the link never went quiet")

    def request(self, req: m.Request) -> Any:
        """Send one request; return its response (Done / Refused / a reply body)."""
        start = len(self.received)
        data = self.host.send(req)
        self.wire.append(data)
        self.device.receive(data)
        self.pump()
        for item in self.received[start:]:
            if isinstance(item, m.Response):
                return item
        raise AssertionError(f"no response to {req!r}; got {self.received[start:]}")

    def ok(self, req: m.Request) -> Any:
        res = self.request(req)
        assert not isinstance(res, m.Refused), f"{req!r} refused: {res!r}"
        return res

    def command(self, line: str) -> dict[str, Any]:
        reply = self.device.command(line)
        self.replies.append(reply)
        self._tick()
        self.pump()
        return reply

    def press(self, *keys: str) -> None:
        for k in keys:
            self.command(f"press {k}")

    def _tick(self) -> float | None:
        due = self.device.tick(self.t)
        self.pump()
        return due

    def advance(self, seconds: float) -> None:
        """Move the fake clock, running every timer that falls due on the way."""
        target = self.t + seconds
        stuck = 0
        while True:
            due = self.device.tick(self.t)
            self.pump()
            if due is None or due > target:
                break
            stuck = stuck + 1 if due <= self.t else 0
            if stuck > 100:  # a timer that is due but never cleared: a bug in the model
                raise AssertionError(f"the pad keeps asking to be ticked at {due} (now {self.t})")
            self.t = max(self.t, due)
        self.t = target
        self._tick()

    # -- views ----------------------------------------------------------------------------
    def since(self, index: int) -> list[Any]:
        return self.received[index:]

    def of(self, cls: type, start: int = 0) -> list[Any]:
        return [x for x in self.received[start:] if isinstance(x, cls)]

    def stdout(self, name: str, start: int = 0) -> list[dict[str, Any]]:
        return [e for e in self.events[start:] if e.get("event") == name]

    def said(self, start: int = 0) -> list[str]:
        return [e["text"] for e in self.stdout("say", start)]

    def stdout_lines(self) -> list[str]:
        """The events as the simulator prints them (one JSON object per line)."""
        return [json.dumps(e, ensure_ascii=False) for e in self.events]
