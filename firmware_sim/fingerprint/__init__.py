"""The simulated EF01 fingerprint module (device kind ``fingerprint``), byte for byte.

``create(**options)`` builds a model from string options (a ``sim://fingerprint?...`` query or
the flags of ``tactile sim fingerprint``); ``CLI_OPTIONS`` lists the model's own flags.

Options: ``model`` (r307 | r503 | as608, default r307), ``state`` (JSON file keeping the
template library, notepad, system parameters, password and address; its values win over the
options below), ``address`` (default FFFFFFFF, hex), ``password`` (default 0), ``seed``
(reproducible captures and GetRandomCode; tests and demos), ``trace`` ("1": one decoded JSON
event per frame in each direction), ``serial`` (the serial number ReadProdInfo reports),
``timing`` ("1": each reply waits for the module's processing time - capture, extraction,
search, flash writes - as on the data sheet; default "0", replies at once).

Control commands (stdin of ``tactile sim fingerprint``, or ``runner.command(...)``):
``place FINGER [QUALITY]`` (quality 0..100, default 90), ``lift``, ``defect sensor|flash|busy|
residue``, ``defect clear``, ``status``, ``help``.  ``power-cycle``/``unplug``/``replug`` and
the byte faults (``fault ...``) belong to the runner.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from firmware_sim.fingerprint.device import DEFECTS, FingerprintModule, pack_image, unpack_image
from firmware_sim.fingerprint.profiles import PROFILES, ModelProfile, profile
from firmware_sim.fingerprint.state import Flash
from protocol.errors import ConfigurationError

__all__ = ["create", "CLI_OPTIONS", "OPTIONS", "FingerprintModule", "ModelProfile", "PROFILES",
           "profile", "Flash", "DEFECTS", "pack_image", "unpack_image"]

CLI_OPTIONS: list[dict[str, Any]] = [
    {"flag": "--model", "dest": "model", "choices": list(PROFILES), "default": "r307",
     "help": "module family: r307 (1000 slots, 256x288), r503 (200 slots, 192x192, Aura LED) "
             "or as608 (Synochip)"},
    {"flag": "--address", "dest": "address", "choices": None, "default": "FFFFFFFF",
     "help": "module address in hex (a new state only; a --state file keeps its own)"},
    {"flag": "--password", "dest": "password", "choices": None, "default": "0",
     "help": "module password (0 = none; otherwise VfyPwd must come first)"},
    {"flag": "--seed", "dest": "seed", "choices": None, "default": None,
     "help": "seed for reproducible captures and random codes; tests and demos only"},
    {"flag": "--timing", "dest": "timing", "choices": ["0", "1"], "default": "0",
     "help": "1: replies wait for the module's processing time (capture ~0.4 s, search, flash "
             "writes) as a real module's do; 0: at once"},
]

#: every option create() accepts (the runner CLI owns --state and --trace)
OPTIONS = ("model", "state", "address", "password", "seed", "trace", "serial", "timing")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def create(**options: str) -> FingerprintModule:
    """A new simulated module from string options (see the module docstring)."""
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise ConfigurationError(f"unknown fingerprint simulator option(s) {', '.join(sorted(unknown))}; "
                                 f"valid: {', '.join(OPTIONS)}")
    prof = profile(str(options.get("model") or "r307"))
    address = _number(options.get("address"), "address", 16, 0xFFFFFFFF, 0xFFFFFFFF)
    password = _number(options.get("password"), "password", 0, 0xFFFFFFFF, 0)
    seed = options.get("seed")
    try:
        rng = np.random.default_rng(None if seed in (None, "") else int(str(seed), 0))
    except ValueError:
        raise ConfigurationError(f"option seed must be an integer, not {seed!r}") from None
    trace, timing = (_flag(options, name) for name in ("trace", "timing"))
    flash = Flash.open(prof, options.get("state") or None, address=address, password=password)
    serial = str(options.get("serial") or f"{int(rng.integers(0, 10**8)):08d}")
    if not (serial.isascii() and serial.isprintable() and len(serial) <= 8):
        raise ConfigurationError(f"option serial must be up to 8 printable ASCII characters, not {serial!r}")
    return FingerprintModule(prof, flash, rng=rng, trace=trace, serial=serial, timing=timing)


def _flag(options: dict[str, Any], name: str) -> bool:
    value = str(options.get(name, "0")).lower()
    if value not in _TRUE + _FALSE:
        raise ConfigurationError(f"option {name} must be 1 or 0, not {options[name]!r}")
    return value in _TRUE


def _number(text: Any, what: str, base: int, high: int, default: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(str(text), base) if base == 16 else int(str(text), 0)
    except ValueError:
        raise ConfigurationError(f"option {what} must be a {'hex ' if base == 16 else ''}number, "
                                 f"not {text!r}") from None
    if not 0 <= value <= high:
        raise ConfigurationError(f"option {what} must be 0..{high:X}, not {text!r}")
    return value
