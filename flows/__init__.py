"""Prefect flows (nightly, backfill, reallocate) and the `costalloc` command that starts them."""
