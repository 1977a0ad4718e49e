"""The pad's fixed prompt table (the one TPP specifies) and the words it uses to name keys.

During PIN entry the pad speaks and displays ONLY entries of :data:`protocol.tpp.prompts.PROMPTS`
with numeric arguments 0..999 (at most three digits, so no argument can carry a PIN of four or
more digits).  Explore mode names keys with the words below, in zh-CN and en.
"""

from __future__ import annotations

from protocol.tpp.codes import MAX_PROMPT_ARG as _MAX_ARG
from protocol.tpp.prompts import LANGUAGES, PROMPTS, PromptDef, render_prompt

__all__ = ["PromptDef", "PROMPTS", "MAX_PROMPT_ARG", "render_prompt", "prompt_by_name",
           "KEY_WORDS", "MARK_WORDS", "COLOUR_WORDS", "describe_key", "LANGUAGES"]

MAX_PROMPT_ARG = _MAX_ARG


def prompt_by_name(name: str) -> PromptDef:
    """The prompt called ``name`` ("time-warning") in the TPP fixed table."""
    return _BY_NAME[name]


_BY_NAME: dict[str, PromptDef] = {p.name: p for p in PROMPTS.values()}


KEY_WORDS: dict[str, tuple[str, str]] = {
    "zero": ("零", "zero"), "one": ("一", "one"), "two": ("二", "two"), "three": ("三", "three"),
    "four": ("四", "four"), "five": ("五", "five"), "six": ("六", "six"), "seven": ("七", "seven"),
    "eight": ("八", "eight"), "nine": ("九", "nine"),
    "enter": ("确认", "Enter"), "cancel": ("取消", "Cancel"), "clear": ("更正", "Clear"),
    "backspace": ("退格", "Backspace"), "help": ("帮助", "Help"),
    "decPoint": ("小数点", "decimal point"), "doubleZero": ("双零", "double zero"),
}

MARK_WORDS: dict[str, tuple[str, str]] = {
    "dot": ("有凸点", "with a raised dot"),
    "circle": ("有凸起的圆圈", "with a raised circle"),
    "left-arrow": ("有凸起的左箭头", "with a raised left arrow"),
    "left_arrow": ("有凸起的左箭头", "with a raised left arrow"),
    "x": ("有凸起的叉号", "with a raised X"),
    "plus": ("有凸起的加号", "with a raised plus"),
    "minus": ("有凸起的减号", "with a raised minus"),
    "question": ("有凸起的问号", "with a raised question mark"),
}

COLOUR_WORDS: dict[str, tuple[str, str]] = {
    "green": ("绿色", "green"), "red": ("红色", "red"), "yellow": ("黄色", "yellow"),
    "blue": ("蓝色", "blue"), "white": ("白色", "white"), "grey": ("灰色", "grey"),
    "gray": ("灰色", "grey"), "black": ("黑色", "black"),
}


def describe_key(name: str, row: int, column: int, mark: str | None, colour: str | None,
                 lang: str) -> str:
    """Explore-mode description: "five, row 2, column 2, with a raised dot"."""
    zh = lang.startswith("zh")
    word = KEY_WORDS.get(name, (name, name))[0 if zh else 1]
    mark_word = MARK_WORDS.get(mark or "", None)
    colour_word = COLOUR_WORDS.get(colour or "", None)
    if zh:
        text = f"{word}，第{row}行第{column}列"
        if colour_word:
            text += f"，{colour_word[0]}"
        if mark_word:
            text += f"，{mark_word[0]}"
        return text + "。"
    text = f"{word}, row {row}, column {column}"
    if colour_word:
        text += f", {colour_word[1]}"
    if mark_word:
        text += f", {mark_word[1]}"
    return text
