"""The contract between a simulated device model and the machinery that runs it.

A device model (the EF01 fingerprint module, the tactile PIN pad) is pure state plus the
``protocol`` code in the DEVICE role.  It does no I/O and starts no threads: a
:class:`firmware_sim.runner.DeviceRunner` owns it, feeds it the host's bytes, calls
:meth:`tick` when a timer it asked for is due, and forwards its control commands.  The runner
calls every method from one thread at a time, holding its lock, so models need no locking.

What a model produces leaves through two callbacks set by :meth:`bind`:

* ``emit_bytes(data)`` - bytes on the wire towards the host;
* ``emit_event(obj)`` - a JSON-ready dict for the simulator's stdout event stream
  (``{"event": "say", ...}``, ``{"event": "trace", ...}``).
"""

from __future__ import annotations

import json
import os
import tempfile
from abc import ABC, abstractmethod
from typing import Any, Callable

from protocol.errors import ConfigurationError

__all__ = ["SimulatedDevice", "save_json_atomically"]


def save_json_atomically(path: str, data: Any, *, what: str) -> None:
    """Write ``data`` as JSON to ``path`` so that a crash leaves the old file or the new one,
    never half of one: a temporary file in the same directory, fsync, then ``os.replace``.

    ``what`` names the file in the error a technician reads ("the pad state file").
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tactile-state-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write {what} {path!r}: {exc}. Check that the directory exists and is "
            "writable.") from exc


class SimulatedDevice(ABC):
    """Base class of every device model."""

    #: short kind name used by URLs and the CLI: "fingerprint", "pinpad"
    kind: str = "device"

    def __init__(self) -> None:
        self._emit_bytes: Callable[[bytes], None] = lambda data: None
        self._emit_event: Callable[[dict[str, Any]], None] = lambda obj: None
        self._clock: Callable[[], float] = lambda: 0.0
        #: True while the host link is plugged in (the runner drops bytes otherwise)
        self.plugged = True

    def bind(self, emit_bytes: Callable[[bytes], None], emit_event: Callable[[dict[str, Any]], None],
             clock: Callable[[], float]) -> None:
        """Called once by the runner before anything else."""
        self._emit_bytes = emit_bytes
        self._emit_event = emit_event
        self._clock = clock

    # -- what the runner calls ------------------------------------------------------------
    def power_on(self) -> None:
        """The device gets power (first start, ``power-cycle``, ``replug``).  Override."""

    @abstractmethod
    def receive(self, data: bytes) -> None:
        """Bytes arrived from the host."""

    def tick(self, now: float) -> float | None:
        """Run due timers.  Return the clock time of the next timer, or None for none."""
        return None

    @abstractmethod
    def command(self, line: str) -> dict[str, Any]:
        """Run one control command (a stdin line such as ``place 3 90`` or ``press 5``).

        Return the JSON-ready reply (``{"ok": True, ...}``).  Raise
        :class:`protocol.errors.ConfigurationError` with a plain message for a bad command.
        """

    def close(self) -> None:
        """The simulator is shutting down: flush persistent state.  Override if stateful."""

    # -- helpers for subclasses -----------------------------------------------------------
    def send(self, data: bytes) -> None:
        if self.plugged and data:
            self._emit_bytes(bytes(data))

    def event(self, name: str, **fields: Any) -> None:
        self._emit_event({"event": name, **fields})

    def now(self) -> float:
        return self._clock()
