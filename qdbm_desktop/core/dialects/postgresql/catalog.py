"""PostgreSQL's catalog (pg_catalog) read into the plain values of dialects/catalog.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from qdbm_desktop.core.errors import UsageError

if TYPE_CHECKING:
    import psycopg

SCHEMAS_SQL = (
    "SELECT n.nspname FROM pg_catalog.pg_namespace n "
    "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' "
    "AND has_schema_privilege(n.oid, 'USAGE') ORDER BY n.nspname"
)
RELATIONS_SQL = (
    "SELECT c.relname, c.relkind FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = coalesce(%s, current_schema()) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
    "AND NOT c.relispartition ORDER BY c.relname"
)
RELATION_SQL = (
    "SELECT c.oid, c.relkind, n.nspname, c.relname FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)"
)
COLUMNS_SQL = (
    "SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
    "CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END "
    "FROM pg_catalog.pg_attribute a "
    "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
)
#: Keys and foreign keys, their columns by name in key order.
_KEY_NAMES = (
    "ARRAY(SELECT a.attname FROM unnest(c.{keys}) WITH ORDINALITY AS u(k, i) "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.{rel} AND a.attnum = u.k ORDER BY u.i)"
)
CONSTRAINTS_SQL = (
    "SELECT c.conname, c.contype, "
    + _KEY_NAMES.format(keys="conkey", rel="conrelid")
    + ", "
    + _KEY_NAMES.format(keys="confkey", rel="confrelid")
    + ", rn.nspname, rc.relname, "
    "c.confupdtype, c.confdeltype FROM pg_catalog.pg_constraint c "
    "LEFT JOIN pg_catalog.pg_class rc ON rc.oid = c.confrelid "
    "LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace "
    "WHERE c.conrelid = %s AND c.contype IN ('p', 'u', 'f') ORDER BY c.conname"
)
#: Indexes that back no constraint, one row per key part (INCLUDE columns are left out).
INDEXES_SQL = (
    "SELECT ic.relname, i.indisunique, pg_get_expr(i.indpred, i.indrelid, true), am.amname, "
    "k.n, i.indkey[k.n - 1], pg_get_indexdef(i.indexrelid, k.n::int, true), i.indoption[k.n - 1] "
    "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
    "JOIN pg_catalog.pg_am am ON am.oid = ic.relam "
    "CROSS JOIN LATERAL generate_series(1, i.indnkeyatts) AS k(n) "
    "WHERE i.indrelid = %s AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c "
    "WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')) ORDER BY ic.relname, k.n"
)
ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
#: pg_index.indoption: bit 0 is DESC.
_DESC = 1


def list_schemas(connection: psycopg.Connection[Any]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(SCHEMAS_SQL)
        return [str(name) for (name,) in cursor.fetchall()]


def list_relations(connection: psycopg.Connection[Any], schema: str | None) -> list[Relation]:
    with connection.cursor() as cursor:
        cursor.execute(RELATIONS_SQL, (schema,))
        rows = cursor.fetchall()
        if schema is None:
            cursor.execute("SELECT current_schema()")
            found = cursor.fetchone()
            schema = str(found[0]) if found and found[0] is not None else None
    return [
        Relation(
            TableName(str(name), schema), RelationKind.VIEW if kind in ("v", "m") else RelationKind.TABLE
        )
        for name, kind in rows
    ]


def describe_table(connection: psycopg.Connection[Any], qualified: str, table: TableName) -> TableShape:
    """``qualified`` is the table as the dialect quotes it, for to_regclass."""
    with connection.cursor() as cursor:
        cursor.execute(RELATION_SQL, (qualified,))
        found = cursor.fetchone()
        if found is None:
            raise UsageError(f"table {table} does not exist")
        relid, relkind = int(found[0]), str(found[1])
        cursor.execute(COLUMNS_SQL, (relid,))
        column_rows = cursor.fetchall()
        cursor.execute(CONSTRAINTS_SQL, (relid,))
        constraint_rows = cursor.fetchall()
        cursor.execute(INDEXES_SQL, (relid,))
        index_rows = cursor.fetchall()
    names = {int(num): str(name) for num, name, *_ in column_rows}
    columns = tuple(
        ColumnInfo(str(name), str(type_name), not notnull, None if default is None else str(default))
        for _, name, type_name, notnull, default in column_rows
    )
    primary, uniques, foreign = group_keys(_key_rows(constraint_rows))
    return TableShape(
        table=TableName(table.name, table.schema),
        columns=columns,
        kind=RelationKind.VIEW if relkind in ("v", "m") else RelationKind.TABLE,
        primary_key=primary,
        uniques=uniques,
        indexes=group_indexes(_index_rows(index_rows, names)),
        foreign_keys=foreign,
    )


def _key_rows(rows: list[Any]) -> list[KeyRow]:
    found: list[KeyRow] = []
    for name, kind, keys, referenced_keys, ref_schema, ref_table, on_update, on_delete in rows:
        referenced = list(referenced_keys or ()) or [None] * len(keys)
        found += [
            (
                str(name),
                str(kind),
                str(column),
                _opt(ref_schema),
                _opt(ref_table),
                _opt(ref_column),
                ACTIONS.get(str(on_update)),
                ACTIONS.get(str(on_delete)),
            )
            for column, ref_column in zip(keys, referenced, strict=True)
        ]
    return found


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _index_rows(rows: list[Any], names: dict[int, str]) -> list[IndexRow]:
    found: list[IndexRow] = []
    for name, unique, where, method, _, attnum, text, option in rows:
        column = names.get(int(attnum)) if int(attnum) else None
        found.append(
            (
                str(name),
                bool(unique),
                None if method == "btree" else str(method),
                _opt(where),
                column,
                None if column else str(text),
                bool(int(option or 0) & _DESC),
                None,
            )
        )
    return found
