from pathlib import Path

import pytest
import yaml

from costalloc.connectors.registry import KINDS, connector_for
from costalloc.core.errors import ConfigurationError
from costalloc.core.settings import SourceSettings, load_settings


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    config = tmp_path / "costalloc.yaml"
    config.write_text("rules: rules.yaml\nsources:\n"
                      "  - {name: aws-main, kind: aws-cur, uri: bucket/cur/export}\n"
                      "  - {name: aws-s3, kind: aws-cur, uri: s3://b/p/export}\n")
    settings = load_settings(config)
    assert settings.warehouse == tmp_path / "costalloc.duckdb"
    assert settings.rules == tmp_path / "rules.yaml"
    assert settings.source("aws-main").uri == str(tmp_path / "bucket/cur/export")
    assert settings.source("aws-s3").uri == "s3://b/p/export"


def test_credentials_in_options_are_refused_without_echoing_them(tmp_path: Path) -> None:
    config = tmp_path / "costalloc.yaml"
    config.write_text("sources:\n  - name: aws\n    kind: aws-cur\n    uri: s3://b/x\n"
                      "    options: {aws_secret_access_key: hunter2}\n")
    with pytest.raises(ConfigurationError) as raised:
        load_settings(config)
    assert "default chain" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_every_problem_is_listed_with_its_place(tmp_path: Path) -> None:
    config = tmp_path / "costalloc.yaml"
    config.write_text("warehous: x.duckdb\nsources:\n  - {name: A B, kind: aws-cur}\n"
                      "  - {name: ok, kind: nope}\n")
    with pytest.raises(ConfigurationError) as raised:
        load_settings(config)
    message = str(raised.value)
    assert "3 problem(s)" in message
    assert "`warehous`" in message and "`sources.0.name`" in message
    assert "`sources.1.kind`" in message


def test_unknown_source_names_the_known_ones(tmp_path: Path) -> None:
    config = tmp_path / "costalloc.yaml"
    config.write_text("sources:\n  - {name: aws, kind: aws-cur, uri: x}\n")
    with pytest.raises(ConfigurationError, match="known: aws"):
        load_settings(config).source("gcp")


def test_a_missing_file_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="--config"):
        load_settings(tmp_path / "nope.yaml")


def test_the_kinds_are_the_registrys(tmp_path: Path) -> None:
    config = tmp_path / "costalloc.yaml"
    config.write_text(yaml.safe_dump({"sources": [
        {"name": f"s{n}", "kind": kind, "uri": "x", "options": _required(kind)}
        for n, kind in enumerate(KINDS)]}))
    assert [s.kind for s in load_settings(config).sources] == list(KINDS)

    config.write_text("sources:\n  - {name: s, kind: aws-curr, uri: x}\n")
    with pytest.raises(ConfigurationError) as raised:
        load_settings(config)
    assert f"`sources.0.kind`: `aws-curr` is not a source kind; kinds: {', '.join(KINDS)}" \
        in str(raised.value)


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_unknown_option_is_refused_the_same_way_for_every_kind(tmp_path: Path,
                                                                   kind: str) -> None:
    accepted = ", ".join(f"`{name}`" for name in sorted(KINDS[kind].options.model_fields))
    paragraph = (f"source `src` ({kind}): unknown option `colour`. {kind} accepts {accepted} "
                 "(see docs/sources.md)")
    config = tmp_path / "costalloc.yaml"
    config.write_text(yaml.safe_dump({"sources": [
        {"name": "src", "kind": kind, "uri": "x", "options": {**_required(kind),
                                                                "colour": "blue"}}]}))

    with pytest.raises(ConfigurationError) as from_file:
        load_settings(config)
    assert str(from_file.value) == f"{config}: 1 problem(s):\n  `sources.0`: {paragraph}"

    # A connector handed unchecked settings refuses them in the same words.
    valid = SourceSettings(name="src", kind=kind, uri="x", options=_required(kind))
    unchecked = valid.model_copy(update={"options": {**valid.options, "colour": "blue"}})
    with pytest.raises(ConfigurationError) as from_connector:
        connector_for(unchecked)
    assert str(from_connector.value) == paragraph


def _required(kind: str) -> dict[str, object]:
    return {"scope": "subscriptions/0"} if kind == "azure-cost-details" else {}


def test_a_reporting_currency_comes_with_its_rates_file(tmp_path: Path) -> None:
    config = tmp_path / "costalloc.yaml"
    config.write_text("reporting_currency: USD\nexchange_rates: finance/rates.csv\n")
    settings = load_settings(config)
    assert settings.reporting_currency == "USD"
    assert settings.exchange_rates == tmp_path / "finance" / "rates.csv"
    for text, problem in (("reporting_currency: USD\n", "`exchange_rates`: "
                           "`reporting_currency` and `exchange_rates` go together"),
                          ("exchange_rates: r.csv\n", "go together"),
                          ("reporting_currency: usd\nexchange_rates: r.csv\n",
                           "`reporting_currency`: `usd` is not an ISO 4217")):
        config.write_text(text)
        with pytest.raises(ConfigurationError) as raised:
            load_settings(config)
        assert "1 problem(s)" in str(raised.value) and problem in str(raised.value)
