"""Hypothesis strategies derived from the EF01 construct schemas themselves."""

from __future__ import annotations

from construct import Bytes, Construct, FormatField, Renamed, Struct
from hypothesis import strategies as st


def schema_strategy(con: Construct) -> st.SearchStrategy:
    """Values for a Struct of integer and fixed-size Bytes fields."""
    while isinstance(con, Renamed):
        con = con.subcon
    if isinstance(con, Struct):
        return st.fixed_dictionaries({s.name: schema_strategy(s) for s in con.subcons if s.name})
    if isinstance(con, FormatField):
        return st.integers(0, 2 ** (8 * con.length) - 1)
    if isinstance(con, Bytes):
        return st.binary(min_size=con.length, max_size=con.length)
    raise AssertionError(f"no strategy for {con!r}")
