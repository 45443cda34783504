-- PricingQuantity keeps every digit providers publish (was DECIMAL(38, 10)).
alter table line_items alter column PricingQuantity type DECIMAL(38, 18)
