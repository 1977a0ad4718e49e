"""Suite-wide fixtures: every test must leave no thread, simulator or pty behind (as pymodbus).

``tests/helpers`` (test-only helper modules such as the echo device model) is put on sys.path.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from firmware_sim.runner import open_runners

# pytester runs downstream-style test sessions (tests/tools/test_pytest_plugin.py)
pytest_plugins = ["pytester"]

HELPERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers")
if HELPERS not in sys.path:
    sys.path.insert(0, HELPERS)

#: how long a test's threads get to finish joining after its teardown
_GRACE = 1.0


def _pty_fds() -> set[tuple[int, str]]:
    """Open file descriptors of this process that are a pty master or slave."""
    found = set()
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:  # not Linux: nothing to compare
        return found
    for name in names:
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # closed while listing (the listdir fd itself)
        if target == "/dev/ptmx" or target.startswith("/dev/pts/"):
            found.add((int(name), target))
    return found


def _leaks(threads_before: set[threading.Thread], runners_before: set[object],
           fds_before: set[tuple[int, str]]) -> list[str]:
    problems = []
    threads = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    if threads:
        problems.append("threads still running: " + ", ".join(
            f"{t.name} ({'daemon' if t.daemon else 'non-daemon'})" for t in threads))
    runners = [r for r in open_runners() if r not in runners_before]
    if runners:
        problems.append("simulators not stopped: " + ", ".join(map(repr, runners)))
    fds = _pty_fds() - fds_before
    if fds:
        problems.append("pty file descriptors still open: " + ", ".join(
            f"{fd} -> {target}" for fd, target in sorted(fds)))
    return problems


@pytest.fixture(autouse=True)
def _no_leaks():
    """Fail the test if it leaves threads, running simulators or pty fds behind."""
    threads_before = set(threading.enumerate())
    runners_before = set(open_runners())
    fds_before = _pty_fds()
    yield
    deadline = time.monotonic() + _GRACE
    problems = _leaks(threads_before, runners_before, fds_before)
    while problems and time.monotonic() < deadline:
        time.sleep(0.02)
        problems = _leaks(threads_before, runners_before, fds_before)
    if problems:
        # stop leaked simulators so the next tests start clean, then report
        for runner in open_runners():
            if runner not in runners_before:
                try:
                    runner.stop()
                except Exception:  # noqa: BLE001 - already failing; report the leak
                    pass
        pytest.fail("the test leaked resources: " + "; ".join(problems), pytrace=False)
