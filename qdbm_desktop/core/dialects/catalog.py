"""What a database holds, as the schema browser and table copies see it.

Each dialect reads its own catalog (``information_schema``, ``pg_catalog``, ``sqlite_master``
and ``PRAGMA``s, ``ALL_*`` views, ``sys.*`` views) into these plain values: schemas, tables and
views, their columns, keys, indexes and foreign keys. Nothing here talks to a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from qdbm_desktop.core.dialects.base import TableName


class RelationKind(str, Enum):
    TABLE = "table"
    VIEW = "view"


@dataclass(frozen=True)
class Relation:
    """A table or view a user can query, with the schema it lives in."""

    name: TableName
    kind: RelationKind = RelationKind.TABLE


@dataclass(frozen=True)
class ColumnInfo:
    """One column of a table as its own engine describes it."""

    name: str
    #: The engine's own spelling, with modifiers: ``numeric(12,2)``, ``varchar(20)``, ``text[]``.
    type_name: str
    nullable: bool = True
    #: The default as the engine prints it (``0``, ``'n/a'::text``, ``CURRENT_TIMESTAMP``), or None.
    default: str | None = None
    #: MySQL/MariaDB text columns: their character set and collation; None elsewhere.
    charset: str | None = None
    collation: str | None = None


@dataclass(frozen=True)
class KeyConstraint:
    """A primary key or a unique constraint: its name and its columns in key order.

    Engines that keep no name for a key (SQLite's inline keys) get PostgreSQL's conventional
    one: ``<table>_pkey``, ``<table>_<columns>_key``; foreign keys likewise ``<table>_<columns>_fkey``.
    """

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class IndexPart:
    """One part of an index: a column, or an expression where the engine has them."""

    column: str | None
    expression: str | None = None
    descending: bool = False
    #: MySQL/MariaDB prefix indexes: the first ``length`` characters (bytes for binary) only.
    length: int | None = None


@dataclass(frozen=True)
class IndexInfo:
    """An index that does not back a primary key or unique constraint."""

    name: str
    parts: tuple[IndexPart, ...]
    unique: bool = False
    #: A partial index's predicate (``active``, without WHERE), as the engine prints it.
    where: str | None = None
    #: The access method where it is not the engine's ordinary b-tree (``gin``, ``gist``,
    #: ``hash``, ``fulltext``, ``spatial``, ``bitmap``); None for a b-tree.
    method: str | None = None

    @property
    def plain(self) -> bool:
        """Columns only, no expression, predicate, prefix or special method: every engine can create it."""
        return (
            self.where is None
            and self.method is None
            and all(p.expression is None and p.length is None for p in self.parts)
        )


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    referenced: TableName
    referenced_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"


@dataclass(frozen=True)
class TableShape:
    """A table with everything a copy may carry to its target."""

    table: TableName
    columns: tuple[ColumnInfo, ...]
    kind: RelationKind = RelationKind.TABLE
    primary_key: KeyConstraint | None = None
    uniques: tuple[KeyConstraint, ...] = ()
    indexes: tuple[IndexInfo, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    #: Column names in order, for callers that only need those.
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name == name), None)


def key_columns(shape: TableShape) -> frozenset[str]:
    """The columns a browser marks as keys: primary key, unique and foreign-key columns."""
    names: set[str] = set()
    for key in (shape.primary_key, *shape.uniques):
        if key is not None:
            names.update(key.columns)
    for fk in shape.foreign_keys:
        names.update(fk.columns)
    return frozenset(names)


#: One row per key column, in key order: (constraint name, "p" | "u" | "f", column,
#: referenced schema, referenced table, referenced column, on update, on delete).
KeyRow = tuple[str, str, str, "str | None", "str | None", "str | None", "str | None", "str | None"]
#: One row per index part, in order: (index name, unique, method or None for a b-tree,
#: predicate, column or None, expression or None, descending, prefix length or None).
IndexRow = tuple[str, bool, "str | None", "str | None", "str | None", "str | None", bool, "int | None"]


def _action(text: str | None) -> str:
    return (text or "NO ACTION").replace("_", " ").upper()


def group_keys(
    rows: Sequence[KeyRow],
) -> tuple[KeyConstraint | None, tuple[KeyConstraint, ...], tuple[ForeignKey, ...]]:
    """The primary key, unique constraints and foreign keys of catalog rows listed one per column."""
    grouped: dict[str, list[KeyRow]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    primary: KeyConstraint | None = None
    uniques: list[KeyConstraint] = []
    foreign: list[ForeignKey] = []
    for name, parts in grouped.items():
        kind, columns = parts[0][1], tuple(p[2] for p in parts)
        if kind == "p":
            primary = KeyConstraint(name, columns)
        elif kind == "u":
            uniques.append(KeyConstraint(name, columns))
        else:
            first = parts[0]
            foreign.append(
                ForeignKey(
                    name,
                    columns,
                    TableName(first[4] or "", first[3]),
                    tuple(p[5] or "" for p in parts),
                    _action(first[7]),
                    _action(first[6]),
                )
            )
    return primary, tuple(uniques), tuple(foreign)


def group_indexes(rows: Sequence[IndexRow]) -> tuple[IndexInfo, ...]:
    """Indexes of catalog rows listed one per part."""
    grouped: dict[str, list[IndexRow]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    return tuple(
        IndexInfo(
            name,
            tuple(IndexPart(p[4], p[5] if p[4] is None else None, p[6], p[7]) for p in parts),
            parts[0][1],
            parts[0][3],
            parts[0][2],
        )
        for name, parts in grouped.items()
    )


def unwrap_parentheses(text: str) -> str:
    """A default without the parentheses SQL Server keeps around it: ``((0))`` is ``0``,
    ``(getdate())`` is ``getdate()``, ``(('a')+('b'))`` is ``('a')+('b')``."""
    value = text.strip()
    while value.startswith("(") and value.endswith(")") and _balanced(value[1:-1]):
        value = value[1:-1].strip()
    return value


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0
