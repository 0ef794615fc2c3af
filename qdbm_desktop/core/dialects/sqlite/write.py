"""Loading: canonical values turned into what SQLite stores, ``executemany`` into the staging table."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, localcontext
from itertools import repeat
from operator import attrgetter, itemgetter, methodcaller, ne
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
    NegativeZeros,
    PortableType,
    ValueRejected,
    decimal_fit_error,
    int_range_check,
    plain_time,
)

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
    value = plain_time(value, "SQLite")
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
        #: A value SQLite cannot hold is refused; only -0.0 is changed (to 0.0), and counted.
        self._negative_zeros = NegativeZeros(columns)
        self._connection = connection
        self._sql = sql
        self._columns = list(columns)
        self._converters = [(i, convert) for i, c in enumerate(columns)
                            if (convert := _writer_for(c.type)) is not None]
        self._column_converters = [(i, convert, _column_writer_for(columns[i].type))
                                   for i, convert in self._converters]
        self._checks = [(i, suspect, _checker_for(c.type)) for i, c in enumerate(columns)
                        if (suspect := _suspect_for(c.type)) is not None]

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._negative_zeros.warnings("SQLite")

    def write(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> None:
        self._negative_zeros.count(rows)
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
