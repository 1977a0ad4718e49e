"""Test helpers for the fingerprint driver tests: attach points and a scripted customer."""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from typing import Iterator

from drivers.fingerprint import FingerprintReader, LiftFinger, PlaceFinger, ReaderEvent
from firmware_sim import registry
from firmware_sim.attach import create_runner
from firmware_sim.runner import DeviceRunner

#: every way a host reaches a simulated module
ATTACH_POINTS = ["loopback", "sim-url", "pty", "tcp"]

_names = itertools.count(1)


class Customer:
    """Plays the customer at the counter: puts ``finger`` on the sensor when asked, lifts it when
    asked, and records every event the reader emitted."""

    def __init__(self, runner: DeviceRunner, finger: int = 1, quality: int = 95) -> None:
        self.runner = runner
        self.finger = finger
        self.quality = quality
        self.events: list[ReaderEvent] = []

    def __call__(self, event: ReaderEvent) -> None:
        self.events.append(event)
        if isinstance(event, PlaceFinger):
            reply = self.runner.command(f"place {self.finger} {self.quality}")
            assert reply["ok"], reply
        elif isinstance(event, LiftFinger):
            reply = self.runner.command("lift")
            assert reply["ok"], reply

    def statuses(self) -> list[str]:
        return [event.status for event in self.events]


def new_runner(model: str = "r503", **options: str) -> DeviceRunner:
    """A started runner with a simulated module (seeded, no state file)."""
    opts = {"model": model, "seed": "7", **options}
    runner = create_runner("fingerprint", opts, name=f"fp-test-{next(_names)}")
    runner.start()
    return runner


@contextmanager
def open_reader(kind: str, runner: DeviceRunner, tmp_path, **options) -> Iterator[FingerprintReader]:
    """Open a FingerprintReader on ``runner`` through the attach point ``kind``."""
    if kind == "loopback":
        reader = FingerprintReader.open(runner.loopback(), close_transport=True, **options)
    elif kind == "sim-url":
        name = runner.name
        registry.register_runner(name, runner)
        reader = FingerprintReader.open(f"sim://fingerprint?name={name}", **options)
    elif kind == "pty":
        reader = FingerprintReader.open(runner.serve_pty(str(tmp_path / "fp-link")), **options)
    elif kind == "tcp":
        runner.serve_tcp("127.0.0.1", 0)
        reader = FingerprintReader.open(runner.port, **options)
    else:  # pragma: no cover
        raise AssertionError(kind)
    try:
        yield reader
    finally:
        reader.close()


class AutoCustomer:
    """A customer who needs no prompts (for tests of programs whose events we cannot see, such
    as the CLI): the finger rests on the sensor until a scan of it was processed (the module
    sees Img2Tz), is lifted then, and comes back when the reader polls again (GenImg).

    Needs a runner started with ``trace="1"``.  Use as a context manager.
    """

    def __init__(self, runner: DeviceRunner, finger: int = 1, quality: int = 95) -> None:
        self.runner = runner
        self.finger = finger
        self.quality = quality
        self.lifted = False
        self._unsubscribe = None

    def __enter__(self) -> "AutoCustomer":
        assert self.runner.command(f"place {self.finger} {self.quality}")["ok"]
        self._unsubscribe = self.runner.subscribe(self._on_event)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.runner.command("lift")

    def _on_event(self, event: dict) -> None:
        if event.get("event") != "trace" or event.get("dir") != "host->device":
            return
        instruction = event.get("instruction")
        if instruction == "IMG2TZ" and not self.lifted:
            self.lifted = True
            self.runner.command("lift")
        elif instruction == "GEN_IMG" and self.lifted:
            self.lifted = False
            self.runner.command(f"place {self.finger} {self.quality}")
