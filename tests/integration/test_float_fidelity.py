"""MySQL/MariaDB FLOAT against the real servers: every float32 bit read (streams, previews, bound
parameters, expressions), the largest float32 written, and the round trips with PostgreSQL's
``real`` and ``double precision``; NaN, infinities and -0.0 as the engines allow them."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pytest

from qdbm_desktop.core.dialects.base import ConnectParams, LoadMode, TableName
from qdbm_desktop.core.dialects.mysql import MySQLDialect
from qdbm_desktop.core.migration import Endpoint, MigrationRequest, Status, preview_query, run_migration
from qdbm_desktop.core.types import Column, Kind, PortableType

from .conftest import Server

pytestmark = [pytest.mark.mysql, pytest.mark.postgresql]

FLT_MAX = 3.4028234663852886e38


def f32(value: float) -> float:
    """The float32 nearest ``value``, exactly, as a Python float."""
    result: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return result


#: (id, what goes into a FLOAT column as SQL text, the exact float32 it stores).
EDGES: list[tuple[int, str, float]] = [
    (1, "16777216", 16777216.0),
    (2, "1.2345678", f32(1.2345678)),
    (3, "3.4028234663852886e38", FLT_MAX),
    (4, "-3.4028234663852886e38", -FLT_MAX),
    (5, "1.401298464324817e-45", 2.0**-149),  # the smallest subnormal float32
    (6, "1.1754942106924411e-38", f32(1.1754942106924411e-38)),  # the largest subnormal
    (7, "1.1754943508222875e-38", 2.0**-126),  # the smallest normal float32
    (8, "0.1", f32(0.1)),
    (9, "16777217", 16777216.0),  # rounds to the nearest float32, as the server stores it
]


def mysql_params(server: Server) -> ConnectParams:
    return ConnectParams(host=server.host, port=server.port, user=server.user, password=server.password or None,
                         database=server.database)


def pg_params(server: Server) -> ConnectParams:
    return ConnectParams(host=server.host, port=server.port, user=server.user, database=server.database)


def my_execute(server: Server, *statements: str) -> None:
    dialect = MySQLDialect()
    connection = dialect.connect(mysql_params(server), 5)
    try:
        cursor = connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        connection.commit()
    finally:
        connection.close()


def my_fetch(server: Server, sql: str) -> list[tuple[Any, ...]]:
    dialect = MySQLDialect()
    connection = dialect.connect(mysql_params(server), 5)
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        rows = [tuple(row) for row in cursor.fetchall()]
        cursor.close()
        return rows
    finally:
        connection.close()


def pg_fetch(server: Server, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database) as conn:
        return list(conn.execute(sql).fetchall())


def pg_execute(server: Server, *statements: str) -> None:
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture
def float_table(mysql_database: Server) -> Iterator[Server]:
    """MariaDB table ``f`` (id INT, v FLOAT, d DOUBLE, label VARCHAR) holding the edge values and a NULL."""
    values = ", ".join(f"({i}, {text}, {text}, 'row {i}')" for i, text, _ in EDGES)
    my_execute(mysql_database, "CREATE TABLE f (id INT NOT NULL PRIMARY KEY, v FLOAT, d DOUBLE, label VARCHAR(20))",
               f"INSERT INTO f VALUES {values}, (10, NULL, NULL, NULL)")
    yield mysql_database


def read(server: Server, query: str, params: Sequence[Any] | None = None,
         batch_size: int = 4) -> tuple[list[Column], list[tuple[Any, ...]]]:
    dialect = MySQLDialect()
    connection = dialect.connect(mysql_params(server), 5)
    try:
        stream = dialect.open_read(connection, query, batch_size, params)
        try:
            rows = [row for batch in stream.batches() for row in batch]
        finally:
            stream.close()
        return stream.columns, rows
    finally:
        connection.close()


EXPECTED = [(i, value) for i, _, value in EDGES] + [(10, None)]


def test_the_text_protocol_would_have_lost_digits(float_table: Server) -> None:
    """What the bug was: the server's own text for a FLOAT has 6 significant digits."""
    assert my_fetch(float_table, "SELECT CONCAT(v) FROM f WHERE id = 1") == [("16777200",)]


@pytest.mark.parametrize("query", [
    "SELECT id, v FROM f ORDER BY id",
    "SELECT * FROM (SELECT id, v FROM f) AS q ORDER BY id",
    "SELECT `id`, `v` FROM `f` ORDER BY 1",
], ids=["plain", "derived", "quoted"])
def test_a_float_column_arrives_with_every_float32_bit(float_table: Server, query: str) -> None:
    columns, rows = read(float_table, query)
    assert [str(c.type) for c in columns] == ["int32", "float32"]
    assert [(i, v) for i, v in rows] == EXPECTED
    for (_, got), (_, want) in zip(rows, EXPECTED, strict=True):
        assert got is None or struct.pack("<d", got) == struct.pack("<d", want)


def test_the_other_columns_of_a_float_query_read_as_they_do_without_it(float_table: Server) -> None:
    _, with_float = read(float_table, "SELECT id, d, label, v FROM f ORDER BY id")
    _, without = read(float_table, "SELECT id, d, label FROM f ORDER BY id")
    assert [row[:3] for row in with_float] == without


def test_a_float_expression_the_catalog_does_not_know_is_read_in_full(float_table: Server) -> None:
    columns, rows = read(float_table, "SELECT id, CAST(d AS FLOAT) AS x FROM f ORDER BY id")
    assert columns[1].type.kind is Kind.FLOAT32
    assert rows == EXPECTED


def test_bound_parameters_work_on_a_float_read(float_table: Server) -> None:
    dialect = MySQLDialect()
    query = f"SELECT id, v FROM f WHERE id > {dialect.param_marker(0)} ORDER BY id"
    _, rows = read(float_table, query, [7])
    assert rows == EXPECTED[7:]


def test_a_preview_of_a_float_column_is_exact_and_stops_at_its_limit(float_table: Server) -> None:
    endpoint = Endpoint("maria", "mysql", mysql_params(float_table))
    preview = preview_query(endpoint, "SELECT id, v FROM f ORDER BY id", limit=3)
    assert preview.rows == EXPECTED[:3] and preview.more


def test_closing_a_float_read_mid_stream_leaves_the_connection_usable(float_table: Server) -> None:
    dialect = MySQLDialect()
    connection = dialect.connect(mysql_params(float_table), 5)
    try:
        stream = dialect.open_read(connection, "SELECT id, v FROM f ORDER BY id", 2)
        assert next(iter(stream.batches())) == EXPECTED[:2]
        stream.close()
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM f")
        assert cursor.fetchall() == [(10,)]
        cursor.close()
        again = dialect.open_read(connection, "SELECT v FROM f WHERE id = 2", 5)
        assert list(again.batches()) == [[(f32(1.2345678),)]]
        again.close()
    finally:
        connection.close()


def test_zero_dates_of_a_not_null_column_are_still_counted_in_a_float_read(mysql_database: Server) -> None:
    my_execute(mysql_database, "SET SESSION sql_mode = ''",
               "CREATE TABLE z (id INT, d DATE NOT NULL, v FLOAT)",
               "INSERT INTO z VALUES (1, '0000-00-00', 1.5), (2, '2024-01-02', 2)")
    dialect = MySQLDialect()
    connection = dialect.connect(mysql_params(mysql_database), 5)
    try:
        stream = dialect.open_read(connection, "SELECT * FROM z ORDER BY id", 10)
        rows = [row for batch in stream.batches() for row in batch]
        stream.close()
    finally:
        connection.close()
    assert rows[0] == (1, None, 1.5)
    assert stream.warnings == ["1 zero date(s) (0000-00-00) read as NULL ('d': 1)"]


def migrate(source: Endpoint, target: Endpoint, query: str, table: str,
            overrides: dict[str, PortableType] | None = None) -> Any:
    return run_migration(MigrationRequest(source=source, target=target, query=query, table=TableName(table),
                                          mode=LoadMode.REPLACE, batch_size=3, type_overrides=overrides or {}))


def test_mariadb_float_into_postgresql_real_keeps_the_bits(float_table: Server, pg_database: Server) -> None:
    source = Endpoint("maria", "mysql", mysql_params(float_table))
    target = Endpoint("pg", "postgresql", pg_params(pg_database))
    result = migrate(source, target, "SELECT id, v FROM f", "as_real")
    assert result.status is Status.SUCCEEDED, result.error
    assert pg_fetch(pg_database, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                                 "WHERE attrelid = 'as_real'::regclass AND attname = 'v'") == [("real",)]
    # real -> float8 in PostgreSQL is exact: the same float32 as a double.
    assert pg_fetch(pg_database, "SELECT id, v::float8 FROM as_real ORDER BY id") == EXPECTED
    assert pg_fetch(pg_database, "SELECT v::text FROM as_real WHERE id IN (1, 2) ORDER BY id") == \
        [("1.6777216e+07",), ("1.2345678",)]


def test_mariadb_float_into_double_precision_is_the_exact_float32(float_table: Server,
                                                                  pg_database: Server) -> None:
    source = Endpoint("maria", "mysql", mysql_params(float_table))
    target = Endpoint("pg", "postgresql", pg_params(pg_database))
    result = migrate(source, target, "SELECT id, v FROM f", "as_double", {"v": PortableType(Kind.FLOAT64)})
    assert result.status is Status.SUCCEEDED, result.error
    assert pg_fetch(pg_database, "SELECT id, v FROM as_double ORDER BY id") == EXPECTED
    assert pg_fetch(pg_database, "SELECT v FROM as_double WHERE id = 2") == [(1.2345677614212036,)]


def test_postgresql_real_edges_into_a_mariadb_float_and_back(pg_database: Server, mysql_database: Server) -> None:
    pg_execute(pg_database, "CREATE TABLE r (id int PRIMARY KEY, v real)",
               "INSERT INTO r VALUES (1, '16777216'), (2, '1.2345678'), (3, '3.4028235e38'), "
               "(4, '-3.4028235e38'), (5, '1e-45'), (6, '1.1754942e-38'), (7, '1.17549435e-38'), "
               "(8, '0.1'), (9, NULL)")
    pg = Endpoint("pg", "postgresql", pg_params(pg_database))
    maria = Endpoint("maria", "mysql", mysql_params(mysql_database))
    result = migrate(pg, maria, "SELECT id, v FROM r", "from_pg")
    assert result.status is Status.SUCCEEDED, result.error  # 3.4028235e38 is the largest float32, stored
    assert my_fetch(mysql_database, "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                                    f"'{mysql_database.database}' AND TABLE_NAME = 'from_pg' AND "
                                    "COLUMN_NAME = 'v'") == [("float",)]
    want = [(1, 16777216.0), (2, f32(1.2345678)), (3, FLT_MAX), (4, -FLT_MAX), (5, 2.0**-149),
            (6, f32(1.1754942e-38)), (7, 2.0**-126), (8, f32(0.1)), (9, None)]
    assert my_fetch(mysql_database, "SELECT id, v + 0e0 FROM from_pg ORDER BY id") == want
    # ... and back: the same float32 values in PostgreSQL's real.
    result = migrate(maria, pg, "SELECT id, v FROM from_pg", "back")
    assert result.status is Status.SUCCEEDED, result.error
    assert pg_fetch(pg_database, "SELECT id, v FROM back ORDER BY id") == \
        pg_fetch(pg_database, "SELECT id, v FROM r ORDER BY id")


def test_past_the_largest_float32_is_refused_naming_column_and_row(mysql_database: Server) -> None:
    my_execute(mysql_database, "CREATE TABLE t (id INT PRIMARY KEY)")
    dialect = MySQLDialect()
    connection = dialect.connect(mysql_params(mysql_database), 5)
    try:
        dialect.prepare_for_load(connection)
        columns = [Column("id", PortableType(Kind.INT32)), Column("v", PortableType(Kind.FLOAT32))]
        dialect.create_table(connection, TableName("big"), columns)
        for use_load_data in (True, False):
            dialect.use_load_data = use_load_data
            writer = dialect.open_writer(connection, TableName("big"), columns)
            writer.write([(1, 3.4028235e38), (2, -3.4028235e38)], 1)  # the largest float32, written short
            with pytest.raises(Exception, match=r"column 'v', row 4: .*out of range for FLOAT"):
                writer.write([(3, 1.0), (4, 3.5e38)], 3)
            writer.finish()
            connection.rollback()
    finally:
        connection.close()


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinities_into_mariadb_are_refused_as_today(pg_database: Server, mysql_database: Server,
                                                              text: str) -> None:
    pg_execute(pg_database, "CREATE TABLE n (id int PRIMARY KEY, v real)",
               f"INSERT INTO n VALUES (1, 1.5), (2, '{text}')")
    result = migrate(Endpoint("pg", "postgresql", pg_params(pg_database)),
                     Endpoint("maria", "mysql", mysql_params(mysql_database)), "SELECT id, v FROM n ORDER BY id",
                     "nan_copy")
    assert result.status is Status.FAILED
    assert "column 'v', row 2" in (result.error or "") and "NaN or Infinity" in (result.error or "")


def test_nan_and_infinities_from_postgresql_real_into_real_stay(pg_database: Server) -> None:
    pg_execute(pg_database, "CREATE TABLE n (id int PRIMARY KEY, v real)",
               "INSERT INTO n VALUES (1, 'NaN'), (2, 'Infinity'), (3, '-Infinity')")
    pg = Endpoint("pg", "postgresql", pg_params(pg_database))
    result = migrate(pg, pg, "SELECT id, v FROM n", "n_copy")
    assert result.status is Status.SUCCEEDED, result.error
    rows = pg_fetch(pg_database, "SELECT v::text FROM n_copy ORDER BY id")
    assert rows == [("NaN",), ("Infinity",), ("-Infinity",)]


def test_negative_zero_today(pg_database: Server, mysql_database: Server) -> None:
    """-0.0 as each engine keeps it today: PostgreSQL's real keeps its sign; MariaDB's FLOAT stores 0."""
    pg_execute(pg_database, "CREATE TABLE z (id int PRIMARY KEY, v real, w double precision)",
               "INSERT INTO z VALUES (1, '-0', '-0')")
    pg = Endpoint("pg", "postgresql", pg_params(pg_database))
    maria = Endpoint("maria", "mysql", mysql_params(mysql_database))
    result = migrate(pg, pg, "SELECT id, v, w FROM z", "z_pg")
    assert result.status is Status.SUCCEEDED, result.error
    assert pg_fetch(pg_database, "SELECT v::text, w::text FROM z_pg") == [("-0", "-0")]
    result = migrate(pg, maria, "SELECT id, v, w FROM z", "z_maria")
    assert result.status is Status.SUCCEEDED, result.error
    ((v, w),) = my_fetch(mysql_database, "SELECT v + 0e0, w FROM z_maria")
    assert (v, w) == (0.0, 0.0)
    _, rows = read(mysql_database, "SELECT v, w FROM z_maria")
    assert [math.copysign(1.0, x) for x in rows[0]] == [1.0, 1.0]  # MariaDB has no -0.0: it stores 0


def test_mariadb_float_into_mariadb_float_is_bit_for_bit(float_table: Server) -> None:
    maria = Endpoint("maria", "mysql", mysql_params(float_table))
    result = migrate(maria, maria, "SELECT id, v FROM f", "f_copy")
    assert result.status is Status.SUCCEEDED, result.error
    assert my_fetch(float_table, "SELECT id, v + 0e0 FROM f_copy ORDER BY id") == \
        my_fetch(float_table, "SELECT id, v + 0e0 FROM f ORDER BY id") == EXPECTED
