"""Secrecy: random PINs through every path; no PIN digit sequence in anything the pad emits.

Checked for every example: every stdout event of the simulator (say, display, tone, haptic,
mode, script, trace lines, say-failed ...), every control command reply, every message the host
received, every exception text raised on the way, and the raw bytes on the wire (as ASCII).
Also: every utterance spoken during PIN entry is an entry of the fixed prompt table, and every
digit key gives the same feedback.  Only the enciphered block, the KSN and key check values are
hex strings from the crypto; they are excluded from the text search (random hex can contain any
digit run) and checked by decryption instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pinpad_harness import PadHarness
from protocol import dukpt, pinblock
from protocol.pinblock import PinBlockFormat
from protocol.tpp import describe
from protocol.tpp import messages as m
from protocol.tpp.prompts import PROMPTS

AES_BDK = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
TDES_BDK = "0123456789ABCDEFFEDCBA9876543210"
SM4_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
PAN = "5413330089020011"
#: hex fields produced by the cryptography (ciphertext, KSN, KCV), not by the PIN's text
_CRYPTO_FIELDS = {"block", "ksn", "kcv"}


def _strings(value: Any, key: str = "") -> list[str]:
    """Every string inside a JSON-like value, crypto hex fields excluded."""
    if key in _CRYPTO_FIELDS:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += [k] + _strings(v, k)
        return out
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _all_prompt_texts() -> set[str]:
    texts = set()
    for p in PROMPTS.values():
        for lang in ("zh-CN", "en"):
            if p.arity == 0:
                texts.add(p.text(lang))
    return texts


def _is_prompt(text: str) -> bool:
    """``text`` is a fixed prompt, or one page of one as the pad lays it out (lines joined,
    the ``n/N`` page line dropped): a contiguous run of a prompt's words, its argument a number
    of at most three digits (the prompts themselves hold no digit)."""
    lines = text.split("\n")
    if len(lines) > 1 and re.fullmatch(r"\d+/\d+", lines[-1]):
        lines = lines[:-1]
    flat = re.sub(r"\d+", lambda d: "#" if len(d.group()) <= 3 else d.group(),
                  "".join(lines).replace(" ", ""))
    return bool(flat) and any(
        flat in template.replace("{0}", "#").replace(" ", "")
        for p in PROMPTS.values() for template in (p.zh, p.en, p.en_one or p.en))


_FIXED = _all_prompt_texts()


def _decipher(fmt: PinBlockFormat, reply: m.PinBlockReply) -> str:
    if fmt.cipher == "aes":
        key = dukpt.aes_derive_pin_key(AES_BDK, reply.ksn)
    elif fmt.cipher == "tdes":
        key = dukpt.tdes_derive_pin_key(TDES_BDK, reply.ksn)
    else:
        key = SM4_KEY
    return pinblock.decipher_pin_block(fmt, key, reply.block, PAN if fmt.uses_pan else None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pin=st.text("0123456789", min_size=4, max_size=12),
       path=st.sampled_from(["entry", "change", "script"]),
       fmt=st.sampled_from(list(PinBlockFormat)),
       headset=st.booleans(), lang=st.sampled_from(["en", "zh-CN"]),
       corrections=st.booleans())
def test_no_pin_digit_sequence_leaves_the_pad(pin, path, fmt, headset, lang, corrections):
    assume(pin not in PAN)
    pad = PadHarness(trace=True)
    errors: list[str] = []
    if headset:
        pad.command("headset in")
    start_events = len(pad.events)
    if path == "change":
        pad.ok(m.PinChange(lang=lang, min_len=4, max_len=12))
    else:
        pad.ok(m.PinEntry(lang=lang, min_len=4, max_len=12))
    entry_start = len(pad.events)
    keys = list(pin)
    if corrections:  # type a wrong digit, erase it, and a wrong run, clear it
        keys = [pin[0], "backspace", pin[1], pin[0], "clear"] + keys
    keys.append("enter")
    if path == "change":
        keys += list(pin) + ["enter"]
    if path == "script":
        pad.command("script " + "; ".join(f"press {k}" for k in keys))
        pad.advance(0.15 * (len(keys) + 2))
    else:
        for k in keys:
            pad.press(k)
    entry_end = len(pad.events)
    # a mistyped PAN first: the refusal must not consume the PIN nor echo anything secret
    bad = pad.request(m.GetPinBlock(format=fmt, customer_data="999"))  # too short to hold a PIN
    if fmt.uses_pan:
        assert isinstance(bad, m.Refused)
    reply = pad.request(m.GetPinBlock(format=fmt, customer_data=PAN))
    if isinstance(reply, m.Refused):  # iso1 took the PIN with the "bad" (ignored) data
        assert not fmt.uses_pan
        reply = bad
    assert _decipher(fmt, reply) == pin
    try:
        pad.device.command("press x" + pin)  # a bogus key spelled with the PIN
    except Exception as exc:  # noqa: BLE001 - the message is what we check
        errors.append(str(exc))

    texts: list[str] = []
    for event in pad.events:
        texts += _strings(event)
    for reply_obj in pad.replies:
        texts += _strings(reply_obj)
    for item in pad.received:
        texts += _strings(describe(item))
    assert errors  # the bogus key was refused
    texts += errors
    for text in texts:
        assert pin not in text, f"PIN digits leaked in {text!r}"
    for chunk in pad.wire:
        assert pin.encode() not in chunk
    assert pin not in "\n".join(json.dumps(e, ensure_ascii=False) for e in pad.events
                                if e.get("event") != "trace" or e.get("message") !=
                                "PinBlockReply")

    # during entry only fixed prompts are spoken; digit feedback is one neutral tone
    for e in pad.events[entry_start:entry_end]:
        if e["event"] == "say":
            assert _is_prompt(e["text"]), e["text"]
        if e["event"] == "tone":
            assert e["tone"] in ("key", "inactive", "error", "success", "warning")
            if e["tone"] == "key":
                assert (e["freq"], e["ms"]) == (1000, 60)
        if e["event"] == "display":
            if re.match(r"(PIN:|密码：)", e["text"]):
                assert re.fullmatch(r"(PIN:|密码：)[\s*]*", e["text"]), e["text"]
            else:
                assert _is_prompt(e["text"]), e["text"]
    assert start_events <= entry_start
