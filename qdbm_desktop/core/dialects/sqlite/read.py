"""Reading: a query's rows in batches, stored values turned into canonical ones."""

from __future__ import annotations

import contextlib
import math
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation, localcontext
from itertools import repeat
from operator import itemgetter
from typing import Any

from qdbm_desktop.core.dialects.sqlite.types import (
    _EXACT,
    _INT_RANGE,
    _NONE_TYPE,
    ColumnConverter,
    Converter,
    _nulls_kept,
    _shown,
)
from qdbm_desktop.core.types import (
    Column,
    Kind,
    PortableType,
    ValueRejected,
)

_INT_TEXT = re.compile(r"\s*[+-]?\d+\s*")
_DATE_TEXT = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
_TIME_TEXT = re.compile(r"(\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?")
_DATETIME_TEXT = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?", re.I)

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

    #: Nothing is changed on the way: a value that will not convert is refused.
    warnings: tuple[str, ...] = ()

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



#: SQLite's 0 and 1 (as integers or reals) as booleans; anything else goes the one-by-one way.
_BOOLEANS: dict[Any, Any] = {0: False, 1: True, None: None}


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
