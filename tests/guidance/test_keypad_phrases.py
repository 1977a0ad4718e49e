"""Keypad phrases are computed from the layout and every spatial claim is true.

The property test builds random LEGAL layouts (unique cells, rectangles inside their grid cells
so that they never overlap and agree with the grid, all ten digits, any subset of the function
keys, any marks and colours) and checks every claim of every phrase against the COORDINATES,
with a checker written here independently of drivers.guidance.keypad (rows and columns are
found from overlapping rectangles, neighbours from the 0..999 positions, not from the grid).

Claims (``Claim.relation``):

==================  ====================================================================
right_of / left_of  subject is directly right / left of anchor (same band, nothing between)
above / below       subject is directly above / below anchor
above_left ...      subject is the diagonal neighbour (adjacent row and column) of anchor
row_left_end ...    subject's place in its row: left end, right end, alone, middle,
row_nth_left/right  n-th from the left / right end
in_row              (ordinal, rows): subject is in the ordinal-th row from the top of rows
digits_centre       subject has a digit directly on each of its four sides
has_mark/colour     the key's mark / colour
key_count/row_count number of keys / of rows
digit_columns       the digits occupy that many columns
left_of_all ...     every subject key is left of / right of / below / above every anchor key
same_row/column     the subject keys share one row / column
row_contents        the ordinal-th row holds exactly the subject keys, left to right
top_digit_row       the top row of digits is the subject keys, left to right
move                (direction, n): n steps from anchor in direction reach subject
==================  ====================================================================
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pytest

from drivers.guidance.keypad import (
    Claim,
    KeypadPhrases,
    Phrase,
    anchor_key,
    pad_description,
)
from protocol.errors import ConfigurationError
from protocol.layout import (
    CALCULATOR,
    DIGIT_KEY_NAMES,
    FUNCTION_KEY_NAMES,
    POS,
    TELEPHONE,
    Key,
    KeyColour,
    Layout,
    TactileMark,
)

LANGS = ("en", "zh-CN")


# -- an independent checker, from the coordinates only --------------------------------------------
def _groups(keys: list[Key], lo, hi) -> list[list[Key]]:
    """Keys whose [lo, hi] intervals overlap (transitively), ordered by position."""
    keys = sorted(keys, key=lo)
    groups: list[list[Key]] = []
    end = None
    for k in keys:
        if groups and lo(k) <= end:
            groups[-1].append(k)
            end = max(end, hi(k))
        else:
            groups.append([k])
            end = hi(k)
    return groups


class Geometry:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        keys = list(layout.keys)
        self.rows = _groups(keys, lambda k: k.y, lambda k: k.bottom)
        self.columns = _groups(keys, lambda k: k.x, lambda k: k.right)
        for row in self.rows:
            row.sort(key=lambda k: k.x)

    def k(self, name: str) -> Key:
        return self.layout.key(name)

    def row_of(self, key: Key) -> int:
        return next(i for i, r in enumerate(self.rows) if key in r)

    def column_of(self, key: Key) -> int:
        return next(i for i, c in enumerate(self.columns) if key in c)

    def adjacent(self, key: Key, direction: str) -> Key | None:
        """The nearest key in ``direction`` sharing key's band."""
        if direction in ("right", "left"):
            band = [o for o in self.layout.keys if o is not key and o.y <= key.bottom
                    and key.y <= o.bottom]
            if direction == "right":
                cands = [o for o in band if o.x > key.right]
                return min(cands, key=lambda o: o.x, default=None)
            cands = [o for o in band if o.right < key.x]
            return max(cands, key=lambda o: o.right, default=None)
        band = [o for o in self.layout.keys if o is not key and o.x <= key.right
                and key.x <= o.right]
        if direction == "below":
            cands = [o for o in band if o.y > key.bottom]
            return min(cands, key=lambda o: o.y, default=None)
        cands = [o for o in band if o.bottom < key.y]
        return max(cands, key=lambda o: o.bottom, default=None)

    def check(self, claim: Claim) -> None:
        r = claim.relation
        s = [self.k(n) for n in claim.subject]
        a = [self.k(n) for n in claim.anchor]
        what = f"{claim} on {self.layout.to_dict()}"
        side = {"right_of": "left", "left_of": "right", "above": "below", "below": "above"}
        if r in side:   # subject right_of anchor <=> the anchor's right neighbour is subject
            assert self.adjacent(a[0], {"left": "right", "right": "left", "below": "above",
                                        "above": "below"}[side[r]]) == s[0], what
            return
        if r in ("above_left", "above_right", "below_left", "below_right"):
            dr = -1 if r.startswith("above") else 1
            dc = -1 if r.endswith("left") else 1
            assert self.row_of(s[0]) - self.row_of(a[0]) == dr, what
            assert self.column_of(s[0]) - self.column_of(a[0]) == dc, what
            assert (s[0].bottom < a[0].y) if dr < 0 else (s[0].y > a[0].bottom), what
            assert (s[0].right < a[0].x) if dc < 0 else (s[0].x > a[0].right), what
            return
        if r.startswith("row_") and r != "row_count" and r != "row_contents":
            row = self.rows[self.row_of(s[0])]
            i = row.index(s[0])
            expected = {"row_left_end": i == 0 and len(row) > 1,
                        "row_right_end": i == len(row) - 1 and len(row) > 1,
                        "row_alone": len(row) == 1,
                        "row_middle": len(row) % 2 == 1 and i == len(row) // 2,
                        "row_nth_left": i + 1 == claim.value,
                        "row_nth_right": len(row) - i == claim.value}[r]
            assert expected, what
            return
        if r == "in_row":
            ordinal, total = claim.value
            assert total == len(self.rows), what
            for key in s:
                assert self.row_of(key) + 1 == ordinal, what
            return
        if r == "digits_centre":
            for d in ("left", "right", "above", "below"):
                n = self.adjacent(s[0], d)
                assert n is not None and n.is_digit, what
            return
        if r == "has_mark":
            assert s[0].mark.value == claim.value, what
            return
        if r == "has_colour":
            assert s[0].colour.value == claim.value, what
            return
        if r == "key_count":
            assert len(self.layout) == claim.value, what
            return
        if r == "row_count":
            assert len(self.rows) == claim.value, what
            return
        if r == "digit_columns":
            assert len({self.column_of(k) for k in self.layout.digit_keys}) == claim.value, what
            return
        if r == "left_of_all":
            assert max(k.right for k in s) < min(k.x for k in a), what
            return
        if r == "right_of_all":
            assert min(k.x for k in s) > max(k.right for k in a), what
            return
        if r == "below_all":
            assert min(k.y for k in s) > max(k.bottom for k in a), what
            return
        if r == "above_all":
            assert max(k.bottom for k in s) < min(k.y for k in a), what
            return
        if r == "same_row":
            assert len({self.row_of(k) for k in s}) == 1, what
            return
        if r == "same_column":
            assert len({self.column_of(k) for k in s}) == 1, what
            return
        if r == "row_contents":
            assert self.rows[claim.value - 1] == s, what
            return
        if r == "top_digit_row":
            top = min(self.row_of(k) for k in self.layout.digit_keys)
            assert [k for k in self.rows[top] if k.is_digit] == s, what
            return
        if r == "move":
            direction, count = claim.value
            here = a[0]
            for _ in range(count):
                here = self.adjacent(here, direction)
                assert here is not None, what
            assert here == s[0], what
            return
        raise AssertionError(f"a claim this test does not know: {claim}")


def check_phrase(layout: Layout, phrase: Phrase) -> int:
    """Check every claim of a phrase; returns how many there were."""
    geometry = Geometry(layout)
    builder = KeypadPhrases(layout, phrase.lang)
    n = 0
    for part in phrase.walk():
        assert part.text.strip(), part
        assert "{" not in part.text and "}" not in part.text, part.text
        for claim in part.claims:
            geometry.check(claim)
            n += 1
            if claim.relation in ("right_of", "left_of", "above", "below", "above_left",
                                  "above_right", "below_left", "below_right"):
                # the key named in the words is the key of the claim
                assert part.values["anchor"] == builder.name(claim.anchor[0]), part
            if claim.relation == "in_row" and part.msgid.startswith("keypad.at.row"):
                ordinal, total = claim.value
                if phrase.lang == "en":
                    want = ("the top row" if ordinal == 1 and total > 1 else
                            "the bottom row" if ordinal == total and total > 1 else None)
                    if want:
                        assert part.values["row"] == want, part
                    else:
                        assert part.values["row"].startswith("the ") and \
                            part.values["row"].endswith(" row"), part
    return n


# -- random legal layouts -------------------------------------------------------------------------
@st.composite
def layouts(draw) -> Layout:
    functions = draw(st.lists(st.sampled_from(FUNCTION_KEY_NAMES), unique=True, max_size=5))
    # extra keys a pad may have (XFS4IoT names the guide knows no word for: named by label)
    functions += draw(st.lists(st.sampled_from(["fdk01", "fdk02", "decPoint"]), unique=True,
                               max_size=2))
    names = list(DIGIT_KEY_NAMES) + functions
    rows = draw(st.integers(1, 7))
    min_cols = -(-len(names) // rows)
    columns = draw(st.integers(max(1, min_cols), max(min_cols, 8)))
    if rows * columns < len(names) or columns > 15:
        columns = min_cols
    cells = draw(st.permutations([(r, c) for r in range(rows) for c in range(columns)]))
    cell_w = 999 // columns
    cell_h = 999 // rows
    marks = list(TactileMark)
    colours = list(KeyColour)
    keys = []
    for name, (r, c) in zip(names, cells):
        # inside the cell with a margin, big enough that every key of a row (column) crosses
        # the row's (column's) centre line: rows and columns are then unambiguous
        w = draw(st.integers(max(1, (cell_w * 6) // 10), max(1, cell_w - 2)))
        h = draw(st.integers(max(1, (cell_h * 6) // 10), max(1, cell_h - 2)))
        ox = draw(st.integers(0, max(0, cell_w - 2 - w)))
        oy = draw(st.integers(0, max(0, cell_h - 2 - h)))
        if name == "five":
            mark = draw(st.sampled_from([TactileMark.DOT, TactileMark.DOT, TactileMark.NONE]))
        else:
            mark = draw(st.sampled_from(marks))
        colour = draw(st.sampled_from(colours))
        label = str(DIGIT_KEY_NAMES.index(name)) if name in DIGIT_KEY_NAMES else \
            name.upper() if name.startswith("fdk") else name.title()
        keys.append(Key(name, label, c * cell_w + ox, r * cell_h + oy, w, h, r, c, mark,
                        colour))
    return Layout("random", tuple(keys), rows=rows, columns=columns)


def _all_phrases(layout: Layout, lang: str, spatial: str) -> list[Phrase]:
    b = KeypadPhrases(layout, lang, spatial=spatial)
    out = list(b.describe())
    for key in layout.keys:
        out.append(b.where(key.name))
        out.append(b.key(key))
        out.append(b.explore_addition(key))
        out.append(b.guide(key.name))
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=layouts(), lang=st.sampled_from(LANGS),
       spatial=st.sampled_from(["full", "brief"]))
def test_every_claim_of_every_phrase_is_true_on_random_layouts(layout, lang, spatial):
    claims = 0
    for phrase in _all_phrases(layout, lang, spatial):
        claims += check_phrase(layout, phrase)
    assert claims > 0
    # the shape names every function key (extra keys by their label), and "guide to X" walks
    # from the anchor to X
    b = KeypadPhrases(layout, lang, spatial=spatial)
    shape = b.shape().text
    for key in layout.function_keys:
        assert b.name(key) in shape
    start = anchor_key(layout)
    for key in layout.keys:
        moves = [c for c in b.guide(key.name).all_claims() if c.relation == "move"]
        if moves:
            assert moves[0].anchor == (start.name,)
            assert moves[-1].subject == (key.name,)
            for before, after in zip(moves, moves[1:]):
                assert after.anchor == before.subject


@settings(max_examples=40, deadline=None)
@given(layout=layouts())
def test_brief_says_less_than_full(layout):
    full = KeypadPhrases(layout, "en", spatial="full")
    brief = KeypadPhrases(layout, "en", spatial="brief")
    for key in layout.keys:
        f = [c for c in full.where(key.name).all_claims() if c.anchor]
        b = [c for c in brief.where(key.name).all_claims() if c.anchor]
        assert len(b) <= 1 and len(b) <= len(f)
    assert len(brief.describe()) <= len(full.describe())


# -- the built-in layouts, for content -------------------------------------------------------------
def _texts(layout, lang, spatial="full"):
    return [p.text for p in KeypadPhrases(layout, lang, spatial=spatial).describe()]


@pytest.mark.parametrize("layout", [TELEPHONE, CALCULATOR, POS], ids=lambda l: l.name)
@pytest.mark.parametrize("lang", LANGS)
def test_builtin_layout_claims_hold(layout, lang):
    for phrase in _all_phrases(layout, lang, "full"):
        check_phrase(layout, phrase)


def test_telephone_in_english():
    b = KeypadPhrases(TELEPHONE, "en")
    shape = b.shape().text
    assert shape.startswith("This keypad has fifteen keys in four rows; ")
    assert "the digits are in three columns on the left" in shape
    assert "Cancel, Clear and Enter are in a column on the right" in shape
    assert "Help and Backspace are in the bottom row, with 0" in shape
    assert "as on a telephone: 1, 2, 3 along the top" in b.top_digits().text
    five = b.five().text
    assert "in the centre of the digits" in five and "raised dot" in five
    enter = b.key("enter").text
    assert enter.startswith("Enter, the green key with a raised circle, at the right end of "
                            "the third row, right of 9")
    assert "Cancel, the red key with a raised X, at the right end of the top row, right of 3" \
        in b.key("cancel").text
    assert "yellow key with a raised arrow pointing left" in b.key("clear").text
    assert b.where("0").text.startswith("0 is in the middle of the bottom row, below 8")
    assert "below and to the left of 5" in b.where("7").text
    assert b.where("help").text.startswith("Help is at the left end of the bottom row, left of 0")
    guide = b.guide("enter")
    assert guide.text.startswith("Put a finger on 5, the key with the raised dot. Then move ")
    assert guide.text.endswith("Enter is the green key with a raised circle.")
    assert "the third row has 7, 8, 9 and Enter" in b.rows().text


def test_telephone_in_mandarin_for_the_ear():
    b = KeypadPhrases(TELEPHONE, "zh-CN")
    shape = b.shape().text
    assert shape.startswith("这个键盘共有十五个键，分成四排；")
    assert "数字键在左边，共三列" in shape
    assert "取消键、更正键和确认键在右边，竖着排成一列" in shape
    assert "帮助键和退格键在最下面一排" in shape
    enter = b.key("enter").text
    assert enter == ("确认键是绿色的键，上面有凸起的圆圈，在第三排最右边，数字九的右边，"
                     "更正键的下面。")
    assert "数字五在数字键的正中间，上面有一个凸点" in b.five().text
    assert "向右移两个键" in b.guide("enter").text
    seven = b.where("7").text
    assert "第三排最左边" in seven and "数字五的左下方" in seven
    for text in _texts(TELEPHONE, "zh-CN") + [b.guide(k.name).text for k in TELEPHONE.keys]:
        assert "行" not in text           # rows are 排 for the ear
        assert not any(ch.isdigit() for ch in text), text   # numbers as words


def test_calculator_in_both_languages():
    en = KeypadPhrases(CALCULATOR, "en")
    assert "as on a calculator: 7, 8, 9 along the top" in en.top_digits().text
    assert "at the right end of the third row, right of 3" in en.key("enter").text
    assert "the top row has 7, 8, 9 and Cancel" in en.rows().text
    assert "at the left end of the top row, above and to the left of 5" in en.where("7").text
    zh = KeypadPhrases(CALCULATOR, "zh-CN")
    assert "和计算器一样：最上面一排是七、八、九" in zh.top_digits().text
    assert "在第三排最右边，数字三的右边" in zh.key("enter").text
    assert "数字七在最上面一排最左边" in zh.where("7").text


def test_pos_in_both_languages():
    en = KeypadPhrases(POS, "en")
    shape = en.shape().text
    assert "fifteen keys in five rows" in shape
    assert "Cancel, Clear and Enter are in a row below the digits" in shape
    assert "on the left" not in shape           # nothing is beside the digits
    assert "at the right end of the bottom row, right of Clear" in en.key("enter").text
    assert "in the middle of the bottom row, below 0" in en.key("clear").text
    zh = KeypadPhrases(POS, "zh-CN")
    assert "取消键、更正键和确认键在数字键下面，横着排成一排" in zh.shape().text
    assert "在最下面一排最右边" in zh.key("enter").text
    assert "向下移三个键，到更正键" in zh.guide("enter").text


def _layout(rows: list[list[str | None]], marks: dict[str, TactileMark] | None = None) -> Layout:
    marks = {"five": TactileMark.DOT, **(marks or {})}
    keys = []
    for r, row in enumerate(rows):
        for c, name in enumerate(row):
            if name is None:
                continue
            keys.append(Key(name, name, 50 + c * 100, 50 + r * 100, 80, 80, r, c,
                            marks.get(name, TactileMark.NONE)))
    return Layout("custom", tuple(keys), rows=len(rows), columns=max(map(len, rows)))


def test_unusual_layouts_are_described_truthfully():
    # function keys on the left, a gap, no Help or Backspace, a 4x4 grid
    layout = _layout([["cancel", "one", "two", "three"],
                      ["clear", "four", "five", "six"],
                      ["enter", "seven", "eight", "nine"],
                      [None, None, "zero", None]])
    en = KeypadPhrases(layout, "en")
    shape = en.shape().text
    assert "the digits are in three columns on the right" in shape
    assert "Cancel, Clear and Enter are in a column on the left" in shape
    assert "Help" not in shape
    assert en.where("help").text == "This keypad has no Help key."
    assert KeypadPhrases(layout, "zh-CN").where("help").text == "这个键盘上没有帮助键。"
    assert "alone in the bottom row, below 8" in en.where("0").text
    for phrase in _all_phrases(layout, "en", "full"):
        check_phrase(layout, phrase)


def test_a_pad_without_the_dot_says_so_and_guides_from_a_corner():
    layout = _layout([["one", "two", "three"], ["four", "five", "six"],
                      ["seven", "eight", "nine"], ["enter", "zero", "cancel"]],
                     marks={"five": TactileMark.NONE})
    en = KeypadPhrases(layout, "en")
    assert "has no raised dot" in en.five().text
    guide = en.guide("enter").text
    assert guide.startswith("Put a finger on 1, at the left end of the top row.")
    assert "raised dot" not in guide
    for phrase in _all_phrases(layout, "zh-CN", "full"):
        check_phrase(layout, phrase)


def test_grid_that_disagrees_with_the_coordinates_is_not_trusted():
    # the grid says Enter is right of 9, but its rectangle is far below: no "right of 9"
    keys = [k for k in TELEPHONE.keys if k.name != "enter"]
    enter = TELEPHONE.key("enter")
    moved = Key("enter", "Enter", enter.x, 900, 80, 80, enter.row, enter.column, enter.mark,
                enter.colour)
    layout = Layout("odd", tuple(keys) + (moved,), rows=4, columns=4)
    claims = KeypadPhrases(layout, "en").key("enter").all_claims()
    assert not any(c.relation == "right_of" and c.anchor == ("nine",) for c in claims)


def test_where_is_accepts_digit_tokens_and_refuses_unknown_keys():
    b = KeypadPhrases(TELEPHONE, "en")
    assert b.where("5").text == b.where("five").text
    with pytest.raises(ConfigurationError, match="unknown key"):
        b.where("escape")
    with pytest.raises(ConfigurationError, match="spatial"):
        KeypadPhrases(TELEPHONE, "en", spatial="medium")


def test_pad_description_follows_spec_9_1():
    assert pad_description(TELEPHONE.key("five"), "en") == \
        "five, row 2, column 2, with a raised dot"
    assert pad_description(TELEPHONE.key("enter"), "zh-CN") == \
        "确认，第三排第四个，绿色，有凸起的圆圈。"
    assert pad_description(TELEPHONE.key("enter"), "en") == \
        "Enter, row 3, column 4, green, with a raised circle"
