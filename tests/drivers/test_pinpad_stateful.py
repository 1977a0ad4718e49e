"""Stateful test of PIN entry semantics THROUGH THE DRIVER against the simulated pad.

A hypothesis RuleBasedStateMachine keeps its own model of an XFS4IoT PIN entry (digits typed,
min/max length, autoEnd) and drives the pad with random key presses, host cancels and time
running out; after every step the events the driver yields must be exactly what the model
predicts, and every PIN that completes must come back as a PIN block that decrypts (with the
published TEST keys) to the digits the model typed.  The pad runs on an injected clock, so its
time limit passes when the test says so.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from drivers.pinpad import (
    Completed,
    Completion,
    DigitAccepted,
    EntryReady,
    KeyPressed,
    KeyRejected,
    SpeechEnded,
    TactilePinPad,
    TimeExtended,
    TimeWarning,
)
from pinpad_rig import PAN, decrypt, new_runner
from protocol.tpp.codes import State
from fake_clock import FakeClock

_DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_SEMANTIC = (DigitAccepted, KeyPressed, KeyRejected, Completed)
#: (min_len, max_len - min_len, auto_end, block format) of a new entry
ENTRY = st.tuples(st.integers(4, 6), st.integers(0, 3), st.booleans(),
                  st.sampled_from(["iso4", "iso0", "iso3"]))


class PinEntryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.runner = new_runner(clock=self.clock, start=False, rate_limit="10000")
        link = self.runner.loopback()   # attached before power-on: the pad's clock stands still
        self.runner.start()
        self.pad = TactilePinPad.open(link)
        self.entry = None
        self.events = None
        self.typed: list[str] = []
        self.min_len = self.max_len = 0
        self.auto_end = False
        self.fmt = "iso4"
        self.fresh_limit = False

    def teardown(self) -> None:
        try:
            if self.entry is not None:
                self.entry.__exit__(KeyboardInterrupt, None, None)   # cancels it
            self.pad.close()
        finally:
            self.runner.stop()

    # -- helpers -----------------------------------------------------------------------
    def take(self, n: int) -> list:
        """The next ``n`` entry-semantic events (speech ends, time notices are skipped)."""
        got = []
        deadline = time.monotonic() + 5.0
        while len(got) < n:
            assert time.monotonic() < deadline, f"expected {n} events, got {got}"
            event = next(self.events)
            if isinstance(event, _SEMANTIC):
                got.append(event)
        return got

    def take_kind(self, kind: type):
        """The next event of ``kind`` (others skipped), within 5 s."""
        deadline = time.monotonic() + 5.0
        while True:
            assert time.monotonic() < deadline, f"no {kind.__name__}"
            event = next(self.events)
            if isinstance(event, kind):
                return event

    def press(self, key: str) -> None:
        reply = self.runner.command(f"press {key}")
        assert reply["ok"], reply
        self.fresh_limit = True            # every key re-arms the inactivity limit

    def finish(self, completion: Completion) -> None:
        """After Completed: the PIN block (if kept) decrypts to what the model typed."""
        entry = self.entry
        assert entry.finished and entry.completion is completion
        if completion.pin_kept:
            assert entry.digits == len(self.typed)
            assert decrypt(entry.pin_block, entry.ksn, self.fmt) == "".join(self.typed)
        else:
            assert entry.pin_block is None and entry.ksn is None
        with pytest.raises(StopIteration):
            next(self.events)
        entry.__exit__(None, None, None)
        self.entry = self.events = None
        self.typed = []
        assert self.pad.state is State.IDLE

    # -- rules -------------------------------------------------------------------------
    def ensure_entry(self, params) -> None:
        """Key rules start an entry first when none runs (few preconditions keep hypothesis
        from discarding most of its draws)."""
        if self.entry is None:
            self.start(*params)

    @precondition(lambda self: self.entry is None)
    @rule(params=ENTRY)
    def start_entry(self, params):
        self.start(*params)

    def start(self, min_len, extra, auto_end, fmt):
        self.min_len, self.max_len = min_len, min_len + extra
        self.auto_end, self.fmt = auto_end, fmt
        self.entry = self.pad.pin_entry(min_len=self.min_len, max_len=self.max_len,
                                        auto_end=auto_end, pan=PAN, block_format=fmt, timeout=60)
        self.entry.__enter__()
        self.events = iter(self.entry)
        self.fresh_limit = True
        first = next(self.events)
        while isinstance(first, SpeechEnded):   # the last entry's closing prompt, cut short
            first = next(self.events)
        assert isinstance(first, EntryReady)

    @rule(params=ENTRY, digit=st.integers(0, 9))
    def digit(self, params, digit):
        self.ensure_entry(params)
        self.press(str(digit))
        if len(self.typed) >= self.max_len:
            assert self.take(1) == [KeyRejected("digit", "max-length")]
            return
        self.typed.append(str(digit))
        assert self.take(1) == [DigitAccepted(len(self.typed))]
        if self.auto_end and len(self.typed) == self.max_len:
            assert self.take(1) == [Completed(Completion.AUTO, self.max_len)]
            self.finish(Completion.AUTO)

    @rule(params=ENTRY)
    def backspace(self, params):
        self.ensure_entry(params)
        self.press("backspace")
        self.typed = self.typed[:-1]
        assert self.take(1) == [KeyPressed("backspace", count=len(self.typed))]
        assert self.entry.digits == len(self.typed)

    @rule(params=ENTRY)
    def clear(self, params):
        self.ensure_entry(params)
        self.press("clear")
        self.typed = []
        assert self.take(1) == [KeyPressed("clear", count=0)]

    @rule(params=ENTRY)
    def enter(self, params):
        self.ensure_entry(params)
        self.press("enter")
        if len(self.typed) < self.min_len:
            assert self.take(1) == [KeyRejected("enter", "too-short")]
            return
        pressed, done = self.take(2)
        assert pressed == KeyPressed("enter", count=len(self.typed))
        assert done == Completed(Completion.ENTER, len(self.typed))
        self.finish(Completion.ENTER)

    @rule(params=ENTRY)
    def customer_cancel(self, params):
        self.ensure_entry(params)
        self.press("cancel")
        pressed, done = self.take(2)
        assert pressed == KeyPressed("cancel", count=0)
        assert done.completion is Completion.CANCEL
        self.finish(Completion.CANCEL)

    @rule(params=ENTRY)
    def host_cancel(self, params):
        self.ensure_entry(params)
        self.entry.cancel()
        # the events cancel() waited for still reach the iterating caller, Completed last
        rest = [e for e in self.events if isinstance(e, _SEMANTIC)]
        assert rest == [Completed(Completion.CANCEL, len(self.typed))]
        self.finish(Completion.CANCEL)

    @rule(params=ENTRY)
    def warning_then_host_extends(self, params):
        self.ensure_entry(params)
        if self.fresh_limit:  # 60 s left: 31 s pass, the 30 s warning comes, the host extends
            self.clock.advance(31.0)
            self.runner.wake()
            warning = self.take_kind(TimeWarning)
            assert warning.seconds_left == 30
            left = self.entry.extend_time(45)
            assert 60 <= left <= 600
            assert self.take_kind(TimeExtended) == TimeExtended(left, by="host")
            self.fresh_limit = False

    @rule(params=ENTRY)
    def time_runs_out(self, params):
        self.ensure_entry(params)
        self.clock.advance(601.0)          # past any limit, extensions included
        self.runner.wake()
        (done,) = self.take(1)
        assert done.completion is Completion.TIMEOUT
        self.finish(Completion.TIMEOUT)

    @invariant()
    def the_driver_never_holds_more_than_a_count(self):
        if self.entry is not None:
            # the only per-entry numbers the host has are counts; its repr shows no digits
            assert self.entry.digits == len(self.typed)
            text = repr(self.entry) + "".join(map(repr, [self.entry]))
            if len(self.typed) >= 4:
                assert "".join(self.typed) not in text


PinEntryMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
test_pin_entry_semantics_through_the_driver = PinEntryMachine.TestCase
