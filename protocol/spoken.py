"""Numbers for the ear, in zh-CN and en: counts and positions as words, never as digits.

Written by hand: Babel formats numbers as digits (CLDR has no spell-out in Babel), and a
quantity must be heard as a word ("thirty seconds", 三十秒), never as digits read one by one.
One home for both ends: the pad's explore words (SPEC 9.1, 第二排第二个) and the host's
guidance (drivers.guidance.catalog) use these functions.
"""

from __future__ import annotations

__all__ = ["number_words", "ordinal_words"]

_ZH_DIGITS = "零一二三四五六七八九"
_EN_SMALL = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
             "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
             "seventeen", "eighteen", "nineteen")
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_ORDINAL = ("zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh",
               "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth",
               "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth")


def _zh_number(n: int) -> str:
    if n < 10:
        return _ZH_DIGITS[n]
    if n < 100:
        tens, units = divmod(n, 10)
        return ("" if tens == 1 else _ZH_DIGITS[tens]) + "十" + (_ZH_DIGITS[units] if units else "")
    if n < 10000:
        out, zero = "", False
        for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            digit = n // value % 10
            if digit:
                out += ("零" if zero and out else "") + _ZH_DIGITS[digit] + unit
                zero = False
            elif out:
                zero = True
        return out
    return " ".join(_ZH_DIGITS[int(c)] for c in str(n))  # larger: digit by digit, spaced


def _en_number(n: int) -> str:
    if n < 20:
        return _EN_SMALL[n]
    if n < 100:
        tens, units = divmod(n, 10)
        return _EN_TENS[tens] + (f"-{_EN_SMALL[units]}" if units else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_EN_SMALL[hundreds]} hundred" + (f" and {_en_number(rest)}" if rest else "")
    return " ".join(str(n))  # larger: digit by digit, spaced


def number_words(n: int, lang: str) -> str:
    """A count in words (``4`` -> ``"four"`` / ``"四"``, ``30`` -> ``"thirty"`` / ``"三十"``),
    up to 999 (en) or 9999 (zh); larger numbers have their digits spaced so an engine reads
    them one by one.  ``lang`` is ``"zh-CN"`` or ``"en"``."""
    n = int(n)
    if n < 0:
        return str(n)
    return _zh_number(n) if lang == "zh-CN" else _en_number(n)


def ordinal_words(n: int, lang: str) -> str:
    """Position words: ``2`` -> ``"second"`` / ``"第二"``."""
    n = int(n)
    if lang == "zh-CN":
        return "第" + _zh_number(n)
    return _EN_ORDINAL[n] if 0 <= n < len(_EN_ORDINAL) else f"number {n}"
