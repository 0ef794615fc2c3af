"""MySQL/MariaDB's own types through the real pipeline: MySQL -> MySQL keeps each column's type as
declared (ENUM, SET, YEAR, unsigned and sized integers, FLOAT, DECIMAL, fractional seconds, JSON);
enums cross engines as ENUM or as text with a CHECK of their labels."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mysql.connector
import psycopg
import pytest

from qdbm_desktop.core.dialects.base import ConnectParams, LoadMode, TableName
from qdbm_desktop.core.migration import Endpoint, MigrationRequest, Status, run_migration

from .conftest import Server

pytestmark = [pytest.mark.mysql]

TYPES: list[tuple[str, str, str]] = [
    ("e", "enum('small','Big','x y')", "Big"),
    ("s", "set('a','b','c')", "a,c"),
    ("y", "year(4)", "2024"),
    ("tu", "tinyint(3) unsigned", "255"),
    ("b1", "tinyint(1)", "1"),
    ("mi", "mediumint(9)", "-8388608"),
    ("iu", "int(10) unsigned", "4294967295"),
    ("bu", "bigint(20) unsigned", "18446744073709551615"),
    ("f", "float", "1.5"),
    ("dbl", "double", "-2.25"),
    ("dec", "decimal(12,3)", "-123456789.123"),
    ("c", "char(3)", "ab"),
    ("vc", "varchar(20)", "Zoë"),
    ("tt", "tinytext", "tiny"),
    ("md", "mediumtext", "medium"),
    ("vb", "varbinary(4)", "ab"),
    ("dt", "datetime(3)", "2024-01-02 03:04:05.678"),
    ("tm", "time(3)", "23:59:59.999"),
    ("d", "date", "2024-02-29"),
]


def _my(server: Server) -> Any:
    return mysql.connector.connect(host=server.host, port=server.port, user=server.user,
                                   password=server.password, database=server.database, autocommit=True)


def _endpoint(server: Server) -> Endpoint:
    return Endpoint("maria", "mysql", ConnectParams(host=server.host, port=server.port, user=server.user,
                                                   password=server.password or None, database=server.database))


def _column_types(cursor: Any, table: str) -> dict[str, str]:
    cursor.execute("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                   "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s", (table,))
    return {str(n): str(t.decode() if isinstance(t, bytes) else t) for n, t in cursor.fetchall()}


@pytest.fixture
def maria(mysql_database: Server) -> Iterator[Server]:
    conn = _my(mysql_database)
    cursor = conn.cursor()
    columns = ", ".join(f"`{n}` {t}" for n, t, _ in TYPES)
    cursor.execute(f"CREATE TABLE src (id int PRIMARY KEY, {columns})")
    names = ", ".join(f"`{n}`" for n, _, _ in TYPES)
    cursor.execute(f"INSERT INTO src (id, {names}) VALUES (1, {', '.join(['%s'] * len(TYPES))})",
                   [v for n, _, v in TYPES])
    cursor.execute("INSERT INTO src (id) VALUES (2)")
    conn.close()
    yield mysql_database


def test_mysql_to_mysql_keeps_every_declared_type(maria: Server) -> None:
    endpoint = _endpoint(maria)
    result = run_migration(MigrationRequest(source=endpoint, target=endpoint, query="SELECT * FROM src",
                                            table=TableName("mytypes_copy"), mode=LoadMode.REPLACE))
    assert result.status is Status.SUCCEEDED, result.error
    conn = _my(maria)
    cursor = conn.cursor()
    source, copied = _column_types(cursor, "src"), _column_types(cursor, "mytypes_copy")
    assert copied == source
    names = ", ".join(f"`{n}`" for n, _, _ in TYPES)
    cursor.execute(f"SELECT id, {names} FROM src ORDER BY id")
    want = cursor.fetchall()
    cursor.execute(f"SELECT id, {names} FROM mytypes_copy ORDER BY id")
    assert cursor.fetchall() == want
    conn.close()


@pytest.mark.postgresql
def test_enums_cross_engines_with_their_labels(maria: Server, pg_database: Server) -> None:
    pg_params = ConnectParams(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                              database=pg_database.database)
    pg = Endpoint("pg", "postgresql", pg_params)
    result = run_migration(MigrationRequest(source=_endpoint(maria), target=pg, query="SELECT id, e FROM src",
                                            table=TableName("mytypes_enum"), mode=LoadMode.REPLACE))
    assert result.status is Status.SUCCEEDED, result.error
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database, autocommit=True) as conn:
        assert conn.execute("SELECT e FROM mytypes_enum WHERE id = 1").fetchone() == ("Big",)
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO mytypes_enum VALUES (3, 'big')")
        conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        conn.execute("CREATE TABLE feelings AS SELECT 1 AS id, 'ok'::mood AS m")
    result = run_migration(MigrationRequest(source=pg, target=_endpoint(maria), query="SELECT * FROM feelings",
                                            table=TableName("mytypes_mood"), mode=LoadMode.REPLACE))
    assert result.status is Status.SUCCEEDED, result.error
    conn = _my(maria)
    cursor = conn.cursor()
    assert _column_types(cursor, "mytypes_mood")["m"] == "enum('sad','ok','happy')"
    conn.close()
