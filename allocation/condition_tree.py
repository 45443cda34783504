"""Rule conditions (`when:`) as validated data, and the one walker every reader of them uses.

```yaml
when:
  ServiceName: {prefix: Amazon}          # a FOCUS / line item column
  tag.team: [ml, data]                   # a tag (keys and values any case); a list means `in`
  dim.environment: production            # a dimension an earlier rule set; text means `equals`
  any: [{x_usage_type: {regex: "Nat"}}, {tag.project: present}]
  not: {SubAccountId: "111"}
```
Several fields in one mapping must all hold. A field's test is one operator of the registry
(`allocation.operators`); validation, evaluation (`allocation.conditions`), `explain`, profiles
and rule statistics all go through `walk` / `field_tests` here, so none lists them again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from costalloc.allocation.operators import OPERATORS, Operand, Operator
from costalloc.core.focus import LINE_ITEM_COLUMNS
from costalloc.core.yaml_input import clip, excerpt

MAX_DEPTH = 16  # nested all / any / not: deeper is a mistake, and costs recursion
_BARE_WORDS = {"present", "absent"}
FieldKind = Literal["column", "tag", "dim"]
T = TypeVar("T")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Match(_Strict):
    """How one field is tested: an operator of the registry and its checked operand.

    Written as a bare text (`equals`), a list (`in`), `present` / `absent`, or a mapping with
    one operator and optionally `case_insensitive: true`."""

    field: str
    operator: str
    operand: Operand
    case_insensitive: bool = False

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or set(raw) != {"field", "test"}:
            return raw  # built in code: checked field by field
        name = check_field_name(raw["field"])
        test = raw["test"]
        if isinstance(test, str) and test in _BARE_WORDS:
            test = {test: True}
        elif isinstance(test, (str, int, float)) and not isinstance(test, bool):
            test = {"equals": str(test)}
        elif isinstance(test, list):
            test = {"in": [str(item) for item in test]}
        elif not isinstance(test, dict):
            raise ValueError("a test is a text, a list or a mapping of one operator, not "
                             f"{excerpt(test)}")
        options = {key: value for key, value in test.items() if key == "case_insensitive"}
        named = [key for key in test if key not in options]
        unknown = [str(key) for key in named if key not in OPERATORS]
        if unknown or len(named) != 1:
            found = (f"unknown: {', '.join(excerpt(key, 40) for key in unknown)}" if unknown
                     else f"found {len(named)}: {', '.join(map(str, named)) or 'none'}")
            raise ValueError(f"give exactly one of {', '.join(OPERATORS)} ({found})")
        case_insensitive = options.get("case_insensitive", False)
        if not isinstance(case_insensitive, bool):
            raise ValueError("`case_insensitive` takes true or false")
        operator = OPERATORS[named[0]]
        fold = name.startswith("tag.") or case_insensitive
        return {"field": name, "operator": operator.name,
                "operand": operator.check(test[operator.name], fold),
                "case_insensitive": case_insensitive}

    @model_validator(mode="after")
    def _known_operator(self) -> Self:
        if self.operator not in OPERATORS:
            raise ValueError(f"`{clip(self.operator, 40)}` is not an operator (give one of "
                             f"{', '.join(OPERATORS)})")
        return self

    @property
    def kind(self) -> FieldKind:
        return "tag" if self.field.startswith("tag.") else (
            "dim" if self.field.startswith("dim.") else "column")

    @property
    def key(self) -> str:
        """The column, tag key or dimension the test reads."""
        return self.field if self.kind == "column" else self.field[4:]

    @property
    def spec(self) -> Operator:
        return OPERATORS[self.operator]

    @property
    def fold(self) -> bool:
        """Compared lower-cased: tags always, columns when the test says so."""
        return self.kind == "tag" or self.case_insensitive

    def words(self) -> str:
        case = " (any case)" if self.case_insensitive and self.spec.reads == "value" else ""
        return f"{self.field} {self.spec.words(self.operand)}{case}"


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
        fields = {key: {"field": key, "test": value} for key, value in raw.items()
                  if key not in structured}
        return {**structured, "fields": fields}

    @model_validator(mode="after")
    def _not_too_deep(self) -> Self:
        if depth(self) > MAX_DEPTH:
            raise ValueError(f"conditions nest all / any / not more than {MAX_DEPTH} levels deep")
        return self

    def dimension_fields(self) -> set[str]:
        """Dimensions this condition tests (`dim.<name>`)."""
        return {match.key for match in field_tests(self) if match.kind == "dim"}

    def dimension_values(self) -> dict[str, set[str]]:
        """Per tested dimension, the values it selects exactly (what splits may not target)."""
        values: dict[str, set[str]] = {}
        for match in field_tests(self):
            if match.kind == "dim":
                values.setdefault(match.key, set()).update(match.spec.picks(match.operand))
        return values

    def reads(self, kind: FieldKind) -> set[str]:
        """The columns, tag keys or dimensions (by `kind`) this condition reads."""
        return {match.key for match in field_tests(self) if match.kind == kind}


def check_field_name(name: object) -> str:
    """A condition field is a FOCUS / line item column, `tag.<key>` or `dim.<dimension>`."""
    if not isinstance(name, str):
        raise ValueError(f"a field name is a text, not {excerpt(name, 40)}")
    if name.startswith(("tag.", "dim.")) and len(name) > 4:
        return name
    if name not in LINE_ITEM_COLUMNS:
        raise ValueError(f"`{clip(name, 60)}` is neither a line item column, "
                         "`tag.<key>` nor `dim.<name>`")
    return name


@dataclass(frozen=True)
class Parts(Generic[T]):
    """What `walk` hands `combine` for one condition: its field tests and its children, each
    already turned into a `T`. All of them must hold, `any` as one group."""

    tests: list[T]
    all: list[T]
    any: list[T]
    not_: T | None


def walk(condition: Condition, test: Callable[[Match], T],
         combine: Callable[[Parts[T]], T]) -> T:
    """Fold `condition` into a `T`: `test` turns each field test, `combine` each level."""
    def down(child: Condition) -> T:
        return walk(child, test, combine)

    return combine(Parts(tests=[test(match) for match in condition.fields.values()],
                         all=[down(child) for child in condition.all],
                         any=[down(child) for child in condition.any],
                         not_=down(condition.not_) if condition.not_ is not None else None))


def field_tests(condition: Condition) -> Iterator[Match]:
    """Every field test in `condition`, at any depth."""
    yield from walk(condition, lambda match: [match], _flatten)


def depth(condition: Condition) -> int:
    return walk(condition, lambda match: 0,
                lambda parts: 1 + max([*parts.all, *parts.any,
                                       *([parts.not_] if parts.not_ is not None else [])],
                                      default=0))


def _flatten(parts: Parts[list[Match]]) -> list[Match]:
    nested = [*parts.tests, *parts.all, *parts.any, *([parts.not_] if parts.not_ else [])]
    return [match for group in nested for match in group]
