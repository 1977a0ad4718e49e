"""Test helpers for fingerprint coaching and terms reading (tests/guidance/test_coaching*.py).

A counter: a simulated PIN pad (to carry speech, display and haptics) and a simulated
fingerprint module, a :class:`~drivers.guidance.Guide` on them, and a virtual customer who
follows the coaching: "place" -> ``place FINGER QUALITY``, "lift" -> ``lift``, "retry" ->
lift (wipe the window if asked: ``defect clear``) and place again.

The pad runs on a fast clock (``speed`` times real time), so its speech of a long text ends in
a fraction of the real time it models; the fingerprint module runs on real time.
"""

from __future__ import annotations

from protocol.tpp.display import join_words, read_page, read_pages

import itertools
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from drivers.fingerprint import FingerprintReader
from drivers.guidance import Guide
from drivers.pinpad import TactilePinPad
from firmware_sim import registry, simulate
from firmware_sim.runner import DeviceRunner

_names = itertools.count(1)


def fast_clock(speed: float) -> Callable[[], float]:
    start = time.monotonic()
    return lambda: start + (time.monotonic() - start) * speed


@dataclass
class Counter:
    pad_sim: DeviceRunner
    fp_sim: DeviceRunner
    pad: TactilePinPad
    reader: FingerprintReader
    guide: Guide
    pad_events: list[dict[str, Any]] = field(default_factory=list)

    def said(self) -> list[str]:
        """Every text the pad started to say (host speech and its own prompts)."""
        return [e["text"] for e in self.pad_events if e.get("event") == "say"]

    def shown(self) -> list[str]:
        """What the display showed, as read: each page's words after the pages before it."""
        return read_pages([e["text"] for e in self.pad_events if e.get("event") == "display"])

    def felt(self) -> list[list[int]]:
        return [e["pattern"] for e in self.pad_events if e.get("event") == "haptic"]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.pad_events if e.get("event") == name]

    def customer(self, finger: int = 3, qualities: tuple[int, ...] = (90,),
                 **options: Any) -> "FollowingCustomer":
        """A customer at this counter who follows what the pad says (or shows, for a profile
        without speech)."""
        sense = "say" if self.guide.profile.speech else "display"
        return FollowingCustomer(self.fp_sim, finger, qualities, pad_sim=self.pad_sim,
                                 sense=sense, **options)

    def on_pad(self, predicate: Callable[[dict[str, Any]], bool], command: str,
               times: int = 1) -> None:
        """When a pad event matches ``predicate`` (up to ``times`` times), run ``command`` on
        the pad simulator (``press help``): a customer reacting to what they hear or see."""
        left = [times]

        def watch(event: dict[str, Any]) -> None:
            if left[0] > 0 and predicate(event):
                left[0] -= 1
                reply = self.pad_sim.command(command)
                assert reply["ok"], reply
        self.pad_sim.subscribe(watch)


@contextmanager
def counter(lang: str = "en", profile: Any = "blind", *, model: str = "r503",
            speed: float = 100.0, reader_position: str | None = "right", layout: str = "telephone",
            reader: bool = True, **guide_options: Any) -> Iterator[Counter]:
    """A counter (see the module doc); ``reader=False``: the pad alone (terms reading)."""
    name = f"coach-pad-{next(_names)}"
    pad_sim = DeviceRunner(registry.create_device("pinpad", layout=layout, seed="7"),
                           clock=fast_clock(speed), name=name)
    pad_sim.start()
    registry.register_runner(name, pad_sim)
    # the runner sleeps up to 0.25 s between looks at its clock; on a fast clock speech would
    # end late by that much, so a ticker makes it look every 10 ms
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.01):
            pad_sim.wake()
    ticker = threading.Thread(target=tick, name=f"{name}-ticker", daemon=True)
    if speed > 1:
        ticker.start()
    try:
        events: list[dict[str, Any]] = []
        pad_sim.subscribe(events.append)
        with TactilePinPad.open(f"sim://pinpad?name={name}") as pad:
            guide = Guide(pad, lang=lang, profile=profile, reader_position=reader_position,
                          **guide_options)
            if not reader:
                yield Counter(pad_sim, None, pad, None, guide, events)  # type: ignore[arg-type]
                return
            with simulate("fingerprint", model=model, seed=7) as fp_sim, \
                    FingerprintReader.open(f"sim://fingerprint?name={fp_sim.name}") as fp:
                yield Counter(pad_sim, fp_sim, pad, fp, guide, events)
    finally:
        stop.set()
        if ticker.is_alive():
            ticker.join()
        registry.unregister_runner(name)
        pad_sim.stop()


class FollowingCustomer:
    """Follows the coaching (pass it as ``on_event`` of the Guide's fingerprint methods).

    With ``pad_sim`` the customer acts on an instruction only once it is perceived: when the
    pad starts to say it (``sense="say"``) or shows it (``sense="display"``, a deaf customer),
    as a person at the counter would; without, at once.  "place" -> ``place FINGER QUALITY``,
    "lift" -> ``lift``, "retry" -> lift, wipe the window if the remedy says so (``defect
    clear``), place again.  ``qualities``: the quality of each successive placement (the last
    repeats); ``place_on_place``: False for a customer who never places when asked (a
    timeout, or a residue retry first); ``ignore_places``: place instructions perceived but not
    followed (the customer presses Help instead); ``also``: an extra callback per step."""

    def __init__(self, sim: DeviceRunner, finger: int = 3, qualities: tuple[int, ...] = (90,),
                 *, pad_sim: DeviceRunner | None = None, sense: str = "say",
                 place_on_place: bool = True, ignore_places: int = 0,
                 also: Callable[[Any], None] | None = None) -> None:
        self.sim = sim
        self.finger = finger
        self.qualities = list(qualities)
        self.place_on_place = place_on_place
        self.ignore_places = ignore_places
        self.also = also
        self.sense = sense
        self.steps: list[Any] = []
        self.placements = 0
        self._lock = threading.RLock()
        self._perceived: list[str] = []
        self._reading = ""
        self._pending: Any = None
        self._perceives = pad_sim is not None
        if pad_sim is not None:
            pad_sim.subscribe(self._perceive)

    def place(self) -> None:
        quality = self.qualities[min(self.placements, len(self.qualities) - 1)]
        self.placements += 1
        assert self.sim.command(f"place {self.finger} {quality}")["ok"]

    def _wants(self, step: Any) -> bool:
        if step.action == "place":
            return self.place_on_place
        return step.action in ("lift", "retry")

    def _act(self, step: Any) -> None:
        self._perceived.clear()
        if step.action == "place":
            if self.ignore_places > 0:
                self.ignore_places -= 1
                self._pending = step        # still waiting to follow it
                return
            self.place()
        elif step.action == "lift":
            assert self.sim.command("lift")["ok"]
        elif step.action == "retry":
            assert self.sim.command("lift")["ok"]
            if step.reason in ("residue", "capture-failed"):
                assert self.sim.command("defect clear")["ok"]   # wipes the window
            self.place()

    def _seen(self, step: Any) -> bool:
        # acting once the instruction has begun to be heard or shown (its first page)
        return any(p and step.text.startswith(p) for p in self._perceived)

    def __call__(self, step: Any) -> None:
        with self._lock:
            self.steps.append(step)
        if self.also is not None:
            self.also(step)
        if not self._wants(step):
            return
        with self._lock:
            if not self._perceives:
                self._act(step)
            elif self._seen(step):
                self._act(step)
            else:
                self._pending = step

    def _perceive(self, event: dict[str, Any]) -> None:
        if event.get("event") != self.sense:
            return
        text = event["text"]
        if self.sense == "display":      # a page, read as words after the pages before it
            words, page, _ = read_page(text)
            self._reading = words if page == 1 else join_words(self._reading, words)
            text = self._reading
        with self._lock:
            self._perceived.append(text)
            pending = self._pending
            if pending is not None and self._seen(pending):
                self._pending = None
                self._act(pending)

    def statuses(self) -> list[str]:
        return [s.status for s in self.steps]
