-- One page of a cell's allocated rows, largest |BilledCost| first (a top-N, never a full sort),
-- as web_cell_rows.sql shows them: the page is cut from the cell's allocated rows first (the
-- cell slot holds web_cell_allocated.sql's text, and the rows slot web_cell_rows.sql's, reading
-- the page), so only its rows are looked up in the line items. A null $limit means every row
-- from $offset on.
-- grain: one row per (line item, allocation target)
with
page as (
    select *
    from (
{cell}
    ) as cell
    order by abs(BilledCost) desc, x_source, x_line_item_id, x_split_rule nulls first,
             environment, workstream, cost_type
    limit $limit offset $offset
)
select *
from (
{rows}
) as page_rows
order by abs(BilledCost) desc, x_source, x_line_item_id, x_split_rule nulls first, environment,
         workstream, cost_type
