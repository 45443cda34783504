"""The project's SQL, one statement per `.sql` file, loaded by name.

Statements take named or positional parameters; nothing here is built from user data.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    """The text of `sql/<name>.sql`, e.g. `load("schema/line_items")`."""
    return resources.files(__package__).joinpath(f"{name}.sql").read_text()


SCHEMA = ("schema/line_items", "schema/ingest_log", "schema/allocated_costs", "schema/allocation_log",
          "schema/partition_locks", "schema/budget_breaches")
