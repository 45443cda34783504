-- The period's profiles (see allocation/profiles.py) with how many line items and how much
-- |BilledCost| each stands for, per currency: what `rules check` weighs its statistics by
-- (amounts in two currencies are never added). Read-only.
-- {profile} is built by allocation/profiles.py from checked column names.
-- grain: one row per (profile, currency)
select {profile}, li.BillingCurrency as x_profile_currency, count(*) as line_item_count,
       sum(abs(li.BilledCost)) as billed_magnitude
from line_items li
where li.x_billing_period = $period
group by all
