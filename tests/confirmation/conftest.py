"""Fixtures for the confirmation tests: both audit store backends, keys, simulated devices,
a scripted customer and a stand-in for the guidance layer.

PostgreSQL tests need a real server named by ``TACTILE_TEST_POSTGRES_URL`` (``.ci/run`` starts
one); without it they skip locally and fail in CI (``CI=true``).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from drivers import FingerprintReader, LiftFinger, PlaceFinger, TactilePinPad
from drivers.confirmation import AuditConfig, PostgresStore, SqliteStore

PG_ENV = "TACTILE_TEST_POSTGRES_URL"
PG_HOWTO = (f"PostgreSQL tests need a server: set {PG_ENV}=postgresql://USER:PASS@127.0.0.1:5432/DB "
            "(Debian: apt-get install postgresql; pg_ctlcluster 15 main start; create a role and "
            "a database; .ci/run does all of this)")

_TRIGGERS = ("audit_records_no_update", "audit_records_no_delete", "audit_keys_no_update",
             "audit_keys_no_delete", "audit_heads_forward", "audit_heads_no_delete",
             "audit_checkpoints_no_update", "audit_checkpoints_no_delete")


def postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set in CI: .ci/run must start PostgreSQL. {PG_HOWTO}")
        pytest.skip(PG_HOWTO)
    return url


class Backend:
    """One audit store location (a SQLite file or a PostgreSQL schema) and raw access to it,
    as an attacker with the database owner's rights would have."""

    name: str

    def open(self, **options: Any) -> Any:
        raise NotImplementedError

    @property
    def target(self) -> str:
        raise NotImplementedError

    def tamper(self, sql: str, params: tuple = ()) -> None:
        """Run ``sql`` (``?`` placeholders) with the append-only triggers out of the way."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path

    @property
    def target(self) -> str:
        return self.path

    def open(self, **options: Any) -> SqliteStore:
        return SqliteStore(self.path, **options)

    def tamper(self, sql: str, params: tuple = ()) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            for name in _TRIGGERS:
                conn.execute(f"DROP TRIGGER IF EXISTS {name}")
            conn.execute(sql, params)
        finally:
            conn.close()

    def raw_refused(self, sql: str) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            with pytest.raises(sqlite3.DatabaseError, match="append-only|only moves forward|cannot be deleted"):
                conn.execute(sql)
        finally:
            conn.close()


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self.schema = f"t_{uuid.uuid4().hex[:16]}"
        self._psycopg = psycopg

    @property
    def target(self) -> str:
        return self.url

    def open(self, **options: Any) -> PostgresStore:
        return PostgresStore(self.url, schema=self.schema, **options)

    def _connect(self) -> Any:
        conn = self._psycopg.connect(self.url, autocommit=True)
        conn.execute(f"SET search_path TO {self.schema}")
        return conn

    def tamper(self, sql: str, params: tuple = ()) -> None:
        with self._connect() as conn:
            for table in ("audit_records", "audit_keys", "audit_heads", "audit_checkpoints"):
                conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            try:
                conn.execute(sql.replace("?", "%s"), params)
            finally:
                for table in ("audit_records", "audit_keys", "audit_heads", "audit_checkpoints"):
                    conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")

    def raw_refused(self, sql: str) -> None:
        with self._connect() as conn:
            with pytest.raises(self._psycopg.Error, match="append-only|only moves forward"):
                conn.execute(sql)

    def close(self) -> None:
        with self._psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path) -> Iterator[Backend]:
    """Each contract test runs on both stores."""
    if request.param == "sqlite":
        made: Backend = SqliteBackend(str(tmp_path / "trail.db"))
    else:
        made = PostgresBackend(postgres_url())
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def store(backend: Backend) -> Iterator[Any]:
    with backend.open() as opened:
        yield opened


@pytest.fixture
def config() -> AuditConfig:
    return AuditConfig.generate("BR0107-C03")


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "trail.db") as opened:
        yield opened


class Customer:
    """A virtual customer: puts the next finger of ``fingers`` on the sensor whenever the
    reader asks (the last one again once the list is used up), lifts when asked."""

    def __init__(self, simulator: Any, fingers: list[int] | int = 3, quality: int = 90) -> None:
        self.simulator = simulator
        self.fingers = [fingers] if isinstance(fingers, int) else list(fingers)
        self.quality = quality
        self.placed = 0
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)
        if isinstance(event, PlaceFinger):
            finger = self.fingers[min(self.placed, len(self.fingers) - 1)]
            self.placed += 1
            self.simulator.do(f"place {finger} {self.quality}")
        elif isinstance(event, LiftFinger):
            self.simulator.do("lift")


class FakeGuide:
    """Stands in for drivers.guidance: the four things the confirmation workflow uses."""

    def __init__(self, customer: Customer, lang: str = "en", profile: str = "blind") -> None:
        self.customer = customer
        self.lang = lang
        self.profile = SimpleNamespace(name=profile)
        self.calls: list[tuple] = []

    #: what the next read_terms reports ("heard", "read", "skipped", "cancelled", "timeout" ...)
    terms_outcome = "heard"
    #: an exception the next verify_finger raises (the customer's Cancel, say)
    verify_raises: BaseException | None = None

    def read_terms(self, text: str) -> Any:
        import hashlib

        self.calls.append(("read_terms", text))
        return SimpleNamespace(outcome=self.terms_outcome, mode="spoken", parts=3,
                               reached=3 if self.terms_outcome == "heard" else 1, repeats=1,
                               acknowledged=self.terms_outcome == "heard", lang=self.lang,
                               sha256=hashlib.sha256(text.encode()).hexdigest())

    def verify_finger(self, reader: Any, template: Any, attempts: int = 3,
                      timeout: float | None = None) -> Any:
        self.calls.append(("verify_finger", attempts))
        if self.verify_raises is not None:
            raise self.verify_raises
        return reader.verify(template, attempts=attempts, on_event=self.customer)

    def enroll_finger(self, reader: Any, captures: int = 2, slot: int | None = None,
                      timeout: float | None = None) -> Any:
        self.calls.append(("enroll_finger", captures, slot))
        return reader.enroll(captures=captures, slot=slot, on_event=self.customer)


@pytest.fixture
def counter(simulated_fingerprint, simulated_pinpad) -> Iterator[SimpleNamespace]:
    """A counter: an R503 reader and a PIN pad on simulators, and the customer's finger 3."""
    reader = FingerprintReader.open(simulated_fingerprint.url)
    try:
        pad = TactilePinPad.open(simulated_pinpad.url)
    except BaseException:
        reader.close()
        raise
    try:
        yield SimpleNamespace(reader=reader, pad=pad, fp=simulated_fingerprint,
                              padsim=simulated_pinpad,
                              customer=lambda fingers=3: Customer(simulated_fingerprint, fingers))
    finally:
        pad.close()
        reader.close()
