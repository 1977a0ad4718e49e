"""THE property of guided PIN entry (issue 6): everything the customer hears, sees or feels
during the entry, and everything the teller's feed shows, depends only on the sequence of key
CLASSES (digit / clear / backspace / enter / cancel / help), never on which digits.

Hypothesis draws a profile, a language, PIN length limits and a random sequence of key classes,
then two different digit assignments for the digit presses.  Each assignment runs on a fresh
simulated pad with the same fixed timing (the pad's clock is injected: every key is followed by
the same pause), with a full Guide (instructions before, feedback during, result after).  The
pad's customer-perceivable events (say, say-stopped, display, tone, haptic, audio: their text,
ids, durations, patterns, channels, in order), the teller's feed and the events the teller
application iterates must be identical between the two runs.  The PIN typed also appears in
none of them.

A PIN change compares its two entries inside the pad, so there the outcome may depend on
whether they are equal, and on nothing else: the second run relabels every digit through a
random permutation of 0-9 (equal entries stay equal, different ones stay different).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guided_entry_rig import EntryRig
from protocol.layout import DIGIT_KEY_NAMES

CLASSES = ("digit", "clear", "backspace", "enter", "cancel", "help")
#: digits come up most often, as at a real pad
CLASS = st.sampled_from(CLASSES[:1] * 5 + CLASSES[1:])
PROFILES = ("blind", "low-vision", "deaf", "elderly", "standard")


def run(profile: str, lang: str, min_len: int, max_len: int, classes: list[str],
        digits: list[int], change: bool = False) -> dict:
    """One guided entry (or change); returns everything perceived and shown, in order."""
    with EntryRig(lang=lang, profile=profile) as rig:
        rig.start(change=change, min_len=min_len, max_len=max_len)
        typed = iter(digits)
        for cls in classes:
            if not rig.entry.running:
                break
            rig.step(DIGIT_KEY_NAMES[next(typed)] if cls == "digit" else cls)
        rig.finish()
        return {"perceived": rig.perceived, "feed": list(rig.feed),
                "events": [repr(e) for e in rig.events], "status": rig.entry.status,
                "digits": rig.entry.digits}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), profile=st.sampled_from(PROFILES), lang=st.sampled_from(["en", "zh-CN"]),
       min_len=st.integers(4, 6), extra=st.integers(0, 2),
       classes=st.lists(CLASS, min_size=0, max_size=16))
def test_what_is_perceived_depends_only_on_key_classes(data, profile, lang, min_len, extra,
                                                        classes):
    n = classes.count("digit")
    digits = st.lists(st.integers(0, 9), min_size=n, max_size=n)
    first = data.draw(digits, label="first digits")
    second = data.draw(digits.filter(lambda d: d != first or n == 0), label="second digits")
    a = run(profile, lang, min_len, min_len + extra, classes, first)
    b = run(profile, lang, min_len, min_len + extra, classes, second)
    assert a["feed"] == b["feed"]
    assert a["events"] == b["events"]
    assert a["perceived"] == b["perceived"]
    assert (a["status"], a["digits"]) == (b["status"], b["digits"])
    # and none of it names the digits: no run of the typed digits appears anywhere
    for result, typed in ((a, first), (b, second)):
        if len(typed) >= 4:
            text = json.dumps(result, ensure_ascii=False)
            assert "".join(map(str, typed)) not in text


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile=st.sampled_from(PROFILES), lang=st.sampled_from(["en", "zh-CN"]),
       pin=st.lists(st.integers(0, 9), min_size=4, max_size=4),
       slip=st.booleans(), classes=st.lists(CLASS, min_size=0, max_size=10),
       permutation=st.permutations(range(10)).filter(lambda p: list(p) != list(range(10))))
def test_pin_change_depends_only_on_key_classes_and_whether_the_entries_match(
        profile, lang, pin, slip, classes, permutation):
    """A PIN change also compares the two entries: relabelling every digit (any permutation
    of 0-9) keeps which entries are equal, so everything perceived must stay the same."""
    second = pin[:-1] + [(pin[-1] + 1) % 10] if slip else pin
    keys = ["digit"] * 4 + ["enter"] + ["digit"] * 4 + ["enter"] + classes
    digits = pin + second + [d % 10 for d in range(classes.count("digit"))]
    a = run(profile, lang, 4, 4, keys, digits, change=True)
    b = run(profile, lang, 4, 4, keys, [permutation[d] for d in digits], change=True)
    assert a["feed"] == b["feed"]
    assert a["events"] == b["events"]
    assert a["perceived"] == b["perceived"]
    assert (a["status"], a["digits"]) == (b["status"], b["digits"])
