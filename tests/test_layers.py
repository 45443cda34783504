"""The root folders are layers and no arrow runs up: `sql` and `core` at the bottom, the flows at
the top, nothing imports a flow. Read from the import statements in the source (an import inside
a function or under TYPE_CHECKING counts too), so a new upward arrow fails here with its file and
line. `reports/`'s three rooms have their own rule (`tests/reports/test_rooms.py`)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.reports.test_rooms import imported_modules

ROOT = Path(__file__).resolve().parents[1]
MAY_IMPORT: dict[str, set[str]] = {
    "sql": set(),
    "demo": set(),
    "core": set(),
    "warehouse": {"core", "sql"},
    "connectors": {"core", "sql", "warehouse"},
    "allocation": {"core", "sql", "warehouse"},
    "reports": {"core", "sql", "warehouse", "allocation"},
    "flows": {"core", "sql", "warehouse", "connectors", "allocation", "reports", "demo"},
}
# The arrows that run against the layers on purpose, each with its reason.
EXCEPTIONS: dict[str, set[str]] = {
    # A source's `kind` is checked against the registry when the settings are read; imported
    # inside the validator so that importing core imports no connector.
    "core/settings.py": {"connectors"},
}


def _layer_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "costalloc" and len(parts) > 1 and parts[1] in MAY_IMPORT else None


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    modules = sorted((ROOT / layer).rglob("*.py"))
    assert modules, f"no modules found in {ROOT / layer}"
    crossings = []
    for module in modules:
        path = module.relative_to(ROOT).as_posix()
        package = "costalloc." + ".".join(module.relative_to(ROOT).parent.parts)
        allowed = {layer, *MAY_IMPORT[layer], *EXCEPTIONS.get(path, set())}
        crossings += [f"{path}:{line} imports {name}"
                      for line, name in imported_modules(module.read_text(), package)
                      if _layer_of(name) not in (None, *allowed)]
    assert crossings == []


def test_every_root_folder_that_installs_is_a_layer() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        package_dir = tomllib.load(file)["tool"]["setuptools"]["package-dir"]
    assert {folder for name, folder in package_dir.items() if name != "costalloc"} == set(MAY_IMPORT)
