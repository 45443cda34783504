"""`kind: aws-cur` options."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from costalloc.connectors.files import BATCH_ROWS
from costalloc.connectors.options import ObjectStoreOptions


class AwsCurOptions(ObjectStoreOptions):
    """The `options:` of an aws-cur source."""

    flavour: Literal["auto", "cur2", "legacy"] = Field(
        default="auto", description="CUR 2.0 Data Exports (`cur2`), legacy CUR (`legacy`), or "
                                    "`auto`: whichever manifest exists for the month")
    batch_rows: int = Field(default=BATCH_ROWS, ge=1, le=5_000_000,
                            description="Rows per batch held in memory")
