"""A checksum of a benchmark table that is equal across engines exactly when the data is.

Each engine's rows are read with its driver and brought to one canonical Python form:
``int`` for the integers and the boolean, ``Decimal`` for numeric(12,2), the ``float`` itself
for the double (bit-exact), ``str`` for text, naive ``datetime`` for the timestamp and for the
timestamptz converted to UTC, ``date``, ``None`` for NULL. The checksum is the row count and the
sum of the rows' tuple hashes modulo 2**64, so it needs no ORDER BY, with the same sum kept per
column to name the columns that differ. Python's hash of a ``str`` is salted per process:
checksums are only compared within one process (the orchestrator).

A peer tool chooses its own column types (text for a time stamp, 'true' for a boolean, a double
for a decimal), which the typed readers above cannot always read back. ``lenient=True`` reads
such a table's columns as they are and brings each value to the canonical form from whatever
type arrived, so that the values are compared and the types are not.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.config import COLUMNS, Servers
from bench.data import mysql_connect, pg_connect

_MASK = (1 << 64) - 1
_BATCH = 50_000


@dataclass(frozen=True)
class Checksum:
    rows: int
    digest: int
    #: The sum of each column's value hashes modulo 2**64, in ``COLUMNS`` order.
    columns: tuple[int, ...] = ()

    def __str__(self) -> str:
        return f"{self.rows:,} rows, {self.digest:016x}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Checksum) and (self.rows, self.digest) == (other.rows, other.digest)

    def __hash__(self) -> int:
        return hash((self.rows, self.digest))

    def differing(self, other: Checksum) -> list[str]:
        """The names of the columns whose values differ from ``other``'s."""
        return [name for name, mine, theirs in zip(COLUMNS, self.columns, other.columns, strict=False)
                if mine != theirs]


def _fold(batches: Iterator[list[tuple[Any, ...]]]) -> Checksum:
    rows = total = 0
    columns = [0] * len(COLUMNS)
    for batch in batches:
        rows += len(batch)
        total += sum(map(hash, batch))
        for index, values in enumerate(zip(*batch, strict=True)):
            columns[index] += sum(map(hash, values))
    return Checksum(rows, total & _MASK, tuple(c & _MASK for c in columns))


def _pg_batches(servers: Servers, table: str) -> Iterator[list[tuple[Any, ...]]]:
    query = (f"SELECT id, i, num, si, dbl, vc, txt, ts, tstz AT TIME ZONE 'UTC', flag::integer, d "
             f"FROM {table}")
    with pg_connect(servers) as conn:
        conn.autocommit = False
        with conn.cursor(name="bench_checksum") as cursor:
            cursor.execute(query)
            while batch := cursor.fetchmany(_BATCH):
                yield batch


def _mysql_batches(servers: Servers, table: str) -> Iterator[list[tuple[Any, ...]]]:
    # time_zone +00:00: a TIMESTAMP column reads as its UTC time; DATETIME columns hold UTC already.
    conn = mysql_connect(servers)
    try:
        cursor = conn.cursor(buffered=False)
        cursor.execute(f"SELECT id, i, num, si, dbl, vc, txt, ts, tstz, flag, d FROM {table}")
        while batch := cursor.fetchmany(_BATCH):
            yield batch
        cursor.close()
    finally:
        conn.close()


def _utc_naive(text: str | None) -> datetime | None:
    """An ISO timestamp text (with or without offset) as a naive UTC datetime."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


_SQLITE_CONVERT: tuple[Callable[[Any], Any], ...] = (
    _optional(int), _optional(int), _optional(lambda v: Decimal(str(v))), _optional(int),
    _optional(float), _optional(str), _optional(str), _utc_naive, _utc_naive,
    _optional(int), _optional(lambda v: date.fromisoformat(str(v))),
)


def _sqlite_batches(path: Path, table: str) -> Iterator[list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        cursor = conn.execute(f"SELECT id, i, num, si, dbl, vc, txt, ts, tstz, flag, d FROM {table}")
        convert = _SQLITE_CONVERT
        while batch := cursor.fetchmany(_BATCH):
            yield [tuple(f(v) for f, v in zip(convert, row, strict=True)) for row in batch]
    finally:
        conn.close()


def _lenient_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return int(value.strip().lower() == "true")
    return int(Decimal(str(value)))


def _lenient_decimal(value: Any) -> Decimal:
    # repr() of a float is its shortest round-tripping form: 12.34 stays 12.34, a lost digit shows.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def _lenient_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).strip().replace(" UTC", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _lenient_date(value: Any) -> date:
    if isinstance(value, datetime):
        return _lenient_time(value).date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    return datetime.fromisoformat(text).date() if len(text) > 10 else date.fromisoformat(text)


def _lenient_text(value: Any) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)


def _or_unreadable(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert``, or for a value it cannot read a marker no source value equals (the column differs)."""
    def lenient(value: Any) -> Any:
        if value is None:
            return None
        try:
            return convert(value)
        except (ValueError, TypeError, ArithmeticError):
            return ("unreadable", repr(value))
    return lenient


_LENIENT: tuple[Callable[[Any], Any], ...] = tuple(_or_unreadable(f) for f in (
    _lenient_int, _lenient_int, _lenient_decimal, _lenient_int, float, _lenient_text, _lenient_text,
    _lenient_time, _lenient_time, _lenient_int, _lenient_date))


def _lenient_batches(servers: Servers, engine: str, table: str,
                     sqlite_path: Path | None) -> Iterator[list[tuple[Any, ...]]]:
    query = f"SELECT {', '.join(COLUMNS)} FROM {table}"
    if engine == "postgresql":
        conn: Any = pg_connect(servers)
        conn.execute("SET TIME ZONE 'UTC'")
    elif engine == "mysql":
        conn = mysql_connect(servers)
    elif sqlite_path is not None:
        conn = sqlite3.connect(sqlite_path)
    else:
        raise ValueError("a SQLite checksum needs the file")
    try:
        cursor = conn.cursor()
        cursor.execute(query)
        while batch := cursor.fetchmany(_BATCH):
            yield [tuple(f(v) for f, v in zip(_LENIENT, row, strict=True)) for row in batch]
        cursor.close()
    finally:
        conn.close()


def checksum(servers: Servers, engine: str, table: str, sqlite_path: Path | None = None,
             lenient: bool = False) -> Checksum:
    """The checksum of ``table`` on ``engine`` (SQLite: in the file ``sqlite_path``); ``lenient``
    reads a table of other column types (a peer tool's) value by value."""
    if lenient:
        return _fold(_lenient_batches(servers, engine, table, sqlite_path))
    if engine == "postgresql":
        return _fold(_pg_batches(servers, table))
    if engine == "mysql":
        return _fold(_mysql_batches(servers, table))
    if engine == "sqlite":
        if sqlite_path is None:
            raise ValueError("a SQLite checksum needs the file")
        return _fold(_sqlite_batches(sqlite_path, table))
    raise ValueError(f"unknown engine {engine!r}")
