"""Where Azure exports are read from: a Blob Storage container, or a local copy of one.

`uri` names the container and the export root folder inside it:

- `https://<account>.blob.core.windows.net/<container>/<root folder>` — the container URL the
  portal shows (any Azure cloud's `*.blob.*` host);
- `http://127.0.0.1:10000/<account>/<container>/<root folder>` — an emulator (Azurite),
  path-style;
- `abfs://<container>@<account>.dfs.core.windows.net/<root folder>` (also `abfss://`,
  `az://`), or `abfs://<container>/<root folder>` with the account taken from the connection
  string or the `account_url` option;
- a local folder holding a copy of the container (or of any folder inside it), for demos
  and tests.

Credentials: the connection string in the `AZURE_STORAGE_CONNECTION_STRING` environment
variable when it is set, else `DefaultAzureCredential` (environment, workload or managed
identity, Azure CLI ...) against the account URL. Never from configuration.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from costalloc.connectors.options import DEFAULT_DEADLINE_SECONDS
from costalloc.core.confinement import local_file
from costalloc.core.errors import ConfigurationError

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

CONNECTION_STRING_VARIABLE = "AZURE_STORAGE_CONNECTION_STRING"
_DOWNLOAD_CONCURRENCY = 4
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BlobEntry:
    name: str  # relative to the store (container-relative for a container)
    size: int
    last_modified: datetime
    content_encoding: str | None = None


class BlobStore(Protocol):
    """The few operations discovery and reading need; errors are the backend's own."""

    description: str  # where, for messages: a container URL or a folder
    container_name: str | None  # the container; None for a folder (it may stand for any part of one)

    def list_blobs(self) -> list[BlobEntry]:
        """Every blob below the export root, sorted by name."""

    def read_bytes(self, name: str) -> bytes:
        """A small blob (a manifest), whole."""

    def local_copy(self, name: str, suffix: str) -> AbstractContextManager[str]:
        """A local file with the blob's raw bytes named `*suffix`, removed after a download."""

    def missing(self) -> str | None:
        """What does not exist of the export root (container, folder), or None when it does."""


class ContainerStore:
    """A Blob Storage container (or Azurite), below a root folder."""

    def __init__(self, container: ContainerClient, root: str = "") -> None:
        self.container = container
        self.root = root.strip("/")
        self.container_name: str | None = container.container_name
        self.description = f"{container.url.rstrip('/')}/{self.root}".rstrip("/")

    def list_blobs(self) -> list[BlobEntry]:
        prefix = f"{self.root}/" if self.root else None
        entries = [
            BlobEntry(blob.name, int(blob.size or 0), blob.last_modified or _EPOCH,
                      blob.content_settings.content_encoding if blob.content_settings else None)
            for blob in self.container.list_blobs(name_starts_with=prefix)
        ]
        return sorted(entries, key=lambda entry: entry.name)

    def read_bytes(self, name: str) -> bytes:
        return bytes(self.container.download_blob(name).readall())

    def missing(self) -> str | None:
        name = self.container.container_name
        if not self.container.exists():
            account = self.container.url.rstrip("/").removesuffix(name).rstrip("/")
            return f"the container `{name}` does not exist in `{account}`"
        if self.root and not any(True for _ in self.container.list_blobs(
                name_starts_with=f"{self.root}/", results_per_page=1)):
            return f"the container `{name}` holds nothing under `{self.root}/`"
        return None

    @contextmanager
    def local_copy(self, name: str, suffix: str) -> Iterator[str]:
        with tempfile.TemporaryDirectory(prefix="costalloc-azure-") as folder:
            path = os.path.join(folder, "blob" + suffix)
            with open(path, "wb") as handle:
                stream = self.container.download_blob(name, decompress=False,
                                                      max_concurrency=_DOWNLOAD_CONCURRENCY)
                stream.readinto(handle)
            yield path


class FolderStore:
    """A local folder standing for a container (or a folder inside one). A file that resolves
    outside the folder (a symbolic link) is refused with `OutsideRoot` when listed or read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = folder.as_posix()
        self.container_name: str | None = None

    def list_blobs(self) -> list[BlobEntry]:
        if not self.folder.is_dir():
            return []
        entries = []
        for path in self.folder.rglob("*"):
            if path.is_file():
                name = path.relative_to(self.folder).as_posix()
                stat = local_file(self.folder, name).stat()
                entries.append(BlobEntry(name, stat.st_size,
                                         datetime.fromtimestamp(stat.st_mtime, UTC)))
        return sorted(entries, key=lambda entry: entry.name)

    def read_bytes(self, name: str) -> bytes:
        return local_file(self.folder, name).read_bytes()

    def missing(self) -> str | None:
        if self.folder.is_dir():
            return None
        if self.folder.exists():
            return f"`{self.folder}` is a file, not a folder"
        return f"the folder `{self.folder}` does not exist"

    @contextmanager
    def local_copy(self, name: str, suffix: str) -> Iterator[str]:
        path = local_file(self.folder, name)
        if path.name.endswith(suffix):
            yield path.as_posix()
            return
        with tempfile.TemporaryDirectory(prefix="costalloc-azure-") as folder:
            # the reader picks CSV / gzip / Parquet by suffix: give it the right one
            target = os.path.join(folder, "blob" + suffix)
            shutil.copyfile(path, target)
            yield target


@dataclass(frozen=True)
class ContainerAddress:
    """A parsed `uri`: the account URL (if it names one), the container and the root folder."""

    account_url: str | None
    container: str
    root: str


def parse_uri(uri: str) -> ContainerAddress | None:
    """The container a `uri` names, or None when it is a local folder."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in ("", "file") or re.match(r"^[A-Za-z]$", scheme):  # a path (C:\ on Windows)
        return None
    segments = [s for s in parts.path.split("/") if s]
    if scheme in ("abfs", "abfss", "az"):
        container, _, host = parts.netloc.partition("@")
        account = f"https://{host.replace('.dfs.', '.blob.')}" if host else None
        return ContainerAddress(account, container, "/".join(segments))
    if scheme in ("https", "http"):
        if ".blob." in parts.netloc:
            if not segments:
                raise ConfigurationError(f"uri `{uri}` names no container; add /<container>")
            return ContainerAddress(f"{scheme}://{parts.netloc}", segments[0], "/".join(segments[1:]))
        if len(segments) < 2:
            raise ConfigurationError(
                f"uri `{uri}`: an emulator URL is http://host:port/<account>/<container>[/<root>]")
        return ContainerAddress(f"{scheme}://{parts.netloc}/{segments[0]}", segments[1],
                                "/".join(segments[2:]))
    raise ConfigurationError(
        f"uri `{uri}`: scheme `{parts.scheme}` is not an Azure Blob location; use "
        "https://<account>.blob.core.windows.net/<container>/<root>, abfs://<container>/<root> "
        "or a local folder")


def open_store(uri: str, *, account_url: str | None = None,
               container: ContainerClient | None = None,
               deadline: float = DEFAULT_DEADLINE_SECONDS) -> BlobStore:
    """The store for a source's `uri`; `container` (built by the caller) wins when given.
    A client built here retries one call for at most `deadline` seconds."""
    address = parse_uri(uri)
    if container is not None:
        return ContainerStore(container, address.root if address else "")
    if address is None:
        return FolderStore(Path(uri.removeprefix("file://")).expanduser().resolve())
    return ContainerStore(_container_client(uri, address, account_url, deadline), address.root)


def _container_client(uri: str, address: ContainerAddress, account_url: str | None,
                      deadline: float) -> ContainerClient:
    from costalloc.connectors.azure.clients import container_client

    connection_string = os.environ.get(CONNECTION_STRING_VARIABLE)
    url = address.account_url or account_url
    if not connection_string and not url:
        raise ConfigurationError(
            f"uri `{uri}` names no storage account: use "
            "https://<account>.blob.core.windows.net/<container>/<root>, set the `account_url` "
            f"option, or set the `{CONNECTION_STRING_VARIABLE}` environment variable")
    return container_client(container=address.container, account_url=url,
                            connection_string=connection_string, deadline=deadline)
