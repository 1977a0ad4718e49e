"""A counter process killed with SIGKILL at random points loses no record whose call had
returned, and the trail verifies afterwards (on both stores)."""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from drivers.confirmation import AuditConfig, verify_trail

CHILD = Path(__file__).with_name("_sigkill_child.py")
ROOT = Path(__file__).resolve().parents[2]


def _run_and_kill(backend, config_path: Path, customer: str, rng: random.Random) -> list[str]:
    schema = getattr(backend, "schema", "")
    child = subprocess.Popen([sys.executable, str(CHILD), backend.target, schema,
                              str(config_path), customer],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    ids: list[str] = []
    buffer = b""
    try:
        selector = selectors.DefaultSelector()
        selector.register(child.stdout, selectors.EVENT_READ)
        kill_after = rng.randint(2, 8)         # records returned before the kill ...
        extra = rng.uniform(0.0, 0.15)          # ... plus a random slice of the next one
        deadline = time.monotonic() + 30
        while len(ids) < kill_after:
            assert time.monotonic() < deadline, f"the child printed only {ids} in 30 s"
            if child.poll() is not None:
                raise AssertionError("child died: " + child.stderr.read().decode(errors="replace"))
            for _key, _ in selector.select(0.5):
                chunk = os.read(child.stdout.fileno(), 65536)
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                ids.extend(line.decode() for line in lines if line)
        time.sleep(extra)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        rest = child.stdout.read()
        ids.extend(line.decode() for line in (buffer + rest).split(b"\n") if line)
        selector.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return ids


def test_sigkill_loses_no_returned_record(backend, tmp_path):
    config = AuditConfig.generate("BR0107-C09")
    config_path = config.save(tmp_path / "audit.json")
    rng = random.Random()
    printed: list[str] = []
    for round_ in range(2):     # a restart appends to the chain the killed process left
        printed += _run_and_kill(backend, config_path, f"C-{round_}", rng)
        with backend.open(readonly=True) as store:
            report = verify_trail(store)
            assert report.ok, (report.problems, printed)
            stored = {r.id for r in store.records()}
        missing = [i for i in printed if i not in stored]
        assert not missing, f"returned but lost: {missing}"
    assert len(printed) >= 6
