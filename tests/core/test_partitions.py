"""Partitioned reads without a server: the split of a column's range, the partitions' filters, the
option on the command line and in saved jobs (jobs.json checked on read)."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from qdbm_desktop.core import partition_plan
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.partition_plan import (
    Partitioning,
    auto_count,
    filters,
    given_points,
    literal,
    parse_bounds,
    parse_count,
    split_points,
)
from qdbm_desktop.core.types import Kind
from tests.core.cli_runner import Cli


def test_integer_ranges_split_evenly() -> None:
    assert split_points(0, 100, 4) == [25, 50, 75]
    assert split_points(1, 3, 8) == [2]  # fewer distinct values than partitions
    assert split_points(5, 5, 4) == []
    assert split_points(None, None, 4) == []


def test_dates_timestamps_and_decimals_split_too() -> None:
    assert split_points(date(2024, 1, 1), date(2024, 1, 31), 3) == [date(2024, 1, 11), date(2024, 1, 21)]
    assert split_points(datetime(2024, 1, 1), datetime(2024, 1, 2), 2) == [datetime(2024, 1, 1, 12)]
    assert split_points(Decimal("0"), Decimal("1"), 4) == [Decimal("0.25"), Decimal("0.5"), Decimal("0.75")]


def test_infinite_floats_ask_for_bounds() -> None:
    with pytest.raises(UsageError, match="--partition-bounds"):
        split_points(0.0, float("inf"), 2)


def test_the_filters_cover_every_value_and_null_once() -> None:
    conditions = filters('"g"', [10, 20], "postgresql")
    assert conditions == ['("g" < 10 OR "g" IS NULL)', '"g" >= 10 AND "g" < 20', '"g" >= 20']
    rows = [None, -5, 9, 10, 15, 20, 99]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (g INTEGER)")
    db.executemany("INSERT INTO t VALUES (?)", [(r,) for r in rows])
    seen = []
    for condition in filters("g", [10, 20], "sqlite"):
        seen += [g for (g,) in db.execute(f"SELECT g FROM t WHERE {condition}")]
    assert sorted(seen, key=lambda v: (v is not None, v or 0)) == [None, -5, 9, 10, 15, 20, 99]


def test_literals_per_source() -> None:
    moment = datetime(2024, 5, 6, 7, 8, 9, 500, tzinfo=timezone.utc)
    assert literal(moment, "postgresql") == "TIMESTAMPTZ '2024-05-06T07:08:09.000500+00:00'"
    assert literal(moment, "mysql") == "TIMESTAMP '2024-05-06 07:08:09.000500'"
    assert literal(date(2024, 5, 6), "sqlite") == "'2024-05-06'"
    assert literal(Decimal("1.50"), "mysql") == "1.50"
    with pytest.raises(UsageError):
        literal(True, "postgresql")


def test_given_bounds() -> None:
    spec = Partitioning(4, "d", ("2024-01-01", "2024-01-05"))
    assert given_points(spec, Kind.DATE, 4)[0] == [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)]
    listed = Partitioning(0, "n", ("0", "10", "50", "100"))
    assert given_points(listed, Kind.INT64, 3) == ([10, 50], 0, 100)
    with pytest.raises(UsageError, match="must go up"):
        given_points(Partitioning(2, "n", ("5", "1")), Kind.INT64, 2)
    with pytest.raises(UsageError, match="is not a date"):
        given_points(Partitioning(2, "d", ("x", "y")), Kind.DATE, 2)


def test_counts_and_bounds_as_typed() -> None:
    assert parse_count("auto") == 0
    assert parse_count("8") == 8
    for bad in ("0", "33", "two", "-1"):
        with pytest.raises(UsageError):
            parse_count(bad)
    assert parse_bounds("1, 9") == ("1", "9")
    with pytest.raises(UsageError):
        parse_bounds("5")


def test_auto_follows_the_measured_table_and_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    assert auto_count("oracle", "postgresql", cores=2) == 1  # never measured: one reader
    monkeypatch.setattr(partition_plan, "AUTO_MEASURED", {("mysql", "mysql"): 2})
    assert auto_count("mysql", "mysql", cores=partition_plan.AUTO_MEASURED_CORES) == 2
    assert auto_count("mysql", "mysql", cores=1) == 1
    assert auto_count("mysql", "mysql", cores=64) == partition_plan.AUTO_MAX
    assert auto_count("postgresql", "mysql", cores=64) == 1  # measured no faster in partitions


def _job(**fields: object) -> dict[str, object]:
    return {"name": "j", "source": "a", "target": "b", "query": "SELECT 1 AS x", "table": "t", **fields}


def test_a_saved_job_keeps_its_partitions() -> None:
    job = Job.from_json(_job(partitions="auto", partition_by="id", partition_bounds=["1", "100"]))
    assert (job.partitions, job.partition_by, job.partition_bounds) == (0, "id", ("1", "100"))
    again = Job.from_json(job.to_json())
    assert again.partitioning() == Partitioning(0, "id", ("1", "100"))
    assert Job.from_json(_job(partitions=4, partition_by="id")).partitioning() == Partitioning(4, "id")


@pytest.mark.parametrize(("fields", "message"), [
    ({"partitions": 4}, "needs --partition-by"),
    ({"partitions": 99, "partition_by": "id"}, "partitions"),
    ({"partitions": True, "partition_by": "id"}, "partitions"),
    ({"partition_by": "id"}, "need --partitions"),
    ({"partitions": 2, "partition_by": "id", "partition_bounds": ["1"]}, "partition-bounds"),
    ({"partitions": 2, "partition_by": "id", "incremental_column": "id"}, "incremental"),
])
def test_a_malformed_stored_job_is_refused_naming_it(fields: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Job.from_json(_job(**fields))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QDBM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return tmp_path / "home"


MIGRATE = ["--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME,
           "--query", "SELECT customer_id, name FROM customers", "--table", "parts"]


def test_jobs_add_and_show_carry_the_partitions(home: Path, cli: Cli) -> None:
    cli.ok("jobs", "add", "p", *MIGRATE, "--partitions", "3", "--partition-by", "customer_id",
           "--partition-bounds", "1,100")
    shown = cli.ok("jobs", "show", "p")
    assert "partitions:  3 by customer_id, bounds 1,100" in shown
    data = json.loads(cli.ok("jobs", "show", "p", "--json"))
    assert (data["partitions"], data["partition_by"], data["partition_bounds"]) == (3, "customer_id",
                                                                                   ["1", "100"])


def test_migrate_runs_in_partitions(home: Path, cli: Cli) -> None:
    out = cli.ok("migrate", *MIGRATE, "--partitions", "2", "--partition-by", "customer_id", "--verify",
                 "checksum", "--json")
    summary = json.loads(out)
    assert (summary["status"], summary["rows_written"], summary["verified"]) == ("succeeded", 500, "checksum")


@pytest.mark.parametrize(("extra", "message"), [
    (["--partitions", "x", "--partition-by", "id"], "--partitions takes a number"),
    (["--partitions", "2"], "--partition-by needs a column"),
    (["--partitions", "2", "--partition-by", "name"], "must be a number, a date or a timestamp"),
    (["--partitions", "2", "--partition-by", "nope"], "is not among the query's columns"),
])
def test_bad_partition_options_get_one_line(home: Path, cli: Cli, extra: list[str], message: str) -> None:
    code, out, err = cli("migrate", *MIGRATE, *extra)
    assert code != 0
    assert message in err
    assert "Traceback" not in err
