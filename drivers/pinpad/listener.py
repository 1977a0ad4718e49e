"""Listening to the pad while it is IDLE: function keys, speech endings, headset.

Outside explore mode and PIN entry a TPP pad reports function keys as ``KeyPressed(key, 0,
INACTIVE)`` (SPEC 6.3, "Keys in IDLE"; digit keys are never reported there), every utterance's
end (``SpeechEnded``) and headset changes.  A :class:`KeyListener` collects them for a host that
speaks in IDLE and wants to react: the keypad tour (Help repeats, Cancel skips, any key
interrupts), a "press Enter when you are ready" step, waiting for a headset.

It is a session like the others: one at a time per pad, in a ``with`` block::

    with pad.listen() as listener:
        pad.speak("Press Help to hear this again, Cancel to skip.")
        event = listener.next(timeout=20)      # KeyRejected("help", "inactive"), SpeechEnded, ...
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterator

from protocol.errors import TactileError

from drivers.pinpad.events import KeyRejected, PadEvent, PadRestarted, TamperDetected
from drivers.pinpad.sessions import PadRestartedError, PadTamperedError, _Session

if TYPE_CHECKING:  # pragma: no cover
    from drivers.pinpad.pad import TactilePinPad

__all__ = ["KeyListener"]


class KeyListener(_Session):
    """Events of an IDLE pad, for a host that speaks and waits for keys (see module doc).

    ``next(timeout)`` returns the next event or None; ``events(timeout)`` yields events until
    ``timeout`` seconds pass with none.  A function key pressed in IDLE arrives as
    ``KeyRejected(name, "inactive")`` (the pad did nothing with it but report it); the
    property :func:`pressed_key` turns such an event into the key name."""

    _kind = "key listener"

    def __init__(self, pad: "TactilePinPad") -> None:
        super().__init__(pad)

    def __repr__(self) -> str:
        return f"<KeyListener {'listening' if self._started and not self._finished else 'idle'}>"

    def _start(self) -> None:
        if self._started:
            raise TactileError("this key listener was already started; make a new one")
        self._pad._begin_session(self)
        self._started = True
        self._last = time.monotonic()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._finish()

    def _apply(self, event: PadEvent) -> None:
        """Called once per event by the session machinery: a restart or tamper ends it."""
        self._count_speech(event)
        if isinstance(event, PadRestarted):
            self._finish()
            raise PadRestartedError(f"the PIN pad restarted ({event.reason}) while the host was "
                                    "waiting for a key")
        if isinstance(event, TamperDetected):
            self._finish()
            raise PadTamperedError(event.cause)

    def next(self, timeout: float = 0.0) -> PadEvent | None:
        """The next event within ``timeout`` seconds, or None.  A restart or tamper raises."""
        if not self._started:
            raise TactileError("use the key listener in a with block: "
                               "`with pad.listen() as listener: ...`")
        return self.next_event(timeout)

    def events(self, timeout: float) -> Iterator[PadEvent]:
        """Yield events until ``timeout`` seconds pass without one."""
        while True:
            event = self.next(timeout)
            if event is None:
                return
            yield event

    def drain(self) -> list[PadEvent]:
        """Every event already waiting (no wait)."""
        out = []
        while True:
            event = self.next(0.0)
            if event is None:
                return out
            out.append(event)


def pressed_key(event: PadEvent | None) -> str | None:
    """The key name of a function key pressed in IDLE (``KeyRejected(name, "inactive")``)."""
    if isinstance(event, KeyRejected) and event.reason == "inactive" and event.name != "digit":
        return event.name
    return None
