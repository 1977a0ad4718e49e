"""FingerprintReader benchmarks: host overhead of the driver, and an image upload on the wire.

Run ``python benchmarks/bench_fingerprint.py`` (``--quick`` for fewer rounds, ``--no-wire`` to
skip the 7-second wire-time run).  Figures, not pass/fail; results go to benchmarks/RESULTS.md.

1. Host overhead.  The same driver call is timed three ways:
   * driver alone: the reader on a replay transport that answers each command instantly with
     the reply the simulator gave for it (no I/O, no model): the driver's own CPU cost;
   * simulator alone: the module model's own processing of the same command (its
     ``receive()`` called directly, output discarded): the "simulator's own cost";
   * end to end: the reader over a pty to an unthrottled simulator runner.
   For 1000 small commands (TempleteNum) and for an image upload (UpImage, R307 256x288 =
   36,864 bytes in 288 packets of 128).
2. Wire time.  The runner models 10 bits per byte at 57600 baud: an R307 image upload over a
   pty must finish within 2 % of the 6.95 s wire time (288 x 139 bytes = 40,032 bytes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from drivers.fingerprint import FingerprintReader  # noqa: E402
from drivers.transport import Transport  # noqa: E402
from firmware_sim import registry  # noqa: E402
from firmware_sim.runner import DeviceRunner  # noqa: E402
from protocol.ef01 import Command, Connection, Instruction, Role  # noqa: E402

WIRE_TIME = 288 * 139 * 10 / 57600      # 6.950 s


class ReplayTransport(Transport):
    """Answers each command with a recorded reply at once: measures the driver alone."""

    description = "replay"

    def __init__(self, replies: dict[bytes, bytes]) -> None:
        self.replies = replies
        self.pending = bytearray()

    def write(self, data: bytes) -> None:
        self.pending += self.replies.get(bytes(data), b"")

    def read(self, max_bytes: int, timeout: float) -> bytes:
        out = bytes(self.pending[:max_bytes])
        del self.pending[:max_bytes]
        return out

    def reset_input(self) -> None:
        self.pending.clear()

    def close(self) -> None:
        pass


class _Sink:
    """Collects what a model sends (bound in place of a runner)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def __call__(self, data: bytes) -> None:
        self.data += data


def _ready_model(model: str):
    """A powered, booted module model with a finger image in its buffer, outside any runner."""
    device = registry.create_device("fingerprint", model=model, seed="1")
    sink = _Sink()
    clock = [0.0]
    device.bind(sink, lambda event: None, lambda: clock[0])
    device.power_on()
    clock[0] = 10.0
    device.tick(clock[0])
    device.command("place 1 95")
    host = Connection(Role.HOST)
    device.receive(host.send(Command(Instruction.GEN_IMG)))
    sink.data.clear()
    return device, sink


def _command_bytes(instruction: Instruction) -> bytes:
    return Connection(Role.HOST).send(Command(instruction))


def model_cost(instruction: Instruction, rounds: int, model: str) -> tuple[float, bytes]:
    """Seconds per command the model itself spends, and the reply bytes it produced."""
    device, sink = _ready_model(model)
    frame = _command_bytes(instruction)
    device.receive(frame)
    reply = bytes(sink.data)
    start = time.perf_counter()
    for _ in range(rounds):
        device.receive(frame)
    elapsed = (time.perf_counter() - start) / rounds
    return elapsed, reply


def _replay_reader(model: str, extra: dict[bytes, bytes]) -> FingerprintReader:
    device, sink = _ready_model(model)
    replies = dict(extra)
    for instruction in (Instruction.READ_SYS_PARA, Instruction.READ_PROD_INFO):
        frame = _command_bytes(instruction)
        sink.data.clear()
        device.receive(frame)
        replies[frame] = bytes(sink.data)
    return FingerprintReader(ReplayTransport(replies), timeout=1.0)


def bench_small(rounds: int, pty_dir: str) -> dict[str, float]:
    sim, reply = model_cost(Instruction.TEMPLATE_NUM, rounds, "r307")
    reader = _replay_reader("r307", {_command_bytes(Instruction.TEMPLATE_NUM): reply})
    reader.connect()
    reader.template_count()                      # warm up
    start = time.perf_counter()
    for _ in range(rounds):
        reader.template_count()
    driver = (time.perf_counter() - start) / rounds

    device = registry.create_device("fingerprint", model="r307", seed="1")
    with DeviceRunner(device) as runner:
        path = runner.serve_pty(os.path.join(pty_dir, "bench-fp"))
        with FingerprintReader.open(path) as pty_reader:
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                pty_reader.template_count()
                times.append(time.perf_counter() - t0)
    return {"driver": driver, "sim": sim, "pty_median": statistics.median(times),
            "pty_p99": sorted(times)[int(len(times) * 0.99) - 1]}


def bench_image(rounds: int, pty_dir: str) -> dict[str, float]:
    sim, reply = model_cost(Instruction.UP_IMAGE, rounds, "r307")
    reader = _replay_reader("r307", {_command_bytes(Instruction.UP_IMAGE): reply})
    reader.connect()
    reader.image(capture=False)                  # warm up (imports numpy and Pillow)
    start = time.perf_counter()
    for _ in range(rounds):
        reader.image(capture=False)
    driver = (time.perf_counter() - start) / rounds

    device = registry.create_device("fingerprint", model="r307", seed="1")
    with DeviceRunner(device) as runner:
        path = runner.serve_pty(os.path.join(pty_dir, "bench-fp"))
        with FingerprintReader.open(path) as pty_reader:
            runner.command("place 1 95")
            pty_reader.image(capture=True)       # an image in the buffer
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                pty_reader.image(capture=False)
                times.append(time.perf_counter() - t0)
    return {"driver": driver, "sim": sim, "pty_median": statistics.median(times)}


def bench_wire(pty_dir: str) -> dict[str, float]:
    device = registry.create_device("fingerprint", model="r307", seed="1")
    with DeviceRunner(device, wire_baud=57600) as runner:
        path = runner.serve_pty(os.path.join(pty_dir, "bench-fp-wire"))
        with FingerprintReader.open(path) as reader:
            runner.command("place 1 95")
            reader.capture(timeout=10)
            packets = []
            t0 = time.perf_counter()
            image = reader.image(capture=False, progress=lambda done, total: packets.append(done))
            elapsed = time.perf_counter() - t0
    assert image.size == (256, 288) and len(packets) == 288
    return {"elapsed": elapsed, "deviation": (elapsed - WIRE_TIME) / WIRE_TIME}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--no-wire", action="store_true", help="skip the 7 s wire-time run")
    args = parser.parse_args(argv)
    small_rounds, image_rounds = (200, 5) if args.quick else (1000, 30)
    with tempfile.TemporaryDirectory() as tmp:
        small = bench_small(small_rounds, tmp)
        print(f"{small_rounds} small commands (TempleteNum), per command:")
        print(f"  driver alone (replay transport): {small['driver'] * 1e6:8.1f} us")
        print(f"  simulator's own cost (model):    {small['sim'] * 1e6:8.1f} us   "
              f"driver/simulator = {small['driver'] / small['sim']:.2f}")
        print(f"  end to end over a pty:           {small['pty_median'] * 1e6:8.1f} us median, "
              f"{small['pty_p99'] * 1e6:.1f} us p99")
        image = bench_image(image_rounds, tmp)
        print(f"image upload, R307 256x288 (36,864 bytes, 288 packets), {image_rounds} rounds:")
        print(f"  driver alone (replay transport): {image['driver'] * 1e3:8.2f} ms")
        print(f"  simulator's own cost (model):    {image['sim'] * 1e3:8.2f} ms   "
              f"driver/simulator = {image['driver'] / image['sim']:.2f}")
        print(f"  end to end over a pty:           {image['pty_median'] * 1e3:8.2f} ms median "
              f"({image['driver'] / WIRE_TIME * 100:.3f} % of the 6.95 s wire time is driver CPU)")
        if not args.no_wire:
            wire = bench_wire(tmp)
            print(f"image upload with the wire-time model at 57600 baud over a pty: "
                  f"{wire['elapsed']:.3f} s vs {WIRE_TIME:.3f} s wire time "
                  f"({wire['deviation'] * 100:+.2f} %, target within 2 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
