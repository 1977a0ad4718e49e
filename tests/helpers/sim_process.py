"""``tactile sim pinpad|fingerprint --pty-link PATH`` as a child process, for tests that run
the CLI between real processes: a reader of its JSON lines with deadlines, and its stdin."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from typing import Any, Callable

#: runs the real entry point in the child
LAUNCH = "import sys; from tools.cli import main; sys.exit(main(sys.argv[1:]))"


class SimProcess:
    """``tactile sim KIND ARGS...``: ``next`` / ``until`` read its event lines (every line read
    is kept in ``events``), ``send`` / ``ask`` write control lines, ``close`` ends it (SIGTERM,
    then kill)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "sim", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self._buf = b""
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.events: list[dict[str, Any]] = []
        self.port: str | None = None

    def next(self, timeout: float) -> dict[str, Any] | None:
        """The next line within ``timeout`` seconds, or None (time up, or the process ended)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self._sel.select(left):
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\n", 1)
        item = json.loads(raw)
        self.events.append(item)
        return item

    def until(self, predicate: Callable[[dict[str, Any]], bool],
              timeout: float = 20.0) -> dict[str, Any]:
        """The first line ``predicate`` accepts; fails the test when none comes in time."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"tactile sim said nothing matching within {timeout} s"
            item = self.next(left)
            if item is None and self.proc.poll() is not None:
                raise AssertionError("tactile sim ended early: " + self.proc.stderr.read().decode())
            if item is not None and predicate(item):
                return item

    def ready(self, timeout: float = 20.0) -> str:
        """Wait for the ``ready`` line; returns (and keeps in ``port``) the port to open."""
        self.port = self.until(lambda item: item.get("event") == "ready", timeout)["port"]
        return self.port

    def send(self, line: str) -> None:
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def ask(self, line: str) -> dict[str, Any]:
        """Send a control line and return its answer (the next line with "ok")."""
        self.send(line)
        return self.until(lambda item: "ok" in item)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._sel.close()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()
