"""Every YAML file a person hands over is read within bounds: alias bombs, cycles, huge files
and bad dates are refused with a short message naming file and line; ordinary anchors load."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from costalloc.allocation.loader import load_rules
from costalloc.core.errors import ConfigurationError
from costalloc.core.settings import load_settings
from costalloc.core.yaml_input import (
    MAX_FILE_BYTES,
    MAX_PROBLEMS_SHOWN,
    MAX_VALUES,
    excerpt,
    problem_report,
    read_yaml,
)
from costalloc.reports.planning.budgets import load_budgets
from costalloc.reports.planning.forecast import load_events

WIDTH = 10


def alias_bomb(levels: int, key: str = "rules") -> str:
    """The classic "billion laughs": each level lists the previous one WIDTH times, so level k
    stands for about WIDTH**(k+1) values while the file stays a few hundred bytes."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * WIDTH) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * WIDTH) + "]"
              for i in range(1, levels)]
    lines.append(f"{key}: [*a{levels - 1}]")
    return "\n".join(lines) + "\n"


def first_line_over_budget() -> int:
    """The line of the level whose expansion first passes MAX_VALUES (level k is on line k+1
    and holds (WIDTH**(k+2) - 1) / (WIDTH - 1) values)."""
    level = 0
    while (WIDTH ** (level + 2) - 1) // (WIDTH - 1) <= MAX_VALUES:
        level += 1
    return level + 1


READERS: dict[str, Callable[[Path], object]] = {
    "costalloc.yaml": load_settings, "rules.yaml": load_rules, "budgets.yaml": load_budgets,
    "events.yaml": load_events}


@pytest.mark.parametrize("name", sorted(READERS))
def test_a_nine_level_alias_bomb_is_refused_in_every_file_a_user_hands_over(
        tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(alias_bomb(9, key="sources" if name == "costalloc.yaml" else "lines"))
    tracemalloc.start()
    try:
        with pytest.raises(ConfigurationError) as raised:
            READERS[name](path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(raised.value)
    # Refused before anything is built: the file stands for 10**10 values, we never make them.
    assert peak < 20 * 2**20
    assert len(message) < 1024, message
    assert (f"{path}:{first_line_over_budget()}: this part of the file expands to more than "
            f"{MAX_VALUES:,} values") in message


def test_a_bomb_within_the_budget_reaches_validation_but_its_errors_stay_short(
        tmp_path: Path) -> None:
    # Five levels (111,111 values) load; each problem quotes a short excerpt, not the input
    # (this used to be a 910 KB message).
    path = tmp_path / "rules.yaml"
    path.write_text(alias_bomb(5))
    with pytest.raises(ConfigurationError) as raised:
        load_rules(path)
    message = str(raised.value)
    assert len(message) < 2048, message
    assert f"{path}:1: field `a0`: Extra inputs are not permitted (found ['lol'," in message


def test_ordinary_anchors_and_merge_keys_still_load(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("""\
x-prod-accounts: &prod ["111111111111", "222222222222"]
x-common: &common {set: {environment: production}}
rules:
  - {id: prod-a, when: {SubAccountId: *prod}, <<: *common}
  - {id: prod-b, when: {SubAccountName: {in: *prod}}, <<: *common}
""")
    document = read_yaml(path)
    assert document.data == {
        "x-prod-accounts": ["111111111111", "222222222222"],
        "x-common": {"set": {"environment": "production"}},
        "rules": [{"id": "prod-a", "when": {"SubAccountId": ["111111111111", "222222222222"]},
                   "set": {"environment": "production"}},
                  {"id": "prod-b",
                   "when": {"SubAccountName": {"in": ["111111111111", "222222222222"]}},
                   "set": {"environment": "production"}}]}
    assert document.line_of(("rules", 1, "when")) == 5


def test_the_demo_and_example_files_load(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    for name in ("demo/rules.yaml", "demo/budgets.yaml", "demo/events.yaml",
                 "deploy/costalloc.example.yaml", "bench/rules.yaml"):
        assert isinstance(read_yaml(root / name).data, dict), name
    assert len(load_rules(root / "demo" / "rules.yaml").rules) == 14


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - &loop\n    id: r\n    when: {any: [*loop]}\n")
    with pytest.raises(ConfigurationError, match=rf"{path}:4: an alias here refers to a node "
                                                 "that contains it"):
        read_yaml(path)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    with pytest.raises(ConfigurationError, match=rf"{path}: larger than 4 MiB"):
        read_yaml(path)


def test_syntax_errors_bad_dates_and_bad_bytes_name_the_line_in_a_short_message(
        tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    path.write_text("events:\n  - {id: a, from: 2026-10-01}\n  - {id: b, from: 2026-13-01}\n")
    with pytest.raises(ConfigurationError, match=rf"{path}:3: not valid YAML: month must be"):
        read_yaml(path)
    path.write_text("rules:\n  - id: [" + "x, " * 50_000 + "\n")
    with pytest.raises(ConfigurationError) as raised:
        read_yaml(path)
    assert str(raised.value).startswith(f"{path}:3: not valid YAML")
    assert len(str(raised.value)) < 300
    path.write_bytes(b"rules:\n  - id: \xff\n")
    with pytest.raises(ConfigurationError, match=rf"{path}:2: not UTF-8 text"):
        read_yaml(path)
    path.write_text("x: !!python/object/apply:os.system [echo hi]\n")
    with pytest.raises(ConfigurationError, match=rf"{path}:1: not valid YAML: could not "
                                                 "determine a constructor"):
        read_yaml(path)


def test_excerpts_and_problem_lists_are_bounded() -> None:
    nested: object = ["lol"] * 10
    for _ in range(8):  # 10**9 values by reference, never rendered
        nested = [nested] * 10
    assert len(excerpt(nested)) <= 80
    assert excerpt("short") == "'short'"
    report = problem_report("3000 problem(s):", [f"line {i}: " + "x" * 5000 for i in range(3000)])
    lines = report.splitlines()
    assert len(lines) == 1 + MAX_PROBLEMS_SHOWN + 1
    assert lines[-1] == f"… and {3000 - MAX_PROBLEMS_SHOWN} more problem(s)"
    assert max(len(line) for line in lines) <= 400
