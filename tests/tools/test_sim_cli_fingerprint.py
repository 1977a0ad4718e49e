"""``tactile sim fingerprint`` as an outside tool meets it: the ready line means the module
answers, so a program may talk as soon as it has read it (no polling `status` first)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time

import pytest

from drivers.transport import SerialTransport

# ReadSysPara to the default address (the reference's golden frame) and its reply's length
READ_SYS_PARA = bytes.fromhex("EF01FFFFFFFF0100030F0013")
REPLY_LENGTH = 28


def _first_line(proc: subprocess.Popen, timeout: float = 60.0) -> dict:
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    deadline = time.monotonic() + timeout
    try:
        while b"\n" not in buf:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no ready line within {timeout} s: {buf!r}"
            if selector.select(remaining):
                chunk = os.read(proc.stdout.fileno(), 65536)
                assert chunk, f"tactile sim ended: {proc.stderr.read()!r}"
                buf += chunk
    finally:
        selector.close()
    return json.loads(buf.split(b"\n", 1)[0])


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pty")
@pytest.mark.parametrize("model", ["r307", "as608"])   # the 500 ms booters
def test_the_module_answers_as_soon_as_ready_is_printed(tmp_path, model):
    link = str(tmp_path / "fp")
    proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "sim", "fingerprint",
                             "--pty-link", link, "--model", model],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready = _first_line(proc)
        assert ready["event"] == "ready" and ready["port"] == link
        with SerialTransport(link, baudrate=ready["baudrate"]) as port:
            port.write(READ_SYS_PARA)       # at once, as a third-party library does
            reply = b""
            deadline = time.monotonic() + 2.0
            while len(reply) < REPLY_LENGTH and time.monotonic() < deadline:
                reply += port.read(REPLY_LENGTH - len(reply), 0.05)
        assert reply[:6] == bytes.fromhex("EF01FFFFFFFF") and reply[6] == 0x07, reply.hex()
        assert len(reply) == REPLY_LENGTH and reply[9] == 0x00, reply.hex()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(15) == 0
        finally:
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                stream.close()
    assert not os.path.lexists(link)


@pytest.mark.skipif(not os.path.exists(os.devnull) or os.name != "posix", reason="POSIX only")
def test_stdin_from_dev_null_serves_until_sigterm(tmp_path):
    """`tactile sim fingerprint ... </dev/null &` (a CI job, nohup): /dev/null cannot be polled
    (epoll says EPERM); the simulator must serve anyway and stop cleanly on SIGTERM."""
    with open(os.devnull, "rb") as null:
        proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "sim", "fingerprint",
                                 "--tcp", "127.0.0.1:0"],
                                stdin=null, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready = _first_line(proc)
        assert ready["event"] == "ready" and ready["port"].startswith("socket://127.0.0.1:")
        with SerialTransport(ready["port"]) as port:
            port.write(READ_SYS_PARA)
            reply = b""
            deadline = time.monotonic() + 2.0
            while len(reply) < REPLY_LENGTH and time.monotonic() < deadline:
                reply += port.read(REPLY_LENGTH - len(reply), 0.05)
        assert len(reply) == REPLY_LENGTH and reply[9] == 0x00, reply.hex()
        assert proc.poll() is None      # EOF on stdin does not end it
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(15) == 0
            assert b"Traceback" not in proc.stderr.read()
        finally:
            proc.stdout.close()
            proc.stderr.close()


@pytest.mark.skipif(not hasattr(signal, "SIGHUP") or not hasattr(os, "openpty"),
                    reason="needs SIGHUP and a pty")
def test_a_closed_terminal_stops_it_cleanly_too(tmp_path):
    """SIGHUP (the technician closed the terminal it ran in): exit 0, link removed, not a
    stale symlink left behind."""
    link = str(tmp_path / "fp")
    proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "sim", "fingerprint",
                             "--pty-link", link], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        assert _first_line(proc)["event"] == "ready" and os.path.lexists(link)
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(15) == 0
        assert json.loads(proc.stdout.read().splitlines()[-1]) == {"event": "stopped",
                                                                    "reason": "SIGHUP"}
    finally:
        if proc.poll() is None:     # pragma: no cover - only when the assertion above failed
            proc.kill()
            proc.wait(10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
    assert not os.path.lexists(link)
