"""Where a query's columns come from: the base-table column behind each result column.

A run carries what the source's catalog says of those columns into a new target table: NOT NULL
for a column that is a plain reference to a NOT NULL column (and that no outer join or ROLLUP can
turn into NULL), and the primary key of the one table a query reads when its result keeps every
key column unchanged and every row at most once (``SELECT * FROM t``, a subset of its columns
holding the key, with WHERE, ORDER BY or LIMIT). The query is read with sqlglot in the source's
dialect; anything it cannot follow (a CTE, a subquery in FROM, a set operation, an expression)
carries nothing, which is always safe: the column stays nullable and the table gets no key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from qdbm_desktop.core.dialects.base import Connection, Dialect, TableName
from qdbm_desktop.core.dialects.catalog import ColumnInfo, TableShape
from qdbm_desktop.core.sqlcheck import SQLGLOT_DIALECTS
from qdbm_desktop.core.types import Column

_log = logging.getLogger(__name__)
#: Engines whose unquoted names fold to one case (Oracle folds to upper, which QDBM reports in lower).
_FOLDS: dict[str, Callable[[str], str]] = {"postgresql": str.lower, "oracle": str.lower}


@dataclass(frozen=True)
class Output:
    """One result column: the table (by its position in ``QueryShape.tables``) and column it is."""

    table: int | None
    column: str | None


@dataclass(frozen=True)
class QueryShape:
    tables: tuple[TableName, ...]
    #: One entry per select item; ``*`` and ``t.*`` are expanded later, against the catalog.
    items: tuple[exp.Expression, ...]
    aliases: tuple[str, ...]
    #: Some column may be NULL although its base column is NOT NULL (an outer join, ROLLUP).
    nullable_sides: bool
    #: Each result row is a different row of the one table read (no join, grouping, set operation).
    rows_of_one_table: bool


def _name(identifier: exp.Expression | None, engine: str) -> str:
    if not isinstance(identifier, exp.Identifier):
        return identifier.name if identifier is not None else ""
    text = str(identifier.this)
    fold = _FOLDS.get(engine)
    return text if identifier.quoted or fold is None else fold(text)


def _table_of(table: exp.Table, engine: str) -> TableName:
    schema = table.args.get("db")
    return TableName(_name(table.this, engine), _name(schema, engine) or None)


def shape_of(query: str, engine: str) -> QueryShape | None:
    """The query's tables and select items, or None when it is not one plain SELECT over tables."""
    try:
        tree = sqlglot.parse_one(query, read=SQLGLOT_DIALECTS.get(engine))
    except (SqlglotError, ValueError):
        return None
    if not isinstance(tree, exp.Select) or tree.args.get("with_") or tree.args.get("with"):
        return None
    sources = [tree.args.get("from_") or tree.args.get("from")] + list(tree.args.get("joins") or [])
    tables: list[TableName] = []
    aliases: list[str] = []
    for source in sources:
        found = source.this if isinstance(source, (exp.From, exp.Join)) else None
        if not isinstance(found, exp.Table) or not isinstance(found.this, exp.Identifier):
            return None  # a subquery, a function or VALUES
        tables.append(_table_of(found, engine))
        alias = found.args.get("alias")
        aliases.append(_name(alias.this, engine) if alias is not None else tables[-1].name)
    joins = list(tree.args.get("joins") or [])
    outer = any((j.side or "").upper() in ("LEFT", "RIGHT", "FULL") for j in joins) or \
        any(j.kind and j.kind.upper() in ("OUTER",) for j in joins)
    group = tree.args.get("group")
    rollup = group is not None and group.find(exp.Rollup, exp.Cube, exp.GroupingSets) is not None
    distinct = tree.args.get("distinct")
    aggregates = any(item.find(exp.AggFunc) for item in tree.expressions)
    distinct_on = distinct is not None and distinct.args.get("on") is not None
    one_table = (len(tables) == 1 and not joins and group is None and not aggregates and not distinct_on
                 and tree.args.get("having") is None)
    return QueryShape(tuple(tables), tuple(tree.expressions), tuple(aliases), outer or rollup, one_table)


def _outputs(shape: QueryShape, shapes: Sequence[TableShape | None], engine: str) -> list[Output] | None:
    """Each result column's base column, ``*`` expanded; None when a ``*`` cannot be expanded."""
    found: list[Output] = []
    for item in shape.items:
        target = item.this if isinstance(item, exp.Alias) else item
        starred = isinstance(target, exp.Column) and isinstance(target.this, exp.Star)
        if isinstance(target, exp.Star) or starred:
            qualifier = _name(target.args.get("table"), engine) if isinstance(target, exp.Column) else ""
            for index, table_shape in enumerate(shapes):
                if qualifier and shape.aliases[index] != qualifier:
                    continue
                if table_shape is None:
                    return None
                found += [Output(index, name) for name in table_shape.column_names]
            continue
        if not isinstance(target, exp.Column):
            found.append(Output(None, None))
            continue
        column = _name(target.this, engine)
        qualifier = _name(target.args.get("table"), engine)
        candidates = [i for i, table_shape in enumerate(shapes)
                      if table_shape is not None and (not qualifier or shape.aliases[i] == qualifier)
                      and _has(table_shape, column, engine)]
        found.append(Output(candidates[0], _stored(shapes[candidates[0]], column, engine))
                     if len(candidates) == 1 else Output(None, None))
    return found


def _has(shape: TableShape | None, column: str, engine: str) -> bool:
    return _stored(shape, column, engine) is not None


def _stored(shape: TableShape | None, column: str, engine: str) -> str | None:
    """The column's name as the table stores it (MySQL and SQLite match names without case)."""
    if shape is None:
        return None
    if column in shape.column_names:
        return column
    if engine in ("mysql", "sqlite", "sqlserver", "oracle"):
        matches = [n for n in shape.column_names if n.lower() == column.lower()]
        return matches[0] if len(matches) == 1 else None
    return None


@dataclass(frozen=True)
class Carried:
    """What the source's catalog adds to a query's columns."""

    columns: list[Column]
    #: The result's names of the one table's primary-key columns, when the result keeps that key.
    primary_key: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def carry(columns: Sequence[Column], shape: QueryShape, shapes: Sequence[TableShape | None],
          engine: str) -> Carried:
    """``columns`` (the query's result) with NOT NULL where the base column has it, and the key."""
    outputs = _outputs(shape, shapes, engine)
    if outputs is None or len(outputs) != len(columns):
        return Carried(list(columns))
    carried = list(columns)
    if not shape.nullable_sides:
        for position, (column, output) in enumerate(zip(columns, outputs, strict=True)):
            base = _base(shapes, output)
            if column.nullable and base is not None and not base.nullable:
                carried[position] = replace(column, nullable=False)
    key = _primary_key(carried, outputs, shape, shapes)
    return Carried(carried, key)


def _base(shapes: Sequence[TableShape | None], output: Output) -> ColumnInfo | None:
    if output.table is None or output.column is None:
        return None
    table_shape = shapes[output.table]
    return table_shape.column(output.column) if table_shape is not None else None


def _primary_key(columns: Sequence[Column], outputs: Sequence[Output], shape: QueryShape,
                 shapes: Sequence[TableShape | None]) -> tuple[str, ...]:
    if not shape.rows_of_one_table or shapes[0] is None or shapes[0].primary_key is None:
        return ()
    key = shapes[0].primary_key.columns
    by_base: dict[str, Column] = {}
    for column, output in zip(columns, outputs, strict=True):
        if output.table == 0 and output.column is not None:
            by_base.setdefault(output.column, column)
    if not all(k in by_base for k in key):
        return ()
    # A key column that may hold NULL (SQLite allows it outside INTEGER PRIMARY KEY) cannot be one.
    if any(by_base[k].nullable for k in key):
        return ()
    return tuple(by_base[k].name for k in key)


@dataclass(frozen=True)
class Traced:
    """A query's shape with the catalog of each table it reads (None where that could not be read)."""

    shape: QueryShape
    shapes: tuple[TableShape | None, ...]
    engine: str

    def carry(self, columns: Sequence[Column]) -> Carried:
        return carry(columns, self.shape, self.shapes, self.engine)


def trace_source(dialect: Dialect, connection: Connection, query: str, engine: str) -> Traced | None:
    """Read the catalog of the tables ``query`` reads, before it runs; None when it cannot be followed.

    A table whose catalog cannot be read (no privilege, a synonym) carries nothing; the run goes on.
    """
    shape = shape_of(query, engine)
    if shape is None:
        return None
    shapes: list[TableShape | None] = []
    for table in shape.tables:
        try:
            shapes.append(dialect.describe_table(connection, table))
        except Exception:  # noqa: BLE001 - carrying keys is best effort: the column stays nullable
            _log.debug("no catalog for %s", table, exc_info=True)
            shapes.append(None)
    connection.rollback()  # the catalog reads end their transaction before the query's own begins
    return Traced(shape, tuple(shapes), engine)
