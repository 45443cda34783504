"""What every source kind's `options:` share, and the one way they are checked.

Each kind declares a pydantic model (`extra="forbid"`) derived from `SourceOptions`; the
registry names it. Settings, the flows and the connector all validate a source's options with
`SourceOptions.of`, so a wrong or unknown option is refused in the same words for every kind:
one paragraph naming the source, the option and every option the kind accepts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from costalloc.core.errors import ConfigurationError

if TYPE_CHECKING:
    from costalloc.core.settings import SourceSettings

DEFAULT_DEADLINE_SECONDS = 120.0
_READ_BY_FLOWS: dict[str, JsonValue] = {"read_by": "flows"}


class SourceOptions(BaseModel):
    """Options every kind accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    restatement_days: int | None = Field(
        default=None, ge=0, le=366, strict=True, json_schema_extra=_READ_BY_FLOWS,
        description="Days after a month ends during which the run re-checks it (default: the "
                    "kind's restatement window)")
    retry_deadline_seconds: float = Field(
        default=DEFAULT_DEADLINE_SECONDS, gt=0, le=3600,
        description="How long one call to a cloud endpoint is retried (no connection, "
                    "throttling, 5xx) before it gives up")

    @classmethod
    def of(cls, source: SourceSettings) -> Self:
        """`source.options` as this model; a `ConfigurationError` paragraph when they don't fit."""
        try:
            return cls.model_validate(source.options)
        except ValidationError as error:
            raise ConfigurationError(describe(source.name, source.kind, cls, error)) from None

    @classmethod
    def flow_options(cls) -> frozenset[str]:
        """Options the flows read (the connector ignores them)."""
        return frozenset(name for name, field in cls.model_fields.items()
                         if field.json_schema_extra == _READ_BY_FLOWS)


class ObjectStoreOptions(SourceOptions):
    """Options of kinds whose `uri` may be an `s3://` prefix (see `connectors.storage`)."""

    region: str | None = Field(default=None, description="AWS region of the bucket (s3:// only)")
    profile: str | None = Field(default=None, description="AWS profile to take credentials from "
                                                          "(s3:// only)")
    endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint, e.g. "
                                                               "http://127.0.0.1:5000 (s3:// only)")
    max_attempts: int | None = Field(
        default=None, ge=1, le=20,
        description="Tries per S3 request (default: as many as fit in retry_deadline_seconds)")

    def storage(self) -> dict[str, Any]:
        """What `connectors.storage.open_location` reads."""
        return {"region": self.region, "profile": self.profile, "endpoint_url": self.endpoint_url,
                "max_attempts": self.max_attempts,
                "retry_deadline_seconds": self.retry_deadline_seconds}


def describe(source: str, kind: str, model: type[BaseModel], error: ValidationError) -> str:
    """One paragraph: every problem with its option, then every option the kind accepts."""
    problems = []
    for item in error.errors():
        option = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown option `{option}`")
        elif item["type"] == "missing":
            problems.append(f"option `{option}` is required")
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"option `{option}`: {message}" if option else message)
    accepted = ", ".join(f"`{name}`" for name in sorted(model.model_fields))
    return (f"source `{source}` ({kind}): {'; '.join(problems)}. {kind} accepts {accepted} "
            "(see docs/sources.md)")
