"""`costalloc.yaml`: where the warehouse is, which sources to read, which rules apply.

Credentials never live here: each cloud's client finds them in its default chain
(environment, profile, instance role), so this file can be committed. A source's `kind` and
`options` are checked against the source registry (`connectors.registry`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from costalloc.core.currencies import is_currency
from costalloc.core.errors import ConfigurationError
from costalloc.core.yaml_input import problem_report, read_yaml

if TYPE_CHECKING:
    from costalloc.connectors.registry import SourceKind

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_SECRET_KEYS = re.compile(r"(secret|password|token|access_key|credential|sas|account_key)", re.I)


class SourceSettings(BaseModel):
    """One billing source: a provider export the nightly run reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: str  # a key of connectors.registry.KINDS
    uri: str = ""
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name_is_an_identifier(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError("use lower-case letters, digits, `-` and `_` (it names partitions)")
        return name

    @field_validator("kind")
    @classmethod
    def _a_registered_kind(cls, kind: str) -> str:
        kinds = _kinds()
        if kind not in kinds:
            raise ValueError(f"`{kind}` is not a source kind; kinds: {', '.join(kinds)}")
        return kind

    @field_validator("options")
    @classmethod
    def _no_credentials(cls, options: dict[str, Any]) -> dict[str, Any]:
        leaked = sorted(key for key in options if _SECRET_KEYS.search(key))
        if leaked:
            raise ValueError(
                f"option(s) {', '.join(leaked)} look like credentials; credentials come only "
                "from the cloud's default chain (environment, profile, role), never from config"
            )
        return options

    @model_validator(mode="after")
    def _options_fit_the_kind(self) -> Self:
        try:
            _kinds()[self.kind].options.of(self)
        except ConfigurationError as error:
            raise ValueError(str(error)) from None
        return self


def _kinds() -> dict[str, SourceKind]:
    # Imported when a source is checked, not with this module: the registry imports the
    # connectors' options modules, and the connectors import this module.
    from costalloc.connectors.registry import KINDS

    return KINDS


class Settings(BaseModel):
    """The whole configuration file, with paths resolved against the file's folder."""

    model_config = ConfigDict(extra="forbid")

    warehouse: Path = Path("costalloc.duckdb")
    rules: Path | None = None
    sources: list[SourceSettings] = Field(default_factory=list)
    reports_dir: Path = Path("reports")
    lake: str | None = None  # Hive-partitioned Parquet copy of line_items: a folder or s3:// prefix
    # Optional: figures that put currencies together convert into this one (docs/currencies.md)
    reporting_currency: str | None = None
    exchange_rates: Path | None = Field(default=None, validate_default=True)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceSettings]) -> list[SourceSettings]:
        names = [source.name for source in sources]
        doubled = sorted({name for name in names if names.count(name) > 1})
        if doubled:
            raise ValueError(f"source names must be unique; repeated: {', '.join(doubled)}")
        return sources

    @field_validator("reporting_currency")
    @classmethod
    def _iso_currency(cls, code: str | None) -> str | None:
        if code is not None and not is_currency(code):
            raise ValueError(f"`{code}` is not an ISO 4217 currency code (e.g. USD, EUR)")
        return code

    @field_validator("exchange_rates")
    @classmethod
    def _rates_with_currency(cls, rates: Path | None, info: ValidationInfo) -> Path | None:
        if "reporting_currency" not in info.data:  # invalid: said above
            return rates
        if (rates is None) != (info.data["reporting_currency"] is None):
            raise ValueError("`reporting_currency` and `exchange_rates` go together: the currency "
                             "to convert into and the rates file to convert with")
        return rates

    def source(self, name: str) -> SourceSettings:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigurationError(f"no source named `{name}` in the configuration (known: {known})")


def load_settings(path: Path) -> Settings:
    """Read and validate `path`; relative paths in it are relative to its folder."""
    if not path.exists():
        raise ConfigurationError(
            f"configuration file `{path}` not found; pass --config or create it "
            "(see deploy/costalloc.example.yaml)"
        )
    raw = read_yaml(path, expand=os.path.expandvars).data or {}
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as error:
        raise ConfigurationError(_describe(path, error)) from None
    base = path.parent
    settings.warehouse = _under(base, settings.warehouse)
    settings.reports_dir = _under(base, settings.reports_dir)
    if settings.rules is not None:
        settings.rules = _under(base, settings.rules)
    if settings.exchange_rates is not None:
        settings.exchange_rates = _under(base, settings.exchange_rates)
    if settings.lake is not None and "://" not in settings.lake:
        settings.lake = str(_under(base, Path(settings.lake)))
    settings.sources = [_resolve_local_uri(base, source) for source in settings.sources]
    return settings


def _under(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else base / path


def _resolve_local_uri(base: Path, source: SourceSettings) -> SourceSettings:
    if not source.uri or "://" in source.uri or Path(source.uri).is_absolute():
        return source
    return source.model_copy(update={"uri": str(base / source.uri)})


def _describe(path: Path, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        problems.append(f"  `{where}`: {str(item['msg']).removeprefix('Value error, ')}")
    return problem_report(f"{path}: {error.error_count()} problem(s):", problems)
