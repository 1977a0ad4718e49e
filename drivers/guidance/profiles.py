"""Customer profiles: how guidance speaks, shows and times things for one customer.

A :class:`Profile` is a small frozen data object the teller application picks (``profile("blind")``),
suggests (:func:`suggest_profile`, for example "elderly" from the customer's age) and adjusts
(``profile("elderly").adjust(rate=70)``).  Profiles switch per session: pass one to each
:class:`~drivers.guidance.Guide` call or set ``guide.profile``.

What each preset means (the issue's list; numbers are our choice where it was silent):

=========== ==================================================================================
blind       full spatial guidance; private audio through the headset when one is in, and the
            tour offers to wait for one; a 60 s inactivity limit with warnings; digit
            feedback by count ("3 digits."); key tones only
            into the headset (PRIVATE_ONLY), since keystroke rhythm leaks through a speaker
low-vision  large text on the pad's display plus speech; brief spatial guidance
deaf        nothing depends on hearing: nothing on the speaker and no tone, from the pad or
            the guide, in any step (the pad's silent form, TPP SetFeedback); text on the pad's
            display in large type and on the teller's screen; the pad's named vibration
            patterns for keys, warnings and the end of each step (done, cancelled, timeout)
deafblind   neither speech nor display is relied on: vibration patterns only, and the teller
            is told, step by step, how to help hand over hand (which key, where it is); the
            longest limits (120 s) and explore time
elderly     slower speech (80 %), longer limits (90 s), instructions repeated after a pause
            with no key (not back to back), large text; suggested from 60 years
standard    the pad's defaults

Profiles that speak anything private through the pad (``private_audio``: blind, low-vision,
elderly) have the headset offered first, once per customer, before any PIN entry, count,
terms or outcome is spoken.
=========== ==================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from protocol.errors import ConfigurationError

__all__ = ["Profile", "PROFILES", "PROFILE_NAMES", "profile", "suggest_profile",
           "ELDERLY_AGE"]

#: the age from which "elderly" is suggested: 60, the threshold of 老年人 in Chinese law (老年人
#: 权益保障法 article 2); a bank with another policy passes ``elderly_age=`` to suggest_profile
ELDERLY_AGE = 60

_DIGIT_FEEDBACK = ("tone", "count", "haptic", "none")
_SPATIAL = ("full", "brief")
_BEEP = ("follow_setting", "silent", "always", "private_only")


@dataclass(frozen=True, slots=True)
class Profile:
    """How guidance treats one customer.

    ``speech``: speak to the customer; ``display``: show text on the pad's display;
    ``large_text``: large type; ``haptics``: vibration cues (key / error / warning / done);
    ``rate``: speech rate in % (50..200, 100 normal); ``volume``: 1..1000, 0 = the pad's own;
    ``time_limit``: PIN entry inactivity limit in seconds (10..600); ``spatial``: "full" (every
    key with its neighbours) or "brief"; ``digit_feedback``: "tone" (the pad's uniform key
    tone), "count" (the pad's fixed prompt "N digits." after each digit), "haptic"
    (one identical pulse) or "none"; ``repeat_instructions``: say each instruction twice;
    ``offer_tour``: offer the keypad tour before PIN entry; ``wait_for_headset``: the tour
    offers to wait for a headset; ``headset_wait``: seconds to wait; ``beep``: the pad's key
    tone policy for PIN entry; ``fingerprint_attempts``: verification attempts;
    ``explore_limit``: seconds of explore mode without a key press before it ends;
    ``private_audio``: offer the headset, once per customer, before anything private is
    spoken; ``repeat_after``: with ``repeat_instructions``, seconds without any key after an
    instruction before it is said once more; ``hand_over_hand``: the teller is told how to
    guide the customer's hand (deafblind)."""

    name: str
    speech: bool = True
    display: bool = True
    large_text: bool = False
    haptics: bool = False
    rate: int = 100
    volume: int = 0
    time_limit: int = 30
    spatial: str = "brief"
    digit_feedback: str = "tone"
    repeat_instructions: bool = False
    offer_tour: bool = False
    wait_for_headset: bool = False
    headset_wait: float = 30.0
    beep: str = "follow_setting"
    fingerprint_attempts: int = 3
    explore_limit: float = 60.0
    private_audio: bool = False
    repeat_after: float = 8.0
    hand_over_hand: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not self.speech and not self.display and not self.haptics:
            problems.append("a profile needs speech, display or haptics")
        if not self.repeat_after > 0:
            problems.append("repeat_after must be positive")
        if not 50 <= self.rate <= 200:
            problems.append(f"rate is 50..200 %, not {self.rate}")
        if not (self.volume == 0 or 1 <= self.volume <= 1000):
            problems.append(f"volume is 1..1000 (0 = the pad's own), not {self.volume}")
        if not 10 <= self.time_limit <= 600:
            problems.append(f"time_limit is 10..600 s, not {self.time_limit}")
        if self.spatial not in _SPATIAL:
            problems.append(f"spatial is one of {', '.join(_SPATIAL)}, not {self.spatial!r}")
        if self.digit_feedback not in _DIGIT_FEEDBACK:
            problems.append(f"digit_feedback is one of {', '.join(_DIGIT_FEEDBACK)}, "
                            f"not {self.digit_feedback!r}")
        if self.beep not in _BEEP:
            problems.append(f"beep is one of {', '.join(_BEEP)}, not {self.beep!r}")
        if not 1 <= self.fingerprint_attempts <= 10:
            problems.append(f"fingerprint_attempts is 1..10, not {self.fingerprint_attempts}")
        if not self.explore_limit > 0 or not self.headset_wait >= 0:
            problems.append("explore_limit must be positive and headset_wait not negative")
        if problems:
            raise ConfigurationError(f"profile {self.name!r}: " + "; ".join(problems))

    def adjust(self, **changes: Any) -> "Profile":
        """A copy with some settings changed (``profile("blind").adjust(time_limit=120)``)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigurationError(f"unknown profile setting(s) {', '.join(unknown)}: use "
                                     + ", ".join(sorted(known - {'name'})))
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


PROFILES: dict[str, Profile] = {
    "standard": Profile("standard"),
    "blind": Profile("blind", time_limit=60, spatial="full", digit_feedback="count",
                     offer_tour=True, wait_for_headset=True, beep="private_only",
                     explore_limit=90.0, private_audio=True),
    "low-vision": Profile("low-vision", large_text=True, time_limit=45, digit_feedback="tone",
                          wait_for_headset=True, private_audio=True),
    "deaf": Profile("deaf", speech=False, large_text=True, haptics=True, time_limit=45,
                    digit_feedback="haptic", beep="silent"),
    "deafblind": Profile("deafblind", speech=False, display=False, haptics=True,
                         time_limit=120, spatial="full", digit_feedback="haptic",
                         beep="silent", explore_limit=180.0, headset_wait=0.0,
                         fingerprint_attempts=5, hand_over_hand=True),
    "elderly": Profile("elderly", large_text=True, rate=80, time_limit=90, spatial="full",
                       digit_feedback="count", repeat_instructions=True, offer_tour=True,
                       explore_limit=120.0, wait_for_headset=True, private_audio=True),
}
PROFILE_NAMES = tuple(PROFILES)


def profile(name: "str | Profile") -> Profile:
    """The preset called ``name`` (blind, low-vision, deaf, elderly, standard); a Profile is
    returned as it is."""
    if isinstance(name, Profile):
        return name
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    if key in ("lowvision", "low-vision", "partially-sighted"):
        key = "low-vision"
    if key in ("hard-of-hearing", "hearing"):
        key = "deaf"
    if key in ("deaf-blind", "deaf-and-blind"):
        key = "deafblind"
    try:
        return PROFILES[key]
    except KeyError:
        raise ConfigurationError(f"unknown profile {name!r}: use one of "
                                 + ", ".join(PROFILE_NAMES)) from None


def suggest_profile(*, age: int | None = None, blind: bool = False, low_vision: bool = False,
                    deaf: bool = False, elderly_age: int = ELDERLY_AGE) -> Profile:
    """The profile a teller application should offer first.  Sight and hearing needs come
    before age: deaf and blind together give "deafblind"; a customer of ``elderly_age`` or more
    (:data:`ELDERLY_AGE`, 60) otherwise gets "elderly".  An elderly customer who is also blind
    or deaf gets that profile with the elderly pace (slower speech, longer limits, instructions
    repeated after a pause).  The teller application tells the teller why (see
    ``Guide.profile_notice``)."""
    if blind and deaf:
        base = PROFILES["deafblind"]
    elif blind:
        base = PROFILES["blind"]
    elif deaf:
        base = PROFILES["deaf"]
    elif low_vision:
        base = PROFILES["low-vision"]
    elif age is not None and age >= elderly_age:
        return PROFILES["elderly"]
    else:
        return PROFILES["standard"]
    if age is not None and age >= elderly_age:
        elderly = PROFILES["elderly"]
        base = base.adjust(time_limit=max(base.time_limit, elderly.time_limit),
                           repeat_instructions=base.speech or base.display,
                           large_text=base.display,
                           rate=min(base.rate, elderly.rate),
                           explore_limit=max(base.explore_limit, elderly.explore_limit))
    return base
