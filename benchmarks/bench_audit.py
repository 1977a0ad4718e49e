"""Audit trail figures (not a test): how fast records are appended durably and verified.

* append: one signed, chained record per transaction, durable on return (SQLite WAL with
  synchronous=FULL: one fsync per record; PostgreSQL: one commit per record);
* concurrent append: WORKERS threads, each its own connection and workstation;
* verify: records checked per second (JSON parse, canonical form, SHA-256, Ed25519 verify).

Usage: python benchmarks/bench_audit.py [--records 500] [--workers 4]
       [--postgres postgresql://...]   (default: $TACTILE_TEST_POSTGRES_URL; skipped if none)
Prints the figures; record them in benchmarks/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.confirmation import AuditConfig, PostgresStore, SqliteStore, verify_trail  # noqa: E402

_CONTENT = {"kind": "confirmation", "item": "debit card replacement", "customer": "C-1001",
            "terms_sha256": "ab" * 32, "lang": "zh-CN", "profile": "blind", "outcome": "confirmed",
            "fingerprint": {"attempts_used": 1, "attempts_allowed": 3, "best_score": 180},
            "staff": [{"id": "T-17", "role": "teller", "present": True},
                      {"id": "R-04", "role": "reviewer", "present": True}],
            "steps": [{"step": s, "at": "2026-03-01T09:00:00.000Z"} for s in
                      ("terms-presented", "fingerprint", "teller-confirmed", "reviewed")]}


def _bench(name: str, opener, records: int, workers: int) -> None:
    config = AuditConfig.generate("BENCH-1")
    with opener() as store:
        start = time.perf_counter()
        for _ in range(records):
            store.append(config, _CONTENT)
        elapsed = time.perf_counter() - start
    print(f"{name}: append {records / elapsed:8.0f} records/s ({elapsed / records * 1000:.2f} ms each, durable)")

    def worker(cfg: AuditConfig) -> None:
        with opener() as own:
            for _ in range(records // workers):
                own.append(cfg, _CONTENT)

    configs = [AuditConfig.generate(f"BENCH-W{i}") for i in range(workers)]
    threads = [threading.Thread(target=worker, args=(c,)) for c in configs]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    total = records // workers * workers
    print(f"{name}: {workers} concurrent workstations {total / elapsed:8.0f} records/s in all")
    with opener() as store:
        start = time.perf_counter()
        report = verify_trail(store)
        elapsed = time.perf_counter() - start
    assert report.ok, report.problems
    print(f"{name}: verify {report.records / elapsed:8.0f} records/s ({report.records} records, "
          f"{elapsed:.2f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--postgres", default=os.environ.get("TACTILE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        _bench("sqlite", lambda: SqliteStore(path), args.records, args.workers)
    if args.postgres:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        try:
            _bench("postgres", lambda: PostgresStore(args.postgres, schema=schema), args.records,
                   args.workers)
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    else:
        print("postgres: skipped (no --postgres URL and no $TACTILE_TEST_POSTGRES_URL)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
