"""Loading: values checked for what Oracle's columns hold, bound in chunks with executemany or
sent as a direct path load."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import time, timedelta
from typing import TYPE_CHECKING, Any

from qdbm_desktop.core.dialects.base import (
    TableName,
)
from qdbm_desktop.core.dialects.oracle.types import CHUNK_ROWS, MAX_PRECISION
from qdbm_desktop.core.errors import one_line
from qdbm_desktop.core.types import (
    Column,
    TargetLimits,
    ValueRejected,
)

if TYPE_CHECKING:
    from qdbm_desktop.core.dialects.oracle.connection import OracleConnection
    from qdbm_desktop.core.dialects.oracle.dialect import OracleDialect

#: Errors that mean a value did not fit (too large, NULL into NOT NULL, duplicate key, bad number ...).
_VALUE_ERRORS = frozenset({1, 1400, 1401, 1438, 1722, 1830, 1839, 1841, 1843, 1847, 1858, 1861, 1877, 1878,
                           2290, 12899, 22835})


# -- types: portable -> values to bind ----------------------------------------------------------


#: What Oracle's column types hold, for the shared value checks: BINARY_FLOAT and BINARY_DOUBLE
#: hold NaN and the infinities, NUMBER without precision keeps 38 digits from 1e-130 to 1e126.
LIMITS = TargetLimits(engine="Oracle", decimal_name="NUMBER", float_names=("BINARY_FLOAT", "BINARY_DOUBLE"),
                      no_nan="it has no NaN or Infinity (use a float type for them)", nan=True,
                      date_as_timestamp=True, unbounded_digits=MAX_PRECISION, unbounded_exponents=(-130, 125))
#: The same with booleans as NUMBER(1) holding 0/1 (before Oracle 23ai's BOOLEAN).
LIMITS_NUMERIC_BOOLEAN = dataclasses.replace(LIMITS, bool_as_int=True)


def _time_interval(value: Any) -> timedelta:
    if not isinstance(value, time):
        raise ValueError(f"{value!r} is not a time")
    return timedelta(hours=value.hour, minutes=value.minute, seconds=value.second,
                     microseconds=value.microsecond)


class _BinaryCheck:
    """Checks binary values and counts the empty ones, which Oracle also stores as NULL."""

    def __init__(self, column: Column, limit: int | None) -> None:
        self.column = column
        self.limit = limit
        self.empty = 0

    def __call__(self, value: Any) -> bytes:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise ValueError(f"a {type(value).__name__} value is not binary")
        value = bytes(value) if type(value) is not bytes else value
        checked: bytes = value
        if not checked:
            if not self.column.nullable:
                raise ValueError("an empty binary value cannot go into a NOT NULL column: Oracle stores "
                                 "it as NULL")
            self.empty += 1
        if self.limit is not None and len(value) > self.limit:
            raise ValueError(f"{len(value)} bytes are longer than RAW({self.limit})")
        return checked


class _TextCheck:
    """Checks text for a column and counts the empty strings Oracle will store as NULL."""

    def __init__(self, column: Column, char_limit: int | None, byte_limit: int | None, label: str,
                 json_only: bool = False) -> None:
        self.column = column
        self.char_limit = char_limit
        self.byte_limit = byte_limit
        self.label = label
        self.json_only = json_only
        self.empty = 0

    def __call__(self, given: Any) -> str:
        binary = isinstance(given, (bytes, bytearray, memoryview))
        if not isinstance(given, str) and (self.json_only or binary):
            raise ValueError(f"a {type(given).__name__} value cannot be stored in {self.label}")
        value = given if type(given) is str else str(given)
        if not value:
            if not self.column.nullable:
                raise ValueError(f"an empty string cannot go into NOT NULL column {self.label}: Oracle "
                                 "stores '' as NULL")
            self.empty += 1
            return value
        if "\x00" in value:
            raise ValueError("text holding NUL (\\x00) is refused: Oracle's text functions stop at it")
        if self.char_limit is not None and len(value) > self.char_limit:
            raise ValueError(f"text of {len(value)} characters is longer than {self.label}")
        if self.byte_limit is not None and not value.isascii():
            size = len(value.encode("utf-8", "surrogatepass"))
            if size > self.byte_limit:
                raise ValueError(f"text of {size} bytes in UTF-8 is longer than {self.label} holds "
                                 f"({self.byte_limit} bytes)")
        return value


class OracleBulkWriter:
    """``executemany`` with array binding and fixed input types, ``CHUNK_ROWS`` rows a call.

    Batch errors are collected per row, so a refused value names its row. Never commits.
    """

    def __init__(self, dialect: OracleDialect, connection: OracleConnection, table: TableName,
                 columns: Sequence[Column], native_boolean: bool,
                 direct_path: tuple[str, str, list[str]] | None = None) -> None:
        import oracledb

        self._connection = connection
        #: (owner, table, columns) as stored, when loading with direct path.
        self._direct_path = direct_path
        self._columns = list(columns)
        self._sql = dialect.insert_sql(table, columns)
        self._checks: list[Callable[[Any], Any]] = []
        self._input_types: list[Any] = []
        self._counting: list[_TextCheck | _BinaryCheck] = []
        for column in columns:
            check, input_type = dialect.bind_plan(column, native_boolean, oracledb)
            if isinstance(check, (_TextCheck, _BinaryCheck)):
                self._counting.append(check)
            self._checks.append(check)
            self._input_types.append(input_type)
        self._cursor = connection.cursor()

    @property
    def warnings(self) -> list[str]:
        counted = [(c.column.name, c.empty) for c in self._counting if c.empty]
        if not counted:
            return []
        total = sum(n for _, n in counted)
        per_column = ", ".join(f"{name!r}: {n:,}" for name, n in counted)
        return [f"{total:,} empty string(s) or binary value(s) were stored as NULL, because Oracle stores "
                f"'' as NULL ({per_column})"]

    def write(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> None:
        width = len(self._checks)
        converted = []
        for offset, row in enumerate(rows):
            if len(row) != width:
                raise ValueRejected(f"row {first_row_number + offset}: {len(row)} values for {width} columns")
            try:
                checks = zip(self._checks, row, strict=True)
                converted.append([None if v is None else c(v) for c, v in checks])
            except (ValueError, TypeError, OverflowError, ArithmeticError):
                raise self._locate(row, first_row_number + offset) from None
        for start in range(0, len(converted), CHUNK_ROWS):
            self._send(converted[start:start + CHUNK_ROWS], first_row_number + start)

    def _locate(self, row: Sequence[Any], row_number: int) -> ValueRejected:
        for column, check, value in zip(self._columns, self._checks, row, strict=True):
            if value is None:
                continue
            try:
                if isinstance(check, (_TextCheck, _BinaryCheck)):
                    empty = check.empty
                    check(value)
                    check.empty = empty
                else:
                    check(value)
            except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
                return ValueRejected(f"column {column.name!r}, row {row_number}: {exc}")
        return ValueRejected(f"row {row_number}: a value could not be converted")

    def _send(self, chunk: list[list[Any]], first_row_number: int) -> None:
        import oracledb

        if self._direct_path is not None:
            owner, table, names = self._direct_path
            try:
                # Commits on its own: fine for a staging table, which nothing reads before the final step.
                self._connection.direct_path_load(owner, table, names, chunk, batch_size=CHUNK_ROWS)
            except oracledb.DatabaseError as exc:
                raise _map_error(exc, f"rows {first_row_number:,}-{first_row_number + len(chunk) - 1:,}") \
                    from exc
            return
        self._cursor.setinputsizes(*self._input_types)
        try:
            self._cursor.executemany(self._sql, chunk, batcherrors=True)
        except oracledb.DatabaseError as exc:
            raise _map_error(exc, f"rows {first_row_number:,}-{first_row_number + len(chunk) - 1:,}") from exc
        errors = self._cursor.getbatcherrors()
        if errors:
            first = min(errors, key=lambda e: e.offset)
            row = first_row_number + int(first.offset)
            message = one_line(first.message)
            if int(getattr(first, "code", 0)) in _VALUE_ERRORS:
                raise ValueRejected(f"row {row:,}: {message}")
            raise RuntimeError(f"row {row:,}: {message}")

    def finish(self) -> None:
        with suppress(Exception):
            self._cursor.close()


def _map_error(exc: Any, where: str) -> Exception:
    error = exc.args[0] if exc.args else None
    code = int(getattr(error, "code", 0) or 0)
    message = one_line(getattr(error, "message", str(exc)))
    if code in _VALUE_ERRORS:
        return ValueRejected(f"{where}: {message}")
    return RuntimeError(f"{where}: {message}")
