"""Guidance: a keypad that explains itself, guided PIN entry and PIN change, fingerprint
coaching, customer profiles, in Mandarin (zh-CN) and English.

Start with :class:`Guide` (one per customer at the counter).  The pieces underneath:

* :mod:`.catalog`: every phrase, from gettext .po files read with Babel;
* :mod:`.channels`: the pad's speech/display/tones/haptics, host speech (espeak-ng), the
  teller's feed and a transcript, behind one small interface, fed by an :class:`Announcer`;
* :mod:`.profiles`: blind, low-vision, deaf, elderly, standard.
"""

from drivers.guidance.catalog import LANGUAGES, Messages, messages, normalise_lang
from drivers.guidance.channels import (
    HAPTIC_PATTERNS,
    Announcement,
    Announcer,
    Channel,
    EspeakChannel,
    PadChannel,
    TellerFeed,
    TranscriptRecorder,
)
from drivers.guidance.coaching import (
    CoachStep,
    FingerprintCancelled,
    TermsResult,
    TooManyRetriesError,
)
from drivers.guidance.entry import GuidedPinEntry
from drivers.guidance.guide import READER_POSITIONS, Guide
from drivers.guidance.keypad import Claim, KeypadPhrases, Phrase
from drivers.guidance.tour import ExploreResult, TourResult
from drivers.guidance.profiles import PROFILE_NAMES, PROFILES, Profile, profile, suggest_profile

__all__ = [
    "Guide",
    "GuidedPinEntry",
    "KeypadPhrases",
    "Phrase",
    "Claim",
    "TourResult",
    "ExploreResult",
    "CoachStep",
    "TermsResult",
    "FingerprintCancelled",
    "TooManyRetriesError",
    "READER_POSITIONS",
    "LANGUAGES",
    "Messages",
    "messages",
    "normalise_lang",
    "Announcement",
    "Announcer",
    "Channel",
    "PadChannel",
    "EspeakChannel",
    "TellerFeed",
    "TranscriptRecorder",
    "HAPTIC_PATTERNS",
    "Profile",
    "PROFILES",
    "PROFILE_NAMES",
    "profile",
    "suggest_profile",
]
