"""Planning: budgets, the monthly review, forecasts, unit costs, threshold breaches and their notices."""
