"""Incremental jobs without a server: the mark's exact types, the job's rules, the CLI's commands, and
SQLite-to-SQLite runs (a cancelled run leaves the mark)."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
import threading
from contextlib import closing
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.incremental import job_file_text, job_from_file_text, job_request, next_mark, run_job
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import MigrationResult, Status
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.watermark import Lookback, Watermark
from tests.core.cli_runner import Cli


def test_a_mark_keeps_full_precision_and_its_type() -> None:
    moment = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    mark = Watermark.of(moment)
    assert mark == Watermark("timestamptz", "2026-11-25T08:00:00.123456+00:00")
    assert mark.value() == moment
    assert Watermark.of(datetime(2026, 1, 1, 0, 0, 0, 1)) == Watermark("timestamp", "2026-01-01T00:00:00.000001")
    assert Watermark.of(Decimal("12345.000000000000000001")).value() == Decimal("12345.000000000000000001")
    assert Watermark.of(2**63 - 1) == Watermark("int", "9223372036854775807")
    assert Watermark.of(date(2026, 2, 28)).value() == date(2026, 2, 28)
    assert Watermark.from_json(mark.to_json()) == mark
    with pytest.raises(UsageError):
        Watermark.of(1.5)
    with pytest.raises(UsageError):
        Watermark.of(True)


def test_a_typed_mark_is_read_by_the_column_type_or_by_its_form() -> None:
    assert Watermark.parse("42") == Watermark("int", "42")
    assert Watermark.parse("12.000001") == Watermark("decimal", "12.000001")
    assert Watermark.parse("2026-11-25") == Watermark("date", "2026-11-25")
    assert Watermark.parse("2026-11-25T10:00:00.000001+01:00") == \
        Watermark("timestamptz", "2026-11-25T09:00:00.000001+00:00")
    assert Watermark.parse("2026-11-25 10:00:00") == Watermark("timestamp", "2026-11-25T10:00:00.000000")
    assert Watermark.parse("7", "decimal") == Watermark("decimal", "7")
    with pytest.raises(UsageError, match="not a integer"):
        Watermark.parse("soon", "int")


def test_lookback_is_a_time_for_timestamps_and_a_count_for_numbers() -> None:
    assert Lookback.parse("10m").seconds == 600
    assert Lookback.parse("500").count == 500
    mark = Watermark("timestamptz", "2026-11-25T10:00:00.000001+00:00")
    assert mark.minus(Lookback.parse("1h")) == datetime(2026, 11, 25, 9, 0, 0, 1, tzinfo=timezone.utc)
    assert Watermark("int", "1000").minus(Lookback.parse("500")) == 500
    with pytest.raises(UsageError, match="needs a numeric"):
        mark.minus(Lookback.parse("5"))
    with pytest.raises(UsageError, match="needs a date or timestamp"):
        Watermark("int", "1").minus(Lookback.parse("5m"))
    for bad in ("0", "-5", "10 minutes", ""):
        with pytest.raises(UsageError):
            Lookback.parse(bad)


def test_the_mark_never_moves_back_after_a_lookback_run() -> None:
    previous = Watermark("int", "10")
    assert next_mark(previous, MigrationResult("r", Status.SUCCEEDED, max_value=8)) == previous
    assert next_mark(previous, MigrationResult("r", Status.SUCCEEDED, max_value=None)) == previous
    assert next_mark(previous, MigrationResult("r", Status.SUCCEEDED, max_value=11)) == Watermark("int", "11")
    assert next_mark(None, MigrationResult("r", Status.SUCCEEDED, max_value=3)) == Watermark("int", "3")


def job(**changes: object) -> Job:
    fields: dict[str, object] = {"name": "inc", "source": "src", "target": "dst", "query": "SELECT id FROM t",
                                 "table": "t_copy", "mode": "upsert", "keys": ("id",),
                                 "incremental_column": "id"}
    fields.update(changes)
    return Job(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "message"), [
    ({"mode": "append"}, "loads by upsert"),
    ({"keys": (), "mode": "upsert"}, "upsert needs the key columns"),
    ({"keys": (), "mode": "truncate"}, "without key columns appends"),
    ({"keys": (), "mode": "append", "lookback": "10m"}, "needs key columns"),
    ({"incremental_column": None, "lookback": "10m"}, "needs an incremental column"),
    ({"incremental_column": None, "query": "SELECT id FROM t WHERE id > {{ watermark }}"}, "no incremental column"),
    ({"lookback": "soon"}, "a lookback is"),
])
def test_an_incremental_job_that_cannot_be_exact_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        job(**changes).validate()


def test_a_job_file_round_trips_and_refuses_what_is_not_one() -> None:
    original = job(lookback="100", batch_size=50, count_rows=True)
    assert job_from_file_text(job_file_text(original)) == original
    with pytest.raises(UsageError, match="not a QDBM job file"):
        job_from_file_text('{"name": "x"}')
    with pytest.raises(UsageError, match="not JSON"):
        job_from_file_text("name: x")
    text = job_file_text(job(source="postgresql://u:pw@h/db"))
    with pytest.raises(UsageError, match="never a URL") as caught:
        job_from_file_text(text)
    assert "pw" not in str(caught.value)


# -- SQLite runs and the command line --------------------------------------------------------------


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppContext:
    home = tmp_path / "home"
    monkeypatch.setenv("QDBM_HOME", str(home))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    context = AppContext.create(AppPaths(home), origin="cli")
    for name in ("src", "dst"):
        path = tmp_path / f"{name}.sqlite"
        sqlite3.connect(path).close()
        context.connections.add(ConnectionProfile(name=name, type="sqlite", path=str(path)))
    with closing(sqlite3.connect(tmp_path / "src.sqlite")) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"n{i}") for i in range(1, 4)])
        db.commit()
    return context


def add_rows(tmp_path: Path, ids: range) -> None:
    with closing(sqlite3.connect(tmp_path / "src.sqlite")) as db:
        db.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"n{i}") for i in ids])
        db.commit()


def test_the_query_is_wrapped_and_the_mark_bound_as_a_parameter(context: AppContext) -> None:
    saved = job(query="SELECT id, note FROM t -- a comment at the end")
    settings = context.settings.get()
    first = job_request(saved, None, context.connections, settings)
    assert first.query == saved.query and first.query_params == () and first.track_max_column == "id"
    later = job_request(saved, Watermark("int", "2"), context.connections, settings)
    # The query's first line stays line 1 (the engine's line numbers are the user's); the comment ends
    # at the newline before the closing parenthesis.
    assert later.query == ('SELECT * FROM (SELECT id, note FROM t -- a comment at the end\n) qdbm_incremental '
                           'WHERE qdbm_incremental."id" >= :qdbm_param_0')
    assert later.query_params == (2,)
    placeholder = job(query="SELECT id FROM t WHERE id > {{watermark}} OR id = {{ watermark }}", keys=(),
                      mode="append")
    request = job_request(placeholder, Watermark("int", "5"), context.connections, settings)
    assert request.query == "SELECT id FROM t WHERE id > :qdbm_param_0 OR id = :qdbm_param_1"
    assert request.query_params == (5, 5)
    with pytest.raises(UsageError, match="reset-mark"):
        job_request(placeholder, None, context.connections, settings)


def test_a_cancelled_run_leaves_the_mark(context: AppContext, tmp_path: Path) -> None:
    saved = context.schedules.save_job(job(query="SELECT id, note FROM t"))
    assert run_job(context, saved)[1].status is Status.SUCCEEDED
    assert context.schedules.watermark(saved.name) == Watermark("int", "3")
    add_rows(tmp_path, range(4, 10))
    cancel = threading.Event()
    cancel.set()
    _, cancelled = run_job(context, saved, cancel=cancel)
    assert cancelled.status is Status.CANCELLED
    assert context.schedules.watermark(saved.name) == Watermark("int", "3")
    _, later = run_job(context, saved)
    assert later.status is Status.SUCCEEDED and later.rows_read == 7  # id 3 at the mark, then 4-9
    assert context.schedules.watermark(saved.name) == Watermark("int", "9")


def test_the_mark_survives_an_edit_but_not_a_new_column(context: AppContext) -> None:
    saved = context.schedules.save_job(job(query="SELECT id, note FROM t"))
    context.schedules.set_watermark(saved.name, Watermark("int", "2"))
    context.schedules.save_job(job(query="SELECT id, note FROM t WHERE id > 0"), replace_name=saved.name)
    assert context.schedules.watermark(saved.name) == Watermark("int", "2")
    context.schedules.save_job(job(query="SELECT id, note, id * 2 AS twice FROM t", incremental_column="twice"),
                               replace_name=saved.name)
    assert context.schedules.watermark(saved.name) is None


def test_cli_adds_shows_resets_and_exports_an_incremental_job(
        context: AppContext, tmp_path: Path, cli: Cli) -> None:
    code, out, err = cli("jobs", "add", "notes", "--source", "src", "--target", "dst", "--query",
                         "SELECT id, note FROM t", "--table", "notes", "--key", "id", "--incremental", "id",
                         "--lookback", "2")
    assert code == 0, err
    assert "(upsert)" in out
    code, out, _ = cli("jobs", "show", "notes")
    assert "incremental: id" in out and "none yet" in out
    assert cli("run", "notes")[0] == 0
    code, out, _ = cli("jobs", "show", "notes", "--json")
    assert json.loads(out)["watermark"] == {"type": "int", "text": "3"}
    code, out, _ = cli("jobs", "list", "--json")
    assert [j["watermark"] for j in json.loads(out)] == [{"type": "int", "text": "3"}]
    code, out, _ = cli("jobs", "reset-mark", "notes", "--to", "1")
    assert code == 0 and "1 (integer)" in out
    code, _, err = cli("jobs", "reset-mark", "notes", "--to", "yesterday")
    assert code == 2 and "not a integer" in err
    assert cli("jobs", "reset-mark", "notes")[0] == 0
    assert context.schedules.watermark("notes") is None
    code, out, _ = cli("jobs", "export", "notes")
    assert job_from_file_text(out) == context.schedules.get_job("notes")
    code, _, err = cli("jobs", "add", "plain", "--source", "src", "--target", "dst", "--query",
                       "SELECT id FROM t", "--table", "x", "--lookback", "5m")
    assert code == 2 and "--lookback needs --incremental" in err
    code, _, err = cli("jobs", "add", "appending", "--source", "src", "--target", "dst", "--query",
                       "SELECT id FROM t", "--table", "x", "--incremental", "id")
    assert code == 0, err
    assert context.schedules.get_job("appending").mode == "append"
    code, _, err = cli("jobs", "reset-mark", "nope")
    assert code == 2 and "no saved job" in err
    code, _, err = cli("run", "notes", "--file", str(tmp_path / "x.json"))
    assert code == 2 and "--file" in err
