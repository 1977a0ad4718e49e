"""The fault-injection matrix: every fault x every command of both protocols (issue 9).

The data and the cell runners are in :mod:`fault_matrix` (next to this file); docs/FAULTS.md
is rendered from the same data and checked here.  One test per (protocol, fault); inside it
every command is a cell, run concurrently (the cells wait on link timers, not on the CPU), and
the test fails listing every cell that broke its rule.  Cells listed in :data:`KNOWN` are
defects found by the matrix in code this file cannot fix; they must still fail (strict), so
the list shrinks as they are fixed.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fault_matrix as fm  # noqa: E402

#: cells the matrix found broken in another engineer's code (see fault_matrix.KNOWN)
KNOWN = fm.KNOWN

_WORKERS = 24


def _cells(protocol: str, fault_key: str) -> list[fm.Result]:
    commands = fm.TPP_COMMANDS if protocol == "TPP" else fm.EF01_COMMANDS
    run = fm.run_tpp_cell if protocol == "TPP" else fm.run_ef01_cell
    if protocol == "EF01":
        fm.reference_template()   # made once, before the cells race for it
    with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="fault-cell") as pool:
        return list(pool.map(lambda command: run(fault_key, command), commands))


@pytest.mark.parametrize("fault_key", fm.FAULT_KEYS)
@pytest.mark.parametrize("protocol", ["TPP", "EF01"])
def test_every_command_under_the_fault(protocol, fault_key):
    if fm.fault(fault_key).tpp == "n/a" and protocol == "TPP":
        pytest.skip(f"{fault_key}: {fm.fault(fault_key).note.split('. ')[0]}")
    results = _cells(protocol, fault_key)
    broken = [r for r in results if r.outcome == "fail"
              and (protocol, fault_key, r.command) not in KNOWN]
    fixed = [key for key in KNOWN if key[:2] == (protocol, fault_key)
             and any(r.command == key[2] and r.outcome != "fail" for r in results)]
    assert not broken, "cells that broke their rule:\n" + "\n".join(
        f"  {protocol} {fault_key} x {r.command}: {r.detail}" for r in broken)
    assert not fixed, f"known defects now pass (remove them from KNOWN): {fixed}"
    assert {r.command for r in results} == set(
        fm.TPP_COMMANDS if protocol == "TPP" else fm.EF01_COMMANDS)


def test_the_docs_table_is_generated_from_the_matrix():
    path = Path(__file__).resolve().parents[2] / "docs" / "FAULTS.md"
    assert path.read_text(encoding="utf-8") == fm.render(), (
        "docs/FAULTS.md is out of date: run "
        "`python tests/hardening/fault_matrix.py --write docs/FAULTS.md`")


def test_the_matrix_covers_the_issue_and_every_request():
    from protocol.tpp import messages as m

    titles = " ".join(f.title for f in fm.FAULTS)
    for fault in ("corrupted byte", "dropped byte", "duplicated frame", "truncated frame",
                  "reply later than the deadline", "device reset mid-command",
                  "unplug and replug", "baud mismatch", "wrong address", "password lock"):
        assert fault in titles
    requests = {cls.__name__ for cls in vars(m).values()
                if isinstance(cls, type) and issubclass(cls, m.Request) and cls is not m.Request
                and hasattr(cls, "TYPE")}
    assert requests <= set(fm.TPP_COMMANDS), requests - set(fm.TPP_COMMANDS)
