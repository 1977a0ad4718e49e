"""Test helpers for the PIN pad driver tests: every attach point, and PIN block checking.

(The pad-driver engineer's helper; the simulator's own tests use ``pinpad_harness``.)
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from typing import Any, Iterator

from drivers.pinpad import TactilePinPad
from firmware_sim import registry
from firmware_sim.attach import create_runner
from firmware_sim.runner import DeviceRunner
from firmware_sim.usb_backend import pinpad_usb_backend
from protocol import dukpt
from protocol.pinblock import PinBlockFormat, decipher_pin_block

#: every way a host reaches a simulated pad
ATTACH_POINTS = ["loopback", "sim-url", "pty", "tcp", "usb"]

AES_BDK = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")
TDES_BDK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
PAN = "4111111111111111"

_names = itertools.count(1)


def new_runner(layout: str = "telephone", clock: Any = None, *, start: bool = True,
               **options: str) -> DeviceRunner:
    """A runner with a simulated pad (seeded, no state file), started unless ``start`` False."""
    opts = {"layout": layout, "seed": "7", **options}
    name = f"pad-test-{next(_names)}"
    if clock is None:
        runner = create_runner("pinpad", opts, name=name)
    else:  # an injected clock: the pad's time limits pass when the test says so
        runner = DeviceRunner(registry.create_device("pinpad", **opts), clock=clock, name=name)
    if start:
        runner.start()
    return runner


class Rig:
    """An attach point: opens a pad on ``runner`` and knows how to reconnect it."""

    def __init__(self, kind: str, runner: DeviceRunner, tmp_path: Any) -> None:
        self.kind = kind
        self.runner = runner
        self.tmp_path = tmp_path
        self.backend = None
        if kind == "sim-url":
            registry.register_runner(runner.name, runner)
            self.target: Any = f"sim://pinpad?name={runner.name}"
        elif kind == "pty":
            self.target = runner.serve_pty(str(tmp_path / "pad-link"))
        elif kind == "tcp":
            runner.serve_tcp("127.0.0.1", 0)
            self.target = runner.port
        elif kind == "usb":
            self.backend = pinpad_usb_backend(runner)
            self.target = "usb:1209:0001"
        elif kind != "loopback":  # pragma: no cover
            raise AssertionError(kind)

    def open(self, **options: Any) -> TactilePinPad:
        if self.kind == "loopback":
            return TactilePinPad.open(self.runner.loopback(), **options)
        return TactilePinPad.open(self.target, backend=self.backend, **options)

    def reconnect(self, pad: TactilePinPad, timeout: float = 10.0) -> None:
        if self.kind == "loopback":
            pad.reconnect(timeout, transport=self.runner.loopback())
        else:
            pad.reconnect(timeout)


@contextmanager
def open_pad(kind: str, runner: DeviceRunner, tmp_path: Any, **options: Any
             ) -> Iterator[tuple[TactilePinPad, Rig]]:
    rig = Rig(kind, runner, tmp_path)
    pad = rig.open(**options)
    try:
        yield pad, rig
    finally:
        pad.close()


def decrypt(block: bytes, ksn: bytes, fmt: PinBlockFormat | str, pan: str | None = PAN) -> str:
    """The PIN inside a block, with the published TEST BDKs (tests only)."""
    fmt = PinBlockFormat.parse(fmt)
    if fmt is PinBlockFormat.ISO4:
        key = dukpt.aes_derive_pin_key(AES_BDK, ksn)
    else:
        key = dukpt.tdes_derive_pin_key(TDES_BDK, ksn)
    return decipher_pin_block(fmt, key, block, pan)


def press_script(pin: str, *tail: str) -> str:
    """``script press 1; press 2; ...`` for a PIN and extra keys (runs when entry starts)."""
    keys = [f"press {d}" for d in pin] + [f"press {k}" for k in tail]
    return "script " + "; ".join(keys)


def customer(entry: Any, runner: DeviceRunner, *stages: str) -> list:
    """Iterate ``entry`` to its end; at each EntryReady press the next stage's keys at once
    (``"1234 enter"``: digits, then key names after a space).  Returns every event."""
    from drivers.pinpad import EntryReady

    todo = list(stages)
    events = []
    for event in entry:
        events.append(event)
        if isinstance(event, EntryReady) and todo:
            for key in _split_keys(todo.pop(0)):
                reply = runner.command(f"press {key}")
                assert reply["ok"], reply
    return events


def _split_keys(stage: str) -> list[str]:
    keys: list[str] = []
    for word in stage.split():
        keys += list(word) if word.isdigit() else [word]
    return keys
