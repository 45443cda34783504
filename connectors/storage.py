"""Where a file-based source lives: an `s3://` prefix or a local folder, as one interface.

Object stores are reached through pyarrow's filesystems so reads stream. S3 credentials and
endpoint come from boto3's default chain (environment, profile, role, `AWS_ENDPOINT_URL_S3`),
never from configuration, and are handed to pyarrow without being logged.

Every path below a location's root — a manifest's entry, a listed file — is confined to that
root (`costalloc.core.confinement`): `path` and `list_files` refuse what would leave it, by
its text or, on a local disk, through a symbolic link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from costalloc.connectors.manifest_json import manifest_json
from costalloc.connectors.options import DEFAULT_DEADLINE_SECONDS
from costalloc.connectors.remote import Stopwatch, host_of, unreachable
from costalloc.core.confinement import OutsideRoot, local_file, relative_key, shown
from costalloc.core.errors import ConfigurationError, SourceError, TransientError

# How object stores say "try again": throttling, 5xx, timeouts, dropped connections.
_TRANSIENT = re.compile(r"NETWORK_CONNECTION|HTTP status (5\d\d|429)|SLOW_DOWN|Throttl|short read|"
                        r"[Tt]imeout|timed out|[Cc]onnection (reset|refused|aborted)|"
                        r"ServiceUnavailable|InternalError|RequestTimeout", re.IGNORECASE)
# No connection at all: nothing answered at the endpoint (curl 6: no such host, 7: refused).
_UNREACHABLE = re.compile(r"curlCode: (6|7)\b|Could not (connect to server|resolve host)",
                          re.IGNORECASE)
# The AWS SDK's standard retry waits up to 2^n s (at most 20 s) before try n+2; each try may
# spend the connect timeout. Tries per request are as many as fit in the source's deadline.
_LONGEST_S3_BACKOFF = 20.0
_S3_CONNECT_SECONDS = 5.0


_CHUNK = 8 << 20


def read_whole(filesystem: pafs.FileSystem, path: str) -> bytes:
    """A small object's bytes, checked against its listed size (a cut transfer is retried)."""
    expected = filesystem.get_file_info(path).size
    with filesystem.open_input_stream(path, compression=None) as stream:
        data = bytes(stream.read())
    if expected is not None and len(data) != expected:
        raise OSError(f"short read of `{path}`: {len(data)} of {expected} bytes")
    return data


@contextmanager
def local_copy(filesystem: pafs.FileSystem, path: str) -> Iterator[tuple[pafs.FileSystem, str]]:
    """Files on object storage are copied to a local temporary file first, chunk by chunk and
    checked against the object's size, so a transfer cut mid-way is told apart from a file
    that arrived corrupt. Local files are read in place."""
    if isinstance(filesystem, pafs.LocalFileSystem):
        yield filesystem, path
        return
    import tempfile

    expected = filesystem.get_file_info(path).size
    suffix = "".join(Path(path).suffixes[-2:])
    with tempfile.NamedTemporaryFile(suffix=suffix) as target:
        copied = 0
        with filesystem.open_input_stream(path, compression=None) as stream:
            while chunk := stream.read(_CHUNK):
                target.write(chunk)
                copied += len(chunk)
        target.flush()
        if expected is not None and copied != expected:
            raise OSError(f"short read of `{path}`: {copied} of {expected} bytes")
        yield pafs.LocalFileSystem(), target.name


def is_transient(error: BaseException) -> bool:
    return isinstance(error, (TimeoutError, ConnectionError)) or bool(
        _TRANSIENT.search(str(error)))


@contextmanager
def storage_errors(source: str, period: object, what: str,
                   location: Location | None = None) -> Iterator[None]:
    """Name the source, period and object in storage errors; mark the retryable ones. An
    object store at `location` that never answered is a `remote.unreachable` error."""
    stopwatch = Stopwatch()
    try:
        yield
    except OutsideRoot as error:
        raise SourceError(source, period, f"{what}: {error}; nothing there was read, the "
                          "previous load stays published") from None
    except OSError as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if location is not None and location.endpoint and _UNREACHABLE.search(detail):
            raise unreachable(source, period, what, location.endpoint, stopwatch.elapsed,
                              location.deadline, detail) from None
        if is_transient(error):
            raise TransientError(f"{source} {period}: {what}: {detail}; the store is throttling "
                                 "or unreachable — retried with backoff, the previous load "
                                 "stays published") from None
        raise SourceError(source, period, f"{what}: {detail}") from None


@dataclass(frozen=True)
class Location:
    """A folder on a filesystem, plus the `s3://` URI it stands for (for manifests)."""

    filesystem: pafs.FileSystem
    root: str  # path on `filesystem`, no trailing slash
    uri: str  # as configured, e.g. s3://bucket/prefix/export-name or /data/export-name
    endpoint: str = ""  # host[:port] of the object store, for messages; "" for a local folder
    deadline: float = DEFAULT_DEADLINE_SECONDS  # how long its client retries one request

    @property
    def name(self) -> str:
        """The last folder name: an AWS export's or report's name."""
        return self.root.rstrip("/").rsplit("/", 1)[-1]

    @property
    def is_local(self) -> bool:
        return isinstance(self.filesystem, pafs.LocalFileSystem)

    def path(self, relative: str) -> str:
        """`relative` (a path below the root) on the filesystem; `OutsideRoot` when it would
        leave the root by its text or, on a local disk, through a symbolic link."""
        path = f"{self.root}/{relative_key(relative)}"
        if self.is_local:
            local_file(self.root, relative)
        return path

    def exists(self, relative: str) -> bool:
        info = self.filesystem.get_file_info(self.path(relative))
        return bool(info.type != pafs.FileType.NotFound)

    def read_json(self, relative: str) -> Any:
        """The file as JSON; `NotJson` saying why when it is not."""
        return manifest_json(read_whole(self.filesystem, self.path(relative)))

    def list_files(self, relative: str = "") -> list[pafs.FileInfo]:
        """Every file below `relative`, sorted by path; empty when the folder doesn't exist.
        A listed file that `path` would refuse (on a local disk, one that resolves outside the
        root through a symbolic link) is refused with `OutsideRoot`, before anything is opened."""
        folder = self.path(relative) if relative else self.root
        selector = pafs.FileSelector(folder.rstrip("/"), recursive=True, allow_not_found=True)
        infos = self.filesystem.get_file_info(selector)
        files = sorted((i for i in infos if i.type == pafs.FileType.File), key=lambda i: i.path)
        for info in files:
            self.path(info.path[len(self.root):].lstrip("/"))
        return files

    def missing(self) -> str | None:
        """What does not exist of this folder (the folder, the bucket), or None when it does."""
        found = self.filesystem.get_file_info(self.root).type
        if found == pafs.FileType.Directory:
            return None
        if found == pafs.FileType.File:
            return f"`{self.uri}` is a file, not a folder"
        if isinstance(self.filesystem, pafs.LocalFileSystem):
            return f"the folder `{self.root}` does not exist"
        bucket = self.root.split("/", 1)[0]
        if self.filesystem.get_file_info(bucket).type == pafs.FileType.NotFound:
            return f"the bucket `{bucket}` does not exist (looked for `{self.uri}`)"
        return f"nothing is stored under `{self.uri}` (the bucket `{bucket}` exists)"

    def relative_to_export(self, reference: str) -> str:
        """A manifest's data file (a bucket key or an `s3://` URI) as a path below this
        export's folder; `OutsideRoot` for anything that would lead elsewhere.

        Manifests name files by their full bucket key. On S3 the key must be in this bucket,
        below this export's prefix. A local folder is a copy of the bucket whose name and
        prefix it doesn't know, so the part after `/<export name>/` is what is read there.
        """
        scheme, has_scheme, rest = reference.partition("://")
        key = rest if has_scheme else reference
        if has_scheme:
            if scheme != "s3":
                raise OutsideRoot(reference, "is not an `s3://` URI")
            bucket, _, key = rest.partition("/")
            ours = self.root.split("/", 1)[0]
            if not self.is_local and bucket != ours:
                raise OutsideRoot(reference, f"names bucket `{shown(bucket)}`; the export is in "
                                  f"bucket `{ours}`")
        relative_key(key)
        if not self.is_local:
            prefix = self.root.split("/", 1)[1] + "/" if "/" in self.root else ""
            if not key.startswith(prefix):
                raise OutsideRoot(reference, f"is not inside the export folder `{self.uri}`")
            return relative_key(key[len(prefix):])
        marker = f"{self.name}/"
        if key.startswith(marker):
            return relative_key(key[len(marker):])
        _, found, tail = key.partition(f"/{marker}")
        if not found:
            raise OutsideRoot(reference, f"is not inside the export folder `{self.name}`")
        return relative_key(tail)


def open_location(uri: str, options: dict[str, Any] | None = None) -> Location:
    """The filesystem and root path for a source's `uri` (`s3://...` or a local folder)."""
    options = options or {}
    if uri.startswith("s3://"):
        bucket_and_key = uri[len("s3://"):].rstrip("/")
        filesystem, endpoint = _s3_filesystem(options)
        return Location(filesystem, bucket_and_key, uri.rstrip("/"), endpoint,
                        _deadline(options))
    if "://" in uri and not uri.startswith("file://"):
        scheme = uri.split("://", 1)[0]
        raise ConfigurationError(f"uri `{uri}`: scheme `{scheme}` is not supported (s3:// or a folder)")
    folder = Path(uri.removeprefix("file://")).expanduser().resolve()
    return Location(pafs.LocalFileSystem(), folder.as_posix(), uri)


def _deadline(options: dict[str, Any]) -> float:
    return float(options.get("retry_deadline_seconds") or DEFAULT_DEADLINE_SECONDS)


def s3_attempts(deadline: float, connect_seconds: float, at_most: int | None = None) -> int:
    """How many tries of one S3 request fit in `deadline`, counting the longest backoffs."""
    attempts, spent = 1, connect_seconds
    while True:
        more = spent + min(2.0 ** (attempts - 1), _LONGEST_S3_BACKOFF) + connect_seconds
        if more > deadline or (at_most is not None and attempts >= at_most):
            return attempts
        attempts, spent = attempts + 1, more


def _s3_filesystem(options: dict[str, Any]) -> tuple[pafs.S3FileSystem, str]:
    """The filesystem, and the endpoint's host for messages."""
    import boto3

    session = boto3.session.Session(profile_name=options.get("profile"))
    client = session.client("s3", region_name=options.get("region"),
                            endpoint_url=options.get("endpoint_url"))
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials else None
    endpoint = client.meta.endpoint_url
    custom_endpoint = not endpoint.endswith(".amazonaws.com")
    deadline = _deadline(options)
    connect_seconds = min(_S3_CONNECT_SECONDS, deadline / 4)
    at_most = options.get("max_attempts")
    kwargs: dict[str, Any] = {
        "region": client.meta.region_name or "us-east-1",
        "connect_timeout": connect_seconds,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=s3_attempts(
            deadline, connect_seconds, int(at_most) if at_most else None)),
    }
    if frozen is not None:
        kwargs |= {"access_key": frozen.access_key, "secret_key": frozen.secret_key,
                   "session_token": frozen.token}
    else:
        kwargs["anonymous"] = True
    if custom_endpoint:
        scheme, _, host = endpoint.partition("://")
        kwargs |= {"endpoint_override": host, "scheme": scheme}
    return pafs.S3FileSystem(**kwargs), host_of(endpoint)
