"""What fits on the pad's display, and how text is laid out in lines and pages (SPEC 6.7).

One home for the display rules that both ends apply: the pad refuses a ``Display`` text that
does not fit (``TEXT_TOO_LONG``) and lays out its own prompts with :func:`paginate`; the host
(drivers.guidance) lays out everything it shows with the same function, so what it sends
always fits.

* A line holds ``DeviceInfo.display_columns`` cells in normal type and half as many in large
  type (:data:`~protocol.tpp.codes.LARGE_TYPE_CELLS`); a display shows ``display_rows`` lines.
* A wide character (East Asian Width W or F: Chinese characters, full-width punctuation) takes
  two cells, a combining mark none, anything else one (:func:`text_cells`).
* Lines are separated by ``"\\n"``; the pad breaks no line itself.

:func:`paginate` breaks between words only: English at spaces, Mandarin between the words the
``rjieba`` segmenter finds (a maintained binding of jieba-rs with its dictionary built in; a
rule of punctuation and particles alone splits words such as 手续费 or 自动柜员机 whenever a
line ends inside them).  No line starts with closing punctuation (，。、；：！？ and their
ASCII forms) and none ends with an opening bracket; a word longer than a whole line is the only
thing ever cut.  A text of several pages gets ``n/N`` on its last line (that line is reserved).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from protocol.tpp.codes import LARGE_TYPE_CELLS

__all__ = ["text_cells", "line_cells", "fits", "paginate", "read_page", "read_pages", "join_words", "DisplaySize",
           "NO_LINE_START", "NO_LINE_END"]

#: characters that may not begin a line (they stay with the word before them)
NO_LINE_START = frozenset("，。、；：！？）》」』】〉…—,.;:!?)]}%")
#: characters that may not end a line (they go with the word after them)
NO_LINE_END = frozenset("（《「『【〈([{")


def _char_cells(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_cells(text: str) -> int:
    """Display cells ``text`` takes on one line (2 per wide character)."""
    return sum(_char_cells(ch) for ch in text)


def line_cells(columns: int, large: bool) -> int:
    """Cells in one line of a ``columns``-cell display, in normal or large type."""
    return max(1, columns // LARGE_TYPE_CELLS) if large else columns


@dataclass(frozen=True, slots=True)
class DisplaySize:
    """A display of ``columns`` cells by ``rows`` lines (``DeviceInfo``); 0 x 0 = none."""

    columns: int
    rows: int

    def line(self, large: bool) -> int:
        return line_cells(self.columns, large)

    def fits(self, text: str, large: bool) -> bool:
        return fits(text, self.columns, self.rows, large)


def fits(text: str, columns: int, rows: int, large: bool) -> bool:
    """True if ``text`` (lines separated by ``\\n``) fits the display as it is."""
    if columns <= 0 or rows <= 0:
        return not text
    lines = text.split("\n")
    width = line_cells(columns, large)
    return len(lines) <= rows and all(text_cells(line) <= width for line in lines)


@functools.lru_cache(maxsize=1)
def _segmenter():  # pragma: no cover - trivial
    # imported on first use: it loads its dictionary (~0.2 s), needed only for Mandarin text
    import rjieba

    return rjieba.cut


def _words(text: str) -> list[str]:
    """Units that may not be broken: words with the spaces after them, punctuation joined to
    the unit it may not be separated from."""
    units: list[str] = []
    cjk = any(_char_cells(ch) == 2 for ch in text)
    raw = _segmenter()(text) if cjk else _split_spaces(text)
    for piece in raw:
        if not piece:
            continue
        if units and (piece[0] in NO_LINE_START or piece.isspace()
                      or units[-1][-1] in NO_LINE_END):
            units[-1] += piece
        else:
            units.append(piece)
    return units


def _split_spaces(text: str) -> list[str]:
    out: list[str] = []
    word = ""
    for ch in text:
        word += ch
        if ch == " ":
            out.append(word)
            word = ""
    if word:
        out.append(word)
    return out


def _hard_cut(word: str, width: int) -> list[str]:
    """A word wider than a line: cut it into line-wide pieces (the one unavoidable break).  A
    Latin word's pieces but the last end with a hyphen, so a reader (and :func:`read_page`)
    joins them again; Chinese needs none."""
    hyphen = width > 2 and not any(_char_cells(ch) == 2 for ch in word)
    room = width - 1 if hyphen else width
    pieces, current, cells = [], "", 0
    for ch in word:
        w = _char_cells(ch)
        if current and cells + w > room:
            pieces.append(current + "-" if hyphen else current)
            current, cells = "", 0
        current += ch
        cells += w
    if current:
        pieces.append(current)
    return pieces


def _lines(paragraph: str, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in _words(paragraph):
        candidate = current + word
        if text_cells(candidate.rstrip()) <= width:
            current = candidate
            continue
        if current.strip():
            lines.append(current.rstrip())
        current = ""
        stripped = word.rstrip()
        if text_cells(stripped) > width:
            *whole, current = _hard_cut(stripped, width)
            lines.extend(whole)
            current += word[len(stripped):]
        else:
            current = word
    if current.strip():
        lines.append(current.rstrip())
    return lines


def paginate(text: str, columns: int, rows: int, large: bool = False) -> list[str]:
    """``text`` laid out for the display: a list of pages, each of at most ``rows`` lines
    joined by ``\\n``, every line within the line's cells.  With more than one page, the last
    line of each page is ``n/N``.  Explicit ``\\n`` in ``text`` start a new line."""
    if columns <= 0 or rows <= 0:
        return []
    width = line_cells(columns, large)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_lines(paragraph.strip(), width))
    if not lines:
        return [""]
    if len(lines) <= rows:
        return ["\n".join(lines)]
    per_page = max(1, rows - 1)
    chunks = [lines[i:i + per_page] for i in range(0, len(lines), per_page)]
    total = len(chunks)
    pages = []
    for n, chunk in enumerate(chunks, start=1):
        label = f"{n}/{total}"
        if text_cells(label) > width:
            label = label[:width]
        pages.append("\n".join([*chunk, label]) if rows > 1 else "\n".join(chunk))
    return pages


_LABEL = __import__("re").compile(r"(\d+)/(\d+)")


def read_page(page: str) -> tuple[str, int, int]:
    """What a reader takes from one page :func:`paginate` made: ``(words, n, N)``, the lines
    joined as they are read (a space between words of Latin text, none between Chinese
    characters) without the ``n/N`` line; a single page is ``(words, 1, 1)``."""
    lines = page.split("\n")
    n = total = 1
    if len(lines) > 1:
        label = _LABEL.fullmatch(lines[-1])
        if label is not None:
            n, total = int(label.group(1)), int(label.group(2))
            lines = lines[:-1]
    words = ""
    for line in lines:
        words = join_words(words, line)
    return words, n, total


def join_words(before: str, after: str) -> str:
    """Two pieces of text joined as they are read: a space between Latin words, none where
    either side is a wide (Chinese) character, and a word :func:`paginate` had to cut with a
    hyphen whole again."""
    if not before or not after:
        return before + after
    if before.endswith("-") and before[-2:-1].isalpha() and after[:1].isalpha():
        return before[:-1] + after             # a word cut at the end of a line (paginate)
    wide = _char_cells(before[-1]) == 2 or _char_cells(after[0]) == 2
    return before + ("" if wide else " ") + after


def read_pages(pages: "list[str] | tuple[str, ...]") -> list[str]:
    """A display's successive texts as a reader takes them: each page's words, from page 2 on
    joined to the pages before it (so the last of a text's pages reads as the whole text)."""
    out: list[str] = []
    for text in pages:
        words, page, _ = read_page(text)
        out.append(words if page == 1 or not out else join_words(out[-1], words))
    return out
