"""`costalloc init`'s proposals: spellings found, accounts placed, and coverage that the
allocation then shows exactly (the comments in the starter file tell the truth)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from costalloc.allocation.census import SpendCensus
from costalloc.allocation.loader import load_rules
from costalloc.allocation.publish import allocate_period
from costalloc.allocation.starter import concept, covered, propose, render_rules
from tests.allocation.builders import OCTOBER, line_item, load_line_items

ROWS = [
    line_item("40", tags={"Env": "Prod"}, SubAccountId="111", SubAccountName="payments-prod"),
    line_item("10", tags={"env": "prd"}, SubAccountId="222", SubAccountName="shared-tools"),
    line_item("5", tags={"gcp:project/env": "stg"}, SubAccountId="222",
              SubAccountName="shared-tools"),
    line_item("3", tags={"stage": "sandbox"}, SubAccountId="333", SubAccountName="ml-lab"),
    line_item("2", tags={"environment": "blue"}, SubAccountId="333", SubAccountName="ml-lab"),
    # untagged: the account's name decides, else most of its tagged cost
    line_item("20", SubAccountId="111", SubAccountName="payments-prod"),
    line_item("12", SubAccountId="222", SubAccountName="shared-tools"),  # 10 of 15 tagged: prod
    line_item("4", SubAccountId="444", SubAccountName="misc"),  # nothing says where
    # a savings plan fee in an account nothing places: split across environments by spend
    line_item("6", SubAccountId="444", SubAccountName="misc", ChargeCategory="Purchase",
              CommitmentDiscountId="arn:aws:savingsplans::1:savingsplan/sp-1"),
]


def _census(con: duckdb.DuckDBPyConnection) -> SpendCensus:
    census = SpendCensus()
    census.add(pl.from_arrow(con.sql("select * from line_items").to_arrow_table()))  # type: ignore[arg-type]
    return census


def test_spellings_of_keys_and_values_are_proposed(warehouse: duckdb.DuckDBPyConnection) -> None:
    load_line_items(warehouse, ROWS)
    starter = propose(_census(warehouse))
    environment = starter.dimensions["environment"]
    assert environment.keys[0] == "env"  # the spelling carrying the most cost comes first
    assert set(environment.key_aliases) == {"env", "gcp:project/env", "stage"}
    assert environment.aliases == {"prod": "production", "prd": "production", "stg": "staging",
                                   "sandbox": "development"}
    assert environment.unknown == [("blue", {"USD": Decimal("2")})]  # for the user to map
    assert concept("gcp:project/Env-Name") == "envname"


def test_accounts_are_placed_by_name_or_by_their_tagged_cost(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    load_line_items(warehouse, ROWS)
    guesses = {g.account: g for g in propose(_census(warehouse)).accounts}
    assert guesses["111"].values == {"environment": "production"}
    assert guesses["111"].reasons["environment"] == "its name says so"
    # shared-tools: 10 of its 15 tagged is production — under the 80 % it takes to decide
    assert "222" not in guesses
    assert guesses["333"].values == {"environment": "development"}  # `lab` in its name
    assert "444" not in guesses


def test_the_starter_file_loads_and_allocates_what_its_comments_say(
        warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    load_line_items(warehouse, ROWS)
    starter = propose(_census(warehouse))
    text = render_rules(starter, source="`aws` 2026-10", period="2026-10")
    (tmp_path / "rules.yaml").write_text(text)
    ruleset = load_rules(tmp_path / "rules.yaml")
    allocate_period(warehouse, ruleset, OCTOBER, "run-1")

    placed = dict(warehouse.sql(
        "select environment, sum(BilledCost) from allocated_costs group by 1").fetchall())
    # shared-tools' untagged 12 and misc's untagged 4; `blue` (2) falls back to ml-lab's account
    assert placed["unallocated"] == Decimal("16")
    total = sum(placed.values(), Decimal(0))
    assert total == Decimal("102")  # conserved
    assert covered(starter, "environment", "USD") == (total - placed["unallocated"]) / total
    # tags 58 of 102, accounts 22 (payments-prod's 20, `blue` 2), the fee 6, the rest 16
    assert "USD: tags catch 56.9%, accounts 21.6% more, splits below 5.9%, 15.7% stays " \
           "unallocated" in text
    # … and the savings plan fee follows the environments' spend (not left unallocated)
    fee = warehouse.sql("select count(*), sum(BilledCost) from allocated_costs where "
                        "x_split_rule = 'commitments-follow-usage'").fetchall()[0]
    assert fee == (3, Decimal("6"))


def test_shares_and_account_guesses_are_per_currency(
        warehouse: duckdb.DuckDBPyConnection) -> None:
    """Account 555 is production in USD (9,000) and staging in EUR (100): added up it would
    look 99% production; per currency the two disagree, so nothing is guessed. Account 666 is
    production in both. The `cc` key is only on EUR rows: 100% of the EUR cost, not ~1% of a
    sum of dollars and euros."""
    load_line_items(warehouse, [
        line_item("9000", tags={"env": "prod"}, SubAccountId="555", SubAccountName="shared"),
        line_item("100", tags={"env": "stg", "cc": "42"}, SubAccountId="555",
                  SubAccountName="shared", BillingCurrency="EUR"),
        line_item("50", SubAccountId="555", SubAccountName="shared"),
        line_item("300", tags={"env": "prod"}, SubAccountId="666", SubAccountName="tools"),
        line_item("85", tags={"env": "prod", "cc": "42"}, SubAccountId="666",
                  SubAccountName="tools", BillingCurrency="EUR"),
        line_item("15", tags={"env": "dev", "cc": "42"}, SubAccountId="666",
                  SubAccountName="tools", BillingCurrency="EUR"),
    ])
    starter = propose(_census(warehouse))
    guesses = {g.account: g for g in starter.accounts}
    assert "555" not in guesses
    assert guesses["666"].values == {"environment": "production"}
    assert guesses["666"].reasons["environment"] == (
        "85% of its tagged EUR cost and 100% of its tagged USD cost is production")
    text = render_rules(starter, source="`azure` 2026-10", period="2026-10")
    # three line items each: the currencies are listed by code (costs are never compared)
    assert "# 6 line items, EUR 200.00, USD 9,350.00 billed." in text
    eur = text.index("# Tag keys found (share of EUR cost on rows that carry them")
    usd = text.index("# Tag keys found (share of USD cost on rows that carry them")
    assert "#   cc: 100.0% — 42 100.0%" in text[eur:usd] and "cc:" not in text[usd:]
    assert "#   env: 100.0% — stg 50.0%, prod 42.5%, dev 7.5%" in text[eur:usd]
    assert "#   env: 99.5% — prod 99.5%" in text[usd:]  # 50 of 9,350 USD is untagged
