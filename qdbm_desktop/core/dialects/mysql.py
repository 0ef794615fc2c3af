"""MySQL and MariaDB through mysql-connector-python, with its C extension where it loads.

Reading uses an unbuffered cursor with ``raw=True`` and our own per-column converters (4x the
driver's own conversion, and the only way to see and count zero dates), except for a result holding
a FLOAT column: the text protocol sends FLOAT with 6 significant digits, so such a result is read
with the binary protocol (a prepared statement), which sends the float32 itself. Loading uses
``LOAD DATA LOCAL INFILE`` from TSV chunks when the server allows it, else multi-row INSERT
statements sized below the server's ``max_allowed_packet``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import itertools
import json
import logging
import math
import operator
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Clamped, Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, Underflow
from pathlib import Path
from typing import Any

from qdbm_desktop.core.dialects.base import (
    BulkWriter,
    ConnectParams,
    Dialect,
    LoadMode,
    SwapPlan,
    TableName,
    lock_digest,
)
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.sqlcheck import query_body
from qdbm_desktop.core.types import (
    Column,
    Kind,
    PortableType,
    TargetLimits,
    ValueRejected,
    as_float32,
    value_check,
)

log = logging.getLogger(__name__)

#: Session settings for loads: strict so that an overflow errors instead of being clipped, no zero
#: dates, and 0 kept in AUTO_INCREMENT columns instead of drawing a new number.
LOAD_SQL_MODE = ("STRICT_ALL_TABLES,STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
                 "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO")
#: The row-size limit of a MySQL table (every column's maximum bytes, TEXT/BLOB counted as 12).
_MAX_ROW_BYTES = 65535
_UTC = dt.timezone.utc
#: Seconds a cancel may take to reach the server (it opens a connection of its own).
_CANCEL_TIMEOUT = 2.0

# Field type codes of the client protocol (mysql.connector.FieldType), kept here so the mapping
# reads without importing the driver.
_DECIMAL, _TINY, _SHORT, _LONG, _FLOAT, _DOUBLE, _NULL, _TIMESTAMP = 0, 1, 2, 3, 4, 5, 6, 7
_LONGLONG, _INT24, _DATE, _TIME, _DATETIME, _YEAR, _NEWDATE, _VARCHAR, _BIT = 8, 9, 10, 11, 12, 13, 14, 15, 16
_VECTOR, _JSON, _NEWDECIMAL, _ENUM, _SET = 242, 245, 246, 247, 248
_TINY_BLOB, _MEDIUM_BLOB, _LONG_BLOB, _BLOB = 249, 250, 251, 252
_VAR_STRING, _STRING, _GEOMETRY = 253, 254, 255
_FLAG_UNSIGNED, _FLAG_BINARY, _FLAG_ENUM, _FLAG_SET, _FLAG_NOT_NULL = 32, 128, 256, 2048, 1
_BINARY_CHARSET = 63

_FIELD_NAMES = {
    _DECIMAL: "decimal", _NEWDECIMAL: "decimal", _TINY: "tinyint", _SHORT: "smallint", _LONG: "int",
    _FLOAT: "float", _DOUBLE: "double", _NULL: "null", _TIMESTAMP: "timestamp", _LONGLONG: "bigint",
    _INT24: "mediumint", _DATE: "date", _NEWDATE: "date", _TIME: "time", _DATETIME: "datetime",
    _YEAR: "year", _VARCHAR: "varchar", _VAR_STRING: "varchar", _STRING: "char", _BIT: "bit",
    _JSON: "json", _ENUM: "enum", _SET: "set", _TINY_BLOB: "tinyblob", _MEDIUM_BLOB: "mediumblob",
    _LONG_BLOB: "longblob", _BLOB: "blob", _GEOMETRY: "geometry", _VECTOR: "vector",
}
_STRING_CODES = frozenset({_VARCHAR, _VAR_STRING, _STRING, _ENUM, _SET, _TINY_BLOB, _MEDIUM_BLOB,
                           _LONG_BLOB, _BLOB})

_COLUMN_TYPE = re.compile(r"\s*([a-z][a-z0-9_ ]*?)\s*(?:\(([^)]*)\))?\s*(unsigned)?\s*(zerofill)?\s*",
                          re.IGNORECASE)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_DATE_KINDS = frozenset({Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ})


def driver_description() -> str:
    """The driver's version and whether its C extension is in use (it is 2-5x faster)."""
    import mysql.connector

    flavour = "C extension" if mysql.connector.HAVE_CEXT else "pure Python: C extension did not load"
    return f"mysql-connector-python {mysql.connector.__version__} ({flavour})"


# -- types: engine -> portable ------------------------------------------------------------------

_UNSIGNED_BIGINT = PortableType(Kind.DECIMAL, precision=20, scale=0)


@dataclass(frozen=True)
class _Declared:
    """A catalog column type taken apart: ``decimal(12,2) unsigned``."""

    numbers: tuple[int, ...]
    unsigned: bool
    char_length: int | None

    @property
    def first(self) -> int | None:
        return self.numbers[0] if self.numbers else None


def _named(kind: Kind, unsigned: Kind | PortableType | None = None) -> Callable[[_Declared], PortableType]:
    """A type whose portable type is fixed by its name (and by UNSIGNED, when ``unsigned`` is given)."""
    signed_type = PortableType(kind)
    unsigned_type = unsigned if isinstance(unsigned, PortableType) else PortableType(unsigned or kind)
    return lambda declared: unsigned_type if declared.unsigned else signed_type


def _tinyint(declared: _Declared) -> PortableType:
    # tinyint(1) is how MySQL spells a boolean (BOOLEAN is an alias of it).
    return PortableType(Kind.BOOLEAN if declared.first == 1 and not declared.unsigned else Kind.INT16)


def _decimal(declared: _Declared) -> PortableType:
    precision = declared.first if declared.first is not None else 10
    scale = declared.numbers[1] if len(declared.numbers) > 1 else 0
    return PortableType(Kind.DECIMAL, precision=precision, scale=scale)


def _bit(declared: _Declared) -> PortableType:
    bits = declared.first or 1
    if bits == 1:
        return PortableType(Kind.BOOLEAN)
    return PortableType(Kind.INT64) if bits < 64 else _UNSIGNED_BIGINT


def _sized(kind: Kind, default: int | None) -> Callable[[_Declared], PortableType]:
    def sized(declared: _Declared) -> PortableType:
        return PortableType(kind, length=declared.first if declared.first is not None else default)

    return sized


def _catalog_length(declared: _Declared) -> PortableType:
    return PortableType(Kind.VARCHAR, length=declared.char_length)


def _by_names(*entries: tuple[tuple[str, ...], Callable[[_Declared], PortableType]]
              ) -> dict[str, Callable[[_Declared], PortableType]]:
    return {name: mapping for names, mapping in entries for name in names}


#: Each catalog type name (lower case), and how its declaration maps to a portable type.
_COLUMN_TYPES = _by_names(
    (("tinyint", "int1"), _tinyint),
    (("bool", "boolean"), _named(Kind.BOOLEAN)),
    (("smallint", "int2"), _named(Kind.INT16, Kind.INT32)),
    (("mediumint", "int3", "middleint"), _named(Kind.INT32)),
    (("int", "integer", "int4"), _named(Kind.INT32, Kind.INT64)),
    (("bigint", "int8"), _named(Kind.INT64, _UNSIGNED_BIGINT)),
    (("decimal", "numeric", "dec", "fixed"), _decimal),
    # FLOAT(p) with p > 24 is stored as DOUBLE; the catalog then says "double".
    (("float", "float4"), _named(Kind.FLOAT32)),
    (("double", "double precision", "real", "float8"), _named(Kind.FLOAT64)),
    (("bit",), _bit),
    (("year",), _named(Kind.INT16)),
    (("char", "nchar", "national char", "character"), _sized(Kind.CHAR, 1)),
    (("varchar", "nvarchar", "national varchar", "character varying", "varchar2"),
     _sized(Kind.VARCHAR, None)),
    (("enum", "set", "inet4", "inet6"), _catalog_length),
    (("tinytext", "text", "mediumtext", "longtext", "long", "long varchar"), _named(Kind.TEXT)),
    (("binary", "varbinary"), _sized(Kind.BINARY, 1)),
    (("tinyblob", "blob", "mediumblob", "longblob", "long varbinary", "geometry", "point", "linestring",
      "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection", "vector"),
     _named(Kind.BINARY)),
    (("date",), _named(Kind.DATE)),
    (("time",), _named(Kind.TIME)),
    (("datetime",), _named(Kind.TIMESTAMP)),
    (("timestamp",), _named(Kind.TIMESTAMPTZ)),
    (("json",), _named(Kind.JSON)),
    (("uuid",), _named(Kind.UUID)),  # MariaDB 10.7+
)


def portable_from_column_type(column_type: str, char_length: int | None = None,
                              is_json: bool = False) -> PortableType:
    """The portable type of a catalog column type (``information_schema.COLUMNS.COLUMN_TYPE``).

    ``char_length`` is CHARACTER_MAXIMUM_LENGTH (used for ENUM and SET); ``is_json`` marks a
    MariaDB JSON column, which the catalog reports as ``longtext`` with a json_valid() check.
    Names we do not know are read as text.
    """
    match = _COLUMN_TYPE.fullmatch(column_type.lower())
    if not match:
        return PortableType(Kind.TEXT)
    if is_json:
        return PortableType(Kind.JSON)
    name, args, unsigned = match.group(1), match.group(2), bool(match.group(3))
    numbers = tuple(int(a) for a in (args or "").split(",") if a.strip().isdigit())
    mapping = _COLUMN_TYPES.get(name)
    if mapping is None:
        return PortableType(Kind.TEXT)
    return mapping(_Declared(numbers, unsigned, char_length))


#: The protocol's type codes: (signed, unsigned) portable type.
_FIELD_TYPES: dict[int, tuple[PortableType, PortableType]] = {
    code: (PortableType(signed), PortableType(unsigned))
    for codes, signed, unsigned in [
        ((_TINY, _YEAR), Kind.INT16, Kind.INT16),
        ((_SHORT,), Kind.INT16, Kind.INT32),
        ((_INT24,), Kind.INT32, Kind.INT32),
        ((_LONG,), Kind.INT32, Kind.INT64),
        ((_DECIMAL, _NEWDECIMAL), Kind.DECIMAL, Kind.DECIMAL),
        ((_FLOAT,), Kind.FLOAT32, Kind.FLOAT32),
        ((_DOUBLE,), Kind.FLOAT64, Kind.FLOAT64),
        ((_DATE, _NEWDATE), Kind.DATE, Kind.DATE),
        ((_TIME,), Kind.TIME, Kind.TIME),
        ((_DATETIME,), Kind.TIMESTAMP, Kind.TIMESTAMP),
        ((_TIMESTAMP,), Kind.TIMESTAMPTZ, Kind.TIMESTAMPTZ),
        ((_JSON,), Kind.JSON, Kind.JSON),
        ((_GEOMETRY, _VECTOR), Kind.BINARY, Kind.BINARY),
    ]
    for code in codes
}
_FIELD_TYPES[_LONGLONG] = (PortableType(Kind.INT64), _UNSIGNED_BIGINT)
_FIELD_TYPES[_BIT] = (_UNSIGNED_BIGINT, _UNSIGNED_BIGINT)


def portable_from_field(type_code: int, flags: int, charset: int) -> PortableType:
    """The portable type of a result column known only from the protocol (an expression).

    Lengths and precisions are not in the C extension's metadata, so strings map to text and
    decimals to an unconstrained decimal.
    """
    known = _FIELD_TYPES.get(type_code)
    if known is not None:
        return known[1] if flags & _FLAG_UNSIGNED else known[0]
    if type_code in _STRING_CODES:
        return PortableType(Kind.BINARY if charset == _BINARY_CHARSET else Kind.TEXT)
    return PortableType(Kind.TEXT)


def _field_type_name(type_code: int, flags: int, charset: int) -> str:
    name = _FIELD_NAMES.get(type_code, f"type {type_code}")
    if type_code in _STRING_CODES and charset == _BINARY_CHARSET:
        name = {"varchar": "varbinary", "char": "binary"}.get(name, name)
    elif type_code in (_BLOB, _TINY_BLOB, _MEDIUM_BLOB, _LONG_BLOB):
        name = name.replace("blob", "text")
    if flags & _FLAG_UNSIGNED and type_code in (_TINY, _SHORT, _INT24, _LONG, _LONGLONG):
        name += " unsigned"
    return name


# -- reading: raw bytes -> canonical values -------------------------------------------------------


class _BadValue(Exception):
    """A value that has no canonical Python form; the caller adds the column and row."""


def _fraction_padded(text: str) -> str:
    # Python 3.10's fromisoformat takes only 3 or 6 fraction digits; MySQL sends 1-6.
    dot = text.find(".")
    if dot < 0:
        return text
    return text[:dot + 1] + text[dot + 1:].ljust(6, "0")


class MySQLReadStream:
    """A query being read through an unbuffered cursor, inside a read-only transaction.

    ``warnings`` collects one line per kind of value that was changed on the way (zero dates read
    as NULL, with their count); ``zero_dates`` is that count. ``binary`` marks a result read with
    the binary protocol (a prepared statement), whose values the driver has decoded already; the
    text protocol's values are the server's raw text.
    """

    def __init__(self, connection: Any, cursor: Any, columns: list[Column],
                 converters: list[Callable[[Any], Any] | None], batch_size: int,
                 binary: bool = False) -> None:
        self.columns = columns
        self.warnings: list[str] = []
        self.zero_dates = 0
        self.binary = binary
        self._zero_by_column: dict[str, int] = {}
        self._connection = connection
        self._cursor = cursor
        self._converters = converters
        self._batch_size = batch_size
        self._rows_read = 0
        self._closed = False
        self._finished = False
        self._fetch = _binary_fetch(cursor) if binary else cursor.fetchmany

    def _zero_date(self, index: int) -> None:
        name = self.columns[index].name
        self.zero_dates += 1
        self._zero_by_column[name] = self._zero_by_column.get(name, 0) + 1

    def _converter(self, index: int, kind: Kind, type_code: int) -> Callable[[Any], Any] | None:
        if self.binary:
            if type_code == _LONGLONG and kind is Kind.DECIMAL:
                return _binary_unsigned_bigint
            return _binary_reader(kind, self.columns[index].source_type)
        if type_code == _BIT and kind in _BIT_READERS:
            return _BIT_READERS[kind]
        if kind in _TEXT_READERS:
            return _TEXT_READERS[kind]
        if kind is Kind.BINARY:
            return None  # raw bytes already
        if kind is Kind.DATE:
            def to_date(raw: bytes) -> dt.date | None:
                try:
                    return dt.date.fromisoformat(raw.decode("ascii"))
                except ValueError:
                    if raw.startswith(b"0000") or b"-00" in raw:
                        self._zero_date(index)
                        return None
                    raise _BadValue(f"date {raw.decode('ascii', 'replace')!r} is not a valid date") from None
            return to_date
        zone = _UTC if kind is Kind.TIMESTAMPTZ else None
        from_iso = dt.datetime.fromisoformat

        def to_datetime(raw: bytes) -> dt.datetime | None:
            text = raw.decode("ascii")
            try:
                value = from_iso(text if len(text) in (19, 23, 26) else _fraction_padded(text))
            except ValueError:
                if text.startswith("0000") or "-00" in text[:10]:
                    self._zero_date(index)
                    return None
                raise _BadValue(f"timestamp {text!r} is not a valid date and time") from None
            return value.replace(tzinfo=zone) if zone else value
        return to_datetime

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        converters = self._converters
        identity = all(c is None for c in converters)
        pairs = list(enumerate(converters))
        try:
            while True:
                raw_rows = self._fetch(self._batch_size)
                if not raw_rows:
                    self._finished = True
                    break
                if identity:
                    batch = [tuple(r) for r in raw_rows]
                else:
                    try:
                        batch = [tuple([v if v is None or c is None else c(v)
                                        for c, v in zip(converters, r, strict=False)])
                                 for r in raw_rows]
                    except (_BadValue, ValueError, UnicodeDecodeError):
                        batch = [self._convert_slowly(r, self._rows_read + k + 1, pairs)
                                 for k, r in enumerate(raw_rows)]
                if self.binary:
                    self._count_binary_zero_dates(batch)
                self._rows_read += len(batch)
                yield batch
        finally:
            self._summarise()

    def _count_binary_zero_dates(self, batch: list[tuple[Any, ...]]) -> None:
        # The binary protocol hands a zero date over as NULL: only a NOT NULL column tells them apart.
        for index, column in enumerate(self.columns):
            if not column.nullable and column.type.kind in _DATE_KINDS:
                for _ in range(sum(1 for row in batch if row[index] is None)):
                    self._zero_date(index)

    def _convert_slowly(self, row: Sequence[Any], row_number: int,
                        pairs: list[tuple[int, Callable[[Any], Any] | None]]) -> tuple[Any, ...]:
        # Only reached when a batch holds a bad value: find which one, and say where it is.
        out: list[Any] = []
        for i, conv in pairs:
            value = row[i]
            try:
                out.append(value if value is None or conv is None else conv(value))
            except (_BadValue, ValueError, UnicodeDecodeError) as exc:
                raise ValueRejected(f"column {self.columns[i].name!r}, row {row_number}: {exc}") from None
        return tuple(out)

    def _summarise(self) -> None:
        if self._zero_by_column:
            detail = ", ".join(f"{name!r}: {n}" for name, n in self._zero_by_column.items())
            self.warnings.append(f"{self.zero_dates} zero date(s) (0000-00-00) read as NULL ({detail})")
            self._zero_by_column = {}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.binary:
                _end_binary_result(self._connection, self._cursor)
            elif getattr(self._connection, "unread_result", False):
                # The protocol has no way to stop a result half-way: the client reads and drops
                # the rest (no conversion, so much faster than reading it).
                self._connection.consume_results()
            self._cursor.close()
        finally:
            with contextlib.suppress(Exception):
                self._connection.rollback()


def _bytes_to_decimal(raw: bytes) -> Decimal:
    return Decimal(raw.decode("ascii"))


def _bits_to_int(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def _bits_to_decimal(raw: bytes) -> Decimal:
    return Decimal(int.from_bytes(raw, "big"))


def _bit_to_bool(raw: bytes) -> bool:
    return raw != b"\x00"


def _tinyint_to_bool(raw: bytes) -> bool:
    if raw == b"1":
        return True
    if raw == b"0":
        return False
    raise _BadValue(f"tinyint(1) value {raw.decode()} is not a boolean (0 or 1); "
                    "cast the column in the query (CAST(col AS SIGNED)) to read it as a number")


def _bytes_to_uuid(raw: bytes) -> uuid.UUID:
    return uuid.UUID(raw.decode("ascii")) if len(raw) != 16 else uuid.UUID(bytes=raw)


def _bytes_to_time(raw: bytes) -> dt.time:
    text = raw.decode("ascii")
    hours = text.split(":", 1)[0]
    if text.startswith("-") or len(hours) > 2 or int(hours) > 23:
        raise _time_refused(text)
    return dt.time.fromisoformat(_fraction_padded(text))



def _time_refused(text: str) -> _BadValue:
    return _BadValue(f"TIME value {text!r} is outside 00:00:00-23:59:59 (MySQL TIME is a duration); "
                     "read it as text (CAST(col AS CHAR)) or seconds (TIME_TO_SEC(col))")


#: Text-protocol readers (raw bytes -> canonical value) that need nothing but the kind.
_TEXT_READERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.INT16: int, Kind.INT32: int, Kind.INT64: int, Kind.DECIMAL: _bytes_to_decimal,
    Kind.FLOAT32: float, Kind.FLOAT64: float, Kind.BOOLEAN: _tinyint_to_bool,
    # UTF-8, strict: the connection's character set is utf8mb4.
    Kind.CHAR: bytes.decode, Kind.VARCHAR: bytes.decode, Kind.TEXT: bytes.decode, Kind.JSON: bytes.decode,
    Kind.UUID: _bytes_to_uuid, Kind.TIME: _bytes_to_time,
}
#: BIT(n) columns arrive as big-endian bytes.
_BIT_READERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.INT16: _bits_to_int, Kind.INT32: _bits_to_int, Kind.INT64: _bits_to_int,
    Kind.DECIMAL: _bits_to_decimal, Kind.BOOLEAN: _bit_to_bool,
}


# -- reading: binary protocol values -> canonical values ------------------------------------------
#
# The text protocol sends FLOAT as the server's 6-digit text (16777216 arrives as "16777200"), so
# a result holding a FLOAT column is read with the binary protocol instead, which sends its four
# bytes. The driver's C extension decodes those values itself; these readers only put them in
# their canonical form.


def _binary_int(value: Any) -> int:
    return value if type(value) is int else int.from_bytes(value, "big")


def _binary_decimal(value: Any) -> Decimal:
    if type(value) is Decimal:
        return value
    return Decimal(value) if isinstance(value, int) else _bytes_to_decimal(bytes(value))


def _binary_unsigned_bigint(value: Any) -> Decimal:
    # The C extension reads a BIGINT UNSIGNED as signed: 18446744073709551615 arrives as -1.
    return Decimal(value + 2**64 if value < 0 else value)


def _binary_bool(value: Any) -> bool:
    if isinstance(value, (bytes, bytearray)):
        return value != b"\x00" * len(value)
    if value in (0, 1):
        return bool(value)
    raise _BadValue(f"tinyint(1) value {value} is not a boolean (0 or 1); "
                    "cast the column in the query (CAST(col AS SIGNED)) to read it as a number")


def _binary_text(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, (set, frozenset)):  # a SET without its definition: its members sorted
        return ",".join(sorted(value))
    return bytes(value).decode()


def _binary_bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _binary_uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(value) if isinstance(value, str) else _bytes_to_uuid(bytes(value))


def _binary_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    span: dt.timedelta = value  # the driver's reading of a TIME
    if not dt.timedelta(0) <= span < dt.timedelta(days=1):
        seconds = abs(span) // dt.timedelta(seconds=1)
        sign = "-" if span < dt.timedelta(0) else ""
        raise _time_refused(f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}")
    return (dt.datetime.min + span).time()


def _binary_utc(value: Any) -> dt.datetime:
    stamp: dt.datetime = value
    return stamp.replace(tzinfo=_UTC)


_BINARY_READERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.INT16: _binary_int, Kind.INT32: _binary_int, Kind.INT64: _binary_int, Kind.DECIMAL: _binary_decimal,
    Kind.BOOLEAN: _binary_bool, Kind.CHAR: _binary_text, Kind.VARCHAR: _binary_text, Kind.TEXT: _binary_text,
    Kind.JSON: _binary_text, Kind.BINARY: _binary_bytes, Kind.UUID: _binary_uuid, Kind.TIME: _binary_time,
    Kind.TIMESTAMPTZ: _binary_utc,
}


def _binary_set(members: Sequence[str]) -> Callable[[Any], str]:
    """A SET value (which the driver gives as a Python set) as the text protocol sends it: the
    members in the order of the column's definition, comma-separated."""
    rank = {m: i for i, m in enumerate(members)}

    def to_text(value: Any) -> str:
        if not isinstance(value, (set, frozenset)):
            return _binary_text(value)
        return ",".join(sorted(value, key=lambda m: (rank.get(m, len(rank)), m)))
    return to_text


def _binary_reader(kind: Kind, source_type: str) -> Callable[[Any], Any] | None:
    if kind is Kind.VARCHAR and source_type.lower().startswith("set"):
        members = re.findall(r"'((?:[^']|'')*)'", source_type)
        return _binary_set([m.replace("''", "'") for m in members])
    return _BINARY_READERS.get(kind)


def _binary_fetch(cursor: Any) -> Callable[[int], list[Any]]:
    """``fetchmany`` for a prepared statement's result: the C extension's row call in a loop (its
    cursor's own ``fetchmany`` looks one row ahead in Python, about 15x slower)."""
    fetch_row = getattr(getattr(cursor, "_stmt", None), "fetch_row", None)
    if fetch_row is None:
        return cursor.fetchmany  # type: ignore[no-any-return]

    def fetch(size: int) -> list[Any]:
        rows = []
        for _ in range(size):
            row = fetch_row()
            if row is None:
                break
            rows.append(row)
        return rows
    return fetch


def _end_binary_result(connection: Any, cursor: Any) -> None:
    """Drop what is left of a prepared statement's result so that the connection is usable again."""
    stmt = getattr(cursor, "_stmt", None)
    if stmt is None:
        return
    with contextlib.suppress(Exception):
        stmt.free_result()  # reads and drops the rows not fetched
    if hasattr(connection, "_unread_result"):
        connection._unread_result = False  # what the driver's own get_rows() does after free_result()


# -- writing: canonical values -> checked values ------------------------------------------------


def _check_time(value: Any) -> dt.time:
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

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT @@SESSION.unique_checks, @@SESSION.foreign_key_checks")
            self._saved = tuple(int(v) for v in cursor.fetchone())
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


class LoadDataWriter:
    """Loads each batch with ``LOAD DATA LOCAL INFILE`` from a TSV file in a private folder.

    ``LOCAL`` loads turn data errors into warnings (the server cannot stop the client's upload),
    so every value is checked here first, and any warning the server still raises fails the load.
    """

    #: Nothing is changed on the way: a value the server refuses fails the load.
    warnings: tuple[str, ...] = ()

    def __init__(self, dialect: MySQLDialect, connection: Any, table: TableName,
                 columns: Sequence[Column], work_dir: Path | None = None) -> None:
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

    def write(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> None:
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
                level, code, message = cursor.fetchone()
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

    #: Nothing is changed on the way: a value the server refuses fails the load.
    warnings: tuple[str, ...] = ()

    def __init__(self, dialect: MySQLDialect, connection: Any, table: TableName,
                 columns: Sequence[Column], max_packet: int) -> None:
        self._connection = connection
        self._columns = list(columns)
        self._checks = [value_checker(c.type) for c in columns]
        names = ", ".join(dialect.quote_identifier(c.name) for c in columns)
        self._sql = (f"INSERT INTO {dialect.qualified(table)} ({names}) "
                     f"VALUES ({', '.join(['%s'] * len(columns))})")
        # Escaping can double a value's bytes; leave room for the statement around the values.
        self._budget = max(64 * 1024, max_packet // 2 - len(self._sql.encode()) - 1024)
        self._session = _LoadSession(connection)

    def write(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> None:
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


# -- the dialect --------------------------------------------------------------------------------


class MySQLDialect(Dialect):
    name = "mysql"
    display_name = "MySQL / MariaDB"
    default_port = 3306
    #: MySQL counts identifier length in characters, not bytes.
    max_identifier_length = 64
    #: LOAD DATA LOCAL measured 2-2.5x multi-row INSERT; False forces INSERT (tests, comparisons).
    use_load_data = True

    def connect(self, params: ConnectParams, timeout: float) -> Any:
        import mysql.connector

        if not mysql.connector.HAVE_CEXT:
            log.warning("%s", driver_description())
        kwargs: dict[str, Any] = {
            "host": params.host or "localhost",
            "port": params.port or self.default_port,
            "user": params.user or "",
            "password": params.password or "",
            "connection_timeout": max(1, int(round(timeout))),
            "charset": "utf8mb4",
            "use_pure": not mysql.connector.HAVE_CEXT,
        }
        if params.database:
            kwargs["database"] = params.database
        kwargs.update(params.options)
        connection = mysql.connector.connect(**kwargs)
        if params.read_only:
            # Every transaction of a source session is read-only, also the ones open_read does not start.
            cursor = connection.cursor()
            try:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
            finally:
                cursor.close()
        return connection

    def cancel_running(self, connection: Any, params: ConnectParams) -> None:
        """``KILL QUERY`` from a second connection: the protocol cannot stop a statement from its own."""
        thread_id = int(connection.connection_id)
        killer = self.connect(params, _CANCEL_TIMEOUT)
        try:
            cursor = killer.cursor()
            try:
                cursor.execute(f"KILL QUERY {thread_id}")
            finally:
                cursor.close()
        finally:
            killer.close()

    def server_version(self, connection: Any) -> str:
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT VERSION()")
            (version,) = cursor.fetchone()
        finally:
            cursor.close()
        version = version.decode() if isinstance(version, (bytes, bytearray)) else str(version)
        product = "MariaDB" if "mariadb" in version.lower() else "MySQL"
        return f"{product} {version}"

    # -- names ----------------------------------------------------------------------------------

    def check_identifier(self, name: str) -> None:
        if not name:
            raise UsageError("an identifier cannot be empty")
        if len(name) > self.max_identifier_length:
            raise UsageError(f"the name {name!r} is longer than {self.display_name} allows "
                             f"({self.max_identifier_length} characters)")
        if "\x00" in name or any(ord(ch) > 0xFFFF for ch in name):
            raise UsageError(f"the name {name!r} holds a character {self.display_name} does not allow "
                             "in names (NUL or one outside the Basic Multilingual Plane, such as emoji)")
        if name.endswith(" "):
            raise UsageError(f"the name {name!r} ends with a space, which {self.display_name} does not allow")

    def quote_identifier(self, name: str) -> str:
        self.check_identifier(name)
        return "`" + name.replace("`", "``") + "`"

    # -- reading --------------------------------------------------------------------------------

    def param_marker(self, index: int) -> str:
        # A session variable set from a bound value just before the query: the driver would
        # otherwise interpolate into the query's own text, where a literal %s would be taken too.
        return f"@qdbm_param_{index}"

    def open_read(self, connection: Any, query: str, batch_size: int,
                  params: Sequence[Any] | None = None) -> MySQLReadStream:
        """Stream ``query`` in a read-only transaction; ``params`` fill its ``@qdbm_param_N`` markers
        (a zoned datetime is bound as naive UTC, as the session's zone is UTC)."""
        if batch_size < 1:
            raise UsageError(f"the batch size must be at least 1 (got {batch_size})")
        # Without its trailing semicolon: the server would take "SELECT 1; -- note" for two statements.
        query = query_body(query, self.name)
        cursor = connection.cursor()
        try:
            cursor.execute("SET SESSION time_zone = '+00:00'")
            if params:
                values = [v.astimezone(_UTC).replace(tzinfo=None)
                          if isinstance(v, dt.datetime) and v.tzinfo is not None else v for v in params]
                cursor.execute("SET " + ", ".join(f"{self.param_marker(i)} = %s" for i in range(len(values))),
                               values)
            cursor.execute("START TRANSACTION READ ONLY")
        finally:
            cursor.close()
        try:
            cursor, description, catalog, binary = self._run_query(connection, query)
        except BaseException:
            with contextlib.suppress(Exception):
                connection.rollback()
            raise
        columns: list[Column] = []
        stream = MySQLReadStream(connection, cursor, columns, [], batch_size, binary)
        for index, desc in enumerate(description):
            name, type_code, flags, charset = desc[0], int(desc[1]), int(desc[7]), int(desc[8])
            known = catalog.get(index)
            if known is not None:
                ptype, source_type, nullable = known
            else:
                ptype = portable_from_field(type_code, flags, charset)
                source_type = _field_type_name(type_code, flags, charset)
                nullable = not flags & _FLAG_NOT_NULL
            columns.append(Column(name, ptype, nullable, source_type))
            stream._converters.append(stream._converter(index, ptype.kind, type_code))
        return stream

    def _run_query(self, connection: Any, query: str
                   ) -> tuple[Any, Any, dict[int, tuple[PortableType, str, bool]], bool]:
        """Run ``query`` unbuffered: the cursor, its description, the catalog types of its columns
        and whether it is read with the binary protocol (when it holds a FLOAT column, which the
        text protocol sends with 6 significant digits only)."""
        referenced = referenced_tables(query)
        looked_up: dict[tuple[str, str, str], Column] | None = None
        catalog: dict[int, tuple[PortableType, str, bool]] = {}
        if referenced is None:
            catalog = self._describe_query(connection, query)
        else:
            # Looked up before the query runs, so that it runs once (a describe would compute
            # its derived tables a first time).
            tables = self._resolved(connection, referenced)
            looked_up = self._catalog_columns(connection, tables) if tables else {}
        if looked_up is None:
            text_first = not any(ptype.kind is Kind.FLOAT32 for ptype, _, _ in catalog.values())
        else:
            text_first = not _may_select_float(query, looked_up.values())
        if text_first:
            cursor = connection.cursor(buffered=False, raw=True)
            cursor.execute(query)
            description = cursor.description
            if not any(int(d[1]) == _FLOAT for d in description or ()):
                if looked_up is not None:
                    catalog = _catalog_of_result(looked_up, _fetch_fields(connection, cursor))
                return cursor, description, catalog, False
            # A FLOAT the catalog did not foresee (an expression, a table found by a describe):
            # drop the text result unread and run the query again in the binary protocol.
            connection.consume_results()
            cursor.close()
        cursor = connection.cursor(prepared=True)
        cursor.execute(query)
        description = cursor.description
        if looked_up is not None:
            catalog = _catalog_of_result(looked_up, _prepared_fields(cursor))
        return cursor, description, catalog, True

    def _resolved(self, connection: Any, tables: Sequence[tuple[str | None, str]]) -> list[tuple[str, str]]:
        """``(database, table)`` pairs, the connection's current database where none is named."""
        if all(db for db, _ in tables):
            return sorted({(str(db), name) for db, name in tables})
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT DATABASE()")
            (current,) = cursor.fetchone()
        finally:
            cursor.close()
        pairs = {(db or _text(current), name) for db, name in tables if db or current is not None}
        return sorted(pairs)

    def _describe_query(self, connection: Any, query: str) -> dict[int, tuple[PortableType, str, bool]]:
        """Catalog types of the result columns that come straight from a table, for a query whose
        tables sqlglot cannot name (see ``referenced_tables``).

        The C extension's metadata has no lengths or precisions (and so no tinyint(1)), so the
        query runs once with ``sql_select_limit = 0`` for its column origins, which are then looked
        up in information_schema. (A query with its own LIMIT returns rows here; they are dropped.)
        The server still computes derived tables then, so this costs a second run of them.
        """
        cursor = connection.cursor(buffered=False, raw=True)
        try:
            # Put back what was set before (a preview's limit), not the default.
            cursor.execute("SELECT @@SESSION.sql_select_limit")
            ((limit,),) = cursor.fetchall()
            cursor.execute("SET SESSION sql_select_limit = 0")
            try:
                cursor.execute(query)
                fields = _fetch_fields(connection, cursor)
                cursor.fetchall()
            finally:
                cursor.execute(f"SET SESSION sql_select_limit = {int(limit)}")
        finally:
            cursor.close()
        origins = _origins(fields)
        if not origins:
            return {}
        tables = sorted({(db, table) for db, table, _ in origins.values()})
        return _catalog_of_result(self._catalog_columns(connection, tables), fields)

    def _catalog_columns(self, connection: Any,
                         tables: Sequence[tuple[str, str]]) -> dict[tuple[str, str, str], Column]:
        where = " OR ".join(["(c.TABLE_SCHEMA = %s AND c.TABLE_NAME = %s)"] * len(tables))
        params = [part for pair in tables for part in pair]
        cursor = connection.cursor()
        try:
            cursor.execute(
                "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, "
                "c.CHARACTER_MAXIMUM_LENGTH, c.IS_NULLABLE, c.DATA_TYPE "
                # The LIMIT overrides a preview's sql_select_limit, which would cut the catalog short.
                f"FROM information_schema.COLUMNS c WHERE {where} ORDER BY c.ORDINAL_POSITION "
                f"LIMIT {_NO_LIMIT}", params)
            rows = cursor.fetchall()
            json_columns = self._mariadb_json_columns(cursor, tables) if any(
                _text(r[6]).lower() == "longtext" for r in rows) else set()
        finally:
            cursor.close()
        found: dict[tuple[str, str, str], Column] = {}
        for schema, table, column, column_type, char_len, nullable, _ in rows:
            schema, table, column = _text(schema), _text(table), _text(column)
            column_type = _text(column_type)
            is_json = (schema, table, column) in json_columns
            ptype = portable_from_column_type(column_type, _int_or_none(char_len), is_json)
            source = "json" if is_json else column_type
            found[(schema, table, column)] = Column(column, ptype, _text(nullable) == "YES", source)
        return found

    def _mariadb_json_columns(self, cursor: Any,
                              tables: Sequence[tuple[str, str]]) -> set[tuple[str, str, str]]:
        # MariaDB's JSON is LONGTEXT plus a CHECK (json_valid(`col`)) constraint; MySQL has no
        # such table before 8.0.16 and a real JSON type anyway.
        where = " OR ".join(["(CONSTRAINT_SCHEMA = %s AND TABLE_NAME = %s)"] * len(tables))
        try:
            cursor.execute("SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE "
                           f"FROM information_schema.CHECK_CONSTRAINTS WHERE {where} LIMIT {_NO_LIMIT}",
                           [p for pair in tables for p in pair])
            rows = cursor.fetchall()
        except Exception:  # noqa: BLE001 - an old server without the table has no JSON checks
            return set()
        found = set()
        for schema, table, clause in rows:
            match = re.fullmatch(r"\s*json_valid\(`((?:[^`]|``)*)`\)\s*", _text(clause))
            if match:
                found.add((_text(schema), _text(table), match.group(1).replace("``", "`")))
        return found

    # -- types ----------------------------------------------------------------------------------

    def native_type(self, ptype: PortableType) -> str:
        kind, length = ptype.kind, ptype.length
        if kind is Kind.DECIMAL:
            precision, scale = _decimal_precision(ptype)
            return f"DECIMAL({precision},{scale})"
        if kind is Kind.CHAR and length is not None and length <= 255:
            return f"CHAR({length})"
        if kind in (Kind.CHAR, Kind.VARCHAR):
            if length is None:
                return "LONGTEXT"
            # 4 bytes a character in utf8mb4 against the 65,535-byte row limit.
            return f"VARCHAR({length})" if length <= 16383 else _text_type(length * 4)
        if kind is Kind.BINARY:
            if length is None:
                return "LONGBLOB"
            return f"VARBINARY({length})" if length <= 8192 else _blob_type(length)
        return _FIXED_NATIVE[kind]

    def prepare_preview(self, connection: Any, rows: int) -> None:
        # The protocol cannot stop a result half-way (closing reads the rest), so a preview of a big
        # query would read all of it; the server stops a top-level SELECT at sql_select_limit.
        cursor = connection.cursor()
        try:
            cursor.execute(f"SET SESSION sql_select_limit = {int(rows)}")
        finally:
            cursor.close()

    # -- loading --------------------------------------------------------------------------------

    def load_session_sql(self) -> tuple[str, ...]:
        return ("SET SESSION time_zone = '+00:00'", f"SET SESSION sql_mode = '{LOAD_SQL_MODE}'",
                "SET NAMES utf8mb4")

    def _locate(self, connection: Any, table: TableName) -> tuple[str, str] | None:
        """The (schema, name) the server stores for ``table``, or None when it does not exist."""
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT TABLE_SCHEMA, TABLE_NAME, @@lower_case_table_names "
                           "FROM information_schema.TABLES "
                           "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s",
                           (table.schema, table.name))
            rows = [(_text(s), _text(n), int(lc)) for s, n, lc in cursor.fetchall()]
        finally:
            cursor.close()
        # information_schema compares names without case; the server does only where
        # lower_case_table_names is set (Windows, macOS).
        for schema, name, _ in rows:
            if name == table.name:
                return schema, name
        if rows and rows[0][2]:
            return rows[0][0], rows[0][1]
        return None

    def table_exists(self, connection: Any, table: TableName) -> bool:
        return self._locate(connection, table) is not None

    def table_columns(self, connection: Any, table: TableName) -> list[Column]:
        located = self._locate(connection, table)
        if located is None:
            raise UsageError(f"table {table} does not exist")
        found = self._catalog_columns(connection, [located])
        return list(found.values())

    def create_table_sql(self, table: TableName, columns: Sequence[Column],
                         primary_key: Sequence[str] = ()) -> str:
        if not columns:
            raise UsageError(f"table {table} needs at least one column")
        natives = [self.native_type(c.type) for c in columns]
        keys = set(primary_key)
        for index, column in enumerate(columns):
            if column.name in keys and natives[index].endswith(("TEXT", "BLOB")):
                raise UsageError(f"key column {column.name!r} is {column.type}, which {self.display_name} "
                                 "cannot index; give it a varchar(n) or binary(n) type")
        natives = _fit_row_size(natives, [c.name in keys for c in columns])
        parts = [f"{self.quote_identifier(c.name)} {native}{'' if c.nullable else ' NOT NULL'}"
                 for c, native in zip(columns, natives, strict=True)]
        missing = [k for k in primary_key if k not in {c.name for c in columns}]
        if missing:
            raise UsageError(f"key column(s) {', '.join(map(repr, missing))} are not among the columns")
        if primary_key:
            parts.append(f"PRIMARY KEY ({', '.join(self.quote_identifier(k) for k in primary_key)})")
        # utf8mb4 holds every character (utf8mb3 loses 4-byte ones such as emoji); the binary
        # collation keeps 'a' and 'A' (and 'a' and 'a ') distinct, as other engines' keys do.
        return (f"CREATE TABLE {self.qualified(table)} (\n  " + ",\n  ".join(parts) +
                "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")

    def list_tables(self, connection: Any, schema: str | None, prefix: str) -> list[TableName]:
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT TABLE_NAME FROM information_schema.TABLES "
                           "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME LIKE %s "
                           "ORDER BY TABLE_NAME", (schema, like))
            names = [_text(r[0]) for r in cursor.fetchall()]
        finally:
            cursor.close()
        return [TableName(n, schema) for n in names if n.startswith(prefix)]

    def open_writer(self, connection: Any, table: TableName, columns: Sequence[Column],
                    work_dir: Path | None = None) -> BulkWriter:
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT @@GLOBAL.local_infile, @@max_allowed_packet")
            local_infile, max_packet = cursor.fetchone()
        finally:
            cursor.close()
        if self.use_load_data and int(local_infile) and hasattr(connection, "set_allow_local_infile_in_path"):
            return LoadDataWriter(self, connection, table, columns, work_dir)
        log.info("loading with multi-row INSERT (server local_infile=%s)", local_infile)
        return InsertWriter(self, connection, table, columns, int(max_packet))

    # -- locks between runs ---------------------------------------------------------------------

    def open_lock_session(self, params: ConnectParams, timeout: float) -> Any:
        connection = self.connect(params, timeout)
        connection.autocommit = True
        return connection

    @staticmethod
    def lock_name(name: str) -> str:
        """The ``GET_LOCK`` name for ``name``: such names are server-wide and 64 characters at most."""
        if len(name) <= 64 and name.isascii():
            return name
        return "qdbm-" + lock_digest(name, 40)

    def try_lock(self, session: Any, name: str) -> bool:
        cursor = session.cursor()
        try:
            cursor.execute("SELECT GET_LOCK(%s, 0)", (self.lock_name(name),))
            (got,) = cursor.fetchone()
        finally:
            cursor.close()
        return got is not None and int(got) == 1

    def unlock(self, session: Any, name: str) -> None:
        cursor = session.cursor()
        try:
            cursor.execute("SELECT RELEASE_LOCK(%s)", (self.lock_name(name),))
            cursor.fetchall()
        finally:
            cursor.close()

    def table_lock_name(self, session: Any, table: TableName) -> str:
        cursor = session.cursor()
        try:
            cursor.execute("SELECT COALESCE(%s, DATABASE()), @@lower_case_table_names", (table.schema,))
            schema, lower = cursor.fetchone()
        finally:
            cursor.close()
        schema, name = _text(schema) if schema is not None else "", table.name
        if int(lower):  # the server compares table names without case (Windows, macOS)
            schema, name = schema.lower(), name.lower()
        return "qdbm-table:" + json.dumps([schema, name])

    def finalize(self, connection: Any, mode: LoadMode, target: TableName, staging: TableName,
                 columns: Sequence[Column], keys: Sequence[str], target_exists: bool) -> None:
        cursor = connection.cursor()
        try:
            # A writer that failed may have left these off; upserts need the unique checks.
            cursor.execute("SET SESSION unique_checks = 1, SESSION foreign_key_checks = 1")
            connection.commit()
            exists_now = self.table_exists(connection, target)
            if mode is LoadMode.CREATE and exists_now:
                raise UsageError(f"table {target} already exists (mode create); choose append, "
                                 "truncate, replace or upsert")
            if exists_now and mode is LoadMode.UPSERT:
                self._check_unique_key(connection, target, keys, [c.name for c in columns])
            plan = self.swap_plan(mode, target, staging, columns, keys, exists_now)
            if not plan.transactional:
                for statement in plan.statements:
                    cursor.execute(statement)
            else:
                cursor.execute("START TRANSACTION")
                try:
                    for statement in plan.statements:
                        cursor.execute(statement)
                    connection.commit()
                except BaseException:
                    connection.rollback()
                    raise
            for statement in plan.after_commit:
                cursor.execute(statement)
        finally:
            cursor.close()

    def swap_plan(self, mode: LoadMode, target: TableName, staging: TableName, columns: Sequence[Column],
                  keys: Sequence[str], target_exists: bool,
                  casts: Mapping[str, str] | None = None) -> SwapPlan:
        target_q, staging_q = self.qualified(target), self.qualified(staging)
        names = ", ".join(self.quote_identifier(c.name) for c in columns)
        # A missing target is made from the staging table in every mode (the pipeline gave
        # the staging table the upsert key in that case).
        if mode is LoadMode.CREATE or not target_exists:
            # RENAME is one DDL statement: it either happens or not (it fails if the target
            # appeared meanwhile).
            return SwapPlan((f"RENAME TABLE {staging_q} TO {target_q}",), transactional=False)
        if mode is LoadMode.REPLACE:
            old = self.qualified(TableName(_old_name(staging.name), target.schema))
            # Both renames in one statement are atomic; a crash before the DROP leaves a
            # qdbm_old_<run> table that the next run finds by name and drops.
            return SwapPlan((f"RENAME TABLE {target_q} TO {old}, {staging_q} TO {target_q}",),
                            transactional=False, after_commit=(f"DROP TABLE {old}",))
        insert = f"INSERT INTO {target_q} ({names}) SELECT {names} FROM {staging_q}"
        if mode is LoadMode.TRUNCATE:
            # DELETE, not TRUNCATE: TRUNCATE is DDL and would commit on its own.
            statements: tuple[str, ...] = (f"DELETE FROM {target_q}", insert)
        elif mode is LoadMode.APPEND:
            statements = (insert,)
        elif mode is LoadMode.UPSERT:
            if not keys:
                raise UsageError("upsert needs key columns")
            updates = [c.name for c in columns if c.name not in set(keys)] or list(keys[:1])
            # VALUES(col) is the form MariaDB understands (MySQL 8 still accepts it).
            assignments = ", ".join(f"{self.quote_identifier(n)} = VALUES({self.quote_identifier(n)})"
                                    for n in updates)
            statements = (f"{insert} ON DUPLICATE KEY UPDATE {assignments}",)
        else:
            raise UsageError(f"unknown load mode {mode!r}")
        # After the commit: DROP is DDL and would have committed the step half-way.
        return SwapPlan(statements, transactional=True, after_commit=(f"DROP TABLE IF EXISTS {staging_q}",))

    def _check_unique_key(self, connection: Any, target: TableName, keys: Sequence[str],
                          names: Sequence[str]) -> None:
        if not keys:
            raise UsageError("upsert needs key columns")
        missing = [k for k in keys if k not in names]
        if missing:
            raise UsageError(f"key column(s) {', '.join(map(repr, missing))} are not loaded columns")
        located = self._locate(connection, target)
        assert located is not None
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
                           "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND NON_UNIQUE = 0", located)
            indexes: dict[str, set[str]] = {}
            for index, column in cursor.fetchall():
                indexes.setdefault(_text(index), set()).add(_text(column))
        finally:
            cursor.close()
        wanted = set(keys)
        if wanted not in indexes.values():
            raise UsageError(f"upsert into {target} needs a PRIMARY KEY or UNIQUE index on exactly "
                             f"({', '.join(keys)}); {self.display_name} matches rows only through one")


_FIXED_NATIVE = {
    Kind.INT16: "SMALLINT", Kind.INT32: "INT", Kind.INT64: "BIGINT", Kind.FLOAT32: "FLOAT",
    Kind.FLOAT64: "DOUBLE", Kind.BOOLEAN: "TINYINT(1)", Kind.TEXT: "LONGTEXT", Kind.DATE: "DATE",
    Kind.TIME: "TIME(6)", Kind.TIMESTAMP: "DATETIME(6)", Kind.TIMESTAMPTZ: "DATETIME(6)",
    Kind.JSON: "JSON", Kind.UUID: "CHAR(36)",
}


def _text_type(max_bytes: int) -> str:
    return "TEXT" if max_bytes <= 65535 else "MEDIUMTEXT" if max_bytes <= 16777215 else "LONGTEXT"


def _blob_type(max_bytes: int) -> str:
    return "BLOB" if max_bytes <= 65535 else "MEDIUMBLOB" if max_bytes <= 16777215 else "LONGBLOB"


_VAR_TYPE = re.compile(r"(VARCHAR|VARBINARY)\((\d+)\)")
_FIXED_BYTES = {"SMALLINT": 2, "INT": 4, "BIGINT": 8, "FLOAT": 4, "DOUBLE": 8, "TINYINT(1)": 1, "DATE": 3,
                "TIME(6)": 6, "DATETIME(6)": 8, "CHAR(36)": 144}


def _row_bytes(native: str) -> int:
    match = _VAR_TYPE.fullmatch(native)
    if match:
        n = int(match.group(2))
        return (n * 4 if match.group(1) == "VARCHAR" else n) + 2
    if native.startswith("CHAR("):
        return int(native[5:-1]) * 4
    if native.startswith("DECIMAL("):
        return 30
    return _FIXED_BYTES.get(native, 12)  # TEXT, BLOB and JSON count 9-12 bytes in the row


def _fit_row_size(natives: list[str], is_key: list[bool]) -> list[str]:
    """Move the widest VARCHAR/VARBINARY columns to TEXT/BLOB until the row fits MySQL's limit.

    The writer still checks the declared length, so no value longer than it gets in.
    """
    natives = list(natives)
    while sum(_row_bytes(n) for n in natives) > _MAX_ROW_BYTES - 1000:
        candidates = [(_row_bytes(n), i) for i, n in enumerate(natives)
                      if _VAR_TYPE.fullmatch(n) and not is_key[i]]
        if not candidates:
            break
        _, index = max(candidates)
        match = _VAR_TYPE.fullmatch(natives[index])
        assert match
        n = int(match.group(2))
        natives[index] = _text_type(n * 4) if match.group(1) == "VARCHAR" else _blob_type(n)
    return natives


def _old_name(staging_name: str) -> str:
    """The name the replaced table gets for the moment between the swap and its DROP."""
    if staging_name.startswith("qdbm_stg_"):
        name = "qdbm_old_" + staging_name[len("qdbm_stg_"):]
    else:
        name = "qdbm_old_" + staging_name
    if len(name) > 64:
        name = "qdbm_old_" + hashlib.sha1(staging_name.encode()).hexdigest()[:16]
    return name


def referenced_tables(query: str) -> list[tuple[str | None, str]] | None:
    """Every ``[database.]table`` the query names, or None when sqlglot cannot parse it.

    A result column's origin (its table as the server reports it) is always a table or view
    named in the query, so looking these up first lets the query run only once.
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(query, read="mysql")
    except SqlglotError:
        return None
    return sorted({(table.db or None, table.name) for table in tree.find_all(exp.Table) if table.name},
                  key=lambda pair: (pair[0] or "", pair[1]))


def _origins(fields: Sequence[tuple[Any, ...]]) -> dict[int, tuple[str, str, str]]:
    """(database, table, column) of each result column taken straight from a table or view."""
    return {i: (_text(f[1]), _text(f[3]), _text(f[5])) for i, f in enumerate(fields)
            if f and f[1] and f[3] and f[5]}


#: MySQL's largest LIMIT: an explicit LIMIT is what lifts a session's sql_select_limit.
_NO_LIMIT = 18446744073709551615


def _catalog_of_result(known: dict[tuple[str, str, str], Column],
                       fields: Sequence[tuple[Any, ...]]) -> dict[int, tuple[PortableType, str, bool]]:
    result: dict[int, tuple[PortableType, str, bool]] = {}
    for index, origin in _origins(fields).items():
        entry = known.get(origin)
        if entry is not None:
            result[index] = (entry.type, entry.source_type, entry.nullable)
    return result


def _fetch_fields(connection: Any, cursor: Any) -> list[tuple[Any, ...]]:
    """Column origins (catalog, db, table, org_table, name, org_name, ...) from the C extension."""
    native = getattr(connection, "_cmysql", None)
    if native is not None:
        with contextlib.suppress(Exception):
            return [tuple(f) for f in native.fetch_fields()]
    return [()] * len(cursor.description or ())


def _may_select_float(query: str, columns: Iterable[Column]) -> bool:
    """Whether the query may return one of these FLOAT columns: it names one, or selects ``*``."""
    names = {c.name.lower() for c in columns if c.type.kind is Kind.FLOAT32}
    if not names:
        return False
    words = {w.strip("`").replace("``", "`").lower() for w in re.findall(r"`(?:[^`]|``)+`|\w+", query)}
    return "*" in query or not names.isdisjoint(words)


def _prepared_fields(cursor: Any) -> list[tuple[Any, ...]]:
    """Column origins of a prepared statement's result, as ``_fetch_fields`` gives them."""
    stmt = getattr(cursor, "_stmt", None)
    if stmt is not None and hasattr(stmt, "fetch_fields"):
        with contextlib.suppress(Exception):
            return [tuple(f) for f in stmt.fetch_fields()]
    return [()] * len(cursor.description or ())


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


__all__ = ["MySQLDialect", "MySQLReadStream", "driver_description", "portable_from_column_type",
           "portable_from_field"]
