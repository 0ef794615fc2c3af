"""SQL Server's types and the portable types, both ways, and how each kind is bound and checked."""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from typing import Any

from qdbm_desktop.core.dialects.odbc import (
    SQL_BIGINT,
    SQL_BIT,
    SQL_DECIMAL,
    SQL_DOUBLE,
    SQL_INTEGER,
    SQL_REAL,
    SQL_SMALLINT,
    SQL_TYPE_DATE,
    SQL_TYPE_TIMESTAMP,
    SQL_VARBINARY,
    SQL_WVARCHAR,
)
from qdbm_desktop.core.types import (
    Kind,
    PortableType,
    plain_time,
)

#: The widest exact number SQL Server holds, and the scale given to a decimal without one.
MAX_PRECISION = 38
UNBOUNDED_DECIMAL = (38, 10)
#: Longest nchar/nvarchar(n) and varbinary(n); longer ones are (max) types.
MAX_NCHAR, MAX_VARBINARY = 4000, 8000
MAX_IDENTIFIER = 128
_UTC = timezone.utc


# -- types: SQL Server -> portable -----------------------------------------------------------------

_TYPE_NAME = re.compile(r"\s*([a-z_][a-z0-9_ ]*?)\s*(?:\(\s*(max|\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*")


#: Type names whose portable type is fixed.
_FIXED_TYPES: dict[str, PortableType] = {
    **dict.fromkeys(("bit",), PortableType(Kind.BOOLEAN)),
    **dict.fromkeys(("tinyint", "smallint"), PortableType(Kind.INT16)),
    "int": PortableType(Kind.INT32), "bigint": PortableType(Kind.INT64),
    "money": PortableType(Kind.DECIMAL, precision=19, scale=4),
    "smallmoney": PortableType(Kind.DECIMAL, precision=10, scale=4),
    "real": PortableType(Kind.FLOAT32), "sysname": PortableType(Kind.VARCHAR, length=128),
    **dict.fromkeys(("text", "ntext", "xml"), PortableType(Kind.TEXT)),
    **dict.fromkeys(("timestamp", "rowversion"), PortableType(Kind.BINARY, length=8)),
    **dict.fromkeys(("image", "hierarchyid", "geometry", "geography"), PortableType(Kind.BINARY)),
    "date": PortableType(Kind.DATE), "time": PortableType(Kind.TIME),
    **dict.fromkeys(("datetime", "datetime2", "smalldatetime"), PortableType(Kind.TIMESTAMP)),
    "datetimeoffset": PortableType(Kind.TIMESTAMPTZ), "uniqueidentifier": PortableType(Kind.UUID),
    "json": PortableType(Kind.JSON),
}
#: Type names with a length (1 when none is given): their kind, and their type with ``(max)``.
_SIZED_TYPES: dict[str, tuple[Kind, Kind]] = {
    "char": (Kind.CHAR, Kind.TEXT), "nchar": (Kind.CHAR, Kind.TEXT), "varchar": (Kind.VARCHAR, Kind.TEXT),
    "nvarchar": (Kind.VARCHAR, Kind.TEXT), "binary": (Kind.BINARY, Kind.BINARY),
    "varbinary": (Kind.BINARY, Kind.BINARY),
}


def portable_from_type_name(type_name: str) -> PortableType:
    """The portable type of a SQL Server type as the catalog spells it (``decimal(12,2)``,
    ``nvarchar(max)``, ``datetimeoffset(7)``; lengths in characters for n-types)."""
    match = _TYPE_NAME.fullmatch(type_name.lower())
    if not match:
        return PortableType(Kind.TEXT)
    name, first, second = match.group(1), match.group(2), match.group(3)
    size = int(first) if first and first != "max" else None
    if name in _FIXED_TYPES:
        return _FIXED_TYPES[name]
    if name in _SIZED_TYPES:
        kind, unbounded = _SIZED_TYPES[name]
        return PortableType(unbounded) if first == "max" else PortableType(kind, length=size or 1)
    if name in ("decimal", "numeric"):
        precision = size if size is not None else 18
        return PortableType(Kind.DECIMAL, precision=precision, scale=int(second) if second else 0)
    if name == "float":
        return PortableType(Kind.FLOAT32 if size is not None and size <= 24 else Kind.FLOAT64)
    return PortableType(Kind.TEXT)


def _datetimeoffset(raw: bytes) -> datetime:
    """SQL_SS_TIMESTAMPOFFSET_STRUCT (which pyodbc hands over as bytes) as an aware datetime."""
    year, month, day, hour, minute, second, nanos, off_h, off_m = struct.unpack("<6hI2h", raw)
    zone = timezone(timedelta(hours=off_h, minutes=off_m))
    return datetime(year, month, day, hour, minute, second, nanos // 1000, tzinfo=zone)


def _to_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _to_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    text = str(value)
    head, _, fraction = text.partition(".")
    return time.fromisoformat(head + ("." + fraction[:6].ljust(6, "0") if fraction else ""))


def _to_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else bytes(value)


def _read_converter(kind: Kind) -> Callable[[Any], Any] | None:
    if kind is Kind.UUID:
        return _to_uuid
    if kind is Kind.TIME:
        return _to_time
    if kind is Kind.BINARY:
        return _to_bytes
    if kind is Kind.BOOLEAN:
        return bool
    return None


# -- types: portable -> values to bind ---------------------------------------------------------


def _time_text(value: Any) -> str:
    # Bound as text: ODBC's SQL_TYPE_TIME has no fraction of a second; time(7) parses this one.
    clock = plain_time(value, "SQL Server")  # time(7) ends at 23:59:59.9999999: 24:00:00 is refused
    return clock.replace(tzinfo=None).isoformat(timespec="microseconds")


def _timestamptz_text(value: Any) -> str:
    # Bound as ISO 8601 text with its offset, which datetimeoffset parses whatever the session's
    # DATEFORMAT; a value without zone is taken to be UTC.
    if not isinstance(value, datetime):
        raise ValueError(f"{value!r} is not a timestamp")
    stamp: datetime = value if value.tzinfo is not None else value.replace(tzinfo=_UTC)
    return stamp.isoformat(timespec="microseconds")


#: Kinds SQL Server gets in a form of its own (ODBC's time has no fraction; datetimeoffset as text).
_OWN_CHECKS: dict[Kind, Callable[[Any], Any]] = {Kind.TIME: _time_text, Kind.TIMESTAMPTZ: _timestamptz_text}
#: How each kind is bound: ODBC type, column size, decimal digits, and what a chunk's size is measured by.
_BINDS: dict[Kind, tuple[int, int, int, str | None]] = {
    Kind.INT16: (SQL_SMALLINT, 0, 0, None), Kind.INT32: (SQL_INTEGER, 0, 0, None),
    Kind.INT64: (SQL_BIGINT, 0, 0, None), Kind.DECIMAL: (SQL_DECIMAL, 0, 0, None),
    Kind.FLOAT32: (SQL_REAL, 0, 0, None), Kind.FLOAT64: (SQL_DOUBLE, 0, 0, None),
    Kind.BOOLEAN: (SQL_BIT, 1, 0, None), Kind.CHAR: (SQL_WVARCHAR, 0, 0, "text"),
    Kind.VARCHAR: (SQL_WVARCHAR, 0, 0, "text"), Kind.TEXT: (SQL_WVARCHAR, 0, 0, "text"),
    Kind.JSON: (SQL_WVARCHAR, 0, 0, "text"), Kind.BINARY: (SQL_VARBINARY, 0, 0, "binary"),
    Kind.DATE: (SQL_TYPE_DATE, 10, 0, None), Kind.TIME: (SQL_WVARCHAR, 16, 0, None),
    Kind.TIMESTAMP: (SQL_TYPE_TIMESTAMP, 27, 7, None), Kind.TIMESTAMPTZ: (SQL_WVARCHAR, 32, 0, None),
    Kind.UUID: (SQL_WVARCHAR, 36, 0, None),
}


def catalog_type_text(type_name: str, max_length: int, precision: int, scale: int) -> str:
    """A column's type spelled as in DDL from sys.columns (max_length in bytes, -1 for max)."""
    name = type_name.lower()
    if name in ("nchar", "nvarchar"):
        return f"{name}(max)" if max_length == -1 else f"{name}({max_length // 2})"
    if name in ("char", "varchar", "binary", "varbinary"):
        return f"{name}(max)" if max_length == -1 else f"{name}({max_length})"
    if name in ("decimal", "numeric"):
        return f"{name}({precision},{scale})"
    if name in ("time", "datetime2", "datetimeoffset"):
        return f"{name}({scale})"
    if name == "float":
        return "real" if precision <= 24 else "float"
    return name


_FIXED_NATIVE: dict[Kind, str] = {
    Kind.INT16: "smallint", Kind.INT32: "int", Kind.INT64: "bigint",
    Kind.FLOAT32: "real", Kind.FLOAT64: "float", Kind.BOOLEAN: "bit",
    Kind.TEXT: "nvarchar(max)", Kind.DATE: "date", Kind.TIME: "time(7)",
    Kind.TIMESTAMP: "datetime2(7)", Kind.TIMESTAMPTZ: "datetimeoffset(7)",
    Kind.JSON: "nvarchar(max)", Kind.UUID: "uniqueidentifier",
}
