-- The period's profiles (see allocation/profiles.py) with how many line items and how much
-- |BilledCost| each stands for: what `rules check` weighs its statistics by. Read-only.
-- {profile} is built by allocation/profiles.py from checked column names.
-- grain: one row per profile
select {profile}, count(*) as line_item_count, sum(abs(li.BilledCost)) as billed_magnitude
from line_items li
where li.x_billing_period = $period
group by all
