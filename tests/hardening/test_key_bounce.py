"""A bouncing key is one press (issue 9): the pad debounces keys (SPEC 6.3, 10: KEY_DEBOUNCE).

``pad-fault key-bounce KEY [MS]`` makes KEY's contact close again MS ms (default 5) after
every press.  Inside the debounce interval that is the same press: no extra digit, and the
PIN block holds the PIN typed.  A bounce slower than the interval reaches the host as a
repeat (what a technician's key test looks for).
"""

from __future__ import annotations

import pytest

from drivers.pinpad import DigitAccepted, TactilePinPad
from pinpad_harness import PadHarness
from pinpad_rig import PAN, decrypt, new_runner
from protocol.tpp import messages as m
from protocol.tpp.codes import KEY_DEBOUNCE


def _typed(spec: str, keys: str, gap: float = 0.2) -> list[int]:
    pad = PadHarness()
    assert pad.command(f"pad-fault {spec}")["ok"]
    pad.ok(m.PinEntry(lang="en"))
    for key in keys:
        pad.press(key)
        pad.advance(gap)
    return [d.digits for d in pad.of(m.DigitEntered)]


def test_a_bounce_inside_the_debounce_interval_is_one_press():
    assert _typed("key-bounce 7", "1777") == [1, 2, 3, 4]
    assert _typed(f"key-bounce 7 {KEY_DEBOUNCE * 1000 - 1:g}", "7") == [1]


def test_a_bounce_slower_than_the_debounce_interval_is_a_repeat():
    assert _typed(f"key-bounce 7 {KEY_DEBOUNCE * 1000 + 30:g}", "17") == [1, 2, 3]


def test_fast_clean_presses_of_one_key_all_count():
    """Two commands for the same key closer than the debounce in real time are two presses
    by the customer (no finger is that fast, so the pad registers them that far apart)."""
    assert _typed("clear", "1111", gap=0.0) == [1, 2, 3, 4]


@pytest.mark.parametrize("spec", ["key-bounce 7 0", "key-bounce 7 abc", "key-bounce 7 5 9"])
def test_bad_bounce_intervals_are_refused_plainly(spec):
    pad = PadHarness()
    with pytest.raises(Exception) as info:
        pad.device.command(f"pad-fault {spec}")
    assert "pad-fault" in str(info.value) or "millisecond" in str(info.value)


def test_key_bounce_7_no_longer_gives_a_wrong_pin_block():
    runner = new_runner()
    try:
        assert runner.command("pad-fault key-bounce 7")["ok"]
        with TactilePinPad.open(runner.loopback()) as pad:
            runner.command("script press 1; press 7; press 3; press 7; press enter")
            with pad.pin_entry(pan=PAN, timeout=30) as entry:
                events = list(entry)
        assert [e.count for e in events if isinstance(e, DigitAccepted)] == [1, 2, 3, 4]
        assert entry.digits == 4
        assert decrypt(entry.pin_block, entry.ksn, "iso4") == "1737"
    finally:
        runner.stop()


def test_the_spec_documents_the_debounce_interval_the_pad_uses():
    from pathlib import Path

    import protocol.tpp

    spec = (Path(protocol.tpp.__file__).parent / "SPEC.md").read_text(encoding="utf-8")
    ms = f"{KEY_DEBOUNCE * 1000:g} ms"
    assert f"| key debounce | {ms} (KEY_DEBOUNCE) |" in spec          # section 10
    assert f"KEY_DEBOUNCE = {ms}" in spec                             # section 6.3
