"""A stateful hypothesis test: random legal and illegal sequences of reader calls against the
simulated module (enroll, import, delete, verify, identify, export, clear; wrong, empty and
out-of-range slots), checked against a model of the library the test keeps itself."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from drivers.fingerprint import (
    AlreadyEnrolledError,
    EmptySlotError,
    SlotError,
)
from fingerprint_helpers import Customer, new_runner, open_reader

CAPACITY = 200                      # the R503 profile
FINGERS = st.integers(1, 3)
# few slots, so that collisions, empty slots and the edge of the library come up often
SLOTS = st.sampled_from([0, 1, 2, 7, CAPACITY - 1, CAPACITY, 0xFFFF])
QUALITY = 95


class ReaderMachine(RuleBasedStateMachine):
    """The model: ``library`` maps slot -> finger id, ``stored`` slot -> the template bytes in
    it, ``held`` finger id -> template bytes the bank keeps on the host."""

    tmp_path = None

    def __init__(self) -> None:
        super().__init__()
        # a fresh seeded module per example: a failing sequence replays identically
        self.runner = new_runner("r503")
        self._opened = open_reader("loopback", self.runner, self.tmp_path)
        self.reader = self._opened.__enter__()
        self.library: dict[int, int] = {}
        self.stored: dict[int, bytes] = {}
        self.held: dict[int, bytes] = {}

    def teardown(self) -> None:
        try:
            self._opened.__exit__(None, None, None)
        finally:
            self.runner.stop()

    def customer(self, finger: int) -> Customer:
        return Customer(self.runner, finger=finger, quality=QUALITY)

    def done(self) -> None:
        self.runner.command("lift")

    def slots_of(self, finger: int) -> set[int]:
        return {slot for slot, f in self.library.items() if f == finger}

    # -- rules ---------------------------------------------------------------------------
    @rule(finger=FINGERS, slot=st.none() | SLOTS)
    def enroll(self, finger: int, slot: int | None) -> None:
        try:
            if slot is not None and slot in self.library:
                with pytest.raises(SlotError, match="already holds a template"):
                    self.reader.enroll(slot=slot, on_event=self.customer(finger))
            elif slot is not None and slot >= CAPACITY:
                customer = self.customer(finger)
                with pytest.raises(SlotError, match="outside the library"):
                    self.reader.enroll(slot=slot, on_event=customer)
                assert customer.events == []          # refused before asking for a finger
            elif self.slots_of(finger):
                with pytest.raises(AlreadyEnrolledError) as exc:
                    self.reader.enroll(slot=slot, on_event=self.customer(finger))
                assert exc.value.slot in self.slots_of(finger)
            else:
                template = self.reader.enroll(slot=slot, on_event=self.customer(finger))
                assert template.slot == slot and len(template) == 1536
                self.held[finger] = template.data
                if slot is not None:
                    self.library[slot] = finger
                    self.stored[slot] = template.data
        finally:
            self.done()

    @precondition(lambda self: self.held)
    @rule(data=st.data(), slot=SLOTS, overwrite=st.booleans())
    def import_held_template(self, data, slot: int, overwrite: bool) -> None:
        finger = data.draw(st.sampled_from(sorted(self.held)))
        if slot in self.library and not overwrite:
            with pytest.raises(SlotError, match="already holds"):
                self.reader.import_template(self.held[finger], slot=slot)
        elif slot >= CAPACITY:
            with pytest.raises(SlotError, match="outside the library"):
                self.reader.import_template(self.held[finger], slot=slot, overwrite=overwrite)
        else:
            self.reader.import_template(self.held[finger], slot=slot, overwrite=overwrite)
            self.library[slot] = finger
            self.stored[slot] = self.held[finger]

    @rule(slot=SLOTS, count=st.integers(1, 3))
    def delete(self, slot: int, count: int) -> None:
        if slot + count > CAPACITY:
            with pytest.raises(SlotError):
                self.reader.delete(slot, count)
        else:
            self.reader.delete(slot, count)     # deleting an empty slot is fine
            for s in range(slot, slot + count):
                self.library.pop(s, None)
                self.stored.pop(s, None)

    @rule(finger=FINGERS, slot=SLOTS)
    def verify_against_slot(self, finger: int, slot: int) -> None:
        try:
            if slot >= CAPACITY:
                with pytest.raises(SlotError):
                    self.reader.verify(slot, on_event=self.customer(finger))
            elif slot not in self.library:
                with pytest.raises(EmptySlotError):
                    self.reader.verify(slot, on_event=self.customer(finger))
            else:
                result = self.reader.verify(slot, attempts=3, on_event=self.customer(finger))
                assert result.matched == (self.library[slot] == finger), (result, self.library)
        finally:
            self.done()

    @precondition(lambda self: self.held)
    @rule(data=st.data(), finger=FINGERS)
    def verify_against_held_template(self, data, finger: int) -> None:
        owner = data.draw(st.sampled_from(sorted(self.held)))
        try:
            result = self.reader.verify(self.held[owner], attempts=3, on_event=self.customer(finger))
            assert result.matched == (owner == finger), result
        finally:
            self.done()

    @rule(finger=FINGERS)
    def identify(self, finger: int) -> None:
        try:
            result = self.reader.identify(attempts=3, on_event=self.customer(finger))
            expected = self.slots_of(finger)
            if expected:
                assert result.slot in expected, (result, self.library)
            else:
                assert result.slot is None, (result, self.library)
        finally:
            self.done()

    @rule(slot=SLOTS)
    def export(self, slot: int) -> None:
        if slot >= CAPACITY:
            with pytest.raises(SlotError):
                self.reader.export_template(slot)
        elif slot not in self.library:
            with pytest.raises(EmptySlotError):
                self.reader.export_template(slot)
        else:
            assert self.reader.export_template(slot).data == self.stored[slot]

    @rule()
    def power_cycle(self) -> None:
        """The module loses power: RAM buffers go, the library stays (flash)."""
        assert self.runner.command("power-cycle")["ok"]
        self.reader.connect()

    @rule(count=st.integers(1, 64))
    def line_noise(self, count: int) -> None:
        """Random bytes on the line between two requests: the reader must resynchronise."""
        assert self.runner.command(f"fault garbage {count}")["ok"]

    @rule()
    def clear(self) -> None:
        self.reader.clear()
        self.library.clear()
        self.stored.clear()

    # -- what must hold after every step -------------------------------------------------
    @invariant()
    def library_matches_the_model(self) -> None:
        assert self.reader.index() == set(self.library)
        assert self.reader.template_count() == len(self.library)


def test_reader_against_the_simulated_module(tmp_path):
    ReaderMachine.tmp_path = tmp_path
    run_state_machine_as_test(ReaderMachine, settings=settings(
        max_examples=12, stateful_step_count=8, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))
