"""SQLite through the standard library.

Transactions. Connections keep the ``sqlite3`` module's default isolation level, so the
caller's ``commit()`` and ``rollback()`` work as usual. Because that module opens a
transaction implicitly only before INSERT/UPDATE/DELETE (never before DDL), every method
here that changes the database opens the transaction itself when none is open, so DDL and
rows share one transaction the caller controls:

* ``create_table``, ``drop_table`` and ``BulkWriter.write`` run ``BEGIN`` first if needed and
  never commit: the caller commits (staging table, then its rows) or rolls back (nothing stays);
* ``finalize`` is the one method that commits: ``BEGIN IMMEDIATE``, every statement of the mode,
  ``COMMIT``; on any error ``ROLLBACK`` and the target is as it was. Should the caller have left
  a transaction open, the step runs in a savepoint instead and the final commit covers both.

The same holds with ``isolation_level=None``: ``commit()`` and ``rollback()`` act on any
transaction that is open, whoever began it.

A run's source is opened read-only (``mode=ro``), with an authorizer refusing ATTACH (and so
VACUUM INTO, which attaches its new file). Reading also runs the query with ``PRAGMA query_only``
on (restored by ``close()``), so a data-modifying statement fails on any connection. A
single SELECT already reads one consistent snapshot; no explicit read transaction is held, so
a SQLite target in the same file is not locked out for longer than the statement runs.

Types. SQLite results carry no types: the declared type of each result column (known for
columns taken straight from a table) comes from ``PRAGMA table_info`` of a temporary view over
the query; columns without one (expressions) take their kind from the values of the first
batch. See docs/type-mapping-sqlite.md for both directions of the mapping.
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Context, Decimal, InvalidOperation, localcontext
from itertools import repeat
from operator import attrgetter, itemgetter, methodcaller, ne
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from qdbm_desktop.core.dialects.base import (
    BulkWriter,
    ConnectParams,
    Dialect,
    LoadMode,
    LocksUnavailable,
    ReadStream,
    TableName,
    lock_digest,
)
from qdbm_desktop.core.errors import ConnectFailed, UsageError, one_line
from qdbm_desktop.core.sqlcheck import query_body
from qdbm_desktop.core.types import (
    INT_RANGES,
    Column,
    Kind,
    PortableType,
    ValueRejected,
    decimal_fit_error,
    int_range_check,
)

Converter = Callable[[Any], Any]

_DECLARED = re.compile(r"\s*(.*?)\s*(?:\(\s*([+-]?\d+)\s*(?:,\s*([+-]?\d+)\s*)?\))?\s*", re.S)
_INT_TEXT = re.compile(r"\s*[+-]?\d+\s*")
_DATE_TEXT = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
_TIME_TEXT = re.compile(r"(\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?")
_DATETIME_TEXT = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?", re.I)

#: Declared type names we know by name (upper case, single spaces); the rest follow SQLite's affinity rules.
_KIND_BY_NAME: dict[str, Kind] = {
    "SMALLINT": Kind.INT16, "INT2": Kind.INT16, "TINYINT": Kind.INT16,
    "INT4": Kind.INT32, "MEDIUMINT": Kind.INT32,
    "INTEGER": Kind.INT64, "INT": Kind.INT64, "BIGINT": Kind.INT64, "INT8": Kind.INT64,
    "UNSIGNED BIG INT": Kind.INT64,
    "DECIMAL": Kind.DECIMAL, "NUMERIC": Kind.DECIMAL, "NUMBER": Kind.DECIMAL, "DECIMAL_TEXT": Kind.DECIMAL,
    "FLOAT4": Kind.FLOAT32,
    "REAL": Kind.FLOAT64, "DOUBLE": Kind.FLOAT64, "DOUBLE PRECISION": Kind.FLOAT64, "FLOAT": Kind.FLOAT64,
    "FLOAT8": Kind.FLOAT64,
    "BOOLEAN": Kind.BOOLEAN, "BOOL": Kind.BOOLEAN,
    "CHAR": Kind.CHAR, "CHARACTER": Kind.CHAR, "NCHAR": Kind.CHAR, "NATIVE CHARACTER": Kind.CHAR,
    "VARCHAR": Kind.VARCHAR, "CHARACTER VARYING": Kind.VARCHAR, "VARYING CHARACTER": Kind.VARCHAR,
    "NVARCHAR": Kind.VARCHAR, "VARCHAR2": Kind.VARCHAR,
    "TEXT": Kind.TEXT, "CLOB": Kind.TEXT, "STRING": Kind.TEXT,
    "BLOB": Kind.BINARY, "BINARY": Kind.BINARY, "VARBINARY": Kind.BINARY, "BYTEA": Kind.BINARY,
    "DATE": Kind.DATE,
    "TIME": Kind.TIME, "TIME WITHOUT TIME ZONE": Kind.TIME,
    "TIMESTAMP": Kind.TIMESTAMP, "DATETIME": Kind.TIMESTAMP, "TIMESTAMP WITHOUT TIME ZONE": Kind.TIMESTAMP,
    "TIMESTAMPTZ": Kind.TIMESTAMPTZ, "TIMESTAMP WITH TIME ZONE": Kind.TIMESTAMPTZ,
    "JSON": Kind.JSON, "JSONB": Kind.JSON, "JSON_TEXT": Kind.JSON,
    "UUID": Kind.UUID, "UUID_TEXT": Kind.UUID,
}

#: What the writer declares. Exact decimals, JSON and UUIDs get names holding "TEXT" (and no "INT"),
#: so their columns have TEXT affinity: NUMERIC affinity would keep only ~15 digits of a decimal
#: and turn the JSON text '123' into an integer. The reader maps each name back to its kind.
_NATIVE: dict[Kind, str] = {
    Kind.INT16: "SMALLINT", Kind.INT32: "INT4", Kind.INT64: "BIGINT",
    Kind.FLOAT32: "FLOAT4", Kind.FLOAT64: "DOUBLE", Kind.BOOLEAN: "BOOLEAN", Kind.TEXT: "TEXT",
    Kind.DATE: "DATE", Kind.TIME: "TIME", Kind.TIMESTAMP: "TIMESTAMP", Kind.TIMESTAMPTZ: "TIMESTAMPTZ",
    Kind.JSON: "JSON_TEXT", Kind.UUID: "UUID_TEXT",
}

_INT_RANGE = INT_RANGES
#: Wide enough that quantizing any decimal we meet is exact, never rounded by the context.
_EXACT = Context(prec=100_000, Emax=999_999_999, Emin=-999_999_999)
_STORAGE_CLASS = {int: "INTEGER", float: "REAL", str: "TEXT", bytes: "BLOB"}


def portable_type(declared: str) -> PortableType | None:
    """The portable type for a column's declared SQLite type; None when nothing is declared.

    Known names (``DECIMAL(12,2)``, ``TIMESTAMP WITH TIME ZONE``, our own ``DECIMAL_TEXT(38,10)``,
    ``JSON_TEXT``, ``UUID_TEXT`` ...) map by name; any other name by SQLite's affinity rules
    (contains INT: int64; CHAR, CLOB or TEXT: text; BLOB: binary; REAL, FLOA or DOUB: float64;
    anything else has NUMERIC affinity: decimal without precision).
    """
    match = _DECLARED.fullmatch(declared)
    if match is None or not match.group(1):
        return None
    name = " ".join(match.group(1).upper().split())
    first = int(match.group(2)) if match.group(2) is not None else None
    second = int(match.group(3)) if match.group(3) is not None else None
    kind = _KIND_BY_NAME.get(name)
    if kind is None:
        kind = _affinity_kind(name)
    if kind is Kind.DECIMAL:
        if first is None or first < 1 or (second is not None and not 0 <= second <= first):
            return PortableType(Kind.DECIMAL)
        return PortableType(Kind.DECIMAL, precision=first, scale=second or 0)
    if kind in (Kind.CHAR, Kind.VARCHAR, Kind.BINARY) and first is not None and first >= 1 and second is None:
        return PortableType(kind, length=first)
    return PortableType(kind)


def _affinity_kind(name: str) -> Kind:
    # The order is SQLite's own (datatype3.html, 3.1): "POINT" holds INT, so it is an integer.
    if "INT" in name:
        return Kind.INT64
    if "CHAR" in name or "CLOB" in name or "TEXT" in name:
        return Kind.TEXT
    if "BLOB" in name:
        return Kind.BINARY
    if "REAL" in name or "FLOA" in name or "DOUB" in name:
        return Kind.FLOAT64
    return Kind.DECIMAL


def _inferred_type(values: list[Any]) -> tuple[PortableType, str]:
    """The kind of an undeclared result column from its first batch, and a source_type saying so."""
    classes = {type(v) for v in values if v is not None}
    if not classes:
        return PortableType(Kind.TEXT), "NULL (inferred)"
    if classes <= {int}:
        kind = Kind.INT64
    elif classes <= {int, float}:
        kind = Kind.FLOAT64
    elif classes == {bytes}:
        kind = Kind.BINARY
    else:
        kind = Kind.TEXT
    names = "/".join(sorted(_STORAGE_CLASS.get(c, c.__name__) for c in classes))
    return PortableType(kind), f"{names} (inferred)"


# -- reading: stored value -> canonical value --------------------------------------------------------


def _parse_fraction(text: str | None) -> int:
    if not text:
        return 0
    if len(text) > 6 and text[6:].strip("0"):
        raise ValueError("has digits finer than microseconds")
    return int(text[:6].ljust(6, "0"))


def _parse_offset(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text in ("Z", "z"):
        return timezone.utc
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    return timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))


def _parse_datetime(text: str) -> datetime:
    """ISO text with either separator, optional seconds, fraction and offset (aware only with one)."""
    match = _DATETIME_TEXT.fullmatch(text.strip())
    if match is None:
        raise ValueError("is not an ISO date and time")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                    _parse_fraction(fraction), tzinfo=_parse_offset(offset))


def _read_int(kind: Kind) -> Converter:
    low, high = _INT_RANGE[kind]

    def convert(value: Any) -> int:
        if type(value) is int:
            result = value
        elif isinstance(value, float):
            if not value.is_integer():
                raise ValueError("is not a whole number")
            result = int(value)
        elif isinstance(value, str) and _INT_TEXT.fullmatch(value):
            result = int(value)
        else:
            raise ValueError("is not an integer")
        if not low <= result <= high:
            raise ValueError(f"is out of range for {kind.value}")
        return result

    return convert


def _read_float(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return float(value)
    raise ValueError("is not a number")


def _read_decimal(ptype: PortableType) -> Converter:
    scale = ptype.scale if ptype.precision is not None else None
    exponent = Decimal(1).scaleb(-scale) if scale is not None else None

    def convert(value: Any) -> Decimal:
        if isinstance(value, int):
            result = Decimal(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError("is not a finite number")
            # A REAL here is SQLite's NUMERIC affinity at work: the declared scale is the intent,
            # the binary double only its nearest approximation, so round to the scale.
            result = Decimal(repr(value))
            return result.quantize(exponent, context=_EXACT) if exponent is not None else result
        elif isinstance(value, str):
            try:
                result = Decimal(value.strip())
            except InvalidOperation:
                raise ValueError("is not a decimal number") from None
            if not result.is_finite():
                raise ValueError("is not a finite number")
        else:
            raise ValueError("is not a decimal number")
        if exponent is None:
            return result
        exact = result.quantize(exponent, context=_EXACT)
        if exact != result:
            raise ValueError(f"has more than {scale} decimal places")
        return exact

    return convert


def _read_boolean(value: Any) -> bool:
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("1", "true", "t", "yes", "y"):
            return True
        if word in ("0", "false", "f", "no", "n"):
            return False
    raise ValueError("is not a boolean (0 or 1)")


def _read_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("is a BLOB that is not UTF-8 text") from None
    raise ValueError("is not text")


def _read_json(value: Any) -> str:
    if isinstance(value, bytes):
        raise ValueError("is a BLOB, not JSON text (select json(column) to read SQLite's binary JSON)")
    return _read_text(value)


def _read_binary(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise ValueError("is a number, not binary data")


def _read_date(value: Any) -> date:
    if isinstance(value, str):
        text = value.strip()
        match = _DATE_TEXT.fullmatch(text)
        if match:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        raise ValueError("is not an ISO date (YYYY-MM-DD)")
    raise ValueError("is not an ISO date text (numbers are ambiguous: Julian day or Unix time)")


def _read_time(value: Any) -> time:
    if not isinstance(value, str):
        raise ValueError("is not an ISO time text")
    match = _TIME_TEXT.fullmatch(value.strip())
    if match is None:
        raise ValueError("is not an ISO time (HH:MM:SS)")
    hour, minute, second, fraction = match.groups()
    return time(int(hour), int(minute), int(second or 0), _parse_fraction(fraction))


def _read_timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("is not an ISO timestamp text (numbers are ambiguous: Julian day or Unix time)")
    if len(value) == 26 and value[10] in " T" and value[19] == ".":
        return datetime.fromisoformat(value)  # the writer's own form: the fast path
    result = _parse_datetime(value)
    if result.tzinfo is not None:  # a zone in a column without one: the instant, as UTC
        result = result.astimezone(timezone.utc).replace(tzinfo=None)
    return result


def _read_timestamptz(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("is not an ISO timestamp text (numbers are ambiguous: Julian day or Unix time)")
    if len(value) == 32 and value[10] in " T" and value[19] == "." and value[26] in "+-":
        return datetime.fromisoformat(value)  # the writer's own form: the fast path
    result = _parse_datetime(value)
    return result if result.tzinfo is not None else result.replace(tzinfo=timezone.utc)


def _read_uuid(value: Any) -> uuid.UUID:
    if isinstance(value, str):
        return uuid.UUID(value.strip())
    if isinstance(value, bytes) and len(value) == 16:
        return uuid.UUID(bytes=value)
    raise ValueError("is not a UUID (text or 16 bytes)")


def _reader_for(ptype: PortableType) -> tuple[type | None, Converter]:
    """For one column: the Python type sqlite3 returns that needs no conversion (None: always convert),
    and the converter for every other value."""
    kind = ptype.kind
    if kind is Kind.INT64:
        return int, _read_int(kind)
    if kind in _INT_RANGE:
        return None, _read_int(kind)
    if kind in (Kind.FLOAT32, Kind.FLOAT64):
        return float, _read_float
    if kind in (Kind.CHAR, Kind.VARCHAR, Kind.TEXT):
        return str, _read_text
    if kind is Kind.JSON:
        return str, _read_json
    if kind is Kind.BINARY:
        return bytes, _read_binary
    if kind is Kind.DECIMAL:
        return None, _read_decimal(ptype)
    readers: dict[Kind, Converter] = {
        Kind.BOOLEAN: _read_boolean, Kind.DATE: _read_date, Kind.TIME: _read_time,
        Kind.TIMESTAMP: _read_timestamp, Kind.TIMESTAMPTZ: _read_timestamptz, Kind.UUID: _read_uuid,
    }
    return None, readers[kind]


class _SQLiteReadStream:
    """A query's rows in batches: ``fetchmany`` on one cursor, so at most a batch is held."""

    def __init__(self, connection: sqlite3.Connection, cursor: sqlite3.Cursor, columns: list[Column],
                 first: list[tuple[Any, ...]], batch_size: int, query_only_before: int) -> None:
        self.columns = columns
        self._connection = connection
        self._cursor = cursor
        self._first: list[tuple[Any, ...]] | None = first
        self._batch_size = batch_size
        self._query_only_before = query_only_before
        self._closed = threading.Event()
        #: Held while a batch is being fetched, so close() from another thread knows to interrupt it.
        self._fetching = threading.Lock()
        self._plan = [(i, *_reader_for(c.type)) for i, c in enumerate(columns)]
        self._column_plan = [(i, ready, convert, _column_reader_for(c.type))
                             for (i, ready, convert), c in zip(self._plan, columns, strict=True)]

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        rows_before = 0
        while not self._closed.is_set():
            if self._first is not None:
                rows, self._first = self._first, None
            else:
                with self._fetching:
                    if self._closed.is_set():
                        return
                    try:
                        rows = self._cursor.fetchmany(self._batch_size)
                    except sqlite3.OperationalError:
                        if self._closed.is_set():  # interrupted by close(): the end the caller asked for
                            return
                        raise
            if not rows:
                return
            yield self._convert(rows, rows_before)
            rows_before += len(rows)

    def _convert(self, rows: list[tuple[Any, ...]], rows_before: int) -> list[tuple[Any, ...]]:
        """The batch converted column by column; any value that will not convert sends the whole batch
        through the row-by-row conversion, which names the first such value's column and row."""
        # Columns are read with one itemgetter pass each (no per-row objects); only converted ones are kept.
        converted_columns: dict[int, Sequence[Any]] = {}
        for i, ready, convert, fast in self._column_plan:
            pick = itemgetter(i)
            classes = set(map(type, map(pick, rows)))
            has_null = _NONE_TYPE in classes
            classes.discard(_NONE_TYPE)
            if not classes or (ready is not None and classes == {ready}):
                continue
            values = list(map(pick, rows))
            converted = _nulls_kept(values, fast, classes, has_null) if fast is not None else None
            if converted is None:
                try:
                    converted = [value if value is None or type(value) is ready else convert(value)
                                 for value in values]
                except (ValueError, ArithmeticError, TypeError):
                    return self._convert_rows(rows, rows_before)
            if converted is not values:
                converted_columns[i] = converted
        if not converted_columns:
            return rows
        return list(zip(*[converted_columns[i] if i in converted_columns else map(itemgetter(i), rows)
                          for i in range(len(self.columns))], strict=True))

    def _convert_rows(self, rows: list[tuple[Any, ...]], rows_before: int) -> list[tuple[Any, ...]]:
        plan = self._plan
        out: list[tuple[Any, ...]] = []
        for n, row in enumerate(rows):
            # Most values already are what their kind wants; only rows with another value pay for a copy.
            for i, ready, _ in plan:
                value = row[i]
                if value is not None and type(value) is not ready:
                    break
            else:
                out.append(row)
                continue
            values = list(row)
            for i, ready, convert in plan:
                value = values[i]
                if value is None or type(value) is ready:
                    continue
                try:
                    values[i] = convert(value)
                except (ValueError, ArithmeticError, TypeError) as exc:
                    raise ValueRejected(f"column {self.columns[i].name!r}, row {rows_before + n + 1}: "
                                        f"{_shown(value)} {exc} ({self.columns[i].source_type})") from None
            out.append(tuple(values))
        return out

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._first = None
        if not self._fetching.acquire(blocking=False):
            # Another thread is inside fetchmany (a long sort or scan): stop the statement there.
            self._connection.interrupt()
            self._fetching.acquire()
        try:
            # A connection closed already has no cursor or setting left to restore.
            with contextlib.suppress(sqlite3.ProgrammingError):
                self._cursor.close()
                self._connection.execute(f"PRAGMA query_only = {self._query_only_before}")
        finally:
            self._fetching.release()


_NONE_TYPE = type(None)
#: SQLite's 0 and 1 (as integers or reals) as booleans; anything else goes the one-by-one way.
_BOOLEANS: dict[Any, Any] = {0: False, 1: True, None: None}

ColumnConverter = Callable[[Sequence[Any], "set[type]"], "Sequence[Any] | None"]


def _nulls_kept(values: Sequence[Any], fast: ColumnConverter, classes: set[type],
                has_null: bool) -> Sequence[Any] | None:
    """``fast`` applied to the non-NULL values of a column, NULLs kept in place; None when it declines."""
    if not has_null:
        return fast(values, classes)
    present = [value for value in values if value is not None]
    converted = fast(present, classes)
    if converted is None:
        return None
    if converted is present:
        return values
    it = iter(converted)
    return [None if value is None else next(it) for value in values]


def _same_chars(values: Sequence[str], position: int, allowed: str) -> bool:
    return set(map(itemgetter(position), values)) <= set(allowed)


def _column_int(kind: Kind) -> ColumnConverter:
    low, high = _INT_RANGE[kind]

    def convert(values: Sequence[Any], classes: set[type]) -> Sequence[Any] | None:
        if classes != {int}:
            return None
        nonzero = list(filter(None, values))  # 0 is in every range
        if nonzero and not (low <= min(nonzero) and max(nonzero) <= high):
            return None
        return values

    return convert


def _column_boolean(values: Sequence[Any], classes: set[type]) -> Sequence[Any] | None:
    if not classes <= {int, float}:
        return None
    try:
        return list(map(_BOOLEANS.__getitem__, values))
    except KeyError:
        return None


def _column_date(values: Sequence[Any], classes: set[type]) -> Sequence[Any] | None:
    # YYYY-MM-DD in ASCII digits: what the pattern accepts, and date.fromisoformat reads it alike.
    if classes != {str} or set(map(len, values)) != {10} or not _same_chars(values, 4, "-") \
            or not _same_chars(values, 7, "-"):
        return None
    digits = "".join(values).replace("-", "")
    if len(digits) != 8 * len(values) or not digits.isascii() or not digits.isdigit():
        return None
    try:
        return list(map(date.fromisoformat, values))
    except ValueError:
        return None


def _column_timestamp(length: int, zoned: bool) -> ColumnConverter:
    """The writer's own form for every value of the column (the one-by-one fast path, at once)."""

    def convert(values: Sequence[Any], classes: set[type]) -> Sequence[Any] | None:
        if classes != {str} or set(map(len, values)) != {length} or not _same_chars(values, 10, " T") \
                or not _same_chars(values, 19, ".") or (zoned and not _same_chars(values, 26, "+-")):
            return None
        try:
            return list(map(datetime.fromisoformat, values))
        except ValueError:
            return None

    return convert


def _column_decimal(ptype: PortableType) -> ColumnConverter:
    scale = ptype.scale or 0
    exponent = Decimal(1).scaleb(-scale) if ptype.precision is not None else None

    def convert(values: Sequence[Any], classes: set[type]) -> Sequence[Any] | None:
        if classes != {str}:
            return None
        joined = "".join(values)
        if "n" in joined or "N" in joined:  # NaN, Infinity: the one-by-one way refuses them
            return None
        texts = list(map(str.strip, values))
        try:
            with localcontext(_EXACT):
                numbers = list(map(Decimal, texts))
                if exponent is None or _has_scale(texts, joined, scale):
                    return numbers  # already exactly `scale` places: quantizing would change nothing
                exact = list(map(Decimal.quantize, numbers, repeat(exponent)))
        except (ArithmeticError, ValueError):
            return None
        return exact if exact == numbers else None

    return convert


def _has_scale(texts: list[str], joined: str, scale: int) -> bool:
    """Whether every plain decimal text (no exponent, no underscore) has exactly ``scale`` digits
    after its point: its Decimal's exponent is then -scale already."""
    if "e" in joined or "E" in joined or "_" in joined:
        return False
    if scale == 0:
        return "." not in joined
    try:
        return set(map(itemgetter(-scale - 1), texts)) == {"."}
    except IndexError:
        return False


def _column_reader_for(ptype: PortableType) -> ColumnConverter | None:
    """For one column: a whole-column conversion for the common forms, or None (one by one)."""
    kind = ptype.kind
    if kind in (Kind.INT16, Kind.INT32):
        return _column_int(kind)
    if kind is Kind.BOOLEAN:
        return _column_boolean
    if kind is Kind.DATE:
        return _column_date
    if kind is Kind.TIMESTAMP:
        return _column_timestamp(26, False)
    if kind is Kind.TIMESTAMPTZ:
        return _column_timestamp(32, True)
    if kind is Kind.DECIMAL:
        return _column_decimal(ptype)
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- writing: canonical value -> stored value ---------------------------------------------------------


def _write_int(kind: Kind) -> Converter:
    return int_range_check(*_INT_RANGE[kind], kind.value)


def _write_float(value: float) -> float:
    # sqlite3 binds NaN as NULL: a silent loss, so refuse it. Infinities are stored as such.
    if value != value:
        raise ValueError("NaN cannot be stored in SQLite (it would become NULL)")
    return value


def _write_decimal(ptype: PortableType) -> Converter:
    precision = ptype.precision
    scale = ptype.scale or 0 if precision is not None else None
    exponent = Decimal(1).scaleb(-scale) if scale is not None else None

    def convert(value: Any) -> str:
        if type(value) is int:
            value = Decimal(value)
        if not value.is_finite():
            raise ValueError(f"{value} cannot be stored in an exact decimal column")
        if exponent is not None and precision is not None and scale is not None:
            problem = decimal_fit_error(value, precision, scale)
            if problem:
                raise ValueError(problem)
            value = value.quantize(exponent, context=_EXACT)
        # Plain notation ("100000", not "1E+5") keeps the text readable and comparable.
        return format(value, "f")

    return convert


def _write_time(value: time) -> str:
    if value.tzinfo is not None:
        raise ValueError(f"{value} has a time zone; a time column holds none")
    return value.isoformat(timespec="microseconds")


def _write_timestamp(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(sep=" ", timespec="microseconds")


def _bind_value(value: Any) -> Any:
    """A query parameter as SQLite compares it with what QDBM stores."""
    if isinstance(value, datetime):
        return _write_timestamptz(value) if value.tzinfo is not None else _write_timestamp(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _write_timestamptz(value: datetime) -> str:
    # Stored as UTC so that text order is time order; a naive value is taken as UTC.
    value = value.astimezone(timezone.utc) if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    return value.isoformat(sep=" ", timespec="microseconds")


def _suspect_for(ptype: PortableType) -> Callable[[Sequence[Any]], bool] | None:
    """For kinds sqlite3 binds as they are but not every value of which SQLite can hold: a quick
    scan of a batch's column that tells whether the one-by-one check must run."""
    kind = ptype.kind
    if kind in (Kind.FLOAT32, Kind.FLOAT64):
        def nan_suspect(values: Sequence[Any]) -> bool:
            try:
                return any(map(math.isnan, filter(None, values)))  # NULL and zeros are no NaN
            except (TypeError, OverflowError):  # not all numbers: the check looks one by one
                return True

        return nan_suspect
    if kind is Kind.INT64:
        def kind_suspect(values: Sequence[Any]) -> bool:
            # SQLite would keep text or a float in an INTEGER column as it is; the range sqlite3 checks.
            classes = set(map(type, values))
            classes.discard(_NONE_TYPE)
            return not classes <= {int, bool}

        return kind_suspect
    if kind in (Kind.INT16, Kind.INT32):
        low, high = _INT_RANGE[kind]

        def range_suspect(values: Sequence[Any]) -> bool:
            classes = set(map(type, values))
            classes.discard(_NONE_TYPE)
            if not classes <= {int, bool}:
                return True
            nonzero = list(filter(None, values))  # NULL and 0, which is in every range
            return bool(nonzero) and not (low <= min(nonzero) and max(nonzero) <= high)

        return range_suspect
    return None


def _column_writer_for(ptype: PortableType) -> ColumnConverter | None:
    """For one column: a whole-column conversion of the common forms (values of the converted
    column's own class and, for timestamps, zone), or None (the one-by-one converter for every value)."""
    kind = ptype.kind
    if kind is Kind.DECIMAL:
        precision = ptype.precision
        scale = ptype.scale or 0 if precision is not None else 0
        exponent = Decimal(1).scaleb(-scale) if precision is not None else None
        limit = Decimal(1).scaleb(precision - scale) if precision is not None else None

        def decimals(values: Sequence[Any], classes: set[type]) -> Sequence[Any] | None:
            if classes != {Decimal}:
                return None
            try:
                with localcontext(_EXACT):
                    if exponent is None or limit is None:
                        if not all(map(Decimal.is_finite, values)):
                            return None
                        exact = values
                    else:
                        # decimal_fit_error for the column: quantizing changes no value (NaN never
                        # equals itself, infinities raise), and every value is below 10 ** whole digits.
                        exact = list(map(Decimal.quantize, values, repeat(exponent)))
                        if any(map(ne, exact, values)) or not (-limit < min(values) and max(values) < limit):
                            return None
            except ArithmeticError:
                return None
            return list(map(format, exact, repeat("f")))

        return decimals
    if kind in (Kind.TIMESTAMP, Kind.TIMESTAMPTZ):
        zero = timedelta(0)

        def timestamps(values: Sequence[Any], classes: set[type]) -> Sequence[Any] | None:
            if classes != {datetime}:
                return None
            if kind is Kind.TIMESTAMP:
                if set(map(attrgetter("tzinfo"), values)) != {None}:
                    return None
            elif set(map(attrgetter("tzinfo"), values)) != {timezone.utc} \
                    and set(map(methodcaller("utcoffset"), values)) != {zero}:  # not UTC: shift one by one
                return None
            return list(map(datetime.isoformat, values, repeat(" "), repeat("microseconds")))

        return timestamps
    return None

def _checker_for(ptype: PortableType) -> Converter | None:
    kind = ptype.kind
    if kind in (Kind.INT16, Kind.INT32, Kind.INT64):
        return _write_int(kind)
    if kind in (Kind.FLOAT32, Kind.FLOAT64):
        return _write_float
    return None


def _writer_for(ptype: PortableType) -> Converter | None:
    """The converter for one column, or None when sqlite3 binds the canonical value as it is."""
    kind = ptype.kind
    if kind is Kind.DECIMAL:
        return _write_decimal(ptype)
    if kind is Kind.DATE:
        return date.isoformat
    if kind is Kind.TIME:
        return _write_time
    if kind is Kind.TIMESTAMP:
        return _write_timestamp
    if kind is Kind.TIMESTAMPTZ:
        return _write_timestamptz
    if kind is Kind.UUID:
        return str
    # Integers, floats, booleans (an int), text kinds, JSON text and bytes bind natively.
    return None


def _expected_python(kind: Kind) -> tuple[type, ...]:
    if kind in _INT_RANGE or kind is Kind.BOOLEAN:
        return (int,)
    if kind in (Kind.FLOAT32, Kind.FLOAT64):
        return (float, int)
    if kind is Kind.BINARY:
        return (bytes, bytearray, memoryview)
    return (str,)


class _SQLiteWriter:
    """``executemany`` into one table inside the caller's transaction (begun here if none is open)."""

    def __init__(self, connection: sqlite3.Connection, sql: str, columns: Sequence[Column]) -> None:
        self._connection = connection
        self._sql = sql
        self._columns = list(columns)
        self._converters = [(i, convert) for i, c in enumerate(columns)
                            if (convert := _writer_for(c.type)) is not None]
        self._column_converters = [(i, convert, _column_writer_for(columns[i].type))
                                   for i, convert in self._converters]
        self._checks = [(i, suspect, _checker_for(c.type)) for i, c in enumerate(columns)
                        if (suspect := _suspect_for(c.type)) is not None]

    def write(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> None:
        # Checks scan a column without copying rows; only a batch with a suspect value pays for a copy
        # (which then holds the checked values: a whole number of another type becomes an int).
        for i, suspect, check in self._checks:
            if suspect(list(map(itemgetter(i), rows))) and check is not None:
                rows = [tuple(row) for row in self._convert(rows, first_row_number, [(i, check)])]
        data = self._convert_columns(rows, first_row_number) if self._converters else rows
        if not self._connection.in_transaction:
            self._connection.execute("BEGIN")
        try:
            self._connection.executemany(self._sql, data)
        except (sqlite3.Error, OverflowError, ValueError, TypeError) as exc:
            self._explain(rows, first_row_number, exc)
            raise

    def _convert_columns(self, rows: Sequence[tuple[Any, ...]],
                         first_row_number: int) -> Iterable[Sequence[Any]]:
        """The batch converted column by column; any value that will not convert sends the whole batch
        through the row-by-row conversion, which names the first such value's column and row.

        The rows are zipped as sqlite3 binds them, so no row is copied into a new object."""
        converted_columns: dict[int, Sequence[Any]] = {}
        for i, convert, fast in self._column_converters:
            values = list(map(itemgetter(i), rows))
            classes = set(map(type, values))
            has_null = _NONE_TYPE in classes
            classes.discard(_NONE_TYPE)
            if not classes:
                continue
            converted = _nulls_kept(values, fast, classes, has_null) if fast is not None else None
            if converted is None:
                try:
                    converted = ([None if value is None else convert(value) for value in values] if has_null
                                 else list(map(convert, values)))
                except (ValueError, TypeError, AttributeError, ArithmeticError):
                    return self._convert(rows, first_row_number, self._converters)
            converted_columns[i] = converted
        return zip(*[converted_columns[i] if i in converted_columns else map(itemgetter(i), rows)
                     for i in range(len(self._columns))], strict=True)

    def _convert(self, rows: Sequence[tuple[Any, ...]], first_row_number: int,
                 converters: list[tuple[int, Converter]]) -> list[list[Any]]:
        out = []
        for n, row in enumerate(rows):
            values = list(row)
            for i, convert in converters:
                value = values[i]
                if value is not None:
                    try:
                        values[i] = convert(value)
                    except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
                        raise ValueRejected(f"column {self._columns[i].name!r}, row {first_row_number + n}: "
                                            f"{exc}") from None
            out.append(values)
        return out

    def _explain(self, rows: Sequence[tuple[Any, ...]], first_row_number: int, exc: BaseException) -> None:
        """Find the value behind a failed executemany and name its column and row."""
        for n, row in enumerate(rows):
            for column, value in zip(self._columns, row, strict=True):
                where = f"column {column.name!r}, row {first_row_number + n}"
                if value is None:
                    if not column.nullable:
                        raise ValueRejected(f"{where}: NULL in a NOT NULL column") from exc
                    continue
                kind = column.type.kind
                if _writer_for(column.type) is None and not isinstance(value, _expected_python(kind)):
                    raise ValueRejected(f"{where}: {_shown(value)} is not a {kind.value} value") from exc
                if kind is Kind.INT64 and not _INT_RANGE[kind][0] <= value <= _INT_RANGE[kind][1]:
                    raise ValueRejected(f"{where}: {value} is out of range for int64") from exc
                if isinstance(value, str):
                    try:
                        value.encode("utf-8")
                    except UnicodeEncodeError:
                        raise ValueRejected(f"{where}: the text is not valid Unicode "
                                            "(a lone surrogate)") from exc

    def finish(self) -> None:
        """Nothing is buffered: every batch went to SQLite in ``write``."""


# -- locks between runs --------------------------------------------------------------------------------


class SQLiteLockSession:
    """Named locks as lock files beside the database file, which every process that can write the
    file can also create: ``app.sqlite.qdbm-<name>.lock``, held with the OS's file lock (which the
    OS drops when the process dies) and removed when released.
    """

    def __init__(self, database: Path) -> None:
        self.database = database
        self._held: dict[str, FileLock] = {}
        # Whoever may write the database may take its locks: a file shared by a group gets lock
        # files the group can open too. They hold no data.
        try:
            self._mode = (database.stat().st_mode & 0o666) | 0o600
        except OSError:
            self._mode = 0o600

    def path_for(self, name: str) -> Path:
        key = name if re.fullmatch(r"[A-Za-z0-9_]{1,40}", name) else lock_digest(name, 24)
        return self.database.with_name(f"{self.database.name}.qdbm-{key}.lock")

    def _take(self, path: Path) -> FileLock | None:
        lock = FileLock(str(path), mode=self._mode, thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return None
        except OSError as exc:
            raise LocksUnavailable(f"cannot create the lock file {path} beside the database "
                                   f"({one_line(str(exc))})") from exc
        return lock

    @staticmethod
    def _drop(path: Path, lock: FileLock) -> None:
        # Removed while still held: a process that opened it meanwhile finds it unlinked once it
        # gets the lock and opens the path again (filelock checks), so no two hold one name.
        with contextlib.suppress(OSError):
            path.unlink()
        lock.release()

    def try_lock(self, name: str) -> bool:
        if name in self._held:
            return True
        lock = self._take(self.path_for(name))
        if lock is None:
            return False
        self._held[name] = lock
        return True

    def unlock(self, name: str) -> None:
        lock = self._held.pop(name, None)
        if lock is not None:
            self._drop(self.path_for(name), lock)

    def sweep(self) -> None:
        """Remove the lock files that killed processes left (their lock is free)."""
        pattern = glob.escape(str(self.database)) + ".qdbm-*.lock"
        for found in glob.glob(pattern):
            path = Path(found)
            if any(self.path_for(name) == path for name in self._held):
                continue
            with contextlib.suppress(LocksUnavailable):
                lock = self._take(path)
                if lock is not None:
                    self._drop(path, lock)

    def close(self) -> None:
        for name in list(self._held):
            self.unlock(name)


# -- the dialect ---------------------------------------------------------------------------------------


def _read_only_authorizer(action: int, arg1: str | None, arg2: str | None, database: str | None,
                          trigger: str | None) -> int:
    # VACUUM INTO attaches its new file, so refusing ATTACH refuses it too.
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


class SQLiteDialect(Dialect):
    name = "sqlite"
    display_name = "SQLite"
    default_port = None
    fields = ("path",)
    #: SQLite sets no limit; ours keeps names sane for every other engine's messages.
    max_identifier_length = 1024

    def connect(self, params: ConnectParams, timeout: float) -> Any:
        if not params.path:
            raise ConnectFailed("no database file is set")
        path = Path(params.path).expanduser()
        # Opening a missing file would silently create an empty database; a typo in a path
        # must say so instead. New files are made on purpose (connection dialog, demo).
        if not path.is_file():
            raise ConnectFailed(f"database file not found: {path}")
        if not params.read_only:
            connection = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
            connection.execute("PRAGMA schema_version").fetchone()  # fails now if it is no database
            return connection
        # A source is opened read-only, so nothing the query does can change the file; ATTACH and
        # VACUUM INTO would still create other files, which the authorizer refuses.
        uri = path.resolve().as_uri() + "?mode=ro"
        connection = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
        connection.set_authorizer(_read_only_authorizer)
        try:
            connection.execute("PRAGMA schema_version").fetchone()
        except sqlite3.OperationalError as exc:
            connection.close()
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_READONLY_DIRECTORY":
                # Reading a WAL-mode file needs its -shm file, which SQLite makes beside it.
                raise ConnectFailed(
                    f"cannot read {path}: it is in WAL mode and has no {path.name}-shm file, and its folder "
                    "is not writable, so SQLite cannot read it safely; make the folder writable for this "
                    "user, or switch the file out of WAL mode (sqlite3 FILE 'PRAGMA journal_mode=DELETE')"
                ) from None
            raise
        return connection

    def cancel_running(self, connection: Any, params: ConnectParams) -> None:
        """``sqlite3_interrupt``: safe from any thread, a no-op when no statement runs."""
        connection.interrupt()

    def server_version(self, connection: Any) -> str:
        (version,) = connection.execute("SELECT sqlite_version()").fetchone()
        return f"SQLite {version}"

    def describe_location(self, params: ConnectParams) -> str:
        return params.path or ""

    # -- names ------------------------------------------------------------------------------------

    def quote_identifier(self, name: str) -> str:
        self.check_identifier(name)
        return '"' + name.replace('"', '""') + '"'

    def _schema(self, table: TableName) -> str:
        return table.schema or "main"

    # -- reading ----------------------------------------------------------------------------------

    def param_marker(self, index: int) -> str:
        return f":qdbm_param_{index}"

    def open_read(self, connection: Any, query: str, batch_size: int,
                  params: Sequence[Any] | None = None) -> ReadStream:
        """Read ``query`` with ``fetchmany``; ``params`` fill its ``:qdbm_param_N`` markers, timestamps
        in the text form QDBM writes (so they compare with such text as times), decimals as text."""
        if batch_size < 1:
            raise UsageError(f"batch size must be at least 1, not {batch_size}")
        query = query_body(query, self.name)
        bound = {f"qdbm_param_{i}": _bind_value(v) for i, v in enumerate(params or ())}
        # A view cannot hold parameters; the markers' values do not change the columns' types.
        declared = self._declared_types(connection, re.sub(r":qdbm_param_\d+\b", "NULL", query)
                                        if bound else query)
        (query_only_before,) = connection.execute("PRAGMA query_only").fetchone()
        connection.execute("PRAGMA query_only = ON")
        cursor = connection.cursor()
        try:
            if bound:
                cursor.execute(query, bound)
            else:
                cursor.execute(query)
            if cursor.description is None:
                raise UsageError("the query returns no rows (it is not a SELECT)")
            first = cursor.fetchmany(batch_size)
            columns = []
            for i, description in enumerate(cursor.description):
                text = declared[i] if declared is not None and i < len(declared) else ""
                ptype = portable_type(text)
                if ptype is None:
                    ptype, text = _inferred_type([row[i] for row in first])
                columns.append(Column(description[0], ptype, True, text))
        except BaseException:
            cursor.close()
            connection.execute(f"PRAGMA query_only = {int(query_only_before)}")
            raise
        return _SQLiteReadStream(connection, cursor, columns, first, batch_size, int(query_only_before))

    def _declared_types(self, connection: sqlite3.Connection, query: str) -> list[str] | None:
        """Declared types of the query's result columns, from a temporary view over it.

        None when no view can be made of the query (a PRAGMA, or a statement that is no SELECT):
        then every column's kind comes from its values, or the query fails when it runs.
        """
        view = f"qdbm_describe_{uuid.uuid4().hex[:12]}"
        try:
            connection.execute(f'CREATE TEMP VIEW "{view}" AS {query}')
        except sqlite3.Error:
            return None
        try:
            rows = connection.execute("SELECT type FROM pragma_table_info(?, 'temp')", (view,)).fetchall()
            return [declared for (declared,) in rows]
        finally:
            connection.execute(f'DROP VIEW temp."{view}"')

    # -- types ------------------------------------------------------------------------------------

    def native_type(self, ptype: PortableType) -> str:
        kind = ptype.kind
        if kind is Kind.DECIMAL:
            if ptype.precision is None:
                return "DECIMAL_TEXT"
            return f"DECIMAL_TEXT({ptype.precision},{ptype.scale or 0})"
        if kind in (Kind.CHAR, Kind.VARCHAR):
            name = "CHAR" if kind is Kind.CHAR else "VARCHAR"
            return f"{name}({ptype.length})" if ptype.length else name
        if kind is Kind.BINARY:
            return f"BLOB({ptype.length})" if ptype.length else "BLOB"
        return _NATIVE[kind]

    # -- loading ----------------------------------------------------------------------------------

    def prepare_for_load(self, connection: Any) -> None:
        """Nothing to set: no session time zone, and the journal stays as it is.

        Switching the journal off (``journal_mode = OFF``/``synchronous = OFF``) would buy a little
        speed at the cost of a corrupt file after a crash mid-load, against our all-or-nothing rule.
        """

    def _begin(self, connection: sqlite3.Connection) -> None:
        # sqlite3 does not open a transaction before DDL: without this a CREATE or DROP would be
        # committed at once, out of the caller's reach.
        if not connection.in_transaction:
            connection.execute("BEGIN")

    def table_exists(self, connection: Any, table: TableName) -> bool:
        return self._exists(connection, table)

    def _exists(self, connection: sqlite3.Connection, table: TableName) -> bool:
        # SQLite compares names without regard to ASCII case, and so does this.
        row = connection.execute(
            f"SELECT 1 FROM {self.quote_identifier(self._schema(table))}.sqlite_master "
            "WHERE type = 'table' AND name = ? COLLATE NOCASE", (table.name,)).fetchone()
        return row is not None

    def table_columns(self, connection: Any, table: TableName) -> list[Column]:
        rows = connection.execute('SELECT name, type, "notnull" FROM pragma_table_info(?, ?)',
                                  (table.name, self._schema(table))).fetchall()
        if not rows:
            raise UsageError(f"the table {table} does not exist")
        # An undeclared column holds anything; text is the kind that can carry any value.
        return [Column(name, portable_type(declared) or PortableType(Kind.TEXT), not notnull, declared)
                for name, declared, notnull in rows]

    def create_table_sql(self, table: TableName, columns: Sequence[Column],
                         primary_key: Sequence[str] = ()) -> str:
        if not columns:
            raise UsageError(f"the table {table} needs at least one column")
        lines = [f"    {self.quote_identifier(c.name)} {self.native_type(c.type)}"
                 + ("" if c.nullable else " NOT NULL") for c in columns]
        if primary_key:
            lines.append(f"    PRIMARY KEY ({', '.join(self.quote_identifier(k) for k in primary_key)})")
        return f"CREATE TABLE {self.qualified(table)} (\n" + ",\n".join(lines) + "\n)"

    def create_table(self, connection: Any, table: TableName, columns: Sequence[Column],
                     primary_key: Sequence[str] = ()) -> None:
        sql = self.create_table_sql(table, columns, primary_key)
        self._begin(connection)
        connection.execute(sql)

    def drop_table(self, connection: Any, table: TableName) -> None:
        sql = f"DROP TABLE IF EXISTS {self.qualified(table)}"
        self._begin(connection)
        connection.execute(sql)

    def list_tables(self, connection: Any, schema: str | None, prefix: str) -> list[TableName]:
        rows = connection.execute(
            f"SELECT name FROM {self.quote_identifier(schema or 'main')}.sqlite_master "
            "WHERE type = 'table' AND substr(name, 1, length(?)) = ? ORDER BY name",
            (prefix, prefix)).fetchall()
        return [TableName(name, schema) for (name,) in rows]

    def open_writer(self, connection: Any, table: TableName, columns: Sequence[Column],
                    work_dir: Path | None = None) -> BulkWriter:
        names = ", ".join(self.quote_identifier(c.name) for c in columns)
        marks = ", ".join("?" * len(columns))
        return _SQLiteWriter(connection, f"INSERT INTO {self.qualified(table)} ({names}) VALUES ({marks})",
                             columns)

    # -- locks between runs ---------------------------------------------------------------------

    def open_lock_session(self, params: ConnectParams, timeout: float) -> SQLiteLockSession:
        if not params.path:
            raise ConnectFailed("no database file is set")
        session = SQLiteLockSession(Path(params.path).expanduser().resolve())
        session.sweep()
        return session

    def try_lock(self, session: Any, name: str) -> bool:
        return bool(session.try_lock(name))

    def unlock(self, session: Any, name: str) -> None:
        session.unlock(name)

    def table_lock_name(self, session: Any, table: TableName) -> str:
        # SQLite compares names ignoring the case of ASCII letters only.
        fold = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
        return "qdbm-table:" + json.dumps([(table.schema or "main").translate(fold),
                                           table.name.translate(fold)])

    def set_lock_wait(self, connection: Any, seconds: float) -> None:
        # A write locks the whole file: a run into another table waits for it as for a lock.
        connection.execute(f"PRAGMA busy_timeout = {max(0, int(seconds * 1000))}")

    def finalize(self, connection: Any, mode: LoadMode, target: TableName, staging: TableName,
                 columns: Sequence[Column], keys: Sequence[str], target_exists: bool) -> None:
        """One transaction for every mode (SQLite's DDL is transactional), committed here.

        ``target_exists`` is checked again inside the transaction, which holds the write lock,
        so what the step does matches what the table is at that moment.
        """
        nested = connection.in_transaction
        connection.execute("SAVEPOINT qdbm_finalize" if nested else "BEGIN IMMEDIATE")
        try:
            self._finalize_steps(connection, mode, target, staging, columns, keys)
            if nested:
                connection.execute("RELEASE qdbm_finalize")
            connection.commit()
        except BaseException:
            if nested:
                connection.execute("ROLLBACK TO qdbm_finalize")
                connection.execute("RELEASE qdbm_finalize")
            else:
                connection.rollback()
            raise

    def _finalize_steps(self, connection: sqlite3.Connection, mode: LoadMode, target: TableName,
                        staging: TableName, columns: Sequence[Column], keys: Sequence[str]) -> None:
        exists = self._exists(connection, target)
        if mode is LoadMode.CREATE and exists:
            raise UsageError(f"the table {target} already exists (mode create)")
        if mode is LoadMode.REPLACE and exists:
            connection.execute(f"DROP TABLE {self.qualified(target)}")
            exists = False
        if not exists:
            self._rename(connection, staging, target)
            if mode is LoadMode.UPSERT and keys:
                # The new table gets its key, so that the next upsert into it finds one.
                index = TableName(f"{target.name}_upsert_key", self._schema(target))
                connection.execute(f"CREATE UNIQUE INDEX {self.qualified(index)} "
                                   f"ON {self.quote_identifier(target.name)} "
                                   f"({', '.join(self.quote_identifier(k) for k in keys)})")
            return
        names = ", ".join(self.quote_identifier(c.name) for c in columns)
        insert = (f"INSERT INTO {self.qualified(target)} ({names}) "
                  f"SELECT {names} FROM {self.qualified(staging)}")
        if mode is LoadMode.TRUNCATE:
            connection.execute(f"DELETE FROM {self.qualified(target)}")
        if mode is LoadMode.UPSERT:
            self._check_unique_key(connection, target, keys)
            key_set = {k.lower() for k in keys}
            updates = ", ".join(f"{self.quote_identifier(c.name)} = excluded.{self.quote_identifier(c.name)}"
                                for c in columns if c.name.lower() not in key_set)
            # "WHERE true" ends the SELECT, so SQLite does not read ON CONFLICT as a join constraint.
            insert += (f" WHERE true ON CONFLICT ({', '.join(self.quote_identifier(k) for k in keys)}) "
                       + (f"DO UPDATE SET {updates}" if updates else "DO NOTHING"))
        connection.execute(insert)
        connection.execute(f"DROP TABLE {self.qualified(staging)}")

    def _rename(self, connection: sqlite3.Connection, staging: TableName, target: TableName) -> None:
        # With the modern rename SQLite re-checks every view and trigger and fails when one names
        # the target just dropped; nothing refers to the staging table, so the legacy rename is exact.
        (legacy,) = connection.execute("PRAGMA legacy_alter_table").fetchone()
        connection.execute("PRAGMA legacy_alter_table = ON")
        try:
            connection.execute(f"ALTER TABLE {self.qualified(staging)} "
                               f"RENAME TO {self.quote_identifier(target.name)}")
        finally:
            connection.execute(f"PRAGMA legacy_alter_table = {int(legacy)}")

    def _check_unique_key(self, connection: sqlite3.Connection, target: TableName,
                          keys: Sequence[str]) -> None:
        schema = self._schema(target)
        wanted = {k.lower() for k in keys}
        primary = {name.lower() for name, pk in connection.execute(
            "SELECT name, pk FROM pragma_table_info(?, ?)", (target.name, schema)) if pk}
        if primary == wanted:
            return
        indexes = connection.execute(
            'SELECT name FROM pragma_index_list(?, ?) WHERE "unique" AND NOT partial',
            (target.name, schema)).fetchall()
        for (index,) in indexes:
            names = [name for (name,) in connection.execute("SELECT name FROM pragma_index_info(?, ?)",
                                                            (index, schema))]
            if None not in names and {n.lower() for n in names} == wanted:
                return
        raise UsageError(f"upsert into {target} needs a primary key or unique index on exactly "
                         f"({', '.join(keys)}); there is none")
