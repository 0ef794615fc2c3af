"""Compare a source query with a target table after the fact: row counts, per-column checksums and,
with key columns, the first differing keys. Nothing is written: both sides are read-only reads.

Each side is read once, streamed, and folded into the checksums of :mod:`qdbm_desktop.core.checksum`
(canonical forms after the target table's column types). With key columns the rows' hashes are
also summed into buckets by their key; when the sides differ, the rows of the first few differing
buckets are read again on both sides and matched by key in Python. No ORDER BY is sent, so the
engines' collations (which sort text keys differently: case, accents, trailing spaces) cannot
disturb the match, and memory stays bounded by the rows of those buckets.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from qdbm_desktop.core.checksum import (
    Hasher,
    RowDifference,
    collect_bucket_rows,
    find_differences,
    shown,
)
from qdbm_desktop.core.dialects.base import ReadStream, TableName
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.migration import Endpoint, looking_at, match_existing
from qdbm_desktop.core.sqlcheck import check_source_query
from qdbm_desktop.core.types import Column

#: How many differing keys a comparison lists.
DIFFERENCE_LIMIT = 20
DEFAULT_BATCH = 50_000


@dataclass(frozen=True)
class ColumnCheck:
    name: str
    source: int
    target: int

    @property
    def equal(self) -> bool:
        return self.source == self.target


@dataclass
class Comparison:
    """What :func:`compare` found."""

    source_label: str
    target_label: str
    table: TableName
    source_rows: int
    target_rows: int
    columns: list[ColumnCheck]
    #: Whether the rows' hashes agree (a value moved from one row to another changes only these).
    rows_equal: bool
    keys: tuple[str, ...] = ()
    differences: list[RowDifference] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return (self.source_rows == self.target_rows and self.rows_equal
                and all(c.equal for c in self.columns))

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def key_of(self, difference: RowDifference) -> dict[str, Any]:
        return {k: shown(v) for k, v in zip(self.keys, difference.key, strict=True)}

    def values(self, row: tuple[Any, ...] | None) -> dict[str, Any] | None:
        return None if row is None else {n: shown(v) for n, v in zip(self.names, row, strict=True)}

    def to_json(self) -> dict[str, Any]:
        return {
            "equal": self.equal,
            "source": {"connection": self.source_label, "rows": self.source_rows},
            "target": {"connection": self.target_label, "table": str(self.table), "rows": self.target_rows},
            "columns": [{"name": c.name, "equal": c.equal, "source_checksum": f"{c.source:016x}",
                         "target_checksum": f"{c.target:016x}"} for c in self.columns],
            "rows_equal": self.rows_equal,
            "key": list(self.keys),
            "differences": [{"kind": d.kind, "key": self.key_of(d), "source": self.values(d.source),
                             "target": self.values(d.target)} for d in self.differences],
        }


def compare(source: Endpoint, query: str, target: Endpoint, table: TableName, keys: Sequence[str] = (),
            batch_size: int = DEFAULT_BATCH, timeout: float = 30.0) -> Comparison:
    """Read ``query`` on ``source`` and ``table`` on ``target`` (read-only) and compare them."""
    if not query.strip():
        raise UsageError("the source query is empty")
    check_source_query(query, source.type)
    target.dialect.check_identifier(table.name)
    with looking_at(source.for_reading(), timeout, "the query failed") as source_conn, \
            looking_at(target.for_reading(), timeout, f"cannot read {table}") as target_conn:
        sides = _Sides(source, query, target, table, source_conn, target_conn, batch_size)
        columns, read = sides.describe()
        positions = _key_positions(columns, keys)
        mine = Hasher([c.name for c in columns], [c.type.kind for c in read],
                      [c.type.kind for c in columns], positions)
        for batch in sides.source_batches():
            mine.add(batch)
        theirs = sides.hash_target(columns, positions)
        a, b = mine.checksum, theirs.checksum
        checks = [ColumnCheck(n, x, y) for n, x, y in zip(a.names, a.columns, b.columns, strict=True)]
        result = Comparison(source.label, target.label, table, a.rows, b.rows, checks,
                            a.row_digest == b.row_digest, tuple(columns[p].name for p in positions))
        if positions and not result.equal:
            wanted = set(a.differing_buckets(b)[:DIFFERENCE_LIMIT])
            read_again = collect_bucket_rows(mine.fresh(), sides.source_batches(), wanted)
            held = collect_bucket_rows(theirs.fresh(), sides.target_batches(columns), wanted)
            result.differences = find_differences(read_again, held, positions, DIFFERENCE_LIMIT)
    return result


def _key_positions(columns: list[Column], keys: Sequence[str]) -> list[int]:
    folded = [c.name.casefold() for c in columns]
    positions = []
    for key in keys:
        if key.casefold() not in folded:
            raise UsageError(f"--key {key!r} is not a column of the comparison "
                             f"(columns: {', '.join(c.name for c in columns)})")
        positions.append(folded.index(key.casefold()))
    return positions


class _Sides:
    """The two reads of a comparison, each of which may be run again (for the differing buckets)."""

    def __init__(self, source: Endpoint, query: str, target: Endpoint, table: TableName, source_conn: Any,
                 target_conn: Any, batch_size: int) -> None:
        self.source, self.query, self.target, self.table = source, query, target, table
        self.source_conn, self.target_conn, self.batch_size = source_conn, target_conn, batch_size

    def describe(self) -> tuple[list[Column], list[Column]]:
        """The target columns that receive the query's columns, and the query's columns."""
        dialect = self.target.dialect
        if not dialect.table_exists(self.target_conn, self.table):
            raise UsageError(f"the table {self.table} does not exist on {self.target.label!r}")
        existing = dialect.table_columns(self.target_conn, self.table)
        self.target_conn.rollback()
        stream = self.source.dialect.open_read(self.source_conn, self.query, 1)
        try:
            read = list(stream.columns)
        finally:
            stream.close()
        return match_existing(read, existing, self.table), read

    def source_batches(self) -> Iterator[list[tuple[Any, ...]]]:
        yield from _drain(self.source.dialect.open_read(self.source_conn, self.query, self.batch_size))

    def target_stream(self, columns: list[Column]) -> ReadStream:
        dialect = self.target.dialect
        names = ", ".join(dialect.quote_identifier(c.name) for c in columns)
        return dialect.open_read(self.target_conn, f"SELECT {names} FROM {dialect.qualified(self.table)}",
                                 self.batch_size)

    def hash_target(self, columns: list[Column], positions: list[int]) -> Hasher:
        """The target table's checksum (its columns as read may differ in kind from the catalog's)."""
        stream = self.target_stream(columns)
        try:
            hasher = Hasher([c.name for c in columns], [c.type.kind for c in stream.columns],
                            [c.type.kind for c in columns], positions)
            for batch in stream.batches():
                hasher.add(batch)
        finally:
            stream.close()
        return hasher

    def target_batches(self, columns: list[Column]) -> Iterator[list[tuple[Any, ...]]]:
        yield from _drain(self.target_stream(columns))


def _drain(stream: ReadStream) -> Iterator[list[tuple[Any, ...]]]:
    try:
        yield from stream.batches()
    finally:
        stream.close()


def describe_text(result: Comparison) -> list[str]:
    """The comparison as lines for a terminal or a dialog."""
    lines = [f"rows: {result.source_rows:,} in the source ({result.source_label}), "
             f"{result.target_rows:,} in {result.table} ({result.target_label})"]
    width = max(len(c.name) for c in result.columns)
    for column in result.columns:
        lines.append(f"  {column.name:<{width}}  {'equal' if column.equal else 'DIFFERENT'}")
    if result.columns and all(c.equal for c in result.columns) and not result.rows_equal:
        lines.append("values moved between rows (every column holds the same values, not in the same rows)")
    if result.differences:
        lines.append(f"first {len(result.differences)} differing keys ({', '.join(result.keys)}):")
        for diff in result.differences:
            lines.append(_difference_line(result, diff))
    elif not result.equal and not result.keys:
        lines.append("give --key COL[,COL] to list the rows that differ")
    lines.append("equal" if result.equal else "not equal")
    return lines


def _difference_line(result: Comparison, diff: RowDifference) -> str:
    key = ", ".join(f"{k}={v!r}" for k, v in result.key_of(diff).items())
    if diff.kind == "missing":
        return f"  missing from the target: {key}: {result.values(diff.source)}"
    if diff.kind == "extra":
        return f"  only in the target:      {key}: {result.values(diff.target)}"
    source, target = result.values(diff.source) or {}, result.values(diff.target) or {}
    changed = "; ".join(f"{n} {source[n]!r} -> {target[n]!r}" for n in result.names if source[n] != target[n])
    return f"  different:               {key}: {changed or 'equal as shown, different in type'}"


