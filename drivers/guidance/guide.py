"""The teller developer's entry point: one :class:`Guide` per customer at the counter.

A guide does what the staff member in our branch story did, without anyone seeing or hearing
the PIN: it explains the keypad the pad reports, coaches PIN entry and PIN change on the pad's
fixed prompts, and coaches the fingerprint capture, in the customer's language and profile::

    from drivers import TactilePinPad
    from drivers.guidance import Guide

    with TactilePinPad.open("sim://pinpad") as pad:
        guide = Guide(pad, lang="zh-CN", profile="blind", teller=print)
        guide.tour()                                # orientation, then explore until Cancel
        with guide.pin_entry(pan="6222020200112233445", min_len=6, max_len=6) as entry:
            for event in entry:
                pass
        print(entry.completion, entry.pin_block.hex())

Everything said or shown goes through :class:`~drivers.guidance.channels.Announcer` to the
pad, the teller's feed (``teller=`` callable, one line each), a transcript
(``guide.transcript``) and, with ``espeak=True``, host-side speech.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from protocol.errors import ConfigurationError

from drivers.guidance.catalog import normalise_lang
from drivers.guidance.channels import (
    Announcer,
    Channel,
    EspeakChannel,
    PadChannel,
    TellerFeed,
    TranscriptRecorder,
)
from drivers.guidance.profiles import Profile, profile as _profile

__all__ = ["Guide", "READER_POSITIONS"]

#: where the fingerprint reader can sit relative to the keypad (configuration)
READER_POSITIONS = ("right", "left", "above", "below", "front", "behind")


class Guide:
    """Guidance for one customer at one pad (and optionally one fingerprint reader).

    ``pad``: an open :class:`~drivers.pinpad.TactilePinPad`; ``lang``: "zh-CN" or "en";
    ``profile``: a preset name or :class:`~drivers.guidance.profiles.Profile`; ``teller``: a
    callable receiving one line of text per announcement for the teller's screen;
    ``reader_position``: where the fingerprint reader is relative to the keypad (one of
    :data:`READER_POSITIONS`, from the counter's configuration); ``espeak``: also speak on the
    host through espeak-ng (ConfigurationError if it is not installed); ``channels``: more
    channels of your own.
    """

    def __init__(self, pad: Any, *, lang: str = "en", profile: "str | Profile" = "standard",
                 teller: Callable[[str], object] | None = None,
                 reader_position: str | None = "right", espeak: bool = False,
                 channels: Sequence[Channel] = ()) -> None:
        if reader_position is not None and reader_position not in READER_POSITIONS:
            raise ConfigurationError(f"reader_position is one of {', '.join(READER_POSITIONS)}, "
                                     f"not {reader_position!r}")
        self.pad = pad
        self.reader_position = reader_position
        self.transcript = TranscriptRecorder()
        self.feed = TellerFeed(teller)
        self._profile = _profile(profile)
        self.pad_channel = PadChannel(pad)
        self.espeak = EspeakChannel() if espeak else None
        extra = [self.espeak] if self.espeak is not None else []
        self.announcer = Announcer([self.pad_channel, self.feed, self.transcript, *extra,
                                    *channels], normalise_lang(lang), pad=pad)
        self._apply_profile()

    def __repr__(self) -> str:
        return f"<Guide {self.lang} {self._profile.name} on {self.pad!r}>"

    # -- language and profile (switchable per session) ------------------------------------------
    @property
    def lang(self) -> str:
        return self.announcer.lang

    @lang.setter
    def lang(self, value: str) -> None:
        self.announcer.set_lang(value)

    @property
    def profile(self) -> Profile:
        return self._profile

    @profile.setter
    def profile(self, value: "str | Profile") -> None:
        self._profile = _profile(value)
        self._apply_profile()

    def _apply_profile(self) -> None:
        p = self._profile
        a = self.announcer
        a.speak_enabled, a.show_enabled = p.speech, p.display
        a.large, a.haptics = p.large_text, p.haptics
        self.pad_channel.rate = p.rate if p.rate != 100 else 0
        self.pad_channel.volume = p.volume
        if self.espeak is not None:
            self.espeak.rate, self.espeak.volume = p.rate, p.volume

    # -- controls the customer or the teller can reach at every step ---------------------------
    def say(self, msgid: str, count: int | None = None, **values: Any) -> Any:
        """Say a catalogue message to the customer (outside PIN entry)."""
        return self.announcer.say(msgid, count, **values)

    def repeat(self) -> Any:
        """Say the last message again."""
        return self.announcer.repeat()

    def stop_speaking(self) -> None:
        """Interrupt the speech now."""
        self.announcer.stop()

    def set_volume(self, volume: int) -> None:
        """Volume 1..1000 (the pad's scale); the customer hears the new level."""
        self.announcer.set_volume(volume)
        if not self.announcer.in_entry:
            self.announcer.say("common.volume_changed", level=max(1, round(volume / 100)))

    def set_rate(self, rate: int) -> None:
        """Speech rate 50..200 %; the customer hears it at the new rate."""
        self.announcer.set_rate(rate)
        if not self.announcer.in_entry:
            self.announcer.say("common.rate_changed", percent=int(rate))

    # -- keypad: phrases, tour, explore (drivers/guidance/tour.py) ------------------------------

    # -- PIN entry and PIN change (drivers/guidance/entry.py) ----------------------------------
    def pin_entry(self, *, pan: str | None = None, min_len: int = 4, max_len: int = 12,
                  block_format: str = "iso4", key_slot: int = 0, auto_end: bool = False,
                  time_limit: int | None = None, prompt: Any = None,
                  prompt_args: Sequence[int] = (), instructions: bool = True) -> Any:
        """A guided PIN entry (:class:`~drivers.guidance.entry.GuidedPinEntry`): instructions
        in words first, then the pad's fixed prompts with this profile's feedback, then the
        result in words.  Use it like ``pad.pin_entry``: ``with guide.pin_entry(pan=...) as
        entry: for event in entry: ...``; then ``entry.status`` / ``pin_block`` / ``ksn``.
        ``time_limit``: seconds per key (default: the profile's); ``instructions=False``
        skips the spoken instructions (a customer who just heard them)."""
        from drivers.guidance.entry import GuidedPinEntry

        return GuidedPinEntry(self, pan=pan, min_len=min_len, max_len=max_len,
                              block_format=block_format, key_slot=key_slot, auto_end=auto_end,
                              time_limit=time_limit, prompt=prompt, prompt_args=prompt_args,
                              instructions=instructions)

    def pin_change(self, *, pan: str | None = None, min_len: int = 4, max_len: int = 12,
                   block_format: str = "iso4", key_slot: int = 0, auto_end: bool = False,
                   time_limit: int | None = None, max_mismatches: int = 3,
                   instructions: bool = True) -> Any:
        """A guided PIN change: the new PIN twice, compared inside the pad; at most
        ``max_mismatches`` mismatches (then ``status`` "mismatch").  ``matched`` is True when
        the pad holds the new PIN (its PIN block is in ``pin_block``)."""
        from drivers.guidance.entry import GuidedPinEntry

        return GuidedPinEntry(self, change=True, pan=pan, min_len=min_len, max_len=max_len,
                              block_format=block_format, key_slot=key_slot, auto_end=auto_end,
                              time_limit=time_limit, max_mismatches=max_mismatches,
                              instructions=instructions)


    # -- fingerprint coaching and terms (drivers/guidance/coaching.py) --------------------------
