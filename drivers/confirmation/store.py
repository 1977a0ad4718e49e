"""Audit stores: one small interface, SQLite (the default) and PostgreSQL (psycopg 3).

Both keep, per workstation, one hash chain of signed records (:mod:`.records`):

* ``audit_records``  (workstation, seq, body, hash, signature): append-only; triggers refuse
  UPDATE, DELETE (and, on PostgreSQL, TRUNCATE);
* ``audit_keys``     (workstation, key_id, public_key, key_name, added): the public keys that
  verify each workstation's records; append-only;
* ``audit_heads``    (workstation, count, hash, note): the chain's head, moved forward in the
  same transaction as each append; the note is a checkpoint signed with the workstation key,
  so a trail cut short by someone without the key no longer matches it; a trigger refuses any
  change other than "one record more";
* ``audit_checkpoints`` (workstation, count, note, made): checkpoints made on request
  (``tactile audit checkpoint``); append-only;
* ``customer_templates`` (customer, key_id, blob, updated): sealed fingerprint templates
  (AES-GCM, never in clear; see :mod:`.templates`).  Not part of the trail: a customer who
  re-enrolls replaces the row, and the enrollment itself is a trail record.

A record is durable when :meth:`AuditStore.append` returns: SQLite runs in WAL mode with
``synchronous=FULL`` and commits each append in its own ``BEGIN IMMEDIATE`` transaction;
PostgreSQL commits each append in a transaction that first takes a transaction-scoped advisory
lock on the workstation, so several counters (processes, machines) appending to one database
keep one consistent chain each.  The triggers are a guard against mistakes, not against
someone with the database's owner rights: what catches that is ``verify`` (signatures, chain,
heads) and checkpoints kept elsewhere.
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import quote

from drivers.confirmation.config import AuditConfig
from drivers.confirmation.errors import AuditStoreError
from drivers.confirmation.records import (
    GENESIS_HASH,
    AuditRecord,
    Checkpoint,
    build_body,
    record_hash,
    sign_body,
)
from protocol.errors import ConfigurationError

__all__ = ["AuditStore", "SqliteStore", "PostgresStore", "StoredKey", "Head", "open_store",
           "is_postgres_url"]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StoredKey:
    workstation: str
    key_id: str
    public_key: bytes
    key_name: str
    added: str


@dataclass(frozen=True)
class Head:
    workstation: str
    count: int
    hash: str
    note: str


class AuditStore(ABC):
    """Where records, keys, heads, checkpoints and sealed templates live.

    Use as a context manager (or call :meth:`close`).  Safe to share between threads.
    """

    #: a description for messages (a path, or a URL without its password)
    where: str = ""
    _param = "?"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._closed = False
        self._snapshot_depth = 0

    # ------------------------------------------------------------------ backend template
    @abstractmethod
    def _transaction(self, workstation: str | None = None) -> Any:
        """A context manager yielding a cursor inside one transaction; with ``workstation``,
        holding that workstation's append lock."""

    @abstractmethod
    def _close(self) -> None: ...

    def _sql(self, text: str) -> str:
        return text if self._param == "?" else text.replace("?", "%s")

    def _query(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._transaction() as cur:
            cur.execute(self._sql(text), tuple(params))
            return list(cur.fetchall())

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._close()

    def __enter__(self) -> "AuditStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.where}>"

    @contextmanager
    def snapshot(self) -> Iterator["AuditStore"]:
        """Read everything inside one consistent view of the store: counters appending at
        the same time do not show up half-way (verify runs in one).  Appends from this store
        object wait until the snapshot ends."""
        with self._lock:
            self._check_open()
            if self._snapshot_depth:
                self._snapshot_depth += 1
                try:
                    yield self
                finally:
                    self._snapshot_depth -= 1
                return
            with self._snapshot_transaction():
                self._snapshot_depth = 1
                try:
                    yield self
                finally:
                    self._snapshot_depth = 0

    @abstractmethod
    def _snapshot_transaction(self) -> Any:
        """A context manager: one read transaction on a consistent snapshot."""

    def _check_open(self) -> None:
        if self._closed:
            raise AuditStoreError(f"the audit store {self.where} is closed")

    # ------------------------------------------------------------------ writing
    def append(self, config: AuditConfig, content: Mapping[str, Any]) -> AuditRecord:
        """Sign ``content`` as the next record of ``config.workstation``'s chain and store it.

        The record is durable when this returns.  ``content`` holds only JSON values (no
        floats); the chain fields (id, seq, prev, key_id ...) are added here.  The first
        append of a workstation registers its public key; later appends must use that key
        (or one introduced by :meth:`rotate_key`): a counter configured with another key is
        refused instead of starting a second identity silently.
        """
        return self._append(config, content)

    def rotate_key(self, old: AuditConfig, new: AuditConfig) -> AuditRecord:
        """Introduce ``new``'s key for the workstation: a ``key-rotation`` record signed with
        the ``old`` key names the new public key, and the new key is registered with it (one
        transaction).  From then on the workstation may sign with either."""
        if old.workstation != new.workstation:
            raise ConfigurationError("a key rotation stays within one workstation")
        import base64

        content = {"kind": "key-rotation", "new_key_id": new.key_id,
                   "new_public_key": base64.b64encode(new.public_key).decode(),
                   "new_key_name": new.key_name, "completed": _now(), "outcome": "rotated"}
        return self._append(old, content, introduce=new)

    def _append(self, config: AuditConfig, content: Mapping[str, Any], *,
                introduce: AuditConfig | None = None) -> AuditRecord:
        ws = config.workstation
        with self._lock:
            self._check_open()
            with self._transaction(ws) as cur:
                cur.execute(self._sql("SELECT count, hash FROM audit_heads WHERE workstation = ?"),
                            (ws,))
                row = cur.fetchone()
                count, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
                cur.execute(self._sql("SELECT key_id FROM audit_keys WHERE workstation = ?"), (ws,))
                known = {str(r[0]) for r in cur.fetchall()}
                if config.key_id not in known:
                    if known:
                        raise AuditStoreError(
                            f"workstation {ws} signs its records in {self.where} with key "
                            f"{', '.join(sorted(known))}; this configuration's key {config.key_id} "
                            "is not one of them. Use the workstation's own key configuration, or "
                            "introduce the new key with AuditStore.rotate_key(old, new)")
                    self._insert_key(cur, config)
                seq = count + 1
                canonical = build_body(config, seq, prev, content)
                digest = record_hash(canonical)
                signature = sign_body(config, canonical)
                note = Checkpoint.sign(config, seq, digest).note()
                text = canonical.decode("utf-8")
                cur.execute(self._sql("INSERT INTO audit_records (workstation, seq, body, hash, "
                                      "signature) VALUES (?, ?, ?, ?, ?)"),
                            (ws, seq, text, digest, signature))
                if row:
                    cur.execute(self._sql("UPDATE audit_heads SET count = ?, hash = ?, note = ? "
                                          "WHERE workstation = ?"), (seq, digest, note, ws))
                else:
                    cur.execute(self._sql("INSERT INTO audit_heads (workstation, count, hash, note) "
                                          "VALUES (?, ?, ?, ?)"), (ws, seq, digest, note))
                if introduce is not None and introduce.key_id not in known:
                    self._insert_key(cur, introduce)
        return AuditRecord(ws, seq, text, digest, bytes(signature))

    def _insert_key(self, cur: Any, config: AuditConfig) -> None:
        cur.execute(self._sql("INSERT INTO audit_keys (workstation, key_id, public_key, key_name, "
                              "added) VALUES (?, ?, ?, ?, ?)"),
                    (config.workstation, config.key_id, config.public_key, config.key_name, _now()))

    def make_checkpoint(self, config: AuditConfig) -> Checkpoint:
        """Sign the current head of ``config.workstation``'s chain, keep it in the store and
        return it (print it and keep a copy elsewhere)."""
        ws = config.workstation
        with self._lock:
            self._check_open()
            with self._transaction(ws) as cur:
                cur.execute(self._sql("SELECT count, hash FROM audit_heads WHERE workstation = ?"),
                            (ws,))
                row = cur.fetchone()
                count, head = (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
                cur.execute(self._sql("SELECT key_id FROM audit_keys WHERE workstation = ?"), (ws,))
                known = {str(r[0]) for r in cur.fetchall()}
                if known and config.key_id not in known:
                    raise AuditStoreError(
                        f"this configuration's key {config.key_id} is not a key of workstation "
                        f"{ws} in {self.where}: a checkpoint signed with it would prove nothing")
                checkpoint = Checkpoint.sign(config, count, head)
                cur.execute(self._sql("INSERT INTO audit_checkpoints (workstation, count, note, made) "
                                      "VALUES (?, ?, ?, ?)"), (ws, count, checkpoint.note(), _now()))
        return checkpoint

    # ------------------------------------------------------------------ reading
    def records(self, workstation: str | None = None) -> list[AuditRecord]:
        """Every record (of one workstation), by workstation and sequence number."""
        self._check_open()
        if workstation is None:
            rows = self._query("SELECT workstation, seq, body, hash, signature FROM audit_records "
                               "ORDER BY workstation, seq")
        else:
            rows = self._query("SELECT workstation, seq, body, hash, signature FROM audit_records "
                               "WHERE workstation = ? ORDER BY seq", (workstation,))
        return [AuditRecord(str(w), int(s), str(b), str(h), bytes(sig)) for w, s, b, h, sig in rows]

    def iter_records(self, workstation: str | None = None, *, batch: int = 500) -> Iterator[AuditRecord]:
        """Like :meth:`records`, but streamed ``batch`` rows at a time (a long trail does not
        have to fit in memory).  Holds the store while iterating: finish or close the
        iterator before using the store again from another thread."""
        self._check_open()
        if workstation is None:
            text, params = ("SELECT workstation, seq, body, hash, signature FROM audit_records "
                            "ORDER BY workstation, seq"), ()
        else:
            text, params = ("SELECT workstation, seq, body, hash, signature FROM audit_records "
                            "WHERE workstation = ? ORDER BY seq"), (workstation,)
        for w, s, b, h, sig in self._stream(self._sql(text), params, batch):
            yield AuditRecord(str(w), int(s), str(b), str(h), bytes(sig))

    def _stream(self, text: str, params: Sequence[Any], batch: int) -> Iterator[tuple]:
        with self._transaction() as cur:
            cur.execute(text, tuple(params))
            while True:
                rows = cur.fetchmany(batch)
                if not rows:
                    return
                yield from rows

    def record(self, record_id: str) -> AuditRecord | None:
        """The record named ``record_id`` (``WORKSTATION-NNNNNN``), or None."""
        ws, _, seq = record_id.rpartition("-")
        if not ws or not seq.isdigit():
            return None
        rows = self._query("SELECT workstation, seq, body, hash, signature FROM audit_records "
                           "WHERE workstation = ? AND seq = ?", (ws, int(seq)))
        return AuditRecord(str(rows[0][0]), int(rows[0][1]), str(rows[0][2]), str(rows[0][3]),
                           bytes(rows[0][4])) if rows else None

    def workstations(self) -> list[str]:
        rows = self._query("SELECT workstation FROM audit_records UNION SELECT workstation FROM "
                           "audit_heads UNION SELECT workstation FROM audit_keys ORDER BY 1")
        return [str(r[0]) for r in rows]

    def keys(self, workstation: str | None = None) -> list[StoredKey]:
        rows = self._query("SELECT workstation, key_id, public_key, key_name, added FROM audit_keys "
                           "ORDER BY workstation, added")
        keys = [StoredKey(str(w), str(k), bytes(p), str(n), str(a)) for w, k, p, n, a in rows]
        return [k for k in keys if workstation is None or k.workstation == workstation]

    def heads(self) -> list[Head]:
        rows = self._query("SELECT workstation, count, hash, note FROM audit_heads ORDER BY workstation")
        return [Head(str(w), int(c), str(h), str(n)) for w, c, h, n in rows]

    def checkpoints(self) -> list[tuple[str, int, str]]:
        """Checkpoints kept in the store: (workstation, count, note)."""
        rows = self._query("SELECT workstation, count, note FROM audit_checkpoints ORDER BY workstation, count")
        return [(str(w), int(c), str(n)) for w, c, n in rows]

    # ------------------------------------------------------------------ sealed templates
    def save_template(self, customer: str, key_id: str, blob: bytes) -> None:
        """Keep a sealed template for ``customer`` (replacing an older enrollment)."""
        with self._lock:
            self._check_open()
            with self._transaction() as cur:
                cur.execute(self._sql("DELETE FROM customer_templates WHERE customer = ?"), (customer,))
                cur.execute(self._sql("INSERT INTO customer_templates (customer, key_id, blob, "
                                      "updated) VALUES (?, ?, ?, ?)"),
                            (customer, key_id, bytes(blob), _now()))

    def load_template(self, customer: str) -> tuple[str, bytes] | None:
        """(key_id, sealed blob) of ``customer``'s template, or None if none is kept."""
        rows = self._query("SELECT key_id, blob FROM customer_templates WHERE customer = ?",
                           (customer,))
        return (str(rows[0][0]), bytes(rows[0][1])) if rows else None


# ====================================================================== SQLite
_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_records (
    workstation TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, hash TEXT NOT NULL,
    signature BLOB NOT NULL, PRIMARY KEY (workstation, seq));
CREATE TABLE IF NOT EXISTS audit_keys (
    workstation TEXT NOT NULL, key_id TEXT NOT NULL, public_key BLOB NOT NULL,
    key_name TEXT NOT NULL, added TEXT NOT NULL, PRIMARY KEY (workstation, key_id));
CREATE TABLE IF NOT EXISTS audit_heads (
    workstation TEXT PRIMARY KEY, count INTEGER NOT NULL, hash TEXT NOT NULL, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    workstation TEXT NOT NULL, count INTEGER NOT NULL, note TEXT NOT NULL, made TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customer_templates (
    customer TEXT PRIMARY KEY, key_id TEXT NOT NULL, blob BLOB NOT NULL, updated TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_records_no_update BEFORE UPDATE ON audit_records
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_records_no_delete BEFORE DELETE ON audit_records
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only: DELETE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_keys_no_update BEFORE UPDATE ON audit_keys
    BEGIN SELECT RAISE(ABORT, 'audit keys are append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_keys_no_delete BEFORE DELETE ON audit_keys
    BEGIN SELECT RAISE(ABORT, 'audit keys are append-only: DELETE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only: DELETE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_heads_forward BEFORE UPDATE ON audit_heads
    WHEN NEW.count <> OLD.count + 1 OR NEW.workstation <> OLD.workstation
    BEGIN SELECT RAISE(ABORT, 'an audit head only moves forward by one record'); END;
CREATE TRIGGER IF NOT EXISTS audit_heads_no_delete BEFORE DELETE ON audit_heads
    BEGIN SELECT RAISE(ABORT, 'audit heads cannot be deleted'); END;
"""


class SqliteStore(AuditStore):
    """An audit store in one SQLite file (WAL, synchronous=FULL, append-only triggers).

    ``readonly`` opens an existing file without changing it (``tactile audit verify``/``show``);
    several processes may append to one file (``BEGIN IMMEDIATE`` serialises them; a writer
    waits up to ``busy_timeout`` seconds for another).
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False,
                 busy_timeout: float = 10.0) -> None:
        super().__init__()
        self.path = Path(path)
        self.where = str(self.path)
        self.readonly = readonly
        try:
            if readonly:
                if not self.path.is_file():
                    raise AuditStoreError(f"no audit trail at {self.path}: the file does not exist")
                uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, isolation_level=None,
                                             timeout=busy_timeout, check_same_thread=False)
            else:
                self._conn = sqlite3.connect(str(self.path), isolation_level=None,
                                             timeout=busy_timeout, check_same_thread=False)
        except sqlite3.Error as exc:
            raise AuditStoreError(f"cannot open the SQLite audit store {self.path}: {exc}") from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if readonly:
                self._conn.execute("SELECT count(*) FROM audit_records").fetchone()
            else:
                self._setup(busy_timeout)
        except sqlite3.Error as exc:
            self._conn.close()
            raise AuditStoreError(f"{self.path} is not a readable audit store: {exc}") from None
        except BaseException:
            self._conn.close()
            raise

    def _setup(self, busy_timeout: float) -> None:
        """WAL, synchronous=FULL, the schema.  Switching a new file to WAL needs the file to
        itself and SQLite answers "locked" at once (no busy wait) while another process
        creates it at the same moment: retry until ``busy_timeout``."""
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise AuditStoreError(f"{self.path}: SQLite refused WAL mode ({mode}); is it on "
                                          "a network file system? Keep the trail on a local disk")
                self._conn.execute("PRAGMA synchronous = FULL")
                self._conn.executescript("BEGIN IMMEDIATE;" + _SQLITE_SCHEMA + "COMMIT;")
                return
            except sqlite3.OperationalError as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    @contextmanager
    def _snapshot_transaction(self) -> Iterator[None]:
        # in WAL mode a read transaction sees the database as of its first read
        cur = self._conn.cursor()
        try:
            cur.execute("BEGIN")
            cur.execute("SELECT count(*) FROM audit_heads").fetchone()
            yield
        except sqlite3.Error as exc:
            raise AuditStoreError(f"audit store {self.path}: {exc}") from None
        finally:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            cur.close()

    @contextmanager
    def _transaction(self, workstation: str | None = None) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            self._check_open()
            if self._snapshot_depth:
                if workstation is not None:
                    raise AuditStoreError("cannot append inside a snapshot of the audit store")
                cur = self._conn.cursor()
                try:
                    yield cur
                except sqlite3.Error as exc:
                    raise AuditStoreError(f"audit store {self.path}: {exc}") from None
                finally:
                    cur.close()
                return
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE" if workstation is not None and not self.readonly
                            else "BEGIN")
                yield cur
                cur.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise AuditStoreError(f"audit store {self.path}: {exc}") from None
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    def _close(self) -> None:
        self._conn.close()


# ====================================================================== PostgreSQL
_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_records (
    workstation TEXT NOT NULL, seq BIGINT NOT NULL, body TEXT NOT NULL, hash TEXT NOT NULL,
    signature BYTEA NOT NULL, PRIMARY KEY (workstation, seq));
CREATE TABLE IF NOT EXISTS audit_keys (
    workstation TEXT NOT NULL, key_id TEXT NOT NULL, public_key BYTEA NOT NULL,
    key_name TEXT NOT NULL, added TEXT NOT NULL, PRIMARY KEY (workstation, key_id));
CREATE TABLE IF NOT EXISTS audit_heads (
    workstation TEXT PRIMARY KEY, count BIGINT NOT NULL, hash TEXT NOT NULL, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    workstation TEXT NOT NULL, count BIGINT NOT NULL, note TEXT NOT NULL, made TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customer_templates (
    customer TEXT PRIMARY KEY, key_id TEXT NOT NULL, blob BYTEA NOT NULL, updated TEXT NOT NULL);
CREATE OR REPLACE FUNCTION tactile_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the tactile audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$;
CREATE OR REPLACE FUNCTION tactile_audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.count <> OLD.count + 1 OR NEW.workstation <> OLD.workstation THEN
        RAISE EXCEPTION 'an audit head only moves forward by one record';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION tactile_audit_refuse();
CREATE OR REPLACE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION tactile_audit_refuse();
CREATE OR REPLACE TRIGGER audit_keys_append_only BEFORE UPDATE OR DELETE ON audit_keys
    FOR EACH ROW EXECUTE FUNCTION tactile_audit_refuse();
CREATE OR REPLACE TRIGGER audit_keys_no_truncate BEFORE TRUNCATE ON audit_keys
    FOR EACH STATEMENT EXECUTE FUNCTION tactile_audit_refuse();
CREATE OR REPLACE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION tactile_audit_refuse();
CREATE OR REPLACE TRIGGER audit_heads_forward BEFORE UPDATE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION tactile_audit_head_forward();
CREATE OR REPLACE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION tactile_audit_refuse();
CREATE OR REPLACE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION tactile_audit_refuse();
"""


_PG_TRIGGERS = ("audit_records_append_only", "audit_records_no_truncate", "audit_keys_append_only",
                "audit_keys_no_truncate", "audit_checkpoints_append_only", "audit_heads_forward",
                "audit_heads_no_delete", "audit_heads_no_truncate")
_PG_COMPLETE = """
SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relnamespace = current_schema()::regnamespace AND t.tgname = ANY(%s)
  AND to_regclass('customer_templates') IS NOT NULL
"""


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.lower().startswith(("postgresql://", "postgres://"))


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - a malformed URL: say only that it is one
        return "postgresql://(unparsable URL)"
    host = info.get("host") or "localhost"
    port = info.get("port") or "5432"
    user = f"{info['user']}@" if info.get("user") else ""
    return f"postgresql://{user}{host}:{port}/{info.get('dbname', '')}"


class PostgresStore(AuditStore):
    """An audit store in a PostgreSQL database (psycopg 3), shared by many workstations.

    ``url`` is a libpq URL (``postgresql://user:pass@host:5432/dbname``); ``schema`` (optional)
    keeps the tables in their own schema (created if missing).  ``readonly`` opens an existing
    trail without creating anything.
    """

    _param = "%s"

    def __init__(self, url: str, *, schema: str | None = None, readonly: bool = False,
                 connect_timeout: float = 10.0) -> None:
        super().__init__()
        try:
            import psycopg
            from psycopg import sql
        except ImportError:  # pragma: no cover - psycopg is an install requirement
            raise AuditStoreError("the PostgreSQL audit store needs psycopg 3: "
                                  "pip install 'psycopg[binary]'") from None
        self._psycopg = psycopg
        self.where = _safe_url(url) + (f" (schema {schema})" if schema else "")
        self.readonly = readonly
        try:
            self._conn = psycopg.connect(url, autocommit=True,
                                         connect_timeout=max(1, int(connect_timeout)))
        except psycopg.Error as exc:
            raise AuditStoreError(
                f"cannot connect to the PostgreSQL audit store {self.where}: "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}. "
                "Check that the server runs (Debian: `pg_ctlcluster 15 main start`), the URL, "
                "the user's password and pg_hba.conf") from None
        try:
            if schema:
                self._conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            if readonly:
                self._conn.execute("SET default_transaction_read_only = on")
                self._query("SELECT count(*) FROM audit_records")
            else:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    # one schema creator at a time (CREATE ... IF NOT EXISTS races otherwise),
                    # and no DDL once the schema is complete: replacing a trigger locks the
                    # table against the appenders of other counters
                    cur.execute("SELECT pg_advisory_xact_lock(hashtextextended('tactile-audit-schema', 0))")
                    if schema:
                        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                    cur.execute(_PG_COMPLETE, (list(_PG_TRIGGERS),))
                    if cur.fetchone()[0] != len(_PG_TRIGGERS):
                        cur.execute(_PG_SCHEMA)
        except psycopg.Error as exc:
            self._conn.close()
            raise AuditStoreError(f"{self.where} is not a usable audit store: "
                                  f"{str(exc).strip().splitlines()[0]}") from None
        except BaseException:
            self._conn.close()
            raise

    @contextmanager
    def _snapshot_transaction(self) -> Iterator[None]:
        psycopg = self._psycopg
        try:
            with self._conn.transaction():
                self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                yield
        except psycopg.Error as exc:
            raise AuditStoreError(f"audit store {self.where}: "
                                  f"{str(exc).strip().splitlines()[0]}") from None

    @contextmanager
    def _transaction(self, workstation: str | None = None) -> Iterator[Any]:
        psycopg = self._psycopg
        with self._lock:
            self._check_open()
            if self._snapshot_depth and workstation is not None:
                raise AuditStoreError("cannot append inside a snapshot of the audit store")
            try:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    if workstation is not None:
                        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                                    ("tactile-audit:" + workstation,))
                    yield cur
            except psycopg.Error as exc:
                raise AuditStoreError(f"audit store {self.where}: "
                                      f"{str(exc).strip().splitlines()[0]}") from None

    def _stream(self, text: str, params: Sequence[Any], batch: int) -> Iterator[tuple]:
        # a server-side cursor: PostgreSQL sends ``batch`` rows at a time
        psycopg = self._psycopg
        with self._lock:
            self._check_open()
            try:
                with self._conn.transaction(), \
                        self._conn.cursor(name=f"tactile_audit_{id(self):x}") as cur:
                    cur.itersize = batch
                    cur.execute(text, tuple(params))
                    while True:
                        rows = cur.fetchmany(batch)
                        if not rows:
                            return
                        yield from rows
            except psycopg.Error as exc:
                raise AuditStoreError(f"audit store {self.where}: "
                                      f"{str(exc).strip().splitlines()[0]}") from None

    def _close(self) -> None:
        self._conn.close()


def open_store(target: str | os.PathLike[str], *, readonly: bool = False,
               schema: str | None = None) -> AuditStore:
    """A SQLite path or a ``postgresql://`` URL -> the matching store."""
    if is_postgres_url(target):
        return PostgresStore(str(target), schema=schema, readonly=readonly)
    if isinstance(target, str) and "://" in target:
        raise ConfigurationError(f"unknown audit store {target!r}: give a SQLite file path or a "
                                 "postgresql:// URL")
    if schema:
        raise ConfigurationError("schema= is for PostgreSQL stores")
    return SqliteStore(target, readonly=readonly)
