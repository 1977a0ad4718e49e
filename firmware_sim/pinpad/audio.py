"""What the pad's customer hears and feels: speech, tones, haptics, display, headset jack.

The speech model records every utterance with its language, rate, volume, output channel and an
estimated duration, and honours interruption.  Duration model (documented in the README of the
simulator and used by tests): ``duration = 0.25 s + characters / (cps * rate)`` where ``cps`` is
4.5 characters per second for zh-CN (counting every non-space character) and 15 characters per
second for English (counting every character), at rate 1.0; rates run 0.5..2.0.

Private audio: while a headset is in, speech and tones go to the headset and the public speaker
is muted.  Digit keys during PIN entry never produce speech; they produce one neutral tone that
is identical for every digit (public speaker or headset) and, in private mode, the identical
haptic pulse as well (see :meth:`Audio.key_feedback`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from protocol.tpp.codes import HAPTIC_PATTERNS as _PATTERNS

__all__ = [
    "Utterance",
    "Audio",
    "SPEECH_END_REASONS",
    "SpeechUnavailable",
    "CHARS_PER_SECOND",
    "estimate_duration",
    "TONES",
    "HAPTIC_PATTERNS",
    "VOLUME_RANGE",
    "RATE_RANGE",
    "DEFAULT_VOLUME",
    "DEFAULT_RATE",
]

#: characters per second at rate 1.0 (our documented model)
CHARS_PER_SECOND: dict[str, float] = {"zh-CN": 4.5, "en": 15.0}
_LEAD_IN_S = 0.25
#: XFS4IoT Auxiliaries volume scale
VOLUME_RANGE = (1, 1000)
RATE_RANGE = (0.5, 2.0)
DEFAULT_VOLUME = 500
DEFAULT_RATE = 1.0

#: named tones: (frequency Hz, duration ms).  "key" is THE neutral key tone: every digit key
#: (and every other active key) sounds exactly this, so the tone never tells which key it was.
TONES: dict[str, tuple[int, int]] = {
    "key": (1000, 60),
    "inactive": (400, 120),
    "warning": (800, 300),
    "error": (300, 400),
    "success": (1200, 150),
    "attention": (1500, 100),
}

#: haptic pulse patterns, milliseconds on/off alternating starting with on (one home for the pad
#: and the host: protocol.tpp.codes.HAPTIC_PATTERNS, SPEC 6.7)
HAPTIC_PATTERNS: dict[str, list[int]] = {name: list(p) for name, p in _PATTERNS.items()}


class SpeechUnavailable(Exception):
    """The speech unit failed (fault injection ``fault speech-fail``)."""


def estimate_duration(text: str, lang: str, rate: float) -> float:
    """Seconds the pad needs to speak ``text`` in ``lang`` at ``rate`` (see module docstring)."""
    if lang.startswith("zh"):
        chars = sum(1 for c in text if not c.isspace())
    else:
        chars = len(text)
    cps = CHARS_PER_SECOND["zh-CN" if lang.startswith("zh") else "en"]
    return round(_LEAD_IN_S + chars / (cps * rate), 2)


@dataclass(slots=True)
class Utterance:
    """One thing the pad said (or queued to say)."""

    text: str
    lang: str
    rate: float
    volume: int
    channel: str
    duration: float
    source: str  # "prompt" | "host" | "explore"
    prompt_id: int | None = None
    interruptible: bool = True
    started: float | None = None
    interrupted: bool = False
    ident: int = 0
    #: shown only (SetFeedback speech off): never heard, not in the transcript
    silent: bool = False
    #: shown on the display, paged in step, while it is said
    caption: bool = False

    @property
    def ends(self) -> float:
        assert self.started is not None
        return self.started + self.duration


#: the transcript keeps the most recent utterances only
TRANSCRIPT_LIMIT = 2000

#: why an utterance ended (maps onto TPP SpeechEnd)
SPEECH_END_REASONS = ("completed", "key", "host", "replaced", "mode", "failed")


@dataclass(slots=True)
class Audio:
    """Speech, tones, haptics and the headset jack of one pad.

    ``emit(name, **fields)`` publishes a customer-perceivable event; ``now()`` is the injected
    clock.  ``on_speech_end(utterance, how)`` is called when an utterance ends, ``how`` one of
    :data:`SPEECH_END_REASONS`.  One utterance plays at a time; queued ones follow it.
    """

    emit: Callable[..., None]
    now: Callable[[], float]
    on_speech_end: Callable[[Utterance, str], None] = lambda u, how: None
    #: called when an utterance starts (the pad shows its caption then, in step with it)
    on_speech_start: Callable[[Utterance], None] = lambda u: None
    volume: int = DEFAULT_VOLUME
    rate: float = DEFAULT_RATE
    headset: bool = False
    beep_active: bool = True
    beep_inactive: bool = True
    #: TPP SetFeedback: the pad's own speech, tones, and named vibration patterns
    speech_on: bool = True
    tones_on: bool = True
    haptics_on: bool = False
    failed: bool = False
    transcript: list[Utterance] = field(default_factory=list)
    current: Utterance | None = None
    pending: list[Utterance] = field(default_factory=list)
    _next_id: int = 1

    # -- channel --------------------------------------------------------------------------
    @property
    def channel(self) -> str:
        return "headset" if self.headset else "speaker"

    @property
    def private(self) -> bool:
        return self.headset

    def set_headset(self, inserted: bool) -> bool:
        """Plug/unplug the headset; returns True when the state changed."""
        if inserted == self.headset:
            return False
        # whatever was playing on the old channel stops: a private prompt must not
        # continue on the public speaker when the headset is pulled out.
        self.stop("mode")
        self.headset = inserted
        self.emit("audio", channel=self.channel, private=self.private,
                  speaker="muted" if inserted else "on")
        return True

    # -- speech ---------------------------------------------------------------------------
    def say(self, text: str, lang: str, *, source: str, rate: float | None = None,
            volume: int | None = None, prompt_id: int | None = None, queue: bool = False,
            interruptible: bool = True, caption: bool = False) -> Utterance:
        """Speak ``text``: now (replacing what is being said) or, with ``queue``, after it;
        ``caption``: shown while it is said.  With speech off (SetFeedback) it is shown only,
        for as long as it would take to say."""
        silent = not self.speech_on
        if self.failed and not silent:
            raise SpeechUnavailable("the speech unit does not respond (fault injected)")
        utt = self._utterance(text, lang, source=source, rate=rate, volume=volume,
                              prompt_id=prompt_id, interruptible=interruptible)
        # the silent form (SetFeedback speech off): shown for as long as it would take to say,
        # with the same id and end, but nothing reaches the speaker or the headset
        utt.silent = silent
        utt.caption = caption or silent
        if queue and self.current is not None:
            self.pending.append(utt)
            return utt
        self.stop("replaced")
        self._start(utt, self.now())
        return utt

    def _utterance(self, text: str, lang: str, *, source: str, rate: float | None,
                   volume: int | None, prompt_id: int | None, interruptible: bool) -> Utterance:
        rate = self.rate if rate is None else rate
        volume = self.volume if volume is None else volume
        utt = Utterance(text=text, lang=lang, rate=rate, volume=volume, channel=self.channel,
                        duration=estimate_duration(text, lang, rate), source=source,
                        prompt_id=prompt_id, interruptible=interruptible, ident=self._next_id)
        self._next_id = (self._next_id % 0xFFFF) + 1
        return utt

    def failed_own_speech(self, text: str, lang: str, *, source: str,
                          prompt_id: int | None = None) -> Utterance:
        """The speech unit failed to say one of the pad's OWN utterances (a prompt, a key
        description): it gets an id from the same counter and ends "failed" at once, so the
        host hears of it (TPP SpeechEnded FAILED).  Not in the transcript: nobody heard it."""
        utt = self._utterance(text, lang, source=source, rate=None, volume=None,
                              prompt_id=prompt_id, interruptible=True)
        utt.started = self.now()
        utt.interrupted = True
        self.on_speech_end(utt, "failed")
        return utt

    def _start(self, utt: Utterance, at: float) -> None:
        utt.started = at
        utt.channel = self.channel
        self.on_speech_start(utt)
        if utt.silent:
            self.current = utt
            return
        self.transcript.append(utt)
        if len(self.transcript) > TRANSCRIPT_LIMIT:
            # a simulator that runs for days (or a 10,000-session soak) must not grow for ever
            del self.transcript[:len(self.transcript) - TRANSCRIPT_LIMIT]
        self.current = utt
        fields: dict[str, Any] = {"text": utt.text, "lang": utt.lang, "rate": utt.rate,
                                  "volume": utt.volume, "channel": utt.channel,
                                  "duration": utt.duration, "source": utt.source,
                                  "id": utt.ident}
        if utt.prompt_id is not None:
            fields["prompt"] = utt.prompt_id
        self.emit("say", **fields)

    def stop(self, how: str, *, keep_queue: bool = False) -> Utterance | None:
        """End the current utterance (``how``: key, host, replaced, mode) and drop the queue;
        with ``keep_queue`` (a key in IDLE: the customer skips one phrase, not the rest) the
        next queued utterance starts at once instead.

        A key press does not cut an utterance the host marked non-interruptible."""
        utt = self.current
        if utt is not None and how == "key" and not utt.interruptible:
            return None
        dropped: list[Utterance] = []
        if not keep_queue:
            dropped, self.pending = self.pending, []
        if utt is not None:
            self.current = None
            utt.interrupted = True
            if not utt.silent:
                self.emit("say-stopped", id=utt.ident, reason=how)
            self.on_speech_end(utt, how)
        for queued in dropped:
            self.on_speech_end(queued, how)
        if keep_queue and utt is not None and self.pending:
            self._start(self.pending.pop(0), self.now())
        return utt

    @property
    def speaking(self) -> bool:
        return self.current is not None

    def next_deadline(self) -> float | None:
        return self.current.ends if self.current is not None else None

    def tick(self, now: float) -> None:
        while self.current is not None and now >= self.current.ends:
            done = self.current
            self.current = None
            self.on_speech_end(done, "completed")
            if self.pending:
                self._start(self.pending.pop(0), done.ends)

    # -- tones and haptics ----------------------------------------------------------------
    def tone(self, name: str, *, freq: int | None = None, ms: int | None = None,
             volume: int | None = None) -> None:
        """A tone; with tones off (SetFeedback) nothing is heard and, with haptics on, the
        tone's vibration pattern is felt instead."""
        if not self.tones_on:
            if self.haptics_on and name in _TONE_HAPTICS:
                self.haptic(_TONE_HAPTICS[name])
            return
        f, d = TONES.get(name, (freq or 1000, ms or 100))
        self.emit("tone", tone=name, freq=freq or f, ms=ms or d, channel=self.channel,
                  volume=volume or self.volume)

    def haptic(self, name: str, pattern: list[int] | None = None) -> None:
        self.emit("haptic", pattern=list(pattern if pattern is not None else HAPTIC_PATTERNS[name]),
                  kind=name)

    def cue(self, tone: str, haptic: str) -> None:
        """The end of a step or a warning: its tone, and its vibration pattern when haptics
        are on (SetFeedback) or the headset is in (private mode)."""
        if self.tones_on:
            self.tone(tone)
        if self.haptics_on or self.private:
            self.haptic(haptic)

    def key_feedback(self, active: bool, policy: str = "follow") -> None:
        """Feedback for one key press; identical for every key of the same activity.

        The tone goes to the current channel: the public speaker, or only the headset while
        one is in (private audio: keystroke rhythm must not reach bystanders).  In private mode,
        or with haptics on (SetFeedback), the key also gives the identical haptic pulse.
        ``policy`` (TPP BeepPolicy during PIN entry): "follow" the KeypressBeep(active,
        inactive) setting, "silent", "always", or "private-only" (tones only while a headset is
        in, never on the public speaker).  With tones off (SetFeedback) no key tone sounds.
        """
        name = "key" if active else "inactive"
        if policy == "follow":
            sound = self.beep_active if active else self.beep_inactive
        elif policy == "silent":
            sound = False
        elif policy == "private-only":
            sound = self.private
        else:
            sound = True
        if sound and self.tones_on:
            self.tone(name)
        if self.private or self.haptics_on:
            self.haptic(name)


#: the vibration a tone becomes when tones are off and haptics on
_TONE_HAPTICS = {"key": "key", "inactive": "inactive", "warning": "warning", "error": "error",
                 "success": "done", "attention": "attention"}
