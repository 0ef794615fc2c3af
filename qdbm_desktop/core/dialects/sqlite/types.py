"""SQLite's declared types and the portable types, both ways (docs/type-mapping.md), and what the
reading and writing modules share."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Context
from typing import Any

from qdbm_desktop.core.types import (
    INT_RANGES,
    Kind,
    PortableType,
)

Converter = Callable[[Any], Any]

_DECLARED = re.compile(r"\s*(.*?)\s*(?:\(\s*([+-]?\d+)\s*(?:,\s*([+-]?\d+)\s*)?\))?\s*", re.S)

#: Declared type names we know by name (upper case, single spaces); the rest follow SQLite's affinity rules.
_KIND_BY_NAME: dict[str, Kind] = {
    "SMALLINT": Kind.INT16, "INT2": Kind.INT16, "TINYINT": Kind.INT16,
    "INT4": Kind.INT32, "MEDIUMINT": Kind.INT32,
    "INTEGER": Kind.INT64, "INT": Kind.INT64, "BIGINT": Kind.INT64, "INT8": Kind.INT64,
    "UNSIGNED BIG INT": Kind.INT64,
    "DECIMAL": Kind.DECIMAL, "NUMERIC": Kind.DECIMAL, "NUMBER": Kind.DECIMAL, "DECIMAL_TEXT": Kind.DECIMAL,
    "FLOAT4": Kind.FLOAT32,
    "REAL": Kind.FLOAT64, "DOUBLE": Kind.FLOAT64, "DOUBLE PRECISION": Kind.FLOAT64, "FLOAT": Kind.FLOAT64,
    "FLOAT8": Kind.FLOAT64,
    "BOOLEAN": Kind.BOOLEAN, "BOOL": Kind.BOOLEAN,
    "CHAR": Kind.CHAR, "CHARACTER": Kind.CHAR, "NCHAR": Kind.CHAR, "NATIVE CHARACTER": Kind.CHAR,
    "VARCHAR": Kind.VARCHAR, "CHARACTER VARYING": Kind.VARCHAR, "VARYING CHARACTER": Kind.VARCHAR,
    "NVARCHAR": Kind.VARCHAR, "VARCHAR2": Kind.VARCHAR,
    "TEXT": Kind.TEXT, "CLOB": Kind.TEXT, "STRING": Kind.TEXT,
    "BLOB": Kind.BINARY, "BINARY": Kind.BINARY, "VARBINARY": Kind.BINARY, "BYTEA": Kind.BINARY,
    "DATE": Kind.DATE,
    "TIME": Kind.TIME, "TIME WITHOUT TIME ZONE": Kind.TIME,
    "TIMESTAMP": Kind.TIMESTAMP, "DATETIME": Kind.TIMESTAMP, "TIMESTAMP WITHOUT TIME ZONE": Kind.TIMESTAMP,
    "TIMESTAMPTZ": Kind.TIMESTAMPTZ, "TIMESTAMP WITH TIME ZONE": Kind.TIMESTAMPTZ,
    "JSON": Kind.JSON, "JSONB": Kind.JSON, "JSON_TEXT": Kind.JSON,
    "UUID": Kind.UUID, "UUID_TEXT": Kind.UUID,
}

#: What the writer declares. Exact decimals, JSON and UUIDs get names holding "TEXT" (and no "INT"),
#: so their columns have TEXT affinity: NUMERIC affinity would keep only ~15 digits of a decimal
#: and turn the JSON text '123' into an integer. The reader maps each name back to its kind.
_NATIVE: dict[Kind, str] = {
    Kind.INT16: "SMALLINT", Kind.INT32: "INT4", Kind.INT64: "BIGINT",
    Kind.FLOAT32: "FLOAT4", Kind.FLOAT64: "DOUBLE", Kind.BOOLEAN: "BOOLEAN", Kind.TEXT: "TEXT",
    Kind.DATE: "DATE", Kind.TIME: "TIME", Kind.TIMESTAMP: "TIMESTAMP", Kind.TIMESTAMPTZ: "TIMESTAMPTZ",
    Kind.JSON: "JSON_TEXT", Kind.UUID: "UUID_TEXT",
}

_INT_RANGE = INT_RANGES
#: Wide enough that quantizing any decimal we meet is exact, never rounded by the context.
_EXACT = Context(prec=100_000, Emax=999_999_999, Emin=-999_999_999)
_STORAGE_CLASS = {int: "INTEGER", float: "REAL", str: "TEXT", bytes: "BLOB"}


def portable_type(declared: str) -> PortableType | None:
    """The portable type for a column's declared SQLite type; None when nothing is declared.

    Known names (``DECIMAL(12,2)``, ``TIMESTAMP WITH TIME ZONE``, our own ``DECIMAL_TEXT(38,10)``,
    ``JSON_TEXT``, ``UUID_TEXT`` ...) map by name; any other name by SQLite's affinity rules
    (contains INT: int64; CHAR, CLOB or TEXT: text; BLOB: binary; REAL, FLOA or DOUB: float64;
    anything else has NUMERIC affinity: decimal without precision).
    """
    match = _DECLARED.fullmatch(declared)
    if match is None or not match.group(1):
        return None
    name = " ".join(match.group(1).upper().split())
    first = int(match.group(2)) if match.group(2) is not None else None
    second = int(match.group(3)) if match.group(3) is not None else None
    kind = _KIND_BY_NAME.get(name)
    if kind is None:
        kind = _affinity_kind(name)
    if kind is Kind.DECIMAL:
        if first is None or first < 1 or (second is not None and not 0 <= second <= first):
            return PortableType(Kind.DECIMAL)
        return PortableType(Kind.DECIMAL, precision=first, scale=second or 0)
    if kind in (Kind.CHAR, Kind.VARCHAR, Kind.BINARY) and first is not None and first >= 1 and second is None:
        return PortableType(kind, length=first)
    return PortableType(kind)


def _affinity_kind(name: str) -> Kind:
    # The order is SQLite's own (datatype3.html, 3.1): "POINT" holds INT, so it is an integer.
    if "INT" in name:
        return Kind.INT64
    if "CHAR" in name or "CLOB" in name or "TEXT" in name:
        return Kind.TEXT
    if "BLOB" in name:
        return Kind.BINARY
    if "REAL" in name or "FLOA" in name or "DOUB" in name:
        return Kind.FLOAT64
    return Kind.DECIMAL


def _inferred_type(values: list[Any]) -> tuple[PortableType, str]:
    """The kind of an undeclared result column from its first batch, and a source_type saying so."""
    classes = {type(v) for v in values if v is not None}
    if not classes:
        return PortableType(Kind.TEXT), "NULL (inferred)"
    if classes <= {int}:
        kind = Kind.INT64
    elif classes <= {int, float}:
        kind = Kind.FLOAT64
    elif classes == {bytes}:
        kind = Kind.BINARY
    else:
        kind = Kind.TEXT
    names = "/".join(sorted(_STORAGE_CLASS.get(c, c.__name__) for c in classes))
    return PortableType(kind), f"{names} (inferred)"


_NONE_TYPE = type(None)
ColumnConverter = Callable[[Sequence[Any], "set[type]"], "Sequence[Any] | None"]


def _nulls_kept(values: Sequence[Any], fast: ColumnConverter, classes: set[type],
                has_null: bool) -> Sequence[Any] | None:
    """``fast`` applied to the non-NULL values of a column, NULLs kept in place; None when it declines."""
    if not has_null:
        return fast(values, classes)
    present = [value for value in values if value is not None]
    converted = fast(present, classes)
    if converted is None:
        return None
    if converted is present:
        return values
    it = iter(converted)
    return [None if value is None else next(it) for value in values]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
