"""MySQL's and MariaDB's catalog (information_schema) read into the values of dialects/catalog.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.catalog import (
    ColumnInfo,
    IndexRow,
    KeyRow,
    Relation,
    RelationKind,
    TableShape,
    group_indexes,
    group_keys,
)
from qdbm_desktop.core.dialects.mysql.driver import MySQLConnection
from qdbm_desktop.core.dialects.mysql.read import _text

SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
SCHEMAS_SQL = (
    "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN "
    "('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY SCHEMA_NAME"
)
RELATIONS_SQL = (
    "SELECT TABLE_NAME, TABLE_TYPE, DATABASE() FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) "
    "AND TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME"
)
COLUMNS_SQL = (
    "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, CHARACTER_SET_NAME, "
    "COLLATION_NAME, EXTRA, DATA_TYPE FROM information_schema.COLUMNS "
    "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION"
)
KEYS_SQL = (
    "SELECT tc.CONSTRAINT_NAME, tc.CONSTRAINT_TYPE, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, "
    "k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE "
    "FROM information_schema.TABLE_CONSTRAINTS tc "
    "JOIN information_schema.KEY_COLUMN_USAGE k ON k.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA "
    "AND k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND k.TABLE_SCHEMA = tc.TABLE_SCHEMA "
    "AND k.TABLE_NAME = tc.TABLE_NAME "
    "LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA "
    "AND r.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND r.TABLE_NAME = tc.TABLE_NAME "
    "WHERE tc.TABLE_SCHEMA = %s AND tc.TABLE_NAME = %s "
    "AND tc.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY') "
    "ORDER BY tc.CONSTRAINT_NAME, k.ORDINAL_POSITION"
)
INDEXES_SQL = (
    "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, COLLATION, SUB_PART, INDEX_TYPE{expression} "
    "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
    "ORDER BY INDEX_NAME, SEQ_IN_INDEX"
)
#: Column types whose default MySQL 8 prints without quotes (MariaDB quotes literal defaults).
_QUOTED_KINDS = frozenset(
    {
        "char",
        "varchar",
        "tinytext",
        "text",
        "mediumtext",
        "longtext",
        "enum",
        "set",
        "date",
        "time",
        "datetime",
        "timestamp",
        "year",
        "binary",
        "varbinary",
    }
)


def _query(connection: MySQLConnection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, tuple(params))
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


def is_mariadb(connection: MySQLConnection) -> bool:
    """From the version the server sent at connect time, as the writers tell (no query)."""
    return "mariadb" in str(connection.server_info).lower()


def list_schemas(connection: MySQLConnection) -> list[str]:
    return [_text(name) for (name,) in _query(connection, SCHEMAS_SQL)]


def list_relations(connection: MySQLConnection, schema: str | None) -> list[Relation]:
    rows = _query(connection, RELATIONS_SQL, (schema,))
    return [
        Relation(
            TableName(_text(name), schema if schema is not None else _opt(current)),
            RelationKind.VIEW if _text(kind) == "VIEW" else RelationKind.TABLE,
        )
        for name, kind, current in rows
    ]


def describe_table(connection: MySQLConnection, located: tuple[str, str], table: TableName) -> TableShape:
    """``located`` is the (schema, name) the server stores for ``table``."""
    name = located[1]
    mariadb = is_mariadb(connection)
    columns = tuple(_column(row, mariadb) for row in _query(connection, COLUMNS_SQL, located))
    kinds = {
        r[0]: r[1]
        for r in _query(
            connection,
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            located,
        )
    }
    primary, uniques, foreign = group_keys(_key_rows(_query(connection, KEYS_SQL, located)))
    constraint_names = {k.name for k in uniques} | {"PRIMARY"}
    indexes = group_indexes(
        _index_rows(
            _query(connection, INDEXES_SQL.format(expression="" if mariadb else ", EXPRESSION"), located),
            constraint_names,
        )
    )
    return TableShape(
        table=TableName(name, table.schema),
        columns=columns,
        kind=RelationKind.VIEW if _text(kinds.get(name, "")) == "VIEW" else RelationKind.TABLE,
        primary_key=primary,
        uniques=uniques,
        indexes=indexes,
        foreign_keys=foreign,
    )


def _opt(value: Any) -> str | None:
    return None if value is None else _text(value)


def _column(row: tuple[Any, ...], mariadb: bool) -> ColumnInfo:
    name, column_type, nullable, default, charset, collation, extra, data_type = row
    return ColumnInfo(
        _text(name),
        _text(column_type),
        _text(nullable) == "YES",
        _default(_opt(default), _text(extra), _text(data_type).lower(), mariadb),
        _opt(charset),
        _opt(collation),
    )


def _default(default: str | None, extra: str, data_type: str, mariadb: bool) -> str | None:
    """The default as SQL text: MariaDB prints it so (``'abc'``, ``NULL``, ``current_timestamp()``);
    MySQL 8 prints a literal bare and marks an expression DEFAULT_GENERATED."""
    if default is None or (mariadb and default == "NULL"):
        return None
    if mariadb or "DEFAULT_GENERATED" in extra.upper():
        return default
    if data_type in _QUOTED_KINDS:
        return "'" + default.replace("\\", "\\\\").replace("'", "''") + "'"
    return default


_KINDS = {"PRIMARY KEY": "p", "UNIQUE": "u", "FOREIGN KEY": "f"}


def _key_rows(rows: list[tuple[Any, ...]]) -> list[KeyRow]:
    return [
        (
            _text(name),
            _KINDS[_text(kind)],
            _text(column),
            _opt(ref_schema),
            _opt(ref_table),
            _opt(ref_column),
            _opt(on_update),
            _opt(on_delete),
        )
        for name, kind, column, ref_schema, ref_table, ref_column, on_update, on_delete in rows
    ]


def _index_rows(rows: list[tuple[Any, ...]], constraint_names: set[str]) -> list[IndexRow]:
    found: list[IndexRow] = []
    for row in rows:
        name, non_unique, column, collation, sub_part, index_type = row[:6]
        if _text(name) in constraint_names:
            continue
        method = _text(index_type or "BTREE").lower()
        found.append(
            (
                _text(name),
                not int(non_unique),
                None if method == "btree" else method,
                None,
                _opt(column),
                _opt(row[6]) if len(row) > 6 else None,
                _opt(collation) == "D",
                int(sub_part) if sub_part is not None else None,
            )
        )
    return found
