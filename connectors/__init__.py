"""Source connectors: each finds a provider's current delivery and emits FOCUS line items."""
