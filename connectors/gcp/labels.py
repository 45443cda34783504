"""GCP's four tag schemes → one FOCUS `Tags` JSON object.

FOCUS asks for one user-defined scheme without a prefix and a distinct prefix for every other
scheme, so rules can match any of them and no two schemes can collide:

| export field    | what it is                                  | key in `Tags`                     |
|-----------------|---------------------------------------------|-----------------------------------|
| `labels`        | labels on the resource (user-defined)       | `<key>` as written, e.g. `Env`    |
| `project.labels`| labels on the project                       | `gcp:project/<key>`               |
| `system_labels` | set by Google (`compute.googleapis.com/...`, `goog-...`) | `gcp:system/<key>`   |
| `tags`          | Resource Manager tags (incl. inherited)     | `gcp:tag/<key>`                   |
|                 | ... when the value was inherited            | also `gcp:tag-inherited/<key>`: `"true"` |

GCP label keys cannot contain `:`, so `gcp:` can never clash with a user label. Resource Manager
tags are finalized the FOCUS way: a tag bound to the resource itself wins over one inherited
from its folder or organization; `gcp:tag-inherited/<key>` records when the value came from
above. Keys and values are never altered (no lower-casing: `Env: Prod` stays `Env: Prod`);
labels with empty values are dropped, as for every provider (`connectors.tags`).
"""

from __future__ import annotations

import polars as pl

from costalloc.connectors import tags
from costalloc.connectors.gcp.fields import Fields

PROJECT_PREFIX = "gcp:project/"
SYSTEM_PREFIX = "gcp:system/"
TAG_PREFIX = "gcp:tag/"
INHERITED_PREFIX = "gcp:tag-inherited/"


def tags_json(fields: Fields) -> pl.Expr:
    """The FOCUS `Tags` object for every row; null when a row has no tag at all."""
    fragments = []
    for path, prefix in (("labels", ""), ("project.labels", PROJECT_PREFIX),
                         ("system_labels", SYSTEM_PREFIX)):
        pairs = _key_value_pairs(fields, path)
        if pairs is not None:
            fragments.append(tags.fragment_from_entries(pairs, prefix))
    fragments += _resource_manager_tags(fields)
    return tags.tags_object(fragments)


def _key_value_pairs(fields: Fields, path: str) -> pl.Expr | None:
    """A REPEATED RECORD with `key` and `value` as a list of exactly {key, value} structs."""
    items = fields.items(path)
    if items is None or fields.item_field(path, "key") is None or fields.item_field(path, "value") is None:
        return None
    element = pl.element().struct
    return items.list.eval(pl.struct(element.field("key").cast(pl.String),
                                     element.field("value").cast(pl.String)))


def _resource_manager_tags(fields: Fields) -> list[pl.Expr]:
    pairs = _key_value_pairs(fields, "tags")
    if pairs is None:
        return []
    items = fields.raw("tags")
    element = pl.element().struct
    if fields.item_field("tags", "inherited") is None:
        return [tags.fragment_from_entries(pairs, TAG_PREFIX)]
    inherited = element.field("inherited").fill_null(False)
    finalized = (
        items.list.eval(pl.element().sort_by(inherited, maintain_order=True))
        .list.eval(pl.element().filter(element.field("key").is_first_distinct()))
    )
    values = finalized.list.eval(pl.struct(element.field("key").cast(pl.String),
                                           element.field("value").cast(pl.String)))
    markers = finalized.list.eval(
        pl.struct(element.field("key").cast(pl.String).alias("key"), pl.lit("true").alias("value"))
        .filter(inherited))
    return [tags.fragment_from_entries(values, TAG_PREFIX),
            tags.fragment_from_entries(markers, INHERITED_PREFIX)]
