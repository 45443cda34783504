"""`docs/sources.md`, written from the source registry: every kind, its window, its usual
delivery lag and every option it accepts. Regenerate it after changing a kind:

    .venv/bin/python -m costalloc.connectors.source_docs > docs/sources.md

(`tests/connectors/test_registry.py` fails while the file and the registry disagree.)
"""

from __future__ import annotations

import types
from datetime import timedelta
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from costalloc.connectors.registry import KINDS, SourceKind

_TYPES = {int: "whole number", float: "number", str: "text", bool: "true / false"}


def sources_markdown(kinds: dict[str, SourceKind] | None = None) -> str:
    kinds = KINDS if kinds is None else kinds
    lines = [
        "# Source kinds",
        "",
        "<!-- Written by `python -m costalloc.connectors.source_docs` from "
        "connectors/registry.py; do not edit by hand. -->",
        "",
        "A source in `costalloc.yaml` names one of these kinds. Its `options:` are checked "
        "against the kind's options model: an unknown or malformed option stops the run before "
        "anything is read, with one paragraph naming the source, the option and every option "
        "the kind accepts. To add a kind, see [adding a source](adding-a-source.md).",
        "",
        "| kind | reads | restatement window | usual delivery lag |",
        "|---|---|---|---|",
    ]
    for kind in kinds.values():
        lines.append(f"| [`{kind.name}`](#{kind.name}) | {kind.description} | "
                     f"{_days(kind.restatement_days)} | {_lag(kind.delivery_lag)} |")
    lines += [
        "",
        "- **Restatement window**: after a month ends, how long the run keeps re-checking it "
        "(the provider may still rewrite it). A source overrides it with "
        "`options.restatement_days`.",
        "- **Usual delivery lag**: the longest the provider usually goes between deliveries. The "
        "nightly summary flags a source that has had no new delivery for longer.",
        "- A source whose `uri` (bucket, prefix, folder, table, container, scope) does not exist "
        "fails the run naming what was looked for; \"no delivery yet\" is only for an export "
        "that exists without a delivery for the month.",
        "- `retry_deadline_seconds` bounds how long one call to a cloud endpoint is retried. An "
        "endpoint that could not be reached for all of it fails the source for this run (the "
        "flow does not retry it again) with a message naming the endpoint and how long it was "
        "tried; throttling and 5xx answers that outlast it are retried by the flow later.",
    ]
    for kind in kinds.values():
        lines += ["", f"## {kind.name}", "", kind.description + ".", "",
                  f"Connector: `{kind.connector}`; options: `{kind.options.__name__}`.", "",
                  "| option | type | default | what it does |", "|---|---|---|---|"]
        for name, field in sorted(kind.options.model_fields.items()):
            lines.append(f"| `{name}` | {_type(field.annotation)} | {_default(field)} | "
                         f"{field.description or ''} |")
    return "\n".join(lines) + "\n"


def undocumented_options(kinds: dict[str, SourceKind] | None = None) -> list[str]:
    """`kind.option` for every option without a description."""
    kinds = KINDS if kinds is None else kinds
    return [f"{kind.name}.{name}" for kind in kinds.values()
            for name, field in kind.options.model_fields.items() if not field.description]


def _type(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{value}`" for value in get_args(annotation))
    if origin in (Union, types.UnionType):
        return " or ".join(_type(arg) for arg in get_args(annotation) if arg is not type(None))
    return _TYPES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default is None:
        return "–"
    return f"`{field.default}`"


def _days(days: int) -> str:
    return f"{days} day" + ("" if days == 1 else "s")


def _lag(lag: timedelta | None) -> str:
    if lag is None:
        return "none (on demand)"
    hours = int(lag.total_seconds() // 3600)
    return f"{hours} hours" if hours < 48 else f"{hours // 24} days"


if __name__ == "__main__":
    print(sources_markdown(), end="")
