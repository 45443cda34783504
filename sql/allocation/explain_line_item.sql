-- One line item, by id within its period (and source, when given).
-- grain: one row per source holding that id
select x_source, x_source_file, x_ingest_run_id, ProviderName, ServiceName, SubAccountId,
       ChargeCategory, ChargePeriodStart, BilledCost, EffectiveCost, BillingCurrency, Tags
from line_items
where x_billing_period = $period
  and x_line_item_id = $line_item_id
  and ($source is null or x_source = $source)
order by x_source
