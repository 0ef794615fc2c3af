"""PostgreSQL through psycopg 3."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Context, Decimal, localcontext
from itertools import repeat
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

from qdbm_desktop.core.dialects.base import (
    BulkWriter,
    ConnectParams,
    Dialect,
    LoadMode,
    ReadFailed,
    ReadStream,
    SwapPlan,
    TableName,
    lock_digest,
)
from qdbm_desktop.core.errors import UsageError, one_line
from qdbm_desktop.core.sqlcheck import query_body, query_error, wrap_query
from qdbm_desktop.core.types import (
    INT_RANGES,
    Column,
    Kind,
    PortableType,
    ValueRejected,
    decimal_fit_error,
    int_range_check,
)

# Built-in type OIDs (fixed in every PostgreSQL since 8.x; see pg_type.dat).
INT2, INT4, INT8, NUMERIC, FLOAT4, FLOAT8, BOOL = 21, 23, 20, 1700, 700, 701, 16
BPCHAR, VARCHAR, TEXT, NAME, BYTEA = 1042, 1043, 25, 19, 17
DATE, TIME, TIMESTAMP, TIMESTAMPTZ, JSON, JSONB, UUID = 1082, 1083, 1114, 1184, 114, 3802, 2950

#: Types read as their own kind; every other type is read as its text representation.
_KIND_BY_OID: dict[int, Kind] = {
    INT2: Kind.INT16, INT4: Kind.INT32, INT8: Kind.INT64, NUMERIC: Kind.DECIMAL,
    FLOAT4: Kind.FLOAT32, FLOAT8: Kind.FLOAT64, BOOL: Kind.BOOLEAN,
    BPCHAR: Kind.CHAR, VARCHAR: Kind.VARCHAR, TEXT: Kind.TEXT, NAME: Kind.TEXT, BYTEA: Kind.BINARY,
    DATE: Kind.DATE, TIME: Kind.TIME, TIMESTAMP: Kind.TIMESTAMP, TIMESTAMPTZ: Kind.TIMESTAMPTZ,
    JSON: Kind.JSON, JSONB: Kind.JSON, UUID: Kind.UUID,
}
#: psycopg's default loaders already give the canonical value for these.
_NATIVE_LOAD = frozenset(_KIND_BY_OID) - {JSON, JSONB}
_TEXTUAL_OIDS = frozenset({BPCHAR, VARCHAR, TEXT, NAME, JSON, JSONB})

_INT_RANGE = {INT2: INT_RANGES[Kind.INT16], INT4: INT_RANGES[Kind.INT32], INT8: INT_RANGES[Kind.INT64]}
_FLOAT4_MAX = 3.4028234663852886e38
_FLOAT4_MIN_NORMAL_DENORM = 1.401298464324817e-45
#: Wide enough that quantizing any decimal we meet is exact, never rounded by the context.
_EXACT = Context(prec=100_000, Emax=999_999_999, Emin=-999_999_999)
#: Seconds a cancel request may take to reach the server.
_CANCEL_TIMEOUT = 2.0
_COPY_CONTEXT = re.compile(r"COPY .*?, line (\d+), column (.*)", re.DOTALL)


def portable_type(oid: int, typmod: int = -1) -> PortableType:
    """The portable type for a PostgreSQL type OID and type modifier (as libpq or pg_attribute give them).

    Types without a portable kind (arrays, interval, enums, inet, timetz, ...) map to text:
    they are read as their PostgreSQL text representation.
    """
    kind = _KIND_BY_OID.get(oid, Kind.TEXT)
    if oid == NUMERIC:
        if typmod < 4:
            return PortableType(Kind.DECIMAL)
        precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
        if scale > 0x7FF:  # PostgreSQL 15 allows a negative scale (11-bit signed): whole numbers
            return PortableType(Kind.DECIMAL, precision=precision + (0x800 - (scale & 0x7FF)), scale=0)
        if scale > precision:  # numeric(2,5): values below 0.001; store with the larger scale
            return PortableType(Kind.DECIMAL, precision=scale, scale=scale)
        return PortableType(Kind.DECIMAL, precision=precision, scale=scale)
    if oid in (BPCHAR, VARCHAR):
        return PortableType(kind, length=typmod - 4 if typmod >= 4 else None)
    return PortableType(kind)


@dataclass(frozen=True)
class _PgType:
    """A column's type as the catalog tells it: base type of domains resolved."""

    oid: int
    typmod: int
    display: str


def _catalog_types(connection: Any, pairs: Sequence[tuple[int, int]]) -> list[_PgType]:
    """Resolve (oid, typmod) pairs: the SQL spelling (format_type) and, for domains, the base type."""
    if not pairs:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format_type(u.o, u.m), "
            "CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE u.o END, "
            "CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE u.m END "
            "FROM unnest(%s::oid[], %s::int4[]) WITH ORDINALITY AS u(o, m, i) "
            "LEFT JOIN pg_catalog.pg_type t ON t.oid = u.o ORDER BY u.i",
            ([p[0] for p in pairs], [p[1] for p in pairs]))
        return [_PgType(int(oid), int(mod), str(display)) for display, oid, mod in cursor.fetchall()]


def _numbered_markers(query: str) -> str:
    """psycopg's form of a query with parameters (``%s`` markers, ``%%`` for a percent sign) in
    the server's own form (``$1``, ``$2`` ... and ``%``), for describing it without running it."""
    numbers = iter(range(1, 1_000_000))
    return re.sub(r"%[%s]", lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", query)


class _PgReadStream:
    """A query streamed in chunks of ``batch_size`` rows (libpq chunked-rows mode)."""

    #: Nothing is changed on the way: a value with no equal elsewhere ('infinity') fails the read.
    warnings: tuple[str, ...] = ()

    def __init__(self, connection: Any, query: str, batch_size: int, columns: list[Column],
                 cursor: Any, transaction: Any, type_ids: list[tuple[int, int]],
                 params: Sequence[Any] | None = None) -> None:
        self.columns = columns
        #: Values bound to the query's ``%s`` markers (none: the query's text is sent as it is).
        self.params = list(params) if params else None
        #: (type OID, typmod) of each result column, as the server described them.
        self.type_ids = type_ids
        self._connection = connection
        self._query = query
        self._batch_size = batch_size
        self._cursor = cursor
        self._transaction = transaction
        self._rows: Generator[Any, None, None] | None = None
        self._copy: Any = None
        self._closed = False

    @property
    def started(self) -> bool:
        return self._rows is not None or self._copy is not None

    def raw_copy(self) -> Any:
        """``COPY (query) TO STDOUT (FORMAT BINARY)`` in this stream's read-only transaction."""
        statement = wrap_query("COPY (", self._query, ") TO STDOUT (FORMAT BINARY)", "postgresql")
        self._copy = self._cursor.copy(statement)
        return self._copy

    def cancel(self) -> None:
        """Ask the server to stop the running query (safe from another thread)."""
        self._connection.cancel_safe()

    def copied_rows(self) -> int:
        """The row count of the finished raw copy, as the server reported it."""
        return int(self._cursor.rowcount)

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        import psycopg

        size = self._batch_size
        self._rows = self._cursor.stream(self._query, self.params, size=size)
        batch: list[tuple[Any, ...]] = []
        try:
            for row in self._rows:
                batch.append(row)
                if len(batch) >= size:
                    yield batch
                    batch = []
        except psycopg.DataError as exc:
            raise self._explained(exc) from exc
        if batch:
            yield batch

    def _explained(self, exc: Exception) -> Exception:
        """psycopg's "date too large: 'infinity'" names no column: name the ones it can be."""
        text = str(exc)
        if "infinity" not in text and "too large" not in text and "too small" not in text:
            return exc
        dated = (Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ)
        suspects = [c.name for c in self.columns if c.type.kind in dated]
        where = f" (date and time columns of the query: {', '.join(suspects)})" if suspects else ""
        return ValueError(
            f"{text.strip()}{where}: PostgreSQL's 'infinity' and dates beyond year 9999 have no equal in the "
            "other databases; turn them into NULL or a date in the query, e.g. "
            "NULLIF(col, 'infinity'::timestamp)"
        )

    def close(self) -> None:
        import psycopg

        if self._closed:
            return
        self._closed = True
        try:
            if self._rows is not None:
                try:
                    self._rows.close()  # mid-stream: psycopg cancels the query and drains it
                except ValueError:
                    # Still running in the reader thread: cancel it there; the lock waits for it.
                    self._connection.cancel_safe()
            self._cursor.close()
        finally:
            if not (self._connection.closed or self._connection.broken):
                # Nothing was written, so ending with a rollback is the same as a commit and
                # also works after a cancelled or failed query.
                self._transaction.__exit__(psycopg.Rollback, psycopg.Rollback(self._transaction), None)


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

    def __init__(self, connection: Any, dialect: PostgreSQLDialect, table: TableName,
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
        self._copy_types = [oid if (oid in _BINARY_OK if binary else oid in _KIND_BY_OID)
                            and oid not in (BPCHAR, VARCHAR, NAME) else TEXT for oid in self._oids]
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
            for dumper in _json_dumpers():
                self._cursor.adapters.register_dumper(None, dumper)

    @staticmethod
    def _converter_for(pg_type: _PgType, binary: bool) -> Callable[[Any], Any] | None:
        oid = pg_type.oid
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
            except Exception as cause:
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


class PostgreSQLDialect(Dialect):
    name = "postgresql"
    display_name = "PostgreSQL"
    default_port = 5432
    max_identifier_length = 63

    def connect(self, params: ConnectParams, timeout: float) -> Any:
        import psycopg

        kwargs: dict[str, Any] = {
            "host": params.host or "localhost",
            "port": params.port or self.default_port,
            "dbname": params.database or None,
            "user": params.user or None,
            "password": params.password or None,
            "connect_timeout": max(1, int(round(timeout))),
            "application_name": "QDBM Desktop",
        }
        kwargs.update(params.options)
        if params.read_only:
            # Every transaction of a source session is read-only, whatever runs in it.
            kwargs["options"] = f"{kwargs.get('options') or ''} -c default_transaction_read_only=on".strip()
        return psycopg.connect(**{k: v for k, v in kwargs.items() if v is not None})

    def server_version(self, connection: Any) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            row = cursor.fetchone()
        return f"PostgreSQL {row[0]}"

    # -- names ----------------------------------------------------------------------------------

    def quote_identifier(self, name: str) -> str:
        """Double-quoted, embedded quotes doubled (as psycopg's ``sql.Identifier``)."""
        self.check_identifier(name)
        if "\x00" in name:
            raise UsageError(f"the name {name!r} holds a NUL character, which PostgreSQL does not allow")
        return '"' + name.replace('"', '""') + '"'

    # -- reading --------------------------------------------------------------------------------

    percent_placeholders = True

    def param_marker(self, index: int) -> str:
        return "%s"

    def open_read(self, connection: Any, query: str, batch_size: int,
                  params: Sequence[Any] | None = None) -> ReadStream:
        """Stream ``query`` in a read-only transaction, ``batch_size`` rows per server round trip.

        With ``params``, the query's ``%s`` markers are bound server-side (a literal ``%`` is ``%%``)."""
        import psycopg
        from psycopg.pq import Format
        from psycopg.types.string import TextLoader

        if batch_size < 1:
            raise UsageError(f"the batch size must be at least 1 (got {batch_size})")
        query = query_body(query, self.name)
        described = self._describe(connection, _numbered_markers(query) if params else query)
        transaction = connection.transaction()
        transaction.__enter__()
        try:
            with connection.cursor() as cursor:
                # A read-only transaction makes the server refuse any write the query attempts,
                # including data-modifying CTEs and volatile functions that write.
                cursor.execute("SET TRANSACTION READ ONLY")
            types = _catalog_types(connection, [(oid, mod) for _, oid, mod in described])
            columns = [Column(name, portable_type(t.oid, t.typmod), True, t.display)
                       for (name, _, _), t in zip(described, types, strict=True)]
            cursor = connection.cursor()
            # JSON stays the server's text (no parse and re-serialise); types without a portable
            # kind (arrays, interval, enums ...) are read as their text representation.
            for (_, oid, _), t in zip(described, types, strict=True):
                if t.oid not in _NATIVE_LOAD:
                    cursor.adapters.register_loader(oid, TextLoader)
                elif oid != t.oid:  # a domain over a known type loads as its base type
                    cursor.adapters.register_loader(oid, cursor.adapters.get_loader(t.oid, Format.TEXT))
        except BaseException:
            transaction.__exit__(psycopg.Rollback, psycopg.Rollback(transaction), None)
            raise
        return _PgReadStream(connection, query, batch_size, columns, cursor, transaction,
                             [(oid, mod) for _, oid, mod in described], params)

    def cancel_running(self, connection: Any, params: ConnectParams) -> None:
        """libpq's cancel request (its own short connection to the server); ignored by an idle session."""
        if not (connection.closed or connection.broken):
            connection.cancel_safe(timeout=_CANCEL_TIMEOUT)

    def _describe(self, connection: Any, query: str) -> list[tuple[str, int, int]]:
        """The result columns (name, type OID, typmod) of ``query``, without running it."""
        import psycopg
        from psycopg.pq import DiagnosticField, ExecStatus

        encoding = connection.info.encoding
        pgconn = connection.pgconn
        # The unnamed statement is only parsed and analysed here: nothing executes.
        result = pgconn.prepare(b"", query.encode(encoding), None)
        if result.status == ExecStatus.COMMAND_OK:
            result = pgconn.describe_prepared(b"")
        if result.status != ExecStatus.COMMAND_OK:
            sqlstate = (result.error_field(DiagnosticField.SQLSTATE) or b"").decode()
            message = result.error_message.decode(encoding, "replace")
            error_class = psycopg.errors.lookup(sqlstate) if sqlstate else psycopg.OperationalError
            # The lines stay: the caller turns the echoed "LINE n:" into the query's line number.
            raise error_class(message.removeprefix("ERROR:").strip())
        if result.nfields == 0:
            raise UsageError("the query returns no rows: give a SELECT (or another statement with a result)")
        return [((result.fname(i) or b"").decode(encoding), result.ftype(i), result.fmod(i))
                for i in range(result.nfields)]

    # -- types ----------------------------------------------------------------------------------

    def native_type(self, ptype: PortableType) -> str:
        kind = ptype.kind
        if kind is Kind.DECIMAL:
            if ptype.precision is None:
                return "numeric"
            if ptype.precision > 1000:
                raise UsageError(f"{ptype} is wider than PostgreSQL's numeric allows (precision 1000)")
            return f"numeric({ptype.precision},{ptype.scale or 0})"
        if kind is Kind.CHAR:
            # char without a length is char(1) in PostgreSQL, which would cut values: use text.
            return f"char({ptype.length})" if ptype.length else "text"
        if kind is Kind.VARCHAR:
            return f"varchar({ptype.length})" if ptype.length else "varchar"
        return _NATIVE_TYPES[kind]

    # -- loading --------------------------------------------------------------------------------

    def load_session_sql(self) -> tuple[str, ...]:
        return ("SET TIME ZONE 'UTC'",)

    def _regclass(self, connection: Any, table: TableName) -> int | None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)::oid", (self.qualified(table),))
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def table_exists(self, connection: Any, table: TableName) -> bool:
        return self._regclass(connection, table) is not None

    def _column_rows(self, connection: Any, table: TableName) -> list[tuple[str, int, int, bool]]:
        relid = self._regclass(connection, table)
        if relid is None:
            raise UsageError(f"table {table} does not exist")
        with connection.cursor() as cursor:
            cursor.execute("SELECT attname, atttypid, atttypmod, attnotnull FROM pg_catalog.pg_attribute "
                           "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                           (relid,))
            return [(str(n), int(o), int(m), bool(nn)) for n, o, m, nn in cursor.fetchall()]

    def _column_types(self, connection: Any, table: TableName) -> dict[str, _PgType]:
        rows = self._column_rows(connection, table)
        types = _catalog_types(connection, [(oid, mod) for _, oid, mod, _ in rows])
        return {name: t for (name, _, _, _), t in zip(rows, types, strict=True)}

    def table_columns(self, connection: Any, table: TableName) -> list[Column]:
        rows = self._column_rows(connection, table)
        types = _catalog_types(connection, [(oid, mod) for _, oid, mod, _ in rows])
        return [Column(name, portable_type(t.oid, t.typmod), not notnull, t.display)
                for (name, _, _, notnull), t in zip(rows, types, strict=True)]

    def create_table_sql(self, table: TableName, columns: Sequence[Column],
                         primary_key: Sequence[str] = ()) -> str:
        if not columns:
            raise UsageError(f"table {table} needs at least one column")
        parts = [f"{self.quote_identifier(c.name)} {self.native_type(c.type)}"
                 + ("" if c.nullable else " NOT NULL") for c in columns]
        if primary_key:
            parts.append(f"PRIMARY KEY ({', '.join(self.quote_identifier(k) for k in primary_key)})")
        return f"CREATE TABLE {self.qualified(table)} ({', '.join(parts)})"

    def list_tables(self, connection: Any, schema: str | None, prefix: str) -> list[TableName]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT c.relname FROM pg_catalog.pg_class c "
                           "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = coalesce(%s, current_schema()) AND c.relkind IN ('r', 'p') "
                           "AND starts_with(c.relname, %s) ORDER BY c.relname", (schema, prefix))
            return [TableName(str(name), schema) for (name,) in cursor.fetchall()]

    def copy_between(self, stream: ReadStream, target_connection: Any, table: TableName,
                     should_stop: Callable[[], bool], on_rows: Callable[[int], None]) -> int | None:
        """Binary COPY out of the source straight into binary COPY in: no row is decoded.

        Binary COPY carries each value in its type's wire format, so it is only used when every
        column has the same type OID and modifier on both sides (built-in types have the same
        OIDs on every server; user types such as enums do not, and take the row path).
        """
        if not isinstance(stream, _PgReadStream) or stream.started or stream.params:
            return None  # COPY takes no parameters
        target_types = [(oid, mod) for _, oid, mod, _ in self._column_rows(target_connection, table)]
        if target_types != stream.type_ids:
            return None
        columns = ", ".join(self.quote_identifier(c.name) for c in stream.columns)
        copy_in_sql = f"COPY {self.qualified(table)} ({columns}) FROM STDIN (FORMAT BINARY)"
        # The server sends one COPY message per row (the first one also carries the header).
        blocks = 0
        finished = threading.Event()

        def watch() -> None:
            # A query still computing its first row blocks the loop below: cancel it from here.
            while not finished.wait(0.2):
                if should_stop():
                    stream.cancel()
                    return

        watchdog = threading.Thread(target=watch, name="qdbm-copy-watchdog", daemon=True)
        watchdog.start()
        try:
            with ExitStack() as copies:
                try:
                    copy_out = copies.enter_context(stream.raw_copy())
                except Exception as exc:  # noqa: BLE001 - starting the COPY of the user's query: a source error
                    if should_stop():
                        raise InterruptedError("stopped") from exc
                    raise ReadFailed(query_error(str(exc))) from exc
                cursor = copies.enter_context(target_connection.cursor())
                copy_in = copies.enter_context(cursor.copy(copy_in_sql))
                source_blocks = iter(copy_out)
                while True:
                    try:
                        block = next(source_blocks)
                    except StopIteration:
                        break
                    except Exception as exc:  # noqa: BLE001 - the source's error, told apart from ours
                        if should_stop():
                            raise InterruptedError("stopped") from exc
                        raise ReadFailed(query_error(str(exc))) from exc
                    if should_stop():
                        raise InterruptedError("stopped")
                    copy_in.write(block)
                    blocks += 1
                    if blocks % 2_000 == 0:
                        on_rows(blocks)
        finally:
            finished.set()
            watchdog.join()
        rows = stream.copied_rows()
        on_rows(rows)
        return rows

    def open_writer(self, connection: Any, table: TableName, columns: Sequence[Column],
                    work_dir: Path | None = None) -> BulkWriter:
        """Binary COPY when every column type allows it, else text COPY (the server parses)."""
        return _PgCopyWriter(connection, self, table, columns)

    # -- locks between runs ---------------------------------------------------------------------

    def open_lock_session(self, params: ConnectParams, timeout: float) -> Any:
        connection = self.connect(params, timeout)
        # Session advisory locks outlive transactions; autocommit keeps the session from sitting
        # idle in a transaction (and holding back VACUUM) for a whole run.
        connection.autocommit = True
        return connection

    @staticmethod
    def lock_key(name: str) -> int:
        """The advisory lock key for ``name``: 64 bits of its digest (keys are per database)."""
        return int.from_bytes(bytes.fromhex(lock_digest(name, 16)), "big", signed=True)

    def try_lock(self, session: Any, name: str) -> bool:
        with session.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key(name),))
            row = cursor.fetchone()
        return bool(row and row[0])

    def unlock(self, session: Any, name: str) -> None:
        with session.cursor() as cursor:
            # Without the lock the server only warns; the session may have lost it with a restart.
            cursor.execute("SELECT pg_advisory_unlock(%s)", (self.lock_key(name),))

    def table_lock_name(self, session: Any, table: TableName) -> str:
        with session.cursor() as cursor:
            cursor.execute("SELECT coalesce(%s, current_schema())", (table.schema,))
            row = cursor.fetchone()
        # Quoted names are case-sensitive in PostgreSQL: the spelling is the identity.
        return "qdbm-table:" + json.dumps([row[0] if row else table.schema, table.name])

    def finalize(self, connection: Any, mode: LoadMode, target: TableName, staging: TableName,
                 columns: Sequence[Column], keys: Sequence[str], target_exists: bool) -> None:
        """One transaction: PostgreSQL DDL is transactional, so even a swap is all or nothing."""
        with connection.transaction(), connection.cursor() as cursor:
            exists = self._regclass(connection, target) is not None
            if mode is LoadMode.CREATE and exists:
                raise UsageError(f"table {target} already exists (mode 'create' makes a new table; "
                                 "use append, truncate, replace or upsert for an existing one)")
            renames = mode in (LoadMode.REPLACE, LoadMode.CREATE) or not exists
            casts: dict[str, str] = {}
            if renames:
                if (target.schema or None) != (staging.schema or None):
                    staging = self._move_to_schema(cursor, staging, target)
            else:
                casts = self._insert_casts(connection, target, columns)
                if mode is LoadMode.UPSERT:
                    self._check_upsert_keys(cursor, target, columns, keys)
            for statement in self.swap_plan(mode, target, staging, columns, keys, exists, casts).statements:
                cursor.execute(statement)
            new_upsert_table = renames and mode is LoadMode.UPSERT and keys
            if new_upsert_table and not self._has_unique_key(cursor, target, keys):
                # A new table made by upsert gets its key, so the next upsert finds it.
                cursor.execute(f"ALTER TABLE {self.qualified(target)} ADD PRIMARY KEY "
                               f"({', '.join(self.quote_identifier(k) for k in keys)})")
        if not connection.autocommit:
            connection.commit()

    def swap_plan(self, mode: LoadMode, target: TableName, staging: TableName, columns: Sequence[Column],
                  keys: Sequence[str], target_exists: bool,
                  casts: Mapping[str, str] | None = None) -> SwapPlan:
        target_q, staging_q = self.qualified(target), self.qualified(staging)
        statements: list[str] = []
        if mode in (LoadMode.REPLACE, LoadMode.CREATE) or not target_exists:
            if mode is LoadMode.REPLACE and target_exists:
                statements.append(f"DROP TABLE {target_q}")
            # RENAME TO takes a bare name: the table stays in its (the target's) schema.
            statements.append(f"ALTER TABLE {staging_q} RENAME TO {self.quote_identifier(target.name)}")
            return SwapPlan(tuple(statements), transactional=True)
        if mode is LoadMode.TRUNCATE:
            statements.append(f"TRUNCATE TABLE {target_q}")
        names = [c.name for c in columns]
        selected = [f"CAST({self.quote_identifier(n)} AS {casts[n]})" if casts and n in casts
                    else self.quote_identifier(n) for n in names]
        column_list = ", ".join(self.quote_identifier(n) for n in names)
        statement = f"INSERT INTO {target_q} ({column_list}) SELECT {', '.join(selected)} FROM {staging_q}"
        if mode is LoadMode.UPSERT:
            if not keys:
                raise UsageError("upsert needs key columns")
            updates = [f"{self.quote_identifier(n)} = EXCLUDED.{self.quote_identifier(n)}"
                       for n in names if n not in keys]
            conflict = f" ON CONFLICT ({', '.join(self.quote_identifier(k) for k in keys)}) "
            statement += conflict + (f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING")
        statements.append(statement)
        statements.append(f"DROP TABLE {staging_q}")
        return SwapPlan(tuple(statements), transactional=True)

    def _move_to_schema(self, cursor: Any, staging: TableName, target: TableName) -> TableName:
        cursor.execute("SELECT current_schema()")
        default = cursor.fetchone()[0]
        if (target.schema or default) == (staging.schema or default):
            return TableName(staging.name, target.schema)
        cursor.execute(f"ALTER TABLE {self.qualified(staging)} SET SCHEMA "
                       f"{self.quote_identifier(target.schema or default)}")
        return TableName(staging.name, target.schema)

    def _insert_casts(self, connection: Any, target: TableName, columns: Sequence[Column]) -> dict[str, str]:
        """Target types without a portable kind (enums, interval, arrays ...) were staged as their
        text form; an explicit cast runs their input function. Known types rely on assignment
        casts, which refuse rather than truncate (varchar(n), numeric overflow)."""
        target_types = self._column_types(connection, target)
        casts = {}
        for column in columns:
            pg_type = target_types.get(column.name)
            if pg_type is None:
                raise UsageError(f"table {target} has no column {column.name!r}")
            if pg_type.oid not in _KIND_BY_OID:
                casts[column.name] = pg_type.display
        return casts

    def _check_upsert_keys(self, cursor: Any, target: TableName, columns: Sequence[Column],
                           keys: Sequence[str]) -> None:
        if not keys:
            raise UsageError("upsert needs key columns")
        unknown = [k for k in keys if k not in [c.name for c in columns]]
        if unknown:
            raise UsageError(f"upsert key {unknown[0]!r} is not a column of the loaded data")
        if not self._has_unique_key(cursor, target, keys):
            raise UsageError(f"upsert into {target} needs a primary key or unique index on exactly "
                             f"({', '.join(keys)}); create one or choose other key columns")

    def _has_unique_key(self, cursor: Any, table: TableName, keys: Sequence[str]) -> bool:
        # ON CONFLICT (keys) needs a non-partial unique index whose columns are exactly the keys.
        wanted = sorted(set(keys))
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = to_regclass(%s) "
            "AND i.indisunique AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL "
            "AND i.indnkeyatts = cardinality(%s::text[]) "
            "AND (SELECT array_agg(a.attname::text) FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o) "
            "     JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n "
            "     WHERE k.o <= i.indnkeyatts) @> %s::text[])",
            (self.qualified(table), wanted, wanted))
        row = cursor.fetchone()
        return bool(row and row[0])


_NATIVE_TYPES: dict[Kind, str] = {
    Kind.INT16: "smallint", Kind.INT32: "integer", Kind.INT64: "bigint",
    Kind.FLOAT32: "real", Kind.FLOAT64: "double precision", Kind.BOOLEAN: "boolean",
    Kind.TEXT: "text", Kind.BINARY: "bytea", Kind.DATE: "date", Kind.TIME: "time",
    Kind.TIMESTAMP: "timestamp", Kind.TIMESTAMPTZ: "timestamptz", Kind.JSON: "jsonb", Kind.UUID: "uuid",
}
