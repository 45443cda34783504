"""`reports/` is three rooms whose doors open one way: finance (what finance reads) needs
neither of the others, planning (budgets, review, forecast) builds on finance, serving (the HTTP
endpoint) may use both. Read from the import statements in the source, so an import anywhere in
a module — inside a function or under TYPE_CHECKING too — is caught."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import costalloc.reports

ROOMS = Path(costalloc.reports.__file__).parent
MAY_IMPORT: dict[str, set[str]] = {"finance": set(), "planning": {"finance"},
                                   "serving": {"finance", "planning"}}


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, absolute name) of every module or name imported by `source`, a module of
    `package`; relative imports resolved."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _room_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[2] if parts[:2] == ["costalloc", "reports"] and len(parts) > 2 else None


@pytest.mark.parametrize("room", sorted(MAY_IMPORT))
def test_each_room_imports_only_the_rooms_it_may(room: str) -> None:
    modules = sorted((ROOMS / room).glob("*.py"))
    assert len(modules) > 1, f"no modules found in {ROOMS / room}"
    crossings = [
        f"reports/{room}/{module.name}:{line} imports {name}"
        for module in modules
        for line, name in imported_modules(module.read_text(), f"costalloc.reports.{room}")
        if _room_of(name) not in (None, room, *MAY_IMPORT[room])
        or name.startswith("costalloc.flows")]  # nothing imports a flow
    assert crossings == []


def test_the_scan_finds_every_kind_of_import() -> None:
    source = ("from typing import TYPE_CHECKING\n"
              "if TYPE_CHECKING:\n"
              "    from costalloc.reports.planning.review import Review\n"
              "def f():\n"
              "    from ..serving import endpoint\n"
              "import costalloc.reports.planning.forecast\n"
              "from . import sheets\n")
    names = [name for _, name in imported_modules(source, "costalloc.reports.finance")]
    assert {_room_of(n) for n in names} == {None, "planning", "serving", "finance"}
    assert "costalloc.reports.serving.endpoint" in names
    assert "costalloc.reports.finance.sheets" in names
