"""What every costalloc package shares: the billing period, settings and errors."""
