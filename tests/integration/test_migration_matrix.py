"""All nine directions among PostgreSQL, MariaDB and SQLite, through the real pipeline.

One fixture table holds every portable kind with NULLs and extremes. It is written into the
source with that engine's own dialect (each dialect's tests prove its write-read round trip
against native SQL), migrated with ``run_migration``, and read back from the target; every value
must compare equal, or equal after the documented conversion (time zones become UTC where the
target has no zone; a uuid becomes text where the engine has no uuid type).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.core.dialects import ConnectParams, get_dialect
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.migration import Endpoint, MigrationRequest, Status, run_migration
from qdbm_desktop.core.types import Column, Kind, PortableType
from tests.integration.conftest import Server

ENGINES = ("postgresql", "mysql", "sqlite")

CEST = timezone(timedelta(hours=2))
FIXTURE_COLUMNS = [
    Column("id", PortableType(Kind.INT64), nullable=False),
    Column("i16", PortableType(Kind.INT16)),
    Column("i32", PortableType(Kind.INT32)),
    Column("i64", PortableType(Kind.INT64)),
    Column("d12", PortableType(Kind.DECIMAL, precision=12, scale=2)),
    Column("d38", PortableType(Kind.DECIMAL, precision=38, scale=10)),
    Column("f64", PortableType(Kind.FLOAT64)),
    Column("flag", PortableType(Kind.BOOLEAN)),
    Column("vc", PortableType(Kind.VARCHAR, length=60)),
    Column("tx", PortableType(Kind.TEXT)),
    Column("bin", PortableType(Kind.BINARY)),
    Column("dt", PortableType(Kind.DATE)),
    Column("tm", PortableType(Kind.TIME)),
    Column("ts", PortableType(Kind.TIMESTAMP)),
    Column("tstz", PortableType(Kind.TIMESTAMPTZ)),
    Column("js", PortableType(Kind.JSON)),
    Column("u", PortableType(Kind.UUID)),
    # Names that need quoting everywhere: a reserved word, a space, mixed case, unicode.
    Column("order", PortableType(Kind.INT32)),
    Column("Unit Price €", PortableType(Kind.DECIMAL, precision=10, scale=4)),
]

FIXTURE_ROWS: list[tuple[Any, ...]] = [
    (1, 32767, 2147483647, 9223372036854775807, Decimal("9999999999.99"),
     Decimal("1234567890123456789012345678.0123456789"), 1e308, True,
     "Zoë 🎉 e\u0301 \"quoted\" 'single' back\\slash", "tab\there\nnew line\r\n🎉👩‍👩‍👧 ∑",
     b"\x00\x01\xff\x00binary\x00", date(1900, 1, 1), time(23, 59, 59, 999999),
     datetime(1969, 7, 20, 20, 17, 40, 123456), datetime(2024, 3, 31, 3, 30, 0, 1, tzinfo=CEST),
     '{"name": "Zoë", "nested": {"emoji": "🎉", "list": [1, 2.5, null, "ünïcode"]}}',
     uuid.UUID("12345678-1234-5678-1234-567812345678"), 1, Decimal("12.3456")),
    (2, -32768, -2147483648, -9223372036854775808, Decimal("0.10"),
     Decimal("-0.0000000001"), 5e-324, False, "", "", b"", date(2199, 12, 31), time(0, 0, 0),
     datetime(2150, 1, 1, 0, 0, 0, 1), datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
     "[]", uuid.UUID("00000000-0000-0000-0000-000000000000"), -1, Decimal("0.0001")),
    (3,) + (None,) * (len(FIXTURE_COLUMNS) - 1),
]


def normalise(value: Any, column: str) -> Any:
    """The documented conversions, applied to both sides before comparing."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    if isinstance(value, uuid.UUID):
        return str(value)
    if column == "js" and isinstance(value, str):
        return json.loads(value)
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


class Side:
    def __init__(self, engine: str, params: ConnectParams, label: str) -> None:
        self.engine, self.params, self.label = engine, params, label
        self.dialect = get_dialect(engine)

    def endpoint(self) -> Endpoint:
        return Endpoint(self.label, self.engine, self.params)

    def write_fixture(self, table: TableName) -> None:
        conn = self.dialect.connect(self.params, 10)
        try:
            self.dialect.prepare_for_load(conn)
            self.dialect.create_table(conn, table, FIXTURE_COLUMNS, ("id",))
            conn.commit()
            writer = self.dialect.open_writer(conn, table, FIXTURE_COLUMNS)
            writer.write(FIXTURE_ROWS, 1)
            writer.finish()
            conn.commit()
        finally:
            conn.close()

    def read(self, query: str) -> tuple[list[Column], list[tuple[Any, ...]]]:
        conn = self.dialect.connect(self.params, 10)
        try:
            stream = self.dialect.open_read(conn, query, 1000)
            try:
                rows = [row for batch in stream.batches() for row in batch]
                return list(stream.columns), rows
            finally:
                stream.close()
        finally:
            conn.close()

    def select_all(self, table: TableName) -> str:
        names = ", ".join(self.dialect.quote_identifier(c.name) for c in FIXTURE_COLUMNS)
        return f"SELECT {names} FROM {self.dialect.qualified(table)} ORDER BY {self.dialect.quote_identifier('id')}"


def make_side(engine: str, request: pytest.FixtureRequest, role: str) -> Side:
    if engine == "sqlite":
        path: Path = request.getfixturevalue("tmp_path") / f"{role}.sqlite"
        sqlite3.connect(path).close()
        return Side(engine, ConnectParams(path=str(path)), f"sqlite {role}")
    server: Server = request.getfixturevalue("pg_database" if engine == "postgresql" else "mysql_database")
    params = ConnectParams(host=server.host, port=server.port, user=server.user, password=server.password or None,
                           database=server.database)
    return Side(engine, params, f"{engine} {role}")


@pytest.mark.parametrize("source_engine", ENGINES)
@pytest.mark.parametrize("target_engine", ENGINES)
def test_every_portable_type_survives_the_trip(source_engine: str, target_engine: str,
                                               request: pytest.FixtureRequest) -> None:
    source = make_side(source_engine, request, "source")
    # Same server engine: one database serves both sides, as a user copying within a server would.
    # SQLite gets a second file: a reader holds the file's shared lock for the whole run.
    same = source_engine == target_engine != "sqlite"
    target = source if same else make_side(target_engine, request, "target")
    source.write_fixture(TableName("fixture_src"))

    result = run_migration(MigrationRequest(
        source=source.endpoint(), target=target.endpoint(), query=source.select_all(TableName("fixture_src")),
        table=TableName("fixture copy"), mode=LoadMode.REPLACE, batch_size=2))

    assert result.status is Status.SUCCEEDED, result.error
    assert (result.rows_read, result.rows_written) == (3, 3)
    columns, rows = target.read(target.select_all(TableName("fixture copy")))
    assert [c.name for c in columns] == [c.name for c in FIXTURE_COLUMNS]
    for expected, got in zip(FIXTURE_ROWS, rows, strict=True):
        for column, want, have in zip(FIXTURE_COLUMNS, expected, got, strict=True):
            assert normalise(have, column.name) == normalise(want, column.name), (
                f"{source_engine}->{target_engine} column {column.name!r} row {expected[0]}: "
                f"{have!r} != {want!r}")
    # Empty string and NULL stay distinct.
    assert rows[1][FIXTURE_COLUMNS.index(next(c for c in FIXTURE_COLUMNS if c.name == "vc"))] == ""
    assert rows[2][8] is None
