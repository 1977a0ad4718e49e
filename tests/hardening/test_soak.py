"""The soak's short version in CI (benchmarks/bench_soak.py runs the 10,000 + 10,000 one):
guided PIN sessions and confirmed fingerprint verifications in this process; every PIN block
right, every audit record present and the trail intact, no thread or file descriptor left.
Memory growth is a benchmark figure (RESULTS.md), not asserted here: a short run measures
mostly warm-up."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_soak.py"


def _soak():
    spec = importlib.util.spec_from_file_location("bench_soak", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_soak", module)   # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_short_soak():
    result = _soak().run_soak(pins=200, fingers=25)
    assert result.problems == []
    assert result.pins == 200 and result.pin_ok == 190 and result.pin_cancelled == 10
    assert result.fingers == 25 and result.fingers_matched == 25
    assert result.audit_records == 25 and result.trail_ok
    assert result.threads_after == result.threads_before
    assert result.fds_after <= result.fds_before
