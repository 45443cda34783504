"""Mutations of a real-layout delivery, and the hypothesis strategies that draw them.

Each mutation is a small frozen dataclass (so hypothesis prints and shrinks it) whose `apply`
edits one example's copy of the newer delivery: its data files (duplicated, missing, cut,
reordered, emptied, replaced, linked out of the export), their rows and cells (money text like
`12,50`, `NaN`, `1e400`, unicode digits, quantities past DECIMAL(38, 18), other periods, JSON
that is not JSON, MAP oddities), their header (a required column dropped or renamed, extra
columns) and its manifest (entries pointing anywhere, lists and documents of the wrong shape,
huge ones). A mutation whose target no longer exists (an earlier one removed the file or
broke the manifest) does nothing.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from hypothesis import strategies as st

from tests.faults.fuzz_files import (
    CsvTable,
    edit,
    is_gzip,
    is_parquet,
    read_csv,
    read_parquet,
    set_parquet_cell,
)
from tests.faults.fuzz_layouts import MARKER, Current, Layout

Family = Literal["files", "rows", "header", "manifest", "mixed"]
FAMILIES: tuple[Family, ...] = ("files", "rows", "header", "manifest", "mixed")


@dataclass
class Example:
    """One example's copy of the newer delivery, and what the mutations did to it."""

    layout: Layout
    root: Path
    current: Current
    files: list[Path] = field(default_factory=list)
    unfound: bool = False  # the load may fail before it finds a delivery to log against
    hid_delivery: bool = False  # the load may find the published delivery (or none) instead
    copies: int = 0  # data files copied under another name and listed

    def __post_init__(self) -> None:
        self.files = list(self.current.files)

    def file(self, index: int) -> Path:
        return self.files[index % len(self.files)]

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    def manifest(self) -> dict[str, Any] | None:
        """The manifest as an object, or None when it is gone or no longer one."""
        path = self.current.manifest
        try:
            document = json.loads(path.read_bytes()) if path is not None else None
        except (OSError, ValueError, RecursionError):
            return None
        return document if isinstance(document, dict) else None

    def entries(self, document: dict[str, Any]) -> list[Any] | None:
        listed = document.get(self.layout.entries_key)
        return listed if isinstance(listed, list) else None

    def write_manifest(self, document: Any) -> None:
        assert self.current.manifest is not None
        self.current.manifest.write_text(json.dumps(document))
        self.unfound = True

    def write_manifest_bytes(self, data: bytes) -> None:
        assert self.current.manifest is not None
        self.current.manifest.write_bytes(data)
        self.unfound = True

    def entry_name(self, entry: Any) -> Any:
        return entry.get("blobName") if isinstance(entry, dict) else entry

    def recount(self, path: Path) -> None:
        """The provider's manifest counts the rows it wrote (Azure's `dataRowCount`)."""
        document = self.manifest()
        entries = self.entries(document) if document is not None else None
        if document is None or entries is None or not path.exists():
            return
        try:
            rows = (read_parquet(path).num_rows if is_parquet(path)
                    else len(read_csv(path).rows))
        except Exception:
            return
        named = self.layout.entry_for(self.root, path) if self.layout.entry_for else None
        for entry in entries:
            if isinstance(entry, dict) and isinstance(named, dict) and \
                    entry.get("blobName") == named["blobName"]:
                entry["dataRowCount"] = rows
                entry["byteCount"] = path.stat().st_size
        assert self.current.manifest is not None
        self.current.manifest.write_text(json.dumps(document))


class Mutation:
    def apply(self, example: Example) -> None:
        raise NotImplementedError


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class When:
    """A time relative to the layout's period, written in the file's own style."""

    which: Literal["period-start", "previous-period", "next-period", "mid-period", "year-9999",
                   "year-1"]

    def moment(self, example: Example) -> datetime:
        start = example.layout.period.start
        return {"period-start": start,
                "previous-period": (start - timedelta(days=1)).replace(day=1),
                "next-period": (start + timedelta(days=32)).replace(day=1),
                "mid-period": start + timedelta(days=14, hours=5),
                "year-9999": datetime(9999, 12, 31, tzinfo=UTC),
                "year-1": datetime(1, 1, 1, tzinfo=UTC)}[self.which]


@dataclass(frozen=True)
class Pairs:
    """A MAP cell (Parquet), as (key, value) pairs; `None` as a whole is a null map."""

    items: tuple[tuple[str, str | None], ...]


Value = str | float | None | When | Pairs

MONEY_TEXTS = ["12,50", "1.234,56", "NaN", "nan", "Infinity", "-inf", "1e400", "-1e400", "1e-400",
               "", "   ", "-0", "-0.0", "+0", "0e0", "١٢", "１２", "²", "𝟙", "1_000", "0x10",
               "$12.50", "12.50 USD", "1.2.3", "--1", "1e", ".", "1" + "0" * 30,
               "9" * 28, "9" * 27 + ".5", "-" + "9" * 27, "1e27", "9.99e27", "1E+27",
               "0.00000000005", "0.00000000015", "0.000000000249", "+12.5", ".5", "5.",
               " 7 ", "\u00a07", "7\u200b", "\x007", "NULL", "null", "1" * 5000,
               "x" * 100_000, "12.5e-1", "1e-5"]
QUANTITY_TEXTS = ["1e20", "1E20", "100000000000000000000", "99999999999999999999.999999999999999999",
                  "99999999999999999999", "-1e20", "123456789012345678901234", "1e19", "1e25",
                  "0.0000000000000000001", "0.000000000000000000000000001"]
MONEY_FLOATS = [float("nan"), float("inf"), float("-inf"), -0.0, 1e30, 1e27, 9.9e27, 5e-324,
                1e-11, 0.1, 1e20, 1e25, 123456.123456789]
CURRENCIES = ["", "USX", "usd", "EUR", "€", "US D", "USDD", "XXX", "JPY", "\x00USD", "NULL",
              " USD ", "U" * 5000]
TIME_TEXTS = ["", "not a date", "2026-13-01", "31/12/2026", "２０２６-１０-０１", "0",
              "2026-10-01T00:00:00+05:00", "2024-09-01T00:00:00-03:00", "NULL", "T", "x" * 10_000]
TAG_TEXTS = ["{not json", "[1,2]", '"x"', "null", "{}", '{"a":{"b":1}}', '{"a":1}',
             '{"a":"1","a":"2"}', '{"\\u0000":"x"}', '{"k":"' + "v" * 100_000 + '"}',
             "{" + ",".join(f'"k{i}":"v"' for i in range(3000)) + "}", "", "key=value",
             '"env": "prod"', "{" * 5000, '{"' + MARKER[:3] + '": "\\ud800"}']
TAG_PAIRS = [None, Pairs(()), Pairs((("a", "1"), ("a", "2"))), Pairs((("", ""),)),
             Pairs((("k" * 10_000, "v"),)), Pairs((("\x00", "x"),)), Pairs((("user_env", None),)),
             Pairs((("user_env", "prod"), ("User_Env", "dev")))]
TEXTS = ["x" * 1_000_000, "a\nb", '"', "\x00", "ünïcødé", "=cmd|' /C calc'!A0", "", "NULL"]
IDS = ["", "x", "x" * 100_000, "\n"]

ROLE_VALUES: dict[str, list[Value]] = {
    "cost": [*MONEY_TEXTS, *MONEY_FLOATS],
    "money": [*MONEY_TEXTS, *MONEY_FLOATS],
    "quantity": [*MONEY_TEXTS[:12], *QUANTITY_TEXTS, *MONEY_FLOATS],
    "rate": [*QUANTITY_TEXTS, "NaN", "12,50", "", "-1", "1e400"],
    "currency": list(CURRENCIES),
    "period": [*(When(w) for w in ("period-start", "previous-period", "next-period",
                                   "mid-period", "year-9999", "year-1")), *TIME_TEXTS],
    "time": [*(When(w) for w in ("previous-period", "next-period", "year-9999", "year-1")),
             *TIME_TEXTS],
    "tags": [*TAG_TEXTS, *TAG_PAIRS],
    "id": list(IDS),
    "text": list(TEXTS),
    "account": ["", "x" * 10_000, "NULL", "\x00"],
}


def _decimal_texts() -> st.SearchStrategy[str]:
    return st.decimals(allow_nan=False, allow_infinity=False).map(str)


def values(role: str) -> st.SearchStrategy[Value]:
    listed: st.SearchStrategy[Value] = st.sampled_from(ROLE_VALUES[role])
    if role in ("cost", "money", "quantity", "rate"):
        return st.one_of(listed, _decimal_texts(), st.floats(), st.text(max_size=8))
    return st.one_of(listed, st.text(max_size=12))


# --- data files -----------------------------------------------------------------------------


def _respell(name: str, how: str, layout: Layout) -> str:
    """Another way a manifest could name the same object."""
    if how == "same":
        return name
    if layout.entries_key == "blobs":  # Azure: from the container, in a URL, with `.`
        return {"bare-key": f"exports/{name}",
                "other-bucket": f"https://costexports.blob.core.windows.net/exports/{name}",
                "dot-segment": f"./{name}"}[how]
    key = name.split("://", 1)[1].partition("/")[2] if "://" in name else name
    export = layout.folder.rsplit("/", 1)[-1]
    return {"bare-key": key, "other-bucket": f"s3://other-bucket/{key}",
            "dot-segment": key.replace(f"{export}/", f"{export}/./", 1)}[how]


def _named(example: Example, path: Path, name: str | None = None) -> Any:
    assert example.layout.entry_for is not None
    entry = example.layout.entry_for(example.root, path)
    if name is None:
        return entry
    return {**entry, "blobName": name} if isinstance(entry, dict) else name


@dataclass(frozen=True)
class ListTwice(Mutation):
    """The manifest names one data file twice (as the same entry, or spelled another way)."""

    file: int
    spelling: Literal["same", "bare-key", "other-bucket", "dot-segment"]

    def apply(self, example: Example) -> None:
        document = example.manifest()
        entries = example.entries(document) if document is not None else None
        if document is None or entries is None:
            return
        path = example.file(self.file)
        first = example.entry_name(_named(example, path))
        entries.append(_named(example, path, _respell(first, self.spelling, example.layout)))
        example.write_manifest(document)


@dataclass(frozen=True)
class CopyListed(Mutation):
    """A data file copied under another name, and listed (the folder source lists it itself)."""

    file: int

    def apply(self, example: Example) -> None:
        path = example.file(self.file)
        if not path.exists():
            return
        copy = path.with_name("copy-" + path.name)
        shutil.copyfile(path, copy)
        example.files.append(copy)
        if example.layout.has_manifest:
            document = example.manifest()
            entries = example.entries(document) if document is not None else None
            if document is None or entries is None:
                return
            entries.append(_named(example, copy))
            example.write_manifest(document)
            example.recount(copy)
        example.copies += 1


@dataclass(frozen=True)
class Missing(Mutation):
    file: int

    def apply(self, example: Example) -> None:
        example.file(self.file).unlink(missing_ok=True)
        if not example.layout.has_manifest and not any(p.exists() for p in example.files):
            example.hid_delivery = True  # a folder with no file for the month: none yet


@dataclass(frozen=True)
class Unlisted(Mutation):
    """The manifest no longer names a file it names (the file stays where it is)."""

    file: int

    def apply(self, example: Example) -> None:
        document = example.manifest()
        entries = example.entries(document) if document is not None else None
        if document is None or entries is None:
            return
        gone = example.entry_name(_named(example, example.file(self.file)))
        entries[:] = [e for e in entries if example.entry_name(e) != gone]
        example.write_manifest(document)


@dataclass(frozen=True)
class Truncated(Mutation):
    """The file cut mid-stream (a gzip CSV without its end, a Parquet file without its footer)."""

    file: int
    keep: float

    def apply(self, example: Example) -> None:
        path = example.file(self.file)
        if path.exists():
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * self.keep)])


@dataclass(frozen=True)
class Reordered(Mutation):
    """The data files in another order: the manifest's list, or the folder's file names."""

    seed: int

    def apply(self, example: Example) -> None:
        order = random.Random(self.seed)
        if example.layout.has_manifest:
            document = example.manifest()
            entries = example.entries(document) if document is not None else None
            if document is None or entries is None:
                return
            order.shuffle(entries)
            example.write_manifest(document)
            return
        present = [p for p in example.files if p.exists()]
        contents = [p.read_bytes() for p in present]
        order.shuffle(contents)
        for path, data in zip(present, contents, strict=True):
            path.write_bytes(data)


@dataclass(frozen=True)
class Emptied(Mutation):
    file: int
    how: Literal["zero-bytes", "header-only", "compressed-nothing", "bom-only", "blank-lines"]

    def apply(self, example: Example) -> None:
        path = example.file(self.file)
        if not path.exists():
            return
        if self.how == "header-only":
            if not edit(path, csv_edit=lambda t: t.rows.clear(),
                        parquet_edit=lambda t: t.slice(0, 0)):
                return
        else:
            data = {"zero-bytes": b"", "compressed-nothing": b"", "bom-only": b"\xef\xbb\xbf",
                    "blank-lines": b"\n\n\n"}[self.how]
            if is_gzip(path) and self.how != "zero-bytes":
                data = gzip.compress(data, mtime=0)
            path.write_bytes(data)
        example.recount(path)


@dataclass(frozen=True)
class Garbage(Mutation):
    file: int
    data: bytes

    def apply(self, example: Example) -> None:
        path = example.file(self.file)
        if path.exists():
            path.write_bytes(self.data)


@dataclass(frozen=True)
class LinkedOut(Mutation):
    """The data file replaced by a symbolic link to a well-formed file outside the export."""

    file: int

    def apply(self, example: Example) -> None:
        path = example.file(self.file)
        outside = example.outside / example.current.files[0].name
        path.unlink(missing_ok=True)
        os.symlink(outside, path)
        # a source that lists its folder refuses the link while listing, before any delivery
        example.unfound = example.unfound or not example.layout.has_manifest \
            or example.layout.entries_key == "blobs"


# --- rows and cells ---------------------------------------------------------------------------


def _column(example: Example, role: str) -> str | None:
    return example.layout.roles.get(role)


def _cell_text(value: Value, example: Example) -> str:
    if isinstance(value, When):
        return example.layout.time_style(value.moment(example))
    if isinstance(value, Pairs):
        return json.dumps(dict(value.items))
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else value


def _parquet_value(value: Value, example: Example, dtype: pa.DataType) -> Any:
    if isinstance(value, When):
        moment = value.moment(example)
        return moment if pa.types.is_timestamp(dtype) else _cell_text(value, example)
    if isinstance(value, Pairs):
        return list(value.items) if pa.types.is_map(dtype) else _cell_text(value, example)
    if value is None:
        return None
    if pa.types.is_map(dtype):
        return value  # text in a MAP column: the column becomes text
    return value


@dataclass(frozen=True)
class Cell(Mutation):
    role: str
    file: int
    row: int
    value: Value

    def apply(self, example: Example) -> None:
        column = _column(example, self.role)
        if column is None:
            return

        def in_csv(table: CsvTable) -> None:
            if column in table.header and table.rows:
                table.rows[self.row % len(table.rows)][table.header.index(column)] = \
                    _cell_text(self.value, example)

        def in_parquet(table: pa.Table) -> pa.Table:
            if column not in table.column_names or not table.num_rows:
                return table
            dtype = table.schema.field(column).type
            return set_parquet_cell(table, column, self.row % table.num_rows,
                                    _parquet_value(self.value, example, dtype))

        edit(example.file(self.file), csv_edit=in_csv, parquet_edit=in_parquet)


@dataclass(frozen=True)
class CopiedCell(Mutation):
    """One row takes another's value (a line item id repeated, the same cost twice)."""

    role: str
    file: int
    source_row: int
    target_row: int

    def apply(self, example: Example) -> None:
        column = _column(example, self.role)
        if column is None:
            return

        def in_csv(table: CsvTable) -> None:
            if column in table.header and table.rows:
                index = table.header.index(column)
                rows = table.rows
                rows[self.target_row % len(rows)][index] = rows[self.source_row % len(rows)][index]

        def in_parquet(table: pa.Table) -> pa.Table:
            if column not in table.column_names or not table.num_rows:
                return table
            value = table.column(column)[self.source_row % table.num_rows].as_py()
            return set_parquet_cell(table, column, self.target_row % table.num_rows, value)

        edit(example.file(self.file), csv_edit=in_csv, parquet_edit=in_parquet)


@dataclass(frozen=True)
class DuplicateRows(Mutation):
    """Rows the provider wrote twice, whole (identity and all)."""

    file: int
    row: int
    count: int

    def apply(self, example: Example) -> None:
        path = example.file(self.file)

        def in_csv(table: CsvTable) -> None:
            if table.rows:
                start = self.row % len(table.rows)
                table.rows.extend(list(r) for r in table.rows[start:start + self.count])

        def in_parquet(table: pa.Table) -> pa.Table:
            if not table.num_rows:
                return table
            return pa.concat_tables([table, table.slice(self.row % table.num_rows, self.count)])

        if edit(path, csv_edit=in_csv, parquet_edit=in_parquet):
            example.recount(path)


@dataclass(frozen=True)
class DroppedRows(Mutation):
    file: int
    row: int
    count: int

    def apply(self, example: Example) -> None:
        path = example.file(self.file)

        def in_csv(table: CsvTable) -> None:
            if table.rows:
                start = self.row % len(table.rows)
                del table.rows[start:start + self.count]

        def in_parquet(table: pa.Table) -> pa.Table:
            if not table.num_rows:
                return table
            start = self.row % table.num_rows
            return pa.concat_tables([table.slice(0, start), table.slice(start + self.count)])

        if edit(path, csv_edit=in_csv, parquet_edit=in_parquet):
            example.recount(path)


@dataclass(frozen=True)
class ShuffledRows(Mutation):
    file: int
    seed: int

    def apply(self, example: Example) -> None:
        order = random.Random(self.seed)

        def in_csv(table: CsvTable) -> None:
            order.shuffle(table.rows)

        def in_parquet(table: pa.Table) -> pa.Table:
            indices = list(range(table.num_rows))
            order.shuffle(indices)
            return table.take(indices)

        edit(example.file(self.file), csv_edit=in_csv, parquet_edit=in_parquet)


# --- the header -------------------------------------------------------------------------------


def _rename(table_names: list[str], old: str, new: str) -> list[str]:
    return [new if name == old else name for name in table_names]


@dataclass(frozen=True)
class DroppedColumn(Mutation):
    role: str
    every_file: bool

    def apply(self, example: Example) -> None:
        column = _column(example, self.role)
        if column is None:
            return
        for path in example.files if self.every_file else example.files[:1]:
            def in_csv(table: CsvTable) -> None:
                if column in table.header:
                    index = table.header.index(column)
                    del table.header[index]
                    for row in table.rows:
                        del row[index]

            edit(path, csv_edit=in_csv, parquet_edit=lambda t: t.drop_columns(
                [column]) if column in t.column_names else t)


@dataclass(frozen=True)
class RenamedColumn(Mutation):
    role: str
    style: Literal["upper", "trailing-space", "prefixed", "empty", "duplicate-of-currency",
                   "newline"]

    def new_name(self, column: str, example: Example) -> str:
        return {"upper": column.upper() if column.upper() != column else column.lower(),
                "trailing-space": column + " ", "prefixed": "x_" + column, "empty": "",
                "duplicate-of-currency": example.layout.roles["currency"],
                "newline": column + "\n"}[self.style]

    def apply(self, example: Example) -> None:
        column = _column(example, self.role)
        if column is None:
            return
        new = self.new_name(column, example)
        for path in example.files:
            def in_csv(table: CsvTable) -> None:
                table.header[:] = _rename(table.header, column, new)

            edit(path, csv_edit=in_csv, parquet_edit=lambda t: t.rename_columns(
                _rename(t.column_names, column, new)))


@dataclass(frozen=True)
class ExtraColumn(Mutation):
    name: str
    value: str

    def apply(self, example: Example) -> None:
        for path in example.files:
            def in_csv(table: CsvTable) -> None:
                table.header.append(self.name)
                for row in table.rows:
                    row.append(self.value)

            edit(path, csv_edit=in_csv, parquet_edit=lambda t: t.append_column(
                self.name, pa.array([self.value] * t.num_rows, type=pa.string())))


@dataclass(frozen=True)
class ReorderedColumns(Mutation):
    seed: int

    def apply(self, example: Example) -> None:
        order = random.Random(self.seed)
        for path in example.files:
            def in_csv(table: CsvTable) -> None:
                indices = list(range(len(table.header)))
                order.shuffle(indices)
                table.header[:] = [table.header[i] for i in indices]
                table.rows[:] = [[row[i] for i in indices] for row in table.rows]

            def in_parquet(table: pa.Table) -> pa.Table:
                # by index: a column an earlier mutation repeated is no ambiguity here
                indices = list(range(table.num_columns))
                order.shuffle(indices)
                return table.select(indices)

            edit(path, csv_edit=in_csv, parquet_edit=in_parquet)


# --- the manifest -----------------------------------------------------------------------------

EntryKind = Literal["other-bucket", "dotdot-outside", "dotdot-inside", "absolute-outside",
                    "absolute-inside", "https-url", "file-url", "encoded-dotdot", "empty",
                    "number", "null", "object", "list", "backslash", "control", "very-long",
                    "outside-data-file", "query-string"]


@dataclass(frozen=True)
class Entry(Mutation):
    """One entry of the manifest's file list rewritten to point somewhere else."""

    index: int
    kind: EntryKind

    def apply(self, example: Example) -> None:
        document = example.manifest()
        entries = example.entries(document) if document is not None else None
        if document is None or not entries:
            return
        index = self.index % len(entries)
        name = example.entry_name(entries[index])
        name = name if isinstance(name, str) else ""
        written: Any = self.rewritten(name, example)
        if isinstance(entries[index], dict) and self.kind not in ("object", "list"):
            entries[index] = {**entries[index], "blobName": written}
        else:
            entries[index] = written
        example.write_manifest(document)

    def rewritten(self, name: str, example: Example) -> Any:
        outside = example.outside
        secret = outside / "secret.csv"
        data_file = outside / example.current.files[0].name
        climb = "../" * (name.count("/") + 6)
        head, _, tail = name.rpartition("/")
        return {
            "other-bucket": _respell(name, "other-bucket", example.layout),
            "dotdot-outside": f"{head}/{climb}{secret.relative_to('/')}",
            "dotdot-inside": f"{head}/../{head.rsplit('/', 1)[-1]}/{tail}",
            "absolute-outside": str(secret),
            "absolute-inside": str(example.file(self.index)),
            "https-url": f"https://example.com/{name}",
            "file-url": f"file://{secret}",
            "encoded-dotdot": f"{head}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/{tail}",
            "empty": "", "number": 5, "null": None, "object": {"key": name}, "list": [name],
            "backslash": name.replace("/", "\\"), "control": name + "\x00.csv",
            "very-long": name + "/" + "x" * 20_000,
            "outside-data-file": f"{head}/{climb}{data_file.relative_to('/')}",
            "query-string": name + "?sig=abc",
        }[self.kind]


@dataclass(frozen=True)
class FileList(Mutation):
    shape: Literal["empty", "object", "text", "null", "absent", "many-missing", "many-same"]

    def apply(self, example: Example) -> None:
        document = example.manifest()
        if document is None:
            return
        key = example.layout.entries_key
        listed = example.entries(document) or []
        first = listed[0] if listed else "x"
        if self.shape == "absent":
            document.pop(key, None)
        else:
            document[key] = {
                "empty": [], "object": {"0": first}, "text": str(example.entry_name(first)),
                "null": None,
                "many-missing": [_named(example, example.file(0), f"{example.entry_name(first)}"
                                        f".{n}") for n in range(20_000)],
                "many-same": [first] * 20_000}[self.shape]
        example.write_manifest(document)


@dataclass(frozen=True)
class Document(Mutation):
    shape: Literal["cut", "array", "text", "number", "empty", "bom", "padded", "nested",
                   "not-utf8", "duplicate-keys"]

    def apply(self, example: Example) -> None:
        path = example.current.manifest
        if path is None or not path.exists():
            return
        data = path.read_bytes()
        if self.shape == "padded":
            document = example.manifest()
            if document is None:
                return
            document["padding"] = "x" * 3_000_000
            example.write_manifest(document)
            return
        example.write_manifest_bytes({
            "cut": data[: len(data) // 2], "array": b"[" + data + b"]", "text": b'"manifest"',
            "number": b"1e400", "empty": b"", "bom": b"\xef\xbb\xbf" + data,
            "nested": b"[" * 100_000 + b"]" * 100_000, "not-utf8": b"\xff\xfe" + data,
            "duplicate-keys": data[:-1] + b', "' + example.layout.entries_key.encode() + b'": []}',
        }[self.shape])


@dataclass(frozen=True)
class Fingerprint(Mutation):
    value: Any

    def apply(self, example: Example) -> None:
        document = example.manifest()
        if document is None:
            return
        *parents, last = example.layout.fingerprint_key.split(".")
        target: Any = document
        for name in parents:
            target = target.get(name) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target[last] = self.value
            example.write_manifest(document)


@dataclass(frozen=True)
class ManifestGone(Mutation):
    def apply(self, example: Example) -> None:
        if example.current.manifest is not None:
            example.current.manifest.unlink(missing_ok=True)
            example.unfound = True
            example.hid_delivery = True


@dataclass(frozen=True)
class RowCount(Mutation):
    """Azure's `dataRowCount` for a blob, wrong or of the wrong type."""

    file: int
    value: Any

    def apply(self, example: Example) -> None:
        document = example.manifest()
        entries = example.entries(document) if document is not None else None
        if document is None or entries is None:
            return
        named = example.entry_name(_named(example, example.file(self.file)))
        for entry in entries:
            if isinstance(entry, dict) and entry.get("blobName") == named:
                entry["dataRowCount"] = self.value
        example.write_manifest(document)


# --- strategies -------------------------------------------------------------------------------

_FILE = st.integers(0, 7)
_ROW = st.integers(0, 10_000)
_ROLES = ("cost", "money", "quantity", "rate", "currency", "period", "time", "tags", "id",
          "text", "account")


def _cells(layout: Layout) -> st.SearchStrategy[Mutation]:
    roles = [role for role in _ROLES if role in layout.roles]
    return st.sampled_from(roles).flatmap(
        lambda role: st.builds(Cell, st.just(role), _FILE, _ROW, values(role)))


def _file_mutations(layout: Layout) -> list[st.SearchStrategy[Mutation]]:
    found = [
        st.builds(CopyListed, _FILE), st.builds(Missing, _FILE),
        st.builds(Truncated, _FILE, st.floats(0.05, 0.98)), st.builds(Reordered, st.integers(0, 99)),
        st.builds(Emptied, _FILE, st.sampled_from(["zero-bytes", "header-only",
                                                   "compressed-nothing", "bom-only",
                                                   "blank-lines"])),
        st.builds(Garbage, _FILE, st.binary(max_size=64)), st.builds(LinkedOut, _FILE),
    ]
    if layout.has_manifest:
        found += [st.builds(ListTwice, _FILE, st.sampled_from(["same", "bare-key",
                                                               "other-bucket", "dot-segment"])),
                  st.builds(Unlisted, _FILE)]
    return found


def _row_mutations(layout: Layout) -> list[st.SearchStrategy[Mutation]]:
    return [
        _cells(layout), _cells(layout),
        st.builds(CopiedCell, st.sampled_from(["id", "cost"]), _FILE, _ROW, _ROW),
        st.builds(DuplicateRows, _FILE, _ROW, st.integers(1, 3)),
        st.builds(DroppedRows, _FILE, _ROW, st.integers(1, 3)),
        st.builds(ShuffledRows, _FILE, st.integers(0, 99)),
    ]


def _header_mutations(layout: Layout) -> list[st.SearchStrategy[Mutation]]:
    required = ["cost", "currency", "period", "time", "account"]
    return [
        st.builds(DroppedColumn, st.sampled_from([*required, "tags", "quantity"]), st.booleans()),
        st.builds(RenamedColumn, st.sampled_from(required), st.sampled_from(
            ["upper", "trailing-space", "prefixed", "empty", "duplicate-of-currency", "newline"])),
        st.builds(ExtraColumn, st.sampled_from(["fuzz_extra", "", "Extra Column ñ", "x" * 1000,
                                                "a\nb", layout.roles["text"]]),
                  st.sampled_from(["", "1", "NaN", "x" * 1000])),
        st.builds(ReorderedColumns, st.integers(0, 99)),
    ]


def _manifest_mutations(layout: Layout) -> list[st.SearchStrategy[Mutation]]:
    if not layout.has_manifest:
        return []
    found = [
        st.builds(Entry, st.integers(0, 7), st.sampled_from(EntryKind.__args__)),  # type: ignore[attr-defined]
        st.builds(FileList, st.sampled_from(["empty", "object", "text", "null", "absent",
                                             "many-missing", "many-same"])),
        st.builds(Document, st.sampled_from(["cut", "array", "text", "number", "empty", "bom",
                                             "padded", "nested", "not-utf8",
                                             "duplicate-keys"])),
        st.builds(Fingerprint, st.sampled_from([None, 5, "", {}, [], "x" * 10_000, True])),
        st.just(ManifestGone()),
    ]
    if layout.entries_key == "blobs":
        found.append(st.builds(RowCount, _FILE, st.sampled_from(
            [0, 1, -1, 10**30, "²", "١٢", "12", "abc", None, 1.5, True, float("inf")])))
    return found


def mutations(layout: Layout, family: Family) -> st.SearchStrategy[list[Mutation]]:
    """One to three mutations of `family` (any family, for `mixed`)."""
    groups = {"files": _file_mutations(layout), "rows": _row_mutations(layout),
              "header": _header_mutations(layout), "manifest": _manifest_mutations(layout)}
    chosen = ([s for group in groups.values() for s in group] if family == "mixed"
              else groups[family])
    return st.lists(st.one_of(chosen), min_size=1, max_size=3)


def families(layout: Layout) -> list[Family]:
    return [f for f in FAMILIES if f != "manifest" or layout.has_manifest]
