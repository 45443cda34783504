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
from decimal import Decimal
from pathlib import Path
from typing import Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from costalloc.allocation.condition_tree import Condition
from costalloc.allocation.windows import Window

UNALLOCATED = "unallocated"
STANDARD_DIMENSIONS: dict[str, list[str]] = {
    "environment": ["development", "staging", "production"],
    "workstream": ["experimentation", "platform_build", "production_operations",
                   "risk_compliance"],
    "cost_type": ["capex", "opex"],
}
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,80}$")
_TEMPLATE = re.compile(r"^\{(tag|account)\.([^{}]+)\}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Effective(_Strict):
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError(f"`to` ({self.to}) is before `from` ({self.from_})")
        return self

    def window(self) -> Window:
        return Window.of_days(self.from_, self.to)


ValueSource = str | list[str]


class TaggingRule(_Strict):
    """Set dimensions on the line items `when` selects. A value is a literal, a template
    (`{tag.team}`, `{account.environment}`) or a list of them tried in order (a fallback chain:
    the first that yields a declared value wins)."""

    id: str
    description: str | None = None
    when: Condition
    set: dict[str, ValueSource]
    effective: Effective | None = None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, rule_id: str) -> str:
        if not _RULE_ID.match(rule_id):
            raise ValueError("ids are letters, digits and `_ . : -`, starting with a letter/digit")
        return rule_id

    def sources(self, dimension: str) -> list[str]:
        value = self.set[dimension]
        return [value] if isinstance(value, str) else list(value)

    @model_validator(mode="after")
    def _values_fit_declared_dimensions(self, info: ValidationInfo) -> Self:
        """With the file's dimensions in the validation context (the loader passes them), each
        rule reports its own undeclared values, so every problem is listed in one pass."""
        declared = (info.context or {}).get("dimensions")
        if not declared:
            return self
        problems = []
        for dimension in self.set:
            if dimension not in declared:
                problems.append(f"set.{dimension}: unknown dimension `{dimension}` (declared: "
                                f"{', '.join(declared)})")
                continue
            for value in self.sources(dimension):
                if dimension == "cost_type" and value == "capex":
                    problems.append("set.cost_type: CapEx comes only from a `capitalization` "
                                    "entry with an approved phase")
                elif parse_template(value) is None and value not in declared[dimension] \
                        and value != UNALLOCATED:
                    problems.append(f"set.{dimension}: found `{value}`, expected one of "
                                    f"{', '.join(declared[dimension])}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def parse_template(value: str) -> tuple[str, str] | None:
    """`{tag.team}` → ("tag", "team"); `{account.environment}` → ("account", "environment")."""
    match = _TEMPLATE.match(value)
    return (match.group(1), match.group(2)) if match else None


class Phase(_Strict):
    phase: Literal["research", "development", "production", "maintenance"]
    from_: date = Field(alias="from")
    to: date | None = None
    capitalize: bool = False
    approval: str | None = None
    useful_life_months: int | None = Field(default=None, ge=1, le=600)

    @model_validator(mode="after")
    def _evidence(self) -> Self:
        if self.to is not None and self.to < self.from_:
            raise ValueError(f"phase `{self.phase}`: `to` ({self.to}) is before `from`")
        if self.capitalize and not (self.approval or "").strip():
            raise ValueError(f"phase `{self.phase}` capitalizes without an `approval` reference; "
                             "CapEx needs evidence (e.g. approval: \"CFO memo 2026-03-28\")")
        if self.capitalize and self.phase in ("research", "production", "maintenance"):
            raise ValueError(f"phase `{self.phase}` cannot capitalize: research, production and "
                             "maintenance costs are OpEx; only development builds an asset")
        return self

    def window(self) -> Window:
        return Window.of_days(self.from_, self.to)


class Capitalization(_Strict):
    """A project whose development-phase cost is capitalized, with evidence, and amortized."""

    project: str
    when: Condition
    useful_life_months: int | None = Field(default=None, ge=1, le=600)
    phases: list[Phase]

    @model_validator(mode="after")
    def _phases_in_order(self) -> Self:
        for earlier, later in zip(self.phases, self.phases[1:], strict=False):
            if earlier.to is None or later.from_ <= earlier.to:
                raise ValueError(f"project `{self.project}`: phase `{later.phase}` starts "
                                 f"{later.from_} before phase `{earlier.phase}` ends "
                                 f"({earlier.to or 'open-ended'})")
        for phase in self.phases:
            if phase.capitalize and not (phase.useful_life_months or self.useful_life_months):
                raise ValueError(f"project `{self.project}` phase `{phase.phase}`: capitalized "
                                 "cost needs `useful_life_months` (on the phase or the project)")
        return self

    def life(self, phase: Phase) -> int | None:
        return phase.useful_life_months or self.useful_life_months


SPLIT_PARTITIONS = ("ProviderName", "x_source", "BillingAccountId", "SubAccountId",
                    "BillingCurrency", "RegionId")


class Driver(_Strict):
    """A usage table the user supplies: CSV or Parquet with columns period, target, quantity."""

    file: Path
    name: str


class Split(_Strict):
    """Distribute the cost of the rows `when` selects across a dimension's targets."""

    id: str
    description: str | None = None
    when: Condition
    method: Literal["even", "fixed", "proportional", "usage"]
    across: dict[str, list[str]] | str
    basis: Literal["BilledCost", "EffectiveCost"] = "EffectiveCost"
    shares: dict[str, Decimal] | None = None
    driver: Driver | None = None
    within: list[str] = Field(default_factory=list)
    fallback: Literal["even"] | None = None
    effective: Effective | None = None

    @model_validator(mode="after")
    def _method_has_what_it_needs(self) -> Self:
        if isinstance(self.across, dict) and len(self.across) != 1:
            raise ValueError("`across` names exactly one dimension")
        if self.method == "fixed":
            if not self.shares:
                raise ValueError("a fixed split needs `shares` (target: fraction, summing to 1)")
            outside = [f"{target}={share}" for target, share in self.shares.items()
                       if not 0 <= share <= 1]
            if outside:
                raise ValueError(f"share(s) {', '.join(outside)} outside [0, 1]; a fixed share "
                                 "is the fraction of the cost a target takes")
            total = sum(self.shares.values(), Decimal(0))
            if total != 1:
                listed = ", ".join(f"{k}={v}" for k, v in self.shares.items())
                raise ValueError(f"targets sum to {total} ({listed}); fixed shares must sum to 1")
        elif self.shares is not None:
            raise ValueError(f"`shares` only goes with method fixed, not {self.method}")
        if (self.method == "usage") != (self.driver is not None):
            raise ValueError("method usage needs a `driver` {file, name}, and only usage takes one")
        bad = [p for p in self.within if p not in SPLIT_PARTITIONS]
        if bad:
            raise ValueError(f"`within` {bad}: choose from {', '.join(SPLIT_PARTITIONS)}")
        return self

    @property
    def dimension(self) -> str:
        return self.across if isinstance(self.across, str) else next(iter(self.across))

    def targets(self, declared: dict[str, list[str]]) -> list[str]:
        if isinstance(self.across, str):
            return list(declared.get(self.across, []))
        return list(self.across[self.dimension])


class Normalize(_Strict):
    keys: dict[str, list[str]] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)


class RuleSet(_Strict):
    dimensions: dict[str, list[str]] = Field(default_factory=lambda: dict(STANDARD_DIMENSIONS))
    normalize: Normalize = Field(default_factory=Normalize)
    accounts: dict[str, dict[str, str]] = Field(default_factory=dict)
    rules: list[TaggingRule] = Field(default_factory=list)
    defaults: dict[str, str] = Field(default_factory=dict)
    splits: list[Split] = Field(default_factory=list)
    capitalization: list[Capitalization] = Field(default_factory=list)
    version: str = ""  # content hash, set by the loader
    base_dir: Path = Path(".")  # the rules file's folder: driver files are relative to it

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
        if merged["cost_type"] != STANDARD_DIMENSIONS["cost_type"]:
            raise ValueError("dimension `cost_type` is fixed: capex, opex")
        return merged

    @field_validator("defaults")
    @classmethod
    def _defaults_are_declared(cls, defaults: dict[str, str], info: ValidationInfo) -> dict[
            str, str]:
        declared = (info.context or {}).get("dimensions")
        if declared:
            problems = [f"defaults.{d}: found `{v}`, expected one of {', '.join(declared[d])}"
                        for d, v in defaults.items()
                        if d in declared and v not in declared[d] and v != UNALLOCATED]
            if problems:
                raise ValueError("; ".join(problems))
        return defaults

    @model_validator(mode="after")
    def _values_are_declared(self) -> Self:
        problems = []
        for index, rule in enumerate(self.rules):
            for dimension in rule.set:
                for value in rule.sources(dimension):
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
        for account, values in self.accounts.items():
            for dimension, value in values.items():
                problem = self._check_value(dimension, value, allow_template=False)
                if problem:
                    problems.append(f"accounts.{account}.{dimension}: {problem}")
        problems += self._capex_only_with_evidence()
        problems += self._split_problems()
        problems += self._dependency_problems()
        for kind, ids in (("rule", [r.id for r in self.rules]), ("split", [s.id for s in self.splits]),
                          ("project", [c.project for c in self.capitalization])):
            problems += [f"{kind} id `{i}` is used more than once" for i in sorted(set(ids))
                         if ids.count(i) > 1]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _check_value(self, dimension: str, value: str, *, allow_template: bool) -> str | None:
        if dimension not in self.dimensions:
            return (f"unknown dimension `{dimension}` (declared: "
                    f"{', '.join(self.dimensions)})")
        template = parse_template(value)
        if template is not None:
            if not allow_template:
                return f"`{value}`: templates go only in a rule's `set`"
            if template[0] == "account" and template[1] not in self.dimensions:
                return f"`{value}`: `{template[1]}` is not a declared dimension"
            return None
        if value not in self.dimensions[dimension] and value != UNALLOCATED:
            return (f"found `{value}`, expected one of "
                    f"{', '.join(self.dimensions[dimension])}")
        return None

    def _capex_only_with_evidence(self) -> list[str]:
        problems = []
        for index, rule in enumerate(self.rules):
            if "cost_type" in rule.set and "capex" in rule.sources("cost_type"):
                problems.append(f"rules[{index}] `{rule.id}` set.cost_type: CapEx comes only "
                                "from a `capitalization` entry with an approved phase")
        if self.defaults.get("cost_type") == "capex":
            problems.append("defaults.cost_type: the default cannot be capex; everything without "
                            "capitalization evidence is opex")
        return problems

    def _split_problems(self) -> list[str]:
        problems = []
        targeted: dict[str, set[str]] = {}
        for index, split in enumerate(self.splits):
            if split.dimension not in self.dimensions or split.dimension == "cost_type":
                problems.append(f"splits[{index}] `{split.id}` across: `{split.dimension}` is not a "
                                "dimension a split can move (cost_type follows the CapEx policy)")
                continue
            targets = split.targets(self.dimensions)
            unknown = [t for t in targets if t not in self.dimensions[split.dimension]]
            if unknown:
                problems.append(f"splits[{index}] `{split.id}` across.{split.dimension}: {unknown} not "
                                f"declared (expected among {', '.join(self.dimensions[split.dimension])})")
            if split.shares and set(split.shares) != set(targets):
                problems.append(f"splits[{index}] `{split.id}` shares: name exactly the targets {targets}")
            targeted.setdefault(split.dimension, set()).update(targets)
        for index, split in enumerate(self.splits):
            for dimension, values in split.when.dimension_values().items():
                clash = targeted.get(dimension, set()) & values
                if clash:
                    problems.append(f"splits[{index}] `{split.id}` when: {dimension} value(s) "
                                    f"{sorted(clash)} are also split targets; a value cannot be "
                                    "both source and target of splits")
        return problems

    def _dependency_problems(self) -> list[str]:
        try:
            self.dimension_order()
        except ValueError as error:
            return [str(error)]
        return []

    def dimension_order(self) -> list[str]:
        """Dimensions in the order rules must set them: one whose rules test `dim.X` after X."""
        needs: dict[str, set[str]] = {d: set() for d in self.dimensions}
        for rule in self.rules:
            used = set(rule.when.dimension_values()) | rule.when.dimension_fields()
            for dimension in rule.set:
                needs[dimension] |= used - {dimension}
        order: list[str] = []
        visiting: list[str] = []

        def visit(dimension: str) -> None:
            if dimension in order:
                return
            if dimension in visiting:
                cycle = " → ".join([*visiting[visiting.index(dimension):], dimension])
                raise ValueError(f"dimensions depend on each other in a cycle: {cycle}")
            visiting.append(dimension)
            for other in sorted(needs.get(dimension, set())):
                if other in needs:
                    visit(other)
            visiting.pop()
            order.append(dimension)

        for dimension in self.dimensions:
            visit(dimension)
        return order

    def conditions(self) -> list[Condition]:
        """Every `when` of the file: rules, splits and capitalization entries."""
        return [*(rule.when for rule in self.rules), *(split.when for split in self.splits),
                *(entry.when for entry in self.capitalization)]

    def tag_keys(self) -> set[str]:
        """The tag keys the file reads: in conditions and in `{tag.<key>}` templates."""
        keys = {key for condition in self.conditions() for key in condition.reads("tag")}
        for rule in self.rules:
            for dimension in rule.set:
                templates = (parse_template(source) for source in rule.sources(dimension))
                keys |= {t[1] for t in templates if t is not None and t[0] == "tag"}
        return keys

    def windows(self) -> list[Window]:
        """Every date window of the file: `effective` of rules and splits, and phases."""
        effective = [*(rule.effective for rule in self.rules),
                     *(split.effective for split in self.splits)]
        return [*(e.window() for e in effective if e is not None),
                *(phase.window() for entry in self.capitalization for phase in entry.phases)]

    def tag_aliases(self, key: str) -> list[str]:
        """The tag keys that spell `key` (itself first), lower-cased."""
        return [key.lower(), *(alias.lower() for alias in self.normalize.keys.get(key, []))]

    def value_aliases(self, dimension: str) -> dict[str, str]:
        return {alias.lower(): value
                for alias, value in self.normalize.values.get(dimension, {}).items()}

    def dimension_default(self, dimension: str) -> str:
        return self.defaults.get(dimension, UNALLOCATED)
