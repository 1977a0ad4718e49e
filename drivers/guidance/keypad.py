"""Phrases that explain a keypad, computed from the layout the pad reports (never per model).

Everything here is pure: a :class:`~protocol.layout.Layout` (keys, 0..999 rectangles, grid
cells, tactile marks, colours) and a language in, :class:`Phrase` objects out.  A phrase carries
its catalogue ``msgid``, the ``values`` that filled it, the rendered ``text`` and the spatial
``claims`` it makes ("Enter is right of 9", "Enter is at the right end of the third row"), so a
test can check every claim against the coordinates, whatever layout a pad reports.

How relations are chosen (the staff member's method in our branch story: start from what the
hand can find):

* neighbours come from the key grid (:meth:`Layout.neighbour`) and are used only when the
  rectangles agree (the neighbour really lies on that side and overlaps the key's band), so a
  pad whose grid and coordinates disagree never makes us say something false;
* anchors are ranked by how easily a hand finds them: the key with the raised dot (normally 5),
  then digits, then keys with a raised mark, then the rest;
* a key's place in its row is told from the row's ends ("at the right end of the third row",
  "second from the left", "in the middle"), rows counted from the top as the hand meets them
  (rows with no key do not count; the pad's own SPEC 9.1 descriptions count grid rows);
* "guide to X" is the shortest walk over neighbouring keys from the dot key (or, with no dot, the
  left end of the top row), with as few turns as possible.

The pad names keys itself in explore mode (TPP SPEC 9.1); :func:`pad_description` renders that
template so the teller's feed can show what the pad said.  What the host adds
(:func:`explore_addition`) is what the pad cannot know: the place relative to landmarks and what
the key does.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from protocol.errors import ConfigurationError
from protocol.layout import (
    Direction,
    Key,
    KeyColour,
    Layout,
    TactileMark,
    digit_of,
    key_name,
)
from protocol.tpp.prompts import describe_key as describe_pad_key

from drivers.guidance.catalog import messages, normalise_lang, number_words, ordinal_words

__all__ = [
    "Claim",
    "Phrase",
    "KeypadPhrases",
    "describe_shape",
    "describe_five",
    "describe_key",
    "describe_rows",
    "where_is",
    "guide_to",
    "explore_addition",
    "describe_keypad",
    "pad_description",
    "anchor_key",
]

#: relations between two keys whose claim names the subject's side of the anchor
_SIDE = {Direction.RIGHT: "right_of", Direction.LEFT: "left_of", Direction.ABOVE: "above",
         Direction.BELOW: "below"}
_DIAGONALS = {(-1, -1): "above_left", (-1, 1): "above_right", (1, -1): "below_left",
              (1, 1): "below_right"}
_MOVE_WORD = {Direction.RIGHT: "keypad.dir.right", Direction.LEFT: "keypad.dir.left",
              Direction.ABOVE: "keypad.dir.up", Direction.BELOW: "keypad.dir.down"}
#: punctuation joining fragments: list items, clauses of a sentence, parts of a place
_PUNCTUATION = {"en": {"list": ", ", "clause": "; ", "part": ", "},
                "zh-CN": {"list": "、", "clause": "；", "part": "，"}}
_FUNCTION_ORDER = ("cancel", "clear", "enter", "backspace", "help")


@dataclass(frozen=True, slots=True)
class Claim:
    """One spatial statement a phrase makes, in terms a test can check on the coordinates.

    ``relation``: what is claimed (see the table in tests/guidance/test_keypad_phrases.py);
    ``subject``: the key name(s) it is about; ``anchor``: the key name(s) it is relative to;
    ``value``: a number, a direction or a mark, as the relation needs."""

    relation: str
    subject: tuple[str, ...]
    anchor: tuple[str, ...] = ()
    value: Any = None


@dataclass(frozen=True, slots=True)
class Phrase:
    """A message with its values, rendered text, claims and the fragments it was built from."""

    msgid: str
    values: Mapping[str, Any]
    text: str
    lang: str
    count: int | None = None
    claims: tuple[Claim, ...] = ()
    parts: tuple["Phrase", ...] = ()

    def __str__(self) -> str:
        return self.text

    def walk(self) -> Iterator["Phrase"]:
        """This phrase and every fragment inside it, depth first."""
        yield self
        for part in self.parts:
            yield from part.walk()

    def all_claims(self) -> list[Claim]:
        return [c for p in self.walk() for c in p.claims]


# -- geometry helpers (the grid, checked against the rectangles) ---------------------------------
def _overlap(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 <= b1 and b0 <= a1


def _really(a: Key, b: Key, direction: Direction) -> bool:
    """True when ``b`` lies on the ``direction`` side of ``a`` by the rectangles too."""
    if direction is Direction.RIGHT:
        return b.x > a.right and _overlap(a.y, a.bottom, b.y, b.bottom)
    if direction is Direction.LEFT:
        return b.right < a.x and _overlap(a.y, a.bottom, b.y, b.bottom)
    if direction is Direction.BELOW:
        return b.y > a.bottom and _overlap(a.x, a.right, b.x, b.right)
    return b.bottom < a.y and _overlap(a.x, a.right, b.x, b.right)


def _neighbour(layout: Layout, key: Key, direction: Direction) -> Key | None:
    dr, dc = direction.step
    other = layout.at(key.row + dr, key.column + dc)
    if other is not None and _really(key, other, direction):
        return other
    return None


def _diagonal(layout: Layout, key: Key, dr: int, dc: int) -> Key | None:
    other = layout.at(key.row + dr, key.column + dc)
    if other is None:
        return None
    vertical = other.y > key.bottom if dr > 0 else other.bottom < key.y
    horizontal = other.x > key.right if dc > 0 else other.right < key.x
    return other if vertical and horizontal else None


def _rows(layout: Layout) -> list[int]:
    """Grid rows that hold keys, top to bottom (what the hand counts)."""
    return sorted({k.row for k in layout.keys})


def _row_ordinal(layout: Layout, row: int) -> int:
    return _rows(layout).index(row) + 1


def anchor_key(layout: Layout) -> Key:
    """The key a hand finds first: the one with the raised dot (the 5 on every standard pad);
    on a pad with no dot, the top left corner (the left end of the top row), which a hand
    finds from the keypad's edges."""
    dotted = [k for k in layout.keys if k.mark is TactileMark.DOT]
    if dotted:
        five = [k for k in dotted if k.name == "five"]
        return five[0] if five else dotted[0]
    return layout.row_keys(_rows(layout)[0])[0]


def _rank(layout: Layout, subject: Key, other: Key) -> tuple[int, int]:
    """How good ``other`` is as an anchor for ``subject`` (lower is better)."""
    if other.mark is TactileMark.DOT:
        tier = 0
    elif other.is_digit:
        tier = 1
    elif other.mark is not TactileMark.NONE:
        tier = 2
    else:
        tier = 3
    sx, sy = subject.centre
    ox, oy = other.centre
    return tier, abs(sx - ox) + abs(sy - oy)


# -- rendering ----------------------------------------------------------------------------------
class KeypadPhrases:
    """Phrase builder for one layout and one language (``spatial`` "full" or "brief")."""

    def __init__(self, layout: Layout, lang: str, *, spatial: str = "full") -> None:
        if spatial not in ("full", "brief"):
            raise ConfigurationError(f"spatial is 'full' or 'brief', not {spatial!r}")
        self.layout = layout
        self.lang = normalise_lang(lang)
        self.spatial = spatial
        self._m = messages(self.lang)

    # -- small pieces --------------------------------------------------------------------------
    def _phrase(self, msgid: str, count: int | None = None, *, claims: tuple[Claim, ...] = (),
                parts: tuple[Phrase, ...] = (), **values: Any) -> Phrase:
        text = self._m.text(msgid, count, **values)
        return Phrase(msgid, dict(values), text, self.lang, count, claims, parts)

    def _sep(self, kind: str) -> str:
        """Punctuation between list items / clauses / parts of a place (not a translatable
        message: each language's own marks)."""
        return _PUNCTUATION[self.lang][kind]

    def _t(self, msgid: str, count: int | None = None, **values: Any) -> str:
        return self._m.text(msgid, count, **values)

    def number(self, n: int) -> str:
        """A count for the ear (Mandarin uses 两 before a measure word)."""
        if self.lang == "zh-CN" and n == 2:
            return "两"
        return number_words(n, self.lang)

    def name(self, key: Key | str) -> str:
        """The key's name as guidance says it ("9" / "数字九", "Enter" / "确认键")."""
        key = key if isinstance(key, Key) else self.layout.key(key)
        digit = digit_of(key.name)
        if digit is not None:
            return self._t("keypad.name.digit", digit=str(digit) if self.lang == "en"
                           else number_words(digit, self.lang))
        msgid = f"keypad.name.{key.name}"
        if msgid in self._m:
            return self._t(msgid)
        return self._t("keypad.name.other", label=key.label)

    def list_word(self, key: Key) -> str:
        """The short form used in lists of keys ("1, 2, 3" / "一、二、三")."""
        digit = digit_of(key.name)
        if digit is not None:
            return str(digit) if self.lang == "en" else number_words(digit, self.lang)
        return self.name(key)

    def join(self, words: list[str]) -> str:
        """"a, b and c" / "a、b和c"."""
        if not words:
            return ""
        if len(words) == 1:
            return words[0]
        return self._sep("list").join(words[:-1]) + self._t("keypad.sep.and") + words[-1]

    def row_name(self, row: int) -> str:
        rows = _rows(self.layout)
        ordinal = rows.index(row) + 1
        if len(rows) > 1 and ordinal == 1:
            return self._t("keypad.row.top")
        if len(rows) > 1 and ordinal == len(rows):
            return self._t("keypad.row.bottom")
        return self._t("keypad.row.nth", nth=ordinal_words(ordinal, self.lang))

    def looks(self, key: Key) -> Phrase:
        """"the green key with a raised circle" / "a plain key with no raised mark"."""
        mark = key.mark if key.mark is not TactileMark.NONE else None
        claims: list[Claim] = [Claim("has_mark", (key.name,), value=key.mark.value),
                               Claim("has_colour", (key.name,), value=key.colour.value)]
        colour = key.colour if key.colour is not KeyColour.NONE else None
        if mark is not None and colour is not None:
            return self._phrase("keypad.looks.colour_mark", claims=tuple(claims),
                                colour=self._t(f"keypad.colour.{colour.value}"),
                                mark=self._t(f"keypad.mark.{mark.value}"))
        if mark is not None:
            return self._phrase("keypad.looks.mark", claims=tuple(claims),
                                mark=self._t(f"keypad.mark.{mark.value}"))
        if colour is not None:
            return self._phrase("keypad.looks.colour", claims=tuple(claims),
                                colour=self._t(f"keypad.colour.{colour.value}"))
        return self._phrase("keypad.looks.plain", claims=tuple(claims))

    # -- places --------------------------------------------------------------------------------
    def row_place(self, key: Key) -> Phrase:
        """Where the key sits in its row, counted from the row's ends."""
        row = self.layout.row_keys(key.row)
        index = [k.name for k in row].index(key.name)
        ordinal = _row_ordinal(self.layout, key.row)
        where = self.row_name(key.row)
        in_row = Claim("in_row", (key.name,), value=(ordinal, len(_rows(self.layout))))
        if len(row) == 1:
            return self._phrase("keypad.at.row_alone", claims=(in_row, Claim(
                "row_alone", (key.name,))), row=where)
        if index == 0:
            return self._phrase("keypad.at.row_left_end", claims=(in_row, Claim(
                "row_left_end", (key.name,))), row=where)
        if index == len(row) - 1:
            return self._phrase("keypad.at.row_right_end", claims=(in_row, Claim(
                "row_right_end", (key.name,))), row=where)
        if len(row) % 2 == 1 and index == len(row) // 2:
            return self._phrase("keypad.at.row_middle", claims=(in_row, Claim(
                "row_middle", (key.name,))), row=where)
        from_right = len(row) - index
        if index + 1 <= from_right:
            return self._phrase("keypad.at.row_nth_left", claims=(in_row, Claim(
                "row_nth_left", (key.name,), value=index + 1)), row=where,
                nth=ordinal_words(index + 1, self.lang))
        return self._phrase("keypad.at.row_nth_right", claims=(in_row, Claim(
            "row_nth_right", (key.name,), value=from_right)), row=where,
            nth=ordinal_words(from_right, self.lang))

    def relations(self, key: Key, limit: int) -> list[Phrase]:
        """Up to ``limit`` relations to neighbours, best anchors first (diagonal to the dot key
        only when no side neighbour is the dot key)."""
        found: list[tuple[tuple[int, int], Phrase]] = []
        for direction in Direction:
            other = _neighbour(self.layout, key, direction)
            if other is None:
                continue
            # the claim is about the subject: other is RIGHT of key -> key is left_of other
            relation = _SIDE[_opposite(direction)]
            found.append((_rank(self.layout, key, other), self._phrase(
                f"keypad.rel.{relation}", claims=(Claim(relation, (key.name,), (other.name,)),),
                anchor=self.name(other))))
        if not any(r[0][0] == 0 for r in found):
            for (dr, dc), _ in _DIAGONALS.items():
                other = _diagonal(self.layout, key, dr, dc)
                if other is None or other.mark is not TactileMark.DOT:
                    continue
                relation = _DIAGONALS[(-dr, -dc)]
                found.append(((0, 1000), self._phrase(
                    f"keypad.rel.{relation}", claims=(Claim(relation, (key.name,),
                                                            (other.name,)),),
                    anchor=self.name(other))))
        found.sort(key=lambda item: item[0])
        return [p for _, p in found[:limit]]

    def place(self, key: Key, *, relations: int | None = None) -> list[Phrase]:
        """The fragments that say where a key is: its row place, then neighbour relations."""
        if relations is None:
            relations = 2 if self.spatial == "full" else 1
        out = []
        if key.name == "five" and self._centre(key):
            out.append(self._phrase("keypad.at.digits_centre",
                                    claims=(Claim("digits_centre", (key.name,)),)))
            return out
        out.append(self.row_place(key))
        out.extend(self.relations(key, relations))
        return out

    def _centre(self, key: Key) -> bool:
        around = [_neighbour(self.layout, key, d) for d in Direction]
        return all(k is not None and k.is_digit for k in around)

    def _join_place(self, parts: list[Phrase]) -> str:
        return self._sep("part").join(p.text for p in parts)

    # -- sentences ------------------------------------------------------------------------------
    def shape(self) -> Phrase:
        """"This keypad has fifteen keys in four rows; the digits are in three columns on the
        left; Cancel, Clear and Enter are in a column on the right; ..."."""
        layout = self.layout
        rows = _rows(layout)
        keys_part = self._phrase("keypad.count.keys", len(layout),
                                 claims=(Claim("key_count", (), value=len(layout)),),
                                 n=self.number(len(layout)))
        rows_part = self._phrase("keypad.count.rows", len(rows),
                                 claims=(Claim("row_count", (), value=len(rows)),),
                                 n=self.number(len(rows)))
        digits = layout.digit_keys
        parts: list[Phrase] = [keys_part, rows_part]
        groups: list[Phrase] = []
        if digits:
            dmin_r = min(k.row for k in digits)
            dmax_r = max(k.row for k in digits)
            dmin_c = min(k.column for k in digits)
            dmax_c = max(k.column for k in digits)
            sides: dict[str, list[Key]] = {"right": [], "left": [], "below": [], "above": [],
                                           "inside": []}
            for k in self._functions():
                if k.column > dmax_c:
                    sides["right"].append(k)
                elif k.column < dmin_c:
                    sides["left"].append(k)
                elif k.row > dmax_r:
                    sides["below"].append(k)
                elif k.row < dmin_r:
                    sides["above"].append(k)
                else:
                    sides["inside"].append(k)
            columns = len({k.column for k in digits})
            dnames = tuple(k.name for k in digits)
            col_claim = Claim("digit_columns", dnames, value=columns)
            side_claims: list[Claim] = []
            if sides["right"]:
                side_claims.append(Claim("left_of_all", dnames,
                                         tuple(k.name for k in sides["right"])))
            if sides["left"]:
                side_claims.append(Claim("right_of_all", dnames,
                                         tuple(k.name for k in sides["left"])))
            if sides["right"] and sides["left"]:
                side = "keypad.side.centre"
            elif sides["right"]:
                side = "keypad.side.left"
            elif sides["left"]:
                side = "keypad.side.right"
            else:
                side = None
            if side is None:
                digits_part = self._phrase("keypad.shape.digits", columns,
                                           claims=(col_claim,), columns=self.number(columns))
            else:
                digits_part = self._phrase("keypad.shape.digits_side", columns,
                                           claims=(col_claim, *side_claims),
                                           columns=self.number(columns), side=self._t(side))
            parts.append(digits_part)
            for where in ("right", "left", "below", "above"):
                members = sides[where]
                if members:
                    groups.append(self._group(where, members, dnames))
            by_row: dict[int, list[Key]] = {}
            for k in sides["inside"]:
                by_row.setdefault(k.row, []).append(k)
            for row, members in sorted(by_row.items()):
                row_digits = [k for k in layout.row_keys(row) if k.is_digit]
                names = tuple(k.name for k in members)
                claims = [Claim("same_row", names + tuple(k.name for k in row_digits))]
                ordinal = _row_ordinal(layout, row)
                claims.append(Claim("in_row", names, value=(ordinal, len(rows))))
                if row_digits:
                    groups.append(self._phrase(
                        "keypad.group.with_digits", len(members), claims=tuple(claims),
                        keys=self.join([self.name(k) for k in members]),
                        row=self.row_name(row),
                        digits=self.join([self.list_word(k) for k in row_digits])))
                else:
                    groups.append(self._phrase(
                        "keypad.group.in_row", len(members), claims=tuple(claims),
                        keys=self.join([self.name(k) for k in members]),
                        row=self.row_name(row)))
        else:
            groups.append(self._group("none", list(self._functions()), ()))
        parts.extend(groups)
        clause = self._sep("clause")
        rest = clause.join([digits_part.text] + [g.text for g in groups]) if digits else \
            clause.join(g.text for g in groups)
        return self._phrase("keypad.shape", keys=keys_part.text, rows=rows_part.text,
                            details=rest, parts=tuple(parts))

    def _functions(self) -> list[Key]:
        order = {n: i for i, n in enumerate(_FUNCTION_ORDER)}
        return sorted(self.layout.function_keys,
                      key=lambda k: (k.row, k.column, order.get(k.name, 99)))

    def _group(self, where: str, members: list[Key], digits: tuple[str, ...]) -> Phrase:
        names = tuple(k.name for k in members)
        words = self.join([self.name(k) for k in members])
        claims: list[Claim] = []
        if where == "right":
            claims.append(Claim("right_of_all", names, digits))
        elif where == "left":
            claims.append(Claim("left_of_all", names, digits))
        elif where == "below":
            claims.append(Claim("below_all", names, digits))
        elif where == "above":
            claims.append(Claim("above_all", names, digits))
        if where == "none":
            return self._phrase("keypad.group.only", len(members), keys=words)
        one_line = len(members) >= 2 and (
            len({k.column for k in members}) == 1 if where in ("right", "left")
            else len({k.row for k in members}) == 1)
        if one_line:
            claims.append(Claim("same_column" if where in ("right", "left") else "same_row",
                                names))
            return self._phrase(f"keypad.group.line_{where}", len(members),
                                claims=tuple(claims), keys=words)
        return self._phrase(f"keypad.group.side_{where}", len(members),
                            claims=tuple(claims), keys=words)

    def five(self) -> Phrase:
        """Where the 5 is, and its raised dot (or, on a pad without one, that it has none)."""
        five = self.layout.get("five")
        if five is None:  # not a legal PIN pad, but say something true
            return self._phrase("keypad.five.missing")
        place = self.place(five, relations=1)
        text = self._join_place(place)
        if five.mark is TactileMark.DOT:
            return self._phrase("keypad.five.dot", place=text, parts=tuple(place),
                                claims=(Claim("has_mark", ("five",), value="dot"),))
        dotted = [k for k in self.layout.keys if k.mark is TactileMark.DOT]
        if dotted:
            return self._phrase("keypad.five.dot_elsewhere", place=text, parts=tuple(place),
                                other=self.name(dotted[0]),
                                claims=(Claim("has_mark", ("five",), value=five.mark.value),
                                        Claim("has_mark", (dotted[0].name,), value="dot")))
        return self._phrase("keypad.five.no_dot", place=text, parts=tuple(place),
                            claims=(Claim("has_mark", ("five",), value=five.mark.value),))

    def key(self, key: Key | str, *, purpose: bool = False) -> Phrase:
        """A key with its looks and place: "Enter, the green key with a raised circle, at the
        right end of the third row, right of 9" (``purpose``: and what it does)."""
        key = key if isinstance(key, Key) else self.layout.key(key)
        looks = self.looks(key)
        place = self.place(key)
        does = self.purpose(key) if purpose else None
        if does is not None:
            return self._phrase("keypad.key.purpose", key=self.name(key), looks=looks.text,
                                place=self._join_place(place), purpose=does.text,
                                parts=(looks, *place, does))
        return self._phrase("keypad.key", key=self.name(key), looks=looks.text,
                            place=self._join_place(place), parts=(looks, *place))

    def where(self, token: str) -> Phrase:
        """"Where is X" for any key, digits included; a key the pad lacks is said so."""
        name = key_name(token) if token not in self.layout else token
        key = self.layout.get(name)
        if key is None:
            return self._phrase("keypad.where.missing", key=self._missing_name(name))
        place = self.place(key)
        if key.mark is not TactileMark.NONE or key.colour is not KeyColour.NONE:
            looks = self.looks(key)
            return self._phrase("keypad.where.marked", key=self.name(key),
                                place=self._join_place(place), looks=looks.text,
                                parts=(*place, looks))
        return self._phrase("keypad.where", key=self.name(key), place=self._join_place(place),
                            parts=tuple(place))

    def _missing_name(self, name: str) -> str:
        digit = digit_of(name)
        if digit is not None:
            return self._t("keypad.name.digit", digit=str(digit) if self.lang == "en"
                           else number_words(digit, self.lang))
        msgid = f"keypad.name.{name}"
        return self._t(msgid) if msgid in self._m else name

    def rows(self) -> Phrase:
        """Every row, top to bottom, left to right."""
        parts = []
        for row in _rows(self.layout):
            keys = self.layout.row_keys(row)
            parts.append(self._phrase(
                "keypad.rows.item", claims=(Claim("row_contents", tuple(k.name for k in keys),
                                                  value=_row_ordinal(self.layout, row)),),
                row=self.row_name(row), keys=self.join([self.list_word(k) for k in keys])))
        return self._phrase("keypad.rows", rows=self._sep("clause").join(
            p.text for p in parts), parts=tuple(parts))

    def top_digits(self) -> Phrase | None:
        """The order of the digits: telephone (1 2 3 on top) or calculator (7 8 9 on top)."""
        digits = self.layout.digit_keys
        if not digits:
            return None
        top = min(k.row for k in digits)
        row = [k for k in self.layout.row_keys(top) if k.is_digit]
        names = tuple(k.name for k in row)
        claim = Claim("top_digit_row", names)
        if names == ("one", "two", "three"):
            return self._phrase("keypad.order.telephone", claims=(claim,))
        if names == ("seven", "eight", "nine"):
            return self._phrase("keypad.order.calculator", claims=(claim,))
        return self._phrase("keypad.order.top_row", claims=(claim,),
                            keys=self.join([self.list_word(k) for k in row]))

    def purpose(self, key: Key) -> Phrase | None:
        msgid = f"keypad.purpose.{key.name}"
        return self._phrase(msgid) if msgid in self._m else None

    def guide(self, token: str) -> Phrase:
        """How to find a key from the dot key: "Put a finger on the 5 ... move right one key,
        to 6; move down one key, to 9; move right one key: this is Enter ..."."""
        name = key_name(token) if token not in self.layout else token
        target = self.layout.get(name)
        if target is None:
            return self._phrase("keypad.where.missing", key=self._missing_name(name))
        start = anchor_key(self.layout)
        if start.mark is TactileMark.DOT:
            begin = self._phrase("keypad.guide.start_dot", key=self.name(start),
                                 claims=(Claim("has_mark", (start.name,), value="dot"),))
        else:
            place = self.row_place(start)
            begin = self._phrase("keypad.guide.start_place", key=self.name(start),
                                 place=place.text, parts=(place,))
        if target.name == start.name:
            return self._phrase("keypad.guide.is_start", start=begin.text, parts=(begin,))
        path = _path(self.layout, start, target)
        if path is None:
            where = self.where(target.name)
            return self._phrase("keypad.guide.no_path", start=begin.text, where=where.text,
                                parts=(begin, where))
        steps: list[Phrase] = []
        here = start
        for direction, count, to in path:
            steps.append(self._phrase(
                "keypad.guide.move", count, claims=(Claim("move", (to.name,), (here.name,),
                                                          (direction.value, count)),),
                direction=self._t(_MOVE_WORD[direction]), steps=self.number(count),
                key=self.name(to)))
            here = to
        looks = self.looks(target)
        arrive = self._phrase("keypad.guide.arrive", key=self.name(target), looks=looks.text,
                              parts=(looks,))
        return self._phrase("keypad.guide", start=begin.text,
                            moves=self._sep("clause").join(s.text for s in steps),
                            arrive=arrive.text, parts=(begin, *steps, arrive))

    def explore_addition(self, key: Key | str) -> Phrase:
        """What the host adds after the pad named a key in explore mode: its place relative to
        keys the hand knows, and what it does (the pad already said name, row, column, mark)."""
        key = key if isinstance(key, Key) else self.layout.key(key)
        place = self.place(key)
        purpose = self.purpose(key)
        if key.name == "five" and key.mark is TactileMark.DOT:
            return self._phrase("keypad.explore.five", key=self.name(key),
                                place=self._join_place(place), parts=tuple(place))
        if purpose is not None:
            return self._phrase("keypad.explore.key_purpose", key=self.name(key),
                                place=self._join_place(place), purpose=purpose.text,
                                parts=(*place, purpose))
        return self._phrase("keypad.explore.key", key=self.name(key),
                            place=self._join_place(place), parts=tuple(place))

    def describe(self, *, purpose: bool = False) -> list[Phrase]:
        """The whole keypad: shape, digit order, the 5, then (full) every row, every function
        key with its looks and place (``purpose``: and what it does) and the 0; (brief) the
        function keys with one landmark each."""
        out = [self.shape()]
        order = self.top_digits()
        if order is not None:
            out.append(order)
        out.append(self.five())
        if self.spatial == "full":
            out.append(self.rows())
        for key in self._functions():
            out.append(self.key(key, purpose=purpose))
        if self.spatial == "full" and "zero" in self.layout:
            out.append(self.where("zero"))
        return out


def _opposite(direction: Direction) -> Direction:
    return {Direction.LEFT: Direction.RIGHT, Direction.RIGHT: Direction.LEFT,
            Direction.ABOVE: Direction.BELOW, Direction.BELOW: Direction.ABOVE}[direction]


def _path(layout: Layout, start: Key, target: Key) -> list[tuple[Direction, int, Key]] | None:
    """Fewest key steps from ``start`` to ``target`` over real neighbours, then fewest turns
    (Dijkstra on (key, direction of arrival)); runs of one direction are merged."""
    # cost = steps * 10 + turns: a straight walk beats a zig-zag of the same length
    best: dict[tuple[str, Direction | None], int] = {(start.name, None): 0}
    prev: dict[tuple[str, Direction | None], tuple[str, Direction | None]] = {}
    heap: list[tuple[int, int, str, Direction | None]] = [(0, 0, start.name, None)]
    tick = 1
    goal: tuple[str, Direction | None] | None = None
    while heap:
        cost, _, name, came = heapq.heappop(heap)
        if best.get((name, came), 1 << 30) < cost:
            continue
        if name == target.name:
            goal = (name, came)
            break
        key = layout.key(name)
        for direction in Direction:
            other = _neighbour(layout, key, direction)
            if other is None:
                continue
            step = cost + 10 + (1 if came is not None and came is not direction else 0)
            state = (other.name, direction)
            if step < best.get(state, 1 << 30):
                best[state] = step
                prev[state] = (name, came)
                heapq.heappush(heap, (step, tick, other.name, direction))
                tick += 1
    if goal is None:
        return None
    moves: list[tuple[Direction, str]] = []
    state = goal
    while state in prev:
        assert state[1] is not None
        moves.append((state[1], state[0]))
        state = prev[state]
    moves.reverse()
    merged: list[tuple[Direction, int, Key]] = []
    for direction, name in moves:
        if merged and merged[-1][0] is direction:
            merged[-1] = (direction, merged[-1][1] + 1, layout.key(name))
        else:
            merged.append((direction, 1, layout.key(name)))
    return merged


# -- module-level conveniences -------------------------------------------------------------------
def describe_shape(layout: Layout, lang: str) -> Phrase:
    return KeypadPhrases(layout, lang).shape()


def describe_five(layout: Layout, lang: str) -> Phrase:
    return KeypadPhrases(layout, lang).five()


def describe_key(layout: Layout, key: str, lang: str, *, spatial: str = "full") -> Phrase:
    return KeypadPhrases(layout, lang, spatial=spatial).key(key)


def describe_rows(layout: Layout, lang: str) -> Phrase:
    return KeypadPhrases(layout, lang).rows()


def where_is(layout: Layout, key: str, lang: str, *, spatial: str = "full") -> Phrase:
    return KeypadPhrases(layout, lang, spatial=spatial).where(key)


def guide_to(layout: Layout, key: str, lang: str) -> Phrase:
    return KeypadPhrases(layout, lang).guide(key)


def explore_addition(layout: Layout, key: str, lang: str, *, spatial: str = "full") -> Phrase:
    return KeypadPhrases(layout, lang, spatial=spatial).explore_addition(key)


def describe_keypad(layout: Layout, lang: str, *, spatial: str = "full") -> list[Phrase]:
    return KeypadPhrases(layout, lang, spatial=spatial).describe()


# -- the pad's own words (TPP SPEC 9.1) -----------------------------------------------------------
def pad_description(key: Key, lang: str) -> str:
    """What the pad says by itself when ``key`` is pressed in explore mode (SPEC 9.1):
    ``five, row 2, column 2, with a raised dot`` / ``五，第二排第二个，有凸点。``

    The pad builds these itself; the host renders the same template (the protocol's one,
    :func:`protocol.tpp.prompts.describe_key`) only so that the teller's feed and the transcript
    show what the customer heard."""
    return describe_pad_key(key, normalise_lang(lang))
