"""The simulated tactile PIN pad as a :class:`firmware_sim.base.SimulatedDevice`.

It joins the protocol-independent :class:`~firmware_sim.pinpad.core.PadCore` to the TPP
protocol in the DEVICE role (:mod:`firmware_sim.pinpad.wire`) and to the control commands
(:mod:`firmware_sim.pinpad.control`).  It does no I/O and starts no threads: the runner feeds it
bytes, ticks and commands.

stdout events (``self.event``), one JSON object each: ``power-on``, ``mode``, ``say``,
``say-stopped``, ``say-failed``, ``tone``, ``haptic``, ``display``, ``audio`` (headset/speaker
switch), ``tamper``, ``script`` (a scripted line played; pressed digits shown as ``*``), and with
``trace="1"`` one ``trace`` line per frame each way.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any, Callable

from protocol.errors import ConfigurationError
from protocol.layout import DIGIT_KEY_NAMES, get_layout
from protocol.tpp.codes import KEY_DEBOUNCE
from protocol.tpp.display import DisplaySize

from firmware_sim.base import SimulatedDevice
from firmware_sim.pinpad.control import PadFaults, ScriptPlayer, parse_keys, split_script
from firmware_sim.pinpad.core import DEFAULT_RATE_LIMIT, Mode, PadCore
from firmware_sim.pinpad.keys import Keystore
from firmware_sim.pinpad.state import StateStore
from firmware_sim.pinpad.wire import DISPLAY_COLUMNS, DISPLAY_ROWS, PadWire

__all__ = ["PinPadDevice", "DEFAULT_SERIAL", "VENDOR", "MODEL", "FIRMWARE", "BAUD_RATES"]

DEFAULT_SERIAL = "TPPSIM-0001"
VENDOR = "tactile project"
MODEL = "TPP-SIM"
FIRMWARE = "1.0.0"

BAUD_RATES = (9600, 19200, 38400, 57600, 115200)
#: milliseconds after a press at which a bouncing key's contact closes again (pad-fault
#: key-bounce KEY without MS): typical switch chatter, well inside the pad's debounce
DEFAULT_BOUNCE_MS = 5.0
_ENTRY_MODES = (Mode.PIN, Mode.PIN_CHANGE, Mode.EXPLORE)


class PinPadDevice(SimulatedDevice):
    """A tactile PIN pad speaking TPP byte for byte.

    ``layout``: telephone | calculator | pos; ``state``: path of the JSON state file (None keeps
    state in memory); ``seed``: makes the random source (PIN block fill, session key)
    reproducible for tests - without it the pad uses ``os.urandom``; ``trace``: one decoded
    ``trace`` event per frame; ``rate_limit``: PIN entries allowed per hour; ``wall_clock``: the
    time source of the persisted rate-limit history (the runner's clock is monotonic and starts
    again at every run); ``baud``: the pad's UART speed.
    """

    kind = "pinpad"

    def __init__(self, *, layout: str = "telephone", state: str | None = None,
                 serial: str = DEFAULT_SERIAL, seed: int | None = None, trace: bool = False,
                 rate_limit: int = DEFAULT_RATE_LIMIT, baud: int = 115200,
                 wall_clock: Callable[[], float] = time.time, time_scale: float = 1.0) -> None:
        super().__init__()
        if not 1.0 <= time_scale <= 1000.0:
            raise ConfigurationError("time_scale must be 1..1000 (how many times faster than "
                                     "the runner's clock the pad's own time runs)")
        #: the pad's customer-facing time (time limits, warnings, speech, held PIN, scripted
        #: customer, key bounce) runs this many times faster than the runner's clock; the
        #: link layer (ACKs, retransmissions, SPEC 4) keeps the runner's time, so a host
        #: sees normal link timing and a 10 s entry limit passes in 10 / time_scale s
        self.time_scale = float(time_scale)
        self._origin: float | None = None
        if baud not in BAUD_RATES:
            raise ConfigurationError(
                f"baud must be one of {', '.join(map(str, BAUD_RATES))} (TPP UART speeds)")
        #: the UART speed (the runner's --wire-time models it; the pad times its ACKs by it)
        self.baudrate = baud
        self.layout = get_layout(layout)
        if not 1 <= rate_limit <= 10_000:
            raise ConfigurationError("rate_limit (PIN entries per hour) must be 1..10000")
        if not serial or len(serial) > 32 or not serial.isprintable():
            raise ConfigurationError("serial must be 1..32 printable characters")
        self.serial = serial
        self.trace = trace
        self.store = StateStore(state)
        if seed is None:
            self._random_bytes: Callable[[int], bytes] = os.urandom
        else:
            self._random_bytes = random.Random(seed).randbytes
        self.keystore = Keystore(self.store, self._random_bytes)
        self.faults = PadFaults()
        self.script = ScriptPlayer()
        self.core = PadCore(layout=self.layout, store=self.store, keystore=self.keystore,
                            emit=self._customer_event, notify=self._notice, now=self.pad_now,
                            wall_now=wall_clock, random_bytes=self._random_bytes,
                            rate_limit=rate_limit,
                            display=DisplaySize(DISPLAY_COLUMNS, DISPLAY_ROWS))
        self.wire = PadWire(self)
        #: (when, key): contact closures of bouncing keys still to come (pad-fault key-bounce)
        self._bounces: list[tuple[float, str]] = []

    # -- the pad's own time --------------------------------------------------------------
    def pad_now(self) -> float:
        """The pad's customer-facing clock (the runner's, sped up by ``time_scale``)."""
        return self._to_pad(self.now())

    def _to_pad(self, t: float) -> float:
        if self.time_scale == 1.0:
            return t
        if self._origin is None:
            self._origin = t
        return self._origin + (t - self._origin) * self.time_scale

    def _to_runner(self, t: float | None) -> float | None:
        if t is None or self.time_scale == 1.0 or self._origin is None:
            return t
        return self._origin + (t - self._origin) / self.time_scale

    # -- event plumbing ------------------------------------------------------------------
    def _customer_event(self, name: str, **fields: Any) -> None:
        self.event(name, **fields)
        if name == "mode":
            self.script.mode_changed(self.pad_now(), self.core.mode in _ENTRY_MODES)

    def _notice(self, kind: str, **fields: Any) -> None:
        self.wire.notice(kind, fields)

    # -- runner interface ------------------------------------------------------------------
    def power_on(self) -> None:
        self.wire.reset()
        self.core.power_on()

    def receive(self, data: bytes) -> None:
        if self.core.mode is Mode.OFF:
            return
        self.wire.receive(data)

    def tick(self, now: float) -> float | None:
        if not self.plugged and self.core.mode is not Mode.OFF:
            # the pad is powered through its host link: unplugged = no power, RAM lost
            self.core.power_off()
        if self.core.mode is Mode.OFF:
            self._bounces.clear()
            return None
        wire_now, now = now, self._to_pad(now)
        due = sorted(b for b in self._bounces if b[0] <= now)
        if due:
            self._bounces = [b for b in self._bounces if b[0] > now]
            for at, name in due:
                self.core.contact(name, at)
        while True:
            line = self.script.due(now)
            if line is None:
                break
            try:
                self._run(line, scripted=True)
            except ConfigurationError as exc:
                self.event("script", line=_safe_line(line), error=str(exc))
            else:
                self.event("script", line=_safe_line(line))
        self.core.tick(now)
        wire_due = self.wire.tick(wire_now)
        bounce_due = min(b[0] for b in self._bounces) if self._bounces else None
        times = [self._to_runner(t) for t in (self.core.next_deadline(), self.script.next_at,
                                              bounce_due) if t is not None]
        if wire_due is not None:
            times.append(wire_due)
        return min(times) if times else None

    def command(self, line: str) -> dict[str, Any]:
        return self._run(line, scripted=False)

    def close(self) -> None:
        self.store.save()

    # -- commands --------------------------------------------------------------------------
    def _run(self, line: str, *, scripted: bool) -> dict[str, Any]:
        words = line.split()
        if not words:
            raise ConfigurationError("empty command")
        head = words[0].lower()
        if head == "press":
            return self._press(parse_keys(words[1:]))
        if head == "headset":
            if len(words) != 2 or words[1].lower() not in ("in", "out"):
                raise ConfigurationError("usage: headset in | headset out")
            self._require_power()
            self.core.set_headset(words[1].lower() == "in")
            return {"ok": True, "command": "headset", "headset": self.core.audio.headset}
        if head == "tamper":
            self._require_power()
            self.core.tamper()
            return {"ok": True, "command": "tamper", "mode": self.core.mode.value}
        if head == "service-reset":
            self._require_power()
            self.core.service_reset()
            return {"ok": True, "command": "service-reset", "mode": self.core.mode.value}
        if head == "wait" and scripted:
            return {"ok": True, "command": "wait"}
        if head == "script":
            if scripted:
                raise ConfigurationError("a script line cannot itself be a script")
            rest = line.strip()[len(words[0]):].strip()
            if rest.lower() == "clear":
                self.script.clear()
                return {"ok": True, "command": "script", "queued": 0}
            lines = split_script(rest)
            for scripted_line in lines:
                self._check_line(scripted_line)  # a typo is refused now, not when it plays
            self.script.add(lines, self.pad_now(), self.core.mode in _ENTRY_MODES)
            return {"ok": True, "command": "script", "queued": len(self.script.lines)}
        if head == "status":
            return {"ok": True, "command": "status", **self.core.status(),
                    "layout": self.layout.name, "serial": self.serial,
                    "faults": self.faults.active(), "script_queued": len(self.script.lines),
                    "keys": self.keystore.slot_info()}
        if head == "transcript":
            return {"ok": True, "command": "transcript", "utterances": [
                {"text": u.text, "lang": u.lang, "rate": u.rate, "volume": u.volume,
                 "channel": u.channel, "duration": u.duration, "source": u.source,
                 "interrupted": u.interrupted} for u in self.core.audio.transcript]}
        if head == "pad-fault":
            return self._fault(words[1:])
        raise ConfigurationError(
            f"unknown pinpad command {words[0]!r}: use press KEY, headset in|out, tamper, "
            "service-reset, script LINE; LINE, status, transcript, pad-fault ... "
            "(the runner handles power-cycle, unplug, replug and fault ...)")

    def _check_line(self, line: str) -> None:
        """Refuse a script line that could never run (unknown command, bad key or argument),
        without running it.  Digits are masked in the message."""
        words = line.split()
        head = words[0].lower()
        shown = _safe_line(line)
        if head == "press":
            for name in parse_keys(words[1:]):
                if name not in self.layout:
                    raise ConfigurationError(f"bad script line {shown!r}: the "
                                             f"{self.layout.name} layout has no {name!r} key")
        elif head == "headset":
            if len(words) != 2 or words[1].lower() not in ("in", "out"):
                raise ConfigurationError(f"bad script line {shown!r}: use headset in | out")
        elif head in ("tamper", "service-reset", "status", "transcript"):
            if len(words) != 1:
                raise ConfigurationError(f"bad script line {shown!r}: {head} takes no argument")
        elif head == "pad-fault":
            if len(words) > 1:
                _apply_fault(words[1:], PadFaults())  # checked on a scratch set of faults
        elif head != "wait":  # split_script checked wait's seconds
            shown = "".join("*" if c.isdigit() else c for c in line.strip())
            raise ConfigurationError(
                f"bad script line {shown!r} (digits masked): a scripted line is press KEY..., wait SECONDS, "
                "headset in|out, tamper, service-reset, status, transcript or pad-fault ...")

    def _require_power(self) -> None:
        if self.core.mode is Mode.OFF or not self.plugged:
            raise ConfigurationError("the pad has no power (unplugged): send `replug` first")

    def _press(self, keys: list[str]) -> dict[str, Any]:
        self._require_power()
        for name in keys:
            if name not in self.layout:
                raise ConfigurationError(f"the {self.layout.name} layout has no {name!r} key")
        for name in keys:
            if name in self.faults.dead_keys:
                continue
            if name in self.faults.stuck_keys:
                if self.faults.stuck_keys[name]:
                    continue  # held down: no new press edge
                self.faults.stuck_keys[name] = True
            at = self.core.press(name)
            bounce = self.faults.bouncing_keys.get(name)
            if bounce is not None and at is not None:
                # the contact chatters open and closed again ``bounce`` s after the press: the
                # pad's key scanner sees a second closure (debounced unless it is slow)
                self._bounces.append((at + bounce, name))
        # the reply never names digits pressed during PIN entry (it is logged like an event)
        shown = [("digit" if (k in DIGIT_KEY_NAMES and self.core.mode is not Mode.EXPLORE)
                  else k) for k in keys]
        return {"ok": True, "command": "press", "keys": shown, "mode": self.core.mode.value}

    def _fault(self, words: list[str]) -> dict[str, Any]:
        if not words:
            return {"ok": True, "command": "pad-fault", "active": self.faults.active()}
        f = self.faults = _apply_fault(words, self.faults)
        self.core.audio.failed = f.speech_fail
        reply: dict[str, Any] = {"ok": True, "command": "pad-fault", "active": f.active()}
        if f.bouncing_keys:
            reply["bounce_ms"] = {k: round(v * 1000, 3) for k, v in sorted(f.bouncing_keys.items())}
        return reply


def _apply_fault(words: list[str], f: PadFaults) -> PadFaults:
    """``pad-fault WORDS`` applied to ``f`` (the same object, or a new one for clear)."""
    usage = ("pad-fault dead-key KEY | key-stuck KEY | key-bounce KEY [MS] | speech-fail | "
             "no-ack | no-reply | clear")
    name = words[0].lower() if words else ""
    if name == "key-bounce" and len(words) in (2, 3):
        key = parse_keys(words[1:2])[0]
        ms = _bounce_ms(words[2]) if len(words) == 3 else DEFAULT_BOUNCE_MS
        f.bouncing_keys[key] = ms / 1000.0
    elif name in ("dead-key", "key-bounce", "key-stuck"):
        if len(words) != 2:
            raise ConfigurationError(f"usage: pad-fault {name} KEY"
                                     + (" [MS]" if name == "key-bounce" else ""))
        key = parse_keys(words[1:])[0]
        if name == "key-stuck":
            f.stuck_keys.setdefault(key, False)
        else:
            f.dead_keys.add(key)
    elif name in ("speech-fail", "no-ack", "no-reply") and len(words) == 1:
        setattr(f, name.replace("-", "_"), True)
    elif name == "clear" and len(words) == 1:
        f = PadFaults()
    else:
        raise ConfigurationError(f"unknown pad fault {' '.join(words)!r}: use {usage}")
    return f


def _bounce_ms(text: str) -> float:
    try:
        ms = float(text)
    except ValueError:
        ms = -1.0
    if not 1 <= ms <= 1000:
        raise ConfigurationError(f"the bounce interval is 1..1000 milliseconds, not {text!r} "
                                 f"(the pad debounces {KEY_DEBOUNCE * 1000:g} ms)")
    return ms


def _safe_line(line: str) -> str:
    """A script line for the event stream: digits pressed are not echoed."""
    words = line.split()
    if words and words[0].lower() == "press":
        return "press " + " ".join("*" if any(c.isdigit() for c in w) or w.lower() in
                                   DIGIT_KEY_NAMES else w for w in words[1:])
    return line
