"""The monthly review and the forecast as files for finance.

    review    csv   review_2026-10.csv (budget lines), review_pilots_2026-10.csv,
                    review_movers_2026-10.csv (and forecast_2026-11.csv with a forecast)
              xlsx  review_2026-10.xlsx: the finance workbook of the period with the Review
                    (and Forecast) sheet first
    forecast  csv   forecast_2026-11.csv
              xlsx  forecast_2026-11.xlsx: the Forecast sheet with its charts

Every file is written to `<name>.partial` first and renamed: a reader never sees half of one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import duckdb

from costalloc.reports.finance.csv_text import write_csv
from costalloc.reports.finance.extracts import Extract
from costalloc.reports.finance.workbook import write_finance_workbook, write_sheets_workbook
from costalloc.reports.planning.forecast import Forecast
from costalloc.reports.planning.review import Review
from costalloc.reports.planning.review_extracts import forecast_table, review_tables
from costalloc.reports.planning.review_sheets import forecast_sheet, review_sheet


def export_review(con: duckdb.DuckDBPyConnection, review: Review, fmt: Literal["csv", "xlsx"],
                  out: Path, *, forecast: Forecast | None = None) -> Extract:
    """The monthly review. csv: `review_<period>.csv` (budget lines), then
    `review_pilots_<period>.csv` and `review_movers_<period>.csv`; xlsx: `review_<period>.xlsx`,
    the finance workbook of the period with the `Review` (and `Forecast`) sheet first."""
    period = review.period
    if fmt == "xlsx":
        leading = [review_sheet(review), *([forecast_sheet(forecast)] if forecast else [])]
        return Extract((write_finance_workbook(con, period, period, out / f"review_{period}.xlsx",
                                               leading=leading,
                                               report="budget review and allocated cost"),))
    out.mkdir(parents=True, exist_ok=True)
    written = [write_csv(out / f"{name}_{period}.csv", table.to_batches(), table.schema)
               for name, table in review_tables(review).items()]
    if forecast is not None:
        written.append(_forecast_csv(forecast, out))
    return Extract(tuple(written))


def export_forecast(forecast: Forecast, fmt: Literal["csv", "xlsx"], out: Path) -> Extract:
    """The forecast: `forecast_<start>.csv`, or `forecast_<start>.xlsx` (the `Forecast` sheet
    with its charts)."""
    if fmt == "xlsx":
        return Extract((write_sheets_workbook(
            out / f"forecast_{forecast.start}.xlsx", [forecast_sheet(forecast)],
            title=f"costalloc: forecast from {forecast.start}"),))
    out.mkdir(parents=True, exist_ok=True)
    return Extract((_forecast_csv(forecast, out),))


def _forecast_csv(forecast: Forecast, out: Path) -> Path:
    table = forecast_table(forecast)
    return write_csv(out / f"forecast_{forecast.start}.csv", table.to_batches(), table.schema)
