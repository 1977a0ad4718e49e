"""PIN canary (issue 9): random PINs through every path - plain and guided entry, PIN change,
customer and host cancel, time-out, faults on the line (corrupted bytes, a slow key bounce,
an unplug mid-entry and the reconnection) - and the digit sequence must appear in no log, trace,
spoken transcript, audit record or exception text, nor in any Python object this process can
still reach afterwards (``gc.get_objects()`` and everything they refer to: str, bytes,
bytearray and int contents).

The test itself never holds a PIN as text: digits are a list of small ints, pressed by key NAME
("seven"), and a deciphered block is compared digit by digit and dropped at once.  PINs are
8..12 digits starting with a non-zero digit, so that no public number (PAN, KSN, serial) and
no unrelated int can contain one by chance.
"""

from __future__ import annotations

import gc
import json
import logging
import random

import pytest

from drivers.fingerprint import FingerprintReader, LiftFinger, PlaceFinger
from drivers.guidance import Guide
from drivers.pinpad import (
    DeviceDisconnectedError,
    DigitAccepted,
    EntryReady,
    TactilePinPad,
)
from firmware_sim.attach import create_runner
from pinpad_rig import PAN, decrypt
from protocol.errors import TactileError

_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_ROUNDS = 3


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


def _new_pin(rng: random.Random) -> list[int]:
    return [rng.randrange(1, 10)] + [rng.randrange(10) for _ in range(rng.randrange(7, 12))]


def _press(runner, digits, *tail: str) -> None:
    for d in digits:
        assert runner.command(f"press {_NAMES[d]}")["ok"]
    for key in tail:
        assert runner.command(f"press {key}")["ok"]


def _same(block_pin: str, digits: list[int]) -> bool:
    return [ord(c) - 48 for c in block_pin] == digits


def _patterns(digits: list[int]) -> tuple[str, bytes, bytes, int]:
    """What a leak would look like (built only at the end, for the search)."""
    text = "".join(chr(48 + d) for d in digits)
    return text, text.encode(), bytes(digits), int(text)


def _reachable_leaks(pins: list[list[int]], ignore: set[int]) -> list[str]:
    """Every object reachable from the garbage collector's objects (and what they refer to)
    whose contents hold one of ``pins``: as text, ASCII bytes, raw digit bytes or an int."""
    patterns = [_patterns(digits) for digits in pins]
    numbers = {number for *_, number in patterns}
    found = []
    gc.collect()
    seen: set[int] = set(ignore)
    # the search's own patterns are not leaks
    seen.update(id(x) for x in (patterns, numbers, *patterns))
    seen.update(id(v) for t in patterns for v in t)
    for obj in gc.get_objects():
        for item in [obj, *gc.get_referents(obj)]:
            key = id(item)
            if key in seen:
                continue
            seen.add(key)
            if isinstance(item, str):
                if any(text in item for text, *_ in patterns):
                    found.append(f"str {item[:60]!r}... (in {type(obj).__name__})")
            elif isinstance(item, (bytes, bytearray)):
                if any(ascii_ in item or raw in item for _, ascii_, raw, _ in patterns):
                    found.append(f"{type(item).__name__} of {len(item)} bytes "
                                 f"(in {type(obj).__name__})")
            elif type(item) is int and item in numbers:
                found.append(f"int (in {type(obj).__name__})")
    del patterns, numbers
    return found


def test_the_object_scan_finds_a_planted_pin():
    """The scan can fail: a PIN kept anywhere reachable (text, bytes, int) is found."""
    digits = [4, 8, 1, 5, 1, 6, 2, 3, 4, 2]
    ignore = {id(digits)}
    for planted in ("".join(map(str, digits)), bytes(digits), int("".join(map(str, digits)))):
        holder = {"kept": [planted]}
        assert _reachable_leaks([digits], ignore), type(planted).__name__
        del holder, planted
    assert not _reachable_leaks([digits], ignore)


@pytest.fixture
def rig(tmp_path):
    pad_runner = create_runner("pinpad", {"seed": "11", "trace": "1", "rate_limit": "10000",
                                          "time_scale": "20"}, name="canary-pad")
    fp_runner = create_runner("fingerprint", {"model": "r503", "seed": "11", "trace": "1"},
                              name="canary-fp")
    events: list[dict] = []
    pad_runner.subscribe(events.append)
    fp_runner.subscribe(events.append)
    pad_runner.start()
    fp_runner.start()
    records = _Records()
    records.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    try:
        yield pad_runner, fp_runner, events, records
    finally:
        root.removeHandler(records)
        root.setLevel(old)
        pad_runner.stop()
        fp_runner.stop()


def test_no_pin_digit_sequence_anywhere_after_every_path(rig, tmp_path):
    pad_runner, fp_runner, events, records = rig
    rng = random.SystemRandom()
    host_texts: list[str] = []
    pins: list[list[int]] = []

    def note(*objs) -> None:
        host_texts.extend(repr(o) for o in objs)

    link = pad_runner.loopback()
    pad = TactilePinPad.open(link, timeout=2.0)
    try:
        guide = Guide(pad, lang="en", profile="blind")
        for _ in range(_ROUNDS):
            # plain entry
            pin = _new_pin(rng)
            pins.append(pin)
            with pad.pin_entry(pan=PAN, min_len=4, max_len=12, timeout=60) as entry:
                for event in entry:
                    note(event)
                    if isinstance(event, EntryReady):
                        _press(pad_runner, pin, "enter")
            note(entry, entry.result)
            assert _same(decrypt(entry.pin_block, entry.ksn, "iso4"), pin)

            # guided entry (drivers.guidance)
            pin = _new_pin(rng)
            pins.append(pin)
            with guide.pin_entry(pan=PAN, min_len=4, max_len=12, instructions=True) as g:
                for event in g:
                    note(event)
                    if isinstance(event, EntryReady):
                        _press(pad_runner, pin, "enter")
            note(g, g.status)
            assert g.status == "ok" and _same(decrypt(g.pin_block, g.ksn, "iso4"), pin)

            # PIN change, the second entry mistyped once
            pin = _new_pin(rng)
            pins.append(pin)
            wrong = pin[:-1] + [(pin[-1] + 1) % 10]
            stages = [pin, wrong, pin, pin]
            with pad.pin_change(pan=PAN, min_len=4, max_len=12, timeout=60) as change:
                for event in change:
                    note(event)
                    if isinstance(event, EntryReady):
                        _press(pad_runner, stages.pop(0), "enter")
            note(change)
            assert change.matched and _same(decrypt(change.pin_block, change.ksn, "iso4"), pin)

            # customer cancel, host cancel, time-out (the pad's time runs 20x)
            for how in ("customer", "host", "timeout"):
                pin = _new_pin(rng)
                pins.append(pin)
                with pad.pin_entry(pan=PAN, min_len=4, max_len=12, timeout=10) as entry:
                    for event in entry:
                        note(event)
                        if isinstance(event, EntryReady):
                            _press(pad_runner, pin[:6])
                        if isinstance(event, DigitAccepted) and event.count == 6:
                            if how == "customer":
                                _press(pad_runner, [], "cancel")
                            elif how == "host":
                                entry.cancel()
                note(entry)
                assert entry.pin_block is None

            # faults: corrupted bytes on the line and a slow key bounce during an entry
            pin = _new_pin(rng)
            pins.append(pin)
            assert pad_runner.command("fault corrupt 3")["ok"]
            assert pad_runner.command("fault corrupt-in 2")["ok"]
            with pad.pin_entry(pan=PAN, min_len=4, max_len=12, timeout=60) as entry:
                for event in entry:
                    note(event)
                    if isinstance(event, EntryReady):
                        _press(pad_runner, pin, "enter")
            note(entry)
            assert _same(decrypt(entry.pin_block, entry.ksn, "iso4"), pin)

            # an unplug mid-entry, then the reconnection and a good entry
            pin = _new_pin(rng)
            pins.append(pin)
            with pytest.raises(DeviceDisconnectedError) as info:
                with pad.pin_entry(pan=PAN, min_len=4, max_len=12, timeout=60) as entry:
                    for event in entry:
                        note(event)
                        if isinstance(event, EntryReady):
                            _press(pad_runner, pin[:5])
                        if isinstance(event, DigitAccepted) and event.count == 5:
                            pad_runner.command("unplug")
            host_texts += [str(info.value), repr(info.value)]
            pad_runner.command("replug")
            pad.reconnect(5.0, transport=pad_runner.loopback())
            with pad.pin_entry(pan=PAN, min_len=4, max_len=12, timeout=60) as entry:
                for event in entry:
                    if isinstance(event, EntryReady):
                        _press(pad_runner, pin, "enter")
            assert _same(decrypt(entry.pin_block, entry.ksn, "iso4"), pin)
            # refusals during an entry: their texts too
            with pad.pin_entry(pan=PAN, min_len=4, max_len=12, timeout=60) as entry:
                for event in entry:
                    if isinstance(event, EntryReady):
                        try:
                            pad.display("free text during PIN entry")
                        except TactileError as exc:
                            host_texts += [str(exc), repr(exc)]
                        entry.cancel()
        transcript = pad_runner.command("transcript")
        guide_transcript = repr(guide.transcript.__dict__)

        # an audit record made on the same pad after the PINs (drivers.confirmation)
        from drivers.confirmation import AuditConfig, ConfirmationSession, open_store

        def customer(event) -> None:
            if isinstance(event, PlaceFinger):
                fp_runner.command("place 2 92")
            elif isinstance(event, LiftFinger):
                fp_runner.command("lift")

        with open_store(str(tmp_path / "trail.db")) as store, \
                FingerprintReader.open(fp_runner.loopback(), close_transport=True) as reader:
            template = reader.enroll(slot=0, on_event=customer)
            fp_runner.command("lift")
            with ConfirmationSession(store, AuditConfig.generate("CANARY-1"), item="canary",
                                     terms="Canary terms.", customer="C-1", reader=reader,
                                     pad=pad, lang="en", on_event=customer) as session:
                session.read_terms()
                session.verify_customer(template)
                session.teller_confirm("T-1")
                session.review("R-2")
            audit = [repr(r) + json.dumps(getattr(r, "content", {}), default=str)
                     for r in store.records()]
        audit_file = (tmp_path / "trail.db").read_bytes()
    finally:
        pad.close()

    where = {"driver events, reprs and exception texts": "\n".join(host_texts),
             "logs at DEBUG": "\n".join(records.texts),
             "simulator events and traces": json.dumps(events, ensure_ascii=False, default=str),
             "spoken transcript": json.dumps(transcript, ensure_ascii=False),
             "guide transcript": guide_transcript,
             "audit records": "\n".join(audit)}
    assert any(e.get("event") == "trace" for e in events) and records.texts and audit
    ignore = {id(pins)} | {id(p) for p in pins}
    for pin in pins:
        text, ascii_, raw, _ = _patterns(pin)
        for name, blob in where.items():
            assert text not in blob, f"a PIN appears in the {name}"
        assert ascii_ not in audit_file and raw not in audit_file, "a PIN is in the audit file"
        del text, ascii_, raw
    where.clear()
    leaks = _reachable_leaks(pins, ignore)
    assert not leaks, f"a PIN is still reachable in this process: {leaks[:5]}"
