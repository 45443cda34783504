"""Read a rules file (or a folder of them) and report every problem with file:line and rule id."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from costalloc.allocation.model import STANDARD_DIMENSIONS, RuleSet
from costalloc.core.confinement import OutsideRoot, local_file
from costalloc.core.errors import ConfigurationError


class RuleFileError(ConfigurationError):
    """A rules file is wrong; the message lists every problem found, one per line."""


def load_rules(path: Path) -> RuleSet:
    """Validate `path` before any data is touched. A folder's `*.yaml` files are read in name
    order and their rules concatenated (dimensions, normalize and defaults merged)."""
    files = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
    if not files or not all(f.exists() for f in files):
        raise RuleFileError(f"rules file `{path}` not found")
    documents = [(f, _parse(f)) for f in files]
    merged: dict[str, Any] = {"rules": []}
    for _, document in documents:
        for key, value in document.items():
            if key == "rules":
                merged["rules"].extend(value or [])
            elif isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            else:
                merged[key] = value
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes())
    merged["version"] = digest.hexdigest()[:12]
    merged["base_dir"] = str(files[0].parent)
    declared = {**STANDARD_DIMENSIONS, **(merged.get("dimensions") or {})}
    escapes = _driver_files_outside(documents, files[0].parent)
    try:
        ruleset = RuleSet.model_validate(merged, context={"dimensions": declared})
    except ValidationError as error:
        raise RuleFileError(_describe(documents, merged, error, escapes)) from None
    if escapes:
        raise RuleFileError(f"{len(escapes)} problem(s) in the rules:\n" + "\n".join(escapes))
    return ruleset


def _parse(file: Path) -> dict[str, Any]:
    text = file.read_text()
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark else str(file)
        raise RuleFileError(f"{where}: not valid YAML: {getattr(error, 'problem', error)}") from None
    if not isinstance(document, dict):
        raise RuleFileError(f"{file}:1: a rules file is a mapping (rules:, normalize:, ...)")
    return document


def _describe(documents: list[tuple[Path, dict[str, Any]]], merged: dict[str, Any],
              error: ValidationError, found: list[str]) -> str:
    lines_by_rule = _rule_locations(documents)
    problems = list(found)
    for item in error.errors():
        loc = [part for part in item["loc"] if part not in ("fields",)]
        where = ".".join(str(part) for part in loc) or "(file)"
        place = f"{documents[0][0]}"
        rule_id = ""
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            file, line = lines_by_rule[loc[1]] if loc[1] < len(lines_by_rule) else (place, 0)
            place = f"{file}:{line}"
            raw_rule = merged["rules"][loc[1]]
            if isinstance(raw_rule, dict) and "id" in raw_rule:
                rule_id = f" rule `{raw_rule['id']}`"
            where = ".".join(str(part) for part in loc[2:]) or "(rule)"
        message = str(item["msg"]).removeprefix("Value error, ")
        if not loc:  # whole-file checks: one message per problem, located by rule index
            problems += [_locate(part, lines_by_rule, place) for part in message.split("; ")]
            continue
        found = item.get("input")
        found_text = f" (found {found!r})" if item["type"] in {"extra_forbidden", "literal_error",
                                                                 "string_type"} else ""
        field = "" if where == "(rule)" else f" field `{where}`:"
        problems.append(f"{place}:{rule_id}{field} {message}{found_text}")
    return f"{len(problems)} problem(s) in the rules:\n" + "\n".join(problems)


def _locate(problem: str, lines_by_rule: list[tuple[Path, int]], default: str) -> str:
    match = re.match(r"rules\[(\d+)\] (.*)", problem)
    if match and int(match.group(1)) < len(lines_by_rule):
        file, line = lines_by_rule[int(match.group(1))]
        return f"{file}:{line}: rule {match.group(2)}"
    return f"{default}: {problem}"


def _driver_files_outside(documents: list[tuple[Path, dict[str, Any]]], root: Path) -> list[str]:
    """Usage driver files that would leave the rules folder (by `..`, an absolute path
    elsewhere, or a symbolic link), one problem each with file:line. Nothing is opened."""
    problems = []
    for file, document in documents:
        splits = document.get("splits")
        if not isinstance(splits, list):
            continue
        lines = _driver_file_lines(file)
        for index, split in enumerate(splits):
            driver = split.get("driver") if isinstance(split, dict) else None
            named = driver.get("file") if isinstance(driver, dict) else None
            if not isinstance(named, str):
                continue  # a missing or odd `file` is the model's to report
            try:
                local_file(root, named, absolute_inside=True)
            except OutsideRoot as escape:
                problems.append(f"{file}:{lines.get(index, 0)}: split `{split.get('id')}` field "
                                f"`driver.file`: {escape}; a driver file must be inside the "
                                f"rules folder `{root}`")
    return problems


def _driver_file_lines(file: Path) -> dict[int, int]:
    """Line of each split's `driver.file` value, by the split's index in `file`."""
    node = yaml.compose(file.read_text())
    lines: dict[int, int] = {}
    if not isinstance(node, yaml.MappingNode):
        return lines
    for key, value in node.value:
        if key.value != "splits" or not isinstance(value, yaml.SequenceNode):
            continue
        for index, split in enumerate(value.value):
            for name, field in split.value if isinstance(split, yaml.MappingNode) else []:
                if name.value == "driver" and isinstance(field, yaml.MappingNode):
                    for key_node, item in field.value:
                        if key_node.value == "file":
                            lines[index] = item.start_mark.line + 1
    return lines


def _rule_locations(documents: list[tuple[Path, dict[str, Any]]]) -> list[tuple[Path, int]]:
    """(file, line) of each rule, in merged order."""
    locations: list[tuple[Path, int]] = []
    for file, _ in documents:
        node = yaml.compose(file.read_text())
        if not isinstance(node, yaml.MappingNode):
            continue
        for key, value in node.value:
            if key.value == "rules" and isinstance(value, yaml.SequenceNode):
                locations += [(file, item.start_mark.line + 1) for item in value.value]
    return locations
