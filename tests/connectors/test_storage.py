from pathlib import Path

import pyarrow.fs as pafs
import pytest

from costalloc.connectors.storage import Location, open_location, storage_errors
from costalloc.core.confinement import OutsideRoot
from costalloc.core.errors import ConfigurationError, SourceError


def test_manifest_uris_resolve_inside_a_local_copy_of_the_bucket(tmp_path: Path) -> None:
    export = tmp_path / "bucket" / "cur" / "my-export"
    location = open_location(str(export))
    assert location.name == "my-export"
    uri = "s3://real-bucket/cur/my-export/data/BILLING_PERIOD=2026-10/my-export-00001.csv.gz"
    assert location.relative_to_export(uri) == "data/BILLING_PERIOD=2026-10/my-export-00001.csv.gz"
    legacy_key = "cur/my-export/20261001-20261101/abc/my-export-1.csv.gz"
    assert location.relative_to_export(legacy_key) == "20261001-20261101/abc/my-export-1.csv.gz"


def test_a_reference_outside_the_export_is_refused(tmp_path: Path) -> None:
    location = open_location(str(tmp_path / "my-export"))
    with pytest.raises(ValueError, match="not inside the export folder"):
        location.relative_to_export("s3://b/other-export/data/x.parquet")


def test_unsupported_schemes_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="gs"):
        open_location("gs://bucket/x")


S3_EXPORT = Location(pafs.S3FileSystem(anonymous=True, region="us-east-1"), "bkt/cur/exp",
                     "s3://bkt/cur/exp")


def test_on_s3_a_data_file_must_be_in_the_export_s_own_bucket_and_prefix() -> None:
    assert S3_EXPORT.relative_to_export("s3://bkt/cur/exp/data/x.parquet") == "data/x.parquet"
    assert S3_EXPORT.relative_to_export("cur/exp/2026/x.csv.gz") == "2026/x.csv.gz"  # legacy key
    with pytest.raises(OutsideRoot, match="names bucket `other`; the export is in bucket `bkt`"):
        S3_EXPORT.relative_to_export("s3://other/cur/exp/data/x.parquet")
    with pytest.raises(OutsideRoot, match="is not inside the export folder `s3://bkt/cur/exp`"):
        S3_EXPORT.relative_to_export("s3://bkt/elsewhere/exp/data/x.parquet")
    with pytest.raises(OutsideRoot, match="is not an `s3://` URI"):
        S3_EXPORT.relative_to_export("https://bkt.s3.amazonaws.com/cur/exp/data/x.parquet")


@pytest.mark.parametrize("reference", [
    "s3://bkt/cur/exp/../../secret/x.csv",
    "s3://bkt/cur/exp/data/%2e%2e/%2e%2e/%2e%2e/secret/x.csv",
    "s3://bkt/cur/exp/data\\..\\..\\secret\\x.csv",
    "s3://bkt/cur/../cur/exp/data/x.csv",
    "cur/exp/data/\x00x.csv",
])
def test_a_manifest_entry_that_climbs_out_by_its_text_is_refused(reference: str,
                                                                 tmp_path: Path) -> None:
    local = open_location(str(tmp_path / "bucket" / "cur" / "exp"))
    for location in (S3_EXPORT, local):
        with pytest.raises(OutsideRoot):
            location.relative_to_export(reference)


def test_a_local_export_refuses_paths_and_listings_that_leave_it_through_links(
        tmp_path: Path) -> None:
    export = tmp_path / "exp"
    (export / "data").mkdir(parents=True)
    (export / "data" / "part-1.csv").write_text("a\n1\n")
    (tmp_path / "secret.csv").write_text("secret\n")
    location = open_location(str(export))
    assert [Path(f.path).name for f in location.list_files()] == ["part-1.csv"]
    (export / "data" / "alias.csv").symlink_to(export / "data" / "part-1.csv")  # inside: fine
    assert location.path("data/alias.csv") == f"{export}/data/alias.csv"
    (export / "data" / "part-2.csv").symlink_to(tmp_path / "secret.csv")
    with pytest.raises(OutsideRoot, match=r"`data/part-2\.csv` resolves outside .* symbolic link"):
        location.path("data/part-2.csv")
    with pytest.raises(OutsideRoot, match=r"`data/part-2\.csv`"):
        location.list_files()
    with (pytest.raises(SourceError, match=r"^src 2026-10: listing: `data/part-2\.csv` resolves "
                                           r"outside .*; nothing there was read"),
          storage_errors("src", "2026-10", "listing")):
        location.list_files()
