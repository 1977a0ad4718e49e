"""`tactile list --probe` figures (not a test): how long probing takes, per port and in all.

Ports (simulators on ptys, each probed by :func:`tools._probe.probe_ports` in parallel):
an EF01 module at 57600 (found at the first try), a module moved to 38400 baud with a real
UART check (the simulator checks standard termios rates only, so not 28800 and the other
9600 x N rates), a TPP pad at 115200, a TPP pad at 9600 (the last rate of the plan), and a
silent port (an open pty nobody answers on: the whole plan).

Usage: python benchmarks/bench_probe.py [--rounds 3]
Prints the figures; record them in benchmarks/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers import FingerprintReader  # noqa: E402
from firmware_sim.attach import create_runner  # noqa: E402
from tools._probe import probe_ports  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-probe-"))
    state = str(tmp / "fp.json")
    first = create_runner("fingerprint", {"model": "r503", "state": state}, name="b-setup")
    first.start()
    with FingerprintReader.open(first.loopback(), close_transport=True) as reader:
        reader.set_baudrate(38400)
    first.stop()
    runners = {
        "EF01 at 57600": create_runner("fingerprint", {"model": "r503", "baud_check": "1"},
                                       name="b-fp"),
        "EF01 at 38400": create_runner("fingerprint", {"model": "r503", "state": state,
                                                        "baud_check": "1"}, name="b-fp2"),
        "TPP at 115200": create_runner("pinpad", {"baud_check": "1"}, name="b-pad"),
        "TPP at 9600": create_runner("pinpad", {"baud": "9600", "baud_check": "1"},
                                     name="b-pad2"),
    }
    ports = {label: r.serve_pty(str(tmp / label.replace(" ", "-"))) for label, r in runners.items()}
    for runner in runners.values():
        runner.start()
    master, slave = os.openpty()
    ports["silent port"] = os.ttyname(slave)
    time.sleep(0.8)   # the modules boot
    try:
        per_port: dict[str, list[float]] = {label: [] for label in ports}
        totals = []
        for _ in range(args.rounds):
            start = time.monotonic()
            results = probe_ports(list(ports.values()))
            totals.append(time.monotonic() - start)
            for (label, _port), result in zip(ports.items(), results):
                per_port[label].append(result.seconds)
                found = f"{result.kind} at {result.baudrate}" if result.kind else "nothing"
                print(f"  {label:16} -> {found:22} {result.seconds:.3f} s")
        print(f"\nall {len(ports)} ports in parallel: median {statistics.median(totals):.3f} s, "
              f"max {max(totals):.3f} s ({args.rounds} rounds)")
        for label, times in per_port.items():
            print(f"  {label:16} median {statistics.median(times):.3f} s")
    finally:
        for runner in runners.values():
            runner.stop()
        os.close(master)
        os.close(slave)


if __name__ == "__main__":
    main()
