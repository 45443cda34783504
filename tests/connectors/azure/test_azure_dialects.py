"""Every Azure header variant we have samples of is recognised, and rows become the right FOCUS.

The samples are copies of public files in `tests/samples/azure` (provenance in its README):
opencost's header sets (EA, MCA camelCase, pay-as-you-go, German, BOM, mixed) and the
FinOps toolkit's column lists per export dataset and version.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from costalloc.connectors.azure import transform
from costalloc.connectors.azure.dialects import HeaderNotRecognized, detect
from costalloc.core.focus import FOCUS_COLUMNS, conform

SAMPLES = Path(__file__).parents[2] / "samples" / "azure"
HEADER_SETS = SAMPLES / "opencost-billingexports"
SCHEMAS = SAMPLES / "finops-toolkit-schemas"


def _sample(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"sample missing from the repository: {path}")
    return path


def _csv(path: Path) -> tuple[list[str], list[list[str]]]:
    # read as plain UTF-8 on purpose: a byte order mark stays in the first header
    with _sample(path).open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


# file → (dialect, cost of its first data row, its day, its currency)
OPENCOST_HEADER_SETS = {
    "headersets_Enterprise.csv": ("ea", "0", datetime(2021, 2, 2, tzinfo=UTC), "CAD"),
    "headersets_EnterpriseCamel.csv": ("mca", "0.012", datetime(2021, 2, 2, tzinfo=UTC), "USD"),
    "headersets_PayAsYouGo.csv": ("pay-as-you-go", "0.075", datetime(2021, 2, 2, tzinfo=UTC), "USD"),
    "headersets_German.csv": ("pay-as-you-go", "0.075", datetime(2021, 2, 2, tzinfo=UTC), "USD"),
    "headersets_YA.csv": ("mca", "0.075", datetime(2021, 2, 2, tzinfo=UTC), "USD"),
    "headersets_BOM.csv": ("pay-as-you-go", None, datetime(2022, 11, 3, tzinfo=UTC), None),
}


def test_the_table_covers_every_opencost_header_set() -> None:
    found = {path.name for path in _sample(HEADER_SETS).glob("headersets_*.csv")}
    assert found == set(OPENCOST_HEADER_SETS)


@pytest.mark.parametrize("name", sorted(OPENCOST_HEADER_SETS))
def test_opencost_header_set_is_recognised_and_its_row_becomes_focus(name: str) -> None:
    dialect_name, cost, day, currency = OPENCOST_HEADER_SETS[name]
    header, rows = _csv(HEADER_SETS / name)

    dialect = detect(header)
    assert dialect.name == dialect_name
    assert dialect.unmapped == (), f"{name}: columns left unmapped"
    assert dialect.localized == (name in ("headersets_German.csv", "headersets_YA.csv"))

    raw = pl.DataFrame([rows[0]], schema=header, orient="row")
    focus = transform.to_focus(raw.lazy()).pipe(conform).collect()
    assert focus["BilledCost"][0] == (Decimal(cost) if cost is not None else None)
    assert focus["ChargePeriodStart"][0] == day
    assert focus["BillingCurrency"][0] == currency
    assert focus["ProviderName"][0] == "Microsoft"


def _schema_columns(path: Path) -> list[tuple[str, str]]:
    mappings = json.loads(_sample(path).read_text())["translator"]["mappings"]
    return [(m["source"]["name"], m["source"].get("type", "String")) for m in mappings]


SCHEMA_FILES = sorted(p.name for p in SCHEMAS.glob("*.json")
                      if p.name.startswith(("actualcost", "amortizedcost", "focuscost")))


def test_every_cost_dataset_schema_is_in_the_table() -> None:
    assert len(SCHEMA_FILES) == 7, SCHEMA_FILES  # actual, amortized, five FocusCost versions


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_finops_toolkit_column_list_is_recognised(name: str) -> None:
    columns = _schema_columns(SCHEMAS / name)
    dialect = detect([column for column, _ in columns])
    if name.startswith("focuscost"):
        assert dialect.name == "focus"
    else:
        assert dialect.name == "unified"
        assert dialect.unmapped == ()

    sample = {"Decimal": "1.5", "DateTimeOffset": "2026-10-01T00:00:00.0000000Z",
              "Boolean": "true", "String": "USD"}
    raw = pl.DataFrame({column: [sample.get(kind, "x")] for column, kind in columns})
    focus = transform.to_focus(raw.lazy()).pipe(conform).collect()
    assert focus["BilledCost"][0] == Decimal("1.5")
    assert focus["BillingCurrency"][0] == "USD"
    assert focus["ChargePeriodStart"][0] == datetime(2026, 10, 1, tzinfo=UTC)
    assert focus["ProviderName"][0] in ("Microsoft", "USD")  # FOCUS files say it themselves
    if name.startswith("focuscost"):
        carried = {column for column, _ in columns} & set(FOCUS_COLUMNS)
        nulls = [c for c in carried if focus[c][0] is None]
        assert nulls == [], f"{name}: FOCUS columns lost on the way: {nulls}"


def test_an_unknown_header_names_what_is_missing_and_what_it_could_not_map() -> None:
    with pytest.raises(HeaderNotRecognized) as raised:
        detect(["Betrag", "Tag", "SubscriptionId"])
    message = str(raised.value)
    assert "`cost` (one of costinbillingcurrency, pretaxcost, cost, extendedcost)" in message
    assert "`date`" in message
    assert "could not map: `Betrag`, `Tag`" in message
    assert raised.value.unmapped == ["Betrag", "Tag"]


# ---------------------------------------------------------------------------------------------
# Golden rows
# ---------------------------------------------------------------------------------------------

EA_ROW = {
    "\ufeffInvoiceSectionName": "Engineering", "AccountName": "Cloud Platform",
    "SubscriptionId": "11111111-2222-4333-8444-555555555555", "SubscriptionName": "corp-prod",
    "ResourceGroup": "rg-web", "ResourceLocation": "US East", "Date": "10/05/2026",
    "ProductName": "Virtual Machines Dsv5 Series - D4s v5", "MeterCategory": "Virtual Machines",
    "MeterSubCategory": "Dsv5 Series", "MeterName": "D4s v5", "MeterRegion": "US East",
    "UnitOfMeasure": "1 Hour", "Quantity": "24", "EffectivePrice": "0.192",
    "CostInBillingCurrency": "4.608", "ConsumedService": "Microsoft.Compute",
    "ResourceId": "/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/RG-Web/"
                  "providers/Microsoft.Compute/virtualMachines/VM-Web-01",
    "Tags": '"env": "prod","Team": "web","TEAM": "other"', "UnitPrice": "0.192",
    "PublisherType": "Azure", "PublisherName": "Microsoft", "ChargeType": "Usage",
    "Frequency": "UsageBased", "PricingModel": "OnDemand", "BillingAccountId": "71234567",
    "BillingAccountName": "Contoso Enrollment", "BillingCurrencyCode": "USD",
    "BillingPeriodStartDate": "10/01/2026", "BillingPeriodEndDate": "10/31/2026",
    "BillingProfileId": "71234567", "BillingProfileName": "Contoso Enrollment",
    "PartNumber": "AAA-12345", "PayGPrice": "0.2496", "ServiceFamily": "Compute",
}


def _focus(rows: list[dict[str, object]], dataset: str | None = None) -> pl.DataFrame:
    raw = pl.DataFrame(rows)
    if dataset is not None:
        raw = raw.with_columns(pl.lit(dataset).alias("x_cost_dataset"))
    return transform.to_focus(raw.lazy()).pipe(conform).collect()


def test_golden_ea_row() -> None:
    row = _focus([EA_ROW]).row(0, named=True)
    assert {k: row[k] for k in GOLDEN_EA} == GOLDEN_EA


GOLDEN_EA = {
    "BilledCost": Decimal("4.608"), "EffectiveCost": Decimal("4.608"),
    "ContractedCost": Decimal("4.608"), "ListCost": Decimal("5.9904"),
    "ContractedUnitPrice": Decimal("0.192"), "ListUnitPrice": Decimal("0.2496"),
    "BillingAccountId": "71234567", "BillingAccountName": "Contoso Enrollment",
    "BillingAccountType": "Billing Account", "BillingCurrency": "USD",
    "BillingPeriodStart": datetime(2026, 10, 1, tzinfo=UTC),
    "BillingPeriodEnd": datetime(2026, 11, 1, tzinfo=UTC),
    "ChargePeriodStart": datetime(2026, 10, 5, tzinfo=UTC),
    "ChargePeriodEnd": datetime(2026, 10, 6, tzinfo=UTC),
    "ChargeCategory": "Usage", "ChargeClass": None, "ChargeFrequency": "Usage-Based",
    "ChargeDescription": "Virtual Machines Dsv5 Series - D4s v5",
    "ConsumedQuantity": Decimal(24), "ConsumedUnit": "Hours", "PricingQuantity": Decimal(24),
    "PricingUnit": "Hours", "PricingCategory": "Standard", "PricingCurrency": "USD",
    "ProviderName": "Microsoft", "ServiceProviderName": "Microsoft",
    "InvoiceIssuerName": "Microsoft", "HostProviderName": "Microsoft", "PublisherName": "Microsoft",
    "RegionId": "eastus", "RegionName": "East US",
    "ResourceId": "/subscriptions/11111111-2222-4333-8444-555555555555/resourcegroups/rg-web/"
                  "providers/microsoft.compute/virtualmachines/vm-web-01",
    "ResourceName": "VM-Web-01", "ResourceType": "Microsoft.Compute/virtualMachines",
    "ServiceName": "Virtual Machines", "ServiceCategory": "Compute",
    "ServiceSubcategory": "Virtual Machines", "SkuId": "AAA-12345", "SkuMeter": "D4s v5",
    "SubAccountId": "11111111-2222-4333-8444-555555555555", "SubAccountName": "corp-prod",
    "SubAccountType": "Subscription", "Tags": '{"env":"prod","Team":"web"}',
    "CommitmentDiscountId": None, "x_line_item_type": "Usage",
    "x_service_code": "Microsoft.Compute",
}

MCA_ROW = {
    "invoiceId": "E2026100042", "billingAccountId": "5e8c1a0b:0f9e_2019-05-31",
    "billingAccountName": "Contoso Ltd", "billingProfileId": "KX4Q-7ZRT-BG7-PGB",
    "billingProfileName": "Contoso EU Billing", "billingPeriodStartDate": datetime(2026, 10, 1),
    "billingPeriodEndDate": datetime(2026, 10, 31), "date": datetime(2026, 10, 7),
    "serviceFamily": "Compute", "consumedService": "Microsoft.Compute",
    "meterName": "E4s v3", "meterCategory": "Virtual Machines", "meterSubCategory": "Esv3 Series",
    "ProductId": "DZH318Z0BQ4L", "ProductName": "Virtual Machines Esv3 Series - E4s v3",
    "SubscriptionId": "66666666-7777-4888-9999-000000000000", "subscriptionName": "saas-prod",
    "publisherType": "Azure", "publisherName": "Microsoft", "resourceGroupName": "rg-app",
    "ResourceId": "/subscriptions/66666666-7777-4888-9999-000000000000/resourceGroups/rg-app/"
                  "providers/Microsoft.Compute/virtualMachines/vm-app-01",
    "resourceLocation": "westeurope", "location": "EU West", "effectivePrice": 0.2268,
    "quantity": 24.0, "unitOfMeasure": "1 Hour", "chargeType": "Usage",
    "billingCurrency": "EUR", "pricingCurrency": "EUR", "costInBillingCurrency": 5.4432,
    "paygCostInBillingCurrency": 7.8624, "tags": '{"env":"production","team":"payments"}',
    "PayGPrice": 0.3276, "frequency": "UsageBased", "pricingModel": "SavingsPlan",
    "unitPrice": 0.252, "benefitId": "/providers/Microsoft.BillingBenefits/savingsPlanOrders/o1/"
                                     "savingsPlans/sp1", "benefitName": "compute-sp-1y",
}


def test_golden_mca_row_from_parquet_types() -> None:
    # an amortized row a savings plan covers: nothing billed, its amortized share effective
    row = _focus([MCA_ROW], dataset="AmortizedCost").row(0, named=True)
    assert {k: row[k] for k in GOLDEN_MCA} == GOLDEN_MCA


GOLDEN_MCA = {
    "BilledCost": Decimal(0), "EffectiveCost": Decimal("5.4432"),
    "ListCost": Decimal("7.8624"), "ContractedCost": Decimal("6.048"),
    "BillingAccountId": "KX4Q-7ZRT-BG7-PGB", "BillingAccountName": "Contoso EU Billing",
    "BillingAccountType": "Billing Profile", "BillingCurrency": "EUR", "InvoiceId": "E2026100042",
    "BillingPeriodStart": datetime(2026, 10, 1, tzinfo=UTC),
    "ChargePeriodStart": datetime(2026, 10, 7, tzinfo=UTC), "ChargeCategory": "Usage",
    "CommitmentDiscountId": "/providers/Microsoft.BillingBenefits/savingsPlanOrders/o1/"
                            "savingsPlans/sp1",
    "CommitmentDiscountName": "compute-sp-1y", "CommitmentDiscountType": "Savings Plan",
    "CommitmentDiscountCategory": "Spend", "CommitmentDiscountStatus": "Used",
    "PricingCategory": "Committed", "RegionId": "westeurope", "RegionName": "West Europe",
    "SkuId": "DZH318Z0BQ4L", "SubAccountId": "66666666-7777-4888-9999-000000000000",
    "Tags": '{"env":"production","team":"payments"}', "ServiceCategory": "Compute",
}


# ChargeType × PricingModel × dataset → (ChargeCategory, ChargeClass, Billed, Effective,
# CommitmentDiscountStatus, PricingCategory), for a row whose cost column says 10
CHARGES = [
    ("Usage", "OnDemand", "ActualCost", ("Usage", None, "10", "10", None, "Standard")),
    ("Usage", "On Demand", "ActualCost", ("Usage", None, "10", "10", None, "Standard")),
    ("Usage", "Spot", "ActualCost", ("Usage", None, "10", "10", None, "Dynamic")),
    ("Usage", "Reservation", "AmortizedCost", ("Usage", None, "0", "10", "Used", "Committed")),
    ("UnusedReservation", "Reservation", "AmortizedCost",
     ("Usage", None, "0", "10", "Unused", "Committed")),
    ("UnusedSavingsPlan", "SavingsPlan", "AmortizedCost",
     ("Usage", None, "0", "10", "Unused", "Committed")),
    ("Purchase", "Reservation", "ActualCost", ("Purchase", None, "10", "0", None, "Standard")),
    ("Purchase", "Savings Plan", "ActualCost", ("Purchase", None, "10", "0", None, "Standard")),
    ("Purchase", "OnDemand", "ActualCost", ("Purchase", None, "10", "10", None, "Standard")),
    ("Refund", "Reservation", "ActualCost", ("Purchase", "Correction", "10", "0", None, "Standard")),
    ("Tax", None, "ActualCost", ("Tax", None, "10", "10", None, None)),
    ("RoundingAdjustment", None, "ActualCost", ("Adjustment", None, "10", "10", None, None)),
]


@pytest.mark.parametrize(("charge_type", "pricing_model", "dataset", "expected"), CHARGES)
def test_charge_types_and_pricing_models(charge_type: str, pricing_model: str | None,
                                         dataset: str, expected: tuple[object, ...]) -> None:
    row = {**EA_ROW, "ChargeType": charge_type, "PricingModel": pricing_model,
           "CostInBillingCurrency": "10",
           "ReservationId": "r1" if pricing_model in ("Reservation",) else None}
    got = _focus([row], dataset=dataset).select(
        "ChargeCategory", "ChargeClass", "BilledCost", "EffectiveCost",
        "CommitmentDiscountStatus", "PricingCategory").row(0)
    category, charge_class, billed, effective, status, pricing = expected
    assert got == (category, charge_class, Decimal(str(billed)), Decimal(str(effective)), status,
                   pricing)


TAGS = [
    ('{"env":"prod","team":"ml"}', '{"env":"prod","team":"ml"}'),
    ('"env": "prod","team": "ml"', '{"env":"prod","team":"ml"}'),  # EA: no outer braces
    ('"{""env"":""prod""}"', '{"env":"prod"}'),  # CSV-escaped twice
    ('""env"": ""prod"", ""owner"": """"', '{"env":"prod","owner":""}'),
    ('{"Application":"a","APPLICATION":"b"}', '{"Application":"a"}'),  # casing: first wins
    ('{  "ClusterId": "0103",  "Vendor": "Databricks"}', '{"ClusterId":"0103","Vendor":"Databricks"}'),
    ("", None),
    ("{}", None),
    (None, None),
]


@pytest.mark.parametrize(("text", "expected"), TAGS)
def test_tags_become_one_json_object(text: str | None, expected: str | None) -> None:
    assert _focus([{**EA_ROW, "Tags": text}])["Tags"][0] == expected
    if expected is not None:
        json.loads(expected)


def test_opencost_tags_without_brackets_sample() -> None:
    header, rows = _csv(HEADER_SETS / "values_MissingBrackets.csv")
    tags = rows[0][header.index("Tags")]
    raw = {**EA_ROW, "Tags": tags}
    assert json.loads(_focus([raw])["Tags"][0]) == {
        "resourceNameSuffix": "12345678", "aksEngineVersion": "aks-release-v0.47.0-1-aks",
        "creationSource": "aks-aks-nodepool1-12345678-vmss"}


@pytest.mark.parametrize("text", ["10/05/2026", "10/5/2026", "2026-10-05", "2026-10-05 00:00:00",
                                  "2026-10-05T00:00:00.0000000Z", "2026-10-05T00:00:00Z"])
def test_every_date_spelling_is_the_same_day(text: str) -> None:
    assert _focus([{**EA_ROW, "Date": text}])["ChargePeriodStart"][0] == datetime(
        2026, 10, 5, tzinfo=UTC)


@pytest.mark.parametrize(("location", "region"), [
    ("US East", "eastus"), ("East US", "eastus"), ("eastus", "eastus"), ("EU West", "westeurope"),
    ("DE West Central", "germanywestcentral"), ("East US 3", "eastus3"), ("Unassigned", None),
    ("", None)])
def test_region_spellings(location: str, region: str | None) -> None:
    row = {**EA_ROW, "ResourceLocation": location, "MeterRegion": None}
    assert _focus([row])["RegionId"][0] == region


def test_control_total_follows_the_billed_rule_per_currency() -> None:
    rows = [{**EA_ROW, "CostInBillingCurrency": "2.5"},
            {**EA_ROW, "CostInBillingCurrency": "4", "PricingModel": "Reservation",
             "ReservationId": "r1"},
            {**EA_ROW, "CostInBillingCurrency": "1.25", "BillingCurrencyCode": "eur"}]
    amortized = pl.DataFrame(rows).with_columns(pl.lit("AmortizedCost").alias("x_cost_dataset"))
    assert transform.control_totals(amortized) == {"USD": Decimal("2.5"), "EUR": Decimal("1.25")}
    actual = pl.DataFrame(rows)
    assert transform.control_totals(actual) == {"USD": Decimal("6.5"), "EUR": Decimal("1.25")}
    assert _focus(rows, "AmortizedCost")["BilledCost"].sum() == Decimal("3.75")
