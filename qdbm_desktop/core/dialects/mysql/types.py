"""MySQL's and MariaDB's types (catalog names, protocol type codes) and the portable types, both
ways, with the row-size rules a CREATE TABLE must meet."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qdbm_desktop.core.types import (
    Kind,
    PortableType,
)

#: The row-size limit of a MySQL table (every column's maximum bytes, TEXT/BLOB counted as 12).
_MAX_ROW_BYTES = 65535
_UTC = dt.timezone.utc


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


#: Catalog types a MySQL/MariaDB target creates as the source has them (MySQL -> MySQL). Left out:
#: BIT (LOAD DATA would store its digits as characters), TIMESTAMP (its automatic defaults and
#: 2038 limit; it stays DATETIME(6) in UTC) and the spatial types (read as their WKB bytes).
_VERBATIM_TYPES = frozenset({
    "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric", "float", "double",
    "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "binary", "varbinary", "tinyblob",
    "blob", "mediumblob", "longblob", "date", "datetime", "time", "year", "enum", "set", "json",
})
_LABEL = re.compile(r"'((?:[^']|'')*)'")


def verbatim_type(column_type: str) -> str:
    """``COLUMN_TYPE`` when a MySQL/MariaDB target can create it as it is, else ""."""
    name = re.match(r"\s*([a-z]+)", column_type.lower())
    return column_type if name and name.group(1) in _VERBATIM_TYPES else ""


def enum_labels(column_type: str) -> tuple[str, ...]:
    """The members of an ``enum('a','b')`` column type, in order (empty for any other type)."""
    if not column_type.lower().lstrip().startswith("enum("):
        return ()
    return tuple(label.replace("''", "'") for label in _LABEL.findall(column_type))


def enum_type(labels: Sequence[str]) -> str:
    """MySQL's ENUM of ``labels``, or "" where MySQL would change them: an empty label (ENUM's
    error value), trailing spaces (stripped from members), more than 255 characters, or labels
    that differ only in case or trailing spaces."""
    if not labels or len(labels) > 65535:
        return ""
    if any(not label or label != label.rstrip(" ") or len(label) > 255 for label in labels):
        return ""
    if len({label.casefold() for label in labels}) != len(labels):
        return ""
    return "ENUM(" + ",".join("'" + label.replace("\\", "\\\\").replace("'", "''") + "'"
                              for label in labels) + ")"
