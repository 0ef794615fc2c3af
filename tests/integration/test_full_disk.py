"""A full or read-only app-data disk never stops a migration or a reading command: the run goes,
reports its result and says in one line that it could not be recorded."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import pytest

from tests.integration.conftest import Server
from tests.integration.disk_faults import empty, fill, read_only_view_fixture, small_disk_fixture  # noqa: F401

DEMO = "Demo shop (SQLite)"


def qdbm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    env.pop("QDBM_HOME", None)
    return subprocess.run([sys.executable, "-m", "qdbm_desktop.cli", "--home", str(home), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def prepared_home(home: Path, tmp_path: Path) -> str:
    """A home with its demo, one recorded run and a saved password; the target URL of a file elsewhere."""
    target = tmp_path / "target.db"
    sqlite3.connect(target).close()
    url = f"sqlite:///{target}"
    first = qdbm(home, "migrate", "--source", DEMO, "--target", url, "--query", "select 1 as a", "--table", "first")
    assert first.returncode == 0, first.stderr
    return url


def rows(url: str, table: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return int(db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])


def assert_reading_commands_work(home: Path) -> None:
    for args in (["history"], ["history", "--json"], ["history", "--log", "1"], ["connections", "list"],
                 ["connections", "list", "--json"], ["info"], ["schedule", "list"], ["jobs", "list"]):
        result = qdbm(home, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert "unexpected error" not in result.stderr and "Traceback" not in result.stderr
    assert "first" in qdbm(home, "history").stdout  # the run recorded before the disk filled up
    assert "connected to" in qdbm(home, "history", "--log", "1").stdout
    assert DEMO in qdbm(home, "connections", "list").stdout
    assert qdbm(home, "--version").returncode == 0


def assert_run_reported_and_not_recorded(result: subprocess.CompletedProcess[str], status: str) -> None:
    assert "unexpected error" not in result.stderr and "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if "could not be recorded" in line]
    assert len(warnings) == 1, result.stderr
    assert f"the run itself {status}" in warnings[0]


def test_a_migration_on_a_full_app_data_disk_runs_reports_and_says_it_was_not_recorded(
        small_disk: Path, tmp_path: Path) -> None:
    home = small_disk / "home"
    target = prepared_home(home, tmp_path)
    fill(small_disk)

    run = qdbm(home, "migrate", "--source", DEMO, "--target", target, "--query", "select * from customers",
               "--table", "customers")
    fill(small_disk)  # closing the history gave back the pages its WAL had taken
    as_json = qdbm(home, "migrate", "--source", DEMO, "--target", target, "--query",
                   "select * from products", "--table", "products", "--json")
    fill(small_disk)
    failing = qdbm(home, "migrate", "--source", DEMO, "--target", target, "--query",
                   "select * from no_such_table", "--table", "nothing")

    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("succeeded: 500 rows read, 500 written")
    assert_run_reported_and_not_recorded(run, "succeeded")
    assert rows(target, "customers") == 500
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["status"] == "succeeded"
    assert_run_reported_and_not_recorded(as_json, "succeeded")
    assert failing.returncode == 1
    assert_run_reported_and_not_recorded(failing, "failed")
    assert "no such table: no_such_table" in failing.stderr.splitlines()[-1]
    fill(small_disk)
    assert_reading_commands_work(home)


def test_a_fresh_home_on_a_full_disk_still_runs_a_migration_between_urls(
        small_disk: Path, tmp_path: Path) -> None:
    fill(small_disk)
    home = small_disk / "home"
    source, target = tmp_path / "source.db", tmp_path / "target.db"
    with sqlite3.connect(source) as db:
        db.execute("CREATE TABLE t (a INTEGER)")
        db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
    sqlite3.connect(target).close()

    run = qdbm(home, "migrate", "--source", f"sqlite:///{source}", "--target", f"sqlite:///{target}",
               "--query", "select a from t", "--table", "t")

    assert run.returncode == 0, run.stderr
    assert_run_reported_and_not_recorded(run, "succeeded")
    assert rows(f"sqlite:///{target}", "t") == 100
    for args in (["history"], ["connections", "list"], ["info"]):
        result = qdbm(home, *args)
        assert result.returncode == 0 and "unexpected error" not in result.stderr, (args, result.stderr)


def test_a_read_only_app_data_folder_still_runs_migrations_and_reading_commands(
        read_only_view: tuple[Path, Path], tmp_path: Path, pg_database: Server) -> None:
    writable, view = read_only_view
    target = prepared_home(writable / "home", tmp_path)
    home = view / "home"

    run = qdbm(home, "migrate", "--source", DEMO, "--target", target, "--query", "select * from orders",
               "--table", "orders")
    to_pg = qdbm(home, "migrate", "--source", DEMO, "--target", pg_database.url("postgresql"), "--query",
                 "select * from customers", "--table", "customers")

    assert run.returncode == 0, run.stderr
    assert_run_reported_and_not_recorded(run, "succeeded")
    assert rows(target, "orders") > 0
    assert to_pg.returncode == 0, to_pg.stderr
    assert_run_reported_and_not_recorded(to_pg, "succeeded")
    assert_reading_commands_work(home)
    assert len(json.loads(qdbm(home, "history", "--json").stdout)) == 1


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_a_disk_that_comes_back_records_runs_again(fault: str, request: pytest.FixtureRequest,
                                                   tmp_path: Path) -> None:
    if fault == "full":
        disk: Path = request.getfixturevalue("small_disk")
        home = disk / "home"
        target = prepared_home(home, tmp_path)
        fill(disk)
    else:
        writable, view = request.getfixturevalue("read_only_view")
        target = prepared_home(writable / "home", tmp_path)
        home = view / "home"
    lost = qdbm(home, "migrate", "--source", DEMO, "--target", target, "--query", "select 2 as a",
                "--table", "lost")
    assert lost.returncode == 0 and "could not be recorded" in lost.stderr
    if fault == "full":
        empty(disk)
    else:
        home = writable / "home"
    kept = qdbm(home, "migrate", "--source", DEMO, "--target", target, "--query", "select 3 as a",
                "--table", "kept")
    assert kept.returncode == 0 and "could not be recorded" not in kept.stderr, kept.stderr
    tables = [run["table"] for run in json.loads(qdbm(home, "history", "--json").stdout)]
    assert tables == ["kept", "first"]


def test_the_headless_scheduler_starts_and_runs_a_job_on_a_full_disk_and_says_it_was_not_recorded(
        small_disk: Path, tmp_path: Path) -> None:
    home = small_disk / "home"
    target = prepared_home(home, tmp_path)
    for args in (["connections", "add", "out", "--url", target],
                 ["jobs", "add", "nightly", "--source", DEMO, "--target", "out", "--query",
                  "select * from customers", "--table", "scheduled"],
                 ["schedule", "add", "nightly", "--at", "+4s"]):
        assert qdbm(home, *args).returncode == 0
    fill(small_disk)
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    scheduler = subprocess.Popen([sys.executable, "-m", "qdbm_desktop.cli", "--home", str(home), "scheduler",
                                  "--check-every", "1"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and scheduler.poll() is None:
            with suppress(sqlite3.Error):
                if rows(target, "scheduled") == 500:
                    break
            time.sleep(0.5)
        time.sleep(1)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        _, errors = scheduler.communicate(timeout=30)
    assert "unexpected error" not in errors and "Traceback" not in errors, errors
    assert "succeeded: nightly" in errors
    assert "warning: nightly: this run could not be recorded in the history" in errors
    assert rows(target, "scheduled") == 500


def test_a_run_whose_process_died_reads_as_interrupted_even_where_the_history_cannot_be_written(
        read_only_view: tuple[Path, Path], tmp_path: Path) -> None:
    writable, view = read_only_view
    prepared_home(writable / "home", tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    with sqlite3.connect(writable / "home" / "history.sqlite3") as db:
        db.execute("UPDATE runs SET status = 'running', finished = NULL, pid = ?", (int(dead.stdout),))

    runs = json.loads(qdbm(view / "home", "history", "--json").stdout)

    assert [(run["table"], run["status"]) for run in runs] == [("first", "interrupted")]
    assert "the process stopped before the run ended" in runs[0]["error"]
