"""Build the FOCUS `Tags` JSON object from whatever shape a provider stores tags in.

Each builder returns a *fragment*: the members of a JSON object without braces
(`"env":"prod","team":"ml"`), empty or null when there are none. `tags_object` joins
fragments into one object, null when no member remains. Everything stays in polars
expressions: no per-row Python. Each fragment is evaluated once: polars doesn't share a
subexpression that appears twice in one expression, and a tag fragment over millions of rows
is the normalizer's most expensive column.
"""

from __future__ import annotations

import re

import polars as pl

_PLAIN = re.compile(r'^[^"\\\x00-\x1f]*$')  # text that JSON writes as is


def json_string(value: pl.Expr) -> pl.Expr:
    """`value` as a quoted, escaped JSON string literal (null stays null)."""
    return _json_value(value.cast(pl.String))


def _json_value(value: pl.Expr) -> pl.Expr:
    """`value` as JSON text of its own type: a string quoted and escaped, a number as is."""
    return pl.struct(value.alias("v")).struct.json_encode().str.slice(5).str.head(-1)


def is_map(dtype: pl.DataType) -> bool:
    """A Parquet MAP column, as polars reads it (a native map, or a list of key/value)."""
    return isinstance(dtype, (pl.Map, pl.List))


def entries(column: str, dtype: pl.DataType) -> pl.Expr:
    """A MAP column as a list of {key, value} structs."""
    return pl.col(column).map.entries() if isinstance(dtype, pl.Map) else pl.col(column)


def fragment_from_entries(entries: pl.Expr, key_prefix: str = "",
                          renames: dict[str, str] | None = None) -> pl.Expr:
    """A list of {key, value} structs (a Parquet MAP) → members; empty values dropped.

    `renames` replaces key prefixes as `rename_keys` does on the joined fragment, but per key,
    before encoding (cheaper on millions of rows); its prefixes must be plain text.
    """
    value = pl.element().struct.field("value")
    kept = pl.element().filter(value.is_not_null() & (value.cast(pl.String) != ""))
    key = kept.struct.field("key").cast(pl.String)
    for old, new in (renames or {}).items():
        if not (_PLAIN.match(old) and _PLAIN.match(new)):
            raise ValueError(f"key rename `{old}` → `{new}`: only plain text can be renamed per key")
        key = pl.when(key.str.starts_with(old)).then(pl.lit(new) + key.str.slice(len(old))) \
            .otherwise(key)
    quoted_key = json_string(key)
    if key_prefix:
        quoted_key = pl.lit('"' + key_prefix) + quoted_key.str.slice(1)
    member = pl.concat_str(quoted_key, pl.lit(":"), _json_value(kept.struct.field("value")))
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
    members = pl.concat_str([f.replace("", None) for f in fragments], separator=",",
                            ignore_nulls=True)
    return pl.concat_str(pl.lit("{"), members, pl.lit("}")).replace("{}", None)


def _escape_replacement(text: str) -> str:
    return text.replace("$", "$$")
