"""``tactile --help`` and each command import only what they need (start-up time is measured in
benchmarks/bench_startup.py; here we check the mechanism, not the time)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tools.cli import build_parser
from tools.commands import COMMANDS

_PROBE = """
import sys
from tools.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
heavy = ["drivers.pinpad", "drivers.fingerprint", "drivers.guidance", "drivers.confirmation",
         "firmware_sim.biometrics", "firmware_sim.attach", "scipy", "skimage", "rich",
         "tools.pin", "tools.fingerprint", "tools.demo"]
print("LOADED:", " ".join(m for m in heavy if m in sys.modules))
"""


def _loaded(argv: list[str]) -> set[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(argv=argv)], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    return set(out.rsplit("LOADED:", 1)[1].split())


def test_top_level_help_imports_no_command_and_no_driver():
    assert _loaded(["--help"]) == set()


def test_a_command_imports_its_own_stack_only():
    loaded = _loaded(["pin", "--help"])
    assert "tools.pin" in loaded and "drivers.pinpad" in loaded
    assert not loaded & {"tools.fingerprint", "tools.demo", "firmware_sim.biometrics", "scipy"}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_registers_under_its_listed_help(name):
    parser = build_parser(name)
    sub = next(a for a in parser._actions if a.dest == "command")
    assert len(sub.choices[name]._actions) > 1      # the real parser, not the help-only entry
    helps = {c.dest: c.help for c in sub._choices_actions}
    assert helps[name] == COMMANDS[name]


def test_the_full_parser_has_every_command():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(sub.choices) == list(COMMANDS)
    assert all(len(p._actions) > 1 for p in sub.choices.values())
