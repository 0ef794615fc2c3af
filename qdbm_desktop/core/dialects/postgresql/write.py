"""Loading: one binary (or text) COPY per batch, canonical values checked on the way."""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal, localcontext
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

from qdbm_desktop.core.dialects.base import (
    TableName,
)
from qdbm_desktop.core.dialects.postgresql.types import (
    _EXACT,
    _INT_RANGE,
    _KIND_BY_OID,
    _TEXTUAL_OIDS,
    BPCHAR,
    FLOAT4,
    JSON,
    JSONB,
    NAME,
    NUMERIC,
    TEXT,
    TIME,
    TIMESTAMP,
    TIMESTAMPTZ,
    UUID,
    VARCHAR,
    _PgType,
    portable_type,
)
from qdbm_desktop.core.dialects.postgresql.values import array_writer
from qdbm_desktop.core.errors import UsageError, one_line
from qdbm_desktop.core.types import (
    END_OF_DAY,
    Column,
    ValueRejected,
    decimal_fit_error,
    int_range_check,
)

if TYPE_CHECKING:
    import psycopg

    from qdbm_desktop.core.dialects.postgresql.dialect import PostgreSQLDialect

_FLOAT4_MAX = 3.4028234663852886e38
_FLOAT4_MIN_NORMAL_DENORM = 1.401298464324817e-45
_INT64 = struct.Struct("!q")
_COPY_CONTEXT = re.compile(r"COPY .*?, line (\d+), column (.*)", re.DOTALL)


def _json_dumpers() -> tuple[type, type]:
    """Binary COPY dumpers taking the JSON text as it is (psycopg's own would re-encode a str)."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class JsonTextBinaryDumper(Dumper):
        format = Format.BINARY
        oid = JSON

        def dump(self, obj: Any) -> bytes:
            return str(obj).encode()

    class JsonbTextBinaryDumper(Dumper):
        format = Format.BINARY
        oid = JSONB

        def dump(self, obj: Any) -> bytes:
            return b"\x01" + str(obj).encode()  # jsonb binary format version 1, then the text

    return JsonTextBinaryDumper, JsonbTextBinaryDumper


def _time_dumper() -> type:
    """The binary COPY dumper for ``time``: microseconds since midnight, 24:00:00 included."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class TimeBinaryDumper(Dumper):
        format = Format.BINARY
        oid = TIME

        def dump(self, obj: Any) -> bytes:
            if obj.__class__ is timedelta:
                micros = obj // timedelta(microseconds=1)
            else:
                micros = ((obj.hour * 60 + obj.minute) * 60 + obj.second) * 1_000_000 + obj.microsecond
            return _INT64.pack(micros)

    return TimeBinaryDumper


def _as_uuid(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not a UUID") from None


def _as_text(value: Any) -> str:
    if value.__class__ is str:
        return str(value)
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _time_text(value: Any) -> Any:
    return "24:00:00" if value == END_OF_DAY else value


#: Types binary COPY can write from canonical values without a cast on the server.
_BINARY_OK = frozenset(_KIND_BY_OID)


def _timestamp_converter(value: Any) -> Any:
    # A zoned instant into a column without zone is stored as UTC, as promised in types.py.
    if value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _timestamptz_converter(value: Any) -> Any:
    # The load session runs in UTC, so a time without zone is read as UTC, as a text COPY would.
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _decimal_converter(precision: int | None, scale: int) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value.__class__ is not Decimal:
            value = Decimal(value) if isinstance(value, int) else Decimal(str(value))
        # The server would round silently; a value with more digits than the scale is refused.
        problem = decimal_fit_error(value, precision, scale) if value.is_finite() else None
        if problem:
            raise ValueError(problem)
        return value

    return convert


_NONE_TYPE = type(None)


def _classes(values: list[Any]) -> set[type]:
    classes = set(map(type, values))
    classes.discard(_NONE_TYPE)
    return classes


def _int_column_check(low: int, high: int) -> Callable[[list[Any]], bool]:
    def unchanged(values: list[Any]) -> bool:
        if not _classes(values) <= {int, bool}:
            return False
        nonzero = list(filter(None, values))  # NULL and 0, which is in every range
        return not nonzero or (low <= min(nonzero) and max(nonzero) <= high)

    return unchanged


def _zone_column_check(zoned: bool) -> Callable[[list[Any]], bool]:
    def unchanged(values: list[Any]) -> bool:
        if not _classes(values) <= {datetime}:
            return False
        zones = set(map(attrgetter("tzinfo"), filter(None, values)))  # a datetime is never false
        return None not in zones if zoned else not zones or zones == {None}

    return unchanged


def _decimal_column_check(precision: int | None, scale: int) -> Callable[[list[Any]], bool]:
    exponent = Decimal(1).scaleb(-scale)
    limit = Decimal(1).scaleb(precision - scale) if precision is not None else None

    def unchanged(values: list[Any]) -> bool:
        # What decimal_fit_error tests one by one: no digit past the scale (quantizing changes nothing;
        # NaN never equals itself, infinities raise) and |value| < 10 ** (precision - scale).
        if _classes(values) != {Decimal}:
            return False
        present = list(filter(None, values))  # NULL and zeros, which always fit
        if not present:
            return True
        try:
            with localcontext(_EXACT):
                if list(map(Decimal.quantize, present, repeat(exponent))) != present:
                    return False
                return limit is None or (-limit < min(present) and max(present) < limit)
        except ArithmeticError:
            return False

    return unchanged


def _unchanged_column_check(pg_type: _PgType, binary: bool) -> Callable[[list[Any]], bool] | None:
    """A whole-column test matching ``_PgCopyWriter._converter_for``: True when no value needs it."""
    oid = pg_type.oid
    if oid == TIMESTAMP:
        return _zone_column_check(False)
    if oid == TIMESTAMPTZ:
        return _zone_column_check(True)
    if oid == NUMERIC:
        numeric = portable_type(oid, pg_type.typmod)
        return _decimal_column_check(numeric.precision, numeric.scale) if numeric.scale is not None else None
    if binary and oid in _INT_RANGE:
        return _int_column_check(*_INT_RANGE[oid])
    return None


def _float4_converter(value: Any) -> Any:
    # Binary COPY would store an overflowing float as infinity and an underflowing one as 0.
    magnitude = abs(value)
    if magnitude > _FLOAT4_MAX and magnitude != float("inf"):
        raise ValueError(f"{value!r} is out of range for real")
    if 0 < magnitude < _FLOAT4_MIN_NORMAL_DENORM:
        raise ValueError(f"{value!r} is too close to zero for real")
    return value


class _PgCopyWriter:
    """Loads batches with one COPY ... FROM STDIN per batch, binary where every column allows it.

    One COPY per batch keeps the connection out of COPY state between calls, so a failure
    anywhere in the pipeline can simply roll back, and server errors name a row of this batch.
    """

    #: Nothing is changed on the way: a value PostgreSQL cannot hold is refused.
    warnings: tuple[str, ...] = ()

    def __init__(self, connection: psycopg.Connection[Any], dialect: PostgreSQLDialect, table: TableName,
                 columns: Sequence[Column], binary: bool | None = None) -> None:
        self._connection = connection
        self._names = [c.name for c in columns]
        actual = dialect._column_types(connection, table)
        missing = [n for n in self._names if n not in actual]
        if missing:
            raise UsageError(f"table {table} has no column {missing[0]!r}")
        types = [actual[n] for n in self._names]
        self._oids = [t.oid for t in types]
        if binary is None:
            binary = all(oid in _BINARY_OK for oid in self._oids)
        self._binary = binary
        fmt = "BINARY" if binary else "TEXT"
        self._sql = (f"COPY {dialect.qualified(table)} "
                     f"({', '.join(dialect.quote_identifier(n) for n in self._names)}) "
                     f"FROM STDIN (FORMAT {fmt})")
        # Types the chosen format cannot dump themselves go as text for the server to parse.
        # Character types share text's wire format, which has psycopg's fastest dumper.
        # In text COPY, JSON goes as its text too (psycopg's JSON dumper would quote a str again).
        as_text = (BPCHAR, VARCHAR, NAME) if binary else (BPCHAR, VARCHAR, NAME, JSON, JSONB)
        self._copy_types = [oid if (oid in _BINARY_OK if binary else oid in _KIND_BY_OID)
                            and oid not in as_text else TEXT for oid in self._oids]
        self._converters: list[tuple[int, Callable[[Any], Any]]] = []
        #: Per converted column: a whole-column test that every value would pass its converter unchanged.
        self._column_checks: list[tuple[int, Callable[[Any], Any], Callable[[list[Any]], bool] | None]] = []
        for i, t in enumerate(types):
            converter = self._converter_for(t, binary)
            if converter is not None:
                self._converters.append((i, converter))
                self._column_checks.append((i, converter, _unchanged_column_check(t, binary)))
        self._nul_checked = [i for i, t in enumerate(types)
                             if t.oid in _TEXTUAL_OIDS or t.oid not in _KIND_BY_OID]
        self._cursor = connection.cursor()
        if binary:
            for dumper in (*_json_dumpers(), _time_dumper()):
                self._cursor.adapters.register_dumper(None, dumper)

    @staticmethod
    def _converter_for(pg_type: _PgType, binary: bool) -> Callable[[Any], Any] | None:
        oid = pg_type.oid
        if pg_type.is_array:
            return array_writer(pg_type.element_oid)
        if oid == TIME and not binary:
            return _time_text  # the binary dumper of _time_dumper takes 24:00 itself
        if oid == UUID:
            return _as_uuid  # text holding a UUID (a MySQL CHAR(36) column)
        if oid not in _KIND_BY_OID:
            return _as_text  # loaded as text for the server to parse (money from a decimal ...)
        if oid == TIMESTAMP:
            return _timestamp_converter
        if oid == TIMESTAMPTZ:
            return _timestamptz_converter
        if oid == NUMERIC:
            numeric = portable_type(oid, pg_type.typmod)
            if numeric.scale is not None:
                return _decimal_converter(numeric.precision, numeric.scale)
            return None
        if binary and oid in _INT_RANGE:
            # Binary COPY dumpers wrap out-of-range integers silently, so the range is checked here.
            return int_range_check(*_INT_RANGE[oid], pg_type.display)
        if binary and oid == FLOAT4:
            return _float4_converter
        return None

    def write(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> None:
        if not rows:
            return
        self._check_nul(rows, first_row_number)
        import psycopg

        converters = self._needed_converters(rows)
        number = first_row_number
        try:
            with self._cursor.copy(self._sql) as copy:
                copy.set_types(self._copy_types)
                write_row = copy.write_row
                if converters:
                    for number, row in enumerate(rows, first_row_number):  # noqa: B007
                        values = list(row)
                        for i, convert in converters:
                            value = values[i]
                            if value is not None:
                                values[i] = convert(value)
                        write_row(values)
                else:
                    for number, row in enumerate(rows, first_row_number):  # noqa: B007
                        write_row(row)
        except psycopg.Error as exc:
            raise self._server_rejection(exc, first_row_number) from exc
        except Exception as exc:  # a dumper refusing a value raises whatever its type hits
            raise self._client_rejection(rows[number - first_row_number], number, exc) from exc

    def _needed_converters(self, rows: Sequence[tuple[Any, ...]]) -> list[tuple[int, Callable[[Any], Any]]]:
        """The converters some value of this batch needs: a column that passes its whole-column test
        (one C-level pass: types, min and max, zones) would come out of its converter unchanged."""
        needed = []
        for i, convert, unchanged in self._column_checks:
            if unchanged is None or not unchanged(list(map(itemgetter(i), rows))):
                needed.append((i, convert))
        return needed

    def finish(self) -> None:
        """Every batch was sent with its own COPY; nothing is buffered."""
        self._cursor.close()

    def _check_nul(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> None:
        # PostgreSQL text cannot hold NUL; one C-level join per column and batch finds it cheaply.
        for i in self._nul_checked:
            try:
                found = "\x00" in "\x01".join(filter(None, map(itemgetter(i), rows)))
            except TypeError:
                found = True  # not all str: look row by row
            if not found:
                continue
            for number, row in enumerate(rows, first_row_number):
                value = row[i]
                if isinstance(value, str) and "\x00" in value:
                    raise ValueRejected(f"column {self._names[i]!r}, row {number}: text holds a NUL "
                                        "character (0x00), which PostgreSQL cannot store")

    def _client_rejection(self, row: Sequence[Any], number: int, exc: Exception) -> ValueRejected:
        """Find which value of ``row`` could not be converted or dumped."""
        from psycopg.pq import Format

        fmt = Format.BINARY if self._binary else Format.TEXT
        for i, value in enumerate(row):
            if value is None:
                continue
            try:
                for index, convert in self._converters:
                    if index == i:
                        value = convert(value)
            except (ValueError, TypeError, ArithmeticError) as cause:
                # Our own check: its message names the value and the column's type.
                return ValueRejected(f"column {self._names[i]!r}, row {number}: {one_line(str(cause))}")
            try:
                dumper = self._cursor.adapters.get_dumper_by_oid(self._copy_types[i], fmt)
                dumper(type(value), self._cursor).dump(value)
            except Exception as cause:  # noqa: BLE001 - a dumper raises whatever its type hits
                kind = type(value).__name__
                return ValueRejected(f"column {self._names[i]!r}, row {number}: cannot store {kind} "
                                     f"value: {one_line(str(cause))}")
        return ValueRejected(f"row {number}: {one_line(str(exc))}")

    def _server_rejection(self, exc: Exception, first_row_number: int) -> Exception:
        """A server error about one value (context ``COPY t, line N, column C[: value]``) as ValueRejected."""
        diag = getattr(exc, "diag", None)
        context = (diag.context if diag is not None else None) or ""
        match = _COPY_CONTEXT.search(context)
        if not match:
            return exc
        rest = match.group(2)
        # Column names may hold commas and colons: match the known names, longest first.
        name = next((n for n in sorted(self._names, key=len, reverse=True)
                     if rest == n or rest.startswith(n + ":")), rest)
        primary = (diag.message_primary if diag is not None else None) or one_line(str(exc))
        row = first_row_number + int(match.group(1)) - 1
        return ValueRejected(f"column {name!r}, row {row}: {primary}")
