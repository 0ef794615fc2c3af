"""Names as the schema browser writes them into a query, per dialect (no database needed)."""

from __future__ import annotations

import sqlglot

from qdbm_desktop.core.browse import column_label, quoted_name, quoted_table, select_statement
from qdbm_desktop.core.dialects import get_dialect
from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.catalog import ColumnInfo, ForeignKey, KeyConstraint, TableShape

SHAPE = TableShape(
    TableName("Order Lines", "sales"),
    (ColumnInfo("order_id", "integer", nullable=False), ColumnInfo("Amount", "numeric(10,2)"),
     ColumnInfo("select", "text"), ColumnInfo("customer_id", "integer")),
    primary_key=KeyConstraint("pk", ("order_id",)),
    foreign_keys=(ForeignKey("fk", ("customer_id",), TableName("customers"), ("id",)),),
)


def test_plain_lower_case_names_stay_bare_and_the_others_are_quoted_per_dialect() -> None:
    pg, my = get_dialect("postgresql"), get_dialect("mysql")
    assert quoted_name(pg, "orders") == "orders"
    assert quoted_name(pg, "Amount") == '"Amount"'
    assert quoted_name(pg, "select") == '"select"'
    assert quoted_name(my, "Order Lines") == "`Order Lines`"
    assert quoted_table(pg, TableName("orders", "public"), "public") == "orders"
    assert quoted_table(pg, SHAPE.table, "public") == 'sales."Order Lines"'


def test_query_this_table_is_valid_sql_of_every_dialect() -> None:
    for engine, glot in (("postgresql", "postgres"), ("mysql", "mysql"), ("sqlite", "sqlite"),
                         ("sqlserver", "tsql"), ("oracle", "oracle")):
        sql = select_statement(get_dialect(engine), SHAPE, "dbo")
        parsed = sqlglot.parse_one(sql, read=glot)
        names = [c.name for c in parsed.expressions]
        if engine == "oracle":  # Oracle's lower-case names are its unquoted (upper-case) ones
            names = [n if n != "SELECT" else "select" for n in names]
        assert names == ["order_id", "Amount", "select", "customer_id"], engine
        table = parsed.find(sqlglot.exp.Table)
        assert table is not None and table.name == "Order Lines", engine


def test_column_labels_carry_type_not_null_and_key_markers() -> None:
    assert column_label(SHAPE, "order_id") == "order_id  [PK]  integer NOT NULL"
    assert column_label(SHAPE, "customer_id") == "customer_id  [FK]  integer"
    assert column_label(SHAPE, "Amount") == "Amount  numeric(10,2)"
