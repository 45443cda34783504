"""The source registry is the one place a kind is described: the docs are written from it, every
option is documented, its connectors are imported only when used, and a new kind is one entry."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import Field

from costalloc.connectors.focus_files import FocusFilesConnector
from costalloc.connectors.options import SourceOptions
from costalloc.connectors.registry import KINDS, SourceKind, connector_for
from costalloc.connectors.source_docs import sources_markdown, undocumented_options
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings, load_settings
from costalloc.flows.plan import open_periods

DOCS = Path(__file__).parents[2] / "docs"


def test_the_docs_list_exactly_the_registry() -> None:
    assert (DOCS / "sources.md").read_text() == sources_markdown(), (
        "docs/sources.md is stale: run `.venv/bin/python -m costalloc.connectors.source_docs > "
        "docs/sources.md`")
    table = [line.split("`")[1] for line in (DOCS / "sources.md").read_text().splitlines()
             if line.startswith("| [`")]
    assert table == list(KINDS)


def test_every_option_of_every_kind_is_typed_documented_and_closed() -> None:
    assert undocumented_options() == []
    for kind in KINDS.values():
        assert issubclass(kind.options, SourceOptions)
        assert kind.options.model_config.get("extra") == "forbid", kind.name
        assert kind.description and not kind.description.endswith(".")


def test_every_entry_names_a_connector_class_that_exists() -> None:
    for kind in KINDS.values():
        connector = kind.connector_class()
        assert isinstance(connector, type), kind.name
        for method in ("find_delivery", "read", "money_columns", "quantity_columns",
                       "control_totals", "to_focus"):
            assert callable(getattr(connector, method, None)), (kind.name, method)


def test_reading_aws_only_imports_no_gcp_or_azure_sdk(tmp_path: Path) -> None:
    (tmp_path / "costalloc.yaml").write_text(
        "sources:\n  - {name: aws, kind: aws-cur, uri: cur/exp, options: {region: us-east-1}}\n")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from costalloc.core.settings import load_settings\n"
        "from costalloc.connectors.registry import connector_for\n"
        f"settings = load_settings(Path({str(tmp_path / 'costalloc.yaml')!r}))\n"
        "connector_for(settings.sources[0])\n"
        "print(sorted(m for m in sys.modules if m.startswith(('google.cloud', 'azure'))))\n")
    imported = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert imported == "[]"


class AcmeOptions(SourceOptions):
    account: str = Field(description="Acme billing account id")


class AcmeConnector(FocusFilesConnector):
    """A new kind for the test below: Acme's export is FOCUS files, with an account id."""

    def __init__(self, settings: SourceSettings) -> None:
        self.account = AcmeOptions.of(settings).account
        super().__init__(settings.model_copy(update={"options": {}}))


def test_a_new_kind_is_one_entry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    entry = SourceKind("acme-export", "tests.connectors.test_registry:AcmeConnector",
                       AcmeOptions, restatement_days=40, delivery_lag=timedelta(days=1),
                       description="Acme Cloud's billing export")
    monkeypatch.setitem(KINDS, entry.name, entry)
    config = tmp_path / "costalloc.yaml"
    config.write_text(f"sources:\n  - {{name: acme, kind: acme-export, uri: {tmp_path}, "
                      "options: {account: a-1, restatement_days: 3}}\n")

    source = load_settings(config).source("acme")
    connector = connector_for(source)
    assert (connector.name, getattr(connector, "account", None)) == ("acme", "a-1")
    assert open_periods(source, date(2026, 11, 3)) == [BillingPeriod(2026, 10),
                                                       BillingPeriod(2026, 11)]
    assert open_periods(source.model_copy(update={"options": {"account": "a-1"}}),
                        date(2026, 12, 10)) == [BillingPeriod(2026, 11), BillingPeriod(2026, 12)]
    assert "| [`acme-export`](#acme-export) | Acme Cloud's billing export | 40 days | 24 hours |" \
        in sources_markdown()
    assert "| `account` | text | required | Acme billing account id |" in sources_markdown()
