"""The protocol-independent heart of the simulated pad: modes, keys, PIN buffer, time limits.

:class:`PadCore` knows nothing of frames.  The host side calls its methods (``start_pin_entry``,
``pin_block``, ``speak`` ...) and gets results or a :class:`Refusal` carrying a TPP result code;
what the pad tells the host on its own initiative (a masked digit, a named key, a time warning,
a completion) leaves through ``notify(kind, **fields)``; what a customer could perceive leaves
through ``emit(name, **fields)`` (the simulator's stdout events).
:mod:`firmware_sim.pinpad.wire` maps both onto TPP frames.

Key semantics follow XFS4IoT Keyboard.PinEntry:

* a digit adds to the buffer and the host learns only the new count; once ``max_len`` digits are
  in (``auto_end`` false) further digits are ignored (inactive beep, ``accepted`` false) until
  clear/backspace; with ``auto_end`` the entry completes at ``max_len``;
* clear and cancel empty the buffer, backspace removes the last digit;
* a key whose ``terminate`` flag is set ends the entry; enter below ``min_len`` is refused with
  the fixed "pin-too-short" prompt (status too-short) and the entry continues;
* keys not in ``active_keys`` give the inactive beep and are reported as inactive.

Time limit: an inactivity limit, re-armed by every key press (the most frequent complaint of
blind users is limits that are too short).  Warnings at 30 s and 10 s left (those shorter than
the limit; a 10 s limit warns at 5 s, see :func:`protocol.tpp.codes.warning_marks`): a
``time-warning`` notice, a warning tone (and pulse in private mode) and the fixed
prompt "N seconds left, press Help for more time".  Help (when it is not a terminate key)
extends the time by the entry's limit, at most :data:`HELP_EXTENSIONS` times per entry; the
host can extend with :meth:`PadCore.extend_time` up to :data:`MAX_TIME_LIMIT` s left.

PIN change: the new PIN is entered twice (phase 1, phase 2) and compared inside the pad in
constant time.  A mismatch wipes both, says the fixed "pin-mismatch" prompt and restarts at
phase 1; after ``max_mismatches`` mismatches the change ends with how "mismatch".

Secrecy: digits live in a ``bytearray`` that is overwritten with zeros on completion, cancel,
timeout, power-off, Hello and tamper.  A completed PIN is kept only enciphered under a
per-power-on random AES key until one :meth:`PadCore.pin_block` call consumes it (or it expires
after :data:`HELD_PIN_LIFETIME` s).  No event, prompt, display text or error message contains a
digit value.  (Python strings cannot be overwritten: the clear PIN exists as a ``str`` only for
the instant the PIN block is built, because :mod:`protocol.pinblock` takes a ``str``.)
"""

from __future__ import annotations

import enum
import hmac
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from protocol.layout import DIGIT_KEY_NAMES, Key, Layout
from protocol.tpp.display import DisplaySize, paginate
from protocol.tpp.codes import (
    HELD_PIN_LIFETIME,
    HELP_EXTENSIONS,
    KEY_DEBOUNCE,
    MAX_PIN_ENTRIES_PER_HOUR,
    MAX_TIME_LIMIT,
    ResultCode,
    warning_marks,
)

from firmware_sim.pinpad.audio import (
    DEFAULT_RATE,
    DEFAULT_VOLUME,
    HAPTIC_PATTERNS,
    RATE_RANGE,
    TONES,
    VOLUME_RANGE,
    Audio,
    SpeechUnavailable,
    Utterance,
)
from firmware_sim.pinpad.keys import KeyProblem
from firmware_sim.pinpad.prompts import (
    LANGUAGES,
    MAX_PROMPT_ARG,
    PROMPTS,
    describe_key,
    prompt_by_name,
    render_prompt,
)
from firmware_sim.pinpad.state import StateStore

__all__ = [
    "Mode",
    "Refusal",
    "RefusalCode",
    "EntryRequest",
    "PadCore",
    "DEFAULT_ACTIVE_KEYS",
    "DEFAULT_RATE_LIMIT",
    "COMPLETION_REASONS",
    "KEY_STATUSES",
    "BEEP_POLICIES",
]

#: the refusal codes are TPP's result codes
RefusalCode = ResultCode

DIGIT_KEYS = DIGIT_KEY_NAMES
#: name -> terminate flag when the host gives no active keys (TPP DEFAULT_ACTIVE_KEYS)
DEFAULT_ACTIVE_KEYS: dict[str, bool] = {**{d: False for d in DIGIT_KEYS}, "enter": True,
                                        "cancel": True, "clear": False, "backspace": False,
                                        "help": False}
DEFAULT_RATE_LIMIT = MAX_PIN_ENTRIES_PER_HOUR
DEFAULT_TIMEOUT = 90.0
#: seconds between repetitions of the explore-mode warning (SPEC section 8 rule 9)
EXPLORE_WARNING_EVERY = 60.0
RATE_WINDOW = 3600.0
#: seconds each page of the pad's own text stays up at least (silent form, or no speech)
_READ_SECONDS_PER_PAGE = 3.0
#: how an entry ended (TPP EntryEnd names)
COMPLETION_REASONS = ("enter", "auto", "cancel", "clear", "backspace", "help", "timeout",
                      "host-cancel", "mismatch")
#: what a named key press did (TPP KeyStatus names)
KEY_STATUSES = ("accepted", "inactive", "too-short", "no-more-extensions")
#: key tones during PIN entry (TPP BeepPolicy names)
BEEP_POLICIES = ("follow", "silent", "always", "private-only")


class Mode(enum.Enum):
    OFF = "off"
    IDLE = "idle"
    EXPLORE = "explore"
    PIN = "pin"
    PIN_CHANGE = "pin-change"
    LOCKED = "locked"


class Refusal(Exception):
    """The pad refuses a host request (``code``: a TPP :class:`ResultCode`)."""

    def __init__(self, code: ResultCode, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


@dataclass(slots=True)
class EntryRequest:
    """Parameters of a PIN entry or PIN change (XFS4IoT PinEntry names)."""

    min_len: int = 4
    max_len: int = 12
    auto_end: bool = False
    #: key name -> terminate flag; None = :data:`DEFAULT_ACTIVE_KEYS`
    active_keys: dict[str, bool] | None = None
    timeout: float = DEFAULT_TIMEOUT
    prompt_id: int = 1
    prompt_args: tuple[int, ...] = ()
    lang: str | None = None
    beep: str = "follow"
    #: PIN change only: mismatches allowed before the change fails
    max_mismatches: int = 3


class _PinBuffer:
    """Digits as a fixed-size bytearray, overwritten (not just dropped) when wiped."""

    __slots__ = ("_data", "count")

    def __init__(self) -> None:
        self._data = bytearray(16)
        self.count = 0

    def append(self, digit: int) -> None:
        self._data[self.count] = digit
        self.count += 1

    def pop(self) -> None:
        if self.count:
            self.count -= 1
            self._data[self.count] = 0

    def wipe(self) -> None:
        for i in range(len(self._data)):
            self._data[i] = 0
        self.count = 0

    def digits(self) -> bytes:
        return bytes(self._data[:self.count])

    def same_as(self, other: "_PinBuffer") -> bool:
        # constant time for equal lengths; lengths are not secret (the host sees the counts)
        return self.count == other.count and hmac.compare_digest(self.digits(), other.digits())

    def take_from(self, other: "_PinBuffer") -> None:
        self.wipe()
        for i in range(other.count):
            self._data[i] = other._data[i]
        self.count = other.count
        other.wipe()


@dataclass(slots=True)
class _Entry:
    req: EntryRequest
    active: dict[str, bool]
    change: bool
    lang: str
    buffer: _PinBuffer = field(default_factory=_PinBuffer)
    first: _PinBuffer | None = None
    phase: int = 1
    deadline: float = 0.0
    pending_warnings: list[int] = field(default_factory=list)
    mismatches: int = 0
    help_extensions: int = 0


class PadCore:
    """The pad's behaviour; see the module docstring.

    ``layout``: the keypad (:class:`protocol.layout.Layout`); ``keystore``: key slots and PIN
    block builder (:class:`firmware_sim.pinpad.keys.Keystore`); ``emit(name, **fields)``:
    customer-perceivable events; ``notify(kind, **fields)``: unsolicited messages for the host;
    ``now``: the injected monotonic clock; ``wall_now``: wall time for the persisted rate-limit
    history; ``random_bytes(n)``: the injected random source.
    """

    def __init__(self, *, layout: Layout, store: StateStore, keystore: Any,
                 emit: Callable[..., None], notify: Callable[..., None],
                 now: Callable[[], float], wall_now: Callable[[], float],
                 random_bytes: Callable[[int], bytes],
                 rate_limit: int = DEFAULT_RATE_LIMIT,
                 display: DisplaySize = DisplaySize(20, 4)) -> None:
        self.layout = layout
        self.display_size = display
        #: later pages of what the display shows: (when, text, large), in step with speech
        self._pages: list[tuple[float, str, bool]] = []
        self._keys: dict[str, Key] = {k.name: k for k in layout.keys}
        self.store = store
        self.keystore = keystore
        self._emit = emit
        self._notify = notify
        self.now = now
        self.wall_now = wall_now
        self.random_bytes = random_bytes
        self.rate_limit = rate_limit
        self.audio = Audio(emit=emit, now=now, on_speech_end=self._speech_ended,
                           on_speech_start=self._speech_started)
        #: SetFeedback captions: host speech is shown too, in step with it
        self.captions = True
        self.mode = Mode.OFF
        self.large_type = False
        self.lang = "zh-CN"
        self._entry: _Entry | None = None
        self._held: tuple[bytes, float] | None = None
        self._session_key = b""
        self._explore_warn_at: float | None = None
        #: key name -> when its recent presses registered (the key scanner's debounce)
        self._registered: dict[str, deque[float]] = {}
        self._load_settings()

    # -- settings ---------------------------------------------------------------------------
    def _load_settings(self) -> None:
        s = self.store.data["settings"]
        self.audio.volume = int(s.get("volume", DEFAULT_VOLUME))
        self.audio.rate = float(s.get("rate", DEFAULT_RATE))
        self.lang = str(s.get("lang", "zh-CN"))

    def _save_settings(self) -> None:
        self.store.data["settings"] = {"volume": self.audio.volume, "rate": self.audio.rate,
                                       "lang": self.lang}
        self.store.save()

    @property
    def boot_count(self) -> int:
        return int(self.store.data.get("boot_count", 0))

    # -- power ------------------------------------------------------------------------------
    def power_on(self, reason: str = "power-up") -> None:
        """Power reaches the pad (or it restarts): wipe volatile state, test keys on first start."""
        self._wipe_volatile()
        self.audio.current = None
        self.audio.pending = []
        self.audio.beep_active = self.audio.beep_inactive = True
        self._reset_feedback()
        self._load_settings()
        self._session_key = bytes(self.random_bytes(16))
        if self.store.fresh:
            self.keystore.load_test_keys()
        self.store.data["boot_count"] = self.boot_count + 1
        self.store.save()
        tampered = bool(self.store.data["tampered"])
        self.mode = Mode.OFF
        self._emit("power-on", reason=reason, boot_count=self.boot_count, tampered=tampered,
                   headset=self.audio.headset)
        self._set_mode(Mode.LOCKED if tampered else Mode.IDLE)
        self._notify("power-on", boot_count=self.boot_count, reason=reason)

    def power_off(self) -> None:
        self._wipe_volatile()
        self.audio.current = None
        self.audio.pending = []
        self._set_mode(Mode.OFF)

    def abort_session(self) -> None:
        """A new host session (TPP Hello): end explore/entry silently, wipe every PIN."""
        self._wipe_volatile()
        self.audio.stop("mode")
        self._reset_feedback()
        if self.mode in (Mode.EXPLORE, Mode.PIN, Mode.PIN_CHANGE):
            self._set_mode(Mode.IDLE)

    def _reset_feedback(self) -> None:
        """Speech, tones and captions on, haptics and large type off: SetFeedback's defaults
        (SPEC 6.7)."""
        self.audio.speech_on = self.audio.tones_on = True
        self.audio.haptics_on = False
        self.captions = True
        self.large_type = False

    def _wipe_volatile(self) -> None:
        if self._entry is not None:
            self._entry.buffer.wipe()
            if self._entry.first is not None:
                self._entry.first.wipe()
        self._entry = None
        self._held = None

    def _set_mode(self, mode: Mode) -> None:
        if mode is not Mode.EXPLORE:
            self._explore_warn_at = None
        if mode is not self.mode:
            self.mode = mode
            self._emit("mode", mode=mode.value)

    # -- feedback helpers -------------------------------------------------------------------
    def _display(self, text: str, large: bool | None = None, duration: float = 0.0,
                 start: float | None = None) -> float:
        """Show the pad's own text, laid out for its display (SPEC 6.7): page by page, the
        later pages in step with ``duration`` (the time it takes to say it), each up at least
        :data:`_READ_SECONDS_PER_PAGE`.  Returns how long the pages take."""
        large = self.large_type if large is None else large
        size = self.display_size
        pages = paginate(text, size.columns, size.rows, large) if text else [""]
        now = self.now() if start is None else start
        self._flush_pages(now)      # pages of the text before, due by now, are shown first
        self._pages = []
        if not pages:
            return 0.0
        self._emit("display", text=pages[0], large=large)
        step = max(duration, _READ_SECONDS_PER_PAGE * len(pages)) / len(pages)
        self._pages = [(now + step * i, page, large) for i, page in enumerate(pages) if i]
        return step * len(pages)

    def _flush_pages(self, until: float) -> None:
        while self._pages and until >= self._pages[0][0]:
            _, page, large = self._pages.pop(0)
            self._emit("display", text=page, large=large)

    def _prompt(self, name: str, *args: int, lang: str | None = None,
                queue: bool = False) -> None:
        """Speak and display a fixed prompt (display only if the speech unit failed, or in the
        silent form of SetFeedback); with ``queue`` after what is being said instead of
        replacing it."""
        prompt = prompt_by_name(name)
        lang = lang or (self._entry.lang if self._entry else self.lang)
        text = render_prompt(prompt.ident, lang, tuple(args))
        try:
            self.audio.say(text, lang, source="prompt", prompt_id=int(prompt.ident), queue=queue,
                           caption=True)
        except SpeechUnavailable:
            # the customer hears nothing: the host must know (SpeechEnded FAILED, SPEC 6.4)
            self._display(text)
            utt = self.audio.failed_own_speech(text, lang, source="prompt",
                                               prompt_id=int(prompt.ident))
            self._emit("say-failed", prompt=int(prompt.ident), id=utt.ident)

    def _mask_display(self, *, after_prompt: bool = False) -> None:
        """The mask, one ``*`` per digit; ``after_prompt``: once the prompt just started has
        been shown page by page (the mask must not cut it off)."""
        entry = self._entry
        assert entry is not None
        label = "密码：" if entry.lang == "zh-CN" else "PIN: "
        text = label + "*" * entry.buffer.count
        if after_prompt and self._pages:
            size = self.display_size
            page = paginate(text, size.columns, size.rows, self.large_type)[0]
            self._pages.append((self._pages[-1][0] + _READ_SECONDS_PER_PAGE, page,
                                self.large_type))
            return
        self._display(text)

    def _speech_started(self, utt: Utterance) -> None:
        if utt.caption:
            shown_for = self._display(utt.text, duration=utt.duration, start=utt.started)
            if utt.silent:      # shown only: it lasts until its last page has been up
                utt.duration = max(utt.duration, shown_for)

    def _speech_ended(self, utt: Utterance, how: str) -> None:
        self._notify("speech-ended", id=utt.ident, how=how)

    # -- information ------------------------------------------------------------------------
    def seconds_left(self) -> int:
        entry = self._entry
        if entry is None:
            return 0
        return max(0, int(entry.deadline - self.now() + 0.999))

    def entries_left(self) -> int:
        now = self.wall_now()
        used = sum(1 for t in self.store.data["pin_entries"] if now - t < RATE_WINDOW)
        return max(0, self.rate_limit - used)

    def status(self) -> dict[str, Any]:
        entry = self._entry
        return {
            "mode": self.mode.value,
            "headset": self.audio.headset,
            "speaking": self.audio.speaking,
            "volume": self.audio.volume,
            "rate": self.audio.rate,
            "lang": self.lang,
            "digits": entry.buffer.count if entry else 0,
            "phase": entry.phase if entry else 0,
            "seconds_left": self.seconds_left(),
            "pin_held": self._held is not None and self.now() < self._held[1],
            "entries_left": self.entries_left(),
            "beep_active": self.audio.beep_active,
            "beep_inactive": self.audio.beep_inactive,
            "tampered": bool(self.store.data["tampered"]),
            "boot_count": self.boot_count,
        }

    def _require_powered(self) -> None:
        if self.mode is Mode.OFF:
            raise Refusal(ResultCode.BUSY, "the pad is powered off")

    def _require_not_locked(self) -> None:
        if self.mode is Mode.LOCKED:
            raise Refusal(ResultCode.TAMPERED,
                          "the pad is locked after a tamper event and its keys are erased; "
                          "it must be re-initialised by the vendor")

    def _in_entry(self) -> bool:
        return self.mode in (Mode.PIN, Mode.PIN_CHANGE)

    def _check_lang(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise Refusal(ResultCode.UNSUPPORTED_LANGUAGE,
                          f"unsupported language {lang!r}: use one of {', '.join(LANGUAGES)}")

    # -- explore mode -------------------------------------------------------------------------
    def start_explore(self, lang: str | None = None) -> None:
        self._require_powered()
        self._require_not_locked()
        if self._in_entry():
            raise Refusal(ResultCode.NOT_ALLOWED_DURING_PIN,
                          "explore mode cannot start during PIN entry")
        if lang is not None:
            self._check_lang(lang)
            self.lang = lang
        self._held = None
        self._set_mode(Mode.EXPLORE)
        self._prompt("explore-start", lang=self.lang)
        self._explore_warn_at = self.now() + EXPLORE_WARNING_EVERY

    def stop_explore(self) -> None:
        self._explore_warn_at = None
        if self.mode is Mode.EXPLORE:
            self._set_mode(Mode.IDLE)
            self._prompt("explore-end", lang=self.lang)

    # -- PIN entry -------------------------------------------------------------------------------
    def start_pin_entry(self, req: EntryRequest) -> None:
        self._start_entry(req, change=False)

    def start_pin_change(self, req: EntryRequest) -> None:
        self._start_entry(req, change=True)

    def _validate_entry(self, req: EntryRequest, change: bool) -> dict[str, bool]:
        bad = ResultCode.BAD_PARAMETER
        if not (4 <= req.min_len <= req.max_len <= 12):
            raise Refusal(bad, "PIN length limits must satisfy 4 <= minLen <= maxLen <= 12 "
                               f"(got minLen {req.min_len}, maxLen {req.max_len})")
        if not 0 < req.timeout <= MAX_TIME_LIMIT:
            raise Refusal(bad, f"the PIN entry time limit must be 1..{MAX_TIME_LIMIT} s")
        prompt = PROMPTS.get(req.prompt_id)
        if prompt is None:
            raise Refusal(ResultCode.UNKNOWN_PROMPT,
                          f"prompt {req.prompt_id} is not in the pad's fixed prompt table")
        if not (prompt.starts_change if change else prompt.starts_entry):
            raise Refusal(ResultCode.PROMPT_NOT_ALLOWED,
                          f"prompt {req.prompt_id} ({prompt.name}) may not start a "
                          f"{'PIN change' if change else 'PIN entry'}")
        lang = req.lang or self.lang
        self._check_lang(lang)
        try:
            render_prompt(prompt.ident, lang, tuple(req.prompt_args))
        except ValueError as exc:
            raise Refusal(bad, str(exc)) from None
        if not 1 <= req.max_mismatches <= 9:
            raise Refusal(bad, "allowed mismatches must be 1..9")
        if req.beep not in BEEP_POLICIES:
            raise Refusal(bad, f"beep policy must be one of {', '.join(BEEP_POLICIES)}")
        active = dict(DEFAULT_ACTIVE_KEYS if req.active_keys is None else req.active_keys)
        unknown = [k for k in active if k not in self._keys]
        if unknown:
            raise Refusal(bad, f"active keys not on this keypad: {', '.join(sorted(unknown))}")
        # every digit active and none terminating: every digit key behaves identically
        if any(d not in active or active[d] for d in DIGIT_KEYS):
            raise Refusal(bad, "every digit key must be active and none may terminate")
        if not req.auto_end and not active.get("enter", False):
            raise Refusal(bad, "a PIN entry needs enter as a terminate key, or autoEnd")
        return active

    def _start_entry(self, req: EntryRequest, change: bool) -> None:
        self._require_powered()
        self._require_not_locked()
        if self._in_entry():
            raise Refusal(ResultCode.BUSY, "a PIN entry is already running; cancel it first")
        if self.mode is Mode.EXPLORE:
            raise Refusal(ResultCode.NOT_ALLOWED_IN_MODE, "stop explore mode first")
        active = self._validate_entry(req, change)
        lang = req.lang or self.lang
        self._check_rate_limit(lang)
        self._held = None
        entry = _Entry(req=req, active=active, change=change, lang=lang)
        if change:
            entry.first = _PinBuffer()
        self._entry = entry
        self._arm_timer()
        self.audio.stop("mode")
        self._set_mode(Mode.PIN_CHANGE if change else Mode.PIN)
        prompt = PROMPTS[req.prompt_id]
        self._prompt(prompt.name, *req.prompt_args, lang=lang)
        self._mask_display(after_prompt=True)
        self._notify("entry-ready", phase=1, seconds_left=self.seconds_left())

    def _check_rate_limit(self, lang: str) -> None:
        now = self.wall_now()
        history = [t for t in self.store.data["pin_entries"] if now - t < RATE_WINDOW]
        if len(history) >= self.rate_limit:
            retry = int(RATE_WINDOW - (now - min(history))) + 1
            self.store.data["pin_entries"] = history
            self.store.save()
            self._prompt("rate-limited", lang=lang)
            raise Refusal(ResultCode.RATE_LIMITED,
                          f"{self.rate_limit} PIN entries in the last hour: the pad refuses more "
                          f"for {retry} s (exhaustive-search protection)", retry_after=retry)
        history.append(now)
        self.store.data["pin_entries"] = history
        self.store.save()

    def _arm_timer(self) -> None:
        entry = self._entry
        assert entry is not None
        entry.deadline = self.now() + entry.req.timeout
        self._rearm_warnings()

    def _rearm_warnings(self) -> None:
        entry = self._entry
        assert entry is not None
        left = entry.deadline - self.now()
        entry.pending_warnings = list(warning_marks(left))

    def extend_time(self, seconds: float, *, by: str = "host") -> int:
        """Give the customer ``seconds`` more; returns the seconds now left."""
        entry = self._entry
        if not self._in_entry() or entry is None:
            raise Refusal(ResultCode.NOT_ALLOWED_IN_MODE, "no PIN entry is running")
        if not 1 <= seconds <= MAX_TIME_LIMIT:
            raise Refusal(ResultCode.BAD_PARAMETER, f"extend by 1..{MAX_TIME_LIMIT} s")
        now = self.now()
        if entry.deadline - now >= MAX_TIME_LIMIT:
            raise Refusal(ResultCode.EXTENSION_LIMIT,
                          f"the entry already has the maximum {MAX_TIME_LIMIT} s left")
        entry.deadline = min(max(entry.deadline, now) + seconds, now + MAX_TIME_LIMIT)
        self._rearm_warnings()
        left = self.seconds_left()
        self._notify("time-extended", seconds_left=left, by=by)
        self._prompt("time-extended", min(left, MAX_PROMPT_ARG))
        return left

    def cancel_entry(self) -> None:
        """Host cancel: ends a running entry (how host-cancel) or explore mode; idempotent."""
        if self.mode is Mode.EXPLORE:
            self.stop_explore()
        elif self._in_entry():
            self._complete("host-cancel")

    def _complete(self, how: str, key: str | None = None) -> None:
        entry = self._entry
        assert entry is not None
        count = entry.buffer.count
        success = how in ("enter", "auto")
        if success:
            self._hold(entry.buffer)
        entry.buffer.wipe()
        if entry.first is not None:
            entry.first.wipe()
        self._entry = None
        self._set_mode(Mode.IDLE)
        self._notify("entry-complete", how=how, digits=count, key=key, change=entry.change)
        # each end has its own vibration pattern (SPEC 6.7), so it is told apart by touch
        if success:
            self.audio.cue("success", "done")
            self._prompt("pin-changed" if entry.change else "entry-complete", lang=entry.lang)
        elif how == "timeout":
            self.audio.cue("error", "timeout")
            self._prompt("entry-timeout", lang=entry.lang)
        elif how in ("cancel", "host-cancel", "mismatch"):
            if self.audio.haptics_on or self.audio.private:
                self.audio.haptic("error" if how == "mismatch" else "cancelled")
            self._prompt("pin-change-cancelled" if entry.change else "entry-cancelled",
                         lang=entry.lang)

    # -- the held (enciphered) PIN ------------------------------------------------------------
    def _session_cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._session_key), modes.ECB())

    def _hold(self, buf: _PinBuffer) -> None:
        clear = bytearray(16)
        clear[0] = buf.count
        clear[1:1 + buf.count] = buf.digits()
        enc = self._session_cipher().encryptor()
        self._held = (enc.update(bytes(clear)) + enc.finalize(), self.now() + HELD_PIN_LIFETIME)
        for i in range(16):
            clear[i] = 0

    def _take_held(self) -> str:
        held = self._held
        self._held = None
        if held is None or self.now() >= held[1]:
            raise Refusal(ResultCode.NO_PIN,
                          "no completed PIN entry to build a PIN block from (a PIN is used once "
                          f"and kept at most {HELD_PIN_LIFETIME} s after the entry)")
        dec = self._session_cipher().decryptor()
        clear = bytearray(dec.update(held[0]) + dec.finalize())
        pin = "".join(chr(48 + d) for d in clear[1:1 + clear[0]])
        for i in range(16):
            clear[i] = 0
        return pin

    def pin_block(self, fmt: str, pan: str | None, slot: int = 0
                  ) -> tuple[bytes, bytes | None, int]:
        """Encipher the held PIN once: (PIN block, KSN or None, slot used)."""
        self._require_powered()
        self._require_not_locked()
        if self._in_entry():
            raise Refusal(ResultCode.NOT_ALLOWED_DURING_PIN, "the PIN entry has not completed")
        if self._held is None or self.now() >= self._held[1]:
            self._held = None
            raise Refusal(ResultCode.NO_PIN, "no completed PIN is held (none entered, already "
                          f"used, or older than {HELD_PIN_LIFETIME} s)")
        try:
            # validate before consuming the PIN so a typo in the PAN does not cost the customer
            self.keystore.resolve(fmt, pan, slot)
            pin = self._take_held()
            return self.keystore.pin_block(fmt, pin, pan, slot)
        except KeyProblem as exc:
            raise Refusal(exc.code, str(exc)) from None

    # -- audio, display, haptics -----------------------------------------------------------
    def speak(self, text: str, lang: str, *, rate: float | None = None, volume: int | None = None,
              interruptible: bool = True, queue: bool = False) -> int:
        """Free-text speech; refused during PIN entry.  Returns the utterance id."""
        self._require_powered()
        if self._in_entry():
            raise Refusal(ResultCode.NOT_ALLOWED_DURING_PIN,
                          "free-text speech is refused during PIN entry: use a fixed prompt id")
        self._check_lang(lang)
        self._check_audio(rate, volume)
        if not text.strip() or len(text) > 1000:
            raise Refusal(ResultCode.BAD_PARAMETER, "speech text must be 1..1000 characters")
        try:
            return self.audio.say(text, lang, source="host", rate=rate, volume=volume,
                                  interruptible=interruptible, queue=queue,
                                  caption=self.captions).ident
        except SpeechUnavailable as exc:
            raise Refusal(ResultCode.SPEECH_FAILED, f"speech failed: {exc}") from None

    def speak_prompt(self, prompt_id: int, args: tuple[int, ...], lang: str | None = None,
                     *, interruptible: bool = True, display: bool = True) -> int:
        """Speak (and display) a fixed-table prompt; PIN-asking prompts only during entry."""
        self._require_powered()
        prompt = PROMPTS.get(prompt_id)
        if prompt is None:
            raise Refusal(ResultCode.UNKNOWN_PROMPT,
                          f"prompt {prompt_id} is not in the pad's fixed prompt table")
        if prompt.asks_for_pin and not self._in_entry():
            raise Refusal(ResultCode.PROMPT_NOT_ALLOWED,
                          f"prompt {prompt_id} asks for a PIN: only during PIN entry")
        lang = lang or (self._entry.lang if self._entry else self.lang)
        self._check_lang(lang)
        try:
            text = render_prompt(prompt_id, lang, tuple(args))
        except ValueError as exc:
            raise Refusal(ResultCode.BAD_PARAMETER, str(exc)) from None
        try:
            return self.audio.say(text, lang, source="prompt", prompt_id=prompt_id,
                                  interruptible=interruptible, caption=display).ident
        except SpeechUnavailable as exc:
            raise Refusal(ResultCode.SPEECH_FAILED, f"speech failed: {exc}") from None

    def _check_audio(self, rate: float | None, volume: int | None) -> None:
        if rate is not None and not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
            raise Refusal(ResultCode.BAD_PARAMETER,
                          f"speech rate must be {RATE_RANGE[0]}..{RATE_RANGE[1]}")
        if volume is not None and not VOLUME_RANGE[0] <= volume <= VOLUME_RANGE[1]:
            raise Refusal(ResultCode.BAD_PARAMETER,
                          f"volume must be {VOLUME_RANGE[0]}..{VOLUME_RANGE[1]}")

    def stop_speech(self) -> None:
        self.audio.stop("host")

    def play_tone(self, name: str, freq: int | None = None, ms: int | None = None,
                  volume: int | None = None) -> None:
        self._require_powered()
        self._check_audio(None, volume)
        if name != "custom" and name not in TONES:
            raise Refusal(ResultCode.BAD_PARAMETER,
                          f"unknown tone {name!r}: use custom or one of {', '.join(TONES)}")
        if name == "custom" and (not freq or not ms):
            raise Refusal(ResultCode.BAD_PARAMETER, "a custom tone needs frequency and length")
        if self._in_entry() and name == "key":
            # the neutral key tone is reserved for key feedback during entry: a host must not
            # be able to fake (or mask) digit feedback
            raise Refusal(ResultCode.NOT_ALLOWED_DURING_PIN,
                          "the key tone is reserved for key feedback during PIN entry")
        self.audio.tone(name, freq=freq, ms=ms, volume=volume)

    def keypress_beep(self, active: bool, inactive: bool) -> None:
        self.audio.beep_active = active
        self.audio.beep_inactive = inactive

    def set_volume(self, volume: int | None, rate: float | None) -> None:
        """Volume 1..1000 / rate 0.5..2.0; None restores the default.  Persisted until the
        headset is pulled out (ADA 707.5: back to the default for the next user)."""
        self._check_audio(rate, volume)
        self.audio.volume = DEFAULT_VOLUME if volume is None else volume
        self.audio.rate = DEFAULT_RATE if rate is None else rate
        self._save_settings()

    def set_language(self, lang: str) -> None:
        """TPP SetLanguage: the pad's own prompts and key names in ``lang`` from now on."""
        self._require_powered()
        if self._in_entry():
            raise Refusal(ResultCode.NOT_ALLOWED_DURING_PIN,
                          "the language of a running PIN entry is fixed at its start")
        self._check_lang(lang)
        self.lang = lang
        self._save_settings()

    def set_feedback(self, speech: bool, tones: bool, haptics: bool, captions: bool = True,
                     large: bool = False) -> None:
        """TPP SetFeedback: which senses the pad's own feedback reaches (SPEC 6.7)."""
        self._require_powered()
        if self._in_entry():
            raise Refusal(ResultCode.NOT_ALLOWED_DURING_PIN,
                          "feedback is chosen before a PIN entry starts, never during it")
        self.audio.speech_on, self.audio.tones_on = bool(speech), bool(tones)
        self.audio.haptics_on = bool(haptics)
        self.captions, self.large_type = bool(captions), bool(large)
        if not speech and self.audio.current is not None and self.audio.current.source != "host":
            self.audio.stop("mode")

    def display(self, text: str, large: bool) -> None:
        self._require_powered()
        if self._in_entry():
            raise Refusal(ResultCode.NOT_ALLOWED_DURING_PIN,
                          "free display text is refused during PIN entry: use a fixed prompt id")
        size = self.display_size
        if not size.fits(text, large):
            raise Refusal(ResultCode.TEXT_TOO_LONG,
                          f"display text does not fit: at most {size.rows} lines of "
                          f"{size.line(large)} cells in {'large' if large else 'normal'} type "
                          "(a Chinese character takes two cells); lay it out in pages")
        self.large_type = large
        self._pages = []
        self._emit("display", text=text, large=large)

    def haptic(self, pattern: list[int]) -> None:
        self._require_powered()
        if not pattern or len(pattern) > 16 or any(not 1 <= p <= 2000 for p in pattern):
            raise Refusal(ResultCode.BAD_PARAMETER,
                          "a haptic pattern is 1..16 pulses/pauses of 1..2000 ms")
        if self._in_entry() and list(pattern) == HAPTIC_PATTERNS["key"]:
            raise Refusal(ResultCode.NOT_ALLOWED_DURING_PIN,
                          "the key pulse is reserved for key feedback during PIN entry")
        self.audio.haptic("custom", list(pattern))

    # -- the physical side: keys, jack, tamper -------------------------------------------------
    def press(self, name: str) -> float | None:
        """A customer presses key ``name`` (an XFS key name of this layout): one clean press.

        Returns when the key scanner registered it (None when the pad is off).  A customer's
        presses of one key are at least :data:`KEY_DEBOUNCE` apart (no finger is faster; two
        control commands may come closer than that in real time), so a press registers no
        earlier than that after the key's previous one; contact bounce after it arrives
        through :meth:`contact` and is debounced against that time.
        """
        if name not in self._keys:
            raise KeyError(name)
        if self.mode is Mode.OFF:
            return None
        recent = self._registered.setdefault(name, deque(maxlen=16))
        at = self.now() if not recent else max(self.now(), recent[-1] + KEY_DEBOUNCE)
        recent.append(at)
        self._key_action(name)
        return at

    def contact(self, name: str, at: float) -> bool:
        """The key scanner sees key ``name``'s contact close at ``at`` (a bounce, or chatter):
        within :data:`KEY_DEBOUNCE` of a registered press of that key it is the same press and
        ignored (SPEC 6.3); otherwise it registers as a new press.  True if registered."""
        if name not in self._keys:
            raise KeyError(name)
        if self.mode is Mode.OFF:
            return False
        recent = self._registered.setdefault(name, deque(maxlen=16))
        if any(abs(at - t) < KEY_DEBOUNCE for t in recent):
            return False
        recent.append(at)
        self._key_action(name)
        return True

    def _key_action(self, name: str) -> None:
        """What one registered press of ``name`` does in the current mode."""
        # any key press interrupts current speech (the customer is acting); in IDLE it skips
        # that phrase only and what the host queued after it plays on (SPEC 6.7)
        self.audio.stop("key", keep_queue=self.mode is Mode.IDLE)
        if self.mode is Mode.EXPLORE:
            self.audio.key_feedback(True)
            text = describe_key(self._keys[name], self.lang)
            try:
                self.audio.say(text, self.lang, source="explore", caption=True)
            except SpeechUnavailable:
                self._display(text)
                utt = self.audio.failed_own_speech(text, self.lang, source="explore")
                self._emit("say-failed", source="explore", id=utt.ident)
            self._notify("key", key=name, digits=0, status="accepted")
        elif self._in_entry():
            self._entry_key(name)
        else:
            # idle/locked: digits are never reported outside PIN entry (a customer typing a PIN
            # early must not leak it); function keys are reported as inactive so a host can
            # offer guidance (help) - the pad itself ignores them.
            # a function key the host may act on (guidance listens for Help, Enter, Cancel)
            # sounds like any working key, not "inactive"; a digit, which nothing uses here,
            # gives the inactive tone
            reported = name not in DIGIT_KEYS and self.mode is Mode.IDLE
            self.audio.key_feedback(reported)
            if reported:
                self._notify("key", key=name, digits=0, status="inactive")

    def _entry_key(self, name: str) -> None:
        entry = self._entry
        assert entry is not None
        policy = entry.req.beep
        if name not in entry.active:
            self.audio.key_feedback(False, policy)
            self._notify("key", key=name, digits=entry.buffer.count, status="inactive")
            return
        terminate = entry.active[name]
        # every key press re-arms the inactivity limit
        self._arm_timer()
        if name in DIGIT_KEYS:
            if entry.buffer.count >= entry.req.max_len:
                self.audio.key_feedback(False, policy)
                self._notify("digit", digits=entry.buffer.count, accepted=False)
                return
            entry.buffer.append(DIGIT_KEYS.index(name))
            self.audio.key_feedback(True, policy)
            self._mask_display()
            self._notify("digit", digits=entry.buffer.count, accepted=True)
            if entry.req.auto_end and entry.buffer.count == entry.req.max_len:
                self._stage_done("auto", None)
            return
        self.audio.key_feedback(True, policy)
        if name in ("clear", "cancel"):
            entry.buffer.wipe()
        elif name == "backspace":
            entry.buffer.pop()
        if name == "enter" and terminate and entry.buffer.count < entry.req.min_len:
            self._notify("key", key=name, digits=entry.buffer.count, status="too-short")
            self.audio.tone("error")
            self._prompt("pin-too-short", entry.req.min_len)
            return
        if name == "help" and not terminate and entry.help_extensions >= HELP_EXTENSIONS:
            self._notify("key", key=name, digits=entry.buffer.count,
                         status="no-more-extensions")
            self._prompt("help")
            return
        self._notify("key", key=name, digits=entry.buffer.count, status="accepted")
        if name in ("clear", "cancel", "backspace"):
            self._mask_display()
        if terminate:
            if name == "enter":
                self._stage_done("enter", name)
            else:
                self._complete(name, name)
            return
        if name == "help":
            entry.help_extensions += 1
            if entry.deadline - self.now() < MAX_TIME_LIMIT:
                self.extend_time(entry.req.timeout, by="customer")
            else:
                self._prompt("help")
            # Help is also how a customer hears the instruction again (prompts are repeatable),
            # and how many digits are in already (a count, never a value)
            if entry.phase == 2:
                self._prompt("confirm-new-pin", queue=True)
            else:
                start = PROMPTS[entry.req.prompt_id]
                self._prompt(start.name, *entry.req.prompt_args, queue=True)
            if entry.buffer.count:
                self._prompt("digits-entered", entry.buffer.count, queue=True)
        elif name == "clear":
            self._prompt("cleared")

    def _stage_done(self, how: str, key: str | None) -> None:
        entry = self._entry
        assert entry is not None
        if not entry.change:
            self._complete(how, key)
            return
        assert entry.first is not None
        if entry.phase == 1:
            entry.first.take_from(entry.buffer)
            entry.phase = 2
            self._arm_timer()
            self._prompt("confirm-new-pin")
            self._mask_display(after_prompt=True)
            self._notify("entry-ready", phase=2, seconds_left=self.seconds_left())
            return
        if entry.first.same_as(entry.buffer):
            entry.first.wipe()
            self._complete(how, key)
            return
        entry.mismatches += 1
        entry.buffer.wipe()
        entry.first.wipe()
        left = max(0, entry.req.max_mismatches - entry.mismatches)
        self.audio.tone("error")
        self._notify("change-mismatch", attempts_left=left)
        if left == 0:
            self._complete("mismatch", None)
            return
        entry.phase = 1
        self._arm_timer()
        self._prompt("pin-mismatch-left", left)
        self._mask_display(after_prompt=True)
        self._notify("entry-ready", phase=1, seconds_left=self.seconds_left())

    def set_headset(self, inserted: bool) -> None:
        if not self.audio.set_headset(inserted):
            return
        if not inserted:
            # ADA 707.5: volume and rate go back to the default for the next user
            self.audio.volume = DEFAULT_VOLUME
            self.audio.rate = DEFAULT_RATE
            self._save_settings()
        self._notify("headset", inserted=inserted)
        if inserted and self.mode is not Mode.OFF:
            self._prompt("headset-in")

    def tamper(self) -> None:
        """The tamper switch fires: wipe the PIN and every key, lock (persisted)."""
        self._wipe_volatile()
        self.keystore.wipe()
        self.store.data["tampered"] = True
        self.store.save()
        self.audio.stop("mode")
        self._emit("tamper", keys="erased")
        self.audio.tone("error")
        self._set_mode(Mode.LOCKED)
        self._notify("tamper")

    def service_reset(self) -> None:
        """Vendor depot re-initialisation: clear the tamper flag, reload the test keys, restart."""
        self._wipe_volatile()
        self.store.data["tampered"] = False
        self.store.data["pin_entries"] = []
        self.keystore.load_test_keys()
        self.power_on("service")

    # -- timers ---------------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        times = []
        s = self.audio.next_deadline()
        if s is not None:
            times.append(s)
        entry = self._entry
        if entry is not None:
            times.append(entry.deadline)
            if entry.pending_warnings:
                times.append(entry.deadline - max(entry.pending_warnings))
        if self._held is not None:
            times.append(self._held[1])
        if self._explore_warn_at is not None:
            times.append(self._explore_warn_at)
        if self._pages:
            times.append(self._pages[0][0])
        return min(times) if times else None

    def tick(self, now: float) -> float | None:
        self.audio.tick(now)
        self._flush_pages(now)
        entry = self._entry
        if entry is not None:
            if now >= entry.deadline:
                self._complete("timeout", None)
            else:
                while entry.pending_warnings and now >= entry.deadline - max(entry.pending_warnings):
                    w = max(entry.pending_warnings)
                    entry.pending_warnings.remove(w)
                    self._notify("time-warning", seconds_left=w)
                    self.audio.cue("warning", "warning")
                    self._prompt("time-warning", w)
        if self._held is not None and now >= self._held[1]:
            self._held = None
        if self._explore_warn_at is not None and now >= self._explore_warn_at:
            # SPEC rule 9: host free text is not authenticated in TPP 1.0, so the pad repeats
            # "do not enter your PIN" while keys are being named aloud
            self._explore_warn_at = now + EXPLORE_WARNING_EVERY
            self._prompt("explore-start", lang=self.lang)
        return self.next_deadline()
