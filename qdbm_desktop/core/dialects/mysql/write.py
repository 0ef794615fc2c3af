"""Loading: values checked and written as TSV for LOAD DATA LOCAL, in chunks, or multi-row INSERTs
where the server refuses LOAD DATA."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import math
import operator
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from decimal import Clamped, Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, Underflow
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qdbm_desktop.core.dialects.base import (
    TableName,
)
from qdbm_desktop.core.dialects.mysql.driver import MySQLConnection, one_row
from qdbm_desktop.core.dialects.mysql.read import _BadValue
from qdbm_desktop.core.dialects.mysql.types import _INT64_MAX, _INT64_MIN
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.types import (
    END_OF_DAY,
    Column,
    Kind,
    NegativeZeros,
    PortableType,
    TargetLimits,
    ValueRejected,
    as_float32,
    value_check,
)

if TYPE_CHECKING:
    from qdbm_desktop.core.dialects.mysql.dialect import MySQLDialect

# -- writing: canonical values -> checked values ------------------------------------------------


def _check_time(value: Any) -> dt.time | dt.timedelta:
    if value == END_OF_DAY:
        return END_OF_DAY  # MySQL's TIME holds 24:00:00
    if not isinstance(value, dt.time):
        raise _BadValue(f"{value!r} is not a time")
    return value.replace(tzinfo=None) if value.tzinfo else value


def value_checker(ptype: PortableType) -> Callable[[Any], Any]:
    """The function that checks one non-NULL value for a column of ``ptype`` and returns what the
    driver (or the TSV formatter) should send (see ``types.VALUE_CHECKS``)."""
    if ptype.kind is Kind.TIME:
        return _check_time
    return value_check(ptype, LIMITS)


def _decimal_precision(ptype: PortableType) -> tuple[int, int]:
    if ptype.precision is None:
        return 65, 30
    precision, scale = ptype.precision, ptype.scale or 0
    if precision > 65:
        raise UsageError(f"{ptype} is wider than MySQL's DECIMAL allows (65 digits)")
    if scale > 30:
        raise UsageError(f"{ptype} has more decimal places than MySQL's DECIMAL allows (30)")
    return precision, scale


#: What MySQL's and MariaDB's column types hold, for the shared value checks.
LIMITS = TargetLimits(engine="MySQL and MariaDB", decimal_name="DECIMAL", float_names=("FLOAT", "DOUBLE"),
                      no_nan="MySQL and MariaDB have no NaN or Infinity", bool_as_int=True,
                      decimal_precision=_decimal_precision)


# TSV for LOAD DATA: tab between fields, newline after rows, backslash escapes, \N for NULL.
_TSV_ESCAPES = [(b"\\", b"\\\\"), (b"\t", b"\\t"), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"\x00", b"\\0")]
_NEEDS_ESCAPE = re.compile(rb"[\\\t\n\r\x00]").search
_TSV_NULL = b"\\N"


def _tsv_bytes(data: bytes) -> bytes:
    if _NEEDS_ESCAPE(data):
        for plain, escaped in _TSV_ESCAPES:
            data = data.replace(plain, escaped)
    return data


def tsv_formatter(ptype: PortableType) -> Callable[[Any], bytes]:
    """Check a non-NULL value and give its LOAD DATA field bytes."""
    check = value_checker(ptype)
    kind = ptype.kind
    if kind in (Kind.INT16, Kind.INT32, Kind.INT64):
        return lambda v: b"%d" % check(v)
    if kind is Kind.DECIMAL:
        return lambda v: format(check(v), "f").encode("ascii")
    if kind in (Kind.FLOAT32, Kind.FLOAT64):
        return lambda v: repr(check(v)).encode("ascii")
    if kind is Kind.BOOLEAN:
        return lambda v: b"1" if check(v) else b"0"
    if kind in (Kind.CHAR, Kind.VARCHAR, Kind.TEXT, Kind.JSON):
        def text(v: Any) -> bytes:
            try:
                return _tsv_bytes(check(v).encode("utf-8"))
            except UnicodeEncodeError:
                raise _BadValue("text holds a lone surrogate, which is not valid UTF-8") from None
        return text
    if kind is Kind.BINARY:
        return lambda v: _tsv_bytes(check(v))
    if kind is Kind.UUID:
        return lambda v: check(v).encode("ascii")
    if kind in (Kind.TIMESTAMP, Kind.TIMESTAMPTZ):
        return lambda v: check(v).isoformat(" ").encode("ascii")
    if kind is Kind.TIME:
        return lambda v: b"24:00:00" if v == END_OF_DAY else check(v).isoformat().encode("ascii")
    return lambda v: check(v).isoformat().encode("ascii")


# -- column-wise TSV: one pass per column over a batch -------------------------------------------
#
# Each fast path accepts only values whose checks it can prove for the whole column at once (the
# canonical Python type, bounds from min/max or an exact quantize); anything else makes it raise,
# and the writer then formats the batch value by value, which checks and names the bad value.

_NULL_TEXT = "\\N"
_NEEDS_ESCAPE_TEXT = re.compile(r"[\\\t\n\r\x00]").search
_NONE_TYPE = type(None)
_BOOL_TEXT = {True: "1", False: "0", None: _NULL_TEXT}


class _NotFast(Exception):
    """The column holds a value the fast path does not prove; format the batch value by value."""


def _escape_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n") \
        .replace("\r", "\\r").replace("\x00", "\\0")


def _types_within(values: Sequence[Any], allowed: tuple[type, ...]) -> bool:
    return set(map(type, values)).issubset(allowed)


def _with_nulls(column: Sequence[Any], format_values: Callable[[list[Any]], list[str]]) -> list[str]:
    """``format_values`` applied to the non-NULL values, with ``\\N`` put back where NULLs were."""
    values = [v for v in column if v is not None]
    if len(values) == len(column):
        return format_values(values)
    if not values:
        return [_NULL_TEXT] * len(column)
    formatted = iter(format_values(values))
    return [_NULL_TEXT if v is None else next(formatted) for v in column]


def _int_column(low: int, high: int) -> Callable[[Sequence[Any]], list[str]]:
    def fmt(values: list[Any]) -> list[str]:
        if not _types_within(values, (int,)) or min(values) < low or max(values) > high:
            raise _NotFast
        return list(map(str, values))
    return lambda column: _with_nulls(column, fmt)


def _decimal_column(precision: int, scale: int) -> Callable[[Sequence[Any]], list[str]]:
    # quantize to the scale in a context of the column's precision is exact exactly when the value
    # fits DECIMAL(precision, scale): a digit past the scale signals Inexact, too many digits
    # InvalidOperation (both trapped). NaN passes quantize, so finiteness is checked first.
    context = Context(prec=precision, Emax=999_999_999, Emin=-999_999_999,
                      traps=[Inexact, InvalidOperation, Overflow, Underflow, Clamped, DivisionByZero])
    quantize = functools.partial(Decimal.quantize, exp=Decimal(1).scaleb(-scale), context=context)

    def fmt(values: list[Any]) -> list[str]:
        if not _types_within(values, (Decimal,)) or not all(map(Decimal.is_finite, values)):
            raise _NotFast
        for _ in map(quantize, values):
            pass
        return list(map(format, values, itertools.repeat("f")))
    return lambda column: _with_nulls(column, fmt)


def _float_column(kind: Kind) -> Callable[[Sequence[Any]], list[str]]:
    # A float32 value is sent rounded to float32, as the per-value check does: the server compares
    # the text it reads with the largest float32 before rounding, so 3.4028235e38 would be refused.
    single = kind is Kind.FLOAT32

    def fmt(values: list[Any]) -> list[str]:
        if not _types_within(values, (float,)) or not all(map(math.isfinite, values)):
            raise _NotFast
        return list(map(repr, map(as_float32, values) if single else values))
    return lambda column: _with_nulls(column, fmt)


def _bool_column(column: Sequence[Any]) -> list[str]:
    if not _types_within(column, (bool, _NONE_TYPE)):
        raise _NotFast
    return list(map(_BOOL_TEXT.__getitem__, column))


def _text_column(length: int | None) -> Callable[[Sequence[Any]], list[str]]:
    def fmt(values: list[Any]) -> list[str]:
        if not _types_within(values, (str,)) or (length is not None and max(map(len, values)) > length):
            raise _NotFast
        if not _NEEDS_ESCAPE_TEXT("".join(values)):
            return values
        needs = _NEEDS_ESCAPE_TEXT
        return [_escape_text(v) if needs(v) else v for v in values]
    return lambda column: _with_nulls(column, fmt)


def _date_column(values: list[Any]) -> list[str]:
    if not _types_within(values, (dt.date,)):
        raise _NotFast
    return list(map(dt.date.isoformat, values))


def _datetime_values(values: list[Any]) -> list[str]:
    if not _types_within(values, (dt.datetime,)):
        raise _NotFast
    zones = set(map(operator.attrgetter("tzinfo"), values))
    texts = list(map(str, values))  # isoformat(" ")
    if zones == {None}:
        return texts
    if None not in zones and all(map(str.endswith, texts, itertools.repeat("+00:00"))):
        # At offset zero the UTC wall time (what is stored) is the value's own: drop "+00:00",
        # which ends every text (no other "\x00" is in them).
        return "\x00".join(texts).replace("+00:00\x00", "\x00")[:-6].split("\x00")
    raise _NotFast


def _generic_column(ptype: PortableType) -> Callable[[Sequence[Any]], list[str]]:
    formatter = tsv_formatter(ptype)
    return lambda column: [_NULL_TEXT if v is None else formatter(v).decode("utf-8") for v in column]


def column_formatter(ptype: PortableType) -> Callable[[Sequence[Any]], list[str]] | None:
    """Check a whole column of a batch and give its LOAD DATA fields as text (``\\N`` for NULL);
    raises ``_NotFast`` (or a conversion error) when a value needs the per-value path. None for
    binary columns, whose bytes are not text."""
    kind = ptype.kind
    if kind is Kind.BINARY:
        return None
    if kind is Kind.INT16:
        return _int_column(-(2**15), 2**15 - 1)
    if kind is Kind.INT32:
        return _int_column(-(2**31), 2**31 - 1)
    if kind is Kind.INT64:
        return _int_column(_INT64_MIN, _INT64_MAX)
    if kind is Kind.DECIMAL:
        return _decimal_column(*_decimal_precision(ptype))
    if kind in (Kind.FLOAT32, Kind.FLOAT64):
        return _float_column(kind)
    if kind is Kind.BOOLEAN:
        return _bool_column
    if kind in (Kind.CHAR, Kind.VARCHAR, Kind.TEXT):
        return _text_column(ptype.length)
    if kind is Kind.JSON:
        return _text_column(None)
    if kind is Kind.DATE:
        return lambda column: _with_nulls(column, _date_column)
    if kind in (Kind.TIMESTAMP, Kind.TIMESTAMPTZ):
        return lambda column: _with_nulls(column, _datetime_values)
    return _generic_column(ptype)


def _row_error(columns: Sequence[Column], row: Sequence[Any], row_number: int,
               checks: Sequence[Callable[[Any], Any]]) -> ValueRejected:
    """Find which value of a row failed (the fast path only knows that one did)."""
    if len(row) != len(columns):
        return ValueRejected(f"row {row_number}: {len(row)} values for {len(columns)} columns")
    for column, check, value in zip(columns, checks, row, strict=True):
        if value is None:
            continue
        try:
            check(value)
        except (_BadValue, ValueError, TypeError, OverflowError) as exc:
            return ValueRejected(f"column {column.name!r}, row {row_number}: {exc}")
    return ValueRejected(f"row {row_number}: a value could not be converted")


_BAD = (_BadValue, ValueError, TypeError, OverflowError, AttributeError)


class _LoadSession:
    """Bulk-load session settings, restored afterwards (both writers use it)."""

    def __init__(self, connection: MySQLConnection) -> None:
        self._connection = connection
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT @@SESSION.unique_checks, @@SESSION.foreign_key_checks")
            self._saved = tuple(int(v) for v in one_row(cursor))
            # The staging table has no secondary indexes or foreign keys; skipping the checks
            # spares InnoDB work per row.
            cursor.execute("SET SESSION unique_checks = 0, SESSION foreign_key_checks = 0")
        finally:
            cursor.close()

    def restore(self) -> None:
        cursor = self._connection.cursor()
        try:
            cursor.execute("SET SESSION unique_checks = %s, SESSION foreign_key_checks = %s", self._saved)
        finally:
            cursor.close()


def _negative_zeros(connection: MySQLConnection, columns: Sequence[Column]) -> NegativeZeros | None:
    """MariaDB stores -0.0 as 0.0 in FLOAT and DOUBLE: count them there (MySQL keeps the sign)."""
    if not any(c.type.kind in (Kind.FLOAT32, Kind.FLOAT64) for c in columns):
        return None
    return NegativeZeros(columns) if "mariadb" in str(connection.server_info).lower() else None


class LoadDataWriter:
    """Loads each batch with ``LOAD DATA LOCAL INFILE`` from a TSV file in a private folder.

    ``LOCAL`` loads turn data errors into warnings (the server cannot stop the client's upload),
    so every value is checked here first, and any warning the server still raises fails the load.
    """

    def __init__(self, dialect: MySQLDialect, connection: MySQLConnection, table: TableName,
                 columns: Sequence[Column], work_dir: Path | None = None) -> None:
        #: A value the server refuses fails the load; only -0.0 is changed (to 0.0 by MariaDB), and counted.
        self._negative_zeros = _negative_zeros(connection, columns)
        self._connection = connection
        self._columns = list(columns)
        self._formatters = [tsv_formatter(c.type) for c in columns]
        column_formatters = [column_formatter(c.type) for c in columns]
        self._column_formatters: list[Callable[[Sequence[Any]], list[str]]] | None = \
            [f for f in column_formatters if f is not None]
        if len(self._column_formatters) != len(columns):
            self._column_formatters = None
        self._checks = [value_checker(c.type) for c in columns]
        # The rows are the user's data: a folder only the user can read, inside the run's own
        # folder when there is one, so that what a killed run leaves is found and removed.
        self._folder = Path(tempfile.mkdtemp(prefix="qdbm-load-", dir=work_dir))
        self._file = self._folder / "batch.tsv"
        # Only files in our own folder may be sent: a hostile server cannot ask for others.
        connection.set_allow_local_infile_in_path(str(self._folder))
        names = ", ".join(dialect.quote_identifier(c.name) for c in columns)
        path = self._file.as_posix().replace("\\", "\\\\").replace("'", "\\'")
        # CHARACTER SET binary: every byte goes in as written; text is UTF-8 already and binary
        # columns must not be read as characters.
        self._sql = (f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {dialect.qualified(table)} "
                     "CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
                     f"LINES TERMINATED BY '\\n' ({names})")
        self._session = _LoadSession(connection)

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._negative_zeros.warnings("MariaDB") if self._negative_zeros else ()

    def write(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> None:
        if self._negative_zeros:
            self._negative_zeros.count(rows)
        self._write(rows, first_row_number)

    def _write(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> None:
        """Load ``rows`` in chunks, formatting each chunk while the one before it loads.

        The outcome is the batch's as one load: a value refused here anywhere in the batch wins
        over the server's complaint about an earlier chunk, and the server's first warning and
        the loaded row count are reported for the batch.
        """
        if not rows:
            return
        step = CHUNK_ROWS
        loading: _ChunkLoad | None = None
        loaded = 0
        try:
            for start in range(0, len(rows), step):
                data = self._format(rows[start:start + step], first_row_number + start)
                if loading is not None:
                    loaded += self._wait(loading, rows, start + step, first_row_number)
                    loading = None
                loading = _ChunkLoad(self, data, first_row_number, first_row_number + start)
            if loading is not None:
                loaded += self._wait(loading, rows, len(rows), first_row_number)
                loading = None
        finally:
            if loading is not None:
                with contextlib.suppress(BaseException):
                    loading.result()
        if loaded != len(rows):
            raise ValueRejected(f"rows {first_row_number}-{first_row_number + len(rows) - 1}: the server "
                                f"loaded {loaded} of {len(rows)} rows")

    def load_tsv(self, chunks: Iterable[tuple[bytes, int]], first_row_number: int,
                 on_rows: Callable[[int], None]) -> int:
        """Load chunks already in this writer's LOAD DATA form, as ``(data, rows)``, each while the
        next one is read; the rows the server loaded. ``on_rows`` gets the running total.

        The server checks every value (a warning fails the load); ``chunks`` may raise to stop."""
        loading: _ChunkLoad | None = None
        loaded = 0
        sent = 0
        try:
            for data, rows in chunks:
                if self._negative_zeros:
                    self._negative_zeros.count_text(data)
                if loading is not None:
                    loaded += loading.result()
                    on_rows(loaded)
                loading = _ChunkLoad(self, data, first_row_number, first_row_number + sent)
                sent += rows
            if loading is not None:
                pending = loading
                loading = None
                loaded += pending.result()
                on_rows(loaded)
        finally:
            if loading is not None:
                # Stopped by the source (or a cancel): what the last chunk loaded still counts.
                with contextlib.suppress(BaseException):
                    loaded += loading.result()
                    on_rows(loaded)
        if loaded != sent:
            raise ValueRejected(f"the server loaded {loaded} of {sent} rows")
        return loaded

    def _wait(self, loading: _ChunkLoad, rows: Sequence[tuple[Any, ...]], unchecked: int,
              first_row_number: int) -> int:
        """The rows a chunk's load loaded; when it failed, a value refused in the batch's rows from
        ``unchecked`` on is raised instead (as when the whole batch was checked before loading)."""
        try:
            return loading.result()
        except BaseException:
            for start in range(unchecked, len(rows), CHUNK_ROWS):
                self._format(rows[start:start + CHUNK_ROWS], first_row_number + start)
            raise

    def _format(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> bytes:
        data = self._columns_tsv(rows)
        return self._rows_tsv(rows, first_row_number) if data is None else data

    def _columns_tsv(self, rows: Sequence[tuple[Any, ...]]) -> bytes | None:
        """The batch's TSV built column by column, or None when a value needs the per-value path."""
        formatters = self._column_formatters
        if formatters is None:
            return None
        try:
            if set(map(len, rows)) != {len(formatters)}:
                return None
            # Every field followed by its separator, in row order: tabs, and a newline after the
            # last field of each row.
            width, count = len(formatters), len(rows)
            parts = ["\t"] * (2 * width * count)
            parts[2 * width - 1::2 * width] = ["\n"] * count
            for index, (f, column) in enumerate(zip(formatters, zip(*rows, strict=True), strict=True)):
                parts[2 * index::2 * width] = f(column)
            return "".join(parts).encode("utf-8")
        except (_NotFast, ArithmeticError, *_BAD):
            return None

    def _rows_tsv(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> bytes:
        formatters = self._formatters
        width = len(formatters)
        lines: list[bytes] = []
        append = lines.append
        for offset, row in enumerate(rows):
            try:
                if len(row) != width:
                    raise _BadValue("row width")
                append(b"\t".join([_TSV_NULL if v is None else f(v)
                                    for f, v in zip(formatters, row, strict=False)]))
            except _BAD:
                raise _row_error(self._columns, row, first_row_number + offset, self._checks) from None
        lines.append(b"")
        return b"\n".join(lines)

    def _load(self, data: bytes, batch_first_row: int, first_row_number: int) -> int:
        """Load one chunk; the number of rows the server loaded."""
        descriptor = os.open(self._file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "wb") as handle:
            handle.write(data)
        cursor = self._connection.cursor()
        try:
            cursor.execute(self._sql)
            loaded = int(cursor.rowcount)
            if cursor.warning_count:
                cursor.execute("SHOW WARNINGS LIMIT 1")
                level, code, message = one_row(cursor)
                raise ValueRejected(_locate_warning(str(message), first_row_number, self._columns,
                                                    batch_first_row))
        finally:
            cursor.close()
            self._file.unlink(missing_ok=True)
        return loaded

    def finish(self) -> None:
        try:
            self._session.restore()
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)


def _locate_warning(message: str, first_row_number: int, columns: Sequence[Column],
                    batch_first_row: int | None = None) -> str:
    """Turn the server's "... column 'x' at row 12" (row within the chunk) into our numbering;
    without a row, the message names the batch from ``batch_first_row`` on."""
    match = re.search(r"column '((?:[^']|'')*)' at row (\d+)", message)
    if match:
        row = first_row_number + int(match.group(2)) - 1
        return f"column {match.group(1)!r}, row {row}: the server refused the value ({message})"
    batch_first = first_row_number if batch_first_row is None else batch_first_row
    return f"rows from {batch_first}: the server refused a value ({message})"


#: Rows per LOAD DATA statement: a batch is loaded in chunks so that the next chunk is formatted
#: while the server loads the one before it.
CHUNK_ROWS = 10_000


class _ChunkLoad:
    """One chunk's LOAD DATA running in a thread (the driver releases the GIL while it waits)."""

    def __init__(self, writer: LoadDataWriter, data: bytes, batch_first_row: int,
                 first_row_number: int) -> None:
        self._loaded = 0
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._loaded = writer._load(data, batch_first_row, first_row_number)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller by result()
                self._error = exc

        self._thread = threading.Thread(target=run, name="qdbm-load-data", daemon=True)
        self._thread.start()

    def result(self) -> int:
        """Wait for the load; the rows loaded, or the load's exception raised here."""
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._loaded


class InsertWriter:
    """Multi-row INSERT statements with bound values, each kept below ``max_allowed_packet``.

    The fallback where the server refuses ``LOAD DATA LOCAL`` (``local_infile=OFF``).
    """

    def __init__(self, dialect: MySQLDialect, connection: MySQLConnection, table: TableName,
                 columns: Sequence[Column], max_packet: int) -> None:
        self._negative_zeros = _negative_zeros(connection, columns)
        self._connection = connection
        self._columns = list(columns)
        self._checks = [value_checker(c.type) for c in columns]
        names = ", ".join(dialect.quote_identifier(c.name) for c in columns)
        self._sql = (f"INSERT INTO {dialect.qualified(table)} ({names}) "
                     f"VALUES ({', '.join(['%s'] * len(columns))})")
        # Escaping can double a value's bytes; leave room for the statement around the values.
        self._budget = max(64 * 1024, max_packet // 2 - len(self._sql.encode()) - 1024)
        self._session = _LoadSession(connection)

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._negative_zeros.warnings("MariaDB") if self._negative_zeros else ()

    def write(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> None:
        if self._negative_zeros:
            self._negative_zeros.count(rows)
        checks = self._checks
        width = len(checks)
        chunk: list[tuple[Any, ...]] = []
        size = 0
        for offset, row in enumerate(rows):
            try:
                if len(row) != width:
                    raise _BadValue("row width")
                values = tuple([None if v is None else c(v) for c, v in zip(checks, row, strict=True)])
            except _BAD:
                raise _row_error(self._columns, row, first_row_number + offset, checks) from None
            row_size = 2 * sum(len(v) if isinstance(v, (str, bytes)) else 12 for v in values) + 4 * width
            if chunk and size + row_size > self._budget:
                self._send(chunk, first_row_number + offset - len(chunk))
                chunk, size = [], 0
            chunk.append(values)
            size += row_size
        if chunk:
            self._send(chunk, first_row_number + len(rows) - len(chunk))

    def _send(self, chunk: list[tuple[Any, ...]], first_row_number: int) -> None:
        import mysql.connector

        cursor = self._connection.cursor()
        try:
            cursor.executemany(self._sql, chunk)
        except mysql.connector.DataError as exc:
            raise ValueRejected(_locate_warning(str(exc.msg), first_row_number, self._columns)) from None
        finally:
            cursor.close()

    def finish(self) -> None:
        self._session.restore()
