"""A tiny device model for testing the simulator machinery (runner, attach points, CLI, plugin).

Registered by the tests as kind "echo" (``registry.register_kind("echo", "sim_echo")``); it is
not part of the package.  It echoes every byte it receives, says a banner at power-on, keeps
timers, and answers a few control commands.
"""

from __future__ import annotations

import json
from typing import Any

from firmware_sim.base import SimulatedDevice
from protocol.errors import ConfigurationError

CLI_OPTIONS = [
    {"flag": "--banner", "dest": "banner", "choices": None, "default": None,
     "help": "hex bytes the echo device sends at power-on"},
    {"flag": "--flavour", "dest": "flavour", "choices": ["plain", "upper"], "default": "plain",
     "help": "echo bytes as they are, or ASCII letters in upper case"},
]
_OPTIONS = ("banner", "flavour", "baudrate", "state", "trace", "seed")


class EchoDevice(SimulatedDevice):
    kind = "echo"

    def __init__(self, *, banner: bytes = b"", flavour: str = "plain", baudrate: int = 57600,
                 state: str | None = None, trace: bool = False) -> None:
        super().__init__()
        self.banner = banner
        self.flavour = flavour
        self.baudrate = baudrate
        self.state = state
        self.trace = trace
        self.power_ons = 0
        self.received = bytearray()
        self.closed = 0
        self._timers: list[tuple[float, bytes]] = []
        self._crash_next = False

    def power_on(self) -> None:
        self.power_ons += 1
        self._timers.clear()
        self.event("power-on", count=self.power_ons)
        self.send(self.banner)

    def receive(self, data: bytes) -> None:
        if self._crash_next:
            self._crash_next = False
            raise RuntimeError("crash requested by the test")
        self.received += data
        if self.trace:
            self.event("trace", dir="host->device", hex=data.hex())
        out = data.upper() if self.flavour == "upper" else data
        self.send(out)

    def tick(self, now: float) -> float | None:
        due = [t for t in self._timers if t[0] <= now]
        self._timers = [t for t in self._timers if t[0] > now]
        for _, payload in due:
            self.event("timer", hex=payload.hex())
            self.send(payload)
        return min((t[0] for t in self._timers), default=None)

    def command(self, line: str) -> dict[str, Any]:
        words = line.split()
        head, args = words[0], words[1:]
        if head == "say":
            self.event("say", text=" ".join(args), lang="en")
            return {"ok": True}
        if head == "emit" and len(args) == 1:
            self.send(bytes.fromhex(args[0]))
            return {"ok": True}
        if head == "after" and len(args) == 2:
            self._timers.append((self.now() + float(args[0]), bytes.fromhex(args[1])))
            return {"ok": True}
        if head == "crash-next":
            self._crash_next = True
            return {"ok": True}
        if head == "boom":
            raise RuntimeError("boom")
        if head == "stats":
            return {"ok": True, "received": len(self.received), "power_ons": self.power_ons}
        raise ConfigurationError(f"unknown echo command {line!r}: use say, emit, after, stats")

    def close(self) -> None:
        self.closed += 1
        if self.state:
            with open(self.state, "w", encoding="utf-8") as fh:
                json.dump({"power_ons": self.power_ons, "received": len(self.received)}, fh)


def create(**options: str) -> EchoDevice:
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ConfigurationError(f"unknown echo option(s) {', '.join(unknown)}; valid: "
                                 f"{', '.join(_OPTIONS)}")
    flavour = options.get("flavour", "plain")
    if flavour not in ("plain", "upper"):
        raise ConfigurationError(f"flavour must be plain or upper, not {flavour!r}")
    return EchoDevice(banner=bytes.fromhex(options.get("banner") or ""), flavour=flavour,
                      baudrate=int(options.get("baudrate", "57600")), state=options.get("state"),
                      trace=options.get("trace", "0") == "1")
