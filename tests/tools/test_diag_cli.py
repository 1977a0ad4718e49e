"""``tactile diag PORT``: finds out what is on the port, runs its self-test, and gives the right
diagnosis for each broken-wiring case: no answer, wrong baud, wrong address, wrong password,
corrupted bytes, a port held by another program, a sensor fault, failed speech, tamper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from drivers import FingerprintReader
from drivers.transport import SerialTransport
from fingerprint_helpers import AutoCustomer
from firmware_sim.attach import create_runner
from protocol import dukpt
from protocol.tpp import messages as m
from protocol.tpp.codes import KeyKind
from tools.cli import main
from tools.pad import key_slot_report


def fp_runner(tmp_path, name, **options):
    runner = create_runner("fingerprint", {"model": "r503", "seed": "3", **options}, name=name)
    port = runner.serve_pty(str(tmp_path / name))
    runner.start()
    return runner, port


def diag(capsys, *argv) -> tuple[int, dict]:
    code = main(["diag", *argv, "--json"])
    captured = capsys.readouterr()
    lines = [json.loads(x) for x in captured.out.splitlines() if x.strip()]
    assert len(lines) == 1, (lines, captured.err)
    return code, lines[0]


def statuses(report) -> dict[str, str]:
    return {c["check"]: c["status"] for c in report["checks"]}


def test_a_healthy_fingerprint_module_with_a_finger(tmp_path, capsys):
    runner, port = fp_runner(tmp_path, "fp", trace="1")
    try:
        # wait out the module's power-up first: a probe during it finds nothing at 57600 and,
        # with no baud check on this line, the module would then answer at the next rate tried
        with FingerprintReader.open(port):
            pass
        with AutoCustomer(runner, finger=2):
            code, report = diag(capsys, port, "--wait", "5")
    finally:
        runner.stop()
    assert code == 0, report
    assert report["kind"] == "fingerprint" and report["baudrate"] == 57600
    assert statuses(report) == {
        "handshake": "pass", "password": "pass", "parameters": "pass",
        "sensor self-test": "pass", "capture and quality": "pass",
        "template round trip": "pass", "LED ring": "pass", "pending settings": "pass"}


def test_no_answer_names_the_likely_causes_and_never_hangs(tmp_path):
    master, slave = os.openpty()          # a port with nothing behind it
    try:
        done = subprocess.run([sys.executable, "-m", "tools.cli", "diag", os.ttyname(slave)],
                              capture_output=True, timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    assert done.returncode == 1
    err = done.stderr.decode()
    assert "no byte came back at any baud rate tried" in err
    for cause in ("power", "TX and RX crossed", "baud rate", "address", "another program"):
        assert cause in err
    assert "Traceback" not in err


def test_wrong_baud_rate_and_auto(tmp_path, capsys):
    state = str(tmp_path / "fp.json")
    runner = create_runner("fingerprint", {"model": "r503", "state": state}, name="baud1")
    try:
        runner.start()
        with FingerprintReader.open(runner.loopback(), close_transport=True) as reader:
            reader.set_baudrate(19200)
    finally:
        runner.stop()
    runner, port = fp_runner(tmp_path, "baud2", state=state, baud_check="1")
    try:
        code, report = diag(capsys, port, "--kind", "fingerprint", "--baud", "57600",
                            "--no-finger")
        assert code == 1
        assert statuses(report)["handshake"] == "fail"
        assert "baud rate" in report["checks"][0]["detail"]
        code, report = diag(capsys, port, "--no-finger")       # the probe finds 19200
        assert code == 0 and report["baudrate"] == 19200
    finally:
        runner.stop()


def test_wrong_address(tmp_path, capsys):
    runner, port = fp_runner(tmp_path, "addr", address="C0FFEE01")
    try:
        code, report = diag(capsys, port, "--kind", "fingerprint")
        assert code == 1 and report["checks"][0]["check"] == "what answers"
        assert any("another address" in c for c in report["causes"])
        code, report = diag(capsys, port, "--address", "C0FFEE01", "--no-finger")
        assert code == 0 and statuses(report)["handshake"] == "pass"
    finally:
        runner.stop()


def test_wrong_password(tmp_path, capsys):
    runner, port = fp_runner(tmp_path, "pwd", password="4660")
    try:
        code, report = diag(capsys, port, "--no-finger")
        assert code == 1
        assert statuses(report) == {"handshake": "pass", "password": "fail"}
        assert "password" in report["checks"][1]["detail"]
        code, report = diag(capsys, port, "--password", "4660", "--no-finger")
        assert code == 0 and statuses(report)["password"] == "pass"
    finally:
        runner.stop()


def test_corrupted_bytes_are_told_from_silence(tmp_path, capsys):
    runner, port = fp_runner(tmp_path, "noise")
    try:
        assert runner.command("fault corrupt 1000000")["ok"]
        code, report = diag(capsys, port)
        assert code == 1
        detail = report["checks"][0]["detail"]
        assert "never one intact frame" in detail
        assert any("noise" in c for c in report["causes"])
    finally:
        runner.stop()


def test_a_port_held_by_another_program(tmp_path, capsys):
    runner, port = fp_runner(tmp_path, "busy")
    holder = SerialTransport(port, 57600)
    try:
        code, report = diag(capsys, port)
        assert code == 1 and "in use by another program" in report["checks"][0]["detail"]
    finally:
        holder.close()
        runner.stop()


def test_a_sensor_fault_stops_before_any_capture(tmp_path, capsys):
    runner, port = fp_runner(tmp_path, "sensor")
    try:
        assert runner.command("defect sensor")["ok"]
        code, report = diag(capsys, port, "--wait", "30")
    finally:
        runner.stop()
    assert code == 1
    s = statuses(report)
    assert s["sensor self-test"] == "fail" and s["capture"] == "skip"


def test_a_healthy_pad_as_a_process(tmp_path):
    runner = create_runner("pinpad", {"seed": "1"}, name="diag-pad")
    try:
        port = runner.serve_pty(str(tmp_path / "pad"))
        runner.start()
        done = subprocess.run([sys.executable, "-m", "tools.cli", "diag", port, "--json"],
                              capture_output=True, timeout=60)
    finally:
        runner.stop()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["kind"] == "pinpad" and report["ok"]
    s = statuses(report)
    for check in ("info", "status", "layout", "speaker", "headset", "tones", "display",
                  "haptics", "key slot 1 (aes-dukpt)", "key slot 2 (tdes-dukpt)", "tamper"):
        assert s[check] == "pass", check
    assert s["key slot 4 (tdes-fixed)"] == "skip"


def test_failed_speech_and_tamper_on_a_pad(tmp_path, capsys):
    runner = create_runner("pinpad", {"seed": "1"}, name="diag-pad2")
    try:
        port = runner.serve_pty(str(tmp_path / "pad"))
        runner.start()
        assert runner.command("pad-fault speech-fail")["ok"]
        code, report = diag(capsys, port, "--kind", "pinpad")
        assert code == 1 and statuses(report)["speaker"] == "fail"
        assert "speech unit failed" in next(c["detail"] for c in report["checks"]
                                            if c["check"] == "speaker")
        assert runner.command("tamper")["ok"]
        code, report = diag(capsys, port)
        assert code == 1 and statuses(report)["tamper"] == "fail"
    finally:
        runner.stop()


def test_a_dukpt_counter_near_its_end_is_a_warning():
    near = dukpt.aes_ksn("1234567890123456", int(dukpt.AES_COUNTER_MAX * 0.95))
    fresh = dukpt.tdes_ksn("FFFF9876543210E00000", 5)

    class Pad:
        def info(self):
            return SimpleNamespace(key_slots=(m.KeySlot(1, KeyKind.AES_DUKPT, "aes-dukpt"),
                                              m.KeySlot(2, KeyKind.TDES_DUKPT, "tdes-dukpt")))

        def key_info(self, slot):
            ksn = near if slot == 1 else fresh
            kind = KeyKind.AES_DUKPT if slot == 1 else KeyKind.TDES_DUKPT
            return m.KeyInfo(slot=slot, kind=kind, kcv=b"\x01\x02\x03", ksn=ksn)

    report = key_slot_report(Pad())
    assert report[0]["status"] == "warning" and "95%" in report[0]["note"]
    assert report[1]["status"] == "ok" and report[1]["counter"] == 5


@pytest.mark.parametrize("argv", [["diag"], ["diag", "x", "--kind", "toaster"]])
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_a_pad_that_acknowledges_but_never_answers_is_named_so(capsys):
    from firmware_sim import simulate
    from tools.cli import main as tactile

    with simulate("pinpad") as sim:
        assert sim.command("pad-fault no-reply")["ok"]
        code = tactile(["diag", f"sim://pinpad?name={sim.name}", "--kind", "pinpad"])
    err = capsys.readouterr().err
    assert code == 1
    assert "the pad's link works" in err and "firmware does not answer: restart it" in err
    assert "no byte came back" not in err


def test_a_tampered_pad_has_the_tamper_row_first(capsys):
    import json

    from firmware_sim import simulate
    from tools.cli import main as tactile

    with simulate("pinpad") as sim:
        assert sim.command("tamper")["ok"]
        code = tactile(["diag", f"sim://pinpad?name={sim.name}", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["checks"][0]["check"] == "tamper" and report["checks"][0]["status"] == "fail"
