"""The keypad tour and explore mode: the keypad explains itself.

**Tour** (IDLE, free-text ``Speak``): an orientation in short steps, computed from the layout
the pad reports (:mod:`drivers.guidance.keypad`).  The customer is in control at every step,
through the function keys the pad reports in IDLE (SPEC 6.3, ``pad.listen()``):

* any key interrupts (the pad itself cuts interruptible speech on a key press) and goes on to
  the next step; a digit key interrupts too (the pad never reports digits in IDLE, but it does
  report that the speech was cut by a key);
* Help says the current step again;
* Cancel skips the rest of the tour (explore mode still follows when asked for: the customer
  leaves it with Cancel again).

With ``profile.private_audio`` the tour first offers to wait for a headset (private audio),
once per customer (:meth:`Guide.offer_headset`): up to ``profile.headset_wait`` seconds for
``HeadsetInserted``; Enter goes on without one.  With ``profile.repeat_instructions`` (elderly)
an instruction is said once more after ``profile.repeat_after`` seconds with no key, never
twice back to back.  A profile
without speech (deaf) gets each step on the display for a reading time that follows its length
(Enter shows the next one sooner, Help shows it again, Cancel skips).

**Explore** (``pad.explore``): every key press is named by the pad itself (SPEC 9.1: name, row,
column, colour, mark); the guide records those words for the teller (:func:`pad_description`)
and queues what the pad cannot know: the key's place relative to landmarks and what it does.
Explore ends when the customer presses Cancel (named by the pad first, so the customer still
hears what it is; with ``confirm_end`` a first Cancel is only named and a second one ends) or
after ``profile.explore_limit`` seconds without a key, with a spoken warning before.

Neither ever runs while a PIN entry is active: both check first and raise
:class:`~protocol.errors.LocalProtocolError` before anything is sent to the pad.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from protocol.errors import ConfigurationError, LocalProtocolError, TactileError
from protocol.layout import key_name
from protocol.tpp.prompts import PromptId

from drivers.guidance.catalog import normalise_lang, number_words
from drivers.guidance.channels import ENTRY_STATES
from drivers.guidance.keypad import KeypadPhrases, Phrase, pad_description
from drivers.pinpad.events import (
    HeadsetInserted,
    HeadsetRemoved,
    KeyPressed,
    SpeechEnded,
)
from drivers.pinpad.listener import pressed_key

if TYPE_CHECKING:  # pragma: no cover
    from drivers.guidance.guide import Guide

__all__ = ["TourStep", "TourResult", "ExploreResult", "tour_steps", "run_tour", "run_explore",
           "speak_guide_to", "refuse_during_entry", "offer_headset"]

_log = logging.getLogger("drivers.guidance")

#: seconds to wait, after the pad reports speech cut by a key, for the key's own event
_KEY_AFTER_CUT = 0.5
#: seconds beyond a step's expected speaking time before we stop waiting for its end
_SPEECH_GRACE = 10.0
#: reading speed for text-only steps (characters per second) and the least time a step shows
_READ_CPS = {"en": 12.0, "zh-CN": 5.0}
_READ_MIN = 4.0
#: expected speaking speed at 100 % (characters per second; the pad's own is faster)
_SPEAK_CPS = {"en": 10.0, "zh-CN": 3.5}


@dataclass(frozen=True, slots=True)
class TourStep:
    """One step of the tour: a phrase, and whether it is an instruction (said twice for a
    profile with ``repeat_instructions``)."""

    phrase: Phrase
    instruction: bool = False

    @property
    def msgid(self) -> str:
        return self.phrase.msgid


@dataclass(frozen=True, slots=True)
class ExploreResult:
    """How explore mode went: ``keys`` pressed (names, in order; digits are fine here: no PIN
    can be active), ``ended`` "cancel" | "timeout" | "stopped", ``warned`` (the time-limit
    warning was given), ``said`` (every text announced meanwhile, the pad's own words
    included), ``speech_failed`` (utterances the pad could not say)."""

    keys: tuple[str, ...]
    ended: str
    warned: bool = False
    said: tuple[str, ...] = ()
    speech_failed: int = 0

    @property
    def cancelled(self) -> bool:
        return self.ended == "cancel"


@dataclass(frozen=True, slots=True)
class TourResult:
    """How the tour went.

    ``steps``: the msgids of the tour's steps; ``said``: every text said or shown (the pad's
    own words included), in order; ``completed``: steps heard to the end; ``interrupted``:
    steps cut short by a key; ``repeated``: steps said again for Help; ``skipped``: the
    customer pressed Cancel; ``headset``: "inserted", "already", "declined" (Enter),
    "not-found" (time up) or None (not offered); ``explore``: the explore mode that followed,
    or None; ``speech_failed``: utterances the pad could not say."""

    steps: tuple[str, ...]
    said: tuple[str, ...]
    completed: int
    interrupted: int
    repeated: int
    skipped: bool
    headset: str | None
    explore: ExploreResult | None = None
    speech_failed: int = 0


def refuse_during_entry(guide: "Guide", what: str) -> None:
    """Raise LocalProtocolError if a PIN entry or change is active (nothing is sent)."""
    if guide.announcer.in_entry or guide.pad.state in ENTRY_STATES:
        raise LocalProtocolError(f"{what} cannot run while a PIN entry is active: finish or "
                                 "cancel the entry first (explore mode would name the keys)")


def _builder(guide: "Guide") -> KeypadPhrases:
    return KeypadPhrases(guide.pad.layout(), guide.lang, spatial=guide.profile.spatial)


def tour_steps(guide: "Guide", *, explore: bool = True) -> list[TourStep]:
    """The steps of the tour for this guide's pad, language and profile."""
    b = _builder(guide)
    p = guide.profile
    a = guide.announcer
    intro = "keypad.tour.intro" if p.speech else "keypad.tour.intro_text"
    steps = [TourStep(_plain(a, intro), instruction=True)]
    steps += [TourStep(phrase) for phrase in b.describe(purpose=True)]
    if explore:
        steps.append(TourStep(_plain(a, "keypad.tour.explore"), instruction=True))
    return steps


def _plain(announcer: Any, msgid: str, count: int | None = None, **values: Any) -> Phrase:
    return Phrase(msgid, values, announcer.text(msgid, count, **values), announcer.lang, count)


class _Recorder:
    """Collects the texts announced from a given point of the transcript on."""

    def __init__(self, guide: "Guide") -> None:
        self.guide = guide
        self.start = len(guide.transcript.items)

    def said(self) -> tuple[str, ...]:
        items = self.guide.transcript.items[self.start:]
        return tuple(i.text for i in items if i.text and i.audience == "customer")


# -- the tour ---------------------------------------------------------------------------------
def run_tour(guide: "Guide", *, explore: bool = True, explore_limit: float | None = None,
             confirm_end: bool = False) -> TourResult:
    """Headset offer (profile), the tour, then explore mode (``explore``) until Cancel or the
    time limit.  See the module docstring."""
    refuse_during_entry(guide, "the keypad tour")
    pad = guide.pad
    a = guide.announcer
    rec = _Recorder(guide)
    steps = tour_steps(guide, explore=explore)
    completed = interrupted = repeated = failed = 0
    skipped = False
    headset: str | None = None
    a.teller("keypad.teller.tour_start", len(steps))
    with pad.listen() as listener:
        if guide.profile.speech and guide._claim_headset_offer():
            headset, failed_offer, cancel = offer_headset(guide, listener)
            failed += failed_offer
            skipped = cancel
        index = 0
        again = False
        while index < len(steps) and not skipped:
            step = steps[index]
            outcome, n_failed = _present(guide, listener, step.phrase)
            failed += n_failed
            if outcome == "completed" and step.instruction and not again and \
                    guide.profile.repeat_instructions:
                # elderly: said once more only after a pause with no key, never back to back
                outcome = _pause_for_key(guide, listener)
                if outcome == "none":
                    again = True
                    repeated += 1
                    continue
            again = False
            if outcome == "help":
                repeated += 1
                continue
            if outcome == "cancel":
                skipped = True
                break
            if outcome == "completed":
                completed += 1
            else:
                interrupted += 1
            index += 1
        if skipped:
            a.teller("keypad.teller.tour_skipped")
            a.say("keypad.tour.skipped", interruptible=True)
        elif not explore:
            a.say("keypad.tour.finished")
    if failed:
        a.teller("common.teller_speech_failed")
    explored = None
    if explore:
        explored = run_explore(guide, limit=explore_limit, confirm_end=confirm_end)
        failed += explored.speech_failed
    return TourResult(steps=tuple(s.msgid for s in steps), said=rec.said(), completed=completed,
                      interrupted=interrupted, repeated=repeated, skipped=skipped,
                      headset=headset, explore=explored, speech_failed=failed)


def _say_phrase(guide: "Guide", phrase: Phrase, *, queue: bool = False) -> list[int]:
    """Say one phrase; returns the pad utterance ids it produced (none without speech)."""
    before = len(guide.pad_channel.utterances)
    guide.announcer.say(phrase.msgid, phrase.count, queue=queue, interruptible=True,
                        **phrase.values)
    return guide.pad_channel.utterances[before:]


def _speaking_time(guide: "Guide", text: str) -> float:
    cps = _SPEAK_CPS[guide.lang] * max(0.5, guide.profile.rate / 100)
    return len(text) / cps + _SPEECH_GRACE


def _reading_time(guide: "Guide", text: str) -> float:
    cps = _READ_CPS[guide.lang] * max(0.5, guide.profile.rate / 100)
    return max(_READ_MIN, len(text) / cps + 2.0)


def _present(guide: "Guide", listener: Any, phrase: Phrase) -> tuple[str, int]:
    """Say (or show) one step and wait for its end or the customer's key.

    Returns (outcome, speech failures): "completed", "key" (interrupted: go on), "help",
    "cancel"."""
    ids = _say_phrase(guide, phrase)
    speaking = bool(ids)
    failed = 0
    if not speaking and guide.announcer.speak_enabled and guide.pad_channel.speech:
        # the pad refused to speak (its speech unit failed): the step is only on the display
        failed += 1
    wait = _speaking_time(guide, phrase.text) if speaking else _reading_time(guide, phrase.text)
    deadline = time.monotonic() + wait
    pending = set(ids)
    while True:
        event = listener.next(max(0.0, deadline - time.monotonic()))
        if event is None:
            # the end of speech never came (or nothing to hear): the step is done
            return "completed", failed
        key = pressed_key(event)
        if key is not None:
            return _key_outcome(key), failed
        if isinstance(event, HeadsetInserted):
            _headset_in(guide)
            continue
        if isinstance(event, HeadsetRemoved):
            continue
        if not isinstance(event, SpeechEnded) or event.utterance not in pending:
            continue
        pending.discard(event.utterance)
        if event.how == "interrupted-by-key":
            # the pad reports the key right after it cut the speech; a digit is never reported
            follow = listener.next(_KEY_AFTER_CUT)
            key = pressed_key(follow)
            return (_key_outcome(key) if key is not None else "key"), failed
        if event.failed:
            failed += 1
        if event.how in ("stopped", "replaced", "mode-change"):
            return "key", failed  # the teller stopped it, or other speech took over
        if not pending:
            return "completed", failed


def _pause_for_key(guide: "Guide", listener: Any) -> str:
    """Wait ``profile.repeat_after`` seconds for a key after an instruction: the key's outcome,
    or "none" (nothing pressed: the instruction is said once more)."""
    deadline = time.monotonic() + guide.profile.repeat_after
    while (left := deadline - time.monotonic()) > 0:
        event = listener.next(left)
        if event is None:
            break
        key = pressed_key(event)
        if key is not None:
            return _key_outcome(key) if key in ("help", "cancel") else "completed"
        if isinstance(event, HeadsetInserted):
            _headset_in(guide)
    return "none"


def _headset_in(guide: "Guide") -> None:
    """A headset went in: the pad said HEADSET_IN itself, in ITS current language (SPEC 6.7:
    zh-CN until an ExploreStart set another).  Record it as heard; if that is not the
    customer's language, say it again in theirs."""
    try:
        pad_lang = guide.pad.status().lang or guide.lang
    except TactileError:  # a status we cannot read: assume the customer's language
        pad_lang = guide.lang
    try:
        pad_lang = normalise_lang(pad_lang)
    except ConfigurationError:
        pad_lang = guide.lang
    guide.announcer.pad_said(PromptId.HEADSET_IN, lang=pad_lang)
    if pad_lang != guide.lang:
        guide.announcer.say("common.headset_in", queue=True)


def _key_outcome(key: str) -> str:
    if key == "help":
        return "help"
    if key == "cancel":
        return "cancel"
    return "key"


def offer_headset(guide: "Guide", listener: Any) -> tuple[str, int, bool]:
    """Offer to wait for a headset.  Returns (result, speech failures, cancelled)."""
    pad = guide.pad
    a = guide.announcer
    if pad.status().headset:
        return "already", 0, False
    seconds = max(1, int(round(guide.profile.headset_wait)))
    a.teller("keypad.teller.headset_wait", seconds=seconds)
    a.teller("common.teller.headset_offer")
    before = len(guide.pad_channel.utterances)
    a.say("common.headset_offer", seconds, seconds=number_words(seconds, guide.lang))
    if len(guide.pad_channel.utterances) == before:
        # the pad could not say it (its speech unit failed): nobody heard the offer, so
        # nobody is waited for; the teller has the line and is told of the failure
        a.teller("common.teller_speech_failed")
        return "not-found", 1, False
    deadline = time.monotonic() + guide.profile.headset_wait
    failed = 0
    while True:
        event = listener.next(max(0.0, deadline - time.monotonic()))
        if event is None:
            a.say("common.headset_not_found")
            return "not-found", failed, False
        if isinstance(event, HeadsetInserted):
            _headset_in(guide)
            return "inserted", failed, False
        if isinstance(event, SpeechEnded) and event.failed:
            failed += 1
        key = pressed_key(event)
        if key == "enter":
            return "declined", failed, False
        if key == "cancel":
            return "declined", failed, True
        if key == "help":
            a.say("common.headset_offer", seconds, seconds=number_words(seconds, guide.lang))


# -- explore mode -------------------------------------------------------------------------------
def run_explore(guide: "Guide", *, limit: float | None = None, warn_before: float | None = None,
                confirm_end: bool = False, end_key: str = "cancel") -> ExploreResult:
    """Explore mode until ``end_key`` (Cancel) or ``limit`` seconds without a key (default:
    the profile's ``explore_limit``), warning ``warn_before`` seconds before the end (default
    a third of the limit, at most 15 s)."""
    refuse_during_entry(guide, "explore mode")
    pad = guide.pad
    a = guide.announcer
    limit = float(limit if limit is not None else guide.profile.explore_limit)
    if not limit > 0:
        raise LocalProtocolError("the explore time limit must be positive")
    if warn_before is None:
        warn_before = min(15.0, limit / 3)
    warn_before = max(0.0, min(float(warn_before), limit))
    builder = _builder(guide)
    layout = builder.layout
    rec = _Recorder(guide)
    keys: list[str] = []
    warned = ever_warned = False
    ended = "stopped"
    failed = 0
    a.teller("keypad.teller.explore_start")
    with pad.explore(lang=guide.lang, idle_timeout=limit + 5.0) as session:
        a.pad_said(PromptId.EXPLORE_START)     # the pad says it itself on entering the mode
        last_key = last_event = time.monotonic()
        previous: str | None = None
        while pad.connected:
            now = time.monotonic()
            end_at = last_key + limit
            warn_at = end_at - warn_before
            if now >= end_at and not warned and warn_before > 0:
                # we woke too late to warn in time: warn now and give the full warning time
                last_key = now + warn_before - limit
                end_at = now + warn_before
                warn_at = now
            if now >= end_at:
                ended = "timeout"
                a.say("keypad.explore.ended_idle", haptic="timeout")
                break
            if not warned and warn_before > 0 and now >= warn_at:
                warned = ever_warned = True
                left = max(1, int(round(end_at - now)))
                a.say("keypad.explore.time_warning", left, tone="warning", haptic="warning",
                      seconds=number_words(left, guide.lang))
                continue
            target = end_at if warned or warn_before <= 0 else warn_at
            # the session's own idle limit counts from its last event of any kind (which is
            # when we last received one); ours counts from the last KEY: ask for control back
            # a moment after our next deadline
            session.idle_timeout = max(0.02, target - last_event + 0.02)
            session.ended_idle = False
            event = next(iter(session), None)
            if event is None:
                if time.monotonic() < target:   # woke a moment early: wait it out
                    time.sleep(min(0.05, max(0.0, target - time.monotonic())))
                continue
            last_event = time.monotonic()
            if isinstance(event, KeyPressed):
                name = event.name
                key = event.key if event.key is not None else layout.get(name)
                keys.append(name)
                last_key = last_event
                warned = False
                if key is not None:
                    a.pad_text(pad_description(key, guide.lang), msgid="pad.explore_key")
                if name == end_key and (not confirm_end or previous == end_key):
                    ended = "cancel"
                    break
                if name == end_key:
                    a.say("keypad.explore.cancel_again", queue=True)
                elif key is not None:
                    extra = builder.explore_addition(key)
                    a.say(extra.msgid, extra.count, queue=True, **extra.values)
                previous = name
            elif isinstance(event, HeadsetInserted):
                _headset_in(guide)
            elif isinstance(event, SpeechEnded) and event.failed:
                failed += 1
    if pad.connected:
        # leaving the block stopped explore mode: the pad said EXPLORE_END itself
        a.pad_said(PromptId.EXPLORE_END)
    if ended == "cancel":
        a.teller("keypad.teller.explore_cancel", len(keys))
    elif ended == "timeout":
        a.teller("keypad.teller.explore_idle", seconds=int(round(limit)))
    else:
        a.teller("keypad.teller.explore_stopped")
    failed = max(failed, session.speech_failed)
    return ExploreResult(keys=tuple(keys), ended=ended, warned=ever_warned, said=rec.said(),
                         speech_failed=failed)


# -- guide to a key -------------------------------------------------------------------------------
def speak_guide_to(guide: "Guide", key: str) -> Phrase:
    """Say how to find ``key`` from the 5 (the teller's "guide to Enter")."""
    refuse_during_entry(guide, "guiding to a key")
    builder = _builder(guide)
    phrase = builder.guide(key)
    target = builder.layout.get(key_name(key) if key not in builder.layout else key)
    guide.announcer.teller("keypad.teller.guide_to",
                           key=builder.name(target) if target is not None else key)
    guide.announcer.say(phrase.msgid, phrase.count, **phrase.values)
    return phrase
