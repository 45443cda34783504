"""The hard month's 83 columns: a CUR 2.0 (Data Exports `COST_AND_USAGE_REPORT`) selection.

Money and quantities are doubles and rates are strings, as AWS writes them; product attributes
AWS keeps at the top level are columns, the rest are in the `product` MAP; user and AWS tags
are in `resource_tags`, cost categories in `cost_category`, discounts in `discount`.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

TEXT_MAP: Final = pa.map_(pa.string(), pa.string())
NUMBER_MAP: Final = pa.map_(pa.string(), pa.float64())

# name → manifest type ("string", "double", "timestamp", map types)
_SPEC: Final = """
bill_bill_type string
bill_billing_entity string
bill_billing_period_end_date timestamp
bill_billing_period_start_date timestamp
bill_invoice_id string
bill_invoicing_entity string
bill_payer_account_id string
bill_payer_account_name string
cost_category map<string,string>
discount map<string,double>
discount_total_discount double
identity_line_item_id string
identity_time_interval string
line_item_availability_zone string
line_item_blended_cost double
line_item_blended_rate string
line_item_currency_code string
line_item_legal_entity string
line_item_line_item_description string
line_item_line_item_type string
line_item_net_unblended_cost double
line_item_net_unblended_rate string
line_item_normalization_factor double
line_item_normalized_usage_amount double
line_item_operation string
line_item_product_code string
line_item_resource_id string
line_item_tax_type string
line_item_unblended_cost double
line_item_unblended_rate string
line_item_usage_account_id string
line_item_usage_account_name string
line_item_usage_amount double
line_item_usage_end_date timestamp
line_item_usage_start_date timestamp
line_item_usage_type string
pricing_currency string
pricing_lease_contract_length string
pricing_offering_class string
pricing_public_on_demand_cost double
pricing_public_on_demand_rate string
pricing_purchase_option string
pricing_rate_code string
pricing_rate_id string
pricing_term string
pricing_unit string
product map<string,string>
product_instance_family string
product_instance_type string
product_location string
product_location_type string
product_operation string
product_product_family string
product_region_code string
product_servicecode string
product_sku string
product_usagetype string
reservation_amortized_upfront_fee_for_billing_period double
reservation_effective_cost double
reservation_end_time string
reservation_net_effective_cost double
reservation_net_unused_amortized_upfront_fee_for_billing_period double
reservation_net_unused_recurring_fee double
reservation_recurring_fee_for_usage double
reservation_reservation_a_r_n string
reservation_start_time string
reservation_unused_amortized_upfront_fee_for_billing_period double
reservation_unused_quantity double
reservation_unused_recurring_fee double
resource_tags map<string,string>
savings_plan_amortized_upfront_commitment_for_billing_period double
savings_plan_end_time string
savings_plan_net_savings_plan_effective_cost double
savings_plan_offering_type string
savings_plan_payment_option string
savings_plan_purchase_term string
savings_plan_recurring_commitment_for_billing_period double
savings_plan_savings_plan_a_r_n string
savings_plan_savings_plan_effective_cost double
savings_plan_savings_plan_rate double
savings_plan_start_time string
savings_plan_total_commitment_to_date double
savings_plan_used_commitment double
"""

COLUMNS: Final = tuple(tuple(line.split()) for line in _SPEC.strip().splitlines())
_ARROW: Final = {"string": pa.string(), "double": pa.float64(),
                 "timestamp": pa.timestamp("ms", tz="UTC"),
                 "map<string,string>": TEXT_MAP, "map<string,double>": NUMBER_MAP}
SCHEMA: Final = pa.schema([pa.field(name, _ARROW[kind]) for name, kind in COLUMNS])
MONEY: Final = tuple(name for name, kind in COLUMNS if kind == "double")


def manifest_columns() -> list[dict[str, str]]:
    """`columns` of the manifest, as AWS lists them."""
    return [{"name": name, "type": kind} for name, kind in COLUMNS]
