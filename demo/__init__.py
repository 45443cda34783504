"""Synthetic billing exports in each provider's real layout, for the demo, tests and benchmark."""
