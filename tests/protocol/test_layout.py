"""Keypad layouts: geometry, tactile marks and colours, neighbour relations, serialisation."""

from __future__ import annotations

import itertools

import pytest

from protocol.errors import ConfigurationError
from protocol.layout import (
    CALCULATOR,
    DEFAULT_LAYOUT,
    DIGIT_KEY_NAMES,
    LAYOUT_NAMES,
    LAYOUTS,
    POS,
    TELEPHONE,
    Direction,
    Key,
    KeyColour,
    Layout,
    TactileMark,
    digit_of,
    get_layout,
    key_name,
)

ALL = [TELEPHONE, CALCULATOR, POS]


@pytest.mark.parametrize("layout", ALL, ids=lambda l: l.name)
def test_geometry_no_overlaps_inside_frame(layout):
    for key in layout:
        assert 0 <= key.x and key.right <= 999 and 0 <= key.y and key.bottom <= 999
        assert 1 <= key.width <= 1000 and 1 <= key.height <= 1000
    for a, b in itertools.combinations(layout.keys, 2):
        assert not a.overlaps(b), (a.name, b.name)


@pytest.mark.parametrize("layout", ALL, ids=lambda l: l.name)
def test_grid_matches_geometry(layout):
    # left-to-right in the grid is left-to-right on the pad; top-to-bottom likewise
    for a, b in itertools.combinations(layout.keys, 2):
        if a.row == b.row:
            assert (a.column < b.column) == (a.x < b.x)
            assert a.y == b.y
        if a.column == b.column:
            assert (a.row < b.row) == (a.y < b.y)
            assert a.x == b.x


@pytest.mark.parametrize("layout", ALL, ids=lambda l: l.name)
def test_every_layout_has_the_twelve_key_block_and_function_keys(layout):
    assert set(DIGIT_KEY_NAMES) <= set(layout.names)
    assert {"enter", "cancel", "clear", "backspace", "help"} <= set(layout.names)
    assert len(layout.digit_keys) == 10


@pytest.mark.parametrize("layout", ALL, ids=lambda l: l.name)
def test_marks_and_colours(layout):
    marks = {k.name: k.mark for k in layout if k.mark is not TactileMark.NONE}
    assert marks == {"five": TactileMark.DOT, "enter": TactileMark.CIRCLE,
                     "clear": TactileMark.LEFT_ARROW, "cancel": TactileMark.X}
    colours = {k.name: k.colour for k in layout if k.colour is not KeyColour.NONE}
    assert colours == {"enter": KeyColour.GREEN, "clear": KeyColour.YELLOW,
                       "cancel": KeyColour.RED}
    for key in layout.digit_keys:
        assert key.label == str(digit_of(key.name))


def test_telephone_positions_follow_the_public_simulator():
    t = TELEPHONE
    assert [k.name for k in t.row_keys(0)] == ["one", "two", "three", "cancel"]
    assert (t.key("one").x, t.key("one").y) == (287, 209)
    assert (t.key("two").x, t.key("three").x) == (377, 467)
    assert [t.key(n).y for n in ("one", "four", "seven", "zero")] == [209, 299, 389, 479]
    assert (t.key("zero").x, t.key("zero").y) == (377, 479)  # 0 in the middle of the bottom row
    assert {t.key(n).x for n in ("cancel", "clear", "enter")} == {577}
    assert all(k.width == 80 and k.height == 80 for k in t)
    assert t.key_at(290, 212).name == "one" and t.key_at(370, 212) is None


def test_telephone_function_column_ecbs():
    t = TELEPHONE
    assert t.right_of("three").name == "cancel"
    assert t.right_of("six").name == "clear"
    assert t.right_of("nine").name == "enter"
    assert t.column_keys(3)[-1].name == "enter"  # Enter last in the function column
    assert t.left_of("zero").name == "help" and t.right_of("zero").name == "backspace"
    assert t.below("enter") is None and t.right_of("backspace") is None


def test_calculator_has_seven_eight_nine_on_top():
    c = CALCULATOR
    assert [k.name for k in c.row_keys(0)][:3] == ["seven", "eight", "nine"]
    assert [k.name for k in c.row_keys(2)][:3] == ["one", "two", "three"]
    assert c.key("five").mark is TactileMark.DOT and c.key("five").row == 1
    assert c.right_of("three").name == "enter"
    assert c.below("two").name == "zero"


def test_pos_has_function_keys_in_a_bottom_row():
    p = POS
    assert p.columns == 3 and p.rows == 5
    assert [k.name for k in p.row_keys(4)] == ["cancel", "clear", "enter"]
    assert p.below("zero").name == "clear"
    assert p.right_of("nine") is None
    assert max(k.right for k in p) < min(k.x for k in p) + 300  # narrow


def test_neighbours_of_five():
    n = TELEPHONE.neighbours("five")
    assert {d: k.name for d, k in n.items()} == {
        Direction.LEFT: "four", Direction.RIGHT: "six", Direction.ABOVE: "two",
        Direction.BELOW: "eight"}
    assert TELEPHONE.neighbour("one", "left") is None
    assert TELEPHONE.neighbours("one").keys() == {Direction.RIGHT, Direction.BELOW}


def test_lookups_and_key_names():
    assert key_name("5") == "five" and key_name(" Enter ") == "enter"
    assert TELEPHONE.key("5") is TELEPHONE.key("five")
    assert "enter" in TELEPHONE and "fdk01" not in TELEPHONE
    assert TELEPHONE.get("fdk01") is None
    with pytest.raises(ConfigurationError, match="digit 0-9"):
        key_name("star")
    assert digit_of("zero") == 0 and digit_of("enter") is None


def test_get_layout():
    assert LAYOUT_NAMES == ("telephone", "calculator", "pos")
    assert get_layout("Calculator") is CALCULATOR
    assert LAYOUTS[DEFAULT_LAYOUT] is TELEPHONE
    with pytest.raises(ConfigurationError, match="telephone, calculator, pos"):
        get_layout("qwerty")


@pytest.mark.parametrize("layout", ALL, ids=lambda l: l.name)
def test_dict_round_trip(layout):
    again = Layout.from_dict(layout.to_dict())
    assert again == layout
    assert again.right_of("five") == layout.right_of("five")


def test_invalid_layouts_are_rejected():
    a = Key("one", "1", 0, 0, 80, 80, 0, 0)
    with pytest.raises(ConfigurationError, match="overlaps"):
        Layout("bad", (a, Key("two", "2", 40, 40, 80, 80, 0, 1)), 1, 2)
    with pytest.raises(ConfigurationError, match="frame"):
        Layout("bad", (Key("one", "1", 950, 0, 80, 80, 0, 0),), 1, 1)
    with pytest.raises(ConfigurationError, match="twice"):
        Layout("bad", (a, Key("one", "1", 100, 0, 80, 80, 0, 1)), 1, 2)
    with pytest.raises(ConfigurationError, match="taken"):
        Layout("bad", (a, Key("two", "2", 100, 0, 80, 80, 0, 0)), 1, 2)
    with pytest.raises(ConfigurationError, match="grid"):
        Layout("bad", (Key("two", "2", 100, 0, 80, 80, 0, 5),), 1, 2)
    with pytest.raises(ConfigurationError, match="not a valid"):
        Layout.from_dict({"name": "x", "rows": 1, "columns": 1, "keys": [{"name": "one"}]})
    with pytest.raises(ConfigurationError, match="not a valid"):
        Key.from_dict({"name": "one", "label": "1", "x": 0, "y": 0, "width": 1, "height": 1,
                       "row": 0, "column": 0, "mark": "star"})
