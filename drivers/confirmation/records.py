"""Audit records and checkpoints: canonical bytes, hash chain, Ed25519 signatures.

A record is a JSON object (its *body*).  Besides the business content it holds its place in
the workstation's chain::

    {"v": 1, "kind": "confirmation", "id": "BR0107-C03-000042", "workstation": "BR0107-C03",
     "seq": 42, "prev": "<hex SHA-256 of record 41's body>", "key_id": "<hex>", ...}

* ``hash`` = SHA-256 of the body's canonical bytes (:mod:`._canonical`); record 1's ``prev``
  is 64 zeros;
* ``signature`` = Ed25519 over ``b"tactile audit record v1\\n" + canonical bytes`` with the
  workstation key whose id is ``key_id`` (:func:`~.config.key_id_for`).

A **checkpoint** is a C2SP signed note (https://c2sp.org/signed-note, the format of
tlog-checkpoint) over the chain's length and head hash::

    tactile-audit/BR0107-C03
    42
    <base64 of the head record's hash>

    — tactile-audit/BR0107-C03 <base64 of 4-byte key hash || 64-byte Ed25519 signature>

The key hash is the first 4 bytes of SHA-256(key name || "\\n" || 0x01 || public key), as the
signed-note spec says for Ed25519.  Anyone holding the public key can check a checkpoint, and
a checkpoint kept elsewhere proves that a later trail still starts with the records it covered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from drivers.confirmation._canonical import canonical_bytes
from drivers.confirmation.config import AuditConfig
from protocol.errors import ConfigurationError

__all__ = ["AuditRecord", "Checkpoint", "GENESIS_HASH", "RECORD_VERSION", "record_hash",
           "sign_body", "signature_valid", "note_key_hash", "origin_for"]

RECORD_VERSION = 1
GENESIS_HASH = "0" * 64
_RECORD_DOMAIN = b"tactile audit record v1\n"
_EM_DASH = "\u2014"


def record_hash(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def sign_body(config: AuditConfig, canonical: bytes) -> bytes:
    return config.signing_key.sign(_RECORD_DOMAIN + canonical)


def signature_valid(public_key: bytes, canonical: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, _RECORD_DOMAIN + canonical)
    except (InvalidSignature, ValueError):
        return False
    return True


def record_id(workstation: str, seq: int) -> str:
    return f"{workstation}-{seq:06d}"


def origin_for(workstation: str) -> str:
    return f"tactile-audit/{workstation}"


@dataclass(frozen=True)
class AuditRecord:
    """One stored record: its body (a dict), canonical text, hash and signature.

    The common fields are properties (``id``, ``seq``, ``kind``, ``outcome``, ``customer``,
    ``item`` ...); ``body`` has everything.
    """

    workstation: str
    seq: int
    body_text: str
    hash: str
    signature: bytes

    @property
    def body(self) -> dict[str, Any]:
        import json

        return json.loads(self.body_text)

    def _get(self, name: str) -> Any:
        return self.body.get(name)

    @property
    def id(self) -> str:
        return record_id(self.workstation, self.seq)

    @property
    def kind(self) -> str | None:
        return self._get("kind")

    @property
    def outcome(self) -> str | None:
        return self._get("outcome")

    @property
    def customer(self) -> str | None:
        return self._get("customer")

    @property
    def item(self) -> str | None:
        return self._get("item")

    def to_dict(self) -> dict[str, Any]:
        """The export form (``tactile audit export``): body, hash, signature in base64."""
        return {"workstation": self.workstation, "seq": self.seq, "id": self.id,
                "hash": self.hash, "signature": base64.b64encode(self.signature).decode(),
                "body": self.body}

    def __repr__(self) -> str:
        return f"AuditRecord({self.id}, {self.kind}, {self.outcome})"


def build_body(config: AuditConfig, seq: int, prev: str, content: Mapping[str, Any]) -> bytes:
    """The canonical bytes of the record ``seq`` of the config's workstation."""
    reserved = {"v", "id", "workstation", "seq", "prev", "key_id"} & set(content)
    if reserved:
        raise ConfigurationError(f"record content may not set {', '.join(sorted(reserved))}")
    body = dict(content)
    body.update(v=RECORD_VERSION, id=record_id(config.workstation, seq),
                workstation=config.workstation, seq=seq, prev=prev, key_id=config.key_id)
    return canonical_bytes(body)


# ---------------------------------------------------------------------- checkpoints
def note_key_hash(name: str, public_key: bytes) -> bytes:
    """C2SP signed-note key hash of an Ed25519 key (algorithm byte 0x01)."""
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + public_key).digest()[:4]


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement "workstation W's chain had ``count`` records ending in ``head``"."""

    origin: str
    count: int
    head: str                      # hex SHA-256 of record ``count`` (GENESIS_HASH for 0)
    key_name: str
    key_hash: bytes
    signature: bytes

    @property
    def workstation(self) -> str:
        prefix = "tactile-audit/"
        return self.origin[len(prefix):] if self.origin.startswith(prefix) else self.origin

    @property
    def text(self) -> str:
        """The signed part of the note."""
        return (f"{self.origin}\n{self.count}\n"
                f"{base64.b64encode(bytes.fromhex(self.head)).decode()}\n")

    def note(self) -> str:
        sig = base64.b64encode(self.key_hash + self.signature).decode()
        return f"{self.text}\n{_EM_DASH} {self.key_name} {sig}\n"

    __str__ = note

    @classmethod
    def sign(cls, config: AuditConfig, count: int, head: str) -> "Checkpoint":
        origin = origin_for(config.workstation)
        unsigned = cls(origin, count, head, config.key_name, b"", b"")
        signature = config.signing_key.sign(unsigned.text.encode())
        return cls(origin, count, head, config.key_name,
                   note_key_hash(config.key_name, config.public_key), signature)

    def valid_for(self, public_key: bytes) -> bool:
        """True when this note is signed by ``public_key`` under its key name."""
        if note_key_hash(self.key_name, public_key) != self.key_hash:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(self.signature, self.text.encode())
        except (InvalidSignature, ValueError):
            return False
        return True

    @classmethod
    def parse(cls, note: str) -> "Checkpoint":
        """Parse a signed note; ConfigurationError with a plain message if it is not one."""
        if not isinstance(note, str):
            raise ConfigurationError("a checkpoint is text")
        text, sep, signatures = note.partition("\n\n")
        if not sep:
            raise ConfigurationError("not a signed checkpoint: no blank line between the text "
                                     "and the signature line")
        lines = text.split("\n")
        if len(lines) < 3:
            raise ConfigurationError("not a checkpoint: expected an origin line, a record count "
                                     "and a base64 head hash")
        origin, count_text, head_b64 = lines[0], lines[1], lines[2]
        if not count_text.isdigit():
            raise ConfigurationError(f"checkpoint record count {count_text!r} is not a number")
        try:
            head = base64.b64decode(head_b64, validate=True)
        except (binascii.Error, ValueError):
            head = b""
        if len(head) != 32:
            raise ConfigurationError("checkpoint head hash is not base64 of 32 bytes")
        for line in signatures.splitlines():
            parts = line.split(" ")
            if len(parts) == 3 and parts[0] == _EM_DASH:
                try:
                    blob = base64.b64decode(parts[2], validate=True)
                except (binascii.Error, ValueError):
                    continue
                if len(blob) == 68:
                    return cls(origin, int(count_text), head.hex(), parts[1], blob[:4], blob[4:])
        raise ConfigurationError("checkpoint has no Ed25519 signature line "
                                 f"('{_EM_DASH} NAME BASE64')")
