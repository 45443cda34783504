-- One page of a cell's allocated rows, largest |BilledCost| first (a top-N, never a full sort).
-- The cell slot holds web_cell_rows.sql's text. A null $limit means every row from $offset on.
-- grain: one row per (line item, allocation target)
select *
from (
{cell}
) as cell
order by abs(BilledCost) desc, x_source, x_line_item_id, x_split_rule nulls first, environment,
         workstream, cost_type
limit $limit offset $offset
