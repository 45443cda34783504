-- The narrow table takes the name every writer and reader uses. (The view allocated_line_items
-- is created after the migration, with the tables a warehouse lacks.)
alter table allocated_costs_narrow rename to allocated_costs
