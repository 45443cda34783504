"""Read a rules file (or a folder of them) and report every problem with file:line and rule id."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from costalloc.allocation.model import STANDARD_DIMENSIONS, RuleSet
from costalloc.core.confinement import OutsideRoot, local_file
from costalloc.core.errors import ConfigurationError
from costalloc.core.yaml_input import YamlDocument, clip, excerpt, problem_report, read_yaml

# The list sections of a rules file; their entries are named by id in messages.
_ENTRIES = {"rules": ("rule", "id"), "splits": ("split", "id"),
            "capitalization": ("project", "project")}
_SHOW_FOUND = {"extra_forbidden", "literal_error", "string_type"}


class RuleFileError(ConfigurationError):
    """A rules file is wrong; the message lists every problem found, one per line."""


@dataclass(frozen=True)
class _Origin:
    """Where a merged list entry came from: its document and its index there."""

    document: YamlDocument
    index: int


def load_rules(path: Path) -> RuleSet:
    """Validate `path` before any data is touched. A folder's `*.yaml` files are read in name
    order and their rules concatenated (dimensions, normalize and defaults merged; a later
    file's `splits` or `capitalization` replace an earlier one's)."""
    files = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
    if not files or not all(f.exists() for f in files):
        raise RuleFileError(f"rules file `{path}` not found")
    documents = [_parse(f) for f in files]
    merged: dict[str, Any] = {"rules": []}
    origins: dict[str, list[_Origin]] = {"rules": []}
    for document in documents:
        assert isinstance(document.data, dict)
        for key, value in document.data.items():
            if key == "rules" and value is None:
                continue
            entries = [_Origin(document, i) for i in range(len(value))] \
                if isinstance(value, list) else []
            if key == "rules" and isinstance(value, list) and isinstance(merged["rules"], list):
                merged["rules"].extend(value)
                origins["rules"] += entries
            elif isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key].update(value)
            elif isinstance(value, dict):
                merged[key] = dict(value)
            else:
                merged[key] = value
                origins[key] = entries
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes())
    merged["version"] = digest.hexdigest()[:12]
    merged["base_dir"] = str(files[0].parent)
    dimensions = merged.get("dimensions")
    declared = {**STANDARD_DIMENSIONS, **(dimensions if isinstance(dimensions, dict) else {})}
    escapes = _driver_files_outside(documents, files[0].parent)
    try:
        ruleset = RuleSet.model_validate(merged, context={"dimensions": declared})
    except ValidationError as error:
        raise RuleFileError(_describe(documents[0], merged, origins, error, escapes)) from None
    if escapes:
        raise RuleFileError(problem_report(f"{len(escapes)} problem(s) in the rules:", escapes))
    return ruleset


def _parse(file: Path) -> YamlDocument:
    document = read_yaml(file, error=RuleFileError)
    if document.data is None:
        return YamlDocument(file, {}, document.node)
    if not isinstance(document.data, dict):
        raise RuleFileError(f"{file}:1: a rules file is a mapping (rules:, normalize:, ...)")
    return document


def _describe(first: YamlDocument, merged: dict[str, Any], origins: dict[str, list[_Origin]],
              error: ValidationError, escapes: list[str]) -> str:
    problems = list(escapes)
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if part != "fields")
        message = str(item["msg"]).removeprefix("Value error, ")
        if not loc:  # whole-file checks: one message per problem, located by entry index
            problems += [_locate(part, first, merged, origins) for part in message.split("; ")]
            continue
        found = (f" (found {excerpt(item.get('input'))})" if item["type"] in _SHOW_FOUND
                 else "")
        place, label, inner = _place(loc, first, merged, origins)
        field = "".join(f".{part}" for part in inner).removeprefix(".")
        problems.append(f"{place}:{label}{f' field `{field}`:' if field else ''} "
                        f"{message}{found}")
    return problem_report(f"{len(problems)} problem(s) in the rules:", problems)


def _place(loc: tuple[str | int, ...], first: YamlDocument, merged: dict[str, Any],
           origins: dict[str, list[_Origin]]) -> tuple[str, str, tuple[str | int, ...]]:
    """`file:line`, ` rule `id`` (or split, project) and the field path inside the entry."""
    section, index = loc[0], loc[1] if len(loc) > 1 else None
    if isinstance(section, str) and isinstance(index, int) \
            and index < len(origins.get(section, [])):
        origin = origins[section][index]
        line = origin.document.line_of((section, origin.index))
        return f"{origin.document.path}:{line}", _label(merged, section, index), loc[2:]
    return f"{first.path}:{first.line_of(loc)}", "", loc


def _label(merged: dict[str, Any], section: str, index: int) -> str:
    kind, key = _ENTRIES.get(section, (section, "id"))
    entry = merged[section][index]
    if isinstance(entry, dict) and isinstance(entry.get(key), str):
        return f" {kind} `{clip(entry[key], 60)}`"
    return f" {kind} #{index + 1}"


def _locate(problem: str, first: YamlDocument, merged: dict[str, Any],
            origins: dict[str, list[_Origin]]) -> str:
    match = re.match(r"(rules|splits|capitalization)\[(\d+)\] `[^`]*` (.*)", problem)
    if match is None:
        return f"{first.path}: {problem}"
    section, index = match.group(1), int(match.group(2))
    place, label, _ = _place((section, index), first, merged, origins)
    return f"{place}:{label} {match.group(3)}"


def _driver_files_outside(documents: list[YamlDocument], root: Path) -> list[str]:
    """Usage driver files that would leave the rules folder (by `..`, an absolute path
    elsewhere, or a symbolic link), one problem each with file:line. Nothing is opened."""
    problems = []
    for document in documents:
        splits = document.data.get("splits") if isinstance(document.data, dict) else None
        if not isinstance(splits, list):
            continue
        for index, split in enumerate(splits):
            driver = split.get("driver") if isinstance(split, dict) else None
            named = driver.get("file") if isinstance(driver, dict) else None
            if not isinstance(named, str):
                continue  # a missing or odd `file` is the model's to report
            try:
                local_file(root, named, absolute_inside=True)
            except OutsideRoot as escape:
                line = document.line_of(("splits", index, "driver", "file"))
                problems.append(f"{document.path}:{line}: split `{clip(str(split.get('id')), 60)}` "
                                f"field `driver.file`: {escape}; a driver file must be inside the "
                                f"rules folder `{root}`")
    return problems
