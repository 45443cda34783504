-- A usage driver's quantity keeps its digits like the line items' quantities (was DECIMAL(38, 10)).
alter table allocated_costs alter column x_driver_quantity type DECIMAL(38, 18)
