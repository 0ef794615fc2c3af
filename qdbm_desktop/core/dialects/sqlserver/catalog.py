"""SQL Server's catalog (the sys.* views) read into the values of dialects/catalog.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    unwrap_parentheses,
)
from qdbm_desktop.core.errors import UsageError

#: Schemas a user made (the fixed database-role schemas have ids from 16384).
SCHEMAS_SQL = (
    "SELECT name FROM sys.schemas WHERE schema_id < 16384 "
    "AND name NOT IN ('sys', 'INFORMATION_SCHEMA', 'guest') ORDER BY name"
)
RELATIONS_SQL = (
    "SELECT o.name, o.type, SCHEMA_NAME(o.schema_id) FROM sys.objects o "
    "WHERE o.schema_id = COALESCE(SCHEMA_ID(?), SCHEMA_ID()) AND o.type IN ('U', 'V') "
    "AND o.is_ms_shipped = 0 ORDER BY o.name"
)
KIND_SQL = "SELECT type FROM sys.objects WHERE object_id = OBJECT_ID(?) AND type IN ('U', 'V')"
COLUMNS_SQL = (
    "SELECT c.name, TYPE_NAME(c.user_type_id), c.max_length, c.precision, c.scale, c.is_nullable, "
    "OBJECT_DEFINITION(c.default_object_id), c.collation_name FROM sys.columns c "
    "WHERE c.object_id = OBJECT_ID(?) ORDER BY c.column_id"
)
KEYS_SQL = (
    "SELECT k.name, k.type, c.name FROM sys.key_constraints k "
    "JOIN sys.index_columns ic ON ic.object_id = k.parent_object_id AND ic.index_id = k.unique_index_id "
    "JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id "
    "WHERE k.parent_object_id = OBJECT_ID(?) ORDER BY k.name, ic.key_ordinal"
)
FOREIGN_KEYS_SQL = (
    "SELECT f.name, pc.name, SCHEMA_NAME(rt.schema_id), rt.name, rc.name, "
    "f.update_referential_action_desc, f.delete_referential_action_desc FROM sys.foreign_keys f "
    "JOIN sys.foreign_key_columns fc ON fc.constraint_object_id = f.object_id "
    "JOIN sys.columns pc ON pc.object_id = fc.parent_object_id AND pc.column_id = fc.parent_column_id "
    "JOIN sys.tables rt ON rt.object_id = fc.referenced_object_id "
    "JOIN sys.columns rc ON rc.object_id = fc.referenced_object_id "
    "AND rc.column_id = fc.referenced_column_id "
    "WHERE f.parent_object_id = OBJECT_ID(?) ORDER BY f.name, fc.constraint_column_id"
)
INDEXES_SQL = (
    "SELECT i.name, i.is_unique, i.type_desc, i.filter_definition, c.name, ic.is_descending_key "
    "FROM sys.indexes i JOIN sys.index_columns ic ON ic.object_id = i.object_id "
    "AND ic.index_id = i.index_id AND ic.is_included_column = 0 "
    "JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id "
    "WHERE i.object_id = OBJECT_ID(?) AND i.is_primary_key = 0 AND i.is_unique_constraint = 0 "
    "AND i.type > 0 ORDER BY i.name, ic.key_ordinal"
)
_SIZED = frozenset({"char", "varchar", "binary", "varbinary", "nchar", "nvarchar"})
_SCALED = frozenset({"decimal", "numeric"})
_FRACTIONAL = frozenset({"datetime2", "datetimeoffset", "time"})
Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


def type_spelling(name: str, max_length: int, precision: int, scale: int) -> str:
    """``nvarchar(40)``, ``varchar(max)``, ``decimal(12,2)``, ``datetime2(3)`` from sys.columns."""
    if name in _SIZED:
        if max_length == -1:
            return f"{name}(max)"
        return f"{name}({max_length // 2 if name.startswith('n') else max_length})"
    if name in _SCALED:
        return f"{name}({precision},{scale})"
    if name in _FRACTIONAL:
        return f"{name}({scale})"
    return name


def list_schemas(query: Query) -> list[str]:
    return [str(name) for (name,) in query(SCHEMAS_SQL, [])]


def list_relations(query: Query, schema: str | None) -> list[Relation]:
    return [
        Relation(
            TableName(str(name), schema if schema is not None else str(found)),
            RelationKind.VIEW if str(kind).strip() == "V" else RelationKind.TABLE,
        )
        for name, kind, found in query(RELATIONS_SQL, [schema])
    ]


def _default(text: Any) -> str | None:
    """SQL Server keeps a default in parentheses, ``((0))`` or ``(getdate())``: take them off."""
    if text is None:
        return None
    return unwrap_parentheses(str(text))


def describe_table(query: Query, qualified: str, table: TableName) -> TableShape:
    kinds = query(KIND_SQL, [qualified])
    if not kinds:
        raise UsageError(f"table {table} does not exist")
    columns = tuple(
        ColumnInfo(
            str(name),
            type_spelling(str(type_name), int(length), int(precision), int(scale)),
            bool(nullable),
            _default(default),
            None,
            None if collation is None else str(collation),
        )
        for name, type_name, length, precision, scale, nullable, default, collation in query(
            COLUMNS_SQL, [qualified]
        )
    )
    keys: list[KeyRow] = [
        (str(n), "p" if str(k).strip() == "PK" else "u", str(c), None, None, None, None, None)
        for n, k, c in query(KEYS_SQL, [qualified])
    ]
    keys += [
        (str(n), "f", str(c), str(rs), str(rt), str(rc), str(on_update), str(on_delete))
        for n, c, rs, rt, rc, on_update, on_delete in query(FOREIGN_KEYS_SQL, [qualified])
    ]
    primary, uniques, foreign = group_keys(keys)
    indexes: list[IndexRow] = []
    for name, unique, type_desc, where, column, descending in query(INDEXES_SQL, [qualified]):
        kind = str(type_desc).lower()
        method = None if kind in ("clustered", "nonclustered") else kind
        indexes.append(
            (
                str(name),
                bool(unique),
                method,
                None if where is None else str(where),
                str(column),
                None,
                bool(descending),
                None,
            )
        )
    return TableShape(
        TableName(table.name, table.schema),
        columns,
        RelationKind.VIEW if str(kinds[0][0]).strip() == "V" else RelationKind.TABLE,
        primary,
        uniques,
        group_indexes(indexes),
        foreign,
    )
