"""Renders the normative tables of SPEC.md from the code, so the two cannot drift.

SPEC.md holds blocks between ``<!-- BEGIN generated:NAME -->`` and ``<!-- END generated:NAME -->``;
:func:`generated_blocks` gives what each block must contain and a test compares them.
``python -m protocol.tpp.spec protocol/tpp/SPEC.md`` rewrites the blocks in place.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from construct import Construct, Int8ub, Int16ub, Int32ub, Renamed, SizeofError, Struct

from protocol.tpp import schema as _schema
from protocol.tpp.codes import (
    COLOUR_CODES,
    FORMAT_CODES,
    KEY_CODES,
    MARK_CODES,
    RESULT_MEANINGS,
    BeepPolicy,
    Capability,
    EntryEnd,
    Extender,
    KeyKind,
    KeyStatus,
    LoadKind,
    MessageType,
    ResetReason,
    SpeechEnd,
    State,
    TamperCause,
    Tone,
)
from protocol.tpp.connection import ALLOWED, REPORTED, TRANSITIONS, Trigger, check_request
from protocol.tpp.messages import DONE_REQUESTS, EVENT_CLASSES, REQUEST_CLASSES, RESPONSE_CLASSES
from protocol.tpp.prompts import PROMPTS

__all__ = ["generated_blocks", "update_spec", "check_spec"]

_BLOCK = re.compile(r"(<!-- BEGIN generated:([a-z0-9-]+) -->\n)(.*?)(<!-- END generated:\2 -->)",
                    re.S)


# -- construct introspection --------------------------------------------------------------------
def _type_label(sc: Construct) -> str:
    while isinstance(sc, Renamed):
        sc = sc.subcon
    if sc is Int8ub:
        return "u8"
    if sc is Int16ub:
        return "u16"
    if sc is Int32ub:
        return "u32"
    if isinstance(sc, _schema._BoolAdapter):
        return "bool (u8 0/1)"
    if isinstance(sc, _schema._EnumAdapter):
        return f"{_type_label(sc.subcon)} {sc.enum_cls.__name__}"
    if isinstance(sc, _schema._FlagsAdapter):
        return f"{_type_label(sc.subcon)} {sc.flag_cls.__name__} bits"
    if isinstance(sc, _schema._MappedAdapter):
        return f"{_type_label(sc.subcon)} {sc.what} code"
    if isinstance(sc, _schema._RangeAdapter):
        return f"{_type_label(sc.subcon)} {sc.lo}..{sc.hi}"
    if isinstance(sc, _schema._TextAdapter):
        return f"str{8 * sc.subcon.lengthfield.sizeof()} (<= {sc.max_bytes} B UTF-8)"
    if isinstance(sc, _schema._BlobAdapter):
        return "bytes8 (" + "/".join(str(s) for s in sc.sizes) + " B)"
    if isinstance(sc, _schema._TupleAdapter):
        return f"list8 of {_type_label(sc.item)} ({sc.min_items}..{sc.max_items})"
    if isinstance(sc, _schema._PromptAdapter):
        return "u8 prompt id"
    if isinstance(sc, _schema._VersionAdapter):
        return "version (u8 major, u8 minor)"
    if isinstance(sc, _schema._RecordAdapter):
        return sc.cls.__name__ + " record"
    return type(sc).__name__


def _size(sc: Construct) -> int | None:
    try:
        return sc.sizeof()
    except (SizeofError, Exception):  # noqa: BLE001 - variable size
        return None


def _field_rows(struct: Struct, start: int = 0) -> list[tuple[str, str, str, str, str]]:
    rows = []
    offset: int | None = start
    for sc in struct.subcons:
        if not isinstance(sc, Renamed):
            continue
        size = _size(sc)
        rows.append((str(offset) if offset is not None else "var", str(size) if size else "var",
                     sc.name, _type_label(sc), (sc.docs or "").strip()))
        offset = None if offset is None or size is None else offset + size
    return rows


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _fields_table(struct: Struct | None, start: int = 0) -> str:
    if struct is None or not [s for s in struct.subcons if isinstance(s, Renamed)]:
        return "(empty payload)\n"
    return _table(("offset", "size", "field", "type", "meaning"), _field_rows(struct, start))


def _inner_struct(sc: Construct) -> Struct | None:
    return getattr(sc, "subcon", None)


# -- the blocks -------------------------------------------------------------------------------------
def _message_types() -> str:
    rows = []
    for t in MessageType:
        if t is MessageType.ACK:
            rows.append(("0x00", "ACK", "both", "link acknowledgement (section 4)"))
        elif t.is_request:
            answer = "Done" if t in DONE_REQUESTS else RESPONSE_CLASSES[t].__name__
            rows.append((f"0x{t:02X}", REQUEST_CLASSES[t].__name__, "host -> pad",
                         f"answered by 0x{t | 0x40:02X}: {answer} or Refused"))
        else:
            rows.append((f"0x{t:02X}", EVENT_CLASSES[t].__name__, "pad -> host", "event"))
    return _table(("TYPE", "message", "direction", "notes"), rows)


def _requests() -> str:
    parts = []
    for t, body in _schema._REQUEST_BODIES.items():
        parts.append(f"#### 0x{t:02X} {REQUEST_CLASSES[t].__name__}\n\n"
                     + _fields_table(_inner_struct(body)))
    return "\n".join(parts)


def _responses() -> str:
    parts = []
    for t, body in _schema._RESPONSE_BODIES.items():
        cls = RESPONSE_CLASSES[t]
        parts.append(f"#### 0x{t | 0x40:02X} {cls.__name__} (answers {REQUEST_CLASSES[t].__name__})"
                     "\n\nAfter the result byte 0x00 at offset 0:\n\n"
                     + _fields_table(_inner_struct(body), start=1))
    return "\n".join(parts)


def _events() -> str:
    parts = []
    for t, body in _schema._EVENT_BODIES.items():
        parts.append(f"#### 0x{t:02X} {EVENT_CLASSES[t].__name__}\n\n"
                     + _fields_table(_inner_struct(body)))
    return "\n".join(parts)


def _records() -> str:
    parts = []
    for name, rec in (("Key (GetLayout)", _schema._KEY), ("ActiveKey (PinEntry, PinChange)",
                                                          _schema._ACTIVE_KEY),
                      ("KeySlot (GetInfo)", _schema._KEY_SLOT)):
        parts.append(f"#### {name}\n\n" + _fields_table(rec.subcon))
    return "\n".join(parts)


def _results() -> str:
    return _table(("code", "name", "meaning"),
                  [(f"0x{c:02X}", c.name, RESULT_MEANINGS[c]) for c in RESULT_MEANINGS])


def _enums() -> str:
    parts = []
    for cls in (State, Capability, KeyKind, LoadKind, BeepPolicy, KeyStatus, EntryEnd, Extender,
                SpeechEnd, Tone, ResetReason, TamperCause):
        rows = [(f"0x{int(v):02X}" if not isinstance(v, Capability) else f"0x{int(v):04X}",
                 v.name) for v in cls]
        parts.append(f"#### {cls.__name__}\n\n" + _table(("value", "name"), rows))
    for title, mapping in (("tactile mark", MARK_CODES), ("colour", COLOUR_CODES),
                           ("PIN block format", FORMAT_CODES)):
        rows = [(f"0x{code:02X}", member.value) for member, code in mapping.items()]
        parts.append(f"#### {title} codes\n\n" + _table(("code", "value"), rows))
    return "\n".join(parts)


def _keys() -> str:
    rows = []
    names = list(KEY_CODES.items())
    fixed = [(n, c) for n, c in names if not n.startswith(("fdk", "vendor"))]
    rows += [(f"0x{c:02X}", n) for n, c in fixed]
    rows.append(("0x61..0x80", "fdk01..fdk32"))
    rows.append(("0xC0..0xDF", "vendor00..vendor31 (meaning given by the key's label)"))
    rows.append(("0x00", "no key (PinEntryCompleted.key when no key ended the entry)"))
    return _table(("code", "XFS key name"), rows)


def _state_table() -> str:
    states = list(State)
    rows = []
    for trig in Trigger:
        cells = []
        for s in states:
            if (s, trig) not in TRANSITIONS:
                cells.append("-")
            else:
                target = TRANSITIONS[s, trig]
                cells.append("reported" if target is REPORTED else
                             ("=" if target is s else target.name))
        rows.append((trig.value, *cells))
    return _table(("trigger \\ mode", *(s.name for s in states)), rows)


def _allowed_table() -> str:
    states = list(State)
    rows = []
    for t, allowed in ALLOWED.items():
        cells = []
        for s in states:
            if s in allowed:
                cells.append("yes")
            else:
                cells.append(_refusal_name(s, t))
        rows.append((REQUEST_CLASSES[t].__name__, *cells))
    return _table(("request \\ mode", *(s.name for s in states)), rows)


def _refusal_name(state: State, t: MessageType) -> str:
    from protocol.tpp.connection import _refusal_for_mode
    return _refusal_for_mode(state, t).name


def _prompt_table() -> str:
    rows = []
    for p in PROMPTS.values():
        flags = ", ".join(f for f, on in (("starts PinEntry", p.starts_entry),
                                          ("starts PinChange", p.starts_change),
                                          ("asks for PIN", p.asks_for_pin)) if on) or "-"
        en = p.en if p.en_one is None else f"{p.en} (with 1: {p.en_one})"
        rows.append((int(p.ident), p.ident.name, p.arity, flags, p.zh, en))
    return _table(("id", "name", "args", "flags", "zh-CN", "en"), rows)


def generated_blocks() -> dict[str, str]:
    """Block name -> the exact text SPEC.md must hold between its markers."""
    _ = check_request  # the allowed-table refusals come from the same rules
    return {
        "message-types": _message_types(),
        "requests": _requests(),
        "responses": _responses(),
        "events": _events(),
        "records": _records(),
        "results": _results(),
        "enums": _enums(),
        "keys": _keys(),
        "state-table": _state_table(),
        "allowed-table": _allowed_table(),
        "prompts": _prompt_table(),
    }


def update_spec(text: str) -> str:
    blocks = generated_blocks()

    def repl(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in blocks:
            raise KeyError(f"SPEC.md has an unknown generated block {name!r}")
        return match.group(1) + blocks[name] + match.group(4)

    return _BLOCK.sub(repl, text)


def check_spec(text: str) -> list[str]:
    """Names of generated blocks that are missing from ``text`` or differ from the code."""
    found = {m.group(2): m.group(3) for m in _BLOCK.finditer(text)}
    return [name for name, body in generated_blocks().items() if found.get(name) != body]


def main(argv: list[str] | None = None) -> int:
    """``python -m protocol.tpp.spec [--check] SPEC.md``: rewrite (or only check) the blocks."""
    import argparse  # the CLI only; the module itself stays import-light

    parser = argparse.ArgumentParser(
        prog="python -m protocol.tpp.spec",
        description="Regenerate the tables of the TPP SPEC.md that come from the code.")
    parser.add_argument("path", help="the SPEC.md to update (protocol/tpp/SPEC.md)")
    parser.add_argument("--check", action="store_true",
                        help="do not write: exit 1 and name the blocks that differ from the code")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with open(args.path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        print(f"cannot read {args.path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = check_spec(text)
        if stale:
            print("blocks that differ from the code: " + ", ".join(stale)
                  + f" (run python -m protocol.tpp.spec {args.path})", file=sys.stderr)
            return 1
        return 0
    try:
        new = update_spec(text)
    except KeyError as exc:
        print(f"{args.path}: {exc.args[0]}", file=sys.stderr)
        return 1
    with open(args.path, "w", encoding="utf-8") as fh:
        fh.write(new)
    stale = check_spec(new)
    if stale:
        print("blocks missing from the document: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
