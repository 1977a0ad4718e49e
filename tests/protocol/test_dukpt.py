"""DUKPT: every published vector of reference/pin-cryptography.md, plus KSN helpers and KCVs."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.dukpt import (
    AesKeyType,
    KeyUsage,
    TdesVariant,
    aes_counter_valid,
    aes_derivation_data,
    aes_derive_pin_key,
    aes_initial_key,
    aes_kcv,
    aes_ksn,
    aes_ksn_counter,
    aes_ksn_initial_key_id,
    aes_next_counter,
    aes_transaction_key,
    aes_working_key,
    as_bytes,
    tdes_counter_valid,
    tdes_derive_pin_key,
    tdes_initial_ksn,
    tdes_ipek,
    tdes_kcv,
    tdes_ksn,
    tdes_ksn_counter,
    tdes_next_counter,
    tdes_pin_key,
    tdes_transaction_key,
    tdes_variant_key,
)
from protocol.errors import ConfigurationError
from protocol.pinblock import decipher_pin_block, encipher_pin

H = bytes.fromhex

TDES_BDK = H("0123456789ABCDEFFEDCBA9876543210")
TDES_KSN0 = H("FFFF9876543210E00000")
IPEK = H("6AC292FAA1315B4D858AB3A3D7D5933A")

AES_BDK = H("FEDCBA9876543210F1F1F1F1F1F1F1F1")
AES_IKID = H("1234567890123456")
AES_IK = H("1273671EA26AC29AFA4D1084127652A1")


# -- TDES (X9.24-1) ---------------------------------------------------------------------------

def test_tdes_ipek():
    assert tdes_ipek(TDES_BDK, TDES_KSN0) == IPEK
    # the counter bits of the KSN do not matter
    assert tdes_ipek(TDES_BDK, "FFFF9876543210E00007") == IPEK


def test_tdes_transaction_and_pin_keys_counter_1():
    ksn = H("FFFF9876543210E00001")
    tk = tdes_transaction_key(IPEK, ksn)
    assert tk == H("042666B49184CFA368DE9628D0397BC9")
    assert tdes_pin_key(tk) == H("042666B49184CF5C68DE9628D0397B36")
    assert tdes_derive_pin_key(TDES_BDK, ksn) == H("042666B49184CF5C68DE9628D0397B36")


@pytest.mark.parametrize("counter,pin_key", [
    (1, "042666B49184CF5C68DE9628D0397B36"),
    (2, "C46551CEF9FD244FAA9AD834130D3B38"),
    (3, "0DF3D9422ACA561A47676D07AD6BAD05"),
])
def test_tdes_pin_keys_counters_1_to_3(counter, pin_key):
    assert tdes_derive_pin_key(TDES_BDK, tdes_ksn(TDES_KSN0, counter)) == H(pin_key)


@pytest.mark.parametrize("counter,block", [(1, "1B9C1845EB993A7A"), (2, "10A01C8D02C69107")])
def test_tdes_dukpt_iso0_pin_blocks(counter, block):
    ksn = tdes_ksn(TDES_KSN0, counter)
    key = tdes_pin_key(tdes_transaction_key(tdes_ipek(TDES_BDK, ksn), ksn))
    assert encipher_pin("iso0", key, "1234", "4012345678909") == H(block)
    assert decipher_pin_block("iso0", tdes_derive_pin_key(TDES_BDK, ksn), H(block),
                              "4012345678909") == "1234"


def test_tdes_counter_zero_is_the_ipek_and_variants_are_masks():
    assert tdes_transaction_key(IPEK, TDES_KSN0) == IPEK
    tk = tdes_transaction_key(IPEK, tdes_ksn(TDES_KSN0, 1))
    # MAC request key at counter 1 as commonly published with the X9.24-1 test data
    assert tdes_variant_key(tk, TdesVariant.MAC_REQUEST) == H("042666B4918430A368DE9628D03984C9")
    for variant in TdesVariant:
        diff = bytes(a ^ b for a, b in zip(tdes_variant_key(tk, variant), tk))
        assert diff == variant.mask


def test_tdes_ksn_helpers():
    ksn = tdes_ksn("FFFF9876543210E00000", 0x1FFFFF)
    assert ksn == H("FFFF9876543210FFFFFF")
    assert tdes_ksn_counter(ksn) == 0x1FFFFF
    assert tdes_initial_ksn(ksn) == H("FFFF9876543210E00000")
    with pytest.raises(ConfigurationError, match="0..2097151"):
        tdes_ksn(TDES_KSN0, 1 << 21)
    with pytest.raises(ConfigurationError, match="10 bytes"):
        tdes_ksn_counter(b"\x00" * 9)


def test_tdes_counter_sequence_skips_more_than_ten_bits():
    assert tdes_next_counter(1) == 2
    c = 0b1111111111  # ten bits: next is 0b10000000000
    assert tdes_counter_valid(c)
    assert tdes_next_counter(c) == 0b10000000000
    c = 0b11111111110  # next would be ...11111 (11 bits): skip to 0b100000000000
    assert tdes_next_counter(c) == 0b100000000000
    with pytest.raises(ConfigurationError, match="exhausted"):
        tdes_next_counter(0x1FF800)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, (1 << 21) - 2))
def test_tdes_next_counter_is_valid_and_larger(counter):
    try:
        nxt = tdes_next_counter(counter)
    except ConfigurationError:
        return
    assert nxt > counter and tdes_counter_valid(nxt)


# -- AES (X9.24-3-2017) -----------------------------------------------------------------------

def test_aes_initial_key_and_its_derivation_data():
    assert aes_derivation_data(KeyUsage.KEY_DERIVATION_INITIAL_KEY, AesKeyType.AES128,
                               AES_IKID) == H("01018001000200801234567890123456")
    assert aes_initial_key(AES_BDK, AES_IKID) == AES_IK


@pytest.mark.parametrize("counter,key", [
    (1, "4F21B565BAD9835E112B6465635EAE44"),
    (2, "2F34D68DE10F68D38091A73B9E7C437C"),
    (8, "718EE6CF0B27E53D5F7AF99C4D8146A2"),
    (0xFFFF0000, "F6BA59389BD14A9855BE9727E7C52E3C"),
])
def test_aes_transaction_keys(counter, key):
    assert aes_transaction_key(AES_IK, aes_ksn(AES_IKID, counter)) == H(key)


def test_aes_pin_working_key_counter_1():
    ksn = aes_ksn(AES_IKID, 1)
    tk = aes_transaction_key(AES_IK, ksn)
    assert aes_working_key(tk, ksn) == H("AF8CB133A78F8DC2D1359F18527593FB")
    assert aes_working_key(tk, ksn, KeyUsage.PIN_ENCRYPTION, AesKeyType.AES128) == \
        H("AF8CB133A78F8DC2D1359F18527593FB")
    assert aes_derive_pin_key(AES_BDK, ksn) == H("AF8CB133A78F8DC2D1359F18527593FB")
    # another usage gives another key
    assert aes_working_key(tk, ksn, KeyUsage.MAC_GENERATION) != H("AF8CB133A78F8DC2D1359F18527593FB")


def test_aes_derivation_data_for_working_keys():
    data = aes_derivation_data(KeyUsage.PIN_ENCRYPTION, AesKeyType.AES128, AES_IKID, 1)
    assert data == H("0101100000020080" "90123456" "00000001")


def test_aes_ksn_helpers_and_counters():
    ksn = aes_ksn("1234567890123456", 0xFFFF0000)
    assert ksn == H("1234567890123456FFFF0000")
    assert aes_ksn_counter(ksn) == 0xFFFF0000
    assert aes_ksn_initial_key_id(ksn) == AES_IKID
    assert aes_counter_valid(0xFFFF0000) and not aes_counter_valid(0xFFFF0001)
    assert aes_next_counter(0x0FFFF000) == 0x10000000  # skips every 17-bit counter between
    with pytest.raises(ConfigurationError, match="exhausted"):
        aes_next_counter(0xFFFF0000)  # the last usable counter
    with pytest.raises(ConfigurationError):
        aes_ksn(AES_IKID, 1 << 32)


def test_aes_256_bdk_derives_256_bit_keys():
    bdk = bytes(range(32))
    ik = aes_initial_key(bdk, AES_IKID)
    assert len(ik) == 32 and ik[:16] != ik[16:]
    ksn = aes_ksn(AES_IKID, 5)
    assert len(aes_transaction_key(ik, ksn)) == 32
    assert len(aes_derive_pin_key(bdk, ksn, AesKeyType.AES256)) == 32


def test_aes_working_key_cannot_be_longer_than_its_parent():
    with pytest.raises(ConfigurationError, match="AES256"):
        aes_working_key(AES_IK, aes_ksn(AES_IKID, 1), key_type=AesKeyType.AES256)


# -- check values and input forms -------------------------------------------------------------

def test_tdes_kcv():
    assert tdes_kcv(TDES_BDK) == H("08D7B4")
    assert tdes_kcv(TDES_BDK + TDES_BDK[:8]) == H("08D7B4")


def _cmac_by_hand(key: bytes, block: bytes) -> bytes:
    """RFC 4493 for a one-block message, written out to check the library-based aes_kcv."""
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    l_ = int.from_bytes(enc.update(bytes(16)), "big")
    k1 = ((l_ << 1) & ((1 << 128) - 1)) ^ (0x87 if l_ >> 127 else 0)
    m = int.from_bytes(block, "big") ^ k1
    return enc.update(m.to_bytes(16, "big"))


def test_aes_kcv_methods():
    assert aes_kcv(AES_BDK) == _cmac_by_hand(AES_BDK, bytes(16))[:5]
    enc = Cipher(algorithms.AES(AES_BDK), modes.ECB()).encryptor()
    assert aes_kcv(AES_BDK, "ecb") == enc.update(bytes(16))[:5]
    assert aes_kcv(AES_BDK) != aes_kcv(AES_BDK, "ecb")
    with pytest.raises(ConfigurationError, match="cmac"):
        aes_kcv(AES_BDK, "sha")


def test_hex_text_is_accepted_and_bad_input_is_typed():
    assert as_bytes("01 02", "key", (2,)) == b"\x01\x02"
    with pytest.raises(ConfigurationError, match="hexadecimal"):
        tdes_ipek("XYZ", TDES_KSN0)
    with pytest.raises(ConfigurationError, match="16 bytes"):
        tdes_ipek(bytes(8), TDES_KSN0)
