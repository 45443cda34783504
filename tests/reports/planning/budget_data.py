"""Hand-made allocated cost for the budget, review, breach and forecast tests (no tests here).

`spend` writes an allocated row straight into `allocated_costs`, and the line item it allocates
into `line_items`, with only what those reports read: the period, the charge day, the service,
the dimensions, the amounts. Every amount is exact, so a test can say what the review must find.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
from typing import Any

import duckdb

_ids = count(1)


def spend(con: duckdb.DuckDBPyConnection, day: str, amount: str | Decimal, *,
          workstream: str = "experimentation", environment: str = "development",
          cost_type: str = "opex", currency: str = "USD", category: str = "Usage",
          period: str | None = None, billed: str | Decimal | None = None,
          service: str = "Amazon SageMaker", **dimensions: str) -> None:
    """One allocated row of `amount` EffectiveCost (BilledCost `billed`, default the same) charged
    on `day` (YYYY-MM-DD), in billing period `period` (default: the day's month)."""
    dims: dict[str, Any] = {"environment": environment, "workstream": workstream,
                            "cost_type": cost_type, **dimensions}
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    amounts = {"period": period or day[:7], "id": next(_ids), "currency": currency,
               "billed": Decimal(billed if billed is not None else amount),
               "effective": Decimal(amount)}
    con.execute(
        """insert into line_items (x_source, x_billing_period, x_line_item_id, x_source_file,
               x_ingest_run_id, ProviderName, PublisherName, InvoiceIssuerName, BillingAccountId,
               ServiceCategory, ServiceName, ChargeCategory, ChargePeriodStart, ChargePeriodEnd,
               BillingPeriodStart, BillingPeriodEnd, BillingCurrency, BilledCost, EffectiveCost,
               ListCost, ContractedCost)
           values ('test', $period, $id, 'test.csv', 'load-1', 'AWS', 'AWS', 'AWS',
                   '111111111111', 'AI and Machine Learning', $service, $category, $start,
                   $start + interval 1 hour, strptime($period || '-01', '%Y-%m-%d')::timestamptz,
                   strptime($period || '-01', '%Y-%m-%d')::timestamptz + interval 1 month,
                   $currency, $billed, $effective, $effective, $effective)""",
        {**amounts, "service": service, "category": category, "start": start})
    con.execute(
        """insert into allocated_costs (x_source, x_billing_period, x_line_item_id,
               x_ingest_run_id, BillingCurrency, BilledCost, EffectiveCost, ListCost, environment,
               workstream, cost_type, x_dimensions, x_split_ratio, x_rules_version,
               x_allocation_run_id, x_allocated_at)
           values ('test', $period, $id, 'load-1', $currency, $billed, $effective, $effective,
                   $environment, $workstream, $cost_type, $dimensions, 1, 'rules-v1', 'alloc-1',
                   $now)""",
        {**amounts, "environment": environment, "workstream": workstream,
         "cost_type": cost_type, "dimensions": json.dumps(dims), "now": datetime.now(UTC)})


def daily(con: duckdb.DuckDBPyConnection, month: str, amounts: Mapping[int, str | Decimal],
          **options: Any) -> None:
    """`spend` on each day of `month` (YYYY-MM) in `amounts` {day of month: amount}."""
    for day, amount in amounts.items():
        spend(con, f"{month}-{day:02d}", amount, **options)
