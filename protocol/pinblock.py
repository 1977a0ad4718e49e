"""ISO 9564-1 PIN blocks: formats 0, 1, 3 and 4, plus one clearly labelled SM4 configuration.

Pure functions over bytes; the ciphers come from ``cryptography`` (TDES from
``cryptography.hazmat.decrepit`` with 24-byte keys, AES, SM4).  What is written by hand here is
only what no library does for us: laying out the ISO 9564 PIN and PAN fields and combining them.
(``psec`` has formats 0/2/3/4 but no format 1, and its TDES calls raise deprecation warnings.)

* ``iso0``: PIN field ``0 L PIN F...F`` XOR ``0000`` + 12 PAN digits; TDES (16/24-byte key)
* ``iso1``: ``1 L PIN`` + random fill nibbles 0..F, no PAN; TDES
* ``iso3``: ``3 L PIN`` + random fill nibbles A..F, XOR as ``iso0``; TDES
* ``iso4``: 32 nibbles ``4 L PIN A...A`` + 16 random nibbles; AES-128/192/256
* ``sm4-iso4-like``: exactly the ``iso4`` construction with SM4 (16-byte key)

``iso4``:  block = E_K(E_K(PIN field) XOR PAN field), the PAN field being ``M`` (PAN length - 12)
then the PAN left-justified (12 digits at least, zero-padded on the left) then zeros.

``sm4-iso4-like`` is NOT a published standard.  It is a bank-configured construction that mirrors
ISO 9564 format 4 with the SM4 block cipher (GB/T 32907, ``cryptography``'s ``algorithms.SM4``),
offered because Chinese XFS stacks add SM4 PIN blocks as a vendor extension whose exact UnionPay
construction is not public.  Use it only where the acquiring bank has configured exactly this.

Secrecy: in normal operation the host never sees a clear PIN.  :func:`decipher_pin_block` and
:func:`parse_pin_field` exist for the simulator's demonstration/verification with the published
TEST keys and for tests; production host code must not call them.
"""

from __future__ import annotations

import enum
import os
import random as _random
from dataclasses import dataclass
from typing import Callable, Union

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from protocol.errors import ConfigurationError

__all__ = [
    "PinBlockFormat",
    "PinBlockError",
    "RandomSource",
    "Iso4Trace",
    "PIN_MIN_LENGTH",
    "PIN_MAX_LENGTH",
    "PAN_MIN_LENGTH",
    "PAN_MAX_LENGTH",
    "validate_pin",
    "validate_pan",
    "luhn_valid",
    "build_pin_field",
    "build_pan_field",
    "clear_pin_block",
    "encipher_fields",
    "encipher_pin",
    "decipher_to_pin_field",
    "decipher_pin_block",
    "parse_pin_field",
    "iso4_trace",
    "tdes_key24",
]

PIN_MIN_LENGTH = 4
PIN_MAX_LENGTH = 12
#: ISO/IEC 7812-1 allows 8..19 digit PANs (the VeriFone Z60 account field is 8-19 too)
PAN_MIN_LENGTH = 8
PAN_MAX_LENGTH = 19

#: bytes(n) from a callable, a ``random.Random``, or ``os.urandom`` when None
RandomSource = Union[Callable[[int], bytes], _random.Random, None]


class PinBlockError(ConfigurationError):
    """A PIN block does not decode: wrong key, wrong PAN, wrong format or a corrupted block."""


class PinBlockFormat(enum.Enum):
    """The PIN block formats this module builds.  Values are the names used on command lines."""

    ISO0 = "iso0"
    ISO1 = "iso1"
    ISO3 = "iso3"
    ISO4 = "iso4"
    #: not a published standard: ISO format 4's construction with SM4 (see the module docstring)
    SM4_ISO4_LIKE = "sm4-iso4-like"

    @classmethod
    def parse(cls, value: "PinBlockFormat | str") -> "PinBlockFormat":
        """Accept a member or its name ("iso4", "ISO-4", "iso_4", "4", "sm4-iso4-like")."""
        if isinstance(value, cls):
            return value
        text = str(value).strip().lower().replace("_", "").replace("-", "")
        if text in ("0", "1", "3", "4"):
            text = "iso" + text
        for member in cls:
            if member.value.replace("-", "") == text:
                return member
        raise ConfigurationError(
            f"unknown PIN block format {value!r}: use one of "
            + ", ".join(m.value for m in cls))

    @property
    def control(self) -> int:
        """The control nibble that opens the PIN field (0, 1, 3 or 4)."""
        return {"iso0": 0, "iso1": 1, "iso3": 3}.get(self.value, 4)

    @property
    def cipher(self) -> str:
        """"tdes", "aes" or "sm4"."""
        return {PinBlockFormat.ISO4: "aes", PinBlockFormat.SM4_ISO4_LIKE: "sm4"}.get(self, "tdes")

    @property
    def block_size(self) -> int:
        """PIN block length in bytes: 8 for the TDES formats, 16 for AES/SM4."""
        return 8 if self.cipher == "tdes" else 16

    @property
    def uses_pan(self) -> bool:
        return self is not PinBlockFormat.ISO1

    @property
    def key_lengths(self) -> tuple[int, ...]:
        return {"tdes": (16, 24), "aes": (16, 24, 32), "sm4": (16,)}[self.cipher]

    @property
    def is_standard(self) -> bool:
        """False for the SM4 configuration, which is not an ISO 9564 format."""
        return self is not PinBlockFormat.SM4_ISO4_LIKE


# -- validation -------------------------------------------------------------------------------

def validate_pin(pin: str) -> str:
    """Return ``pin`` if it is 4..12 ASCII digits, else raise :class:`ConfigurationError`.

    The message never repeats the PIN: it may be a real one.
    """
    if not isinstance(pin, str) or not (pin.isascii() and pin.isdigit()):
        raise ConfigurationError("a PIN must be a string of decimal digits")
    if not PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH:
        raise ConfigurationError(
            f"a PIN must have {PIN_MIN_LENGTH} to {PIN_MAX_LENGTH} digits, this one has {len(pin)}")
    return pin


def luhn_valid(digits: str) -> bool:
    """True if ``digits`` ends in a correct Luhn (mod 10) check digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def validate_pan(pan: str, *, check_luhn: bool = False) -> str:
    """Return ``pan`` if it is 8..19 ASCII digits (and Luhn-valid when asked), else raise."""
    if not isinstance(pan, str) or not (pan.isascii() and pan.isdigit()):
        raise ConfigurationError(
            "a PAN (card number) must be decimal digits only, with no spaces or dashes")
    if not PAN_MIN_LENGTH <= len(pan) <= PAN_MAX_LENGTH:
        raise ConfigurationError(
            f"a PAN must have {PAN_MIN_LENGTH} to {PAN_MAX_LENGTH} digits, this one has {len(pan)}")
    if check_luhn and not luhn_valid(pan):
        raise ConfigurationError(
            "the PAN fails its Luhn check digit: check that the card number was read correctly")
    return pan


def _random_bytes(rng: RandomSource, n: int) -> bytes:
    if rng is None:
        out = os.urandom(n)
    elif isinstance(rng, _random.Random):
        out = rng.randbytes(n)
    elif callable(rng):
        out = bytes(rng(n))
    else:
        raise ConfigurationError(
            "the random source must be a callable returning bytes, a random.Random, or None")
    if len(out) != n:
        raise ConfigurationError(f"the random source returned {len(out)} bytes, {n} were asked for")
    return out


def _random_nibbles(rng: RandomSource, n: int, low: int) -> list[int]:
    """``n`` uniform nibbles in low..15 (rejection sampling keeps A..F unbiased)."""
    span = 16 - low
    limit = 256 - 256 % span
    out: list[int] = []
    while len(out) < n:
        for b in _random_bytes(rng, n - len(out) + 2):
            if b < limit and len(out) < n:
                out.append(low + b % span)
    return out


def _nibbles_to_bytes(nibbles: list[int]) -> bytes:
    return bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, len(nibbles), 2))


def _bytes_to_nibbles(data: bytes) -> list[int]:
    out: list[int] = []
    for b in data:
        out += (b >> 4, b & 0xF)
    return out


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


# -- fields -----------------------------------------------------------------------------------

def build_pin_field(fmt: PinBlockFormat | str, pin: str, *, rng: RandomSource = None) -> bytes:
    """The clear PIN field (8 bytes for iso0/1/3, 16 for iso4 and the SM4 configuration).

    ``rng`` supplies the random fill of iso1, iso3 and iso4 (default ``os.urandom``).
    """
    fmt = PinBlockFormat.parse(fmt)
    validate_pin(pin)
    nibbles = [fmt.control, len(pin)] + [int(c) for c in pin]
    if fmt is PinBlockFormat.ISO0:
        nibbles += [0xF] * (16 - len(nibbles))
    elif fmt is PinBlockFormat.ISO1:
        nibbles += _random_nibbles(rng, 16 - len(nibbles), 0)
    elif fmt is PinBlockFormat.ISO3:
        nibbles += _random_nibbles(rng, 16 - len(nibbles), 0xA)
    else:
        nibbles += [0xA] * (16 - len(nibbles))
        return _nibbles_to_bytes(nibbles) + _random_bytes(rng, 8)
    return _nibbles_to_bytes(nibbles)


def build_pan_field(fmt: PinBlockFormat | str, pan: str) -> bytes:
    """The PAN field the PIN field is combined with (iso1 has none: ConfigurationError)."""
    fmt = PinBlockFormat.parse(fmt)
    if not fmt.uses_pan:
        raise ConfigurationError("ISO format 1 does not use a PAN")
    validate_pan(pan)
    if fmt.block_size == 8:
        # 0000 + the 12 rightmost digits excluding the check digit
        digits = pan[:-1][-12:].rjust(12, "0")
        return bytes.fromhex("0000" + digits)
    m = max(0, len(pan) - 12)
    digits = pan.rjust(12, "0")
    return bytes.fromhex((str(m) + digits).ljust(32, "0"))


def clear_pin_block(fmt: PinBlockFormat | str, pin: str, pan: str | None = None, *,
                    rng: RandomSource = None) -> bytes:
    """The 8-byte clear block of iso0/iso3 (PIN field XOR PAN field) or iso1 (the PIN field).

    iso4 has no single clear block (see :func:`iso4_trace`): ConfigurationError.
    """
    fmt = PinBlockFormat.parse(fmt)
    if fmt.block_size != 8:
        raise ConfigurationError(
            f"{fmt.value} has no single clear block: it enciphers twice (use iso4_trace)")
    field = build_pin_field(fmt, pin, rng=rng)
    if not fmt.uses_pan:
        return field
    return _xor(field, build_pan_field(fmt, _require_pan(fmt, pan)))


def _require_pan(fmt: PinBlockFormat, pan: str | None) -> str:
    if pan is None:
        raise ConfigurationError(f"PIN block format {fmt.value} needs the PAN (card number)")
    return pan


# -- ciphers ----------------------------------------------------------------------------------

def tdes_key24(key: bytes) -> bytes:
    """A 24-byte TDES key: K1K2 (16 bytes) becomes K1K2K1; 24 bytes pass unchanged.

    ``cryptography`` warns on 16-byte keys, and our warnings are errors.
    """
    if len(key) == 16:
        return key + key[:8]
    if len(key) == 24:
        return key
    raise ConfigurationError(f"a TDES key must be 16 or 24 bytes, this one is {len(key)}")


def _cipher(fmt: PinBlockFormat, key: bytes) -> Cipher:
    if not isinstance(key, (bytes, bytearray)):
        raise ConfigurationError("the key must be bytes")
    key = bytes(key)
    if len(key) not in fmt.key_lengths:
        raise ConfigurationError(
            f"a {fmt.cipher.upper()} key for {fmt.value} must be "
            + " or ".join(str(n) for n in fmt.key_lengths) + f" bytes, this one is {len(key)}")
    if fmt.cipher == "tdes":
        algorithm = TripleDES(tdes_key24(key))
    elif fmt.cipher == "aes":
        algorithm = algorithms.AES(key)
    else:
        algorithm = algorithms.SM4(key)
    return Cipher(algorithm, modes.ECB())


def _encrypt(fmt: PinBlockFormat, key: bytes, block: bytes) -> bytes:
    enc = _cipher(fmt, key).encryptor()
    return enc.update(block) + enc.finalize()


def _decrypt(fmt: PinBlockFormat, key: bytes, block: bytes) -> bytes:
    dec = _cipher(fmt, key).decryptor()
    return dec.update(block) + dec.finalize()


@dataclass(frozen=True, slots=True)
class Iso4Trace:
    """The steps of a format-4 (or SM4 configuration) encipherment, for tests and teaching."""

    pin_field: bytes
    pan_field: bytes
    intermediate_a: bytes  # E_K(PIN field)
    intermediate_b: bytes  # A XOR PAN field
    pin_block: bytes       # E_K(B)


def iso4_trace(key: bytes, pin_field: bytes, pan_field: bytes,
               fmt: PinBlockFormat | str = PinBlockFormat.ISO4) -> Iso4Trace:
    """Encipher ready-made format-4 fields and keep the intermediate values."""
    fmt = PinBlockFormat.parse(fmt)
    if fmt.block_size != 16:
        raise ConfigurationError(f"{fmt.value} is not a format-4 style construction")
    _check_len("PIN field", pin_field, 16)
    _check_len("PAN field", pan_field, 16)
    a = _encrypt(fmt, key, pin_field)
    b = _xor(a, pan_field)
    return Iso4Trace(bytes(pin_field), bytes(pan_field), a, b, _encrypt(fmt, key, b))


def _check_len(what: str, data: bytes, n: int) -> None:
    if len(data) != n:
        raise ConfigurationError(f"the {what} must be {n} bytes, it is {len(data)}")


def encipher_fields(fmt: PinBlockFormat | str, key: bytes, pin_field: bytes,
                    pan_field: bytes | None = None) -> bytes:
    """Encipher a ready-made PIN field (and PAN field unless iso1) into the PIN block."""
    fmt = PinBlockFormat.parse(fmt)
    if fmt.block_size == 16:
        if pan_field is None:
            raise ConfigurationError(f"PIN block format {fmt.value} needs the PAN field")
        return iso4_trace(key, pin_field, pan_field, fmt).pin_block
    _check_len("PIN field", pin_field, 8)
    clear = pin_field
    if fmt.uses_pan:
        if pan_field is None:
            raise ConfigurationError(f"PIN block format {fmt.value} needs the PAN field")
        _check_len("PAN field", pan_field, 8)
        clear = _xor(pin_field, pan_field)
    return _encrypt(fmt, key, clear)


def encipher_pin(fmt: PinBlockFormat | str, key: bytes, pin: str, pan: str | None = None, *,
                 rng: RandomSource = None) -> bytes:
    """The enciphered PIN block for ``pin`` (what a pad sends to the host)."""
    fmt = PinBlockFormat.parse(fmt)
    pin_field = build_pin_field(fmt, pin, rng=rng)
    pan_field = build_pan_field(fmt, _require_pan(fmt, pan)) if fmt.uses_pan else None
    return encipher_fields(fmt, key, pin_field, pan_field)


def decipher_to_pin_field(fmt: PinBlockFormat | str, key: bytes, block: bytes,
                          pan: str | None = None) -> bytes:
    """Undo :func:`encipher_fields`: the clear PIN field (simulator verification and tests only)."""
    fmt = PinBlockFormat.parse(fmt)
    _check_len("PIN block", block, fmt.block_size)
    if fmt.block_size == 16:
        b = _decrypt(fmt, key, block)
        a = _xor(b, build_pan_field(fmt, _require_pan(fmt, pan)))
        return _decrypt(fmt, key, a)
    clear = _decrypt(fmt, key, block)
    if fmt.uses_pan:
        clear = _xor(clear, build_pan_field(fmt, _require_pan(fmt, pan)))
    return clear


def parse_pin_field(fmt: PinBlockFormat | str, field: bytes) -> str:
    """The PIN inside a clear PIN field; :class:`PinBlockError` if the field is malformed.

    Simulator verification and tests only: a host never holds a clear PIN field.
    The error message never shows the field (it may hold a real PIN).
    """
    fmt = PinBlockFormat.parse(fmt)
    _check_len("PIN field", field, fmt.block_size)
    nib = _bytes_to_nibbles(field)
    problem = "wrong key, wrong PAN, wrong format or a corrupted block"
    if nib[0] != fmt.control:
        raise PinBlockError(f"the PIN block does not decode as {fmt.value} ({problem})")
    length = nib[1]
    if not PIN_MIN_LENGTH <= length <= PIN_MAX_LENGTH:
        raise PinBlockError(f"the PIN block does not decode as {fmt.value}: bad length ({problem})")
    digits = nib[2:2 + length]
    fill = nib[2 + length:16]
    if any(d > 9 for d in digits):
        raise PinBlockError(f"the PIN block does not decode as {fmt.value}: non-digit ({problem})")
    ok = {
        PinBlockFormat.ISO0: all(f == 0xF for f in fill),
        PinBlockFormat.ISO1: True,
        PinBlockFormat.ISO3: all(f >= 0xA for f in fill),
    }.get(fmt, all(f == 0xA for f in fill))
    if not ok:
        raise PinBlockError(f"the PIN block does not decode as {fmt.value}: bad fill ({problem})")
    return "".join(str(d) for d in digits)


def decipher_pin_block(fmt: PinBlockFormat | str, key: bytes, block: bytes,
                       pan: str | None = None) -> str:
    """The PIN inside an enciphered block.

    For the simulator's demonstration/verification with TEST keys and for tests only: in normal
    operation the host never sees a clear PIN.
    """
    return parse_pin_field(fmt, decipher_to_pin_field(fmt, key, block, pan))
