"""``tactile audit verify|show|export|checkpoint|keygen``: the exact contract of issue 7."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid

import pytest

from drivers.confirmation import AuditConfig, SqliteStore
from tools.cli import main

PG_ENV = "TACTILE_TEST_POSTGRES_URL"


def _fill(store, config, n=4):
    for i in range(n):
        store.append(config, {"kind": "confirmation", "item": f"item {i}", "customer": f"C-{i}",
                              "outcome": "confirmed" if i % 2 else "cancelled",
                              "customer_check": {"method": "fingerprint"},
                              "staff": [{"id": "T-1", "role": "teller", "present": True}]})


@pytest.fixture
def trail(tmp_path):
    config = AuditConfig.generate("BR0107-C03")
    config_path = config.save(tmp_path / "audit.json")
    db = tmp_path / "trail.db"
    with SqliteStore(db) as store:
        _fill(store, config)
    return db, config_path


def _tamper(db, sql, params=()):
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER audit_records_no_update")
    conn.execute("DROP TRIGGER audit_records_no_delete")
    conn.execute(sql, params)
    conn.close()


def test_verify_good_trail_exits_0(trail, capsys):
    db, _ = trail
    assert main(["audit", "verify", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK 4 records in 1 workstation chain(s) (BR0107-C03: 4)")


def test_verify_names_the_first_bad_record_and_exits_1(trail, capsys):
    db, _ = trail
    _tamper(db, "UPDATE audit_records SET body = replace(body, 'cancelled', 'confirmed') WHERE seq = 3")
    assert main(["audit", "verify", str(db)]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("FAIL record BR0107-C03-000003: its body does not match its stored hash")


def test_verify_json(trail, capsys):
    db, _ = trail
    _tamper(db, "DELETE FROM audit_records WHERE seq = 2")
    assert main(["audit", "verify", str(db), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["problems"][0]["record"] == "BR0107-C03-000002"


def test_checkpoint_then_verify_against_it(trail, tmp_path, capsys):
    db, config_path = trail
    assert main(["audit", "checkpoint", str(db), "--config", str(config_path)]) == 0
    note = capsys.readouterr().out
    assert note.splitlines()[:2] == ["tactile-audit/BR0107-C03", "4"]
    kept = tmp_path / "kept.note"
    kept.write_text(note, encoding="utf-8")
    assert main(["audit", "verify", str(db), "--checkpoint", str(kept)]) == 0
    assert "2 checkpoint(s) hold" in capsys.readouterr().out
    # the trail is cut back and its head forged by someone holding the key
    from drivers.confirmation import Checkpoint

    config = AuditConfig.load(config_path)
    conn = sqlite3.connect(db, isolation_level=None)
    for name in ("audit_records_no_delete", "audit_heads_forward", "audit_checkpoints_no_delete"):
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DELETE FROM audit_records WHERE seq = 4")
    conn.execute("DELETE FROM audit_checkpoints")
    head = conn.execute("SELECT hash FROM audit_records WHERE seq = 3").fetchone()[0]
    conn.execute("UPDATE audit_heads SET count = 3, hash = ?, note = ?",
                 (head, Checkpoint.sign(config, 3, head).note()))
    conn.close()
    assert main(["audit", "verify", str(db)]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", str(db), "--checkpoint", str(kept)]) == 1
    assert capsys.readouterr().out.startswith("FAIL record BR0107-C03-000004: is missing")


def test_show_and_export(trail, capsys):
    db, _ = trail
    assert main(["audit", "show", str(db), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == [f"BR0107-C03-00000{i}" for i in range(1, 5)]
    assert rows[1]["outcome"] == "confirmed" and rows[1]["staff"] == ["teller:T-1"]
    assert main(["audit", "show", str(db)]) == 0
    assert "BR0107-C03-000004" in capsys.readouterr().out
    assert main(["audit", "export", str(db)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["type"] == "key"
    assert [line["id"] for line in lines[1:]] == [r["id"] for r in rows]
    assert lines[2]["body"]["prev"] == lines[1]["hash"]


def test_bad_usage_exits_2(trail, tmp_path, capsys):
    db, _ = trail
    assert main(["audit", "verify", str(tmp_path / "missing.db")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.note"
    bad.write_text("not a note", encoding="utf-8")
    assert main(["audit", "verify", str(db), "--checkpoint", str(bad)]) == 2
    assert main(["audit", "checkpoint", str(db), "--config", str(tmp_path / "none.json")]) == 2
    assert "tactile audit keygen" in capsys.readouterr().err
    assert main(["audit", "verify", "mysql://x/y"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["audit", "verify"])
    assert exc.value.code == 2


def test_corrupt_file_fails_verify_with_1(trail, capsys):
    db, _ = trail
    data = db.read_bytes()
    db.write_bytes(data[:100] + b"\xff" * 200 + data[300:])
    assert main(["audit", "verify", str(db)]) == 1
    assert capsys.readouterr().out.startswith("FAIL the trail cannot be read")


def test_keygen_writes_a_private_config(tmp_path, capsys):
    path = tmp_path / "cfg" / "audit.json"
    assert main(["audit", "keygen", "--workstation", "BR9-C1", "--config", str(path)]) == 0
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert AuditConfig.load(path).workstation == "BR9-C1"
    assert main(["audit", "keygen", "--workstation", "BR9-C1", "--config", str(path)]) == 2
    os.chmod(path, 0o644)
    with pytest.raises(Exception, match="chmod 600"):
        AuditConfig.load(path)


def test_verify_postgres_url(capsys):
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set in CI")
        pytest.skip(f"set {PG_ENV}=postgresql://USER:PASS@127.0.0.1:5432/DB to run this "
                    "(Debian: apt-get install postgresql; pg_ctlcluster 15 main start)")
    import psycopg

    from drivers.confirmation import PostgresStore

    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        with PostgresStore(url, schema=schema) as store:
            _fill(store, AuditConfig.generate("BR0107-C03"))
        assert main(["audit", "verify", url, "--schema", schema]) == 0
        assert capsys.readouterr().out.startswith("OK 4 records")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"SET search_path TO {schema}")
            conn.execute("ALTER TABLE audit_records DISABLE TRIGGER USER")
            conn.execute("UPDATE audit_records SET signature = (SELECT signature FROM "
                         "audit_records WHERE seq = 1) WHERE seq = 2")
        assert main(["audit", "verify", url, "--schema", schema]) == 1
        assert capsys.readouterr().out.startswith(
            "FAIL record BR0107-C03-000002: its signature does not verify")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
