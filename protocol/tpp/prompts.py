"""The pad's FIXED prompt table (SPEC section 9), in zh-CN and en.

During PIN entry the pad speaks and displays only entries of this table, with numeric
arguments 0..999 (three digits at most, so no argument can carry a PIN of four or more digits).
A PIN entry can start only with a prompt whose ``starts_entry`` flag is set, a PIN change only
with one whose ``starts_change`` flag is set, and a prompt that asks for a PIN
(``asks_for_pin``) can be spoken only inside PIN entry or PIN change.  So a host can neither make
the pad ask for a PIN in free text nor make a non-PIN prompt collect a PIN.

Explore mode names keys with words that are not prompts (SPEC section 9.1): :data:`KEY_WORDS`,
:data:`MARK_WORDS`, :data:`COLOUR_WORDS` and the template :func:`describe_key` renders.  The pad
(firmware_sim) speaks them; the host (drivers.guidance) renders the same text to record what the
customer heard.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol.layout import Key
from protocol.spoken import ordinal_words
from protocol.tpp.codes import MAX_PROMPT_ARG

__all__ = ["PromptId", "PromptDef", "PROMPTS", "LANGUAGES", "render_prompt", "KEY_WORDS",
           "MARK_WORDS", "COLOUR_WORDS", "describe_key"]

#: languages every TPP 1.0 pad must have text for
LANGUAGES = ("zh-CN", "en")


class PromptId(enum.IntEnum):
    ENTER_PIN = 1
    ENTER_PIN_DIGITS = 2
    ENTER_PIN_AGAIN = 3
    ENTER_NEW_PIN = 4
    CONFIRM_NEW_PIN = 5
    PIN_TOO_SHORT = 6
    PIN_MISMATCH = 7
    TIME_WARNING = 8
    TIME_EXTENDED = 9
    DIGITS_ENTERED = 10
    MAX_REACHED = 11
    CLEARED = 12
    ENTRY_CANCELLED = 13
    ENTRY_TIMEOUT = 14
    ENTRY_COMPLETE = 15
    PLEASE_WAIT = 16
    EXPLORE_START = 17
    EXPLORE_END = 18
    PIN_CHANGED = 19
    RATE_LIMITED = 20
    BACKSPACE = 21
    HEADSET_IN = 22
    HELP = 23
    PIN_CHANGE_CANCELLED = 24
    PIN_MISMATCH_LEFT = 25


@dataclass(frozen=True, slots=True)
class PromptDef:
    ident: PromptId
    name: str
    zh: str
    en: str
    starts_entry: bool = False
    starts_change: bool = False
    asks_for_pin: bool = False
    #: the English text when the first argument is 1 ("1 digit.", not "1 digits."); Mandarin
    #: has no plural forms
    en_one: str | None = None

    @property
    def arity(self) -> int:
        """Number of numeric arguments ({0}, {1} ...)."""
        return max(self.zh.count("{"), self.en.count("{"))

    def text(self, lang: str, args: tuple[int, ...] = ()) -> str:
        if lang == "zh-CN":
            return self.zh.format(*args)
        if self.en_one is not None and args and args[0] == 1:
            return self.en_one.format(*args)
        return self.en.format(*args)


_P = PromptId
_TABLE = (
    PromptDef(_P.ENTER_PIN, "enter-pin", "请输入密码，输完按确认键。",
              "Please enter your PIN, then press Enter.", starts_entry=True, asks_for_pin=True),
    PromptDef(_P.ENTER_PIN_DIGITS, "enter-pin-digits", "请输入{0}位密码。",
              "Please enter your {0}-digit PIN.", starts_entry=True, asks_for_pin=True),
    PromptDef(_P.ENTER_PIN_AGAIN, "enter-pin-again", "密码错误，请重新输入密码。",
              "Incorrect PIN. Please enter your PIN again.", starts_entry=True,
              asks_for_pin=True),
    PromptDef(_P.ENTER_NEW_PIN, "enter-new-pin", "请输入新密码，输完按确认键。",
              "Please enter your new PIN, then press Enter.", starts_change=True,
              asks_for_pin=True),
    PromptDef(_P.CONFIRM_NEW_PIN, "confirm-new-pin", "请再次输入新密码。",
              "Please enter the new PIN again.", asks_for_pin=True),
    PromptDef(_P.PIN_TOO_SHORT, "pin-too-short", "密码至少需要{0}位，请继续输入。",
              "The PIN needs at least {0} digits. Please continue."),
    PromptDef(_P.PIN_MISMATCH, "pin-mismatch", "两次输入的新密码不一致，请重新输入。",
              "The two new PINs do not match. Please start again."),
    PromptDef(_P.TIME_WARNING, "time-warning", "还剩{0}秒。如需更多时间，请按帮助键。",
              "{0} seconds left. Press Help for more time.",
              en_one="1 second left. Press Help for more time."),
    PromptDef(_P.TIME_EXTENDED, "time-extended", "时间已延长，现在还剩{0}秒。",
              "You now have {0} seconds.", en_one="You now have 1 second."),
    PromptDef(_P.DIGITS_ENTERED, "digits-entered", "已输入{0}位。", "{0} digits.",
              en_one="1 digit."),
    PromptDef(_P.MAX_REACHED, "max-reached", "已经输满了。请按确认键；要重输，请按更正键。",
              "That's the most digits allowed. Press Enter, or Clear to start again."),
    PromptDef(_P.CLEARED, "cleared", "已清除，请重新输入。", "Cleared. Please start again."),
    PromptDef(_P.ENTRY_CANCELLED, "entry-cancelled", "已取消。", "Cancelled."),
    PromptDef(_P.ENTRY_TIMEOUT, "entry-timeout", "输入超时，已取消。",
              "Time is up. The entry was cancelled."),
    PromptDef(_P.ENTRY_COMPLETE, "entry-complete", "输入完成，谢谢。",
              "Thank you, your entry is complete."),
    PromptDef(_P.PLEASE_WAIT, "please-wait", "请稍候。", "Please wait."),
    PromptDef(_P.EXPLORE_START, "explore-start", "按键学习模式：按任意键听按键名称。请勿输入密码。",
              "Key exploration: press any key to hear its name. Do not enter your PIN."),
    PromptDef(_P.EXPLORE_END, "explore-end", "按键学习结束。", "Key exploration finished."),
    PromptDef(_P.PIN_CHANGED, "pin-changed", "新密码已确认。", "Your new PIN is confirmed."),
    PromptDef(_P.RATE_LIMITED, "rate-limited", "密码输入次数过多，请稍后再试。",
              "Too many PIN entries. Please try again later."),
    PromptDef(_P.BACKSPACE, "backspace", "已删除一位，还有{0}位。",
              "One digit deleted; {0} remain.", en_one="One digit deleted; 1 remains."),
    PromptDef(_P.HEADSET_IN, "headset-in", "已接入耳机，现在声音只从耳机播放。",
              "Headset connected. From now on, sound plays only in the headset."),
    PromptDef(_P.HELP, "help", "输入密码后按确认键；按更正键清除，按取消键退出。",
              "Enter your PIN and press Enter; Clear starts again, Cancel stops."),
    PromptDef(_P.PIN_CHANGE_CANCELLED, "pin-change-cancelled", "已取消修改，您的密码没有改变。",
              "The PIN change was cancelled; your PIN is unchanged."),
    PromptDef(_P.PIN_MISMATCH_LEFT, "pin-mismatch-left",
              "两次输入的新密码不一致，还可以再试{0}次。请重新输入新密码。",
              "The two new PINs do not match; {0} tries left. Please enter the new PIN again.",
              en_one="The two new PINs do not match; 1 try left. Please enter the new PIN "
                     "again."),
)

PROMPTS: dict[int, PromptDef] = {int(p.ident): p for p in _TABLE}


def render_prompt(ident: int, lang: str, args: tuple[int, ...] = ()) -> str:
    """The text of prompt ``ident`` in ``lang`` with its numeric arguments.

    Raises KeyError for an unknown id and ValueError for a wrong language or bad arguments."""
    prompt = PROMPTS[ident]
    if lang not in LANGUAGES:
        raise ValueError(f"no prompt text for language {lang!r}: use one of {', '.join(LANGUAGES)}")
    if len(args) != prompt.arity:
        raise ValueError(f"prompt {ident} ({prompt.name}) takes {prompt.arity} argument(s), "
                         f"got {len(args)}")
    if any(not isinstance(a, int) or not 0 <= a <= MAX_PROMPT_ARG for a in args):
        raise ValueError(f"prompt arguments are integers 0..{MAX_PROMPT_ARG}")
    return prompt.text(lang, tuple(args))


# -- explore-mode key descriptions (SPEC 9.1) -----------------------------------------------------
# The words are our protocol's (no library has them); SPEC 9.1 lists the same tables, and
# tests/protocol/test_tpp_spec.py checks the two agree.  Keyed by XFS key name and by the
# protocol.layout TactileMark / KeyColour values; each entry is (zh-CN, en).
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
    "left_arrow": ("有凸起的左箭头", "with a raised left arrow"),
    "x": ("有凸起的叉号", "with a raised X"),
    "plus": ("有凸起的加号", "with a raised plus"),
    "minus": ("有凸起的减号", "with a raised minus"),
}

COLOUR_WORDS: dict[str, tuple[str, str]] = {
    "red": ("红色", "red"), "yellow": ("黄色", "yellow"), "green": ("绿色", "green"),
}


def describe_key(key: Key, lang: str) -> str:
    """What the pad says in explore mode when ``key`` is pressed (SPEC 9.1): row and column
    counted from 1, then the colour and the tactile mark when the key has them -
    ``five, row 2, column 2, with a raised dot`` / ``五，第二排第二个，有凸点。`` (rows are 排,
    which speech engines read right, and positions are words, not digits).  A key with no
    word in :data:`KEY_WORDS` (fdk01, vendor keys) is named by its label.

    Raises ValueError for a language other than :data:`LANGUAGES`."""
    if lang not in LANGUAGES:
        raise ValueError(f"no key words for language {lang!r}: use one of {', '.join(LANGUAGES)}")
    i = 0 if lang == "zh-CN" else 1
    word = KEY_WORDS.get(key.name, (key.label, key.label))[i]
    colour = COLOUR_WORDS.get(key.colour.value)
    mark = MARK_WORDS.get(key.mark.value)
    if i == 0:
        text = f"{word}，{ordinal_words(key.row + 1, lang)}排{ordinal_words(key.column + 1, lang)}个"
        text += f"，{colour[0]}" if colour else ""
        text += f"，{mark[0]}" if mark else ""
        return text + "。"
    text = f"{word}, row {key.row + 1}, column {key.column + 1}"
    text += f", {colour[1]}" if colour else ""
    text += f", {mark[1]}" if mark else ""
    return text
