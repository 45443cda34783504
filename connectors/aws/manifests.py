"""Find the current delivery of a billing period from AWS's own manifests.

CUR 2.0 (Data Exports) rewrites `metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json` on
every refresh, after the data files are written; legacy CUR keeps the current manifest at
`<yyyymmdd-yyyymmdd>/<report>-Manifest.json`. We read exactly the files a manifest names —
never a folder glob, because overwrite mode can leave fewer parts than an earlier refresh.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from costalloc.connectors.delivery import Delivery, RefusedDelivery
from costalloc.connectors.manifest_json import NotJson
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
    path = manifest_path(location, period, flavour)
    id_field, list_field = (("executionId", "dataFiles") if flavour == "cur2"
                            else ("assemblyId", "reportKeys"))
    manifest = _read(source, period, location, path)
    fingerprint = _fingerprint(source, period, location, path, manifest, id_field)
    references = _field(source, period, location, path, manifest, list_field)
    if not isinstance(references, list):
        raise SourceError(source, period, f"manifest `{location.path(path)}`: `{list_field}` is "
                          "not a list; the previous load stays published")
    listed = tuple(str(reference) for reference in references)
    found = Found(source, period, location, location.path(path), fingerprint, listed)
    files = tuple(_resolve(found, reference) for reference in references)
    _all_present(found, files)
    return Delivery(source, period, fingerprint, files,
                    {"flavour": flavour, "manifest": location.path(path)}, listed=listed)


@dataclass(frozen=True)
class Found:
    """A manifest read: its delivery's id is known, so a refusal is logged against it."""

    source: str
    period: BillingPeriod
    location: Location
    manifest: str
    fingerprint: str
    listed: tuple[str, ...]

    def refused(self, message: str) -> RefusedDelivery:
        return RefusedDelivery(self.source, self.period, message, fingerprint=self.fingerprint,
                               files=self.listed)


def _read(source: str, period: BillingPeriod, location: Location, path: str) -> dict[str, Any]:
    try:
        manifest = location.read_json(path)
    except NotJson as error:
        raise SourceError(source, period, f"manifest `{location.path(path)}` is not JSON "
                          f"({error}); the previous load stays published") from None
    if not isinstance(manifest, dict):
        raise SourceError(source, period, f"manifest `{location.path(path)}` is not a JSON "
                          "object; the previous load stays published")
    return manifest


def _field(source: str, period: BillingPeriod, location: Location, path: str,
           manifest: dict[str, Any], name: str) -> Any:
    if name not in manifest:
        raise SourceError(source, period, f"manifest `{location.path(path)}` has no `{name}` "
                          "field; the previous load stays published")
    return manifest[name]


def _fingerprint(source: str, period: BillingPeriod, location: Location, path: str,
                 manifest: dict[str, Any], name: str) -> str:
    """The delivery's id: text, or deliveries could not be told apart (a `null` read as
    "None" would make every later delivery look already loaded)."""
    value = _field(source, period, location, path, manifest, name)
    if not isinstance(value, str) or not value.strip():
        raise SourceError(source, period, f"manifest `{location.path(path)}`: `{name}` is "
                          f"`{shown(json.dumps(value))}`, not the delivery's id (text); the "
                          "previous load stays published")
    return value


def _resolve(found: Found, reference: object) -> str:
    """The entry as a path below the export folder, confined to it (`Location.path` also
    follows symbolic links on a local disk); checked before any data file is opened."""
    try:
        relative = found.location.relative_to_export(str(reference))
        found.location.path(relative)
    except OutsideRoot as error:
        raise found.refused(f"manifest `{found.manifest}` names a data file outside the export: "
                            f"`{shown(str(reference))}` {error.reason}; nothing outside it was "
                            "read, the delivery is refused and the previous load stays "
                            "published") from None
    return relative


def _all_present(found: Found, files: tuple[str, ...]) -> None:
    missing = [f for f in files if not found.location.exists(f)]
    if missing:
        raise found.refused(
            f"manifest lists {len(files)} files, {len(files) - len(missing)} found in "
            f"{found.location.uri}; missing: {missing[0]}"
            + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
            + " — AWS may still be delivering; the previous load stays published",
        )
