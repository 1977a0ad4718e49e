"""Reading terms aloud (Guide.read_terms, drivers.guidance.coaching.TermsReader): parts within
the pad's Speak limit, Help / Backspace repeats, any key pauses, Cancel, Enter ("I have heard
it"), the time limit, and large-text paging for a customer who cannot hear it."""

from __future__ import annotations

import re

import pytest

from coaching_rig import counter
from drivers.guidance import messages
from drivers.guidance.coaching import TERMS_TEXT_ID, speech_parts
from protocol.tpp.display import fits, paginate, read_page, read_pages
from hypothesis import given, settings, strategies as st
from protocol.tpp.codes import HAPTIC_PATTERNS as _PATTERNS

EN_TERMS = (
    "The bank will replace your debit card within seven working days. The new card has a new "
    "number and the same PIN. Your old card stops working when you first use the new one. "
    "A fee of ten yuan is taken from your account. You can withdraw this request at any "
    "branch before the new card is sent to you. Lost or stolen cards must be reported at once."
)
ZH_TERMS = (
    "银行将在七个工作日内为您更换借记卡。新卡的卡号会改变，密码不变。您第一次使用新卡后，旧卡就不能再用。"
    "本次换卡收取手续费十元，从您的账户中扣除。新卡寄出之前，您可以在任何网点撤回这项申请。"
    "银行卡丢失或被盗，请立即挂失。"
)
EN_MORE = (
    "Interest on an overdraft is charged daily at the rate shown in the branch. Statements "
    "are sent every month by post or to the bank's app, as you choose. If you disagree with "
    "a charge, tell us within sixty days and we will look into it. These terms follow the "
    "law of the People's Republic of China."
)
EN_LONG = EN_TERMS + " " + EN_MORE
END = {"en": "That is the end of the terms.", "zh-CN": "条款读完了。"}


def _say(text_start):
    return lambda e: e.get("event") == "say" and e["text"].startswith(text_start)


def _said_parts(c):
    return [e["text"] for e in c.events("say") if e.get("source") == "host"]


# -- parts and pages -------------------------------------------------------------------------
def test_long_text_is_cut_into_sentences_within_the_speak_limit():
    long_text = " ".join([EN_TERMS] * 6)
    parts = speech_parts(long_text)
    assert len(parts) > 3
    assert all(len(p.encode()) <= 900 for p in parts)
    assert all(p.endswith(".") for p in parts)                   # whole sentences only
    assert " ".join(parts) == " ".join(long_text.split())
    zh_parts = speech_parts(ZH_TERMS * 5)
    assert all(len(p.encode()) <= 900 and p.endswith("。") for p in zh_parts)
    assert "".join(zh_parts) == ZH_TERMS * 5
    # one sentence longer than the limit is cut at a clause mark, still within it
    monster = "，".join(["本条款适用于所有借记卡持卡人"] * 80) + "。"
    cut = speech_parts(monster)
    assert len(cut) > 1 and all(len(p.encode()) <= 900 for p in cut)
    assert all(p.endswith("，") for p in cut[:-1]) and "".join(cut) == monster


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab 。.!，银行卡") + ["\n"]), min_size=1,
               max_size=3000))
def test_parts_keep_every_character_and_fit(text):
    parts = speech_parts(text)
    assert all(len(p.encode()) <= 900 for p in parts)
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    assert squash("".join(parts)) == squash(text)


@pytest.mark.parametrize("columns, rows", [(10, 2), (20, 4), (40, 8)])
@pytest.mark.parametrize("large", [False, True])
def test_display_pages_fit_and_keep_whole_words(columns, rows, large):
    for text in (EN_TERMS, ZH_TERMS, "Supercalifragilisticexpialidocious " * 3):
        pages = paginate(text, columns, rows, large)
        assert all(fits(p, columns, rows, large) for p in pages)
        squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
        assert squash(read_pages(pages)[-1]) == squash(text)      # read back, whole
        if len(pages) > 1:
            assert [read_page(p)[1:] for p in pages] == [(i, len(pages))
                                                         for i in range(1, len(pages) + 1)]


def test_mandarin_pages_split_no_word_and_start_no_line_with_punctuation():
    text = "换卡不收取手续费，新卡可以在自动柜员机上使用。"
    for large in (False, True):
        lines = [line for p in paginate(text, 20, 4, large) for line in p.split("\n")
                 if not re.fullmatch(r"\d+/\d+", line)]
        for word in ("手续费", "自动柜员机"):
            assert any(word in line for line in lines), (word, lines)
        assert not any(line[0] in "，。" for line in lines)


# -- spoken ----------------------------------------------------------------------------------
@pytest.mark.parametrize("lang, text", [("en", EN_TERMS), ("zh-CN", ZH_TERMS)])
def test_heard_to_the_end_then_enter(lang, text):
    with counter(lang, "blind", reader=False) as c:
        c.on_pad(_say(END[lang]), "press enter")
        title = "换卡条款" if lang == "zh-CN" else "the card terms"
        result = c.guide.read_terms(text, title=title)
        assert result.outcome == "heard" and result.completed and result.acknowledged
        parts = speech_parts(text)
        assert (result.mode, result.parts, result.reached, result.lang) == \
            ("spoken", len(parts), len(parts), lang)
        said = _said_parts(c)
        # the introduction, every part in order, the end, the thanks
        assert said[1:1 + len(parts)] == parts
        assert title in said[0]
        assert said[1 + len(parts)].startswith(END[lang])
        assert said[-1] == messages(lang).text("fingerprint.terms.heard")
        assert {e["lang"] for e in c.events("say")} == {lang}
        # the teller saw the whole text at once
        assert any(text in line for line in c.guide.feed.lines if line.startswith("[teller]"))
        ids = c.guide.transcript.msgids()
        assert ids.count(TERMS_TEXT_ID) == len(parts)
        import hashlib
        assert result.sha256 == hashlib.sha256(text.encode()).hexdigest()


def test_help_repeats_the_current_part():
    text = EN_LONG
    parts = speech_parts(text)
    assert len(parts) >= 2 and parts[0] != parts[1]
    with counter("en", "blind", reader=False) as c:
        c.on_pad(_say(parts[1][:40]), "press help")          # once, as part 2 starts
        c.on_pad(_say(END["en"]), "press enter")
        result = c.guide.read_terms(text)
        assert result.outcome == "heard" and result.repeats == 1
        said = _said_parts(c)
        assert said.count(parts[1]) == 2 and said.count(parts[0]) == 1
        first = said.index(parts[1])
        assert said[first + 1] == parts[1]                    # again, from its beginning
        stopped = {e["reason"] for e in c.events("say-stopped")}
        assert "key" in stopped                               # the key cut the speech


def test_cancel_stops_the_reading():
    parts = speech_parts(EN_LONG)
    with counter("en", "standard", reader=False) as c:
        c.on_pad(_say(parts[1][:40]), "press cancel")
        result = c.guide.read_terms(EN_LONG)
        assert (result.outcome, result.completed, result.reached) == ("cancelled", False, 1)
        said = _said_parts(c)
        assert not any(t.startswith(END["en"]) for t in said)
        assert said[-1] == "The reading is stopped."
        assert "[teller] The customer cancelled the reading at part 2 of " \
            f"{len(parts)}." in c.guide.feed.lines


def test_enter_before_the_end_asks_and_a_second_enter_skips_the_rest():
    with counter("zh-CN", "elderly", reader=False) as c:
        parts = speech_parts(ZH_TERMS)
        ask = messages("zh-CN").text("fingerprint.terms.skip_confirm")
        c.on_pad(_say(parts[0][:10]), "press enter")
        c.on_pad(_say(ask[:10]), "press enter")                     # yes, skip the rest
        c.guide._headset_offered = True                              # tested elsewhere
        result = c.guide.read_terms(ZH_TERMS)
        assert (result.outcome, result.completed, result.acknowledged, result.skip_confirmed) \
            == ("skipped", False, False, True)
        said = _said_parts(c)
        assert ask in said and said[-1] == messages("zh-CN").text("fingerprint.terms.skipped")
        assert {e["rate"] for e in c.events("say")} == {0.8}        # the elderly pace


def test_enter_before_the_end_then_help_goes_on_reading():
    with counter("en", "standard", reader=False) as c:
        parts = speech_parts(EN_LONG)
        ask = messages("en").text("fingerprint.terms.skip_confirm")
        c.on_pad(_say(parts[0][:30]), "press enter")
        c.on_pad(_say(ask[:20]), "press help")                      # no: keep listening
        c.on_pad(_say(END["en"]), "press enter")
        result = c.guide.read_terms(EN_LONG)
        assert (result.outcome, result.acknowledged, result.skip_confirmed) == \
            ("heard", True, False)


def test_a_digit_key_pauses_and_no_key_then_ends_with_a_warning_first():
    with counter("en", "blind", reader=False) as c:
        parts = speech_parts(EN_TERMS)
        c.on_pad(_say(parts[0][:40]), "press 5")             # digits are never reported...
        result = c.guide.read_terms(EN_TERMS, wait=0.6)
        assert result.outcome == "timeout" and result.reached == 0
        said = _said_parts(c)
        paused = said.index(messages("en").text("fingerprint.terms.paused"))  # ...but pause
        warned = said.index(messages("en").text("fingerprint.terms.still_there"))
        assert paused < warned < len(said) - 1
        assert said[-1] == messages("en").text("fingerprint.terms.timeout")


def test_help_after_a_pause_goes_on_from_the_same_part():
    with counter("en", "blind", reader=False) as c:
        parts = speech_parts(EN_TERMS)
        paused = messages("en").text("fingerprint.terms.paused")
        c.on_pad(_say(parts[0][:40]), "press 5")
        c.on_pad(_say(paused), "press help")
        c.on_pad(_say(END["en"]), "press enter")
        result = c.guide.read_terms(EN_TERMS)
        assert result.outcome == "heard" and result.repeats == 1
        said = _said_parts(c)
        assert said[said.index(paused) + 1] == parts[0]


def test_heard_to_the_end_without_enter_is_heard_but_not_acknowledged():
    with counter("en", "standard", reader=False) as c:
        result = c.guide.read_terms("Short terms. Two sentences.", wait=0.6)
        assert (result.outcome, result.acknowledged) == ("heard", False)
        assert "[teller] The customer heard the terms to the end but did not press Enter." \
            in c.guide.feed.lines


# -- shown (deaf) ----------------------------------------------------------------------------
def test_deaf_customer_pages_through_large_text():
    with counter("en", "deaf", reader=False) as c:
        info = c.pad.info()
        pages = paginate(EN_TERMS, info.display_columns, info.display_rows, True)
        n = len(pages)
        # the customer reads each page and presses Enter; goes back once from page 3
        c.on_pad(lambda e: e.get("event") == "display", "press enter", times=10 * n)
        c.on_pad(lambda e: e.get("event") == "display" and e["text"] == pages[2],
                 "press backspace")
        result = c.guide.read_terms(EN_TERMS)
        assert (result.outcome, result.mode, result.parts, result.reached) == \
            ("read", "shown", n, n)
        assert result.completed and result.acknowledged and result.repeats >= 1
        assert c.events("say") == [] and c.events("tone") == []     # nothing to hear
        displays = c.events("display")
        assert all(e["large"] for e in displays)
        assert all(fits(e["text"], info.display_columns, info.display_rows, True)
                   for e in displays)
        texts = [e["text"] for e in displays]
        assert read_pages(texts)[0].startswith("Please read the terms.")
        for page in pages:                                           # each page exactly
            assert page in texts
        assert read_pages(texts)[-1] == "Thank you. You have read the terms."
        assert any(EN_TERMS in line for line in c.guide.feed.lines if line.startswith("[teller]"))
        assert c.felt()                                              # a pulse per page


def test_a_reminder_on_a_page_is_felt_and_does_not_cover_it():
    with counter("en", "deaf", reader=False) as c:
        info = c.pad.info()
        pages = paginate(EN_TERMS, info.display_columns, info.display_rows, True)
        c.on_pad(lambda e: e.get("event") == "display" and
                 read_page(e["text"])[0].startswith("Please read"), "press enter")
        result = c.guide.read_terms(EN_TERMS, wait=1.0)             # then nobody turns a page
        assert result.outcome == "timeout"
        texts = [e["text"] for e in c.events("display")]
        assert texts[-1] == pages[0]                                 # still on the display
        assert "warning" in [name for name, p in _PATTERNS.items()
                             if list(p) in c.felt()]
        assert any(line.startswith("[teller] The customer has not turned the page")
                   for line in c.guide.feed.lines)


def test_deaf_customer_cancels_on_a_page():
    with counter("zh-CN", "deaf", reader=False) as c:
        c.on_pad(lambda e: e.get("event") == "display" and read_page(e["text"])[1:] == (1, len(
            paginate(ZH_TERMS, 20, 4, True))) and "银行" in e["text"], "press cancel")
        c.on_pad(lambda e: e.get("event") == "display" and
                 read_page(e["text"])[0].startswith("请阅读"), "press enter")
        result = c.guide.read_terms(ZH_TERMS)
        assert (result.outcome, result.mode) == ("cancelled", "shown")
        assert c.shown()[-1] == "您已经停止阅读条款。"


def test_empty_terms_are_refused():
    from drivers.guidance import Announcer, TranscriptRecorder, profile
    from drivers.guidance.coaching import TermsReader
    from protocol.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="empty"):
        TermsReader(None, Announcer([TranscriptRecorder()], "en"), profile("blind"), "   ")
