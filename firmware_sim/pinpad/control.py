"""Control commands of the simulated pad (stdin lines / ``runner.command``) and scripted customers.

Commands (the runner itself handles ``power-cycle``, ``unplug``, ``replug`` and ``fault ...``):

``press KEY [KEY ...]``      press keys: digits 0-9 or XFS names (zero..nine, enter, cancel,
                             clear, backspace, help); ``press 1234`` presses 1, 2, 3, 4
``headset in|out``           plug / unplug the 3.5 mm headset (private audio)
``tamper``                   fire the tamper switch: PIN and keys erased, pad locked (persisted)
``service-reset``            vendor depot re-initialisation after tamper: test keys reloaded
``script L1; L2; ...``       a scripted customer: the lines are played one every 0.15 s of the
                             pad's clock while the pad is in an entry mode (pin, pin-change,
                             explore), starting 0.15 s after it enters one (or now, if it is in
                             one); a line is any command above, or ``wait SECONDS``
``script clear``             drop the queued script lines
``status``                   mode, headset, volume, rate, digit count (never digits), faults ...
``transcript``               every utterance so far (text, lang, rate, volume, channel, duration)
``pad-fault dead-key KEY``   KEY no longer registers (a broken key switch)
``pad-fault key-stuck KEY``  KEY sticks down at its next press: that press registers, then the
                             key gives no new press until the fault is cleared
``pad-fault key-bounce KEY [MS]``  KEY's contact closes a second time MS milliseconds
                             (default 5) after every press (contact bounce); the pad's key
                             scanner debounces it (TPP KEY_DEBOUNCE, 50 ms), so only a bounce
                             of 50 ms or slower reaches the host as a second press
``pad-fault speech-fail``    the speech unit fails: Speak is refused, prompts fall back to display
``pad-fault no-ack``         the pad stops acknowledging host frames (host retransmits, times out)
``pad-fault no-reply``       the pad acknowledges requests but never answers them
``pad-fault clear``          end every pad fault
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from protocol.errors import ConfigurationError
from protocol.layout import key_name

__all__ = ["ScriptPlayer", "PadFaults", "SCRIPT_STEP", "parse_keys", "split_script"]

#: seconds of the pad's clock between two scripted lines
SCRIPT_STEP = 0.15


def parse_keys(words: list[str]) -> list[str]:
    """``["1", "2"]``, ``["12"]`` or ``["enter"]`` -> XFS key names (ConfigurationError)."""
    if not words:
        raise ConfigurationError("press needs a key: a digit 0-9 or one of zero..nine, enter, "
                                 "cancel, clear, backspace, help")
    keys: list[str] = []
    for word in words:
        if word.isdigit() and len(word) > 1:
            keys.extend(key_name(c) for c in word)
            continue
        try:
            keys.append(key_name(word))
        except ConfigurationError:
            # never echo digits: a mistyped line may hold what someone meant to key in
            shown = "".join("*" if c.isdigit() else c for c in word)
            raise ConfigurationError(
                f"unknown key {shown!r} (digits masked): use a digit 0-9 or one of zero..nine, "
                "enter, cancel, clear, backspace, help") from None
    return keys


def split_script(text: str) -> list[str]:
    lines = [part.strip() for part in text.split(";")]
    lines = [line for line in lines if line]
    if not lines:
        raise ConfigurationError("script needs at least one line: script press 1; press enter")
    for line in lines:
        head = line.split()[0].lower()
        if head == "script":
            raise ConfigurationError("a script line cannot itself be a script")
        if head == "wait":
            _wait_seconds(line)
    return lines


def _wait_seconds(line: str) -> float:
    words = line.split()
    try:
        seconds = float(words[1]) if len(words) == 2 else -1.0
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise ConfigurationError(f"bad script line {line!r}: use `wait SECONDS` (0..3600)")
    return seconds


@dataclass(slots=True)
class ScriptPlayer:
    """Queued customer actions, released one per :data:`SCRIPT_STEP` while the pad is in an
    entry mode."""

    lines: deque[str] = field(default_factory=deque)
    next_at: float | None = None

    def add(self, lines: list[str], now: float, in_entry: bool) -> None:
        self.lines.extend(lines)
        if in_entry and self.next_at is None:
            self.next_at = now + SCRIPT_STEP

    def clear(self) -> None:
        self.lines.clear()
        self.next_at = None

    def mode_changed(self, now: float, in_entry: bool) -> None:
        """Pause outside entry modes; (re)start 0.15 s after entering one."""
        if in_entry and self.lines:
            self.next_at = now + SCRIPT_STEP
        elif not in_entry:
            self.next_at = None

    def due(self, now: float) -> str | None:
        """The next line if it is due (and schedule the one after), else None."""
        if self.next_at is None or now < self.next_at or not self.lines:
            return None
        line = self.lines.popleft()
        step = _wait_seconds(line) if line.split()[0].lower() == "wait" else SCRIPT_STEP
        self.next_at = (now + step) if self.lines else None
        return line


@dataclass(slots=True)
class PadFaults:
    dead_keys: set[str] = field(default_factory=set)
    #: stuck key -> True once it went down (and stayed down)
    stuck_keys: dict[str, bool] = field(default_factory=dict)
    #: bouncing key -> seconds after each press at which its contact closes again
    bouncing_keys: dict[str, float] = field(default_factory=dict)
    speech_fail: bool = False
    no_ack: bool = False
    no_reply: bool = False

    def active(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.dead_keys:
            out["dead-key"] = sorted(self.dead_keys)
        if self.stuck_keys:
            out["key-stuck"] = sorted(self.stuck_keys)
        if self.bouncing_keys:
            out["key-bounce"] = sorted(self.bouncing_keys)
        for name in ("speech_fail", "no_ack", "no_reply"):
            if getattr(self, name):
                out[name.replace("_", "-")] = True
        return out
