"""Find the current delivery of a billing period from AWS's own manifests.

CUR 2.0 (Data Exports) rewrites `metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json` on
every refresh, after the data files are written; legacy CUR keeps the current manifest at
`<yyyymmdd-yyyymmdd>/<report>-Manifest.json`. We read exactly the files a manifest names —
never a folder glob, because overwrite mode can leave fewer parts than an earlier refresh.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from costalloc.connectors.delivery import Delivery
from costalloc.connectors.storage import Location
from costalloc.core.confinement import OutsideRoot, shown
from costalloc.core.errors import SourceError
from costalloc.core.period import BillingPeriod

Flavour = Literal["cur2", "legacy"]


def cur2_manifest_path(location: Location, period: BillingPeriod) -> str:
    return f"metadata/BILLING_PERIOD={period}/{location.name}-Manifest.json"


def legacy_manifest_path(location: Location, period: BillingPeriod) -> str:
    span = f"{period.first_day:%Y%m%d}-{period.next().first_day:%Y%m%d}"
    return f"{span}/{location.name}-Manifest.json"


def manifest_path(location: Location, period: BillingPeriod, flavour: Flavour) -> str:
    return (cur2_manifest_path if flavour == "cur2" else legacy_manifest_path)(location, period)


def detect_flavour(location: Location, period: BillingPeriod) -> Flavour | None:
    if location.exists(cur2_manifest_path(location, period)):
        return "cur2"
    if location.exists(legacy_manifest_path(location, period)):
        return "legacy"
    return None


def find_delivery(source: str, location: Location, period: BillingPeriod,
                  flavour: Flavour) -> Delivery:
    if flavour == "cur2":
        path = cur2_manifest_path(location, period)
        manifest = _read(source, period, location, path)
        fingerprint = _field(source, period, path, manifest, "executionId")
        references = _field(source, period, path, manifest, "dataFiles")
    else:
        path = legacy_manifest_path(location, period)
        manifest = _read(source, period, location, path)
        fingerprint = _field(source, period, path, manifest, "assemblyId")
        references = _field(source, period, path, manifest, "reportKeys")
    if not isinstance(references, list):
        raise SourceError(source, period, f"`{location.path(path)}`: file list is not a list")
    files = tuple(_resolve(source, period, location, path, ref) for ref in references)
    _all_present(source, period, location, files)
    return Delivery(source, period, str(fingerprint), files,
                    {"flavour": flavour, "manifest": location.path(path)},
                    listed=tuple(str(reference) for reference in references))


def _read(source: str, period: BillingPeriod, location: Location, path: str) -> dict[str, Any]:
    try:
        manifest = location.read_json(path)
    except json.JSONDecodeError as error:
        raise SourceError(source, period,
                          f"manifest `{location.path(path)}` is not JSON ({error.msg} at line "
                          f"{error.lineno}); the previous load stays published") from None
    if not isinstance(manifest, dict):
        raise SourceError(source, period, f"manifest `{location.path(path)}` is not an object")
    return manifest


def _field(source: str, period: BillingPeriod, path: str, manifest: dict[str, Any],
           name: str) -> Any:
    if name not in manifest:
        raise SourceError(source, period, f"manifest `{path}` has no `{name}` field")
    return manifest[name]


def _resolve(source: str, period: BillingPeriod, location: Location, manifest: str,
             reference: object) -> str:
    """The entry as a path below the export folder, confined to it (`Location.path` also
    follows symbolic links on a local disk); checked before any data file is opened."""
    try:
        relative = location.relative_to_export(str(reference))
        location.path(relative)
    except OutsideRoot as error:
        raise SourceError(source, period, f"manifest `{location.path(manifest)}` names a data "
                          f"file outside the export: `{shown(str(reference))}` {error.reason}; "
                          "nothing outside it was read, the delivery is refused and the previous "
                          "load stays published") from None
    return relative


def _all_present(source: str, period: BillingPeriod, location: Location,
                 files: tuple[str, ...]) -> None:
    missing = [f for f in files if not location.exists(f)]
    if missing:
        raise SourceError(
            source, period,
            f"manifest lists {len(files)} files, {len(files) - len(missing)} found in "
            f"{location.uri}; missing: {missing[0]}"
            + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
            + " — AWS may still be delivering; the previous load stays published",
        )
