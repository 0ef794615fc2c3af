"""Oracle's names (folded as Oracle stores unquoted ones) and types, to portable types and back,
and the values python-oracledb hands over, turned canonical."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.types import (
    Kind,
    PortableType,
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


def _number(precision: int | None, scale: int | None) -> PortableType:
    """NUMBER(precision, scale) as the catalog reports it (None: not given)."""
    if precision is None or precision == 0:
        if scale == 0:
            return PortableType(Kind.DECIMAL, precision=MAX_PRECISION, scale=0)
        return PortableType(Kind.DECIMAL)
    if scale is None or scale == -127:  # FLOAT(b): a NUMBER with binary precision
        return PortableType(Kind.DECIMAL)
    if scale == 0:
        kind = next((k for digits, k in _WHOLE_NUMBERS if precision <= digits), None)
        if kind is not None:
            return PortableType(kind)
        return PortableType(Kind.DECIMAL, precision=precision, scale=0)
    if scale < 0:  # NUMBER(p,-s): whole numbers rounded to 10^s
        return PortableType(Kind.DECIMAL, precision=precision - scale, scale=0)
    if scale > precision:  # NUMBER(2,5): values below 0.001
        return PortableType(Kind.DECIMAL, precision=scale, scale=scale)
    return PortableType(Kind.DECIMAL, precision=precision, scale=scale)


#: The integer kinds NUMBER(p) fits in, by their largest p.
_WHOLE_NUMBERS = ((4, Kind.INT16), (9, Kind.INT32), (18, Kind.INT64))
#: Catalog type names whose portable type is fixed.
_FIXED_CATALOG: dict[str, Kind] = {
    "FLOAT": Kind.DECIMAL, "BINARY_FLOAT": Kind.FLOAT32, "BINARY_DOUBLE": Kind.FLOAT64,
    "CLOB": Kind.TEXT, "NCLOB": Kind.TEXT, "LONG": Kind.TEXT, "XMLTYPE": Kind.TEXT,
    "BLOB": Kind.BINARY, "LONG RAW": Kind.BINARY, "BFILE": Kind.BINARY, "DATE": Kind.TIMESTAMP,
    "BOOLEAN": Kind.BOOLEAN, "JSON": Kind.JSON,
}
#: Catalog type names with a length: their kind and the length when the catalog gives none.
_SIZED_CATALOG: dict[str, tuple[Kind, int | None]] = {
    "CHAR": (Kind.CHAR, 1), "NCHAR": (Kind.CHAR, 1), "VARCHAR2": (Kind.VARCHAR, None),
    "NVARCHAR2": (Kind.VARCHAR, None), "VARCHAR": (Kind.VARCHAR, None), "RAW": (Kind.BINARY, None),
}


def portable_from_catalog(data_type: str, precision: int | None = None, scale: int | None = None,
                          length: int | None = None) -> PortableType:
    """The portable type of an Oracle column from the catalog's DATA_TYPE, DATA_PRECISION,
    DATA_SCALE and length (CHAR_LENGTH for text, DATA_LENGTH for RAW)."""
    name = re.sub(r"\(\d+\)", "", data_type.upper()).strip()
    if name == "NUMBER":
        return _number(precision, scale)
    if name in _FIXED_CATALOG:
        return PortableType(_FIXED_CATALOG[name])
    if name in _SIZED_CATALOG:
        kind, default = _SIZED_CATALOG[name]
        return PortableType(kind, length=length or default)
    if name.startswith("TIMESTAMP"):
        return PortableType(Kind.TIMESTAMPTZ if "ZONE" in name else Kind.TIMESTAMP)
    if name.startswith("INTERVAL DAY"):
        return PortableType(Kind.TIME)
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
