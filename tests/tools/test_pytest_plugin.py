"""The pytest plugin as a downstream project uses it: a separate pytest run (pytester, in a
subprocess, the plugin loaded through its ``pytest11`` entry point) on a small test file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

HELPERS = str(Path(__file__).resolve().parents[1] / "helpers")

DOWNSTREAM_ECHO = '''
import sys
sys.path.insert(0, {helpers!r})

import pytest
import serial

from drivers.transport import SerialTransport
from firmware_sim.pytest_plugin import SimulatorCommandError
from firmware_sim.registry import register_kind
from firmware_sim.runner import open_runners

register_kind("echo", "sim_echo")


def test_factory_gives_url_transport_commands_and_events(simulator_factory, tmp_path):
    sim = simulator_factory("echo", banner="55", flavour="upper")
    assert sim.url.startswith("sim://echo?name=pytest-echo-")
    port = serial.serial_for_url(sim.url, timeout=1)
    port.write(b"ab")
    assert port.read(2) == b"AB"
    port.close()
    with SerialTransport(sim.url) as link:
        link.write(b"cd")
        assert link.read(2, 1.0) == b"CD"
    link = sim.transport()
    link.write(b"x")
    assert link.read(1, 1.0) == b"X"       # left open on purpose: teardown closes it
    assert sim.command("say hi") == {{"ok": True}}
    assert sim.wait_for("say")["text"] == "hi"
    assert sim.events[0] == {{"event": "power-on", "count": 1}}
    assert sim.command("nope")["ok"] is False
    with pytest.raises(SimulatorCommandError, match="refused 'nope'"):
        sim.do("nope")
    with pytest.raises(TimeoutError, match="no 'never' event"):
        sim.wait_for("never", timeout=0.05)
    assert sim.device.state.startswith(str(tmp_path))
    sim.fault("drop 1")
    sim.unplug()
    sim.replug()
    assert sim.device.power_ons == 2


@pytest.mark.parametrize("via", ["loopback", "sim", "tcp", "pty"])
def test_every_attach_point(simulator_factory, via):
    sim = simulator_factory("echo", flavour="upper")
    link = sim.open_transport(via)
    link.write(b"via")
    got = b""
    while len(got) < 3:
        chunk = link.read(3 - len(got), 2.0)
        assert chunk, got
        got += chunk
    assert got == b"VIA"
    with pytest.raises(ValueError, match="unknown attach point"):
        sim.open_transport("carrier-pigeon")


def test_two_simulators_at_once(simulator_factory):
    a = simulator_factory("echo")
    b = simulator_factory("echo", state=None)
    assert a.url != b.url and b.device.state is None


def test_previous_simulators_were_stopped():
    assert open_runners() == []


def test_bad_options_fail_with_a_plain_message(simulator_factory):
    with pytest.raises(ValueError, match="unknown echo option"):
        simulator_factory("echo", colour="red")
'''

DOWNSTREAM_FINGERPRINT = '''
import pytest
from drivers.transport import SerialTransport

GEN_IMG = bytes.fromhex("EF01FFFFFFFF010003010005")


def gen_img(link):
    # a module ignores packets while it boots after power-on: ask again until it answers
    for _ in range(20):
        link.write(GEN_IMG)
        reply = link.read(12, 0.5)
        while reply and len(reply) < 12:
            chunk = link.read(12 - len(reply), 2.0)
            assert chunk, reply
            reply += chunk
        if reply:
            return reply[9]
    raise AssertionError("the simulated module never answered GenImg")


def test_finger_on_the_simulated_module(simulated_fingerprint):
    with SerialTransport(simulated_fingerprint.url) as link:
        assert gen_img(link) == 0x02            # no finger
        simulated_fingerprint.place(finger=3, quality=90)
        assert gen_img(link) == 0x00
        simulated_fingerprint.lift()
        assert gen_img(link) == 0x02


@pytest.mark.simulated_fingerprint(model="r503")
def test_marker_options(simulated_fingerprint):
    assert simulated_fingerprint.command("status")["model"] == "r503"
'''

DOWNSTREAM_PINPAD = '''
def test_pad_fixture(simulated_pinpad):
    assert simulated_pinpad.url.startswith("sim://pinpad?name=")
    assert simulated_pinpad.script("press 1", "press 2", "press enter")["ok"] is True
    link = simulated_pinpad.transport()
    link.close()
'''


def test_downstream_project_uses_the_fixtures(pytester: pytest.Pytester):
    source = DOWNSTREAM_ECHO.format(helpers=HELPERS) + DOWNSTREAM_FINGERPRINT + DOWNSTREAM_PINPAD
    pytester.makepyfile(test_downstream=textwrap.dedent(source))
    pytester.makeini("[pytest]\naddopts = --strict-markers\nfilterwarnings = error\n")
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=11)


def test_a_failing_downstream_test_fails(pytester: pytest.Pytester):
    pytester.makepyfile(test_fails=textwrap.dedent(f'''
        import sys
        sys.path.insert(0, {HELPERS!r})
        from firmware_sim.registry import register_kind
        register_kind("echo", "sim_echo")

        def test_wrong(simulator_factory):
            sim = simulator_factory("echo")
            sim.do("no such command")
    '''))
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*SimulatorCommandError*refused 'no such command'*"])


def test_the_plugin_is_registered_as_an_entry_point(pytester: pytest.Pytester):
    pytester.makepyfile(test_markers="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["*simulated_fingerprint(**options)*",
                                 "*simulated_pinpad(**options)*"])
