"""Serving: the read-only HTTP endpoint finance pulls tables from."""
