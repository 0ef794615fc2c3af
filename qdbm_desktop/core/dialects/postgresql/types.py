"""PostgreSQL's types (built-in OIDs, type modifiers, domains) and the portable types, both ways."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context
from typing import TYPE_CHECKING, Any

from qdbm_desktop.core.dialects.base import Connection, LockSession
from qdbm_desktop.core.types import (
    INT_RANGES,
    Column,
    Kind,
    PortableType,
)

if TYPE_CHECKING:
    import psycopg

# Built-in type OIDs (fixed in every PostgreSQL since 8.x; see pg_type.dat).
INT2, INT4, INT8, NUMERIC, FLOAT4, FLOAT8, BOOL = 21, 23, 20, 1700, 700, 701, 16
BPCHAR, VARCHAR, TEXT, NAME, BYTEA = 1042, 1043, 25, 19, 17
DATE, TIME, TIMESTAMP, TIMESTAMPTZ, JSON, JSONB, UUID = 1082, 1083, 1114, 1184, 114, 3802, 2950
MONEY, INTERVAL = 790, 1186

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


def portable_type(oid: int, typmod: int = -1, category: str = "") -> PortableType:
    """The portable type for a PostgreSQL type OID and type modifier (as libpq or pg_attribute give them).

    Arrays are JSON (read as a JSON array), ``money`` an exact decimal; other types without a
    portable kind (interval, enums, inet, timetz, ...) map to text: they are read as their
    PostgreSQL text representation (intervals in ISO 8601).
    """
    if category == "A":
        return PortableType(Kind.JSON)
    if oid == MONEY:
        return PortableType(Kind.DECIMAL, precision=19, scale=2)
    if oid == JSONB:
        return PortableType(Kind.JSON, variant="jsonb")
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
    """A column's type as the catalog tells it: base type of domains resolved.

    ``native`` is the base type's ``format_type`` spelling when a PostgreSQL target can create it
    as it is (a built-in type or an array of one; ``text`` or ``text[]`` for an enum, whose
    ``labels`` are kept); empty for types only the source database has (composites, extension
    types), which read as text. ``category`` is ``pg_type.typcategory`` (``A`` for arrays) and
    ``element`` the element type's category for an array.
    """

    oid: int
    typmod: int
    display: str
    native: str = ""
    category: str = ""
    element: str = ""
    labels: tuple[str, ...] = ()
    element_oid: int = 0

    @property
    def is_array(self) -> bool:
        return self.category == "A"


#: The first OID of a user-made object; every built-in type has a lower one.
_FIRST_NORMAL_OID = 16384

_CATALOG_SQL = """
WITH RECURSIVE u AS (
    SELECT o, m, i FROM unnest(%s::oid[], %s::int4[]) WITH ORDINALITY AS x(o, m, i)),
b(i, o, m, depth) AS (
    SELECT i, o, m, 0 FROM u
    UNION ALL
    SELECT b.i, t.typbasetype, t.typtypmod, b.depth + 1
    FROM b JOIN pg_catalog.pg_type t ON t.oid = b.o AND t.typtype = 'd' WHERE b.depth < 20)
SELECT format_type(u.o, u.m), base.o, base.m, format_type(base.o, base.m),
       coalesce(t.typtype::text, ''), coalesce(t.typcategory::text, ''), coalesce(e.typtype::text, ''),
       coalesce(e.typcategory::text, ''), coalesce(e.oid, 0),
       coalesce((SELECT array_agg(l.enumlabel::text ORDER BY l.enumsortorder) FROM pg_catalog.pg_enum l
                 WHERE l.enumtypid = CASE WHEN t.typtype = 'e' THEN t.oid ELSE e.oid END), '{}')
FROM u
CROSS JOIN LATERAL (SELECT b.o, b.m FROM b WHERE b.i = u.i ORDER BY b.depth DESC LIMIT 1) base
LEFT JOIN pg_catalog.pg_type t ON t.oid = base.o
LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
ORDER BY u.i
"""


def _native_spelling(oid: int, spelled: str, typtype: str, category: str, element_type: str,
                     element_oid: int) -> str:
    """What a PostgreSQL target creates for a base type (see ``_PgType.native``)."""
    if typtype == "e":
        return "text"
    if category == "A" and element_type == "e":
        return "text[]"
    if typtype == "p" or oid >= _FIRST_NORMAL_OID or (category == "A" and element_oid >= _FIRST_NORMAL_OID):
        return ""  # pseudo-types (unknown, record) and types only the source database has
    if spelled.startswith("reg") or spelled in ("oid", "xid", "cid", "tid", "oidvector", "int2vector"):
        return ""  # their values name the source database's own objects
    if category == "A" and element_type == "d":
        return ""
    return spelled


def _catalog_types(connection: psycopg.Connection[Any], pairs: Sequence[tuple[int, int]]) -> list[_PgType]:
    """Resolve (oid, typmod) pairs: the SQL spelling (format_type), for domains the base type, and
    what a PostgreSQL target can create for each."""
    if not pairs:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_CATALOG_SQL, ([p[0] for p in pairs], [p[1] for p in pairs]))
        found = []
        for display, oid, mod, spelled, typtype, category, etype, ecategory, eoid, labels \
                in cursor.fetchall():
            native = _native_spelling(int(oid), str(spelled), typtype, category, etype, int(eoid))
            found.append(_PgType(int(oid), int(mod), str(display), native, category,
                                 ecategory if category == "A" else "", tuple(labels or ()), int(eoid)))
        return found


def column_of(name: str, pg_type: _PgType, nullable: bool = True) -> Column:
    """The portable column for a PostgreSQL column, carrying its exact type for a PostgreSQL target."""
    return Column(name, portable_type(pg_type.oid, pg_type.typmod, pg_type.category), nullable,
                  pg_type.display, pg_type.native, "postgresql" if pg_type.native else "", pg_type.labels)


_NATIVE_TYPES: dict[Kind, str] = {
    Kind.INT16: "smallint", Kind.INT32: "integer", Kind.INT64: "bigint",
    Kind.FLOAT32: "real", Kind.FLOAT64: "double precision", Kind.BOOLEAN: "boolean",
    Kind.TEXT: "text", Kind.BINARY: "bytea", Kind.DATE: "date", Kind.TIME: "time",
    Kind.TIMESTAMP: "timestamp", Kind.TIMESTAMPTZ: "timestamptz", Kind.JSON: "json", Kind.UUID: "uuid",
}


def pg_connection(connection: Connection | LockSession) -> psycopg.Connection[Any]:
    """The psycopg connection behind ``connection`` (``PostgreSQLDialect.connect`` opened it)."""
    import psycopg

    if not isinstance(connection, psycopg.Connection):
        raise TypeError(f"not a PostgreSQL connection: {type(connection).__name__}")
    return connection
