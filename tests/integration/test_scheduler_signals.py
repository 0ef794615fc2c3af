"""`qdbm scheduler` in its own process is gone within 2 s of SIGTERM or SIGINT, whatever it is doing.

States tried: idle; a job running in batches (cancelled between them); a job stuck inside one long
driver call (left as a kill would leave it); hundreds of missed runs being recorded; schedules
edited by hand into nonsense. Each ends with the target unchanged and nothing recorded twice.
"""

from __future__ import annotations

import json
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

import pytest

from qdbm_desktop.cli import main
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME
from tests.integration.test_scheduler_end_to_end import environment

REPO = Path(__file__).resolve().parents[2]
#: The promise of the issue: gone within 2 s of the signal.
STOP_BOUND = 2.0


class Scheduler:
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

    def stop_timed(self, number: int = signal.SIGTERM) -> tuple[int, float]:
        """Send the signal; the exit code and the seconds until the process was gone."""
        sent = time.monotonic()
        self.process.send_signal(number)
        code = self.process.wait(timeout=60)
        return code, time.monotonic() - sent


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    assert cli(home, "connections", "list") == 0
    return home


@pytest.fixture
def start(home: Path, tmp_path: Path) -> Iterator[Callable[..., Scheduler]]:
    started: list[Scheduler] = []

    def start(*args: str) -> Scheduler:
        scheduler = Scheduler(home, tmp_path, "--check-every", "1", *args)
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        if scheduler.process.poll() is None:
            scheduler.process.kill()
            scheduler.process.wait(timeout=10)


def cli(home: Path, *args: str) -> int:
    return main(["--home", str(home), *args])


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def runs(home: Path) -> list[dict[str, Any]]:
    path = home / "history.sqlite3"
    with closing(sqlite3.connect(path, timeout=30)) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT job, status, error FROM runs ORDER BY id")]


def warehouse_has(home: Path, table: str) -> bool:
    with closing(sqlite3.connect(home / "demo" / "warehouse.sqlite")) as db:
        return db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone() is not None


def add_job(home: Path, name: str, query: str, table: str, *extra: str) -> None:
    assert cli(home, "jobs", "add", name, "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
               "--query", query, "--table", table, "--mode", "replace", *extra) == 0


def started(scheduler: Scheduler) -> bool:
    assert scheduler.process.poll() is None, scheduler.err
    return "runs the schedules of" in scheduler.out


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_idle_scheduler_stops_within_two_seconds_of_the_signal(
        home: Path, start: Callable[..., Scheduler], number: int) -> None:
    add_job(home, "daily", "SELECT 1 AS a", "daily_t")
    assert cli(home, "schedule", "add", "daily", "--daily", "06:30") == 0
    scheduler = start()
    wait_for(lambda: started(scheduler), 30, "the scheduler to start")

    code, seconds = scheduler.stop_timed(number)

    assert code == 0, scheduler.err
    assert seconds < STOP_BOUND, scheduler.err
    assert "qdbm scheduler stopped" in scheduler.out
    assert "Traceback" not in scheduler.err


#: Five million rows read in batches of 2,000: the cancel is seen between two batches.
MANY_ROWS = ("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000000) "
             "SELECT x FROM n")
#: One statement that keeps SQLite busy for far longer than the bound and returns one row: no batch
#: boundary comes, so no flag reaches it.
ONE_LONG_CALL = ("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 400000000) "
                 "SELECT COUNT(*) AS c FROM n")


def test_a_job_running_in_batches_is_cancelled_and_the_scheduler_stops_within_two_seconds(
        home: Path, start: Callable[..., Scheduler]) -> None:
    add_job(home, "big", MANY_ROWS, "big_t", "--batch-size", "2000")
    scheduler = start()
    wait_for(lambda: started(scheduler), 30, "the scheduler to start")
    assert cli(home, "schedule", "add", "big", "--at", "+1s") == 0
    wait_for(lambda: [r["status"] for r in runs(home)] == ["running"], 30, "the run to start")
    time.sleep(1.0)

    code, seconds = scheduler.stop_timed()

    assert code == 0, scheduler.err
    assert seconds < STOP_BOUND, scheduler.err
    (run,) = runs(home)
    assert run["status"] == "cancelled", scheduler.err
    assert not warehouse_has(home, "big_t")
    assert "running jobs are cancelled" in scheduler.err


def test_a_job_inside_one_long_driver_call_is_interrupted_and_the_scheduler_stops_within_two_seconds(
        home: Path, start: Callable[..., Scheduler]) -> None:
    # One SQLite statement that would run for minutes: the cancel interrupts the call itself
    # (sqlite3's interrupt), so the run ends cancelled rather than being left behind.
    add_job(home, "stuck", ONE_LONG_CALL, "stuck_t")
    scheduler = start()
    wait_for(lambda: started(scheduler), 30, "the scheduler to start")
    assert cli(home, "schedule", "add", "stuck", "--at", "+1s") == 0
    wait_for(lambda: [r["status"] for r in runs(home)] == ["running"], 30, "the run to start")
    time.sleep(0.5)

    code, seconds = scheduler.stop_timed()

    assert code == 0, scheduler.err
    assert seconds < STOP_BOUND, scheduler.err
    assert "cancelled: stuck" in scheduler.err
    assert "target is unchanged" in scheduler.err
    assert not warehouse_has(home, "stuck_t")
    assert cli(home, "history") == 0
    assert [r["status"] for r in runs(home)] == ["cancelled"]


def backdate_all(home: Path, hours: float) -> None:
    path = home / "schedules.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    since = datetime.now(timezone.utc) - timedelta(hours=hours)
    for schedule in document["schedules"]:
        schedule["created_at"] = schedule["checked_until"] = since.isoformat()
        schedule["trigger"]["start"] = (since - timedelta(minutes=5)).isoformat()
    path.write_text(json.dumps(document), encoding="utf-8")


def test_a_scheduler_recording_hundreds_of_missed_runs_stops_within_two_seconds_and_loses_none(
        home: Path, start: Callable[..., Scheduler]) -> None:
    count = 300
    path = home / "schedules.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    now = datetime.now(timezone.utc).isoformat()
    document["jobs"] = [{"name": f"job {i:03d}", "source": DEMO_SOURCE_NAME, "target": DEMO_TARGET_NAME,
                         "query": "SELECT 1 AS a", "table": f"t{i}", "mode": "replace", "created_at": now}
                        for i in range(count)]
    document["schedules"] = [{"id": f"s{i:03d}", "job": f"job {i:03d}", "enabled": True,
                              "trigger": {"kind": "interval", "timezone": "UTC", "every_seconds": 600}}
                             for i in range(count)]
    path.write_text(json.dumps(document), encoding="utf-8")
    backdate_all(home, hours=6)
    scheduler = start()
    wait_for(lambda: len(runs(home)) >= 3, 60, "missed runs to be recorded")

    code, seconds = scheduler.stop_timed()

    assert code == 0, scheduler.err
    assert seconds < STOP_BOUND, scheduler.err
    recorded = runs(home)
    assert 3 <= len(recorded) < count, "the round ended before the signal: the test proves nothing"
    # The schedules not reached keep their state: the next start records them, each exactly once.
    again = start()
    wait_for(lambda: len(runs(home)) >= count and started(again), 120, "the rest of the missed runs")
    assert again.stop_timed()[0] == 0
    per_job = sorted(r["job"] for r in runs(home))
    assert per_job == [f"job {i:03d}" for i in range(count)]
    assert all(r["status"] == "skipped" and r["error"].startswith("missed ") for r in runs(home))


@pytest.mark.parametrize("seconds", [-5, 0, 1])
def test_a_hand_edited_interval_below_a_minute_is_set_aside_and_never_fires(
        home: Path, start: Callable[..., Scheduler], seconds: int) -> None:
    add_job(home, "often", "SELECT 1 AS a", "often_t")
    assert cli(home, "schedule", "add", "often", "--every", "1m") == 0
    assert cli(home, "schedule", "add", "often", "--daily", "06:30") == 0
    path = home / "schedules.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["schedules"][0]["trigger"]["every_seconds"] = seconds
    bad_id = document["schedules"][0]["id"]
    path.write_text(json.dumps(document), encoding="utf-8")

    listed = subprocess.run([sys.executable, "-m", "qdbm_desktop.cli", "schedule", "list"], env=environment(home),
                            cwd=REPO, capture_output=True, text=True, timeout=30)
    assert listed.returncode == 0 and bad_id not in listed.stdout
    assert listed.stderr.count(bad_id) == 1 and "every_seconds" in listed.stderr

    scheduler = start()
    wait_for(lambda: started(scheduler), 30, "the scheduler to start")
    time.sleep(3)
    code, stop_seconds = scheduler.stop_timed()

    assert code == 0 and stop_seconds < STOP_BOUND, scheduler.err
    assert runs(home) == [], "the bad schedule fired"
    notices = [line for line in scheduler.err.splitlines() if bad_id in line]
    assert len(notices) == 1 and "is skipped" in notices[0]
    assert f'"every_seconds": {seconds}' in path.read_text(encoding="utf-8")
    assert "missed" not in scheduler.err
