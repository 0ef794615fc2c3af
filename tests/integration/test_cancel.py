"""A cancel takes effect within a second on every path, whatever the run is blocked in, and leaves the
target exactly as it was (no table, no staging table)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.migration import (
    STAGING_PREFIX,
    Endpoint,
    MigrationRequest,
    Progress,
    Stage,
    Status,
    run_migration,
)
from tests.integration.conftest import Server
from tests.integration.test_migration_pipeline import mysql_endpoint, pg_endpoint, snapshot, sqlite_endpoint

#: The issue's bound: from the cancel to the run's result.
CANCEL_BOUND = 1.0
#: A SQLite query that computes for minutes before its first row (a recursive CTE summed up).
SQLITE_SLOW = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
               "SELECT sum(i) AS total, 1 AS x FROM (SELECT i FROM n LIMIT 4000000000)")
#: Slow statements per engine, each still computing its first row when the cancel comes.
SLOW = {"postgresql": "SELECT pg_sleep(30)::text AS slept, 1 AS x",
        "mysql": "SELECT SLEEP(30) AS slept, 1 AS x",
        "sqlite": SQLITE_SLOW}
#: Many rows produced slowly, so a run is mid-load when the cancel comes.
ROWS = {"postgresql": "SELECT g AS id, 'row ' || g AS label, CASE WHEN g % 1000 = 0 THEN "
                      "length(pg_sleep(0.05)::text) END AS slow FROM generate_series(1, 10000000) g",
        "mysql": "SELECT seq AS id, CONCAT('row ', seq) AS label, IF(seq % 1000 = 0, SLEEP(0.05), NULL) AS slow "
                 "FROM seq_1_to_10000000",
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 100000000) "
                  "SELECT i AS id, 'row ' || i AS label, NULL AS slow FROM n"}


def endpoint_for(kind: str, request: pytest.FixtureRequest, path: Path, label: str) -> Endpoint:
    if kind == "postgresql":
        return pg_endpoint(request.getfixturevalue("pg_database"), label)
    if kind == "mysql":
        return mysql_endpoint(request.getfixturevalue("mysql_database"), label)
    return sqlite_endpoint(path)


def cancelled_run(run_request: MigrationRequest, when: Callable[[Progress], bool] | float
                  ) -> tuple[float, Status, list[str]]:
    """Run ``run_request`` and cancel it after ``when`` seconds, or once ``when(progress)`` holds.

    Returns the seconds from the cancel to the result, the status and the target's tables."""
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def set_cancel() -> None:
        cancelled_at.append(time.monotonic())
        cancel.set()

    def on_progress(progress: Progress) -> None:
        if callable(when) and not cancel.is_set() and when(progress):
            set_cancel()

    timer = threading.Timer(when, set_cancel) if not callable(when) else None
    if timer is not None:
        timer.start()
    try:
        result = run_migration(run_request, on_progress=on_progress, cancel=cancel)
    finally:
        if timer is not None:
            timer.cancel()
    ended = time.monotonic()
    assert cancelled_at, f"the run ended before the cancel: {result.status} {result.error}"
    return ended - cancelled_at[0], result.status, snapshot(run_request.target, "never")[1]


@pytest.mark.servers  # the SQLite source writes into PostgreSQL
@pytest.mark.parametrize("kind", ["postgresql", "mysql", "sqlite"])
@pytest.mark.parametrize("count_first", [False, True], ids=["read", "count-first"])
def test_cancel_while_the_source_query_computes_takes_effect_within_a_second(
        kind: str, count_first: bool, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    source = endpoint_for(kind, request, tmp_path / "source.sqlite", "source")
    target = sqlite_endpoint(tmp_path / "target.sqlite") if kind != "sqlite" else \
        pg_endpoint(request.getfixturevalue("pg_database"), "target")
    seconds, status, tables = cancelled_run(
        MigrationRequest(source=source, target=target, query=SLOW[kind], table=TableName("never"),
                         count_rows=count_first), 1.5)
    assert status is Status.CANCELLED
    assert seconds < CANCEL_BOUND, f"{seconds:.2f} s from the cancel to the result"
    assert "never" not in tables and not [t for t in tables if t.startswith(STAGING_PREFIX)]


@pytest.mark.parametrize("kind", ["postgresql", "mysql", "sqlite"])
def test_cancel_of_a_same_engine_run_while_the_source_computes_takes_effect_within_a_second(
        kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Same engine on both sides: PostgreSQL's binary COPY pass-through, the others' row path."""
    endpoint = endpoint_for(kind, request, tmp_path / "both.sqlite", "both")
    if kind == "sqlite":
        with sqlite3.connect(tmp_path / "both.sqlite") as db:
            db.execute("PRAGMA journal_mode = WAL")
    seconds, status, tables = cancelled_run(
        MigrationRequest(source=endpoint, target=endpoint, query=SLOW[kind], table=TableName("never")), 1.5)
    assert status is Status.CANCELLED
    assert seconds < CANCEL_BOUND, f"{seconds:.2f} s from the cancel to the result"
    assert "never" not in tables and not [t for t in tables if t.startswith(STAGING_PREFIX)]


@pytest.mark.parametrize("source_kind", ["postgresql", "mysql", "sqlite"])
@pytest.mark.parametrize("target_kind", ["postgresql", "mysql", "sqlite"])
def test_cancel_mid_load_takes_effect_within_a_second_and_leaves_the_target_unchanged(
        source_kind: str, target_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    source = endpoint_for(source_kind, request, tmp_path / "source.sqlite", "source")
    target = endpoint_for(target_kind, request, tmp_path / "target.sqlite", "target")
    if source_kind == target_kind == "sqlite":
        target = sqlite_endpoint(tmp_path / "other.sqlite")
    seconds, status, tables = cancelled_run(
        MigrationRequest(source=source, target=target, query=ROWS[source_kind], table=TableName("never"),
                         mode=LoadMode.REPLACE, batch_size=5000),
        lambda progress: progress.stage is Stage.LOAD and progress.rows_written >= 20_000)
    assert status is Status.CANCELLED
    assert seconds < CANCEL_BOUND, f"{seconds:.2f} s from the cancel to the result"
    assert "never" not in tables and not [t for t in tables if t.startswith(STAGING_PREFIX)]


def test_cancel_while_connecting_to_a_server_that_does_not_answer_takes_effect_within_a_second(
        tmp_path: Path) -> None:
    import socket

    # A listening socket that never accepts: the connection attempt hangs until its timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    try:
        host, port = silent.getsockname()
        from qdbm_desktop.core.dialects import ConnectParams

        source = Endpoint("silent", "postgresql", ConnectParams(host=host, port=port, user="x", database="x"))
        seconds, status, tables = cancelled_run(
            MigrationRequest(source=source, target=sqlite_endpoint(tmp_path / "t.sqlite"), query="SELECT 1 AS x",
                             table=TableName("never")), 1.0)
    finally:
        silent.close()
    assert status is Status.CANCELLED
    assert seconds < CANCEL_BOUND, f"{seconds:.2f} s from the cancel to the result"
    assert tables == []


def test_a_cancelled_run_leaves_both_connections_usable_for_the_next_run(pg_database: Server,
                                                                         mysql_database: Server) -> None:
    source, target = pg_endpoint(pg_database, "source"), mysql_endpoint(mysql_database, "target")
    cancelled_run(MigrationRequest(source=source, target=target, query=SLOW["postgresql"],
                                   table=TableName("never")), 1.0)
    after = run_migration(MigrationRequest(source=source, target=target, table=TableName("after"),
                                           query="SELECT g AS id FROM generate_series(1, 100) g"))
    assert after.status is Status.SUCCEEDED, after.error
    assert len(snapshot(target, "after")[0]) == 100
