"""What a virtual customer recognises: the catalogue's sentences and the pad's fixed prompts as
patterns (placeholders match anything), for VirtualCustomer rules."""

from __future__ import annotations

import re

from drivers.guidance.catalog import DOMAINS, catalogue_entries
from protocol.tpp.prompts import PROMPTS, PromptId


def read_pattern(lang: str, *msgids: str) -> "re.Pattern[str]":
    """A catalogue message as shown or said (its placeholders: anything)."""
    forms = [f for d in DOMAINS for m in msgids for f in catalogue_entries(lang, d).get(m, ())]
    assert forms, msgids
    return re.compile("|".join(re.sub(r"\\\{[a-z_]+\\\}", ".*?", re.escape(f)) for f in forms))


def prompt_pattern(lang: str, ident: PromptId) -> "re.Pattern[str]":
    """One of the pad's fixed prompts (its numeric argument: digits)."""
    p = PROMPTS[int(ident)]
    texts = [p.zh] if lang == "zh-CN" else [p.en] + ([p.en_one] if p.en_one else [])
    return re.compile("|".join(re.sub(r"\\\{\d\\\}", r"\\d+", re.escape(t)) for t in texts))
