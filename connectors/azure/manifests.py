"""Cost Management export runs, as their manifests (or, for legacy exports, their blobs) say. Pure.

Three generations of exports write three layouts:

- exports (2023-07-01-preview and later): each run writes its parts (CSV, CSV.gz or
  Parquet) and a `manifest.json` naming them, with the export's scope and dataset type
  (`exportConfig`) and the run's id, submission time and date range (`runInfo`). Everything
  is taken from the manifest; paths are never parsed.
- legacy partitioned exports: `_manifest.json` (`manifestVersion` 2021-01-01) lists the
  parts but says nothing about the run, so the month comes from the run's
  `<yyyyMMdd-yyyyMMdd>` folder, the submission time from its `<yyyyMMddHHmm>` folder (or the
  manifest's last-modified time) and the run id from its `<runId>` folder.
- legacy exports: one CSV per run, `<export>/<yyyyMMdd-yyyyMMdd>/<export>_<runId>.csv`, no
  manifest at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from costalloc.connectors.azure.amounts import ACTUAL, AMORTIZED, FOCUS
from costalloc.connectors.files import is_data_file
from costalloc.core.confinement import OutsideRoot, relative_key, shown
from costalloc.core.period import BillingPeriod

RunKind = Literal["export", "legacy-partitioned", "legacy-csv"]
MANIFEST: Final = "manifest.json"
LEGACY_MANIFEST: Final = "_manifest.json"
# export types that hold cost line items (`Usage` is the old name of ActualCost)
COST_DATASETS: Final = {"usage": ACTUAL, "actualcost": ACTUAL, "amortizedcost": AMORTIZED,
                        "focuscost": FOCUS}
_RANGE = re.compile(r"(?:^|/)(\d{4})(\d{2})\d{2}-\d{8}(?:/|$)")
_STAMP = re.compile(r"^\d{12}$")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EXPORT_SUFFIX = re.compile(r"/providers/microsoft\.costmanagement/exports/.*$", re.IGNORECASE)


class ManifestError(ValueError):
    """A manifest that doesn't say what a run needs to say (the message names the field)."""


@dataclass(frozen=True)
class RunBlob:
    reference: str  # the blob as the manifest names it
    rows: int | None = None  # data rows, when the manifest counts them


@dataclass(frozen=True)
class Run:
    """One export run: a complete delivery of one dataset, for one scope and month."""

    kind: RunKind
    run_id: str
    scope: str  # exports: the export's billing scope; legacy: the export's folder
    dataset: str | None  # ActualCost / AmortizedCost / FocusCost; None: the manifest doesn't say
    month: BillingPeriod
    submitted: datetime
    blobs: tuple[RunBlob, ...]
    source: str  # the manifest (or the legacy CSV) this run was read from
    export_name: str | None = None


def is_manifest(name: str) -> bool:
    return name.rsplit("/", 1)[-1] in (MANIFEST, LEGACY_MANIFEST)


def is_data(name: str) -> bool:
    return not is_manifest(name) and is_data_file(name.lower())


def parse_export_manifest(name: str, document: Any) -> Run | None:
    """A `manifest.json`; None for datasets that aren't cost line items (price sheets ...)."""
    manifest = _object(document, "the manifest")
    config = _object(manifest.get("exportConfig"), "`exportConfig`")
    run_info = _object(manifest.get("runInfo"), "`runInfo`")
    dataset = COST_DATASETS.get(str(_field(config, "type", "exportConfig")).lower())
    if dataset is None:
        return None
    resource_id = str(config.get("resourceId") or config.get("exportName") or "")
    blobs = _blobs(manifest)
    return Run(
        kind="export",
        run_id=_text(run_info, "runId", "runInfo"),
        scope=_EXPORT_SUFFIX.sub("", resource_id).lower() or "(unknown scope)",
        dataset=dataset,
        month=BillingPeriod.containing(_time(_field(run_info, "startDate", "runInfo"),
                                             "runInfo.startDate")),
        submitted=_time(_field(run_info, "submittedTime", "runInfo"), "runInfo.submittedTime"),
        blobs=blobs,
        source=name,
        export_name=str(config.get("exportName") or "") or None,
    )


def parse_legacy_manifest(name: str, document: Any, last_modified: datetime) -> Run:
    """A legacy partitioned export's `_manifest.json` (manifestVersion 2021-01-01)."""
    manifest = _object(document, "the manifest")
    folders = name.split("/")[:-1]
    month, export_folder = _month_and_export(name)
    stamp = next((f for f in reversed(folders) if _STAMP.match(f)), None)
    submitted = (datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=UTC) if stamp
                 else last_modified)
    guid = _GUID.search(folders[-1]) if folders else None
    run_id = guid.group(0) if guid else _digest(name)
    return Run("legacy-partitioned", run_id, export_folder, None, month, submitted,
               _blobs(manifest), name)


def legacy_csv_run(name: str, last_modified: datetime) -> Run | None:
    """A legacy one-file export run, when `name` sits directly in a `yyyyMMdd-yyyyMMdd` folder."""
    folders = name.split("/")
    if len(folders) < 2 or not _RANGE.fullmatch("/" + folders[-2] + "/") or not is_data(name):
        return None
    month, export_folder = _month_and_export(name)
    guid = _GUID.search(folders[-1])
    return Run("legacy-csv", guid.group(0) if guid else _digest(name), export_folder, None, month,
               last_modified, (RunBlob(name),), name)


def _month_and_export(name: str) -> tuple[BillingPeriod, str]:
    matches = list(_RANGE.finditer(name))
    if not matches:
        raise ManifestError(f"`{name}` is not inside a `yyyyMMdd-yyyyMMdd` folder, so its month "
                            "is unknown")
    last = matches[-1]
    year, month = int(last.group(1)), int(last.group(2))
    if not 1 <= month <= 12:
        raise ManifestError(f"`{name}`: folder `{last.group(0).strip('/')}` is not a date range")
    return BillingPeriod(year, month), name[: last.start()] or "(root)"


def _blobs(manifest: dict[str, Any]) -> tuple[RunBlob, ...]:
    blobs = manifest.get("blobs")
    if not isinstance(blobs, list):
        raise ManifestError("`blobs` is missing or not a list")
    listed = []
    for index, blob in enumerate(blobs):
        entry = _object(blob, f"`blobs[{index}]`")
        rows = entry.get("dataRowCount")
        listed.append(RunBlob(_blob_name(_field(entry, "blobName", f"blobs[{index}]"), index),
                              int(rows) if isinstance(rows, int | float | str) and str(rows).isdigit()
                              else None))
    return tuple(listed)


def _blob_name(value: Any, index: int) -> str:
    """A `blobName` as written, refused when its path (a URL's, after the host) would climb
    out of the folder it names: the blob it means is only ever looked up in the listing."""
    name = str(value)
    path = name.split("://", 1)[1].partition("/")[2] if "://" in name else name
    try:
        relative_key(path.split("?", 1)[0])
    except OutsideRoot as error:
        raise ManifestError(f"`blobs[{index}].blobName` names a blob outside the export: "
                            f"`{shown(name)}` {error.reason}; nothing outside it was read"
                            ) from None
    return name


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestError(f"{what} is missing or not an object")
    return value


def _field(container: dict[str, Any], key: str, where: str) -> Any:
    value = container.get(key)
    if value in (None, ""):
        raise ManifestError(f"`{where}.{key}` is missing")
    return value


def _text(container: dict[str, Any], key: str, where: str) -> str:
    """A field that identifies something (a run): text, or runs could not be told apart."""
    value = _field(container, key, where)
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"`{where}.{key}` is `{shown(json.dumps(value))}`, not text")
    return value


def _time(value: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ManifestError(f"`{where}` is `{value}`, not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
