"""Schema versions: every warehouse records the version of its tables, and a read-write open
brings an older one forward, one migration at a time.

- Version 1 is the schema costalloc shipped before versions were recorded: a warehouse with a
  `line_items` table and no `schema_version` table.
- Each later version N is a folder `sql/migrations/<NNNN>_<name>/` of `.sql` files, one statement
  each, run in file-name order in ONE transaction together with the `schema_version` row that
  records N. A migration that fails leaves the warehouse exactly as it was.
- A new warehouse gets the tables of `sql/schema/*.sql` as they are now and is recorded at
  `current_version()` at once; tests/warehouse/test_migrations.py proves that a version-1
  warehouse migrated forward ends with the same tables, column for column.
- After migrating, `sql/schema/*.sql` runs (`create table if not exists`), so a table added to the
  schema needs no migration; a changed table does.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from importlib import metadata

import duckdb

from costalloc.core.errors import WarehouseSchemaError
from costalloc.sql import SCHEMA, load, migration_scripts

log = logging.getLogger(__name__)

UNVERSIONED = 1  # what a warehouse made before versions were recorded is at
_FOLDER = re.compile(r"^(\d{4})_([a-z][a-z0-9_]*)$")
_FILE = re.compile(r"^\d{2}_[a-z][a-z0-9_]*\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[tuple[str, str], ...]  # (file name, one SQL statement), in order


def parse_migrations(scripts: dict[str, list[tuple[str, str]]]) -> tuple[Migration, ...]:
    """Migrations from `{folder: [(file, text)]}`, checked: folder and file names match
    `NNNN_name` / `NN_name.sql`, versions run 2, 3, … without gaps, each file holds exactly one
    statement."""
    migrations = []
    for folder, files in sorted(scripts.items()):
        match = _FOLDER.match(folder)
        if not match:
            raise ValueError(f"sql/migrations/{folder}: a migration folder is named NNNN_name")
        for file, text in files:
            if not _FILE.match(file):
                raise ValueError(f"sql/migrations/{folder}/{file}: a migration file is named "
                                 "NN_name.sql")
            if len(duckdb.extract_statements(text)) != 1:
                raise ValueError(f"sql/migrations/{folder}/{file}: holds "
                                 f"{len(duckdb.extract_statements(text))} statements, not one")
        if not files:
            raise ValueError(f"sql/migrations/{folder}: holds no .sql file")
        migrations.append(Migration(int(match.group(1)), match.group(2), tuple(files)))
    expected = list(range(UNVERSIONED + 1, UNVERSIONED + 1 + len(migrations)))
    if [m.version for m in migrations] != expected:
        raise ValueError(f"sql/migrations: versions {[m.version for m in migrations]} should be "
                         f"{expected}")
    return tuple(migrations)


@cache
def shipped_migrations() -> tuple[Migration, ...]:
    """The migrations in this release's `sql/migrations/`."""
    return parse_migrations(migration_scripts())


def current_version(migrations: Sequence[Migration] | None = None) -> int:
    """The schema version this code reads and writes."""
    steps = shipped_migrations() if migrations is None else migrations
    return steps[-1].version if steps else UNVERSIONED


def recorded_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The warehouse's schema version; None for an empty warehouse."""
    if _has_table(con, "schema_version"):
        version = con.sql(load("warehouse/schema_version")).fetchall()[0][0]
        if version is not None:
            return int(version)
    return UNVERSIONED if _has_table(con, "line_items") else None


# Connections of one process share the database: one of them migrates at a time. (DuckDB lets
# only one process open a warehouse for writing.)
_MIGRATING = threading.Lock()


def bring_to_current(con: duckdb.DuckDBPyConnection, warehouse: str,
                     migrations: Sequence[Migration] | None = None) -> list[Migration]:
    """Create a new warehouse at the current version, or migrate an older one; the migrations
    applied, in order. A warehouse newer than this code is refused, untouched."""
    steps = shipped_migrations() if migrations is None else tuple(migrations)
    current = current_version(steps)
    with _MIGRATING:
        version = recorded_version(con)
        if version is None:
            with _transaction(con, warehouse, "creating the tables", "empty"):
                _create(con, current)
            return []
        _refuse_newer(version, current, warehouse)
        applied = []
        for migration in (m for m in steps if m.version > version):
            with _transaction(con, warehouse, f"migration {migration.version:04d}_{migration.name}",
                              f"at schema version {version}"):
                _apply(con, migration)
            log.info("warehouse %s: schema migrated from version %d to %d (%s)", warehouse,
                     version, migration.version, migration.name)
            version = migration.version
            applied.append(migration)
        for name in SCHEMA:  # tables this warehouse never had
            con.execute(load(name))
        return applied


def require_current(con: duckdb.DuckDBPyConnection, warehouse: str) -> None:
    """For a read-only open: refuse a warehouse at another version than this code's."""
    version = recorded_version(con)
    current = current_version()
    if version is None:
        return
    _refuse_newer(version, current, warehouse)
    if version < current:
        raise WarehouseSchemaError(
            f"warehouse `{warehouse}` is at schema version {version} and this costalloc reads "
            f"version {current}: run `costalloc migrate` (or any command that writes, such as "
            "`costalloc run`) to migrate it, then try again; nothing was changed")


def _refuse_newer(version: int, current: int, warehouse: str) -> None:
    if version > current:
        raise WarehouseSchemaError(
            f"warehouse `{warehouse}` is at schema version {version}, written by a newer "
            f"costalloc; this one ({_release()}) knows versions up to {current}. Upgrade "
            "costalloc to open it; nothing was changed")


def _create(con: duckdb.DuckDBPyConnection, current: int) -> None:
    for name in SCHEMA:
        con.execute(load(name))
    _record(con, current, "created")


def _apply(con: duckdb.DuckDBPyConnection, migration: Migration) -> None:
    con.execute(load("schema/schema_version"))  # a version-1 warehouse has none yet
    for file, statement in migration.statements:
        try:
            con.execute(statement)
        except duckdb.Error as error:
            raise type(error)(f"{file}: {error}") from error
    _record(con, migration.version, migration.name)


def _record(con: duckdb.DuckDBPyConnection, version: int, name: str) -> None:
    con.execute(load("warehouse/record_schema_version"),
                {"version": version, "name": name, "costalloc_version": _release()})


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection, warehouse: str, step: str, state: str
                 ) -> Iterator[None]:
    con.begin()
    try:
        yield
        con.commit()
    except duckdb.Error as error:
        with suppress(duckdb.Error):  # a failed commit has already ended the transaction
            con.rollback()
        raise WarehouseSchemaError(
            f"warehouse `{warehouse}`: {step} failed: {' '.join(str(error).split())}. "
            f"The warehouse is unchanged ({state}); fix the cause (disk space, permissions) "
            "and run again, or report this message") from None


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.sql(load("warehouse/table_exists"), params={"name": name}).fetchall()[0][0])


def _release() -> str:
    try:
        return metadata.version("costalloc")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"
