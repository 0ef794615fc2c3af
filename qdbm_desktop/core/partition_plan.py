"""How a partitioned read splits a query: N ranges of one column, each read on its own connection.

Pure planning, no connection: the option as given (:class:`Partitioning`), the split points
between the query's lowest and highest value of the column (or the bounds given), the
partitions' filters in each source's SQL, and the rule ``--partitions auto`` follows.

The ranges cover every value whatever the bounds: the first is open below, the last open above,
each other one is ``low <= col < high``, and the first one also takes the rows whose column is
NULL. So a row lands in exactly one partition even when given bounds are off (they only make the
partitions uneven), and NULLs are never lost.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.types import FLOAT_KINDS, INTEGER_KINDS, Kind

#: The most partitions a run may use (each one is a source connection and a writer).
MAX_PARTITIONS = 32
#: The core count of the machine the benchmark behind ``AUTO_MEASURED`` ran on.
AUTO_MEASURED_CORES = 2
#: ``--partitions auto``'s source: per path (source, target), the partition count that was fastest
#: in ``python -m bench --rows 3000000 --partitions 1,2,4`` on that machine, where it beat one
#: reader by at least ``AUTO_MIN_GAIN`` (docs/performance.md, "Partitioned reads"). A path not
#: listed read no faster in partitions there, and reads on one connection.
AUTO_MEASURED: dict[tuple[str, str], int] = {
    ("mysql", "mysql"): 2, ("sqlite", "postgresql"): 4, ("postgresql", "sqlite"): 4,
}
#: The speed-up over one reader a count must have shown to be chosen (smaller is within the noise).
AUTO_MIN_GAIN = 0.10
#: The most partitions ``auto`` picks, whatever the cores.
AUTO_MAX = 8
#: The sources a partitioned read supports (the engines whose filters are written and tested).
SOURCES = ("postgresql", "mysql", "sqlite")
_PARTITION_KINDS = INTEGER_KINDS | FLOAT_KINDS | {Kind.DECIMAL, Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ}


@dataclass(frozen=True)
class Partitioning:
    """``--partitions N --partition-by COL [--partition-bounds ...]`` as given.

    ``count`` 0 is ``auto``. ``bounds`` are texts: two (LOW,HIGH: N even ranges between them)
    or more (the split points' list LOW,B1,...,HIGH: one partition per gap).
    """

    count: int
    column: str
    bounds: tuple[str, ...] = ()

    def describe(self) -> str:
        count = "auto" if self.count == 0 else str(self.count)
        given = f", bounds {','.join(self.bounds)}" if self.bounds else ""
        return f"{count} partitions by {self.column}{given}"


def parse_count(text: str) -> int:
    """``--partitions``'s value: a whole number 1..MAX_PARTITIONS, or ``auto`` (0)."""
    value = text.strip().lower()
    if value == "auto":
        return 0
    if not value.isdigit() or not 1 <= int(value) <= MAX_PARTITIONS:
        raise UsageError(f"--partitions takes a number from 1 to {MAX_PARTITIONS} or auto, not {text!r}")
    return int(value)


def parse_bounds(text: str) -> tuple[str, ...]:
    """``--partition-bounds LOW,HIGH`` or ``LOW,B1,...,HIGH``: the texts, checked for count only."""
    parts = tuple(p.strip() for p in text.split(","))
    if len(parts) < 2 or not all(parts):
        raise UsageError(f"--partition-bounds takes LOW,HIGH or a list LOW,B1,...,HIGH, not {text!r}")
    return parts


def check(spec: Partitioning, source_type: str) -> None:
    """Refuse an option that cannot work, before any connection is opened."""
    if not spec.column.strip():
        raise UsageError("--partition-by needs a column of the query")
    if spec.count < 0 or spec.count > MAX_PARTITIONS:
        raise UsageError(f"the partitions must be 1 to {MAX_PARTITIONS} or auto, not {spec.count}")
    if source_type not in SOURCES:
        raise UsageError(f"partitioned reads work from PostgreSQL, MySQL/MariaDB and SQLite sources, not "
                         f"{source_type}; leave --partitions out")
    if len(spec.bounds) == 1:
        raise UsageError("--partition-bounds takes LOW,HIGH or a list LOW,B1,...,HIGH")
    if len(spec.bounds) > 2 and spec.count not in (0, len(spec.bounds) - 1):
        raise UsageError(f"--partition-bounds lists {len(spec.bounds) - 1} ranges but --partitions is "
                         f"{spec.count}")


def auto_count(source_type: str, target_type: str, cores: int | None = None) -> int:
    """``--partitions auto``: the count measured best for the path, in proportion to the cores
    (the measured machine had ``AUTO_MEASURED_CORES``); 1 where partitions measured no faster."""
    best = AUTO_MEASURED.get((source_type, target_type), 1)
    if best <= 1:
        return 1
    cores = cores or os.cpu_count() or 1
    return max(1, min(AUTO_MAX, round(best * cores / AUTO_MEASURED_CORES)))


def partition_kind(kind: Kind, column: str) -> None:
    if kind not in _PARTITION_KINDS:
        raise UsageError(f"the partition column {column!r} is {kind.value}: it must be a number, a date or "
                         "a timestamp")


def parse_value(text: str, kind: Kind, column: str) -> Any:
    """A bound given as text, as a value of the column's kind."""
    try:
        if kind in INTEGER_KINDS:
            return int(text)
        if kind is Kind.DECIMAL:
            return Decimal(text)
        if kind in FLOAT_KINDS:
            return float(text)
        if kind is Kind.DATE:
            return date.fromisoformat(text)
        value = datetime.fromisoformat(text)
    except (ValueError, InvalidOperation):
        raise UsageError(f"the partition bound {text!r} is not a {kind.value} "
                         f"(the column {column!r})") from None
    if kind is Kind.TIMESTAMPTZ and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    if kind is Kind.TIMESTAMP and value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def split_points(low: Any, high: Any, count: int) -> list[Any]:
    """The ``count - 1`` values between ``low`` and ``high`` that cut it into ``count`` even ranges
    (fewer when the range has fewer distinct values, e.g. integers 1..3 in 8 parts)."""
    if count <= 1 or low is None or high is None or not high > low:
        return []
    if isinstance(low, float) and not (math.isfinite(low) and math.isfinite(float(high))):
        raise UsageError("the partition column holds infinity or NaN; give --partition-bounds LOW,HIGH")
    points: list[Any] = []
    for k in range(1, count):
        point = _between(low, high, k, count)
        if point > low and (not points or point > points[-1]) and point <= high:
            points.append(point)
    return points


def _between(low: Any, high: Any, k: int, count: int) -> Any:
    if isinstance(low, bool):
        raise UsageError("a boolean column cannot partition a read")
    if isinstance(low, int):
        return low + (int(high) - low) * k // count
    if isinstance(low, Decimal):
        return low + (Decimal(high) - low) * k / count
    if isinstance(low, float):
        return low + (float(high) - low) * k / count
    if isinstance(low, datetime):
        return low + (high - low) * k / count
    if isinstance(low, date):
        return low + timedelta(days=(high - low).days * k // count)
    raise UsageError(f"the partition column's values ({type(low).__name__}) are no number, date or timestamp")


def given_points(spec: Partitioning, kind: Kind, count: int) -> tuple[list[Any], Any, Any]:
    """The split points from ``--partition-bounds`` (and the given low and high)."""
    values = [parse_value(t, kind, spec.column) for t in spec.bounds]
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise UsageError("--partition-bounds must go up: " + ",".join(spec.bounds))
    if len(values) == 2:
        return split_points(values[0], values[1], count), values[0], values[1]
    return values[1:-1], values[0], values[-1]


def literal(value: Any, source_type: str) -> str:
    """``value`` as an SQL literal of the source's dialect (numbers, dates, timestamps only)."""
    if isinstance(value, bool):
        raise UsageError("a boolean cannot bound a partition")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        return repr(value) if isinstance(value, float) else format(value, "f")
    if isinstance(value, datetime):
        if source_type == "postgresql":
            if value.tzinfo is not None:
                return f"TIMESTAMPTZ '{value.isoformat()}'"
            return f"TIMESTAMP '{value.isoformat(' ')}'"
        if value.tzinfo is not None:  # MySQL and SQLite hold UTC without the zone (the session's zone is UTC)
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        text = value.isoformat(" ")
        return f"TIMESTAMP '{text}'" if source_type == "mysql" else f"'{text}'"
    if isinstance(value, date):
        return f"'{value.isoformat()}'" if source_type == "sqlite" else f"DATE '{value.isoformat()}'"
    raise UsageError(f"a {type(value).__name__} cannot bound a partition")


def filters(column_sql: str, points: Sequence[Any], source_type: str) -> list[str]:
    """One WHERE condition per partition: open below, open above, NULLs with the first."""
    cuts = [literal(p, source_type) for p in points]
    if not cuts:
        return ["TRUE" if source_type != "sqlite" else "1 = 1"]
    conditions = [f"({column_sql} < {cuts[0]} OR {column_sql} IS NULL)"]
    conditions += [f"{column_sql} >= {low} AND {column_sql} < {high}" for low, high in zip(cuts, cuts[1:],
                                                                                            strict=False)]
    conditions.append(f"{column_sql} >= {cuts[-1]}")
    return conditions
