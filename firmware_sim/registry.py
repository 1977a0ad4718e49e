"""Device kinds (lazy, by module name) and the process-wide table of named runners.

A kind maps to a module that exposes ``create(**options: str) -> SimulatedDevice`` and
``CLI_OPTIONS`` (flags ``tactile sim KIND`` adds).  Modules are imported only when a kind is
used, so ``tactile list`` does not pay for numpy and the image renderer.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any

from firmware_sim.base import SimulatedDevice
from protocol.errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from firmware_sim.runner import DeviceRunner

__all__ = ["kinds", "register_kind", "kind_module", "create_device", "cli_options",
           "register_runner", "unregister_runner", "lookup_runner", "runner_names"]

_KINDS: dict[str, str] = {
    "fingerprint": "firmware_sim.fingerprint",
    "pinpad": "firmware_sim.pinpad",
}
_runners: dict[str, "DeviceRunner"] = {}
_lock = threading.Lock()


def kinds() -> list[str]:
    """Known device kinds, sorted."""
    return sorted(_KINDS)


def register_kind(kind: str, module: str) -> None:
    """Add (or re-point) a device kind: ``module`` is imported when the kind is first used."""
    if not kind or not kind.replace("-", "").replace("_", "").isalnum():
        raise ConfigurationError(f"a device kind is a short name such as 'pinpad', not {kind!r}")
    _KINDS[kind] = module


def kind_module(kind: str) -> ModuleType:
    """Import and return the module of ``kind``."""
    try:
        name = _KINDS[kind]
    except KeyError:
        raise ConfigurationError(
            f"unknown simulator kind {kind!r}; known kinds: {', '.join(kinds())}") from None
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise ConfigurationError(
            f"the {kind} simulator ({name}) cannot be loaded: {exc}. Check that the package is "
            "installed completely (pip install -e .)") from exc
    if not callable(getattr(module, "create", None)):
        raise ConfigurationError(f"the {kind} simulator module {name} has no create() function")
    return module


def create_device(kind: str, **options: str) -> SimulatedDevice:
    """A new model of ``kind`` built from string options (as in a URL query or CLI flags)."""
    device = kind_module(kind).create(**options)
    if not isinstance(device, SimulatedDevice):
        raise ConfigurationError(f"the {kind} simulator's create() returned "
                                 f"{type(device).__name__}, not a SimulatedDevice")
    return device


def cli_options(kind: str) -> list[dict[str, Any]]:
    """The ``CLI_OPTIONS`` list of ``kind`` (flags for ``tactile sim KIND``)."""
    return list(getattr(kind_module(kind), "CLI_OPTIONS", []))


def register_runner(name: str, runner: "DeviceRunner") -> None:
    """Make ``runner`` reachable as ``sim://KIND?name=NAME`` in this process.

    The entry goes away when the runner stops, or with :func:`unregister_runner`.
    """
    if not name or any(c in name for c in "&?#=/ "):
        raise ConfigurationError(f"a simulator name must be non-empty and URL-safe, not {name!r}")
    with _lock:
        existing = _runners.get(name)
        if existing is not None and existing is not runner and not existing.stopped:
            raise ConfigurationError(f"a simulator named {name!r} is already registered "
                                     f"({existing!r}); choose another name")
        _runners[name] = runner


def unregister_runner(name: str) -> None:
    """Forget ``name`` (no error if unknown)."""
    with _lock:
        _runners.pop(name, None)


def lookup_runner(name: str) -> "DeviceRunner":
    """The running simulator registered as ``name``; ConfigurationError if there is none."""
    with _lock:
        runner = _runners.get(name)
        known = sorted(n for n, r in _runners.items() if not r.stopped)
    if runner is None or runner.stopped:
        hint = f"running simulators: {', '.join(known)}" if known else "no simulator is running"
        raise ConfigurationError(f"no running simulator is named {name!r} in this process "
                                 f"({hint}). sim://KIND?name=N only reaches simulators started "
                                 "in the same process, e.g. by the pytest fixtures")
    return runner


def runner_names() -> list[str]:
    """Names of the registered, running simulators."""
    with _lock:
        return sorted(n for n, r in _runners.items() if not r.stopped)


def _forget_runner(runner: "DeviceRunner") -> None:
    """Called by DeviceRunner.stop(): drop every name pointing at it."""
    with _lock:
        for name in [n for n, r in _runners.items() if r is runner]:
            del _runners[name]
