"""``tactile pin --profile P`` and ``tactile pin --change``: the same output contract as a plain
PIN entry (with --json exactly one JSON object on stdout, the guidance lines on stderr; without
it the guidance lines for people on stdout), status ok / cancelled / timeout / mismatch.

In-process tests run the CLI's ``main`` against an in-process simulator (a customer who presses
Enter when the instructions begin, then a scripted customer for the keys); one test runs both
as real processes, as a technician's script does.
"""

from __future__ import annotations

from perceive import read_pattern

import json
import re
import subprocess
import sys

import pytest

from firmware_sim import simulate
from pinpad_rig import PAN, decrypt
from tools.cli import main as tactile
from sim_process import LAUNCH, SimProcess



def presses(*groups: str) -> str:
    """``script`` lines for key groups: "123456 enter" -> press 1; ...; press enter."""
    lines = []
    for group in groups:
        for word in group.split():
            lines += [f"press {d}" for d in word] if word.isdigit() else [f"press {word}"]
    return "script " + "; ".join(lines)


@pytest.fixture
def pad_sim():
    """A simulator whose customer presses Enter as soon as the instructions begin (any key
    interrupts them: a customer acting never waits for speech); a customer who reads
    (``sim.reader = True``) presses it when the text appears."""
    with simulate("pinpad") as sim:
        pressed: list[int] = []
        sim.reader = False

        def customer(event: dict) -> None:
            begins = event.get("event") == "display" if sim.reader else \
                (event.get("event") == "say" and event.get("source") == "host")
            if begins and OFFER.search(str(event.get("text", ""))):
                sim.command("press enter")          # the headset offer: goes on without
                return
            if begins and not pressed:
                pressed.append(1)
                sim.command("press enter")
        sim.subscribe(customer)
        yield sim


OFFER = re.compile("|".join(read_pattern(lang, "common.headset_offer").pattern
                            for lang in ("en", "zh-CN")))


def run_cli(sim, capsys, *args: str) -> tuple[int, str, str]:
    code = tactile(["pin", f"sim://pinpad?name={sim.name}", "--pan", PAN, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_guided_change_json_contract_one_mismatch_then_ok(pad_sim, capsys):
    pad_sim.command(presses("908172 enter 281709 enter", "135790 enter 135790 enter"))
    code, out, err = run_cli(pad_sim, capsys, "--change", "--profile", "blind", "--min", "6",
                             "--max", "6", "--json")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 1                                      # exactly ONE JSON object
    result = json.loads(lines[0])
    assert set(result) == {"status", "digits", "format", "pin_block", "ksn"}
    assert result["status"] == "ok" and result["digits"] == 6 and result["format"] == "iso4"
    assert decrypt(bytes.fromhex(result["pin_block"]), bytes.fromhex(result["ksn"]),
                   "iso4") == "135790"
    guidance = err.splitlines()
    guided = [line for line in guidance if line.startswith("[guide]")]
    assert guided[0].startswith("[guide] For private listening")    # the headset first
    assert any(line.startswith("[guide] You will now choose a new six-digit PIN")
               for line in guided)
    assert "[pad] The two new PINs do not match; 2 tries left. Please enter the new PIN " \
        "again." in guidance
    assert "[teller] The two new PINs differed; 2 tries left." in guidance
    assert "[pad] Your new PIN is confirmed." in guidance
    assert "[guide] 3 digits." in guidance
    for pin in ("908172", "281709", "135790"):
        assert pin not in out + err


def test_guided_change_mismatch_limit_exits_1(pad_sim, capsys):
    pad_sim.command(presses("1111 enter 2222 enter"))
    code, out, err = run_cli(pad_sim, capsys, "--change", "--mismatches", "1", "--min", "4",
                             "--max", "4", "--json", "--lang", "zh-CN")
    assert code == 1
    assert json.loads(out) == {"status": "mismatch", "digits": 0, "format": "iso4",
                               "pin_block": None, "ksn": None}
    assert "[teller] 修改密码结束：两次输入的新密码不一致次数过多，0位。" in err.splitlines()


def test_guided_entry_for_a_deaf_customer_prints_the_text_for_the_teller(pad_sim, capsys):
    pad_sim.reader = True
    pad_sim.command(presses("2468 enter"))
    code, out, err = run_cli(pad_sim, capsys, "--profile", "deaf")
    assert code == 0, err
    assert "[guide] Enter your PIN (4 to 12 digits), then press Enter." in out
    assert "[pad] Thank you, your entry is complete." in out     # the pad vibrates itself
    assert "PIN block" in out and "ok" in out
    assert "2468" not in out + err


def test_guided_entry_cancelled(pad_sim, capsys):
    pad_sim.command(presses("12 cancel"))
    code, out, err = run_cli(pad_sim, capsys, "--profile", "elderly", "--json")
    assert code == 1
    assert json.loads(out)["status"] == "cancelled"
    assert "[guide] The PIN entry was cancelled; nothing was kept." in err.splitlines()
    assert err.splitlines()[-1].startswith("[teller] Customer session ended")


def test_bad_mismatches_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        tactile(["pin", "sim://pinpad", "--pan", PAN, "--change", "--mismatches", "0"])
    assert exc.value.code == 2


# -- real processes -----------------------------------------------------------------------------
def test_guided_change_between_real_processes(tmp_path):
    sim = SimProcess("pinpad", "--pty-link", str(tmp_path / "pad"))
    pin = None
    try:
        port = sim.ready()
        assert sim.ask(presses("97531 enter 97531 enter"))["ok"]
        pin = subprocess.Popen([sys.executable, "-c", LAUNCH, "pin", port, "--pan", PAN,
                                "--change", "--profile", "standard", "--min", "5", "--max", "5",
                                "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        # the customer hears the instructions begin and presses Enter to go on
        sim.until(lambda item: item.get("event") == "say" and item.get("source") == "host")
        assert sim.ask("press enter")["ok"]
        out, err = pin.communicate(timeout=60)
        assert pin.returncode == 0, err
        result = json.loads(out)
        assert out.count("\n") == 1 and result["status"] == "ok" and result["digits"] == 5
        assert decrypt(bytes.fromhex(result["pin_block"]), bytes.fromhex(result["ksn"]),
                       "iso4") == "97531"
        assert "[pad] Please enter the new PIN again." in err.splitlines()
        assert "97531" not in out + err
    finally:
        if pin is not None and pin.poll() is None:
            pin.kill()
            pin.communicate()
        sim.close()
