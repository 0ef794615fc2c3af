"""Many tables in one run (``qdbm migrate --tables``) on the real servers: a fixture of composite
keys, self-referencing and cyclic foreign keys, unique and partial indexes, a view and an odd name,
copied PostgreSQL <-> MariaDB and to and from SQLite; every table arrives with every row, parents
before children, and a failed table stops the rest unless --continue-on-error."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.cli import main
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.history import RunTrigger
from qdbm_desktop.core.incremental import run_job
from qdbm_desktop.core.migration import Status
from qdbm_desktop.core.paths import AppPaths
from tests.integration.conftest import Server

ODD = "Odd name-€"
#: (table, rows) in the fixture; the view ``v_child`` shows child's rows.
ROWS = {"parent": 3, "child": 4, "node": 3, "cyc_a": 2, "cyc_b": 2, ODD: 2}

COMMON = [
    "CREATE TABLE parent (a int NOT NULL, b varchar(10) NOT NULL, label varchar(20), PRIMARY KEY (a, b), "
    "CONSTRAINT parent_label_uq UNIQUE (label))",
    "CREATE TABLE child (id int PRIMARY KEY, pa int NOT NULL, pb varchar(10) NOT NULL, active int, "
    "CONSTRAINT child_parent_fk FOREIGN KEY (pa, pb) REFERENCES parent (a, b))",
    "CREATE TABLE node (id int PRIMARY KEY, up int, CONSTRAINT node_up_fk FOREIGN KEY (up) REFERENCES node (id))",
    "CREATE TABLE cyc_a (id int PRIMARY KEY, b_id int)",
    "CREATE TABLE cyc_b (id int PRIMARY KEY, a_id int, CONSTRAINT cyc_b_a_fk FOREIGN KEY (a_id) REFERENCES cyc_a (id))",
    "CREATE TABLE {odd} (k int, j int, note varchar(10), PRIMARY KEY (k, j))",
    "CREATE VIEW v_child AS SELECT id, pa FROM child",
    "INSERT INTO parent VALUES (1, 'x', 'one'), (2, 'y', 'two'), (3, 'z', NULL)",
    "INSERT INTO child VALUES (1, 1, 'x', 1), (2, 1, 'x', 0), (3, 2, 'y', 1), (4, 3, 'z', NULL)",
    "INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2)",
    "INSERT INTO cyc_a VALUES (1, NULL), (2, NULL)",
    "INSERT INTO cyc_b VALUES (1, 1), (2, 2)",
    "UPDATE cyc_a SET b_id = id",
    "INSERT INTO {odd} VALUES (1, 1, 'a'), (1, 2, 'b')",
]
CYCLE = "ALTER TABLE cyc_a ADD CONSTRAINT cyc_a_b_fk FOREIGN KEY (b_id) REFERENCES cyc_b (id)"
PG_EXTRA = [CYCLE, "CREATE INDEX child_active_part ON child (pa) WHERE active = 1",
            "CREATE UNIQUE INDEX node_up_uix ON node (up)"]
MYSQL_EXTRA = [CYCLE, "CREATE UNIQUE INDEX node_up_uix ON node (up)"]
SQLITE_EXTRA = ["CREATE INDEX child_active_part ON child (pa) WHERE active = 1",
                "CREATE UNIQUE INDEX node_up_uix ON node (up)"]


class Side:
    def __init__(self, engine: str, server: Server | None = None, path: Path | None = None) -> None:
        self.engine, self.server, self.path = engine, server, path

    @property
    def url(self) -> str:
        if self.engine == "sqlite":
            assert self.path is not None
            return f"sqlite:///{self.path}"
        assert self.server is not None
        return self.server.url("postgresql" if self.engine == "postgresql" else "mysql")

    def quote(self, name: str) -> str:
        return f"`{name}`" if self.engine == "mysql" else f'"{name}"'

    def connect(self) -> Any:
        if self.engine == "postgresql":
            import psycopg

            assert self.server is not None
            return psycopg.connect(host=self.server.host, port=self.server.port, user=self.server.user,
                                   dbname=self.server.database)
        if self.engine == "mysql":
            import mysql.connector

            assert self.server is not None
            return mysql.connector.connect(host=self.server.host, port=self.server.port, user=self.server.user,
                                           password=self.server.password, database=self.server.database)
        assert self.path is not None
        return sqlite3.connect(self.path)

    def execute(self, statements: list[str]) -> None:
        with closing(self.connect()) as conn:
            cursor = conn.cursor()
            for statement in statements:
                cursor.execute(statement.replace("{odd}", self.quote(ODD)))
            conn.commit()

    def load_fixture(self) -> None:
        extra = {"postgresql": PG_EXTRA, "mysql": MYSQL_EXTRA, "sqlite": SQLITE_EXTRA}[self.engine]
        common = COMMON
        if self.engine == "sqlite":
            # SQLite adds no foreign key to a table: cyc_a gets its (cyclic) one when it is created.
            common = [s.replace("b_id int)", "b_id int REFERENCES cyc_b (id))") for s in COMMON]
        self.execute(common + extra)

    def count(self, table: str) -> int:
        with closing(self.connect()) as conn:
            cursor = conn.cursor()
            cursor.execute(f"SELECT count(*) FROM {self.quote(table)}")
            return int(cursor.fetchone()[0])

    def rows(self, table: str, order: str) -> list[tuple[Any, ...]]:
        with closing(self.connect()) as conn:
            cursor = conn.cursor()
            cursor.execute(f"SELECT * FROM {self.quote(table)} ORDER BY {order}")
            return [tuple(r) for r in cursor.fetchall()]


@pytest.fixture
def side(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str, str], Side]:
    def make(engine: str, label: str) -> Side:
        if engine == "postgresql":
            return Side(engine, server=request.getfixturevalue("pg_database"))
        if engine == "mysql":
            return Side(engine, server=request.getfixturevalue("mysql_database"))
        path = tmp_path / f"{label}.db"
        sqlite3.connect(path).close()
        return Side(engine, path=path)
    return make


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("QDBM_HOME", str(folder))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return folder


def _steps(out: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = json.loads(out)["steps"]
    return steps


@pytest.mark.parametrize(("source_engine", "target_engine"), [
    ("postgresql", "mysql"), ("mysql", "postgresql"), ("sqlite", "postgresql"), ("postgresql", "sqlite"),
    ("mysql", "sqlite"), ("sqlite", "mysql"),
])
def test_every_table_arrives_parents_first(side: Callable[[str, str], Side], home: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           source_engine: str, target_engine: str) -> None:
    source, target = side(source_engine, "source"), side(target_engine, "target")
    source.load_fixture()
    code = main(["migrate", "--source", source.url, "--target", target.url, "--tables", "*",
                 "--include-views", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    steps = _steps(captured.out)
    loads = [s["step"].split(".")[-1] for s in steps if s["step"] != "constraints"]
    assert sorted(loads) == sorted([*ROWS, "v_child"])
    assert loads.index("parent") < loads.index("child")
    assert all(s["status"] == "succeeded" for s in steps if s["step"] != "constraints")
    for table, count in ROWS.items():
        assert target.count(table) == count, table
    assert target.count("v_child") == ROWS["child"]
    assert target.rows("child", "id") == source.rows("child", "id")
    # The constraints step gave the copies their keys and foreign keys after the loads.
    closing_step = steps[-1]
    assert closing_step["step"] == "constraints" and closing_step["status"] == "succeeded", closing_step
    # Each key is made once, by that step: none is left out as already there.
    assert "not created" not in captured.err, captured.err
    with pytest.raises(Exception):  # noqa: B017, PT011 - each driver raises its own integrity error
        target.execute(["INSERT INTO parent VALUES (1, 'x', 'duplicate key')"])
    if target_engine != "sqlite":  # SQLite checks foreign keys only when a connection asks
        with pytest.raises(Exception):  # noqa: B017, PT011
            target.execute(["INSERT INTO child VALUES (99, 42, 'nope', 1)"])
    # Every step is printed as it ends, and recorded in the history as a run of its own.
    assert "step 1/" in captured.err
    assert main(["history", "--json", "--limit", "50"]) == 0
    history = json.loads(capsys.readouterr().out)
    runs = history if isinstance(history, list) else history.get("runs", [])
    assert len(runs) == len(loads)


@pytest.mark.parametrize(("source_engine", "target_engine"), [
    ("mysql", "postgresql"), ("postgresql", "mysql"), ("postgresql", "sqlite"),
])
def test_no_constraints_leaves_out_keys_and_not_null(side: Callable[[str, str], Side], home: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     source_engine: str, target_engine: str) -> None:
    source, target = side(source_engine, "source"), side(target_engine, "target")
    source.load_fixture()
    code = main(["migrate", "--source", source.url, "--target", target.url, "--tables", "parent,child",
                 "--no-constraints", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert [s["step"] for s in _steps(captured.out) if s["step"] == "constraints"] == []
    # No key, no NOT NULL: a duplicate of the source's key and a NULL in its NOT NULL column go in.
    target.execute(["INSERT INTO parent VALUES (1, 'x', 'again')",
                    "INSERT INTO child VALUES (1, NULL, NULL, NULL)"])
    assert target.count("parent") == ROWS["parent"] + 1 and target.count("child") == ROWS["child"] + 1


def test_patterns_exclude_and_target_schema(side: Callable[[str, str], Side], home: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    source, target = side("sqlite", "source"), side("postgresql", "target")
    source.load_fixture()
    target.execute(['CREATE SCHEMA "copy of"'])
    code = main(["migrate", "--source", source.url, "--target", target.url, "--tables", "c*,parent",
                 "--exclude", "cyc_b", "--target-schema", "copy of", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    loads = [s["target"] for s in _steps(captured.out) if s["step"] != "constraints"]
    assert sorted(loads) == sorted(["copy of.parent", "copy of.child", "copy of.cyc_a"])
    assert loads.index("copy of.parent") < loads.index("copy of.child")
    with closing(target.connect()) as conn:
        assert conn.execute('SELECT count(*) FROM "copy of".child').fetchone()[0] == ROWS["child"]


def test_a_pattern_that_matches_nothing_is_one_line(side: Callable[[str, str], Side], home: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    source, target = side("sqlite", "source"), side("sqlite", "target")
    source.load_fixture()
    assert main(["migrate", "--source", source.url, "--target", target.url, "--tables", "nope*"]) == 2
    err = capsys.readouterr().err
    assert "no table matches 'nope*'" in err and "Traceback" not in err
    assert main(["migrate", "--source", source.url, "--target", target.url, "--tables", "v_child"]) == 2
    assert "--include-views" in capsys.readouterr().err


def test_a_failed_table_stops_the_rest_unless_told(side: Callable[[str, str], Side], home: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    source, target = side("sqlite", "source"), side("postgresql", "target")
    source.load_fixture()
    # The target's own parent refuses the rows: that step fails, its table is unchanged.
    target.execute(["CREATE TABLE parent (a int CHECK (a < 0), b text, label text)"])
    args = ["migrate", "--source", source.url, "--target", target.url, "--tables", "parent,child,node",
            "--no-constraints", "--json"]
    assert main(args) == 1
    steps = _steps(capsys.readouterr().out)
    # node has no parent and goes first; parent fails; child, after it, is not run.
    assert [(s["step"].split(".")[-1], s["status"]) for s in steps] == [
        ("node", "succeeded"), ("parent", "failed"), ("child", "skipped")]
    failed = next(s for s in steps if s["status"] == "failed")
    assert failed["step"].endswith("parent")
    assert target.count("parent") == 0
    assert main([*args, "--continue-on-error"]) == 1
    steps = _steps(capsys.readouterr().out)
    assert [s["status"] for s in steps].count("failed") == 1
    assert "skipped" not in [s["status"] for s in steps]
    assert target.count("child") >= ROWS["child"] and target.count("node") >= ROWS["node"]


def test_a_saved_tables_job_runs(side: Callable[[str, str], Side], home: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    source, target = side("postgresql", "source"), side("sqlite", "target")
    source.load_fixture()
    assert main(["connections", "add", "src", "--url", source.url]) == 0
    assert main(["connections", "add", "dst", "--url", target.url]) == 0
    assert main(["jobs", "add", "whole", "--source", "src", "--target", "dst", "--tables", "public.*",
                 "--exclude", "cyc_*", "--mode", "replace"]) == 0
    capsys.readouterr()
    for _ in range(2):  # replace: a second run leaves the same rows
        assert main(["run", "whole", "--json"]) == 0, capsys.readouterr().err
        steps = _steps(capsys.readouterr().out)
        assert {s["step"].split(".")[-1] for s in steps} >= {"parent", "child", "node", ODD}
    assert target.count("parent") == ROWS["parent"] and target.count(ODD) == ROWS[ODD]
    # The scheduler's way in (run_job) runs it too, as one result summing the steps.
    context = AppContext.create(AppPaths(home), origin="cli")
    _, result = run_job(context, context.schedules.get_job("whole"), trigger=RunTrigger.SCHEDULE)
    assert result.status is Status.SUCCEEDED, result.error
    assert result.rows_written == sum(n for t, n in ROWS.items() if not t.startswith("cyc_"))


@pytest.mark.parametrize("target_engine", ["postgresql", "mysql"])
def test_replace_runs_again_over_its_own_foreign_keys(side: Callable[[str, str], Side], home: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      target_engine: str) -> None:
    source, target = side("sqlite", "source"), side(target_engine, "target")
    source.load_fixture()
    args = ["migrate", "--source", source.url, "--target", target.url, "--tables", "*", "--mode", "replace"]
    for _ in range(2):  # the second run swaps tables the first one's foreign keys refer to
        assert main(args) == 0, capsys.readouterr().err
    assert "dropped" in capsys.readouterr().err
    for table, count in ROWS.items():
        assert target.count(table) == count, table
    with pytest.raises(Exception):  # noqa: B017, PT011 - the foreign keys are back
        target.execute(["INSERT INTO child VALUES (99, 42, 'nope', 1)"])
