"""Shared fixtures: the S3 stand-in (moto's real HTTP server) and a fresh warehouse."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import duckdb
import pyarrow.fs as pafs
import pytest
from moto.server import ThreadedMotoServer

from costalloc.warehouse.connection import connect

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 for the whole session; buckets are per test."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3's default credential chain pointed at moto through the environment only."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return s3_endpoint


@pytest.fixture
def bucket(aws_env: str, request: pytest.FixtureRequest) -> str:
    name = "billing-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    client = boto3.client("s3")
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_filesystem(aws_env: str) -> pafs.S3FileSystem:
    scheme, host = aws_env.split("://")
    return pafs.S3FileSystem(access_key="testing", secret_key="testing", region="us-east-1",
                             endpoint_override=host, scheme=scheme)


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(tmp_path / "costalloc.duckdb")
    yield con
    con.close()
