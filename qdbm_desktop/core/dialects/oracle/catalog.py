"""Oracle's catalog (the ALL_* views) read into the values of dialects/catalog.py.

Names are reported as the rest of the dialect reports them (simple upper-case names in lower case).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from qdbm_desktop.core.dialects.oracle.types import reported_name
from qdbm_desktop.core.errors import UsageError

SCHEMAS_SQL = "SELECT username FROM all_users WHERE oracle_maintained = 'N' ORDER BY username"
RELATIONS_SQL = (
    "SELECT object_name, object_type FROM all_objects WHERE owner = :owner "
    "AND object_type IN ('TABLE', 'VIEW') AND object_name NOT LIKE 'BIN$%' "
    "AND generated = 'N' ORDER BY object_name"
)
KIND_SQL = (
    "SELECT object_type FROM all_objects WHERE owner = :owner AND object_name = :table_name "
    "AND object_type IN ('TABLE', 'VIEW')"
)
COLUMNS_SQL = (
    "SELECT column_name, data_type, data_precision, data_scale, char_length, data_length, "
    "nullable, data_default FROM all_tab_columns WHERE owner = :owner AND table_name = :table_name "
    "ORDER BY column_id"
)
KEYS_SQL = (
    "SELECT c.constraint_name, c.constraint_type, cc.column_name, rc.owner, rc.table_name, "
    "rcc.column_name, c.delete_rule FROM all_constraints c "
    "JOIN all_cons_columns cc ON cc.owner = c.owner AND cc.constraint_name = c.constraint_name "
    "LEFT JOIN all_constraints rc ON rc.owner = c.r_owner AND rc.constraint_name = c.r_constraint_name "
    "LEFT JOIN all_cons_columns rcc ON rcc.owner = rc.owner "
    "AND rcc.constraint_name = rc.constraint_name AND rcc.position = cc.position "
    "WHERE c.owner = :owner AND c.table_name = :table_name AND c.constraint_type IN ('P', 'U', 'R') "
    "ORDER BY c.constraint_name, cc.position"
)
INDEXES_SQL = (
    "SELECT i.index_name, i.uniqueness, i.index_type, ic.column_name, ic.descend, "
    "ie.column_expression FROM all_indexes i "
    "JOIN all_ind_columns ic ON ic.index_owner = i.owner AND ic.index_name = i.index_name "
    "LEFT JOIN all_ind_expressions ie ON ie.index_owner = ic.index_owner "
    "AND ie.index_name = ic.index_name AND ie.column_position = ic.column_position "
    "WHERE i.table_owner = :owner AND i.table_name = :table_name "
    "AND NOT EXISTS (SELECT 1 FROM all_constraints c "
    "WHERE c.owner = i.table_owner AND c.index_name = i.index_name "
    "AND c.constraint_type IN ('P', 'U')) ORDER BY i.index_name, ic.column_position"
)
_KINDS = {"P": "p", "U": "u", "R": "f"}
Query = Callable[[str, Mapping[str, Any]], list[tuple[Any, ...]]]
Spelling = Callable[[str, int | None, int | None, int | None], str]


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def list_schemas(query: Query) -> list[str]:
    return [reported_name(str(name)) for (name,) in query(SCHEMAS_SQL, {})]


def list_relations(query: Query, owner: str, schema: str | None) -> list[Relation]:
    return [
        Relation(
            TableName(reported_name(str(name)), schema),
            RelationKind.VIEW if kind == "VIEW" else RelationKind.TABLE,
        )
        for name, kind in query(RELATIONS_SQL, {"owner": owner})
    ]


def describe_table(query: Query, owner: str, stored: str, table: TableName, spelling: Spelling) -> TableShape:
    kinds = query(KIND_SQL, {"owner": owner, "table_name": stored})
    if not kinds:
        raise UsageError(f"table {table} does not exist")
    columns = []
    for name, data_type, precision, scale, char_length, data_length, nullable, default in query(
        COLUMNS_SQL, {"owner": owner, "table_name": stored}
    ):
        text = str(data_type)
        length = char_length if text.upper() in ("CHAR", "NCHAR", "VARCHAR2", "NVARCHAR2") else data_length
        columns.append(
            ColumnInfo(
                reported_name(str(name)),
                spelling(text, _int(precision), _int(scale), _int(length)),
                nullable == "Y",
                None if default is None else str(default).strip() or None,
            )
        )
    keys: list[KeyRow] = [
        (
            reported_name(str(n)),
            _KINDS[str(k)],
            reported_name(str(c)),
            None if ro is None else reported_name(str(ro)),
            None if rt is None else reported_name(str(rt)),
            None if rc is None else reported_name(str(rc)),
            None,
            None if rule is None else str(rule),
        )
        for n, k, c, ro, rt, rc, rule in query(KEYS_SQL, {"owner": owner, "table_name": stored})
    ]
    primary, uniques, foreign = group_keys(keys)
    indexes: list[IndexRow] = []
    for name, uniqueness, index_type, column, descend, expression in query(
        INDEXES_SQL, {"owner": owner, "table_name": stored}
    ):
        kind = str(index_type).upper()
        method = None if kind.startswith(("NORMAL", "FUNCTION-BASED NORMAL")) else kind.lower()
        part_expression = None if expression is None else str(expression)
        indexes.append(
            (
                reported_name(str(name)),
                uniqueness == "UNIQUE",
                method,
                None,
                None if part_expression else reported_name(str(column)),
                part_expression,
                descend == "DESC",
                None,
            )
        )
    return TableShape(
        TableName(table.name, table.schema),
        tuple(columns),
        RelationKind.VIEW if kinds[0][0] == "VIEW" else RelationKind.TABLE,
        primary,
        uniques,
        group_indexes(indexes),
        foreign,
    )
