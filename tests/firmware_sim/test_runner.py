"""DeviceRunner: the model thread, events, generic commands, byte faults, the wire-time model."""

from __future__ import annotations

import json
import random
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_sim import registry
from firmware_sim.base import SimulatedDevice
from firmware_sim.runner import DeviceRunner, open_runners
from protocol.errors import ConfigurationError, TransportError
from sim_echo import EchoDevice
from fake_clock import FakeClock


def advance(runner: DeviceRunner, clock: FakeClock, seconds: float) -> None:
    clock.advance(seconds)
    runner.wake()


def wait_for(predicate, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def read_exactly(transport, count: int, timeout: float = 2.0) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        out += transport.read(count - len(out), 0.05)
    return out


@pytest.fixture
def echo():
    device = EchoDevice(banner=b"\x55")
    runner = DeviceRunner(device, name="echo-under-test")
    events: list[dict] = []
    runner.subscribe(events.append)
    with runner:
        yield runner, device, events


def test_loopback_round_trip_and_events(echo):
    runner, device, events = echo
    with runner.loopback() as link:
        link.write(b"hello")
        assert read_exactly(link, 5) == b"hello"
        assert runner.command("say hi there") == {"ok": True}
    assert {"event": "say", "text": "hi there", "lang": "en"} in events
    assert events[0] == {"event": "power-on", "count": 1}


def test_bytes_sent_before_any_host_attaches_are_lost(echo):
    runner, device, _ = echo
    with runner.loopback() as link:  # the power-on banner went out before this
        assert link.read(10, 0.05) == b""


def test_one_host_link_at_a_time(echo):
    runner, _, _ = echo
    first = runner.loopback()
    with pytest.raises(TransportError, match="already has a host attached"):
        runner.loopback()
    first.close()
    with pytest.raises(TransportError, match="closed"):
        first.write(b"x")
    with runner.loopback() as second:
        second.write(b"ok")
        assert read_exactly(second, 2) == b"ok"


def test_bad_commands_answer_errors_never_raise(echo):
    runner, _, _ = echo
    assert runner.command("") == {"ok": False, "error": "empty command"}
    reply = runner.command("frobnicate 3")
    assert reply["ok"] is False and "unknown echo command" in reply["error"]
    reply = runner.command("boom")  # the model itself raises a non-TactileError
    assert reply["ok"] is False and "RuntimeError: boom" in reply["error"]
    for line in ("power-cycle now", "unplug 2", "fault", "fault bogus 1", "fault drop x",
                 "fault drop -1", "fault stall", "fault split 1 2", "fault clear now"):
        reply = runner.command(line)
        assert isinstance(reply, dict) and "ok" in reply, line
    assert runner.command("fault")["active"] == {}
    assert runner.command("fault bogus 1")["error"].startswith("unknown fault 'bogus'")
    assert "whole number" in runner.command("fault drop x")["error"]
    assert "between" in runner.command("fault drop -1")["error"]


def test_help_lists_the_runner_commands_after_the_model_help(echo):
    runner, _, _ = echo
    reply = runner.command("help")   # the echo model has no help: the runner's still shows
    assert reply["ok"] is True and "power-cycle" in reply["runner_commands"]
    assert any(line.startswith("fault split") for line in reply["runner_commands"])


def test_power_cycle_drops_in_flight_bytes_and_powers_on(echo):
    runner, device, events = echo
    clockless = runner.command("fault stall 30")  # hold output so it is in flight
    assert clockless["ok"]
    with runner.loopback() as link:
        link.write(b"lost")
        wait_for(lambda: len(device.received) == 4)
        assert runner.command("power-cycle") == {"ok": True, "command": "power-cycle"}
        assert device.power_ons == 2
        assert runner.command("fault clear")["ok"]
        # the stalled echo was dropped; the new banner is what arrives
        assert read_exactly(link, 1) == b"\x55"
        assert link.read(10, 0.05) == b""
    assert {"event": "power-on", "count": 2} in events


def test_unplug_kills_the_link_and_replug_powers_on(echo):
    runner, device, _ = echo
    link = runner.loopback()
    assert runner.command("unplug") == {"ok": True, "command": "unplug"}
    assert device.plugged is False and runner.plugged is False
    with pytest.raises(TransportError, match="unplugged"):
        link.read(1, 1.0)
    with pytest.raises(TransportError, match="unplugged"):
        link.write(b"x")
    with pytest.raises(TransportError, match="replug"):
        runner.loopback()
    assert runner.command("unplug")["ok"] is False
    assert runner.command("power-cycle")["ok"] is False
    assert runner.command("replug") == {"ok": True, "command": "replug"}
    assert runner.command("replug")["ok"] is False
    assert device.plugged is True and device.power_ons == 2
    link.close()
    with runner.loopback() as again:
        again.write(b"back")
        assert read_exactly(again, 4) == b"back"


def test_a_blocked_read_wakes_up_on_unplug(echo):
    runner, _, _ = echo
    link = runner.loopback()
    errors = []

    def reader():
        try:
            link.read(1, 5.0)
        except TransportError as exc:
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.02)
    runner.command("unplug")
    thread.join(2.0)
    assert not thread.is_alive() and errors
    link.close()


def test_drop_corrupt_garbage_and_drop_in_faults(echo):
    runner, device, _ = echo
    with runner.loopback() as link:
        assert runner.command("fault drop 2") == {"ok": True, "command": "fault", "fault": "drop",
                                                  "count": 2}
        link.write(b"abcdef")
        assert read_exactly(link, 4) == b"cdef"

        assert runner.command("fault corrupt 3")["ok"]
        link.write(b"\x00\x00\x00\x00")
        got = read_exactly(link, 4)
        assert [bin(b).count("1") for b in got] == [1, 1, 1, 0]

        assert runner.command("fault garbage 7")["count"] == 7
        assert len(read_exactly(link, 7)) == 7

        assert runner.command("fault drop-in 3")["ok"]
        link.write(b"12345")
        assert read_exactly(link, 2) == b"45"
        assert bytes(device.received).endswith(b"\x00\x00\x00\x0045")

        assert runner.command("fault corrupt-in 2")["ok"]
        link.write(b"\x00\x00\x00")
        got = read_exactly(link, 3)
        assert [bin(b).count("1") for b in got] == [1, 1, 0]
        assert [bin(b).count("1") for b in device.received[-3:]] == [1, 1, 0]

        assert runner.command("fault drop 100")["ok"]
        assert runner.command("fault")["active"] == {"drop": 100}
        assert runner.command("fault clear")["ok"]
        link.write(b"z")
        assert read_exactly(link, 1) == b"z"


def test_garbage_is_reproducible_with_a_seeded_rng():
    outputs = []
    for _ in range(2):
        with DeviceRunner(EchoDevice(), rng=random.Random(7)) as runner:
            with runner.loopback() as link:
                runner.command("fault garbage 16")
                outputs.append(read_exactly(link, 16))
    assert outputs[0] == outputs[1] and len(outputs[0]) == 16


def test_split_fault_releases_one_byte_per_gap():
    clock = FakeClock()
    with DeviceRunner(EchoDevice(), clock=clock) as runner, runner.loopback() as link:
        assert runner.command("fault split 10")["gap_ms"] == 10
        link.write(b"abc")
        assert link.read(10, 1.0) == b"a"
        assert link.read(10, 0.05) == b""
        advance(runner, clock, 0.010)
        assert link.read(10, 1.0) == b"b"
        advance(runner, clock, 0.010)
        assert link.read(10, 1.0) == b"c"


def test_stall_holds_output_until_it_ends():
    clock = FakeClock()
    with DeviceRunner(EchoDevice(), clock=clock) as runner, runner.loopback() as link:
        assert runner.command("fault stall 5")["seconds"] == 5
        link.write(b"late")
        assert link.read(10, 0.05) == b""
        advance(runner, clock, 4.9)
        assert link.read(10, 0.05) == b""
        advance(runner, clock, 0.2)
        assert read_exactly(link, 4) == b"late"


def test_wire_time_paces_both_directions():
    clock = FakeClock()
    device = EchoDevice()
    # 1000 baud: 10 ms per byte
    with DeviceRunner(device, clock=clock, wire_baud=1000) as runner, runner.loopback() as link:
        link.write(b"0123456789")
        time.sleep(0.02)
        assert bytes(device.received) == b""       # no byte has finished crossing yet
        advance(runner, clock, 0.05)               # 5 byte times
        wait_for(lambda: len(device.received) == 5)
        assert link.read(10, 0.05) == b""           # their echo is still on the wire
        advance(runner, clock, 0.05)
        wait_for(lambda: len(device.received) == 10)
        assert read_exactly(link, 5) == b"01234"
        assert link.read(10, 0.05) == b""
        advance(runner, clock, 0.05)
        assert read_exactly(link, 5) == b"56789"


def test_wire_time_of_a_big_transfer_follows_the_clock():
    clock = FakeClock()
    device = EchoDevice()
    with DeviceRunner(device, clock=clock, wire_baud=57600) as runner, runner.loopback() as link:
        runner.command("emit " + "aa" * 5760)      # 5760 bytes = exactly 1.000 s at 57600
        advance(runner, clock, 0.5)
        first = read_exactly(link, 2880)
        assert len(first) == 2880
        assert link.read(10_000, 0.05) == b""
        advance(runner, clock, 0.5)
        assert len(read_exactly(link, 2880)) == 2880


def test_wire_time_can_follow_the_model_baud_rate_at_power_on():
    device = EchoDevice(baudrate=9600)
    with DeviceRunner(device, follow_device_baud=True) as runner:
        assert runner.wire_baud == 9600
        device.baudrate = 115200   # e.g. a baud setting that applies at the next power cycle
        assert runner.wire_baud == 9600
        runner.command("power-cycle")
        assert runner.wire_baud == 115200
    no_baud = EchoDevice()
    del no_baud.baudrate
    with pytest.raises(ConfigurationError, match="has no baud rate"):
        DeviceRunner(no_baud, follow_device_baud=True)


def test_baud_check_garbles_a_mismatched_line():
    device = EchoDevice(baudrate=57600)
    with DeviceRunner(device, baud_check=True, rng=random.Random(1)) as runner, \
            runner.loopback() as link:
        payload = bytes(range(200))
        link.write(payload)                       # host speed unknown: no check
        assert read_exactly(link, 200) == payload
        link.set_baudrate(56000)                  # 2.8 % off: a UART still copes
        link.write(payload)
        assert read_exactly(link, 200) == payload
        link.set_baudrate(9600)
        # a slow sender's bits look like several bytes each to a fast receiver, and back
        link.write(payload)
        wait_for(lambda: len(device.received) >= 1600)
        arrived = bytes(device.received[400:])
        assert len(arrived) == 1200 and payload not in arrived
        garbage = read_exactly(link, 200, timeout=1.0)
        assert len(garbage) == 200 and garbage != payload and garbage != arrived[:200]
        assert link.read(1000, 0.05) == b""
        link.set_baudrate(57600)
        link.reset_input()
        link.write(b"ok")
        assert read_exactly(link, 2) == b"ok"
    with pytest.raises(ConfigurationError, match="has no baud rate"):
        no_baud = EchoDevice()
        del no_baud.baudrate
        DeviceRunner(no_baud, baud_check=True)


def test_timers_run_when_due():
    clock = FakeClock()
    with DeviceRunner(EchoDevice(), clock=clock) as runner, runner.loopback() as link:
        events = []
        runner.subscribe(events.append)
        assert runner.command("after 2 beef")["ok"]
        assert link.read(10, 0.05) == b""
        advance(runner, clock, 2.0)
        assert read_exactly(link, 2) == b"\xbe\xef"
        wait_for(lambda: {"event": "timer", "hex": "beef"} in events)


def test_timers_run_on_the_real_clock(echo):
    runner, _, _ = echo
    with runner.loopback() as link:
        runner.command("after 0.02 0102")
        assert read_exactly(link, 2) == b"\x01\x02"


def test_a_model_crash_is_reported_and_the_thread_survives(echo):
    runner, device, events = echo
    with runner.loopback() as link:
        runner.command("crash-next")
        link.write(b"x")
        wait_for(lambda: any(e["event"] == "error" for e in events))
        error = next(e for e in events if e["event"] == "error")
        assert error["source"] == "model" and "crash requested" in error["message"]
        assert runner.errors
        link.write(b"y")
        assert read_exactly(link, 1) == b"y"


def test_subscribers_are_isolated_and_may_call_back(echo):
    runner, _, _ = echo
    seen = []

    def bad(event):
        raise ValueError("subscriber bug")

    def chatty(event):
        seen.append(event)
        if event.get("text") == "first":
            # calling back into the runner from a callback must not deadlock
            seen.append(runner.command("say second"))

    runner.subscribe(bad)
    unsubscribe = runner.subscribe(chatty)
    runner.command("say first")
    assert {"ok": True} in seen
    wait_for(lambda: {"event": "say", "text": "second", "lang": "en"} in seen)
    unsubscribe()
    count = len(seen)
    runner.command("say third")
    assert len(seen) == count


def test_commands_from_many_threads():
    device = EchoDevice()
    with DeviceRunner(device) as runner, runner.loopback() as link:
        replies = []

        def worker(i):
            for _ in range(20):
                replies.append(runner.command(f"emit {i:02x}"))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        assert all(r == {"ok": True} for r in replies) and len(replies) == 80
        data = read_exactly(link, 80)
        assert sorted(data) == sorted(bytes(range(4)) * 20)


def test_stop_joins_flushes_state_and_is_idempotent(tmp_path):
    state = tmp_path / "echo.json"
    device = EchoDevice(state=str(state))
    runner = DeviceRunner(device)
    runner.start()
    thread = runner._thread
    link = runner.loopback()
    link.write(b"abc")
    wait_for(lambda: len(device.received) == 3)
    runner.stop()
    runner.stop()
    assert not thread.is_alive()
    assert device.closed == 1
    assert json.loads(state.read_text()) == {"power_ons": 1, "received": 3}
    assert runner.stopped and runner not in open_runners()
    with pytest.raises(TransportError, match="stopped"):
        link.read(1, 0.1)
    link.close()
    assert runner.command("say x") == {"ok": False,
                                       "error": f"the simulator {runner.name} is stopped"}
    with pytest.raises(ConfigurationError, match="stopped"):
        runner.start()


def test_stop_reports_a_failing_close_after_releasing_everything():
    class Leaky(EchoDevice):
        def close(self) -> None:
            raise OSError("disk full")

    runner = DeviceRunner(Leaky()).start()
    with pytest.raises(OSError, match="disk full"):
        runner.stop()
    assert runner.stopped and runner not in open_runners()


def test_a_failing_power_on_fails_start_cleanly():
    class Broken(EchoDevice):
        def power_on(self) -> None:
            raise ConfigurationError("state file is corrupt")

    runner = DeviceRunner(Broken())
    link = runner.serve_pty()          # set up before start: released when start fails
    with pytest.raises(ConfigurationError, match="corrupt"):
        runner.start()
    assert runner not in open_runners() and runner.stopped
    assert runner.port is None and link.startswith("/dev/pts/")  # fds: the leak check
    runner.stop()


def test_constructor_checks_its_arguments():
    with pytest.raises(ConfigurationError, match="SimulatedDevice"):
        DeviceRunner(object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="wire_baud"):
        DeviceRunner(EchoDevice(), wire_baud=0)
    runner = DeviceRunner(EchoDevice(), name="named")
    assert runner.name == "named" and "named" in repr(runner)
    runner.stop()  # stopping a runner that never started is harmless


def test_a_model_answering_a_non_dict_is_an_error():
    class Sloppy(EchoDevice):
        def command(self, line):  # type: ignore[override]
            return "fine"

    with DeviceRunner(Sloppy()) as runner:
        reply = runner.command("anything")
        assert reply["ok"] is False and "not a dict" in reply["error"]


def test_a_model_that_only_implements_the_abstract_methods_runs():
    class Minimal(SimulatedDevice):
        kind = "minimal"

        def receive(self, data):
            self.send(data[::-1])

        def command(self, line):
            return {"ok": True, "line": line}

    with DeviceRunner(Minimal()) as runner, runner.loopback() as link:
        link.write(b"abc")
        assert read_exactly(link, 3) == b"cba"
        assert runner.command("x y") == {"ok": True, "line": "x y"}


def test_registry_creates_kinds_and_names_runners():
    registry.register_kind("echo", "sim_echo")
    assert "echo" in registry.kinds() and "fingerprint" in registry.kinds()
    device = registry.create_device("echo", banner="55")
    assert isinstance(device, EchoDevice) and device.banner == b"\x55"
    assert registry.cli_options("echo")[0]["flag"] == "--banner"
    with pytest.raises(ConfigurationError, match="unknown simulator kind 'nope'"):
        registry.create_device("nope")
    with pytest.raises(ConfigurationError, match="valid: banner"):
        registry.create_device("echo", colour="red")
    registry.register_kind("ghost", "firmware_sim.no_such_module")
    try:
        with pytest.raises(ConfigurationError, match="cannot be loaded"):
            registry.create_device("ghost")
    finally:
        registry._KINDS.pop("ghost")
    with pytest.raises(ConfigurationError):
        registry.register_kind("bad kind!", "x")

    runner = DeviceRunner(device).start()
    try:
        registry.register_runner("reg-test", runner)
        assert registry.lookup_runner("reg-test") is runner
        assert "reg-test" in registry.runner_names()
        with pytest.raises(ConfigurationError, match="already registered"):
            registry.register_runner("reg-test", DeviceRunner(EchoDevice()))
        with pytest.raises(ConfigurationError, match="URL-safe"):
            registry.register_runner("a&b", runner)
    finally:
        runner.stop()
    with pytest.raises(ConfigurationError, match="no running simulator is named 'reg-test'"):
        registry.lookup_runner("reg-test")


@settings(max_examples=40, deadline=None)
@given(chunks=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=12),
       split=st.booleans(), wire_baud=st.sampled_from([None, 2_000_000]))
def test_every_byte_arrives_once_and_in_order(chunks, split, wire_baud):
    with DeviceRunner(EchoDevice(), wire_baud=wire_baud) as runner, runner.loopback() as link:
        if split:
            runner.command("fault split 0")
        for chunk in chunks:
            link.write(chunk)
        expected = b"".join(chunks)
        assert read_exactly(link, len(expected), timeout=10) == expected
        assert link.read(10, 0.01) == b""
