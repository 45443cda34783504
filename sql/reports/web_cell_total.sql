-- How many allocated rows a cell of the web view holds and what they add up to.
-- The cell slot holds web_cell_rows.sql's text.
-- grain: one row
select
    count(*) as x_allocated_rows,
    coalesce(sum(BilledCost), 0) as BilledCost,
    coalesce(sum(EffectiveCost), 0) as EffectiveCost
from (
{cell}
) as cell
