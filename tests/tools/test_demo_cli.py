"""``tactile demo``, the README's main job: the whole counter scene passes its own checks.

``.ci/run`` plays it in English as printed for people; this test plays it in Mandarin with
``--json`` (the pad's clock 20x) and checks what the scene claims, not only its exit status.
"""

from __future__ import annotations

import json
import re

from tools.cli import main


def test_the_counter_scene_in_mandarin(capsys):
    assert main(["demo", "--lang", "zh-CN", "--json", "--seed", "11", "--speed", "20"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["seed"] == 11
    checks = {c["check"]: c["passed"] for c in report["checks"]}
    assert len(checks) >= 15 and all(checks.values())
    lines = report["transcript"]
    said = [line["text"] for line in lines if line["who"] in ("guide", "pad")]
    # the transcript is in the customer's language: guidance and the pad's own prompts
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", t)) for t in said) > 0.9 * len(said)
    assert any("第三排" in t for t in said)             # rows are 排 for the ear
    assert not any(re.search(r"第.行", t) for t in said if "第" in t and "列" not in t)
    # the blind customer acted on what they heard; every digit during PIN entry is masked
    done = [line["text"] for line in lines if line["who"] == "customer"]
    assert "插上耳机" in done and "按数字五" in done and "按确认键" in done
    # change: 4 entries of 6; deaf, low vision, deafblind: 6 each
    assert done.count("按了一个数字键") == 6 * 4 + 6 * 3
    confirmation = report["confirmation"]
    assert confirmation["outcome"] == "confirmed"
    assert [s["role"] for s in confirmation["staff"]] == ["teller", "reviewer"]
    assert confirmation["verify"]["ok"] is True and confirmation["tampered_copy"]


def test_bad_speed_is_bad_usage(capsys):
    assert main(["demo", "--speed", "0"]) == 2
    assert "--speed" in capsys.readouterr().out
