"""An exported Spark job run for real (spark-submit, local mode) between PostgreSQL and MariaDB.

Each test exports a saved job with ``qdbm jobs export NAME --spark FILE.py`` and runs the file
unchanged with spark-submit; the target is then read through the normal drivers and compared
value by value with the source. They skip when Java, pyspark or the JDBC jars are missing
(``make spark-test`` installs pyspark and requires them).
"""

from __future__ import annotations

import io
import sys
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import pytest

from qdbm_desktop.cli import main
from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import MigrationRequest, Status, resolve_endpoint, run_migration
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.watermark import Watermark
from tests.integration.conftest import Server
from tests.integration.spark_support import (
    BENCH_ROWS,
    assert_same_rows,
    bench_rows,
    create_mysql_bench_table,
    create_pg_bench,
    mysql_connect,
    pg_connect,
    run_spark,
    spark_submit,
    standalone_cluster,
)

pytestmark = [pytest.mark.postgresql, pytest.mark.mysql, pytest.mark.spark]

#: Every connection here has no password; the variables must still be set (empty) for the script.
NO_PASSWORDS = {"QDBM_PASSWORD_PG_SOURCE": "", "QDBM_PASSWORD_MARIADB": "", "QDBM_PASSWORD_PG_TARGET": ""}


@pytest.fixture(autouse=True)
def _spark_available() -> None:
    spark_submit()


def save_connection(context: AppContext, name: str, engine: str, server: Server) -> None:
    context.connections.add(ConnectionProfile(name=name, type=engine, host=server.host, port=server.port,
                                              user=server.user, database=server.database))


def export(tmp_path: Path, job: Job, *options: str) -> Path:
    script = tmp_path / "job_spark.py"
    assert main(["jobs", "export", job.name, "--spark", str(script), *options]) == 0
    return script


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppContext:
    """The app-data folder the CLI in this process works on (as in test_incremental_jobs)."""
    home = tmp_path / "home"
    monkeypatch.setenv("QDBM_HOME", str(home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return AppContext.create(AppPaths(home), origin="cli")


def staging_tables(server: Server) -> list[str]:
    with closing(mysql_connect(server)) as conn:
        cursor = conn.cursor()
        cursor.execute("SHOW TABLES LIKE 'qdbm\\_%'")
        return [str(r[0]) for r in cursor.fetchall()]


def test_pg_to_mariadb_spark_job_moves_200000_benchmark_rows_value_by_value(
        cli_home: AppContext, pg_database: Server, mysql_database: Server, tmp_path: Path) -> None:
    create_pg_bench(pg_database, "bench_src")
    save_connection(cli_home, "pg source", "postgresql", pg_database)
    save_connection(cli_home, "mariadb", "mysql", mysql_database)
    job = Job(name="bench to mariadb", source="pg source", target="mariadb", query="SELECT * FROM bench_src",
              table="bench_copy", mode=LoadMode.REPLACE.value)
    cli_home.schedules.save_job(job)
    script = export(tmp_path, job, "--partition-by", "id", "--partitions", "2")

    # A zone other than UTC on the machine: the script runs its JVM and Python in UTC itself.
    run = run_spark(script, env={**NO_PASSWORDS, "TZ": "America/New_York"})

    assert run.returncode == 0, run.output[-4000:]
    assert any(f"succeeded: {BENCH_ROWS:,} rows" in line for line in run.ours), run.ours
    assert_same_rows(bench_rows("mysql", mysql_database, "bench_copy"),
                     bench_rows("postgresql", pg_database, "bench_src"))
    assert staging_tables(mysql_database) == []


def test_mariadb_to_pg_spark_job_moves_200000_benchmark_rows_value_by_value(
        cli_home: AppContext, pg_database: Server, mysql_database: Server, tmp_path: Path) -> None:
    # The MariaDB source is the benchmark's table there, filled by QDBM's own migration.
    create_pg_bench(pg_database, "bench_seed")
    create_mysql_bench_table(mysql_database, "bench_src")
    save_connection(cli_home, "pg target", "postgresql", pg_database)
    save_connection(cli_home, "mariadb", "mysql", mysql_database)
    seeded = run_migration(MigrationRequest(
        source=resolve_endpoint(cli_home.connections, "pg target"),
        target=resolve_endpoint(cli_home.connections, "mariadb"),
        query="SELECT * FROM bench_seed", table=TableName("bench_src"), mode=LoadMode.APPEND))
    assert seeded.status is Status.SUCCEEDED, seeded.error
    job = Job(name="bench to pg", source="mariadb", target="pg target", query="SELECT * FROM bench_src",
              table="bench_copy", mode=LoadMode.APPEND.value)
    cli_home.schedules.save_job(job)
    script = export(tmp_path, job, "--partition-by", "id", "--lower-bound", "1", "--upper-bound",
                    str(BENCH_ROWS), "--partitions", "2")

    run = run_spark(script, env=NO_PASSWORDS)

    assert run.returncode == 0, run.output[-4000:]
    assert_same_rows(bench_rows("postgresql", pg_database, "bench_copy"),
                     bench_rows("mysql", mysql_database, "bench_src"))
    with closing(pg_connect(pg_database)) as conn:
        kinds = dict(conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = 'bench_copy'").fetchall())
        leftovers = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'qdbm%'").fetchone()
    # QDBM's mapping, not Spark's: TINYINT(1) is a boolean, TIMESTAMP(6) a timestamptz.
    assert kinds["flag"] == "boolean" and kinds["tstz"] == "timestamp with time zone"
    assert kinds["num"] == "numeric" and kinds["ts"] == "timestamp without time zone"
    assert leftovers == (0,)


def test_a_failed_spark_job_leaves_the_target_as_it_was_and_says_one_line(
        cli_home: AppContext, pg_database: Server, mysql_database: Server, tmp_path: Path) -> None:
    with closing(pg_connect(pg_database)) as conn:
        conn.execute("CREATE TABLE src (id bigint, label text)")
        conn.execute("INSERT INTO src SELECT g, 'row ' || g FROM generate_series(1, 5000) g")
        conn.execute("UPDATE src SET label = 'far too long for the column' WHERE id = 4321")
    with closing(mysql_connect(mysql_database)) as conn:
        cursor = conn.cursor()
        cursor.execute("CREATE TABLE dst (id BIGINT, label VARCHAR(12)) CHARACTER SET utf8mb4")
        cursor.execute("INSERT INTO dst VALUES (-1, 'kept'), (-2, 'kept too')")
    save_connection(cli_home, "pg source", "postgresql", pg_database)
    save_connection(cli_home, "mariadb", "mysql", mysql_database)
    job = Job(name="too long", source="pg source", target="mariadb", query="SELECT id, label FROM src",
              table="dst", mode=LoadMode.TRUNCATE.value)
    cli_home.schedules.save_job(job)
    script = export(tmp_path, job)

    run = run_spark(script, env=NO_PASSWORDS)

    assert run.returncode == 1, run.output[-4000:]
    last = run.ours[-1]
    assert last.startswith("qdbm-spark: failed: ") and last.endswith("; the target is unchanged"), run.ours
    assert "label" in last and "Traceback" not in run.output
    with closing(mysql_connect(mysql_database)) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT id, label FROM dst ORDER BY id")
        assert cursor.fetchall() == [(-2, "kept too"), (-1, "kept")]
    assert staging_tables(mysql_database) == []


def test_an_incremental_spark_job_reads_past_its_mark_and_prints_one_reset_mark_takes(
        cli_home: AppContext, pg_database: Server, mysql_database: Server, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    with closing(pg_connect(pg_database)) as conn:
        conn.execute("CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz, note text)")
        conn.execute("INSERT INTO events SELECT g, timestamptz '2026-01-01 00:00:00+00' + g * interval "
                     "'1 minute' + interval '0.000123 second', 'it''s ' || g FROM generate_series(1, 3000) g")
    save_connection(cli_home, "pg source", "postgresql", pg_database)
    save_connection(cli_home, "mariadb", "mysql", mysql_database)
    job = Job(name="events", source="pg source", target="mariadb", query="SELECT id, at, note FROM events",
              table="events", mode=LoadMode.UPSERT.value, keys=("id",), incremental_column="at")
    cli_home.schedules.save_job(job)
    mark = datetime(2026, 1, 2, 0, 0, 0, 123, tzinfo=timezone.utc)  # row 1440's time exactly
    cli_home.schedules.set_watermark(job.name, Watermark.of(mark), "at")
    script = export(tmp_path, job)

    run = run_spark(script, env=NO_PASSWORDS)

    assert run.returncode == 0, run.output[-4000:]
    with closing(mysql_connect(mysql_database)) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT MIN(id), MAX(id), COUNT(*) FROM events")
        # With keys the row at the mark itself is read again (>=), as QDBM's own runs do.
        assert cursor.fetchone() == (1440, 3000, 1561)
    printed = [line.split("=", 1)[1] for line in run.ours if line.startswith("QDBM_MARK=")]
    assert printed == ["2026-01-03T02:00:00.000123+00:00"]
    capsys.readouterr()
    assert main(["jobs", "reset-mark", job.name, "--to", printed[0]]) == 0
    assert cli_home.schedules.watermark(job.name) == Watermark("timestamptz", printed[0])

    # --mark on the script's command line starts elsewhere; the rows before stay as they were.
    again = run_spark(script, "--mark", "2026-01-01T00:10:00+00:00", env=NO_PASSWORDS)
    assert again.returncode == 0, again.ours
    with closing(mysql_connect(mysql_database)) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT MIN(id), COUNT(*) FROM events")
        assert cursor.fetchone() == (10, 2991)
        cursor.execute("SELECT note FROM events WHERE id = 2000")
        assert cursor.fetchone() == ("it's 2000",)

    # Nothing past the mark, read by a timestamp partition column: no row, no bounds to split by;
    # the run succeeds, changes nothing and keeps the mark it started from.
    later = "2027-01-01T00:00:00.000000+00:00"
    empty = run_spark(script, "--mark", later, "--partition-by", "at", "--partitions", "2", env=NO_PASSWORDS)
    assert empty.returncode == 0, empty.output[-4000:]
    assert any("succeeded: 0 rows" in line for line in empty.ours), empty.ours
    assert [line for line in empty.ours if line.startswith("QDBM_MARK=")] == [f"QDBM_MARK={later}"]
    with closing(mysql_connect(mysql_database)) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT MIN(id), COUNT(*) FROM events")
        assert cursor.fetchone() == (10, 2991)


def test_the_same_exported_script_runs_on_a_standalone_cluster_whose_executors_are_in_another_zone(
        cli_home: AppContext, pg_database: Server, mysql_database: Server, tmp_path: Path) -> None:
    rows = 20_000
    create_pg_bench(pg_database, "bench_src", rows)
    with closing(pg_connect(pg_database)) as conn:
        # Wall-clock times that do not exist in New York (the spring-forward hour): a JVM there
        # would move them by an hour.
        conn.execute("UPDATE bench_src SET ts = timestamp '2026-03-08 02:30:00.123456' + id * interval '1 second' "
                     "WHERE id <= 50")
    save_connection(cli_home, "pg source", "postgresql", pg_database)
    save_connection(cli_home, "mariadb", "mysql", mysql_database)
    job = Job(name="bench on a cluster", source="pg source", target="mariadb", query="SELECT * FROM bench_src",
              table="bench_copy", mode=LoadMode.REPLACE.value)
    cli_home.schedules.save_job(job)
    script = export(tmp_path, job, "--partition-by", "id", "--partitions", "4")

    with standalone_cluster(tmp_path / "cluster", "America/New_York") as master:
        run = run_spark(script, env={**NO_PASSWORDS, "TZ": "America/New_York"}, master=master)

    assert run.returncode == 0, run.output[-4000:]
    # The tasks ran in an executor process of the worker, not in the driver.
    assert "Registered executor" in run.output
    assert any(f"succeeded: {rows:,} rows" in line for line in run.ours), run.ours
    assert_same_rows(bench_rows("mysql", mysql_database, "bench_copy"),
                     bench_rows("postgresql", pg_database, "bench_src"))
    assert staging_tables(mysql_database) == []


def test_a_spark_jobs_password_never_shows_and_a_wrong_one_fails_in_one_line_leaving_the_target(
        cli_home: AppContext, pg_database: Server, mysql_user_with_password: Server, tmp_path: Path) -> None:
    server = mysql_user_with_password
    with closing(pg_connect(pg_database)) as conn:
        conn.execute("CREATE TABLE src (id bigint, label text)")
        conn.execute("INSERT INTO src SELECT g, 'row ' || g FROM generate_series(1, 100) g")
    with closing(mysql_connect(server)) as conn:
        cursor = conn.cursor()
        cursor.execute("CREATE TABLE dst (id BIGINT, label TEXT)")
        cursor.execute("INSERT INTO dst VALUES (-1, 'kept')")
    save_connection(cli_home, "pg source", "postgresql", pg_database)
    cli_home.connections.add(ConnectionProfile(name="warehouse", type="mysql", host=server.host, port=server.port,
                                               user=server.user, database=server.database),
                             {"password": server.password})
    job = Job(name="to warehouse", source="pg source", target="warehouse", query="SELECT id, label FROM src",
              table="dst", mode=LoadMode.REPLACE.value)
    cli_home.schedules.save_job(job)
    script = export(tmp_path, job)
    assert server.password not in script.read_text(encoding="utf-8")

    wrong = run_spark(script, env={"QDBM_PASSWORD_PG_SOURCE": "", "QDBM_PASSWORD_WAREHOUSE": "wrong-" + server.password})

    assert wrong.returncode == 1, wrong.output[-4000:]
    last = wrong.ours[-1]
    assert last.startswith("qdbm-spark: failed: ") and last.endswith("; the target is unchanged"), wrong.ours
    assert "Access denied" in last and "Traceback" not in wrong.output
    # The wrong password holds the right one: neither appears anywhere, Spark's log included.
    assert server.password not in wrong.output
    with closing(mysql_connect(server)) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT id, label FROM dst")
        assert cursor.fetchall() == [(-1, "kept")]

    right = run_spark(script, env={"QDBM_PASSWORD_PG_SOURCE": "", "QDBM_PASSWORD_WAREHOUSE": server.password})

    assert right.returncode == 0, right.output[-4000:]
    assert server.password not in right.output
    with closing(mysql_connect(server)) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT COUNT(*), SUM(id), MAX(label) FROM dst")
        assert cursor.fetchone() == (100, 5050, "row 99")
