"""Keypad layouts, shared by the pad (which reports its layout) and the host (which explains it).

A :class:`Layout` is a set of :class:`Key` objects.  Every key has an XFS4IoT key name
(``zero``..``nine``, ``enter``, ``cancel``, ``clear``, ``backspace``, ``help``), the label printed
on it, its position and size in XFS4IoT's 0..999 frame (x, y = top-left corner; 0 = left/top
edge, 999 = right/bottom edge), its cell in the key grid (row 0 = top, column 0 = left; used for
"Enter is right of 9"), its tactile mark and its colour.

Built-in layouts (positions follow the public XFS4IoT simulator: digit columns at x 287/377/467,
rows at y 209/299/389/479, function column at x 577, every key 80 x 80):

``telephone`` (the default; public-terminal guidelines recommend it)::

    1    2    3    Cancel(X, red)
    4    5*   6    Clear(<-, yellow)
    7    8    9    Enter(O, green)
    Help 0    Back

``calculator`` - the same with 7-8-9 on top and 1-2-3 in the third row.

``pos`` (a narrow pad: function keys in a bottom row under the digits)::

    1       2       3
    4       5*      6
    7       8       9
    Help    0       Back
    Cancel  Clear   Enter

Design choice, documented here because the ECBS layout leaves it open: the function column holds
Cancel (right of 3), Clear (right of 6) and Enter last (right of 9), as ECBS describes; Help sits
left of 0 and Backspace right of 0, both reachable from the 0 key, which a hand finds at the
bottom centre of the digit block.  5 carries the raised dot; Help and Backspace carry no mark
(ADA and ECBS define none for them), so guidance names them by position.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Iterator

from protocol.errors import ConfigurationError

__all__ = [
    "TactileMark",
    "KeyColour",
    "Direction",
    "Key",
    "Layout",
    "DIGIT_KEY_NAMES",
    "FUNCTION_KEY_NAMES",
    "KEY_NAMES",
    "FRAME_MAX",
    "key_name",
    "digit_of",
    "TELEPHONE",
    "CALCULATOR",
    "POS",
    "LAYOUTS",
    "LAYOUT_NAMES",
    "DEFAULT_LAYOUT",
    "get_layout",
]

#: the 0..999 coordinate frame of XFS4IoT GetLayout
FRAME_MAX = 999

DIGIT_KEY_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FUNCTION_KEY_NAMES = ("enter", "cancel", "clear", "backspace", "help")
KEY_NAMES = DIGIT_KEY_NAMES + FUNCTION_KEY_NAMES


class TactileMark(enum.Enum):
    """The raised symbol on a key (ADA 707, ECBS)."""

    DOT = "dot"               # the 5 key
    CIRCLE = "circle"         # Enter / Proceed
    LEFT_ARROW = "left_arrow"  # Clear / Correct
    X = "x"                   # Cancel
    PLUS = "plus"             # Add
    MINUS = "minus"           # Decrease
    NONE = "none"


class KeyColour(enum.Enum):
    """Key colour (European convention: Cancel red, Clear yellow, Enter green)."""

    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    NONE = "none"


class Direction(enum.Enum):
    LEFT = "left"
    RIGHT = "right"
    ABOVE = "above"
    BELOW = "below"

    @property
    def step(self) -> tuple[int, int]:
        """(row delta, column delta) of one step in this direction."""
        return {"left": (0, -1), "right": (0, 1), "above": (-1, 0), "below": (1, 0)}[self.value]


def key_name(token: str) -> str:
    """The XFS key name for a token typed by a person: ``"5"`` -> ``"five"``, ``"Enter"`` ->
    ``"enter"``.  ConfigurationError names the valid tokens."""
    text = token.strip().lower()
    if len(text) == 1 and text.isdigit():
        return DIGIT_KEY_NAMES[int(text)]
    if text in KEY_NAMES:
        return text
    raise ConfigurationError(
        f"unknown key {token!r}: use a digit 0-9 or one of " + ", ".join(KEY_NAMES))


def digit_of(name: str) -> int | None:
    """The digit a digit key stands for (``"five"`` -> 5); None for function keys."""
    try:
        return DIGIT_KEY_NAMES.index(name)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Key:
    """One key: XFS name, printed label, rectangle in the 0..999 frame, grid cell, mark, colour."""

    name: str
    label: str
    x: int
    y: int
    width: int
    height: int
    row: int
    column: int
    mark: TactileMark = TactileMark.NONE
    colour: KeyColour = KeyColour.NONE

    @property
    def is_digit(self) -> bool:
        return self.name in DIGIT_KEY_NAMES

    @property
    def right(self) -> int:
        """The last x coordinate inside the key."""
        return self.x + self.width - 1

    @property
    def bottom(self) -> int:
        return self.y + self.height - 1

    @property
    def centre(self) -> tuple[int, int]:
        return (self.x + self.width // 2, self.y + self.height // 2)

    def contains(self, x: int, y: int) -> bool:
        return self.x <= x <= self.right and self.y <= y <= self.bottom

    def overlaps(self, other: "Key") -> bool:
        return not (self.right < other.x or other.right < self.x
                    or self.bottom < other.y or other.bottom < self.y)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (enums as their string values)."""
        return {"name": self.name, "label": self.label, "x": self.x, "y": self.y,
                "width": self.width, "height": self.height, "row": self.row,
                "column": self.column, "mark": self.mark.value, "colour": self.colour.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Key":
        try:
            return cls(name=str(data["name"]), label=str(data["label"]), x=int(data["x"]),
                       y=int(data["y"]), width=int(data["width"]), height=int(data["height"]),
                       row=int(data["row"]), column=int(data["column"]),
                       mark=TactileMark(data.get("mark", "none")),
                       colour=KeyColour(data.get("colour", "none")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"not a valid key description: {exc}") from None


@dataclass(frozen=True, slots=True)
class Layout:
    """A keypad: its keys and grid size.  Validated on creation (ConfigurationError)."""

    name: str
    keys: tuple[Key, ...]
    rows: int
    columns: int
    _by_name: dict[str, Key] = field(init=False, repr=False, compare=False)
    _by_cell: dict[tuple[int, int], Key] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = tuple(self.keys)
        object.__setattr__(self, "keys", keys)
        by_name: dict[str, Key] = {}
        by_cell: dict[tuple[int, int], Key] = {}
        for key in keys:
            where = f"layout {self.name!r}, key {key.name!r}"
            if key.name in by_name:
                raise ConfigurationError(f"{where}: the name is used twice")
            if (key.row, key.column) in by_cell:
                raise ConfigurationError(f"{where}: cell ({key.row}, {key.column}) is taken by "
                                         f"{by_cell[key.row, key.column].name!r}")
            if not (0 <= key.row < self.rows and 0 <= key.column < self.columns):
                raise ConfigurationError(f"{where}: cell outside the {self.rows}x{self.columns} grid")
            if key.width < 1 or key.height < 1 or key.x < 0 or key.y < 0 \
                    or key.right > FRAME_MAX or key.bottom > FRAME_MAX:
                raise ConfigurationError(f"{where}: rectangle outside the 0..{FRAME_MAX} frame")
            for other in by_name.values():
                if key.overlaps(other):
                    raise ConfigurationError(f"{where}: overlaps key {other.name!r}")
            by_name[key.name] = key
            by_cell[key.row, key.column] = key
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_by_cell", by_cell)

    # -- lookups ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Key]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    @property
    def digit_keys(self) -> tuple[Key, ...]:
        return tuple(k for k in self.keys if k.is_digit)

    @property
    def function_keys(self) -> tuple[Key, ...]:
        return tuple(k for k in self.keys if not k.is_digit)

    def key(self, name: str) -> Key:
        """The key called ``name`` (a digit token such as "5" works too)."""
        found = self._by_name.get(key_name(name) if name not in self._by_name else name)
        if found is None:
            raise ConfigurationError(f"the {self.name} layout has no {name!r} key; it has "
                                     + ", ".join(self.names))
        return found

    def get(self, name: str) -> Key | None:
        return self._by_name.get(name)

    def at(self, row: int, column: int) -> Key | None:
        """The key in a grid cell, or None for an empty cell."""
        return self._by_cell.get((row, column))

    def key_at(self, x: int, y: int) -> Key | None:
        """The key under a point of the 0..999 frame, or None."""
        for key in self.keys:
            if key.contains(x, y):
                return key
        return None

    def neighbour(self, name: str, direction: Direction | str) -> Key | None:
        """The key directly left/right/above/below ``name`` in the grid, or None at an edge
        or an empty cell."""
        key = self.key(name)
        dr, dc = Direction(direction).step
        return self.at(key.row + dr, key.column + dc)

    def neighbours(self, name: str) -> dict[Direction, Key]:
        """Every existing neighbour of ``name`` by direction."""
        out = {}
        for d in Direction:
            other = self.neighbour(name, d)
            if other is not None:
                out[d] = other
        return out

    def right_of(self, name: str) -> Key | None:
        return self.neighbour(name, Direction.RIGHT)

    def left_of(self, name: str) -> Key | None:
        return self.neighbour(name, Direction.LEFT)

    def above(self, name: str) -> Key | None:
        return self.neighbour(name, Direction.ABOVE)

    def below(self, name: str) -> Key | None:
        return self.neighbour(name, Direction.BELOW)

    def row_keys(self, row: int) -> tuple[Key, ...]:
        """The keys of one row, left to right."""
        return tuple(sorted((k for k in self.keys if k.row == row), key=lambda k: k.column))

    def column_keys(self, column: int) -> tuple[Key, ...]:
        """The keys of one column, top to bottom."""
        return tuple(sorted((k for k in self.keys if k.column == column), key=lambda k: k.row))

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "columns": self.columns,
                "keys": [k.to_dict() for k in self.keys]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Layout":
        try:
            return cls(name=str(data["name"]), rows=int(data["rows"]),
                       columns=int(data["columns"]),
                       keys=tuple(Key.from_dict(k) for k in data["keys"]))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ConfigurationError):
                raise
            raise ConfigurationError(f"not a valid layout description: {exc}") from None


# -- built-in layouts ---------------------------------------------------------------------------

_COLUMN_X = (287, 377, 467, 577)
_ROW_Y = (209, 299, 389, 479, 569)
_SIZE = 80

#: (label, mark, colour) of each key that is not a plain digit
_LOOKS: dict[str, tuple[str, TactileMark, KeyColour]] = {
    "five": ("5", TactileMark.DOT, KeyColour.NONE),
    "enter": ("Enter", TactileMark.CIRCLE, KeyColour.GREEN),
    "clear": ("Clear", TactileMark.LEFT_ARROW, KeyColour.YELLOW),
    "cancel": ("Cancel", TactileMark.X, KeyColour.RED),
    "help": ("Help", TactileMark.NONE, KeyColour.NONE),
    "backspace": ("Back", TactileMark.NONE, KeyColour.NONE),
}


def _grid(name: str, rows: list[list[str | None]]) -> Layout:
    keys = []
    for r, row in enumerate(rows):
        for c, kname in enumerate(row):
            if kname is None:
                continue
            digit = digit_of(kname)
            label, mark, colour = _LOOKS.get(kname, (str(digit), TactileMark.NONE, KeyColour.NONE))
            keys.append(Key(kname, label, _COLUMN_X[c], _ROW_Y[r], _SIZE, _SIZE, r, c, mark, colour))
    return Layout(name, tuple(keys), rows=len(rows), columns=max(len(row) for row in rows))


TELEPHONE = _grid("telephone", [
    ["one", "two", "three", "cancel"],
    ["four", "five", "six", "clear"],
    ["seven", "eight", "nine", "enter"],
    ["help", "zero", "backspace", None],
])

CALCULATOR = _grid("calculator", [
    ["seven", "eight", "nine", "cancel"],
    ["four", "five", "six", "clear"],
    ["one", "two", "three", "enter"],
    ["help", "zero", "backspace", None],
])

POS = _grid("pos", [
    ["one", "two", "three"],
    ["four", "five", "six"],
    ["seven", "eight", "nine"],
    ["help", "zero", "backspace"],
    ["cancel", "clear", "enter"],
])

LAYOUTS: dict[str, Layout] = {"telephone": TELEPHONE, "calculator": CALCULATOR, "pos": POS}
LAYOUT_NAMES = tuple(LAYOUTS)
DEFAULT_LAYOUT = "telephone"


def get_layout(name: str) -> Layout:
    """A built-in layout by name; ConfigurationError names the valid ones."""
    try:
        return LAYOUTS[name.strip().lower()]
    except (KeyError, AttributeError):
        raise ConfigurationError(
            f"unknown keypad layout {name!r}: use one of " + ", ".join(LAYOUT_NAMES)) from None
