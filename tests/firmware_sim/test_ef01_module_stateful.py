"""Stateful hypothesis test: random legal and illegal command sequences against the module.

A small mirror of the module's memory (buffers, library, notepad, password lock) predicts
every confirmation code; every reply must have its instruction's fixed length, frames for
another address and garbage must get no reply, and nothing else may ever come out.
"""

from __future__ import annotations

import functools

import numpy as np
from ef01_harness import ModuleHarness
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from firmware_sim import biometrics
from protocol.ef01 import (
    Confirmation,
    DataTransfer,
    Instruction,
    build_command,
    build_reply,
    index_table_slots,
    reply_content_size,
)

I = Instruction  # noqa: E741
C = Confirmation
CAPACITY = 1000  # r307


@functools.lru_cache(maxsize=1)
def _templates() -> tuple[bytes, bytes]:
    rng = np.random.default_rng(3)
    out = []
    for finger in (21, 22):
        for _ in range(5):
            try:
                image = biometrics.render_capture(finger, 95, rng, width=256, height=288)
                out.append(biometrics.extract_template(image, size=512))
                break
            except biometrics.FingerImageError:
                continue
    assert len(out) == 2
    return out[0], out[1]


class ModuleMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.h = ModuleHarness(model="r307")
        self.buffers: list[bytes | None] = [None, None]
        self.library: dict[int, bytes] = {}
        self.notepad = [bytes(32)] * 16
        self.password = 0
        self.verified = False

    # -- helpers --------------------------------------------------------------------------
    @property
    def locked(self) -> bool:
        return self.password != 0 and not self.verified

    def expect(self, ins: Instruction, code: int, **params) -> object:
        rep, data = self.h.exchange(ins, **params)
        want = C.PASSWORD_REQUIRED if self.locked and ins is not I.VFY_PWD else code
        assert rep.code == want, (ins, params, rep, want)
        return rep if data is None else (rep, data)

    # -- rules ----------------------------------------------------------------------------
    @rule(buffer=st.integers(1, 2), which=st.integers(0, 1))
    def down_char(self, buffer: int, which: int) -> None:
        template = _templates()[which]
        rep = self.h.call(I.DOWN_CHAR, buffer=buffer)
        if self.locked:
            assert rep.code == C.PASSWORD_REQUIRED
            return
        assert rep.ok
        assert self.h.raw(self.h.host.send(DataTransfer(I.DOWN_CHAR, template))) == b""
        self.buffers[buffer - 1] = template

    @rule(buffer=st.integers(1, 2), slot=st.one_of(st.integers(0, 20), st.integers(990, 1010)))
    def store(self, buffer: int, slot: int) -> None:
        t = self.buffers[buffer - 1]
        code = C.BAD_SLOT if slot >= CAPACITY else (C.PACKET_ERROR if t is None else C.OK)
        self.expect(I.STORE, code, buffer=buffer, slot=slot)
        if code == C.OK and not self.locked:
            self.library[slot] = t

    @rule(buffer=st.integers(1, 2), slot=st.one_of(st.integers(0, 20), st.integers(995, 1005)))
    def load_char(self, buffer: int, slot: int) -> None:
        code = C.BAD_SLOT if slot >= CAPACITY else (C.OK if slot in self.library else C.TEMPLATE_READ_ERROR)
        self.expect(I.LOAD_CHAR, code, buffer=buffer, slot=slot)
        if code == C.OK and not self.locked:
            self.buffers[buffer - 1] = self.library[slot]

    @rule(buffer=st.integers(1, 2))
    def up_char(self, buffer: int) -> None:
        t = self.buffers[buffer - 1]
        result = self.expect(I.UP_CHAR, C.OK if t is not None else C.TEMPLATE_UPLOAD_ERROR, buffer=buffer)
        if isinstance(result, tuple):
            assert result[1] == t  # byte-identical after a download

    @rule(start=st.integers(0, 25), count=st.integers(0, 5))
    def delete(self, start: int, count: int) -> None:
        self.expect(I.DELETE_CHAR, C.OK, start=start, count=count)
        if not self.locked:
            for slot in range(start, start + count):
                self.library.pop(slot, None)

    @rule()
    def empty(self) -> None:
        self.expect(I.EMPTY, C.OK)
        if not self.locked:
            self.library.clear()

    @rule()
    def template_num(self) -> None:
        rep = self.expect(I.TEMPLATE_NUM, C.OK)
        if not self.locked:
            assert rep.count == len(self.library)

    @rule(page=st.integers(0, 4))
    def index_table(self, page: int) -> None:
        rep = self.expect(I.READ_INDEX_TABLE, C.OK if page <= 3 else C.BAD_SLOT, page=page)
        if rep.ok:
            assert index_table_slots(rep.table, page) == sorted(s for s in self.library if s // 256 == page)

    @rule(page=st.integers(0, 17), data=st.binary(min_size=32, max_size=32))
    def write_notepad(self, page: int, data: bytes) -> None:
        self.expect(I.WRITE_NOTEPAD, C.OK if page < 16 else C.BAD_NOTEPAD_PAGE, page=page, data=data)
        if page < 16 and not self.locked:
            self.notepad[page] = data

    @rule(page=st.integers(0, 17))
    def read_notepad(self, page: int) -> None:
        rep = self.expect(I.READ_NOTEPAD, C.OK if page < 16 else C.BAD_NOTEPAD_PAGE, page=page)
        if rep.ok:
            assert rep.data == self.notepad[page]

    @rule()
    def match(self) -> None:
        a, b = self.buffers
        if a is None or b is None:
            self.expect(I.MATCH, C.NO_MATCH)
        else:
            rep, _ = self.h.exchange(I.MATCH)
            if not self.locked:
                assert rep.code in (C.OK, C.NO_MATCH)
                assert rep.ok == (biometrics.match_score(a, b) >= biometrics.threshold_for_level(3))

    @precondition(lambda self: not self.locked)
    @rule(password=st.sampled_from([0, 1, 0xDEADBEEF]))
    def set_pwd(self, password: int) -> None:
        self.expect(I.SET_PWD, C.OK, password=password)
        self.password = password
        self.verified = True

    @rule(password=st.sampled_from([0, 1, 0xDEADBEEF]))
    def vfy_pwd(self, password: int) -> None:
        ok = password == self.password
        self.expect(I.VFY_PWD, C.OK if ok else C.WRONG_PASSWORD, password=password)
        self.verified = self.verified or ok

    @rule()
    def power_cycle(self) -> None:
        self.h.power_cycle()
        self.buffers = [None, None]
        self.verified = False

    @rule(address=st.integers(0, 0xFFFFFFFE))
    def wrong_address(self, address: int) -> None:
        assert self.h.raw(build_command(address, I.GEN_IMG)) == b""

    @rule(garbage=st.binary(max_size=40), split=st.integers(0, 60))
    def garbage_then_command(self, garbage: bytes, split: int) -> None:
        wire = garbage + build_command(0xFFFFFFFF, I.TEMPLATE_NUM)
        answer = self.h.raw(wire[:split]) + self.h.raw(wire[split:])
        count = len(self.library) if not self.locked else 0
        code = C.PASSWORD_REQUIRED if self.locked else C.OK
        expected = build_reply(0xFFFFFFFF, I.TEMPLATE_NUM, code, {"count": count})
        assert len(expected) == 11 + reply_content_size(I.TEMPLATE_NUM)
        assert answer == expected, answer.hex()  # exactly one reply, the garbage hunted past

    @invariant()
    def nothing_unsolicited(self) -> None:
        if hasattr(self, "h"):
            assert bytes(self.h.out) == b""


ModuleMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestModuleMachine = ModuleMachine.TestCase
