"""Test helper for guided PIN entry (tests/guidance/test_entry*.py): a simulated pad on an
injected clock, a Guide on it, and steps that leave no race between the customer and the host.

The pad's clock advances only when the test says so, so its speech ends, its time limits warn
and expire when the test decides; every step ends with a *sync*: one request round trip to the
pad (it answers only after every event it sent before) and then every event the guidance has
not yet seen is taken and reacted to (``GuidedPinEntry.next_event(0)``).  The host's reactions
(its prompts) thus happen before the customer's next key, in the same order on every run, which
makes the whole transcript a function of the keys pressed and the time passed.

Free text the host speaks (the instructions before the entry, the result after it) is listened
to the end at once: the clock jumps past each such utterance as it starts.
"""

from __future__ import annotations


from protocol.tpp.display import read_pages

from typing import Any

from drivers.counter import CounterConfig
from drivers.guidance import Guide, profile as guidance_profile
from drivers.pinpad import TactilePinPad
from pinpad_rig import new_runner
from fake_clock import FakeClock

#: the simulator events a customer perceives (hear, see, feel)
PERCEIVED = ("say", "say-stopped", "display", "tone", "haptic", "audio")


class EntryRig:
    """One simulated pad (fresh, seeded) and one Guide; close() releases everything."""

    def __init__(self, *, lang: str = "en", profile: Any = "standard",
                 layout: str = "telephone", listen_to_host_text: bool = True) -> None:
        self.clock = FakeClock()
        self.runner = new_runner(layout, clock=self.clock, start=False, rate_limit="10000")
        link = self.runner.loopback()      # attached before power-on: the clock stands still
        self.runner.start()
        self.perceived: list[dict[str, Any]] = []
        self.listen_to_host_text = listen_to_host_text
        self._reading = False
        self._unsubscribe = self.runner.subscribe(self._on_event)
        try:
            self.pad = TactilePinPad.open(link)
        except BaseException:
            self._unsubscribe()
            self.runner.stop()
            raise
        self.feed: list[str] = []
        # the headset offer and the elderly repeat wait real seconds for a key nobody presses
        # here: short ones, so that every run takes the same path (tests/guidance/
        # test_perception.py has customers who answer the offer)
        quick = guidance_profile(profile)
        quick = quick.adjust(headset_wait=min(quick.headset_wait, 0.2),
                             repeat_after=min(quick.repeat_after, 0.3))
        self.guide = Guide(self.pad, lang=lang, profile=quick, teller=self.feed.append,
                           counter=CounterConfig())
        self.entry: Any = None
        self.events: list[Any] = []

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("event") in PERCEIVED:
            self.perceived.append(dict(event))
        if self._reading and event.get("event") == "display":
            # a customer who reads the instructions, then presses Enter to start
            self._reading = False
            self.runner.command("press enter")
        if self.listen_to_host_text and event.get("event") == "say" and \
                event.get("source") == "host":
            # the customer listens to the host's words to their end: jump past them
            self.clock.advance(float(event["duration"]) + 0.01)
            self.runner.wake()

    # -- the entry ---------------------------------------------------------------------------
    def start(self, change: bool = False, **options: Any) -> Any:
        options.setdefault("pan", "4111111111111111")
        make = self.guide.pin_change if change else self.guide.pin_entry
        self.entry = make(**options)
        # display-only instructions end with "press Enter to start"
        self._reading = self.entry.instructions and self.entry.display_only
        self.entry.__enter__()
        self._reading = False
        self.sync()
        return self.entry

    def sync(self) -> None:
        """Every event the pad sent so far has reached the guidance and been reacted to."""
        if self.entry is None or not self.entry.running:
            return
        self.pad.status()          # a round trip: the answer comes after every earlier event
        while True:
            event = self.entry.next_event(0)
            if event is None:
                return
            self.events.append(event)

    def press(self, key: str) -> None:
        reply = self.runner.command(f"press {key}")
        assert reply["ok"], reply
        self.sync()

    def wait(self, seconds: float) -> None:
        """``seconds`` pass on the pad's clock (its speech, warnings and limits run)."""
        self.clock.advance(seconds)
        reply = self.runner.command("status")   # runs the pad's timers now, under its lock
        assert reply["ok"], reply
        self.sync()

    def step(self, key: str, dt: float = 5.0) -> None:
        self.press(key)
        self.wait(dt)

    def finish(self) -> None:
        """End the entry (cancel if it still runs) and let the closing words play."""
        if self.entry is None:
            return
        if self.entry.running:
            self.press("cancel")
        self.wait(10.0)
        self.entry.__exit__(None, None, None)

    # -- views ---------------------------------------------------------------------------------
    def said(self) -> list[str]:
        return [e["text"] for e in self.perceived if e["event"] == "say"]

    def shown(self) -> list[str]:
        """What the display showed, as read (pages joined: see protocol.tpp.display)."""
        return read_pages([e["text"] for e in self.perceived if e["event"] == "display"])

    def felt(self) -> list[tuple[int, ...]]:
        return [tuple(e["pattern"]) for e in self.perceived if e["event"] == "haptic"]

    def tones(self) -> list[str]:
        return [e["tone"] for e in self.perceived if e["event"] == "tone"]

    def close(self) -> None:
        try:
            if self.entry is not None and self.entry.running:
                self.entry.__exit__(KeyboardInterrupt, None, None)   # cancels it
            self.pad.close()
        finally:
            self._unsubscribe()
            self.runner.stop()

    def __enter__(self) -> "EntryRig":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
