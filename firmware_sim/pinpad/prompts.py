"""The pad's fixed prompt table (the one TPP specifies) and the words it uses to name keys.

During PIN entry the pad speaks and displays ONLY entries of :data:`protocol.tpp.prompts.PROMPTS`
with numeric arguments 0..999 (at most three digits, so no argument can carry a PIN of four or
more digits).  Explore mode names keys with the SPEC 9.1 words and template of
:mod:`protocol.tpp.prompts` (the host renders the same, to record what the pad said).
"""

from __future__ import annotations

from protocol.tpp.codes import MAX_PROMPT_ARG as _MAX_ARG
from protocol.tpp.prompts import (
    COLOUR_WORDS,
    KEY_WORDS,
    LANGUAGES,
    MARK_WORDS,
    PROMPTS,
    PromptDef,
    describe_key,
    render_prompt,
)

__all__ = ["PromptDef", "PROMPTS", "MAX_PROMPT_ARG", "render_prompt", "prompt_by_name",
           "KEY_WORDS", "MARK_WORDS", "COLOUR_WORDS", "describe_key", "LANGUAGES"]

MAX_PROMPT_ARG = _MAX_ARG


def prompt_by_name(name: str) -> PromptDef:
    """The prompt called ``name`` ("time-warning") in the TPP fixed table."""
    return _BY_NAME[name]


_BY_NAME: dict[str, PromptDef] = {p.name: p for p in PROMPTS.values()}
