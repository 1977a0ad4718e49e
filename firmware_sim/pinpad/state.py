"""The pad's non-volatile memory: a JSON file written atomically (or nothing, in memory).

What survives a power cycle: DUKPT initial keys (derived, never the BDK) and their transaction
counters, the PIN-entry history for the hourly rate limit, audio defaults (volume, rate,
language), the tamper flag.  A write goes to a temporary file in the same directory, is fsynced
and then renamed over the old file, so a crash never leaves a half-written state.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from protocol.errors import ConfigurationError

from firmware_sim.base import save_json_atomically

__all__ = ["StateStore", "STATE_VERSION"]

STATE_VERSION = 1


def _fresh() -> dict[str, Any]:
    return {"version": STATE_VERSION, "keys": {}, "pin_entries": [], "settings": {},
            "tampered": False}


class StateStore:
    """A dict persisted to ``path`` (or kept in memory when ``path`` is None)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.data: dict[str, Any] = _fresh()
        if path and os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as fh:
                    loaded = json.load(fh)
            except (OSError, ValueError) as exc:
                raise ConfigurationError(
                    f"cannot read the pad state file {path!r}: {exc}. Delete it to start the "
                    "simulated pad from factory state (test keys reloaded, counters at 1).") from exc
            if not isinstance(loaded, dict) or loaded.get("version") != STATE_VERSION:
                raise ConfigurationError(
                    f"the pad state file {path!r} is not a version-{STATE_VERSION} pad state. "
                    "Delete it or point --state at another file.")
            base = _fresh()
            base.update(loaded)
            self.data = base

    @property
    def fresh(self) -> bool:
        """True when no keys were ever loaded (a first start)."""
        return not self.data["keys"] and not self.data["tampered"]

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)

    def save(self) -> None:
        if not self.path:
            return
        save_json_atomically(self.path, self.data, what="the pad state file")
