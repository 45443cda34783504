-- The split rows join the rest of the allocation once every split has run, without the columns
-- only the splits needed ({split_columns_excluded}: `exclude (<SPLIT_ROW_COLUMNS>)`).
insert into allocated_costs by name
select * {split_columns_excluded} from split_rows
