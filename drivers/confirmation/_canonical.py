"""Canonical JSON: the exact bytes a record is hashed and signed over.

Records hold only strings, integers, booleans, None, lists and objects with ASCII keys (no
floats: scores and counts are integers, times are RFC 3339 strings).  For that subset
``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in UTF-8 is the same
byte string RFC 8785 (JCS) specifies, so another implementation can recompute every hash.  A
general JCS library would add float formatting we do not need; this check keeps records in the
subset instead.
"""

from __future__ import annotations

import json
from typing import Any

from protocol.errors import ConfigurationError

__all__ = ["canonical_bytes", "check_canonical_value"]


def check_canonical_value(value: Any, where: str = "record") -> None:
    """Raise ConfigurationError if ``value`` leaves the canonical subset."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if not -(2**53) < value < 2**53:
            raise ConfigurationError(f"{where}: integer {value} is outside the exact JSON range")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_canonical_value(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise ConfigurationError(f"{where}: keys must be ASCII strings, not {key!r}")
            check_canonical_value(item, f"{where}.{key}")
        return
    raise ConfigurationError(f"{where}: {type(value).__name__} values cannot be recorded "
                             "(use str, int, bool, None, lists and objects)")


def canonical_bytes(value: Any) -> bytes:
    """The canonical UTF-8 JSON encoding of ``value`` (see the module docstring)."""
    check_canonical_value(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")
