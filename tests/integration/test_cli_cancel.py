"""Ctrl+C (SIGINT) or SIGTERM on `qdbm migrate` and `qdbm run` is a cancel: the history says
`cancelled`, the target is unchanged, the exit code is 130 (SIGINT) or 143 (SIGTERM), within 2 s."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.core.migration import STAGING_PREFIX, Endpoint
from tests.integration.conftest import Server
from tests.integration.test_migration_pipeline import mysql_endpoint, pg_endpoint, snapshot, sqlite_endpoint

#: The issue's bound, from the signal to the process's exit.
EXIT_BOUND = 2.0
SLOW = {"postgresql": "SELECT pg_sleep(30)::text AS label, 1 AS id",
        "mysql": "SELECT CAST(SLEEP(30) AS CHAR) AS label, 1 AS id",
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                  "SELECT CAST(sum(i) AS TEXT) AS label, 1 AS id FROM (SELECT i FROM n LIMIT 4000000000)"}
#: Many rows, slowly: the run is loading when the signal comes.
ROWS = {"postgresql": "SELECT 'row ' || g AS label, g AS id, CASE WHEN g % 1000 = 0 THEN "
                      "length(pg_sleep(0.05)::text) END AS slow FROM generate_series(1, 10000000) g",
        "mysql": "SELECT CONCAT('row ', seq) AS label, seq AS id, IF(seq % 1000 = 0, SLEEP(0.05), NULL) AS slow "
                 "FROM seq_1_to_10000000",
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 100000000) "
                  "SELECT 'row ' || i AS label, i AS id, NULL AS slow FROM n"}


def url_of(endpoint: Endpoint) -> str:
    params = endpoint.params
    if endpoint.type == "sqlite":
        return f"sqlite:///{params.path}"
    scheme = "postgresql" if endpoint.type == "postgresql" else "mysql"
    return f"{scheme}://{params.user}@{params.host}:{params.port}/{params.database}"


def endpoint_for(kind: str, request: pytest.FixtureRequest, path: Path, label: str) -> Endpoint:
    if kind == "postgresql":
        return pg_endpoint(request.getfixturevalue("pg_database"), label)
    if kind == "mysql":
        return mysql_endpoint(request.getfixturevalue("mysql_database"), label)
    return sqlite_endpoint(path)


def seed(endpoint: Endpoint, home: Path) -> list[tuple[object, ...]]:
    """A target table ``kept`` with two rows, made by the command line itself."""
    query = "SELECT 'old' AS label, 1 AS id, NULL AS slow UNION ALL SELECT 'older', 2, NULL"
    done = qdbm(home, "migrate", "--source", "Demo shop (SQLite)", "--target", url_of(endpoint),
                "--query", query, "--table", "kept", "--mode", "replace")
    assert done.returncode == 0, done.stderr
    return snapshot(endpoint, "kept")[0]


def qdbm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qdbm_desktop.cli", *args], env=environment(home),
                          capture_output=True, text=True, timeout=60, check=False)


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "QDBM_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def runs(home: Path) -> list[dict[str, Any]]:
    path = home / "history.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM runs ORDER BY id")]


def interrupted(home: Path, args: list[str], *, wait_for: str = "running", settle: float = 0.7,
                number: int = signal.SIGINT) -> tuple[int, float, str]:
    """Start ``qdbm ARGS``, send ``number`` once its run is ``wait_for`` (and ``settle`` s more);
    returns the exit code, the seconds from the signal to the exit, and stderr."""
    process = subprocess.Popen([sys.executable, "-m", "qdbm_desktop.cli", *args], env=environment(home),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            latest = runs(home)[-1:] if runs(home) else []
            if latest and latest[0]["status"] == "running" and (
                    wait_for == "running" or int(latest[0]["rows_written"] or 0) > 0):
                break
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()
        time.sleep(settle)
        sent = time.monotonic()
        process.send_signal(number)
        _, err = process.communicate(timeout=30)
        return process.returncode, time.monotonic() - sent, err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "home"
    done = qdbm(folder, "connections", "list")  # the first start makes the demo connections
    assert done.returncode == 0, done.stderr
    yield folder


def assert_cancelled(home: Path, code: int, seconds: float, err: str, expected_code: int = 130) -> None:
    assert code == expected_code, err
    assert seconds < EXIT_BOUND, f"{seconds:.2f} s from the signal to the exit"
    last = runs(home)[-1]
    assert last["status"] == "cancelled", last
    assert "Traceback" not in err
    assert err.count("cancelled") == 1, err
    assert err.strip().splitlines()[-1] == "qdbm: cancelled; the target is unchanged", err


@pytest.mark.servers  # the SQLite source writes into PostgreSQL
@pytest.mark.parametrize("kind", ["postgresql", "mysql", "sqlite"])
@pytest.mark.parametrize("count_first", [False, True], ids=["reading", "counting"])
def test_ctrl_c_while_the_source_query_computes_cancels_the_run(
        kind: str, count_first: bool, request: pytest.FixtureRequest, tmp_path: Path, home: Path) -> None:
    source = endpoint_for(kind, request, tmp_path / "source.sqlite", "source")
    target = sqlite_endpoint(tmp_path / "target.sqlite") if kind != "sqlite" else \
        pg_endpoint(request.getfixturevalue("pg_database"), "target")
    before = seed(target, home)
    code, seconds, err = interrupted(home, ["migrate", "--source", url_of(source), "--target", url_of(target),
                                            "--query", SLOW[kind], "--table", "kept", "--mode", "truncate",
                                            *(["--count"] if count_first else [])])
    assert_cancelled(home, code, seconds, err)
    rows, tables = snapshot(target, "kept")
    assert rows == before and not [t for t in tables if t.startswith(STAGING_PREFIX)]


@pytest.mark.parametrize(("source_kind", "target_kind"), [
    ("postgresql", "postgresql"),  # binary COPY pass-through
    ("postgresql", "mysql"),       # MariaDB LOAD DATA
    ("mysql", "postgresql"),       # row path into COPY
    ("sqlite", "sqlite"),
    ("mysql", "sqlite"),
])
def test_ctrl_c_mid_load_cancels_the_run_and_leaves_the_target_unchanged(
        source_kind: str, target_kind: str, request: pytest.FixtureRequest, tmp_path: Path, home: Path) -> None:
    source = endpoint_for(source_kind, request, tmp_path / "source.sqlite", "source")
    target = endpoint_for(target_kind, request, tmp_path / "target.sqlite", "target")
    if source_kind == target_kind == "sqlite":
        target = sqlite_endpoint(tmp_path / "other.sqlite")
    before = seed(target, home)
    code, seconds, err = interrupted(home, ["migrate", "--source", url_of(source), "--target", url_of(target),
                                            "--query", ROWS[source_kind], "--table", "kept", "--mode", "replace",
                                            "--batch-size", "5000"], wait_for="loading", settle=0.3)
    assert_cancelled(home, code, seconds, err)
    rows, tables = snapshot(target, "kept")
    assert rows == before and not [t for t in tables if t.startswith(STAGING_PREFIX)]


def test_ctrl_c_while_connecting_cancels_the_run(home: Path, tmp_path: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    try:
        host, port = silent.getsockname()
        code, seconds, err = interrupted(home, ["migrate", "--source", f"postgresql://x@{host}:{port}/x",
                                                "--target", "Local warehouse (SQLite)", "--query", "SELECT 1 AS x",
                                                "--table", "never"])
    finally:
        silent.close()
    assert_cancelled(home, code, seconds, err)


def test_sigterm_cancels_the_run_with_exit_code_143(pg_database: Server, home: Path, tmp_path: Path) -> None:
    source, target = pg_endpoint(pg_database), sqlite_endpoint(tmp_path / "target.sqlite")
    before = seed(target, home)
    code, seconds, err = interrupted(home, ["migrate", "--source", url_of(source), "--target", url_of(target),
                                            "--query", SLOW["postgresql"], "--table", "kept", "--mode",
                                            "truncate"], number=signal.SIGTERM)
    assert_cancelled(home, code, seconds, err, expected_code=143)
    assert snapshot(target, "kept")[0] == before


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_on_qdbm_run_cancels_the_job_run(number: int, mysql_database: Server, home: Path) -> None:
    target = mysql_endpoint(mysql_database)
    before = seed(target, home)
    added = qdbm(home, "connections", "add", "maria", "--url", url_of(target))
    assert added.returncode == 0, added.stderr
    saved = qdbm(home, "jobs", "add", "slow", "--source", "maria", "--target", "maria", "--query",
                 ROWS["mysql"], "--table", "kept", "--mode", "truncate")
    assert saved.returncode == 0, saved.stderr
    code, seconds, err = interrupted(home, ["run", "slow"], wait_for="loading", settle=0.3, number=number)
    assert_cancelled(home, code, seconds, err, expected_code=128 + number)
    assert runs(home)[-1]["job"] == "slow"
    assert snapshot(target, "kept")[0] == before
    # The job is free again: its run lock went with the cancelled run.
    listed = qdbm(home, "history", "--json", "--limit", "1")
    assert json.loads(listed.stdout)[0]["status"] == "cancelled"
