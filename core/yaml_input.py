"""Every YAML file a person hands over (costalloc.yaml, rules, budgets, events) is read here,
with bounds, so a hostile or mistaken file costs seconds and a short message — never gigabytes.

- size: at most `MAX_FILE_BYTES` are read (a device or a huge file is refused unread);
- aliases: YAML lets `*name` repeat an anchored node, so nine nested levels of ten aliases
  stand for a billion values while the file stays tiny (an "alias bomb"). The composed node
  graph is measured as the tree it expands to, before any Python object is built, and a file
  over `MAX_VALUES` values is refused naming the line where the expansion crosses the budget;
  an alias that refers to a node containing itself is refused too;
- messages: errors name file and line and quote at most `EXCERPT_CHARS` of what was found
  (`excerpt`), and a list of problems shows at most `MAX_PROBLEMS_SHOWN` (`problem_report`).
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from costalloc.core.errors import ConfigurationError

MAX_FILE_BYTES = 4 * 2**20
MAX_VALUES = 1_000_000  # scalars, lists and mappings once every alias is expanded
EXCERPT_CHARS = 80
MAX_PROBLEMS_SHOWN = 25
_LINE_CHARS = 400
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDocument:
    """A parsed file: its data and the composed node graph (for lines of problems)."""

    path: Path
    data: object
    node: yaml.Node | None

    def line_of(self, loc: Loc) -> int:
        """The 1-based line of the deepest part of `loc` the file has (a missing field: the line
        of the entry that lacks it)."""
        node = self.node
        if node is None:
            return 1
        line = node.start_mark.line + 1
        for part in loc:
            child = _child(node, part)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line


def read_yaml(path: Path, *, error: type[ConfigurationError] = ConfigurationError,
              expand: Callable[[str], str] | None = None) -> YamlDocument:
    """Parse `path` within the bounds above; `expand` rewrites the text before parsing (e.g.
    `${VAR}` substitution). Every refusal is an `error` naming the file (and line)."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as problem:
        raise error(f"{path}: cannot be read ({problem.strerror or problem})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise error(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB, the most a "
                    "configuration file may be; refused unread")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as problem:
        line = raw[:problem.start].count(b"\n") + 1
        raise error(f"{path}:{line}: not UTF-8 text") from None
    if expand is not None:
        text = expand(text)
        if len(text) > MAX_FILE_BYTES:
            raise error(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB once variables are "
                        "expanded")
    return parse_yaml(text, path, error=error)


def parse_yaml(text: str, path: Path, *,
               error: type[ConfigurationError] = ConfigurationError) -> YamlDocument:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node, path, error)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None) or getattr(problem, "context_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        what = getattr(problem, "problem", None) or str(problem)
        raise error(f"{where}: not valid YAML: {clip(str(what), EXCERPT_CHARS * 2)}") from None
    except (ValueError, TypeError, OverflowError) as problem:  # e.g. a date `2026-13-01`
        assert node is not None
        raise error(f"{path}:{_unconstructible_line(loader, node)}: not valid YAML: "
                    f"{clip(str(problem), EXCERPT_CHARS * 2)}") from None
    finally:
        loader.dispose()
    return YamlDocument(path, data, node)


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """`repr(value)` cut to `limit` characters, without ever rendering all of a large value."""
    shown = _REPR.repr(value)
    return clip(shown, limit)


def problem_report(header: str, problems: Sequence[str]) -> str:
    """`header`, then the problems one per line: each cut to a few hundred characters, and at
    most `MAX_PROBLEMS_SHOWN` of them (the rest counted)."""
    shown = [clip(problem, _LINE_CHARS) for problem in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        shown.append(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more problem(s)")
    return "\n".join([header, *shown])


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = EXCERPT_CHARS
_REPR.maxother = EXCERPT_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxdict = 6


def clip(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text`, cut to `limit` characters (an ellipsis says it was)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                child: yaml.Node = value
                return child
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
            and 0 <= part < len(node.value):
        item: yaml.Node = node.value[part]
        return item
    return None


def _check_expansion(root: yaml.Node, path: Path, error: type[ConfigurationError]) -> None:
    """Refuse a graph whose expanded tree has more than `MAX_VALUES` nodes, or a cycle.

    Depth first, without recursion; each distinct node is measured once (an alias is the same
    node object again, so its size is added each time it is used but computed once)."""
    sizes: dict[int, int] = {}
    entered: set[int] = set()  # nodes whose children are being measured: the current path
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, measured = stack.pop()
        key = id(node)
        if measured:
            entered.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_VALUES:
                raise error(f"{path}:{node.start_mark.line + 1}: this part of the file "
                            f"expands to more than {MAX_VALUES:,} values (each use of an alias "
                            "counts in full); refused — use fewer or smaller aliases, or split "
                            "the file")
            continue
        if key in sizes:
            continue
        entered.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in entered:
                raise error(f"{path}:{node.start_mark.line + 1}: an alias here refers to a node "
                            "that contains it; refused (the value would never end)")
            if id(child) not in sizes:
                stack.append((child, False))


def _unconstructible_line(loader: yaml.constructor.SafeConstructor, root: yaml.Node) -> int:
    """The line of the first timestamp-like scalar that is no real date (else the first)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode) and node.tag == _TIMESTAMP_TAG:
            try:
                loader.construct_yaml_timestamp(node)
            except (ValueError, TypeError, OverflowError):
                return int(node.start_mark.line) + 1
        stack.extend(reversed(list(_children(node))))
    return int(root.start_mark.line) + 1
