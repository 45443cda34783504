-- The rows of `split_rows` one split takes, by row id, before its parts are added.
-- grain: one row per taken row
create or replace temp table split_taken as
select a.rowid as allocated_row,
       -- whether a later split may take the line item again (then its parts stay in split_rows)
       exists (select 1 from split_candidates later
               where later.split_index > $split_index
                 and later.x_source = a.x_source
                 and later.x_line_item_id = a.x_line_item_id) as taken_again
from split_rows a
semi join split_candidates c
    on c.split_index = $split_index
   and c.x_source = a.x_source and c.x_line_item_id = a.x_line_item_id
where a.x_billing_period = $period
