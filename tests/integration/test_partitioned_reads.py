"""Partitioned reads on the real servers: N ranges of a column read on N connections, loaded by N
writers into one staging table, verified and swapped as one run."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import mysql.connector
import psycopg
import pytest

from qdbm_desktop.core.checksum import VerifyLevel
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.migration import Endpoint, MigrationRequest, Progress, Status, run_migration
from qdbm_desktop.core.partition_plan import Partitioning
from tests.integration.conftest import Server
from tests.integration.test_migration_pipeline import mysql_endpoint, pg_endpoint, sqlite_endpoint

ROWS = 2_000
#: Every 7th row has no ``grp`` (the partition column): those rows must not be lost.
NULL_EVERY = 7


def _rows() -> list[tuple[Any, ...]]:
    start = dt.datetime(2024, 1, 1, 8, 30)
    return [(i, None if i % NULL_EVERY == 0 else i * 3 - 500, dt.date(2020, 1, 1) + dt.timedelta(days=i % 900),
             start + dt.timedelta(minutes=17 * i), f"row {i}", Decimal(i) / 8) for i in range(1, ROWS + 1)]


_DDL = {
    "postgresql": "CREATE TABLE part_src (id integer PRIMARY KEY, grp bigint, day date, at timestamp, "
                  "label text, amount numeric(12,3))",
    "mysql": "CREATE TABLE part_src (id int PRIMARY KEY, grp bigint, day date, at datetime(6), "
             "label varchar(40), amount decimal(12,3)) ENGINE=InnoDB",
    "sqlite": "CREATE TABLE part_src (id INTEGER PRIMARY KEY, grp INTEGER, day DATE, at TIMESTAMP, "
              "label TEXT, amount DECIMAL(12,3))",
}


def _execute(endpoint: Endpoint, statements: list[str], rows: list[tuple[Any, ...]] | None = None) -> None:
    conn = _connect(endpoint)
    try:
        cursor = conn.cursor()
        for statement in statements:
            cursor.execute(statement)
        if rows:
            marker = "?" if endpoint.type == "sqlite" else "%s"
            cursor.executemany(f"INSERT INTO part_src VALUES ({', '.join([marker] * len(rows[0]))})",
                               [tuple(str(v) if isinstance(v, Decimal) and endpoint.type == "sqlite" else v
                                      for v in row) for row in rows])
        conn.commit()
    finally:
        conn.close()


def _connect(endpoint: Endpoint) -> Any:
    p = endpoint.params
    if endpoint.type == "postgresql":
        return psycopg.connect(host=p.host, port=p.port, user=p.user, dbname=p.database)
    if endpoint.type == "mysql":
        return mysql.connector.connect(host=p.host, port=p.port, user=p.user, password=p.password or "",
                                       database=p.database)
    return sqlite3.connect(str(p.path))


def _one(endpoint: Endpoint, sql: str) -> tuple[Any, ...]:
    conn = _connect(endpoint)
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        row = tuple(cursor.fetchone())
        conn.rollback()
        return row
    finally:
        conn.close()


def _side(engine: str, request: pytest.FixtureRequest, tmp_path: Path, role: str) -> Endpoint:
    if engine == "postgresql":
        return pg_endpoint(request.getfixturevalue("pg_database"), f"pg {role}")
    if engine == "mysql":
        return mysql_endpoint(request.getfixturevalue("mysql_database"), f"maria {role}")
    return sqlite_endpoint(tmp_path / f"{role}.db")


def _source(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> Endpoint:
    source = _side(engine, request, tmp_path, "source")
    _execute(source, [_DDL[engine]], _rows())
    return source


def _request(source: Endpoint, target: Endpoint, spec: Partitioning, **kwargs: Any) -> MigrationRequest:
    return MigrationRequest(source=source, target=target, query="SELECT * FROM part_src",
                            table=TableName("part_copy"), mode=LoadMode.REPLACE, batch_size=97,
                            verify=VerifyLevel.CHECKSUM, partitions=spec, **kwargs)


PATHS = [("postgresql", "postgresql"), ("mysql", "postgresql"), ("postgresql", "mysql"), ("sqlite", "postgresql")]


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize(("source_engine", "target_engine"), PATHS)
def test_every_row_arrives_once_with_its_checksum(source_engine: str, target_engine: str, count: int,
                                                  request: pytest.FixtureRequest, tmp_path: Path) -> None:
    source = _source(source_engine, request, tmp_path)
    target = _side(target_engine, request, tmp_path, "target")

    result = run_migration(_request(source, target, Partitioning(count, "grp")))

    assert result.status is Status.SUCCEEDED, result.error
    assert result.rows_written == ROWS
    assert result.verified is VerifyLevel.CHECKSUM
    messages = [entry.message for entry in result.log]
    assert any(m.startswith(f"reading in {count} partitions by grp") for m in messages), messages
    nulls = ROWS // NULL_EVERY
    assert _one(target, "SELECT COUNT(*), COUNT(DISTINCT id), SUM(id), COUNT(grp) FROM part_copy") == (
        ROWS, ROWS, ROWS * (ROWS + 1) // 2, ROWS - nulls)


@pytest.mark.parametrize("column", ["day", "at", "amount"])
def test_dates_timestamps_and_decimals_partition_too(column: str, pg_database: Server) -> None:
    source = pg_endpoint(pg_database)
    _execute(source, [_DDL["postgresql"]], _rows())

    result = run_migration(_request(source, source, Partitioning(4, column)))

    assert result.status is Status.SUCCEEDED, result.error
    assert result.rows_written == ROWS
    assert _one(source, "SELECT COUNT(DISTINCT id) FROM part_copy") == (ROWS,)


def test_given_bounds_narrower_than_the_data_lose_nothing(pg_database: Server, mysql_database: Server) -> None:
    source, target = mysql_endpoint(mysql_database), pg_endpoint(pg_database)
    _execute(source, [_DDL["mysql"]], _rows())

    result = run_migration(_request(source, target, Partitioning(3, "grp", ("0", "100", "200", "300"))))

    assert result.status is Status.SUCCEEDED, result.error
    assert _one(target, "SELECT COUNT(DISTINCT id) FROM part_copy") == (ROWS,)


def test_a_failing_partition_fails_the_run_and_leaves_the_target(pg_database: Server) -> None:
    source = pg_endpoint(pg_database)
    # The last partition (the highest grp values) divides by zero; the others read fine.
    _execute(source, [_DDL["postgresql"], "CREATE TABLE part_copy (kept integer)", "INSERT INTO part_copy VALUES (1)"],
             _rows())
    query = "SELECT id, grp, 1 / (CASE WHEN grp > 5000 THEN 0 ELSE 1 END) AS one FROM part_src"
    spec = Partitioning(3, "grp")

    result = run_migration(MigrationRequest(source=source, target=source, query=query,
                                            table=TableName("part_copy"), mode=LoadMode.REPLACE, partitions=spec))

    assert result.status is Status.FAILED
    assert "partition 3 of 3" in (result.error or ""), result.error
    assert "division by zero" in (result.error or "")
    assert _one(source, "SELECT COUNT(*), MIN(kept) FROM part_copy") == (1, 1)
    assert _one(source, "SELECT COUNT(*) FROM pg_tables WHERE tablename LIKE 'qdbm_stg_%'") == (0,)


def test_a_cancel_stops_every_partition(pg_database: Server, mysql_database: Server) -> None:
    source, target = pg_endpoint(pg_database), mysql_endpoint(mysql_database)
    _execute(source, [_DDL["postgresql"]], _rows())
    cancel = threading.Event()

    def on_progress(progress: Progress) -> None:
        if progress.rows_written > 0:
            cancel.set()

    # pg_sleep per row keeps every partition reading long enough to be cancelled mid-way.
    query = "SELECT id, grp, pg_sleep(0.002)::text AS pause FROM part_src"
    result = run_migration(MigrationRequest(source=source, target=target, query=query,
                                            table=TableName("part_copy"), batch_size=10,
                                            partitions=Partitioning(3, "grp")), on_progress, cancel)

    assert result.status is Status.CANCELLED, result.error
    with closing(_connect(target)) as conn:
        cursor = conn.cursor()
        cursor.execute("SHOW TABLES")
        assert [t for (t,) in cursor.fetchall() if t.startswith(("part_copy", "qdbm_stg_"))] == []


def test_postgresql_readers_share_one_snapshot(pg_database: Server) -> None:
    """A row committed after the run began (between two partitions' reads) is seen by none of them."""
    source = pg_endpoint(pg_database)
    _execute(source, [_DDL["postgresql"]], _rows())
    inserted = threading.Event()

    def on_progress(progress: Progress) -> None:
        if progress.rows_written > 0 and not inserted.is_set():
            # Rows in every partition's range, committed while the partitions read.
            _execute(source, ["INSERT INTO part_src VALUES (-1, NULL, NULL, NULL, 'late', 0), "
                              "(-2, 10, NULL, NULL, 'late', 0), (-3, 99999, NULL, NULL, 'late', 0)"])
            inserted.set()

    query = "SELECT id, grp, label FROM part_src"
    result = run_migration(MigrationRequest(source=source, target=source, query=query,
                                            table=TableName("part_copy"), batch_size=50,
                                            verify=VerifyLevel.CHECKSUM, partitions=Partitioning(3, "grp")),
                           on_progress)

    assert result.status is Status.SUCCEEDED, result.error
    assert inserted.is_set()
    assert result.rows_written == ROWS
    assert _one(source, "SELECT COUNT(*) FROM part_copy WHERE id < 0") == (0,)
    assert any("one snapshot shared by every reader" in entry.message for entry in result.log)


def test_a_sqlite_target_has_one_writer(pg_database: Server, tmp_path: Path) -> None:
    source, target = pg_endpoint(pg_database), sqlite_endpoint(tmp_path / "target.db")
    _execute(source, [_DDL["postgresql"]], _rows())

    result = run_migration(_request(source, target, Partitioning(3, "id")))

    assert result.status is Status.SUCCEEDED, result.error
    assert any("loaded by 1 writer;" in entry.message for entry in result.log)
    assert _one(target, "SELECT COUNT(DISTINCT id) FROM part_copy") == (ROWS,)
