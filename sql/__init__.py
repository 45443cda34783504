"""The project's SQL, one statement per `.sql` file, loaded by name.

Statements take named or positional parameters; nothing here is built from user data.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    """The text of `sql/<name>.sql`, e.g. `load("schema/line_items")`."""
    return resources.files(__package__).joinpath(f"{name}.sql").read_text()


# The warehouse's tables and views as they are now, in creation order (a view after the tables it
# reads); warehouses made by earlier releases are brought here by the migrations below
# (warehouse/migrations.py).
SCHEMA = ("schema/line_items", "schema/ingest_log", "schema/allocated_costs",
          "schema/allocated_line_items", "schema/allocation_log", "schema/partition_locks",
          "schema/budget_breaches", "schema/schema_version", "schema/month_spend",
          "schema/month_unallocated")


def migration_scripts() -> dict[str, list[tuple[str, str]]]:
    """Each `sql/migrations/<folder>/`'s `.sql` files as (file name, text), in name order."""
    root = resources.files(__package__).joinpath("migrations")
    return {
        folder.name: sorted((file.name, file.read_text()) for file in folder.iterdir()
                            if file.name.endswith(".sql"))
        for folder in root.iterdir() if folder.is_dir() and not folder.name.startswith("_")
    }


def used_params(statement: str, params: dict[str, object]) -> dict[str, object]:
    """The named parameters `statement` uses (DuckDB refuses any it does not)."""
    used = set(re.findall(r"\$([a-z_0-9]+)", statement))
    return {key: value for key, value in params.items() if key in used}


def fill(template: str, **slots: str) -> str:
    """A statement with its `{slot}`s filled; only SQL built from checked names arrives."""
    return template.format_map(_Slots(slots))


class _Slots(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise KeyError(f"SQL template slot `{key}` has no value")
