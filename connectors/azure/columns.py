"""Every spelling of an Azure cost column, brought to one canonical name (data, not logic).

Cost Management writes the same column under different names depending on the agreement,
the export's API version and the portal language: `CostInBillingCurrency` (EA),
`costInBillingCurrency` (MCA), `PreTaxCost` (pay-as-you-go and older EA), `Cost` (the 2025
unified schema), `Kategorie der Verbrauchseinheit (MeterCategory)` (German). Spellings are
matched case-insensitively after `dialects.clean_header`, so one entry covers PascalCase and
camelCase. The first spelling present wins, which is why the list order matters.
"""

from __future__ import annotations

from typing import Final

# canonical name → header spellings (lower-case), most specific first
SPELLINGS: Final[dict[str, tuple[str, ...]]] = {
    # money and quantities
    "cost": ("costinbillingcurrency", "pretaxcost", "cost", "extendedcost"),
    "currency": ("billingcurrencycode", "billingcurrency", "currency"),
    "cost_in_pricing_currency": ("costinpricingcurrency",),
    "cost_in_usd": ("costinusd",),
    "payg_cost": ("paygcostinbillingcurrency",),
    "payg_cost_in_usd": ("paygcostinusd",),
    "pricing_currency": ("pricingcurrency",),
    "exchange_rate": ("exchangeratepricingtobilling",),
    "exchange_rate_date": ("exchangeratedate",),
    "quantity": ("quantity", "usagequantity", "consumedquantity"),
    "unit_of_measure": ("unitofmeasure",),
    "unit_price": ("unitprice", "resourcerate"),
    "effective_price": ("effectiveprice",),
    "payg_price": ("paygprice",),
    # when
    "date": ("date", "usagedatetime", "usagedate"),
    "billing_period_start": ("billingperiodstartdate",),
    "billing_period_end": ("billingperiodenddate",),
    "service_period_start": ("serviceperiodstartdate",),
    "service_period_end": ("serviceperiodenddate",),
    # who pays
    "billing_account_id": ("billingaccountid",),
    "billing_account_name": ("billingaccountname",),
    "billing_profile_id": ("billingprofileid",),
    "billing_profile_name": ("billingprofilename",),
    "invoice_id": ("invoiceid",),
    "previous_invoice_id": ("previousinvoiceid",),
    "invoice_section_id": ("invoicesectionid",),
    "invoice_section_name": ("invoicesectionname", "invoicesection"),
    "account_name": ("accountname",),
    "account_owner_id": ("accountownerid",),
    "department_name": ("departmentname",),
    "cost_center": ("costcenter",),
    "customer_name": ("customername",),
    "customer_tenant_id": ("customertenantid",),
    "partner_name": ("partnername",),
    "reseller_name": ("resellername",),
    "reseller_mpn_id": ("resellermpnid",),
    "subscription_id": ("subscriptionid", "subscriptionguid"),
    "subscription_name": ("subscriptionname",),
    "offer_id": ("offerid",),
    # what was used
    "resource_group": ("resourcegroup", "resourcegroupname"),
    "resource_id": ("resourceid", "instanceid", "instancename"),
    "resource_name": ("resourcename",),
    "resource_type": ("resourcetype",),
    "resource_location": ("resourcelocation", "location"),
    "availability_zone": ("availabilityzone",),
    "meter_category": ("metercategory",),
    "meter_subcategory": ("metersubcategory",),
    "meter_name": ("metername",),
    "meter_id": ("meterid",),
    "meter_region": ("meterregion",),
    "service_family": ("servicefamily",),
    "consumed_service": ("consumedservice",),
    "legacy_service_name": ("servicename",),
    "legacy_service_tier": ("servicetier",),
    "product_name": ("productname", "product"),
    "product_id": ("productid",),
    "part_number": ("partnumber",),
    "plan_name": ("planname",),
    "service_info_1": ("serviceinfo1",),
    "service_info_2": ("serviceinfo2",),
    "additional_info": ("additionalinfo",),
    "tags": ("tags",),
    "provider": ("provider",),
    "cost_allocation_rule": ("costallocationrulename",),
    # how it was priced and charged
    "charge_type": ("chargetype",),
    "frequency": ("frequency",),
    "pricing_model": ("pricingmodel",),
    "term": ("term",),
    "is_credit_eligible": ("isazurecrediteligible",),
    "reservation_id": ("reservationid",),
    "reservation_name": ("reservationname",),
    "benefit_id": ("benefitid",),
    "benefit_name": ("benefitname",),
    "product_order_id": ("productorderid",),
    "product_order_name": ("productordername",),
    "publisher_type": ("publishertype",),
    "publisher_id": ("publisherid",),
    "publisher_name": ("publishername",),
}

# Without these a row can't become a FOCUS line item. The currency is needed too, but older
# EA files don't carry it: the source's `currency` option supplies it then.
REQUIRED: Final = ("cost", "date")

# Raw numbers checked before anything is normalized (`Connector.money_columns`).
NUMERIC: Final = ("cost", "payg_cost", "cost_in_usd", "cost_in_pricing_currency", "quantity",
                  "unit_price", "effective_price", "payg_price")

# Of those, read as a quantity or unit price (DECIMAL(38, 18)).
QUANTITIES: Final = ("quantity", "unit_price", "effective_price", "payg_price")

# A FocusCost export (FOCUS 1.0, 1.0r2, 1.2-preview, 1.2) is recognised by these.
FOCUS_MARKERS: Final = ("billedcost", "effectivecost", "billingcurrency", "chargeperiodstart")
