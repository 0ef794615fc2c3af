"""`qdbm jobs`, `qdbm run` and `qdbm schedule` on the demo databases: no server needed."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from qdbm_desktop.core.demo import DEMO_QUERY, DEMO_SOURCE_NAME, DEMO_TARGET_NAME
from qdbm_desktop.core.history import HistoryStore
from qdbm_desktop.core.job_lock import job_lock_file
from qdbm_desktop.core.paths import AppPaths
from tests.core.cli_runner import Cli

JOB_ARGS = ["--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME, "--query", DEMO_QUERY,
            "--table", "orders_report"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("QDBM_HOME", str(folder))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return folder


def saved(home: Path) -> dict[str, list[dict[str, Any]]]:
    path = home / "schedules.json"
    if not path.exists():
        return {"jobs": [], "schedules": []}
    document: dict[str, list[dict[str, Any]]] = json.loads(path.read_text(encoding="utf-8"))
    return document


def test_a_job_is_saved_listed_shown_and_removed_with_its_schedules(home: Path, cli: Cli) -> None:
    out = cli.ok("jobs", "add", "nightly orders", *JOB_ARGS, "--map", "total=decimal(14,2)", "--count")
    assert "saved job 'nightly orders'" in out

    jobs = json.loads(cli.ok("jobs", "list", "--json"))
    assert [(j["name"], j["source"], j["target"], j["table"], j["mode"]) for j in jobs] == [
        ("nightly orders", DEMO_SOURCE_NAME, DEMO_TARGET_NAME, "orders_report", "append")]
    job = jobs[0]
    assert job["column_map"] == [{"source": "total", "type": "decimal(14,2)"}]
    assert job["count_rows"] is True
    assert "batch_size" not in job  # absent: each run follows the batch_size setting

    cli.ok("schedule", "add", "nightly orders", "--daily", "06:30", "--tz", "UTC")
    cli.ok("schedule", "add", "nightly orders", "--every", "2h")
    table = cli.ok("jobs", "list").splitlines()
    assert table[0].split() == ["NAME", "SOURCE", "->", "TARGET.TABLE", "MODE", "SCHEDULES"]
    assert table[1].startswith("nightly orders") and table[1].endswith("append  2")
    assert f"{DEMO_SOURCE_NAME} -> {DEMO_TARGET_NAME}.orders_report" in table[1]

    shown = cli.ok("jobs", "show", "nightly orders")
    assert "total=decimal(14,2)" in shown and "the batch_size setting" in shown
    assert "daily at 06:30 (UTC)" in shown and "every 2 hours" in shown
    assert json.loads(cli.ok("jobs", "show", "nightly orders", "--json"))["query"] == DEMO_QUERY

    assert "removed job 'nightly orders' and its 2 schedules" in cli.ok("jobs", "remove", "nightly orders")
    assert saved(home)["jobs"] == [] and saved(home)["schedules"] == []
    assert "no saved jobs" in cli.ok("jobs", "list")
    code, _, err = cli("jobs", "show", "nightly orders")
    assert code == 2 and "no saved job named 'nightly orders'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "0"], "not a whole number from 1 to 10,000,000"),
        (["--query", "SELECT 1; DELETE FROM customers"], "2 statements"),
        (["--query", "delete from customers -- all"], "the query must be one SELECT (this is a DELETE)"),
        (["--query", "ATTACH 'x.db' AS x"], "the query must be one SELECT (this is an ATTACH)"),
        (["--mode", "upsert"], "upsert needs the key columns"),
        (["--key", "order_id"], "key columns are only used by the upsert mode"),
        (["--map", "total=decimal(2,5)"], "scale 5 is larger"),
        (["--map", "total"], "--map takes COLUMN=TYPE"),
        (["--table", "a.b.c"], "is not a table name"),
        (["--source", "nope"], "no saved connection named 'nope'"),
        (["--target", "postgresql://etl:secret-pw@db/dwh"], "never a URL"),
        (["--query", "   "], "has no query"),
    ],
)
def test_a_bad_job_is_refused_with_exit_2_and_nothing_saved(home: Path, cli: Cli,
                                                            args: list[str], message: str) -> None:
    base = dict(zip(JOB_ARGS[::2], JOB_ARGS[1::2], strict=True))
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    code, out, err = cli("jobs", "add", "bad", *[x for kv in base.items() for x in kv])
    assert code == 2, err
    last = err.strip().splitlines()[-1]
    assert message in last and "Traceback" not in err and "secret-pw" not in err + out
    assert saved(home)["jobs"] == []


def test_a_job_name_is_taken_until_replace_is_given(home: Path, cli: Cli) -> None:
    cli.ok("jobs", "add", "orders", *JOB_ARGS)
    cli.ok("schedule", "add", "orders", "--daily", "07:00")
    code, _, err = cli("jobs", "add", "orders", *JOB_ARGS[:-1], "other_table")
    assert code == 2 and "already exists (give --replace" in err
    assert saved(home)["jobs"][0]["table"] == "orders_report"

    assert "replaced job 'orders'" in cli.ok("jobs", "add", "orders", *JOB_ARGS[:-1], "other_table",
                                         "--batch-size", "500", "--replace")
    (job,) = saved(home)["jobs"]
    assert (job["table"], job["batch_size"]) == ("other_table", 500)
    assert [s["job"] for s in saved(home)["schedules"]] == ["orders"]


def test_run_moves_the_rows_and_is_in_the_history_with_the_job_name(home: Path, cli: Cli) -> None:
    cli.ok("jobs", "add", "orders", *JOB_ARGS, "--batch-size", "700")
    code, out, err = cli("run", "orders", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["status"], summary["rows_read"], summary["rows_written"]) == ("succeeded", 3000, 3000)
    with sqlite3.connect(home / "demo" / "warehouse.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM orders_report").fetchone() == (3000,)

    runs = json.loads(cli.ok("history", "--json"))
    assert [(r["job"], r["status"], r["trigger"], r["origin"], r["rows_written"]) for r in runs] == [
        ("orders", "succeeded", "manual", "cli", 3000)]
    (record,) = HistoryStore(home / "history.sqlite3").runs()
    assert record.job_snapshot is not None and record.job_snapshot["batch_size"] == 700


def test_a_failed_run_exits_1_with_its_error_in_one_line(home: Path, cli: Cli) -> None:
    cli.ok("jobs", "add", "broken", *JOB_ARGS[:5], "SELECT * FROM no_such_table", *JOB_ARGS[6:])
    code, out, err = cli("run", "broken")
    assert code == 1
    assert "no_such_table" in err.strip().splitlines()[-1] and "failed:" in out
    runs = json.loads(cli.ok("history", "--json"))
    assert [(r["job"], r["status"]) for r in runs] == [("broken", "failed")]
    code, _, err = cli("run", "no such job")
    assert code == 2 and "no saved job named 'no such job'" in err


@pytest.fixture
def job_held_elsewhere(home: Path, cli: Cli) -> Iterator[str]:
    """Job "orders", its run lock held by another process (as while a scheduler runs it)."""
    cli.ok("jobs", "add", "orders", *JOB_ARGS)
    lock = job_lock_file(AppPaths(home), "orders")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, filelock; lock = filelock.FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); "
         "sys.stdin.read()", str(lock)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        yield "orders"
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


def test_run_refuses_a_job_another_process_is_running(home: Path, cli: Cli,
                                                      job_held_elsewhere: str) -> None:
    code, _, err = cli("run", job_held_elsewhere)
    assert code == 1 and "job 'orders' is already running" in err.strip().splitlines()[-1]
    with sqlite3.connect(home / "demo" / "warehouse.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'orders_report'").fetchone() == (0,)
    runs = json.loads(cli.ok("history", "--json"))
    assert [(r["job"], r["status"]) for r in runs] == [("orders", "skipped")]


def test_schedules_are_added_listed_disabled_enabled_and_removed(home: Path, cli: Cli) -> None:
    cli.ok("jobs", "add", "orders", *JOB_ARGS)
    out = cli.ok("schedule", "add", "orders", "--weekly", "mon,thu@06:30", "--tz", "Europe/Berlin",
             "--grace", "10m")
    assert "every Monday and Thursday at 06:30 (Europe/Berlin)" in out
    cli.ok("schedule", "add", "orders", "--cron", "30 6 * * 1-5", "--tz", "UTC", "--disabled")
    cli.ok("schedule", "add", "orders", "--at", "2099-06-01 06:30", "--tz", "Europe/Berlin")

    weekly, cron, once = saved(home)["schedules"]
    assert weekly["trigger"] == {"kind": "weekly", "timezone": "Europe/Berlin", "time": "06:30",
                                 "days": ["mon", "thu"]}
    assert weekly["grace_seconds"] == 600 and weekly["enabled"] is True
    assert cron["trigger"] == {"kind": "cron", "timezone": "UTC", "cron": "30 6 * * 1-5"}
    assert cron["enabled"] is False
    assert once["trigger"]["at"] == "2099-06-01T06:30:00+02:00"

    listed = {s["id"]: s for s in json.loads(cli.ok("schedule", "list", "--json"))}
    next_weekly = datetime.fromisoformat(listed[str(weekly["id"])]["next_run"])
    berlin = next_weekly.astimezone(ZoneInfo("Europe/Berlin"))
    assert (berlin.strftime("%a"), berlin.hour, berlin.minute) in {("Mon", 6, 30), ("Thu", 6, 30)}
    assert listed[str(cron["id"])]["next_run"] is None and listed[str(cron["id"])]["enabled"] is False
    assert datetime.fromisoformat(listed[str(once["id"])]["next_run"]) == datetime(2099, 6, 1, 4, 30, tzinfo=timezone.utc)
    assert "monday through friday" in listed[str(cron["id"])]["description"]

    table = cli.ok("schedule", "list").splitlines()
    assert table[0].split() == ["ID", "JOB", "WHEN", "NEXT", "RUN", "LAST", "RUN", "STATE"]
    cron_row = next(line for line in table if line.startswith(str(cron["id"])))
    assert "disabled" in cron_row and "cron 30 6 * * 1-5" in cron_row

    cli.ok("schedule", "enable", str(cron["id"]))
    enabled = next(s for s in saved(home)["schedules"] if s["id"] == cron["id"])
    assert enabled["enabled"] is True
    # Fire times that passed while it was disabled are not reported as missed runs later.
    assert datetime.fromisoformat(str(enabled["checked_until"])) > datetime.now(timezone.utc) - timedelta(minutes=1)
    cli.ok("schedule", "disable", str(weekly["id"]))
    assert next(s for s in saved(home)["schedules"] if s["id"] == weekly["id"])["enabled"] is False

    assert f"removed schedule {once['id']}" in cli.ok("schedule", "remove", str(once["id"]))
    assert len(saved(home)["schedules"]) == 2
    code, _, err = cli("schedule", "remove", str(once["id"]))
    assert code == 2 and f"no schedule with id '{once['id']}'" in err


def test_at_counts_from_now_and_a_past_time_is_refused_with_the_reason(home: Path, cli: Cli) -> None:
    cli.ok("jobs", "add", "orders", *JOB_ARGS)
    before = datetime.now(timezone.utc)
    cli.ok("schedule", "add", "orders", "--at", "+15m")
    at = datetime.fromisoformat(str(saved(home)["schedules"][0]["trigger"]["at"]))
    assert before + timedelta(minutes=15) <= at <= datetime.now(timezone.utc) + timedelta(minutes=15)

    code, _, err = cli("schedule", "add", "orders", "--at", "2020-01-01 10:00", "--tz", "UTC")
    assert code == 2 and "2020-01-01 10:00 is in the past" in err.strip().splitlines()[-1]
    assert len(saved(home)["schedules"]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weekly", "mon,xyz@06:30"], "'xyz' is not a day"),
        (["--weekly", "mon,thu"], "--weekly takes DAYS@HH:MM"),
        (["--weekly", "mon@25:00"], "is not a time of day"),
        (["--daily", "6.30"], "is not a time of day"),
        (["--cron", "30 6 * *"], "five fields"),
        (["--cron", "61 6 * * *"], "bad cron expression"),
        (["--cron", "0 6 * * 1-9"], "is not a day of the week"),
        (["--every", "30s"], "at least 1 minute"),
        (["--every", "often"], "is not an interval"),
        (["--at", "tomorrow"], "is not a time"),
        (["--at", "+5x"], "is not an interval"),
        (["--daily", "06:30", "--tz", "Mars/Olympus"], "unknown time zone"),
        (["--daily", "06:30", "--grace", "soon"], "is not an interval"),
    ],
)
def test_a_bad_trigger_is_refused_with_exit_2(home: Path, cli: Cli,
                                             args: list[str], message: str) -> None:
    cli.ok("jobs", "add", "orders", *JOB_ARGS)
    code, _, err = cli("schedule", "add", "orders", *args)
    assert code == 2, err
    assert message in err.strip().splitlines()[-1]
    assert saved(home)["schedules"] == []


def test_a_schedule_needs_a_saved_job(home: Path, cli: Cli) -> None:
    code, _, err = cli("schedule", "add", "nothing", "--daily", "06:30")
    assert code == 2 and "no saved job named 'nothing'" in err


def test_enabling_a_one_off_whose_time_passed_is_refused(home: Path, cli: Cli) -> None:
    cli.ok("jobs", "add", "orders", *JOB_ARGS)
    cli.ok("schedule", "add", "orders", "--at", "+1s", "--disabled")
    (schedule,) = saved(home)["schedules"]
    at = datetime.fromisoformat(str(schedule["trigger"]["at"]))
    time.sleep(max(0.0, (at - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    code, _, err = cli("schedule", "enable", str(schedule["id"]))
    assert code == 2 and "is in the past" in err
    assert saved(home)["schedules"][0]["enabled"] is False
