"""YAML files a person writes beside the rules (budgets, forecast events): parsed, then every
problem reported at once with file:line, the entry it belongs to and the field.

Pydantic validates the data; this module only turns a problem's location (`lines.2.amounts.0.
quarter`) into the line of the YAML file it came from, by walking the composed YAML nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from costalloc.core.errors import ConfigurationError
from costalloc.core.yaml_input import YamlDocument, problem_report, read_yaml

Loc = tuple[str | int, ...]
_SHOW_FOUND = {"extra_forbidden", "literal_error", "string_type", "decimal_parsing", "int_parsing",
               "date_from_datetime_parsing", "date_parsing", "decimal_type", "int_type",
               "date_type", "list_type", "dict_type", "greater_than", "greater_than_equal",
               "less_than_equal", "string_pattern_mismatch", "too_short"}


class SpecFileError(ConfigurationError):
    """A budgets or events file is wrong; the message lists every problem, one per line."""


@dataclass(frozen=True)
class Problem:
    loc: Loc
    message: str


@dataclass(frozen=True)
class SpecDocument:
    path: Path
    data: dict[str, Any]
    node: yaml.Node | None

    def line_of(self, loc: Loc) -> int:
        """The 1-based line of the deepest part of `loc` the file has (a missing field: the line
        of the entry that lacks it)."""
        return YamlDocument(self.path, self.data, self.node).line_of(loc)

    def entry_label(self, loc: Loc) -> str:
        """` line `id`` for a problem inside the list entry `loc` starts with, else ``."""
        if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
            entries = self.data.get(loc[0])
            if isinstance(entries, list) and 0 <= loc[1] < len(entries):
                entry = entries[loc[1]]
                kind = loc[0].removesuffix("s")
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    return f" {kind} `{entry['id']}`"
                return f" {kind} #{loc[1] + 1}"
        return ""


def read_spec(path: Path, what: str) -> SpecDocument:
    """Parse `path` (a mapping at the top); a YAML error names its line."""
    if not path.is_file():
        raise SpecFileError(f"{what} file `{path}` not found")
    document = read_yaml(path, error=SpecFileError)
    data, node = document.data, document.node
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecFileError(f"{path}:1: a {what} file is a mapping (found a "
                            f"{type(data).__name__})")
    return SpecDocument(path, data, node)


def problems_of(error: ValidationError, prefix: Loc = ()) -> list[Problem]:
    """Pydantic's errors as problems located under `prefix`, with what was found when it helps."""
    problems = []
    for item in error.errors():
        loc = prefix + tuple(item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] in _SHOW_FOUND:
            message += f" (found {_short(item.get('input'))})"
        problems.append(Problem(loc, message))
    return problems


def raise_problems(document: SpecDocument, problems: Sequence[Problem], what: str) -> None:
    """Raise one `SpecFileError` listing `problems` in file order; nothing if there are none."""
    if not problems:
        return
    located = sorted(((document.line_of(p.loc), i, p) for i, p in enumerate(problems)),
                     key=lambda t: (t[0], t[1]))
    lines = []
    for line, _, problem in located:
        label = document.entry_label(problem.loc)
        inner = problem.loc[2:] if label else problem.loc
        field = _dotted(inner)
        where = f" field `{field}`" if field else ""
        lines.append(f"{document.path}:{line}:{label}{where}: {problem.message}")
    raise SpecFileError(problem_report(f"{len(lines)} problem(s) in the {what} file:", lines))


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
