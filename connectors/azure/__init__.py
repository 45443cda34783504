"""Azure Cost Management exports and the Cost Details API → FOCUS line items."""
