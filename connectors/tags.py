"""Build the FOCUS `Tags` JSON object from whatever shape a provider stores tags in.

Each builder returns a *fragment*: the members of a JSON object without braces
(`"env":"prod","team":"ml"`), empty or null when there are none. `tags_object` joins
fragments into one object, null when no member remains. Everything stays in polars
expressions: no per-row Python.
"""

from __future__ import annotations

import re

import polars as pl

_ENTRY = r'^\{"key":(".*"),"value":(.*)\}$'


def json_string(value: pl.Expr) -> pl.Expr:
    """`value` as a quoted, escaped JSON string literal (null stays null)."""
    return pl.struct(value.cast(pl.String).alias("v")).struct.json_encode().str.slice(5).str.head(-1)


def is_map(dtype: pl.DataType) -> bool:
    """A Parquet MAP column, as polars reads it (a native map, or a list of key/value)."""
    return isinstance(dtype, (pl.Map, pl.List))


def entries(column: str, dtype: pl.DataType) -> pl.Expr:
    """A MAP column as a list of {key, value} structs."""
    return pl.col(column).map.entries() if isinstance(dtype, pl.Map) else pl.col(column)


def fragment_from_entries(entries: pl.Expr, key_prefix: str = "") -> pl.Expr:
    """A list of {key, value} structs (a Parquet MAP) → members; empty values dropped."""
    value = pl.element().struct.field("value")
    kept = pl.element().filter(value.is_not_null() & (value.cast(pl.String) != ""))
    member = kept.struct.json_encode().str.replace(_ENTRY, "${1}:${2}")
    if key_prefix:
        member = member.str.replace(r'^"', '"' + _escape_replacement(key_prefix))
    return entries.list.eval(member).list.join(",")


def fragment_from_json_object(text: pl.Expr, key_prefix: str = "") -> pl.Expr:
    """A JSON object as text (a CSV MAP column) → its members, keys prefixed if asked."""
    inner = text.str.strip_chars().str.strip_prefix("{").str.strip_suffix("}").str.strip_chars()
    if key_prefix:
        inner = inner.str.replace_all(r'(^|,)\s*"', '${1}"' + _escape_replacement(key_prefix))
    return inner


def fragment_from_column(column: str, key: str) -> pl.Expr:
    """One flat tag column (legacy CUR `resourceTags/user:Env`) → a member, or null."""
    value = pl.col(column).cast(pl.String)
    quoted_key = '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '":'
    return pl.when(value.is_not_null() & (value != "")).then(pl.lit(quoted_key) + json_string(value))


def rename_keys(fragment: pl.Expr, renames: dict[str, str]) -> pl.Expr:
    """Replace key prefixes in a fragment (`user_` → ``, `aws_` → `aws:`)."""
    for old, new in renames.items():
        fragment = fragment.str.replace_all(
            r'(^|,)\s*"' + re.escape(old), '${1}"' + _escape_replacement(new))
    return fragment


def tags_object(fragments: list[pl.Expr]) -> pl.Expr:
    """Join fragments into one JSON object; null when there are no members at all."""
    if not fragments:
        return pl.lit(None, dtype=pl.String)
    cleaned = [pl.when(f.is_not_null() & (f != "")).then(f) for f in fragments]
    members = pl.concat_str(cleaned, separator=",", ignore_nulls=True)
    return pl.when(members.is_not_null() & (members != "")).then(pl.lit("{") + members + pl.lit("}"))


def _escape_replacement(text: str) -> str:
    return text.replace("$", "$$")
