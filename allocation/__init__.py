"""Allocation: rules (data, validated) → environment, workstream and cost type per line item."""
