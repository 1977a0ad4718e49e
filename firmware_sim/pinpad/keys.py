"""The pad's key slots: DUKPT initial keys (AES and TDES), fixed keys, one labelled SM4 test key.

The pad ships with TEST keys only, loaded at first start from the published vectors.  It stores
the DERIVED initial keys (AES DUKPT initial key, TDES IPEK), never a BDK, and the next
transaction counter of each (starting at 1, persisted BEFORE a PIN block leaves the pad, so a
KSN is never used twice, even across a crash).  No method returns key material: the host sees
key check values only (3 bytes: TDES and SM4 encrypt a zero block, AES uses CMAC of a zero
block as X9.24-1-2017 recommends).

====  ============  =========  ===============================================  ==================
slot  name          kind       test key at first start                          default for
====  ============  =========  ===============================================  ==================
1     aes-dukpt     AES DUKPT  BDK FEDCBA9876543210F1F1F1F1F1F1F1F1, initial    iso4
                               key ID 1234567890123456 (initial key stored)
2     tdes-dukpt    TDES DUKPT BDK 0123456789ABCDEFFEDCBA9876543210, initial    iso0, iso1, iso3
                               KSN FFFF9876543210E00000 (IPEK stored)
3     sm4-test      SM4 fixed  00112233445566778899AABBCCDDEEFF (a published    sm4-iso4-like
                               sample key; the SM4 block is a LABELLED          (labelled config)
                               configuration, not a standard)
4     tdes-fixed    TDES fixed empty (LoadKey)                                  -
5     aes-fixed     AES fixed  empty (LoadKey)                                  -
====  ============  =========  ===============================================  ==================
"""

from __future__ import annotations

from typing import Any, Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from protocol import dukpt, pinblock
from protocol.errors import ConfigurationError
from protocol.pinblock import PinBlockFormat
from protocol.tpp.codes import KeyKind, LoadKind, ResultCode

from firmware_sim.pinpad.state import StateStore

__all__ = ["Keystore", "KeyProblem", "TEST_KEYS", "SLOTS", "DEFAULT_SLOT", "KCV_LENGTH"]

#: the published TEST vectors; the BDKs are used once, at first start, and not stored
TEST_KEYS = {
    "aes_bdk": "FEDCBA9876543210F1F1F1F1F1F1F1F1",
    "aes_initial_key_id": "1234567890123456",
    "tdes_bdk": "0123456789ABCDEFFEDCBA9876543210",
    "tdes_initial_ksn": "FFFF9876543210E00000",
    "sm4_key": "00112233445566778899AABBCCDDEEFF",
}

#: slot number -> (name, kind)
SLOTS: dict[int, tuple[str, KeyKind]] = {
    1: ("aes-dukpt", KeyKind.AES_DUKPT),
    2: ("tdes-dukpt", KeyKind.TDES_DUKPT),
    3: ("sm4-test", KeyKind.SM4),
    4: ("tdes-fixed", KeyKind.TDES),
    5: ("aes-fixed", KeyKind.AES),
}
#: cipher of a PIN block format -> default slot
DEFAULT_SLOT = {"aes": 1, "tdes": 2, "sm4": 3}
_CIPHER_OF_KIND = {KeyKind.AES_DUKPT: "aes", KeyKind.AES: "aes", KeyKind.TDES_DUKPT: "tdes",
                   KeyKind.TDES: "tdes", KeyKind.SM4: "sm4"}
#: LoadKind -> the slot kind it fills
_LOAD_TARGET = {
    LoadKind.TDES_DUKPT_IPEK: KeyKind.TDES_DUKPT, LoadKind.TDES_DUKPT_BDK_TEST: KeyKind.TDES_DUKPT,
    LoadKind.AES_DUKPT_INITIAL: KeyKind.AES_DUKPT, LoadKind.AES_DUKPT_BDK_TEST: KeyKind.AES_DUKPT,
    LoadKind.TDES_FIXED: KeyKind.TDES, LoadKind.AES_FIXED: KeyKind.AES,
    LoadKind.SM4_FIXED: KeyKind.SM4,
}
KCV_LENGTH = 3


class KeyProblem(Exception):
    """A key request the key store cannot serve; ``code`` is the TPP result code."""

    def __init__(self, code: ResultCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _ecb_zero_kcv(algorithm: Any) -> bytes:
    enc = Cipher(algorithm, modes.ECB()).encryptor()
    return (enc.update(bytes(algorithm.block_size // 8)) + enc.finalize())[:KCV_LENGTH]


def kcv_of(kind: KeyKind, key: bytes) -> bytes:
    """The 3-byte key check value of a key of ``kind``."""
    if kind in (KeyKind.TDES_DUKPT, KeyKind.TDES):
        return dukpt.tdes_kcv(key, KCV_LENGTH)
    if kind in (KeyKind.AES_DUKPT, KeyKind.AES):
        return dukpt.aes_kcv(key, "cmac", KCV_LENGTH)
    return _ecb_zero_kcv(algorithms.SM4(key))


class Keystore:
    """Key slots persisted in a :class:`StateStore` (``data["keys"]``, keyed by slot name)."""

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
            "aes-dukpt": {"key": dukpt.aes_initial_key(t["aes_bdk"], ikid).hex().upper(),
                          "id": ikid.hex().upper(), "counter": 1, "test": True},
            "tdes-dukpt": {"key": dukpt.tdes_ipek(t["tdes_bdk"], ksn0).hex().upper(),
                           "id": ksn0.hex().upper(), "counter": 1, "test": True},
            "sm4-test": {"key": t["sm4_key"], "test": True},
        }
        self.store.save()

    def load(self, slot: int, kind: LoadKind, key: bytes, ksn: bytes = b"",
             expected_kcv: bytes = b"") -> bytes:
        """LoadKey: store a key (BDK kinds are derived first and the BDK dropped); returns the
        KCV.  KeyProblem for a wrong slot/kind or a KCV mismatch (nothing is stored then)."""
        name, slot_kind = self._slot(slot)
        if _LOAD_TARGET[kind] is not slot_kind:
            raise KeyProblem(ResultCode.KEY_TYPE_MISMATCH,
                             f"slot {slot} ({name}) holds {slot_kind.name} keys, not "
                             f"{_LOAD_TARGET[kind].name}")
        try:
            if kind is LoadKind.TDES_DUKPT_BDK_TEST:
                key, ident = dukpt.tdes_ipek(key, ksn), dukpt.tdes_initial_ksn(ksn)
            elif kind is LoadKind.TDES_DUKPT_IPEK:
                ident = dukpt.tdes_initial_ksn(ksn)
            elif kind is LoadKind.AES_DUKPT_BDK_TEST:
                key, ident = dukpt.aes_initial_key(key, ksn), bytes(ksn)
            elif kind is LoadKind.AES_DUKPT_INITIAL:
                ident = bytes(ksn)
            else:
                ident = b""
            kcv = kcv_of(slot_kind, bytes(key))
        except (ConfigurationError, ValueError) as exc:
            raise KeyProblem(ResultCode.BAD_PARAMETER, f"the key cannot be loaded: {exc}") \
                from None
        if expected_kcv and expected_kcv != kcv[:len(expected_kcv)]:
            raise KeyProblem(ResultCode.KCV_MISMATCH,
                             f"the key check value does not match (pad computed {kcv.hex().upper()}"
                             "): the key was not loaded; check the key and its KCV")
        entry: dict[str, Any] = {"key": bytes(key).hex().upper(), "test": False}
        if slot_kind in (KeyKind.AES_DUKPT, KeyKind.TDES_DUKPT):
            entry.update(id=ident.hex().upper(), counter=1)
        self._keys[name] = entry
        self.store.save()
        return kcv

    def delete(self, slot: int) -> None:
        name, _ = self._slot(slot)
        entry = self._keys.pop(name, None)
        if entry is not None:
            entry["key"] = "00" * (len(entry["key"]) // 2)
        self.store.save()

    def wipe(self) -> None:
        """Tamper response: overwrite and drop every key (the file then holds none)."""
        for entry in self._keys.values():
            entry["key"] = "00" * (len(entry["key"]) // 2)
        self.store.save()
        self.store.data["keys"] = {}
        self.store.save()

    # -- information (never key material) ---------------------------------------------------
    def _slot(self, slot: int) -> tuple[str, KeyKind]:
        try:
            return SLOTS[slot]
        except KeyError:
            raise KeyProblem(ResultCode.BAD_KEY_SLOT,
                             f"no key slot {slot} on this pad: slots are "
                             + ", ".join(f"{n} ({name})" for n, (name, _) in SLOTS.items())) \
                from None

    def info(self, slot: int) -> tuple[KeyKind, bytes, bytes]:
        """(kind or NONE when empty, KCV, current KSN) of a slot."""
        name, kind = self._slot(slot)
        entry = self._keys.get(name)
        if entry is None:
            return KeyKind.NONE, b"", b""
        return kind, kcv_of(kind, bytes.fromhex(entry["key"])), self._ksn(kind, entry) or b""

    def slot_info(self) -> list[dict[str, Any]]:
        out = []
        for number, (name, kind) in SLOTS.items():
            loaded, kcv, ksn = self.info(number)
            info: dict[str, Any] = {"slot": number, "name": name, "kind": kind.name,
                                    "loaded": loaded is not KeyKind.NONE}
            if info["loaded"]:
                info["test"] = bool(self._keys[name].get("test"))
                info["kcv"] = kcv.hex().upper()
                if ksn:
                    info["ksn"] = ksn.hex().upper()
            out.append(info)
        return out

    @staticmethod
    def _ksn(kind: KeyKind, entry: dict[str, Any]) -> bytes | None:
        if kind is KeyKind.AES_DUKPT:
            return dukpt.aes_ksn(entry["id"], int(entry["counter"]))
        if kind is KeyKind.TDES_DUKPT:
            return dukpt.tdes_ksn(entry["id"], int(entry["counter"]))
        return None

    # -- PIN blocks -----------------------------------------------------------------------
    def resolve(self, fmt: str | PinBlockFormat, pan: str | None, slot: int = 0
                ) -> tuple[PinBlockFormat, int]:
        """Check a request without using the PIN: (format, slot) or KeyProblem."""
        try:
            f = PinBlockFormat.parse(fmt)
        except ConfigurationError as exc:
            raise KeyProblem(ResultCode.UNSUPPORTED_FORMAT, str(exc)) from None
        slot = slot or DEFAULT_SLOT[f.cipher]
        name, kind = self._slot(slot)
        if _CIPHER_OF_KIND[kind] != f.cipher:
            raise KeyProblem(ResultCode.KEY_TYPE_MISMATCH,
                             f"PIN block format {f.value} needs a {f.cipher.upper()} key; slot "
                             f"{slot} ({name}) holds {kind.name}")
        if f.uses_pan:
            if not pan:
                raise KeyProblem(ResultCode.BAD_CUSTOMER_DATA,
                                 f"PIN block format {f.value} needs the PAN")
            try:
                pinblock.validate_pan(pan)
            except ConfigurationError as exc:
                raise KeyProblem(ResultCode.BAD_CUSTOMER_DATA, str(exc)) from None
        if name not in self._keys:
            raise KeyProblem(ResultCode.NO_KEY_IN_SLOT,
                             f"key slot {slot} ({name}) is empty: load a key first")
        entry = self._keys[name]
        if kind is KeyKind.TDES_DUKPT and int(entry["counter"]) > dukpt.TDES_COUNTER_MAX or \
                kind is KeyKind.AES_DUKPT and int(entry["counter"]) > dukpt.AES_COUNTER_MAX:
            raise KeyProblem(ResultCode.KEY_EXHAUSTED, "the DUKPT transaction counter is used "
                             "up: load a new initial key")
        return f, slot

    def pin_block(self, fmt: str | PinBlockFormat, pin: str, pan: str | None, slot: int = 0
                  ) -> tuple[bytes, bytes | None, int]:
        """Encipher ``pin``: (PIN block, KSN or None, slot).  Advances and saves the counter."""
        f, slot = self.resolve(fmt, pan, slot)
        name, kind = SLOTS[slot]
        entry = self._keys[name]
        ksn: bytes | None = None
        if kind is KeyKind.AES_DUKPT:
            counter = int(entry["counter"])
            ksn = dukpt.aes_ksn(entry["id"], counter)
            key = dukpt.aes_working_key(dukpt.aes_transaction_key(entry["key"], ksn), ksn)
            entry["counter"] = _advance(dukpt.aes_next_counter, counter, dukpt.AES_COUNTER_MAX)
        elif kind is KeyKind.TDES_DUKPT:
            counter = int(entry["counter"])
            ksn = dukpt.tdes_ksn(entry["id"], counter)
            key = dukpt.tdes_pin_key(dukpt.tdes_transaction_key(entry["key"], ksn))
            entry["counter"] = _advance(dukpt.tdes_next_counter, counter, dukpt.TDES_COUNTER_MAX)
        else:
            key = bytes.fromhex(entry["key"])
        # persist the advanced counter BEFORE the block leaves the pad: a KSN is used once
        self.store.save()
        block = pinblock.encipher_pin(f, key, pin, pan if f.uses_pan else None,
                                      rng=self.random_bytes)
        return block, ksn, slot


def _advance(step: Callable[[int], int], counter: int, maximum: int) -> int:
    try:
        return step(counter)
    except ConfigurationError:
        return maximum + 1  # exhausted: the next request is refused with KEY_EXHAUSTED
