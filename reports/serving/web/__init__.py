"""The web view of `costalloc serve`: a read-only app at `/` for finance and FinOps.

Sign in with an API token, see a month (allocation, CapEx/OpEx, unallocated cost and the rule
that would catch it, the 12-month trend, budgets and pilots, the forecast), drill from any
amount to its line items and one line item's explain chain, and pull any table as CSV, xlsx or
Parquet. Server-rendered HTML and SVG; the CSS and the little JavaScript ship in this package,
so it works offline. See docs/web.md.
"""

from costalloc.reports.serving.web.app import WebFiles, create_web_app, web_files

__all__ = ["WebFiles", "create_web_app", "web_files"]
