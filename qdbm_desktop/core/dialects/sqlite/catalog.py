"""SQLite's catalog (sqlite_master and the table-valued PRAGMAs) read into dialects/catalog.py's values.

SQLite keeps no names for inline keys; they get PostgreSQL's conventional ones (see KeyConstraint).
Index expressions and partial predicates are taken from the CREATE INDEX text SQLite stores.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict

from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.catalog import (
    ColumnInfo,
    ForeignKey,
    IndexInfo,
    IndexPart,
    KeyConstraint,
    Relation,
    RelationKind,
    TableShape,
)
from qdbm_desktop.core.errors import UsageError

#: pragma_index_xinfo's cid for an expression part.
_EXPRESSION = -2


def list_schemas(connection: sqlite3.Connection) -> list[str]:
    return sorted(
        str(name) for _, name, _ in connection.execute("PRAGMA database_list").fetchall() if name != "temp"
    )


def list_relations(connection: sqlite3.Connection, schema: str | None, quoted_schema: str) -> list[Relation]:
    rows = connection.execute(
        f"SELECT name, type FROM {quoted_schema}.sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).fetchall()
    return [Relation(TableName(str(name), schema), RelationKind(str(kind))) for name, kind in rows]


def describe_table(connection: sqlite3.Connection, table: TableName, quoted_schema: str) -> TableShape:
    schema = table.schema or "main"
    found = connection.execute(
        f"SELECT type FROM {quoted_schema}.sqlite_master WHERE name = ? AND type IN ('table', 'view')",
        (table.name,),
    ).fetchone()
    if found is None:
        raise UsageError(f"table {table} does not exist")
    rows = connection.execute(
        'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?, ?) ORDER BY cid',
        (table.name, schema),
    ).fetchall()
    columns = tuple(
        ColumnInfo(str(name), str(declared or ""), not notnull, None if default is None else str(default))
        for name, declared, notnull, default, _, hidden in rows
        if hidden != 1
    )
    key = [str(r[0]) for r in sorted((r for r in rows if r[4]), key=lambda r: int(r[4]))]
    primary = KeyConstraint(f"{table.name}_pkey", tuple(key)) if key else None
    uniques, indexes = _indexes(connection, table, schema, quoted_schema)
    return TableShape(
        TableName(table.name, table.schema),
        columns,
        RelationKind(str(found[0])),
        primary,
        uniques,
        indexes,
        _foreign_keys(connection, table, schema),
    )


def _indexes(
    connection: sqlite3.Connection, table: TableName, schema: str, quoted_schema: str
) -> tuple[tuple[KeyConstraint, ...], tuple[IndexInfo, ...]]:
    uniques: list[KeyConstraint] = []
    indexes: list[IndexInfo] = []
    listed = connection.execute(
        'SELECT name, "unique", origin, partial FROM pragma_index_list(?, ?) ORDER BY name',
        (table.name, schema),
    ).fetchall()
    for name, unique, origin, _partial in listed:
        parts = connection.execute(
            'SELECT cid, name, "desc" FROM pragma_index_xinfo(?, ?) WHERE key ORDER BY seqno', (name, schema)
        ).fetchall()
        if origin == "pk":
            continue
        if origin == "u":
            columns = tuple(str(n) for _, n, _ in parts)
            uniques.append(KeyConstraint(f"{table.name}_{'_'.join(columns)}_key", columns))
            continue
        sql_row = connection.execute(
            f"SELECT sql FROM {quoted_schema}.sqlite_master WHERE type = 'index' AND name = ?", (name,)
        ).fetchone()
        texts, where = _index_text(str(sql_row[0]) if sql_row and sql_row[0] else "")
        index_parts = tuple(
            IndexPart(
                None if cid == _EXPRESSION else str(column),
                (texts[i] if i < len(texts) else None) if cid == _EXPRESSION else None,
                bool(desc),
            )
            for i, (cid, column, desc) in enumerate(parts)
        )
        indexes.append(IndexInfo(str(name), index_parts, bool(unique), where))
    return tuple(uniques), tuple(indexes)


def _split_top_level(text: str) -> list[str]:
    parts, depth, current, quote = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`[":
            quote = "]" if char == "[" else char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip():
        parts.append(current.strip())
    return parts


_ORDER = re.compile(r"\s+(?:COLLATE\s+\S+\s*)?(?:ASC|DESC)?\s*$", re.IGNORECASE)


def _index_text(sql: str) -> tuple[list[str], str | None]:
    """Each part's text (ASC/DESC and COLLATE stripped) and the WHERE predicate of a CREATE INDEX."""
    start = sql.find("(")
    if start < 0:
        return [], None
    depth, end = 0, -1
    for position in range(start, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[position], 0)
        if depth == 0:
            end = position
            break
    parts = [_ORDER.sub("", part) for part in _split_top_level(sql[start + 1 : end])]
    rest = sql[end + 1 :].strip()
    where = (
        re.sub(r"^WHERE\s+", "", rest, flags=re.IGNORECASE).strip()
        if rest.upper().startswith("WHERE")
        else None
    )
    return parts, where or None


def _foreign_keys(connection: sqlite3.Connection, table: TableName, schema: str) -> tuple[ForeignKey, ...]:
    rows = connection.execute(
        'SELECT id, seq, "table", "from", "to", on_update, on_delete '
        "FROM pragma_foreign_key_list(?, ?) ORDER BY id, seq",
        (table.name, schema),
    ).fetchall()
    grouped: dict[int, list[tuple[object, ...]]] = defaultdict(list)
    for row in rows:
        grouped[int(row[0])].append(tuple(row))
    keys = []
    for parts in grouped.values():
        referenced = str(parts[0][2])
        columns = tuple(str(p[3]) for p in parts)
        targets = tuple(str(p[4]) for p in parts if p[4] is not None)
        if len(targets) != len(columns):  # REFERENCES parent: the parent's primary key
            targets = tuple(
                str(name)
                for name, pk in connection.execute(
                    "SELECT name, pk FROM pragma_table_info(?, ?) WHERE pk ORDER BY pk", (referenced, schema)
                )
            )
        keys.append(
            ForeignKey(
                f"{table.name}_{'_'.join(columns)}_fkey",
                columns,
                TableName(referenced, table.schema),
                targets,
                str(parts[0][6]),
                str(parts[0][5]),
            )
        )
    return tuple(keys)
