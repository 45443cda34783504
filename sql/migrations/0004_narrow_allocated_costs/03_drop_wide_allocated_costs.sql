-- The wide table goes; its rows are in allocated_costs_narrow.
drop table allocated_costs
