"""Reading only the columns loading uses (`columns.needed`) changes no FOCUS value.

An export has ~130 columns and the normalizer maps ~45: the loader decodes only those, the tag
columns and the money columns it checks. These tests normalize the generator's files in each
flavour twice, from every column and from the projection, and require the same line items.
"""

from pathlib import Path

import polars as pl
import pyarrow.fs as pafs
import pytest
from polars.testing import assert_frame_equal

from costalloc.connectors.aws import columns, normalize
from costalloc.connectors.files import ColumnPicker, stream_file
from costalloc.core.focus import conform
from costalloc.core.period import BillingPeriod
from costalloc.demo.aws_cur import write_cur2_export, write_legacy_cur

OCTOBER = BillingPeriod(2026, 10)


def _files(tmp_path: Path, flavour: str) -> list[str]:
    filesystem = pafs.LocalFileSystem()
    common = {"bucket": "b", "prefix": "cur", "period": "2026-10", "rows": 3000, "seed": 11}
    if flavour.startswith("cur2"):
        written = write_cur2_export(filesystem, str(tmp_path), export_name="e",
                                    file_format="parquet" if flavour == "cur2-parquet" else "csv",
                                    with_net_columns=True, **common)
    else:
        written = write_legacy_cur(filesystem, str(tmp_path), report_name="r",
                                   flavour="csv" if flavour == "legacy-csv" else "parquet",
                                   **common)
    return [str(tmp_path / key) for key in written.data_keys]


def _focus(files: list[str], picker: ColumnPicker | None) -> pl.DataFrame:
    frames = [rows for file in files for _, rows in stream_file(
        pafs.LocalFileSystem(), file, source="s", period=OCTOBER, columns=picker)]
    raw = pl.concat(frames)
    return normalize.to_focus(columns.canonical(raw.lazy())).pipe(conform).collect()


@pytest.mark.parametrize("flavour", ["cur2-parquet", "cur2-csv", "legacy-csv", "legacy-parquet"])
def test_the_projection_yields_the_same_line_items(tmp_path: Path, flavour: str) -> None:
    files = _files(tmp_path, flavour)
    everything = _focus(files, None)
    projected = _focus(files, columns.needed)
    assert everything.height > 3000  # unused commitments add rows of their own
    assert_frame_equal(projected, everything)


def test_the_projection_keeps_every_checked_money_column_and_drops_the_unused_rest() -> None:
    header = ["line_item_unblended_cost", "line_item_blended_cost", "split_line_item_split_cost",
              "line_item_normalization_factor", "pricing_lease_contract_length", "tags",
              "resource_tags", "cost_category", "product", "product_instance_type",
              "bill_payer_account_id", "reservation_upfront_value"]
    kept = columns.needed(header)
    assert {"line_item_blended_cost", "split_line_item_split_cost"} <= set(kept)  # checked
    assert {"resource_tags", "cost_category", "product", "bill_payer_account_id"} <= set(kept)
    assert not {"line_item_normalization_factor", "pricing_lease_contract_length", "tags",
                "product_instance_type", "reservation_upfront_value"} & set(kept)
