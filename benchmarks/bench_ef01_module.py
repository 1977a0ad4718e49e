"""The simulated EF01 module's own cost per operation (no runner, no transport, no driver).

The denominator for the driver benchmarks' "ratio to the simulator's own cost": bytes go
straight into ``FingerprintModule.receive`` and the reply is collected from its emit callback.

1. small commands: ReadSysPara and TempleteNum, 1000 each;
2. UpImage of a 256x288 image (288 data packets) and UpChar of a template;
3. a capture (GenImg, the renderer) and a feature extraction (Img2Tz);
4. Search over a full 1000-slot library (the matcher).

Run: python benchmarks/bench_ef01_module.py
"""

from __future__ import annotations

import statistics
import time

from firmware_sim.fingerprint import create
from protocol.ef01 import Instruction, build_command

ADDR = 0xFFFFFFFF


class _Bench:
    def __init__(self) -> None:
        self.dev = create(model="r307", seed="1")
        self.t = 0.0
        self.out = bytearray()
        self.dev.bind(self.out.extend, lambda event: None, lambda: self.t)
        self.dev.power_on()
        self.t = 1.0
        self.dev.tick(self.t)

    def call(self, ins: Instruction, **params: int) -> bytes:
        self.out.clear()
        self.dev.receive(build_command(ADDR, ins, params))
        return bytes(self.out)


def _time(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    b = _Bench()
    b.dev.command("place 7 95")
    b.call(Instruction.GEN_IMG)
    b.call(Instruction.IMG2TZ, buffer=1)
    rows = [
        ("ReadSysPara (12 -> 28 bytes)", _time(lambda: b.call(Instruction.READ_SYS_PARA), 1000)),
        ("TempleteNum (12 -> 14 bytes)", _time(lambda: b.call(Instruction.TEMPLATE_NUM), 1000)),
        ("UpChar, 512-byte template (4 packets)", _time(lambda: b.call(Instruction.UP_CHAR, buffer=1), 200)),
        ("UpImage, 256x288 (288 packets, 40,032 bytes)", _time(lambda: b.call(Instruction.UP_IMAGE), 20)),
        ("GenImg with a finger (render a capture)", _time(lambda: b.call(Instruction.GEN_IMG), 20)),
        ("Img2Tz (minutiae extraction)", _time(lambda: b.call(Instruction.IMG2TZ, buffer=1), 20)),
    ]
    template = b.dev.buffers[0]
    b.dev.flash.library = [template] * 1000  # a full library (in RAM: no state file)
    rows.append(("Search over 1000 stored templates",
                 _time(lambda: b.call(Instruction.SEARCH, buffer=1, start=0, count=1000), 10)))
    print("| operation (model only) | median |")
    print("|---|---|")
    for name, seconds in rows:
        text = f"{seconds * 1e6:.0f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"
        print(f"| {name} | {text} |")


if __name__ == "__main__":
    main()
