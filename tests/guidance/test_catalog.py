"""The message catalogues are complete and consistent in zh-CN and en.

Fails if any message id, placeholder or plural form is missing or extra in either language, if a
message the code uses is in no catalogue, or if Mandarin text breaks the rules for the ear.
"""

from __future__ import annotations

import pathlib
import re

import pytest

from drivers.guidance import catalog
from drivers.guidance.catalog import (
    DOMAINS,
    LANGUAGES,
    catalogue_entries,
    messages,
    normalise_lang,
    number_words,
    ordinal_words,
    placeholders,
)
from protocol.errors import ConfigurationError

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: plural forms per language (the Plural-Forms header of each file must agree)
NPLURALS = {"en": 2, "zh-CN": 1}


@pytest.mark.parametrize("domain", DOMAINS)
def test_same_ids_in_both_languages(domain):
    en = catalogue_entries("en", domain)
    zh = catalogue_entries("zh-CN", domain)
    assert set(en) - set(zh) == set(), f"{domain}: ids missing in zh-CN"
    assert set(zh) - set(en) == set(), f"{domain}: ids missing in en"


@pytest.mark.parametrize("domain", DOMAINS)
def test_ids_belong_to_their_domain(domain):
    for msgid in catalogue_entries("en", domain):
        assert msgid.startswith(domain + "."), f"{msgid!r} is in {domain}.po"


@pytest.mark.parametrize("domain", DOMAINS)
def test_placeholders_and_plural_forms_match(domain):
    en = catalogue_entries("en", domain)
    zh = catalogue_entries("zh-CN", domain)
    for msgid in en:
        forms = {"en": en[msgid], "zh-CN": zh.get(msgid, ())}
        plural = len(en[msgid]) > 1 or len(forms["zh-CN"]) > 1 or msgid in _plural_ids(domain)
        names = None
        for lang, texts in forms.items():
            assert all(t.strip() for t in texts), f"{msgid} ({lang}) has an empty translation"
            if plural:
                assert len(texts) == NPLURALS[lang], \
                    f"{msgid} ({lang}): {len(texts)} plural forms, expected {NPLURALS[lang]}"
            for text in texts:
                found = placeholders(text)
                if names is None:
                    names = found
                # a plural form may leave {count} out ("one digit"), nothing else may differ
                assert found - {"count"} == names - {"count"}, \
                    f"{msgid} ({lang}): placeholders {sorted(found)} differ from {sorted(names)}"


def _plural_ids(domain: str) -> set[str]:
    text = (ROOT / "drivers/guidance/locales/en/LC_MESSAGES" / f"{domain}.po").read_text("utf-8")
    return set(re.findall(r'^msgid "([^"]+)"\nmsgid_plural', text, re.M))


def test_plural_headers():
    for lang in LANGUAGES:
        for domain in DOMAINS:
            path = ROOT / "drivers/guidance/locales" / catalog._LOCALE_DIRS[lang] / \
                "LC_MESSAGES" / f"{domain}.po"
            header = re.search(r"nplurals=(\d+)", path.read_text("utf-8"))
            assert header and int(header.group(1)) == NPLURALS[lang], path


_USED = re.compile(r"""["']((?:common|keypad|entry|fingerprint)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*)["']""")


def test_every_message_the_code_uses_exists():
    ids = messages("en").ids
    missing = {}
    for path in list((ROOT / "drivers").rglob("*.py")) + list((ROOT / "tools").rglob("*.py")):
        for match in _USED.finditer(path.read_text("utf-8")):
            msgid = match.group(1)
            if msgid.endswith(".") or msgid.endswith(".po"):
                continue
            if msgid not in ids and not any(i.startswith(msgid + ".") for i in ids):
                missing.setdefault(msgid, path.relative_to(ROOT).as_posix())
    assert missing == {}, f"message ids used in code but in no catalogue: {missing}"


# -- Mandarin for the ear ------------------------------------------------------------------------
def _zh_texts():
    for domain in DOMAINS:
        for msgid, forms in catalogue_entries("zh-CN", domain).items():
            for text in forms:
                yield msgid, text


def test_mandarin_names_rows_with_pai_not_hang():
    # 第二行 is often read háng wrongly by speech engines; a keypad row is 第二排
    bad = [(i, t) for i, t in _zh_texts() if re.search(r"第[一二三四五六七八九十\d{}a-z_]+行", t)]
    assert bad == []


def test_mandarin_names_symbols_in_words():
    bad = [(i, t) for i, t in _zh_texts() if re.search(r"[#*＃＊]", t)]
    assert bad == [], "write 井号 / 星号, not the symbols"


def test_mandarin_has_no_digit_runs_to_misread():
    # "123" is read as a number (一百二十三); numbers to be heard digit by digit go in as words
    bad = [(i, t) for i, t in _zh_texts() if re.search(r"\d{2,}", re.sub(r"\{[^}]*\}", "", t))]
    assert bad == []


def test_english_text_has_no_chinese_and_chinese_text_is_chinese():
    for domain in DOMAINS:
        for msgid, forms in catalogue_entries("en", domain).items():
            assert not any(re.search(r"[\u4e00-\u9fff]", t) for t in forms), msgid
        for msgid, forms in catalogue_entries("zh-CN", domain).items():
            # words are Chinese; a message of placeholders and punctuation alone has none
            words = [re.sub(r"\{[^}]*\}|[\W_]", "", t) for t in forms]
            assert all(re.search(r"[\u4e00-\u9fff]", w) for w in words if w), msgid


# -- the lookup itself -----------------------------------------------------------------------------
def test_text_formats_and_refuses_missing_values():
    en = messages("en")
    assert "wait thirty seconds" in en.text("common.headset_offer", 30, seconds="thirty")
    assert "wait one second;" in en.text("common.headset_offer", 1, seconds="one")
    with pytest.raises(ConfigurationError, match="seconds"):
        en.text("common.headset_offer", 30)
    with pytest.raises(ConfigurationError, match="no en guidance message"):
        en.text("common.no_such_message")


def test_languages_and_aliases():
    assert normalise_lang("zh_CN") == normalise_lang("zh") == "zh-CN"
    assert normalise_lang("en-GB") == "en"
    with pytest.raises(ConfigurationError, match="zh-CN, en"):
        messages("fr")


def test_plural_selection_follows_each_language():
    # a private catalogue built the way the real ones are, so the rule is tested on its own
    en = catalog.Messages("en", {"x.n": catalog._Entry(("{count} digit", "{count} digits"), True)},
                          lambda n: int(n != 1))
    assert en.text("x.n", count=1) == "1 digit"
    assert en.text("x.n", count=4) == "4 digits"
    with pytest.raises(ConfigurationError, match="plural"):
        en.text("x.n")


@pytest.mark.parametrize("n, en, zh", [(0, "zero", "零"), (4, "four", "四"), (10, "ten", "十"),
                                       (12, "twelve", "十二"), (21, "twenty-one", "二十一"),
                                       (30, "thirty", "三十"), (100, "one hundred", "一百"),
                                       (105, "one hundred and five", "一百零五"),
                                       (600, "six hundred", "六百"), (1010, "1 0 1 0", "一千零一十"),
                                       (12345, "1 2 3 4 5", "一 二 三 四 五")])
def test_number_words(n, en, zh):
    assert number_words(n, "en") == en
    assert number_words(n, "zh-CN") == zh


def test_ordinal_words():
    assert ordinal_words(2, "en") == "second"
    assert ordinal_words(2, "zh-CN") == "第二"
    assert ordinal_words(11, "zh-CN") == "第十一"
