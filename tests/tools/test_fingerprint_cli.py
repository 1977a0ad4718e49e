"""``tactile fingerprint ...`` as a technician (and a script with --json) uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from firmware_sim import registry
from fingerprint_helpers import AutoCustomer, new_runner
from tools.cli import main


@pytest.fixture
def sim():
    runner = new_runner("r503", trace="1")
    registry.register_runner(runner.name, runner)
    try:
        yield runner
    finally:
        runner.stop()


def url(runner) -> str:
    return f"sim://fingerprint?name={runner.name}"


def run_json(capsys, *argv: str) -> tuple[int, list[dict]]:
    code = main(["fingerprint", *argv, "--json"])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.strip()]


def test_info_json_and_text(sim, capsys):
    code, lines = run_json(capsys, "info", url(sim), "--baud", "auto")
    assert lines[0] == {"event": "note", "message": "the module answers at 57600 baud",
                        "baudrate": 57600}
    lines = lines[1:]
    assert code == 0 and len(lines) == 1
    info = lines[0]
    assert info["result"] == "info" and info["ok"]
    assert info["model"] == "R503" and info["capacity"] == 200 and info["address"] == "FFFFFFFF"
    assert main(["fingerprint", "info", url(sim)]) == 0
    text = capsys.readouterr().out
    assert "R503" in text and "0 of 200 slots used" in text and "57600" in text


def test_enroll_verify_identify_export_import(sim, capsys, tmp_path):
    template_file = tmp_path / "alice.tpl"
    with AutoCustomer(sim, finger=1):
        code, lines = run_json(capsys, "enroll", url(sim), "--slot", "3", "--out", str(template_file))
    assert code == 0, lines
    events = [line["event"] for line in lines if "event" in line]
    assert events == ["place-finger", "finger-detected", "enroll-stage-passed", "lift-finger",
                      "finger-lifted", "place-finger", "finger-detected", "enroll-stage-passed",
                      "enroll-completed"]
    assert lines[-1] == {"result": "enroll", "ok": True, "slot": 3, "size": 1536,
                         "file": str(template_file)}
    assert template_file.stat().st_size == 1536

    with AutoCustomer(sim, finger=1):
        assert main(["fingerprint", "verify", url(sim), "--slot", "3"]) == 0
    assert "MATCH" in capsys.readouterr().out
    with AutoCustomer(sim, finger=1):
        code, lines = run_json(capsys, "verify", url(sim), "--template", str(template_file))
    assert code == 0 and lines[-1]["matched"] is True
    with AutoCustomer(sim, finger=2):
        code, lines = run_json(capsys, "verify", url(sim), "--slot", "3", "--attempts", "2")
    assert code == 1 and lines[-1]["matched"] is False and lines[-1]["attempts_used"] == 2
    assert [line["attempt"] for line in lines if line.get("event") == "verify-no-match"] == [1, 2]

    with AutoCustomer(sim, finger=1):
        code, lines = run_json(capsys, "identify", url(sim), "--attempts", "3")
    assert code == 0 and lines[-1]["slot"] == 3
    with AutoCustomer(sim, finger=2):
        assert main(["fingerprint", "identify", url(sim)]) == 1
    assert "NOT FOUND" in capsys.readouterr().out

    exported = tmp_path / "slot3.tpl"
    code, lines = run_json(capsys, "export", url(sim), "--slot", "3", "--out", str(exported))
    assert code == 0 and exported.read_bytes() == template_file.read_bytes()
    code, lines = run_json(capsys, "import", url(sim), str(exported), "--slot", "8")
    assert code == 0 and lines[-1]["slot"] == 8
    code, lines = run_json(capsys, "index", url(sim))
    assert lines[-1]["slots"] == [3, 8] and lines[-1]["count"] == 2
    # an occupied slot is refused with a plain message, exit status 1
    assert main(["fingerprint", "import", url(sim), str(exported), "--slot", "8"]) == 1
    assert "already holds a template" in capsys.readouterr().err


def test_library_commands(sim, capsys, tmp_path):
    with AutoCustomer(sim, finger=2):
        assert main(["fingerprint", "enroll", url(sim), "--out", str(tmp_path / "t.tpl")]) == 0
    for slot in ("0", "1", "2", "9"):
        assert main(["fingerprint", "import", url(sim), str(tmp_path / "t.tpl"), "--slot", slot]) == 0
    capsys.readouterr()
    assert main(["fingerprint", "index", url(sim)]) == 0
    assert "4 of 200 slots used: 0-2, 9" in capsys.readouterr().out
    code, lines = run_json(capsys, "delete", url(sim), "1", "--count", "2")
    assert code == 0 and lines[-1] == {"result": "delete", "ok": True, "slot": 1, "count": 2,
                                       "deleted": [1, 2], "empty": []}
    assert run_json(capsys, "index", url(sim))[1][-1]["slots"] == [0, 9]
    # deleting an empty slot says it was empty (DeletChar itself succeeds on one)
    assert main(["fingerprint", "delete", url(sim), "5"]) == 0
    assert "Nothing to delete: slot 5 was empty." in capsys.readouterr().out
    code, lines = run_json(capsys, "delete", url(sim), "8", "--count", "3")
    assert code == 0 and lines[-1]["deleted"] == [9] and lines[-1]["empty"] == [8, 10]
    assert main(["fingerprint", "delete", url(sim), "8", "--count", "3"]) == 0
    assert "slots 8..10 were all empty" in capsys.readouterr().out
    assert run_json(capsys, "index", url(sim))[1][-1]["slots"] == [0]
    assert main(["fingerprint", "clear", url(sim)]) == 2            # needs --yes
    assert "--yes" in capsys.readouterr().err
    assert main(["fingerprint", "clear", url(sim), "--yes"]) == 0
    assert "library is empty" in capsys.readouterr().out
    assert run_json(capsys, "index", url(sim))[1][-1]["slots"] == []


def test_image_sensor_test_led_notepad_set(sim, capsys, tmp_path):
    png = tmp_path / "finger.png"
    with AutoCustomer(sim, finger=1):
        code, lines = run_json(capsys, "image", url(sim), "--out", str(png))
    assert code == 0 and lines[-1]["width"] == 192 and png.read_bytes()[:4] == b"\x89PNG"
    assert [line["done"] for line in lines if line.get("event") == "progress"][-1] == 18432
    with AutoCustomer(sim, finger=1):
        code, lines = run_json(capsys, "sensor-test", url(sim), "--scans", "2")
    assert code == 0 and lines[-1]["sensor_ok"] is True and lines[-1]["usable"] == 2
    sim.command("defect sensor")
    # stops as soon as the module's self-test fails: no scan waits out --wait
    started = time.monotonic()
    assert main(["fingerprint", "sensor-test", url(sim), "--scans", "3", "--wait", "30"]) == 1
    assert time.monotonic() - started < 25      # far below the 3 x 30 s it used to wait
    out = capsys.readouterr().out
    assert "FAILED: sensor fault" in out and "No scan was tried" in out
    code, lines = run_json(capsys, "sensor-test", url(sim), "--wait", "30")
    assert code == 1 and lines[-1]["sensor_ok"] is False and lines[-1]["scans"] == 0
    sim.command("defect clear")

    code, lines = run_json(capsys, "led", url(sim), "--mode", "on", "--colour", "green")
    assert code == 0 and sim.device.led["mode"] != "off"
    code, lines = run_json(capsys, "notepad", url(sim), "2", "--write", "柜台 7")
    assert code == 0
    code, lines = run_json(capsys, "notepad", url(sim), "2")
    assert lines[-1]["text"] == "柜台 7"
    code, lines = run_json(capsys, "set", url(sim), "security-level", "4")
    assert code == 0 and lines[-1]["pending"] is False and lines[-1]["new"] == 4
    code, lines = run_json(capsys, "set", url(sim), "baudrate", "115200")
    assert code == 0 and lines[-1]["pending"] is True and "power-cycled" in lines[-1]["note"]
    assert "--baud 115200" in lines[-1]["note"]     # what the technician types next
    assert "baudrate=" not in lines[-1]["note"]       # a Python keyword is no CLI option
    code, lines = run_json(capsys, "set", url(sim), "packet-size", "64")
    assert code == 0 and "connect()" not in json.dumps(lines)


def test_trace_prints_the_decoded_line_to_stderr(sim, capsys):
    assert main(["fingerprint", "index", url(sim), "--trace", "--password", "7"]) == 1
    err = capsys.readouterr().err
    assert "host>dev  EF01  VfyPwd password=****  [ok]" in err
    assert "dev>host  EF01  reply to VfyPwd code=0x13" in err and "[ok]" in err
    assert main(["fingerprint", "index", url(sim), "--trace"]) == 0
    err = capsys.readouterr().err
    assert "ReadIndexTable" in err and "reply to ReadIndexTable" in err


def test_verbose_logs_the_line_to_stderr(sim, capsys):
    sim.command("fault corrupt 3")               # the first reply arrives damaged
    assert main(["fingerprint", "index", url(sim), "-v"]) == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "stray" in captured.err
    assert "0 of 200 slots used" in captured.out


def test_errors_are_plain_and_exit_1(sim, capsys):
    assert main(["fingerprint", "verify", url(sim), "--slot", "5"]) == 1
    err = capsys.readouterr().err
    assert "EmptySlotError" in err and "slot is empty" in err
    code, lines = run_json(capsys, "verify", url(sim), "--slot", "5")
    assert code == 1 and lines[-1]["ok"] is False and lines[-1]["error"] == "EmptySlotError"
    assert lines[-1]["code"] == 0x0C and "slot is empty" in lines[-1]["message"]
    sim.command("fault stall 30")
    assert main(["fingerprint", "index", url(sim), "--timeout", "0.2"]) == 1
    err = capsys.readouterr().err
    assert "DeviceTimeoutError: no reply from the fingerprint module" in err and "Check:" in err
    sim.command("fault clear")
    code, lines = run_json(capsys, "import", url(sim), "/nonexistent/t.tpl", "--slot", "1")
    assert code == 1 and "cannot read the template file" in lines[-1]["message"]
    assert main(["fingerprint", "info", "sim://nosuchkind"]) == 1
    assert "unknown simulator kind" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["fingerprint", "info", url(sim), "--address", "XYZ"])
    assert "8 hex digits" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["fingerprint", "info", url(sim), "--baud", "1234"])
    assert "9600 x N" in capsys.readouterr().err


def test_against_the_simulator_command_in_another_process(tmp_path):
    """The technician's real setup: `tactile sim fingerprint --pty-link` in one process,
    `tactile fingerprint info` in another."""
    link = tmp_path / "fp"
    sim = subprocess.Popen([sys.executable, "-m", "tools.cli", "sim", "fingerprint", "--pty-link",
                            str(link), "--model", "r503"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = json.loads(sim.stdout.readline())
        assert ready["event"] == "ready"
        out = subprocess.run([sys.executable, "-m", "tools.cli", "fingerprint", "info", str(link),
                              "--json"], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PYTHONWARNINGS": "error"})
        assert out.returncode == 0, out.stderr
        info = json.loads(out.stdout.splitlines()[-1])
        assert info["model"] == "R503" and info["port"] == str(link)
    finally:
        sim.terminate()
        try:
            sim.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - reported by the assertion below
            sim.kill()
            sim.communicate()
    assert sim.returncode is not None
    deadline = time.monotonic() + 5
    while link.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not link.exists()


def test_error_messages_name_the_options_a_technician_types(capsys):
    """A technician reads these at a terminal: they point at --password, --overwrite and
    --baud auto, not only at Python keyword arguments or at `tactile list` (which cannot tell
    a baud rate)."""
    runner = new_runner("r307", password="1234", trace="1")
    registry.register_runner(runner.name, runner)
    try:
        assert main(["fingerprint", "info", url(runner)]) == 1
        err = capsys.readouterr().err
        assert "PasswordError" in err and "--password N" in err
        assert main(["fingerprint", "info", url(runner), "--password", "99"]) == 1
        err = capsys.readouterr().err
        assert "refused the password" in err and "--password N" in err
        assert "password=..." not in err and "Open the reader" not in err
        assert main(["fingerprint", "info", url(runner), "--address", "12345678",
                     "--password", "1234", "--timeout", "0.2"]) == 1
        err = capsys.readouterr().err
        assert "DeviceTimeoutError" in err and "--baud auto" in err and "tactile list" not in err
        assert "the module address" in err        # what was actually wrong here
        with AutoCustomer(runner, finger=2):
            assert main(["fingerprint", "enroll", url(runner), "--slot", "4",
                         "--password", "1234"]) == 0
        capsys.readouterr()
        assert main(["fingerprint", "enroll", url(runner), "--slot", "4",
                     "--password", "1234"]) == 1
        err = capsys.readouterr().err
        assert "SlotError" in err and "--overwrite" in err and "overwrite=True" not in err
    finally:
        runner.stop()


def test_a_port_held_by_another_program_is_named_not_a_protocol_error(tmp_path, capsys):
    from drivers.transport import SerialTransport

    runner = new_runner("r503")
    try:
        port = runner.serve_pty(str(tmp_path / "fp"))
        holder = SerialTransport(port, 57600)       # another program has the port open
        try:
            assert main(["fingerprint", "info", port]) == 1
            err = capsys.readouterr().err
            assert f"port {port} is in use by another program" in err
            assert "Timeout" not in err and "Traceback" not in err
        finally:
            holder.close()
        assert main(["fingerprint", "info", port, "--json"]) == 0   # free again
    finally:
        runner.stop()
