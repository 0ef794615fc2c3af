"""Runs that overlap in one database never break each other, in any process.

Each test holds a first run once its staging table is loaded (its locks held, the step where the
sweep of an overlapping run used to drop its table) from its progress callback, starts a second
run against the same database, and only then lets the first go on, so the two overlap for
certain, without sleeps that hope for it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.dialects.postgresql.types import pg_connection
from qdbm_desktop.core.migration import (
    OLD_PREFIX,
    STAGING_PREFIX,
    Endpoint,
    MigrationRequest,
    MigrationResult,
    Progress,
    Stage,
    Status,
    run_migration,
)
from qdbm_desktop.core.run_locks import RunFolder, TargetLocks, sweep_run_folders
from tests.integration.conftest import Server
from tests.integration.test_migration_pipeline import mysql_endpoint, pg_endpoint, sqlite_endpoint

REPO = Path(__file__).resolve().parents[2]
SOURCE_ROWS = 2_000


@pytest.fixture
def source(tmp_path: Path) -> Endpoint:
    """A SQLite file of numbered rows: a different engine from every target, so rows are streamed."""
    path = tmp_path / "source.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE src (id INTEGER PRIMARY KEY, label TEXT)")
        db.executemany("INSERT INTO src VALUES (?, ?)", [(i, f"row {i}") for i in range(1, SOURCE_ROWS + 1)])
    db.close()
    return Endpoint("src", "sqlite", sqlite_endpoint(path).params)


@pytest.fixture(params=["postgresql", "mysql", "sqlite"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Endpoint:
    if request.param == "postgresql":
        return pg_endpoint(request.getfixturevalue("pg_database"), "pg target")
    if request.param == "mysql":
        return mysql_endpoint(request.getfixturevalue("mysql_database"), "maria target")
    return sqlite_endpoint(tmp_path / "target.sqlite")


def query(first: int, last: int, label: str) -> str:
    return f"SELECT id, '{label}' AS label FROM src WHERE id BETWEEN {first} AND {last}"


def labels(endpoint: Endpoint, table: str) -> dict[str, int]:
    """Rows of ``table`` per label."""
    dialect = endpoint.dialect
    conn = dialect.connect(endpoint.params, 10)
    try:
        cursor = conn.cursor()
        cursor.execute(f"SELECT label, COUNT(*) FROM {dialect.quote_identifier(table)} GROUP BY label")
        found = {str(label): int(count) for label, count in cursor.fetchall()}
        cursor.close()
        return found
    finally:
        conn.close()


def leftovers(endpoint: Endpoint, lock_files: bool = True) -> list[str]:
    """Staging and set-aside tables in the target's database (and lock files beside a SQLite file)."""
    dialect = endpoint.dialect
    conn = dialect.connect(endpoint.params, 10)
    try:
        found = [t.name for prefix in (STAGING_PREFIX, OLD_PREFIX) for t in dialect.list_tables(conn, None, prefix)]
    finally:
        conn.close()
    if endpoint.type == "sqlite" and lock_files:
        path = Path(endpoint.params.path or "")
        found += [p.name for p in path.parent.glob(f"{path.name}.qdbm-*.lock")]
    return found


class HeldRun:
    """A run in a thread that stops with its staging table loaded until ``go_on`` is called."""

    def __init__(self, request: MigrationRequest) -> None:
        self.loading = threading.Event()
        self._go = threading.Event()
        self.result: MigrationResult | None = None

        def on_progress(progress: Progress) -> None:
            if progress.stage is Stage.VERIFY and not self.loading.is_set():
                self.loading.set()
                assert self._go.wait(120), "the held run was never let go"

        def run() -> None:
            self.result = run_migration(request, on_progress)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert self.loading.wait(60), "the held run never started loading"

    def go_on(self) -> MigrationResult:
        self._go.set()
        self._thread.join(120)
        assert self.result is not None
        return self.result


class RunInThread:
    """A run in a thread; ``reached`` is set once its progress shows ``stage``."""

    def __init__(self, request: MigrationRequest, stage: Stage) -> None:
        self.reached = threading.Event()
        self.stages: list[Stage] = []
        self.result: MigrationResult | None = None

        def on_progress(progress: Progress) -> None:
            self.stages.append(progress.stage)
            if progress.stage is stage:
                self.reached.set()

        def run() -> None:
            self.result = run_migration(request, on_progress)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def join(self) -> MigrationResult:
        self._thread.join(120)
        assert self.result is not None
        return self.result


def request(source: Endpoint, target: Endpoint, table: str, sql: str, mode: LoadMode = LoadMode.APPEND,
            **extra: Any) -> MigrationRequest:
    return MigrationRequest(source=source, target=target, query=sql, table=TableName(table), mode=mode,
                            batch_size=100, **extra)


def test_two_runs_into_different_tables_of_one_database_both_succeed(source: Endpoint, target: Endpoint) -> None:
    first = HeldRun(request(source, target, "first", query(1, 1500, "a"), LoadMode.CREATE))
    try:
        second = RunInThread(request(source, target, "second", query(1, 700, "b"), LoadMode.CREATE),
                             Stage.DONE)
        second_result = second.join()
    finally:
        first_result = first.go_on()

    assert first_result.status is Status.SUCCEEDED, first_result.error
    assert second_result.status is Status.SUCCEEDED, second_result.error
    assert labels(target, "first") == {"a": 1500}
    assert labels(target, "second") == {"b": 700}
    assert Stage.WAIT not in second.stages  # different tables: no waiting for each other
    assert not any("left behind" in e.message for e in second_result.log)
    assert leftovers(target) == []


def seed(source: Endpoint, target: Endpoint, mode: LoadMode) -> None:
    """The target table before the two runs: ten 'seed' rows (keyed by id for upsert)."""
    if mode in (LoadMode.REPLACE, LoadMode.CREATE):
        return
    keys = ("id",) if mode is LoadMode.UPSERT else ()
    seeded = run_migration(request(source, target, "shared", query(1, 10, "seed"),
                                   LoadMode.UPSERT if keys else LoadMode.CREATE, keys=keys))
    assert seeded.status is Status.SUCCEEDED, seeded.error


#: Rows per label after run "a" (ids 1-600) and then run "b" (ids 401-1000) into the seeded table.
EXPECTED: dict[LoadMode, dict[str, int]] = {
    LoadMode.APPEND: {"seed": 10, "a": 600, "b": 600},
    LoadMode.TRUNCATE: {"b": 600},
    LoadMode.REPLACE: {"b": 600},
    LoadMode.UPSERT: {"a": 400, "b": 600},
    LoadMode.CREATE: {"a": 600},
}


@pytest.mark.parametrize("mode", list(LoadMode), ids=[m.value for m in LoadMode])
def test_a_second_run_into_the_same_table_waits_for_the_first_and_every_mode_stays_exact(
        source: Endpoint, target: Endpoint, mode: LoadMode) -> None:
    seed(source, target, mode)
    keys = ("id",) if mode is LoadMode.UPSERT else ()
    first = HeldRun(request(source, target, "shared", query(1, 600, "a"), mode, keys=keys))
    second = RunInThread(request(source, target, "shared", query(401, 1000, "b"), mode, keys=keys), Stage.WAIT)
    assert second.reached.wait(60), "the second run did not wait for the first"
    first_result = first.go_on()
    second_result = second.join()

    assert first_result.status is Status.SUCCEEDED, first_result.error
    if mode is LoadMode.CREATE:
        assert second_result.status is Status.FAILED
        assert "already exists" in (second_result.error or "")
        assert "\n" not in (second_result.error or "")
    else:
        assert second_result.status is Status.SUCCEEDED, second_result.error
    assert labels(target, "shared") == EXPECTED[mode]
    messages = [e.message for e in second_result.log]
    assert any(m.startswith("waiting for another run into shared") and "gives up after 10 min" in m
               for m in messages), messages
    assert any("this run goes on" in m for m in messages)
    assert leftovers(target) == []


def test_a_run_that_waits_too_long_gives_up_clearly_before_touching_anything(
        source: Endpoint, target: Endpoint) -> None:
    seed(source, target, LoadMode.APPEND)
    first = HeldRun(request(source, target, "shared", query(1, 600, "a")))
    try:
        late = run_migration(request(source, target, "shared", query(1, 50, "b"), wait_timeout=1))
        during = leftovers(target, lock_files=False)
    finally:
        first_result = first.go_on()

    assert late.status is Status.FAILED and late.stage is Stage.WAIT
    assert "another run into shared" in (late.error or "") and "nothing was changed" in (late.error or "")
    assert "\n" not in (late.error or "")
    assert not any("staging table" in e.message for e in late.log)  # it never made one
    assert during == [f"{STAGING_PREFIX}{first_result.run_id}"]  # only the first run's
    assert first_result.status is Status.SUCCEEDED, first_result.error
    assert labels(target, "shared") == {"seed": 10, "a": 600}
    assert leftovers(target) == []


def test_a_waiting_run_can_be_cancelled(source: Endpoint, tmp_path: Path) -> None:
    target = sqlite_endpoint(tmp_path / "target.sqlite")
    first = HeldRun(request(source, target, "shared", query(1, 600, "a")))
    cancel = threading.Event()

    def on_progress(progress: Progress) -> None:
        if progress.stage is Stage.WAIT:
            cancel.set()

    try:
        waited = run_migration(request(source, target, "shared", query(1, 50, "b")), on_progress, cancel)
    finally:
        first_result = first.go_on()
    assert waited.status is Status.CANCELLED and waited.stage is Stage.WAIT
    assert first_result.status is Status.SUCCEEDED, first_result.error
    assert labels(target, "shared") == {"a": 600}


def test_a_killed_runs_staging_table_is_swept_but_a_live_runs_is_kept(source: Endpoint, target: Endpoint) -> None:
    # A run killed mid-load leaves its staging table and nothing holds its lock; a live run
    # (held mid-load here) holds its own.
    dead = f"{STAGING_PREFIX}deadbeef0042"
    live = HeldRun(request(source, target, "live", query(1, 900, "a"), LoadMode.CREATE))
    try:
        conn = target.dialect.connect(target.params, 10)
        try:
            cursor = conn.cursor()
            cursor.execute(f"CREATE TABLE {target.dialect.quote_identifier(dead)} (x INTEGER)")
            cursor.close()
            conn.commit()
        finally:
            conn.close()
        sweeper = run_migration(request(source, target, "other", query(1, 5, "b"), LoadMode.CREATE))
        during = leftovers(target, lock_files=False)
    finally:
        live_result = live.go_on()

    assert sweeper.status is Status.SUCCEEDED, sweeper.error
    assert any(f"dropped {dead}" in e.message for e in sweeper.log)
    assert during == [f"{STAGING_PREFIX}{live_result.run_id}"]
    assert live_result.status is Status.SUCCEEDED, live_result.error
    assert labels(target, "live") == {"a": 900}
    assert leftovers(target) == []


def test_a_staging_table_whose_lock_is_held_elsewhere_is_never_dropped(pg_database: Server) -> None:
    target = pg_endpoint(pg_database)
    name = f"{STAGING_PREFIX}cafe00000001"
    conn = pg_connection(target.dialect.connect(target.params, 10))
    conn.execute(f"CREATE TABLE {name} (x int)")
    conn.commit()
    conn.close()
    # Another machine's run: a lock session of its own, nothing in this process knows of it.
    elsewhere = TargetLocks(target.dialect, target.params, 10)
    try:
        assert elsewhere.hold(name)
        result = run_migration(MigrationRequest(source=target, target=target, query="SELECT 1 AS id",
                                                table=TableName("t"), mode=LoadMode.REPLACE))
        assert result.status is Status.SUCCEEDED, result.error
        assert leftovers(target) == [name]
    finally:
        elsewhere.close()
    result = run_migration(MigrationRequest(source=target, target=target, query="SELECT 1 AS id",
                                            table=TableName("t"), mode=LoadMode.REPLACE))
    assert result.status is Status.SUCCEEDED, result.error
    assert leftovers(target) == []


# -- the run's own folder --------------------------------------------------------------------------


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "QDBM_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


SLOW_PG_QUERY = ("SELECT g AS id, repeat('x', 40) AS label, "
                 "length(CASE WHEN g % 200 = 0 THEN pg_sleep(0.1)::text ELSE '' END) AS pad "
                 "FROM generate_series(1, 40000) AS g")


def endpoint_url(endpoint: Endpoint) -> str:
    """The endpoint as a connection URL, for a `qdbm` process."""
    params = endpoint.params
    if endpoint.type == "sqlite":
        return f"sqlite:///{Path(params.path or '').resolve()}"
    scheme = "postgresql" if endpoint.type == "postgresql" else "mysql"
    auth = f"{params.user}:{params.password}" if params.password else f"{params.user}"
    return f"{scheme}://{auth}@{params.host}:{params.port}/{params.database}"


def test_kill_9_mid_load_leaves_files_only_in_the_app_folder_and_the_next_run_removes_them_and_the_staging_table(
        pg_database: Server, target: Endpoint, tmp_path: Path) -> None:
    home = tmp_path / "home"
    runs = home / "runs"
    source = pg_endpoint(pg_database)
    # A live run, held with its staging table loaded and its folder in place.
    live = HeldRun(MigrationRequest(source=source, target=target,
                                    query="SELECT g AS id FROM generate_series(1, 3000) g",
                                    table=TableName("live"), mode=LoadMode.CREATE, batch_size=500, work_dir=runs))
    try:
        (live_folder,) = [p for p in runs.iterdir() if p.is_dir()]
        killed = subprocess.Popen(
            [sys.executable, "-m", "qdbm_desktop.cli", "migrate", "--source", pg_url(pg_database),
             "--target", endpoint_url(target), "--query", SLOW_PG_QUERY, "--table", "killed",
             "--mode", "create", "--batch-size", "500"],
            env=environment(home), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: len(leftovers(target, lock_files=False)) == 2 or killed.poll() is not None, 60,
                     "the killed run's staging table")
            if target.type == "mysql":
                # The live run's writer removed its load folder already; this one is the killed run's.
                wait_for(lambda: any(runs.glob("*/qdbm-load-*")) or killed.poll() is not None, 60,
                         "the killed run's load folder")
            else:
                time.sleep(1)  # well into its load
            assert killed.poll() is None, killed.stderr.read().decode() if killed.stderr else ""
        finally:
            if killed.poll() is None:
                os.kill(killed.pid, signal.SIGKILL)
            killed.wait(10)
        (killed_folder,) = [p for p in runs.iterdir() if p.is_dir() and p != live_folder]
        assert oct(killed_folder.stat().st_mode & 0o777) == "0o700"
        assert oct(runs.stat().st_mode & 0o777) == "0o700"
        for leftover in killed_folder.rglob("*"):
            if leftover.is_file():
                assert leftover.stat().st_mode & 0o077 == 0, leftover
        killed_staging = f"{STAGING_PREFIX}{killed_folder.name}"
        assert killed_staging in leftovers(target)

        after = run_migration(MigrationRequest(source=source, target=target, query="SELECT 1 AS id",
                                               table=TableName("other"), mode=LoadMode.CREATE, work_dir=runs))
        folders_during = sorted(p.name for p in runs.iterdir() if p.is_dir())
        tables_during = leftovers(target, lock_files=False)
    finally:
        live_result = live.go_on()

    assert after.status is Status.SUCCEEDED, after.error
    messages = [e.message for e in after.log]
    assert any(killed_folder.name in m and "interrupted run" in m for m in messages), messages
    assert any(f"dropped {killed_staging}" in m for m in messages), messages
    assert folders_during == [live_folder.name]  # the killed run's folder went, the live one's stayed
    assert tables_during == [f"{STAGING_PREFIX}{live_result.run_id}"]
    assert live_result.status is Status.SUCCEEDED, live_result.error
    assert labels_or_count(target, "killed") is None  # the killed run never reached its target
    assert list(runs.iterdir()) == []
    assert leftovers(target) == []  # for SQLite also the killed run's lock files


def labels_or_count(endpoint: Endpoint, table: str) -> int | None:
    dialect = endpoint.dialect
    conn = dialect.connect(endpoint.params, 10)
    try:
        if not dialect.table_exists(conn, TableName(table)):
            return None
        return dialect.row_count(conn, TableName(table))
    finally:
        conn.close()


def pg_url(server: Server) -> str:
    return server.url("postgresql")


def test_a_run_folder_is_swept_only_once_its_run_is_gone(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    live = RunFolder(runs, "aaaaaaaaaaaa")
    live.create()
    (live.path / "batch.tsv").write_text("user data")
    # A killed run's folder: its lock file is there, nobody holds it.
    (runs / "bbbbbbbbbbbb").mkdir()
    (runs / "bbbbbbbbbbbb" / "batch.tsv").write_text("user data")
    (runs / "bbbbbbbbbbbb.lock").touch()

    assert sweep_run_folders(runs) == ["bbbbbbbbbbbb"]
    assert sorted(p.name for p in runs.iterdir()) == ["aaaaaaaaaaaa", "aaaaaaaaaaaa.lock"]
    live.remove()
    assert list(runs.iterdir()) == []


def test_every_spelling_of_one_table_shares_one_lock_and_other_tables_do_not(target: Endpoint) -> None:
    schema = {"postgresql": "public", "sqlite": "main"}.get(target.type) or target.params.database
    locks = TargetLocks(target.dialect, target.params, 10)
    try:
        plain = locks.table_lock_name(TableName("orders"))
        assert locks.table_lock_name(TableName("orders", schema)) == plain
        assert locks.table_lock_name(TableName("order_lines")) != plain
        if target.type == "sqlite":  # SQLite compares ASCII names without case
            assert locks.table_lock_name(TableName("ORDERS")) == plain
        # Held here, the same name cannot be taken by a second session (another run, another process).
        assert locks.hold(plain)
        other = TargetLocks(target.dialect, target.params, 10)
        try:
            assert not other.hold(plain)
            assert other.hold(locks.table_lock_name(TableName("order_lines")))
        finally:
            other.close()
    finally:
        locks.close()
    again = TargetLocks(target.dialect, target.params, 10)
    try:
        assert again.hold(plain)  # released when the first session closed
    finally:
        again.close()
    if target.type == "sqlite":  # no lock file is left beside the database
        assert not list(Path(target.params.path or "").parent.glob("*.qdbm-*.lock"))


def test_a_sweep_trying_a_starting_runs_lock_for_a_moment_does_not_stop_that_run(
        source: Endpoint, tmp_path: Path) -> None:
    # Another run's sweep sees a lock file, takes it to learn whether its run is gone, finds the
    # file unused (the run has only just made it), removes it and lets go: the run goes on.
    from filelock import FileLock

    runs = tmp_path / "runs"
    runs.mkdir(mode=0o700)
    target = sqlite_endpoint(tmp_path / "target.sqlite")
    run_id = "0123456789ab"
    probes = [runs / f"{run_id}.lock", Path(f"{target.params.path}.qdbm-{STAGING_PREFIX}{run_id}.lock")]
    held = [FileLock(str(p), thread_local=False) for p in probes]
    for lock in held:
        lock.acquire(timeout=0)

    def sweeper_lets_go() -> None:
        time.sleep(0.5)
        for path, lock in zip(probes, held, strict=True):
            path.unlink()
            lock.release()

    threading.Thread(target=sweeper_lets_go, daemon=True).start()
    result = run_migration(request(source, target, "t", query(1, 10, "a"), LoadMode.CREATE, work_dir=runs),
                           run_id=run_id)
    assert result.status is Status.SUCCEEDED, result.error
    assert labels(target, "t") == {"a": 10}
    assert list(runs.iterdir()) == [] and leftovers(target) == []


def test_lock_files_beside_a_sqlite_file_are_as_open_as_the_file_itself(tmp_path: Path) -> None:
    private, shared = sqlite_endpoint(tmp_path / "private.sqlite"), sqlite_endpoint(tmp_path / "shared.sqlite")
    os.chmod(private.params.path or "", 0o600)
    os.chmod(shared.params.path or "", 0o664)
    for endpoint, mode in ((private, 0o600), (shared, 0o664)):
        locks = TargetLocks(endpoint.dialect, endpoint.params, 10)
        try:
            assert locks.hold("qdbm_stg_0123456789ab")
            (lock_file,) = Path(endpoint.params.path or "").parent.glob(f"{Path(endpoint.params.path or '').name}.qdbm-*")
            assert lock_file.stat().st_mode & 0o777 == mode
        finally:
            locks.close()


def test_without_locks_a_run_says_so_goes_on_and_keeps_every_leftover_it_cannot_judge(
        source: Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As an Oracle login without EXECUTE on DBMS_LOCK: the server refuses every lock.
    from qdbm_desktop.core import run_model
    from qdbm_desktop.core.dialects import get_dialect
    from qdbm_desktop.core.dialects.base import LocksUnavailable
    from qdbm_desktop.core.dialects.sqlite import SQLiteDialect

    class NoLocks(SQLiteDialect):
        def try_lock(self, session: Any, name: str) -> bool:
            raise LocksUnavailable("this login cannot use DBMS_LOCK (ORA-06550); ask for GRANT EXECUTE")

    no_locks = NoLocks()
    monkeypatch.setattr(run_model, "get_dialect", lambda name: no_locks if name == "sqlite-nolocks" else get_dialect(name))
    target = Endpoint("no locks", "sqlite-nolocks", sqlite_endpoint(tmp_path / "target.sqlite").params)
    with sqlite3.connect(target.params.path or "") as db:
        db.execute(f"CREATE TABLE {STAGING_PREFIX}deadbeef0007 (x INTEGER)")
    db.close()

    result = run_migration(request(source, target, "t", query(1, 20, "a"), LoadMode.CREATE))

    assert result.status is Status.SUCCEEDED, result.error
    warnings = [e.message for e in result.log if e.level == "warning"]
    assert any("offers no locks to this login" in w and "GRANT EXECUTE" in w for w in warnings), warnings
    assert any(f"kept {STAGING_PREFIX}deadbeef0007" in w and "drop them by hand" in w for w in warnings), warnings
    assert labels(sqlite_endpoint(tmp_path / "target.sqlite"), "t") == {"a": 20}
    assert leftovers(sqlite_endpoint(tmp_path / "target.sqlite")) == [f"{STAGING_PREFIX}deadbeef0007"]
