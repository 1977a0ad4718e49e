"""The counter's configuration: which ports, where the reader is, and what a new customer starts
with (language, profile, volume, speech rate).

One small JSON file per counter, found as ``--counter FILE`` on the command line, else
``$TACTILE_COUNTER_CONFIG``, else ``~/.config/tactile/counter.json``; without one, the built-in
defaults below.  Every ``tactile`` command takes its default ``--lang`` (and ports, reader
position, profile, volume and rate where it has them) from here, and
:class:`drivers.guidance.Guide` returns the pad to these defaults when a customer's session
ends (EN 301 549 5.1.3.13: the next customer does not inherit the last one's settings)::

    {
      "pinpad": "/dev/ttyUSB1",
      "fingerprint": "/dev/ttyUSB0",
      "reader_position": "right",
      "lang": "zh-CN",
      "profile": "standard",
      "volume": 0,
      "rate": 100
    }

Every key is optional.  ``volume`` is 1..1000 (0 = the pad's own default), ``rate`` 50..200 %.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from protocol.errors import ConfigurationError
from protocol.tpp.prompts import LANGUAGES

__all__ = ["CounterConfig", "DEFAULT_LANG", "COUNTER_CONFIG_ENV", "default_config_path"]

#: the language a counter speaks when no configuration says otherwise: English, the language
#: of our technicians' documentation and of scripts written against the commands; a branch
#: sets ``"lang": "zh-CN"`` in its counter file
DEFAULT_LANG = "en"
COUNTER_CONFIG_ENV = "TACTILE_COUNTER_CONFIG"
_POSITIONS = ("right", "left", "above", "below", "front", "behind")


def default_config_path() -> Path:
    return Path(os.path.expanduser("~")) / ".config" / "tactile" / "counter.json"


@dataclass(frozen=True, slots=True)
class CounterConfig:
    """One counter's settings (see the module doc); the built-in defaults when no file."""

    pinpad: str | None = None
    fingerprint: str | None = None
    reader_position: str = "right"
    lang: str = DEFAULT_LANG
    profile: str = "standard"
    volume: int = 0
    rate: int = 100
    #: where it was read from (None: built-in defaults)
    source: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.lang not in LANGUAGES:
            problems.append(f"lang is one of {', '.join(LANGUAGES)}, not {self.lang!r}")
        if self.reader_position not in _POSITIONS:
            problems.append(f"reader_position is one of {', '.join(_POSITIONS)}, "
                            f"not {self.reader_position!r}")
        if not isinstance(self.volume, int) or not (self.volume == 0 or 1 <= self.volume <= 1000):
            problems.append(f"volume is 1..1000 (0 = the pad's default), not {self.volume!r}")
        if not isinstance(self.rate, int) or not 50 <= self.rate <= 200:
            problems.append(f"rate is 50..200 (percent), not {self.rate!r}")
        for name in ("pinpad", "fingerprint"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                problems.append(f"{name} is a port name or URL, not {value!r}")
        if not isinstance(self.profile, str) or not self.profile:
            problems.append(f"profile is a profile name, not {self.profile!r}")
        if problems:
            where = self.source or "the counter configuration"
            raise ConfigurationError(f"{where}: " + "; ".join(problems))

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> "CounterConfig":
        """The counter's configuration: ``path``, else ``$TACTILE_COUNTER_CONFIG``, else
        ``~/.config/tactile/counter.json``; the built-in defaults when none of these exists
        (a named file that is missing or malformed is an error)."""
        named = path if path is not None else os.environ.get(COUNTER_CONFIG_ENV) or None
        file = Path(named) if named is not None else default_config_path()
        if not file.exists():
            if named is not None:
                raise ConfigurationError(f"counter configuration {file} does not exist")
            return cls()
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigurationError(f"counter configuration {file} cannot be read: {exc}") \
                from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"counter configuration {file} must be a JSON object")
        known = {f.name for f in fields(cls)} - {"source"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(f"counter configuration {file}: unknown key(s) "
                                     f"{', '.join(unknown)}; use {', '.join(sorted(known))}")
        return cls(**data, source=str(file))

    def adjust(self, **changes: Any) -> "CounterConfig":
        """A copy with some settings changed (command-line flags over the file)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
