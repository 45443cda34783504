-- Keep a published run's month totals: the rows slot holds allocation/month_spend.sql's text.
insert into month_spend by name
{rows}
