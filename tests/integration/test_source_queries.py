"""The user's source query on every path (run, pass-through, count first, preview, plan, incremental):
comments and semicolons as the engine's own client takes them, errors in the query's terms and
against the source, and no side effect on the source, against real PostgreSQL, MariaDB and SQLite."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import mysql.connector
import psycopg
import pytest

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects.base import ConnectParams, LoadMode, TableName
from qdbm_desktop.core.dialects.postgresql.types import pg_connection
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.incremental import run_job
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import (
    Endpoint,
    MigrationRequest,
    MigrationResult,
    Status,
    plan_migration,
    preview_query,
    run_migration,
)
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.sqlcheck import wrap_query
from qdbm_desktop.core.watermark import Watermark
from tests.integration.conftest import Server, unique_name
from tests.integration.test_migration_pipeline import mysql_endpoint, pg_endpoint, sqlite_endpoint

# -- helpers ------------------------------------------------------------------------------------


def run(source: Endpoint, target: Endpoint, query: str, *, count: bool = False,
        table: str = "copied") -> MigrationResult:
    return run_migration(MigrationRequest(source=source, target=target, query=query, table=TableName(table),
                                          mode=LoadMode.REPLACE, count_rows=count))


def sqlite_rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(query).fetchall()


def file_state(path: Path) -> tuple[str, int]:
    """The file's bytes (as a digest) and its modification time."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def refused_everywhere(source: Endpoint, target: Endpoint, query: str, message: str) -> None:
    """The query is refused with ``message`` on run, count first, preview and plan."""
    for count in (False, True):
        result = run(source, target, query, count=count)
        assert result.status is Status.FAILED
        assert result.error is not None and message in result.error, result.error
        assert result.rows_read == 0
    with pytest.raises(UsageError) as caught:
        preview_query(source, query)
    assert message in str(caught.value)
    with pytest.raises(UsageError) as caught:
        plan_migration(MigrationRequest(source=source, target=target, query=query, table=TableName("copied")))
    assert message in str(caught.value)


# -- PostgreSQL ---------------------------------------------------------------------------------

PG_QUERIES = [
    "select g from generate_series(1,10) g -- ten rows",
    "select g from generate_series(1,10) g; -- ten rows",
    "select g from generate_series(1,10) g /* ten rows */ ;",
    "select g from generate_series(1,10) g;\n-- ten rows\n/* and a block */\n",
    "-- a header\nselect g -- the number\nfrom generate_series(1,10) g -- ten rows",
    "select g from generate_series(1,10) g where '--' <> 'a; b' -- a string holding -- and ;",
    "select g from generate_series(1,10) g where $$ -- ; $$ <> '' -- dollar-quoted",
    "select g from generate_series(1,10) g where $q$ it's ) $q$ <> '' -- 100% it's a \"test\"? yes",
    "select g from generate_series(1,10) g /* 100% ? 'quoted' */ -- %s and ?",
    "(select g from generate_series(1,5) g) union all (select g from generate_series(6,10) g) -- union",
    "with t as (select g from generate_series(1,10) g) select g from t -- with",
    "values (1),(2),(3),(4),(5),(6),(7),(8),(9),(10) -- values",
]


@pytest.mark.parametrize("query", PG_QUERIES)
def test_a_postgresql_query_with_comments_runs_on_every_path(pg_database: Server, tmp_path: Path,
                                                             query: str) -> None:
    source = pg_endpoint(pg_database, "pg source")
    same_engine = pg_endpoint(pg_database, "pg target")
    for target in (same_engine, sqlite_endpoint(tmp_path / "target.sqlite")):
        for count in (False, True):
            result = run(source, target, query, count=count)
            assert result.status is Status.SUCCEEDED, result.error
            assert result.rows_written == 10
            if count:
                assert any("the query returns 10 rows" in e.message for e in result.log)
    passed = run(source, same_engine, query)
    assert any("passed straight into the staging table" in e.message for e in passed.log)
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database) as conn:
        assert conn.execute("SELECT count(*), sum(1) FROM copied").fetchone() == (10, 10)
    preview = preview_query(source, query, limit=3)
    assert len(preview.rows) == 3 and preview.more
    plan = plan_migration(MigrationRequest(source=source, target=same_engine, query=query,
                                           table=TableName("copied")))
    assert len(plan.source_columns) == 1


def test_a_missing_table_with_count_first_names_the_query_not_the_wrapper(pg_database: Server) -> None:
    source = pg_endpoint(pg_database, "pg source")
    for count in (True, False):
        result = run(source, pg_endpoint(pg_database, "pg target"), "SELECT * FROM orders", count=count)
        assert result.status is Status.FAILED
        assert result.error == "read failed on 'pg source': relation \"orders\" does not exist (line 1 of the query)"
    with pytest.raises(UsageError) as caught:
        preview_query(source, "SELECT * FROM orders -- a comment")
    assert str(caught.value) == ("the query failed on 'pg source': relation \"orders\" does not exist "
                                 "(line 1 of the query)")


@pytest.mark.parametrize("count", [False, True])
def test_an_error_in_a_commented_query_is_the_source_s_on_the_pass_through(pg_database: Server,
                                                                           count: bool) -> None:
    result = run(pg_endpoint(pg_database, "pg source"), pg_endpoint(pg_database, "pg target"),
                 "select g, 1 / (g - 5) as boom from generate_series(1,10) g -- fails at row 5", count=count)
    assert result.status is Status.FAILED
    assert result.error is not None and result.error.startswith("read failed on 'pg source': division by zero")
    assert "COPY" not in result.error and "qdbm" not in result.error


def test_an_error_on_line_3_of_a_wrapped_query_says_line_3(pg_database: Server) -> None:
    result = run(pg_endpoint(pg_database, "pg source"), pg_endpoint(pg_database, "pg target"),
                 "select g\nfrom generate_series(1,3) g\nwhere nope > 1 -- no such column", count=True)
    assert result.error == ("read failed on 'pg source': column \"nope\" does not exist "
                            "(line 3 of the query)")


INCREMENTAL_QUERIES = {
    "postgresql": "select g as id from generate_series(1,10) g; -- 100% of them, it's \"all\"?",
    "mysql": "select cast(seq as signed) as id from seq_1_to_10; # 100% of them, it's \"all\"?",
    "sqlite": "with recursive r(id) as (select 1 union all select id + 1 from r where id < 10) "
              "select id from r; -- 100% of them, it's \"all\"?",
}


@pytest.mark.parametrize("engine", list(INCREMENTAL_QUERIES))
def test_an_incremental_job_s_query_with_a_trailing_comment_reads_past_its_mark(
        engine: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDBM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    context = AppContext.create(AppPaths(tmp_path / "home"), origin="cli")
    if engine == "sqlite":
        sqlite3.connect(tmp_path / "source.sqlite").close()
        context.connections.add(ConnectionProfile(name="src", type="sqlite", path=str(tmp_path / "source.sqlite")))
    else:
        server: Server = request.getfixturevalue("pg_database" if engine == "postgresql" else "mysql_database")
        context.connections.add(ConnectionProfile(name="src", type=engine, host=server.host, port=server.port,
                                                  user=server.user, database=server.database))
    sqlite3.connect(tmp_path / "target.sqlite").close()
    context.connections.add(ConnectionProfile(name="dst", type="sqlite", path=str(tmp_path / "target.sqlite")))
    job = Job(name="inc", source="src", target="dst", query=INCREMENTAL_QUERIES[engine], table="copied",
              mode="append", incremental_column="id")
    context.schedules.save_job(job)
    context.schedules.set_watermark("inc", Watermark("int", "7"), "id")
    _, result = run_job(context, job)
    assert result.status is Status.SUCCEEDED, result.error
    assert sqlite_rows(tmp_path / "target.sqlite", "SELECT id FROM copied ORDER BY id") == [(8,), (9,), (10,)]
    assert context.schedules.watermark("inc") == Watermark("int", "10")


@pytest.mark.parametrize("query", ["update t set a = 1 -- {{ watermark }}",
                                   "select id from t where id > {{ watermark }} into outfile '/tmp/x'"])
def test_an_incremental_job_s_writing_query_is_refused_as_written(tmp_path: Path, query: str) -> None:
    from qdbm_desktop.core.incremental import job_request

    context = AppContext.create(AppPaths(tmp_path / "home"), origin="cli")
    for name in ("src", "dst"):
        sqlite3.connect(tmp_path / f"{name}.sqlite").close()
        context.connections.add(ConnectionProfile(name=name, type="mysql" if name == "src" else "sqlite",
                                                  host="127.0.0.1", path=str(tmp_path / f"{name}.sqlite")))
    job = Job(name="inc", source="src", target="dst", query=query, table="copied", mode="append",
              incremental_column="id")
    with pytest.raises(UsageError, match="the query must be one SELECT"):
        job_request(job, Watermark("int", "7"), context.connections, context.settings.get())


@pytest.mark.parametrize(("query", "message"), [
    ("UPDATE important SET id = 0", "the query must be one SELECT (this is an UPDATE)"),
    ("delete from important -- all of it", "the query must be one SELECT (this is a DELETE)"),
    ("with gone as (delete from important returning *) select * from gone", "inside parentheses"),
    ("select * into stolen from important", "without INTO"),
    ("create table stolen as select * from important", "the query must be one SELECT (this is a CREATE)"),
    ("copy important to '/tmp/important.csv'", "the query must be one SELECT (this is a COPY)"),
])
def test_a_postgresql_query_that_writes_is_refused_and_changes_nothing(pg_database: Server, query: str,
                                                                        message: str) -> None:
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database, autocommit=True) as conn:
        conn.execute("CREATE TABLE important AS SELECT g AS id FROM generate_series(1, 5) g")
    refused_everywhere(pg_endpoint(pg_database, "pg source"), pg_endpoint(pg_database, "pg target"), query, message)
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database) as conn:
        assert conn.execute("SELECT count(*), sum(id) FROM important").fetchone() == (5, 15)
        assert conn.execute("SELECT to_regclass('stolen')").fetchone() == (None,)


@pytest.mark.parametrize(("query", "refusal"), [
    ("with gone as (delete from important returning *) select * from gone",
     "read-only transaction|data-modifying statement must be at the top level"),
    ("select nextval('important_seq')", "read-only transaction"),
    ("select * into stolen from important", "returns no rows|INTO is not allowed here"),
])
def test_postgresql_s_read_only_transaction_stops_a_write_that_gets_past_the_check(pg_database: Server,
                                                                                   query: str, refusal: str) -> None:
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database, autocommit=True) as conn:
        conn.execute("CREATE TABLE important AS SELECT g AS id FROM generate_series(1, 5) g")
        conn.execute("CREATE SEQUENCE important_seq")
    endpoint = pg_endpoint(pg_database).for_reading()
    dialect = endpoint.dialect
    for wrapped in (query, wrap_query("SELECT COUNT(*) AS row_count FROM (", query, ") qdbm_count", "postgresql")):
        source = dialect.connect(endpoint.params, 10)
        try:
            with pytest.raises((psycopg.Error, UsageError), match=refusal):
                stream = dialect.open_read(source, wrapped, 10)
                try:
                    list(stream.batches())
                finally:
                    stream.close()
        finally:
            source.close()
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database) as conn:
        assert conn.execute("SELECT count(*) FROM important").fetchone() == (5,)
        assert conn.execute("SELECT last_value, is_called FROM important_seq").fetchone() == (1, False)
        assert conn.execute("SELECT to_regclass('stolen')").fetchone() == (None,)


def test_a_postgresql_source_session_is_read_only_outside_open_read_too(pg_database: Server) -> None:
    endpoint = pg_endpoint(pg_database).for_reading()
    conn = pg_connection(endpoint.dialect.connect(endpoint.params, 10))
    try:
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE x (a int)")
    finally:
        conn.close()
    writer = pg_endpoint(pg_database)
    conn = pg_connection(writer.dialect.connect(writer.params, 10))
    try:
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("off",)
    finally:
        conn.close()


# -- MariaDB ------------------------------------------------------------------------------------

MY_QUERIES = [
    "select seq from seq_1_to_10 -- ten rows",
    "select seq from seq_1_to_10 # ten rows",
    "select seq from seq_1_to_10; -- ten rows",
    "select seq from seq_1_to_10; # ten rows",
    "select seq from seq_1_to_10 /* ten rows */ ;",
    "# a header\nselect seq -- the number\nfrom seq_1_to_10 # ten rows\n",
    "select seq from seq_1_to_10 where '--' <> 'a; # b' -- a string holding -- # and ;",
    "select seq from seq_1_to_10 where \"it's\" <> '' # 100% it's a \"test\"? yes",
    "(select seq from seq_1_to_5) union all (select seq from seq_6_to_10) -- union",
    "with t as (select seq from seq_1_to_10) select seq from t -- with",
]


@pytest.mark.parametrize("query", MY_QUERIES)
def test_a_mariadb_query_with_comments_runs_on_every_path(mysql_database: Server, tmp_path: Path,
                                                          query: str) -> None:
    source = mysql_endpoint(mysql_database, "maria source")
    for target in (mysql_endpoint(mysql_database, "maria target"), sqlite_endpoint(tmp_path / "target.sqlite")):
        for count in (False, True):
            result = run(source, target, query, count=count)
            assert result.status is Status.SUCCEEDED, result.error
            assert result.rows_written == 10
    assert sqlite_rows(tmp_path / "target.sqlite", "SELECT count(*), sum(seq) FROM copied") == [(10, 55)]
    preview = preview_query(source, query, limit=3)
    assert len(preview.rows) == 3 and preview.more
    plan_migration(MigrationRequest(source=source, target=source, query=query, table=TableName("copied")))


def test_mysql_s_double_dash_without_a_space_is_no_comment(mysql_database: Server, tmp_path: Path) -> None:
    result = run(mysql_endpoint(mysql_database), sqlite_endpoint(tmp_path / "t.sqlite"),
                 "select cast(seq as signed)--1 as v from seq_1_to_3", count=True)
    assert result.status is Status.SUCCEEDED, result.error
    assert sqlite_rows(tmp_path / "t.sqlite", "SELECT v FROM copied ORDER BY v") == [(2,), (3,), (4,)]


def test_a_mariadb_syntax_error_with_count_first_quotes_only_the_query(mysql_database: Server) -> None:
    source = mysql_endpoint(mysql_database, "maria source")
    result = run(source, source, "select seq frm seq_1_to_3 -- typo", count=True)
    assert result.status is Status.FAILED and result.error is not None
    assert result.error.startswith("read failed on 'maria source': 1064")
    assert "qdbm" not in result.error and "COUNT" not in result.error


def _maria(server: Server) -> Any:
    return mysql.connector.connect(host=server.host, port=server.port, user=server.user,
                                   password=server.password, database=server.database, autocommit=True)


def _server_file(conn: Any, name: str) -> tuple[str, bool]:
    """Where the server writes a relative INTO OUTFILE name, and whether a file is there now."""
    cursor = conn.cursor()
    cursor.execute("SELECT CONCAT(@@datadir, DATABASE(), '/', %s)", (name,))
    (path,) = cursor.fetchone()
    cursor.execute("SELECT LOAD_FILE(%s) IS NOT NULL", (path,))
    (exists,) = cursor.fetchone()
    cursor.close()
    return str(path), bool(exists)


@pytest.mark.parametrize("form", [
    "select seq from seq_1_to_3 into outfile '{name}'",
    "SELECT seq FROM seq_1_to_1 INTO DUMPFILE '{name}' -- one row",
    "select seq from seq_1_to_3 /* a note */ Into /* another */ OutFile '{name}';",
    "select seq from seq_1_to_3 /*! into outfile '{name}' */",
    "select seq from seq_1_to_3 /*!50100 INTO OUTFILE '{name}' */",
    "select seq from seq_1_to_3 /*M! into outfile '{name}' */",
    "select 1 into @stolen -- {name}",
])
def test_mariadb_select_into_is_refused_and_writes_no_file(mysql_database: Server, tmp_path: Path,
                                                           form: str) -> None:
    conn = _maria(mysql_database)
    control, name = (unique_name("qdbm_probe") + ".txt" for _ in range(2))
    try:
        # The same statement sent as it is writes the file: what the check stops is real.
        if "@stolen" not in form:
            cursor = conn.cursor()
            cursor.execute(form.format(name=control))
            cursor.close()
            assert _server_file(conn, control)[1]
        source = mysql_endpoint(mysql_database, "maria source")
        refused_everywhere(source, sqlite_endpoint(tmp_path / "t.sqlite"), form.format(name=name),
                           "the query must be one SELECT without INTO")
        assert not _server_file(conn, name)[1]
    finally:
        for probe in (control, name):
            path, _ = _server_file(conn, probe)
            if os.path.exists(path):  # the database's folder cannot be dropped with it there
                os.remove(path)
        conn.close()


def test_a_mariadb_preview_keeps_its_row_limit_through_the_column_lookup(mysql_database: Server) -> None:
    endpoint = mysql_endpoint(mysql_database).for_reading()
    dialect = endpoint.dialect
    conn = dialect.connect(endpoint.params, 10)
    try:
        dialect.prepare_preview(conn, 101)
        stream = dialect.open_read(conn, "SELECT seq FROM seq_1_to_100000 -- big", 101)
        rows = next(iter(stream.batches()))
        assert len(rows) == 101
        assert next(iter(stream.batches()), []) == []  # the server stopped at the limit
        stream.close()
        cursor = conn.cursor()
        cursor.execute("SELECT @@SESSION.sql_select_limit")
        assert cursor.fetchone() == (101,)
        cursor.close()
    finally:
        conn.close()


def test_a_mariadb_source_session_is_read_only(mysql_database: Server) -> None:
    conn = _maria(mysql_database)
    conn.cursor().execute("CREATE TABLE important (id INT)")
    conn.close()
    endpoint = mysql_endpoint(mysql_database).for_reading()
    conn = endpoint.dialect.connect(endpoint.params, 10)
    try:
        cursor = conn.cursor()
        with pytest.raises(mysql.connector.Error, match="READ ONLY"):
            cursor.execute("INSERT INTO important VALUES (1)")
        cursor.close()
    finally:
        conn.close()
    conn = _maria(mysql_database)
    cursor = conn.cursor()
    cursor.execute("SELECT COUNT(*) FROM important")
    assert cursor.fetchone() == (0,)
    conn.close()


# -- SQLite -------------------------------------------------------------------------------------


def _sqlite_source(path: Path, journal: str = "delete") -> Endpoint:
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA journal_mode = {journal}")
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT)")
        db.executemany("INSERT INTO orders VALUES (?, ?)", [(i, f"note {i} -- ; '") for i in range(1, 11)])
    db.close()
    return Endpoint("lite source", "sqlite", ConnectParams(path=str(path)))


SQLITE_QUERIES = [
    "select id, note from orders -- ten rows",
    "select id, note from orders; -- ten rows",
    "select id, note from orders /* ten rows */;",
    "select id, note from orders;\n-- ten rows\n",
    "-- header\nselect id, -- the id\n note from orders where note like '%--%' -- 100% it's \"all\"?",
    "select id, note from orders where note <> 'a -- b; c' /* 'quoted' ? */",
    "with o as (select id, note from orders) select * from o -- with",
]


@pytest.mark.parametrize("journal", ["delete", "wal"])
@pytest.mark.parametrize("query", SQLITE_QUERIES)
def test_a_sqlite_query_with_comments_runs_and_leaves_the_source_file_as_it_was(
        tmp_path: Path, query: str, journal: str) -> None:
    source = _sqlite_source(tmp_path / "source.sqlite", journal)
    before = file_state(tmp_path / "source.sqlite")
    target = sqlite_endpoint(tmp_path / "target.sqlite")
    for count in (False, True):
        result = run(source, target, query, count=count)
        assert result.status is Status.SUCCEEDED, result.error
        assert result.rows_written == 10
    preview = preview_query(source, query, limit=3)
    assert len(preview.rows) == 3 and preview.more
    plan_migration(MigrationRequest(source=source, target=target, query=query, table=TableName("copied")))
    assert file_state(tmp_path / "source.sqlite") == before
    assert sqlite_rows(tmp_path / "source.sqlite", "PRAGMA journal_mode") == [(journal,)]


@pytest.mark.parametrize(("query", "message"), [
    ("UPDATE orders SET note = 'x'", "the query must be one SELECT (this is an UPDATE)"),
    ("update orders set note = 'x' -- every row", "the query must be one SELECT (this is an UPDATE)"),
    ("pragma journal_mode = wal", "the query must be one SELECT (this is a PRAGMA)"),
    ("PRAGMA /* why */ journal_mode=WAL; -- now", "the query must be one SELECT (this is a PRAGMA)"),
    ("attach database '{dir}/new.db' as n", "the query must be one SELECT (this is an ATTACH)"),
    ("ATTACH '{dir}/new.db' AS n -- a file", "the query must be one SELECT (this is an ATTACH)"),
    ("vacuum into '{dir}/new.db'", "the query must be one SELECT (this is a VACUUM)"),
    ("VACUUM /* c */ INTO '{dir}/new.db';", "the query must be one SELECT (this is a VACUUM)"),
    ("detach n", "the query must be one SELECT (this is a DETACH)"),
    ("insert into orders values (99, 'x')", "the query must be one SELECT (this is an INSERT)"),
    ("create table stolen as select * from orders", "the query must be one SELECT (this is a CREATE)"),
    ("drop table orders", "the query must be one SELECT (this is a DROP)"),
])
def test_a_sqlite_query_that_writes_is_refused_and_the_file_is_untouched(tmp_path: Path, query: str,
                                                                         message: str) -> None:
    source = _sqlite_source(tmp_path / "source.sqlite")
    before = file_state(tmp_path / "source.sqlite")
    refused_everywhere(source, sqlite_endpoint(tmp_path / "target.sqlite"), query.format(dir=tmp_path), message)
    assert file_state(tmp_path / "source.sqlite") == before
    assert sqlite_rows(tmp_path / "source.sqlite", "PRAGMA journal_mode") == [("delete",)]
    assert not (tmp_path / "new.db").exists()


@pytest.mark.parametrize("query", [
    "attach database '{dir}/new.db' as n",
    "vacuum into '{dir}/new.db'",
    "update orders set note = 'x'",
    "pragma journal_mode = wal",
    "create table stolen (a)",
])
def test_a_sqlite_source_connection_cannot_write_even_past_the_check(tmp_path: Path, query: str) -> None:
    source = _sqlite_source(tmp_path / "source.sqlite")
    before = file_state(tmp_path / "source.sqlite")
    endpoint = source.for_reading()
    conn = endpoint.dialect.connect(endpoint.params, 5)
    assert isinstance(conn, sqlite3.Connection)
    try:
        with pytest.raises(sqlite3.Error):
            conn.execute(query.format(dir=tmp_path)).fetchall()
            conn.commit()
    finally:
        conn.close()
    assert file_state(tmp_path / "source.sqlite") == before
    assert sqlite_rows(tmp_path / "source.sqlite", "PRAGMA journal_mode") == [("delete",)]
    assert not (tmp_path / "new.db").exists()


def test_the_same_wal_file_as_source_and_target_still_works(tmp_path: Path) -> None:
    source = _sqlite_source(tmp_path / "both.sqlite", "wal")
    result = run(source, source, "select id, note from orders -- in the same file", count=True)
    assert result.status is Status.SUCCEEDED, result.error
    assert sqlite_rows(tmp_path / "both.sqlite", "SELECT count(*) FROM copied") == [(10,)]


@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0,
                    reason="needs root and setpriv to read as another user")
def test_a_wal_source_in_a_folder_it_cannot_write_says_why_in_one_line(tmp_path: Path) -> None:
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / unique_name("qdbm-ro")
    folder.mkdir(mode=0o755)
    try:
        _sqlite_source(folder / "wal.sqlite", "wal")
        (folder / "wal.sqlite").chmod(0o644)
        assert not (folder / "wal.sqlite-shm").exists()
        script = textwrap.dedent(f"""
            from qdbm_desktop.core.dialects.base import ConnectParams
            from qdbm_desktop.core.dialects.sqlite import SQLiteDialect
            from qdbm_desktop.core.errors import ConnectFailed
            try:
                SQLiteDialect().connect(ConnectParams(path={str(folder / "wal.sqlite")!r}, read_only=True), 5)
            except ConnectFailed as exc:
                print(exc)
            """)
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                               "-c", script], capture_output=True, text=True, timeout=60,
                              cwd=Path(__file__).parents[2])
        assert done.returncode == 0, done.stderr
        message = done.stdout.strip()
        assert "\n" not in message
        assert "is in WAL mode" in message and "folder is not writable" in message
        assert "journal_mode=DELETE" in message
    finally:
        shutil.rmtree(folder, ignore_errors=True)



def test_a_mariadb_read_runs_the_query_once(mysql_database: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # The derived table is computed while the query is planned, so each run of the query counts
    # one in the session's variable, also the column describe that ran it with LIMIT 0.
    query = ("select c, label from (select @runs := coalesce(@runs, 0) + 1 as c) d "
             "join seq_1_to_3 s on s.seq = d.c cross join (select 'x' as label) l -- counts its runs")
    endpoint = mysql_endpoint(mysql_database).for_reading()
    dialect = endpoint.dialect

    def runs() -> int:
        conn = dialect.connect(endpoint.params, 10)
        try:
            stream = dialect.open_read(conn, query, 1000)
            rows = [row for batch in stream.batches() for row in batch]
            stream.close()
            cursor = conn.cursor()
            cursor.execute("SELECT @runs")
            (count,) = cursor.fetchone()
            cursor.close()
            assert rows == [(count, "x")]  # the row the last run made
            return int(count)
        finally:
            conn.close()

    assert runs() == 1
    # The describe-first path, kept for queries sqlglot cannot parse, runs it twice.
    monkeypatch.setattr("qdbm_desktop.core.dialects.mysql.dialect.referenced_tables", lambda query: None)
    assert runs() == 2


def test_a_copy_of_the_query_that_fails_to_start_is_the_source_s_error(pg_database: Server) -> None:
    # Parsed and described fine; only starting it in the read-only COPY fails.
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database, autocommit=True) as conn:
        conn.execute("CREATE TABLE important AS SELECT g AS id FROM generate_series(1, 5) g")
    result = run(pg_endpoint(pg_database, "pg source"), pg_endpoint(pg_database, "pg target"),
                 "select id from important for update -- locks")
    assert result.status is Status.FAILED
    assert result.error == ("read failed on 'pg source': cannot execute SELECT FOR UPDATE in a read-only "
                            "transaction")


def _fails_everywhere(source: Endpoint, target: Endpoint, query: str, message: str) -> None:
    """The query passes the check but the server refuses it: on run, count first and preview."""
    for count in (False, True):
        result = run(source, target, query, count=count)
        assert result.status is Status.FAILED
        assert result.error is not None and message in result.error, result.error
        assert result.error.startswith(f"read failed on {source.label!r}")
    with pytest.raises(UsageError, match=message):
        preview_query(source, query)


def test_a_postgresql_select_that_writes_through_a_function_changes_nothing(pg_database: Server,
                                                                           tmp_path: Path) -> None:
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE important_seq")
        conn.execute("CREATE TABLE important (id int)")
        conn.execute("CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS "
                     "$$ INSERT INTO important VALUES (1) RETURNING id $$")
    source = pg_endpoint(pg_database, "pg source")
    for query in ("select nextval('important_seq') as n -- moves the sequence",
                  "select sneaky() as n /* inserts */"):
        for target in (pg_endpoint(pg_database, "pg target"), sqlite_endpoint(tmp_path / "t.sqlite")):
            _fails_everywhere(source, target, query, "read-only transaction")
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database) as conn:
        assert conn.execute("SELECT last_value, is_called FROM important_seq").fetchone() == (1, False)
        assert conn.execute("SELECT count(*) FROM important").fetchone() == (0,)


def test_a_mariadb_select_that_writes_through_a_function_changes_nothing(mysql_database: Server,
                                                                        tmp_path: Path) -> None:
    conn = _maria(mysql_database)
    cursor = conn.cursor()
    cursor.execute("CREATE TABLE important (id INT)")
    cursor.execute("CREATE FUNCTION sneaky() RETURNS INT MODIFIES SQL DATA "
                   "BEGIN INSERT INTO important VALUES (1); RETURN 1; END")
    cursor.close()
    conn.close()
    source = mysql_endpoint(mysql_database, "maria source")
    for target in (mysql_endpoint(mysql_database, "maria target"), sqlite_endpoint(tmp_path / "t.sqlite")):
        _fails_everywhere(source, target, "select sneaky() as n -- inserts a row", "READ ONLY")
    conn = _maria(mysql_database)
    cursor = conn.cursor()
    cursor.execute("SELECT COUNT(*) FROM important")
    assert cursor.fetchone() == (0,)
    conn.close()


def test_a_sqlite_query_cannot_load_an_extension(tmp_path: Path) -> None:
    source = _sqlite_source(tmp_path / "source.sqlite")
    _fails_everywhere(source, sqlite_endpoint(tmp_path / "t.sqlite"),
                      f"select load_extension('{tmp_path}/nothing') as x", "not authorized")
