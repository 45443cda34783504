"""Names the exports leave out, derived from static tables: AWS region names, Azure resource
types from ARM ids, AWS units from usage types."""

from __future__ import annotations

import polars as pl
import pytest

from costalloc.connectors.aws.regions import region_name
from costalloc.connectors.aws.usage_units import SkuUnits, usage_type_unit
from costalloc.connectors.azure.resource_types import arm_type, resource_type


def test_aws_region_codes_are_named_when_the_export_leaves_the_name_empty() -> None:
    rows = pl.DataFrame({"region": ["us-east-1", "eu-west-2", "xx-new-1", None],
                         "location": [None, "Europe (London)", None, None]})
    names = rows.select(region_name(pl.col("region"), pl.col("location"))).to_series().to_list()
    assert names == ["US East (N. Virginia)", "Europe (London)", "xx-new-1", None]


@pytest.mark.parametrize(("resource_id", "expected"), [
    ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
     "Microsoft.Compute/virtualMachines"),
    ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app/slots/staging",
     "Microsoft.Web/sites/slots"),
    # EA reservation purchases end the id with `reservations/` and no name
    ("/providers/Microsoft.Capacity/reservationOrders/49ed0e4d/reservations/",
     "Microsoft.Capacity/reservationOrders/reservations"),
    ("/providers/Microsoft.BillingBenefits/savingsPlanOrders/o1/savingsPlans/p1",
     "Microsoft.BillingBenefits/savingsPlanOrders/savingsPlans"),
    ("/subscriptions/s/resourceGroups/rg", "Microsoft.Resources/resourceGroups"),
    ("/subscriptions/s", "Microsoft.Resources/subscriptions"),
    ("vm1", None),
])
def test_azure_resource_type_comes_from_any_arm_id(resource_id: str, expected: str | None) -> None:
    assert arm_type(resource_id) == expected


def test_azure_resource_type_is_never_null_where_the_id_is_set() -> None:
    rows = pl.DataFrame({"id": ["vm1", None], "service": ["Microsoft.Compute", "x"]})
    types = rows.select(resource_type(pl.col("id"), pl.col("service"))).to_series().to_list()
    assert types == ["Microsoft.Compute", None]


def test_aws_units_come_from_the_sku_then_the_usage_type() -> None:
    assert usage_type_unit("USE1-BoxUsage:t3.micro") == "Hrs"
    assert usage_type_unit("EUW2-TimedStorage-ByteHrs") == "GB-Mo"
    assert usage_type_unit("APS1-DataTransfer-Out-Bytes") == "GB"
    assert usage_type_unit("Something-Else") is None
    units = SkuUnits()
    units.learn(pl.Series(["A", "A", "B"]), pl.Series([None, "GB-Mo", ""]))
    assert units.column(pl.Series(["A", "B", None])).to_list() == ["GB-Mo", None, None]
