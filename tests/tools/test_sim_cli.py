"""The ``tactile sim`` command-line contract, exercised on a real process as a program uses it:
the ready line first, JSON lines on stdout, commands on stdin, EOF does not end it, SIGTERM does
cleanly (exit 0, link removed, state flushed).  The machinery is tested on the echo test model;
the real kinds (fingerprint, pinpad) keep the same contract (bottom of the file)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drivers.transport import SerialTransport

HELPERS = str(Path(__file__).resolve().parents[1] / "helpers")
# the test registers its echo kind in the child process, then runs the real entry point
LAUNCH = ("import sys; from firmware_sim.registry import register_kind; "
          "register_kind('echo', 'sim_echo'); from tools.cli import main; "
          "sys.exit(main(sys.argv[1:]))")


class SimProcess:
    """A ``tactile sim`` child process with a JSON-lines reader that has deadlines."""

    def __init__(self, *args: str, stdin=subprocess.PIPE) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (HELPERS, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "sim", *args], stdin=stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self._buf = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)

    def line(self, timeout: float = 15.0) -> dict | None:
        """The next JSON line, or None at EOF."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no line from tactile sim within {timeout} s: {self._buf!r}"
            if self._selector.select(remaining):
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    return None
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\n", 1)
        return json.loads(raw)

    def until(self, predicate, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            item = self.line(max(0.01, deadline - time.monotonic()))
            assert item is not None, "tactile sim ended early"
            if predicate(item):
                return item

    def send(self, line: str) -> None:
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def ask(self, line: str) -> dict:
        self.send(line)
        return self.until(lambda item: "ok" in item)

    def terminate(self, sig=signal.SIGTERM, timeout: float = 15.0) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._selector.close()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def spawn():
    made = []

    def start(*args: str, **kwargs) -> SimProcess:
        process = SimProcess(*args, **kwargs)
        made.append(process)
        return process

    yield start
    for process in made:
        process.close()


def read_exactly(transport, count: int, timeout: float = 5.0) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        out += transport.read(count - len(out), 0.05)
    return out


def test_ready_first_then_replies_and_events(spawn, tmp_path):
    link = str(tmp_path / "echo")
    sim = spawn("echo", "--pty-link", link, "--flavour", "upper")
    ready = sim.line()
    assert list(ready)[:2] == ["event", "port"]
    assert ready["event"] == "ready" and ready["port"] == link
    assert ready["pty"].startswith("/dev/pts/") and os.path.realpath(link) == ready["pty"]
    assert ready["kind"] == "echo" and ready["pid"] == sim.proc.pid
    assert sim.line() == {"event": "power-on", "count": 1}
    with SerialTransport(link) as port:
        port.write(b"abc")
        assert read_exactly(port, 3) == b"ABC"
    sim.send("say hello")
    assert sim.line() == {"event": "say", "text": "hello", "lang": "en"}
    assert sim.line() == {"ok": True}
    sim.send("")
    sim.send("# a comment is skipped")
    assert sim.ask("bogus") == {"ok": False, "error":
                                "unknown echo command 'bogus': use say, emit, after, stats"}
    assert sim.ask("fault drop 1") == {"ok": True, "command": "fault", "fault": "drop",
                                       "count": 1}
    assert sim.ask("fault nonsense")["ok"] is False
    assert sim.terminate() == 0
    assert not os.path.lexists(link)
    assert sim.line() == {"event": "stopped", "reason": "SIGTERM"}
    assert sim.line() is None
    assert sim.proc.stderr.read() == b""


def test_closing_stdin_does_not_end_it(spawn, tmp_path):
    link = str(tmp_path / "echo")
    state = tmp_path / "state.json"
    sim = spawn("echo", "--pty-link", link, "--state", str(state))
    assert sim.line()["event"] == "ready"
    sim.send("stats")
    sim.proc.stdin.close()  # the last line is still answered, then EOF
    assert sim.until(lambda item: "ok" in item)["ok"] is True
    time.sleep(0.3)
    assert sim.proc.poll() is None
    with SerialTransport(link) as port:
        port.write(b"still here")
        assert read_exactly(port, 10) == b"still here"
    assert sim.terminate() == 0
    assert json.loads(state.read_text()) == {"power_ons": 1, "received": 10}
    assert not os.path.lexists(link)


def test_unplug_replug_and_power_cycle_over_the_cli(spawn, tmp_path):
    link = str(tmp_path / "echo")
    sim = spawn("echo", "--pty-link", link, "--banner", "55")
    assert sim.line()["event"] == "ready"
    assert sim.ask("unplug") == {"ok": True, "command": "unplug"}
    assert not os.path.lexists(link)
    assert sim.ask("replug") == {"ok": True, "command": "replug", "port": link}
    with SerialTransport(link) as port:
        assert sim.ask("power-cycle") == {"ok": True, "command": "power-cycle"}
        assert read_exactly(port, 1) == b"\x55"
    assert sim.terminate() == 0


def test_tcp_and_trace(spawn):
    sim = spawn("echo", "--tcp", "127.0.0.1:0", "--trace")
    ready = sim.line()
    assert ready["event"] == "ready" and ready["port"].startswith("socket://127.0.0.1:")
    assert ready["options"] == {"flavour": "plain", "trace": "1"}
    with SerialTransport(ready["port"]) as port:
        port.write(b"\x01\x02")
        assert read_exactly(port, 2) == b"\x01\x02"
        assert sim.until(lambda e: e["event"] == "trace")["hex"] in ("0102", "01")
    assert sim.terminate(signal.SIGINT) == 0
    assert sim.until(lambda e: e["event"] == "stopped")["reason"] == "SIGINT"


def test_wire_time_flag(spawn, tmp_path):
    sim = spawn("echo", "--pty-link", str(tmp_path / "e"), "--wire-time", "--baud-check")
    ready = sim.line()
    assert ready["wire_time"] is True and ready["baudrate"] == 57600
    assert ready["baud_check"] is True
    assert sim.terminate() == 0


def test_commands_from_a_file(spawn, tmp_path):
    commands = tmp_path / "commands.txt"
    commands.write_text("say one\nstats\n")
    with open(commands, "rb") as stdin:
        sim = spawn("echo", "--pty-link", str(tmp_path / "e"), stdin=stdin)
        assert sim.line()["event"] == "ready"
        assert sim.until(lambda e: e.get("event") == "say")["text"] == "one"
        assert sim.until(lambda e: "ok" in e)["ok"] is True
        assert sim.until(lambda e: "received" in e)["received"] == 0
        time.sleep(0.2)
        assert sim.proc.poll() is None
        assert sim.terminate() == 0


@pytest.mark.parametrize("args, code, message", [
    (["echo"], 2, "one of the arguments --pty-link --tcp is required"),
    (["echo", "--pty-link", "x", "--tcp", "h:1"], 2, "not allowed with argument"),
    (["echo", "--tcp", "nohostport"], 2, "expected HOST:PORT"),
    (["echo", "--tcp", "127.0.0.1:99999"], 2, "must be 0..65535"),
    (["echo", "--pty-link", "x", "--flavour", "spicy"], 2, "invalid choice: 'spicy'"),
    (["nope", "--pty-link", "x"], 1, "unknown simulator kind 'nope'"),
])
def test_usage_errors(spawn, args, code, message):
    sim = spawn(*args)
    assert sim.proc.wait(15) == code
    assert message in sim.proc.stderr.read().decode()
    assert sim.line() is None


def test_a_busy_tcp_port_is_a_plain_error(spawn):
    import socket

    blocker = socket.create_server(("127.0.0.1", 0))
    try:
        sim = spawn("echo", "--tcp", f"127.0.0.1:{blocker.getsockname()[1]}")
        assert sim.proc.wait(15) == 1
        assert "cannot listen on 127.0.0.1" in sim.proc.stderr.read().decode()
    finally:
        blocker.close()


def test_a_state_that_cannot_be_saved_is_reported(spawn, tmp_path):
    sim = spawn("echo", "--pty-link", str(tmp_path / "e"),
                "--state", str(tmp_path / "missing-dir" / "state.json"))
    assert sim.line()["event"] == "ready"
    assert sim.terminate() == 1
    error = sim.until(lambda e: e.get("event") == "error")
    assert "stopping the echo simulator failed" in error["message"]
    assert "No such file or directory" in sim.proc.stderr.read().decode()
    assert not os.path.lexists(tmp_path / "e")


def test_help_lists_the_kind_options(spawn):
    sim = spawn("echo", "--help")
    assert sim.proc.wait(15) == 0
    text = sim.proc.stdout.read().decode()
    assert "--flavour {plain,upper}" in text and "--pty-link PATH" in text
    assert "--wire-time" in text


# ---------------------------------------------------------------------------- real kinds
@pytest.mark.parametrize("kind", ["fingerprint", "pinpad"])
def test_real_kind_contract(spawn, tmp_path, kind):
    link = str(tmp_path / kind)
    state = tmp_path / f"{kind}.json"
    sim = spawn(kind, "--pty-link", link, "--state", str(state))
    ready = sim.line(timeout=60)
    assert ready["event"] == "ready" and ready["port"] == link
    with SerialTransport(link, baudrate=ready.get("baudrate", 57600)):
        pass
    assert sim.ask("frobnicate")["ok"] is False
    assert sim.ask("power-cycle") == {"ok": True, "command": "power-cycle"}
    assert sim.ask("fault drop 1")["ok"] is True
    sim.proc.stdin.close()
    time.sleep(0.2)
    assert sim.proc.poll() is None
    assert sim.terminate() == 0
    assert not os.path.lexists(link)
    assert sim.until(lambda e: e.get("event") == "stopped")
