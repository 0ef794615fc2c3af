"""`qdbm migrate` on the demo databases: no server needed."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from qdbm_desktop.core.demo import DEMO_QUERY, DEMO_SOURCE_NAME, DEMO_TARGET_NAME
from tests.core.cli_runner import Cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("QDBM_HOME", str(folder))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return folder


def warehouse(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "demo" / "warehouse.sqlite")


def test_demo_migration_moves_every_order_and_prints_a_summary(home: Path, cli: Cli) -> None:
    code, out, err = cli("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
                         "--query", DEMO_QUERY, "--table", "orders_report", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["status"], summary["rows_read"], summary["rows_written"]) == ("succeeded", 3000, 3000)
    with warehouse(home) as db:
        assert db.execute("SELECT COUNT(*) FROM orders_report").fetchone() == (3000,)
        shop = sqlite3.connect(home / "demo" / "demo_shop.sqlite")
        assert db.execute("SELECT SUM(CAST(total AS TEXT) + 0) FROM orders_report").fetchone() == \
            shop.execute("SELECT SUM(total) FROM orders").fetchone()
        shop.close()
        assert not db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'qdbm_%'").fetchall()


def test_dry_run_prints_the_ddl_and_changes_nothing(home: Path, cli: Cli) -> None:
    code, out, err = cli("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
                         "--query", "SELECT customer_id, name, credit_limit FROM customers",
                         "--table", "customers", "--map", "credit_limit=decimal(14,2)", "--dry-run")
    assert code == 0, err
    assert "CREATE TABLE" in out and "credit_limit" in out and "decimal(14,2)" in out
    assert "will be created" in out
    with warehouse(home) as db:
        assert db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone() == (0,)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "0"], "not a whole number from 1 to 10,000,000"),
        (["--query", "SELECT 1; DELETE FROM customers"], "2 statements"),
        (["--query", "UPDATE customers SET name = 'x' -- all"], "the query must be one SELECT (this is an UPDATE)"),
        (["--query", "pragma journal_mode = wal"], "the query must be one SELECT (this is a PRAGMA)"),
        (["--query", "vacuum into 'copy.db'"], "the query must be one SELECT (this is a VACUUM)"),
        (["--mode", "upsert"], "upsert needs the key columns"),
        (["--map", "total=decimal(2,5)"], "scale 5 is larger"),
        (["--table", "a.b.c"], "is not a table name"),
        (["--source", "nope"], "no saved connection named 'nope'"),
    ],
)
def test_bad_usage_exits_2_and_touches_nothing(home: Path, cli: Cli,
                                               args: list[str], message: str) -> None:
    cli("connections", "list")  # the first start makes the demo warehouse looked at below
    base = {"--source": DEMO_SOURCE_NAME, "--target": DEMO_TARGET_NAME, "--query": "SELECT * FROM orders",
            "--table": "orders_copy"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    code, out, err = cli("migrate", *[x for kv in base.items() for x in kv])
    assert code == 2, err
    assert message in err.strip().splitlines()[-1]
    with warehouse(home) as db:
        assert db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone() == (0,)


def test_failed_run_exits_1_naming_stage_and_connection(home: Path, cli: Cli) -> None:
    code, out, err = cli("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
                         "--query", "SELECT * FROM no_such_table", "--table", "x")
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert "read failed on 'Demo shop (SQLite)'" in last and "no_such_table" in last
    assert "failed:" in out


def test_same_sqlite_file_as_source_and_target_needs_wal(home: Path, cli: Cli) -> None:
    args = ["migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_SOURCE_NAME,
            "--query", "SELECT * FROM customers", "--table", "customers_copy"]
    code, out, err = cli(*args)
    assert code == 2 and "WAL mode" in err.strip().splitlines()[-1]
    with sqlite3.connect(home / "demo" / "demo_shop.sqlite") as db:
        db.execute("PRAGMA journal_mode=WAL")
    code, out, err = cli(*args)
    assert code == 0, err
    with sqlite3.connect(home / "demo" / "demo_shop.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM customers_copy").fetchone() == (500,)


def test_runs_of_the_command_line_are_in_its_history(home: Path, cli: Cli) -> None:
    assert cli("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
               "--query", DEMO_QUERY, "--table", "orders_report")[0] == 0
    code, _, err = cli("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
                       "--query", "SELECT * FROM no_such_table", "--table", "broken")
    assert code != 0 and "no_such_table" in err

    code, out, _ = cli("history", "--json")
    assert code == 0
    runs = json.loads(out)
    assert [(r["status"], r["table"], r["origin"]) for r in runs] == [
        ("failed", "broken", "cli"), ("succeeded", "orders_report", "cli")]
    assert runs[1]["rows_written"] == 3000 and "no_such_table" in runs[0]["error"]

    code, out, _ = cli("history", "--status", "failed")
    assert code == 0 and "broken" in out and "orders_report" not in out
    header, row = out.splitlines()[:2]
    assert header.split()[:4] == ["ID", "STARTED", "STATUS", "JOB"] and row.split()[4] == "-"
    code, out, _ = cli("history", "--log", str(runs[1]["id"]))
    assert code == 0 and "succeeded: 3,000 rows" in out


@pytest.mark.parametrize("value", ["-1", "ten", "9" * 30, "nan", "inf", " 5x"])
def test_a_bad_wait_timeout_is_one_clear_line_and_exit_2(home: Path, cli: Cli,
                                                         value: str) -> None:
    code, out, text = cli("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
                          "--query", "SELECT 1", "--table", "t", "--wait-timeout", value)
    assert code == 2
    err = text.strip().splitlines()
    assert "give a number of seconds from 0 to 604800" in err[-1] and "Traceback" not in "".join(err)


def test_a_run_of_the_command_line_keeps_its_temporary_files_in_the_app_folder_and_leaves_nothing(
        home: Path, cli: Cli) -> None:
    code, out, err = cli("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
                         "--query", "SELECT * FROM customers", "--table", "customers_copy", "--wait-timeout", "0")
    assert code == 0, err
    runs = home / "runs"
    assert runs.is_dir() and oct(runs.stat().st_mode & 0o777) == "0o700"
    assert list(runs.iterdir()) == []
    assert not list((home / "demo").glob("*.qdbm-*.lock"))


def test_verify_checksum_is_reported_and_a_bad_level_is_one_line(home: Path, cli: Cli) -> None:
    code, out, err = cli("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
                     "--query", DEMO_QUERY, "--table", "orders_verified", "--verify", "checksum")
    assert code == 0, err
    assert out.strip().endswith("verified by checksum")
    code, out, err = cli("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
                     "--query", DEMO_QUERY, "--table", "orders_counted", "--json")
    assert code == 0, err
    assert json.loads(out)["verified"] == "counts"
    code, out, err = cli("settings", "set", "verify", "checksum")
    assert code == 0, err
    code, out, err = cli("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
                     "--query", DEMO_QUERY, "--table", "orders_default", "--json")
    assert code == 0, err
    assert json.loads(out)["verified"] == "checksum"
    code, out, err = cli("migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
                     "--query", DEMO_QUERY, "--table", "orders_bad", "--verify", "sha")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "--verify" in err
