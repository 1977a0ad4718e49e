"""Output channels behind one small interface, and the :class:`Announcer` that feeds them.

Everything the guidance layer wants the customer (or the teller) to perceive is one
:class:`Announcement`: words in one language, optionally a named tone and a named haptic
pattern, large type or not, and, when the words are one of the pad's FIXED prompts, that
prompt's id and numeric arguments.  Every channel renders what it can of it:

* :class:`PadChannel`: the pad's speech (free text ``Speak`` outside PIN entry, ``SpeakPrompt``
  for fixed prompts in every mode), its display, tones and haptics;
* :class:`EspeakChannel`: host-side speech through espeak-ng when it is installed (voice
  ``cmn-latn-pinyin`` for Mandarin: the plain ``cmn`` voice misreads Chinese characters);
* :class:`TellerFeed`: one line of text per announcement for the teller's screen;
* :class:`TranscriptRecorder`: everything, as structured entries (the tests and the demo).

PIN secrecy is enforced here, not left to callers: while a PIN entry or change runs, the
:class:`Announcer` refuses free text (``LocalProtocolError``) and sends only fixed prompts, whose
numeric arguments the pad limits to 0..999.  Announcements carry no PIN digit because nothing
that reaches this module has one: the pad reports counts only.

Announcements with ``source="pad"`` record what the pad said or showed by itself (its own
prompts during PIN entry, the key names in explore mode): the pad channel does not repeat them,
every other channel shows or records them, so the teller's screen and the transcript are
complete.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Protocol, Sequence, runtime_checkable

from protocol.errors import ConfigurationError, DeviceError, LocalProtocolError, TactileError
from protocol.tpp.codes import HAPTIC_PATTERNS as _PATTERNS, Capability, State
from protocol.tpp.display import paginate
from protocol.tpp.prompts import PROMPTS, render_prompt

from drivers.guidance.catalog import Messages, messages, normalise_lang

__all__ = [
    "Announcement",
    "Channel",
    "PadChannel",
    "EspeakChannel",
    "TellerFeed",
    "TranscriptRecorder",
    "Announcer",
    "HAPTIC_PATTERNS",
    "ENTRY_STATES",
]

_log = logging.getLogger("drivers.guidance")

#: named vibration patterns (ms on, off, on, ...), one home with the pad's: TPP SPEC 6.7,
#: protocol.tpp.codes.HAPTIC_PATTERNS.  Distinct by rhythm, so a deaf or deafblind customer
#: tells them apart by touch; "accepted" is the one identical pulse the guidance gives every
#: digit key during PIN entry (longer than the pad's own 30 ms key pulse, "key"); the ends of
#: a step differ: "done", "cancelled", "timeout", "error".
HAPTIC_PATTERNS: dict[str, tuple[int, ...]] = dict(_PATTERNS)
#: named tones of the pad (TPP Tone)
_TONES = ("inactive", "warning", "error", "success", "attention")

#: pad modes in which only fixed prompts may be spoken or shown
ENTRY_STATES = frozenset({State.PIN_ENTRY, State.PIN_CHANGE})


@dataclass(frozen=True, slots=True)
class Announcement:
    """One thing to perceive.  ``text`` is already in ``lang``.

    ``msgid``: the catalogue id (or ``"prompt.NAME"`` for a fixed prompt); ``prompt`` and
    ``prompt_args``: set when the words are the pad's fixed prompt; ``tone``/``haptic``: named
    cues; ``large``: large type on displays; ``source``: "host" (we ask the pad to say it) or
    "pad" (the pad said it by itself); ``audience``: "customer" or "teller" (teller-only lines,
    such as "waiting for the customer", reach no customer channel); ``speak``/``show``: whether
    the words are meant for the ear / the eye (a deaf profile shows without speaking)."""

    text: str
    lang: str
    msgid: str | None = None
    prompt: int | None = None
    prompt_args: tuple[int, ...] = ()
    tone: str | None = None
    haptic: str | None = None
    large: bool = False
    speak: bool = True
    show: bool = True
    interruptible: bool = True
    queue: bool = False
    source: str = "host"
    audience: str = "customer"
    #: already on the pad's display (the caller showed it page by page): channels record it,
    #: the pad channel only gives its cue
    displayed: bool = False


@runtime_checkable
class Channel(Protocol):
    """Anything that renders announcements: ``announce`` one, ``stop`` speech in progress."""

    def announce(self, item: Announcement) -> None: ...

    def stop(self) -> None: ...


# -- the pad ---------------------------------------------------------------------------------------
_MAX_SPEAK_BYTES = 900


def _chunks(text: str, limit: int) -> list[str]:
    """Split text at sentence ends so each piece fits the pad's Speak limit (UTF-8 bytes)."""
    out: list[str] = []
    current = ""
    for piece in _sentences(text):
        if len((current + piece).encode()) <= limit:
            current += piece
            continue
        if current:
            out.append(current)
        while len(piece.encode()) > limit:  # one sentence longer than the limit: cut it
            cut = limit
            while len(piece[:cut].encode()) > limit:
                cut -= 1
            out.append(piece[:cut])
            piece = piece[cut:]
        current = piece
    if current:
        out.append(current)
    return out


def _sentences(text: str) -> Iterable[str]:
    start = 0
    for i, ch in enumerate(text):
        if ch in "。！？；.!?;" and (i + 1 == len(text) or text[i + 1] in " \n"
                                    or ch in "。！？；"):
            yield text[start:i + 1]
            start = i + 1
    if start < len(text):
        yield text[start:]


class PadChannel:
    """The PIN pad's own outputs: speech, display, tones and haptics (as the pad has them).

    ``speech``/``display``/``tones``/``haptics`` switch modalities off (a profile's choice);
    modalities the pad lacks (``DeviceInfo.capabilities``) are skipped silently.  ``rate``
    (50..200 %) and ``volume`` (1..1000, 0 = the pad's current) apply to free-text speech;
    :meth:`Announcer.set_volume` / :meth:`Announcer.set_rate` change the pad's own setting.

    Text on the display always fits: it is laid out for the size the pad reports
    (:func:`protocol.tpp.display.paginate`).  On a pad that takes TPP SetFeedback the words
    are shown by the pad itself, paged in step with its speech (captions), and for a customer
    without speech (``silent``: the guide set the pad's silent form) shown without a sound for
    as long as they would take to say; ``pad_haptics``: the pad gives the named vibration
    patterns for keys, warnings and the end of an entry by itself (the guided entry does not
    repeat them)."""

    def __init__(self, pad: Any, *, speech: bool = True, display: bool = True,
                 tones: bool = True, haptics: bool = True, rate: int = 0,
                 volume: int = 0) -> None:
        self.pad = pad
        caps = Capability(int(pad.info().capabilities))
        self.speech = speech and bool(caps & (Capability.TEXT_TO_SPEECH | Capability.SPEAKER))
        self.display = display and bool(caps & Capability.DISPLAY)
        self.large_type = bool(caps & Capability.LARGE_TYPE)
        self.tones = tones and bool(caps & Capability.SPEAKER)
        self.haptics = haptics and bool(caps & Capability.HAPTICS)
        #: the pad shows what it says by itself, paged in step (TPP CUSTOMER_SETTINGS)
        self.captions = bool(caps & Capability.CUSTOMER_SETTINGS)
        self.rate = rate
        self.volume = volume
        info = pad.info()
        self.columns = int(info.display_columns) if self.display else 0
        self.rows = int(info.display_rows) if self.display else 0
        #: set by the guide: the pad shows its words silently / vibrates by itself
        self.silent = False
        self.pad_haptics = False
        #: ids of the utterances this channel had spoken (the pad's own speech uses the same
        #: counter) ...
        self.utterances: list[int] = []
        #: ... and of every one it asked for, silent ones (shown, never heard) included
        self.said: list[int] = []

    def __repr__(self) -> str:
        return f"<PadChannel {self.pad.target}>"

    def _in_entry(self) -> bool:
        return self.pad.state in ENTRY_STATES

    def pages(self, text: str, large: bool) -> list[str]:
        """``text`` laid out for this pad's display (pages that fit)."""
        return paginate(text, self.columns, self.rows, large and self.large_type)

    def _show(self, text: str, large: bool) -> None:
        """Show text without speech on a pad that cannot show it silently in step: the
        first page (it fits), the rest on the teller's screen."""
        pages = self.pages(text, large)
        if pages:
            self.pad.display(pages[0], large=large and self.large_type)

    def _said(self, ident: int, *, silent: bool) -> None:
        if not silent:
            self.utterances.append(ident)
        self.said.append(ident)

    def _say(self, item: Announcement, *, silent: bool) -> None:
        for i, piece in enumerate(_chunks(item.text, _MAX_SPEAK_BYTES)):
            self._said(self.pad.speak(piece, item.lang, rate=self.rate, volume=self.volume,
                                      interruptible=item.interruptible,
                                      queue=item.queue or i > 0), silent=silent)

    def announce(self, item: Announcement) -> None:
        if item.audience != "customer" or item.source == "pad":
            return
        if item.displayed:
            pass
        elif item.prompt is not None:
            if item.speak and self.speech and not self.silent:
                self._said(self.pad.speak_prompt(
                    item.prompt, item.prompt_args, lang=item.lang,
                    interruptible=item.interruptible, display=item.show and self.display),
                    silent=False)
            elif item.show and self.display:
                if self.silent:      # the pad's silent form: shown, never heard, in every mode
                    self._said(self.pad.speak_prompt(
                        item.prompt, item.prompt_args, lang=item.lang,
                        interruptible=item.interruptible, display=True), silent=True)
                elif not self._in_entry():
                    self._show(item.text, item.large)
        elif item.text:
            if self._in_entry():
                raise LocalProtocolError("free text cannot be spoken or shown on the pad during "
                                         "a PIN entry: only the pad's fixed prompts")
            if item.speak and self.speech and not self.silent:
                captions = self.captions
                if item.show and self.display and not captions:
                    self._show(item.text, item.large)
                try:
                    self._say(item, silent=False)
                except DeviceError:
                    if item.show and self.display and captions:
                        self._show(item.text, item.large)   # the words at least on the display
                    raise
            elif item.show and self.display:
                if self.silent:
                    self._say(item, silent=True)
                else:
                    self._show(item.text, item.large)
        if item.tone and self.tones and item.tone in _TONES:
            self.pad.play_tone(item.tone)
        if item.haptic and self.haptics:
            self.pad.haptic(HAPTIC_PATTERNS[item.haptic])

    def stop(self) -> None:
        self.pad.stop_speech()


# -- host-side speech --------------------------------------------------------------------------
#: espeak-ng voices: the plain "cmn" voice misreads Chinese characters; cmn-latn-pinyin does not
ESPEAK_VOICES = {"zh-CN": "cmn-latn-pinyin", "en": "en"}


class EspeakChannel:
    """Host-side speech through the ``espeak-ng`` program (Debian package ``espeak-ng``).

    For a counter whose pad has no speaker, or for the teller's own headphones.  ``wav_dir``:
    write each utterance to a numbered WAV file there instead of playing it (tests, recordings).
    ``rate``: words per minute at 100 % (espeak's default 175).  A new announcement interrupts
    the one being spoken unless it is queued; :meth:`stop` ends speech at once."""

    def __init__(self, *, rate: int = 100, volume: int = 0, wav_dir: str | None = None,
                 executable: str | None = None, speak_pad_prompts: bool = True) -> None:
        self.executable = executable or shutil.which("espeak-ng")
        if self.executable is None:
            raise ConfigurationError("espeak-ng is not installed (Debian: apt-get install "
                                     "espeak-ng); host-side speech is unavailable")
        self.rate = rate
        self.volume = volume
        self.wav_dir = wav_dir
        self.speak_pad_prompts = speak_pad_prompts
        self.files: list[str] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        return shutil.which("espeak-ng") is not None

    def command(self, item: Announcement) -> list[str]:
        wpm = max(80, min(450, round(175 * (self.rate or 100) / 100)))
        amplitude = max(0, min(200, round((self.volume or 500) / 5)))
        cmd = [self.executable or "espeak-ng", "-v", ESPEAK_VOICES[normalise_lang(item.lang)],
               "-s", str(wpm), "-a", str(amplitude)]
        if self.wav_dir is not None:
            import os

            path = os.path.join(self.wav_dir, f"utterance-{len(self.files) + 1:04d}.wav")
            self.files.append(path)
            cmd += ["-w", path]
        return cmd + ["--", item.text]

    def announce(self, item: Announcement) -> None:
        if item.audience != "customer" or not item.speak or not item.text:
            return
        if item.source == "pad" and not self.speak_pad_prompts:
            return
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                if item.queue or self.wav_dir is not None:
                    self._proc.wait(timeout=30)
                else:
                    self._proc.terminate()
                    self._proc.wait(timeout=5)
            try:
                self._proc = subprocess.Popen(self.command(item), stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL)
            except OSError as exc:
                raise DeviceError(f"espeak-ng could not be started: {exc}") from None
            if self.wav_dir is not None:
                self._proc.wait(timeout=30)

    def stop(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.terminate()
                self._proc.wait(timeout=5)

    def close(self) -> None:
        self.stop()


# -- text for people and tests ----------------------------------------------------------------
class TellerFeed:
    """One line per announcement for the teller's screen: ``write(line)`` (default: collect).

    Lines are ``"[pad] text"`` for what the pad said itself, ``"[guide] text"`` for what we
    asked it to say or show, ``"[teller] text"`` for teller-only notices, and ``"[tone] NAME"``
    / ``"[haptic] NAME"`` for cues without words."""

    def __init__(self, write: Callable[[str], object] | None = None) -> None:
        self.lines: list[str] = []
        self._write = write

    def announce(self, item: Announcement) -> None:
        tag = "teller" if item.audience == "teller" else ("pad" if item.source == "pad"
                                                           else "guide")
        out = []
        if item.text:
            out.append(f"[{tag}] {item.text}")
        if item.tone:
            out.append(f"[tone] {item.tone}")
        if item.haptic:
            out.append(f"[haptic] {item.haptic}")
        for line in out:
            self.lines.append(line)
            if self._write is not None:
                self._write(line)

    def stop(self) -> None:
        """Nothing to stop on a screen."""


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """What one announcement gave each sense: ``heard`` (words spoken), ``seen`` (words shown),
    ``felt`` (haptic pattern name), ``tone``."""

    kind: str                       # "announce" or "stop"
    item: Announcement | None = None

    @property
    def heard(self) -> str | None:
        i = self.item
        return i.text if i is not None and i.speak and i.audience == "customer" else None

    @property
    def seen(self) -> str | None:
        i = self.item
        return i.text if i is not None and i.show else None


class TranscriptRecorder:
    """Records every announcement (and every stop) in order, for tests and the demo."""

    def __init__(self) -> None:
        self.entries: list[TranscriptEntry] = []
        self._lock = threading.Lock()

    def announce(self, item: Announcement) -> None:
        with self._lock:
            self.entries.append(TranscriptEntry("announce", item))

    def stop(self) -> None:
        with self._lock:
            self.entries.append(TranscriptEntry("stop"))

    @property
    def items(self) -> list[Announcement]:
        return [e.item for e in self.entries if e.item is not None]

    def texts(self, *, audience: str | None = "customer") -> list[str]:
        return [i.text for i in self.items if audience is None or i.audience == audience]

    def msgids(self) -> list[str | None]:
        return [i.msgid for i in self.items]

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()


# -- the announcer --------------------------------------------------------------------------------
class Announcer:
    """Says things through every channel, in one language, as a profile wants them.

    ``say(msgid, **values)`` a catalogue message; ``prompt(id, *args)`` one of the pad's fixed
    prompts (the only kind allowed while a PIN entry runs); ``pad_said(id, *args)`` records what
    the pad said by itself; ``cue(tone=, haptic=)`` a cue without words; ``teller(msgid)`` a line
    for the teller only.  ``repeat()`` says the last customer announcement again, ``stop()``
    interrupts speech, ``set_volume``/``set_rate`` adjust the pad (and host speech).

    ``speak``/``show``/``large``/``haptics`` come from the profile (``drivers.guidance.profiles``)
    and decide how each announcement is rendered; a channel may still lack a modality.
    """

    def __init__(self, channels: Sequence[Channel], lang: str = "en", *, speak: bool = True,
                 show: bool = True, large: bool = False, haptics: bool = False,
                 pad: Any = None) -> None:
        self.channels = list(channels)
        self.lang = normalise_lang(lang)
        self.messages: Messages = messages(self.lang)
        self.speak_enabled = speak
        self.show_enabled = show
        self.large = large
        self.haptics = haptics
        self.pad = pad
        self.last: Announcement | None = None
        self._entry_depth = 0
        self._lock = threading.RLock()

    # -- language and mode -------------------------------------------------------------------
    def set_lang(self, lang: str) -> None:
        self.lang = normalise_lang(lang)
        self.messages = messages(self.lang)

    def text(self, msgid: str, count: int | None = None, **values: Any) -> str:
        return self.messages.text(msgid, count, **values)

    @property
    def in_entry(self) -> bool:
        """True while a PIN entry or change runs (only fixed prompts may be said)."""
        if self._entry_depth:
            return True
        return self.pad is not None and self.pad.state in ENTRY_STATES

    class _EntryGuard:
        def __init__(self, owner: "Announcer") -> None:
            self.owner = owner

        def __enter__(self) -> None:
            self.owner._entry_depth += 1

        def __exit__(self, *exc: Any) -> None:
            self.owner._entry_depth -= 1

    def entry_active(self) -> "Announcer._EntryGuard":
        """``with announcer.entry_active(): ...`` while a PIN entry / change runs."""
        return Announcer._EntryGuard(self)

    # -- saying things -----------------------------------------------------------------------
    def _send(self, item: Announcement) -> Announcement:
        if item.tone is not None and not self.speak_enabled and item.audience == "customer":
            # a customer who does not hear gets no tone: it would reach only the bystanders
            item = replace(item, tone=None)
            if not item.text and item.haptic is None:
                return item
        with self._lock:
            if item.audience == "customer" and item.source == "host":
                self.last = item
            failures: list[TactileError] = []
            for channel in self.channels:
                try:
                    channel.announce(item)
                except LocalProtocolError:
                    raise
                except TactileError as exc:
                    # one channel failing (speech unit broken, display absent) must not silence
                    # the others: the teller's screen still shows it
                    _log.warning("guidance channel %r failed: %s", channel, exc)
                    failures.append(exc)
            if failures and len(failures) == len(self.channels):
                raise failures[0]
            return item

    def say(self, msgid: str, count: int | None = None, *, tone: str | None = None,
            haptic: str | None = None, queue: bool = False, interruptible: bool = True,
            **values: Any) -> Announcement:
        """Say (and show) a catalogue message.  Refused while a PIN entry runs."""
        if self.in_entry:
            raise LocalProtocolError(f"guidance message {msgid!r} is free text: only the pad's "
                                     "fixed prompts may be spoken during a PIN entry")
        text = self.messages.text(msgid, count, **values)
        return self._send(Announcement(
            text=text, lang=self.lang, msgid=msgid, tone=tone,
            haptic=haptic if self.haptics else None, large=self.large,
            speak=self.speak_enabled, show=self.show_enabled, interruptible=interruptible,
            queue=queue))

    def say_text(self, text: str, *, msgid: str | None = None, speak: bool | None = None,
                 haptic: str | None = None, queue: bool = False,
                 interruptible: bool = True) -> Announcement:
        """Say (and show) words that are not a catalogue message: text the bank supplies,
        such as the terms of a business item, in this announcer's language.  Refused while a
        PIN entry runs, like :meth:`say`.  ``speak`` overrides the profile (False: show only)."""
        if self.in_entry:
            raise LocalProtocolError("free text cannot be spoken while a PIN entry runs: only "
                                     "the pad's fixed prompts")
        return self._send(Announcement(
            text=text, lang=self.lang, msgid=msgid, haptic=haptic if self.haptics else None,
            large=self.large, speak=self.speak_enabled if speak is None else speak,
            show=self.show_enabled, interruptible=interruptible, queue=queue))

    def prompt(self, prompt_id: int, *args: int, tone: str | None = None,
               haptic: str | None = None, interruptible: bool = True) -> Announcement:
        """Say (and show) one of the pad's fixed prompts; allowed in every mode."""
        definition = PROMPTS[int(prompt_id)]
        text = render_prompt(int(prompt_id), self.lang, tuple(int(a) for a in args))
        return self._send(Announcement(
            text=text, lang=self.lang, msgid=f"prompt.{definition.name}", prompt=int(prompt_id),
            prompt_args=tuple(int(a) for a in args), tone=tone,
            haptic=haptic if self.haptics else None, large=self.large,
            speak=self.speak_enabled, show=self.show_enabled, interruptible=interruptible))

    def pad_said(self, prompt_id: int, *args: int, lang: str | None = None) -> Announcement:
        """Record a fixed prompt the pad spoke and showed by itself (teller feed, transcript)."""
        definition = PROMPTS[int(prompt_id)]
        lang = normalise_lang(lang) if lang else self.lang
        text = render_prompt(int(prompt_id), lang, tuple(int(a) for a in args))
        return self._send(Announcement(
            text=text, lang=lang, msgid=f"prompt.{definition.name}", prompt=int(prompt_id),
            prompt_args=tuple(int(a) for a in args), source="pad", large=self.large))

    def displayed(self, text: str, *, msgid: str | None = None,
                  haptic: str | None = None) -> Announcement:
        """Record words the caller put on the pad's display itself (a page of terms the
        customer turns with Enter); the pad channel adds only the ``haptic`` cue."""
        return self._send(Announcement(text=text, lang=self.lang, msgid=msgid, large=self.large,
                                       haptic=haptic if self.haptics else None, speak=False,
                                       displayed=True))

    def pad_text(self, text: str, *, msgid: str | None = None) -> Announcement:
        """Record words the pad said by itself that are not prompts (explore key names)."""
        return self._send(Announcement(text=text, lang=self.lang, msgid=msgid, source="pad",
                                       large=self.large))

    def cue(self, *, tone: str | None = None, haptic: str | None = None,
            msgid: str | None = None) -> Announcement | None:
        """A cue without words: a named tone and / or haptic pattern (as the profile allows)."""
        haptic = haptic if self.haptics else None
        if tone is None and haptic is None:
            return None
        return self._send(Announcement(text="", lang=self.lang, msgid=msgid, tone=tone,
                                       haptic=haptic, speak=False, show=False))

    def teller(self, msgid: str, count: int | None = None, **values: Any) -> Announcement:
        """A line for the teller's screen only (never spoken to the customer)."""
        text = self.messages.text(msgid, count, **values)
        return self._send(Announcement(text=text, lang=self.lang, msgid=msgid,
                                       audience="teller", speak=False))

    # -- controls ----------------------------------------------------------------------------
    def repeat(self) -> Announcement | None:
        """Say the last customer announcement again (a prompt stays a prompt)."""
        last = self.last
        if last is None:
            return None
        if last.prompt is None and self.in_entry:
            raise LocalProtocolError("the last message was free text; during a PIN entry only "
                                     "fixed prompts can be repeated")
        return self._send(replace(last, queue=False))

    def stop(self) -> None:
        """Interrupt speech now, on every channel."""
        for channel in self.channels:
            try:
                channel.stop()
            except TactileError as exc:
                _log.warning("guidance channel %r could not stop: %s", channel, exc)

    def set_volume(self, volume: int) -> None:
        """Volume 1..1000 on the pad (and host speech)."""
        self._adjust(volume=volume)

    def set_rate(self, rate: int) -> None:
        """Speech rate 50..200 % on the pad (and host speech)."""
        self._adjust(rate=rate)

    def _adjust(self, *, volume: int | None = None, rate: int | None = None) -> None:
        if volume is not None and not 1 <= int(volume) <= 1000:
            raise ConfigurationError(f"volume is 1..1000, not {volume}")
        if rate is not None and not 50 <= int(rate) <= 200:
            raise ConfigurationError(f"speech rate is 50..200 %, not {rate}")
        for channel in self.channels:
            if isinstance(channel, PadChannel):
                if volume is not None:
                    channel.volume = int(volume)
                if rate is not None:
                    channel.rate = int(rate)
                channel.pad.set_volume(channel.volume, channel.rate)
            elif isinstance(channel, EspeakChannel):
                if volume is not None:
                    channel.volume = int(volume)
                if rate is not None:
                    channel.rate = int(rate)
