"""A session is iterated in one thread and cancelled from another (issue 9's first defect).

The iterating caller must always receive the final ``Completed``; a cancel that comes after
the entry ended (the pad may even be closed by then) is a harmless no-op; the session's state
(completion, digits, PIN block) is the same whichever thread pulled the events.
"""

from __future__ import annotations

import threading

import pytest

from drivers.pinpad import Completed, Completion, EntryReady, TactilePinPad
from pinpad_rig import PAN, decrypt, new_runner

TRIALS = 40


@pytest.fixture
def pad():
    runner = new_runner()
    try:
        with TactilePinPad.open(runner.loopback()) as pad:
            pad.runner = runner
            yield pad
    finally:
        runner.stop()


def _iterate(entry, seen, errors, ready):
    try:
        for event in entry:
            seen.append(event)
            if isinstance(event, EntryReady):
                ready.set()
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)
    finally:
        ready.set()


def test_cancel_from_another_thread_never_steals_the_final_completed(pad):
    for trial in range(TRIALS):
        with pad.pin_entry(pan=PAN, timeout=30) as entry:
            seen, errors, ready = [], [], threading.Event()
            worker = threading.Thread(target=_iterate, args=(entry, seen, errors, ready))
            worker.start()
            assert ready.wait(5)
            if trial % 2:
                pad.runner.command("press 1")    # vary the moment: with a digit in flight
            entry.cancel()
            worker.join(10)
            assert not worker.is_alive()
        assert errors == [], f"trial {trial}: {errors}"
        assert isinstance(seen[-1], Completed), f"trial {trial}: {seen}"
        assert seen[-1].completion is Completion.CANCEL
        assert sum(isinstance(e, Completed) for e in seen) == 1
        assert entry.completion is Completion.CANCEL and entry.pin_block is None


def test_a_cancel_crossing_the_customers_enter_keeps_the_pin_block(pad):
    """The customer presses Enter while the teller's thread cancels: whichever wins, the
    iterating thread sees exactly one Completed, and a kept PIN comes with its block."""
    for trial in range(TRIALS // 2):
        with pad.pin_entry(pan=PAN, timeout=30) as entry:
            seen, errors, ready = [], [], threading.Event()
            worker = threading.Thread(target=_iterate, args=(entry, seen, errors, ready))
            worker.start()
            assert ready.wait(5)
            pad.runner.command("press 2468")
            pad.runner.command("press enter")
            entry.cancel()
            worker.join(10)
        assert errors == [], f"trial {trial}: {errors}"
        assert isinstance(seen[-1], Completed) and sum(isinstance(e, Completed) for e in seen) == 1
        if entry.completion is Completion.ENTER:
            assert decrypt(entry.pin_block, entry.ksn, "iso4") == "2468"
        else:
            assert entry.completion is Completion.CANCEL and entry.pin_block is None


def test_a_late_cancel_is_a_no_op_even_after_the_pad_is_closed():
    runner = new_runner()
    try:
        pad = TactilePinPad.open(runner.loopback())
        with pad:
            with pad.pin_entry(pan=PAN, timeout=30) as entry:
                runner.command("script press 1; press 2; press 3; press 4; press enter")
                events = list(entry)
            entry.cancel()                       # the entry ended: nothing to do
        assert pad.closed
        entry.cancel()                           # and the pad is closed: still nothing
        assert isinstance(events[-1], Completed) and entry.completion is Completion.ENTER
        assert decrypt(entry.pin_block, entry.ksn, "iso4") == "1234"
    finally:
        runner.stop()


def test_cancel_racing_close_from_two_threads(pad):
    """One thread iterates and leaves the with block when the entry ends, then the pad is
    closed; another cancels at about the same time: no thread sees `... is closed`."""
    for trial in range(TRIALS // 4):
        runner = new_runner()
        try:
            p = TactilePinPad.open(runner.loopback())
            errors = []
            entry = p.pin_entry(pan=PAN, timeout=30)
            entry.__enter__()
            go = threading.Event()

            def canceller():
                go.wait(5)
                try:
                    entry.cancel()
                except BaseException as exc:  # noqa: BLE001
                    errors.append(exc)

            t = threading.Thread(target=canceller)
            t.start()
            runner.command("press 5 5 5 5 enter")
            go.set()
            for _ in entry:
                pass
            entry.__exit__(None, None, None)
            p.close()
            t.join(10)
            assert errors == [], f"trial {trial}: {errors}"
            assert entry.completion in (Completion.ENTER, Completion.CANCEL)
        finally:
            runner.stop()
