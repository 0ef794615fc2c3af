"""The ODBC transport under the SQL Server dialect, run for real through the ODBC drivers we can run.

No SQL Server runs here, so the part of the SQL Server dialect that binds and sends batches,
streams results, commits, rolls back and maps errors is driven through unixODBC with the
"PostgreSQL Unicode" (psqlodbc) and "MariaDB Unicode" drivers against the local servers, with
the SQL Server dialect's own parameter plans (types, sizes, value checks). Only the T-SQL text
itself is left to the parsing tests and to a real SQL Server.
"""

from __future__ import annotations

import json
import time as clock
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.odbc import (
    ConnectionLost,
    OdbcBatchLoader,
    OdbcParam,
    OdbcReadStream,
    portable_from_description,
    run_in_transaction,
)
from qdbm_desktop.core.dialects.sqlserver import SQLServerDialect
from qdbm_desktop.core.types import Column, Kind, PortableType, ValueRejected
from tests.integration.conftest import Server, pyodbc_or_skip, unavailable
from tests.integration.test_migration_matrix import FIXTURE_COLUMNS, FIXTURE_ROWS, normalise
from tests.integration.test_sqlserver_oracle_servers import SQLSERVER_ROWS

pyodbc = pyodbc_or_skip()
SQLSERVER = SQLServerDialect()
PG_DRIVER, MARIADB_DRIVER = "PostgreSQL Unicode", "MariaDB Unicode"

#: PostgreSQL column types that take what the SQL Server dialect binds for each fixture column.
PG_TYPES = {
    "id": "bigint NOT NULL", "i16": "smallint", "i32": "integer", "i64": "bigint", "d12": "numeric(12,2)",
    "d38": "numeric(38,10)", "f64": "double precision", "flag": "boolean", "vc": "varchar(60)", "tx": "text",
    "bin": "bytea", "dt": "date", "tm": "time", "ts": "timestamp", "tstz": "timestamptz", "js": "jsonb",
    "u": "uuid", "order": "integer", "Unit Price €": "numeric(10,4)",
}


def require_driver(name: str) -> None:
    if name not in pyodbc.drivers():
        unavailable(f"the ODBC driver {name!r} is not installed (pyodbc sees: {pyodbc.drivers()})")


@pytest.fixture
def pg_odbc(pg_database: Server) -> Iterator[Any]:
    require_driver(PG_DRIVER)
    connection = pyodbc.connect(f"DRIVER={{{PG_DRIVER}}};SERVER={pg_database.host};PORT={pg_database.port};"
                                f"DATABASE={pg_database.database};UID={pg_database.user}", autocommit=False)
    yield connection
    connection.close()


@pytest.fixture
def pg_native(pg_database: Server) -> Iterator[Any]:
    """A psycopg connection to the same database: an independent observer of what was committed."""
    import psycopg

    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database, autocommit=True) as connection:
        yield connection


def pg_table(native: Any, name: str, columns: list[Column]) -> str:
    body = ", ".join(f'"{c.name}" {PG_TYPES[c.name]}' for c in columns)
    native.execute(f'CREATE TABLE "{name}" ({body})')
    names = ", ".join(f'"{c.name}"' for c in columns)
    return f'INSERT INTO "{name}" ({names}) VALUES ({", ".join("?" * len(columns))})'


def count(native: Any, table: str) -> int:
    return int(native.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])


def test_every_value_the_sql_server_plan_binds_arrives_intact_through_a_real_driver(pg_odbc: Any, pg_native: Any) -> None:
    insert = pg_table(pg_native, "fixture", FIXTURE_COLUMNS)
    loader = OdbcBatchLoader(pg_odbc, insert, SQLSERVER.bulk_params(FIXTURE_COLUMNS))
    with pytest.raises(ValueRejected, match="column 'f64', row 2: 5e-324 is too close to zero"):
        loader.write(FIXTURE_ROWS, 1)
    loader.write(SQLSERVER_ROWS, 1)
    loader.finish()
    pg_odbc.commit()

    names = ", ".join(f'"{c.name}"' for c in FIXTURE_COLUMNS)
    rows = pg_native.execute(f'SELECT {names} FROM fixture ORDER BY id').fetchall()
    assert len(rows) == len(SQLSERVER_ROWS)
    for expected, got in zip(SQLSERVER_ROWS, rows, strict=True):
        for column, want, have in zip(FIXTURE_COLUMNS, expected, got, strict=True):
            if column.name == "js" and have is not None:
                have = json.dumps(have)
            assert normalise(have, column.name) == normalise(want, column.name), (column.name, have, want)
    # The emoji in the varchar(60) value counts two UTF-16 units, and the bound size allowed for it.
    assert rows[0][FIXTURE_COLUMNS.index(next(c for c in FIXTURE_COLUMNS if c.name == "vc"))].count("🎉") == 1


def test_rows_go_in_chunks_of_parameter_arrays_and_are_visible_only_after_the_commit(
        pg_odbc: Any, pg_native: Any) -> None:
    columns = [Column("id", PortableType(Kind.INT64), nullable=False), Column("tx", PortableType(Kind.TEXT))]
    insert = pg_table(pg_native, "chunks", columns)
    loader = OdbcBatchLoader(pg_odbc, insert, SQLSERVER.bulk_params(columns), chunk_rows=10)
    loader.write([(i, f"row {i}") for i in range(1, 26)], 1)
    loader.write([(i, None) for i in range(26, 31)], 26)

    assert (loader.calls, loader.rows_sent) == (4, 30)
    assert count(pg_native, "chunks") == 0  # nothing committed yet: one transaction for the load
    pg_odbc.commit()
    assert count(pg_native, "chunks") == 30
    assert pg_native.execute("SELECT count(tx) FROM chunks").fetchone()[0] == 25


def test_unbounded_text_and_binary_are_bound_at_the_longest_value_of_each_chunk(pg_odbc: Any, pg_native: Any) -> None:
    # A size of 0 (what a max column describes itself as) crashes some drivers and makes others
    # reserve gigabytes; the loader sizes each chunk from its values and splits wide chunks.
    columns = [Column("id", PortableType(Kind.INT64), nullable=False), Column("tx", PortableType(Kind.TEXT)),
               Column("bin", PortableType(Kind.BINARY))]
    insert = pg_table(pg_native, "wide", columns)
    big = "é" * 1_000_000
    rows = [(i, big if i % 2 else "short", bytes([i]) * (300_000 if i % 3 == 0 else 3)) for i in range(1, 11)]
    loader = OdbcBatchLoader(pg_odbc, insert, SQLSERVER.bulk_params(columns), max_chunk_bytes=5_000_000)
    loader.write(rows, 1)
    pg_odbc.commit()

    # About 2.3 MB a row at the chunk's longest value: no more than two rows a call.
    assert loader.calls >= 5
    stored = pg_native.execute("SELECT id, length(tx), length(bin) FROM wide ORDER BY id").fetchall()
    assert stored == [(i, 1_000_000 if i % 2 else 5, 300_000 if i % 3 == 0 else 3) for i in range(1, 11)]


def test_a_value_the_column_cannot_hold_is_refused_with_column_and_row_before_anything_is_sent(
        pg_odbc: Any, pg_native: Any) -> None:
    columns = [Column("id", PortableType(Kind.INT64), nullable=False), Column("i16", PortableType(Kind.INT16)),
               Column("f64", PortableType(Kind.FLOAT64)), Column("vc", PortableType(Kind.VARCHAR, length=60))]
    insert = pg_table(pg_native, "refused", columns)
    loader = OdbcBatchLoader(pg_odbc, insert, SQLSERVER.bulk_params(columns))

    with pytest.raises(ValueRejected, match=r"column 'i16', row 12: 40000 is out of range for smallint"):
        loader.write([(i, 1 if i != 12 else 40000, 1.0, "x") for i in range(1, 20)], 1)
    with pytest.raises(ValueRejected, match=r"column 'f64', row 3: nan cannot be stored: SQL Server has no NaN"):
        loader.write([(1, 1, 1.0, "x"), (2, 1, 2.0, "x"), (3, 1, float("nan"), "x")], 1)
    with pytest.raises(ValueRejected, match=r"column 'vc', row 1: text of 61 characters is longer than nvarchar\(60\)"):
        loader.write([(1, 1, 1.0, "x" * 61)], 1)
    assert loader.calls == 0


def test_a_value_the_server_refuses_becomes_a_refused_value_naming_the_rows_sent(pg_odbc: Any, pg_native: Any) -> None:
    pg_native.execute("CREATE TABLE narrow (id bigint NOT NULL, n smallint)")
    # Planned as int32, so only the server (a smallint column) can refuse 40000.
    params = [OdbcParam("id", -5), OdbcParam("n", 4)]
    loader = OdbcBatchLoader(pg_odbc, "INSERT INTO narrow (id, n) VALUES (?, ?)", params, chunk_rows=10)

    with pytest.raises(ValueRejected, match=r"rows 11-20: .*out of range for type smallint.*SQLSTATE 22003"):
        loader.write([(i, 40000 if i == 15 else i) for i in range(1, 31)], 1)
    pg_odbc.rollback()
    with pytest.raises(ValueRejected, match=r"row 7: .*null value in column \"id\".*SQLSTATE 23502"):
        loader.write([(None, 1)], 7)
    pg_odbc.rollback()
    assert count(pg_native, "narrow") == 0


def test_a_lost_connection_is_reported_as_lost(pg_odbc: Any, pg_native: Any) -> None:
    pg_native.execute("CREATE TABLE lost (id bigint)")
    cursor = pg_odbc.cursor()
    cursor.execute("SELECT pg_backend_pid()")
    pid = cursor.fetchone()[0]
    pg_odbc.commit()
    pg_native.execute("SELECT pg_terminate_backend(%s)", (pid,))
    clock.sleep(0.2)
    loader = OdbcBatchLoader(pg_odbc, "INSERT INTO lost (id) VALUES (?)", [OdbcParam("id", -5)])

    with pytest.raises(ConnectionLost, match=r"the connection was lost while loading rows 1-3"):
        loader.write([(1,), (2,), (3,)], 1)


def test_statements_in_one_transaction_all_happen_or_none_does(pg_odbc: Any, pg_native: Any) -> None:
    pg_native.execute("CREATE TABLE target (id bigint)")
    pg_native.execute("INSERT INTO target VALUES (1), (2)")
    pg_native.execute("CREATE TABLE staging (id bigint)")
    pg_native.execute("INSERT INTO staging VALUES (3)")

    with pytest.raises(pyodbc.Error, match="no_such_table"):
        run_in_transaction(pg_odbc, [("DROP TABLE target", ()), ("ALTER TABLE staging RENAME TO target", ()),
                                     ("INSERT INTO no_such_table VALUES (?)", (1,))])
    assert pg_native.execute("SELECT array_agg(id ORDER BY id) FROM target").fetchone()[0] == [1, 2]
    assert count(pg_native, "staging") == 1

    run_in_transaction(pg_odbc, [("DROP TABLE target", ()), ("ALTER TABLE staging RENAME TO target", ()),
                                 ("INSERT INTO target VALUES (?)", (4,))])
    assert pg_native.execute("SELECT array_agg(id ORDER BY id) FROM target").fetchone()[0] == [3, 4]
    assert pg_native.execute("SELECT to_regclass('staging')").fetchone()[0] is None


def test_a_result_is_streamed_in_batches_and_described_from_the_cursor(pg_odbc: Any) -> None:
    cursor = pg_odbc.cursor()
    cursor.execute("SELECT g::smallint AS s, g AS i, g::bigint AS b, (g / 4.0)::numeric(12,2) AS d, "
                   "g::float8 AS f, g::real AS r, repeat('x', g) AS t, decode(lpad(to_hex(g), 2, '0'), 'hex') AS y, "
                   "date '2024-01-01' + g AS dt, time '10:00' + g * interval '1 second' AS tm, "
                   "timestamp '2024-01-01 00:00:00.000001' + g * interval '1 hour' AS ts, "
                   "'12345678-1234-5678-1234-5678123456' || lpad(g::text, 2, '0') AS u "
                   "FROM generate_series(1, 25) g ORDER BY g")
    kinds = [portable_from_description(d) for d in cursor.description]
    assert [k.kind for k in kinds] == [Kind.INT16, Kind.INT32, Kind.INT64, Kind.DECIMAL, Kind.FLOAT64, Kind.FLOAT32,
                                       Kind.TEXT, Kind.BINARY, Kind.DATE, Kind.TIME, Kind.TIMESTAMP, Kind.TEXT]
    assert (kinds[3].precision, kinds[3].scale) == (12, 2)
    columns = [Column(d[0], k) for d, k in zip(cursor.description, kinds, strict=True)]
    columns[-1] = Column("u", PortableType(Kind.UUID))
    converters = [None] * (len(columns) - 1) + [uuid.UUID]
    stream = OdbcReadStream(pg_odbc, cursor, columns, converters, batch_size=10)

    batches = list(stream.batches())
    stream.close()
    assert [len(b) for b in batches] == [10, 10, 5]
    last = batches[-1][-1]
    assert last[:3] == (25, 25, 25) and str(last[3]) == "6.25" and last[6] == "x" * 25 and last[7] == b"\x19"
    assert str(last[-1]) == "12345678-1234-5678-1234-567812345625"
    assert last[10].microsecond == 1


def test_a_value_that_cannot_be_read_is_refused_with_column_and_row(pg_odbc: Any) -> None:
    cursor = pg_odbc.cursor()
    cursor.execute("SELECT CASE WHEN g = 7 THEN 'not a uuid' ELSE gen_random_uuid()::text END AS u "
                   "FROM generate_series(1, 9) g ORDER BY g")
    stream = OdbcReadStream(pg_odbc, cursor, [Column("u", PortableType(Kind.UUID))], [uuid.UUID], 5)
    with pytest.raises(ValueRejected, match=r"column 'u', row 7"):
        list(stream.batches())
    stream.close()


def test_closing_a_stream_mid_result_stops_the_query_and_ends_its_transaction(pg_odbc: Any, pg_native: Any) -> None:
    cursor = pg_odbc.cursor()
    cursor.execute("SELECT g, pg_backend_pid() FROM generate_series(1, 2000000) g")
    stream = OdbcReadStream(pg_odbc, cursor, [Column("g", PortableType(Kind.INT32)),
                                              Column("pid", PortableType(Kind.INT32))], [None, None], 1000)
    first = next(iter(stream.batches()))
    pid = first[0][1]
    started = clock.monotonic()
    stream.close()
    assert clock.monotonic() - started < 10
    state = pg_native.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]
    assert state == "idle"  # not "idle in transaction"
    again = pg_odbc.cursor()
    again.execute("SELECT 41 + 1")
    assert again.fetchone()[0] == 42


def test_the_loader_sends_parameter_arrays_through_the_mariadb_driver_too(mysql_database: Server) -> None:
    require_driver(MARIADB_DRIVER)
    import mysql.connector

    connection = pyodbc.connect(f"DRIVER={{{MARIADB_DRIVER}}};SERVER={mysql_database.host};"
                                f"PORT={mysql_database.port};DATABASE={mysql_database.database};"
                                f"UID={mysql_database.user};PWD={mysql_database.password}", autocommit=False)
    observer = mysql.connector.connect(host=mysql_database.host, port=mysql_database.port, user=mysql_database.user,
                                       password=mysql_database.password, database=mysql_database.database,
                                       autocommit=True)
    try:
        cursor = observer.cursor()
        cursor.execute("CREATE TABLE m (id BIGINT NOT NULL, d DECIMAL(12,2), tx LONGTEXT CHARACTER SET utf8mb4, "
                       "ts DATETIME(6), b LONGBLOB) ENGINE=InnoDB")
        columns = [Column("id", PortableType(Kind.INT64), nullable=False),
                   Column("d", PortableType(Kind.DECIMAL, precision=12, scale=2)),
                   Column("tx", PortableType(Kind.TEXT)), Column("ts", PortableType(Kind.TIMESTAMP)),
                   Column("b", PortableType(Kind.BINARY))]
        rows = [(i, Decimal("9999999999.99") if i == 1 else Decimal(i) / 4, f"Zoë 🎉 {i}",
                 datetime(2024, 1, 1, 0, 0, 0, i), bytes([0, i, 255])) for i in range(1, 101)]
        loader = OdbcBatchLoader(connection, "INSERT INTO m (id, d, tx, ts, b) VALUES (?, ?, ?, ?, ?)",
                                 SQLSERVER.bulk_params(columns), chunk_rows=30)
        loader.write(rows, 1)
        cursor.execute("SELECT COUNT(*) FROM m")
        assert cursor.fetchone() == (0,)
        connection.commit()
        cursor.execute("SELECT id, d, tx, ts, b FROM m ORDER BY id")
        stored = [tuple(r) for r in cursor.fetchall()]
        assert loader.calls == 4
        assert stored == [(i, d, t, ts, bytes(b)) for i, d, t, ts, b in rows]
    finally:
        observer.close()
        connection.close()


def test_the_sql_server_plan_binds_the_types_its_ddl_declares() -> None:
    # The parameter types that go with the table SQL Server would create (the transport tests above
    # send exactly these through real drivers).
    params = {p.name: p for p in SQLSERVER.bulk_params(FIXTURE_COLUMNS)}
    assert (params["d12"].sql_type, params["d12"].size, params["d12"].digits) == (pyodbc.SQL_DECIMAL, 12, 2)
    assert (params["ts"].sql_type, params["ts"].digits) == (pyodbc.SQL_TYPE_TIMESTAMP, 7)
    assert params["tx"].sql_type == pyodbc.SQL_WVARCHAR and params["tx"].measure == "text"
    assert params["bin"].sql_type == pyodbc.SQL_VARBINARY and params["bin"].measure == "binary"
    assert params["flag"].sql_type == pyodbc.SQL_BIT and params["i16"].sql_type == pyodbc.SQL_SMALLINT
    assert SQLSERVER.qualified(TableName("t", "dbo")) == "[dbo].[t]"
