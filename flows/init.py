"""`costalloc init`: read a real export once and write a starter configuration and rules file.

The export is read through its connector, as a load would read it, but nothing is written to
a warehouse: each batch's FOCUS line items are counted into a `SpendCensus` and dropped. The
proposals (`allocation.starter`) and the files written are plain text the user then edits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from costalloc.allocation.census import SpendCensus
from costalloc.allocation.loader import load_rules
from costalloc.allocation.starter import PROPOSED_DIMENSIONS, Starter, covered, render_rules
from costalloc.connectors.delivery import Connector, Delivery
from costalloc.connectors.registry import connector_for
from costalloc.core.errors import ConfigurationError, CostallocError, SourceError
from costalloc.core.focus import conform
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.flows.plan import connector_settings

# Kinds whose layout can be recognised from a folder or bucket prefix alone, in the order they
# are tried (the first that finds a delivery wins). BigQuery tables need `--kind`.
DETECTABLE_KINDS = ("aws-cur", "azure-export", "focus")
MONTHS_SEARCHED = 13  # how far back `init` looks for the newest delivery


@dataclass(frozen=True)
class Inspected:
    """One source's delivery, counted."""

    source: SourceSettings
    period: BillingPeriod
    delivery: Delivery


def inspect(sources: Iterable[SourceSettings], period: BillingPeriod | None,
            today: date) -> tuple[list[Inspected], SpendCensus]:
    """Count each source's delivery of `period` (default: each one's newest) into one census."""
    census = SpendCensus()
    inspected = []
    for source in sources:
        connector = connector_for(connector_settings(source))
        found_period, delivery = _delivery(connector, source, period, today)
        for batch in connector.read(delivery):
            census.add(conform(connector.to_focus(batch.rows.lazy())).collect())
        inspected.append(Inspected(source, found_period, delivery))
    return inspected, census


def detect_source(name: str, uri: str, options: dict[str, Any], period: BillingPeriod | None,
                  today: date) -> SourceSettings:
    """The source at `uri`, its kind recognised from the export's own layout."""
    tried = []
    for kind in DETECTABLE_KINDS:
        source = source_settings(name, kind, uri, options)
        try:
            _delivery(connector_for(source), source, period, today)
        except CostallocError as error:
            tried.append(f"{kind} ({_first_line(error)})")
            continue
        return source
    raise ConfigurationError(
        f"`{uri}` holds no export costalloc recognises; tried " + "; ".join(tried)
        + ". Name the kind with --kind (gcp-bigquery needs --option table=project.dataset.table)")


def source_settings(name: str, kind: str, uri: str, options: dict[str, Any]) -> SourceSettings:
    """A source as `init` was told it on the command line, validated like costalloc.yaml's."""
    try:
        return SourceSettings.model_validate({"name": name, "kind": kind, "uri": uri,
                                              "options": options})
    except ValidationError as error:
        problems = "; ".join(f"`{'.'.join(str(p) for p in item['loc'])}`: {item['msg']}"
                             for item in error.errors())
        raise ConfigurationError(f"init: {problems}") from None


def write_project(directory: Path, inspected: list[Inspected], starter: Starter, *,
                  config: bool, force: bool) -> list[Path]:
    """Write `rules.yaml` (and `costalloc.yaml` when `config`) into `directory`; the rules are
    validated by the rules loader before anything is left on disk."""
    rules_path = directory / "rules.yaml"
    config_path = directory / "costalloc.yaml"
    targets = [rules_path, *([config_path] if config else [])]
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        raise ConfigurationError(f"{', '.join(existing)} already exist(s); `init` never "
                                 "overwrites your files (move them, or pass --force)")
    directory.mkdir(parents=True, exist_ok=True)
    described = ", ".join(f"`{i.source.name}` {i.period}" for i in inspected)
    period = str(inspected[0].period)
    draft = directory / ".rules.yaml.init"
    draft.write_text(render_rules(starter, source=described, period=period))
    try:
        load_rules(draft)
    except ConfigurationError:
        draft.unlink()
        raise
    draft.replace(rules_path)
    if config:
        config_path.write_text(render_config([i.source for i in inspected]))
    return targets


def render_config(sources: list[SourceSettings]) -> str:
    lines = ["# Written by `costalloc init`. Credentials never go here: each cloud's client finds",
             "# them in its default chain (environment, profile, role).",
             "warehouse: costalloc.duckdb", "rules: rules.yaml", "reports_dir: reports",
             "sources:"]
    for source in sources:
        lines += [f"  - name: {source.name}", f"    kind: {source.kind}",
                  f"    uri: {json.dumps(source.uri)}"]
        if source.options:
            lines.append(f"    options: {json.dumps(source.options)}")
    return "\n".join(lines) + "\n"


def describe(inspected: list[Inspected], starter: Starter) -> list[str]:
    """What `init` found, a line each, for the terminal."""
    lines = [f"{i.source.name} {i.period}: delivery {i.delivery.fingerprint}, "
             f"{len(i.delivery.files)} file(s)" for i in inspected]
    census = starter.census
    lines.append(f"counted {census.line_items:,} line items; tag keys: {len(starter.tag_key_names)}; "
                 f"accounts placed by name or tags: {len(starter.accounts)}")
    for currency in census.currencies():
        shares = ", ".join(f"{d} {covered(starter, d, currency) * 100:.1f}%"
                           for d in PROPOSED_DIMENSIONS)
        lines.append(f"{currency}: the starter rules place {shares} of billed cost")
    return lines


def _delivery(connector: Connector, source: SourceSettings, period: BillingPeriod | None,
              today: date) -> tuple[BillingPeriod, Delivery]:
    candidates = [period] if period else _recent(today)
    for candidate in candidates:
        delivery = connector.find_delivery(candidate)
        if delivery is not None:
            return candidate, delivery
    searched = str(period) if period else f"{candidates[-1]}…{candidates[0]}"
    raise SourceError(source.name, searched, f"no delivery under `{source.uri}` in these "
                      "months; name another period with --period")


def _recent(today: date) -> list[BillingPeriod]:
    current = BillingPeriod.containing(today)
    periods = [current]
    while len(periods) < MONTHS_SEARCHED:
        periods.append(periods[-1].previous())
    return periods


def _first_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text if len(text) <= 160 else text[:157] + "…"
