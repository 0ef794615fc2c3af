"""Oracle Database through python-oracledb: thin mode (no client libraries) unless an Instant
Client folder is configured, which switches the process to thick mode.

Names: a name that is all lower-case letters, digits, ``_``, ``$`` and ``#`` (starting with a
letter) is stored upper-case, as Oracle stores an unquoted name, so ``SELECT id FROM orders``
finds what QDBM made from ``orders.id``; every other name (mixed case, spaces, other characters)
is kept exactly, double-quoted. Reading does the reverse: an all-upper-case simple name comes
back lower-case, so names survive a round trip.

Oracle stores an empty string as NULL. The writer counts the empty strings it sends and reports
them in ``warnings``, which the run log shows.
"""

from __future__ import annotations

import dataclasses
import json
import re
import weakref
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

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
from qdbm_desktop.core.dialects.fetch import FetchStream
from qdbm_desktop.core.errors import UsageError, one_line
from qdbm_desktop.core.sqlcheck import query_body, wrap_query
from qdbm_desktop.core.types import (
    Column,
    Kind,
    PortableType,
    TargetLimits,
    ValueRejected,
    uuid_text,
    value_check,
)

MAX_PRECISION = 38
#: Byte limits of CHAR and VARCHAR2 (VARCHAR2 with the default MAX_STRING_SIZE = STANDARD) and RAW.
MAX_CHAR_BYTES, MAX_VARCHAR2_BYTES, MAX_RAW_BYTES = 2000, 4000, 2000
#: Rows per executemany call.
CHUNK_ROWS = 10_000
#: Rows a read fetches per round trip at most (the batch size, up to this).
MAX_ARRAYSIZE = 10_000
_UTC = timezone.utc
_FOLDED = re.compile(r"[a-z][a-z0-9_$#]*")
_STORED_SIMPLE = re.compile(r"[A-Z][A-Z0-9_$#]*")
_FLOAT32_MAX = 3.4028234663852886e38
#: Marks a staging table whose final step is a swap, naming the table it replaces.
SWAP_MARKER = "qdbm replaces "
#: Errors that mean a value did not fit (too large, NULL into NOT NULL, duplicate key, bad number ...).
_VALUE_ERRORS = frozenset({1, 1400, 1401, 1438, 1722, 1830, 1839, 1841, 1843, 1847, 1858, 1861, 1877, 1878,
                           2290, 12899, 22835})


def stored_name(name: str) -> str:
    """The name as Oracle stores it: simple lower-case names folded to upper case, others as given."""
    return name.upper() if _FOLDED.fullmatch(name) else name


def reported_name(stored: str) -> str:
    """A stored name as QDBM reports it: simple upper-case names in lower case."""
    return stored.lower() if _STORED_SIMPLE.fullmatch(stored) else stored


def old_name(staging_name: str) -> str:
    """The name a replaced table has between the swap and its DROP."""
    run = staging_name.removeprefix("qdbm_stg_").removeprefix("QDBM_STG_")
    return "qdbm_old_" + run.lower() if run != staging_name else "qdbm_old_" + staging_name


# -- types: Oracle -> portable ------------------------------------------------------------------


def portable_from_catalog(data_type: str, precision: int | None = None, scale: int | None = None,
                          length: int | None = None) -> PortableType:
    """The portable type of an Oracle column from the catalog's DATA_TYPE, DATA_PRECISION,
    DATA_SCALE and length (CHAR_LENGTH for text, DATA_LENGTH for RAW)."""
    name = re.sub(r"\(\d+\)", "", data_type.upper()).strip()
    if name == "NUMBER":
        if precision is None or precision == 0:
            if scale == 0:
                return PortableType(Kind.DECIMAL, precision=MAX_PRECISION, scale=0)
            return PortableType(Kind.DECIMAL)
        if scale is None or scale == -127:  # FLOAT(b): a NUMBER with binary precision
            return PortableType(Kind.DECIMAL)
        if scale == 0:
            if precision <= 4:
                return PortableType(Kind.INT16)
            if precision <= 9:
                return PortableType(Kind.INT32)
            if precision <= 18:
                return PortableType(Kind.INT64)
            return PortableType(Kind.DECIMAL, precision=precision, scale=0)
        if scale < 0:  # NUMBER(p,-s): whole numbers rounded to 10^s
            return PortableType(Kind.DECIMAL, precision=precision - scale, scale=0)
        if scale > precision:  # NUMBER(2,5): values below 0.001
            return PortableType(Kind.DECIMAL, precision=scale, scale=scale)
        return PortableType(Kind.DECIMAL, precision=precision, scale=scale)
    if name == "FLOAT":
        return PortableType(Kind.DECIMAL)
    if name == "BINARY_FLOAT":
        return PortableType(Kind.FLOAT32)
    if name == "BINARY_DOUBLE":
        return PortableType(Kind.FLOAT64)
    if name in ("CHAR", "NCHAR"):
        return PortableType(Kind.CHAR, length=length or 1)
    if name in ("VARCHAR2", "NVARCHAR2", "VARCHAR"):
        return PortableType(Kind.VARCHAR, length=length or None)
    if name in ("CLOB", "NCLOB", "LONG", "XMLTYPE"):
        return PortableType(Kind.TEXT)
    if name == "RAW":
        return PortableType(Kind.BINARY, length=length or None)
    if name in ("BLOB", "LONG RAW", "BFILE"):
        return PortableType(Kind.BINARY)
    if name == "DATE" or (name.startswith("TIMESTAMP") and "ZONE" not in name):
        return PortableType(Kind.TIMESTAMP)
    if name.startswith("TIMESTAMP"):
        return PortableType(Kind.TIMESTAMPTZ)
    if name.startswith("INTERVAL DAY"):
        return PortableType(Kind.TIME)
    if name == "BOOLEAN":
        return PortableType(Kind.BOOLEAN)
    if name == "JSON":
        return PortableType(Kind.JSON)
    return PortableType(Kind.TEXT)


_DECLARED = re.compile(r"\s*([A-Z][A-Z_0-9]*(?: [A-Z][A-Z_0-9]*)*?)\s*(?:\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?"
                       r"(?:CHAR|BYTE)?\s*\))?\s*((?:WITH .*|TO .*)?)", re.IGNORECASE)


def portable_from_declared(declared: str) -> PortableType:
    """The portable type of a column declared as ``declared`` in Oracle DDL (``NUMBER(12,2)``,
    ``VARCHAR2(50 CHAR)``, ``TIMESTAMP(6) WITH TIME ZONE``): what the catalog then reports."""
    match = _DECLARED.fullmatch(declared)
    if not match:
        raise UsageError(f"{declared!r} is not an Oracle type")
    name, first, second, rest = match.group(1).upper(), match.group(2), match.group(3), match.group(4)
    if name == "NUMBER":
        precision = int(first) if first else None
        return portable_from_catalog(name, precision, int(second) if second else (0 if first else None))
    return portable_from_catalog(f"{name} {rest}".strip(), None, None, int(first) if first else None)


#: python-oracledb's type names (DbType.name) as the catalog spells them.
_CATALOG_NAME = {
    "DB_TYPE_NUMBER": "NUMBER", "DB_TYPE_BINARY_INTEGER": "NUMBER", "DB_TYPE_BINARY_FLOAT": "BINARY_FLOAT",
    "DB_TYPE_BINARY_DOUBLE": "BINARY_DOUBLE", "DB_TYPE_CHAR": "CHAR", "DB_TYPE_NCHAR": "NCHAR",
    "DB_TYPE_VARCHAR": "VARCHAR2", "DB_TYPE_NVARCHAR": "NVARCHAR2", "DB_TYPE_LONG": "LONG",
    "DB_TYPE_LONG_NVARCHAR": "LONG", "DB_TYPE_CLOB": "CLOB", "DB_TYPE_NCLOB": "NCLOB", "DB_TYPE_RAW": "RAW",
    "DB_TYPE_LONG_RAW": "LONG RAW", "DB_TYPE_BLOB": "BLOB", "DB_TYPE_BFILE": "BFILE", "DB_TYPE_DATE": "DATE",
    "DB_TYPE_TIMESTAMP": "TIMESTAMP", "DB_TYPE_TIMESTAMP_TZ": "TIMESTAMP WITH TIME ZONE",
    "DB_TYPE_TIMESTAMP_LTZ": "TIMESTAMP WITH LOCAL TIME ZONE",
    "DB_TYPE_INTERVAL_DS": "INTERVAL DAY TO SECOND",
    "DB_TYPE_INTERVAL_YM": "INTERVAL YEAR TO MONTH", "DB_TYPE_BOOLEAN": "BOOLEAN", "DB_TYPE_JSON": "JSON",
    "DB_TYPE_ROWID": "ROWID", "DB_TYPE_UROWID": "UROWID", "DB_TYPE_XMLTYPE": "XMLTYPE",
}


def catalog_spelling(db_type_name: str, precision: int | None, scale: int | None, length: int | None) -> str:
    """A result column's type as the user knows it (``NUMBER(12,2)``, ``VARCHAR2(20)``)."""
    name = _CATALOG_NAME.get(db_type_name, db_type_name.removeprefix("DB_TYPE_"))
    if name == "NUMBER" and precision:
        return f"NUMBER({precision},{scale})" if scale and scale != -127 else \
            ("FLOAT" if scale == -127 else f"NUMBER({precision})")
    if name in ("CHAR", "NCHAR", "VARCHAR2", "NVARCHAR2", "RAW") and length:
        return f"{name}({length})"
    return name


def _interval_to_time(value: Any) -> time:
    if not isinstance(value, timedelta):
        raise ValueError(f"{value!r} is not an interval")
    if value < timedelta(0) or value >= timedelta(days=1):
        raise ValueError(f"the interval {value} is not a time of day (0 to 24 hours); convert it in the "
                         "query, "
                         "e.g. TO_CHAR(col)")
    seconds = value.seconds
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60, value.microseconds)


def _as_utc(value: Any) -> datetime:
    stamp: datetime = value
    return stamp.replace(tzinfo=_UTC) if stamp.tzinfo is None else stamp


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _interval_ym_text(value: Any) -> str:
    years, months = getattr(value, "years", 0), getattr(value, "months", 0)
    sign = "-" if years < 0 or months < 0 else "+"
    return f"{sign}{abs(years)}-{abs(months)}"


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
        if type(given) is not str and (self.json_only or isinstance(given, (bytes, bytearray, memoryview))):
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

    def __init__(self, dialect: OracleDialect, connection: Any, table: TableName,
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


class OracleReadStream(FetchStream):
    """A query's rows, ``batch_size`` at a time, in a read-only transaction (ended on close)."""


_THICK_OPTIONS = ("instant_client", "lib_dir")
#: Connections opened with the option direct_path_load=yes (kept weakly: no connection outlives its user).
_DIRECT_PATH: weakref.WeakSet[Any] = weakref.WeakSet()
#: Kinds direct path loads take as the executemany path binds them.
_DIRECT_PATH_KINDS = frozenset(Kind) - {Kind.TIME}
_CONFIG_OPTIONS = ("tns_admin", "config_dir")


def _init_thick_mode(lib_dir: str | None, config_dir: str | None) -> None:
    import oracledb

    if not oracledb.is_thin_mode():
        return  # already thick: the process-wide client is set up once
    try:
        oracledb.init_oracle_client(lib_dir=lib_dir or None, config_dir=config_dir or None)
    except oracledb.Error as exc:
        message = one_line(str(exc))
        if "DPY-2019" in message or "thin mode" in message.lower():
            raise UsageError("thick mode (an Instant Client) must be chosen before the first Oracle "
                             "connection "
                             "of this process; restart the app and connect with it first") from None
        raise UsageError(f"the Oracle Instant Client cannot be loaded from {lib_dir or 'the system path'}: "
                         f"{message}") from None


class OracleDialect(Dialect):
    name = "oracle"
    display_name = "Oracle"
    default_port = 1521
    fields = ("host", "port", "database", "user", "password", "dsn")
    #: Oracle 12.2 and later; older servers refuse names over 30 bytes themselves.
    max_identifier_length = 128

    # -- connecting -----------------------------------------------------------------------------

    def make_dsn(self, params: ConnectParams) -> str:
        """The DSN given by the user (Easy Connect string, TNS alias or descriptor), or an Easy
        Connect string host:port/service_name."""
        if params.dsn:
            return params.dsn
        host = params.host or "localhost"
        port = params.port or self.default_port
        return f"{host}:{port}/{params.database or ''}"

    def cancel_running(self, connection: Any, params: ConnectParams) -> None:
        """python-oracledb's break: the running call fails with ORA-01013."""
        connection.cancel()

    def connect(self, params: ConnectParams, timeout: float) -> Any:
        """Thin mode unless the options name an Instant Client (``instant_client=/opt/instantclient``)
        or ask for ``thick=yes``; ``tns_admin`` is the folder holding tnsnames.ora for aliases."""
        import oracledb

        options = dict(params.options)
        lower = {k.lower(): k for k in options}
        lib_dir = next((options.pop(lower[k]) for k in _THICK_OPTIONS if k in lower), None)
        config_dir = next((options.pop(lower[k]) for k in _CONFIG_OPTIONS if k in lower), None)
        thick = "thick" in lower and str(options.pop(lower["thick"])).lower() in ("1", "yes", "true")
        direct = "direct_path_load" in lower and \
            str(options.pop(lower["direct_path_load"])).lower() in ("1", "yes", "true")
        if lib_dir or thick:
            _init_thick_mode(lib_dir, config_dir)
        kwargs: dict[str, Any] = {"user": params.user, "password": params.password,
                                  "dsn": self.make_dsn(params),
                                  "tcp_connect_timeout": float(timeout)}
        if config_dir:
            kwargs["config_dir"] = config_dir
        kwargs.update(options)
        connection = oracledb.connect(**kwargs)
        try:
            cursor = connection.cursor()
            # TIMESTAMP WITH LOCAL TIME ZONE is read, and zoned values are written, in UTC.
            cursor.execute("ALTER SESSION SET TIME_ZONE = '+00:00'")
            cursor.close()
        except BaseException:
            connection.close()
            raise
        if direct:
            _DIRECT_PATH.add(connection)
        return connection

    def server_version(self, connection: Any) -> str:
        return f"Oracle {connection.version}"

    # -- names ----------------------------------------------------------------------------------

    def check_identifier(self, name: str) -> None:
        super().check_identifier(name)
        if '"' in name:
            raise UsageError(f"the name {name!r} holds a double quote, which Oracle does not allow in names")

    def quote_identifier(self, name: str) -> str:
        self.check_identifier(name)
        return '"' + stored_name(name) + '"'

    # -- reading --------------------------------------------------------------------------------

    def param_marker(self, index: int) -> str:
        return f":qdbm_param_{index}"

    def open_read(self, connection: Any, query: str, batch_size: int,
                  params: Sequence[Any] | None = None) -> ReadStream:
        """Stream ``query`` in a READ ONLY transaction, ``arraysize`` rows a round trip; LOBs are
        fetched as values, NUMBER as exact decimals, TIMESTAMP WITH TIME ZONE as UTC instants.
        ``params`` fill the query's ``:qdbm_param_N`` markers."""
        bound = {f"qdbm_param_{i}": v for i, v in enumerate(params or ())}
        import oracledb

        if batch_size < 1:
            raise UsageError(f"the batch size must be at least 1 (got {batch_size})")
        query = query_body(query, self.name)  # Oracle refuses a statement's own semicolon
        connection.rollback()
        cursor = connection.cursor()
        try:
            cursor.execute("SET TRANSACTION READ ONLY")
            size = min(batch_size, MAX_ARRAYSIZE)
            cursor.arraysize = size
            cursor.prefetchrows = size + 1  # one round trip also tells the result is done
            cursor.outputtypehandler = _output_type_handler
            cursor.parse(query)  # describes a query without running it
            description, executed = cursor.description, False
            if description is None:
                cursor.execute(query, bound)
                description, executed = cursor.description, True
            if description is None:
                raise UsageError("the query returns no rows: give a SELECT")
            names = [d[0] for d in description]
            zoned = [d[1] is oracledb.DB_TYPE_TIMESTAMP_TZ for d in description]
            if any(zoned):
                # python-oracledb returns TIMESTAMP WITH TIME ZONE without its zone: read the
                # instant in UTC instead (the offset is not kept, the instant is).
                if len(set(names)) != len(names):
                    raise UsageError("the query returns several columns with the same name; give them "
                                     "distinct names with AS")
                query = self.utc_query(query, names, zoned)
                cursor.execute(query, bound)
            elif not executed:
                cursor.execute(query, bound)
            columns, converters = [], []
            for desc, was_zoned in zip(cursor.description, zoned, strict=True):
                name, db_type = desc[0], desc[1]
                type_name = "DB_TYPE_TIMESTAMP_TZ" if was_zoned else db_type.name
                length = desc[2] if type_name in ("DB_TYPE_CHAR", "DB_TYPE_NCHAR", "DB_TYPE_VARCHAR",
                                                  "DB_TYPE_NVARCHAR") else desc[3]
                precision, scale = desc[4], desc[5]
                spelled = catalog_spelling(type_name, precision, scale, length)
                catalog_name = _CATALOG_NAME.get(type_name, type_name)
                ptype = portable_from_catalog(catalog_name, precision, scale, length)
                columns.append(Column(reported_name(name), ptype, bool(desc[6]), spelled))
                converters.append(_read_converter(type_name))
        except BaseException:
            with suppress(Exception):
                cursor.close()
            with suppress(Exception):
                connection.rollback()
            raise
        return OracleReadStream(connection, cursor, columns, converters, batch_size)

    def utc_query(self, query: str, names: Sequence[str], zoned: Sequence[bool]) -> str:
        """``query`` wrapped so that its zoned timestamp columns come back as UTC instants."""
        selected = ", ".join(f'SYS_EXTRACT_UTC(qdbm_utc."{n}") AS "{n}"' if z else f'qdbm_utc."{n}"'
                             for n, z in zip(names, zoned, strict=True))
        return wrap_query(f"SELECT {selected} FROM (", query, ") qdbm_utc", self.name)

    # -- types ----------------------------------------------------------------------------------

    def native_type(self, ptype: PortableType) -> str:
        kind, length = ptype.kind, ptype.length
        if kind is Kind.DECIMAL:
            if ptype.precision is None:
                return "NUMBER"
            if ptype.precision > MAX_PRECISION:
                raise UsageError(f"{ptype} is wider than Oracle's NUMBER allows (precision {MAX_PRECISION}); "
                                 "map the column to a narrower decimal, to decimal without precision, or "
                                 "to text")
            return f"NUMBER({ptype.precision},{ptype.scale or 0})"
        if kind is Kind.CHAR and length is not None and length <= MAX_CHAR_BYTES:
            return f"CHAR({length} CHAR)"
        if kind in (Kind.CHAR, Kind.VARCHAR):
            fits = length is not None and length <= MAX_VARCHAR2_BYTES
            return f"VARCHAR2({length} CHAR)" if fits else "CLOB"
        if kind is Kind.BINARY:
            return f"RAW({length})" if length is not None and length <= MAX_RAW_BYTES else "BLOB"
        return _FIXED_NATIVE[kind]

    def bind_plan(self, column: Column, native_boolean: bool,
                  oracledb: Any) -> tuple[Callable[[Any], Any], Any]:
        """The check (non-NULL value -> value to bind) and the input type for one column."""
        ptype, kind = column.type, column.type.kind
        native = self.native_type(ptype)
        limits = LIMITS if native_boolean else LIMITS_NUMERIC_BOOLEAN
        if kind in _PLAIN_BINDS:
            return value_check(ptype, limits), getattr(oracledb, _PLAIN_BINDS[kind])
        if kind in (Kind.CHAR, Kind.VARCHAR, Kind.TEXT, Kind.JSON):
            if native == "CLOB":
                # LONG binds any length and goes into a CLOB without a temporary LOB per value.
                return _TextCheck(column, None, None, native, kind is Kind.JSON), oracledb.DB_TYPE_LONG
            limit = MAX_CHAR_BYTES if kind is Kind.CHAR and native.startswith("CHAR") else MAX_VARCHAR2_BYTES
            # Bound at the column's byte limit: every value that passed the check fits it.
            return _TextCheck(column, ptype.length, limit, native), limit
        if kind is Kind.BINARY:
            if native == "BLOB":
                return _BinaryCheck(column, None), oracledb.DB_TYPE_LONG_RAW
            return _BinaryCheck(column, ptype.length), oracledb.DB_TYPE_RAW
        if kind is Kind.TIME:
            return _time_interval, oracledb.DB_TYPE_INTERVAL_DS
        return uuid_text, 36

    # -- statements -----------------------------------------------------------------------------

    def insert_sql(self, table: TableName, columns: Sequence[Column]) -> str:
        names = ", ".join(self.quote_identifier(c.name) for c in columns)
        # Named markers bound by position (a list of values); sqlglot does not read ":1".
        markers = ", ".join(f":v{i}" for i in range(1, len(columns) + 1))
        return f"INSERT INTO {self.qualified(table)} ({names}) VALUES ({markers})"

    def count_sql(self, table: TableName) -> str:
        return f"SELECT COUNT(*) FROM {self.qualified(table)}"

    def create_table_sql(self, table: TableName, columns: Sequence[Column],
                         primary_key: Sequence[str] = (), native_boolean: bool = False) -> str:
        """CREATE TABLE; booleans are NUMBER(1) holding 0/1, or BOOLEAN with ``native_boolean``
        (Oracle 23ai and later)."""
        if not columns:
            raise UsageError(f"table {table} needs at least one column")
        names = {stored_name(c.name) for c in columns}
        missing = [k for k in primary_key if stored_name(k) not in names]
        if missing:
            raise UsageError(f"key column(s) {', '.join(map(repr, missing))} are not among the columns")
        keys = {stored_name(k) for k in primary_key}
        parts = []
        for column in columns:
            boolean = native_boolean and column.type.kind is Kind.BOOLEAN
            native = "BOOLEAN" if boolean else self.native_type(column.type)
            if stored_name(column.name) in keys and native in ("CLOB", "BLOB"):
                raise UsageError(f"key column {column.name!r} is {column.type}, which Oracle cannot index "
                                 f"({native}); give it a varchar(n) with n <= 4000 or binary(n)")
            parts.append(f"{self.quote_identifier(column.name)} {native}"
                         + ("" if column.nullable else " NOT NULL"))
        if primary_key:
            parts.append(f"PRIMARY KEY ({', '.join(self.quote_identifier(k) for k in primary_key)})")
        return f"CREATE TABLE {self.qualified(table)} ({', '.join(parts)})"

    def merge_sql(self, target: TableName, staging: TableName, columns: Sequence[Column],
                  keys: Sequence[str]) -> str:
        names = [c.name for c in columns]
        stored = {stored_name(n) for n in names}
        if not keys:
            raise UsageError("upsert needs key columns")
        unknown = [k for k in keys if stored_name(k) not in stored]
        if unknown:
            raise UsageError(f"upsert key {unknown[0]!r} is not a column of the loaded data")
        key_set = {stored_name(k) for k in keys}
        q = self.quote_identifier
        on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in keys)
        updates = ", ".join(f"t.{q(n)} = s.{q(n)}" for n in names if stored_name(n) not in key_set)
        statement = f"MERGE INTO {self.qualified(target)} t USING {self.qualified(staging)} s ON ({on}) "
        if updates:
            statement += f"WHEN MATCHED THEN UPDATE SET {updates} "
        return statement + (f"WHEN NOT MATCHED THEN INSERT ({', '.join(q(n) for n in names)}) "
                            f"VALUES ({', '.join(f's.{q(n)}' for n in names)})")

    def rename_sql(self, table: TableName, new_name: str) -> str:
        # RENAME TO takes a bare name: the table stays in its schema.
        return f"ALTER TABLE {self.qualified(table)} RENAME TO {self.quote_identifier(new_name)}"

    def swap_marker_sql(self, staging: TableName, target: TableName) -> str:
        text = (SWAP_MARKER + self.qualified(target)).replace("'", "''")
        return f"COMMENT ON TABLE {self.qualified(staging)} IS '{text}'"

    def drop_sql(self, table: TableName) -> str:
        return f"DROP TABLE {self.qualified(table)} PURGE"

    def data_statements(self, mode: LoadMode, target: TableName, staging: TableName,
                        columns: Sequence[Column], keys: Sequence[str]) -> list[str]:
        """The final step of append, truncate and upsert: DML only, so one transaction holds it."""
        target_q, staging_q = self.qualified(target), self.qualified(staging)
        names = ", ".join(self.quote_identifier(c.name) for c in columns)
        insert = f"INSERT INTO {target_q} ({names}) SELECT {names} FROM {staging_q}"
        if mode is LoadMode.APPEND:
            return [insert]
        if mode is LoadMode.TRUNCATE:
            # DELETE, not TRUNCATE: TRUNCATE is DDL and would commit on its own.
            return [f"DELETE FROM {target_q}", insert]
        if mode is LoadMode.UPSERT:
            return [self.merge_sql(target, staging, columns, keys)]
        raise UsageError(f"mode {mode.value} is not a data step")

    def swap_statements(self, target: TableName, staging: TableName, exists_now: bool) -> list[str]:
        """replace/create: rename the staging table to the target (the target aside first when it
        exists). Each is DDL that commits; see :meth:`drop_table` for the crash in between."""
        if not exists_now:
            return [self.rename_sql(staging, target.name)]
        old = TableName(old_name(staging.name), target.schema)
        return [self.swap_marker_sql(staging, target), self.rename_sql(target, old.name),
                self.rename_sql(staging, target.name), self.drop_sql(old)]

    # -- loading --------------------------------------------------------------------------------

    def _owner(self, cursor: Any, schema: str | None) -> str:
        if schema is not None:
            return stored_name(schema)
        cursor.execute("SELECT SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') FROM dual")
        return str(cursor.fetchone()[0])

    def table_exists(self, connection: Any, table: TableName) -> bool:
        cursor = connection.cursor()
        try:
            owner = self._owner(cursor, table.schema)
            cursor.execute("SELECT COUNT(*) FROM all_tables WHERE owner = :1 AND table_name = :2",
                           [owner, stored_name(table.name)])
            return int(cursor.fetchone()[0]) > 0
        finally:
            cursor.close()

    def table_columns(self, connection: Any, table: TableName) -> list[Column]:
        cursor = connection.cursor()
        try:
            owner = self._owner(cursor, table.schema)
            cursor.execute("SELECT column_name, data_type, data_precision, data_scale, char_length, "
                           "data_length, "
                           "nullable FROM all_tab_columns WHERE owner = :1 AND table_name = :2 "
                           "ORDER BY column_id", [owner, stored_name(table.name)])
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not rows:
            raise UsageError(f"table {table} does not exist")
        columns = []
        for name, data_type, precision, scale, char_length, data_length, nullable in rows:
            text = str(data_type)
            is_text = text.upper() in ("CHAR", "NCHAR", "VARCHAR2", "NVARCHAR2")
            length = char_length if is_text else data_length
            ptype = portable_from_catalog(text, _opt_int(precision), _opt_int(scale), _opt_int(length))
            spelled = catalog_spelling(_db_type_name(text), _opt_int(precision), _opt_int(scale),
                                       _opt_int(length))
            columns.append(Column(reported_name(str(name)), ptype, nullable == "Y", spelled))
        return columns

    def _server_major(self, connection: Any) -> int:
        try:
            return int(str(connection.version).split(".", 1)[0])
        except (AttributeError, ValueError):
            return 0

    def create_table(self, connection: Any, table: TableName, columns: Sequence[Column],
                     primary_key: Sequence[str] = ()) -> None:
        cursor = connection.cursor()
        try:
            cursor.execute(self.create_table_sql(table, columns, primary_key,
                                                 native_boolean=self._server_major(connection) >= 23))
        finally:
            cursor.close()

    def drop_table(self, connection: Any, table: TableName) -> None:
        """Drop ``table`` if it exists. A staging table marked for a swap whose target is missing
        while the replaced table still sits aside (a crash between the two renames) first puts the
        replaced table back, so no run's leftovers ever cost the user's table."""
        if not self.table_exists(connection, table):
            return
        cursor = connection.cursor()
        try:
            self._undo_half_swap(cursor, connection, table)
            cursor.execute(self.drop_sql(table))
        finally:
            cursor.close()

    def _undo_half_swap(self, cursor: Any, connection: Any, staging: TableName) -> None:
        owner = self._owner(cursor, staging.schema)
        cursor.execute("SELECT comments FROM all_tab_comments WHERE owner = :1 AND table_name = :2",
                       [owner, stored_name(staging.name)])
        row = cursor.fetchone()
        comment = str(row[0]) if row and row[0] else ""
        if not comment.startswith(SWAP_MARKER):
            return
        target = TableName.parse(comment[len(SWAP_MARKER):])
        target = TableName(reported_name(target.name), target.schema and reported_name(target.schema))
        old = TableName(old_name(staging.name), staging.schema)
        if not self.table_exists(connection, target) and self.table_exists(connection, old):
            cursor.execute(self.rename_sql(old, target.name))

    def list_tables(self, connection: Any, schema: str | None, prefix: str) -> list[TableName]:
        like = re.sub(r"([\\%_])", r"\\\1", stored_name(prefix)) + "%"
        cursor = connection.cursor()
        try:
            owner = self._owner(cursor, schema)
            cursor.execute("SELECT table_name FROM all_tables WHERE owner = :1 "
                           "AND table_name LIKE :2 ESCAPE '\\' "
                           "ORDER BY table_name", [owner, like])
            names = [reported_name(str(r[0])) for r in cursor.fetchall()]
        finally:
            cursor.close()
        return [TableName(n, schema) for n in names if stored_name(n).startswith(stored_name(prefix))]

    def open_writer(self, connection: Any, table: TableName, columns: Sequence[Column],
                    work_dir: Path | None = None) -> BulkWriter:
        native_boolean = False
        if any(c.type.kind is Kind.BOOLEAN for c in columns):
            cursor = connection.cursor()
            try:
                owner = self._owner(cursor, table.schema)
                cursor.execute("SELECT column_name FROM all_tab_columns WHERE owner = :1 AND table_name = :2 "
                               "AND data_type = 'BOOLEAN'", [owner, stored_name(table.name)])
                native_boolean = bool(cursor.fetchall())
            finally:
                cursor.close()
        direct_path: tuple[str, str, list[str]] | None = None
        if connection in _DIRECT_PATH and getattr(connection, "thin", False) and \
                all(c.type.kind in _DIRECT_PATH_KINDS for c in columns):
            cursor = connection.cursor()
            try:
                owner = self._owner(cursor, table.schema)
            finally:
                cursor.close()
            direct_path = (owner, stored_name(table.name), [stored_name(c.name) for c in columns])
        return OracleBulkWriter(self, connection, table, columns, native_boolean, direct_path)

    def finalize(self, connection: Any, mode: LoadMode, target: TableName, staging: TableName,
                 columns: Sequence[Column], keys: Sequence[str], target_exists: bool) -> None:
        """append, truncate, upsert: one transaction of DML, committed, then the staging table
        dropped. replace, create: renames, each committing on its own (Oracle DDL always does);
        a failure or crash between them is undone (here, or by :meth:`drop_table` next run)."""
        exists_now = self.table_exists(connection, target)
        if mode is LoadMode.CREATE and exists_now:
            raise UsageError(f"table {target} already exists (mode 'create' makes a new table; "
                             "use append, truncate, replace or upsert for an existing one)")
        cursor = connection.cursor()
        try:
            if mode in (LoadMode.REPLACE, LoadMode.CREATE) or not exists_now:
                statements = self.swap_statements(target, staging, exists_now)
                for index, statement in enumerate(statements):
                    try:
                        cursor.execute(statement)
                    except BaseException:
                        if exists_now and index == 2:  # the target is aside: put it back
                            with suppress(Exception):
                                aside = TableName(old_name(staging.name), target.schema)
                                cursor.execute(self.rename_sql(aside, target.name))
                        if exists_now and index == 3:
                            # The swap is done: the old table is a leftover the next run drops.
                            return
                        raise
                return
            try:
                for statement in self.data_statements(mode, target, staging, columns, keys):
                    cursor.execute(statement)
                connection.commit()
            except BaseException:
                with suppress(Exception):
                    connection.rollback()
                raise
            # Committed: a staging table that will not drop now is a leftover the next run drops.
            with suppress(Exception):
                cursor.execute(self.drop_sql(staging))
        finally:
            cursor.close()


    # -- locks between runs ---------------------------------------------------------------------
    # DBMS_LOCK user locks by number, held by the session (REQUEST's release_on_commit defaults to
    # FALSE) and freed by the server when it ends. Numbers, not ALLOCATE_UNIQUE's names: that one
    # commits and writes a catalog row per name. The login needs EXECUTE on SYS.DBMS_LOCK.

    #: REQUEST(id, lockmode 6 = exclusive, timeout 0): 0 granted, 1 held elsewhere, 4 held already.
    LOCK_SQL = "SELECT DBMS_LOCK.REQUEST(:lock_id, 6, 0) FROM dual"
    UNLOCK_SQL = "SELECT DBMS_LOCK.RELEASE(:lock_id) FROM dual"
    SCHEMA_SQL = "SELECT SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') FROM dual"
    #: User lock ids run from 0 to 1073741823 (the rest belong to ALLOCATE_UNIQUE).
    LOCK_IDS = 1 << 30

    def open_lock_session(self, params: ConnectParams, timeout: float) -> Any:
        return self.connect(params, timeout)

    def lock_id(self, name: str) -> int:
        """The user lock number for ``name`` (30 bits of its digest; lock numbers are instance-wide)."""
        return int(lock_digest(name, 16), 16) % self.LOCK_IDS

    def _lock_call(self, session: Any, sql: str, name: str) -> int:
        cursor = session.cursor()
        try:
            cursor.execute(sql, {"lock_id": self.lock_id(name)})
            (result,) = cursor.fetchone()
        except Exception as exc:  # noqa: BLE001 - any refusal means no locks for this login
            text = one_line(str(exc))
            if "DBMS_LOCK" in text.upper() or "ORA-00904" in text or "PLS-00201" in text:
                raise LocksUnavailable(f"this login cannot use DBMS_LOCK ({text}); ask for "
                                       "GRANT EXECUTE ON SYS.DBMS_LOCK") from exc
            raise
        finally:
            cursor.close()
        return int(result)

    def try_lock(self, session: Any, name: str) -> bool:
        return self._lock_call(session, self.LOCK_SQL, name) in (0, 4)

    def unlock(self, session: Any, name: str) -> None:
        self._lock_call(session, self.UNLOCK_SQL, name)

    def table_lock_name(self, session: Any, table: TableName) -> str:
        if table.schema is not None:
            owner = stored_name(table.schema)
        else:
            cursor = session.cursor()
            try:
                cursor.execute(self.SCHEMA_SQL)
                owner = str(cursor.fetchone()[0])
            finally:
                cursor.close()
        return "qdbm-table:" + json.dumps([owner, stored_name(table.name)])


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _db_type_name(data_type: str) -> str:
    upper = re.sub(r"\(\d+\)", "", data_type.upper())
    for db_name, catalog in _CATALOG_NAME.items():
        if catalog == upper:
            return db_name
    return upper


def _output_type_handler(cursor: Any, metadata: Any) -> Any:
    """Per cursor, so the process-wide defaults stay untouched: LOBs as values (no locator and
    round trip per row), and NUMBER with a fraction or without precision as exact decimals."""
    import oracledb

    type_code = metadata.type_code
    if type_code is oracledb.DB_TYPE_CLOB:
        return cursor.var(oracledb.DB_TYPE_LONG, arraysize=cursor.arraysize)
    if type_code is oracledb.DB_TYPE_NCLOB:
        return cursor.var(oracledb.DB_TYPE_LONG_NVARCHAR, arraysize=cursor.arraysize)
    if type_code is oracledb.DB_TYPE_BLOB:
        return cursor.var(oracledb.DB_TYPE_LONG_RAW, arraysize=cursor.arraysize)
    if type_code is oracledb.DB_TYPE_NUMBER:
        precision, scale = metadata.precision or 0, metadata.scale or 0
        if scale != 0 or precision == 0 or precision > 18:
            return cursor.var(Decimal, arraysize=cursor.arraysize)
    return None


def _read_converter(type_name: str) -> Callable[[Any], Any] | None:
    if type_name in ("DB_TYPE_TIMESTAMP_TZ", "DB_TYPE_TIMESTAMP_LTZ"):
        return _as_utc
    if type_name == "DB_TYPE_INTERVAL_DS":
        return _interval_to_time
    if type_name == "DB_TYPE_INTERVAL_YM":
        return _interval_ym_text
    if type_name == "DB_TYPE_JSON":
        return _json_text
    if type_name in ("DB_TYPE_ROWID", "DB_TYPE_UROWID", "DB_TYPE_XMLTYPE"):
        return str
    if type_name == "DB_TYPE_BOOLEAN":
        return bool
    return None


#: Kinds whose values go through the shared check as they are, with their input type in python-oracledb.
_PLAIN_BINDS = {
    Kind.INT16: "DB_TYPE_NUMBER", Kind.INT32: "DB_TYPE_NUMBER", Kind.INT64: "DB_TYPE_NUMBER",
    Kind.DECIMAL: "DB_TYPE_NUMBER", Kind.FLOAT32: "DB_TYPE_BINARY_FLOAT",
    Kind.FLOAT64: "DB_TYPE_BINARY_DOUBLE",
    Kind.BOOLEAN: "DB_TYPE_NUMBER", Kind.DATE: "DB_TYPE_DATE", Kind.TIMESTAMP: "DB_TYPE_TIMESTAMP",
    Kind.TIMESTAMPTZ: "DB_TYPE_TIMESTAMP",
}

_FIXED_NATIVE: dict[Kind, str] = {
    Kind.INT16: "NUMBER(5)", Kind.INT32: "NUMBER(10)", Kind.INT64: "NUMBER(19)",
    Kind.FLOAT32: "BINARY_FLOAT", Kind.FLOAT64: "BINARY_DOUBLE", Kind.BOOLEAN: "NUMBER(1)",
    Kind.TEXT: "CLOB", Kind.DATE: "DATE", Kind.TIME: "INTERVAL DAY TO SECOND",
    Kind.TIMESTAMP: "TIMESTAMP(6)", Kind.TIMESTAMPTZ: "TIMESTAMP(6) WITH TIME ZONE",
    Kind.JSON: "CLOB", Kind.UUID: "VARCHAR2(36 CHAR)",
}

__all__ = ["OracleDialect", "catalog_spelling", "old_name", "portable_from_catalog", "portable_from_declared",
           "reported_name", "stored_name"]
