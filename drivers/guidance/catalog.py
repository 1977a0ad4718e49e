"""Message catalogues: every phrase the guidance layer says or shows, in zh-CN and en.

The catalogues are gettext ``.po`` files under ``drivers/guidance/locales/<locale>/LC_MESSAGES``,
one file per *domain* (``keypad``, ``entry``, ``fingerprint``, ``common``, ``confirm``), read with Babel's
``read_po`` (Babel is the well-kept library for .po files and CLDR plural rules; we add only the
lookup and the ``{name}`` formatting on top).

Message ids are symbolic and dotted (``keypad.shape``), not English source text, so the English
wording can be improved without touching the Mandarin file; both languages therefore carry a
full translation of every id.  Placeholders use ``str.format`` syntax (``{count}``, ``{key}``).
A plural message has ``msgid_plural`` (by convention the id plus ``.plural``); the form is chosen
by the ``Plural-Forms`` header of that language's file (English 2 forms, Mandarin 1), evaluated
with :func:`gettext.c2py`.

Mandarin text is written for the ear: numbers the customer must hear one by one are passed as
words (:func:`number_words`), rows are 排 (not 行, which engines often read háng/xíng wrongly),
symbols are named in words (井号, 星号).
"""

from __future__ import annotations

import functools
import gettext
import string
from dataclasses import dataclass
from importlib import resources
from typing import Any, Callable

from babel.messages.pofile import read_po

from protocol import spoken as _spoken
from protocol.errors import ConfigurationError

__all__ = [
    "LANGUAGES",
    "DOMAINS",
    "Messages",
    "messages",
    "normalise_lang",
    "number_words",
    "ordinal_words",
    "catalogue_entries",
    "placeholders",
]

#: the languages every message exists in (BCP 47 tags, as the pad's ``lang`` fields)
LANGUAGES = ("zh-CN", "en")
#: the catalogue files (gettext domains) under locales/<locale>/LC_MESSAGES/
DOMAINS = ("common", "keypad", "entry", "fingerprint", "confirm")

_LOCALE_DIRS = {"zh-CN": "zh_CN", "en": "en"}
_ALIASES = {"zh": "zh-CN", "zh-cn": "zh-CN", "zh_cn": "zh-CN", "cmn": "zh-CN", "zh-hans": "zh-CN",
            "en": "en", "en-us": "en", "en-gb": "en", "en_us": "en", "en_gb": "en"}


def normalise_lang(lang: str) -> str:
    """``"zh_CN"``/``"zh"``/``"zh-cn"`` -> ``"zh-CN"``; ``"en-GB"`` -> ``"en"``.  Anything else
    raises ConfigurationError naming the languages we have."""
    tag = _ALIASES.get(str(lang).strip().lower())
    if tag is None:
        raise ConfigurationError(f"no guidance messages in language {lang!r}: use one of "
                                 + ", ".join(LANGUAGES))
    return tag


@dataclass(frozen=True, slots=True)
class _Entry:
    forms: tuple[str, ...]        # one string, or one per plural form
    plural: bool


def _read(lang: str, domain: str) -> tuple[dict[str, _Entry], Callable[[int], int]]:
    path = resources.files("drivers.guidance") / "locales" / _LOCALE_DIRS[lang] / \
        "LC_MESSAGES" / f"{domain}.po"
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=_LOCALE_DIRS[lang], domain=domain)
    except FileNotFoundError:
        raise ConfigurationError(f"the {lang} guidance catalogue {domain}.po is missing "
                                 f"({path}); reinstall the package") from None
    plural = gettext.c2py(catalog.plural_expr)
    entries: dict[str, _Entry] = {}
    for message in catalog:
        if not message.id:
            continue  # the header
        if isinstance(message.id, (tuple, list)):
            forms = tuple(message.string) if isinstance(message.string, (tuple, list)) \
                else (message.string,)
            entries[message.id[0]] = _Entry(forms, True)
        else:
            entries[message.id] = _Entry((message.string,), False)
    return entries, plural


@functools.cache
def _load(lang: str) -> "Messages":
    entries: dict[str, _Entry] = {}
    plural_rule: Callable[[int], int] = lambda n: 0  # noqa: E731 - replaced below
    for domain in DOMAINS:
        found, plural_rule = _read(lang, domain)
        dup = set(found) & set(entries)
        if dup:
            raise ConfigurationError(f"message ids defined twice in the {lang} catalogues: "
                                     + ", ".join(sorted(dup)))
        entries.update(found)
    return Messages(lang, entries, plural_rule)


def messages(lang: str) -> "Messages":
    """The (cached) messages of one language."""
    return _load(normalise_lang(lang))


class Messages:
    """Every message of one language.  ``text(id, **values)`` formats one."""

    def __init__(self, lang: str, entries: dict[str, _Entry],
                 plural_rule: Callable[[int], int]) -> None:
        self.lang = lang
        self._entries = entries
        self._plural = plural_rule

    def __repr__(self) -> str:
        return f"<Messages {self.lang}: {len(self._entries)} ids>"

    def __contains__(self, msgid: object) -> bool:
        return msgid in self._entries

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._entries)

    def text(self, msgid: str, count: int | None = None, **values: Any) -> str:
        """The message ``msgid`` with ``{name}`` placeholders filled from ``values`` (``count``
        selects the plural form and is also available as ``{count}``)."""
        entry = self._entries.get(msgid)
        if entry is None:
            raise ConfigurationError(f"no {self.lang} guidance message {msgid!r}")
        if entry.plural:
            if count is None:
                raise ConfigurationError(f"message {msgid!r} is plural: give count=")
            index = self._plural(int(count))
            template = entry.forms[min(index, len(entry.forms) - 1)]
        else:
            template = entry.forms[0]
        if count is not None:
            values.setdefault("count", count)
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigurationError(f"message {msgid!r} ({self.lang}) needs the value "
                                     f"{exc}; got {sorted(values)}") from None


# -- numbers for the ear (one home: protocol.spoken) ----------------------------------------------
def number_words(n: int, lang: str) -> str:
    """A count in words (``4`` -> ``"four"`` / ``"四"``, ``30`` -> ``"thirty"`` / ``"三十"``),
    up to 999 (en) or 9999 (zh); larger numbers have their digits spaced so an engine reads
    them one by one."""
    return _spoken.number_words(n, normalise_lang(lang))


def ordinal_words(n: int, lang: str) -> str:
    """Position words: ``2`` -> ``"second"`` / ``"第二"``."""
    return _spoken.ordinal_words(n, normalise_lang(lang))


# -- for the completeness test and tools -----------------------------------------------------------
def catalogue_entries(lang: str, domain: str) -> dict[str, tuple[str, ...]]:
    """``{msgid: forms}`` of one catalogue file (the plural forms as a tuple)."""
    found, _ = _read(normalise_lang(lang), domain)
    return {k: v.forms for k, v in found.items()}


def placeholders(template: str) -> frozenset[str]:
    """The ``{name}`` fields of a template (``{count}`` included)."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template)
                     if name is not None and name != "")
