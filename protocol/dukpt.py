"""DUKPT key derivation: TDES (ANSI X9.24-1) and AES (ANSI X9.24-3-2017), host and pad helpers.

Pure functions over bytes.  Ciphers come from ``cryptography`` (TDES from ``hazmat.decrepit``
with 24-byte keys, AES, CMAC); the derivation steps themselves are written by hand because no
maintained Python DUKPT package exists (the one on the package index fails on Python 3).  Every
function is proven against the published vectors in ``tests/protocol/test_dukpt.py``.

Who uses what:

* the pad stores the initial key (TDES IPEK / AES initial key) and its counter, and derives the
  current transaction key and the PIN working key from them;
* the host (or the demo verifying a PIN block with the published TEST BDKs) derives the same
  keys from the BDK and the KSN the pad returns: :func:`tdes_derive_pin_key`,
  :func:`aes_derive_pin_key`.

TDES KSN: 10 bytes = 59-bit initial KSN || 21-bit transaction counter.
AES KSN: 12 bytes = 8-byte initial key ID (BDK ID 4 || derivation ID 4) || 32-bit counter.

Key check values: TDES - encrypt eight zero bytes, keep the first 3 bytes (X9.24-1).
AES - AES-CMAC over one block of zero bytes, keep the first 5 bytes (X9.24-1-2017 / TR-31
practice); the legacy "encrypt a zero block" method is available as ``method="ecb"``.
"""

from __future__ import annotations

import enum

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from protocol.errors import ConfigurationError

__all__ = [
    "TdesVariant",
    "KeyUsage",
    "AesKeyType",
    "TDES_KSN_LENGTH",
    "TDES_COUNTER_MAX",
    "AES_KSN_LENGTH",
    "AES_COUNTER_MAX",
    "as_bytes",
    # TDES
    "tdes_ksn",
    "tdes_ksn_counter",
    "tdes_initial_ksn",
    "tdes_ipek",
    "tdes_transaction_key",
    "tdes_variant_key",
    "tdes_pin_key",
    "tdes_derive_pin_key",
    "tdes_counter_valid",
    "tdes_next_counter",
    # AES
    "aes_ksn",
    "aes_ksn_counter",
    "aes_ksn_initial_key_id",
    "aes_derivation_data",
    "aes_initial_key",
    "aes_transaction_key",
    "aes_working_key",
    "aes_derive_pin_key",
    "aes_counter_valid",
    "aes_next_counter",
    # check values
    "tdes_kcv",
    "aes_kcv",
]

TDES_KSN_LENGTH = 10
TDES_COUNTER_BITS = 21
TDES_COUNTER_MAX = (1 << TDES_COUNTER_BITS) - 1
AES_KSN_LENGTH = 12
AES_COUNTER_MAX = 0xFFFFFFFF

_TDES_KEY_MASK = bytes.fromhex("C0C0C0C000000000C0C0C0C000000000")


def as_bytes(value: bytes | bytearray | str, what: str, lengths: tuple[int, ...]) -> bytes:
    """``value`` as bytes (hex text accepted, spaces ignored), checked against ``lengths``."""
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value.replace(" ", ""))
        except ValueError:
            raise ConfigurationError(f"the {what} must be hexadecimal text or bytes") from None
    if not isinstance(value, (bytes, bytearray)):
        raise ConfigurationError(f"the {what} must be bytes or hexadecimal text")
    if len(value) not in lengths:
        raise ConfigurationError(
            f"the {what} must be " + " or ".join(str(n) for n in lengths)
            + f" bytes, it is {len(value)}")
    return bytes(value)


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _tdes_encrypt(key: bytes, block: bytes) -> bytes:
    # 8 bytes -> K K K (single DES), 16 -> K1 K2 K1: cryptography warns on short keys
    if len(key) == 8:
        key = key * 3
    elif len(key) == 16:
        key = key + key[:8]
    enc = Cipher(TripleDES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def _aes_encrypt(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


# == TDES DUKPT (X9.24-1) ====================================================================

class TdesVariant(enum.Enum):
    """X9.24-1 variant masks applied to a transaction key to get a working key."""

    PIN = "00000000000000FF00000000000000FF"
    MAC_REQUEST = "000000000000FF00000000000000FF00"
    MAC_RESPONSE = "00000000FF00000000000000FF000000"
    DATA_REQUEST = "0000000000FF00000000000000FF0000"
    DATA_RESPONSE = "000000FF00000000000000FF00000000"

    @property
    def mask(self) -> bytes:
        return bytes.fromhex(self.value)


def tdes_ksn(initial_ksn: bytes | str, counter: int) -> bytes:
    """The 10-byte KSN for ``counter`` (0..2**21-1) under ``initial_ksn``."""
    base = tdes_initial_ksn(initial_ksn)
    if not 0 <= counter <= TDES_COUNTER_MAX:
        raise ConfigurationError(
            f"a TDES DUKPT counter must be 0..{TDES_COUNTER_MAX}, not {counter}")
    return (int.from_bytes(base, "big") | counter).to_bytes(TDES_KSN_LENGTH, "big")


def tdes_ksn_counter(ksn: bytes | str) -> int:
    """The 21-bit transaction counter of a TDES KSN."""
    ksn = as_bytes(ksn, "TDES KSN", (TDES_KSN_LENGTH,))
    return int.from_bytes(ksn, "big") & TDES_COUNTER_MAX


def tdes_initial_ksn(ksn: bytes | str) -> bytes:
    """The KSN with its counter bits cleared (as loaded with the IPEK)."""
    ksn = as_bytes(ksn, "TDES KSN", (TDES_KSN_LENGTH,))
    return (int.from_bytes(ksn, "big") & ~TDES_COUNTER_MAX).to_bytes(TDES_KSN_LENGTH, "big")


def tdes_ipek(bdk: bytes | str, ksn: bytes | str) -> bytes:
    """The 16-byte initial PIN encryption key for the device whose KSN is ``ksn``."""
    bdk = as_bytes(bdk, "TDES BDK", (16,))
    reg = tdes_initial_ksn(ksn)[:8]
    left = _tdes_encrypt(bdk, reg)
    right = _tdes_encrypt(_xor(bdk, _TDES_KEY_MASK), reg)
    return left + right


def _tdes_nrkgp(key: bytes, data: bytes) -> bytes:
    """X9.24-1 non-reversible key generation process (single-DES halves)."""

    def half(k: bytes) -> bytes:
        return _xor(_tdes_encrypt(k[:8], _xor(data, k[8:])), k[8:])

    right = half(key)
    left = half(_xor(key, _TDES_KEY_MASK))
    return left + right


def tdes_transaction_key(ipek: bytes | str, ksn: bytes | str) -> bytes:
    """The transaction ("future") key for ``ksn``, derived from the IPEK.

    Walks the counter's set bits from the most significant one, as a host does; the result is
    the key the pad holds for that counter.  Counter 0 gives the IPEK itself.
    """
    key = as_bytes(ipek, "TDES IPEK", (16,))
    ksn = as_bytes(ksn, "TDES KSN", (TDES_KSN_LENGTH,))
    counter = tdes_ksn_counter(ksn)
    reg = int.from_bytes(tdes_initial_ksn(ksn)[2:], "big")  # rightmost 64 bits, counter cleared
    bit = 1 << (TDES_COUNTER_BITS - 1)
    while bit:
        if counter & bit:
            reg |= bit
            key = _tdes_nrkgp(key, reg.to_bytes(8, "big"))
        bit >>= 1
    return key


def tdes_variant_key(transaction_key: bytes | str, variant: TdesVariant) -> bytes:
    """``transaction_key`` XOR the variant mask (PIN, MAC or data, request or response).

    For data keys X9.24-1-2009 adds a one-way step on top of the variant; this returns the
    variant only.
    """
    key = as_bytes(transaction_key, "TDES transaction key", (16,))
    return _xor(key, variant.mask)


def tdes_pin_key(transaction_key: bytes | str) -> bytes:
    """The PIN encryption key: the transaction key XOR 00000000000000FF00000000000000FF."""
    return tdes_variant_key(transaction_key, TdesVariant.PIN)


def tdes_derive_pin_key(bdk: bytes | str, ksn: bytes | str) -> bytes:
    """Host side in one step: BDK + KSN -> the PIN key the pad used for that KSN."""
    return tdes_pin_key(tdes_transaction_key(tdes_ipek(bdk, ksn), ksn))


def tdes_counter_valid(counter: int) -> bool:
    """An originator uses only counters with at most 10 one bits (X9.24-1)."""
    return 0 < counter <= TDES_COUNTER_MAX and counter.bit_count() <= 10


def tdes_next_counter(counter: int) -> int:
    """The next counter an originator may use after ``counter``.

    Counters with more than 10 one bits are skipped by adding their lowest set bit, as the
    standard's originator algorithm does.  ConfigurationError when the counter is exhausted
    (the pad must then be reloaded with a new initial key).
    """
    return _next_counter(counter, TDES_COUNTER_MAX, 10,
                         "the TDES DUKPT transaction counter is exhausted: load a new initial key "
                         "(IPEK/KSN)")


def _next_counter(counter: int, maximum: int, max_ones: int, exhausted: str) -> int:
    """The originator's counter step shared by both DUKPT variants: counters with more than
    ``max_ones`` one bits are skipped by adding their lowest set bit."""
    nxt = counter + 1
    while nxt <= maximum and nxt.bit_count() > max_ones:
        nxt += nxt & -nxt
    if nxt > maximum:
        raise ConfigurationError(exhausted)
    return nxt


# == AES DUKPT (X9.24-3-2017) ================================================================

class KeyUsage(enum.IntEnum):
    """Key usage indicators of X9.24-3 derivation data."""

    KEY_ENCRYPTION_KEY = 0x0002
    PIN_ENCRYPTION = 0x1000
    MAC_GENERATION = 0x2000
    MAC_VERIFICATION = 0x2001
    MAC_BOTH_WAYS = 0x2002
    DATA_ENCRYPTION_ENCRYPT = 0x3000
    DATA_ENCRYPTION_DECRYPT = 0x3001
    DATA_ENCRYPTION_BOTH_WAYS = 0x3002
    KEY_DERIVATION = 0x8000
    KEY_DERIVATION_INITIAL_KEY = 0x8001


class AesKeyType(enum.Enum):
    """(algorithm indicator, key length in bits) of X9.24-3 derivation data."""

    TDES_2KEY = (0x0000, 128)
    TDES_3KEY = (0x0001, 192)
    AES128 = (0x0002, 128)
    AES192 = (0x0003, 192)
    AES256 = (0x0004, 256)

    @property
    def algorithm(self) -> int:
        return self.value[0]

    @property
    def bits(self) -> int:
        return self.value[1]

    @classmethod
    def for_aes_key(cls, key: bytes) -> "AesKeyType":
        return {16: cls.AES128, 24: cls.AES192, 32: cls.AES256}[len(key)]


def aes_ksn(initial_key_id: bytes | str, counter: int) -> bytes:
    """The 12-byte AES DUKPT KSN: initial key ID || 32-bit counter."""
    ikid = as_bytes(initial_key_id, "AES DUKPT initial key ID", (8,))
    if not 0 <= counter <= AES_COUNTER_MAX:
        raise ConfigurationError(f"an AES DUKPT counter must be 0..{AES_COUNTER_MAX:#x}")
    return ikid + counter.to_bytes(4, "big")


def aes_ksn_counter(ksn: bytes | str) -> int:
    return int.from_bytes(as_bytes(ksn, "AES DUKPT KSN", (AES_KSN_LENGTH,))[8:], "big")


def aes_ksn_initial_key_id(ksn: bytes | str) -> bytes:
    return as_bytes(ksn, "AES DUKPT KSN", (AES_KSN_LENGTH,))[:8]


def aes_derivation_data(usage: KeyUsage, key_type: AesKeyType, initial_key_id: bytes | str,
                        counter: int | None = None, block_counter: int = 1) -> bytes:
    """The 16-byte derivation data block of X9.24-3 (section 6.3.2).

    Version 01 | key block counter | key usage (2) | algorithm (2) | length in bits (2) |
    then the whole initial key ID for the initial key (``counter`` None), else the initial key
    ID's rightmost 4 bytes (derivation ID) and the 4-byte counter.
    """
    ikid = as_bytes(initial_key_id, "AES DUKPT initial key ID", (8,))
    head = bytes([0x01, block_counter]) + int(usage).to_bytes(2, "big") \
        + key_type.algorithm.to_bytes(2, "big") + key_type.bits.to_bytes(2, "big")
    if counter is None:
        return head + ikid
    return head + ikid[4:] + counter.to_bytes(4, "big")


def _aes_derive(derivation_key: bytes, usage: KeyUsage, key_type: AesKeyType, ikid: bytes,
                counter: int | None) -> bytes:
    """X9.24-3 key derivation function: AES-ECB over derivation data, one block per 128 bits."""
    blocks = (key_type.bits + 127) // 128
    out = b"".join(
        _aes_encrypt(derivation_key, aes_derivation_data(usage, key_type, ikid, counter, i))
        for i in range(1, blocks + 1))
    return out[:key_type.bits // 8]


def aes_initial_key(bdk: bytes | str, initial_key_id: bytes | str) -> bytes:
    """The pad's initial key: derived from the BDK with usage 8001 (same length as the BDK)."""
    bdk = as_bytes(bdk, "AES BDK", (16, 24, 32))
    ikid = as_bytes(initial_key_id, "AES DUKPT initial key ID", (8,))
    return _aes_derive(bdk, KeyUsage.KEY_DERIVATION_INITIAL_KEY, AesKeyType.for_aes_key(bdk),
                       ikid, None)


def aes_transaction_key(initial_key: bytes | str, ksn: bytes | str) -> bytes:
    """The derivation key for the KSN's counter, walking its set bits from the top."""
    key = as_bytes(initial_key, "AES DUKPT initial key", (16, 24, 32))
    ksn = as_bytes(ksn, "AES DUKPT KSN", (AES_KSN_LENGTH,))
    ikid, counter = ksn[:8], aes_ksn_counter(ksn)
    key_type = AesKeyType.for_aes_key(key)
    partial = 0
    bit = 1 << 31
    while bit:
        if counter & bit:
            partial |= bit
            key = _aes_derive(key, KeyUsage.KEY_DERIVATION, key_type, ikid, partial)
        bit >>= 1
    return key


def aes_working_key(transaction_key: bytes | str, ksn: bytes | str,
                    usage: KeyUsage = KeyUsage.PIN_ENCRYPTION,
                    key_type: AesKeyType = AesKeyType.AES128) -> bytes:
    """A working key (PIN encryption by default, AES-128) from a transaction key."""
    key = as_bytes(transaction_key, "AES DUKPT transaction key", (16, 24, 32))
    ksn = as_bytes(ksn, "AES DUKPT KSN", (AES_KSN_LENGTH,))
    if key_type.bits > len(key) * 8:
        raise ConfigurationError(
            f"a {key_type.name} working key cannot come from a {len(key) * 8}-bit transaction key")
    return _aes_derive(key, KeyUsage(usage), key_type, ksn[:8], aes_ksn_counter(ksn))


def aes_derive_pin_key(bdk: bytes | str, ksn: bytes | str,
                       key_type: AesKeyType = AesKeyType.AES128) -> bytes:
    """Host side in one step: BDK + KSN -> the AES PIN encryption key the pad used."""
    ikid = aes_ksn_initial_key_id(ksn)
    return aes_working_key(aes_transaction_key(aes_initial_key(bdk, ikid), ksn), ksn,
                           KeyUsage.PIN_ENCRYPTION, key_type)


def aes_counter_valid(counter: int) -> bool:
    """An originator uses only counters with at most 16 one bits (X9.24-3)."""
    return 0 < counter <= AES_COUNTER_MAX and counter.bit_count() <= 16


def aes_next_counter(counter: int) -> int:
    """The next usable AES DUKPT counter (skipping those with more than 16 one bits)."""
    return _next_counter(counter, AES_COUNTER_MAX, 16,
                         "the AES DUKPT transaction counter is exhausted: load a new initial key")


# == key check values ========================================================================

def tdes_kcv(key: bytes | str, length: int = 3) -> bytes:
    """TDES key check value: encrypt 8 zero bytes, keep ``length`` (3) bytes."""
    key = as_bytes(key, "TDES key", (16, 24))
    return _tdes_encrypt(key, bytes(8))[:length]


def aes_kcv(key: bytes | str, method: str = "cmac", length: int = 5) -> bytes:
    """AES key check value: ``"cmac"`` = AES-CMAC of a zero block (X9.24-1-2017), or ``"ecb"``
    = AES encryption of a zero block (legacy); keep ``length`` (5) bytes."""
    key = as_bytes(key, "AES key", (16, 24, 32))
    if method == "cmac":
        mac = CMAC(algorithms.AES(key))
        mac.update(bytes(16))
        return mac.finalize()[:length]
    if method == "ecb":
        return _aes_encrypt(key, bytes(16))[:length]
    raise ConfigurationError(f"unknown key check value method {method!r}: use 'cmac' or 'ecb'")
