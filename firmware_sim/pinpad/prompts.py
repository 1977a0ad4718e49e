"""The pad's fixed prompt table and the words it uses to name keys (zh-CN and en).

During PIN entry the pad speaks and displays ONLY entries of this table, with numeric arguments
(0..999: at most three digits, so no argument can carry a PIN of four or more digits).  A PIN
entry can only be started with a prompt whose ``pin`` flag is set, so a host can neither make the
pad ask for a PIN in free text nor make a non-PIN prompt collect a PIN.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Prompt", "PROMPTS", "MAX_PROMPT_ARG", "render_prompt", "KEY_WORDS", "MARK_WORDS",
           "COLOUR_WORDS", "describe_key", "LANGUAGES"]

LANGUAGES = ("zh-CN", "en")
MAX_PROMPT_ARG = 999


@dataclass(frozen=True, slots=True)
class Prompt:
    ident: int
    name: str
    zh: str
    en: str
    pin: bool = False  # may start a PIN entry
    change: bool = False  # may start a PIN change

    def text(self, lang: str, args: tuple[int, ...] = ()) -> str:
        template = self.zh if lang.startswith("zh") else self.en
        return template.format(*args)

    @property
    def arity(self) -> int:
        return max(self.zh.count("{"), self.en.count("{"))


_TABLE = [
    Prompt(1, "enter-pin", "请输入密码，输完按确认键。", "Please enter your PIN, then press Enter.", pin=True),
    Prompt(2, "enter-pin-digits", "请输入{0}位密码。", "Please enter your {0}-digit PIN.", pin=True),
    Prompt(3, "enter-pin-again", "密码错误，请重新输入密码。", "Incorrect PIN. Please enter your PIN again.", pin=True),
    Prompt(4, "enter-new-pin", "请输入新密码，输完按确认键。", "Please enter your new PIN, then press Enter.", change=True),
    Prompt(5, "confirm-new-pin", "请再次输入新密码。", "Please enter the new PIN again."),
    Prompt(6, "pin-too-short", "密码至少需要{0}位，请继续输入。", "The PIN needs at least {0} digits. Please continue."),
    Prompt(7, "pin-mismatch", "两次输入的新密码不一致，请重新输入。", "The two new PINs do not match. Please start again."),
    Prompt(8, "time-warning", "还剩{0}秒。如需更多时间，请按帮助键。", "{0} seconds left. Press Help for more time."),
    Prompt(9, "time-extended", "已为您延长{0}秒。", "You have {0} more seconds."),
    Prompt(10, "digits-entered", "已输入{0}位。", "{0} digits entered."),
    Prompt(11, "max-reached", "已输入最多位数，请按确认键或更正键。", "Maximum digits entered. Press Enter or Clear."),
    Prompt(12, "cleared", "已清除，请重新输入。", "Cleared. Please start again."),
    Prompt(13, "entry-cancelled", "已取消。", "Cancelled."),
    Prompt(14, "entry-timeout", "输入超时，已取消。", "Time is up. The entry was cancelled."),
    Prompt(15, "entry-complete", "输入完成，谢谢。", "Thank you, your entry is complete."),
    Prompt(16, "please-wait", "请稍候。", "Please wait."),
    Prompt(17, "explore-start", "按键学习模式：按任意键听按键名称。请勿输入密码。",
           "Key exploration: press any key to hear its name. Do not enter your PIN."),
    Prompt(18, "explore-end", "按键学习结束。", "Key exploration finished."),
    Prompt(19, "pin-changed", "新密码已确认。", "Your new PIN is confirmed."),
    Prompt(20, "rate-limited", "密码输入次数过多，请稍后再试。", "Too many PIN entries. Please try again later."),
    Prompt(21, "backspace", "已删除一位，还有{0}位。", "One digit deleted, {0} digits remain."),
    Prompt(22, "headset-in", "已接入耳机，声音只在耳机播放。", "Headset connected. Sound plays only in the headset."),
    Prompt(23, "help", "输入密码后按确认键；按更正键清除，按取消键退出。",
           "Enter your PIN and press Enter; Clear starts again, Cancel stops."),
]

PROMPTS: dict[int, Prompt] = {p.ident: p for p in _TABLE}
_BY_NAME: dict[str, Prompt] = {p.name: p for p in _TABLE}


def prompt_by_name(name: str) -> Prompt:
    return _BY_NAME[name]


def render_prompt(ident: int, lang: str, args: tuple[int, ...] = ()) -> str:
    """Text of prompt ``ident``; raises KeyError / ValueError for an unknown id / bad args."""
    prompt = PROMPTS[ident]
    if len(args) != prompt.arity:
        raise ValueError(f"prompt {ident} ({prompt.name}) takes {prompt.arity} argument(s)")
    for a in args:
        if not isinstance(a, int) or not 0 <= a <= MAX_PROMPT_ARG:
            raise ValueError(f"prompt arguments are integers 0..{MAX_PROMPT_ARG}")
    return prompt.text(lang, args)


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
