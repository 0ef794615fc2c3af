"""Incremental jobs on real servers: each run reads only the rows past the mark, and the target
equals the source after every run, with nothing lost or doubled."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.cli import main
from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.history import RunTrigger
from qdbm_desktop.core.incremental import run_job
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import Status
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.scheduler import SchedulerService
from qdbm_desktop.core.watermark import Watermark
from tests.integration.conftest import Server


@dataclass
class Side:
    """A database the test writes to directly, saved as a connection named ``name``."""

    name: str
    type: str
    server: Server | None = None
    path: Path | None = None

    def profile(self) -> ConnectionProfile:
        if self.type == "sqlite":
            assert self.path is not None
            sqlite3.connect(self.path).close()
            return ConnectionProfile(name=self.name, type="sqlite", path=str(self.path))
        assert self.server is not None
        return ConnectionProfile(name=self.name, type=self.type, host=self.server.host, port=self.server.port,
                                 user=self.server.user, database=self.server.database)

    def connect(self) -> Any:
        if self.type == "postgresql":
            import psycopg

            assert self.server is not None
            return psycopg.connect(host=self.server.host, port=self.server.port, user=self.server.user,
                                   dbname=self.server.database, options="-c TimeZone=UTC")
        if self.type == "mysql":
            import mysql.connector

            assert self.server is not None
            conn = mysql.connector.connect(host=self.server.host, port=self.server.port, user=self.server.user,
                                           password=self.server.password, database=self.server.database)
            conn.cursor().execute("SET time_zone = '+00:00'")
            return conn
        assert self.path is not None
        return sqlite3.connect(self.path)

    @property
    def marker(self) -> str:
        return "?" if self.type == "sqlite" else "%s"

    def execute(self, sql: str, rows: list[tuple[Any, ...]] | None = None) -> None:
        sql = sql.replace("%s", self.marker)
        with closing(self.connect()) as conn:
            cursor = conn.cursor()
            if rows is None:
                cursor.execute(sql)
            else:
                cursor.executemany(sql, [tuple(_bindable(v, self.type) for v in r) for r in rows])
            conn.commit()

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        with closing(self.connect()) as conn:
            cursor = conn.cursor()
            cursor.execute(f"SELECT id, updated_at, amount, label FROM {table} ORDER BY id")
            return [tuple(_normal(v, i) for i, v in enumerate(r)) for r in cursor.fetchall()]

    def mark(self, moment: datetime) -> Watermark:
        """The mark a run over this source keeps for ``moment`` (MariaDB's DATETIME has no zone)."""
        if self.type == "mysql":
            return Watermark("timestamp", moment.replace(tzinfo=None).isoformat(timespec="microseconds"))
        return Watermark("timestamptz", moment.isoformat(timespec="microseconds"))

    def timestamp_type(self) -> str:
        return {"postgresql": "timestamptz", "mysql": "DATETIME(6)", "sqlite": "TIMESTAMPTZ"}[self.type]


def _bindable(value: Any, engine: str) -> Any:
    if isinstance(value, datetime) and engine == "mysql":
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    if isinstance(value, datetime) and engine == "sqlite":
        return value.astimezone(timezone.utc).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, Decimal) and engine == "sqlite":
        return str(value)
    return value


def _normal(value: Any, index: int) -> Any:
    """Values as every engine gives them back compared alike: instants in naive UTC, decimals exact."""
    if index == 1 and isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    if index == 2 and value is not None:
        value = Decimal(str(value)).quantize(Decimal("0.001"))
    return value


def t(micro: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 25, 10, 0, second, micro, tzinfo=timezone.utc)


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppContext]:
    home = tmp_path / "home"
    monkeypatch.setenv("QDBM_HOME", str(home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    yield AppContext.create(AppPaths(home), origin="cli")


def make_side(kind: str, name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Side:
    if kind == "postgresql":
        return Side(name, kind, request.getfixturevalue("pg_database"))
    if kind == "mysql":
        return Side(name, kind, request.getfixturevalue("mysql_database"))
    return Side(name, kind, path=tmp_path / f"{name}.sqlite")


def setup(context: AppContext, source: Side, target: Side) -> None:
    for side in {source.name: source, target.name: target}.values():
        context.connections.add(side.profile())
    source.execute(f"CREATE TABLE events (id INTEGER PRIMARY KEY, updated_at {source.timestamp_type()} NOT NULL, "
                   "amount DECIMAL(12,3), label VARCHAR(40))")


INSERT = "INSERT INTO events (id, updated_at, amount, label) VALUES (%s, %s, %s, %s)"
UPDATE = "UPDATE events SET updated_at = %s, label = %s WHERE id = %s"


def cli(*args: str) -> int:
    try:
        return main(list(args))
    except SystemExit as stop:
        return int(stop.code or 0)


ENGINE_PAIRS = [("postgresql", "postgresql"), ("mysql", "postgresql"), ("postgresql", "mysql"),
                ("sqlite", "sqlite")]


@pytest.mark.parametrize(("source_kind", "target_kind"), ENGINE_PAIRS, ids=[f"{s}-{t}" for s, t in ENGINE_PAIRS])
def test_three_runs_load_only_new_and_changed_rows_and_the_target_equals_the_source(
        context: AppContext, request: pytest.FixtureRequest, tmp_path: Path, source_kind: str,
        target_kind: str) -> None:
    source = make_side(source_kind, "src", request, tmp_path)
    target = make_side(target_kind, "dst" if target_kind != source_kind or source_kind == "sqlite" else "src",
                       request, tmp_path)
    if target.name == "src":  # the same server: another table in the same database
        target = source
    setup(context, source, target)
    source.execute(INSERT, [(i, t(i), Decimal(f"{i}.125"), f"row {i}") for i in range(1, 6)])
    job = Job(name="events incremental", source=source.name, target=target.name,
              query="SELECT id, updated_at, amount, label FROM events WHERE label LIKE 'row%'",
              table="events_copy", mode="upsert", keys=("id",), incremental_column="updated_at")
    context.schedules.save_job(job)

    # Run 1, through run_job (the GUI runs saved jobs through the scheduler, which calls it too).
    _, first = run_job(context, job)
    assert first.status is Status.SUCCEEDED, first.error
    assert first.rows_read == 5
    assert target.rows("events_copy") == source.rows("events")
    assert context.schedules.watermark(job.name) == source.mark(t(5))

    # Two new rows and one changed row; the row at the mark (id 5) is read again and upserted.
    source.execute(INSERT, [(6, t(6, 1), Decimal("6.5"), "row 6"), (7, t(7, 1), None, "row 7")])
    source.execute(UPDATE, [(t(8, 1), "row 2 changed", 2)])
    result = SchedulerService(context).execute(job.name, RunTrigger.SCHEDULE, None, None)
    assert result is not None and result.status is Status.SUCCEEDED, result and result.error
    assert result.rows_read == 3 + 1
    assert target.rows("events_copy") == source.rows("events")
    assert context.schedules.watermark(job.name) == source.mark(t(8, 1))

    # Run 3 through `qdbm run`: one new row, two changed rows.
    source.execute(INSERT, [(8, t(9, 2), Decimal("8.001"), "row 8")])
    source.execute(UPDATE, [(t(10, 2), "row 1 changed", 1), (t(10, 2), "row 6 changed", 6)])
    assert cli("run", job.name) == 0
    third = context.history.runs()[0]
    assert third.status.value == "succeeded" and third.rows_read == 3 + 1
    assert target.rows("events_copy") == source.rows("events")
    assert len({r[0] for r in target.rows("events_copy")}) == 8
    assert context.schedules.watermark(job.name) == source.mark(t(10, 2))
    # Every history entry keeps the job it ran with, and the mark it started from.
    snapshots = [r.job_snapshot for r in context.history.runs()]
    assert all(s is not None and s["incremental_column"] == "updated_at" for s in snapshots)
    assert [s.get("watermark") for s in snapshots if s] == [source.mark(t(8, 1)).to_json(),
                                                            source.mark(t(5)).to_json(), None]


@pytest.mark.servers  # the target is PostgreSQL
@pytest.mark.parametrize("source_kind", ["postgresql", "mysql", "sqlite"])
def test_microseconds_that_differ_in_the_last_digit_and_rows_sharing_the_mark_are_neither_lost_nor_doubled(
        context: AppContext, request: pytest.FixtureRequest, tmp_path: Path, source_kind: str) -> None:
    source = make_side(source_kind, "src", request, tmp_path)
    target = Side("dst", "postgresql", request.getfixturevalue("pg_database"))
    setup(context, source, target)
    source.execute(INSERT, [(1, t(1), None, "a"), (2, t(2), None, "b")])
    job = Job(name="exact", source="src", target="dst", query="SELECT id, updated_at, amount, label FROM events",
              table="events_copy", mode="upsert", keys=("id",), incremental_column="updated_at")
    context.schedules.save_job(job)
    assert run_job(context, job)[1].status is Status.SUCCEEDED
    assert context.schedules.watermark(job.name) == source.mark(t(2))

    # Committed after the first run: one row with exactly the mark's time, one a microsecond later.
    source.execute(INSERT, [(3, t(2), None, "same instant as the mark"), (4, t(3), None, "one microsecond on")])
    _, second = run_job(context, job)
    assert second.status is Status.SUCCEEDED, second.error
    assert second.rows_read == 3  # ids 2 and 3 at the mark, 4 past it
    assert target.rows("events_copy") == source.rows("events")
    assert context.schedules.watermark(job.name) == source.mark(t(3))

    # Nothing new: the rows at the mark are read again and upserted, nothing is added.
    _, third = run_job(context, job)
    assert third.status is Status.SUCCEEDED and third.rows_read == 1
    assert target.rows("events_copy") == source.rows("events")


def test_without_keys_rows_past_the_mark_are_appended_and_a_decimal_mark_keeps_every_digit(
        context: AppContext, pg_database: Server) -> None:
    side = Side("pg", "postgresql", pg_database)
    context.connections.add(side.profile())
    side.execute("CREATE TABLE readings (seq NUMERIC(20,6) PRIMARY KEY, value TEXT)")
    side.execute("INSERT INTO readings VALUES (%s, %s)", [(Decimal("12345.000001"), "a"),
                                                          (Decimal("12345.000002"), "b")])
    job = Job(name="readings", source="pg", target="pg", query="SELECT seq, value FROM readings",
              table="readings_copy", mode="append", incremental_column="seq")
    context.schedules.save_job(job)
    _, first = run_job(context, job)
    assert first.status is Status.SUCCEEDED and first.rows_read == 2
    assert any(e.level == "warning" and "without key columns" in e.message for e in first.log)
    assert context.schedules.watermark(job.name) == Watermark("decimal", "12345.000002")

    side.execute("INSERT INTO readings VALUES (%s, %s)", [(Decimal("12345.000003"), "c")])
    _, second = run_job(context, job)
    assert second.status is Status.SUCCEEDED and second.rows_read == 1
    with closing(side.connect()) as conn:
        copied = conn.execute("SELECT seq, value FROM readings_copy ORDER BY seq").fetchall()
    assert copied == [(Decimal("12345.000001"), "a"), (Decimal("12345.000002"), "b"),
                      (Decimal("12345.000003"), "c")]
    assert context.schedules.watermark(job.name) == Watermark("decimal", "12345.000003")


@pytest.mark.parametrize("source_kind", ["postgresql", "mysql"])
def test_a_failed_run_leaves_the_mark_and_the_next_run_loads_the_missed_rows(
        context: AppContext, request: pytest.FixtureRequest, tmp_path: Path, source_kind: str) -> None:
    source = make_side(source_kind, "src", request, tmp_path)
    target = Side("dst", "postgresql", request.getfixturevalue("pg_database")) if source_kind == "mysql" \
        else source
    setup(context, source, target)
    source.execute("ALTER TABLE events ADD divisor INTEGER NOT NULL DEFAULT 1")
    source.execute(INSERT, [(i, t(i), None, f"row {i}") for i in range(1, 4)])
    # Row 5's divisor is 0: reading it fails, after row 4 has been read.
    job = Job(name="fragile", source="src", target=target.name,
              query="SELECT id, updated_at, amount, label, 100 / divisor AS ratio FROM events ORDER BY id",
              table="events_copy", mode="upsert", keys=("id",), incremental_column="updated_at", batch_size=1)
    context.schedules.save_job(job)
    assert run_job(context, job)[1].status is Status.SUCCEEDED
    mark = context.schedules.watermark(job.name)
    assert mark == source.mark(t(3))
    before = target.rows("events_copy")

    source.execute(INSERT, [(4, t(4), None, "row 4"), (5, t(5), None, "row 5")])
    if source_kind == "postgresql":
        source.execute("UPDATE events SET divisor = 0 WHERE id = 5")  # the read fails mid-stream
    else:  # MariaDB divides by zero into NULL: make the target refuse row 5 in the final step instead
        target.execute("ALTER TABLE events_copy ADD CONSTRAINT no_five CHECK (id <> 5)")
    _, failed = run_job(context, job)
    assert failed.status is Status.FAILED
    assert context.schedules.watermark(job.name) == mark
    assert target.rows("events_copy") == before

    source.execute("UPDATE events SET divisor = 1 WHERE id = 5")
    if source_kind == "mysql":
        target.execute("ALTER TABLE events_copy DROP CONSTRAINT no_five")
    _, retried = run_job(context, job)
    assert retried.status is Status.SUCCEEDED, retried.error
    assert retried.rows_read == 3  # id 3 at the mark, and the two missed rows
    assert target.rows("events_copy") == source.rows("events")
    assert context.schedules.watermark(job.name) == source.mark(t(5))


def test_lookback_rereads_rows_committed_late_below_the_mark(context: AppContext, pg_database: Server) -> None:
    side = Side("pg", "postgresql", pg_database)
    setup(context, side, side)
    side.execute(INSERT, [(1, t(0, 10), None, "a"), (2, t(0, 50), None, "b")])
    job = Job(name="late rows", source="pg", target="pg", query="SELECT id, updated_at, amount, label FROM events",
              table="events_copy", mode="upsert", keys=("id",), incremental_column="updated_at", lookback="1m")
    context.schedules.save_job(job)
    assert run_job(context, job)[1].status is Status.SUCCEEDED
    # Committed late: its time is 20 s before the mark, within the one-minute lookback.
    side.execute(INSERT, [(3, t(0, 30), None, "late")])
    _, second = run_job(context, job)
    assert second.status is Status.SUCCEEDED, second.error
    assert second.rows_read == 3
    assert side.rows("events_copy") == side.rows("events")
    assert context.schedules.watermark(job.name) == side.mark(t(0, 50))


def test_export_then_import_gives_the_same_job_and_the_file_holds_no_password(
        context: AppContext, pg_database: Server, tmp_path: Path) -> None:
    password = "pw-Never-In-A-Job-File-7Q"
    side = Side("pg", "postgresql", pg_database)
    context.connections.add(side.profile(), {"password": password})
    side.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT)")
    side.execute("INSERT INTO items VALUES (%s, %s)", [(1, "100%"), (2, "x")])
    job = Job(name="items nightly", source="pg", target="pg",
              query="SELECT id, note FROM items WHERE note LIKE '%' AND id >= {{ watermark }}",
              table="items_copy", mode="upsert", keys=("id",), incremental_column="id", lookback="5",
              batch_size=500, count_rows=True)
    context.schedules.save_job(job)
    context.schedules.set_watermark(job.name, Watermark("int", "0"))
    # The mark and the lookback are bound where {{ watermark }} stands; the query's % stays a %.
    _, result = run_job(context, job)
    assert result.status is Status.SUCCEEDED, result.error
    assert result.rows_read == 2
    assert context.schedules.watermark(job.name) == Watermark("int", "2")
    file = tmp_path / "job.json"
    assert cli("jobs", "export", job.name, str(file)) == 0
    text = file.read_text(encoding="utf-8")
    assert password not in text and "password" not in text.lower()
    assert "watermark\": {" not in text  # the definition only, not the mark
    assert json.loads(text)["job"]["source"] == "pg"

    assert cli("jobs", "remove", job.name) == 0
    assert cli("jobs", "import", str(file)) == 0
    assert context.schedules.get_job(job.name) == job
    assert cli("jobs", "import", str(file)) == 2  # it exists now
    assert cli("jobs", "import", str(file), "--replace") == 0

    # Run from the file, not saved: every row is read, no mark is kept, the history keeps the job.
    assert cli("jobs", "remove", job.name) == 0
    assert cli("run", "--file", str(file)) == 2  # {{ watermark }} needs a mark, and a file job has none
    plain = json.loads(text)
    plain["job"]["query"] = "SELECT id, note FROM items WHERE note LIKE '%'"
    plain["job"].pop("lookback")
    plain["job"]["mode"], plain["job"]["keys"] = "upsert", ["id"]
    file.write_text(json.dumps(plain), encoding="utf-8")
    assert cli("run", "--file", str(file)) == 0
    assert context.schedules.jobs() == []
    latest = context.history.runs()[0]
    assert latest.status.value == "succeeded" and latest.rows_read == 2
    assert latest.job_snapshot is not None and latest.job_snapshot["name"] == job.name
    with closing(side.connect()) as conn:
        assert conn.execute("SELECT id, note FROM items_copy ORDER BY id").fetchall() == [(1, "100%"), (2, "x")]


@pytest.mark.parametrize("source_kind", ["postgresql", "mysql", "sqlite"])
def test_percent_signs_and_placeholder_lookalikes_in_the_query_stay_as_written(
        context: AppContext, request: pytest.FixtureRequest, tmp_path: Path, source_kind: str) -> None:
    source = make_side(source_kind, "src", request, tmp_path)
    target = Side("dst", "postgresql", request.getfixturevalue("pg_database"))
    setup(context, source, target)
    source.execute(INSERT, [(1, t(1), None, "a"), (2, t(2), None, "b")])
    job = Job(name="percent", source="src", target="dst",
              query="SELECT id, updated_at, '100%s%% ?' AS literal FROM events WHERE label <> '%s' -- 5%",
              table="percent_copy", mode="upsert", keys=("id",), incremental_column="updated_at")
    context.schedules.save_job(job)
    assert run_job(context, job)[1].status is Status.SUCCEEDED
    source.execute(INSERT, [(3, t(3), None, "c")])
    _, second = run_job(context, job)  # now wrapped, with the mark bound
    assert second.status is Status.SUCCEEDED, second.error
    assert second.rows_read == 2
    with closing(target.connect()) as conn:
        rows = conn.execute("SELECT id, literal FROM percent_copy ORDER BY id").fetchall()
    assert rows == [(1, "100%s%% ?"), (2, "100%s%% ?"), (3, "100%s%% ?")]
