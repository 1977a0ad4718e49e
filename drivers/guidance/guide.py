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

A guide is one customer's session: on a pad with the CUSTOMER_SETTINGS capability the pad's
own prompts follow the customer's language and senses from the start (TPP SetLanguage and
SetFeedback: a deaf customer's pad shows its prompts silently and vibrates), and
:meth:`Guide.end_customer` (or leaving ``with Guide(...) as guide:``) returns volume, rate,
language and profile to the counter's defaults for the next customer.  The headset is offered
once per customer, before anything private is spoken (:meth:`Guide.offer_headset`).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

from protocol.errors import ConfigurationError, TactileError
from protocol.tpp.codes import Capability

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

_log = logging.getLogger("drivers.guidance")

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
    channels of your own; ``counter``: the counter's defaults
    (:class:`drivers.counter.CounterConfig`, default: :meth:`CounterConfig.load`) that
    :meth:`end_customer` returns to.
    """

    def __init__(self, pad: Any, *, lang: str = "en", profile: "str | Profile" = "standard",
                 teller: Callable[[str], object] | None = None,
                 reader_position: str | None = "right", espeak: bool = False,
                 channels: Sequence[Channel] = (), counter: Any = None) -> None:
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
        if counter is None:
            from drivers.counter import CounterConfig

            counter = CounterConfig.load()
        self.counter = counter
        #: the pad takes SetLanguage / SetFeedback (TPP capability CUSTOMER_SETTINGS)
        self.pad_settings = bool(Capability(int(pad.info().capabilities))
                                 & Capability.CUSTOMER_SETTINGS)
        self._headset_offered = False
        self._apply_profile()
        if self._profile.hand_over_hand:
            self.announcer.teller("common.teller.deafblind")

    # -- one customer's session -------------------------------------------------------------------
    def __enter__(self) -> "Guide":
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.end_customer()
        except TactileError as exc_:
            if exc[0] is None:
                raise
            _log.warning("could not reset the pad for the next customer: %s", exc_)

    def end_customer(self) -> None:
        """The customer has gone: the pad's volume, speech rate, language and feedback, and
        this guide's language and profile, return to the counter's defaults
        (``self.counter``), and the next customer is offered the headset again."""
        c = self.counter
        self._headset_offered = False
        self.announcer.teller("common.teller.customer_reset")   # in the session's language
        self.announcer.set_lang(c.lang)
        self._profile = _profile(c.profile)
        self._apply_profile(pad=False)
        if self.announcer.in_entry:
            return
        self.pad.set_volume(c.volume, c.rate if c.rate != 100 else 0)
        if self.pad_settings:
            self.pad.set_language(c.lang)
            self._apply_pad_feedback()

    def offer_headset(self) -> str | None:
        """Offer the headset before anything private is spoken, once per customer (profiles
        with ``private_audio``: blind, low-vision, elderly): up to ``profile.headset_wait``
        seconds for it, Enter goes on without.  Returns "inserted", "already", "declined",
        "not-found", or None when not offered (already offered to this customer, or a
        profile that does not need it)."""
        from drivers.guidance.tour import offer_headset

        if not self._profile.speech or not self._claim_headset_offer():
            return None
        with self.pad.listen() as listener:
            result, _failed, _cancel = offer_headset(self, listener)
        return result

    def _claim_headset_offer(self) -> bool:
        """True (once per customer) when this profile's headset offer is still to be made."""
        if self._headset_offered or not self._profile.private_audio:
            return False
        self._headset_offered = True
        return True

    @property
    def headset_offered(self) -> bool:
        return self._headset_offered

    def __repr__(self) -> str:
        return f"<Guide {self.lang} {self._profile.name} on {self.pad!r}>"

    # -- language and profile (switchable per session) ------------------------------------------
    @property
    def lang(self) -> str:
        return self.announcer.lang

    @lang.setter
    def lang(self, value: str) -> None:
        self.announcer.set_lang(value)
        self._apply_pad_feedback()

    @property
    def profile(self) -> Profile:
        return self._profile

    @profile.setter
    def profile(self, value: "str | Profile") -> None:
        self._profile = _profile(value)
        self._apply_profile()

    def profile_label(self) -> str:
        """The profile's name in the guide's language, for the teller ("盲人"); a custom
        profile's own name when the catalogue has none for it."""
        msgid = f"common.profile.{self._profile.name}"
        if msgid in self.announcer.messages:
            return self.announcer.text(msgid)
        return self._profile.name

    def _apply_profile(self, *, pad: bool = True) -> None:
        p = self._profile
        a = self.announcer
        a.speak_enabled, a.show_enabled = p.speech, p.display
        a.large, a.haptics = p.large_text, p.haptics
        self.pad_channel.rate = p.rate if p.rate != 100 else 0
        self.pad_channel.volume = p.volume
        if self.espeak is not None:
            self.espeak.rate, self.espeak.volume = p.rate, p.volume
        if pad:
            self._apply_pad_feedback()

    def _apply_pad_feedback(self) -> None:
        """The pad's own prompts in the customer's language and senses (TPP SetLanguage and
        SetFeedback): a customer without speech gets their silent form and no tone, haptic
        profiles the named vibration patterns, large type where the profile has it."""
        p = self._profile
        channel = self.pad_channel
        channel.silent = channel.pad_haptics = False
        if not self.pad_settings or self.announcer.in_entry:
            return
        try:
            self.pad.set_language(self.lang)
            self.pad.set_feedback(speech=p.speech, tones=p.speech, haptics=p.haptics,
                                  captions=p.display, large=p.large_text)
        except TactileError as exc:
            _log.warning("the pad did not take the customer's settings: %s", exc)
            return
        channel.silent = not p.speech
        channel.pad_haptics = p.haptics

    # -- controls the customer or the teller can reach at every step ---------------------------
    def say(self, msgid: str, count: int | None = None, *, replace: bool = False,
            **values: Any) -> Any:
        """Say a catalogue message to the customer (outside PIN entry), after whatever is
        being said; ``replace=True`` cuts that off instead."""
        return self.announcer.say(msgid, count, queue=not replace, **values)

    def repeat(self) -> Any:
        """Say the last message again."""
        return self.announcer.repeat()

    def stop_speaking(self) -> None:
        """Interrupt the speech now."""
        self.announcer.stop()

    def set_volume(self, volume: int) -> None:
        """Volume 1..1000 (the pad's scale); the customer hears the new level."""
        from drivers.guidance.catalog import number_words

        self.announcer.set_volume(volume)
        if not self.announcer.in_entry:
            self.announcer.say("common.volume_changed",
                               level=number_words(max(1, round(volume / 100)), self.lang))

    def set_rate(self, rate: int) -> None:
        """Speech rate 50..200 %; the customer hears it at the new rate."""
        from drivers.guidance.catalog import number_words

        self.announcer.set_rate(rate)
        if not self.announcer.in_entry:
            self.announcer.say("common.rate_changed", percent=number_words(int(rate), self.lang))

    # -- keypad: phrases, tour, explore (drivers/guidance/tour.py) ------------------------------
    def keypad_phrases(self) -> Any:
        """A :class:`~drivers.guidance.keypad.KeypadPhrases` for this pad's layout, language
        and profile (``spatial``), to compute phrases without saying them."""
        from drivers.guidance.keypad import KeypadPhrases

        return KeypadPhrases(self.pad.layout(), self.lang, spatial=self._profile.spatial)

    def describe_keypad(self, *, say: bool = True) -> list[Any]:
        """The keypad's shape, the 5 and its dot, rows and function keys (full or brief, by
        profile), computed from the layout the pad reports; ``say``: also say them (queued)."""
        from drivers.guidance.tour import refuse_during_entry

        phrases = self.keypad_phrases().describe(purpose=True)
        if say:
            refuse_during_entry(self, "describing the keypad")
            for i, p in enumerate(phrases):
                self.announcer.say(p.msgid, p.count, queue=i > 0, **p.values)
        return phrases

    def where_is(self, key: str, *, say: bool = True) -> Any:
        """"Where is X" for any key ("5", "enter"...): its place from landmarks (a Phrase)."""
        phrase = self.keypad_phrases().where(key)
        if say:
            from drivers.guidance.tour import refuse_during_entry

            refuse_during_entry(self, "saying where a key is")
            self.announcer.say(phrase.msgid, phrase.count, **phrase.values)
        return phrase

    def guide_to(self, key: str) -> Any:
        """The teller's "guide to Enter": say how to find ``key`` from the 5 (a Phrase)."""
        from drivers.guidance.tour import speak_guide_to

        return speak_guide_to(self, key)

    def tour(self, *, explore: bool = True, explore_limit: float | None = None,
             confirm_end: bool = False) -> Any:
        """The keypad tour (headset offer by profile; Help repeats, Cancel skips, any key goes
        on), then explore mode until Cancel or the time limit -> TourResult."""
        from drivers.guidance.tour import run_tour

        return run_tour(self, explore=explore, explore_limit=explore_limit,
                        confirm_end=confirm_end)

    def explore(self, *, limit: float | None = None, warn_before: float | None = None,
                confirm_end: bool = False) -> Any:
        """Explore mode alone: each key named by the pad, its place and use added, until
        Cancel or ``limit`` s (profile.explore_limit) without a key -> ExploreResult."""
        from drivers.guidance.tour import run_explore

        return run_explore(self, limit=limit, warn_before=warn_before, confirm_end=confirm_end)

    # -- PIN entry and PIN change (drivers/guidance/entry.py) ----------------------------------
    def pin_entry(self, *, pan: str | None = None, min_len: int = 4, max_len: int = 12,
                  block_format: str = "iso4", key_slot: int = 0, auto_end: bool = False,
                  time_limit: int | None = None, prompt: Any = None,
                  prompt_args: Sequence[int] = (), instructions: bool = True,
                  wait_result: bool = True) -> Any:
        """A guided PIN entry (:class:`~drivers.guidance.entry.GuidedPinEntry`): instructions
        in words first, then the pad's fixed prompts with this profile's feedback, then the
        result in words.  Use it like ``pad.pin_entry``: ``with guide.pin_entry(pan=...) as
        entry: for event in entry: ...``; then ``entry.status`` / ``pin_block`` / ``ksn``.
        ``time_limit``: seconds per key (default: the profile's); ``instructions=False``
        skips the spoken instructions (a customer who just heard them); leaving the ``with``
        block waits until the result has been said unless ``wait_result=False``."""
        from drivers.guidance.entry import GuidedPinEntry

        return GuidedPinEntry(self, pan=pan, min_len=min_len, max_len=max_len,
                              block_format=block_format, key_slot=key_slot, auto_end=auto_end,
                              time_limit=time_limit, prompt=prompt, prompt_args=prompt_args,
                              instructions=instructions, wait_result=wait_result)

    def pin_change(self, *, pan: str | None = None, min_len: int = 4, max_len: int = 12,
                   block_format: str = "iso4", key_slot: int = 0, auto_end: bool = False,
                   time_limit: int | None = None, max_mismatches: int = 3,
                   instructions: bool = True, wait_result: bool = True) -> Any:
        """A guided PIN change: the new PIN twice, compared inside the pad; at most
        ``max_mismatches`` mismatches (then ``status`` "mismatch").  ``matched`` is True when
        the pad holds the new PIN (its PIN block is in ``pin_block``)."""
        from drivers.guidance.entry import GuidedPinEntry

        return GuidedPinEntry(self, change=True, pan=pan, min_len=min_len, max_len=max_len,
                              block_format=block_format, key_slot=key_slot, auto_end=auto_end,
                              time_limit=time_limit, max_mismatches=max_mismatches,
                              instructions=instructions, wait_result=wait_result)


    # -- fingerprint coaching and terms (drivers/guidance/coaching.py) --------------------------
    def enroll_finger(self, reader: Any, captures: int = 2, slot: int | None = None,
                      on_event: Callable[[Any], object] | None = None, *,
                      check_duplicate: bool = True, overwrite: bool = False,
                      timeout: float | None = None, max_retries: int | None = None,
                      listen: bool = True, wait_result: bool = True) -> Any:
        """Enroll a finger on ``reader`` (a :class:`~drivers.fingerprint.FingerprintReader`),
        coached through the pad: where the reader is, place / hold still / lift / place again
        ("the second of three"), a reason and a remedy for every unusable scan, the result ->
        :class:`~drivers.fingerprint.Template`.  ``on_event`` receives each
        :class:`~drivers.guidance.coaching.CoachStep`; ``timeout``: seconds per place / lift
        (default from the profile, see ``coaching.capture_timeout``); ``max_retries``: unusable
        scans per capture (default ``profile.fingerprint_attempts``).  Errors are the reader's
        (AlreadyEnrolledError, FingerTimeoutError, CaptureError, MergeError ...), said to the
        customer first; Cancel on the pad raises ``coaching.FingerprintCancelled``.  The call
        returns once the pad has said the result (``wait_result=False``: at once)."""
        from drivers.guidance.coaching import run_coached

        return run_coached(self, reader, "enroll", on_event=on_event, timeout=timeout,
                           max_retries=max_retries, listen=listen, stages=captures,
                           wait_result=wait_result,
                           captures=captures, slot=slot, check_duplicate=check_duplicate,
                           overwrite=overwrite)

    def verify_finger(self, reader: Any, template: Any, attempts: int | None = None,
                      on_event: Callable[[Any], object] | None = None, *,
                      timeout: float | None = None, max_retries: int | None = None,
                      listen: bool = True, wait_result: bool = True) -> Any:
        """1:1 verify of the customer's finger against ``template`` (Template, bytes or slot),
        coached; at most ``attempts`` (default ``profile.fingerprint_attempts``) ->
        :class:`~drivers.fingerprint.VerifyResult`.  No match after the last attempt is a
        result (``matched`` False), not an error."""
        from drivers.guidance.coaching import run_coached

        return run_coached(self, reader, "verify", on_event=on_event, timeout=timeout,
                           max_retries=max_retries, listen=listen, template=template,
                           wait_result=wait_result,
                           attempts=self._profile.fingerprint_attempts if attempts is None
                           else attempts)

    def identify_finger(self, reader: Any, attempts: int | None = None,
                        on_event: Callable[[Any], object] | None = None, *,
                        timeout: float | None = None, max_retries: int | None = None,
                        listen: bool = True, start: int = 0, count: int | None = None,
                        wait_result: bool = True) -> Any:
        """1:N search of the reader's library, coached ->
        :class:`~drivers.fingerprint.IdentifyResult` (``slot`` None when nobody matched)."""
        from drivers.guidance.coaching import run_coached

        return run_coached(self, reader, "identify", on_event=on_event, timeout=timeout,
                           max_retries=max_retries, listen=listen, start=start, count=count,
                           wait_result=wait_result,
                           attempts=self._profile.fingerprint_attempts if attempts is None
                           else attempts)

    def read_terms(self, text: str, *, title: str | None = None,
                   wait: float | None = None) -> Any:
        """Read a long terms text to the customer in their language: spoken part by part
        (Help repeats the part, Backspace the one before, any key pauses, Cancel stops, Enter
        "I have heard it"), or, for a profile without speech, paged in large text on the pad's
        display (Enter next, Backspace back) while the teller's feed shows it all ->
        :class:`~drivers.guidance.coaching.TermsResult` (``outcome`` heard / read / skipped /
        cancelled / timeout / failed; ``completed``).  ``wait``: seconds without a key while
        paused or at the end (default the profile's time limit)."""
        from drivers.guidance.coaching import read_terms

        return read_terms(self, text, title=title, wait=wait)
