"""Appending values of another type into an existing integer column: a value that is not a whole
number is refused with the column, the row, the value and the column's type named (never Python's
own words), and the target is unchanged; whole numbers of another type are stored exactly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.migration import Endpoint, MigrationRequest, Stage, Status, run_migration
from tests.integration.conftest import Server
from tests.integration.test_migration_pipeline import mysql_endpoint, pg_endpoint, snapshot, sqlite_endpoint

#: (the query's third-row value, its SQL type, what the message shows of it)
REFUSED = [("'abc'", "text", "'abc'"), ("1.5", "numeric", "1.5"), ("2.5", "float8", "2.5"),
           ("'1e3'", "text", "'1e3'"), ("'NaN'", "float8", "nan")]
WHOLE = [("'42'", "text", 42), ("7.000", "numeric", 7), ("8.0", "float8", 8)]


def make_target(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Endpoint, str]:
    """An existing table ``counts (id, n)`` with an integer ``n`` and one row; the type's name."""
    if kind == "postgresql":
        server: Server = request.getfixturevalue("pg_database")
        with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database,
                             autocommit=True) as conn:
            conn.execute("CREATE TABLE counts (id int PRIMARY KEY, n integer)")
            conn.execute("INSERT INTO counts VALUES (0, 100)")
        return pg_endpoint(server, "pg target"), "integer"
    if kind == "mysql":
        import mysql.connector

        server = request.getfixturevalue("mysql_database")
        with mysql.connector.connect(host=server.host, port=server.port, user=server.user,
                                     password=server.password, database=server.database) as conn:
            cursor = conn.cursor()
            cursor.execute("CREATE TABLE counts (id INT PRIMARY KEY, n INT)")
            cursor.execute("INSERT INTO counts VALUES (0, 100)")
            conn.commit()
        return mysql_endpoint(server, "maria target"), "int"
    path = tmp_path / "target.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE counts (id INTEGER PRIMARY KEY, n INTEGER)")
        db.execute("INSERT INTO counts VALUES (0, 100)")
    return sqlite_endpoint(path), "int"


def query_with(value: str, sql_type: str) -> str:
    """Four rows from PostgreSQL; the third one's ``n`` is ``value`` (the others whole numbers)."""
    return (f"SELECT g AS id, CASE WHEN g = 3 THEN {value}::{sql_type} ELSE (g * 10)::{sql_type} END AS n "
            "FROM generate_series(1, 4) g ORDER BY g")


@pytest.mark.parametrize("kind", ["postgresql", "mysql", "sqlite"])
@pytest.mark.parametrize(("value", "sql_type", "shown"), REFUSED)
def test_a_value_that_is_no_whole_number_is_refused_naming_column_row_value_and_type(
        kind: str, value: str, sql_type: str, shown: str, pg_database: Server, request: pytest.FixtureRequest,
        tmp_path: Path) -> None:
    target, type_name = make_target(kind, request, tmp_path)
    before = snapshot(target, "counts")
    result = run_migration(MigrationRequest(source=pg_endpoint(pg_database, "pg source"), target=target,
                                            query=query_with(value, sql_type), table=TableName("counts"),
                                            mode=LoadMode.APPEND))
    assert result.status is Status.FAILED and result.stage is Stage.LOAD, result.error
    error = result.error or ""
    assert "column 'n'" in error and "row 3" in error and shown in error, error
    assert type_name in error.lower(), error
    assert "not supported between" not in error and "instances of" not in error, error
    assert snapshot(target, "counts") == before


@pytest.mark.parametrize("kind", ["postgresql", "mysql", "sqlite"])
@pytest.mark.parametrize(("value", "sql_type", "stored"), WHOLE)
def test_a_whole_number_of_another_type_is_stored_exactly(
        kind: str, value: str, sql_type: str, stored: int, pg_database: Server, request: pytest.FixtureRequest,
        tmp_path: Path) -> None:
    target, _ = make_target(kind, request, tmp_path)
    result = run_migration(MigrationRequest(source=pg_endpoint(pg_database, "pg source"), target=target,
                                            query=query_with(value, sql_type), table=TableName("counts"),
                                            mode=LoadMode.APPEND))
    assert result.status is Status.SUCCEEDED, result.error
    rows = snapshot(target, "counts")[0]
    assert [(int(i), int(n)) for i, n in rows] == [(0, 100), (1, 10), (2, 20), (3, stored), (4, 40)]
    assert all(type(n) is int for _, n in rows)
