import json

import polars as pl
import pyarrow as pa

from costalloc.connectors import tags

RENAMES = {"user_": "", "aws_": "aws:"}


def _object(frame: pl.DataFrame, expr: pl.Expr) -> list[object]:
    return [json.loads(v) if v is not None else None for v in frame.select(expr).to_series()]


def test_a_parquet_map_becomes_an_object_with_user_keys_unprefixed_and_aws_keys_prefixed() -> None:
    table = pa.table({"resource_tags": pa.array(
        [[("user_env", 'pr"od'), ("aws_createdBy", "AssumedRole:x"), ("user_team", "")], [], None],
        pa.map_(pa.string(), pa.string()))})
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    members = tags.rename_keys(
        tags.fragment_from_entries(tags.entries("resource_tags", frame.schema["resource_tags"])),
        RENAMES)
    assert _object(frame, tags.tags_object([members])) == [
        {"env": 'pr"od', "aws:createdBy": "AssumedRole:x"}, None, None]


def test_a_json_object_in_csv_keeps_escapes_and_renames_only_keys() -> None:
    frame = pl.DataFrame({"t": ['{"user_env": "prod", "aws_x": "a,\\"user_b"}', "{}", None]})
    members = tags.rename_keys(tags.fragment_from_json_object(pl.col("t")), RENAMES)
    assert _object(frame, tags.tags_object([members])) == [
        {"env": "prod", "aws:x": 'a,"user_b'}, None, None]


def test_flat_tag_columns_and_prefixed_maps_combine_into_one_object() -> None:
    frame = pl.DataFrame({"env": ["Prod", None], "team": ["ml", "web"]})
    merged = tags.tags_object([tags.fragment_from_column("env", "Env"),
                               tags.fragment_from_column("team", "aws:costCategory/Team")])
    assert _object(frame, merged) == [{"Env": "Prod", "aws:costCategory/Team": "ml"},
                                      {"aws:costCategory/Team": "web"}]
