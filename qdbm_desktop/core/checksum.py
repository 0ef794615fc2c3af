"""Order-independent checksums of rows, per column, equal on both sides exactly when the data is.

Each value is first brought to a canonical form that follows the *target* column's portable
type, so that a value read from the source and the same value read back from the target compare
equal even where the mapping changes its form on purpose:

* integers, booleans and decimals by their exact numeric value (``True`` equals ``1``,
  ``Decimal("1.50")`` equals ``Decimal("1.5")``); a float source into a decimal target by the
  decimal of its shortest repr, which is what the writers store;
* floats by their value at the target's precision (a float32 target rounds to float32 first);
  ``-0.0`` equals ``0.0`` (MariaDB and SQLite cannot store the sign of zero) and every NaN equals
  every other NaN;
* text as the string itself (a fixed-width ``char`` target without its trailing spaces); values
  of other types stored in a text column (a UUID) by their text;
* bytes by their raw content; dates and times as they are; timestamps with a zone as the UTC
  moment, a naive timestamp as it is (timestamptz targets without zones store UTC);
* JSON by its parsed value, keys sorted (a jsonb target reorders keys and keeps the last of a
  duplicated one); UUIDs by their lowercase text;
* NULL as a marker distinct from every value.

The hash of a canonical value is Python's own ``hash`` (SipHash for strings and bytes, exact
modular arithmetic for numbers), run in C over whole columns: it is salted per process, so the
digests are only ever compared within one process, between two sides hashed by the same run.
A column's digest is the sum of its values' hashes modulo 2**64, folded with the count of ``-1``
values (``hash(-1) == hash(-2)``) and, for integer columns, the sum of the values themselves;
the table's digest is the sum of the rows' hashes (a row's hash combines its values' hashes,
non-linearly, so a value moved from one row to another changes it). With key columns the rows' hashes are also
summed into buckets by the hash of their key, which lets :func:`find_differences` read only the
rows of a few differing buckets again to name example keys.
"""

from __future__ import annotations

import json
import math
import operator
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from enum import Enum
from typing import Any

from qdbm_desktop.core.types import FLOAT_KINDS, INTEGER_KINDS, TEXT_KINDS, Kind


class VerifyLevel(str, Enum):
    """How a run checks the staging table before the swap."""

    #: The staging table holds as many rows as were read.
    COUNTS = "counts"
    #: And every column's checksum over what the target holds equals the one over what was read.
    CHECKSUM = "checksum"


MASK = (1 << 64) - 1
#: How many buckets the rows' hashes are summed into by key (a differing bucket is read again).
BUCKETS = 65536
_MINUS_ONE = 0x9E3779B97F4A7C15
_RAW_SUM = 0xC2B2AE3D27D4EB4F
_ROW_MIX = 0x165667B19E3779F9
_NAN = ("qdbm", "NaN")
_TOO_BIG = ("qdbm", "float32 overflow")

Canon = Callable[[Any], Any]
_NUMERIC = INTEGER_KINDS | FLOAT_KINDS | {Kind.BOOLEAN}


def _float(value: Any) -> Any:
    if value is None:
        return None
    number = float(value)
    return _NAN if number != number else number


_FLOAT32 = struct.Struct("<f")


def _float32(value: Any) -> Any:
    if value is None:
        return None
    number = float(value)
    if number != number:
        return _NAN
    try:
        rounded: float = _FLOAT32.unpack(_FLOAT32.pack(number))[0]
    except OverflowError:
        return _TOO_BIG
    return rounded


#: Wide enough for any engine's decimal (PostgreSQL's numeric has up to 131,072 digits before the point).
_EXACT = Context(prec=200_000, Emax=MAX_EMAX, Emin=MIN_EMIN)
_normalize = _EXACT.normalize


def _decimal(value: Any) -> Any:
    """A number as the text of its exact value: ``1.50`` and ``1.5`` and ``Decimal(15) / 10`` alike.

    Python hashes a Decimal by modular arithmetic that costs several times a text's hash."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return str(_normalize(value))
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else str(_normalize(Decimal(repr(value))))
    return str(_normalize(Decimal(value)))


def _decimal_column(column: Sequence[Any]) -> Sequence[Any]:
    normalize = _normalize
    if set(map(type, column)) <= {Decimal}:
        return list(map(str, map(normalize, column)))
    return list(map(_decimal, column))


def _utc_naive(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _aware_utc(value: Any) -> Any:
    # An aware datetime hashes by its UTC moment already; a naive one (a zone-less target) is UTC.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _naive_time(value: Any) -> Any:
    if isinstance(value, time) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def _char(value: Any) -> Any:
    if value is None:
        return None
    return (value if isinstance(value, str) else str(value)).rstrip(" ")


def _text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _bytes(value: Any) -> Any:
    if value is None or type(value) is bytes:
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def _json(value: Any) -> Any:
    if value is None:
        return None
    try:
        parsed = json.loads(value) if isinstance(value, (str, bytes, bytearray)) else value
    except ValueError:
        return value
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _uuid(value: Any) -> Any:
    return None if value is None else str(value).lower()


def canonical(source: Kind, target: Kind) -> Canon | None:
    """How a value read as a ``source`` column is brought to the canonical form of a ``target``
    column (``None``: it already is, which keeps the common cases at C speed)."""
    if target in INTEGER_KINDS or target is Kind.BOOLEAN:
        return None
    if target is Kind.DECIMAL:
        return _decimal
    if target is Kind.FLOAT32:
        return _float32
    if target is Kind.FLOAT64:
        return _float
    if target is Kind.CHAR:
        return _char
    if target in TEXT_KINDS:
        if source is Kind.JSON:
            return _json
        return None if source in TEXT_KINDS else _text
    if target is Kind.TIMESTAMP:
        return None if source is Kind.TIMESTAMP else _utc_naive
    return _BY_TARGET.get(target)


ColumnCanon = Callable[[Sequence[Any]], Sequence[Any]]


def _per_value(canon: Canon) -> ColumnCanon:
    return lambda column: list(map(canon, column))


def _unless_nan(canon: Canon, isnan: Callable[[Any], bool]) -> ColumnCanon:
    """Values kept as they are (at C speed) unless the column holds a NaN, whose hash is its identity's."""
    def convert(column: Sequence[Any]) -> Sequence[Any]:
        try:
            if not any(map(isnan, filter(None, column))):
                return column
        except TypeError:  # a value of another type: take each value's canonical form
            pass
        return list(map(canon, column))
    return convert


def _when_types(canon: Canon, types: frozenset[type]) -> ColumnCanon:
    """Values kept as they are when every one is of ``types``, else each made canonical."""
    def convert(column: Sequence[Any]) -> Sequence[Any]:
        return column if set(map(type, column)) <= types else list(map(canon, column))
    return convert


def column_canonical(source: Kind, target: Kind) -> ColumnCanon | None:
    """:func:`canonical` for a whole column of a batch, skipping the per-value call where it can."""
    canon = canonical(source, target)
    if canon is None:
        return None
    if target is Kind.DECIMAL:
        return _decimal_column
    if target in FLOAT_KINDS and source in FLOAT_KINDS and (source is target or target is Kind.FLOAT64):
        return _unless_nan(canon, math.isnan)
    if target is Kind.BINARY:
        return _when_types(canon, frozenset({bytes, type(None)}))
    return _per_value(canon)


_BY_TARGET: dict[Kind, Canon] = {
    Kind.BINARY: _bytes,
    Kind.TIME: _naive_time,
    Kind.TIMESTAMPTZ: _aware_utc,
    Kind.JSON: _json,
    Kind.UUID: _uuid,
}


@dataclass
class Checksum:
    """The running checksum of one side: rows, a digest per column, one for the rows."""

    names: list[str]
    rows: int = 0
    columns: list[int] = field(default_factory=list)
    row_digest: int = 0
    #: The rows' hashes summed by their key's hash (empty without key columns).
    buckets: list[int] = field(default_factory=list)

    def differing_columns(self, other: Checksum) -> list[str]:
        return [name for name, mine, theirs in zip(self.names, self.columns, other.columns, strict=False)
                if mine != theirs]

    def equals(self, other: Checksum) -> bool:
        return (self.rows, self.columns, self.row_digest) == (other.rows, other.columns, other.row_digest)

    def differing_buckets(self, other: Checksum) -> list[int]:
        pairs = zip(self.buckets, other.buckets, strict=True)
        return [i for i, (mine, theirs) in enumerate(pairs) if mine != theirs]


class Hasher:
    """Folds batches of rows into a :class:`Checksum`.

    ``sources`` are the kinds the rows' columns are read as, ``targets`` the kinds of the target
    columns they go to (which fix the canonical form); ``keys`` are positions of key columns.
    """

    def __init__(self, names: Sequence[str], sources: Sequence[Kind], targets: Sequence[Kind],
                 keys: Sequence[int] = ()) -> None:
        self.checksum = Checksum(list(names), columns=[0] * len(names),
                                 buckets=[0] * BUCKETS if keys else [])
        self.sources, self.targets = list(sources), list(targets)
        self.canons = [canonical(s, t) for s, t in zip(sources, targets, strict=True)]
        self.columns = [column_canonical(s, t) for s, t in zip(sources, targets, strict=True)]
        self.numeric = [t in _NUMERIC for t in targets]
        self.integer = [t in INTEGER_KINDS for t in targets]
        self.keys = tuple(keys)

    def hashes(self, batch: Sequence[tuple[Any, ...]]) -> tuple[list[list[int]], list[int]]:
        """Each column's value hashes, and each row's hash; folds them into the checksum."""
        total = self.checksum
        hashed: list[list[int]] = []
        for i, column in enumerate(zip(*batch, strict=False)):
            canon = self.columns[i]
            values: Sequence[Any] = column if canon is None else canon(column)
            hashes = list(map(hash, values))
            digest = total.columns[i] + sum(hashes)
            if self.numeric[i]:
                digest += values.count(-1) * _MINUS_ONE
            if self.integer[i]:
                digest += sum(filter(None, values)) * _RAW_SUM
            total.columns[i] = digest & MASK
            hashed.append(hashes)
        # A tuple's hash is close to linear in its items' hashes (two rows that swap a value
        # often keep the sum), so each row's is multiplied by a function of itself.
        tuples = list(map(hash, zip(*hashed, strict=True)))
        rows = list(map(operator.mul, tuples, map(_ROW_MIX.__xor__, tuples)))
        total.rows += len(batch)
        total.row_digest = (total.row_digest + sum(rows)) & MASK
        if self.keys:
            buckets = total.buckets
            for bucket, row in zip(self.bucket_of(hashed), rows, strict=False):
                buckets[bucket] += row
        return hashed, rows

    def bucket_of(self, hashed: list[list[int]]) -> Iterable[int]:
        """The bucket of each row, from the hashes of its key values."""
        keys = zip(*(hashed[k] for k in self.keys), strict=False)
        return map(BUCKETS.__rmod__, map(hash, keys))

    def fresh(self) -> Hasher:
        """A hasher like this one, from zero."""
        return Hasher(self.checksum.names, self.sources, self.targets, self.keys)

    def value(self, position: int, value: Any) -> Any:
        """``value`` of the column at ``position`` in its canonical form."""
        canon = self.canons[position]
        return value if canon is None else canon(value)

    def add(self, batch: Sequence[tuple[Any, ...]]) -> None:
        if batch:
            self.hashes(batch)


#: Session settings under which PostgreSQL writes every value's text the same way on any server.
PG_TEXT_SETTINGS = (
    "SET LOCAL TimeZone = 'UTC'", "SET LOCAL DateStyle = 'ISO, YMD'", "SET LOCAL IntervalStyle = 'postgres'",
    "SET LOCAL extra_float_digits = 3", "SET LOCAL bytea_output = 'hex'",
)


#: How PostgreSQL hashes a value of each kind to 64 bits without writing it as text ({} is the
#: value, the second argument the seed); any other kind hashes its text.
_PG_HASHES: dict[Kind, str] = {
    **{kind: "hashint8extended({}::int8, {})" for kind in INTEGER_KINDS},
    Kind.DECIMAL: "hash_numeric_extended({}, {})",
    Kind.FLOAT64: "hashfloat8extended({}, {})",
    Kind.FLOAT32: "hashfloat4extended({}, {})",
    Kind.BOOLEAN: "hashint4extended({}::int4, {})",
    Kind.DATE: "hashint4extended({} - date '2000-01-01', {})",
    Kind.TIMESTAMP: "timestamp_hash_extended({}, {})",
    Kind.TIMESTAMPTZ: "timestamp_hash_extended({} AT TIME ZONE 'UTC', {})",
    Kind.UUID: "uuid_hash_extended({}, {})",
}


def pg_checksum_sql(relation: str, columns: Sequence[tuple[str, Kind]], quote: Callable[[str], str]) -> str:
    """One PostgreSQL aggregate over ``relation`` (a query, or a table's columns): the row count,
    per column the sum of a 64-bit hash of each value (seeded by the column's position; NULL
    counts as 1), and the sum of each row's hash (a hash of its values' hashes combined).

    Used where both sides are PostgreSQL with the very same column types (the rows then pass
    without being decoded): numbers, dates and times hash by their value with the server's own
    hash functions, everything else by its text."""
    hashes = ", ".join(
        "coalesce(" + _PG_HASHES.get(kind, "hashtextextended({}::text, {})").format(f"q.{quote(name)}", i)
        + f", 1) AS h{i}" for i, (name, kind) in enumerate(columns))
    sums = ", ".join(f"sum(h{i})" for i in range(len(columns)))
    row = " # ".join(f"h{i}" for i in range(len(columns)))
    return (f"SELECT count(*), {sums}, coalesce(sum(hashint8extended({row}, 0)), 0) "
            f"FROM (SELECT {hashes} FROM ({relation}\n) q) z")


@dataclass(frozen=True)
class RowDifference:
    """A key whose rows differ: ``kind`` is missing (only in the source), extra (only in the
    target) or different; the values are the row's, as read on each side."""

    kind: str
    key: tuple[Any, ...]
    source: tuple[Any, ...] | None
    target: tuple[Any, ...] | None


def collect_bucket_rows(hasher: Hasher, batches: Iterable[Sequence[tuple[Any, ...]]],
                        wanted: set[int]) -> dict[tuple[int, ...], tuple[int, tuple[Any, ...]]]:
    """The rows (by their key's value hashes) that fall in the ``wanted`` buckets, with their hashes."""
    found: dict[tuple[int, ...], tuple[int, tuple[Any, ...]]] = {}
    for batch in batches:
        if not batch:
            continue
        hashed, rows = hasher.hashes(batch)
        keys = list(zip(*(hashed[k] for k in hasher.keys), strict=False))
        for key, bucket, row_hash, row in zip(keys, hasher.bucket_of(hashed), rows, batch, strict=False):
            if bucket in wanted:
                found[key] = (row_hash, row)
    return found


def find_differences(source: dict[tuple[int, ...], tuple[int, tuple[Any, ...]]],
                     target: dict[tuple[int, ...], tuple[int, tuple[Any, ...]]],
                     keys: Sequence[int], limit: int) -> list[RowDifference]:
    """The differing rows of two sides' collected rows, in key order (as Python orders the values)."""
    differences: list[RowDifference] = []
    for key in source.keys() | target.keys():
        mine, theirs = source.get(key), target.get(key)
        if mine is not None and theirs is not None and mine[0] == theirs[0]:
            continue
        row = (mine or theirs)[1]  # type: ignore[index]
        kind = "missing" if theirs is None else "extra" if mine is None else "different"
        differences.append(RowDifference(kind, tuple(row[k] for k in keys),
                                         None if mine is None else mine[1],
                                         None if theirs is None else theirs[1]))
    differences.sort(key=lambda d: tuple(_sort_key(v) for v in d.key))
    return differences[:limit]


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))


def shown(value: Any) -> Any:
    """A value as text or a JSON scalar, for a report."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)
