"""The current delivery of one month: which runs count and exactly which blobs to read.

Rules, in order:
1. Runs are found by listing manifests (`manifest.json`, `_manifest.json`), never by parsing
   data paths; legacy single-CSV runs are data files directly in a `yyyyMMdd-yyyyMMdd`
   folder that no manifest claims. When a month has runs of the newer kind, the older
   kinds are ignored for it (an export migrated in place would otherwise count twice).
2. The same run id seen twice (a re-written or copied manifest) is one run.
3. Per (scope, dataset, month) the run with the newest `submittedTime` wins — so a daily
   month-to-date export, a re-run and an overlapping one-time export never add up. Two
   different runs with the same time are an error: nobody can say which is current.
4. Per scope, the `dataset` option picks what to load (`datasets.choose`).
5. Exactly the blobs the winning manifests list are read; all must exist.
The fingerprint is the winning run id; when several runs count (scopes, combined datasets),
a hash of their sorted ids (the delivery's details list them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from costalloc.connectors.azure.amounts import ACTUAL
from costalloc.connectors.azure.blobs import BlobEntry, BlobStore
from costalloc.connectors.azure.manifests import (
    LEGACY_MANIFEST,
    ManifestError,
    Run,
    is_data,
    is_manifest,
    legacy_csv_run,
    parse_export_manifest,
    parse_legacy_manifest,
)
from costalloc.connectors.azure.options import Choice, choose, legacy_dataset
from costalloc.connectors.delivery import RefusedDelivery
from costalloc.connectors.manifest_json import NotJson, manifest_json
from costalloc.core.confinement import OutsideRoot, shown
from costalloc.core.errors import SourceError
from costalloc.core.period import BillingPeriod

Keep = Literal["all", "commitment-purchases", "no-commitment-purchases"]
_KIND_ORDER = ("export", "legacy-partitioned", "legacy-csv")
_READERS = 8


@dataclass(frozen=True)
class Part:
    """One data blob of a delivery, and which of its rows count."""

    name: str  # as listed in the store
    dataset: str
    keep: Keep = "all"
    rows: int | None = None  # data rows the manifest promises
    gzip_encoded: bool = False  # stored with Content-Encoding: gzip


@dataclass(frozen=True)
class Plan:
    runs: tuple[Run, ...]
    parts: tuple[Part, ...]

    @property
    def fingerprint(self) -> str:
        return fingerprint(run.run_id for run in self.runs)


def fingerprint(run_ids: Iterable[str]) -> str:
    """The run id when one run counts; `runs-<hash of the sorted run ids>` when several do."""
    ids = sorted(set(run_ids))
    if len(ids) == 1:
        return ids[0]
    return "runs-" + hashlib.sha256("+".join(ids).encode()).hexdigest()[:16]


class RunCache:
    """Parsed manifests by (name, last-modified), so a backfill reads each manifest once."""

    def __init__(self) -> None:
        self._runs: dict[tuple[str, datetime], Run | None] = {}

    def get(self, entry: BlobEntry, parse: Callable[[], Run | None]) -> Run | None:
        key = (entry.name, entry.last_modified)
        if key not in self._runs:
            self._runs[key] = parse()
        return self._runs[key]


def find_runs(store: BlobStore, entries: list[BlobEntry], cache: RunCache, *, source: str,
              period: BillingPeriod) -> list[Run]:
    """Every run the listing holds (manifests are read, in parallel, once per version)."""
    manifests = [entry for entry in entries if is_manifest(entry.name)]

    def parse(entry: BlobEntry) -> Run | None:
        return cache.get(entry, lambda: _parse(store, entry, source, period))

    with ThreadPoolExecutor(max_workers=_READERS) as pool:
        runs = [run for run in pool.map(parse, manifests) if run is not None]
    claimed = {blob.reference.rsplit("/", 1)[-1] for run in runs for blob in run.blobs}
    run_folders = {entry.name.rsplit("/", 1)[0] for entry in manifests}
    for entry in entries:
        folder, _, file = entry.name.rpartition("/")
        if file in claimed or folder in run_folders:
            continue
        legacy = legacy_csv_run(entry.name, entry.last_modified)
        if legacy is not None:
            runs.append(legacy)
    return runs


def plan_month(source: str, period: BillingPeriod, runs: list[Run], entries: list[BlobEntry],
               dataset_option: str, container: str | None = None) -> Plan | None:
    """The runs and blobs that make up `period`'s current delivery; None when there are none.
    `container`: the store's container, when it is one (manifests name blobs in no other)."""
    candidates = [run for run in runs if run.month == period]
    if not candidates:
        return None
    kind = next(k for k in _KIND_ORDER if any(run.kind == k for run in candidates))
    of_kind = [run if run.dataset else replace(run, dataset=legacy_dataset(source, dataset_option))
               for run in candidates if run.kind == kind]
    current = _newest_per_scope_and_dataset(source, period, _distinct(of_kind))
    chosen: list[tuple[Run, Choice]] = []
    for scope in sorted({run.scope for run in current}):
        by_dataset = {run.dataset or ACTUAL: run for run in current if run.scope == scope}
        for choice in choose(source, period, scope, set(by_dataset), dataset_option):
            chosen.append((by_dataset[choice.dataset], choice))
    if not chosen:
        found = sorted({f"{run.dataset}" for run in current})
        raise SourceError(source, period,
                          f"the month has export runs of {', '.join(found)} but none of "
                          f"`dataset: {dataset_option}`; fix the option or the export")
    by_name = {entry.name: entry for entry in entries}
    delivery = fingerprint(run.run_id for run, _ in chosen)
    parts = tuple(part for run, choice in chosen
                  for part in _parts(source, period, run, choice, by_name, container, delivery))
    return Plan(tuple(run for run, _ in chosen), parts)


def _parse(store: BlobStore, entry: BlobEntry, source: str, period: BillingPeriod) -> Run | None:
    where = f"manifest `{store.description}/{entry.name}`"
    try:
        document = manifest_json(store.read_bytes(entry.name))
        if entry.name.endswith(LEGACY_MANIFEST):
            return parse_legacy_manifest(entry.name, document, entry.last_modified)
        return parse_export_manifest(entry.name, document)
    except NotJson as error:
        raise SourceError(source, period, f"{where} is not JSON ({error}); the previous load "
                          "stays published") from None
    except ManifestError as error:
        raise SourceError(source, period, f"{where}: {error}; the previous load stays "
                          "published") from None


def _distinct(runs: list[Run]) -> list[Run]:
    """One run per run id: the manifest seen last wins when a run was written twice."""
    by_id: dict[tuple[str, str, str | None], Run] = {}
    for run in sorted(runs, key=lambda r: (r.submitted, r.source)):
        by_id[(run.run_id, run.scope, run.dataset)] = run
    return list(by_id.values())


def _newest_per_scope_and_dataset(source: str, period: BillingPeriod, runs: list[Run]) -> list[Run]:
    groups: dict[tuple[str, str | None], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.scope, run.dataset), []).append(run)
    newest = []
    for (scope, dataset), group in sorted(groups.items(), key=lambda item: str(item[0])):
        group.sort(key=lambda run: run.submitted)
        latest = group[-1]
        tied = [run for run in group if run.submitted == latest.submitted]
        if len(tied) > 1:
            raise SourceError(
                source, period,
                f"{len(tied)} runs of the {dataset or 'legacy'} export of `{scope}` were "
                f"submitted at the same time ({latest.submitted.isoformat()}): "
                f"{', '.join(f'`{run.source}`' for run in tied[:3])}; costalloc can't tell which "
                "is current. Delete the stale run's folder (or re-run the export); the previous "
                "load stays published")
        newest.append(latest)
    return newest


def _parts(source: str, period: BillingPeriod, run: Run, choice: Choice,
           by_name: dict[str, BlobEntry], container: str | None, delivery: str) -> list[Part]:
    """The run's blobs as listed; a refusal here is of a found delivery (`delivery` is its
    fingerprint), so it is logged against it."""
    keep: Keep = ("all" if not choice.combined
                  else "commitment-purchases" if choice.dataset == ACTUAL
                  else "no-commitment-purchases")
    listed = tuple(blob.reference for blob in run.blobs)

    def refused(message: str) -> RefusedDelivery:
        return RefusedDelivery(source, period, message, fingerprint=delivery, files=listed)

    parts, missing = [], []
    for blob in run.blobs:
        try:
            entry = _resolve(blob.reference, by_name, container)
        except OutsideRoot as error:
            raise refused(f"manifest `{run.source}` names a blob outside the export: {error}; "
                          "nothing outside it was read, the previous load stays published"
                          ) from None
        if entry is None:
            missing.append(blob.reference)
            continue
        if not is_data(entry.name):
            raise refused(f"manifest `{run.source}` lists `{shown(entry.name)}` as data, but it "
                          "is not a CSV, CSV.gz or Parquet file; the previous load stays "
                          "published")
        parts.append(Part(entry.name, choice.dataset, keep, blob.rows,
                          (entry.content_encoding or "").lower() == "gzip"))
    if missing:
        raise refused(
            f"manifest `{run.source}` lists {len(run.blobs)} blobs, "
            f"{len(run.blobs) - len(missing)} found; missing: `{missing[0]}`"
            + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
            + " — the export may still be writing, or the run was deleted; the previous load "
            "stays published")
    return parts


def _resolve(reference: str, by_name: dict[str, BlobEntry],
             container: str | None) -> BlobEntry | None:
    """The listed blob a manifest means, whether it names it from the container, with the
    container in front, or as a URL; the longest listed suffix wins. In a container, what
    comes before that suffix must be the container itself: a blob of another container (or
    outside the export root) is refused, never read from ours under the same name."""
    path = reference.split("://", 1)[1].split("/", 1)[-1] if "://" in reference else reference
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    for start in range(len(segments)):
        entry = by_name.get("/".join(segments[start:]))
        if entry is None:
            continue
        if container is not None and start and segments[start - 1] != container:
            raise OutsideRoot(reference, f"is in `{shown('/'.join(segments[:start]))}`, not in "
                              f"container `{container}`")
        return entry
    return None

