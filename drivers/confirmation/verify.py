"""Prove a trail untouched: every chain, signature, head and checkpoint.

:func:`verify_trail` walks each workstation's chain from record 1 and stops that chain at its
first bad record (everything after a break is suspect anyway).  A :class:`Problem` names the
record (``BR0107-C03-000042``) and says in plain words what is wrong with it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Iterable

from drivers.confirmation._canonical import canonical_bytes
from drivers.confirmation.config import key_id_for
from drivers.confirmation.records import (
    GENESIS_HASH,
    AuditRecord,
    Checkpoint,
    record_hash,
    record_id,
    signature_valid,
)
from drivers.confirmation.store import AuditStore, Head, StoredKey
from protocol.errors import ConfigurationError

__all__ = ["Problem", "VerifyReport", "verify_trail"]


@dataclass(frozen=True)
class Problem:
    """What is wrong, and with which record (``record_id`` None for a store-level problem)."""

    workstation: str
    record_id: str | None
    message: str

    def __str__(self) -> str:
        return f"record {self.record_id}: {self.message}" if self.record_id else \
            f"workstation {self.workstation}: {self.message}"


@dataclass
class VerifyReport:
    """The result: ``ok``, the records checked per workstation, and the problems found."""

    counts: dict[str, int] = field(default_factory=dict)
    checkpoints_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    @property
    def records(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict:
        return {"ok": self.ok, "records": self.records, "workstations": dict(self.counts),
                "checkpoints_checked": self.checkpoints_checked,
                "problems": [{"workstation": p.workstation, "record": p.record_id,
                              "problem": p.message} for p in self.problems]}


@dataclass
class _Chain:
    """What a walk over one chain leaves behind: its length, head, and the hashes at the
    lengths checkpoints name."""

    ok: bool = True
    count: int = 0
    head: str = GENESIS_HASH
    hashes: dict[int, str] = field(default_factory=dict)
    prev: str = GENESIS_HASH                               # the last good record's hash
    authorised: set[str] = field(default_factory=set)      # keys the chain has introduced


def _walk(ws: str, records: Iterable[AuditRecord], keys: dict[str, StoredKey],
          report: VerifyReport, wanted: set[int]) -> _Chain:
    """Check the chain record by record (streamed); after the first problem keep counting
    only (the report names that first record)."""
    chain = _Chain()
    checking = True
    iterator = iter(records)
    try:
        for rec in iterator:
            chain.count += 1
            if rec.seq in wanted:
                chain.hashes[rec.seq] = rec.hash
            chain.head = rec.hash
            if checking:
                checking = _check_record(ws, chain.count, rec, keys, report, chain)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    chain.ok = checking
    return chain


def _check_record(ws: str, expected: int, rec: AuditRecord, keys: dict[str, StoredKey],
                  report: VerifyReport, chain: _Chain) -> bool:
    prev, authorised = chain.prev, chain.authorised
    rid = record_id(ws, expected)
    if rec.seq != expected:
        if rec.seq > expected:
            missing = (rid if rec.seq == expected + 1
                       else f"{rid} .. {record_id(ws, rec.seq - 1)}")
            report.problems.append(Problem(ws, rid, (
                f"is missing: the chain jumps from record {expected - 1} to record {rec.seq} "
                f"(deleted: {missing})")))
        else:  # pragma: no cover - the primary key forbids duplicates
            report.problems.append(Problem(ws, rid, f"appears twice (seq {rec.seq})"))
        return False
    try:
        body = json.loads(rec.body_text)
        canonical = canonical_bytes(body)
    except (ValueError, ConfigurationError) as exc:
        report.problems.append(Problem(ws, rid, f"its body is not a valid record ({exc})"))
        return False
    if canonical != rec.body_text.encode("utf-8"):
        report.problems.append(Problem(ws, rid, "its body is not in canonical form: it was "
                                       "rewritten after it was signed"))
        return False
    if not isinstance(body, dict) or (body.get("workstation"), body.get("seq"), body.get("id")) \
            != (ws, rec.seq, rid):
        said = (f"{body.get('id')!r}" if isinstance(body, dict) else "nothing")
        report.problems.append(Problem(ws, rid, (
            f"its body says it is record {said}, but it is stored as {rid}: records were "
            "moved or reordered")))
        return False
    digest = record_hash(canonical)
    if digest != rec.hash:
        report.problems.append(Problem(ws, rid, (
            "its body does not match its stored hash: a field was changed after the record "
            f"was written (stored {rec.hash[:16]}..., body hashes to {digest[:16]}...)")))
        return False
    if body.get("prev") != prev:
        report.problems.append(Problem(ws, rid, (
            f"does not chain to record {expected - 1}: its prev hash is "
            f"{str(body.get('prev'))[:16]}..., record {expected - 1} hashes to {prev[:16]}... "
            "(a record before it was changed, removed or reordered)")))
        return False
    key = keys.get(str(body.get("key_id")))
    if key is None:
        report.problems.append(Problem(ws, rid, (
            f"is signed by key {body.get('key_id')}, which the store does not hold for "
            f"workstation {ws} (re-signed with another key?)")))
        return False
    if expected == 1:
        authorised.add(key.key_id)      # the chain's first key: its own identity
    if key.key_id not in authorised:
        report.problems.append(Problem(ws, rid, (
            f"is signed by key {key.key_id}, which no key-rotation record earlier in the "
            f"chain introduced for workstation {ws} (a key was added to the store behind "
            "the chain's back)")))
        return False
    if not signature_valid(key.public_key, canonical, rec.signature):
        report.problems.append(Problem(ws, rid, (
            f"its signature does not verify with the workstation's public key {key.key_id} "
            "(the signature was swapped, or the record re-signed with another key)")))
        return False
    if body.get("kind") == "key-rotation":
        new = keys.get(str(body.get("new_key_id")))
        if new is None or base64.b64encode(new.public_key).decode() != body.get("new_public_key"):
            report.problems.append(Problem(ws, rid, (
                f"introduces key {body.get('new_key_id')}, but the store holds no such public "
                "key for the workstation (the key table was edited)")))
            return False
        authorised.add(new.key_id)
    chain.prev = digest
    return True


def _valid_key(checkpoint: Checkpoint, keys: Iterable[StoredKey]) -> StoredKey | None:
    for key in keys:
        if checkpoint.valid_for(key.public_key):
            return key
    return None


def _parse_checkpoint(note: str, source: str, report: VerifyReport) -> Checkpoint | None:
    try:
        return Checkpoint.parse(note)
    except ConfigurationError as exc:
        report.problems.append(Problem("?", None, f"{source} is not a checkpoint: {exc}"))
        return None


def _check_checkpoint(cp: Checkpoint, source: str, store_keys: list[StoredKey],
                      chains: dict[str, _Chain], report: VerifyReport) -> None:
    report.checkpoints_checked += 1
    ws = cp.workstation
    keys = [k for k in store_keys if k.workstation == ws]
    chain = chains.get(ws, _Chain())
    if not keys and not chain.count:
        report.problems.append(Problem(ws, None, (
            f"{source} covers {cp.count} records of workstation {ws}, which this store does not "
            "hold at all")))
        return
    if _valid_key(cp, keys) is None:
        report.problems.append(Problem(ws, None, (
            f"{source} ({cp.count} records) is not signed by any key the store holds for {ws}: "
            "the store's keys were replaced, so the trail was rewritten with another key")))
        return
    if cp.count > chain.count:
        first_missing = record_id(ws, chain.count + 1)
        report.problems.append(Problem(ws, first_missing, (
            f"is missing: {source} covers {cp.count} records, the trail holds only "
            f"{chain.count} (truncated)")))
    elif cp.count and chain.hashes.get(cp.count) != cp.head:
        report.problems.append(Problem(ws, record_id(ws, cp.count), (
            f"is not the record {source} covered: the chain up to it was rewritten")))


def _check_head(ws: str, chain: _Chain, head: Head | None, keys: dict[str, StoredKey],
                report: VerifyReport) -> None:
    if head is None:
        if chain.count:
            report.problems.append(Problem(ws, None, "the chain has no signed head (the head "
                                           "table was edited)"))
        return
    try:
        note: Checkpoint | None = Checkpoint.parse(head.note)
    except ConfigurationError:
        note = None
    if note is None or _valid_key(note, keys.values()) is None \
            or (note.count, note.head) != (head.count, head.hash):
        report.problems.append(Problem(ws, None, "the chain's head is not signed by the "
                                       "workstation key (the head table was edited)"))
    elif head.count > chain.count:
        report.problems.append(Problem(ws, record_id(ws, chain.count + 1), (
            f"is missing: the signed head says {head.count} records, the trail holds only "
            f"{chain.count} (the trail was truncated)")))
    elif head.count < chain.count:
        report.problems.append(Problem(ws, record_id(ws, head.count + 1), (
            f"is not covered by the signed head ({head.count} records): it was added outside "
            "the store")))
    elif chain.head != head.hash:
        report.problems.append(Problem(ws, record_id(ws, chain.count), (
            "is not the record the signed head names: it was replaced outside the store")))


def verify_trail(store: AuditStore, checkpoints: Iterable[tuple[str, str]] = ()) -> VerifyReport:
    """Check every workstation chain in ``store`` (streamed, record by record), the signed
    heads, the checkpoints kept in the store and ``checkpoints`` given as
    ``(source_name, note_text)``."""
    report = VerifyReport()
    with store.snapshot():     # one consistent view while counters go on appending
        all_keys = store.keys()
        for key in all_keys:
            if key_id_for(key.public_key) != key.key_id:
                report.problems.append(Problem(key.workstation, None, (
                    f"the stored public key {key.key_id} does not match its id: the key table was "
                    "edited")))
        notes = [(f"the checkpoint kept in the store at {count} records", note)
                 for _ws, count, note in store.checkpoints()] + list(checkpoints)
        parsed = [(source, cp) for source, note in notes
                  if (cp := _parse_checkpoint(note, source, report)) is not None]
        heads = {h.workstation: h for h in store.heads()}
        chains: dict[str, _Chain] = {}
        for ws in store.workstations():
            keys = {k.key_id: k for k in all_keys if k.workstation == ws}
            wanted = {cp.count for _, cp in parsed if cp.workstation == ws}
            chain = _walk(ws, store.iter_records(ws), keys, report, wanted)
            chains[ws] = chain
            report.counts[ws] = chain.count
            if chain.ok:
                _check_head(ws, chain, heads.get(ws), keys, report)
        for source, cp in parsed:
            if chains.get(cp.workstation, _Chain()).ok:
                _check_checkpoint(cp, source, all_keys, chains, report)
    return report
