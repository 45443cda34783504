"""The rules file as validated data. No Python and no SQL ever comes from a rules file.

```yaml
dimensions: {environment: [development, staging, production], ...}   # optional
normalize:
  keys:   {environment: [env, stage]}             # tag key aliases, case-insensitive
  values: {environment: {prod: production}}       # tag value aliases, case-insensitive
rules:                                            # ordered; first match per dimension wins
  - id: env-from-tag
    when: {tag.environment: present}
    set:  {environment: "{tag.environment}"}
    effective: {from: 2026-01-01}
defaults: {cost_type: opex}                       # else `unallocated`
```
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.focus import LINE_ITEM_COLUMNS

UNALLOCATED = "unallocated"
STANDARD_DIMENSIONS: dict[str, list[str]] = {
    "environment": ["development", "staging", "production"],
    "workstream": ["experimentation", "platform_build", "production_operations",
                   "risk_compliance"],
    "cost_type": ["capex", "opex"],
}
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,80}$")
_TEMPLATE = re.compile(r"^\{tag\.([^{}]+)\}$")
_BARE_WORDS = {"present", "absent"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Match(_Strict):
    """How one field is tested. A bare string means `equals`, a list means `in`."""

    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    prefix: str | None = None
    suffix: str | None = None
    regex: str | None = None
    present: bool | None = None
    absent: bool | None = None
    case_insensitive: bool = False

    @model_validator(mode="after")
    def _exactly_one_test(self) -> Self:
        tests = [name for name in ("equals", "in_", "prefix", "suffix", "regex", "present",
                                   "absent") if getattr(self, name) is not None]
        if len(tests) != 1:
            raise ValueError("give exactly one of equals, in, prefix, suffix, regex, present, "
                             f"absent (found {len(tests)}: {', '.join(tests) or 'none'})")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as error:
                raise ValueError(f"regex `{self.regex}` does not compile: {error}") from None
        return self

    @classmethod
    def parse(cls, value: Any) -> Match:
        if isinstance(value, Match):
            return value
        if isinstance(value, str) and value in _BARE_WORDS:
            return cls.model_validate({value: True})
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return cls(equals=str(value))
        if isinstance(value, list):
            return cls.model_validate({"in": [str(item) for item in value]})
        if isinstance(value, dict):
            return cls.model_validate(value)
        raise ValueError(f"a condition value must be a string, a list or a mapping, not {value!r}")


class Condition(_Strict):
    """Field tests combined with all / any / not. Several fields in one mapping means all."""

    fields: dict[str, Match] = Field(default_factory=dict)
    all: list[Condition] = Field(default_factory=list)
    any: list[Condition] = Field(default_factory=list)
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="before")
    @classmethod
    def _split_fields(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise ValueError("a condition is a mapping of fields to tests")
        structured = {key: raw[key] for key in ("all", "any", "not") if key in raw}
        fields = {key: Match.parse(value) for key, value in raw.items() if key not in structured}
        for key in fields:
            check_field_name(key)
        return {**structured, "fields": fields}

    def tag_keys(self) -> set[str]:
        keys = {name[4:] for name in self.fields if name.startswith("tag.")}
        for child in [*self.all, *self.any, *([self.not_] if self.not_ else [])]:
            keys |= child.tag_keys()
        return keys


def check_field_name(name: str) -> str:
    """A condition field is a FOCUS / line item column or `tag.<key>`."""
    if name.startswith("tag.") and len(name) > 4:
        return name
    if name not in LINE_ITEM_COLUMNS:
        raise ValueError(f"`{name}` is neither a line item column nor `tag.<key>`")
    return name


class Effective(_Strict):
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError(f"`to` ({self.to}) is before `from` ({self.from_})")
        return self


class TaggingRule(_Strict):
    id: str
    description: str | None = None
    when: Condition
    set: dict[str, str]
    effective: Effective | None = None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, rule_id: str) -> str:
        if not _RULE_ID.match(rule_id):
            raise ValueError("ids are letters, digits and `_ . : -`, starting with a letter/digit")
        return rule_id

    def template_tag(self, dimension: str) -> str | None:
        match = _TEMPLATE.match(self.set[dimension])
        return match.group(1) if match else None


class Normalize(_Strict):
    keys: dict[str, list[str]] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)


class RuleSet(_Strict):
    dimensions: dict[str, list[str]] = Field(default_factory=lambda: dict(STANDARD_DIMENSIONS))
    normalize: Normalize = Field(default_factory=Normalize)
    rules: list[TaggingRule] = Field(default_factory=list)
    defaults: dict[str, str] = Field(default_factory=dict)
    version: str = ""  # content hash, set by the loader

    @field_validator("dimensions")
    @classmethod
    def _standard_dimensions_present(cls, dimensions: dict[str, list[str]]) -> dict[
            str, list[str]]:
        merged = {**STANDARD_DIMENSIONS, **dimensions}
        for name, values in merged.items():
            if not _IDENTIFIER.match(name):
                raise ValueError(f"dimension `{name}`: use lower_snake_case")
            if UNALLOCATED in values:
                raise ValueError(f"dimension `{name}`: `{UNALLOCATED}` is reserved")
        return merged

    @model_validator(mode="after")
    def _values_are_declared(self) -> Self:
        problems = []
        for index, rule in enumerate(self.rules):
            for dimension, value in rule.set.items():
                problem = self._check_value(dimension, value, allow_template=True)
                if problem:
                    problems.append(f"rules[{index}] `{rule.id}` set.{dimension}: {problem}")
        for dimension, value in self.defaults.items():
            problem = self._check_value(dimension, value, allow_template=False)
            if problem:
                problems.append(f"defaults.{dimension}: {problem}")
        for dimension, aliases in self.normalize.values.items():
            for alias, value in aliases.items():
                problem = self._check_value(dimension, value, allow_template=False)
                if problem:
                    problems.append(f"normalize.values.{dimension}.{alias}: {problem}")
        ids = [rule.id for rule in self.rules]
        problems += [f"rule id `{i}` is used more than once" for i in sorted(set(ids))
                     if ids.count(i) > 1]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _check_value(self, dimension: str, value: str, *, allow_template: bool) -> str | None:
        if dimension not in self.dimensions:
            return (f"unknown dimension `{dimension}` (declared: "
                    f"{', '.join(self.dimensions)})")
        if allow_template and _TEMPLATE.match(value):
            return None
        if value not in self.dimensions[dimension] and value != UNALLOCATED:
            return (f"found `{value}`, expected one of "
                    f"{', '.join(self.dimensions[dimension])}")
        return None

    def tag_aliases(self, key: str) -> list[str]:
        """The tag keys that spell `key` (itself first), lower-cased."""
        return [key.lower(), *(alias.lower() for alias in self.normalize.keys.get(key, []))]

    def value_aliases(self, dimension: str) -> dict[str, str]:
        return {alias.lower(): value
                for alias, value in self.normalize.values.get(dimension, {}).items()}

    def dimension_default(self, dimension: str) -> str:
        return self.defaults.get(dimension, UNALLOCATED)
