-- PricingCurrencyListUnitPrice keeps every digit providers publish (was DECIMAL(38, 10)).
alter table line_items alter column PricingCurrencyListUnitPrice type DECIMAL(38, 18)
