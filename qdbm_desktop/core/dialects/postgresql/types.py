"""PostgreSQL's types (built-in OIDs, type modifiers, domains) and the portable types, both ways."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context
from typing import TYPE_CHECKING, Any

from qdbm_desktop.core.dialects.base import Connection, LockSession
from qdbm_desktop.core.types import (
    INT_RANGES,
    Kind,
    PortableType,
)

if TYPE_CHECKING:
    import psycopg

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


def _catalog_types(connection: psycopg.Connection[Any], pairs: Sequence[tuple[int, int]]) -> list[_PgType]:
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



_NATIVE_TYPES: dict[Kind, str] = {
    Kind.INT16: "smallint", Kind.INT32: "integer", Kind.INT64: "bigint",
    Kind.FLOAT32: "real", Kind.FLOAT64: "double precision", Kind.BOOLEAN: "boolean",
    Kind.TEXT: "text", Kind.BINARY: "bytea", Kind.DATE: "date", Kind.TIME: "time",
    Kind.TIMESTAMP: "timestamp", Kind.TIMESTAMPTZ: "timestamptz", Kind.JSON: "jsonb", Kind.UUID: "uuid",
}


def pg_connection(connection: Connection | LockSession) -> psycopg.Connection[Any]:
    """The psycopg connection behind ``connection`` (``PostgreSQLDialect.connect`` opened it)."""
    import psycopg

    if not isinstance(connection, psycopg.Connection):
        raise TypeError(f"not a PostgreSQL connection: {type(connection).__name__}")
    return connection
