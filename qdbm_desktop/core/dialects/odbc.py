"""The ODBC transport under the SQL Server dialect, usable with any ODBC driver.

It streams a query's rows, binds and sends batches of rows as parameter arrays, runs a list of
statements as one transaction, and turns driver errors into our errors. It knows no SQL
dialect: callers give it their statements and, for loads, one :class:`OdbcParam` per column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from qdbm_desktop.core.dialects.base import Connection

if TYPE_CHECKING:
    import pyodbc
from qdbm_desktop.core.dialects.fetch import FetchStream
from qdbm_desktop.core.errors import DriverMissing, QdbmError, one_line
from qdbm_desktop.core.types import Column, Kind, PortableType, ValueRejected

# ODBC SQL data type codes (sql.h, sqlext.h, msodbcsql.h): fixed by the standard, so they are
# spelled here and pyodbc is imported only when a connection is used.
SQL_CHAR, SQL_NUMERIC, SQL_DECIMAL, SQL_INTEGER, SQL_SMALLINT = 1, 2, 3, 4, 5
SQL_FLOAT, SQL_REAL, SQL_DOUBLE, SQL_VARCHAR = 6, 7, 8, 12
SQL_TYPE_DATE, SQL_TYPE_TIME, SQL_TYPE_TIMESTAMP = 91, 92, 93
SQL_WCHAR, SQL_WVARCHAR, SQL_WLONGVARCHAR = -8, -9, -10
SQL_BIGINT, SQL_TINYINT, SQL_BIT = -5, -6, -7
SQL_BINARY, SQL_VARBINARY, SQL_LONGVARBINARY, SQL_GUID = -2, -3, -4, -11
SQL_SS_VARIANT, SQL_SS_TIME2, SQL_SS_TIMESTAMPOFFSET = -150, -154, -155

#: Rows per ``executemany`` call: 10-50 k rows is where parameter arrays stop getting faster.
CHUNK_ROWS = 10_000
#: The most memory one call's parameter array may take; wide rows get smaller chunks.
MAX_CHUNK_BYTES = 64 * 1024 * 1024
_TEXT, _BINARY = "text", "binary"


def load_pyodbc() -> Any:
    """pyodbc, or a ``DriverMissing`` that says how to get the unixODBC library it needs."""
    try:
        import pyodbc
    except ImportError as exc:
        raise DriverMissing(
            f"pyodbc cannot be loaded ({one_line(str(exc))}): it needs the unixODBC driver manager "
            "(Debian/Ubuntu: sudo apt-get install unixodbc; Fedora: sudo dnf install unixODBC; "
            "macOS: brew install unixodbc)"
        ) from exc
    return pyodbc


class ConnectionLost(QdbmError):
    """The driver reports the connection broken (SQLSTATE class 08)."""


_DRIVER_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s*)+")
_CALL_SUFFIX = re.compile(r"\s*\(\d+\)\s*\(SQL\w+\)\s*$")


def sqlstate(exc: BaseException) -> str:
    """The five-character SQLSTATE pyodbc puts first in an error's args ('' when there is none)."""
    args = getattr(exc, "args", ())
    state = args[0] if args else ""
    return state if isinstance(state, str) and len(state) == 5 else ""


def driver_message(exc: BaseException) -> str:
    """The driver's text without the ``[vendor][driver]`` tags and the ``(SQLExecute)`` tail."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    text = str(args[1]) if len(args) > 1 else str(exc)
    parts = []
    for line in str(text).replace(";\n", "\n").splitlines():
        line = _CALL_SUFFIX.sub("", _DRIVER_PREFIX.sub("", line.strip()))
        line = re.sub(r"^\[\w{5}\]\s*", "", line)
        if line:
            parts.append(line)
    return one_line("\n".join(parts)) or type(exc).__name__


def map_error(exc: BaseException, first_row: int, last_row: int) -> BaseException:
    """Our error for a driver error raised while loading rows ``first_row``-``last_row``.

    Data exceptions (SQLSTATE 22: out of range, truncation, bad format) and integrity violations
    (23: NULL into NOT NULL, duplicate key) are refused values; class 08 is a lost connection;
    anything else stays the driver's error.
    """
    state = sqlstate(exc)
    rows = f"row {first_row:,}" if first_row == last_row else f"rows {first_row:,}-{last_row:,}"
    if state.startswith(("22", "23")):
        return ValueRejected(f"{rows}: {driver_message(exc)} (SQLSTATE {state})")
    if _is_connection_lost(state):
        return ConnectionLost(f"the connection was lost while loading {rows}: {driver_message(exc)} "
                              f"(SQLSTATE {state})")
    return exc


def _is_connection_lost(state: str) -> bool:
    # Class 08 is the standard's; 57P01-57P03 are a server shut down or restarting under the session.
    return state.startswith("08") or state in ("57P01", "57P02", "57P03")


@dataclass(frozen=True)
class OdbcParam:
    """How one column's values are checked and bound.

    ``convert`` takes a non-NULL value and returns what is bound, raising ``ValueError`` (or
    ``TypeError``) with the reason when the column cannot hold it. ``measure`` ("text" or
    "binary") makes the bound size the longest value of each chunk instead of ``size``: an
    unbounded column then costs only what its values need.
    """

    name: str
    sql_type: int
    size: int = 0
    digits: int = 0
    convert: Callable[[Any], Any] | None = None
    measure: str | None = None


def _utf16_units(value: str) -> int:
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


class OdbcConnection(Connection, Protocol):
    """A connection whose cursors are pyodbc's (``pyodbc.Connection``, ``SQLServerConnection``)."""

    def cursor(self) -> pyodbc.Cursor:
        ...


class OdbcBatchLoader:
    """Loads rows with one ``INSERT ... VALUES (?, ...)`` sent as parameter arrays.

    ``fast_executemany`` sends each chunk in one round trip; the explicit input sizes keep the
    driver from describing parameters itself, and sizes measured from the chunk's values keep
    unbounded (``max``) columns from reserving gigabytes a row. Never commits.
    """

    #: Nothing is changed on the way: a value the server refuses fails the load.
    warnings: tuple[str, ...] = ()

    def __init__(self, connection: OdbcConnection, sql: str, params: Sequence[OdbcParam],
                 chunk_rows: int = CHUNK_ROWS, max_chunk_bytes: int = MAX_CHUNK_BYTES) -> None:
        if sql.count("?") < len(params):
            raise ValueError("the statement has fewer markers than columns")
        self._connection = connection
        self._sql = sql
        self._params = list(params)
        self._chunk_rows = max(1, chunk_rows)
        self._max_chunk_bytes = max_chunk_bytes
        self._cursor = connection.cursor()
        self._cursor.fast_executemany = True
        #: Rows sent so far; executemany calls made (for tests and logs).
        self.rows_sent = 0
        self.calls = 0

    def write(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> None:
        if not rows:
            return
        width = len(self._params)
        for offset, row in enumerate(rows):
            if len(row) != width:
                raise ValueRejected(f"row {first_row_number + offset}: {len(row)} values for {width} columns")
        columns = [self._convert(param, [row[i] for row in rows], first_row_number)
                   for i, param in enumerate(self._params)]
        converted = list(zip(*columns, strict=False))
        start = 0
        while start < len(converted):
            count = min(self._chunk_rows, len(converted) - start)
            sizes = self._sizes(columns, start, count)
            while count > 1 and self._row_bytes(sizes) * count > self._max_chunk_bytes:
                count //= 2
                sizes = self._sizes(columns, start, count)
            self._send(converted[start:start + count], sizes, first_row_number + start)
            start += count

    def _convert(self, param: OdbcParam, values: list[Any], first_row_number: int) -> list[Any]:
        convert = param.convert
        if convert is None:
            return values
        try:
            return [None if v is None else convert(v) for v in values]
        except (ValueError, TypeError, OverflowError, ArithmeticError, AttributeError):
            pass
        for offset, value in enumerate(values):  # find the value, to name its row
            if value is None:
                continue
            try:
                convert(value)
            except (ValueError, TypeError, OverflowError, ArithmeticError, AttributeError) as exc:
                row = first_row_number + offset
                raise ValueRejected(f"column {param.name!r}, row {row}: {exc}") from None
        raise AssertionError("a conversion failed once and then passed")  # pragma: no cover

    def _sizes(self, columns: list[list[Any]], start: int, count: int) -> list[int]:
        sizes = []
        for param, values in zip(self._params, columns, strict=True):
            if param.measure is None:
                sizes.append(param.size)
                continue
            present = [v for v in values[start:start + count] if v is not None]
            if param.measure == _TEXT:
                longest = max(map(_utf16_units, present), default=1)
            else:
                longest = max(map(len, present), default=1)
            sizes.append(max(1, longest))
        return sizes

    def _row_bytes(self, sizes: list[int]) -> int:
        total = 0
        for param, size in zip(self._params, sizes, strict=True):
            if param.measure == _TEXT:
                total += (size + 1) * 2 + 8  # SQLWCHAR buffer plus its length indicator
            elif param.measure == _BINARY:
                total += size + 8
            else:
                total += 40
        return total

    def _send(self, chunk: list[tuple[Any, ...]], sizes: list[int], first_row_number: int) -> None:
        pyodbc = load_pyodbc()
        self._cursor.setinputsizes([(p.sql_type, size, p.digits)
                                    for p, size in zip(self._params, sizes, strict=True)])
        try:
            self._cursor.executemany(self._sql, chunk)
        except pyodbc.Error as exc:
            mapped = map_error(exc, first_row_number, first_row_number + len(chunk) - 1)
            if mapped is exc:
                raise
            raise mapped from exc
        self.rows_sent += len(chunk)
        self.calls += 1

    def finish(self) -> None:
        with suppress(Exception):
            self._cursor.close()


Statement = tuple[str, Sequence[Any]]


def run_in_transaction(connection: Connection, statements: Sequence[Statement]) -> None:
    """Run ``statements`` in order as one transaction and commit; on any error roll back and raise.

    Only as atomic as the engine's statements are transactional (SQL Server and PostgreSQL DDL
    are; MySQL DDL commits on its own).
    """
    pyodbc = load_pyodbc()
    cursor = connection.cursor()
    try:
        for sql, params in statements:
            if params:
                cursor.execute(sql, *params)
            else:
                cursor.execute(sql)
        connection.commit()
    except BaseException as exc:
        with suppress(Exception):
            connection.rollback()
        if isinstance(exc, pyodbc.Error) and _is_connection_lost(sqlstate(exc)):
            raise ConnectionLost(f"the connection was lost: {driver_message(exc)}") from exc
        raise
    finally:
        with suppress(Exception):
            cursor.close()


def portable_from_description(description: Sequence[Any]) -> PortableType:
    """A portable type from one ``cursor.description`` entry, for results no catalog describes.

    pyodbc gives the Python class a column's values will have, and the driver's column size,
    precision and scale: enough for numbers, but a text's declared length is only a display size.
    """
    type_code, internal_size = description[1], description[3]
    precision, scale = description[4], description[5]
    if type_code is bool:
        return PortableType(Kind.BOOLEAN)
    if type_code is int:
        digits = precision or internal_size or 19
        return PortableType(Kind.INT16 if digits <= 5 else Kind.INT32 if digits <= 10 else Kind.INT64)
    if type_code is Decimal:
        if precision and 0 < precision <= 1000:
            return PortableType(Kind.DECIMAL, precision=precision, scale=min(scale or 0, precision))
        return PortableType(Kind.DECIMAL)
    if type_code is float:
        # SQL Server reports binary digits (real 24, float 53), other drivers decimal ones (7-9, 15-17).
        single = bool(precision) and (precision <= 9 or precision == 24)
        return PortableType(Kind.FLOAT32 if single else Kind.FLOAT64)
    if type_code in (bytes, bytearray):
        return PortableType(Kind.BINARY)
    if type_code is datetime:
        return PortableType(Kind.TIMESTAMP)
    if type_code is date:
        return PortableType(Kind.DATE)
    if type_code is time:
        return PortableType(Kind.TIME)
    return PortableType(Kind.TEXT)


class OdbcReadStream(FetchStream):
    """A query's rows fetched ``batch_size`` at a time, each column through its converter; closing a
    result not read to its end cancels it first."""

    def __init__(self, connection: Connection, cursor: Any, columns: list[Column],
                 converters: Sequence[Callable[[Any], Any] | None], batch_size: int,
                 end_transaction: bool = True, on_close: Callable[[], None] | None = None) -> None:
        super().__init__(connection, cursor, columns, converters, batch_size, end_transaction=end_transaction,
                         cancel_unfinished=True, on_close=on_close)
        cursor.arraysize = batch_size


__all__ = ["CHUNK_ROWS", "MAX_CHUNK_BYTES", "ConnectionLost", "OdbcBatchLoader", "OdbcParam",
           "OdbcReadStream",
           "driver_message", "load_pyodbc", "map_error", "portable_from_description", "run_in_transaction",
           "sqlstate"]
