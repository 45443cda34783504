"""Data tables the connectors read (units, regions, usage types): CSV, shipped as package data."""
