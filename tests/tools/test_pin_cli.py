"""The ``tactile pin`` command-line contract, on real processes as a teller script uses it:
``tactile sim pinpad --pty-link PATH`` in one process (a scripted customer on its stdin),
``tactile pin PATH --pan ... --json`` in another; exactly one JSON object on stdout; the block
decrypts (published TEST keys) to the PIN typed, and no PIN digit sequence is printed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pinpad_rig import PAN, decrypt
from sim_process import LAUNCH, SimProcess



@pytest.fixture
def sim(tmp_path):
    process = SimProcess("pinpad", "--pty-link", str(tmp_path / "pad"))
    try:
        process.ready()
        yield process
    finally:
        process.close()


def tactile_pin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LAUNCH, "pin", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("pin,fmt", [("739164", "iso4"), ("50284613", "iso0")])
def test_json_contract_and_the_block_decrypts_to_the_pin(sim, pin, fmt):
    assert sim.ask("script " + "; ".join(f"press {d}" for d in pin) + "; press enter")["ok"]
    done = tactile_pin(sim.port, "--pan", PAN, "--format", fmt, "--min", "6", "--max", "8",
                       "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1                                   # exactly ONE JSON object
    result = json.loads(lines[0])
    assert set(result) == {"status", "digits", "format", "pin_block", "ksn"}
    assert result["status"] == "ok" and result["digits"] == len(pin)
    assert result["format"] == fmt
    assert result["pin_block"] == result["pin_block"].upper()      # upper-case hex
    block, ksn = bytes.fromhex(result["pin_block"]), bytes.fromhex(result["ksn"])
    assert decrypt(block, ksn, fmt) == pin
    assert pin not in done.stdout + done.stderr
    # the simulator never showed or said the PIN either
    sim.until(lambda item: item.get("event") == "mode" and item.get("mode") == "idle")
    assert pin not in json.dumps(sim.events, ensure_ascii=False)


def test_cancelled_entry_exits_1_with_no_block(sim):
    sim.ask("script press 4; press 2; press cancel")
    done = tactile_pin(sim.port, "--pan", PAN, "--json", "--lang", "zh-CN")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result == {"status": "cancelled", "digits": 0, "format": "iso4", "pin_block": None,
                      "ksn": None}
    said = sim.until(lambda item: item.get("event") == "say")
    assert said["lang"] == "zh-CN"


def test_readable_output_without_json(sim):
    sim.ask("script press 1; press 9; press 7; press 3; press enter")
    done = tactile_pin(sim.port, "--pan", PAN)
    assert done.returncode == 0, done.stderr
    assert "PIN block" in done.stdout and "ok" in done.stdout
    assert "1973" not in done.stdout


def test_usage_and_link_errors():
    done = tactile_pin("sim://pinpad", "--pan", "12ab")
    assert done.returncode == 2 and "PAN" in done.stderr
    done = tactile_pin("sim://pinpad", "--pan", PAN, "--min", "3")
    assert done.returncode == 2
    done = tactile_pin("sim://pinpad", "--pan", PAN, "--min", "7", "--max", "5", "--json")
    assert done.returncode == 2 and done.stdout == "" and "--min 7 is more than --max 5" in done.stderr
    done = tactile_pin("/nonexistent/tty-pad", "--pan", PAN, "--json")
    assert done.returncode == 1 and done.stdout == ""
    assert "TransportError" in done.stderr and "Check" in done.stderr
