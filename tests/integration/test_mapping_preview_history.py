"""Column mapping (leave out, rename, retype, NOT NULL), query preview, and runs recorded in the history."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.history import HistoryStore, RunStatus
from qdbm_desktop.core.migration import (
    ColumnMap,
    MigrationRequest,
    Status,
    TargetInfo,
    describe_target,
    plan_migration,
    preview_query,
)
from qdbm_desktop.core.runs import run_recorded
from qdbm_desktop.core.types import PortableType
from tests.integration.conftest import Server
from tests.integration.test_migration_pipeline import (
    SLOW_QUERY,
    mysql_endpoint,
    pg_endpoint,
    snapshot,
    sqlite_endpoint,
)

QUERY = "SELECT g AS id, 'name ' || g AS label, g * 1.5 AS amount, NULL::text AS note FROM generate_series(1, 250) g"


def pg_columns(server: Server, table: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database) as conn:
        return [tuple(r) for r in conn.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = %s ORDER BY ordinal_position", (table,)).fetchall()]


def test_mapping_leaves_out_renames_retypes_and_sets_not_null(pg_database: Server, tmp_path: Path) -> None:
    source = pg_endpoint(pg_database, "pg source")
    target = sqlite_endpoint(tmp_path / "t.sqlite")
    request = MigrationRequest(
        source, target, QUERY, TableName("mapped"), LoadMode.CREATE,
        column_map=(
            ColumnMap("id", target="item_id", nullable=False),
            ColumnMap("label", type=PortableType.parse("varchar(40)")),
            ColumnMap("amount", target="price", type=PortableType.parse("decimal(10,2)")),
            ColumnMap("note", include=False),
        ),
    )
    plan = plan_migration(request)
    assert [(c.name, str(c.type), c.nullable) for c in plan.target_columns] == [
        ("item_id", "int32", False), ("label", "varchar(40)", True), ("price", "decimal(10,2)", True)]
    result = run_recorded(None, request)
    assert result.status is Status.SUCCEEDED, result.error
    rows, _ = snapshot(target, "mapped")
    assert len(rows) == 250
    assert rows[0] == (1, "name 1", "1.50")
    import sqlite3

    with sqlite3.connect(tmp_path / "t.sqlite") as db:
        info = [(r[1], r[2], r[3]) for r in db.execute("PRAGMA table_info(mapped)")]
    assert [name for name, _, _ in info] == ["item_id", "label", "price"]
    assert info[0][2] == 1  # NOT NULL


def test_same_engine_mapping_with_a_column_left_out_moves_the_right_values(pg_database: Server) -> None:
    source = pg_endpoint(pg_database, "pg")
    request = MigrationRequest(
        source, source, QUERY, TableName("narrow"), LoadMode.REPLACE,
        column_map=(ColumnMap("label", include=False), ColumnMap("amount", target="total")),
    )
    result = run_recorded(None, request)
    assert result.status is Status.SUCCEEDED, result.error
    assert pg_columns(pg_database, "narrow") == [
        ("id", "integer", "YES"), ("total", "numeric", "YES"), ("note", "text", "YES")]
    rows, _ = snapshot(source, "narrow")
    assert rows[:2] == [(1, Decimal("1.5"), None), (2, Decimal("3.0"), None)]


def test_only_one_column_kept(pg_database: Server, tmp_path: Path) -> None:
    request = MigrationRequest(
        pg_endpoint(pg_database), sqlite_endpoint(tmp_path / "one.sqlite"), QUERY, TableName("one"),
        LoadMode.CREATE, column_map=tuple(ColumnMap(n, include=n == "label") for n in ("id", "label", "amount", "note")),
    )
    assert run_recorded(None, request).status is Status.SUCCEEDED
    rows, _ = snapshot(request.target, "one")
    assert rows[0] == ("name 1",) and len(rows) == 250


@pytest.mark.parametrize(
    ("column_map", "message"),
    [
        ((ColumnMap("nope"),), "names 'nope', which is not a column"),
        (tuple(ColumnMap(n, include=False) for n in ("id", "label", "amount", "note")), "include at least one"),
        ((ColumnMap("id", target="label"),), "both be named 'label'"),
    ],
)
def test_a_bad_mapping_is_refused_with_its_reason_and_changes_nothing(
    pg_database: Server, tmp_path: Path, column_map: tuple[ColumnMap, ...], message: str
) -> None:
    target = sqlite_endpoint(tmp_path / "t.sqlite")
    request = MigrationRequest(pg_endpoint(pg_database), target, QUERY, TableName("t"), LoadMode.CREATE,
                               column_map=column_map)
    result = run_recorded(None, request)
    assert result.status is Status.FAILED
    assert message in (result.error or "")
    assert snapshot(target, "t") == ([], [])


def test_preview_reads_only_the_first_rows_and_describes_the_columns(pg_database: Server) -> None:
    preview = preview_query(pg_endpoint(pg_database), QUERY, limit=100)
    assert [c.name for c in preview.columns] == ["id", "label", "amount", "note"]
    assert [c.source_type for c in preview.columns] == ["integer", "text", "numeric", "text"]
    assert len(preview.rows) == 100 and preview.more
    assert preview.rows[0] == (1, "name 1", Decimal("1.5"), None)
    small = preview_query(pg_endpoint(pg_database), "SELECT 1 AS one", limit=100)
    assert small.rows == [(1,)] and not small.more


def test_mysql_preview_of_a_big_query_stops_at_the_limit(mysql_database: Server) -> None:
    endpoint = mysql_endpoint(mysql_database)
    conn = endpoint.dialect.connect(endpoint.params, 10)
    cursor = conn.cursor()
    cursor.execute("CREATE TABLE big (id INT PRIMARY KEY, label VARCHAR(20))")
    cursor.execute("INSERT INTO big SELECT seq, CONCAT('row ', seq) FROM seq_1_to_200000")
    conn.commit()
    conn.close()
    preview = preview_query(endpoint, "SELECT id, label FROM big ORDER BY id", limit=100)
    assert len(preview.rows) == 100 and preview.more
    assert preview.rows[0] == (1, "row 1")
    # The limit is the preview connection's own: a run reads every row.
    result = run_recorded(None, MigrationRequest(endpoint, endpoint, "SELECT id, label FROM big", TableName("copy"),
                                                 LoadMode.CREATE))
    assert result.status is Status.SUCCEEDED and result.rows_written == 200_000


def test_preview_of_a_bad_query_says_why(pg_database: Server) -> None:
    with pytest.raises(UsageError, match="the query failed on 'pg'.*no_such_table"):
        preview_query(pg_endpoint(pg_database), "SELECT * FROM no_such_table")
    with pytest.raises(UsageError, match="empty"):
        preview_query(pg_endpoint(pg_database), "  ")


def test_runs_are_recorded_with_their_log_succeeded_failed_and_cancelled(pg_database: Server, tmp_path: Path) -> None:
    history = HistoryStore(tmp_path / "history.sqlite3")
    source = pg_endpoint(pg_database, "warehouse pg")
    target = sqlite_endpoint(tmp_path / "t.sqlite")
    ok = run_recorded(history, MigrationRequest(source, target, QUERY, TableName("ok"), LoadMode.CREATE))
    bad = run_recorded(history, MigrationRequest(source, target, "SELECT 1/0 AS x", TableName("bad"),
                                                 LoadMode.CREATE))
    cancel = threading.Event()
    cancel.set()
    stopped = run_recorded(history, MigrationRequest(source, target, SLOW_QUERY, TableName("slow"),
                                                     LoadMode.CREATE), cancel=cancel)
    records = {r.run_id: r for r in history.runs()}
    assert records[ok.run_id].status is RunStatus.SUCCEEDED
    assert (records[ok.run_id].rows_read, records[ok.run_id].rows_written) == (250, 250)
    assert records[ok.run_id].source == "warehouse pg" and records[ok.run_id].target == "lite"
    assert records[bad.run_id].status is RunStatus.FAILED
    assert "division by zero" in (records[bad.run_id].error or "")
    assert records[stopped.run_id].status is RunStatus.CANCELLED
    log = [line.message for line in history.log(records[ok.run_id].id)]
    assert log == [entry.message for entry in ok.log]
    assert log[-1].startswith("succeeded: 250 rows")


def test_describe_target_says_whether_the_table_exists_and_its_rows(pg_database: Server, tmp_path: Path) -> None:
    target = sqlite_endpoint(tmp_path / "t.sqlite")
    assert describe_target(target, TableName("ok")) == TargetInfo(False)
    run_recorded(None, MigrationRequest(pg_endpoint(pg_database), target, QUERY, TableName("ok"), LoadMode.CREATE))
    info = describe_target(target, TableName("ok"))
    assert (info.exists, info.rows, [c.name for c in info.columns]) == (True, 250, ["id", "label", "amount", "note"])
    with pytest.raises(UsageError):
        describe_target(target, TableName(""))


def test_an_infinite_timestamp_fails_naming_the_date_columns_and_loads_nothing(
        pg_database: Server, tmp_path: Path) -> None:
    target = sqlite_endpoint(tmp_path / "t.sqlite")
    query = ("SELECT g AS id, CASE WHEN g = 7 THEN 'infinity'::timestamp ELSE now()::timestamp END AS seen_at, "
             "current_date AS day FROM generate_series(1, 10) g")
    result = run_recorded(None, MigrationRequest(pg_endpoint(pg_database), target, query, TableName("t"),
                                                 LoadMode.CREATE))
    assert result.status is Status.FAILED
    error = result.error or ""
    assert "date and time columns of the query: seen_at, day" in error
    assert "NULLIF(col, 'infinity'::timestamp)" in error
    assert snapshot(target, "t") == ([], [])
