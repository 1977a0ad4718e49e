"""Soak: many guided PIN sessions and fingerprint verifications in ONE process against the
simulators; memory, threads and file descriptors must not grow, and every audit record must be
there.

    python benchmarks/bench_soak.py [--pins 10000] [--fingers 10000] [--json]

* PIN sessions: ``drivers.guidance`` guided PIN entries (``Guide.pin_entry``) on one
  :class:`TactilePinPad` against one in-process simulated pad whose own time runs 200x
  (``time_scale``: the spoken guidance and the scripted customer's key presses need no real
  time; the link's timing stays real).  Every 20th session is cancelled by the customer, the
  others give a PIN block that must decipher (published TEST keys) to the random PIN typed.
* Fingerprint verifications: ``drivers.confirmation.ConfirmationSession`` on one
  :class:`FingerprintReader` against one simulated R503 (terms spoken on the pad, the customer's
  finger verified, teller and reviewer confirm); every session appends one signed audit record
  to a SQLite trail.  At the end the trail must verify and hold exactly one record per session.
* Resident memory (``/proc/self/statm``) is sampled after a warm-up (the first 5 % of each
  kind; for the fingerprints also until the simulated matcher's bounded feature cache of
  4096 templates is full, about 1400 verifications) and at the end of each phase, after
  ``gc.collect()``; target: growth under 5 MB, summed over the two phases.  Threads and open
  file descriptors must be back to their count before the run.

The short version runs in CI: tests/hardening/test_soak.py.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (str(ROOT), str(ROOT / "tests" / "helpers")):
    if extra not in sys.path:
        sys.path.insert(0, extra)

PAN = "4111111111111111"
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@dataclass
class SoakResult:
    pins: int = 0
    pin_ok: int = 0
    pin_cancelled: int = 0
    fingers: int = 0
    fingers_matched: int = 0
    audit_records: int = 0
    trail_ok: bool = False
    rss_warm_mb: float = 0.0     # after the first phase's warm-up
    rss_end_mb: float = 0.0
    rss_growth_mb: float = 0.0
    threads_before: int = 0
    threads_after: int = 0
    fds_before: int = 0
    fds_after: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def _matcher_cache_full() -> bool:
    """The simulated module's matcher keeps the decoded features of its last 4096 templates
    (an LRU cache, firmware_sim.biometrics); every capture adds one, so the fingerprint
    phase's memory is only steady once the cache is full: warm-up lasts until then."""
    from firmware_sim.biometrics import _matcher
    return len(_matcher._CACHE) >= _matcher._CACHE_MAX


def _mb(n: int) -> float:
    return round(n / (1 << 20), 2)


def run_soak(pins: int, fingers: int, *, seed: int = 9, progress: bool = False) -> SoakResult:
    from drivers.confirmation import AuditConfig, ConfirmationSession, open_store
    from drivers.confirmation.verify import verify_trail
    from drivers.fingerprint import FingerprintReader, LiftFinger, PlaceFinger
    from drivers.guidance import Guide
    from drivers.pinpad import TactilePinPad
    from firmware_sim.attach import create_runner
    from pinpad_rig import decrypt

    rng = random.Random(seed)
    result = SoakResult()
    gc.collect()
    result.threads_before = threading.active_count()
    result.fds_before = open_fds()
    start = time.monotonic()
    warm: int | None = None
    tmp = tempfile.TemporaryDirectory(prefix="tactile-soak-")

    # ---------------------------------------------------------------- PIN sessions
    pad_runner = create_runner("pinpad", {"seed": str(seed), "rate_limit": "10000",
                                          "time_scale": "200"}, name="soak-pad")
    pad_runner.start()
    try:
        with TactilePinPad.open(pad_runner.loopback(), timeout=3.0) as pad:
            for i in range(pins):
                guide = Guide(pad, lang="en", profile="standard")   # one per customer
                digits = [rng.randrange(10) for _ in range(rng.choice((4, 6)))]
                cancel = i % 20 == 19
                keys = [f"press {_DIGITS[d]}" for d in digits[:2]] + ["press cancel"] \
                    if cancel else [f"press {_DIGITS[d]}" for d in digits] + ["press enter"]
                assert pad_runner.command("script " + "; ".join(keys))["ok"]
                entry = guide.pin_entry(pan=PAN, min_len=4, max_len=6, instructions=(i % 50 == 0))
                with entry:
                    for _ in entry:
                        pass
                result.pins += 1
                if cancel:
                    if entry.status == "cancelled" and entry.pin_block is None:
                        result.pin_cancelled += 1
                    else:
                        result.problems.append(f"PIN session {i}: {entry.status}, not cancelled")
                elif entry.status == "ok" and decrypt(entry.pin_block, entry.ksn, "iso4",
                                                      PAN) == "".join(map(str, digits)):
                    result.pin_ok += 1
                else:
                    result.problems.append(f"PIN session {i}: {entry.status}")
                if warm is None and i + 1 >= max(1, pins // 20):
                    gc.collect()
                    warm = rss_bytes()
                if progress and (i + 1) % 500 == 0:
                    print(f"  {i + 1} PIN sessions, rss {_mb(rss_bytes())} MB", flush=True)
    finally:
        pad_runner.stop()
    gc.collect()
    pin_end = rss_bytes()

    # ---------------------------------------------------------------- fingerprint + audit
    fp_runner = create_runner("fingerprint", {"model": "r503", "seed": str(seed)},
                              name="soak-fp")
    pad_runner2 = create_runner("pinpad", {"seed": str(seed), "time_scale": "200"},
                                name="soak-pad-2")
    fp_runner.start()
    pad_runner2.start()
    warm_fp: int | None = None
    try:
        config = AuditConfig.generate("SOAK-WS-1")
        with open_store(str(Path(tmp.name) / "trail.db")) as store, \
                FingerprintReader.open(fp_runner.loopback(), close_transport=True) as reader, \
                TactilePinPad.open(pad_runner2.loopback()) as pad:
            def customer(event: object, finger: list[int] = [3]) -> None:
                if isinstance(event, PlaceFinger):
                    fp_runner.command(f"place {finger[0]} 92")
                elif isinstance(event, LiftFinger):
                    fp_runner.command("lift")

            template = reader.enroll(slot=0, on_event=customer)
            fp_runner.command("lift")
            for i in range(fingers):
                with ConfirmationSession(store, config, item="soak", terms="Soak terms.",
                                         customer=f"C-{i}", reader=reader, pad=pad,
                                         lang="en", attempts=2, on_event=customer) as session:
                    session.read_terms()
                    verdict = session.verify_customer(template)
                    session.teller_confirm("T-1")
                    session.review("R-2")
                fp_runner.command("lift")
                result.fingers += 1
                if getattr(verdict, "matched", verdict):
                    result.fingers_matched += 1
                if warm_fp is None and i + 1 >= max(1, fingers // 20) and (
                        _matcher_cache_full() or i + 1 >= fingers // 2):
                    gc.collect()
                    warm_fp = rss_bytes()
                if progress and (i + 1) % 500 == 0:
                    print(f"  {i + 1} verifications, rss {_mb(rss_bytes())} MB", flush=True)
            result.audit_records = sum(1 for _ in store.iter_records())
            result.trail_ok = bool(verify_trail(store).ok)
    finally:
        fp_runner.stop()
        pad_runner2.stop()
        tmp.cleanup()

    gc.collect()
    end = rss_bytes()
    # each phase warms its own caches first (construct, the matcher, a finger's master
    # pattern): growth is what each phase added after its warm-up, summed
    growth = 0
    if warm is not None:
        growth += max(0, pin_end - warm)
    if warm_fp is not None:
        growth += max(0, end - warm_fp)
    result.rss_warm_mb = _mb(warm if warm is not None else (warm_fp or end))
    result.rss_end_mb = _mb(end)
    result.rss_growth_mb = _mb(growth)
    deadline = time.monotonic() + 5.0
    while threading.active_count() > result.threads_before and time.monotonic() < deadline:
        time.sleep(0.05)
    result.threads_after = threading.active_count()
    result.fds_after = open_fds()
    result.seconds = round(time.monotonic() - start, 1)
    if fingers and result.audit_records != result.fingers:
        result.problems.append(f"{result.audit_records} audit records for {result.fingers} "
                               "confirmations")
    if fingers and not result.trail_ok:
        result.problems.append("the audit trail does not verify")
    if result.threads_after > result.threads_before:
        result.problems.append(f"threads {result.threads_before} -> {result.threads_after}")
    if result.fds_after > result.fds_before:
        result.problems.append(f"open fds {result.fds_before} -> {result.fds_after}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pins", type=int, default=10_000)
    parser.add_argument("--fingers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import logging
    logging.getLogger("drivers").setLevel(logging.ERROR)
    result = run_soak(args.pins, args.fingers, seed=args.seed, progress=not args.json)
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        for key, value in asdict(result).items():
            print(f"{key:16} {value}")
        print(f"RSS growth {result.rss_growth_mb} MB (target < 5 MB): "
              f"{'met' if result.rss_growth_mb < 5 else 'NOT met'}")
    ok = not result.problems and result.rss_growth_mb < 5
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
