"""The fingerprint of one invoice month: what decides whether a month is read again.

GCP appends rows to an invoice month for days after the usage (and restates nothing in place),
so (row count, newest `export_time`, cost sum, credit sum, credit count) changes whenever the
month does. A month whose fingerprint equals the published one is skipped after that single
small query; one that moved is reloaded whole and replaces the published partition.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

_VERSION = "gcp-v1"  # bump when the recipe changes: every month then reloads once
# DECIMAL(38, 10), costalloc's money scale: file-mode sums are exact at it, so a month's
# fingerprint doesn't depend on how its rows were batched; BigQuery NUMERIC (9) fits in it.
_PLACES = Decimal("0.0000000001")


@dataclass(frozen=True)
class MonthFingerprint:
    rows: int
    max_export_time: datetime | None
    cost: Decimal
    credits: Decimal
    credit_count: int

    @classmethod
    def of(cls, rows: int, max_export_time: datetime | None, cost: Decimal | None,
           credits: Decimal | None, credit_count: int | None) -> MonthFingerprint:
        """Normalize what a query or a scan returned (NULL sums of an empty month become 0)."""
        when = max_export_time.astimezone(UTC) if max_export_time is not None else None
        return cls(int(rows), when, _fixed(cost), _fixed(credits), int(credit_count or 0))

    @classmethod
    def combine(cls, parts: list[MonthFingerprint]) -> MonthFingerprint:
        """One month's fingerprint from those of its batches (a file dump is scanned in pieces)."""
        times = [p.max_export_time for p in parts if p.max_export_time is not None]
        return cls(sum(p.rows for p in parts), max(times) if times else None,
                   _fixed(sum((p.cost for p in parts), Decimal(0))),
                   _fixed(sum((p.credits for p in parts), Decimal(0))),
                   sum(p.credit_count for p in parts))

    @property
    def digest(self) -> str:
        """A short stable text for `ingest_log.fingerprint`; `details` keeps the parts readable."""
        parts = "|".join((_VERSION, *self.details().values()))
        return f"{_VERSION}:{hashlib.sha256(parts.encode()).hexdigest()[:24]}"

    def details(self) -> dict[str, str]:
        return {
            "rows": str(self.rows),
            "max_export_time": self.max_export_time.isoformat() if self.max_export_time else "",
            "cost": str(self.cost),
            "credits": str(self.credits),
            "credit_count": str(self.credit_count),
        }


def _fixed(amount: Decimal | None) -> Decimal:
    return (amount if amount is not None else Decimal(0)).quantize(_PLACES)
