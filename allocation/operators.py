"""The match operators a rule condition may use: the closed set of the design (equals, in,
prefix, suffix, regex, present, absent), one registry entry each, and each entry carries all
there is to know about it — how its operand is checked at load, how it runs in polars, how
`explain` words it, what it reads of the field, and which values it singles out.

Nothing else lists the operators: the condition model parses with `OPERATORS`, the engine
evaluates with `Operator.evaluate`, `explain` and the docs word them with `Operator.words`.

Case: tags are compared lower-cased (`fold`), FOCUS columns as written unless the test says
`case_insensitive: true`. When folding, `evaluate` receives the field's value lower-cased and
lowers its own literals; a regex is run with `(?i)` instead, so its classes keep their meaning.

Regexes run on polars, that is the Rust `regex` crate: no look-around, no backreferences, and a
compiled program of at most 10 MiB. `check_regex` compiles a pattern with that very engine at
load, so a pattern the engine cannot run is a rules-file error, never a failed allocation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from pydantic import TypeAdapter, ValidationError

from costalloc.core.yaml_input import clip

Operand = str | tuple[str, ...] | bool
MAX_REGEX_CHARS = 1000
_TEXT: TypeAdapter[Any] = TypeAdapter(str)
_TEXTS: TypeAdapter[Any] = TypeAdapter(list[str])
_FLAG: TypeAdapter[Any] = TypeAdapter(bool)


@dataclass(frozen=True)
class Operator:
    """One way of testing a field.

    `reads` is what the test looks at: the field's `value`, or only its `presence` (a tag with
    a non-empty value, a non-null column, a dimension some rule set — `unallocated` counts as
    absent). `picks` gives the values the test selects exactly (equals / in), which splits
    may not also target."""

    name: str
    takes: str  # the operand, in words, for messages and docs
    operand: TypeAdapter[Any]
    reads: Literal["value", "presence"]
    evaluate: Callable[[pl.Expr, Operand, bool], pl.Expr]  # value, operand, fold → boolean
    words: Callable[[Operand], str]
    picks: Callable[[Operand], frozenset[str]] = lambda operand: frozenset()
    also: Callable[[Operand, bool], None] | None = None  # a further check (ValueError)

    def check(self, raw: object, fold: bool) -> Operand:
        """The operand as written, checked (a ValueError says what the operator takes)."""
        try:
            value = self.operand.validate_python(raw)
        except ValidationError:
            raise ValueError(f"`{self.name}` takes {self.takes}") from None
        operand: Operand = tuple(value) if isinstance(value, list) else value
        if self.also is not None:
            self.also(operand, fold)
        return operand


def _regex(operand: Operand, fold: bool) -> None:
    assert isinstance(operand, str)
    check_regex(operand, fold)


def check_regex(pattern: str, fold: bool) -> None:
    """Compile `pattern` as the engine will run it; a ValueError says what it cannot run."""
    shown = clip(pattern, 60)
    if len(pattern) > MAX_REGEX_CHARS:
        raise ValueError(f"regex `{shown}` is {len(pattern)} characters long; at most "
                         f"{MAX_REGEX_CHARS} are allowed")
    try:
        pl.select(pl.lit("", dtype=pl.String).str.contains(_folded(pattern, fold)))
    except pl.exceptions.PolarsError as error:
        raise ValueError(f"regex `{shown}` does not compile in the allocation engine (Rust "
                         f"regex syntax): {_engine_reason(str(error))}") from None


def _engine_reason(message: str) -> str:
    """The one line of the engine's message that says what is wrong."""
    lines = [line.strip() for line in message.splitlines()]
    for line in lines:
        if line.startswith("error: "):
            return line.removeprefix("error: ")
    if "size limit" in message:
        return ("its compiled form exceeds the engine's size limit of 10 MiB (counted "
                "repetitions such as `{1000}` multiply its size)")
    first = lines[0].removeprefix("regex error: ") if lines else message
    return clip(first, 200)


def _folded(pattern: str, fold: bool) -> str:
    return f"(?i){pattern}" if fold else pattern


def _lower(text: str, fold: bool) -> str:
    return text.lower() if fold else text


def _quoted(operand: Operand) -> str:
    return f"`{operand}`"


def _present(value: pl.Expr, wanted: Operand, fold: bool) -> pl.Expr:
    return value.is_not_null() if wanted else value.is_null()


def _equals(value: pl.Expr, operand: Operand, fold: bool) -> pl.Expr:
    assert isinstance(operand, str)
    return value == _lower(operand, fold)


def _in(value: pl.Expr, operand: Operand, fold: bool) -> pl.Expr:
    assert isinstance(operand, tuple)
    return value.is_in([_lower(item, fold) for item in operand])


def _prefix(value: pl.Expr, operand: Operand, fold: bool) -> pl.Expr:
    assert isinstance(operand, str)
    return value.str.starts_with(_lower(operand, fold))


def _suffix(value: pl.Expr, operand: Operand, fold: bool) -> pl.Expr:
    assert isinstance(operand, str)
    return value.str.ends_with(_lower(operand, fold))


def _matches(value: pl.Expr, operand: Operand, fold: bool) -> pl.Expr:
    assert isinstance(operand, str)
    return value.str.contains(_folded(operand, fold))


def _one_of(operand: Operand) -> str:
    assert isinstance(operand, tuple)
    return "is one of " + ", ".join(f"`{item}`" for item in operand)


OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Operator("equals", "a text", _TEXT, "value", _equals,
             lambda operand: f"is {_quoted(operand)}",
             lambda operand: frozenset({str(operand)})),
    Operator("in", "a list of texts", _TEXTS, "value", _in, _one_of,
             lambda operand: frozenset(operand) if isinstance(operand, tuple) else frozenset()),
    Operator("prefix", "a text", _TEXT, "value", _prefix,
             lambda operand: f"starts with {_quoted(operand)}"),
    Operator("suffix", "a text", _TEXT, "value", _suffix,
             lambda operand: f"ends with {_quoted(operand)}"),
    Operator("regex", "a regex (Rust syntax)", _TEXT, "value", _matches,
             lambda operand: f"matches /{operand}/", also=_regex),
    Operator("present", "true or false", _FLAG, "presence", _present,
             lambda wanted: "is present" if wanted else "is absent"),
    Operator("absent", "true or false", _FLAG, "presence",
             lambda value, wanted, fold: _present(value, not wanted, fold),
             lambda wanted: "is absent" if wanted else "is present"),
)}
