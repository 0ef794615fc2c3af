"""The run history: what it keeps, how it filters, and what it says of a run whose process died."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.history import HistoryFilter, HistoryStore, RunStatus, RunTrigger


def start(store: HistoryStore, **changes: object) -> int:
    fields: dict[str, object] = dict(run_id="abc123", source="shop", target="warehouse",
                                     query="SELECT * FROM orders", target_table="public.orders", mode="append")
    fields.update(changes)
    return store.start_run(**fields)  # type: ignore[arg-type]


def test_a_run_is_kept_with_its_log_and_outcome_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    store = HistoryStore(path)
    run = start(store, job="nightly", job_snapshot={"query": "SELECT 1"}, trigger=RunTrigger.SCHEDULE)
    store.add_log(run, "2026-11-25T10:00:00.000+00:00", "info", "connect", "run abc123: shop -> warehouse")
    store.add_log(run, "2026-11-25T10:00:01.000+00:00", "error", "load", "load failed: disk full")
    store.finish_run(run, RunStatus.FAILED, 100, 50, "load failed: disk full")

    again = HistoryStore(path)
    (record,) = again.runs()
    assert (record.run_id, record.job, record.source, record.target, record.status, record.trigger) == (
        "abc123", "nightly", "shop", "warehouse", RunStatus.FAILED, RunTrigger.SCHEDULE)
    assert (record.rows_read, record.rows_written, record.error) == (100, 50, "load failed: disk full")
    assert record.job_snapshot == {"query": "SELECT 1"}
    assert record.finished is not None and record.seconds is not None and record.seconds >= 0
    assert [(line.level, line.message) for line in again.log(run)] == [
        ("info", "run abc123: shop -> warehouse"), ("error", "load failed: disk full")]


def test_filters_narrow_by_status_connection_text_and_date(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    ok = start(store, source="shop", query="SELECT * FROM customers")
    store.finish_run(ok, RunStatus.SUCCEEDED, 5, 5)
    bad = start(store, source="crm", target="dwh", target_table="leads")
    store.finish_run(bad, RunStatus.FAILED, 0, 0, "boom")
    running = start(store, source="crm", target="dwh", target_table="contacts")

    def ids(**f: object) -> list[int]:
        return [r.id for r in store.runs(HistoryFilter(**f))]  # type: ignore[arg-type]

    assert ids() == [running, bad, ok]
    assert ids(statuses=(RunStatus.FAILED, RunStatus.SUCCEEDED)) == [bad, ok]
    assert ids(connection="dwh") == [running, bad]
    assert ids(text="CUSTOMERS") == [ok]
    assert ids(text="leads") == [bad]
    assert ids(limit=1) == [running]
    assert ids(since=datetime.now(timezone.utc) + timedelta(minutes=1)) == []
    assert ids(until=datetime.now(timezone.utc) + timedelta(minutes=1)) == [running, bad, ok]
    assert store.connections() == ["crm", "dwh", "shop", "warehouse"]


def test_a_run_whose_process_died_shows_as_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    # A real process records a running run and exits without finishing it.
    code = (
        "import sys; from pathlib import Path; from qdbm_desktop.core.history import HistoryStore;"
        "s = HistoryStore(Path(sys.argv[1]), origin='cli');"
        "s.start_run(run_id='dead01', source='a', target='b', query='SELECT 1', target_table='t', mode='append')"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    mine = start(HistoryStore(path), run_id="live01")

    store = HistoryStore(path)
    by_run = {r.run_id: r for r in store.runs()}
    assert by_run["dead01"].status is RunStatus.INTERRUPTED
    assert by_run["dead01"].origin == "cli"
    assert "stopped before the run ended" in (by_run["dead01"].error or "")
    # A run of a process that is still alive (this one) is left running.
    assert by_run["live01"].status is RunStatus.RUNNING
    store.finish_run(mine, RunStatus.SUCCEEDED, 1, 1)


def test_clear_and_retention_keep_running_and_recent_runs(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    old = start(store, run_id="old")
    store.finish_run(old, RunStatus.SUCCEEDED, 1, 1)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE runs SET started = ? WHERE id = ?",
                   ((datetime.now(timezone.utc) - timedelta(days=40)).isoformat(), old))
    recent = start(store, run_id="recent")
    store.finish_run(recent, RunStatus.FAILED, 0, 0, "x")
    running = start(store, run_id="running")

    assert store.apply_retention(0) == 0
    assert store.apply_retention(30) == 1
    assert [r.run_id for r in store.runs()] == ["running", "recent"]
    assert store.log(old) == []
    assert store.delete() == 1
    assert [r.id for r in store.runs()] == [running]


def test_a_history_from_a_newer_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(UsageError, match="newer version"):
        HistoryStore(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 99


def test_a_finished_run_needs_an_outcome(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    run = start(store)
    with pytest.raises(ValueError, match="outcome"):
        store.finish_run(run, RunStatus.RUNNING, 0, 0)


def test_a_damaged_history_file_is_set_aside_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database file, but it is long enough to look like a header" * 20)
    store = HistoryStore(path)
    assert store.runs() == []
    (aside,) = tmp_path.glob("history.sqlite3.corrupt-*")
    assert aside.read_bytes().startswith(b"this is not a database")
    assert aside.name in store.notices[0]
    start(store)
    assert len(HistoryStore(path).runs()) == 1
