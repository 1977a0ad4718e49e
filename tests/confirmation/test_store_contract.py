"""The audit store contract, run on SQLite and on a real PostgreSQL server; and tampering of
the stored trail, which verify must catch and name."""

from __future__ import annotations

import json
import threading

import pytest

from drivers.confirmation import AuditConfig, AuditStoreError, Checkpoint, verify_trail
from drivers.confirmation._canonical import canonical_bytes
from drivers.confirmation.records import GENESIS_HASH, record_hash, sign_body


def _fill(store, config, n=5):
    outcomes = ["confirmed", "cancelled", "cancelled", "confirmed", "confirmed"]
    return [store.append(config, {"kind": "confirmation", "item": f"item {i}", "customer": f"C-{i}",
                                  "outcome": outcomes[i % len(outcomes)], "score": 100 + i})
            for i in range(n)]


def _first(store, **kwargs):
    report = verify_trail(store, **kwargs)
    assert not report.ok
    return report.first


# ---------------------------------------------------------------------- contract
def test_append_chains_signs_and_reads_back(store, config):
    records = _fill(store, config)
    assert [r.id for r in records] == [f"BR0107-C03-{i:06d}" for i in range(1, 6)]
    stored = store.records()
    assert [r.id for r in stored] == [r.id for r in records]
    assert [r.hash for r in stored] == [r.hash for r in records]
    bodies = [r.body for r in stored]
    assert bodies[0]["prev"] == GENESIS_HASH
    for earlier, later in zip(stored, bodies[1:]):
        assert later["prev"] == earlier.hash
    assert {b["key_id"] for b in bodies} == {config.key_id}
    assert store.record("BR0107-C03-000003").body["item"] == "item 2"
    assert store.record("BR0107-C03-000099") is None
    assert [k.public_key for k in store.keys()] == [config.public_key]
    report = verify_trail(store)
    assert report.ok, report.problems
    assert report.counts == {"BR0107-C03": 5}


def test_record_is_durable_across_reopen(backend, config):
    with backend.open() as store:
        ids = [r.id for r in _fill(store, config, 3)]
    with backend.open(readonly=True) as again:
        assert [r.id for r in again.records()] == ids
        assert verify_trail(again).ok


def test_append_only_triggers_refuse_update_and_delete(backend, store, config):
    _fill(store, config, 2)
    backend.raw_refused("UPDATE audit_records SET body = 'x'")
    backend.raw_refused("DELETE FROM audit_records")
    backend.raw_refused("DELETE FROM audit_keys")
    backend.raw_refused("UPDATE audit_heads SET count = 1")
    assert verify_trail(store).ok


def test_readonly_store_refuses_appends(backend, config):
    with backend.open() as store:
        _fill(store, config, 1)
    with backend.open(readonly=True) as ro, pytest.raises(AuditStoreError):
        ro.append(config, {"kind": "x"})


def test_several_workstations_append_concurrently_one_chain_each(backend):
    configs = [AuditConfig.generate(f"WS-{i}") for i in range(3)]
    errors: list[BaseException] = []

    def counter(cfg):
        try:
            with backend.open() as own:          # each counter has its own connection
                for n in range(8):
                    own.append(cfg, {"kind": "confirmation", "n": n})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    # two appenders per workstation race for the same chain, three chains at once
    threads = [threading.Thread(target=counter, args=(cfg,)) for cfg in configs for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with backend.open(readonly=True) as store:
        report = verify_trail(store)
        assert report.ok, report.problems
        assert report.counts == {f"WS-{i}": 16 for i in range(3)}


def test_checkpoint_is_a_signed_note_kept_in_the_store(store, config):
    _fill(store, config, 3)
    cp = store.make_checkpoint(config)
    note = cp.note()
    lines = note.split("\n")
    assert lines[0] == "tactile-audit/BR0107-C03" and lines[1] == "3" and lines[3] == ""
    assert lines[4].startswith("\u2014 tactile-audit/BR0107-C03 ")
    parsed = Checkpoint.parse(note)
    assert parsed == cp and parsed.valid_for(config.public_key)
    assert not parsed.valid_for(AuditConfig.generate("BR0107-C03").public_key)
    assert parsed.head == store.records()[-1].hash
    assert [c[:2] for c in store.checkpoints()] == [("BR0107-C03", 3)]
    report = verify_trail(store, checkpoints=[("checkpoint.txt", note)])
    assert report.ok and report.checkpoints_checked == 2


def test_sealed_templates_are_kept_and_replaced(store):
    assert store.load_template("C-1") is None
    store.save_template("C-1", "tk-1", b"\x01" * 40)
    store.save_template("C-1", "tk-1", b"\x02" * 40)
    assert store.load_template("C-1") == ("tk-1", b"\x02" * 40)


# ---------------------------------------------------------------------- tampering
def test_edited_field_is_named(backend, store, config):
    _fill(store, config)
    backend.tamper("UPDATE audit_records SET body = replace(body, '\"outcome\":\"cancelled\"', "
                   "'\"outcome\":\"confirmed\"') WHERE seq = 3")
    problem = _first(store)
    assert problem.record_id == "BR0107-C03-000003"
    assert "does not match its stored hash" in problem.message


def test_edited_field_with_recomputed_hash_fails_the_signature(backend, store, config):
    _fill(store, config)
    body = store.record("BR0107-C03-000003").body
    body["outcome"] = "confirmed"
    canonical = canonical_bytes(body)
    backend.tamper("UPDATE audit_records SET body = ?, hash = ? WHERE seq = 3",
                   (canonical.decode(), record_hash(canonical)))
    problem = _first(store)
    assert problem.record_id == "BR0107-C03-000003"
    assert "signature does not verify" in problem.message


def test_deleted_record_is_named(backend, store, config):
    _fill(store, config)
    backend.tamper("DELETE FROM audit_records WHERE seq = 3")
    problem = _first(store)
    assert problem.record_id == "BR0107-C03-000003"
    assert "missing" in problem.message and "jumps from record 2 to record 4" in problem.message


def test_reordered_records_are_named(backend, store, config):
    _fill(store, config)
    backend.tamper("UPDATE audit_records SET seq = -1 WHERE seq = 2")
    backend.tamper("UPDATE audit_records SET seq = 2 WHERE seq = 3")
    backend.tamper("UPDATE audit_records SET seq = 3 WHERE seq = -1")
    problem = _first(store)
    assert problem.record_id == "BR0107-C03-000002"
    assert "moved or reordered" in problem.message


def test_truncated_trail_is_caught_by_the_signed_head(backend, store, config):
    _fill(store, config)
    backend.tamper("DELETE FROM audit_records WHERE seq > 3")
    problem = _first(store)
    assert problem.record_id == "BR0107-C03-000004"
    assert "truncated" in problem.message


def test_truncation_with_a_forged_head_is_caught(backend, store, config):
    records = _fill(store, config)
    backend.tamper("DELETE FROM audit_records WHERE seq > 3")
    backend.tamper("UPDATE audit_heads SET count = 3, hash = ?", (records[2].hash,))
    problem = _first(store)
    assert "head is not signed" in problem.message


def test_truncation_by_a_key_holder_is_caught_by_an_older_checkpoint(backend, store, config):
    records = _fill(store, config)
    older = store.make_checkpoint(config).note()
    # an insider with the workstation key cuts the trail and signs a matching head
    backend.tamper("DELETE FROM audit_records WHERE seq > 3")
    backend.tamper("DELETE FROM audit_checkpoints")
    note = Checkpoint.sign(config, 3, records[2].hash).note()
    backend.tamper("UPDATE audit_heads SET count = 3, hash = ?, note = ?", (records[2].hash, note))
    assert verify_trail(store).ok     # nothing inside the store can tell ...
    problem = _first(store, checkpoints=[("kept.txt", older)])   # ... the kept checkpoint can
    assert problem.record_id == "BR0107-C03-000004"
    assert "kept.txt covers 5 records" in problem.message


def test_swapped_signature_is_named(backend, store, config):
    records = _fill(store, config)
    backend.tamper("UPDATE audit_records SET signature = ? WHERE seq = 2", (records[2].signature,))
    problem = _first(store)
    assert problem.record_id == "BR0107-C03-000002"
    assert "signature does not verify" in problem.message


def _resigned_rows(records, other):
    """The same records, chained and signed again with ``other``'s key."""
    rows, prev = [], GENESIS_HASH
    for rec in records:
        body = rec.body
        body["prev"], body["key_id"] = prev, other.key_id
        canonical = canonical_bytes(body)
        prev = record_hash(canonical)
        rows.append((rec.seq, canonical.decode(), prev, sign_body(other, canonical)))
    return rows


def test_chain_resigned_with_another_key_is_caught_by_the_stored_public_key(backend, store, config):
    records = _fill(store, config)
    other = AuditConfig.generate(config.workstation)
    for seq, body, digest, sig in _resigned_rows(records, other):
        backend.tamper("UPDATE audit_records SET body = ?, hash = ?, signature = ? WHERE seq = ?",
                       (body, digest, sig, seq))
    problem = _first(store)
    assert problem.record_id == "BR0107-C03-000001"
    assert "which the store does not hold" in problem.message


def test_whole_store_rewritten_with_another_key_is_caught_by_an_older_checkpoint(backend, store, config):
    records = _fill(store, config)
    older = store.make_checkpoint(config).note()
    other = AuditConfig.generate(config.workstation)
    # the rewrite: new keys, new records (one outcome changed), new head, no checkpoints
    backend.tamper("DELETE FROM audit_records")
    backend.tamper("DELETE FROM audit_keys")
    backend.tamper("DELETE FROM audit_heads")
    backend.tamper("DELETE FROM audit_checkpoints")
    bodies = [r.body for r in records]
    bodies[1]["outcome"] = "confirmed"
    for body in bodies:
        content = {k: v for k, v in body.items()
                   if k not in ("v", "id", "workstation", "seq", "prev", "key_id")}
        store.append(other, content)
    assert verify_trail(store).ok     # a consistent forgery on its own ...
    problem = _first(store, checkpoints=[("kept.txt", older)])
    assert "not signed by any key the store holds" in problem.message


def test_truncated_sqlite_file_is_a_store_error(tmp_path, config):
    from drivers.confirmation import SqliteStore

    path = tmp_path / "trail.db"
    with SqliteStore(path) as store:
        _fill(store, config, 40)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AuditStoreError):
        with SqliteStore(path, readonly=True) as broken:
            verify_trail(broken)


def test_export_form_round_trips(store, config):
    records = _fill(store, config, 2)
    exported = [json.loads(json.dumps(r.to_dict())) for r in store.records()]
    assert [e["id"] for e in exported] == [r.id for r in records]
    assert exported[1]["body"]["prev"] == records[0].hash


# ---------------------------------------------------------------------- keys
def test_another_key_for_the_workstation_is_refused(store, config):
    _fill(store, config, 1)
    stranger = AuditConfig.generate(config.workstation)
    with pytest.raises(AuditStoreError, match="not one of them"):
        store.append(stranger, {"kind": "x"})
    with pytest.raises(AuditStoreError, match="prove nothing"):
        store.make_checkpoint(stranger)
    assert len(store.records()) == 1 and verify_trail(store).ok


def test_key_rotation_is_a_signed_record(store, config):
    _fill(store, config, 2)
    new = AuditConfig.generate(config.workstation)
    rotation = store.rotate_key(config, new)
    assert rotation.kind == "key-rotation" and rotation.body["key_id"] == config.key_id
    store.append(new, {"kind": "confirmation", "outcome": "confirmed"})
    store.append(config, {"kind": "confirmation", "outcome": "confirmed"})
    report = verify_trail(store)
    assert report.ok, report.problems
    assert {k.key_id for k in store.keys()} == {config.key_id, new.key_id}


def test_key_slipped_into_the_store_is_caught(backend, store, config):
    _fill(store, config, 2)
    intruder = AuditConfig.generate(config.workstation)
    backend.tamper("INSERT INTO audit_keys (workstation, key_id, public_key, key_name, added) "
                   "VALUES (?, ?, ?, ?, ?)", (config.workstation, intruder.key_id,
                                              intruder.public_key, intruder.key_name, "now"))
    store.append(intruder, {"kind": "confirmation", "outcome": "confirmed"})
    problem = _first(store)
    assert problem.record_id == "BR0107-C03-000003"
    assert "no key-rotation record" in problem.message


def test_verify_while_counters_append_sees_one_consistent_trail(backend, config):
    with backend.open() as store:
        _fill(store, config, 1)
    done = threading.Event()
    errors: list[BaseException] = []

    def counter():
        try:
            with backend.open() as own:
                for n in range(60):
                    own.append(config, {"kind": "confirmation", "n": n})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=counter)
    writer.start()
    reports = []
    try:
        with backend.open(readonly=True) as auditor:
            while not done.is_set() or not reports:
                reports.append(verify_trail(auditor))
    finally:
        writer.join(60)
    assert not errors, errors
    bad = [r.problems for r in reports if not r.ok]
    assert not bad, bad[:1]
    assert len(reports) > 1
