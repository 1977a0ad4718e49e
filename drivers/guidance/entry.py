"""Guided PIN entry and PIN change, on the pad's own fixed prompts.

A :class:`GuidedPinEntry` wraps :meth:`TactilePinPad.pin_entry` / :meth:`TactilePinPad.pin_change`
with one customer's profile and language, and does what the staff member in our branch story
did, without anyone seeing or hearing the PIN::

    guide = Guide(pad, lang="zh-CN", profile="blind", teller=print)
    with guide.pin_entry(pan="6222020200112233445", min_len=6, max_len=6) as entry:
        for event in entry:            # the pad's events, exactly as PinEntrySession yields them
            pass
    print(entry.status, entry.digits, entry.pin_block.hex())

Three phases, because the pad allows free text only outside PIN entry (TPP SPEC 6.7, 8 rule 5):

1. **Before** (pad IDLE): the instructions in words from ``entry.po`` ("You will now enter your
   six-digit PIN ...", what each digit will sound or feel like, which keys do what, Help for
   more time), said once more for ``profile.repeat_instructions`` after ``profile.repeat_after``
   seconds with no key (never back to back).  The headset is offered first, once per customer
   (:meth:`Guide.offer_headset`), for profiles with ``private_audio``.  The entry starts when the speech
   has ended or the customer pressed a key (a customer acting never waits for speech); Help
   repeats the instructions, Cancel ends the guided entry before it starts (status
   "cancelled").  A customer who cannot hear (display only) reads a short version that ends
   with "press Enter to start" and the entry starts on Enter.
2. **During** (pad in PIN entry / change): only fixed prompts.  What the pad says by itself
   (the start prompt, PIN_TOO_SHORT, CLEARED, TIME_WARNING, TIME_EXTENDED and the instruction
   again, CONFIRM_NEW_PIN, PIN_MISMATCH, HELP, HEADSET_IN, the closing prompt) is recorded with
   :meth:`Announcer.pad_said`, so the teller's feed and the transcript are complete; the
   guidance adds what the pad does not say: the per-digit feedback of the profile (identical for
   every digit: the count prompt DIGITS_ENTERED, the pad's own uniform key tone, one identical
   vibration, or nothing), BACKSPACE(n), MAX_REACHED, and after the pad's own "at least N
   digits" the count the customer has ("4 digits entered"), spoken when the pad's utterance
   has ended (SpeakPrompt replaces speech and has no queue flag, so the guidance waits for the
   pad's SpeechEnded).  Haptic profiles also feel error / time warning / done patterns.
3. **After** (pad IDLE again): the result in words ("Your PIN has been entered ...", "Time ran
   out; nothing was kept.") queued after the pad's own closing prompt.

Nothing here ever sees a digit: the pad reports counts only.  Every reaction depends on the
event's class and count, never on a digit value (tests/guidance/test_entry_property.py proves
it over random PINs and key sequences).

Controls at every step: the customer's Help key (the pad repeats the instruction and extends the
time); for the teller :meth:`GuidedPinEntry.repeat` (the last fixed prompt again),
:meth:`~GuidedPinEntry.stop_speaking`, :meth:`~GuidedPinEntry.set_volume`,
:meth:`~GuidedPinEntry.set_rate` (TPP SetVolume is allowed during entry; the customer hears the
last prompt again at the new setting), :meth:`~GuidedPinEntry.extend_time` and
:meth:`~GuidedPinEntry.cancel`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from protocol.errors import ConfigurationError, TactileError
from protocol.tpp.codes import MAX_PROMPT_ARG
from protocol.tpp.prompts import PROMPTS, PromptId

from drivers.guidance.catalog import number_words
from drivers.guidance.channels import ENTRY_STATES, HAPTIC_PATTERNS
from drivers.pinpad.events import (
    Completed,
    Completion,
    DigitAccepted,
    EntryReady,
    HeadsetInserted,
    KeyPressed,
    KeyRejected,
    PadEvent,
    PinMismatch,
    SpeechEnded,
    TimeExtended,
    TimeWarning,
)
from drivers.pinpad.listener import pressed_key

if TYPE_CHECKING:  # pragma: no cover
    from drivers.guidance.guide import Guide

__all__ = ["GuidedPinEntry", "STATUSES", "ACCEPTED_PULSE"]

_log = logging.getLogger("drivers.guidance")

#: the ``status`` a guided entry ends with
STATUSES = ("ok", "cancelled", "timeout", "mismatch", "error")
_STATUS = {Completion.ENTER: "ok", Completion.AUTO: "ok", Completion.CANCEL: "cancelled",
           Completion.TIMEOUT: "timeout", Completion.MISMATCH: "mismatch"}

#: The guidance's "key accepted" vibration (haptic profiles).  The pad reserves its own 30 ms key
#: pulse during PIN entry (TPP SPEC 8 rule 1: a host must not be able to fake or mask key
#: feedback), so the host's pulse is a distinct, equally uniform 50 ms one (the "accepted"
#: pattern of :data:`drivers.guidance.channels.HAPTIC_PATTERNS`).
ACCEPTED_PULSE = HAPTIC_PATTERNS["accepted"]

#: the pad's closing prompt for each way an entry ends (firmware_sim/pinpad/core.py _complete)
_CLOSING = {Completion.TIMEOUT: PromptId.ENTRY_TIMEOUT, Completion.CANCEL: PromptId.ENTRY_CANCELLED,
            Completion.MISMATCH: PromptId.ENTRY_CANCELLED}
#: ... and for a PIN change, which the pad ends by saying the PIN is unchanged
_CLOSING_CHANGE = {**_CLOSING, Completion.CANCEL: PromptId.PIN_CHANGE_CANCELLED,
                   Completion.MISMATCH: PromptId.PIN_CHANGE_CANCELLED}
#: the vibration at the end, one per way it ended (TPP SPEC 6.7)
_END_CUE = {"ok": "done", "cancelled": "cancelled", "timeout": "timeout"}
#: seconds to wait, after the instructions' speech was cut by a key, for that key's own event
_KEY_AFTER_CUT = 0.4
#: characters per second the instructions are assumed to be spoken at (for the wait's bound)
_SLOWEST_CPS = {"zh-CN": 2.0, "en": 7.0}


def _prompt_ident(prompt: int | str | PromptId) -> int:
    if isinstance(prompt, str):
        key = prompt.strip().lower()
        for p in PROMPTS.values():
            if p.name == key:
                return int(p.ident)
        try:
            return int(PromptId[key.upper().replace("-", "_")])
        except KeyError:
            raise ConfigurationError(f"unknown prompt {prompt!r}") from None
    return int(prompt)


class GuidedPinEntry:
    """A guided PIN entry (or, with ``change=True``, a guided PIN change): see the module doc.

    Made by :meth:`Guide.pin_entry` / :meth:`Guide.pin_change`.  Use it like
    :class:`~drivers.pinpad.PinEntrySession`: in a ``with`` block, iterating over the pad's
    events (the same events, nothing added, nothing secret), or polling :meth:`next_event`.

    Leaving the ``with`` block waits until the result has been said (bounded; a key press
    ends the wait), so the teller's next step does not cut it off; ``wait_result=False``
    leaves at once (the pad goes on speaking by itself).

    Afterwards: ``status`` ("ok", "cancelled", "timeout", "mismatch" or "error"),
    ``completion``, ``digits``, ``pin_block``, ``ksn``, ``format``, ``result``, ``matched``
    (PIN change: the two entries matched), ``mismatches``, ``speech_failed``.
    """

    def __init__(self, guide: "Guide", *, change: bool = False, pan: str | None = None,
                 min_len: int = 4, max_len: int = 12, block_format: str = "iso4",
                 key_slot: int = 0, auto_end: bool = False, time_limit: int | None = None,
                 max_mismatches: int = 3, prompt: int | str | None = None,
                 prompt_args: Sequence[int] = (), instructions: bool = True,
                 wait_result: bool = True) -> None:
        self.guide = guide
        self.pad = guide.pad
        self.announcer = guide.announcer
        self.profile = guide.profile
        self.change = bool(change)
        self.lang = guide.lang
        self.min_len, self.max_len, self.auto_end = int(min_len), int(max_len), bool(auto_end)
        self.time_limit = int(time_limit if time_limit is not None else self.profile.time_limit)
        if not 10 <= self.time_limit <= 600:
            raise ConfigurationError(f"time_limit is 10..600 s (the pad's range), not "
                                     f"{self.time_limit}")
        self.max_mismatches = int(max_mismatches)
        if not 1 <= self.max_mismatches <= 9:
            raise ConfigurationError(f"max_mismatches is 1..9 (the pad's range), not "
                                     f"{self.max_mismatches}")
        self.instructions = bool(instructions)
        self.wait_result = bool(wait_result)
        if prompt is None:
            if self.change:
                prompt, prompt_args = PromptId.ENTER_NEW_PIN, ()
            elif self.min_len == self.max_len:
                prompt, prompt_args = PromptId.ENTER_PIN_DIGITS, (self.min_len,)
            else:
                prompt, prompt_args = PromptId.ENTER_PIN, ()
        self._start_prompt = (_prompt_ident(prompt), tuple(int(a) for a in prompt_args))
        common: dict[str, Any] = dict(
            min_len=self.min_len, max_len=self.max_len, auto_end=self.auto_end,
            timeout=self.time_limit, prompt=self._start_prompt[0],
            prompt_args=self._start_prompt[1], pan=pan, block_format=block_format,
            key_slot=key_slot, lang=self.lang, beep=self.profile.beep)
        # the pad's request is built (and checked: lengths, time limit, PAN, format) now, so a
        # bad argument fails here, before anything is said to the customer
        if self.change:
            self.session = self.pad.pin_change(max_mismatches=self.max_mismatches, **common)
        else:
            self.session = self.pad.pin_entry(**common)
        self.status: str | None = None
        self.mismatches = 0
        self._cancelled_before = False
        self._started = False
        self._done = False
        self._guard: Any = None
        self._count = 0
        self._stage = 1
        self._ready_seen = False
        self._after_pad_speech: int | None = None   # a count to say when the pad's words end
        self._last_prompt: tuple[int, tuple[int, ...]] | None = None
        self._failures_seen = 0
        self._result_ids: list[int] = []
        self._restore: tuple[int, int] | None = None
        self._listener: Any = None
        self._result_text = ""
        self._after_offer = False

    def __repr__(self) -> str:
        kind = "change" if self.change else "entry"
        state = self.status or ("running" if self._started else "not started")
        return (f"<GuidedPinEntry {kind} {state}, digits={self.digits}, "
                f"profile={self.profile.name}, lang={self.lang}>")

    # -- what the teller application reads ---------------------------------------------------
    @property
    def completion(self) -> Completion | None:
        if self._cancelled_before:
            return Completion.CANCEL
        return self.session.completion

    @property
    def digits(self) -> int:
        return 0 if self._cancelled_before else self.session.digits

    @property
    def pin_block(self) -> bytes | None:
        return self.session.pin_block

    @property
    def ksn(self) -> bytes | None:
        return self.session.ksn

    @property
    def result(self) -> Any:
        return self.session.result

    @property
    def format(self) -> Any:
        return self.session.format

    @property
    def matched(self) -> bool:
        """PIN change: True when the two entries matched (the pad holds the new PIN)."""
        return bool(self.completion is not None and self.completion.pin_kept)

    @property
    def finished(self) -> bool:
        return self._done

    @property
    def speech_failed(self) -> int:
        """Utterances the pad could not speak during the entry (SpeechEnded "failed")."""
        return int(getattr(self.session, "speech_failed", 0) or self._failures_seen)

    @property
    def running(self) -> bool:
        return self._started and not self._done

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> "GuidedPinEntry":
        if self._started or self._done:
            raise TactileError("this guided entry was already used; make a new one")
        # counts, the instructions and the result are private: the headset first
        self._after_offer = self.guide.offer_headset() not in (None, "already")
        if self.instructions and not self._introduce():
            self._cancelled_before = True
            self._done = True
            self.status = "cancelled"
            self.announcer.teller("entry.teller.cancelled_before")
            self._say_after("entry.result.change_cancelled" if self.change
                            else "entry.result.cancelled")
            return self
        self._apply_speech_settings()
        digits = str(self.min_len) if self.min_len == self.max_len else \
            self.announcer.text("entry.range", min=self.min_len, max=self.max_len)
        if self.change:
            self.announcer.teller("entry.teller.change_started", digits=digits,
                                  seconds=self.time_limit, tries=self.max_mismatches,
                                  profile=self.guide.profile_label())
        else:
            self.announcer.teller("entry.teller.started", digits=digits,
                                  seconds=self.time_limit, profile=self.guide.profile_label())
        self._guard = self.announcer.entry_active()
        self._guard.__enter__()
        try:
            self.session.__enter__()
        except BaseException:
            self._leave_entry()
            if self._restore is not None and self.pad.connected:
                self._restore_speech_settings()
            raise
        self._started = True
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if self._started and not self._done and exc_type is None:
                for _ in self:
                    pass
        finally:
            try:
                if self._started:
                    self.session.__exit__(exc_type, exc, tb)
            finally:
                self._leave_entry()
                if self._restore is not None and self.pad.connected:
                    self._restore_speech_settings()
        if exc_type is None and self.wait_result:
            self._wait_result()
        else:
            self._close_listener()

    def _leave_entry(self) -> None:
        guard, self._guard = self._guard, None
        if guard is not None:
            guard.__exit__(None, None, None)

    def __iter__(self) -> Iterator[PadEvent]:
        if not self._started:
            if self._done:
                return  # cancelled before the entry started: no events
            raise TactileError("use the guided entry in a with block: "
                               "`with guide.pin_entry(...) as entry: for event in entry: ...`")
        for event in self.session:
            self._react(event)
            yield event

    def next_event(self, timeout: float = 0.0) -> PadEvent | None:
        """The next event (after the guidance reacted to it) within ``timeout`` seconds, or
        None; for a teller application that polls instead of iterating."""
        if not self._started:
            if self._done:
                return None
            raise TactileError("use the guided entry in a with block")
        event = self.session.next_event(timeout)
        if event is not None:
            self._react(event)
        return event

    def run(self) -> "GuidedPinEntry":
        """The whole guided entry in one call; returns it, finished."""
        with self:
            for _ in self:
                pass
        return self

    # -- teller controls ------------------------------------------------------------------------
    def extend_time(self, seconds: int = 30) -> int:
        """Give the customer more time (the pad says how much is left); the seconds now left."""
        return self.session.extend_time(int(seconds))

    def cancel(self) -> None:
        """End the entry from the teller's side (status "cancelled")."""
        self.session.cancel()

    def repeat(self) -> Any:
        """Say the last fixed prompt again (during the entry), or the last message (outside)."""
        if self.running and self.pad.state in ENTRY_STATES:
            if self._last_prompt is None:
                return None
            ident, args = self._last_prompt
            return self.announcer.prompt(ident, *args)
        return self.announcer.repeat()

    def stop_speaking(self) -> None:
        """Interrupt the speech now."""
        self.announcer.stop()

    def set_volume(self, volume: int) -> None:
        """Volume 1..1000; during the entry the customer hears the last prompt again at it."""
        self._restore = None   # the teller's choice stays
        self.guide.set_volume(volume)
        if self.running:
            self._hear_setting()

    def set_rate(self, rate: int) -> None:
        """Speech rate 50..200 %; during the entry the last prompt is said again at it."""
        self._restore = None
        self.guide.set_rate(rate)
        if self.running:
            self._hear_setting()

    def _hear_setting(self) -> None:
        if self.announcer.speak_enabled and self.pad.state in ENTRY_STATES:
            self.repeat()

    # -- before the entry: instructions in words -------------------------------------------------
    def _n(self, n: int) -> str:
        return number_words(n, self.lang)

    def _times(self, n: int) -> str:
        """A count of times for the ear: Mandarin counts two things as 两, not 二 (两次)."""
        return "两" if self.lang == "zh-CN" and n == 2 else self._n(n)

    @property
    def display_only(self) -> bool:
        """True when the customer reads rather than hears (deaf profile, or a pad without
        speech): the instructions are shown, ending with "press Enter to start"."""
        return not (self.announcer.speak_enabled and self.guide.pad_channel.speech)

    def _instruction_ids(self) -> list[tuple[str, dict[str, Any]]]:
        fixed = self.min_len == self.max_len
        if self.display_only:
            base = "entry.display.change" if self.change else "entry.display.entry"
            if fixed:
                return [(base + ".digits", {"digits": self.min_len})]
            return [(base + ".range", {"min": self.min_len, "max": self.max_len})]
        base = "entry.intro.change" if self.change else "entry.intro.entry"
        if fixed:
            parts = [(base + ".digits", {"digits": self._n(self.min_len)})]
        else:
            parts = [(base + ".range", {"min": self._n(self.min_len),
                                        "max": self._n(self.max_len)})]
        feedback = self.profile.digit_feedback
        if feedback != "none":
            parts.append((f"entry.feedback.{feedback}", {}))
        parts.append(("entry.keys", {}))
        where = self._where_enter()
        if where is not None:
            parts.append(where)
        parts.append(("entry.help", {}))
        return parts

    def _where_enter(self) -> tuple[str, dict[str, Any]] | None:
        """Where Enter is, from the keypad phrases (Engineer K's module), for full spatial
        guidance; nothing when that module or the key is not available."""
        if self.profile.spatial != "full":
            return None
        try:
            from drivers.guidance.keypad import where_is

            phrase = where_is(self.pad.layout(), "enter", self.lang, spatial="brief")
            if phrase.msgid not in self.announcer.messages:
                return None
            values = dict(phrase.values)
            if phrase.count is not None:
                values["count"] = phrase.count
            self.announcer.text(phrase.msgid, **values)  # renders here, or we skip it
            return phrase.msgid, values
        except (ImportError, TactileError, KeyError, AttributeError, TypeError, ValueError) as exc:
            _log.debug("no keypad phrase for Enter: %s", exc)
            return None

    def _say_instructions(self, parts: list[tuple[str, dict[str, Any]]]) -> list[int]:
        """Say every part: the first replaces what is being said, unless the headset offer
        has just been answered (its last words are heard to their end); the rest queue.
        Returns the pad's utterance ids."""
        ids = self.guide.pad_channel.utterances
        before = len(ids)
        for i, (msgid, values) in enumerate(parts):
            self.announcer.say(msgid, queue=i > 0 or self._after_offer, **values)
        self._after_offer = False
        return list(ids[before:])

    def _introduce(self) -> bool:
        """The instructions before the entry; False when the customer pressed Cancel."""
        parts = self._instruction_ids()
        display_only = self.display_only
        if self.profile.hand_over_hand:
            # deafblind: the words reach the customer through the teller's hands
            self.announcer.teller("common.teller.hand", text=" ".join(
                self.announcer.text(m, **v) for m, v in parts))
        with self.pad.listen() as listener:
            spoken = self._say_instructions(parts)
            if not display_only and not spoken:
                # the pad's speech failed (the words are only on its display): a customer who
                # listens would wait for nothing; the teller is told and the entry begins
                self.announcer.teller("common.teller_speech_failed")
                return True
            text = "".join(self.announcer.text(m, **v) for m, v in parts)
            bound = len(text) / _SLOWEST_CPS[self.lang] * 100 / max(50, self.profile.rate)
            # elderly: once more after a pause with no key, never back to back
            repeat_at: float | None = None
            repeated = not self.profile.repeat_instructions or display_only
            deadline = time.monotonic() + (self.time_limit if display_only or not spoken
                                           else bound + 10.0)
            while True:
                left = deadline - time.monotonic()
                if repeat_at is not None and time.monotonic() >= repeat_at:
                    repeat_at, repeated = None, True
                    spoken = self._say_instructions(parts)
                    deadline = time.monotonic() + bound + 10.0
                    continue
                if left <= 0:
                    return True   # nobody pressed anything: go on (the entry has its own limit)
                if repeat_at is not None:
                    left = min(left, max(0.0, repeat_at - time.monotonic()))
                event = listener.next(min(left, 0.25))
                key = pressed_key(event)
                if isinstance(event, SpeechEnded) and event.utterance in spoken:
                    if event.how == "interrupted-by-key":
                        # the customer acted: which key? (its event follows the speech ends;
                        # a digit key is never reported in IDLE; any key but Cancel and Help
                        # means "go on", and parts sent after the key are stopped too)
                        key = self._key_after_cut(listener)
                        if key not in ("cancel", "help"):
                            self._stop_instructions()
                            return True
                    elif event.utterance == spoken[-1]:
                        if repeated:
                            return True   # heard to the end
                        repeat_at = time.monotonic() + self.profile.repeat_after
                        deadline = repeat_at + 1.0
                        continue
                elif key is not None and key not in ("cancel", "help") and \
                        (display_only or not spoken or repeat_at is not None):
                    return True   # "press Enter to start" (any function key but Cancel / Help)
                if key == "cancel":
                    self._stop_instructions()
                    return False
                if key == "help":
                    self._stop_instructions()      # the rest of this round, then all again
                    spoken = self._say_instructions(parts)
                    deadline = time.monotonic() + (self.time_limit if display_only or not spoken
                                                   else bound + 10.0)

    @staticmethod
    def _key_after_cut(listener: Any) -> str | None:
        deadline = time.monotonic() + _KEY_AFTER_CUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            event = listener.next(left)
            if event is None:
                return None
            if not isinstance(event, SpeechEnded):
                return pressed_key(event)

    def _stop_instructions(self) -> None:
        try:
            self.announcer.stop()
        except TactileError as exc:
            _log.warning("could not stop the instructions: %s", exc)

    def _apply_speech_settings(self) -> None:
        """The pad's own prompts follow the profile's rate and volume (elderly: slower) for
        this entry; the pad's settings are put back when it ends (they persist on the pad,
        and the next customer starts afresh), unless the teller changed them meanwhile."""
        p = self.profile
        if p.rate == 100 and not p.volume:
            return
        try:
            before = self.pad.status()
            if p.rate != 100:
                self.announcer.set_rate(p.rate)
            if p.volume:
                self.announcer.set_volume(p.volume)
            self._restore = (int(before.volume), int(before.rate))
        except TactileError as exc:
            _log.warning("could not set the pad's speech rate / volume: %s", exc)

    def _restore_speech_settings(self) -> None:
        restore, self._restore = self._restore, None
        if restore is None:
            return
        try:
            self.pad.set_volume(*restore)
        except TactileError as exc:
            _log.warning("could not restore the pad's speech rate / volume: %s", exc)

    # -- during the entry: reactions to the pad's events -------------------------------------------
    def _in_entry(self) -> bool:
        return self.pad.state in ENTRY_STATES

    def _prompt(self, ident: int, *args: int) -> None:
        """Say one of the pad's fixed prompts ourselves, while the entry still runs (a prompt
        sent after the entry ended would cut the pad's own closing words)."""
        if not self.announcer.speak_enabled or not self._in_entry():
            return
        self._last_prompt = (int(ident), tuple(args))
        self.announcer.prompt(ident, *args)

    def _pad_said(self, ident: int, *args: int) -> None:
        args = tuple(min(int(a), MAX_PROMPT_ARG) for a in args)
        self._last_prompt = (int(ident), args)
        self.announcer.pad_said(ident, *args, lang=self.lang)

    def _cue(self, haptic: str) -> None:
        """A vibration pattern (haptic profiles only), during the entry too: TPP allows
        ``Haptic`` in every mode (only the pad's own key tone is reserved), and a word-less cue
        carries no text for the pad to refuse.  A pad that vibrates by itself (TPP SetFeedback
        haptics: keys, warnings, errors and the end of the entry) gets none: the customer feels
        each thing once."""
        if self.guide.pad_channel.pad_haptics:
            return
        self.announcer.cue(haptic=haptic)

    def _instruction(self) -> tuple[int, tuple[int, ...]]:
        if self.change and self._stage == 2:
            return int(PromptId.CONFIRM_NEW_PIN), ()
        return self._start_prompt

    def _react(self, event: PadEvent) -> None:
        try:
            self._react_to(event)
        except TactileError as exc:
            if isinstance(event, Completed):
                raise
            # guidance is help, not a condition of the entry: the entry goes on
            _log.warning("guidance could not react to %r: %s", event, exc)

    def _react_to(self, event: PadEvent) -> None:  # noqa: C901 - one branch per event kind
        a = self.announcer
        if isinstance(event, EntryReady):
            self._stage = event.stage
            self._count = 0
            if event.stage == 2:
                self._pad_said(PromptId.CONFIRM_NEW_PIN)
            elif not self._ready_seen:
                ident, args = self._start_prompt
                self._pad_said(ident, *args)
            self._ready_seen = True
        elif isinstance(event, DigitAccepted):
            self._count = event.count
            a.teller("entry.teller.progress", count=event.count, max=self.max_len)
            self._digit_feedback(event.count)
        elif isinstance(event, KeyPressed):
            if event.count is not None:
                self._count = event.count
            if event.name == "backspace":
                a.teller("entry.teller.progress", count=self._count, max=self.max_len)
                self._cue_key()
                self._prompt(PromptId.BACKSPACE, self._count)
            elif event.name == "clear":
                a.teller("entry.teller.progress", count=self._count, max=self.max_len)
                self._cue_key()
                self._pad_said(PromptId.CLEARED)
            elif event.name == "help":
                self._cue_key()
        elif isinstance(event, KeyRejected):
            if event.reason == "too-short":
                self._pad_said(PromptId.PIN_TOO_SHORT, self.min_len)
                self._cue("error")
                a.teller("entry.teller.too_short", count=self._count, min=self.min_len)
                self._after_pad_speech = self._count
            elif event.reason == "max-length":
                self._cue("error")
                a.teller("entry.teller.max_reached", max=self.max_len)
                self._prompt(PromptId.MAX_REACHED)
            elif event.reason == "no-more-extensions":
                self._pad_said(PromptId.HELP)
                self._cue("error")
                a.teller("entry.teller.no_more_extensions")
        elif isinstance(event, TimeWarning):
            self._pad_said(PromptId.TIME_WARNING, event.seconds_left)
            if not self.pad.headset:   # with a headset in, the pad vibrates by itself
                self._cue("warning")
            a.teller("entry.teller.warning", seconds=event.seconds_left)
        elif isinstance(event, TimeExtended):
            self._pad_said(PromptId.TIME_EXTENDED, event.seconds_left)
            if event.by == "customer":
                ident, args = self._instruction()
                self._pad_said(ident, *args)    # queued by the pad after TIME_EXTENDED
                if self._count:                 # ... and how many digits are in already
                    self._pad_said(PromptId.DIGITS_ENTERED, self._count)
                a.teller("entry.teller.customer_extended", seconds=event.seconds_left)
            else:
                a.teller("entry.teller.extended", seconds=event.seconds_left)
        elif isinstance(event, PinMismatch):
            self.mismatches += 1
            self._count = 0
            self._cue("error")
            left = event.attempts_left if event.attempts_left is not None else 0
            a.teller("entry.teller.mismatch", count=left)
            if left > 0:
                self._stage = 1
                self._pad_said(PromptId.PIN_MISMATCH_LEFT, left)
        elif isinstance(event, SpeechEnded):
            if event.failed:
                self._failures_seen += 1
                if self._failures_seen == 1:
                    a.teller("common.teller_speech_failed")
            if event.utterance not in self.guide.pad_channel.said:
                pending, self._after_pad_speech = self._after_pad_speech, None
                if pending is not None and event.how == "completed":
                    self._prompt(PromptId.DIGITS_ENTERED, pending)
        elif isinstance(event, HeadsetInserted):
            self._pad_said(PromptId.HEADSET_IN)
        elif isinstance(event, Completed):
            self._finish(event)

    def _cue_key(self) -> None:
        if self.profile.digit_feedback == "haptic" and not self.pad.headset:
            self._cue("accepted")

    def _digit_feedback(self, count: int) -> None:
        """Identical for every digit: only the count and the profile decide."""
        at_max = count >= self.max_len
        if at_max and self.auto_end:
            self._cue_key()
            return   # the entry ends by itself now: the pad's closing words follow
        feedback = self.profile.digit_feedback
        if feedback == "haptic":
            self._cue_key()
        if at_max:
            self._prompt(PromptId.MAX_REACHED)
        elif feedback == "count":
            self._prompt(PromptId.DIGITS_ENTERED, count)

    # -- after the entry: the result in words --------------------------------------------------------
    def _finish(self, event: Completed) -> None:
        self._done = True
        completion = event.completion
        self.status = _STATUS.get(completion, "error")
        closing = _CLOSING_CHANGE if self.change else _CLOSING
        if completion.pin_kept:
            self._pad_said(PromptId.PIN_CHANGED if self.change else PromptId.ENTRY_COMPLETE)
        elif completion in closing:
            self._pad_said(closing[completion])
        self._cue(_END_CUE.get(self.status, "error"))
        self._leave_entry()
        self._restore_speech_settings()
        self.announcer.teller("entry.teller.change_result" if self.change else
                              "entry.teller.result", event.digits,
                              status=self.announcer.text(f"entry.status.{self.status}"))
        msgid = {"ok": "entry.result.changed" if self.change else "entry.result.ok",
                 "cancelled": "entry.result.change_cancelled" if self.change
                 else "entry.result.cancelled", "timeout": "entry.result.timeout",
                 "mismatch": "entry.result.mismatch", "error": "entry.result.error"}[self.status]
        values = {"times": self._times(self.mismatches)} if self.status == "mismatch" else {}
        self._say_after(msgid, **values)
        self._open_result_listener()

    def _say_after(self, msgid: str, **values: Any) -> None:
        """Free text in IDLE, queued after the pad's own closing prompt (spoken, or shown
        silently for a customer without speech: waited for alike)."""
        ids = self.guide.pad_channel.said
        before = len(ids)
        try:
            item = self.announcer.say(msgid, queue=True, **values)
        except TactileError as exc:
            _log.warning("guidance could not say the result: %s", exc)
            return
        self._result_ids = list(ids[before:])
        self._result_text = item.text

    def _open_result_listener(self) -> None:
        """From the end of the entry on, the pad's IDLE events are collected (no key the
        customer presses while the result is said is lost before the ``with`` block ends)."""
        if not self.wait_result or not self._result_ids:
            return
        try:
            listener = self.pad.listen()
            listener.__enter__()
            self._listener = listener
        except TactileError as exc:
            _log.debug("no listener for the result: %s", exc)

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.__exit__(None, None, None)

    def _wait_result(self) -> None:
        """Leaving the ``with`` block waits (bounded) until the result has been said, or the
        customer pressed a key (Help says it again): the teller's next step would otherwise
        cut it off."""
        ids, self._result_ids = self._result_ids, []
        listener, self._listener = self._listener, None
        seconds = (len(self._result_text) + 60) / _SLOWEST_CPS[self.lang] * 100 / \
            max(50, self.profile.rate) + 3.0
        try:
            if not ids or self.pad.state in ENTRY_STATES:
                return
            if listener is None:
                listener = self.pad.listen()
                listener.__enter__()
                if not self.pad.status().speaking:
                    return
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                event = listener.next(min(left, 0.25))
                if not (isinstance(event, SpeechEnded) and event.utterance == ids[-1]):
                    continue
                if event.how != "interrupted-by-key" or \
                        self._key_after_cut(listener) != "help":
                    return   # said to its end, or the customer acts: no more waiting
                before = len(self.guide.pad_channel.said)
                self.announcer.repeat()      # Help: the result again
                ids = list(self.guide.pad_channel.said[before:]) or ids
                deadline = time.monotonic() + seconds
        except TactileError as exc:
            _log.debug("not waiting for the result to be said: %s", exc)
        finally:
            if listener is not None:
                listener.__exit__(None, None, None)
