"""A clock a test moves by hand, for the simulators' and drivers' injected clocks."""

from __future__ import annotations

import threading


class FakeClock:
    """Monotonic seconds that advance only when the test says so (``advance`` or ``t``);
    safe to read from the simulator's thread while the test moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.t += seconds
