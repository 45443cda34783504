"""The finance tables: what each one holds, the query behind it, and what every column means.

The workbook's sheets, the CSV / Parquet extracts and the column dictionary are all made from
this one list, so a column means the same thing wherever finance meets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb

from costalloc.core.period import BillingPeriod
from costalloc.sql import load


@dataclass(frozen=True)
class FinanceTable:
    name: str  # file and folder name of the extract
    query: str  # sql/<query>.sql
    grain: str
    description: str
    # range: `$first_period`..`$last_period`; as_of: the last period only (`$as_of_period`);
    # period: one period (`$period`)
    scope: Literal["range", "as_of", "period"] = "range"

    def relation(self, con: duckdb.DuckDBPyConnection, first: BillingPeriod,
                 last: BillingPeriod | None = None) -> duckdb.DuckDBPyRelation:
        """The table for `first`..`last`, unexecuted: stream it, count it or fetch it."""
        last = last or first
        if self.scope == "as_of":
            params = {"as_of_period": str(last)}
        elif self.scope == "period":
            if first != last:
                raise ValueError(f"`{self.name}` is written one billing period at a time")
            params = {"period": str(first)}
        else:
            params = {"first_period": str(first), "last_period": str(last)}
        return con.sql(load(self.query), params=params)


DETAIL = FinanceTable(
    "allocated", "reports/finance_detail", "one row per (line item, allocation target)",
    "Every allocated row: the line item's FOCUS columns, its environment, workstream and cost "
    "type, the rule that set each, and the split that produced it.")
SUMMARY = FinanceTable(
    "summary", "reports/finance_summary",
    "one row per (billing period, currency, provider, environment, workstream, cost type)",
    "Allocated cost by environment × workstream × cost type, per provider; exact amounts.")
UNALLOCATED = FinanceTable(
    "unallocated", "reports/finance_unallocated",
    "one row per (billing period, source, currency, account, service, resource, tags, "
    "dimensions) with at least one `unallocated` dimension",
    "Cost no rule claimed for some dimension, with the tags it carried, largest first.")
CAPEX = FinanceTable(
    "capex", "reports/finance_capex",
    "one row per (billing period, source, currency, project, phase, approval, useful life, "
    "kind)",
    "Cost tied to a capitalization project or an asset: capitalized, expensed (a phase that is "
    "not capitalized), or the asset register's purchases and depreciation.")
CAPEX_SCHEDULE = FinanceTable(
    "capex_schedule", "reports/capex_schedule", "one row per (asset, schedule month)",
    "Straight-line amortization of the cost capitalized up to the period (the period the "
    "schedule is as of), from the month after the asset's last capitalized month.",
    scope="as_of")
RECONCILIATION = FinanceTable(
    "reconciliation", "reports/finance_reconciliation",
    "one row per (billing period, source, currency)",
    "Raw export total, line items total and allocated total, with the invoice ids; "
    "`ties out` when all agree exactly.")
ALLOCATED_TABLES = (DETAIL, SUMMARY, UNALLOCATED, CAPEX, CAPEX_SCHEDULE, RECONCILIATION)

# `export allocated --focus-version 1.3`: the allocated rows as FOCUS 1.3 rows.
ALLOCATED_FOCUS_1_3 = FinanceTable(
    "allocated_focus_1_3", "reports/allocated_focus_1_3",
    "one row per (line item, allocation target)",
    "The allocated rows as FOCUS 1.3 Cost and Usage rows: the line item's FOCUS columns, the "
    "allocated amounts, and AllocatedMethodId, AllocatedMethodDetails, AllocatedResourceId, "
    "AllocatedResourceName and AllocatedTags from the split lineage.", scope="period")
LINE_ITEMS = FinanceTable(
    "line_items", "reports/line_items_extract", "one row per provider line item",
    "FOCUS 1.2 line items as loaded, before allocation.", scope="period")


COLUMN_MEANINGS: dict[str, str] = {
    # FOCUS columns carried on allocated rows
    "ProviderName": "FOCUS: the provider that made the resource or service available",
    "ServiceProviderName": "FOCUS 1.3: the provider that offers the service",
    "BillingAccountId": "FOCUS: the account the invoice is issued to (AWS payer account)",
    "SubAccountId": "FOCUS: the account the resource runs in (AWS usage account)",
    "SubAccountName": "FOCUS: the sub account's name",
    "ServiceCategory": "FOCUS: the service's category (Compute, Storage, …)",
    "ServiceName": "FOCUS: the service that was charged for",
    "ChargeCategory": "FOCUS: Usage, Purchase, Tax, Credit or Adjustment",
    "ChargePeriodStart": "FOCUS: start of the charge's period (UTC)",
    "ResourceId": "FOCUS: the provider's id of the resource charged for",
    "RegionId": "FOCUS: the region the resource runs in",
    "BillingCurrency": "FOCUS: the invoice's currency (ISO 4217); every amount on the row is in it",
    "BilledCost": "FOCUS: the amount invoiced (this row's share of it after splits), exact to 1e-10",
    "EffectiveCost": "FOCUS: the amortized cost after commitment discounts (this row's share), "
                     "exact to 1e-10",
    "ListCost": "FOCUS: the cost at public list prices (this row's share)",
    "Tags": "FOCUS: the resource's tags as a JSON object (provider keys prefixed, user keys not)",
    # dimensions and lineage
    "environment": "dimension: development, staging, production or `unallocated`",
    "workstream": "dimension: experimentation, platform_build, production_operations, "
                  "risk_compliance or `unallocated`",
    "cost_type": "dimension: capex (capitalized with an approval) or opex",
    "x_dimensions": "every dimension of the row, user-declared ones included (JSON)",
    "x_environment_rule": "id of the rule that set `environment`; empty = the default",
    "x_workstream_rule": "id of the rule that set `workstream`; empty = the default",
    "x_cost_type_rule": "id of the rule (or capitalization entry) that set `cost_type`; empty = "
                        "the default",
    "x_split_rule": "id of the split rule that produced this row; empty = not split",
    "x_split_method": "the split's method: even, fixed, proportional or usage",
    "x_split_basis": "what the split is proportional to: BilledCost, EffectiveCost or a usage driver",
    "x_split_ratio": "this row's share of the line item (1 = the whole line item)",
    "x_driver_quantity": "usage splits: this target's quantity of the driver",
    "x_capex_project": "the capitalization project the cost belongs to",
    "x_capex_phase": "the project's phase (research, development, production, …)",
    "x_capex_approval": "the approval that makes the cost capitalizable (e.g. a CFO memo)",
    "x_useful_life_months": "amortization / depreciation period of the capitalized cost, months",
    "AllocatedMethodId": "FOCUS 1.3: how the row was allocated (tagging, split rule id)",
    "AllocatedMethodDetails": "FOCUS 1.3: the rules applied, as JSON",
    "x_rules_version": "content hash of the rules file that allocated the row",
    "x_allocation_run_id": "the allocation run that published the row",
    "x_allocated_at": "when that run allocated the row (UTC)",
    # keys
    "x_source": "the configured billing source",
    "x_billing_period": "billing period YYYY-MM (for capex_schedule: the period it is as of); "
                        "the Parquet partition",
    "x_line_item_id": "the line item's number within (source, billing period)",
    # aggregates
    "x_allocated_rows": "number of allocated rows added up",
    "x_unallocated_dimensions": "the dimensions no rule set, comma-separated",
    "x_capex_kind": "capitalized (CapEx under an approved phase), expensed (a project phase that "
                    "is not capitalized), asset purchase or depreciation (asset register rows)",
    # capex schedule
    "x_capitalized_cost": "EffectiveCost capitalized to the asset up to the as-of period, exact",
    "x_first_capitalized_period": "first billing period that capitalized cost to the asset",
    "x_last_capitalized_period": "last billing period (up to the as-of period) that did",
    "x_in_service_period": "the month amortization starts: the month after the last capitalized one",
    "x_schedule_status": "`in service`, or `provisional` while the as-of month still capitalizes "
                         "(the schedule moves if the next month adds cost)",
    "x_month_number": "1 … x_useful_life_months",
    "x_schedule_period": "the month (YYYY-MM) this amount is expensed in",
    "x_amortization": "the month's straight-line amount in cents (months add up to the cost "
                      "rounded to cents)",
    "x_accumulated_amortization": "amortized to date, including this month",
    "x_net_book_value": "capitalized cost (in cents) less accumulated amortization",
    # reconciliation
    "x_delivery_fingerprint": "the provider's id of the delivery loaded (CUR executionId, …)",
    "x_raw_export_total": "the export's own cost column summed straight from its files at load",
    "x_line_items_billed_cost": "sum of BilledCost in line_items",
    "x_allocated_billed_cost": "sum of BilledCost in allocated_costs",
    "x_line_items_effective_cost": "sum of EffectiveCost in line_items",
    "x_allocated_effective_cost": "sum of EffectiveCost in allocated_costs",
    "x_line_items": "number of line items",
    "x_allocated_line_items": "number of distinct line items with allocated rows",
    "x_invoice_ids": "the provider's invoice ids on these line items",
    "x_status": "`ties out` when every total agrees exactly, else `differs`",
    "x_differences": "which totals differ and by how much (exact)",
    # line items' own columns
    "x_source_file": "the export file the line item was read from",
    "x_ingest_run_id": "the run that loaded the line item",
    "x_provider_line_item_id": "the provider's own id of the line item",
    "x_line_item_type": "the provider's line item type (AWS lineItem/LineItemType)",
    "x_service_code": "the provider's service code (AWS product code)",
    "x_usage_type": "the provider's usage type",
    "x_operation": "the provider's operation",
}

# Group-by columns the pull endpoint and the summary accept (a whitelist: identifiers never come
# from a request). Each has a `$by_<column>` flag in sql/reports/allocated_grouped.sql.
GROUPABLE_COLUMNS: tuple[str, ...] = (
    "x_billing_period", "x_source", "ProviderName", "ServiceProviderName", "BillingAccountId",
    "SubAccountId", "SubAccountName", "ServiceCategory", "ServiceName", "ChargeCategory",
    "RegionId", "ResourceId", "environment", "workstream", "cost_type", "x_split_rule",
    "x_capex_project", "x_capex_phase",
)


def meaning(column: str) -> str:
    if column in COLUMN_MEANINGS:
        return COLUMN_MEANINGS[column]
    if column.startswith("x_"):
        return "costalloc column (see docs/warehouse.md)"
    return f"FOCUS 1.2 column `{column}` (see the FOCUS specification)"


@dataclass(frozen=True)
class DictionaryEntry:
    table: str
    column: str
    type: str
    meaning: str


def dictionary(con: duckdb.DuckDBPyConnection, tables: tuple[FinanceTable, ...],
               period: BillingPeriod) -> list[DictionaryEntry]:
    """Every column of `tables` with its type (as DuckDB names it) and meaning."""
    entries = []
    for table in tables:
        relation = table.relation(con, period, period)
        for column, column_type in zip(relation.columns, relation.types, strict=True):
            entries.append(DictionaryEntry(table.name, column, str(column_type), meaning(column)))
    return entries
