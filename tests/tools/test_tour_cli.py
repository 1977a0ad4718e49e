"""The ``tactile tour`` command-line contract: in-process against a named simulator, and as real
processes (``tactile sim pinpad --pty-link PATH`` with a customer on its stdin, ``tactile tour
PATH``).  The customer presses a key as soon as each tour step starts (any key goes on), and a
scripted explore (5, Enter, Cancel) ends it; exit 0 then, every phrase one line on stdout."""

from __future__ import annotations

import json
import os
import re
import queue
import subprocess
import sys
import threading
import time

import pytest

from firmware_sim import simulate
from tools.cli import main
from sim_process import LAUNCH, SimProcess

_TAGS = ("[guide] ", "[pad] ", "[teller] ", "[tone] ", "[haptic] ")


class HurriedCustomer:
    """In IDLE, presses ``key`` as soon as the guide starts saying (``trigger`` "say") or
    showing ("display") something, so the tour moves on at once; plugs in the headset when it
    is offered (``headset``)."""

    def __init__(self, runner, *, key: str = "enter", headset: bool = False,
                 trigger: str = "say") -> None:
        self.runner = runner
        self.trigger = trigger
        self.key = key
        self.headset = headset
        self.mode = "idle"
        self._events: "queue.Queue[dict | None]" = queue.Queue()
        self._unsubscribe = runner.subscribe(self._events.put)
        self._thread = threading.Thread(target=self._run, name="test-customer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            event = self._events.get()
            if event is None:
                return
            if event.get("event") == "mode":
                self.mode = event["mode"]
            if event.get("event") != self.trigger or self.mode != "idle" or \
                    event.get("source", "host") != "host":
                continue
            if self.headset and ("plug headphones" in event["text"]
                                 or "耳机插孔" in event["text"]):
                self.runner.command("headset in")
            else:
                self.runner.command(f"press {self.key}")

    def stop(self) -> None:
        self._unsubscribe()
        self._events.put(None)
        self._thread.join(5)


def _run_in_process(capsys, argv, *, layout="telephone", script="press 5; press enter; "
                    "press cancel", headset=False, trigger="say"):
    with simulate("pinpad", layout=layout) as sim:
        customer = HurriedCustomer(sim, headset=headset, trigger=trigger)
        try:
            if script:
                assert sim.command(f"script {script}")["ok"]
            code = main(["tour", f"sim://pinpad?name={sim.name}", *argv])
        finally:
            customer.stop()
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_tour_then_explore_until_cancel_exits_0(capsys):
    code, lines, err = _run_in_process(capsys, ["--profile", "standard"])
    assert code == 0, err
    assert lines and all(line.startswith(_TAGS) for line in lines), lines
    assert lines[0] == "[teller] Keypad tour started: 10 steps."
    assert "[guide] Here is a short tour of the keypad. Press Help to hear a step again, " \
           "Cancel to skip the tour, or any other key to go on to the next step." in lines
    assert any(line.startswith("[guide] This keypad has fifteen keys in four rows;")
               for line in lines)
    # explore: the pad's own words and the guide's addition, one line each
    assert "[pad] five, row 2, column 2, with a raised dot" in lines
    assert any(line.startswith("[guide] 5 is in the centre of the digits.") for line in lines)
    assert "[pad] Enter, row 3, column 4, green, with a raised circle" in lines
    assert "[pad] Cancel, row 1, column 4, red, with a raised X" in lines
    assert lines[-3] == "[pad] Key exploration finished."
    assert lines[-2] == "[teller] Key exploration ended: the customer pressed Cancel after " \
                        "trying 3 keys."
    assert lines[-1].startswith("[teller] Customer session ended")    # the next starts clean


def test_mandarin_blind_tour_with_headset(capsys):
    code, lines, err = _run_in_process(capsys, ["--lang", "zh-CN", "--profile", "blind"],
                                       layout="calculator", headset=True)
    assert code == 0, err
    assert any(line.startswith("[guide] 如需私密收听") for line in lines)
    assert "[pad] 已接入耳机，现在声音只从耳机播放。" in lines
    assert any(line.startswith("[guide] 这个键盘共有十五个键") for line in lines)
    assert "[pad] 五，第二排第二个，有凸点。" in lines
    assert any(line.startswith("[guide] 这是数字五，在数字键的正中间") for line in lines)
    assert any("最上面一排是七、八、九" in line for line in lines)     # the calculator layout
    assert lines[-3] == "[pad] 按键学习结束。"
    assert lines[-1].startswith("[teller] 本位客户已结束")


def test_no_cancel_before_the_limit_exits_1_and_says_so(capsys):
    code, lines, err = _run_in_process(capsys, ["--profile", "deaf", "--explore-limit", "1"],
                                       script="press 5", trigger="display")
    assert code == 1
    assert "the customer never pressed Cancel" in err and "1 s without a key" in err
    assert "[haptic] warning" in lines                # the deaf customer felt the warning
    assert lines[-2] == "[teller] Key exploration ended: no key was pressed for 1 s."


@pytest.mark.parametrize("argv", [["tour"], ["tour", "sim://pinpad", "--lang", "fr"],
                                  ["tour", "sim://pinpad", "--profile", "martian"],
                                  ["tour", "sim://pinpad", "--explore-limit", "0"]])
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_no_pad_is_a_device_fault(capsys, tmp_path):
    code = main(["tour", str(tmp_path / "no-such-port")])
    assert code == 1
    assert "tactile tour:" in capsys.readouterr().err


# -- real processes ------------------------------------------------------------------------------
def test_tactile_tour_as_a_process_on_a_pty(tmp_path):
    link = str(tmp_path / "pad")
    sim = SimProcess("pinpad", "--pty-link", link)
    tour = None
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(link):
            assert time.monotonic() < deadline, "the simulator never made its pty"
            time.sleep(0.05)
        sim.send("script press 5; press enter; press cancel")   # played in explore mode
        tour = subprocess.Popen([sys.executable, "-c", LAUNCH, "tour", link, "--profile",
                                 "blind"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        mode = "idle"
        helped = False
        deadline = time.monotonic() + 40
        while tour.poll() is None:
            assert time.monotonic() < deadline, "tactile tour did not finish"
            event = sim.next(0.2)
            if event is None:
                continue
            if event.get("event") == "mode":
                mode = event["mode"]
            if event.get("event") == "say" and event.get("source") == "host" and mode == "idle":
                if "plug a headset" in event["text"]:
                    sim.send("headset in")
                elif "short tour" in event["text"] and not helped:
                    helped = True
                    sim.send("press help")          # hear the introduction again
                else:
                    sim.send("press enter")         # any key: the next step
        out, err = tour.communicate(timeout=10)
    finally:
        if tour is not None and tour.poll() is None:
            tour.kill()
            tour.communicate()
        sim.close()
    lines = out.decode().splitlines()
    assert tour.returncode == 0, err.decode()
    assert all(line.startswith(_TAGS) for line in lines), lines
    intro = [line for line in lines if line.startswith("[guide] Here is a short tour")]
    assert len(intro) == 2                                   # Help said it again
    # the pad speaks the customer's language from the start (SetLanguage)
    assert "[pad] Headset connected. From now on, sound plays only in the headset." in lines
    assert "[pad] five, row 2, column 2, with a raised dot" in lines
    assert any(line.startswith("[guide] Enter is at the right end of the third row, right of 9")
               for line in lines)
    assert lines[-2].startswith("[teller] Key exploration ended: the customer pressed Cancel")


def test_tour_json_lines_and_a_counter_configuration(capsys, tmp_path):
    counter = tmp_path / "counter.json"
    counter.write_text(json.dumps({"lang": "zh-CN", "profile": "standard"}), encoding="utf-8")
    code, lines, err = _run_in_process(capsys, ["--json", "--trace", "--counter", str(counter)])
    assert code == 0, err
    objects = [json.loads(line) for line in lines]           # every line one JSON object
    *said, result = objects
    assert all(set(o) == {"line", "tag", "text"} for o in said)
    assert any(o["tag"] == "pad" and o["text"] == "五，第二排第二个，有凸点。" for o in said)
    assert result["result"] == "tour" and result["ok"] is True
    assert result["explored"] == ["five", "enter", "cancel"] and result["ended"] == "cancel"
    assert "Hello" in err                                    # --trace: the decoded line


def test_a_bad_counter_configuration_is_bad_usage(capsys, tmp_path):
    counter = tmp_path / "counter.json"
    counter.write_text('{"lang": "fr"}', encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["tour", "sim://pinpad", "--counter", str(counter)])
    assert exc.value.code == 2
    assert "lang is one of zh-CN, en" in capsys.readouterr().err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert re.fullmatch(r"tactile \d+\.\d+\.\d+\n", capsys.readouterr().out)
