"""The protocol-independent heart of the simulated pad: modes, keys, PIN buffer, time limits.

:class:`PadCore` knows nothing of frames.  The host side calls its methods (``start_pin_entry``,
``pin_block``, ``speak`` ...) and gets results or a :class:`Refusal`; what the pad tells the host
on its own initiative (a masked digit, a named key, a time warning, a completion) leaves through
``notify(kind, **fields)``; what a customer could perceive leaves through ``emit(name, **fields)``
(the simulator's stdout events).  :mod:`firmware_sim.pinpad.device` maps both onto TPP frames.

Key semantics follow XFS4IoT Keyboard.PinEntry:

* a digit adds to the buffer and the host learns only the new count; once ``max_len`` digits are
  in (``auto_end`` false) further digits are ignored (inactive beep) until clear/backspace;
  with ``auto_end`` the entry completes at ``max_len``;
* clear and cancel empty the buffer, backspace removes the last digit;
* a key whose ``terminate`` flag is set ends the entry (enter below ``min_len`` is refused with
  the fixed "pin-too-short" prompt and the entry continues);
* keys not in ``active_keys`` give the inactive beep and nothing else.

Time limit: an inactivity limit, re-armed by every key press (the most frequent complaint of
blind users is limits that are too short).  Warnings at 30 s and 10 s left (those shorter than
the limit): a ``time-warning`` notice, a warning tone and the fixed prompt "N seconds left, press
Help for more time".  Help (when it is not a terminate key) repeats the help prompt and extends
the time by the entry's limit, at most :data:`HELP_EXTENSIONS` times per entry; the host can
extend with :meth:`PadCore.extend_time` at any time.

Secrecy: digits live in a ``bytearray`` that is overwritten with zeros on completion, cancel,
timeout, power-off and tamper.  A completed PIN is kept only enciphered under a per-power-on
random AES key until one :meth:`PadCore.pin_block` call consumes it (or it expires after
:data:`HELD_PIN_LIFETIME` s).  No event, prompt, display text or error message contains a digit
value.  (Python strings cannot be overwritten: the clear PIN exists as a ``str`` only for the
instant the PIN block is built, because :mod:`protocol.pinblock` takes a ``str``.)
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass, field
from typing import Any, Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from protocol.layout import Layout

from firmware_sim.pinpad.audio import (
    DEFAULT_RATE,
    DEFAULT_VOLUME,
    HAPTIC_PATTERNS,
    RATE_RANGE,
    TONES,
    VOLUME_RANGE,
    Audio,
    SpeechUnavailable,
)
from firmware_sim.pinpad.prompts import (
    LANGUAGES,
    MAX_PROMPT_ARG,
    PROMPTS,
    describe_key,
    prompt_by_name,
    render_prompt,
)
from firmware_sim.pinpad.keys import KeyProblem
from firmware_sim.pinpad.state import StateStore

__all__ = [
    "Mode",
    "Refusal",
    "RefusalCode",
    "EntryRequest",
    "PadCore",
    "DIGIT_KEYS",
    "FUNCTION_KEYS",
    "DEFAULT_ACTIVE_KEYS",
    "WARN_AT",
    "HELP_EXTENSIONS",
    "HELD_PIN_LIFETIME",
    "DEFAULT_RATE_LIMIT",
    "COMPLETION_REASONS",
]

DIGIT_KEYS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six", "seven",
                               "eight", "nine")
FUNCTION_KEYS: tuple[str, ...] = ("enter", "cancel", "clear", "backspace", "help")
#: name -> terminate flag when the host gives no active keys
DEFAULT_ACTIVE_KEYS: dict[str, bool] = {**{d: False for d in DIGIT_KEYS}, "enter": True,
                                        "cancel": True, "clear": False, "backspace": False,
                                        "help": False}
#: seconds-left marks at which the pad warns
WARN_AT: tuple[int, ...] = (30, 10)
HELP_EXTENSIONS = 3
HELD_PIN_LIFETIME = 120.0
DEFAULT_RATE_LIMIT = 120
DEFAULT_TIMEOUT = 90.0
MAX_TIMEOUT = 600.0
RATE_WINDOW = 3600.0
COMPLETION_REASONS = ("enter", "auto", "cancel", "clear", "backspace", "help", "timeout",
                      "mismatch")


class Mode(enum.Enum):
    OFF = "off"
    IDLE = "idle"
    EXPLORE = "explore"
    PIN = "pin"
    PIN_CHANGE = "pin-change"
    LOCKED = "locked"


class RefusalCode(enum.Enum):
    BUSY = "busy"                      # another entry/explore is running
    PIN_ACTIVE = "pin-active"          # not allowed while a PIN is being entered
    RATE_LIMITED = "rate-limited"      # too many PIN entries this hour
    NO_PIN = "no-pin"                  # GetPinBlock without a completed PIN
    LOCKED = "locked"                  # tamper: keys erased
    BAD_PARAMETER = "bad-parameter"
    UNSUPPORTED = "unsupported"
    SPEECH_FAILED = "speech-failed"
    NO_KEY = "no-key"                  # the key slot is empty


class Refusal(Exception):
    """The pad refuses a host request (mapped to a TPP error status by the device layer)."""

    def __init__(self, code: RefusalCode, message: str, **details: Any) -> None:
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
    beep_active: bool | None = None
    beep_inactive: bool | None = None
    lang: str | None = None
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
    stage: int = 1
    deadline: float = 0.0
    pending_warnings: list[int] = field(default_factory=list)
    mismatches: int = 0
    help_extensions: int = 0


@dataclass(frozen=True, slots=True)
class _KeyInfo:
    name: str
    row: int
    column: int
    mark: str | None
    colour: str | None


def _word(value: str) -> str | None:
    return None if value == "none" else value


class PadCore:
    """The pad's behaviour; see the module docstring.

    ``layout``: the keypad (:class:`protocol.layout.Layout`);
    ``keystore``: key slots and PIN block builder (:class:`firmware_sim.pinpad.keys.Keystore`);
    ``emit(name, **fields)``: customer-perceivable events; ``notify(kind, **fields)``: unsolicited
    messages for the host; ``now``: the injected monotonic clock; ``wall_now``: wall time for the
    persisted rate-limit history; ``random_bytes(n)``: the injected random source.
    """

    def __init__(self, *, layout: Layout, store: StateStore, keystore: Any,
                 emit: Callable[..., None], notify: Callable[..., None],
                 now: Callable[[], float], wall_now: Callable[[], float],
                 random_bytes: Callable[[int], bytes], rate_limit: int = DEFAULT_RATE_LIMIT) -> None:
        self.layout = layout
        # spoken rows/columns count from 1 ("row 2, column 2"); the layout's grid from 0
        self._keys: dict[str, _KeyInfo] = {
            k.name: _KeyInfo(k.name, k.row + 1, k.column + 1, _word(k.mark.value),
                             _word(k.colour.value))
            for k in layout.keys}
        self.store = store
        self.keystore = keystore
        self._emit = emit
        self._notify = notify
        self.now = now
        self.wall_now = wall_now
        self.random_bytes = random_bytes
        self.rate_limit = rate_limit
        self.audio = Audio(emit=emit, now=now, on_speech_done=self._speech_done)
        self.mode = Mode.OFF
        self.large_type = False
        self.lang = "zh-CN"
        self._entry: _Entry | None = None
        self._held: tuple[bytes, float] | None = None
        self._session_key = b""
        self._load_settings()

    # -- settings ---------------------------------------------------------------------------
    def _load_settings(self) -> None:
        s = self.store.data["settings"]
        self.default_volume = int(s.get("volume", DEFAULT_VOLUME))
        self.default_rate = float(s.get("rate", DEFAULT_RATE))
        self.default_lang = str(s.get("lang", "zh-CN"))
        self.audio.volume = self.default_volume
        self.audio.rate = self.default_rate
        self.lang = self.default_lang

    def _save_settings(self) -> None:
        self.store.data["settings"] = {"volume": self.default_volume, "rate": self.default_rate,
                                       "lang": self.default_lang}
        self.store.save()

    @property
    def key_names(self) -> list[str]:
        return list(self._keys)

    # -- power ------------------------------------------------------------------------------
    def power_on(self) -> None:
        """Power reaches the pad: wipe volatile state, load test keys on a first start."""
        self._wipe_volatile()
        self.audio.current = None
        self.audio.beep_active = self.audio.beep_inactive = True
        self._load_settings()
        self._session_key = bytes(self.random_bytes(16))
        if self.store.fresh:
            self.keystore.load_test_keys()
        tampered = bool(self.store.data["tampered"])
        self._emit("power-on", tampered=tampered, headset=self.audio.headset)
        self._set_mode(Mode.LOCKED if tampered else Mode.IDLE)
        self._notify("power-on", tampered=tampered)

    def power_off(self) -> None:
        self._wipe_volatile()
        self.audio.current = None
        self._set_mode(Mode.OFF)

    def _wipe_volatile(self) -> None:
        if self._entry is not None:
            self._entry.buffer.wipe()
            if self._entry.first is not None:
                self._entry.first.wipe()
        self._entry = None
        self._held = None

    def _set_mode(self, mode: Mode) -> None:
        if mode is not self.mode:
            self.mode = mode
            self._emit("mode", mode=mode.value)

    # -- feedback helpers -------------------------------------------------------------------
    def _display(self, text: str, large: bool | None = None) -> None:
        self._emit("display", text=text, large=self.large_type if large is None else large)

    def _prompt(self, name: str, *args: int, lang: str | None = None) -> None:
        """Speak and display a fixed prompt (falls back to display only if speech failed)."""
        prompt = prompt_by_name(name)
        lang = lang or (self._entry.lang if self._entry else self.lang)
        text = render_prompt(prompt.ident, lang, tuple(args))
        self._display(text)
        try:
            self.audio.say(text, lang, source="prompt", prompt_id=prompt.ident)
        except SpeechUnavailable:
            self._emit("say-failed", prompt=prompt.ident)

    def _mask_display(self) -> None:
        entry = self._entry
        assert entry is not None
        label = "密码" if entry.lang.startswith("zh") else "PIN"
        self._display(f"{label}: " + "*" * entry.buffer.count)

    def _speech_done(self, utt: Any) -> None:
        self._notify("speech-done", id=utt.ident)

    # -- host requests: information ------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        entry = self._entry
        return {
            "mode": self.mode.value,
            "headset": self.audio.headset,
            "volume": self.audio.volume,
            "rate": self.audio.rate,
            "lang": self.lang,
            "digits": entry.buffer.count if entry else 0,
            "stage": entry.stage if entry else 0,
            "pin_held": self._held is not None,
            "speaking": self.audio.speaking,
            "tampered": bool(self.store.data["tampered"]),
        }

    def _require_powered(self) -> None:
        if self.mode is Mode.OFF:
            raise Refusal(RefusalCode.BUSY, "the pad is powered off")

    def _require_not_locked(self) -> None:
        if self.mode is Mode.LOCKED:
            raise Refusal(RefusalCode.LOCKED,
                          "the pad is locked after a tamper event and its keys are erased; "
                          "it must be re-initialised by the vendor")

    def _in_entry(self) -> bool:
        return self.mode in (Mode.PIN, Mode.PIN_CHANGE)

    # -- explore mode -------------------------------------------------------------------------
    def start_explore(self, lang: str | None = None) -> None:
        self._require_powered()
        self._require_not_locked()
        if self._in_entry():
            raise Refusal(RefusalCode.PIN_ACTIVE, "explore mode cannot start during PIN entry")
        if lang is not None:
            self._check_lang(lang)
            self.lang = lang
        self._set_mode(Mode.EXPLORE)
        self._prompt("explore-start", lang=self.lang)

    def stop_explore(self) -> None:
        if self.mode is Mode.EXPLORE:
            self._set_mode(Mode.IDLE)
            self._prompt("explore-end", lang=self.lang)

    # -- PIN entry -------------------------------------------------------------------------------
    def start_pin_entry(self, req: EntryRequest) -> None:
        self._start_entry(req, change=False)

    def start_pin_change(self, req: EntryRequest) -> None:
        self._start_entry(req, change=True)

    def _check_lang(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise Refusal(RefusalCode.BAD_PARAMETER,
                          f"unsupported language {lang!r}: use one of {', '.join(LANGUAGES)}")

    def _validate_entry(self, req: EntryRequest, change: bool) -> dict[str, bool]:
        if not (4 <= req.min_len <= req.max_len <= 12):
            raise Refusal(RefusalCode.BAD_PARAMETER,
                          "PIN length limits must satisfy 4 <= minLen <= maxLen <= 12 "
                          f"(got minLen {req.min_len}, maxLen {req.max_len})")
        if not 0 < req.timeout <= MAX_TIMEOUT:
            raise Refusal(RefusalCode.BAD_PARAMETER,
                          f"the PIN entry time limit must be 1..{int(MAX_TIMEOUT)} s")
        prompt = PROMPTS.get(req.prompt_id)
        if prompt is None:
            raise Refusal(RefusalCode.BAD_PARAMETER,
                          f"prompt {req.prompt_id} is not in the pad's fixed prompt table")
        if not (prompt.change if change else prompt.pin):
            raise Refusal(RefusalCode.BAD_PARAMETER,
                          f"prompt {req.prompt_id} ({prompt.name}) may not start a "
                          f"{'PIN change' if change else 'PIN entry'}")
        try:
            render_prompt(prompt.ident, "en", tuple(req.prompt_args))
        except ValueError as exc:
            raise Refusal(RefusalCode.BAD_PARAMETER, str(exc)) from None
        if req.lang is not None:
            self._check_lang(req.lang)
        if not 1 <= req.max_mismatches <= 9:
            raise Refusal(RefusalCode.BAD_PARAMETER, "allowed mismatches must be 1..9")
        active = dict(DEFAULT_ACTIVE_KEYS if req.active_keys is None else req.active_keys)
        unknown = [k for k in active if k not in self._keys]
        if unknown:
            raise Refusal(RefusalCode.BAD_PARAMETER,
                          f"active keys not on this keypad: {', '.join(sorted(unknown))}")
        if not any(d in active for d in DIGIT_KEYS):
            raise Refusal(RefusalCode.BAD_PARAMETER, "a PIN entry needs the digit keys active")
        if not any(active.values()) and not req.auto_end:
            raise Refusal(RefusalCode.BAD_PARAMETER,
                          "a PIN entry needs a terminate key (e.g. enter) or autoEnd")
        return active

    def _start_entry(self, req: EntryRequest, change: bool) -> None:
        self._require_powered()
        self._require_not_locked()
        if self._in_entry():
            raise Refusal(RefusalCode.BUSY, "a PIN entry is already running; cancel it first")
        active = self._validate_entry(req, change)
        self._check_rate_limit()
        if self.mode is Mode.EXPLORE:
            self.stop_explore()
        self._held = None
        lang = req.lang or self.lang
        entry = _Entry(req=req, active=active, change=change, lang=lang)
        if change:
            entry.first = _PinBuffer()
        self._entry = entry
        if req.beep_active is not None:
            self.audio.beep_active = req.beep_active
        if req.beep_inactive is not None:
            self.audio.beep_inactive = req.beep_inactive
        self._arm_timer()
        self._set_mode(Mode.PIN_CHANGE if change else Mode.PIN)
        prompt = PROMPTS[req.prompt_id]
        self._prompt(prompt.name, *req.prompt_args, lang=lang)
        self._mask_display_after_prompt()
        self._notify("entry-ready", change=change, stage=1, timeout=req.timeout)

    def _mask_display_after_prompt(self) -> None:
        # the prompt text stays on the display; the mask line follows it
        self._mask_display()

    def _check_rate_limit(self) -> None:
        now = self.wall_now()
        history = [t for t in self.store.data["pin_entries"] if now - t < RATE_WINDOW]
        if len(history) >= self.rate_limit:
            retry = int(RATE_WINDOW - (now - min(history))) + 1
            self.store.data["pin_entries"] = history
            self.store.save()
            self._prompt("rate-limited", lang=self.lang)
            raise Refusal(RefusalCode.RATE_LIMITED,
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
        entry.pending_warnings = [w for w in WARN_AT if w < left]

    def extend_time(self, seconds: float, *, by: str = "host") -> float:
        """Give the customer ``seconds`` more; returns the seconds now left."""
        if not self._in_entry() or self._entry is None:
            raise Refusal(RefusalCode.BAD_PARAMETER, "no PIN entry is running")
        if not 1 <= seconds <= MAX_TIMEOUT:
            raise Refusal(RefusalCode.BAD_PARAMETER, f"extend by 1..{int(MAX_TIMEOUT)} s")
        entry = self._entry
        now = self.now()
        entry.deadline = max(entry.deadline, now) + seconds
        left = entry.deadline - now
        if left > MAX_TIMEOUT:
            entry.deadline = now + MAX_TIMEOUT
            left = MAX_TIMEOUT
        self._rearm_warnings()
        self._notify("time-extended", seconds_left=int(left), by=by)
        self._prompt("time-extended", min(int(left), MAX_PROMPT_ARG))
        return left

    def cancel_entry(self) -> None:
        """Host cancels the running entry (or explore mode)."""
        if self.mode is Mode.EXPLORE:
            self.stop_explore()
            return
        if not self._in_entry():
            raise Refusal(RefusalCode.BAD_PARAMETER, "no PIN entry is running")
        self._complete("cancel")

    def _complete(self, reason: str) -> None:
        entry = self._entry
        assert entry is not None
        count = entry.buffer.count
        success = reason in ("enter", "auto")
        if success:
            self._hold(entry.buffer)
        entry.buffer.wipe()
        if entry.first is not None:
            entry.first.wipe()
        self._entry = None
        self.audio.beep_active = self.audio.beep_inactive = True
        self._set_mode(Mode.IDLE)
        fields: dict[str, Any] = {"reason": reason, "digits": count if success else 0,
                                  "change": entry.change}
        self._notify("entry-complete", **fields)
        if success:
            self.audio.tone("success")
            self._prompt("pin-changed" if entry.change else "entry-complete", lang=entry.lang)
        elif reason == "timeout":
            self.audio.tone("error")
            self._prompt("entry-timeout", lang=entry.lang)
        elif reason in ("cancel", "mismatch"):
            self._prompt("entry-cancelled", lang=entry.lang)

    # -- the held (enciphered) PIN ------------------------------------------------------------
    def _session_cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._session_key), modes.ECB())

    def _hold(self, buf: _PinBuffer) -> None:
        clear = bytearray(16)
        clear[0] = buf.count
        digits = buf.digits()
        clear[1:1 + buf.count] = digits
        enc = self._session_cipher().encryptor()
        self._held = (enc.update(bytes(clear)) + enc.finalize(), self.now() + HELD_PIN_LIFETIME)
        for i in range(16):
            clear[i] = 0

    def _take_held(self) -> str:
        held = self._held
        self._held = None
        if held is None or self.now() > held[1]:
            raise Refusal(RefusalCode.NO_PIN,
                          "no completed PIN entry to build a PIN block from (the PIN is used "
                          "once, and kept at most "
                          f"{int(HELD_PIN_LIFETIME)} s after the entry)")
        dec = self._session_cipher().decryptor()
        clear = bytearray(dec.update(held[0]) + dec.finalize())
        pin = "".join(chr(48 + d) for d in clear[1:1 + clear[0]])
        for i in range(16):
            clear[i] = 0
        return pin

    def pin_block(self, fmt: str, pan: str | None, slot: str | None = None
                  ) -> tuple[bytes, bytes | None]:
        """The enciphered PIN block of the last completed entry, and the KSN under DUKPT."""
        self._require_powered()
        self._require_not_locked()
        if self._in_entry():
            raise Refusal(RefusalCode.PIN_ACTIVE, "the PIN entry has not completed yet")
        if self._held is None:
            raise Refusal(RefusalCode.NO_PIN, "no completed PIN entry to build a PIN block from")
        try:
            # validate before consuming the PIN so a typo in the PAN does not cost the customer
            self.keystore.check_request(fmt, pan, slot)
            pin = self._take_held()
            return self.keystore.pin_block(fmt, pin, pan, slot)
        except KeyProblem as exc:
            raise Refusal(RefusalCode(exc.code), str(exc)) from None

    # -- audio, display, haptics -----------------------------------------------------------
    def speak(self, text: str, lang: str, *, rate: float | None = None,
              volume: int | None = None) -> int:
        """Free-text speech; refused during PIN entry.  Returns the utterance id."""
        self._require_powered()
        if self._in_entry():
            raise Refusal(RefusalCode.PIN_ACTIVE,
                          "free-text speech is refused during PIN entry: use a fixed prompt id")
        self._check_lang(lang)
        rate, volume = self._check_audio(rate, volume)
        if not text or len(text) > 1000:
            raise Refusal(RefusalCode.BAD_PARAMETER, "speech text must be 1..1000 characters")
        try:
            return self.audio.say(text, lang, source="host", rate=rate, volume=volume).ident
        except SpeechUnavailable as exc:
            raise Refusal(RefusalCode.SPEECH_FAILED, f"speech failed: {exc}") from None

    def speak_prompt(self, prompt_id: int, args: tuple[int, ...], lang: str | None = None,
                     *, rate: float | None = None, volume: int | None = None) -> int:
        """Speak (and display) a fixed-table prompt; allowed in every mode."""
        self._require_powered()
        if prompt_id not in PROMPTS:
            raise Refusal(RefusalCode.BAD_PARAMETER,
                          f"prompt {prompt_id} is not in the pad's fixed prompt table")
        lang = lang or (self._entry.lang if self._entry else self.lang)
        self._check_lang(lang)
        rate, volume = self._check_audio(rate, volume)
        try:
            text = render_prompt(prompt_id, lang, tuple(args))
        except ValueError as exc:
            raise Refusal(RefusalCode.BAD_PARAMETER, str(exc)) from None
        self._display(text)
        try:
            return self.audio.say(text, lang, source="prompt", prompt_id=prompt_id, rate=rate,
                                  volume=volume).ident
        except SpeechUnavailable as exc:
            raise Refusal(RefusalCode.SPEECH_FAILED, f"speech failed: {exc}") from None

    def _check_audio(self, rate: float | None, volume: int | None) -> tuple[float | None, int | None]:
        if rate is not None and not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
            raise Refusal(RefusalCode.BAD_PARAMETER,
                          f"speech rate must be {RATE_RANGE[0]}..{RATE_RANGE[1]}")
        if volume is not None and not VOLUME_RANGE[0] <= volume <= VOLUME_RANGE[1]:
            raise Refusal(RefusalCode.BAD_PARAMETER,
                          f"volume must be {VOLUME_RANGE[0]}..{VOLUME_RANGE[1]}")
        return rate, volume

    def stop_speech(self) -> None:
        self.audio.stop("host")

    def play_tone(self, name: str | None = None, freq: int | None = None,
                  ms: int | None = None) -> None:
        self._require_powered()
        if name is not None and name not in TONES:
            raise Refusal(RefusalCode.BAD_PARAMETER,
                          f"unknown tone {name!r}: use one of {', '.join(TONES)}")
        if name is None and (freq is None or ms is None):
            raise Refusal(RefusalCode.BAD_PARAMETER, "a tone needs a name or frequency and length")
        if freq is not None and not 100 <= freq <= 8000:
            raise Refusal(RefusalCode.BAD_PARAMETER, "tone frequency must be 100..8000 Hz")
        if ms is not None and not 10 <= ms <= 5000:
            raise Refusal(RefusalCode.BAD_PARAMETER, "tone length must be 10..5000 ms")
        if self._in_entry() and name == "key":
            # the neutral key tone is reserved for key feedback: a host must not be able
            # to fake (or mask) digit feedback during entry
            raise Refusal(RefusalCode.PIN_ACTIVE, "the key tone is reserved during PIN entry")
        self.audio.tone(name or "custom", freq=freq, ms=ms)

    def keypress_beep(self, active: bool, inactive: bool) -> None:
        self.audio.beep_active = active
        self.audio.beep_inactive = inactive

    def set_volume(self, volume: int, *, persist: bool = True) -> None:
        self._check_audio(None, volume)
        self.audio.volume = volume
        if persist:
            self.default_volume = volume
            self._save_settings()

    def set_rate(self, rate: float, *, persist: bool = True) -> None:
        self._check_audio(rate, None)
        self.audio.rate = rate
        if persist:
            self.default_rate = rate
            self._save_settings()

    def set_language(self, lang: str) -> None:
        self._check_lang(lang)
        self.lang = lang
        self.default_lang = lang
        self._save_settings()

    def display(self, text: str, large: bool) -> None:
        self._require_powered()
        if self._in_entry():
            raise Refusal(RefusalCode.PIN_ACTIVE,
                          "free display text is refused during PIN entry: use a fixed prompt id")
        if len(text) > 200:
            raise Refusal(RefusalCode.BAD_PARAMETER, "display text must be at most 200 characters")
        self.large_type = large
        self._display(text, large)

    def haptic(self, pattern: list[int]) -> None:
        self._require_powered()
        if not pattern or len(pattern) > 16 or any(not 1 <= p <= 2000 for p in pattern):
            raise Refusal(RefusalCode.BAD_PARAMETER,
                          "a haptic pattern is 1..16 pulses/pauses of 1..2000 ms")
        if self._in_entry() and list(pattern) == HAPTIC_PATTERNS["key"]:
            raise Refusal(RefusalCode.PIN_ACTIVE, "the key pulse is reserved during PIN entry")
        self.audio.haptic("custom", list(pattern))

    # -- the physical side: keys, jack, tamper -------------------------------------------------
    def press(self, name: str) -> None:
        """A customer presses key ``name`` (an XFS key name of this layout)."""
        if name not in self._keys:
            raise KeyError(name)
        if self.mode is Mode.OFF:
            return
        # any key press interrupts current speech (the customer is acting)
        self.audio.stop("key")
        if self.mode is Mode.EXPLORE:
            self.audio.key_feedback(True)
            k = self._keys[name]
            text = describe_key(k.name, k.row, k.column, k.mark, k.colour, self.lang)
            try:
                self.audio.say(text, self.lang, source="explore")
            except SpeechUnavailable:
                self._emit("say-failed", key=name)
            self._display(text)
            self._notify("explore-key", key=name)
        elif self._in_entry():
            self._entry_key(name)
        else:
            # idle/locked: digits are never reported outside PIN entry (a customer typing a PIN
            # early must not leak it); help is reported so the host can offer guidance.
            self.audio.key_feedback(False)
            if name == "help" and self.mode is Mode.IDLE:
                self._notify("key", key="help", mode=self.mode.value)

    def _entry_key(self, name: str) -> None:
        entry = self._entry
        assert entry is not None
        if name not in entry.active:
            self.audio.key_feedback(False)
            return
        terminate = entry.active[name]
        # every key press re-arms the inactivity limit
        self._arm_timer()
        if name in DIGIT_KEYS:
            if entry.buffer.count >= entry.req.max_len:
                self.audio.key_feedback(False)
                self._notify("key-ignored", reason="max-reached", digits=entry.buffer.count)
                return
            entry.buffer.append(DIGIT_KEYS.index(name))
            self.audio.key_feedback(True)
            self._mask_display()
            self._notify("digit", count=entry.buffer.count)
            if entry.req.auto_end and entry.buffer.count == entry.req.max_len:
                self._stage_done("auto")
            return
        self.audio.key_feedback(True)
        if name in ("clear", "cancel"):
            entry.buffer.wipe()
        elif name == "backspace":
            entry.buffer.pop()
        self._notify("function-key", key=name, count=entry.buffer.count, terminate=terminate)
        if name in ("clear", "cancel", "backspace"):
            self._mask_display()
        if terminate:
            if name == "enter":
                if entry.buffer.count < entry.req.min_len:
                    self._notify("key-ignored", reason="too-short", digits=entry.buffer.count)
                    self.audio.tone("error")
                    self._prompt("pin-too-short", entry.req.min_len)
                    return
                self._stage_done("enter")
            else:
                self._complete(name)
            return
        if name == "help":
            if entry.help_extensions < HELP_EXTENSIONS:
                entry.help_extensions += 1
                self.extend_time(entry.req.timeout, by="customer")
            else:
                self._prompt("help")
        elif name == "clear":
            self._prompt("cleared")

    def _stage_done(self, reason: str) -> None:
        entry = self._entry
        assert entry is not None
        if not entry.change:
            self._complete(reason)
            return
        assert entry.first is not None
        if entry.stage == 1:
            entry.first.take_from(entry.buffer)
            entry.stage = 2
            self._arm_timer()
            self._notify("change-stage", stage=2)
            self._prompt("confirm-new-pin")
            self._mask_display()
            return
        if entry.first.same_as(entry.buffer):
            entry.first.wipe()
            self._complete(reason)
            return
        entry.mismatches += 1
        entry.buffer.wipe()
        entry.first.wipe()
        left = entry.req.max_mismatches - entry.mismatches
        self._notify("change-mismatch", attempts_left=left)
        if left <= 0:
            self.audio.tone("error")
            self._complete("mismatch")
            return
        entry.stage = 1
        self._arm_timer()
        self.audio.tone("error")
        self._prompt("pin-mismatch")
        self._mask_display()

    def set_headset(self, inserted: bool) -> None:
        if not self.audio.set_headset(inserted):
            return
        if not inserted:
            # ADA 707.5: volume goes back to the default for the next user
            self.audio.volume = self.default_volume
            self.audio.rate = self.default_rate
        self._notify("headset", inserted=inserted)
        if inserted and self.mode is not Mode.OFF:
            self._prompt("headset-in")

    def tamper(self) -> None:
        """The tamper switch fires: wipe the PIN and every key, lock (persisted)."""
        self._wipe_volatile()
        self.keystore.wipe()
        self.store.data["tampered"] = True
        self.store.save()
        self._emit("tamper", keys="erased")
        self.audio.tone("error")
        self._set_mode(Mode.LOCKED)
        self._notify("tamper")

    def service_reset(self) -> None:
        """Vendor depot re-initialisation: clear the tamper flag, reload the test keys."""
        self._wipe_volatile()
        self.store.data["tampered"] = False
        self.store.data["pin_entries"] = []
        self.keystore.load_test_keys()
        self._set_mode(Mode.IDLE)

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
        return min(times) if times else None

    def tick(self, now: float) -> float | None:
        self.audio.tick(now)
        entry = self._entry
        if entry is not None:
            if now >= entry.deadline:
                self._complete("timeout")
            else:
                while entry.pending_warnings and now >= entry.deadline - max(entry.pending_warnings):
                    w = max(entry.pending_warnings)
                    entry.pending_warnings.remove(w)
                    self._notify("time-warning", seconds_left=w)
                    self.audio.tone("warning")
                    if self.audio.private:
                        self.audio.haptic("warning")
                    self._prompt("time-warning", w)
        if self._held is not None and now > self._held[1]:
            self._held = None
        return self.next_deadline()
