"""Bounded concurrency and soak: many real `qdbm` processes at once into one database.

* 8 `qdbm migrate` processes at once into one PostgreSQL database, one MariaDB database and one
  SQLite file (each engine in turn), into different tables and the same table, in every mode.
* `qdbm scheduler` with 10 jobs firing every minute for 3 minutes, into the same tables and
  different ones on the three engines.

Every run must end succeeded (having waited for another run into its table, when there was one)
or be refused clearly; every table must hold exactly the rows its runs put there; no staging
table, lock file or temporary file may be left. The figures are printed (``pytest -s`` shows them).

Cost: the migrate part takes about a minute; the scheduler part 3-4 minutes (it waits for three
minute boundaries), mostly idle. Marked ``soak`` so it can be left out with ``-m "not soak"``.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.core.migration import OLD_PREFIX, STAGING_PREFIX, Endpoint
from tests.integration.conftest import Server
from tests.integration.test_migration_pipeline import mysql_endpoint, pg_endpoint, sqlite_endpoint

pytestmark = pytest.mark.soak

REPO = Path(__file__).resolve().parents[2]


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "QDBM_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def qdbm(home: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "qdbm_desktop.cli", *args], env=environment(home), cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             state: Callable[[], str] = lambda: "") -> None:
    """Wait for ``condition``; on a timeout say what was seen (``state``)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}; {state()}"
        time.sleep(1)


def count(endpoint: Endpoint, table: str) -> int:
    dialect = endpoint.dialect
    conn = dialect.connect(endpoint.params, 10)
    try:
        cursor = conn.cursor()
        cursor.execute(f"SELECT COUNT(*), COUNT(DISTINCT id) FROM {dialect.quote_identifier(table)}")
        rows, ids = cursor.fetchone()
        cursor.close()
    finally:
        conn.close()
    return int(rows) if int(rows) == int(ids) else -int(rows)  # a duplicate shows as a negative count


def leftovers(endpoint: Endpoint) -> list[str]:
    """Staging and set-aside tables, and lock files beside a SQLite file."""
    dialect = endpoint.dialect
    conn = dialect.connect(endpoint.params, 10)
    try:
        found = [t.name for prefix in (STAGING_PREFIX, OLD_PREFIX) for t in dialect.list_tables(conn, None, prefix)]
    finally:
        conn.close()
    if endpoint.type == "sqlite":
        path = Path(endpoint.params.path or "")
        found += [p.name for p in path.parent.glob(f"{path.name}.qdbm-*.lock")]
    return found


def url(endpoint: Endpoint, server: Server | None) -> str:
    if endpoint.type == "sqlite":
        return f"sqlite:///{endpoint.params.path}"
    assert server is not None
    return server.url("postgresql" if endpoint.type == "postgresql" else "mysql")


#: About four seconds of reading per thousand rows, far longer than the processes take to start,
#: so the runs of each same-table pair overlap.
def slow_rows(first: int, last: int) -> str:
    return (f"SELECT g AS id, 'row ' || g AS label FROM generate_series({first}, {last}) AS g "
            "WHERE g % 50 <> 0 OR pg_sleep(0.2) IS NOT NULL")


@dataclass(frozen=True)
class Planned:
    mode: str
    table: str
    first: int
    last: int


#: Eight runs at once: different tables and the same table, every mode.
EIGHT = [
    Planned("replace", "solo", 1, 700),
    Planned("create", "created", 1, 1000), Planned("create", "created", 1, 1000),
    Planned("append", "appended", 1, 1000), Planned("append", "appended", 1001, 2000),
    Planned("upsert", "upserted", 1, 1000), Planned("upsert", "upserted", 501, 1500),
    Planned("truncate", "truncated", 1, 800),
]
EXACT = {"solo": 700, "created": 1000, "appended": 2000, "upserted": 1500, "truncated": 800}


@pytest.mark.parametrize("engine", ["postgresql", "mysql", "sqlite"])
def test_eight_qdbm_migrate_processes_at_once_into_one_database_all_end_clearly_with_exact_counts(
        engine: str, pg_database: Server, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    home = tmp_path / "home"
    server: Server | None
    if engine == "postgresql":
        server, target = pg_database, pg_endpoint(pg_database)
    elif engine == "mysql":
        server = request.getfixturevalue("mysql_database")
        target = mysql_endpoint(server)
    else:
        server, target = None, sqlite_endpoint(tmp_path / "target.sqlite")
    source_url, target_url = pg_database.url("postgresql"), url(target, server)
    # The tables that truncate and replace need, with rows that must go.
    for table, rows in (("solo", 5), ("truncated", 10)):
        qdbm(home, "migrate", "--source", source_url, "--target", target_url, "--query",
             f"SELECT g AS id, 'old' AS label FROM generate_series(1, {rows}) AS g", "--table", table,
             "--mode", "create")

    started = time.monotonic()
    processes = []
    for index, run in enumerate(EIGHT):
        args = [sys.executable, "-m", "qdbm_desktop.cli", "migrate", "--source", source_url, "--target",
                target_url, "--query", slow_rows(run.first, run.last), "--table", run.table, "--mode", run.mode,
                "--batch-size", "200", "--json"]
        if run.mode == "upsert":
            args += ["--key", "id"]
        err = (tmp_path / f"run{index}.err").open("w")
        processes.append((run, subprocess.Popen(args, env=environment(home), cwd=REPO, stdout=subprocess.PIPE,
                                                stderr=err, text=True), err))
    outcomes: list[tuple[Planned, int, dict[str, Any], str]] = []
    for index, (run, process, err) in enumerate(processes):
        out, _ = process.communicate(timeout=300)
        err.close()
        outcomes.append((run, process.returncode, json.loads(out) if out.strip() else {},
                         (tmp_path / f"run{index}.err").read_text()))
    wall = time.monotonic() - started

    refused = []
    for run, code, summary, err_text in outcomes:
        assert "Traceback" not in err_text, err_text
        if code != 0:
            refused.append((run, summary, err_text))
            continue
        assert summary["status"] == "succeeded", (run, summary, err_text)
        assert summary["rows_written"] == run.last - run.first + 1
    # Of the two creates of one table exactly one is refused, saying why, and nothing else is.
    assert [r.table for r, _, _ in refused] == ["created"], refused
    ((_, summary, _),) = refused
    assert summary["status"] == "failed" and "already exists" in summary["error"], summary
    assert "\n" not in summary["error"]
    assert {table: count(target, table) for table in EXACT} == EXACT
    assert leftovers(target) == []
    assert list((home / "runs").iterdir()) == []
    waited = sum("waiting for another run into the same table" in err for _, _, _, err in outcomes)
    assert waited >= 1  # runs into one table went one after the other
    seconds = sorted(round(summary.get("seconds", 0.0), 2) for _, _, summary, _ in outcomes)
    print(f"\n{engine}: 8 qdbm migrate at once in {wall:.1f} s wall; run seconds {seconds}; "
          f"{waited} waited for another run into the same table; {len(refused)} refused (create of an "
          "existing table)")


# -- the scheduler ---------------------------------------------------------------------------------

SOURCE_ROWS = 2000


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    target: str
    table: str
    mode: str
    first: int
    last: int


JOBS = [
    ScheduledJob("pg append 1", "pg", "sched_shared", "append", 1, 1000),
    ScheduledJob("pg append 2", "pg", "sched_shared", "append", 1, 1000),
    ScheduledJob("pg append 3", "pg", "sched_shared", "append", 1, 1000),
    ScheduledJob("pg replace", "pg", "sched_replace", "replace", 1, 1500),
    ScheduledJob("maria append 1", "maria", "sched_shared", "append", 1, 800),
    ScheduledJob("maria append 2", "maria", "sched_shared", "append", 1, 800),
    ScheduledJob("maria upsert", "maria", "sched_upsert", "upsert", 1, 1200),
    ScheduledJob("lite append 1", "lite", "sched_shared", "append", 1, 600),
    ScheduledJob("lite append 2", "lite", "sched_shared", "append", 1, 600),
    ScheduledJob("lite truncate", "lite", "sched_truncate", "truncate", 1, 900),
]
FIRES = 3


@pytest.mark.timeout(600)
def test_a_scheduler_with_ten_jobs_firing_every_minute_for_three_minutes_loses_and_leaks_nothing(
        pg_database: Server, mysql_database: Server, tmp_path: Path) -> None:
    home = tmp_path / "home"
    source_path = tmp_path / "source.sqlite"
    with sqlite3.connect(source_path) as db:
        db.execute("CREATE TABLE src (id INTEGER PRIMARY KEY, label TEXT)")
        db.executemany("INSERT INTO src VALUES (?, ?)", [(i, f"row {i}") for i in range(1, SOURCE_ROWS + 1)])
    db.close()
    lite = sqlite_endpoint(tmp_path / "target.sqlite")
    targets = {"pg": pg_endpoint(pg_database), "maria": mysql_endpoint(mysql_database), "lite": lite}
    qdbm(home, "connections", "add", "src", "--url", f"sqlite:///{source_path}")
    qdbm(home, "connections", "add", "pg", "--url", pg_database.url("postgresql"))
    qdbm(home, "connections", "add", "maria", "--url", mysql_database.url("mysql"))
    qdbm(home, "connections", "add", "lite", "--url", f"sqlite:///{lite.params.path}")
    qdbm(home, "migrate", "--source", "src", "--target", "lite", "--query", "SELECT id, label FROM src WHERE id <= 5",
         "--table", "sched_truncate", "--mode", "create")
    for job in JOBS:
        extra = ["--key", "id"] if job.mode == "upsert" else []
        qdbm(home, "jobs", "add", job.name, "--source", "src", "--target", job.target, "--query",
             f"SELECT id, label FROM src WHERE id BETWEEN {job.first} AND {job.last}", "--table", job.table,
             "--mode", job.mode, "--batch-size", "250", *extra)

    out, err = tmp_path / "scheduler.out", tmp_path / "scheduler.err"
    with out.open("w") as out_file, err.open("w") as err_file:
        scheduler = subprocess.Popen([sys.executable, "-m", "qdbm_desktop.cli", "scheduler", "--check-every", "5"],
                                     env=environment(home), cwd=REPO, stdout=out_file, stderr=err_file)
    started = time.monotonic()
    try:
        wait_for(lambda: "runs the schedules of" in out.read_text() or scheduler.poll() is not None, 30,
                 "the scheduler to start")
        assert scheduler.poll() is None, err.read_text()
        for job in JOBS:
            qdbm(home, "schedule", "add", job.name, "--cron", "* * * * *")

        def history() -> list[dict[str, Any]]:
            runs: list[dict[str, Any]] = json.loads(qdbm(home, "history", "--json", "--limit", "0"))
            return runs

        def seen() -> str:
            runs = history()
            tally = {job.name: sorted(f"{r['trigger']} {r['status']}" for r in runs if r["job"] == job.name)
                     for job in JOBS}
            errors = {r["error"] for r in runs if r.get("error")}
            alive = "running" if scheduler.poll() is None else f"ended with {scheduler.returncode}"
            return (f"the scheduler is {alive}; runs per job: {tally}; errors: {errors}; "
                    f"its stderr ends: {err.read_text()[-3000:]}")

        def fired_three_times() -> bool:
            assert scheduler.poll() is None, seen()
            runs = history()
            ran = {job.name: sum(r["job"] == job.name and r["status"] != "skipped" for r in runs) for job in JOBS}
            return min(ran.values()) >= FIRES and all(r["status"] != "running" for r in runs)

        wait_for(fired_three_times, 7 * 60, "three minutes of scheduled runs", seen)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        code = scheduler.wait(60)
    elapsed = time.monotonic() - started
    assert code == 0, err.read_text()
    events = err.read_text()
    assert "Traceback" not in events, events

    runs = [r for r in history() if r["trigger"] == "schedule"]
    by_job: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_job.setdefault(run["job"], []).append(run)
    assert set(by_job) == {job.name for job in JOBS}
    # Every run ended succeeded; a job still running at its next fire is skipped, saying so.
    assert {r["status"] for r in runs} <= {"succeeded", "skipped"}, \
        [(r["job"], r["error"]) for r in runs if r["status"] == "failed"]
    succeeded = {name: [r for r in rs if r["status"] == "succeeded"] for name, rs in by_job.items()}
    assert all(len(rs) >= FIRES for rs in succeeded.values()), {n: len(rs) for n, rs in succeeded.items()}
    for job in JOBS:
        assert all(r["rows_written"] == job.last - job.first + 1 for r in succeeded[job.name])
    # Exact: appends add up, replace/truncate/upsert hold one run's rows.
    for target, table in {(j.target, j.table) for j in JOBS}:
        jobs = [j for j in JOBS if (j.target, j.table) == (target, table)]
        dialect = targets[target].dialect
        conn = dialect.connect(targets[target].params, 10)
        try:
            cursor = conn.cursor()
            cursor.execute(f"SELECT COUNT(*) FROM {dialect.quote_identifier(table)}")
            (rows,) = cursor.fetchone()
            cursor.close()
        finally:
            conn.close()
        if jobs[0].mode == "append":
            expected = sum((j.last - j.first + 1) * len(succeeded[j.name]) for j in jobs)
        else:
            expected = jobs[0].last - jobs[0].first + 1
        assert int(rows) == expected, (target, table)
    for endpoint in targets.values():
        assert leftovers(endpoint) == []
    assert list((home / "runs").iterdir()) == []
    with sqlite3.connect(home / "history.sqlite3") as db:
        waits = db.execute("SELECT COUNT(DISTINCT run) FROM run_log WHERE stage = 'wait' "
                           "AND message LIKE 'waiting for another run%'").fetchone()[0]
        waited = db.execute("SELECT message FROM run_log WHERE stage = 'wait' AND message LIKE 'the other run%'"
                            ).fetchall()
    db.close()
    durations = sorted((datetime.fromisoformat(r["finished"]) - datetime.fromisoformat(r["started"])).total_seconds()
                       for r in runs if r.get("finished"))
    skipped = sum(r["status"] == "skipped" for r in runs)
    longest_wait = max((float(m.split("after ")[1].split(" s")[0]) for (m,) in waited), default=0.0)
    print(f"\nscheduler: {len(JOBS)} jobs every minute for {elapsed:.0f} s; {len(runs)} scheduled runs, "
          f"{sum(len(rs) for rs in succeeded.values())} succeeded, {skipped} skipped; run seconds "
          f"min {durations[0]:.2f} median {durations[len(durations) // 2]:.2f} max {durations[-1]:.2f}; "
          f"{waits} runs waited for another run into their table (longest {longest_wait:.1f} s)")
