import duckdb

from costalloc.core.focus import LINE_ITEM_COLUMNS
from costalloc.warehouse.connection import connect


def test_the_line_items_table_is_exactly_the_focus_contract() -> None:
    con: duckdb.DuckDBPyConnection = connect(":memory:")
    columns = [row[0] for row in con.sql("describe line_items").fetchall()]
    assert columns == list(LINE_ITEM_COLUMNS)
    types = dict(con.sql("select column_name, data_type from information_schema.columns "
                         "where table_name = 'line_items'").fetchall())
    assert types["BilledCost"] == types["EffectiveCost"] == "DECIMAL(38,10)"
    assert types["ChargePeriodStart"] == "TIMESTAMP WITH TIME ZONE"
