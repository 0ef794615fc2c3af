"""The catalog readers' SQL for the servers that cannot run here, read back by sqlglot, and the
pure parts of every reader. tests/integration/test_catalog.py runs the others for real, and
tests/integration/test_sqlserver_oracle_servers.py these when a server URL is set."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from qdbm_desktop.core.dialects.catalog import IndexPart, group_indexes, group_keys
from qdbm_desktop.core.dialects.oracle import catalog as oracle_catalog
from qdbm_desktop.core.dialects.postgresql import catalog as pg_catalog
from qdbm_desktop.core.dialects.sqlite.catalog import _index_text
from qdbm_desktop.core.dialects.sqlserver import catalog as sqlserver_catalog

ORACLE_SQL = [
    oracle_catalog.SCHEMAS_SQL,
    oracle_catalog.RELATIONS_SQL,
    oracle_catalog.KIND_SQL,
    oracle_catalog.COLUMNS_SQL,
    oracle_catalog.KEYS_SQL,
    oracle_catalog.INDEXES_SQL,
]
SQLSERVER_SQL = [
    sqlserver_catalog.SCHEMAS_SQL,
    sqlserver_catalog.RELATIONS_SQL,
    sqlserver_catalog.KIND_SQL,
    sqlserver_catalog.COLUMNS_SQL,
    sqlserver_catalog.KEYS_SQL,
    sqlserver_catalog.FOREIGN_KEYS_SQL,
    sqlserver_catalog.INDEXES_SQL,
]


@pytest.mark.parametrize("sql", ORACLE_SQL)
def test_oracle_catalog_sql_parses_as_one_select_of_all_views(sql: str) -> None:
    tree = sqlglot.parse_one(sql, read="oracle", error_level=sqlglot.ErrorLevel.RAISE)
    assert isinstance(tree, exp.Select)
    tables = {t.name.lower() for t in tree.find_all(exp.Table)}
    assert tables and all(t.startswith("all_") for t in tables), tables
    markers = {p.name for p in tree.find_all(exp.Placeholder)}
    assert markers <= {"owner", "table_name"}


@pytest.mark.parametrize("sql", SQLSERVER_SQL)
def test_sqlserver_catalog_sql_parses_as_one_select_of_sys_views(sql: str) -> None:
    tree = sqlglot.parse_one(sql, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
    assert isinstance(tree, exp.Select)
    assert all(t.db.lower() == "sys" for t in tree.find_all(exp.Table))
    assert sql.count("?") <= 1


def test_sqlserver_types_and_defaults_read_as_users_write_them() -> None:
    spell = sqlserver_catalog.type_spelling
    assert spell("nvarchar", 80, 0, 0) == "nvarchar(40)" and spell("varchar", -1, 0, 0) == "varchar(max)"
    assert spell("decimal", 9, 12, 2) == "decimal(12,2)" and spell("datetime2", 8, 27, 3) == "datetime2(3)"
    assert spell("int", 4, 10, 0) == "int"
    assert sqlserver_catalog._default("((0))") == "0"
    assert sqlserver_catalog._default("(getdate())") == "getdate()"
    assert sqlserver_catalog._default("(('a')+('b'))") == "('a')+('b')"
    assert sqlserver_catalog._default(None) is None


def test_rows_group_into_keys_in_key_order() -> None:
    primary, uniques, foreign = group_keys(
        [
            ("pk", "p", "b", None, None, None, None, None),
            ("pk", "p", "a", None, None, None, None, None),
            ("uq", "u", "c", None, None, None, None, None),
            ("fk", "f", "x", "s", "parent", "a", "NO_ACTION", "SET_NULL"),
            ("fk", "f", "y", "s", "parent", "b", "NO_ACTION", "SET_NULL"),
        ]
    )
    assert primary is not None and primary.columns == ("b", "a")
    assert [u.columns for u in uniques] == [("c",)]
    (fk,) = foreign
    assert fk.columns == ("x", "y") and fk.referenced_columns == ("a", "b")
    assert (fk.referenced.schema, fk.referenced.name, fk.on_delete, fk.on_update) == (
        "s",
        "parent",
        "SET NULL",
        "NO ACTION",
    )


def test_rows_group_into_indexes() -> None:
    (index,) = group_indexes(
        [
            ("i", True, None, "a > 0", None, "lower(b)", True, None),
            ("i", True, None, "a > 0", "a", None, False, 5),
        ]
    )
    assert index.parts == (IndexPart(None, "lower(b)", True), IndexPart("a", None, False, 5))
    assert index.unique and index.where == "a > 0" and not index.plain


def test_sqlite_index_text_splits_parts_and_predicate() -> None:
    parts, where = _index_text(
        'CREATE INDEX "i" ON t (lower("b, c") DESC, coalesce(a, 1), '
        "x COLLATE NOCASE ASC) WHERE a > 0 AND (b = ')')"
    )
    assert parts == ['lower("b, c")', "coalesce(a, 1)", "x"]
    assert where == "a > 0 AND (b = ')')"
    assert _index_text("CREATE INDEX i ON t (a)") == (["a"], None)


def test_postgresql_actions_cover_every_code() -> None:
    assert set(pg_catalog.ACTIONS) == set("arcnd")
