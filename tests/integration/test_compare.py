"""``qdbm compare``: a source query against a target table, read-only, on the real servers."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mysql.connector
import psycopg
import pytest

from qdbm_desktop.cli import main
from tests.integration.conftest import Server

ROWS = [(i, f"row {i}", i * 1.5, f"2024-01-{i % 28 + 1:02d}") for i in range(1, 301)]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("QDBM_HOME", str(folder))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> bool:
    """One error line and no traceback (the first run's welcome notice may come before it)."""
    return "Traceback" not in err and [line for line in err.splitlines() if "notice:" not in line][0:2] == \
        [line for line in err.splitlines() if line.startswith("qdbm: error: ")]


def pg_execute(server: Server, *statements: str, rows: list[tuple[Any, ...]] | None = None,
               insert: str = "") -> None:
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database,
                         autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
        if rows:
            with conn.cursor() as cursor:
                cursor.executemany(insert, rows)


def pg_tables(server: Server) -> list[tuple[Any, ...]]:
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database) as conn:
        return [tuple(r) for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                               "ORDER BY 1").fetchall()]


@pytest.fixture
def two_tables(pg_database: Server) -> Iterator[Server]:
    create = "CREATE TABLE {} (id integer, label text, amount double precision, day date)"
    pg_execute(pg_database, create.format("src"), create.format("dst"))
    for table in ("src", "dst"):
        pg_execute(pg_database, rows=ROWS, insert=f"INSERT INTO {table} VALUES (%s, %s, %s, %s)")
    yield pg_database


def compare_args(server: Server, *extra: str) -> list[str]:
    url = server.url("postgresql")
    return ["compare", "--source", url, "--query", "SELECT id, label, amount, day FROM src", "--target", url,
            "--table", "dst", *extra]


def test_equal_tables_exit_zero_and_write_nothing(two_tables: Server, home: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    before = pg_tables(two_tables)
    code, out, err = run(capsys, *compare_args(two_tables, "--key", "id"))
    assert code == 0, err
    assert out.strip().endswith("equal") and "300 in the source" in out
    code, out, err = run(capsys, *compare_args(two_tables, "--json"))
    assert code == 0, err
    report = json.loads(out)
    assert report["equal"] is True and report["rows_equal"] is True
    assert (report["source"]["rows"], report["target"]["rows"], report["target"]["table"]) == (300, 300, "dst")
    assert [c["name"] for c in report["columns"]] == ["id", "label", "amount", "day"]
    assert all(c["equal"] and c["source_checksum"] == c["target_checksum"] for c in report["columns"])
    assert report["key"] == [] and report["differences"] == []
    assert pg_tables(two_tables) == before


def test_missing_extra_and_changed_rows_are_listed_by_key(two_tables: Server, home: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    pg_execute(two_tables, "DELETE FROM dst WHERE id = 7", "INSERT INTO dst VALUES (1000, 'new', 1, '2024-02-02')",
               "UPDATE dst SET label = 'changed' WHERE id = 42", "UPDATE dst SET amount = NULL WHERE id = 99")

    code, out, err = run(capsys, *compare_args(two_tables, "--key", "id", "--json"))

    assert code == 1, err
    report = json.loads(out)
    assert report["equal"] is False
    assert (report["source"]["rows"], report["target"]["rows"]) == (300, 300)
    assert {c["name"]: c["equal"] for c in report["columns"]} == {"id": False, "label": False, "amount": False,
                                                                  "day": False}
    found = {(d["kind"], d["key"]["id"]): d for d in report["differences"]}
    assert set(found) == {("missing", 7), ("extra", 1000), ("different", 42), ("different", 99)}
    assert found["missing", 7]["source"] == {"id": 7, "label": "row 7", "amount": 10.5, "day": "2024-01-08"}
    assert found["missing", 7]["target"] is None
    assert found["different", 42]["target"]["label"] == "changed"
    assert found["different", 99]["source"]["amount"] == 148.5 and found["different", 99]["target"]["amount"] is None
    assert [d["key"]["id"] for d in report["differences"]] == [7, 42, 99, 1000]

    code, out, err = run(capsys, *compare_args(two_tables, "--key", "id"))
    assert code == 1
    assert "missing from the target: id=7" in out and "label 'row 42' -> 'changed'" in out
    assert out.strip().endswith("not equal")


def test_without_a_key_the_columns_that_differ_are_named(two_tables: Server, home: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    pg_execute(two_tables, "UPDATE dst SET label = 'changed' WHERE id = 42")
    code, out, err = run(capsys, *compare_args(two_tables))
    assert code == 1, err
    assert "  label   DIFFERENT" in out and "  id      equal" in out
    assert "give --key COL[,COL] to list the rows that differ" in out


def test_values_swapped_between_rows_are_seen(two_tables: Server, home: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    pg_execute(two_tables, "UPDATE dst SET label = CASE id WHEN 1 THEN 'row 2' ELSE 'row 1' END WHERE id IN (1, 2)")
    code, out, err = run(capsys, *compare_args(two_tables, "--key", "id", "--json"))
    assert code == 1, err
    report = json.loads(out)
    assert all(c["equal"] for c in report["columns"]) and report["rows_equal"] is False
    assert [(d["kind"], d["key"]["id"]) for d in report["differences"]] == [("different", 1), ("different", 2)]


def test_bad_input_is_one_line_and_exit_two(two_tables: Server, home: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cases: list[tuple[tuple[str, ...], str]] = [(("--key", "nope"), "--key 'nope' is not a column"),
                                                ((), "does not exist")]
    for extra, expected in cases:
        args = compare_args(two_tables, *extra)
        if not extra:
            args[args.index("dst")] = "no_such_table"
        code, out, err = run(capsys, *args)
        assert code == 2, (out, err)
        assert expected in err and one_error_line(err)
    code, out, err = run(capsys, *compare_args(two_tables)[:-2], "--table", "dst; DROP TABLE src")
    assert code == 2 and one_error_line(err)


TEXT_KEYS = ["a", "A", "b", "B", "é", "e", "E", "z", "Z", "ß", "ss", "ab", "a b", "_x", "-y", "Ä", "ä", "ø",
             "日本", "😀", "0", "10", "9"]


def test_text_keys_match_across_postgresql_and_mariadb(pg_database: Server, mysql_database: Server,
                                                       home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """MariaDB's case- and accent-insensitive collation sorts these keys unlike PostgreSQL: the
    comparison does not depend on either order."""
    rows = [(key, n) for n, key in enumerate(TEXT_KEYS)]
    pg_execute(pg_database, "CREATE TABLE src (k text, n integer)", rows=rows,
               insert="INSERT INTO src VALUES (%s, %s)")
    conn = mysql.connector.connect(host=mysql_database.host, port=mysql_database.port, user=mysql_database.user,
                                   password=mysql_database.password, database=mysql_database.database,
                                   autocommit=True)
    cursor = conn.cursor()
    cursor.execute("CREATE TABLE dst (k varchar(20) COLLATE utf8mb4_general_ci, n int)")
    cursor.executemany("INSERT INTO dst VALUES (%s, %s)", rows)
    query = ["--source", pg_database.url("postgresql"), "--query", "SELECT k, n FROM src",
             "--target", mysql_database.url("mysql"), "--table", "dst", "--key", "k", "--json"]
    code, out, err = run(capsys, "compare", *query)
    assert code == 0, (out, err)

    cursor.execute("UPDATE dst SET n = 100 WHERE k = BINARY 'E'")
    cursor.execute("DELETE FROM dst WHERE k = BINARY 'ä'")
    cursor.execute("INSERT INTO dst VALUES ('Ö', 7)")
    conn.close()
    code, out, err = run(capsys, "compare", *query)
    assert code == 1, err
    differences = {(d["kind"], d["key"]["k"]) for d in json.loads(out)["differences"]}
    assert differences == {("different", "E"), ("missing", "ä"), ("extra", "Ö")}
