"""Stateful test of PIN entry semantics: random legal and illegal key/host sequences through TPP,
checked against a small model (digit count, completion, time limit, the PIN itself)."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pinpad_harness import PadHarness
from protocol import dukpt, pinblock
from protocol.pinblock import PinBlockFormat
from protocol.tpp import HELD_PIN_LIFETIME, EntryEnd, KeyStatus, ResultCode, State
from protocol.tpp import messages as m

TDES_BDK = "0123456789ABCDEFFEDCBA9876543210"
AES_BDK = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
PAN = "6222020200112233445"
MAX_LEFT = 600


class PinEntryMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        self.pad = PadHarness(trace=False)
        self.active = False
        self.digits: list[str] = []
        self.held: str | None = None

    # -- helpers ------------------------------------------------------------------------
    def _completed(self) -> m.PinEntryCompleted:
        done = self.pad.of(m.PinEntryCompleted)
        assert done, "no completion event"
        return done[-1]

    def _finish(self, how: EntryEnd, digits: int, keep: bool) -> None:
        done = self._completed()
        assert done.how is how and done.digits == digits, done
        self.active = False
        self.held = "".join(self.digits) if keep else None
        self.held_until = self.pad.t + HELD_PIN_LIFETIME
        self.digits = []

    # -- host -------------------------------------------------------------------------------
    @precondition(lambda self: not self.active)
    @rule(min_len=st.integers(4, 8), extra=st.integers(0, 4), auto=st.booleans(),
          limit=st.integers(10, 60))
    def start(self, min_len, extra, auto, limit):
        max_len = min(12, min_len + extra)
        self.pad.ok(m.PinEntry(min_len=min_len, max_len=max_len, auto_end=auto,
                               time_limit=limit, lang="en"))
        self.active, self.min, self.max, self.auto, self.limit = True, min_len, max_len, auto, limit
        self.deadline = self.pad.t + float(limit)
        self.extensions = 0
        self.digits = []
        self.held = None
        self.seen = len(self.pad.received)

    @precondition(lambda self: self.active)
    @rule()
    def host_cancel(self):
        self.pad.ok(m.CancelEntry())
        self._finish(EntryEnd.HOST_CANCEL, len(self.digits), keep=False)

    @precondition(lambda self: not self.active)
    @rule(fmt=st.sampled_from([PinBlockFormat.ISO0, PinBlockFormat.ISO3, PinBlockFormat.ISO4]))
    def pin_block(self, fmt):
        reply = self.pad.request(m.GetPinBlock(format=fmt, customer_data=PAN))
        if self.held is not None and self.pad.t >= self.held_until:
            self.held = None  # expired inside the pad
        if self.held is None:
            assert isinstance(reply, m.Refused) and reply.result is ResultCode.NO_PIN
            return
        if fmt is PinBlockFormat.ISO4:
            key = dukpt.aes_derive_pin_key(AES_BDK, reply.ksn)
        else:
            key = dukpt.tdes_derive_pin_key(TDES_BDK, reply.ksn)
        assert pinblock.decipher_pin_block(fmt, key, reply.block, PAN) == self.held
        self.held = None

    # -- the customer -----------------------------------------------------------------------
    @rule(digit=st.sampled_from("0123456789"))
    def press_digit(self, digit):
        before = len(self.pad.received)
        self.pad.press(digit)
        if not self.active:
            assert not self.pad.of(m.DigitEntered, before)  # never reported outside entry
            return
        self.deadline = self.pad.t + float(self.limit)
        event = self.pad.of(m.DigitEntered, before)[-1]
        if len(self.digits) < self.max:
            self.digits.append(digit)
            assert (event.digits, event.accepted) == (len(self.digits), True)
            if self.auto and len(self.digits) == self.max:
                self._finish(EntryEnd.AUTO, self.max, keep=True)
        else:
            assert (event.digits, event.accepted) == (self.max, False)

    @precondition(lambda self: self.active)
    @rule(run=st.text("0123456789", min_size=1, max_size=10),
          then=st.sampled_from([None, "backspace", "clear"]))
    def type_digits(self, run, then):
        for digit in run:
            self.press_digit(digit)
            if not self.active:
                return
        if then is not None:
            self.correct(then)

    @precondition(lambda self: self.active)
    @rule(key=st.sampled_from(["clear", "backspace"]))
    def correct_rule(self, key):
        self.correct(key)

    def correct(self, key):
        self.pad.press(key)
        self.deadline = self.pad.t + float(self.limit)
        if key == "clear":
            self.digits = []
        elif self.digits:
            self.digits.pop()
        assert self.pad.of(m.KeyPressed)[-1] == m.KeyPressed(key, len(self.digits),
                                                             KeyStatus.ACCEPTED)

    @precondition(lambda self: self.active)
    @rule()
    def enter(self):
        self.pad.press("enter")
        self.deadline = self.pad.t + float(self.limit)
        if len(self.digits) < self.min:
            assert self.pad.of(m.KeyPressed)[-1].status is KeyStatus.TOO_SHORT
            return
        self._finish(EntryEnd.ENTER, len(self.digits), keep=True)

    @precondition(lambda self: self.active)
    @rule()
    def cancel(self):
        self.pad.press("cancel")
        self._finish(EntryEnd.CANCEL, 0, keep=False)

    @precondition(lambda self: self.active)
    @rule()
    def help(self):
        self.pad.press("help")
        now = self.pad.t
        self.deadline = now + float(self.limit)
        if self.extensions >= 3:
            assert self.pad.of(m.KeyPressed)[-1].status is KeyStatus.NO_MORE_EXTENSIONS
            return
        self.extensions += 1
        if self.deadline - now < MAX_LEFT:
            self.deadline = min(self.deadline + self.limit, now + MAX_LEFT)
            assert self.pad.of(m.TimeExtended)[-1].seconds_left == int(self.deadline - now + 0.999)

    @rule(seconds=st.sampled_from([0.5, 3.0, 9.5, 25.0, 70.0]))
    def wait(self, seconds):
        self.pad.advance(seconds)
        if self.active and self.pad.t >= self.deadline:
            self._finish(EntryEnd.TIMEOUT, len(self.digits), keep=False)

    @invariant()
    def pad_agrees(self):
        if not hasattr(self, "pad"):
            return
        status = self.pad.ok(m.GetStatus())
        assert status.mode is (State.PIN_ENTRY if self.active else State.IDLE)
        assert status.digits == (len(self.digits) if self.active else 0)
        assert status.pin_held == (self.held is not None and self.pad.t < self.held_until)


PinEntryMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40,
                                             deadline=None)
TestPinEntrySemantics = PinEntryMachine.TestCase
