from pathlib import Path

import pytest

from costalloc.allocation.loader import RuleFileError, load_rules

GOOD = """\
normalize:
  keys: {environment: [env, stage]}
  values: {environment: {prod: production}}
rules:
  - id: env-from-tag
    when: {tag.environment: present}
    set: {environment: "{tag.environment}"}
  - id: sandbox
    when: {SubAccountId: ["111111111111"]}
    set: {workstream: experimentation, environment: development}
    effective: {from: 2026-01-01}
defaults: {cost_type: opex}
"""

BAD = """\
rules:
  - id: ok
    when: {tag.team: present}
    set: {workstream: experimentation}
  - id: typo-column
    when: {SubAcountId: "1"}
    set: {environment: development}
  - id: two-tests
    when: {ServiceName: {prefix: Amazon, suffix: EC2}}
    set: {environment: production}
  - id: extra-field
    when: {ServiceName: x}
    set: {environment: production}
    priority: 3
"""


def test_a_valid_file_loads_with_a_content_version(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    ruleset = load_rules(path)
    assert [rule.id for rule in ruleset.rules] == ["env-from-tag", "sandbox"]
    assert ruleset.tag_aliases("environment") == ["environment", "env", "stage"]
    assert len(ruleset.version) == 12
    path.write_text(GOOD + "# a comment changes the file, so the version\n")
    assert load_rules(path).version != ruleset.version


def test_every_problem_is_reported_with_file_line_rule_and_field(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(BAD)
    with pytest.raises(RuleFileError) as raised:
        load_rules(path)
    message = str(raised.value)
    assert "3 problem(s)" in message
    assert f"{path}:5: rule `typo-column`" in message and "SubAcountId" in message
    assert f"{path}:8: rule `two-tests`" in message and "exactly one of" in message
    assert f"{path}:11: rule `extra-field` field `priority`" in message


def test_values_outside_a_dimension_are_refused_at_load_time(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: r\n    when: {ServiceName: x}\n    set: {environment: prod}\n"
                    "defaults: {workstream: research}\n")
    with pytest.raises(RuleFileError) as raised:
        load_rules(path)
    message = str(raised.value)
    assert (f"{path}:2: rule `r` set.environment: found `prod`, expected one of development, "
            "staging, production") in message
    assert "defaults.workstream: found `research`" in message


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: r\n    when: {ServiceName: [x}\n")
    with pytest.raises(RuleFileError, match=r"rules.yaml:3: not valid YAML"):
        load_rules(path)


def test_a_folder_of_files_is_read_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "10-base.yaml").write_text(GOOD)
    (tmp_path / "20-more.yaml").write_text(
        "rules:\n  - id: security\n    when: {ServiceCategory: Security}\n"
        "    set: {workstream: risk_compliance}\n")
    assert [r.id for r in load_rules(tmp_path).rules] == ["env-from-tag", "sandbox", "security"]


EVERY_MISTAKE = """\
dimensions:
  cost_center: [CC-1, CC-2]
rules:
  - id: bad-value
    when: {tag.env: present}
    set: {environment: prod}
  - id: capex-by-tag
    when: {tag.project: x}
    set: {cost_type: capex}
  - id: bad-regex
    when: {ServiceName: {regex: "(unclosed"}}
    set: {cost_center: CC-1}
  - id: unknown-column
    when: {ServiceNam: x}
    set: {workstream: experimentation}
  - id: undeclared-user-value
    when: {ServiceName: x}
    set: {cost_center: CC-9}
splits:
  - id: bad-shares
    when: {ServiceName: Shared}
    method: fixed
    across: {workstream: [platform_build, production_operations]}
    shares: {platform_build: "0.5", production_operations: "0.4"}
capitalization:
  - project: no-evidence
    when: {tag.project: y}
    phases:
      - {phase: development, from: 2026-01-01, capitalize: true, useful_life_months: 12}
"""


def test_a_rules_file_with_every_kind_of_mistake_lists_them_all_at_once(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(EVERY_MISTAKE)
    with pytest.raises(RuleFileError) as raised:
        load_rules(path)
    message = str(raised.value)
    expected = [
        f"{path}:4: rule `bad-value`", "found `prod`, expected one of",
        f"{path}:7: rule `capex-by-tag`", "CapEx comes only from a `capitalization`",
        f"{path}:10: rule `bad-regex`", "does not compile",
        f"{path}:13: rule `unknown-column`", "`ServiceNam` is neither",
        f"{path}:16: rule `undeclared-user-value`", "found `CC-9`",
        "targets sum to 0.9", "capitalizes without an `approval` reference",
    ]
    missing = [text for text in expected if text not in message]
    assert not missing, f"not reported: {missing}\n{message}"
    assert "7 problem(s)" in message


def _refusal(path: Path, text: str) -> str:
    """Why `text`, written to `path`, is refused."""
    path.write_text(text)
    with pytest.raises(RuleFileError) as raised:
        load_rules(path)
    return str(raised.value)


SHARES = """\
rules:
  - id: env
    when: {tag.env: present}
    set: {environment: "{tag.env}"}
splits:
  - id: even-ok
    when: {ServiceName: Other}
    method: even
    across: {workstream: [platform_build, production_operations]}
  - id: support-plan
    when: {ServiceName: Support}
    method: fixed
    across: {workstream: [platform_build, production_operations]}
    shares: {platform_build: "1.5", production_operations: "-0.5"}
"""


def test_fixed_shares_outside_zero_to_one_are_refused_even_when_they_sum_to_one(
        tmp_path: Path) -> None:
    # 1.5 and -0.5 sum to 1 and used to publish a negative allocation to production_operations.
    path = tmp_path / "rules.yaml"
    assert _refusal(path, SHARES) == (
        "1 problem(s) in the rules:\n"
        f"{path}:10: split `support-plan` share(s) platform_build=1.5, "
        "production_operations=-0.5 outside [0, 1]; a fixed share is the fraction of the cost a "
        "target takes")
    path.write_text(SHARES.replace('"1.5"', '"1"').replace('"-0.5"', '"0"'))
    assert load_rules(path).splits[1].shares == {"platform_build": 1, "production_operations": 0}


def test_problems_of_splits_and_capitalization_entries_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    message = _refusal(path, EVERY_MISTAKE)
    assert f"{path}:20: split `bad-shares` targets sum to 0.9" in message
    assert f"{path}:26: project `no-evidence` field `phases.0`: phase `development` " \
           "capitalizes without an `approval` reference" in message


def test_whole_file_problems_of_a_split_name_its_line_in_its_own_file(tmp_path: Path) -> None:
    (tmp_path / "10-rules.yaml").write_text(GOOD)
    (tmp_path / "20-splits.yaml").write_text(
        "splits:\n  - id: fine\n    when: {ServiceName: A}\n    method: even\n"
        "    across: {workstream: [platform_build, production_operations]}\n"
        "  - id: typo\n    when: {ServiceName: B}\n    method: even\n"
        "    across: {workstream: [platform_biuld]}\n")
    with pytest.raises(RuleFileError) as raised:
        load_rules(tmp_path)
    assert f"{tmp_path / '20-splits.yaml'}:6: split `typo` across.workstream: " \
           "['platform_biuld'] not declared" in str(raised.value)
