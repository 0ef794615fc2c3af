"""The fidelity report on the real servers: ``qdbm migrate --plan`` changes nothing, a refused column
stops the run before anything is created, a lossy one runs only with ``--accept-lossy``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import mysql.connector
import psycopg
import pytest

from qdbm_desktop.cli import main
from tests.integration.conftest import Server

#: One column per verdict from PostgreSQL: exact, converted (into MariaDB), lossy by --map, refused by --map.
QUERY = ("select n::int as id, true as flag, ('text ' || n) as label, '\\x01'::bytea as blob "
         "from generate_series(1, 3) n")


def qdbm(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["--home", str(home), *args])
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def maria_tables(server: Server) -> list[str]:
    conn = mysql.connector.connect(host=server.host, port=server.port, user=server.user,
                                   password=server.password, database=server.database)
    try:
        cursor: Any = conn.cursor()
        cursor.execute("SHOW TABLES")
        return sorted(str(r[0]) for r in cursor.fetchall())
    finally:
        conn.close()


def maria(server: Server, *statements: str) -> list[tuple[object, ...]]:
    conn = mysql.connector.connect(host=server.host, port=server.port, user=server.user,
                                   password=server.password, database=server.database, autocommit=True)
    try:
        cursor: Any = conn.cursor()
        rows: list[tuple[object, ...]] = []
        for statement in statements:
            cursor.execute(statement)
            rows = list(cursor.fetchall()) if cursor.with_rows else []
        return rows
    finally:
        conn.close()


def test_plan_reports_each_verdict_and_leaves_the_target_untouched(
        pg_database: Server, mysql_database: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = qdbm(capsys, tmp_path, "migrate", "--source", pg_database.url("postgresql"),
                          "--target", mysql_database.url("mysql"), "--query", QUERY, "--table", "fidelity_plan",
                          "--map", "label=varchar(6)", "--map", "blob=int32", "--plan", "--json")
    assert code == 0, err
    report = json.loads(out)
    verdicts = {c["column"]: c["verdict"] for c in report["columns"]}
    assert verdicts == {"id": "exact", "flag": "converted", "label": "lossy", "blob": "refused"}
    assert report["summary"] == {"exact": 1, "converted": 1, "lossy": 1, "refused": 1}
    assert report["runs"] is False and "blob" in report["stops"]
    assert report["rows_checked"] == 3
    # 'text 1' fits varchar(6); none is longer: no value issue for label.
    assert [v for v in report["values"] if v["column"] == "label"] == []
    assert maria_tables(mysql_database) == []

    code, out, err = qdbm(capsys, tmp_path, "migrate", "--source", pg_database.url("postgresql"),
                          "--target", mysql_database.url("mysql"), "--query", QUERY, "--table", "fidelity_plan",
                          "--map", "label=varchar(5)", "--plan")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["COLUMN", "SOURCE", "TYPE", "TARGET", "TYPE", "VERDICT", "REASON"]
    assert any(line.startswith("label") and "lossy" in line for line in lines)
    assert "2 exact, 1 converted, 1 lossy; 3 value(s) in the first 3 rows" in out
    assert "column 'label', row 1: 'text 1' has 6 characters, more than varchar(5)" in out
    assert maria_tables(mysql_database) == []


def test_a_refused_column_stops_the_run_before_anything_is_created(
        pg_database: Server, mysql_database: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = qdbm(capsys, tmp_path, "migrate", "--source", pg_database.url("postgresql"),
                        "--target", mysql_database.url("mysql"), "--query", QUERY, "--table", "fidelity_refused",
                        "--map", "blob=int32", "--accept-lossy", "all")
    assert code == 1
    assert "column 'blob' is refused: a binary value cannot be stored in a int32 column" in err
    assert maria_tables(mysql_database) == []


def test_a_lossy_column_runs_only_when_accepted(
        pg_database: Server, mysql_database: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["migrate", "--source", pg_database.url("postgresql"), "--target", mysql_database.url("mysql"),
            "--query", "select n::int as id, ('text ' || n) as label from generate_series(1, 3) n",
            "--table", "fidelity_lossy", "--map", "label=varchar(10)"]
    code, _, err = qdbm(capsys, tmp_path, *args)
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert "lossy column(s) label" in last and "--accept-lossy label" in last
    assert maria_tables(mysql_database) == []

    code, out, err = qdbm(capsys, tmp_path, *args, "--accept-lossy", "label")
    assert code == 0, err
    assert maria(mysql_database, "SELECT id, label FROM fidelity_lossy ORDER BY id") == [
        (1, "text 1"), (2, "text 2"), (3, "text 3")]


def test_an_existing_utf8mb3_column_is_lossy_and_its_4_byte_values_are_named(
        pg_database: Server, mysql_database: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    maria(mysql_database, "CREATE TABLE fidelity_mb3 (id INT, note VARCHAR(8) CHARACTER SET utf8mb3)",
          "INSERT INTO fidelity_mb3 VALUES (0, 'kept')")
    query = "select 1 as id, 'plain' as note union all select 2, 'smile \U0001F600' union all select 3, 'far too long'"
    code, out, err = qdbm(capsys, tmp_path, "migrate", "--source", pg_database.url("postgresql"),
                          "--target", mysql_database.url("mysql"), "--query", query, "--table", "fidelity_mb3",
                          "--plan", "--json")
    assert code == 0, err
    report = json.loads(out)
    note = next(c for c in report["columns"] if c["column"] == "note")
    assert note["verdict"] == "lossy" and note["target_type"] == "varchar(8)"
    issues = {(v["column"], v["row"]): v["reason"] for v in report["values"]}
    assert "4-byte character" in issues[("note", 2)]
    assert "more than varchar(8)" in issues[("note", 3)]
    # id int32 into the existing INT: exact; the table is as it was.
    assert next(c for c in report["columns"] if c["column"] == "id")["verdict"] == "exact"
    assert maria(mysql_database, "SELECT id, note FROM fidelity_mb3") == [(0, "kept")]


def test_sqlite_target_plan_names_negative_zero_and_leaves_the_file_alone(
        pg_database: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "fidelity.db"
    sqlite3.connect(target).close()
    before = target.read_bytes()
    code, out, err = qdbm(capsys, tmp_path / "home", "migrate", "--source", pg_database.url("postgresql"),
                          "--target", f"sqlite:///{target}", "--query",
                          "select 1::float8 as x union all select '-0'::float8", "--table", "t", "--plan",
                          "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["columns"][0]["verdict"] == "converted"
    assert report["values"] == [{"column": "x", "row": 2, "value": "-0.0",
                                 "reason": "becomes 0.0: the target has no negative zero"}]
    assert target.read_bytes() == before


def test_postgresql_to_postgresql_is_exact_and_a_narrower_existing_column_is_lossy(
        pg_database: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(pg_database.url("postgresql"), autocommit=True) as conn:
        conn.execute("CREATE TABLE fidelity_narrow (id smallint, label varchar(3))")
    source = pg_database.url("postgresql")
    query = "select 40000::int as id, 'abcd'::varchar(4) as label"
    code, out, err = qdbm(capsys, tmp_path, "migrate", "--source", source, "--target", source, "--query", query,
                          "--table", "fidelity_new", "--plan", "--json")
    assert code == 0, err
    assert {c["verdict"] for c in json.loads(out)["columns"]} == {"exact"}
    code, out, err = qdbm(capsys, tmp_path, "migrate", "--source", source, "--target", source, "--query", query,
                          "--table", "fidelity_narrow", "--plan", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [c["verdict"] for c in report["columns"]] == ["lossy", "lossy"]
    assert {(v["column"], v["row"]) for v in report["values"]} == {("id", 1), ("label", 1)}
    with psycopg.connect(source) as conn:
        tables = conn.execute("select tablename from pg_tables where schemaname = 'public' order by 1").fetchall()
        assert tables == [("fidelity_narrow",)]
        assert conn.execute("select count(*) from fidelity_narrow").fetchone() == (0,)


def test_a_job_keeps_its_accepted_columns(
        pg_database: Server, mysql_database: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, server, scheme in (("src", pg_database, "postgresql"), ("dst", mysql_database, "mysql")):
        code, _, err = qdbm(capsys, tmp_path, "connections", "add", name, "--url", server.url(scheme))
        assert code == 0, err
    code, _, err = qdbm(capsys, tmp_path, "jobs", "add", "fid", "--source", "src", "--target", "dst",
                        "--query", "select 'abc'::text as label", "--table", "fidelity_job",
                        "--map", "label=varchar(5)", "--accept-lossy", "label")
    assert code == 0, err
    code, out, err = qdbm(capsys, tmp_path, "jobs", "show", "fid")
    assert code == 0, err
    assert "accept lossy: label" in out.splitlines()
    code, _, err = qdbm(capsys, tmp_path, "run", "fid")
    assert code == 0, err
    assert maria(mysql_database, "SELECT label FROM fidelity_job") == [("abc",)]
