-- The split rows join the rest of the allocation once every split has run.
insert into allocated_costs by name
select * from split_rows
