"""Golden FOCUS values for GCP export rows: categories, money to the last digit, Tags, credits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from costalloc.connectors.gcp import normalize
from costalloc.connectors.money import first_bad_money
from costalloc.core.focus import LINE_ITEM_COLUMNS, conform
from costalloc.demo.gcp_billing import arrow_schema

OCT_5 = datetime(2026, 10, 5, 3, tzinfo=UTC)
INSTANCE = "//compute.googleapis.com/projects/418275630941/zones/us-central1-a/instances/1"
PROJECT = {"id": "payments-prod-7731", "number": "418275630941", "name": "Payments",
           "labels": [{"key": "environment", "value": "production"}],
           "ancestry_numbers": "/123/456/", "ancestors": []}
CUD = {"name": "Committed use discount: N2 Cores", "amount": -0.5,
       "full_name": "Committed use discount: N2 Cores in Americas for 1 Year",
       "id": "projects/p/regions/us-central1/commitments/cud-1", "type": "COMMITTED_USAGE_DISCOUNT"}
SUD = {"name": "Sustained Usage Discount", "amount": -0.1, "full_name": None, "id": None,
       "type": "SUSTAINED_USAGE_DISCOUNT"}
PROMO = {"name": "Startup credit", "amount": -0.05, "full_name": None, "id": "Promotion:1",
         "type": "PROMOTION"}


def row(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "billing_account_id": "01A2B3-C4D5E6-F7A8B9",
        "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
        "sku": {"id": "2D3E-8A9C-1B4F", "description": "N2 Instance Core running in Americas"},
        "usage_start_time": OCT_5, "usage_end_time": datetime(2026, 10, 5, 4, tzinfo=UTC),
        "project": PROJECT, "labels": [], "system_labels": [], "tags": [], "credits": [],
        "location": {"location": "us-central1", "country": "US", "region": "us-central1",
                     "zone": "us-central1-a"},
        "resource": {"name": "payments-api-1", "global_name": INSTANCE},
        "price": {"effective_price": Decimal("0.125"), "list_price": Decimal("0.15")},
        "export_time": datetime(2026, 10, 5, 9, tzinfo=UTC), "cost": 1.25, "currency": "USD",
        "usage": {"amount": 36000.0, "unit": "seconds", "amount_in_pricing_units": 10.0,
                  "pricing_unit": "hour"},
        "invoice": {"month": "202610", "publisher_type": "Google"}, "cost_type": "regular",
        "cost_at_list": 1.5,
    }
    return base | fields


ROWS = [
    row(credits=[CUD, SUD, PROMO],
        labels=[{"key": "Env", "value": "Prod"}, {"key": "team", "value": "payments"}],
        system_labels=[{"key": "compute.googleapis.com/cores", "value": "8"}],
        tags=[{"key": "env", "value": "production", "inherited": True, "namespace": "123"},
              {"key": "env", "value": "prod-eu", "inherited": False, "namespace": "payments-prod-7731"},
              {"key": "cost-center", "value": "cc-4410", "inherited": True, "namespace": "123"}]),
    row(cost=0.33, cost_type="tax", usage=None, price=None, resource=None, cost_at_list=None,
        service={"id": "0000-0000-0001", "description": "Invoice"},
        sku={"id": "TAX-US-SALES", "description": "Tax: US sales tax"}),
    row(cost=-12.34, cost_type="adjustment", invoice={"month": "202611", "publisher_type": "Google"},
        usage_start_time=datetime(2026, 10, 14, tzinfo=UTC),
        usage_end_time=datetime(2026, 10, 15, tzinfo=UTC), usage=None, price=None,
        cost_at_list=-12.34,
        adjustment_info={"id": "ADJ-1", "description": "Goodwill credit", "mode": "MANUAL_ADJUSTMENT",
                         "type": "GENERAL_ADJUSTMENT"}),
    row(cost=-0.003172, cost_type="rounding error", project=None, usage=None, price=None,
        usage_start_time=None, usage_end_time=None, cost_at_list=None),
    row(cost=2.0, cost_at_list=3.16,
        sku={"id": "9A1B-4C7D-8E2F", "description": "Commitment v1: N2 Cpu in Americas for 1 Year"}),
    row(cost=0.76, cost_at_list=3.16, labels=[{"key": "environment", "value": "dev"}],
        sku={"id": "F1E2", "description": "Spot Preemptible N2 Instance Core running in Americas"}),
    row(cost=8.26, cost_at_list=8.26, credits=[{"name": "Committed use discount - dollar based: Cloud SQL",
                             "amount": -2.065, "full_name": None, "id": "commitments/sql-1",
                             "type": "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE"}],
        service={"id": "9662-B51E-5089", "description": "Cloud SQL"}),
]


def raw(rows: list[dict[str, Any]], schema: pa.Schema | None = None) -> pl.DataFrame:
    frame = pl.from_arrow(pa.Table.from_pylist(rows, schema=schema or arrow_schema()))
    assert isinstance(frame, pl.DataFrame)
    return frame


@pytest.fixture(scope="module")
def focus() -> pl.DataFrame:
    return normalize.to_focus(raw(ROWS).lazy()).collect()


def test_charge_categories_follow_cost_type_and_commitment_skus(focus: pl.DataFrame) -> None:
    got = focus.select("x_line_item_type", "ChargeCategory", "ChargeClass", "ChargeFrequency",
                       "PricingCategory").rows()
    assert got == [
        ("regular", "Usage", None, "Usage-Based", "Committed"),
        ("tax", "Tax", None, "Recurring", None),
        ("adjustment", "Adjustment", "Correction", "One-Time", None),
        ("rounding error", "Adjustment", None, "One-Time", None),
        ("regular", "Purchase", None, "Recurring", "Standard"),
        ("regular", "Usage", None, "Usage-Based", "Dynamic"),
        ("regular", "Usage", None, "Usage-Based", "Committed"),
    ]


def test_money_is_cost_plus_the_rows_own_credits_to_the_last_digit(focus: pl.DataFrame) -> None:
    got = focus.select("BilledCost", "EffectiveCost", "ContractedCost", "ListCost",
                       "x_credit_amount").rows()
    assert got == [
        (Decimal("0.6"), Decimal("0.6"), Decimal("1.25"), Decimal("1.5"), Decimal("-0.65")),
        (Decimal("0.33"), Decimal("0.33"), Decimal("0.33"), Decimal("0.33"), Decimal("0")),
        (Decimal("-12.34"), Decimal("-12.34"), Decimal("-12.34"), Decimal("-12.34"), Decimal("0")),
        (Decimal("-0.003172"), Decimal("-0.003172"), Decimal("-0.003172"), Decimal("-0.003172"),
         Decimal("0")),
        (Decimal("2"), Decimal("2"), Decimal("2"), Decimal("3.16"), Decimal("0")),
        (Decimal("0.76"), Decimal("0.76"), Decimal("0.76"), Decimal("3.16"), Decimal("0")),
        (Decimal("6.195"), Decimal("6.195"), Decimal("8.26"), Decimal("8.26"), Decimal("-2.065")),
    ]
    assert normalize.control_totals(raw(ROWS)) == {"USD": sum(got_row[0] for got_row in got)}


def test_tags_carry_every_scheme_with_its_prefix_and_values_untouched(focus: pl.DataFrame) -> None:
    tags = [json.loads(t) if t else None for t in focus["Tags"].to_list()]
    assert tags[0] == {
        "Env": "Prod", "team": "payments",
        "gcp:project/environment": "production",
        "gcp:system/compute.googleapis.com/cores": "8",
        "gcp:tag/env": "prod-eu",              # bound to the resource: wins over the inherited one
        "gcp:tag/cost-center": "cc-4410",
        "gcp:tag-inherited/cost-center": "true",
    }
    assert tags[1] == {"gcp:project/environment": "production"}
    assert tags[3] is None                       # no project, no labels: no tags at all
    assert tags[5] == {"environment": "dev", "gcp:project/environment": "production"}


def test_credit_detail_and_commitments_are_kept(focus: pl.DataFrame) -> None:
    credits = json.loads(focus["x_credits"][0])
    assert [(c["type"], Decimal(c["amount"])) for c in credits] == [
        ("COMMITTED_USAGE_DISCOUNT", Decimal("-0.5")), ("SUSTAINED_USAGE_DISCOUNT", Decimal("-0.1")),
        ("PROMOTION", Decimal("-0.05"))]
    assert focus["x_credits"][1] is None
    got = focus.select("CommitmentDiscountId", "CommitmentDiscountCategory",
                       "CommitmentDiscountStatus", "CommitmentDiscountType").rows()
    assert got[0] == ("projects/p/regions/us-central1/commitments/cud-1", "Usage", "Used",
                      "Committed Use Discount")
    assert got[6] == ("commitments/sql-1", "Spend", "Used", "Committed Use Discount")
    assert got[5] == (None, None, None, None)
    assert json.loads(focus["x_adjustment_info"][2]) == {
        "id": "ADJ-1", "description": "Goodwill credit", "mode": "MANUAL_ADJUSTMENT",
        "type": "GENERAL_ADJUSTMENT"}
    assert focus["x_adjustment_info"][0] is None


def test_periods_accounts_resources_and_quantities(focus: pl.DataFrame) -> None:
    first = focus.row(0, named=True)
    assert {k: first[k] for k in (
        "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "BillingAccountId",
        "BillingAccountName", "BillingAccountType", "SubAccountId", "SubAccountName",
        "SubAccountType", "RegionId", "RegionName", "AvailabilityZone", "ResourceId",
        "ResourceName", "ResourceType", "ServiceName", "ServiceCategory",
        "ServiceSubcategory", "ProviderName", "PublisherName", "InvoiceIssuerName", "SkuId",
        "SkuPriceId", "PricingQuantity", "PricingUnit", "ConsumedQuantity", "ConsumedUnit",
        "ContractedUnitPrice", "ListUnitPrice", "PricingCurrency", "x_service_code")} == {
        "BillingPeriodStart": datetime(2026, 10, 1, tzinfo=UTC),
        "BillingPeriodEnd": datetime(2026, 11, 1, tzinfo=UTC),
        "ChargePeriodStart": OCT_5,
        "BillingAccountId": "01A2B3-C4D5E6-F7A8B9", "BillingAccountName": "01A2B3-C4D5E6-F7A8B9",
        "BillingAccountType": "Billing Account",
        "SubAccountId": "payments-prod-7731", "SubAccountName": "Payments",
        "SubAccountType": "Project", "RegionId": "us-central1", "RegionName": "Iowa",
        "AvailabilityZone": "us-central1-a", "ResourceId": INSTANCE,
        "ResourceName": "payments-api-1", "ResourceType": "compute.googleapis.com/instances",
        "ServiceName": "Compute Engine",
        "ServiceCategory": "Compute", "ServiceSubcategory": "Virtual Machines",
        "ProviderName": "Google Cloud", "PublisherName": "Google Cloud",
        "InvoiceIssuerName": "Google Cloud", "SkuId": "2D3E-8A9C-1B4F",
        "SkuPriceId": "2D3E-8A9C-1B4F", "PricingQuantity": Decimal("10"), "PricingUnit": "Hours",
        "ConsumedQuantity": Decimal("36000"), "ConsumedUnit": "Seconds",
        "ContractedUnitPrice": Decimal("0.125"), "ListUnitPrice": Decimal("0.15"),
        "PricingCurrency": "USD",
        "x_service_code": "6F81-5844-456A",
    }
    # tax: no SKU, no quantity; the adjustment is billed in November for October usage;
    # a row without usage times is charged over its billing period
    tax, adjustment, rounding = focus.row(1, named=True), focus.row(2, named=True), focus.row(3, named=True)
    assert (tax["SkuId"], tax["PricingQuantity"], tax["ServiceCategory"]) == (None, None, "Other")
    assert (adjustment["BillingPeriodStart"], adjustment["ChargePeriodStart"]) == (
        datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 10, 14, tzinfo=UTC))
    assert (rounding["ChargePeriodStart"], rounding["ChargePeriodEnd"], rounding["SubAccountId"]) == (
        datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC), None)


def test_an_older_narrower_table_with_unknown_new_fields_still_normalizes() -> None:
    """Standard export of a few years ago: no tags, no cost_at_list, credits without type/id;
    plus a field GCP might add tomorrow."""
    credit = pa.struct([("name", pa.string()), ("amount", pa.float64())])
    schema = pa.schema([
        ("billing_account_id", pa.string()),
        ("service", pa.struct([("id", pa.string()), ("description", pa.string())])),
        ("usage_start_time", pa.timestamp("us", tz="UTC")),
        ("project", pa.struct([("id", pa.string()), ("name", pa.string())])),
        ("labels", pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))),
        ("cost", pa.float64()), ("currency", pa.string()), ("credits", pa.list_(credit)),
        ("invoice", pa.struct([("month", pa.string())])),
        ("carbon_footprint_2027", pa.struct([("kg", pa.float64())])),
    ])
    rows = [{"billing_account_id": "X", "service": {"id": "s", "description": "BigQuery"},
             "usage_start_time": OCT_5, "project": {"id": "p", "name": "P"},
             "labels": [{"key": "team", "value": "data"}], "cost": 3.5, "currency": "EUR",
             "credits": [{"name": "Free tier", "amount": -0.5}], "invoice": {"month": "202610"},
             "carbon_footprint_2027": {"kg": 1.0}}]
    focus = normalize.to_focus(raw(rows, schema).lazy()).pipe(conform).collect()
    assert list(focus.columns) == list(LINE_ITEM_COLUMNS)
    got = focus.select("BilledCost", "ListCost", "ChargeCategory", "Tags", "ServiceCategory",
                       "BillingCurrency", "CommitmentDiscountId").row(0)
    assert got == (Decimal("3"), Decimal("3.5"), "Usage", '{"team":"data"}', "Databases", "EUR", None)


def test_a_credit_amount_that_is_not_a_number_fails_the_money_check() -> None:
    bad = row(credits=[CUD | {"amount": float("nan")}])
    frame = normalize.with_credit_amounts(raw([ROWS[5], bad]))
    found = first_bad_money(frame, normalize.money_columns(frame))
    assert found is not None and (found.column, found.row, found.value) == ("credits.amount", 1, "NaN")


def test_control_totals_are_per_currency() -> None:
    rows = [row(cost=1.1, currency="USD", credits=[SUD]), row(cost=2.2, currency="EUR"),
            row(cost=0.7, currency="USD")]
    assert normalize.control_totals(raw(rows)) == {"USD": Decimal("1.7"), "EUR": Decimal("2.2")}


def test_multi_region_global_and_marketplace_rows() -> None:
    rows = [row(location={"location": "US", "country": "US", "region": None, "zone": None},
                service={"id": "24E6-581D-38E5", "description": "BigQuery"},
                usage={"amount": 2.0**40, "unit": "bytes", "amount_in_pricing_units": 1.0,
                       "pricing_unit": "tebibyte"}),
            row(location={"location": "global", "country": None, "region": None, "zone": None},
                resource={"name": "my-bucket", "global_name": None}),
            row(transaction_type="THIRD_PARTY_RESELLER", seller_name="Acme Analytics Inc.")]
    focus = normalize.to_focus(raw(rows).lazy()).collect()
    assert focus.select("RegionId", "RegionName", "PricingUnit", "ConsumedUnit").rows()[:2] == [
        ("US", "United States (multi-region)", "TiB", "B"), (None, None, "Hours", "Seconds")]
    assert focus.select("ResourceId", "ResourceType").row(1) == ("my-bucket", "Compute Engine")
    assert focus.select("PublisherName", "ServiceProviderName", "InvoiceIssuerName").rows() == [
        ("Google Cloud", "Google Cloud", "Google Cloud")] * 2 + [
        ("Acme Analytics Inc.", "Acme Analytics Inc.", "Google Cloud")]
