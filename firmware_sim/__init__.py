"""Byte-level device simulators and the machinery that runs them.

Device models live in subpackages (``firmware_sim.fingerprint``, ``firmware_sim.pinpad``) and
are loaded by kind name through :mod:`firmware_sim.registry`; a
:class:`~firmware_sim.runner.DeviceRunner` runs one in a thread and attaches hosts (loopback,
``sim://`` URL, TCP, pty).  This module imports only that light machinery, never a model: the
``sim://`` URL handler is imported through it and must not fail on a model's dependencies.

Run one in this process and reach it as a pyserial URL::

    from firmware_sim import simulate

    with simulate("fingerprint", model="r503") as sim:      # a running DeviceRunner
        sim.command("place 3 90")                          # a virtual finger on the sensor
        ...  # FingerprintReader.open(f"sim://fingerprint?name={sim.name}")
"""

from contextlib import contextmanager
from typing import Iterator

from firmware_sim.base import SimulatedDevice
from firmware_sim.registry import (
    create_device,
    kinds,
    lookup_runner,
    register_kind,
    register_runner,
    unregister_runner,
)
from firmware_sim.runner import FAULTS, DeviceRunner, open_runners

__all__ = [
    "SimulatedDevice",
    "DeviceRunner",
    "FAULTS",
    "open_runners",
    "kinds",
    "register_kind",
    "create_device",
    "register_runner",
    "unregister_runner",
    "lookup_runner",
    "simulate",
]


@contextmanager
def simulate(kind: str, *, name: str | None = None, **options: object) -> Iterator[DeviceRunner]:
    """Create a ``kind`` model from ``options`` (as in a ``sim://`` URL query: the model's own,
    plus ``wire_time``, ``seed`` and ``baud_check``), run it, and make it reachable as
    ``sim://KIND?name=NAME`` (``NAME`` is ``runner.name``) until the block ends."""
    from firmware_sim.attach import create_runner

    runner = create_runner(kind, {k: str(v) for k, v in options.items()}, name=name)
    with runner:
        register_runner(runner.name, runner)
        yield runner
