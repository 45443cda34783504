"""The two queries table mode runs, and their parameters.

Both select one invoice month (`invoice.month`, the billing period) and nothing is built from
user data: values travel as query parameters; the table id is an identifier, so it is checked
against `config.TABLE_ID` again right here, where it is put between backticks.

Credits are a REPEATED RECORD. They are summed with a correlated subquery per row, never with
`JOIN UNNEST(credits)` next to `SUM(cost)`, which repeats a row's cost once per credit.
`_PARTITIONTIME` (the day a row was *written*, not its usage day) only bounds the scan from
below so BigQuery prunes old partitions; rows still in the streaming buffer have a NULL
partition time and are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from google.cloud import bigquery

from costalloc.connectors.gcp.config import TABLE_ID
from costalloc.core.period import BillingPeriod

_FINGERPRINT = """
-- Has the invoice month moved since it was last loaded?
-- grain: one row for the month
select
  count(*) as row_count,
  max(export_time) as max_export_time,
  sum(cast(cost as numeric)) as cost_total,
  sum((select sum(cast(credit.amount as numeric)) from unnest(credits) as credit)) as credit_total,
  sum(array_length(credits)) as credit_count
from `{table}`
where invoice.month = @invoice_month
"""

_ROWS = """
-- Every export row of the invoice month, as of its fingerprint.
-- grain: one row per export row
select *
from `{table}`
where invoice.month = @invoice_month
  and (@export_time_ceiling is null or export_time is null or export_time <= @export_time_ceiling)
"""

_PARTITION_FLOOR = """
  and (_PARTITIONTIME >= @partition_floor or _PARTITIONTIME is null)
"""


@dataclass(frozen=True)
class MonthQuery:
    """One query for one invoice month: its text and its parameters."""

    sql: str
    parameters: list[bigquery.ScalarQueryParameter]

    def job_config(self, step: str) -> bigquery.QueryJobConfig:
        """Parameters, plus a job label so costalloc's queries are visible in the user's own
        billing. The query cache stays on: BigQuery drops a cached result as soon as the table
        changes, so a month that didn't move is answered from cache, for free."""
        return bigquery.QueryJobConfig(query_parameters=self.parameters,
                                       labels={"costalloc-step": step})


def invoice_month(period: BillingPeriod) -> str:
    """`2026-10` → `202610`, the way `invoice.month` spells it."""
    return f"{period.year:04d}{period.month:02d}"


def fingerprint_query(table: str, period: BillingPeriod, *, partition_floor: datetime | None) -> MonthQuery:
    """Row count, newest export time, cost and credit sums of one invoice month."""
    return _month_query(_FINGERPRINT, table, period, partition_floor, [])


def rows_query(table: str, period: BillingPeriod, *, partition_floor: datetime | None,
               export_time_ceiling: datetime | None) -> MonthQuery:
    """The month's rows up to the fingerprint's newest `export_time`, so a load reads exactly
    what was fingerprinted even while GCP keeps appending (later rows wait for the next run)."""
    ceiling = bigquery.ScalarQueryParameter("export_time_ceiling", "TIMESTAMP", export_time_ceiling)
    return _month_query(_ROWS, table, period, partition_floor, [ceiling])


def partition_floor(period: BillingPeriod, lookback_days: int) -> datetime:
    """Rows of an invoice month are written no earlier than the month starts; the lookback is a
    safety margin (time zones, clock skew), not a correctness requirement."""
    return period.start - timedelta(days=lookback_days)


def _month_query(template: str, table: str, period: BillingPeriod, floor: datetime | None,
                 extra: list[bigquery.ScalarQueryParameter]) -> MonthQuery:
    parameters = [bigquery.ScalarQueryParameter("invoice_month", "STRING", invoice_month(period)),
                  *extra]
    text = template.replace("{table}", _identifier(table)).rstrip() + "\n"
    if floor is not None:
        text += _PARTITION_FLOOR.strip("\n") + "\n"
        parameters.append(bigquery.ScalarQueryParameter("partition_floor", "TIMESTAMP", floor))
    return MonthQuery(text, parameters)


def _identifier(table: str) -> str:
    if not TABLE_ID.match(table):
        raise ValueError(f"refusing to query `{table}`: not a plain `project.dataset.table` id")
    return table
