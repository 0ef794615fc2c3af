"""`qdbm scheduler` running headless in its own process fires real SQLite-to-PostgreSQL jobs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest

from qdbm_desktop.core.demo import DEMO_QUERY, DEMO_SOURCE_NAME
from qdbm_desktop.core.history import HistoryStore, RunStatus
from tests.integration.conftest import Server

REPO = Path(__file__).resolve().parents[2]


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "QDBM_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def qdbm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `qdbm` command in its own process, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "qdbm_desktop.cli", *args], env=environment(home), cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def ok(home: Path, *args: str) -> str:
    result = qdbm(home, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


class HeadlessScheduler:
    """`qdbm scheduler` as a child process, its output in files (a pipe nobody reads could block it)."""

    def __init__(self, home: Path, folder: Path, *args: str) -> None:
        self.out_path, self.err_path = folder / "scheduler.out", folder / "scheduler.err"
        with self.out_path.open("w") as out, self.err_path.open("w") as err:
            self.process = subprocess.Popen([sys.executable, "-m", "qdbm_desktop.cli", "scheduler", *args],
                                            env=environment(home), cwd=REPO, stdout=out, stderr=err)

    @property
    def out(self) -> str:
        return self.out_path.read_text(encoding="utf-8")

    @property
    def err(self) -> str:
        return self.err_path.read_text(encoding="utf-8")

    def wait_started(self) -> None:
        wait_for(lambda: "runs the schedules of" in self.out or self.process.poll() is not None, 30,
                 "the scheduler to start")
        assert self.process.poll() is None, self.err

    def stop(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def scheduler(home: Path, tmp_path: Path) -> Iterator[Callable[..., HeadlessScheduler]]:
    started: list[HeadlessScheduler] = []

    def start(*args: str) -> HeadlessScheduler:
        process = HeadlessScheduler(home, tmp_path, *args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def history(home: Path) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = json.loads(ok(home, "history", "--json", "--limit", "0"))
    return runs


def add_old_run(home: Path, days_ago: int) -> None:
    store = HistoryStore(home / "history.sqlite3", origin="cli")
    record = store.start_run(run_id="old", source="a", target="b", query="SELECT 1", target_table="t",
                             mode="append")
    store.finish_run(record, RunStatus.SUCCEEDED, 1, 1)
    started = (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat()
    with closing(sqlite3.connect(home / "history.sqlite3")) as db, db:
        db.execute("UPDATE runs SET started = ?, finished = ? WHERE id = ?", (started, started, record))
    assert [r["run_id"] for r in history(home)] == ["old"]


def pg_count(server: Server, table: str) -> int | None:
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database) as db:
        if db.execute("SELECT to_regclass(%s)", (table,)).fetchone() == (None,):
            return None
        row = db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
        assert row is not None
        return int(row[0])


def test_a_schedule_3_seconds_ahead_runs_a_sqlite_to_postgresql_job_headless_and_a_failing_one_is_recorded_failed(
        home: Path, pg_database: Server, scheduler: Callable[..., HeadlessScheduler]) -> None:
    ok(home, "connections", "add", "dwh", "--url", pg_database.url("postgresql"))
    ok(home, "jobs", "add", "orders to dwh", "--source", DEMO_SOURCE_NAME, "--target", "dwh",
       "--query", DEMO_QUERY, "--table", "orders_report", "--mode", "replace")
    ok(home, "jobs", "add", "broken", "--source", DEMO_SOURCE_NAME, "--target", "dwh",
       "--query", "SELECT * FROM no_such_table", "--table", "broken")

    add_old_run(home, days_ago=400)

    running = scheduler()
    running.wait_started()
    assert "no active schedules yet" in running.out
    # The history_retention_days setting (90) applies on a server that never opens the app.
    assert history(home) == []

    second = qdbm(home, "scheduler")
    assert second.returncode == 1
    assert "already run by another process (scheduler" in second.stderr.strip().splitlines()[-1]

    ok(home, "schedule", "add", "orders to dwh", "--at", "+3s")
    ok(home, "schedule", "add", "broken", "--at", "+3s")

    def both_finished() -> bool:
        statuses = {r["job"]: r["status"] for r in history(home)}
        return set(statuses) == {"orders to dwh", "broken"} and "running" not in statuses.values()

    wait_for(both_finished, 30, "both scheduled runs in the history")
    runs = {r["job"]: r for r in history(home)}
    good, bad = runs["orders to dwh"], runs["broken"]
    assert (good["status"], good["trigger"], good["origin"], good["rows_written"]) == \
        ("succeeded", "schedule", "scheduler", 3000)
    assert (bad["status"], bad["trigger"], bad["origin"]) == ("failed", "schedule", "scheduler")
    assert "no_such_table" in bad["error"]
    assert pg_count(pg_database, "orders_report") == 3000
    assert pg_count(pg_database, "broken") is None

    schedules = {s["job"]: s for s in json.loads(ok(home, "schedule", "list", "--json"))}
    assert (schedules["orders to dwh"]["done"], schedules["orders to dwh"]["last_status"]) == (True, "succeeded")
    assert (schedules["broken"]["done"], schedules["broken"]["last_status"]) == (False, "failed")

    assert running.stop() == 0, running.err
    assert "scheduler stopped" in running.out
    events = running.err
    assert "started: job 'orders to dwh' (schedule)" in events and "succeeded: orders to dwh: 3,000 rows" in events
    assert "failed: broken:" in events and "no_such_table" in events
    assert "Traceback" not in events
    # The folder is free again: another scheduler may start.
    again = scheduler()
    again.wait_started()
    assert again.stop() == 0, again.err


#: About four seconds of reading on PostgreSQL, 200 rows.
SLOW_QUERY = "SELECT g FROM generate_series(1, 200) AS g WHERE pg_sleep(0.02) IS NOT NULL"


def start_slow_scheduled_run(home: Path, server: Server,
                             scheduler: Callable[..., HeadlessScheduler]) -> HeadlessScheduler:
    """A headless scheduler with job "slow" (PostgreSQL to PostgreSQL) running."""
    ok(home, "connections", "add", "dwh", "--url", server.url("postgresql"))
    ok(home, "jobs", "add", "slow", "--source", "dwh", "--target", "dwh", "--query", SLOW_QUERY,
       "--table", "slow", "--batch-size", "20")
    running = scheduler("--check-every", "1")
    running.wait_started()
    ok(home, "schedule", "add", "slow", "--at", "+2s")
    wait_for(lambda: [r["status"] for r in history(home)] == ["running"], 30, "the scheduled run to start")
    return running


def test_sigterm_cancels_the_running_job_within_two_seconds_and_leaves_the_target_unchanged(
        home: Path, pg_database: Server, scheduler: Callable[..., HeadlessScheduler]) -> None:
    running = start_slow_scheduled_run(home, pg_database, scheduler)
    signalled = time.monotonic()
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=30) == 0, running.err
    assert time.monotonic() - signalled < 2.0, running.err
    (run,) = history(home)
    assert run["status"] == "cancelled"
    assert pg_count(pg_database, "slow") is None
    assert "running jobs are cancelled" in running.err
    assert "qdbm scheduler stopped" in running.out


def backdate(home: Path, job: str, hours: float) -> None:
    """Make ``job``'s schedule look as if nothing had run it for ``hours``: a downtime."""
    path = home / "schedules.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    since = datetime.now(timezone.utc) - timedelta(hours=hours)
    for schedule in document["schedules"]:
        if schedule["job"] == job:
            schedule["created_at"] = schedule["checked_until"] = since.isoformat()
            schedule["trigger"]["start"] = (since - timedelta(minutes=5)).isoformat()
    path.write_text(json.dumps(document), encoding="utf-8")


def test_runs_missed_while_no_scheduler_ran_run_within_their_grace_or_are_recorded_as_skipped(
        home: Path, scheduler: Callable[..., HeadlessScheduler]) -> None:
    for job, table in (("late report", "late_report"), ("catch up", "catch_up")):
        ok(home, "jobs", "add", job, "--source", DEMO_SOURCE_NAME, "--target", "Local warehouse (SQLite)",
           "--query", DEMO_QUERY, "--table", table)
    ok(home, "schedule", "add", "late report", "--every", "30m")
    ok(home, "schedule", "add", "catch up", "--every", "30m", "--grace", "10m")
    # Fire times 1:35, 1:05, 0:35 and 0:05 ago went by with no scheduler running.
    backdate(home, "late report", 2)
    backdate(home, "catch up", 2)

    running = scheduler()
    running.wait_started()

    def settled() -> bool:
        return sorted((r["job"], r["status"]) for r in history(home)) == [
            ("catch up", "succeeded"), ("late report", "skipped")]

    wait_for(settled, 30, "the missed runs to be handled")
    runs = {r["job"]: r for r in history(home)}
    assert runs["catch up"]["trigger"] == "missed-run" and runs["catch up"]["rows_written"] == 3000
    assert "missed 4 runs" in runs["late report"]["error"] and "skipped, 5 min late" in runs["late report"]["error"]
    assert running.stop() == 0, running.err
    assert "skipped: late report: missed 4 runs" in running.err
    assert "succeeded: catch up: 3,000 rows" in running.err
