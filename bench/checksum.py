"""A checksum of a benchmark table that is equal across engines exactly when the data is.

Each engine's rows are read with its driver and brought to one canonical Python form:
``int`` for the integers and the boolean, ``Decimal`` for numeric(12,2), the ``float`` itself
for the double (bit-exact), ``str`` for text, naive ``datetime`` for the timestamp and for the
timestamptz converted to UTC, ``date``, ``None`` for NULL. The checksum is the row count and the
sum of the rows' tuple hashes modulo 2**64, so it needs no ORDER BY. Python's hash of a ``str``
is salted per process: checksums are only compared within one process (the orchestrator).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.config import Servers
from bench.data import mysql_connect, pg_connect

_MASK = (1 << 64) - 1
_BATCH = 50_000


@dataclass(frozen=True)
class Checksum:
    rows: int
    digest: int

    def __str__(self) -> str:
        return f"{self.rows:,} rows, {self.digest:016x}"


def _fold(batches: Iterator[list[tuple[Any, ...]]]) -> Checksum:
    rows = total = 0
    for batch in batches:
        rows += len(batch)
        total += sum(map(hash, batch))
    return Checksum(rows, total & _MASK)


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


def checksum(servers: Servers, engine: str, table: str, sqlite_path: Path | None = None) -> Checksum:
    """The checksum of ``table`` on ``engine`` (SQLite: in the file ``sqlite_path``)."""
    if engine == "postgresql":
        return _fold(_pg_batches(servers, table))
    if engine == "mysql":
        return _fold(_mysql_batches(servers, table))
    if engine == "sqlite":
        if sqlite_path is None:
            raise ValueError("a SQLite checksum needs the file")
        return _fold(_sqlite_batches(sqlite_path, table))
    raise ValueError(f"unknown engine {engine!r}")
