"""The module's flash: template library, notepad, system parameters, password, address.

Kept in memory, or in a JSON file (option ``state=FILE``) rewritten atomically - temporary
file in the same directory, fsync, ``os.replace`` - on every change and on close, so a
simulated module keeps its prints across runs and a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from protocol.ef01 import DEFAULT_ADDRESS
from protocol.errors import ConfigurationError

from firmware_sim.base import save_json_atomically

from firmware_sim.fingerprint.profiles import ModelProfile

__all__ = ["Flash", "STATE_VERSION"]

STATE_VERSION = 1


@dataclass
class Flash:
    """Non-volatile contents of one module."""

    model: str
    capacity: int
    library: list[bytes | None]
    notepad: list[bytes] = field(default_factory=lambda: [bytes(32)] * 16)
    #: active system parameters (what the module runs with since its last power-up)
    security_level: int = 3
    packet_size_code: int = 2
    baud_multiplier: int = 6
    #: SetSysPara values written to flash but applied only at the next power-up
    pending: dict[str, int] = field(default_factory=dict)
    password: int = 0
    address: int = DEFAULT_ADDRESS
    path: str | None = None

    @classmethod
    def factory(cls, prof: ModelProfile, *, address: int = DEFAULT_ADDRESS, password: int = 0,
                path: str | None = None) -> "Flash":
        return cls(model=prof.name, capacity=prof.capacity, library=[None] * prof.capacity,
                   address=address, password=password, path=path)

    @classmethod
    def open(cls, prof: ModelProfile, path: str | None, *, address: int = DEFAULT_ADDRESS,
             password: int = 0) -> "Flash":
        """Load ``path`` if it exists (its values win over the options), else factory state."""
        flash = cls.factory(prof, address=address, password=password, path=path)
        if not path:
            return flash
        if not os.path.exists(path):
            # written now, so that a path that cannot be written is reported at start (and
            # not when the simulator stops, after a technician enrolled prints into it)
            flash.save()
            return flash
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                raise ValueError(f"not a version-{STATE_VERSION} fingerprint module state")
            if data.get("model") != prof.name:
                raise ConfigurationError(
                    f"the state file {path!r} belongs to a simulated {data.get('model')} module, "
                    f"not a {prof.name}. Use --model {data.get('model')} or another --state file.")
            for slot, hexdata in data.get("library", {}).items():
                flash.library[int(slot)] = bytes.fromhex(hexdata)
            for page, hexdata in data.get("notepad", {}).items():
                page_bytes = bytes.fromhex(hexdata)
                if len(page_bytes) != 32:
                    raise ValueError(f"notepad page {page} is not 32 bytes")
                flash.notepad[int(page)] = page_bytes
            params = data.get("params", {})
            flash.security_level = int(params.get("security_level", 3))
            flash.packet_size_code = int(params.get("packet_size_code", 2))
            flash.baud_multiplier = int(params.get("baud_multiplier", 6))
            flash.pending = {str(k): int(v) for k, v in data.get("pending", {}).items()}
            flash.password = int(data.get("password", 0))
            flash.address = int(data.get("address", DEFAULT_ADDRESS))
        except ConfigurationError:
            raise
        except (OSError, ValueError, TypeError, IndexError, AttributeError) as exc:
            raise ConfigurationError(
                f"cannot read the fingerprint module state file {path!r}: {exc}. Delete it to "
                "start the simulated module from factory state (empty library).") from exc
        return flash

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "model": self.model,
            "library": {str(i): t.hex() for i, t in enumerate(self.library) if t is not None},
            "notepad": {str(i): p.hex() for i, p in enumerate(self.notepad) if any(p)},
            "params": {"security_level": self.security_level, "packet_size_code": self.packet_size_code,
                       "baud_multiplier": self.baud_multiplier},
            "pending": dict(self.pending),
            "password": self.password,
            "address": self.address,
        }

    def save(self) -> None:
        """Write the file atomically (no-op without a path)."""
        if not self.path:
            return
        save_json_atomically(self.path, self.to_json(), what="the fingerprint module state file")
