"""Profiles: presets as the issue describes them, suggestion, adjustment, validation."""

from __future__ import annotations

import pytest

from drivers.guidance import PROFILE_NAMES, Profile, profile, suggest_profile
from drivers.guidance.profiles import ELDERLY_AGE
from protocol.errors import ConfigurationError


def test_presets_exist():
    assert set(PROFILE_NAMES) == {"standard", "blind", "low-vision", "deaf", "deafblind",
                                  "elderly"}


def test_blind_full_spatial_private_audio_long_limit():
    p = profile("blind")
    assert p.spatial == "full" and p.speech and p.wait_for_headset and p.offer_tour
    assert p.time_limit >= 60
    assert p.beep == "private_only"  # key tones only into the headset


def test_low_vision_large_text_and_speech():
    p = profile("low-vision")
    assert p.large_text and p.display and p.speech


def test_deaf_nothing_depends_on_hearing():
    p = profile("deaf")
    assert not p.speech and p.display and p.haptics and p.large_text
    assert p.digit_feedback == "haptic"


def test_elderly_slower_longer_repeated_large():
    p, s = profile("elderly"), profile("standard")
    assert p.rate < s.rate and p.time_limit > s.time_limit
    assert p.repeat_instructions and p.large_text


def test_lookup_aliases_and_errors():
    assert profile("Low_Vision") is profile("low-vision")
    assert profile("hard-of-hearing") is profile("deaf")
    custom = Profile("mine", rate=120)
    assert profile(custom) is custom
    with pytest.raises(ConfigurationError, match="blind, low-vision"):
        profile("sighted")


def test_suggest_from_age_and_needs():
    assert suggest_profile().name == "standard"
    assert ELDERLY_AGE == 60                       # 老年人 in Chinese law: from 60
    assert suggest_profile(age=59).name == "standard"
    assert suggest_profile(age=60).name == "elderly"
    assert suggest_profile(age=56, elderly_age=55).name == "elderly"   # a bank's own policy
    assert suggest_profile(age=30, blind=True).name == "blind"
    old_blind = suggest_profile(age=93, blind=True)
    assert old_blind.name == "blind" and old_blind.repeat_instructions
    assert old_blind.time_limit >= profile("elderly").time_limit
    assert old_blind.rate <= profile("elderly").rate
    assert suggest_profile(deaf=True, low_vision=True).name == "deaf"
    both = suggest_profile(deaf=True, blind=True)
    assert both.name == "deafblind" and not both.speech and not both.display and both.haptics
    assert both.hand_over_hand and both.time_limit >= 120


def test_adjust_makes_a_checked_copy():
    p = profile("blind").adjust(time_limit=120)
    assert p.time_limit == 120 and profile("blind").time_limit == 60
    with pytest.raises(ConfigurationError, match="unknown profile setting"):
        profile("blind").adjust(speed=3)
    with pytest.raises(ConfigurationError, match="time_limit"):
        profile("blind").adjust(time_limit=5)
    with pytest.raises(ConfigurationError, match="speech, display or haptics"):
        Profile("nothing", speech=False, display=False)
    with pytest.raises(ConfigurationError, match="digit_feedback"):
        Profile("x", digit_feedback="spoken-digits")
