"""The pad's key slots: DUKPT initial keys (AES and TDES) and one labelled SM4 test key.

The pad ships with TEST keys only, loaded at first start from the published vectors.  It stores
the DERIVED initial keys (AES DUKPT initial key, TDES IPEK), never a BDK, and the next
transaction counter of each (starting at 1, persisted before a PIN block leaves the pad, so a
KSN is never used twice even across a crash).  No method returns key material: the host sees
key check values only.

=============  ===========  ============================================  ==================
slot           algorithm    test key                                      PIN block formats
=============  ===========  ============================================  ==================
``aes-dukpt``  AES-128      BDK FEDCBA9876543210F1F1F1F1F1F1F1F1,         iso4
                            initial key ID 1234567890123456
``tdes-dukpt`` TDES (2-key) BDK 0123456789ABCDEFFEDCBA9876543210,          iso0, iso1, iso3
                            initial KSN FFFF9876543210E00000
``sm4-test``   SM4          fixed key 00112233445566778899AABBCCDDEEFF     sm4-iso4-like
                            (a published sample key; NOT a standard      (labelled config)
                            construction, see protocol.pinblock)
=============  ===========  ============================================  ==================
"""

from __future__ import annotations

from typing import Any, Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from protocol import dukpt, pinblock
from protocol.errors import ConfigurationError
from protocol.pinblock import PinBlockFormat

from firmware_sim.pinpad.state import StateStore

__all__ = ["Keystore", "KeyProblem", "TEST_KEYS", "SLOTS", "DEFAULT_SLOT"]

#: the published TEST vectors; the BDKs are used once, at first start, and not stored
TEST_KEYS = {
    "aes_bdk": "FEDCBA9876543210F1F1F1F1F1F1F1F1",
    "aes_initial_key_id": "1234567890123456",
    "tdes_bdk": "0123456789ABCDEFFEDCBA9876543210",
    "tdes_initial_ksn": "FFFF9876543210E00000",
    "sm4_key": "00112233445566778899AABBCCDDEEFF",
}

#: slot name -> (slot number on the wire, algorithm, scheme)
SLOTS: dict[str, tuple[int, str, str]] = {
    "aes-dukpt": (1, "aes", "dukpt"),
    "tdes-dukpt": (2, "tdes", "dukpt"),
    "sm4-test": (3, "sm4", "fixed"),
}
DEFAULT_SLOT = {"aes": "aes-dukpt", "tdes": "tdes-dukpt", "sm4": "sm4-test"}


class KeyProblem(Exception):
    """A PIN block request the key store cannot serve; ``code`` is a RefusalCode value."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Keystore:
    """Key slots persisted in a :class:`StateStore` (``data["keys"]``)."""

    def __init__(self, store: StateStore, random_bytes: Callable[[int], bytes]) -> None:
        self.store = store
        self.random_bytes = random_bytes

    @property
    def _keys(self) -> dict[str, Any]:
        return self.store.data["keys"]

    def load_test_keys(self) -> None:
        """Derive the initial keys from the published TEST BDKs; counters restart at 1."""
        t = TEST_KEYS
        ikid = bytes.fromhex(t["aes_initial_key_id"])
        ksn0 = dukpt.tdes_initial_ksn(t["tdes_initial_ksn"])
        self.store.data["keys"] = {
            "aes-dukpt": {"initial_key": dukpt.aes_initial_key(t["aes_bdk"], ikid).hex().upper(),
                          "initial_key_id": ikid.hex().upper(), "counter": 1, "test": True},
            "tdes-dukpt": {"ipek": dukpt.tdes_ipek(t["tdes_bdk"], ksn0).hex().upper(),
                           "initial_ksn": ksn0.hex().upper(), "counter": 1, "test": True},
            "sm4-test": {"key": t["sm4_key"], "test": True},
        }
        self.store.save()

    def load_initial_key(self, slot: str, key: bytes, initial_id: bytes) -> None:
        """Load a DUKPT initial key (AES initial key + 8-byte ID, or TDES IPEK + 10-byte KSN)."""
        if slot == "aes-dukpt":
            key = dukpt.as_bytes(key, "AES DUKPT initial key", (16,))
            ikid = dukpt.as_bytes(initial_id, "AES DUKPT initial key ID", (8,))
            entry = {"initial_key": key.hex().upper(), "initial_key_id": ikid.hex().upper(),
                     "counter": 1, "test": False}
        elif slot == "tdes-dukpt":
            key = dukpt.as_bytes(key, "TDES IPEK", (16,))
            ksn = dukpt.tdes_initial_ksn(initial_id)
            entry = {"ipek": key.hex().upper(), "initial_ksn": ksn.hex().upper(), "counter": 1,
                     "test": False}
        else:
            raise KeyProblem("bad-parameter", f"slot {slot!r} does not take a DUKPT initial key")
        self._keys[slot] = entry
        self.store.save()

    def wipe(self) -> None:
        """Tamper response: overwrite and drop every key (the file then holds none)."""
        for entry in self._keys.values():
            for name in ("initial_key", "ipek", "key"):
                if name in entry:
                    entry[name] = "00" * (len(entry[name]) // 2)
        self.store.save()
        self.store.data["keys"] = {}
        self.store.save()

    # -- information (never key material) ---------------------------------------------------
    def slot_info(self) -> list[dict[str, Any]]:
        out = []
        for name, (number, algorithm, scheme) in SLOTS.items():
            entry = self._keys.get(name)
            info: dict[str, Any] = {"slot": number, "name": name, "algorithm": algorithm,
                                    "scheme": scheme, "loaded": entry is not None}
            if entry is not None:
                info["test"] = bool(entry.get("test"))
                info["kcv"] = self.kcv(name).hex().upper()
                ksn = self.current_ksn(name)
                if ksn is not None:
                    info["ksn"] = ksn.hex().upper()
                    info["counter"] = int(entry["counter"])
            out.append(info)
        return out

    def kcv(self, slot: str) -> bytes:
        entry = self._entry(slot)
        if slot == "aes-dukpt":
            return dukpt.aes_kcv(entry["initial_key"])
        if slot == "tdes-dukpt":
            return dukpt.tdes_kcv(entry["ipek"])
        return _sm4_kcv(bytes.fromhex(entry["key"]))

    def current_ksn(self, slot: str) -> bytes | None:
        entry = self._entry(slot)
        if slot == "aes-dukpt":
            return dukpt.aes_ksn(entry["initial_key_id"], int(entry["counter"]))
        if slot == "tdes-dukpt":
            return dukpt.tdes_ksn(entry["initial_ksn"], int(entry["counter"]))
        return None

    def _entry(self, slot: str) -> dict[str, Any]:
        entry = self._keys.get(slot)
        if entry is None:
            raise KeyProblem("no-key", f"key slot {slot!r} is empty (keys erased by tamper?)")
        return entry

    # -- PIN blocks -----------------------------------------------------------------------
    def resolve(self, fmt: str, pan: str | None, slot: str | None) -> tuple[PinBlockFormat, str]:
        """Check a request without using the PIN: (format, slot) or KeyProblem."""
        try:
            f = PinBlockFormat.parse(fmt)
        except ConfigurationError as exc:
            raise KeyProblem("bad-parameter", str(exc)) from None
        slot = slot or DEFAULT_SLOT[f.cipher]
        if slot not in SLOTS:
            raise KeyProblem("bad-parameter",
                             f"unknown key slot {slot!r}: use one of {', '.join(SLOTS)}")
        if SLOTS[slot][1] != f.cipher:
            raise KeyProblem("bad-parameter",
                             f"PIN block format {f.value} needs a {f.cipher.upper()} key; slot "
                             f"{slot} holds a {SLOTS[slot][1].upper()} key")
        if f.uses_pan:
            if pan is None:
                raise KeyProblem("bad-parameter", f"PIN block format {f.value} needs the PAN")
            try:
                pinblock.validate_pan(pan)
            except ConfigurationError as exc:
                raise KeyProblem("bad-parameter", str(exc)) from None
        self._entry(slot)
        return f, slot

    def check_request(self, fmt: str, pan: str | None, slot: str | None) -> None:
        self.resolve(fmt, pan, slot)

    def pin_block(self, fmt: str, pin: str, pan: str | None, slot: str | None
                  ) -> tuple[bytes, bytes | None]:
        """Encipher ``pin``; returns (PIN block, KSN or None).  Advances and saves the counter."""
        f, slot = self.resolve(fmt, pan, slot)
        entry = self._entry(slot)
        ksn: bytes | None = None
        if slot == "aes-dukpt":
            counter = int(entry["counter"])
            ksn = dukpt.aes_ksn(entry["initial_key_id"], counter)
            key = dukpt.aes_working_key(dukpt.aes_transaction_key(entry["initial_key"], ksn), ksn)
            entry["counter"] = _advance(dukpt.aes_next_counter, counter)
        elif slot == "tdes-dukpt":
            counter = int(entry["counter"])
            ksn = dukpt.tdes_ksn(entry["initial_ksn"], counter)
            key = dukpt.tdes_pin_key(dukpt.tdes_transaction_key(entry["ipek"], ksn))
            entry["counter"] = _advance(dukpt.tdes_next_counter, counter)
        else:
            key = bytes.fromhex(entry["key"])
        # persist the advanced counter BEFORE the block leaves the pad: a KSN is used once
        self.store.save()
        block = pinblock.encipher_pin(f, key, pin, pan if f.uses_pan else None,
                                      rng=self.random_bytes)
        return block, ksn


def _advance(step: Callable[[int], int], counter: int) -> int:
    try:
        return step(counter)
    except ConfigurationError:
        # exhausted: park beyond the range; the next request fails with a plain message
        raise KeyProblem("no-key", "the DUKPT transaction counter is exhausted: load a new "
                         "initial key") from None


def _sm4_kcv(key: bytes) -> bytes:
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    return (enc.update(bytes(16)) + enc.finalize())[:3]
