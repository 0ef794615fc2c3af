"""``qdbm jobs export NAME --spark FILE.py`` without running Spark: what the file holds, and the
errors that stop an export or a run before anything starts."""

from __future__ import annotations

import io
import runpy
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.cli import main
from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects import get_dialect
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.jobs import Job, column_map_from_json
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.spark_runner import RUN_TOKEN
from tests.integration.conftest import Server
from tests.integration.spark_support import mysql_connect, pg_connect


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppContext:
    home = tmp_path / "home"
    monkeypatch.setenv("QDBM_HOME", str(home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return AppContext.create(AppPaths(home), origin="cli")


def save(context: AppContext, name: str, engine: str, server: Server, password: str | None = None) -> None:
    profile = ConnectionProfile(name=name, type=engine, host=server.host, port=server.port, user=server.user,
                                database=server.database)
    context.connections.add(profile, {"password": password} if password else None)


def script_config(path: Path) -> dict[str, Any]:
    """The settings an exported script holds (read without running it)."""
    config: dict[str, Any] = runpy.run_path(str(path), run_name="qdbm_exported")["CONFIG"]
    return config


@pytest.mark.postgresql
@pytest.mark.mysql
def test_the_exported_script_holds_no_password_and_names_the_variables_that_hold_them(
        cli_home: AppContext, pg_database: Server, mysql_user_with_password: Server, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    with closing(pg_connect(pg_database)) as conn:
        conn.execute("CREATE TABLE orders (id bigint, total numeric(12,2), note text, secret_col text)")
    save(cli_home, "Shop DB (prod)", "postgresql", pg_database)
    save(cli_home, "warehouse-1", "mysql", mysql_user_with_password, mysql_user_with_password.password)
    mapping = (column_map_from_json({"source": "total", "target": "amount", "type": "decimal(14,2)"}),
               column_map_from_json({"source": "secret_col", "include": False}))
    cli_home.schedules.save_job(Job(name="orders", source="Shop DB (prod)", target="warehouse-1",
                                    query="SELECT * FROM orders", table="orders_copy", column_map=mapping))
    script = tmp_path / "orders.py"

    assert main(["jobs", "export", "orders", "--spark", str(script)]) == 0

    out = capsys.readouterr()
    text = script.read_text(encoding="utf-8")
    assert mysql_user_with_password.password not in text + out.out + out.err
    head = text[:text.index("CONFIG = ")]
    assert "QDBM_PASSWORD_SHOP_DB__PROD_" in head and "QDBM_PASSWORD_WAREHOUSE_1" in head
    config = script_config(script)
    # The mapping as explicit casts: renamed, retyped, the left-out column not read into the target.
    assert config["variants"]["missing"]["columns"] == [
        ["id", "id", "bigint"], ["total", "amount", "decimal(14,2)"], ["note", "note", "string"]]
    create = config["variants"]["missing"]["create_staging"]
    assert f"qdbm_stg_{RUN_TOKEN}" in create and "`amount` DECIMAL(14,2)" in create
    assert "secret_col" not in create
    # The swap is the dialect's own SQL for the mode.
    mysql = get_dialect("mysql")
    assert config["variants"]["missing"]["swap"]["statements"] == list(mysql.swap_plan(
        LoadMode.APPEND, TableName("orders_copy"), TableName(f"qdbm_stg_{RUN_TOKEN}"), [], (), False).statements)


@pytest.mark.postgresql
@pytest.mark.mysql
def test_the_script_without_a_password_variable_stops_with_one_line_naming_it(
        cli_home: AppContext, pg_database: Server, mysql_database: Server, tmp_path: Path) -> None:
    with closing(pg_connect(pg_database)) as conn:
        conn.execute("CREATE TABLE t (id bigint)")
    save(cli_home, "src", "postgresql", pg_database)
    save(cli_home, "dst", "mysql", mysql_database)
    cli_home.schedules.save_job(Job(name="j", source="src", target="dst", query="SELECT id FROM t", table="t"))
    script = tmp_path / "j.py"
    assert main(["jobs", "export", "j", "--spark", str(script)]) == 0
    env = {"PATH": "/usr/bin:/bin", "QDBM_PASSWORD_SRC": ""}

    # Checked before Spark starts, so plain Python shows it (spark-submit runs the same code first).
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "qdbm-spark: error: the environment variable QDBM_PASSWORD_DST is not set: it holds the password of "
        "the connection 'dst' (set it to an empty value when it has none)"]
    bad_mark = subprocess.run([sys.executable, str(script), "--partitions", "0"], capture_output=True,
                              text=True, env={**env, "QDBM_PASSWORD_DST": ""}, timeout=60)
    assert bad_mark.returncode == 2 and bad_mark.stderr.splitlines() == [
        "qdbm-spark: error: --partitions must be at least 1"]


@pytest.mark.postgresql
@pytest.mark.mysql
def test_an_incremental_scripts_bad_mark_is_one_line(
        cli_home: AppContext, pg_database: Server, mysql_database: Server, tmp_path: Path) -> None:
    with closing(pg_connect(pg_database)) as conn:
        conn.execute("CREATE TABLE t (id bigint PRIMARY KEY, at timestamptz)")
    save(cli_home, "src", "postgresql", pg_database)
    save(cli_home, "dst", "mysql", mysql_database)
    cli_home.schedules.save_job(Job(name="inc", source="src", target="dst", query="SELECT * FROM t", table="t",
                                    mode="upsert", keys=("id",), incremental_column="at"))
    script = tmp_path / "inc.py"
    assert main(["jobs", "export", "inc", "--spark", str(script)]) == 0
    assert script_config(script)["incremental"]["mark_type"] == "timestamptz"
    env = {"PATH": "/usr/bin:/bin", "QDBM_PASSWORD_SRC": "", "QDBM_PASSWORD_DST": ""}

    result = subprocess.run([sys.executable, str(script), "--mark", "2026-01-01 10:00"], capture_output=True,
                            text=True, env=env, timeout=60)

    assert result.returncode == 2
    assert result.stderr.splitlines() == ["qdbm-spark: error: --mark '2026-01-01 10:00' is not a timestamptz value"]


@pytest.mark.postgresql
def test_export_refuses_what_a_spark_job_cannot_do_with_one_line_and_writes_nothing(
        cli_home: AppContext, pg_database: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with closing(pg_connect(pg_database)) as conn:
        conn.execute("CREATE TABLE t (id bigint, label text)")
    save(cli_home, "pg", "postgresql", pg_database)
    cli_home.connections.add(ConnectionProfile(name="lite", type="sqlite", path=str(tmp_path / "x.sqlite")))
    cli_home.schedules.save_job(Job(name="to sqlite", source="pg", target="lite", query="SELECT * FROM t",
                                    table="t"))
    cli_home.schedules.save_job(Job(name="to pg", source="pg", target="pg", query="SELECT * FROM t",
                                    table="t_copy"))
    script = tmp_path / "out.py"
    main(["jobs", "list"])  # the first start's notices are said once, before the cases
    capsys.readouterr()
    cases = [
        (["to sqlite", "--spark", str(script)], "a Spark job loads into PostgreSQL or MySQL/MariaDB; SQLite is "
         "not available as its target yet"),
        (["to pg", "--spark", str(script), "--partition-by", "nope"], "--partition-by 'nope' is not a column "
         "of the query (columns: id, label)"),
        (["to pg", "--spark", str(script), "--partition-by", "id", "--lower-bound", "1"],
         "give both --lower-bound and --upper-bound, or neither"),
        (["to pg", "--spark", str(tmp_path / "out.txt")], "a Spark job is a Python file: give a FILE ending "
         "in .py"),
        (["to pg", "--partition-by", "id"], "--partition-by, --lower-bound, --upper-bound and --partitions go "
         "with --spark"),
    ]
    for arguments, message in cases:
        assert main(["jobs", "export", *arguments]) == 2, arguments
        err = capsys.readouterr().err
        assert err.splitlines() == [f"qdbm: error: {message}"], arguments
    assert list(tmp_path.glob("out.*")) == []


@pytest.mark.mysql
def test_export_with_a_wrong_password_says_so_in_one_line_without_the_password(
        cli_home: AppContext, mysql_user_with_password: Server, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    with closing(mysql_connect(mysql_user_with_password)) as conn:
        conn.cursor().execute("CREATE TABLE t (id BIGINT)")
    save(cli_home, "my", "mysql", mysql_user_with_password, "wrong-" + mysql_user_with_password.password)
    cli_home.schedules.save_job(Job(name="j", source="my", target="my", query="SELECT id FROM t", table="t2"))

    assert main(["jobs", "export", "j", "--spark", str(tmp_path / "j.py")]) == 2

    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("qdbm: error:")]
    assert len(errors) == 1 and "cannot connect to 'my'" in errors[0]
    assert mysql_user_with_password.password not in err
    assert not (tmp_path / "j.py").exists()
