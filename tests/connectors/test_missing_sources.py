"""File-based sources pointed at nothing fail and say what was looked for, on S3 (moto's server)
and in local folders; "no delivery yet" only where the export exists without the month. An S3
endpoint that never answers fails within the source's deadline, naming it."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from costalloc.connectors.assets import AssetRegisterConnector
from costalloc.connectors.aws import AwsCurConnector
from costalloc.connectors.focus_files import FocusFilesConnector
from costalloc.connectors.storage import s3_attempts
from costalloc.core.errors import SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import write_cur2_export

OCTOBER, DECEMBER = BillingPeriod(2026, 10), BillingPeriod(2026, 12)
LOCAL = pafs.LocalFileSystem()


def _aws(uri: str, **options: object) -> AwsCurConnector:
    return AwsCurConnector(SourceSettings(name="aws-main", kind="aws-cur", uri=uri,
                                          options=options))


def _focus(uri: str) -> FocusFilesConnector:
    return FocusFilesConnector(SourceSettings(name="focus-main", kind="focus", uri=uri))


def test_a_missing_bucket_or_export_folder_on_s3_is_named(
        bucket: str, s3_filesystem: pafs.S3FileSystem) -> None:
    write_cur2_export(s3_filesystem, f"{bucket}/cur", bucket=bucket, prefix="cur",
                      export_name="exp", period="2026-10", rows=20)

    assert _aws(f"s3://{bucket}/cur/exp").find_delivery(OCTOBER) is not None
    assert _aws(f"s3://{bucket}/cur/exp").find_delivery(DECEMBER) is None  # not delivered yet
    with pytest.raises(SourceError) as no_bucket:
        _aws("s3://no-such-billing-bucket/cur/exp").find_delivery(OCTOBER)
    assert str(no_bucket.value).startswith(
        "aws-main 2026-10: the export `exp` is not where `uri` says: the bucket "
        "`no-such-billing-bucket` does not exist (looked for `s3://no-such-billing-bucket/cur/exp`)"
        ". Its 2026-10 manifest was looked for at `metadata/BILLING_PERIOD=2026-10/exp-Manifest."
        "json` or `20261001-20261101/exp-Manifest.json`")
    with pytest.raises(SourceError, match=rf"nothing is stored under `s3://{bucket}/cur/epx` "
                       rf"\(the bucket `{bucket}` exists\)"):
        _aws(f"s3://{bucket}/cur/epx").find_delivery(OCTOBER)
    with pytest.raises(SourceError, match=rf"nothing is stored under `s3://{bucket}/focus`"):
        _focus(f"s3://{bucket}/focus").find_delivery(OCTOBER)


def test_missing_local_folders_and_files_are_named(tmp_path: Path) -> None:
    write_cur2_export(LOCAL, str(tmp_path / "cur"), bucket="b", prefix="cur", export_name="exp",
                      period="2026-10", rows=20)
    (tmp_path / "focus").mkdir()
    (tmp_path / "assets.csv").write_text("asset_id,description,cost,currency,in_service_date,"
                                         "useful_life_months\n")

    assert _aws(str(tmp_path / "cur" / "exp"), flavour="legacy").find_delivery(OCTOBER) is None
    assert _focus(str(tmp_path / "focus")).find_delivery(OCTOBER) is None  # exists, empty
    with pytest.raises(SourceError, match=rf"the folder `{tmp_path}/cur/epx` does not exist\. "
                       r"Its 2026-10 manifest was looked for at `metadata/"):
        _aws(str(tmp_path / "cur" / "epx")).find_delivery(OCTOBER)
    with pytest.raises(SourceError, match=rf"focus-main 2026-10: the folder `{tmp_path}/fcous` "
                       "does not exist; it should hold the FOCUS export's"):
        _focus(str(tmp_path / "fcous")).find_delivery(OCTOBER)
    with pytest.raises(SourceError, match=r"the asset register `asets.csv` does not exist in "
                       rf"`{tmp_path}`; check the source's `uri`"):
        _register(tmp_path / "asets.csv").find_delivery(OCTOBER)
    with pytest.raises(SourceError, match=rf"\(the folder `{tmp_path}/registers` does not "
                       r"exist\)"):
        _register(tmp_path / "registers" / "assets.csv").find_delivery(OCTOBER)


def test_an_unreachable_s3_endpoint_fails_within_the_deadline(
        aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{port}")

    started = time.monotonic()
    with pytest.raises(SourceError) as raised:
        _aws("s3://billing/cur/exp", retry_deadline_seconds=3).find_delivery(OCTOBER)
    assert time.monotonic() - started < 3 + 20
    assert str(raised.value).startswith(
        f"aws-main 2026-10: reading the manifest under s3://billing/cur/exp: could not reach "
        f"`127.0.0.1:{port}`; tried for ")
    assert "Could not connect to server" in str(raised.value)


def test_s3_tries_are_as_many_as_fit_in_the_deadline() -> None:
    # worst case per try: the connect timeout, then up to 2^n s (at most 20 s) before the next
    assert s3_attempts(3, 0.75) == 2  # 0.75 + 1 + 0.75 fits in 3 s; a third try would not
    assert s3_attempts(120, 5) == 8  # 40 s connecting + 1 + 2 + 4 + 8 + 16 + 20 + 20 = 111 s
    assert s3_attempts(120, 5, at_most=2) == 2  # `max_attempts` caps it


def _register(path: Path) -> AssetRegisterConnector:
    return AssetRegisterConnector(SourceSettings(name="assets", kind="asset-register",
                                                 uri=str(path)))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
