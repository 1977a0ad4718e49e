"""``tactile pad ...`` against the simulated pad: info, status, layout, keys, reset, keytest
(explore mode only) with a dead, a stuck and a bouncing key, audiotest with a technician who
answers on the pad, failed speech; in process and as a subprocess; --trace."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pinpad_rig import new_runner
from protocol.layout import get_layout
from tools.cli import main
from tools.pad import KeyTest, layout_checks

ALL_KEYS = "1 2 3 4 5 6 7 8 9 0 help backspace clear enter"


@pytest.fixture
def pad(tmp_path):
    runner = new_runner("telephone", trace="1")
    try:
        yield runner, runner.serve_pty(str(tmp_path / "pad"))
    finally:
        runner.stop()


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["pad", *argv, "--json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert len(lines) == 1, lines
    return code, lines[0]


def test_info_status_layout_keys_reset(pad, capsys):
    runner, port = pad
    code, info = run_json(capsys, "info", port)
    assert code == 0 and info["model"] == "TPP-SIM" and info["serial"] == "TPPSIM-0001"
    assert "explore" in info["capabilities"] and info["version"] == "1.0"
    code, status = run_json(capsys, "status", port)
    assert code == 0 and status["mode"] == "idle" and status["headset"] is False
    code, layout = run_json(capsys, "layout", port)
    assert code == 0 and layout["ok"] and len(layout["keys"]) == 15
    assert all(c["ok"] for c in layout["checks"])
    code, keys = run_json(capsys, "keys", port)
    assert code == 0
    slots = {s["name"]: s for s in keys["slots"]}
    assert slots["aes-dukpt"]["counter"] == 1 and slots["aes-dukpt"]["status"] == "ok"
    assert slots["aes-dukpt"]["kcv"] and slots["tdes-fixed"]["status"] == "empty"
    code, reset = run_json(capsys, "reset", port)
    assert code == 0 and reset["boot_count"] == reset["boot_count_before"] + 1
    assert main(["pad", "layout", port]) == 0
    text = capsys.readouterr().out
    assert "PASS 5 has its dot" in text and "Cancel" in text


def test_layout_checks_find_a_bad_layout():
    good = get_layout("telephone")
    assert all(c["ok"] for c in layout_checks(good))
    from dataclasses import replace
    from protocol.layout import Layout, TactileMark
    keys = [replace(k, mark=TactileMark.NONE) if k.name == "five" else k for k in good.keys
            if k.name != "zero"]
    bad = Layout(name="broken", keys=tuple(keys), rows=good.rows, columns=good.columns)
    failed = {c["check"] for c in layout_checks(bad) if not c["ok"]}
    assert failed == {"digit keys", "12-key digit block", "5 has its dot"}


def test_keytest_finds_the_dead_the_stuck_and_the_bouncing_key(pad, capsys):
    runner, port = pad
    for fault in ("dead-key 9", "key-stuck 8", "key-bounce 7 70"):
        assert runner.command(f"pad-fault {fault}")["ok"]
    # a technician pressing every key twice, slowly, then Cancel twice (explore mode only)
    assert runner.command(f"script press {ALL_KEYS}; wait 0.3; press {ALL_KEYS}; wait 0.3; "
                          "press cancel; wait 0.3; press cancel")["ok"]
    modes: list[str] = []
    unsubscribe = runner.subscribe(lambda e: modes.append(e["mode"]) if e.get("event") == "mode"
                                   else None)
    try:
        code, report = run_json(capsys, "keytest", port, "--timeout", "10")
    finally:
        unsubscribe()
    assert code == 1 and report["ended"] == "cancel-twice"
    problems = {p["key"]: p["problem"] for p in report["problems"]}
    assert problems == {"nine": "dead", "eight": "stuck", "seven": "bounce"}
    keys = {k["key"]: k for k in report["keys"]}
    assert keys["seven"]["presses"] == 2 and keys["seven"]["bounces"] == 2
    assert keys["five"] == {"key": "five", "label": "5", "row": 1, "column": 1, "presses": 2,
                            "bounces": 0, "status": "ok"}
    assert keys["cancel"]["presses"] == 2
    # explore mode only: no PIN entry was ever started
    assert "explore" in modes and not {"pin", "pin-change"} & set(modes), modes


def test_keytest_all_good_in_text_and_ends_on_timeout(pad, capsys):
    runner, port = pad
    assert runner.command(f"script press {ALL_KEYS} cancel; wait 0.3; press {ALL_KEYS}; "
                          "wait 0.3; press cancel")["ok"]
    # Cancel is pressed twice but not in a row: the test ends on the idle timeout
    assert main(["pad", "keytest", port, "--timeout", "1.5"]) == 0
    out = capsys.readouterr().out
    assert "Every key works." in out and "no key for 1.5 s" in out


def test_keytest_bookkeeping_counts_a_fast_repeat_as_bounce():
    test = KeyTest(get_layout("telephone"), presses=2, bounce=0.12)
    assert not test.press("five", 1.0)
    assert not test.press("five", 1.05)          # 50 ms later: not pressed again
    assert not test.press("five", 1.5)
    assert not test.press("cancel", 2.0)
    assert test.press("cancel", 2.5)             # Cancel twice in a row ends it
    assert test.verdict("five")[0] == "bounce" and test.keys["five"].presses == 2
    assert test.verdict("one")[0] == "dead" and test.verdict("cancel")[0] == "ok"


class Technician:
    """Answers the audio test on the pad: Enter after each thing the host asked the pad to do
    (seen in the simulator's trace), plugs the headset in and out when the pad asks."""

    def __init__(self, runner, answer: str = "enter") -> None:
        self.runner = runner
        self.answer = answer
        self.asked: list[str] = []
        self._unsubscribe = runner.subscribe(self._on_event)

    def _on_event(self, event: dict) -> None:
        if event.get("event") != "trace" or event.get("dir") != "host->device":
            return
        message = event.get("message")
        if message == "Speak":
            text = event.get("text", "")
            self.asked.append(text)
            if "plug a headset" in text or "插入耳机" in text:
                self.runner.command("headset in")
                return
            if "unplug the headset" in text or "拔出耳机" in text:
                self.runner.command("headset out")
                return
        if message in ("Speak", "PlayTone", "Display", "Haptic") and event.get("text") != "":
            self.asked.append(message)
            self.runner.command(f"press {self.answer}")

    def close(self) -> None:
        self._unsubscribe()


def test_audiotest_with_a_technician_answering_on_the_pad(pad, capsys):
    runner, port = pad
    tech = Technician(runner)
    try:
        code, report = run_json(capsys, "audiotest", port, "--timeout", "5")
    finally:
        tech.close()
    assert code == 0, report
    steps = {s["step"]: s["status"] for s in report["steps"]}
    for lang in ("zh-CN", "en"):
        for rate in ("slow", "normal", "fast"):
            assert steps[f"speech {lang} {rate}"] == "ok"
    for name in ("volume low", "volume medium", "volume high", "tone key", "tone warning",
                 "tone error", "tone success", "tone attention", "tone inactive",
                 "tone custom 1000 Hz", "headset detection", "headset audio", "headset removal",
                 "display", "haptics"):
        assert steps[name] == "ok", name
    assert report["ok"]


def test_audiotest_reports_failed_speech_and_a_no(pad, capsys):
    runner, port = pad
    assert runner.command("pad-fault speech-fail")["ok"]
    tech = Technician(runner, answer="cancel")
    try:
        code, report = run_json(capsys, "audiotest", port, "--timeout", "3", "--skip-headset")
    finally:
        tech.close()
    assert code == 1 and not report["ok"]
    steps = {s["step"]: s for s in report["steps"]}
    assert steps["speech en normal"]["status"] == "failed"
    assert "speech unit failed" in steps["speech en normal"]["detail"]
    assert steps["tone key"]["status"] == "no"              # the technician pressed Cancel


def test_pad_commands_as_a_process_with_trace(pad):
    runner, port = pad
    done = subprocess.run([sys.executable, "-m", "tools.cli", "pad", "status", port, "--json",
                           "--trace"], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mode"] == "idle"
    trace = done.stderr.decode()
    assert "host>dev  TPP   Hello" in trace and "dev>host  TPP   DeviceStatus" in trace
    assert "Traceback" not in trace


def test_no_pad_on_the_port_exits_1_with_a_plain_message(tmp_path):
    from fingerprint_helpers import new_runner as new_fp
    runner = new_fp("r307")       # an EF01 module where a pad was expected
    try:
        port = runner.serve_pty(str(tmp_path / "fp"))
        done = subprocess.run([sys.executable, "-m", "tools.cli", "pad", "info", port,
                               "--timeout", "0.5"], capture_output=True, timeout=60)
    finally:
        runner.stop()
    assert done.returncode == 1
    err = done.stderr.decode()
    assert "no reply from the PIN pad" in err and "Traceback" not in err
    assert err.count("no reply from the PIN pad") == 1


# ---------------------------------------------------------------------- tactile pin (issue 8)
def test_pin_with_baud_auto_and_trace_masks_the_pin_block(tmp_path, capsys):
    runner = new_runner("telephone", baud="9600", baud_check="1")
    try:
        port = runner.serve_pty(str(tmp_path / "pad"))
        assert runner.command("script press 2; press 5; press 8; press 0; press enter")["ok"]
        assert main(["pin", port, "--pan", "4111111111111111", "--baud", "auto", "--json",
                     "--trace"]) == 0
        captured = capsys.readouterr()
    finally:
        runner.stop()
    result = json.loads(captured.out)
    assert result["status"] == "ok" and result["digits"] == 4
    assert "TPP   PinEntry" in captured.err and "DigitEntered" in captured.err
    assert "PinBlockReply" in captured.err and "block=****" in captured.err
    assert result["pin_block"] not in captured.err.upper().replace(" ", "")
    assert "411111******1111" in captured.err and "4111111111111111" not in captured.err


def test_an_unplugged_pad_is_reported_once_in_cli_terms(tmp_path):
    runner = new_runner("telephone", trace="1")
    try:
        port = runner.serve_pty(str(tmp_path / "pad"))
        unplugged = []

        def on_event(event):       # unplug the pad as soon as the entry is ready
            if event.get("event") == "mode" and event.get("mode") == "pin" and not unplugged:
                unplugged.append(runner.command("unplug"))

        unsubscribe = runner.subscribe(on_event)
        try:
            done = subprocess.run([sys.executable, "-m", "tools.cli", "pin", port, "--pan",
                                   "4111111111111111"], capture_output=True, timeout=60)
        finally:
            unsubscribe()
    finally:
        runner.stop()
    assert unplugged and done.returncode == 1
    err = done.stderr.decode()
    assert err.count("went away") == 1, err
    assert "run the command again" in err and "reconnect()" not in err
    assert "Traceback" not in err
