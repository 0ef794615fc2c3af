"""Column mapping: which of a query's columns go to the target, under which names and types."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.types import Column, PortableType


@dataclass(frozen=True)
class ColumnMap:
    """The user's choice for one of the query's columns (the GUI's column mapping grid)."""

    source: str
    #: The column's name in the target table; ``None`` keeps the query's name.
    target: str | None = None
    #: The target type; ``None`` keeps the engine's suggestion.
    type: PortableType | None = None
    #: ``False`` makes the new table's column NOT NULL; ``None`` keeps what the source says.
    nullable: bool | None = None
    include: bool = True


def map_columns(
    source_columns: Sequence[Column],
    overrides: Mapping[str, PortableType],
    column_map: Sequence[ColumnMap] = (),
) -> list[Column]:
    """Target columns for a new table: the source's portable types, with the user's overrides.

    Columns left out by ``column_map`` are not in the list; see :func:`kept_positions`.
    """
    names = [c.name for c in source_columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UsageError(
            f"the query returns more than one column named {duplicates[0]!r}; give them "
            "distinct names with AS"
        )
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise UsageError(
            f"--map names {unknown[0]!r}, which is not a column of the query (columns: {', '.join(names)})"
        )
    choices = {m.source: m for m in column_map}
    unknown = sorted(set(choices) - set(names))
    if unknown:
        raise UsageError(
            f"the column mapping names {unknown[0]!r}, which is not a column of the query "
            f"(columns: {', '.join(names)}); preview the query again"
        )
    mapped = []
    for column in source_columns:
        choice = choices.get(column.name)
        chosen = (choice.type if choice is not None else None) or overrides.get(column.name)
        if chosen is not None:
            # A type the user picks replaces the source's exact one too.
            column = replace(column, type=chosen, native="", native_engine="", labels=())
        if choice is not None:
            if not choice.include:
                continue
            column = replace(
                column,
                name=choice.target.strip() if choice.target and choice.target.strip() else column.name,
                nullable=column.nullable if choice.nullable is None else choice.nullable,
            )
        mapped.append(column)
    if not mapped:
        raise UsageError("every column of the query is left out; include at least one")
    targets = [c.name for c in mapped]
    clashes = sorted({n for n in targets if targets.count(n) > 1})
    if clashes:
        raise UsageError(f"two columns would both be named {clashes[0]!r} in the target; rename one")
    return mapped


def target_key(source_key: Sequence[str], column_map: Sequence[ColumnMap]) -> tuple[str, ...]:
    """A key over the query's columns, named as the target's columns are; () when one is left out."""
    choices = {m.source: m for m in column_map}
    names: list[str] = []
    for name in source_key:
        choice = choices.get(name)
        if choice is not None and not choice.include:
            return ()
        renamed = choice.target.strip() if choice is not None and choice.target else ""
        names.append(renamed or name)
    return tuple(names)


def kept_positions(source_columns: Sequence[Column], column_map: Sequence[ColumnMap]) -> list[int] | None:
    """The positions of the query's columns that go to the target, or ``None`` when all of them do."""
    left_out = {m.source for m in column_map if not m.include}
    if not left_out:
        return None
    return [i for i, c in enumerate(source_columns) if c.name not in left_out]


def row_picker(positions: list[int] | None) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
    """A function keeping the values at ``positions`` of a row, or ``None`` when every value is kept."""
    if positions is None:
        return None
    if len(positions) == 1:
        (only,) = positions
        return lambda row: (row[only],)  # itemgetter of one index gives no tuple
    return operator.itemgetter(*positions)


def tracked_position(columns: Sequence[Column], name: str | None) -> Callable[[Any], Any] | None:
    """An itemgetter for the query's column ``name`` (matched exactly, else ignoring case)."""
    if name is None:
        return None
    names = [c.name for c in columns]
    if name in names:
        return operator.itemgetter(names.index(name))
    folded = [n.casefold() for n in names]
    if folded.count(name.casefold()) == 1:
        return operator.itemgetter(folded.index(name.casefold()))
    raise UsageError(f"the incremental column {name!r} is not a column of the query "
                     f"(columns: {', '.join(names)})")


def match_existing(
    source_columns: Sequence[Column], existing: Sequence[Column], table: TableName
) -> list[Column]:
    """The existing target columns that receive the query's columns, in the query's order."""
    by_name = {c.name: c for c in existing}
    folded = {c.name.casefold(): c for c in existing}
    matched = []
    for column in source_columns:
        found = by_name.get(column.name) or folded.get(column.name.casefold())
        if found is None:
            raise UsageError(
                f"the target table {table} has no column {column.name!r} "
                f"(it has: {', '.join(c.name for c in existing)})"
            )
        matched.append(found)
    return matched
