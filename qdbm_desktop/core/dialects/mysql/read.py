"""Reading: an unbuffered raw cursor (or the binary protocol for a result with FLOAT), values
turned canonical column by column, zero dates counted; and what the catalog says of a result."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from qdbm_desktop.core.dialects.mysql.driver import (
    MySQLConnection,
    MySQLCursor,
    mark_result_read,
    native_result,
    native_statement,
)
from qdbm_desktop.core.dialects.mysql.types import _BIT, _DATE_KINDS, _LONGLONG, _UTC
from qdbm_desktop.core.types import (
    END_OF_DAY,
    Column,
    Kind,
    PortableType,
    ValueRejected,
)

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

    def __init__(self, connection: MySQLConnection, cursor: MySQLCursor, columns: list[Column],
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
        self._fetch: Callable[[int], list[tuple[Any, ...]]] = \
            _binary_fetch(cursor) if binary else cursor.fetchmany

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
            elif self._connection.unread_result:
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


def _bytes_to_time(raw: bytes) -> dt.time | dt.timedelta:
    text = raw.decode("ascii")
    hours = text.split(":", 1)[0]
    if text.rstrip("0").rstrip(".") == "24:00:00":
        return END_OF_DAY
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


def _binary_time(value: Any) -> dt.time | dt.timedelta:
    if isinstance(value, dt.time):
        return value
    span: dt.timedelta = value  # the driver's reading of a TIME
    if span == END_OF_DAY:
        return span
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


def _binary_fetch(cursor: MySQLCursor) -> Callable[[int], list[tuple[Any, ...]]]:
    """``fetchmany`` for a prepared statement's result: the C extension's row call in a loop (its
    cursor's own ``fetchmany`` looks one row ahead in Python, about 15x slower)."""
    stmt = native_statement(cursor)
    if stmt is None or not hasattr(stmt, "fetch_row"):
        return cursor.fetchmany
    fetch_row = stmt.fetch_row

    def fetch(size: int) -> list[tuple[Any, ...]]:
        rows = []
        for _ in range(size):
            row = fetch_row()
            if row is None:
                break
            rows.append(row)
        return rows
    return fetch


def _end_binary_result(connection: MySQLConnection, cursor: MySQLCursor) -> None:
    """Drop what is left of a prepared statement's result so that the connection is usable again."""
    stmt = native_statement(cursor)
    if stmt is None:
        return
    with contextlib.suppress(Exception):
        stmt.free_result()  # reads and drops the rows not fetched
    mark_result_read(connection)


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
                       fields: Sequence[tuple[Any, ...]]) -> dict[int, tuple[PortableType, str, bool, str]]:
    result: dict[int, tuple[PortableType, str, bool, str]] = {}
    for index, origin in _origins(fields).items():
        entry = known.get(origin)
        if entry is not None:
            result[index] = (entry.type, entry.source_type, entry.nullable, entry.collation)
    return result


def _fetch_fields(connection: MySQLConnection, cursor: MySQLCursor) -> list[tuple[Any, ...]]:
    """Column origins (catalog, db, table, org_table, name, org_name, ...) from the C extension."""
    native = native_result(connection)
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


def _prepared_fields(cursor: MySQLCursor) -> list[tuple[Any, ...]]:
    """Column origins of a prepared statement's result, as ``_fetch_fields`` gives them."""
    stmt = native_statement(cursor)
    if stmt is not None and hasattr(stmt, "fetch_fields"):
        with contextlib.suppress(Exception):
            return [tuple(f) for f in stmt.fetch_fields()]
    return [()] * len(cursor.description or ())


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
