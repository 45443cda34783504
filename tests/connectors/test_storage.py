from pathlib import Path

import pytest

from costalloc.connectors.storage import open_location
from costalloc.core.errors import ConfigurationError


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
