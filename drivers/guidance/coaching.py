"""Fingerprint coaching and reading terms aloud, through the PIN pad.

The fingerprint reader has no speaker and no display, so everything the customer needs to
hear, see or feel while a finger is captured goes through the pad (and the teller's screen),
as the :class:`~drivers.guidance.channels.Announcer` renders it for the profile:

* :class:`Coach` turns the reader's events (:mod:`drivers.fingerprint.events`) and errors into
  spoken / shown / felt instructions: where the reader is relative to the keypad, place, hold
  still, lift, place again through the enrollment stages ("the second of three"), a reason and
  a remedy for every unusable scan, the result, and at most N attempts.  Each step is also a
  typed :class:`CoachStep` (fprintd's status word, the catalogue msgid, the words, what the
  customer is asked to do) for a teller screen or a test's virtual customer.
* :class:`TermsReader` reads a long text aloud in parts (each within the pad's 900-byte Speak
  limit), repeatable (Help), interruptible (any key pauses), skippable (Enter: "I have heard
  it") and cancellable (Cancel); for a customer who cannot hear it pages the text through the
  pad's small display in large type (Enter next, Backspace back) while the teller's feed shows
  it all.  The outcome is a :class:`TermsResult`.

A teller developer uses it through :class:`~drivers.guidance.Guide`::

    guide = Guide(pad, lang="zh-CN", profile="blind", teller=screen.append,
                  reader_position="right")                      # from the counter's config
    terms = guide.read_terms(text, title="借记卡换卡条款")          # -> TermsResult
    if terms.completed:
        template = guide.enroll_finger(reader, captures=3, on_event=screen.show_step)
        result = guide.verify_finger(reader, template)          # profile.fingerprint_attempts
        print(result.matched, result.score, result.attempts_used)

Status words follow fprintd's vocabulary (``enroll-stage-passed``, ``enroll-retry-scan``,
``enroll-finger-not-centered``, ``enroll-remove-and-retry``, ``enroll-duplicate``,
``enroll-completed``, ``enroll-failed``, ``enroll-data-full``, ``enroll-disconnected``,
``enroll-unknown-error``, ``verify-match``, ``verify-no-match``, ``verify-retry-scan``,
``verify-finger-not-centered``, ``verify-remove-and-retry``, ``verify-disconnected``,
``verify-unknown-error``).  fprintd has no words for the steps between (it leaves them to the
UI); ours are ``<mode>-start``, ``<mode>-place-finger``, ``<mode>-finger-detected``,
``<mode>-lift-finger``, ``<mode>-finger-lifted``, ``<mode>-reminder`` (the time limit is near),
``<mode>-repeat`` (Help), ``<mode>-failed`` with a ``reason`` (no-finger, not-lifted,
no-usable-image, finger-moved, or a retry reason after too many tries) and ``<mode>-cancelled``.
Identification uses the ``verify-`` words, as fprintd does.

Threads: the reader's flows block the caller and call ``on_event`` in its thread.  While one
runs, a small helper thread listens to the pad (Help repeats the current instruction, Cancel
stops at the reader's next step) and warns before the capture time limit runs out ("place your
finger on the reader now: it is to the right of the keypad"); it is joined before the call
returns.  Announcements from both threads are serialised by one lock.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator

from protocol.errors import (
    ConfigurationError,
    DeviceTimeoutError,
    LocalProtocolError,
    TactileError,
    TransportError,
)
from protocol.tpp.codes import HELP_EXTENSIONS
from protocol.tpp.display import join_words, paginate, read_page

from drivers.fingerprint.errors import (
    AlreadyEnrolledError,
    CaptureError,
    FingerprintError,
    FingerTimeoutError,
    LibraryFullError,
    MergeError,
)
from drivers.fingerprint.events import (
    EnrollCompleted,
    FingerDetected,
    FingerLifted,
    LiftFinger,
    Matched,
    NoMatch,
    PlaceFinger,
    ReaderEvent,
    RetryScan,
    StagePassed,
)
from drivers.guidance.catalog import number_words, ordinal_words
from drivers.guidance.channels import Announcement, Announcer

__all__ = [
    "CoachStep",
    "Coach",
    "RETRY_REASONS",
    "FingerprintCancelled",
    "TooManyRetriesError",
    "TermsResult",
    "TermsReader",
    "TERMS_OUTCOMES",
    "TERMS_TEXT_ID",
    "capture_timeout",
    "speech_parts",
]

_log = logging.getLogger("drivers.guidance.coaching")

#: module confirmation code -> (reason, fprintd suffix, catalogue id of reason + remedy)
RETRY_REASONS: dict[int, tuple[str, str, str]] = {
    0x03: ("capture-failed", "retry-scan", "fingerprint.retry.capture_failed"),
    0x15: ("capture-failed", "retry-scan", "fingerprint.retry.capture_failed"),
    0x04: ("too-dry", "retry-scan", "fingerprint.retry.too_dry"),
    0x05: ("too-wet", "retry-scan", "fingerprint.retry.too_wet"),
    0x06: ("unclear", "retry-scan", "fingerprint.retry.unclear"),
    0x07: ("too-few-features", "finger-not-centered", "fingerprint.retry.not_centred"),
    0x17: ("residue", "remove-and-retry", "fingerprint.retry.residue"),
    0x0A: ("finger-moved", "retry-scan", "fingerprint.retry.finger_moved"),
}
_OTHER_RETRY = ("unusable", "retry-scan", "fingerprint.retry.other")
#: reason -> its short name for the teller's screen
_REASON_IDS = {
    "capture-failed": "fingerprint.reason.capture_failed",
    "too-dry": "fingerprint.reason.too_dry",
    "too-wet": "fingerprint.reason.too_wet",
    "unclear": "fingerprint.reason.unclear",
    "too-few-features": "fingerprint.reason.too_few_features",
    "residue": "fingerprint.reason.residue",
    "finger-moved": "fingerprint.reason.finger_moved",
    "unusable": "fingerprint.reason.unusable",
}

_POSITION_IDS = {
    "right": "fingerprint.position.right",
    "left": "fingerprint.position.left",
    "above": "fingerprint.position.above",
    "below": "fingerprint.position.below",
    "front": "fingerprint.position.front",
    "behind": "fingerprint.position.behind",
    None: "fingerprint.position.unknown",
}


class FingerprintCancelled(TactileError):
    """The customer pressed Cancel on the pad during fingerprint coaching (or the teller
    called :meth:`Coach.cancel`); the reader's flow was stopped at its next step."""


class TooManyRetriesError(CaptureError):
    """No usable scan in the profile's number of attempts for one capture; ``code`` is the
    module's code of the last unusable scan, ``retries`` how many there were."""

    def __init__(self, message: str, *, code: int | None, retries: int) -> None:
        super().__init__(message, code=code, meaning="no usable scan")
        self.retries = retries


def capture_timeout(profile: Any) -> float:
    """Seconds allowed for each place / lift: a third of the profile's PIN entry time limit,
    at least 10 s (standard 10 s, deaf 15 s, blind 20 s, elderly 30 s)."""
    return max(10.0, float(profile.time_limit) / 3)


def _count_words(n: int, lang: str) -> str:
    """A count for the ear: Mandarin counts two things as 两, not 二."""
    if lang == "zh-CN" and n == 2:
        return "两"
    return number_words(n, lang)


@dataclass(frozen=True, slots=True)
class CoachStep:
    """One step of fingerprint coaching, as a teller screen or a test sees it.

    ``status``: the fprintd-style status word; ``msgid``/``text``: what was said and shown
    (``""`` for a silent step such as ``enroll-finger-lifted``); ``mode``: enroll, verify or
    identify; ``action``: what the customer is asked to do now ("place", "hold", "lift",
    "retry": lift and place again as the remedy says, "wait", or None); ``stage``/``stages``
    (enrollment), ``attempt``/``attempts`` (verification); ``reason``/``code``: why a scan
    was not usable (see :data:`RETRY_REASONS`); ``final``: the flow has ended with this step;
    ``ok``: it ended well; ``event``: the reader event or error behind it."""

    status: str
    msgid: str | None
    text: str
    mode: str
    action: str | None = None
    stage: int = 0
    stages: int = 0
    attempt: int = 0
    attempts: int = 0
    reason: str | None = None
    code: int | None = None
    final: bool = False
    ok: bool = False
    event: Any = None

    def __str__(self) -> str:
        return f"{self.status}: {self.text}" if self.text else self.status


class Coach:
    """Coaching for one enroll / verify / identify flow: pass it as the reader's ``on_event``.

    ``announcer``: where the words go; ``profile``: the customer's profile (speech, haptics,
    ``repeat_instructions``, ``spatial``, ``fingerprint_attempts``); ``mode``: "enroll",
    "verify" or "identify"; ``position``: where the reader is relative to the keypad (one of
    :data:`drivers.guidance.guide.READER_POSITIONS`, or None); ``on_step``: receives every
    :class:`CoachStep`; ``max_retries``: unusable scans allowed per capture before the coach
    stops the flow with :class:`TooManyRetriesError` (default: the profile's
    ``fingerprint_attempts``); ``timeout``: the reader's capture time limit, for the reminder.

    Use :meth:`start` before the reader call, the coach as ``on_event``, and :meth:`failed`
    with the error if the call raises; :meth:`finish` (or the context manager) ends the helper
    thread.  :class:`~drivers.guidance.Guide`'s ``enroll_finger``/``verify_finger`` do all that.
    """

    def __init__(self, announcer: Announcer, profile: Any, *, mode: str = "enroll",
                 position: str | None = "right",
                 on_step: Callable[[CoachStep], object] | None = None,
                 max_retries: int | None = None, timeout: float | None = None,
                 pad: Any = None, reader: Any = None) -> None:
        #: the reader whose wait Help extends (``extend_wait``), as Help does in a PIN entry
        self.reader = reader
        self.extensions = 0
        if mode not in ("enroll", "verify", "identify"):
            raise ConfigurationError(f"coaching mode is enroll, verify or identify, not {mode!r}")
        if position not in _POSITION_IDS:
            names = ", ".join(p for p in _POSITION_IDS if p)
            raise ConfigurationError(f"reader position is one of {names} or None, "
                                     f"not {position!r}")
        self.announcer = announcer
        self.profile = profile
        self.mode = mode
        self.position = position
        self.on_step = on_step
        self.max_retries = int(profile.fingerprint_attempts if max_retries is None
                               else max_retries)
        if self.max_retries < 1:
            raise ConfigurationError(f"max_retries must be 1 or more, not {max_retries!r}")
        self.timeout = float(timeout if timeout is not None else capture_timeout(profile))
        self.pad = pad
        self.steps: list[CoachStep] = []
        #: verification attempts allowed (for the steps' ``attempts``; set by the flow)
        self.attempts = 0
        self.retries = 0                 # unusable scans of the current capture
        self.cancelled = False
        self._stage = (0, 0)
        self._last_kind = "result"      # the previous announcement: "instruction" or "result"
        self._current: CoachStep | None = None
        self._current_say: tuple[str, int | None, dict[str, Any]] | None = None
        self._lock = threading.RLock()
        self._helper: _Helper | None = None
        self._reminder_at: float | None = None
        self._reminder_id: str | None = None
        self._place_deadline = 0.0
        self._final_said: tuple[set[int], str] | None = None   # the result's utterances
        self._ended: set[int] = set()        # utterances the pad said it ended (helper)
        self._key_after_final = False

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> "Coach":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()

    @property
    def lang(self) -> str:
        return self.announcer.lang

    def _word(self) -> str:
        return "verify" if self.mode == "identify" else self.mode

    def position_text(self) -> str:
        """Where the reader is, as a phrase ("to the right of the keypad")."""
        return self.announcer.text(_POSITION_IDS[self.position])

    def start(self, *, stages: int = 0, listen: bool = True) -> CoachStep:
        """Say where the reader is and what will happen; start the helper thread (Help /
        Cancel on the pad, the time-limit reminder) unless ``listen`` is False."""
        position = self.position_text()
        where_id = ("fingerprint.where_full" if self.profile.spatial == "full"
                    else "fingerprint.where")
        with self._lock:
            self.announcer.say(where_id, position=position, haptic="attention")
            heard = self.announcer.speak_enabled      # "hear it again" / "see it again"
            if self.mode == "enroll":
                step = self._announce(f"{self._word()}-start", "fingerprint.enroll.intro" if heard
                                      else "fingerprint.enroll.intro_shown", "wait",
                                      kind="result", queue=True, stages=stages,
                                      values={"stages": _count_words(stages, self.lang)})
            else:
                step = self._announce(f"{self._word()}-start", "fingerprint.controls" if heard
                                      else "fingerprint.controls_shown", "wait",
                                      kind="result", queue=True)
        if listen and self.pad is not None:
            self._helper = _Helper(self)
            self._helper.start()
        return step

    def finish(self) -> None:
        """End the helper thread (idempotent)."""
        helper, self._helper = self._helper, None
        self._reminder_at = None
        if helper is not None:
            helper.stop()

    # -- announcing ----------------------------------------------------------------------
    def _announce(self, status: str, msgid: str | None, action: str | None, *,
                  kind: str = "instruction", queue: bool | None = None, tone: str | None = None,
                  haptic: str | None = None, values: dict[str, Any] | None = None,
                  count: int | None = None, event: Any = None, **fields: Any) -> CoachStep:
        with self._lock:
            text = ""
            if msgid is not None:
                # a new instruction cuts the one being spoken (a finger placed early must not
                # wait for speech); an instruction right after a result waits for the result
                if queue is None:
                    queue = self._last_kind == "result" and kind == "instruction"
                utterances = self._utterances()
                before = len(utterances)
                item = self.announcer.say(msgid, count, tone=tone, haptic=haptic, queue=queue,
                                          **(values or {}))
                text = item.text
                if fields.get("final"):
                    self._final_said = (set(utterances[before:]), text)
                    self._key_after_final = False
                    self._current_say = (msgid, count, dict(values or {}))  # Help repeats it
                if kind == "instruction":
                    self._current_say = (msgid, count, dict(values or {}))
                    if self.profile.repeat_instructions and action in ("place", "lift", "retry"):
                        # the same words again, after them (elderly profile)
                        self.announcer.say(msgid, count, queue=True, **(values or {}))
                self._last_kind = kind
            elif tone or haptic:
                self.announcer.cue(tone=tone, haptic=haptic)
            step = CoachStep(status=status, msgid=msgid, text=text, mode=self.mode,
                             action=action, event=event, **fields)
            self.steps.append(step)
            if msgid is not None and (kind == "instruction" or step.final):
                self._current = step
            if self.on_step is not None:
                self.on_step(step)
            return step

    def _utterances(self) -> list[int]:
        for channel in self.announcer.channels:
            if getattr(channel, "pad", None) is self.pad and hasattr(channel, "utterances"):
                # spoken and silently shown alike: the step ends when its words are through
                return getattr(channel, "said", channel.utterances)  # type: ignore
        return []

    def wait_said(self, limit: float | None = None) -> str:
        """Wait until the pad has said the result (so the next step does not cut it): "said",
        "key" (the customer pressed a key), "limit" (``limit`` s, default a generous bound
        from the text's length), or "none" (nothing to wait for: no speech, or no helper)."""
        final = self._final_said
        if final is None or not final[0] or self._helper is None:
            return "none"
        ids, text = final
        if limit is None:
            limit = speech_time(text, self.lang, int(self.profile.rate))
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if ids <= self._ended:
                return "said"
            if self._key_after_final:
                return "key"
            time.sleep(0.02)
        return "limit"

    def _teller(self, msgid: str, count: int | None = None, **values: Any) -> None:
        with self._lock:
            self.announcer.teller(msgid, count, **values)

    def _arm_reminder(self, waiting_for: str | None, deadline: float | None = None) -> None:
        """Warn before the reader's limit for ``waiting_for`` ("place", "lift") runs out
        (``deadline``: a monotonic time; default: the full limit from now); None disarms."""
        if waiting_for is None:
            self._reminder_at = None
            return
        now = time.monotonic()
        if deadline is None:
            deadline = now + self.timeout
        if waiting_for == "place":
            self._place_deadline = deadline
        # 5 s before the limit, or at half time for a short one
        lead = min(5.0, self.timeout / 2)
        self._reminder_id = ("fingerprint.reminder.place" if waiting_for == "place"
                             else "fingerprint.reminder.lift")
        self._reminder_at = deadline - lead if deadline - lead > now else None

    def remind(self) -> CoachStep | None:
        """The time-limit warning (called by the helper thread when it is due)."""
        with self._lock:
            due, msgid = self._reminder_at, self._reminder_id
            if due is None or msgid is None or time.monotonic() < due:
                return None     # disarmed meanwhile (the finger came)
            self._reminder_at = None
            return self._announce(f"{self._word()}-reminder", msgid, None, kind="result",
                                  queue=False, tone="warning", haptic="warning",
                                  values={"position": self.position_text()}
                                  if msgid.endswith(".place") else {})

    def repeat(self) -> CoachStep | None:
        """Say the current instruction again (Help on the pad); for "place", with where the
        reader is.  While the reader waits for the finger (or its lift), Help also gives the
        customer the full time limit again, at most :data:`HELP_EXTENSIONS` times a step, as
        in a PIN entry."""
        with self._lock:
            step, said = self._current, self._current_say
            if step is None or said is None:
                return None
            if step.action in ("place", "lift", "retry") and not step.final and \
                    self.reader is not None and self.extensions < HELP_EXTENSIONS:
                self.extensions += 1
                extend = getattr(self.reader, "extend_wait", None)
                if extend is not None:
                    extend(self.timeout)
                    self._arm_reminder("lift" if step.action == "lift" else "place",
                                       time.monotonic() + self.timeout)
                    self._teller("fingerprint.teller.extended", seconds=round(self.timeout))
            msgid, count, values = said
            utterances = self._utterances()
            before = len(utterances)
            if step.action == "place":
                self.announcer.say("fingerprint.where", position=self.position_text())
                item = self.announcer.say(msgid, count, queue=True, **values)
            else:
                item = self.announcer.say(msgid, count, **values)
            if step.final:      # the result again: the flow's end waits for this one now
                self._final_said = (set(utterances[before:]), item.text)
            repeated = replace(step, status=f"{self._word()}-repeat", text=item.text, event=None)
            self.steps.append(repeated)
            if self.on_step is not None:
                self.on_step(repeated)
            return repeated

    def cancel(self) -> None:
        """Stop the flow at the reader's next step (Cancel on the pad, or the teller)."""
        with self._lock:
            if self.cancelled or (self.steps and self.steps[-1].final):
                return            # already stopped, or already ended: nothing to cancel
            self.cancelled = True
            self._reminder_at = None
            self._announce(f"{self._word()}-cancelled", "fingerprint.cancelled", None,
                           kind="result", queue=False, tone="error", haptic="error", final=True)

    # -- the reader's events ---------------------------------------------------------------
    def __call__(self, event: ReaderEvent) -> None:
        with self._lock:
            if self.cancelled:
                raise FingerprintCancelled("the customer cancelled the fingerprint step on the pad")
            self._handle(event)

    def _handle(self, event: ReaderEvent) -> None:
        w = self._word()
        lang = self.lang
        if isinstance(event, PlaceFinger):
            self._arm_reminder("place")
            if self.mode != "enroll":
                self.retries = 0
                attempt = 1 + sum(s.status == f"{w}-place-finger" for s in self.steps)
                self._announce(f"{w}-place-finger",
                               "fingerprint.verify.place" if attempt == 1
                               else "fingerprint.verify.place_again",
                               "place", tone="attention", haptic="attention", event=event,
                               attempt=attempt, attempts=self.attempts)
                return
            self._stage = (event.stage, event.stages)
            again = event.stage > 1 or any(s.status == "enroll-place-finger" for s in self.steps)
            if event.stage <= 1 and not again:
                msgid = "fingerprint.enroll.place_first"
            else:
                msgid = "fingerprint.enroll.place_again"
            self._announce("enroll-place-finger", msgid, "place", tone="attention",
                           haptic="attention", event=event, stage=event.stage, stages=event.stages,
                           values={"ordinal": ordinal_words(event.stage, lang),
                                   "stages": _count_words(event.stages, lang)})
        elif isinstance(event, FingerDetected):
            self._arm_reminder(None)
            stage, stages = self._stage
            self._announce(f"{w}-finger-detected", "fingerprint.hold", "hold", event=event,
                           stage=stage, stages=stages)
        elif isinstance(event, LiftFinger):
            self._arm_reminder("lift")
            stage, stages = self._stage
            self._announce(f"{w}-lift-finger", "fingerprint.lift", "lift", event=event,
                           stage=stage, stages=stages)
        elif isinstance(event, FingerLifted):
            self._arm_reminder(None)
            stage, stages = self._stage
            self._announce(f"{w}-finger-lifted", None, "wait", event=event, stage=stage,
                           stages=stages)
        elif isinstance(event, RetryScan):
            self._retry(event)
        elif isinstance(event, StagePassed):
            self.retries = 0
            self._stage = (event.stage, event.stages)
            last = event.stage >= event.stages
            self._announce("enroll-stage-passed",
                           "fingerprint.enroll.last_passed" if last
                           else "fingerprint.enroll.stage_passed",
                           "wait", kind="result", queue=False, haptic="key", event=event,
                           stage=event.stage, stages=event.stages,
                           values={} if last else {"ordinal": ordinal_words(event.stage, lang)})
        elif isinstance(event, EnrollCompleted):
            self._arm_reminder(None)
            stage, stages = self._stage
            self._announce("enroll-completed", "fingerprint.enroll.completed", None,
                           kind="result", queue=False, tone="success", haptic="done", event=event,
                           stage=stage, stages=stages, final=True, ok=True)
            self._teller("fingerprint.teller.enrolled", stages=stages)
            if event.slot is not None:
                self._teller("fingerprint.teller.stored", slot=event.slot)
        elif isinstance(event, Matched):
            self._arm_reminder(None)
            msgid = ("fingerprint.identify.match" if self.mode == "identify"
                     else "fingerprint.verify.match")
            self._announce("verify-match", msgid, None, kind="result", queue=False,
                           tone="success", haptic="done", event=event, final=True, ok=True)
            self._teller("fingerprint.teller.match", score=event.score)
        elif isinstance(event, NoMatch):
            self._arm_reminder(None)
            self.retries = 0
            left = event.attempts - event.attempt
            fields = {"attempt": event.attempt, "attempts": event.attempts, "event": event}
            if left > 0:
                self._announce("verify-no-match", "fingerprint.verify.no_match", "wait",
                               kind="result", queue=False, tone="error", haptic="error",
                               count=left, values={"times": _count_words(left, lang)}, **fields)
            else:
                msgid = ("fingerprint.identify.failed" if self.mode == "identify"
                         else "fingerprint.verify.failed")
                self._announce("verify-no-match", msgid, None, kind="result", queue=False,
                               tone="error", haptic="error", final=True, **fields)
            self._teller("fingerprint.teller.no_match", attempt=event.attempt,
                         attempts=event.attempts, score=event.score)

    def _retry(self, event: RetryScan) -> None:
        w = self._word()
        reason, suffix, msgid = RETRY_REASONS.get(event.code, _OTHER_RETRY)
        self.retries += 1
        stage, stages = self._stage if self.mode == "enroll" else (0, 0)
        if self.retries >= self.max_retries:
            self._arm_reminder(None)
            times = _count_words(self.retries, self.lang)
            self._announce(f"{w}-failed", "fingerprint.too_many_retries", None, kind="result",
                           queue=False, tone="error", haptic="error", event=event,
                           reason=reason, code=event.code, stage=stage, stages=stages, final=True,
                           values={"times": times})
            raise TooManyRetriesError(
                f"no usable fingerprint scan in {self.retries} tries (last: code "
                f"0x{event.code:02X}, {reason}). Ask the customer to clean and dry the finger, "
                "clean the sensor window, or use another finger or a fallback.",
                code=event.code, retries=self.retries)
        # the reader's limit for this capture still runs from its PlaceFinger
        self._arm_reminder("place", self._place_deadline)
        self._announce(f"{w}-{suffix}", msgid, "retry", queue=False, tone="error",
                       haptic="error", event=event, reason=reason, code=event.code,
                       stage=stage, stages=stages)
        self._teller("fingerprint.teller.retry", reason=self.announcer.text(_REASON_IDS[reason]),
                     code=f"{event.code:02X}", tries=self.retries)

    # -- errors --------------------------------------------------------------------------
    def failed(self, exc: BaseException) -> CoachStep | None:
        """Tell the customer (and the teller) how the flow ended when the reader call raised."""
        self._arm_reminder(None)
        w = self._word()
        if isinstance(exc, (TooManyRetriesError, FingerprintCancelled)):
            return None  # already said
        if isinstance(exc, AlreadyEnrolledError):
            step = self._announce("enroll-duplicate", "fingerprint.enroll.duplicate", None,
                                  kind="result", queue=False, tone="error", haptic="error",
                                  event=exc, final=True)
            if exc.slot is not None:
                self._teller("fingerprint.teller.duplicate", slot=exc.slot)
            return step
        if isinstance(exc, FingerTimeoutError):
            lift = exc.waiting_for == "lift"
            step = self._announce(f"{w}-failed",
                                  "fingerprint.timeout.lift" if lift
                                  else "fingerprint.timeout.place",
                                  None, kind="result", queue=False, tone="error", haptic="error",
                                  event=exc, reason="not-lifted" if lift else "no-finger",
                                  final=True)
        elif isinstance(exc, LibraryFullError):
            step = self._announce("enroll-data-full", "fingerprint.enroll.data_full", None,
                                  kind="result", queue=False, tone="error", haptic="error",
                                  event=exc, final=True)
        elif isinstance(exc, (CaptureError, MergeError)):
            msgid = ("fingerprint.enroll.failed" if self.mode == "enroll"
                     else "fingerprint.verify.failed")
            step = self._announce(f"{w}-failed", msgid, None, kind="result", queue=False,
                                  tone="error", haptic="error", event=exc, code=exc.code,
                                  reason="finger-moved" if isinstance(exc, MergeError)
                                  else "no-usable-image", final=True)
        elif isinstance(exc, (TransportError, DeviceTimeoutError)):
            step = self._announce(f"{w}-disconnected", "fingerprint.reader_fault", None,
                                  kind="result", queue=False, tone="error", haptic="error",
                                  event=exc, final=True)
        elif isinstance(exc, (FingerprintError, TactileError)):
            step = self._announce(f"{w}-unknown-error", "fingerprint.reader_fault", None,
                                  kind="result", queue=False, tone="error", haptic="error",
                                  event=exc, final=True)
        else:
            return None
        self._teller("fingerprint.teller.failed", error=str(exc)[:300])
        return step


class _Helper:
    """The helper thread of a :class:`Coach`: Help / Cancel on the pad, and the reminder."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tactile-coach", daemon=True)
        self._listening = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self._listening.wait(2.0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(5.0)

    def _run(self) -> None:
        from drivers.pinpad.events import SpeechEnded
        from drivers.pinpad.listener import pressed_key

        coach = self.coach
        try:
            listener = coach.pad.listen()
            listener.__enter__()
        except TactileError as exc:  # another session on the pad: reminders only
            _log.info("fingerprint coaching without pad keys: %s", exc)
            listener = None
        self._listening.set()
        try:
            while not self._stop.is_set():
                if listener is not None:
                    try:
                        event = listener.next(0.05)
                    except TactileError as exc:
                        _log.warning("pad keys lost during fingerprint coaching: %s", exc)
                        listener.close()
                        listener = None
                        continue
                    if isinstance(event, SpeechEnded):
                        coach._ended.add(event.utterance)
                    key = pressed_key(event)
                    if key not in (None, "help") and coach._final_said is not None:
                        coach._key_after_final = True   # Help after the result repeats it
                    try:
                        if key == "help":
                            coach.repeat()
                        elif key == "cancel":
                            coach.cancel()
                    except TactileError as exc:
                        _log.warning("fingerprint coaching could not answer %s: %s", key, exc)
                else:
                    self._stop.wait(0.05)
                due = coach._reminder_at
                if due is not None and time.monotonic() >= due and not self._stop.is_set():
                    try:
                        coach.remind()
                    except TactileError as exc:
                        _log.warning("fingerprint reminder failed: %s", exc)
        finally:
            if listener is not None:
                listener.close()


def speech_time(text: str, lang: str, rate: int = 100) -> float:
    """A generous bound on how long a pad takes to say ``text`` (about 4 Mandarin characters
    or 12 English characters a second at 100 %), for waits that must not hang."""
    cps = 4.0 if lang == "zh-CN" else 12.0
    return 1.0 + len(text) / (cps * max(50, rate or 100) / 100)


def await_speech(listener: Any, ids: set[int], limit: float) -> str:
    """Wait until the pad has said utterances ``ids`` ("said"), a key was pressed ("key":
    the customer is acting, and the key cut the speech anyway), or ``limit`` s ("limit")."""
    from drivers.pinpad.events import SpeechEnded
    from drivers.pinpad.listener import pressed_key

    pending = set(ids)
    deadline = time.monotonic() + limit
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            return "limit"
        event = listener.next(min(left, 0.1))
        if isinstance(event, SpeechEnded):
            pending.discard(event.utterance)
        elif pressed_key(event) is not None:
            return "key"
    return "said"


# -- reading terms ---------------------------------------------------------------------------
#: the ``msgid`` of announcements that carry the terms' own words (not a catalogue id: the
#: text is the bank's, said exactly as given)
TERMS_TEXT_ID = "terms-text"
#: how a reading of terms can end
TERMS_OUTCOMES = ("heard", "read", "skipped", "cancelled", "timeout", "failed")

_SPEAK_LIMIT = 900          # bytes per Speak (the pad's limit, TPP)
_PART_BYTES = 360           # one repeatable part: a few sentences (about 20 s of English)
_SENTENCE_END = "。！？；.!?;"
_CLAUSE_END = "，、：,:"


@dataclass(frozen=True, slots=True)
class TermsResult:
    """How a reading of terms ended.

    ``outcome``: "heard" (spoken to the end), "read" (paged to the end on the display),
    "skipped" (Enter before the end: "I have heard it"), "cancelled" (Cancel), "timeout" (no
    key while paused), "failed" (the pad could not speak it); ``completed`` is True for heard
    and read.  ``mode``: "spoken" or "shown"; ``parts``: parts (spoken) or pages (shown);
    ``reached``: how many of them the customer got through; ``repeats``: Help / Backspace
    repeats; ``acknowledged``: the customer pressed Enter at the end; ``sha256``: of the exact
    text; ``lang``; ``skip_confirmed``: a skip the customer confirmed when asked."""

    outcome: str
    mode: str
    parts: int
    reached: int
    repeats: int
    acknowledged: bool
    lang: str
    sha256: str
    #: Enter before the end, then Enter again when asked "go on without the rest?"
    skip_confirmed: bool = False

    @property
    def completed(self) -> bool:
        return self.outcome in ("heard", "read")

    def __bool__(self) -> bool:
        return self.completed


def _split_sentences(text: str) -> Iterator[str]:
    start = 0
    n = len(text)
    for i, ch in enumerate(text):
        end = ch == "\n" or (ch in _SENTENCE_END and (i + 1 == n or text[i + 1].isspace()
                                                      or ch in "。！？；"))
        if end:
            piece = text[start:i + 1].strip()
            if piece:
                yield piece
            start = i + 1
    tail = text[start:].strip()
    if tail:
        yield tail


def _cut(piece: str, limit: int) -> list[str]:
    """A sentence longer than ``limit`` bytes cut at clause marks, spaces, or anywhere."""
    out: list[str] = []
    while len(piece.encode()) > limit:
        cut = len(piece)
        while len(piece[:cut].encode()) > limit:
            cut -= 1
        best = max((piece.rfind(c, 0, cut) for c in _CLAUSE_END + " "), default=-1)
        if best > cut // 3:
            cut = best + 1
        out.append(piece[:cut].strip())
        piece = piece[cut:].strip()
    if piece:
        out.append(piece)
    return out


def speech_parts(text: str, part_bytes: int = _PART_BYTES, limit: int = _SPEAK_LIMIT) -> list[str]:
    """The text in repeatable parts: whole sentences grouped up to ``part_bytes`` UTF-8 bytes,
    a sentence above ``limit`` (the pad's Speak limit) cut at a clause mark or space."""
    parts: list[str] = []
    current = ""
    for sentence in _split_sentences(text):
        for piece in _cut(sentence, limit):
            joined = join_words(current, piece)
            if current and len(joined.encode()) > part_bytes:
                parts.append(current)
                current = piece
            else:
                current = joined
    if current:
        parts.append(current)
    return parts


class TermsReader:
    """Reads ``text`` to the customer at ``pad`` through ``announcer`` (see the module doc).

    ``profile``: a profile without speech (or a pad without it) pages the text on the display;
    ``title``: what the text is ("the card replacement terms"); ``wait``: seconds without a
    key while paused, at the end or on a page before the reading ends (default: the profile's
    time limit), with a warning at half time."""

    def __init__(self, pad: Any, announcer: Announcer, profile: Any, text: str, *,
                 title: str | None = None, wait: float | None = None,
                 speaks: bool | None = None, display_cells: int | None = None) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ConfigurationError("the terms text is empty: give the exact text the "
                                     "customer agrees to")
        self.pad = pad
        self.announcer = announcer
        self.profile = profile
        self.text = text
        self.title = title
        self.wait = float(wait if wait is not None else profile.time_limit)
        if not self.wait > 0:
            raise ConfigurationError(f"wait must be a positive number of seconds, not {wait!r}")
        self.speaks = bool(profile.speech) if speaks is None else speaks
        self.display_cells = display_cells
        self.repeats = 0

    # -- helpers -------------------------------------------------------------------------
    def _say_text(self, text: str, msgid: str, *, queue: bool = False,
                  speak: bool | None = None, haptic: str | None = None) -> Announcement:
        """Free words that are not a catalogue message (the terms themselves)."""
        if self.announcer.in_entry:
            raise LocalProtocolError("terms cannot be read while a PIN entry runs")
        return self.announcer.say_text(text, msgid=msgid, speak=speak, haptic=haptic,
                                       queue=queue)

    def _title(self) -> str:
        return self.title or self.announcer.text("fingerprint.terms.default_title")

    def _result(self, outcome: str, mode: str, parts: int, reached: int,
                acknowledged: bool = False) -> TermsResult:
        return TermsResult(outcome=outcome, mode=mode, parts=parts, reached=reached,
                           repeats=self.repeats, acknowledged=acknowledged,
                           lang=self.announcer.lang,
                           sha256=hashlib.sha256(self.text.encode("utf-8")).hexdigest(),
                           skip_confirmed=outcome == "skipped")

    def _utterances(self) -> list[int]:
        for channel in self.announcer.channels:
            if hasattr(channel, "utterances") and getattr(channel, "pad", None) is self.pad:
                # spoken and silently shown alike: the step ends when its words are through
                return getattr(channel, "said", channel.utterances)  # type: ignore
        return []

    def _final(self, msgid: str, **options: Any) -> None:
        """Say the closing message; :meth:`run` waits until it has been said (bounded, a key
        ends the wait), so the next step of the business does not cut it."""
        utterances = self._utterances()
        before = len(utterances)
        item = self.announcer.say(msgid, **options)
        self._closing = (set(utterances[before:]), item.text)

    def run(self) -> TermsResult:
        self._closing: tuple[set[int], str] | None = None
        with self.pad.listen() as listener:
            listener.drain()
            result = self._spoken(listener) if self.speaks else self._shown(listener)
            if self._closing is not None and self._closing[0]:
                ids, text = self._closing
                await_speech(listener, ids, speech_time(text, self.announcer.lang,
                                                         int(self.profile.rate)))
            return result

    # -- spoken --------------------------------------------------------------------------
    def _spoken(self, listener: Any) -> TermsResult:
        from drivers.pinpad.events import SpeechEnded
        from drivers.pinpad.listener import pressed_key

        a = self.announcer
        parts = speech_parts(self.text)
        n = len(parts)
        a.teller("fingerprint.terms.teller_text", parts=n, text=self.text)
        utterances = self._utterances()

        def speak(index: int) -> tuple[set[int], float]:
            """Say item ``index`` (-1 the introduction, n the end prompt): its utterance ids
            and how long to wait for its end before calling the speech lost."""
            before = len(utterances)
            if index < 0:
                item = a.say("fingerprint.terms.intro", title=self._title())
            elif index >= n:
                item = a.say("fingerprint.terms.end")
            else:
                item = self._say_text(parts[index], TERMS_TEXT_ID)
            # generous: 2 characters a second (Mandarin at half speed is about 2.3) plus 30 s
            return set(utterances[before:]), time.monotonic() + 30 + len(item.text) / 2

        index = -1                # -1: the introduction; 0..n-1: the parts; n: the end prompt
        done = 0                  # parts heard to their end
        state = "playing"         # playing | paused | end
        playing, lost_at = speak(index)
        idle_since = time.monotonic()
        warned = False

        def failed() -> TermsResult:
            a.teller("fingerprint.terms.teller_failed")
            return self._result("failed", "spoken", n, done)

        if not playing:
            return failed()
        while True:
            event = listener.next(0.1)
            key = pressed_key(event)
            if isinstance(event, SpeechEnded):
                if event.utterance not in playing:
                    continue      # an utterance we replaced, or a message of ours
                playing.discard(event.utterance)
                if event.failed:
                    return failed()
                if event.how == "completed":
                    if playing or state != "playing":
                        continue
                    if 0 <= index < n:
                        done = max(done, index + 1)
                    if index < n:
                        index += 1
                        playing, lost_at = speak(index)
                        if not playing:
                            return failed()
                        if index >= n:
                            state, idle_since, warned = "end", time.monotonic(), False
                    continue
                if event.how != "interrupted-by-key" or state != "playing":
                    continue
                # a key cut the part: which one?  (digit keys are never reported in IDLE)
                key = pressed_key(listener.next(0.3))
                if key is None:
                    playing = set()
                    state, idle_since, warned = "paused", time.monotonic(), False
                    a.say("fingerprint.terms.paused")
                    continue
            now = time.monotonic()
            if key is not None:
                idle_since, warned = now, False
                part = min(max(index + 1, 0), n)
                if key == "cancel":
                    self._final("fingerprint.terms.cancelled", tone="error", haptic="error")
                    a.teller("fingerprint.terms.teller_cancelled", part=part, parts=n)
                    return self._result("cancelled", "spoken", n, done)
                if key == "enter":
                    if done >= n:
                        self._final("fingerprint.terms.heard", tone="success", haptic="done")
                        a.teller("fingerprint.terms.teller_heard")
                        return self._result("heard", "spoken", n, done, acknowledged=True)
                    if state == "confirm-skip":     # Enter again: go on without the rest
                        self._final("fingerprint.terms.skipped")
                        a.teller("fingerprint.terms.teller_skipped", part=part, parts=n)
                        return self._result("skipped", "spoken", n, done)
                    # Enter before the end: ask first, the terms are what is agreed to
                    a.stop()
                    playing = set()
                    state, idle_since, warned = "confirm-skip", time.monotonic(), False
                    a.say("fingerprint.terms.skip_confirm", haptic="attention")
                    a.teller("fingerprint.terms.teller_skip_asked", part=part, parts=n)
                    continue
                if state == "confirm-skip":  # not skipping after all: on from this part
                    index = min(max(index, 0), n - 1)
                elif key == "help":          # the current part again (the last one at the end)
                    index = min(max(index, 0), n - 1)
                elif key == "backspace":     # the part before
                    index = max(min(index, n) - 1, 0)
                elif key == "clear":         # from the beginning
                    index = 0
                else:
                    continue
                self.repeats += 1
                state = "playing"
                playing, lost_at = speak(index)
                if not playing:
                    return failed()
                continue
            if state == "playing":
                if playing and now > lost_at:
                    return failed()   # the pad never said the part ended
                continue
            left = self.wait - (now - idle_since)
            if not warned and left <= self.wait / 2:
                warned = True
                a.say("fingerprint.terms.still_there", tone="warning", haptic="warning")
            elif left <= 0:
                if state == "end":   # heard to the end, but Enter was not pressed
                    a.teller("fingerprint.terms.teller_not_confirmed")
                    return self._result("heard", "spoken", n, done)
                self._final("fingerprint.terms.timeout")
                a.teller("fingerprint.terms.teller_timeout", seconds=round(self.wait),
                         part=min(max(index + 1, 0), n), parts=n)
                return self._result("timeout", "spoken", n, done)

    # -- shown ---------------------------------------------------------------------------
    def _pages(self) -> tuple[list[str], bool]:
        """The text laid out for the pad's display (protocol.tpp.display: whole words,
        Mandarin words kept together, ``n/N`` on each page), and whether in large type."""
        info = self.pad.info()
        columns, rows = int(info.display_columns), int(info.display_rows)
        if columns * rows <= 0:
            raise ConfigurationError("this pad has no display and the profile has no speech: "
                                     "the terms cannot be presented on it; hand the customer a "
                                     "printed or large-print copy")
        large = bool(self.announcer.large)
        if self.display_cells is not None:       # a smaller page than the display (tests)
            columns = max(4, min(columns, int(self.display_cells) // max(1, rows)))
        return paginate(self.text, columns, rows, large), large

    def _shown(self, listener: Any) -> TermsResult:
        from drivers.pinpad.listener import pressed_key

        a = self.announcer
        pages, large = self._pages()
        n = len(pages)
        a.teller("fingerprint.terms.teller_shown", parts=n, text=self.text)

        def show(index: int) -> None:
            if index < 0:
                a.say("fingerprint.terms.show_intro", title=self._title(), haptic="attention")
            else:
                # the page stays until the customer turns it: shown as it is, not paged again
                self.pad.display(pages[index], large=large)
                a.displayed(read_page(pages[index])[0], msgid=TERMS_TEXT_ID, haptic="key")

        index = -1
        reached = 0
        show(index)
        idle_since = time.monotonic()
        warned = False
        while True:
            key = pressed_key(listener.next(0.1))
            now = time.monotonic()
            if key is None:
                left = self.wait - (now - idle_since)
                if not warned and left <= self.wait / 2:
                    # a reminder that does not cover the page: felt, and told to the teller
                    warned = True
                    a.cue(haptic="warning")
                    a.teller("fingerprint.terms.teller_still_there")
                elif left <= 0:
                    a.teller("fingerprint.terms.teller_timeout", seconds=round(self.wait),
                             part=max(index + 1, 0), parts=n)
                    return self._result("timeout", "shown", n, reached)
                continue
            idle_since, warned = now, False
            if key == "cancel":
                a.say("fingerprint.terms.shown_cancelled", haptic="cancelled")
                a.teller("fingerprint.terms.teller_cancelled", part=max(index + 1, 0), parts=n)
                return self._result("cancelled", "shown", n, reached)
            if key == "enter":
                if index >= n - 1:
                    reached = n
                    a.say("fingerprint.terms.read_done", haptic="done")
                    a.teller("fingerprint.terms.teller_read")
                    return self._result("read", "shown", n, reached, acknowledged=True)
                index += 1
                reached = max(reached, index)   # pages before this one were read
            elif key == "backspace":
                index = max(index - 1, 0)
                self.repeats += 1
            elif key == "clear":
                index = 0
                self.repeats += 1
            elif key == "help":
                index = max(index, 0)
                self.repeats += 1
            else:
                continue
            show(index)


# -- the flows behind Guide.enroll_finger / verify_finger / identify_finger / read_terms ----------
def run_coached(guide: Any, reader: Any, mode: str, *,
                on_event: Callable[[CoachStep], object] | None,
                timeout: float | None, max_retries: int | None, listen: bool, stages: int = 0,
                wait_result: bool = True, **call: Any) -> Any:
    """One coached reader flow for ``guide``'s customer: ``mode`` "enroll" (``call``: captures,
    slot, check_duplicate, overwrite), "verify" (template, attempts) or "identify" (attempts,
    start, count).  A reader error is announced (its result in words) and re-raised; Cancel on
    the pad raises :class:`FingerprintCancelled`.  With ``wait_result`` the call returns (or
    raises) once the pad has said the result (bounded; a key ends the wait), so the next step
    of the business does not cut "your fingerprint is registered" short."""
    # refuse bad arguments before anything is said to the customer
    if mode == "enroll" and (not isinstance(call.get("captures"), int)
                             or isinstance(call.get("captures"), bool) or call["captures"] < 2):
        raise ConfigurationError(f"an enrollment needs at least 2 captures, not "
                                 f"{call.get('captures')!r}")
    if mode != "enroll" and (not isinstance(call.get("attempts"), int)
                             or isinstance(call.get("attempts"), bool) or call["attempts"] < 1):
        raise ConfigurationError(f"attempts must be 1 or more, not {call.get('attempts')!r}")
    coach = Coach(guide.announcer, guide.profile, mode=mode, position=guide.reader_position,
                  on_step=on_event, max_retries=max_retries, timeout=timeout, pad=guide.pad,
                  reader=reader)
    coach.attempts = int(call.get("attempts") or 0)
    flow = {"enroll": reader.enroll, "verify": reader.verify, "identify": reader.identify}[mode]
    with coach:
        coach.start(stages=stages, listen=listen)
        try:
            result = flow(on_event=coach, timeout=coach.timeout, **call)
        except TactileError as exc:
            if coach.cancelled and not isinstance(exc, FingerprintCancelled):
                if wait_result:
                    coach.wait_said()
                raise FingerprintCancelled("the customer cancelled the fingerprint step on the "
                                           "pad") from exc
            coach.failed(exc)
            if wait_result:
                coach.wait_said()
            raise
        if wait_result:
            coach.wait_said()
        return result


def read_terms(guide: Any, text: str, *, title: str | None = None,
               wait: float | None = None) -> TermsResult:
    """Read ``text`` to ``guide``'s customer (spoken, or paged on the display for a profile
    without speech or a pad that cannot speak): see :class:`TermsReader`."""
    speaks = bool(guide.profile.speech) and bool(guide.pad_channel.speech)
    if not speaks and not guide.pad_channel.display:
        raise ConfigurationError("this pad can neither speak nor show text for this profile: "
                                 "hand the customer a printed or large-print copy of the terms")
    return TermsReader(guide.pad, guide.announcer, guide.profile, text, title=title,
                       wait=wait, speaks=speaks).run()
