"""The simulated tactile PIN pad (device kind ``pinpad``): TPP byte for byte.

``create(**options)`` builds a model from string options (a ``sim://pinpad?...`` query or the
flags of ``tactile sim pinpad``); ``CLI_OPTIONS`` lists the model's own flags.

Options: ``layout`` (telephone | calculator | pos, default telephone), ``state`` (JSON state
file: DUKPT counters, rate-limit history, audio settings, derived test keys), ``serial``,
``seed`` (reproducible randomness, tests only), ``trace`` ("1": one decoded JSON line per frame),
``rate_limit`` (PIN entries per hour, default 120), ``baud`` (UART speed, default 115200).
"""

from __future__ import annotations

from typing import Any

from protocol.errors import ConfigurationError
from protocol.layout import DEFAULT_LAYOUT, LAYOUT_NAMES

from firmware_sim.pinpad.audio import Audio, Utterance, estimate_duration
from firmware_sim.pinpad.core import EntryRequest, Mode, PadCore, Refusal, RefusalCode
from firmware_sim.pinpad.device import DEFAULT_SERIAL, PinPadDevice
from firmware_sim.pinpad.keys import SLOTS, TEST_KEYS, Keystore
from firmware_sim.pinpad.prompts import describe_key

__all__ = [
    "create",
    "CLI_OPTIONS",
    "OPTIONS",
    "PinPadDevice",
    "PadCore",
    "Mode",
    "EntryRequest",
    "Refusal",
    "RefusalCode",
    "Audio",
    "Utterance",
    "estimate_duration",
    "Keystore",
    "SLOTS",
    "TEST_KEYS",
    "describe_key",
]

CLI_OPTIONS: list[dict[str, Any]] = [
    {"flag": "--layout", "dest": "layout", "choices": list(LAYOUT_NAMES),
     "default": DEFAULT_LAYOUT,
     "help": "keypad layout: telephone (1-2-3 on top), calculator (7-8-9 on top) or pos "
             "(function keys in a bottom row)"},
    {"flag": "--serial", "dest": "serial", "choices": None, "default": DEFAULT_SERIAL,
     "help": "serial number the pad reports"},
    {"flag": "--seed", "dest": "seed", "choices": None, "default": None,
     "help": "seed for reproducible randomness (PIN block fill); tests and demos only"},
    {"flag": "--baud", "dest": "baud", "choices": ["9600", "19200", "38400", "57600", "115200"],
     "default": "115200", "help": "the pad's UART speed (used by --wire-time and ACK timing)"},
    {"flag": "--rate-limit", "dest": "rate_limit", "choices": None, "default": "120",
     "help": "PIN entries allowed per hour (exhaustive-search protection)"},
]

#: every option create() accepts (the runner CLI owns --state and --trace)
OPTIONS = ("layout", "state", "serial", "seed", "trace", "rate_limit", "baud", "time_scale")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def create(**options: str) -> PinPadDevice:
    """A new pad model from string options; ConfigurationError names the valid ones."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigurationError(
            f"unknown pinpad option(s) {', '.join(unknown)}: valid options are "
            + ", ".join(OPTIONS))
    kwargs: dict[str, Any] = {}
    if options.get("layout") is not None:
        kwargs["layout"] = str(options["layout"])
    if options.get("state"):
        kwargs["state"] = str(options["state"])
    if options.get("serial") is not None:
        kwargs["serial"] = str(options["serial"])
    if options.get("seed") not in (None, ""):
        kwargs["seed"] = _int("seed", options["seed"])
    if options.get("baud") not in (None, ""):
        kwargs["baud"] = _int("baud", options["baud"])
    if options.get("rate_limit") not in (None, ""):
        kwargs["rate_limit"] = _int("rate_limit", options["rate_limit"])
    if options.get("time_scale") not in (None, ""):
        try:
            kwargs["time_scale"] = float(str(options["time_scale"]))
        except ValueError:
            raise ConfigurationError("pinpad option time_scale must be a number (1..1000), "
                                     f"not {options['time_scale']!r}") from None
    trace = str(options.get("trace") or "").strip().lower()
    if trace not in _TRUE + _FALSE:
        raise ConfigurationError(f"trace must be 1 or 0, not {options['trace']!r}")
    kwargs["trace"] = trace in _TRUE
    return PinPadDevice(**kwargs)


def _int(name: str, value: Any) -> int:
    try:
        return int(str(value), 10)
    except ValueError:
        raise ConfigurationError(f"pinpad option {name} must be an integer, not {value!r}") \
            from None
