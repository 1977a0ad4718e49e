"""Sessions on an open pad: key exploration, PIN entry, PIN change.

Each session is a context manager that is iterable over typed events (:mod:`.events`).  The
pad's reader thread puts events into the session's queue; iteration takes them out in the
caller's thread, with a deadline derived from the pad's own time limit, so nothing waits for
ever.  A session never sees, holds or shows a PIN digit: the pad reports counts only, and the
PIN leaves the pad only as an enciphered ISO 9564 PIN block.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from protocol.errors import DeviceError, DeviceTimeoutError, TactileError, TransportError
from protocol.layout import Layout
from protocol.pinblock import PinBlockFormat
from protocol.tpp import messages as m
from protocol.tpp.codes import (
    RESULT_MEANINGS,
    State,
    EntryEnd,
    KeyStatus,
    ResetReason,
    ResultCode,
    SpeechEnd,
    TamperCause,
)

from drivers.pinpad.events import (
    Completed,
    Completion,
    DigitAccepted,
    EntryReady,
    HeadsetInserted,
    HeadsetRemoved,
    KeyPressed,
    KeyRejected,
    PadEvent,
    PadRestarted,
    PinMismatch,
    SpeechEnded,
    TamperDetected,
    TimeExtended,
    TimeWarning,
)

if TYPE_CHECKING:  # pragma: no cover
    from drivers.pinpad.pad import TactilePinPad

__all__ = ["PinBlock", "PinEntrySession", "PinChangeSession", "ExploreSession",
           "PadRestartedError", "PadTamperedError"]

#: seconds the host waits beyond the pad's own time limit before it calls the pad silent
_GRACE = 5.0


class PadRestartedError(TactileError):
    """The pad powered on or reset during a session: the entry is gone (nothing was kept)."""


class PadTamperedError(DeviceError):
    """The pad detected tampering, wiped its PIN buffer and erased its keys."""

    def __init__(self, cause: str) -> None:
        meaning = RESULT_MEANINGS[ResultCode.TAMPERED]
        super().__init__(f"the PIN pad detected tampering ({cause}) and erased its keys: take it "
                         "out of service and call the vendor", code=int(ResultCode.TAMPERED),
                         meaning=meaning)
        self.cause = cause


@dataclass(frozen=True, slots=True)
class PinBlock:
    """An enciphered ISO 9564 PIN block as the pad returned it.

    ``block``: 8 bytes (iso0/1/3, TDES) or 16 (iso4, AES); ``ksn``: the DUKPT key serial number
    (10 bytes TDES, 12 bytes AES) or None for a fixed key; ``slot``: the key slot used.
    """

    format: PinBlockFormat
    block: bytes
    ksn: bytes | None
    slot: int

    def __repr__(self) -> str:
        ksn = self.ksn.hex().upper() if self.ksn else None
        return (f"PinBlock(format={self.format.value!r}, block={self.block.hex().upper()!r}, "
                f"ksn={ksn!r}, slot={self.slot})")


_COMPLETION = {
    EntryEnd.ENTER: Completion.ENTER, EntryEnd.AUTO: Completion.AUTO,
    EntryEnd.CANCEL: Completion.CANCEL, EntryEnd.HOST_CANCEL: Completion.CANCEL,
    EntryEnd.CLEAR: Completion.CLEAR, EntryEnd.BACKSPACE: Completion.BACKSPACE,
    EntryEnd.HELP: Completion.HELP, EntryEnd.FDK: Completion.FDK,
    EntryEnd.TIMEOUT: Completion.TIMEOUT, EntryEnd.MISMATCH: Completion.MISMATCH,
    EntryEnd.ERROR: Completion.ERROR,
}
_REJECT_REASON = {
    KeyStatus.INACTIVE: "inactive", KeyStatus.TOO_SHORT: "too-short",
    KeyStatus.NO_MORE_EXTENSIONS: "no-more-extensions",
}


def _name(value: Any) -> str:
    return value.name.lower().replace("_", "-")


def translate(msg: m.Event, layout: Layout | None) -> PadEvent:
    """A TPP event as the public event the application sees (no PIN digit can be in either)."""
    if isinstance(msg, m.DigitEntered):
        if msg.accepted:
            return DigitAccepted(count=msg.digits)
        # a digit pressed with the buffer full: same feedback, nothing added; no digit named
        return KeyRejected(name="digit", reason="max-length")
    if isinstance(msg, m.KeyPressed):
        if msg.status is not KeyStatus.ACCEPTED:
            reason = _REJECT_REASON.get(msg.status, _name(msg.status))
            return KeyRejected(name=msg.key, reason=reason)
        key = layout.get(msg.key) if layout is not None and hasattr(layout, "get") else None
        return KeyPressed(name=msg.key, count=msg.digits, key=key)
    if isinstance(msg, m.EntryReady):
        return EntryReady(stage=msg.phase)
    if isinstance(msg, (m.PinEntryCompleted, m.PinChangeCompleted)):
        return Completed(completion=_COMPLETION.get(msg.how, Completion.ERROR), digits=msg.digits)
    if isinstance(msg, m.PinChangeMismatch):
        return PinMismatch(attempts_left=msg.attempts_left)
    if isinstance(msg, m.TimeWarning):
        return TimeWarning(seconds_left=msg.seconds_left)
    if isinstance(msg, m.TimeExtended):
        return TimeExtended(seconds_left=msg.seconds_left, by=_name(msg.by))
    if isinstance(msg, m.HeadsetChanged):
        return HeadsetInserted() if msg.inserted else HeadsetRemoved()
    if isinstance(msg, m.SpeechEnded):
        how = msg.how if isinstance(msg.how, SpeechEnd) else SpeechEnd.COMPLETED
        return SpeechEnded(utterance=msg.utterance_id, how=_name(how))
    if isinstance(msg, m.Tamper):
        cause = msg.cause if isinstance(msg.cause, TamperCause) else TamperCause.OTHER
        return TamperDetected(cause=_name(cause))
    if isinstance(msg, m.PowerOn):
        reason = msg.reason if isinstance(msg.reason, ResetReason) else ResetReason.POWER_UP
        return PadRestarted(reason=_name(reason))
    raise TypeError(f"no public event for {type(msg).__name__}")  # pragma: no cover


class _Session:
    """Common machinery: a queue the pad's reader thread fills, and ONE place that applies
    events (:meth:`_pump`), whichever thread pulls them.

    Thread safety: the caller may iterate in one thread while another calls ``cancel()`` (or
    ``stop()``).  Only one thread at a time takes an item from the queue and applies it (the
    ``_consume`` lock), so events are applied once and in order; every applied item goes to
    the ``_backlog`` the iterator yields from, so the iterating caller always sees every
    event, ``Completed`` last, even when the other thread pulled it out of the queue.
    """

    _kind = "session"

    def __init__(self, pad: "TactilePinPad") -> None:
        self._pad = pad
        self._queue: "queue.Queue[PadEvent | BaseException]" = queue.Queue()
        self._consume = threading.RLock()
        self._backlog: "collections.deque[PadEvent | BaseException]" = collections.deque()
        self._started = False
        self._finished = False
        self._last = time.monotonic()
        #: how many utterances the pad reported as failed (SpeechEnded "failed") in this session
        self.speech_failed = 0
        #: the pad's restart or tamper that ended the session (nothing was kept), if one did
        self._ended_by: TactileError | None = None

    # called by the pad (reader thread); never blocks
    def _put(self, item: PadEvent | BaseException) -> None:
        self._queue.put(item)

    def _pump(self, timeout: float) -> bool:
        """Take one item from the queue (waiting up to ``timeout``), apply it and put it on the
        backlog; False when nothing came.  A link failure found while waiting is put on the
        backlog too (once), so it reaches the iterating caller."""
        with self._consume:
            if self._finished:
                return False  # Completed (or the failure) was the last item: nothing after it
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                if not self._finished and (self._pad.closed or
                                           self._pad._link.failure is not None):
                    try:
                        self._pad._raise_failure()
                    except TactileError as exc:
                        self._finish()
                        self._backlog.append(exc)
                        return True
                return False
            self._last = time.monotonic()
            if isinstance(item, BaseException):
                if isinstance(item, (TransportError, DeviceTimeoutError)) or \
                        not isinstance(item, TactileError):
                    self._finish()  # the link is gone: nothing more will come
                self._backlog.append(item)
                return True
            try:
                self._apply(item)
            except TactileError as exc:  # restart, tamper, a failed PIN block fetch
                if isinstance(exc, (PadRestartedError, PadTamperedError)):
                    self._ended_by = exc
                self._backlog.append(exc)
                return True
            self._backlog.append(item)
            return True

    def _take(self) -> PadEvent | None:
        """The next applied item for the iterator (raises a failure item), or None."""
        with self._consume:
            if not self._backlog:
                return None
            item = self._backlog.popleft()
        if isinstance(item, BaseException):
            raise item
        return item

    def next_event(self, timeout: float = 0.0) -> PadEvent | None:
        """The next event within ``timeout`` seconds, or None (nothing came, or the session has
        ended); a failure of the link or the pad raises its typed error.  For a caller that
        polls instead of iterating (the events are the same, applied once, in order)."""
        deadline = time.monotonic() + max(0.0, float(timeout))
        while True:
            event = self._take()
            if event is not None:
                return event
            if self._finished:
                return None
            left = max(0.0, deadline - time.monotonic())
            if not self._pump(min(left, 0.25)) and time.monotonic() >= deadline:
                return self._take()

    def _finish(self) -> None:
        self._finished = True
        self._pad._end_session(self)

    def _apply(self, event: PadEvent) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _count_speech(self, event: PadEvent) -> None:
        if isinstance(event, SpeechEnded) and event.failed:
            self.speech_failed += 1

    def __enter__(self) -> Any:
        self._start()
        return self

    def _start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class PinEntrySession(_Session):
    """One PIN entry (XFS4IoT Keyboard.PinEntry), made by :meth:`TactilePinPad.pin_entry`.

    Iterate to receive :class:`EntryReady`, :class:`DigitAccepted`, :class:`KeyPressed`,
    :class:`KeyRejected`, :class:`TimeWarning`, :class:`TimeExtended`, headset events and
    finally :class:`Completed`.  When the entry completes with a PIN (enter / auto) and a PAN
    (or format iso1) was given, the PIN block is fetched before :class:`Completed` is yielded,
    so after the loop ``pin_block``, ``ksn`` and ``format`` are set.

    Leaving the ``with`` block normally waits for the entry to end (the pad's time limit bounds
    that); leaving it by an exception cancels the entry.  Afterwards: ``completion``
    (:class:`Completion` or None), ``digits`` (the count), ``pin_block`` (bytes or None),
    ``ksn`` (bytes or None), ``format`` (:class:`PinBlockFormat`), ``result`` (:class:`PinBlock`).
    """

    _kind = "PIN entry"

    def __init__(self, pad: "TactilePinPad", request: Any, *, pan: str | None,
                 block_format: PinBlockFormat, key_slot: int) -> None:
        super().__init__(pad)
        self._request = request
        self.pan_given = pan is not None
        self._pan = pan
        self.format = block_format
        self.key_slot = key_slot
        self.time_limit = request.time_limit
        self.min_len = request.min_len
        self.max_len = request.max_len
        self.completion: Completion | None = None
        self.digits = 0
        self.result: PinBlock | None = None
        self._seconds_left = float(request.time_limit)

    def __repr__(self) -> str:
        state = self.completion.value if self.completion else ("running" if self._started
                                                               else "not started")
        return (f"<{type(self).__name__} {state}, digits={self.digits}, "
                f"format={self.format.value}, pin_block={'yes' if self.result else 'no'}>")

    @property
    def pin_block(self) -> bytes | None:
        return self.result.block if self.result else None

    @property
    def ksn(self) -> bytes | None:
        return self.result.ksn if self.result else None

    @property
    def finished(self) -> bool:
        return self._finished

    # -- lifecycle -------------------------------------------------------------------------
    def _start(self) -> None:
        if self._started:
            raise TactileError(f"this {self._kind} was already started; make a new one")
        self._pad._begin_session(self)
        try:
            self._pad._expect_done(self._request)
        except BaseException:
            self._pad._end_session(self)
            raise
        self._started = True
        self._last = time.monotonic()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if not self._finished and self._started:
                if exc_type is not None:
                    self._cancel_quietly()
                else:
                    for _ in self:
                        pass
        finally:
            self._pad._end_session(self)

    def _cancel_quietly(self) -> None:
        try:
            self.cancel()
        except TactileError:
            pass  # the link is gone or the pad restarted: nothing is running any more

    def cancel(self) -> None:
        """Ask the pad to end the entry (completion "cancel") and wait for it to end.

        Safe from any thread, also while another thread iterates the session: that thread
        still receives every event, the final :class:`Completed` included.  A cancel after the
        entry ended (or crossing its end) is a no-op, unless the pad ended it by restarting
        or by tamper: then nothing was kept, and the cancel raises that error too."""
        if self._finished or not self._started:
            return self._after_end()
        try:
            self._pad._expect_done(m.CancelEntry())
        except TactileError:
            if self._finished:
                return self._after_end()  # it ended (the pad may be closed) while we asked
            raise
        deadline = time.monotonic() + self._pad.timeout + _GRACE
        while not self._finished:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceTimeoutError(f"the pad did not end the {self._kind} after CancelEntry "
                                         f"({self._pad.transport.description}); reset the pad")
            try:
                self._pump(min(left, 0.05))
            except TactileError:
                if self._finished:
                    return self._after_end()
                raise
        self._after_end()

    def _after_end(self) -> None:
        """A cancel that found the entry over: nothing to do, unless the pad's restart or
        tamper ended it (the caller asked to end an entry the pad has already lost)."""
        if self._ended_by is not None:
            raise self._ended_by

    def run(self, on_event: Callable[[PadEvent], object] | None = None) -> "PinEntrySession":
        """Run the whole entry with a callback instead of a loop (``on_event`` sees every
        event, Completed last); returns the finished session."""
        with self:
            for event in self:
                if on_event is not None:
                    on_event(event)
        return self

    def extend_time(self, seconds: int = 30) -> int:
        """Give the customer more time; returns the seconds now left."""
        left = self._pad.extend_time(seconds)
        self._seconds_left = float(left)
        return left

    # -- iteration -------------------------------------------------------------------------
    def __iter__(self) -> Iterator[PadEvent]:
        if not self._started:
            raise TactileError(f"use the {self._kind} in a with block: "
                               f"`with pad.pin_entry(...) as entry: for event in entry: ...`")
        while True:
            event = self._take()
            if event is not None:
                yield event
                continue
            if self._finished:
                return
            limit = self._seconds_left + _GRACE
            waited = time.monotonic() - self._last
            if not self._pump(max(0.0, min(limit - waited, 0.25))):
                if not self._finished and time.monotonic() - self._last > limit:
                    raise DeviceTimeoutError(
                        f"the pad sent nothing for {limit:.0f} s during a {self._kind} whose time "
                        f"limit is {self.time_limit} s ({self._pad.transport.description}). "
                        "Check the cable; the pad may have hung: reset or power-cycle it.")

    def _apply(self, event: PadEvent) -> None:
        """Apply one event to the session's state (only ever called by :meth:`_pump`)."""
        self._count_speech(event)
        if isinstance(event, DigitAccepted):
            self.digits = event.count
            self._seconds_left = float(self.time_limit)
        elif isinstance(event, KeyPressed):
            if event.count is not None:
                self.digits = event.count
            self._seconds_left = float(self.time_limit)
        elif isinstance(event, KeyRejected):
            self._seconds_left = float(self.time_limit)
        elif isinstance(event, EntryReady):
            self._seconds_left = float(self.time_limit)
        elif isinstance(event, (TimeWarning, TimeExtended)):
            self._seconds_left = float(event.seconds_left)
        elif isinstance(event, PinMismatch):
            self.digits = 0
        elif isinstance(event, PadRestarted):
            self._finish()
            raise PadRestartedError(
                f"the PIN pad restarted ({event.reason}) during the {self._kind}: nothing was "
                "kept. Start the entry again.")
        elif isinstance(event, TamperDetected):
            self._finish()
            raise PadTamperedError(event.cause)
        elif isinstance(event, Completed):
            self.completion = event.completion
            self.digits = event.digits
            # the PIN block is fetched before the session counts as finished, so a thread
            # waiting in cancel() returns only once ``pin_block`` is set
            try:
                if event.completion.pin_kept and (self.pan_given or
                                                  self.format is PinBlockFormat.ISO1):
                    self.result = self._pad.get_pin_block(self._pan, self.format,
                                                          self.key_slot)
            finally:
                self._finish()

    def get_pin_block(self, pan: str | None = None,
                      block_format: PinBlockFormat | str | None = None,
                      key_slot: int | None = None) -> PinBlock:
        """Fetch the PIN block now (when no PAN was given to :meth:`TactilePinPad.pin_entry`).
        The pad gives one block per entered PIN."""
        fmt = PinBlockFormat.parse(block_format) if block_format is not None else self.format
        self.result = self._pad.get_pin_block(pan if pan is not None else self._pan, fmt,
                                              self.key_slot if key_slot is None else key_slot)
        self.format = fmt
        return self.result


class PinChangeSession(PinEntrySession):
    """A PIN change: the customer types the new PIN twice and the PAD compares the two.

    Events as for :class:`PinEntrySession` plus :class:`EntryReady` with ``stage=2`` for the
    confirmation and :class:`PinMismatch` when the two differed (the pad starts again).
    ``completion`` "enter"/"auto" means the two matched; the PIN block is of the new PIN.
    """

    _kind = "PIN change"

    @property
    def matched(self) -> bool:
        return bool(self.completion and self.completion.pin_kept)


class ExploreSession(_Session):
    """Key exploration: every key press is named (no PIN can be active in this mode).

    Iterating yields :class:`KeyPressed` (with the layout ``key``) and headset events; it ends
    after ``idle_timeout`` seconds without a key press (``ended_idle`` is then True) or when
    :meth:`stop` is called.  Leaving the ``with`` block stops explore mode.
    """

    _kind = "key exploration"

    def __init__(self, pad: "TactilePinPad", lang: str, idle_timeout: float) -> None:
        super().__init__(pad)
        self.lang = lang
        self.idle_timeout = idle_timeout
        self.ended_idle = False
        self.presses = 0

    def __repr__(self) -> str:
        state = "stopped" if self._finished else ("running" if self._started else "not started")
        return f"<ExploreSession {state}, presses={self.presses}>"

    def _start(self) -> None:
        self._pad._begin_session(self)
        try:
            self._pad._expect_done(m.ExploreStart(lang=self.lang))
        except BaseException:
            self._pad._end_session(self)
            raise
        self._started = True
        self._last = time.monotonic()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self.stop()
        except TactileError:
            if exc_type is None:
                raise       # leaving normally: the caller learns that the link is gone
            # leaving on an error already: that one is the news, not the failed stop
        finally:
            self._pad._end_session(self)

    def stop(self) -> None:
        """Leave explore mode (idempotent; safe from another thread while one iterates).

        After a restart the pad is no longer exploring: nothing to stop.  A lost link raises
        its typed error (DeviceDisconnectedError, TransportError): explore mode was not left
        cleanly, the pad may still be naming keys until it is reconnected."""
        with self._consume:
            if not self._started or self._finished:
                return
            self._finished = True
        try:
            if not self._pad.connected:
                self._pad._raise_failure()
            if self._pad.state is State.EXPLORE:
                self._pad._expect_done(m.ExploreStop())
        finally:
            self._pad._end_session(self)

    def _apply(self, event: PadEvent) -> None:
        """Apply one event (only ever called by :meth:`_pump`)."""
        self._count_speech(event)
        if isinstance(event, PadRestarted):
            self._finish()
            raise PadRestartedError(f"the PIN pad restarted ({event.reason}) during key "
                                    "exploration")
        if isinstance(event, KeyPressed):
            self.presses += 1

    def __iter__(self) -> Iterator[PadEvent]:
        while True:
            event = self._take()
            if event is not None:
                yield event
                continue
            if self._finished:
                return
            idle = time.monotonic() - self._last
            if idle >= self.idle_timeout:
                self.ended_idle = True
                return
            self._pump(min(self.idle_timeout - idle, 0.25))
