"""Runs that fail, are cancelled or lose their connection leave the target exactly as it was."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from qdbm_desktop.core.dialects import ConnectParams
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.migration import (
    STAGING_PREFIX,
    Endpoint,
    MigrationRequest,
    Progress,
    Stage,
    Status,
    run_migration,
    validate_request,
)
from qdbm_desktop.core.run_locks import TargetLocks
from tests.integration.conftest import Server

SOURCE_ROWS = 30_000
# Fails on its 20,000th row, long after the first batches were loaded into staging (no ORDER BY:
# a sort would meet the error before the first row is sent).
FAILING_QUERY = (f"SELECT g AS id, 'row ' || g AS label, 100 / (20000 - g) AS ratio "
                 f"FROM generate_series(1, {SOURCE_ROWS}) AS g")
# Sleeps 20 ms every 500 rows, so a run lasts about a second and can be interrupted mid-way.
SLOW_QUERY = (f"SELECT g AS id, 'row ' || g AS label, "
              f"length(CASE WHEN g % 500 = 0 THEN pg_sleep(0.02)::text ELSE '' END) AS ratio "
              f"FROM generate_series(1, {SOURCE_ROWS}) AS g")


def pg_endpoint(server: Server, label: str = "pg") -> Endpoint:
    return Endpoint(label, "postgresql", ConnectParams(host=server.host, port=server.port, user=server.user,
                                                       database=server.database))


def mysql_endpoint(server: Server, label: str = "maria") -> Endpoint:
    return Endpoint(label, "mysql", ConnectParams(host=server.host, port=server.port, user=server.user,
                                                  password=server.password or None, database=server.database))


def sqlite_endpoint(path: Path) -> Endpoint:
    if not path.exists():
        sqlite3.connect(path).close()
    return Endpoint("lite", "sqlite", ConnectParams(path=str(path)))


def snapshot(endpoint: Endpoint, table: str) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Every row of ``table`` (ordered) and every table name in the database."""
    dialect = endpoint.dialect
    conn = dialect.connect(endpoint.params, 10)
    try:
        tables = sorted(t.name for t in dialect.list_tables(conn, None, ""))
        if table not in tables:
            return [], tables
        cursor = conn.cursor()
        cursor.execute(f"SELECT * FROM {dialect.quote_identifier(table)} ORDER BY 1")
        rows = [tuple(r) for r in cursor.fetchall()]
        cursor.close()
        return rows, tables
    finally:
        conn.close()


@pytest.fixture(params=["postgresql", "mysql", "sqlite"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Endpoint:
    if request.param == "postgresql":
        return pg_endpoint(request.getfixturevalue("pg_database"), "pg target")
    if request.param == "mysql":
        return mysql_endpoint(request.getfixturevalue("mysql_database"))
    return sqlite_endpoint(tmp_path / "target.sqlite")


def seed_target(source: Endpoint, target: Endpoint) -> None:
    """An existing target table with 3 rows and a primary key, made by a successful run."""
    result = run_migration(MigrationRequest(
        source=source, target=target, table=TableName("orders"), mode=LoadMode.UPSERT, keys=("id",),
        query="SELECT g AS id, 'old ' || g AS label, 7 AS ratio FROM generate_series(1, 3) AS g"))
    assert result.status is Status.SUCCEEDED, result.error


@pytest.mark.parametrize("mode", list(LoadMode))
def test_source_error_mid_stream_leaves_target_unchanged_in_every_mode(
        pg_database: Server, target: Endpoint, mode: LoadMode) -> None:
    source = pg_endpoint(pg_database, "pg source")
    if mode is not LoadMode.CREATE:
        seed_target(source, target)
    before = snapshot(target, "orders")

    result = run_migration(MigrationRequest(
        source=source, target=target, query=FAILING_QUERY, table=TableName("orders"), mode=mode,
        keys=("id",) if mode is LoadMode.UPSERT else (), batch_size=1000))

    assert result.status is Status.FAILED
    assert result.stage is Stage.READ and "division by zero" in (result.error or "")
    assert "'pg source'" in (result.error or "")
    assert 0 < result.rows_written < 20_000  # it failed mid-stream, not before it began
    assert snapshot(target, "orders") == before  # same rows, and no staging table left behind


def test_cancel_mid_run_leaves_target_unchanged_and_drops_staging(pg_database: Server, target: Endpoint) -> None:
    source = pg_endpoint(pg_database, "pg source")
    seed_target(source, target)
    before = snapshot(target, "orders")
    cancel = threading.Event()

    def on_progress(progress: Progress) -> None:
        if progress.rows_written >= 5_000:
            cancel.set()

    result = run_migration(MigrationRequest(source=source, target=target, query=SLOW_QUERY,
                                            table=TableName("orders"), mode=LoadMode.TRUNCATE, batch_size=500),
                           on_progress=on_progress, cancel=cancel)

    assert result.status is Status.CANCELLED
    assert 5_000 <= result.rows_written < SOURCE_ROWS
    assert snapshot(target, "orders") == before


def test_target_connection_killed_mid_load_gives_clear_error_and_unchanged_target(pg_database: Server) -> None:
    source = pg_endpoint(pg_database, "pg source")
    target = pg_endpoint(pg_database, "pg target")
    seed_target(source, target)
    before = snapshot(target, "orders")
    killed = threading.Event()

    def on_progress(progress: Progress) -> None:
        if progress.rows_written >= 3_000 and not killed.is_set():
            killed.set()
            with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                                 dbname=pg_database.database, autocommit=True) as admin:
                # Every client of the test database but ourselves and the source's query: the target.
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                              "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                              "AND query NOT ILIKE '%%generate_series%%'", (pg_database.database,))

    result = run_migration(MigrationRequest(source=source, target=target, query=SLOW_QUERY,
                                            table=TableName("orders"), mode=LoadMode.REPLACE, batch_size=500),
                           on_progress=on_progress)

    assert killed.is_set()
    assert result.status is Status.FAILED and result.stage is Stage.LOAD
    assert "'pg target'" in (result.error or "") and "\n" not in (result.error or "")
    rows, tables = snapshot(target, "orders")
    assert rows == before[0]
    # The staging table may outlive a dead connection; the next run drops it.
    after = run_migration(MigrationRequest(source=source, target=target, query="SELECT 1 AS id",
                                           table=TableName("other"), mode=LoadMode.REPLACE))
    assert after.status is Status.SUCCEEDED, after.error
    assert not [t for t in snapshot(target, "orders")[1] if t.startswith(STAGING_PREFIX)]


def test_leftover_staging_tables_are_dropped_but_running_ones_kept(pg_database: Server) -> None:
    endpoint = pg_endpoint(pg_database)
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {STAGING_PREFIX}deadbeef0001 (x int)")
        conn.execute(f"CREATE TABLE {STAGING_PREFIX}cafecafe0002 (x int)")
    # A run going on elsewhere holds the lock named after its staging table.
    live = TargetLocks(endpoint.dialect, endpoint.params, 10)
    try:
        assert live.hold(f"{STAGING_PREFIX}cafecafe0002")
        result = run_migration(MigrationRequest(source=endpoint, target=endpoint, query="SELECT 1 AS id",
                                                table=TableName("t"), mode=LoadMode.REPLACE))
    finally:
        live.close()
    assert result.status is Status.SUCCEEDED, result.error
    tables = snapshot(endpoint, "t")[1]
    assert f"{STAGING_PREFIX}deadbeef0001" not in tables and f"{STAGING_PREFIX}cafecafe0002" in tables
    assert any("left behind" in entry.message for entry in result.log)


def test_two_statements_are_refused_before_anything_runs(pg_database: Server) -> None:
    endpoint = pg_endpoint(pg_database)
    request = MigrationRequest(source=endpoint, target=endpoint, query="SELECT 1; DROP TABLE important",
                               table=TableName("t"))
    with pytest.raises(UsageError, match="2 statements"):
        validate_request(request)
    result = run_migration(request)
    assert result.status is Status.FAILED and "2 statements" in (result.error or "")


def test_source_query_runs_read_only(pg_database: Server, tmp_path: Path) -> None:
    endpoint = pg_endpoint(pg_database)
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database, autocommit=True) as conn:
        conn.execute("CREATE TABLE important (id int)")
        conn.execute("INSERT INTO important VALUES (1), (2)")
    result = run_migration(MigrationRequest(
        source=endpoint, target=sqlite_endpoint(tmp_path / "t.sqlite"), table=TableName("t"),
        query="WITH gone AS (DELETE FROM important RETURNING id) SELECT id FROM gone"))
    # Refused before it is sent; the server's read-only transaction behind it is proved in
    # test_source_queries.py.
    assert result.status is Status.FAILED and "which would change data" in (result.error or "")
    assert snapshot(endpoint, "important")[0] == [(1,), (2,)]


def test_wide_rows_from_postgresql_into_mariadb_at_the_default_batch_size(pg_database: Server,
                                                                          mysql_database: Server) -> None:
    query = ("SELECT g AS id, repeat(md5(g::text), 8) AS a, repeat('ü€', 200) AS b, g * 1.5 AS c, "
             "now() AS d, md5(g::text) AS e, g % 7 = 0 AS f, (g * 3)::numeric(14, 2) AS h "
             "FROM generate_series(1, 200000) AS g")
    result = run_migration(MigrationRequest(source=pg_endpoint(pg_database), target=mysql_endpoint(mysql_database),
                                            query=query, table=TableName("wide"), mode=LoadMode.REPLACE))
    assert result.status is Status.SUCCEEDED, result.error
    assert result.rows_written == 200_000


def test_counting_first_gives_progress_a_total_and_an_eta(pg_database: Server, target: Endpoint) -> None:
    seen: list[Progress] = []
    result = run_migration(MigrationRequest(source=pg_endpoint(pg_database), target=target, query=SLOW_QUERY,
                                            table=TableName("counted"), mode=LoadMode.REPLACE, batch_size=1000,
                                            count_rows=True), on_progress=seen.append)
    assert result.status is Status.SUCCEEDED, result.error
    assert {p.total for p in seen if p.stage is not Stage.CONNECT} == {SOURCE_ROWS}
    mid = [p for p in seen if p.stage is Stage.LOAD and 0 < p.rows_written < SOURCE_ROWS]
    assert mid and all(p.eta is not None and p.eta > 0 for p in mid)
    assert any("returns 30,000 rows" in entry.message for entry in result.log)


def test_memory_stays_bounded_by_the_batch_not_the_result(pg_database: Server, tmp_path: Path) -> None:
    """200,000 rows of ~200 bytes (40 MB as Python objects) with batches of 2,000: the run holds a few batches."""
    import tracemalloc

    query = ("SELECT g AS id, repeat(md5(g::text), 4) AS payload, g * 0.5 AS half "
             "FROM generate_series(1, 200000) AS g")
    tracemalloc.start()
    try:
        result = run_migration(MigrationRequest(source=pg_endpoint(pg_database),
                                                target=sqlite_endpoint(tmp_path / "mem.sqlite"), query=query,
                                                table=TableName("mem"), mode=LoadMode.REPLACE, batch_size=2000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status is Status.SUCCEEDED, result.error
    assert result.rows_written == 200_000
    # One batch is ~0.5 MB of Python objects; the reader, the queue (2) and the writer hold a few.
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_cancel_during_a_long_source_query_returns_promptly(pg_database: Server, tmp_path: Path) -> None:
    """The source is still computing its first row: a cancel must not wait for it."""
    import time

    cancel = threading.Event()
    timer = threading.Timer(1.0, cancel.set)
    timer.start()
    started = time.monotonic()
    try:
        result = run_migration(MigrationRequest(source=pg_endpoint(pg_database),
                                                target=sqlite_endpoint(tmp_path / "t.sqlite"),
                                                query="SELECT pg_sleep(60)::text AS slept, 1 AS x",
                                                table=TableName("never")), cancel=cancel)
    finally:
        timer.cancel()
    assert result.status is Status.CANCELLED
    # The cancel comes 1 s in and takes effect within a second.
    assert time.monotonic() - started < 2.0
    assert snapshot(sqlite_endpoint(tmp_path / "t.sqlite"), "never") == ([], [])


def test_killed_process_leaves_target_unchanged_and_next_run_cleans_up(pg_database: Server, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    source = pg_endpoint(pg_database)
    seed_target(source, source)
    before = snapshot(source, "orders")
    url = f"postgresql://{pg_database.user}@{pg_database.host}:{pg_database.port}/{pg_database.database}"
    env = {**os.environ, "QDBM_HOME": str(tmp_path / "home")}
    process = subprocess.Popen([sys.executable, "-m", "qdbm_desktop.cli", "migrate", "--source", url,
                                "--target", url, "--query", SLOW_QUERY, "--table", "orders", "--mode", "truncate",
                                "--batch-size", "500"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until it is loading the staging table
            if any(t.startswith(STAGING_PREFIX) for t in snapshot(source, "orders")[1]):
                break
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    rows, tables = snapshot(source, "orders")
    assert rows == before[0]
    assert [t for t in tables if t.startswith(STAGING_PREFIX)], "the killed run's staging table should remain"
    after = run_migration(MigrationRequest(source=source, target=source, query="SELECT 1 AS id",
                                           table=TableName("other"), mode=LoadMode.REPLACE))
    assert after.status is Status.SUCCEEDED, after.error
    assert not [t for t in snapshot(source, "orders")[1] if t.startswith(STAGING_PREFIX)]


def test_no_password_appears_in_errors_or_the_run_log(mysql_user_with_password: Server, tmp_path: Path) -> None:
    server = mysql_user_with_password
    source = Endpoint(f"mysql://{server.user}:********@{server.host}/{server.database}", "mysql",
                      ConnectParams(host=server.host, port=server.port, user=server.user,
                                    password=server.password, database=server.database))
    result = run_migration(MigrationRequest(source=source, target=sqlite_endpoint(tmp_path / "t.sqlite"),
                                            query=f"SELECT '{server.password}' AS leaked FROM no_such_table",
                                            table=TableName("t")))
    assert result.status is Status.FAILED and "no_such_table" in (result.error or "")
    everything = (result.error or "") + "".join(entry.message for entry in result.log)
    assert server.password not in everything


def test_emoji_into_an_existing_utf8mb3_column_is_refused_not_mangled(pg_database: Server,
                                                                      mysql_database: Server) -> None:
    import mysql.connector

    target = mysql_endpoint(mysql_database)
    with mysql.connector.connect(host=mysql_database.host, port=mysql_database.port, user=mysql_database.user,
                                 password=mysql_database.password, database=mysql_database.database) as conn:
        cursor = conn.cursor()
        cursor.execute("CREATE TABLE legacy (id INT PRIMARY KEY, note VARCHAR(50)) CHARACTER SET utf8mb3")
        cursor.execute("INSERT INTO legacy VALUES (1, 'kept')")
        conn.commit()
    before = snapshot(target, "legacy")
    result = run_migration(MigrationRequest(
        source=pg_endpoint(pg_database), target=target, table=TableName("legacy"), mode=LoadMode.APPEND,
        query="SELECT g + 1 AS id, CASE WHEN g = 3 THEN 'party 🎉' ELSE 'plain' END AS note "
              "FROM generate_series(1, 5) AS g ORDER BY g"))
    assert result.status is Status.FAILED
    assert "note" in (result.error or "") and "row 3" in (result.error or ""), result.error
    assert snapshot(target, "legacy") == before


def test_a_count_mismatch_after_commit_fails_the_run_and_says_the_rows_were_committed(pg_database: Server) -> None:
    """A trigger adds a row of its own: the run must not call that a success, nor claim it undid anything."""
    endpoint = pg_endpoint(pg_database)
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database, autocommit=True) as conn:
        conn.execute("CREATE TABLE audited (id int, label text)")
        conn.execute("CREATE FUNCTION add_extra() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN INSERT INTO audited VALUES (-1, 'extra'); RETURN NULL; END $$")
        conn.execute("CREATE TRIGGER extra AFTER INSERT ON audited FOR EACH STATEMENT "
                     "WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION add_extra()")
    result = run_migration(MigrationRequest(source=endpoint, target=endpoint, table=TableName("audited"),
                                            query="SELECT g AS id, 'row' AS label FROM generate_series(1, 10) g"))
    assert result.status is Status.FAILED and result.stage is Stage.VERIFY
    assert "should hold 10 rows" in (result.error or "") and "holds 11" in (result.error or "")
    assert "the rows were committed" in result.log[-1].message


def test_postgresql_to_postgresql_passes_rows_through_undecoded_when_types_match(pg_database: Server) -> None:
    endpoint = pg_endpoint(pg_database)
    query = ("SELECT g AS id, (g * 1.25)::numeric(12,2) AS amount, now() AS at, "
             "jsonb_build_object('n', g, 'ü', '🎉') AS doc, md5(g::text)::uuid AS u FROM generate_series(1, 5000) g")
    result = run_migration(MigrationRequest(source=endpoint, target=endpoint, query=query, table=TableName("copied"),
                                            mode=LoadMode.REPLACE))
    assert result.status is Status.SUCCEEDED, result.error
    assert any("nothing decoded" in entry.message for entry in result.log)
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database) as conn:
        assert conn.execute("SELECT count(*) FROM copied").fetchone() == (5000,)
        # Every value arrived intact (now() is left out: it differs between statements).
        assert conn.execute("SELECT count(*) FROM copied c WHERE c.amount = (c.id * 1.25)::numeric(12,2) "
                            "AND c.doc = jsonb_build_object('n', c.id, 'ü', '🎉') "
                            "AND c.u = md5(c.id::text)::uuid").fetchone() == (5000,)


def test_cancel_of_a_pass_through_run_while_the_source_computes(pg_database: Server) -> None:
    import time

    endpoint = pg_endpoint(pg_database)
    cancel = threading.Event()
    timer = threading.Timer(1.0, cancel.set)
    timer.start()
    started = time.monotonic()
    try:
        result = run_migration(MigrationRequest(source=endpoint, target=endpoint, table=TableName("never"),
                                                query="SELECT pg_sleep(60)::text AS slept, 1 AS x"), cancel=cancel)
    finally:
        timer.cancel()
    assert result.status is Status.CANCELLED, result.error
    # The cancel comes 1 s in and takes effect within a second.
    assert time.monotonic() - started < 2.0
    assert "never" not in snapshot(endpoint, "never")[1]
