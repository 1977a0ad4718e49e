"""ISO 9564 PIN blocks: every published vector, field layouts, round trips, errors."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import ConfigurationError
from protocol.pinblock import (
    PinBlockError,
    PinBlockFormat,
    build_pan_field,
    build_pin_field,
    clear_pin_block,
    decipher_pin_block,
    decipher_to_pin_field,
    encipher_fields,
    encipher_pin,
    iso4_trace,
    luhn_valid,
    parse_pin_field,
    tdes_key24,
    validate_pan,
    validate_pin,
)

H = bytes.fromhex


def fixed(hexstr: str):
    """A random source that returns exactly these bytes (once)."""
    data = H(hexstr)

    def source(n: int) -> bytes:
        assert n == len(data)
        return data
    return source


# -- published vectors (reference/pin-cryptography.md) ---------------------------------------

def test_iso4_worked_example_with_intermediates():
    key = H("AF8CB133A78F8DC2D1359F18527593FB")
    pin_field = build_pin_field("iso4", "1234", rng=fixed("2F69ADDE2E9E7ACE"))
    assert pin_field == H("441234AAAAAAAAAA2F69ADDE2E9E7ACE")
    pan_field = build_pan_field("iso4", "4111111111111111")
    assert pan_field == H("44111111111111111000000000000000")
    trace = iso4_trace(key, pin_field, pan_field)
    assert trace.intermediate_a == H("DE84127CF6DCA7DFE47BDE89057CB820")
    assert trace.intermediate_b == H("9A95036DE7CDB6CEF47BDE89057CB820")
    assert trace.pin_block == H("A912150391AB65A67E52883D81CE2D15")
    block = encipher_pin(PinBlockFormat.ISO4, key, "1234", "4111111111111111",
                         rng=fixed("2F69ADDE2E9E7ACE"))
    assert block == H("A912150391AB65A67E52883D81CE2D15")
    assert decipher_to_pin_field("iso4", key, block, "4111111111111111") == pin_field
    assert decipher_pin_block("iso4", key, block, "4111111111111111") == "1234"


def test_iso4_second_vector_19_digit_pan():
    key = H("00112233445566778899AABBCCDDEEFF")
    pan = "1234567890123456789"
    assert build_pan_field("iso4", pan) == H("71234567890123456789000000000000")
    block = encipher_pin("iso4", key, "1234", pan, rng=fixed("FF" * 8))
    assert block == H("28B41FDDD29B743E93124BD8E32D921E")
    assert decipher_pin_block("iso4", key, block, pan) == "1234"


def test_iso0_dukpt_example_counter_1_and_2():
    pan = "4012345678909"
    assert clear_pin_block("iso0", "1234", pan) == H("041274EDCBA9876F")
    key1 = H("042666B49184CF5C68DE9628D0397B36")
    assert encipher_pin("iso0", key1, "1234", pan) == H("1B9C1845EB993A7A")
    key2 = H("C46551CEF9FD244FAA9AD834130D3B38")
    assert encipher_pin("iso0", key2, "1234", pan) == H("10A01C8D02C69107")
    assert decipher_pin_block("iso0", key1, H("1B9C1845EB993A7A"), pan) == "1234"
    # the same key given as 24 bytes (K1K2K1) gives the same block
    assert encipher_pin("iso0", tdes_key24(key1), "1234", pan) == H("1B9C1845EB993A7A")


def test_sm4_cipher_vector_through_the_sm4_configuration():
    # GB/T 32907 vector: key = plaintext = 0123...3210 -> 681EDF34...; in the iso4-like
    # construction with an all-zero PAN field, B = A, so block = SM4(SM4(pin field)).
    key = H("0123456789ABCDEFFEDCBA9876543210")
    trace = iso4_trace(key, key, bytes(16), "sm4-iso4-like")
    assert trace.intermediate_a == H("681EDF34D206965E86B3E94F536E4246")


# -- field layouts ---------------------------------------------------------------------------

def test_iso0_pin_field_layout():
    assert build_pin_field("iso0", "123456789012") == H("0C123456789012FF")
    assert build_pan_field("iso0", "4012345678909") == H("0000401234567890")
    # a short PAN is padded on the left with zeros
    assert build_pan_field("iso0", "123456789") == H("0000000012345678")


def test_iso1_and_iso3_fill():
    f1 = build_pin_field("iso1", "1234", rng=random.Random(1))
    assert f1.hex().upper().startswith("141234")
    assert f1 != build_pin_field("iso1", "1234", rng=random.Random(3))  # the fill is random
    f3 = build_pin_field("iso3", "123456", rng=random.Random(2))
    text = f3.hex().upper()
    assert text.startswith("36123456")
    assert all(c in "ABCDEF" for c in text[8:])


def test_iso3_fill_uses_every_letter_and_no_digit():
    seen = set()
    rng = random.Random(5)
    for _ in range(50):
        seen |= set(build_pin_field("iso3", "1234", rng=rng).hex().upper()[6:])
    assert seen == set("ABCDEF")


def test_iso4_short_pan_sets_m_zero_and_pads():
    assert build_pan_field("iso4", "123456789") == H("00001234567890000000000000000000")


def test_format_parse_and_properties():
    assert PinBlockFormat.parse("ISO-4") is PinBlockFormat.ISO4
    assert PinBlockFormat.parse("0") is PinBlockFormat.ISO0
    assert PinBlockFormat.parse("sm4-iso4-like") is PinBlockFormat.SM4_ISO4_LIKE
    assert not PinBlockFormat.SM4_ISO4_LIKE.is_standard
    assert PinBlockFormat.ISO0.block_size == 8 and PinBlockFormat.ISO4.block_size == 16
    assert not PinBlockFormat.ISO1.uses_pan
    with pytest.raises(ConfigurationError, match="iso0, iso1"):
        PinBlockFormat.parse("iso2")


# -- round trips -----------------------------------------------------------------------------

pins = st.text("0123456789", min_size=4, max_size=12)
pans = st.text("0123456789", min_size=8, max_size=19)
KEYS = {
    PinBlockFormat.ISO0: [16, 24], PinBlockFormat.ISO1: [16, 24], PinBlockFormat.ISO3: [16, 24],
    PinBlockFormat.ISO4: [16, 24, 32], PinBlockFormat.SM4_ISO4_LIKE: [16],
}


@settings(max_examples=150, deadline=None)
@given(fmt=st.sampled_from(list(PinBlockFormat)), pin=pins, pan=pans, seed=st.integers(0, 2**32),
       data=st.data())
def test_round_trip_every_format(fmt, pin, pan, seed, data):
    rng = random.Random(seed)
    key = rng.randbytes(data.draw(st.sampled_from(KEYS[fmt])))
    block = encipher_pin(fmt, key, pin, pan, rng=rng)
    assert len(block) == fmt.block_size
    assert decipher_pin_block(fmt, key, block, pan if fmt.uses_pan else None) == pin


@settings(max_examples=60, deadline=None)
@given(fmt=st.sampled_from([f for f in PinBlockFormat if f.uses_pan]), pin=pins,
       pan=st.text("0123456789", min_size=13, max_size=19), seed=st.integers(0, 2**32))
def test_wrong_pan_does_not_give_the_pin_back(fmt, pin, pan, seed):
    rng = random.Random(seed)
    key = rng.randbytes(16)
    block = encipher_pin(fmt, key, pin, pan, rng=rng)
    # change the PAN digit that iso0/iso3 XOR onto the third PIN digit (nibble 4 of the block);
    # iso4 enciphers the whole PAN field, so any change would do
    i = len(pan) - 13
    other = pan[:i] + str((int(pan[i]) + 1) % 10) + pan[i + 1:]
    try:
        got = decipher_pin_block(fmt, key, block, other)
    except PinBlockError:
        return
    assert got != pin


def test_random_fill_differs_between_calls_by_default():
    key = bytes(range(16))
    a = encipher_pin("iso4", key, "1234", "4111111111111111")
    b = encipher_pin("iso4", key, "1234", "4111111111111111")
    assert a != b


# -- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", "", "１２３４"])
def test_bad_pins_are_rejected_without_echoing_them(pin):
    with pytest.raises(ConfigurationError) as info:
        validate_pin(pin)
    assert pin == "" or pin not in str(info.value)


@pytest.mark.parametrize("pan", ["1234567", "12345678901234567890", "4111 1111", "abc45678"])
def test_bad_pans_are_rejected(pan):
    with pytest.raises(ConfigurationError):
        validate_pan(pan)


def test_luhn():
    assert luhn_valid("4111111111111111") and luhn_valid("4012345678909")
    assert not luhn_valid("4111111111111112")
    validate_pan("4111111111111111", check_luhn=True)
    with pytest.raises(ConfigurationError, match="Luhn"):
        validate_pan("4111111111111112", check_luhn=True)


def test_bad_keys_and_missing_pan():
    with pytest.raises(ConfigurationError, match="16 or 24 bytes"):
        encipher_pin("iso0", bytes(8), "1234", "4111111111111111")
    with pytest.raises(ConfigurationError, match="16 or 24 or 32"):
        encipher_pin("iso4", bytes(20), "1234", "4111111111111111")
    with pytest.raises(ConfigurationError, match="needs the PAN"):
        encipher_pin("iso3", bytes(16), "1234")
    with pytest.raises(ConfigurationError, match="does not use a PAN"):
        build_pan_field("iso1", "4111111111111111")
    with pytest.raises(ConfigurationError, match="no single clear block"):
        clear_pin_block("iso4", "1234", "4111111111111111")


def test_malformed_field_raises_pin_block_error():
    with pytest.raises(PinBlockError):
        parse_pin_field("iso0", H("141234FFFFFFFFFF"))  # wrong control nibble
    with pytest.raises(PinBlockError):
        parse_pin_field("iso0", H("031234FFFFFFFFFF"))  # length 3
    with pytest.raises(PinBlockError):
        parse_pin_field("iso0", H("04123AFFFFFFFFFF"))  # non-digit
    with pytest.raises(PinBlockError):
        parse_pin_field("iso3", H("041234ABCDEF0BCD"))  # digit in iso3 fill
    with pytest.raises(PinBlockError):
        decipher_pin_block("iso0", bytes(16), H("1B9C1845EB993A7A"), "4012345678909")


def test_random_source_must_give_enough_bytes():
    with pytest.raises(ConfigurationError, match="returned 2 bytes"):
        build_pin_field("iso4", "1234", rng=lambda n: b"\0\0")


def test_encipher_fields_checks_lengths():
    with pytest.raises(ConfigurationError, match="PIN field must be 8 bytes"):
        encipher_fields("iso0", bytes(16), bytes(7), bytes(8))
