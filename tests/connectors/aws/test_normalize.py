"""Golden FOCUS values for each CUR line item type, in both spellings of the columns."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pyarrow as pa

from costalloc.connectors.aws import columns, normalize
from costalloc.core.focus import conform

MAP = pa.map_(pa.string(), pa.string())
ROWS = [
    # type, unblended, net, sp effective, ri effective, sp commitment, sp used
    ("Usage", 1.25, 1.0, None, None, None, None),
    ("SavingsPlanCoveredUsage", 2.5, 2.5, 1.75, None, None, None),
    ("SavingsPlanNegation", -2.5, -2.5, None, None, None, None),
    ("SavingsPlanRecurringFee", 10.0, 10.0, None, None, 10.0, 7.5),
    ("DiscountedUsage", 0.0, 0.0, None, 0.6, None, None),
    ("Tax", 0.33, 0.33, None, None, None, None),
    ("EdpDiscount", -0.2, -0.2, None, None, None, None),
    ("Refund", -1.0, -1.0, None, None, None, None),
]


def _cur2_rows() -> pl.DataFrame:
    n = len(ROWS)
    table = pa.table({
        "bill_billing_period_start_date": pa.array([datetime(2026, 10, 1)] * n, pa.timestamp("ms")),
        "bill_billing_period_end_date": pa.array([datetime(2026, 11, 1)] * n, pa.timestamp("ms")),
        "bill_payer_account_id": ["999999999999"] * n,
        "bill_invoice_id": ["INV-1"] * n,
        "identity_line_item_id": [f"id{i}" for i in range(n)],
        "line_item_line_item_type": [r[0] for r in ROWS],
        "line_item_usage_start_date": pa.array([datetime(2026, 10, 5, 3)] * n, pa.timestamp("ms")),
        "line_item_usage_end_date": pa.array([datetime(2026, 10, 5, 4)] * n, pa.timestamp("ms")),
        "line_item_usage_account_id": ["111111111111"] * n,
        "line_item_product_code": ["AmazonEC2"] * n,
        "line_item_usage_amount": [1.0] * n,
        "line_item_unblended_cost": [r[1] for r in ROWS],
        "line_item_net_unblended_cost": [r[2] for r in ROWS],
        "line_item_currency_code": ["USD"] * n,
        "savings_plan_savings_plan_effective_cost": [r[3] for r in ROWS],
        "savings_plan_net_savings_plan_effective_cost": [r[3] for r in ROWS],
        "savings_plan_savings_plan_a_r_n": [
            "arn:aws:savingsplans::1:savingsplan/sp" if "SavingsPlan" in r[0] else None
            for r in ROWS],
        "savings_plan_total_commitment_to_date": [r[5] for r in ROWS],
        "savings_plan_used_commitment": [r[6] for r in ROWS],
        "reservation_effective_cost": [r[4] for r in ROWS],
        "reservation_reservation_a_r_n": [
            "arn:aws:ec2:us-east-1:1:reserved-instances/ri" if r[0] == "DiscountedUsage" else None
            for r in ROWS],
        "pricing_public_on_demand_cost": [1.5] * n,
        "pricing_term": ["OnDemand"] * n,
        "product": pa.array([[("product_name", "Amazon Elastic Compute Cloud"),
                              ("region", "us-east-1")]] * n, MAP),
        "resource_tags": pa.array([[("user_environment", "Prod"), ("aws_createdBy", "me")]]
                                  + [[]] * (n - 1), MAP),
        "cost_category": pa.array([[("Team", "ml")]] + [[]] * (n - 1), MAP),
    })
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _focus(raw: pl.DataFrame) -> pl.DataFrame:
    return normalize.to_focus(columns.canonical(raw.lazy())).pipe(conform).collect()


def test_cur2_charge_categories_and_amortized_cost_follow_aws_semantics() -> None:
    focus = _focus(_cur2_rows())
    got = focus.select("x_line_item_type", "ChargeCategory", "ChargeClass", "ChargeFrequency",
                       "BilledCost", "EffectiveCost", "PricingCategory",
                       "CommitmentDiscountType", "CommitmentDiscountStatus").rows()
    assert got == [
        ("Usage", "Usage", None, "Usage-Based", Decimal("1"), Decimal("1"), "Standard", None, None),
        ("SavingsPlanCoveredUsage", "Usage", None, "Usage-Based", Decimal("2.5"), Decimal("1.75"),
         "Committed", "Savings Plan", "Used"),
        ("SavingsPlanNegation", "Usage", None, "Usage-Based", Decimal("-2.5"), Decimal("0"),
         "Standard", "Savings Plan", "Used"),
        # FOCUS: a purchase's EffectiveCost is 0; the unused commitment gets a row of its own.
        ("SavingsPlanRecurringFee", "Purchase", None, "Recurring", Decimal("10"), Decimal("0"),
         "Standard", "Savings Plan", None),
        ("DiscountedUsage", "Usage", None, "Usage-Based", Decimal("0"), Decimal("0.6"),
         "Committed", "Reserved Instance", "Used"),
        ("Tax", "Tax", None, "Recurring", Decimal("0.33"), Decimal("0.33"), None, None, None),
        ("EdpDiscount", "Credit", None, "Usage-Based", Decimal("-0.2"), Decimal("-0.2"), None,
         None, None),
        ("Refund", "Credit", "Correction", "One-Time", Decimal("-1"), Decimal("-1"), None, None,
         None),
        ("SavingsPlanRecurringFee/Unused", "Usage", None, "Usage-Based", Decimal("0"),
         Decimal("2.5"), "Committed", "Savings Plan", "Unused"),
    ]
    # Both metrics still add up to AWS's own unblended (net) and amortized totals.
    assert focus["BilledCost"].sum() == Decimal("10.13")
    assert focus["EffectiveCost"].sum() == Decimal("1") + Decimal("1.75") + Decimal("2.5") + \
        Decimal("0.6") + Decimal("0.33") - Decimal("0.2") - Decimal("1")
    unused = focus.row(8, named=True)
    assert unused["ResourceId"] == unused["CommitmentDiscountId"]
    tax = focus.row(5, named=True)
    assert tax["PricingQuantity"] is None and tax["PricingUnit"] is None


def test_cur2_identity_service_region_and_tags() -> None:
    first = _focus(_cur2_rows()).row(0, named=True)
    assert first["BilledCost"] == Decimal("1")  # net unblended wins over unblended (1.25)
    assert first["ContractedCost"] == Decimal("1.25")
    assert first["ListCost"] == Decimal("1.5")
    assert first["BillingAccountId"] == "999999999999"
    assert first["InvoiceIssuerName"] == first["ProviderName"] == "AWS"
    assert first["PricingCurrencyEffectiveCost"] == first["EffectiveCost"]
    assert first["SubAccountId"] == "111111111111"
    assert first["ServiceName"] == "Amazon Elastic Compute Cloud"
    assert (first["ServiceCategory"], first["ServiceSubcategory"]) == ("Compute", "Virtual Machines")
    assert first["RegionId"] == "us-east-1"
    assert first["ProviderName"] == first["ServiceProviderName"] == "AWS"
    assert first["ChargePeriodStart"] == datetime(2026, 10, 5, 3, tzinfo=UTC)
    assert first["BillingPeriodStart"] == datetime(2026, 10, 1, tzinfo=UTC)
    assert json.loads(first["Tags"]) == {"environment": "Prod", "aws:createdBy": "me",
                                         "aws:costCategory/Team": "ml"}


def test_legacy_csv_headers_and_tag_columns_map_to_the_same_focus_values() -> None:
    legacy = pl.DataFrame({
        "bill/BillingPeriodStartDate": ["2026-10-01T00:00:00Z"],
        "bill/BillingPeriodEndDate": ["2026-11-01T00:00:00Z"],
        "bill/PayerAccountId": ["999999999999"],
        "identity/LineItemId": ["abc"],
        "lineItem/LineItemType": ["SavingsPlanCoveredUsage"],
        "lineItem/UsageStartDate": ["2026-10-05 03:00:00"],
        "lineItem/UsageEndDate": ["2026-10-05T04:00:00Z"],
        "lineItem/UsageAccountId": ["111111111111"],
        "lineItem/ProductCode": ["AmazonSageMaker"],
        "lineItem/UnblendedCost": ["2.5"],
        "lineItem/CurrencyCode": ["EUR"],
        "savingsPlan/SavingsPlanEffectiveCost": ["1.75"],
        "savingsPlan/SavingsPlanARN": ["arn:aws:savingsplans::1:savingsplan/sp"],
        "product/ProductName": ["Amazon SageMaker"],
        "product/region": ["eu-west-1"],
        "resourceTags/user:Env": ["prod"],
        "resourceTags/user:Team": [""],
        "resourceTags/aws:createdBy": ["me"],
        "costCategory/Team": ["ml"],
    })
    row = _focus(legacy).row(0, named=True)
    assert (row["BilledCost"], row["EffectiveCost"]) == (Decimal("2.5"), Decimal("1.75"))
    assert row["BillingCurrency"] == "EUR"
    assert row["ChargePeriodStart"] == datetime(2026, 10, 5, 3, tzinfo=UTC)
    assert row["ServiceName"] == "Amazon SageMaker"
    assert row["ServiceCategory"] == "AI and Machine Learning"
    assert row["RegionId"] == "eu-west-1"
    assert row["CommitmentDiscountCategory"] == "Spend"
    assert json.loads(row["Tags"]) == {"Env": "prod", "aws:createdBy": "me",
                                       "aws:costCategory/Team": "ml"}


def test_legacy_athena_flattened_tag_columns() -> None:
    athena = pl.DataFrame({"line_item_unblended_cost": [1.0],
                           "resource_tags_user_env": ["dev"],
                           "resource_tags_aws_created_by": ["me"],
                           "resource_tags_user_team": [None]})
    row = _focus(athena).row(0, named=True)
    assert json.loads(row["Tags"]) == {"env": "dev", "aws:created_by": "me"}


def test_control_amount_uses_the_same_column_as_billed_cost() -> None:
    raw = columns.canonical(_cur2_rows().lazy()).collect()
    total = raw.select(normalize.control_amount(raw.schema).sum()).item()
    assert total == sum(Decimal(str(r[2])) for r in ROWS)
