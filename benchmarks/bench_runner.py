"""Simulator runner figures: wire-time accuracy and round-trip latency per attach point.

1. Wire time: the device sends an EF01 image upload's worth of bytes (a 256x288 image at 4 bits
   per pixel in 288 data packets of 128 + 11 bytes = 40,032) with the wire-time model at 57600
   baud; the host reads them all.  Expected 10 bits x 40,032 / 57,600 = 6.950 s; target within 2 %.
2. Latency: 12-byte request, 12-byte echo, unthrottled, 1000 times: median and 99th percentile
   of the round trip through loopback, sim://, pty and TCP (what the runner adds to a driver).

Run: python benchmarks/bench_runner.py [--quick]
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import drivers.transport  # noqa: F401 - registers the sim:// URL scheme
from drivers.transport import SerialTransport, Transport
from firmware_sim import registry
from firmware_sim.base import SimulatedDevice
from firmware_sim.runner import DeviceRunner

IMAGE_BYTES = 40_032
BAUD = 57_600


class _Blaster(SimulatedDevice):
    """Echoes what it receives; ``blast N`` sends N bytes at once."""

    kind = "blaster"
    baudrate = BAUD

    def receive(self, data: bytes) -> None:
        self.send(data)

    def command(self, line: str) -> dict[str, Any]:
        words = line.split()
        if words[0] == "blast":
            self.send(bytes(i & 0xFF for i in range(int(words[1]))))
            return {"ok": True}
        return {"ok": False, "error": "blast N"}


@contextmanager
def _attached(point: str, runner: DeviceRunner) -> Iterator[Transport]:
    if point == "loopback":
        link: Transport = runner.loopback()
    elif point == "sim://":
        registry.register_runner(runner.name, runner)
        link = SerialTransport(f"sim://blaster?name={runner.name}")
    elif point == "pty":
        link = SerialTransport(runner.serve_pty())
    else:
        connected = threading.Event()
        runner.subscribe(lambda e: e["event"] == "connected" and connected.set())
        runner.serve_tcp("127.0.0.1", 0)
        link = SerialTransport(runner.port)
        connected.wait(5)  # bytes the device sends before the accept reach nobody
    try:
        yield link
    finally:
        link.close()


def _read(link: Transport, count: int, timeout: float) -> int:
    got = 0
    deadline = time.monotonic() + timeout
    while got < count and time.monotonic() < deadline:
        got += len(link.read(count - got, 0.5))
    return got


def wire_time(point: str) -> float:
    with DeviceRunner(_Blaster(), wire_baud=BAUD) as runner, _attached(point, runner) as link:
        start = time.monotonic()
        runner.command(f"blast {IMAGE_BYTES}")
        got = _read(link, IMAGE_BYTES, 30)
        elapsed = time.monotonic() - start
        assert got == IMAGE_BYTES, f"{point}: {got} of {IMAGE_BYTES} bytes"
        return elapsed


def latency(point: str, rounds: int) -> tuple[float, float]:
    request = bytes(range(12))
    samples = []
    with DeviceRunner(_Blaster()) as runner, _attached(point, runner) as link:
        for _ in range(rounds):
            start = time.perf_counter()
            link.write(request)
            assert _read(link, 12, 5) == 12
            samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    registry.register_kind("blaster", __name__)
    points = ["loopback", "sim://", "pty", "tcp"]
    expected = 10 * IMAGE_BYTES / BAUD
    print(f"wire time of {IMAGE_BYTES} bytes at {BAUD} baud (expected {expected:.3f} s)")
    for point in points[:2] if quick else points:
        elapsed = wire_time(point)
        print(f"  {point:9s} {elapsed:7.3f} s   {100 * (elapsed - expected) / expected:+6.2f} %")
    rounds = 200 if quick else 1000
    print(f"round trip of 12 bytes, unthrottled, {rounds} rounds")
    for point in points:
        median, p99 = latency(point, rounds)
        print(f"  {point:9s} median {median * 1e3:6.3f} ms   p99 {p99 * 1e3:6.3f} ms")
    return 0


def create(**options: str) -> _Blaster:  # the "blaster" kind for sim:// URLs
    return _Blaster()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
