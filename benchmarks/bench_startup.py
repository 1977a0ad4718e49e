"""Start-up time of the command-line tool: ``tactile --help`` (target under 300 ms).

    python benchmarks/bench_startup.py [--runs 20] [--top 12]

Runs ``tactile --help`` as a new process ``--runs`` times (the console script of the venv this
Python belongs to) and prints the minimum and median wall time, next to a bare ``python -c
pass`` (the interpreter's own floor), then the modules with the largest cumulative import
time (``-X importtime``) - where to make imports lazy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _wall(cmd: list[str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def _imports(cmd: list[str], top: int) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest imports of ``cmd`` (a Python script)."""
    err = subprocess.run([sys.executable, "-X", "importtime", *cmd], capture_output=True,
                         text=True).stderr
    rows = []
    for line in err.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        rows.append((int(parts[1]), parts[2].rstrip()))
    rows.sort(reverse=True)
    return rows[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    script = Path(sys.executable).with_name("tactile")
    if not script.exists():
        print(f"no console script at {script}: pip install -e . first", file=sys.stderr)
        return 2
    print(f"load average {os.getloadavg()[0]:.1f}, {args.runs} runs each")
    floor = _wall([sys.executable, "-c", "pass"], args.runs)
    help_ = _wall([str(script), "--help"], args.runs)
    print(f"python -c pass   min {floor[0] * 1e3:6.0f} ms   median {floor[1] * 1e3:6.0f} ms")
    print(f"tactile --help   min {help_[0] * 1e3:6.0f} ms   median {help_[1] * 1e3:6.0f} ms"
          f"   (target < 300 ms: {'met' if help_[1] < 0.3 else 'NOT met'})")
    print(f"\nlargest cumulative imports of `tactile --help` (-X importtime, one run):")
    for micros, name in _imports([str(script), "--help"], args.top):
        print(f"  {micros / 1e3:7.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
