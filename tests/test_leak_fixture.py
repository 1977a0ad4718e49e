"""The suite's autouse leak check (tests/conftest.py) can fail: run it on tests that leak."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = (Path(__file__).resolve().parent / "conftest.py").read_text(encoding="utf-8")

LEAKY = '''
import os
import threading
import time

from firmware_sim.base import SimulatedDevice
from firmware_sim.runner import DeviceRunner


class Quiet(SimulatedDevice):
    def receive(self, data):
        pass

    def command(self, line):
        return {"ok": True}


def test_leaks_a_runner():
    DeviceRunner(Quiet()).start()


def test_leaks_a_thread():
    threading.Thread(target=time.sleep, args=(3,), name="sleepy", daemon=True).start()


def test_leaks_a_pty():
    master, slave = os.openpty()
    os.close(slave)


def test_clean():
    with DeviceRunner(Quiet()) as runner:
        runner.serve_pty()
        threading.Thread(target=time.sleep, args=(0.05,)).start()   # ends within the grace


def test_after_the_leaks_the_runner_was_stopped():
    from firmware_sim.runner import open_runners
    assert open_runners() == []
'''


def test_the_leak_check_fails_tests_that_leak(pytester: pytest.Pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_leaky=LEAKY)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, errors=3)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_leaks_a_runner*",
        "*threads still running: tactile-sim-device-* (daemon); simulators not stopped: "
        "<DeviceRunner device-* running>",
        "*ERROR at teardown of test_leaks_a_thread*",
        "*threads still running: sleepy (daemon)",
        "*ERROR at teardown of test_leaks_a_pty*",
        "*pty file descriptors still open: * -> /dev/ptmx",
    ])
