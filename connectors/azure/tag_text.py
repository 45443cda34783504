"""Azure's `Tags` text → the FOCUS `Tags` JSON object, in polars expressions.

What the column holds in the wild:
- a JSON object, `{"env":"prod","team":"ml"}` (MCA, FOCUS exports);
- the members without the outer braces, `"env": "prod","team": "ml"` (EA exports);
- the same, quoted once more, `"{""env"":""prod""}"` or `""env"": ""prod""` (files that were
  CSV-escaped twice);
- nothing at all, `""` or `{}`;
- the same key in two casings, `"Application"` and `"APPLICATION"` (Azure tag names are
  case-insensitive): the first one wins, so keys stay unique for a case-insensitive reader.

Azure tags are the user's own keys, so they are kept unprefixed, as FOCUS asks. A member
that isn't `"key": value` (JSON string, number, true/false/null) is dropped rather than
letting one broken row make the whole column unreadable JSON.
"""

from __future__ import annotations

import polars as pl

from costalloc.connectors import tags
from costalloc.connectors.azure.distinct import per_distinct

_STRING = r'"(?:[^"\\]|\\.)*"'
_MEMBER = _STRING + r"\s*:\s*(?:" + _STRING + r"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)"
_KEY = r'^"((?:[^"\\]|\\.)*)"'


def tags_json(text: pl.Expr) -> pl.Expr:
    """One JSON object per row (keys in their original order), or null when there are none;
    computed once per distinct tag text."""
    return per_distinct(text.cast(pl.String), _tags_json, pl.String())


def _tags_json(text: pl.Expr) -> pl.Expr:
    value = text.str.strip_chars()
    value = (pl.when(value.str.starts_with('"{') & value.str.ends_with('}"'))
             .then(value.str.slice(1, value.str.len_chars() - 2)).otherwise(value))
    value = (pl.when(value.str.contains(r'^\{?\s*""[^"]'))
             .then(value.str.replace_all('""', '"', literal=True)).otherwise(value))
    members = value.str.extract_all(_MEMBER).list.eval(
        pl.element().str.replace(r"^(" + _STRING + r")\s*:\s*", "${1}:"))
    unique = members.list.eval(pl.element().filter(
        pl.element().str.extract(_KEY).str.to_lowercase().is_first_distinct()))
    return tags.tags_object([unique.list.join(",")])
