"""A virtual customer: perceives only what a person at the pad would, and acts on what it perceives.

A :class:`VirtualCustomer` subscribes to a simulated pad's customer-perceivable events (what it
says, shows, the tones it plays, the vibrations it makes), keeps those its senses allow (a blind
customer hears and feels but does not see; a deaf one sees and feels but does not hear), and
plays *rules*: when it perceives a matching text (or a haptic pattern, or a tone), it performs
actions on the simulators (``press 5``, ``headset in``, ``place 3 90`` on a fingerprint module),
one after another, on its own thread, as a person would after hearing an instruction.

That makes demos and end-to-end tests honest: the customer succeeds only if the guidance really
told it what to do, in words (or patterns) it can perceive::

    with VirtualCustomer(pad_sim, senses={"hear"}) as customer:
        customer.on("Key exploration", "press 5", "wait 0.3", "press enter", "press cancel")
        ...  # run the guidance; the customer reacts to the pad's speech

A rule's ``match`` is a text (found anywhere in what was perceived), a compiled regular
expression, or a callable taking the perceived :class:`Perception`.  Rules fire once unless
``repeat=True``; each action is a control line for the pad simulator, ``fingerprint: LINE`` for
the fingerprint simulator, ``wait SECONDS``, or a callable (called when the moment comes; it
may return an action line, or a list of them, to do then).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Pattern

from protocol.errors import ConfigurationError
from protocol.tpp.display import fits, join_words, read_page

__all__ = ["VirtualCustomer", "Observer", "Perception", "Rule", "SENSES"]

#: the senses a customer may have: speech and tones are heard, text seen, vibration felt
SENSES = frozenset({"hear", "see", "feel"})

_SENSE_OF = {"say": "hear", "tone": "hear", "display": "see", "haptic": "feel"}


def _senses(senses: Iterable[str]) -> frozenset[str]:
    senses = frozenset(senses)
    if not senses or senses - SENSES:
        raise ConfigurationError(f"senses are a non-empty subset of {sorted(SENSES)}, "
                                 f"not {sorted(senses)}")
    return senses


@dataclass(frozen=True, slots=True)
class Perception:
    """One thing the customer perceived: ``sense`` ("hear", "see", "feel"), ``kind`` (the
    simulator event: say, tone, display, haptic), ``text`` (words, a tone name or a haptic
    pattern written ``"60,60,60"``), ``at`` (monotonic seconds), ``event`` (the raw event)."""

    sense: str
    kind: str
    text: str
    at: float
    event: dict[str, Any] = field(repr=False, compare=False)


Match = "str | Pattern[str] | Callable[[Perception], bool]"
Action = "str | Callable[[], object]"


@dataclass(slots=True)
class Rule:
    match: Any
    actions: tuple[Any, ...]
    repeat: bool = False
    senses: frozenset[str] | None = None
    fired: int = 0

    def matches(self, p: Perception) -> bool:
        if self.senses is not None and p.sense not in self.senses:
            return False
        if callable(self.match) and not isinstance(self.match, (str, re.Pattern)):
            return bool(self.match(p))
        if isinstance(self.match, re.Pattern):
            return self.match.search(p.text) is not None
        return str(self.match) in p.text


class VirtualCustomer:
    """A simulated person at the pad (see the module doc).

    ``pad``: the pad simulator's :class:`~firmware_sim.runner.DeviceRunner`; ``fingerprint``:
    the fingerprint module's runner, if the scene has one; ``senses``: a subset of
    :data:`SENSES`; ``reaction``: seconds between perceiving and acting (and between actions);
    ``on_action``: called with each action line just before it is done (a demo's narration).
    """

    def __init__(self, pad: Any, *, fingerprint: Any = None,
                 senses: Iterable[str] = SENSES, reaction: float = 0.05,
                 on_action: Callable[[str], object] | None = None) -> None:
        senses = _senses(senses)
        self.pad = pad
        self.fingerprint = fingerprint
        self.senses = senses
        self.reaction = reaction
        self.on_action = on_action
        self.perceived: list[Perception] = []
        self.actions_done: list[str] = []
        self.errors: list[str] = []
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._work: "queue.Queue[tuple[Any, ...] | None]" = queue.Queue()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._idle = threading.Event()
        self._idle.set()
        #: what the display has shown of the text now on it (pages read so far, joined)
        self._reading = ""

    # -- rules ------------------------------------------------------------------------------
    def on(self, match: Any, *actions: Any, repeat: bool = False,
           senses: Iterable[str] | None = None) -> Rule:
        """When something matching ``match`` is perceived, do ``actions`` (in order)."""
        if not actions:
            raise ConfigurationError("a rule needs at least one action")
        for action in actions:
            if isinstance(action, str):
                self._check_action(action)
        rule = Rule(match, tuple(actions), repeat, frozenset(senses) if senses else None)
        with self._lock:
            self._rules.append(rule)
        return rule

    def _check_action(self, action: str) -> None:
        words = action.split()
        if not words:
            raise ConfigurationError("an empty action")
        if words[0] == "wait":
            try:
                float(words[1])
            except (IndexError, ValueError):
                raise ConfigurationError(f"bad action {action!r}: use `wait SECONDS`") from None
        if action.startswith("fingerprint:") and self.fingerprint is None:
            raise ConfigurationError(f"{action!r} needs a fingerprint simulator "
                                     "(VirtualCustomer(..., fingerprint=runner))")

    def do(self, *actions: Any) -> None:
        """Act now (queued after anything the customer is already doing)."""
        self._idle.clear()
        self._work.put(tuple(actions))

    # -- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> "VirtualCustomer":
        self._thread = threading.Thread(target=self._run, name="virtual-customer", daemon=True)
        self._thread.start()
        self._unsubscribe = self.pad.subscribe(self._perceive)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread is not None:
            self._work.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def wait_actions(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until ``count`` actions have been done in all; False on timeout."""
        deadline = time.monotonic() + timeout
        while len(self.actions_done) + len(self.errors) < count:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every action queued so far is done; False on timeout."""
        return self._idle.wait(timeout)

    # -- what it perceives ------------------------------------------------------------------
    def heard(self) -> list[str]:
        return [p.text for p in self.perceived if p.kind == "say"]

    def seen(self) -> list[str]:
        return [p.text for p in self.perceived if p.kind == "display"]

    def felt(self) -> list[str]:
        return [p.text for p in self.perceived if p.kind == "haptic"]

    def _perceive(self, event: dict[str, Any]) -> None:
        """Simulator thread: never blocks, never acts directly (actions go to the worker)."""
        kind = event.get("event")
        sense = _SENSE_OF.get(str(kind))
        if sense is None or sense not in self.senses:
            return
        if kind == "haptic":
            text = ",".join(str(v) for v in event.get("pattern", ()))
        elif kind == "tone":
            text = str(event.get("tone", ""))
        elif kind == "display":
            # a person reads a page as words (lines joined) and, from page 2 on, as the
            # continuation of the pages before it
            words, page, _pages = read_page(str(event.get("text", "")))
            self._reading = words if page == 1 else join_words(self._reading, words)
            text = self._reading
        else:
            text = str(event.get("text", ""))
        p = Perception(sense, str(kind), text, time.monotonic(), event)
        with self._lock:
            self.perceived.append(p)
            due = []
            for rule in list(self._rules):
                if rule.matches(p):
                    rule.fired += 1
                    due.append(rule.actions)
                    if not rule.repeat:
                        self._rules.remove(rule)
                    break  # one rule per perception: the first that matches
        for actions in due:
            self._idle.clear()
            self._work.put(actions)

    def _run(self) -> None:
        while True:
            actions = self._work.get()
            if actions is None:
                self._idle.set()
                return
            for action in actions:
                time.sleep(self.reaction)
                self._act(action)
            if self._work.empty():
                self._idle.set()

    def _act(self, action: Any) -> None:
        if callable(action):
            # a decision made when the moment comes: it may return the action line(s) to do
            chosen = action()
            if chosen is None:
                self.actions_done.append(getattr(action, "__name__", "callable"))
            for line in [chosen] if isinstance(chosen, str) else (chosen or ()):
                self._act(line)
            return
        words = action.split()
        if words[0] == "wait":
            time.sleep(float(words[1]))
            return
        if action.startswith("fingerprint:"):
            target, line = self.fingerprint, action.split(":", 1)[1].strip()
        else:
            target, line = self.pad, action
        if self.on_action is not None:
            self.on_action(action)
        reply = target.command(line)
        self.actions_done.append(action)
        if not reply.get("ok", False):
            self.errors.append(f"{action}: {reply.get('error')}")



# -- observers: what a customer does not perceive, seen by someone who does ------------------------
class Observer:
    """Someone standing beside the customer with the senses the customer lacks (a hearing
    bystander next to a deaf customer, a sighted one next to a blind customer), recording every
    customer-perceivable event of the pad raw, as it happened.

    A profile is proven twice: by what its customer perceives (a :class:`VirtualCustomer` with
    that profile's senses acts only on it) and by this observer, which fails the test on what
    must not reach anyone: :meth:`sounds` for a deaf customer (any speech or tone at all),
    :meth:`overflowing` for a low-vision one (text beyond the display), :meth:`private_before`
    for a blind one (private words on the public speaker before the headset was offered).
    ``Observer.beside(customer)`` has exactly the senses ``customer`` lacks (all of them beside
    a customer who has every sense)."""

    def __init__(self, pad: Any, senses: Iterable[str] = SENSES) -> None:
        senses = _senses(senses)
        self.pad = pad
        self.senses = senses
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None

    @classmethod
    def beside(cls, customer: "VirtualCustomer") -> "Observer":
        return cls(customer.pad, (SENSES - customer.senses) or SENSES)

    def __enter__(self) -> "Observer":
        self._unsubscribe = self.pad.subscribe(self._record)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _record(self, event: dict[str, Any]) -> None:
        sense = _SENSE_OF.get(str(event.get("event")))
        if sense is not None and sense in self.senses:
            with self._lock:
                self.events.append(dict(event))

    def _of(self, *kinds: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e.get("event") in kinds]

    def sounds(self) -> list[dict[str, Any]]:
        """Every utterance and tone, on the speaker or in the headset (a deaf customer's
        session must have none)."""
        return self._of("say", "tone")

    def public_sounds(self) -> list[dict[str, Any]]:
        """What a bystander hears: speech and tones on the public speaker."""
        return [e for e in self.sounds() if e.get("channel") != "headset"]

    def overflowing(self, columns: int, rows: int) -> list[dict[str, Any]]:
        """Display texts that do not fit a ``columns`` x ``rows`` display in their type size
        (TPP SPEC 6.7: half the cells a line in large type, two cells a Chinese character)."""
        return [e for e in self._of("display")
                if not fits(str(e.get("text", "")), columns, rows, bool(e.get("large")))]

    def private_before(self, marker: "Callable[[dict[str, Any]], bool]") -> list[dict[str, Any]]:
        """Speech on the public speaker before the first event ``marker`` accepts (the headset
        offer): for a customer whose every word is private, that is a leak."""
        out = []
        for e in self._of("say", "display", "tone", "haptic"):
            if marker(e):
                return out
            if e.get("event") == "say" and e.get("channel") != "headset":
                out.append(e)
        return out
