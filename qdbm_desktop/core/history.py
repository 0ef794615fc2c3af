"""The history of runs: one SQLite file in the app-data folder, written as a run goes.

A run is recorded when it starts (status ``running``), its log lines as they happen, and its
outcome when it ends, each in its own short transaction, so a crash loses at most the line being
written. A run left ``running`` by a process that no longer exists is shown as ``interrupted``.
The GUI, the command line and the scheduler all write here; SQLite's locking keeps them apart.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from qdbm_desktop.core.errors import UsageError, one_line, redact
from qdbm_desktop.core.paths import create_private_file

SCHEMA_VERSION = 1
#: Marks a history whose credentials recorded by versions before every form was masked are masked.
_SCRUB_STEP = "mask-credentials-1"
_BUSY_TIMEOUT_S = 10.0
INTERRUPTED_ERROR = ("the process stopped before the run ended; unless the log shows the final step "
                     "committed, the target is unchanged")


class RunStatus(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"


class RunTrigger(str, Enum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    MISSED_RUN = "missed-run"


@dataclass(frozen=True)
class RunRecord:
    """One run as the history holds it. Connection names only: never a password or a URL's secret
    (every credential a label, an error or a log line could hold is masked on the way in and out)."""

    id: int
    run_id: str
    job: str | None
    source: str
    target: str
    query: str
    target_table: str
    mode: str
    trigger: RunTrigger
    status: RunStatus
    started: datetime
    finished: datetime | None
    rows_read: int
    rows_written: int
    error: str | None
    origin: str
    job_snapshot: Mapping[str, Any] | None = None

    @property
    def seconds(self) -> float | None:
        if self.finished is None:
            return None
        return max(0.0, (self.finished - self.started).total_seconds())

    @property
    def rows_per_second(self) -> float | None:
        seconds = self.seconds
        if not seconds:
            return None
        return self.rows_written / seconds


@dataclass(frozen=True)
class LogLine:
    at: str
    level: str
    stage: str
    message: str


@dataclass(frozen=True)
class HistoryFilter:
    """What the History page and ``qdbm history`` narrow the list by; every field optional."""

    statuses: tuple[RunStatus, ...] = ()
    connection: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    limit: int | None = None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    job TEXT,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    query TEXT NOT NULL,
    target_table TEXT NOT NULL,
    mode TEXT NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    rows_read INTEGER NOT NULL DEFAULT 0,
    rows_written INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    origin TEXT NOT NULL,
    pid INTEGER,
    job_snapshot TEXT
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS qdbm_maintenance (
    step TEXT PRIMARY KEY,
    done TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_log (
    run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    level TEXT NOT NULL,
    stage TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (run, seq)
);
"""

_COLUMNS = ("id, run_id, job, source, target, query, target_table, mode, trigger, status, started, finished, "
            "rows_read, rows_written, error, origin, job_snapshot, pid")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("history times must carry a time zone")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (on Windows through OpenProcess: os.kill would signal it)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class HistoryStore:
    """Runs and their logs in ``history.sqlite3``. Safe to use from several threads and processes."""

    def __init__(self, path: Path, origin: str = "gui") -> None:
        self._path = path
        self._origin = origin
        #: Things the user must be told (a damaged file set aside).
        self.notices: list[str] = []
        #: Why the history cannot be written (a full or read-only disk), once a write has failed:
        #: runs go on, unrecorded, and reading still works as far as the file can be read.
        self.write_problem: str | None = None
        try:
            self._open()
        except (sqlite3.OperationalError, OSError) as exc:
            self._cannot_write(exc)

    def _open(self) -> None:
        path = self._path
        try:
            self._create_schema()
        except sqlite3.DatabaseError as exc:
            if not path.exists() or "not a database" not in str(exc) and "malformed" not in str(exc):
                raise
            aside = path.with_name(f"{path.name}.corrupt-{_now().strftime('%Y%m%d-%H%M%S')}")
            for suffix in ("", "-wal", "-shm"):
                part = Path(f"{path}{suffix}")
                if part.exists():
                    part.replace(Path(f"{aside}{suffix}"))
            self.notices.append(f"the run history {path.name} could not be read ({exc}); it was kept as "
                                f"{aside.name} and a new, empty history started")
            self._create_schema()
        self._scrub_credentials()
        self.mark_interrupted()

    def _scrub_credentials(self) -> None:
        """Once per history: mask the credentials an older version recorded as typed, and overwrite
        the old text on disk too (secure_delete, then a checkpoint that empties the WAL)."""
        with self._writing() as db:
            if db.execute("SELECT 1 FROM qdbm_maintenance WHERE step = ?", (_SCRUB_STEP,)).fetchone():
                return
            db.create_function("qdbm_masked", 1, _masked, deterministic=True)
            db.execute("PRAGMA secure_delete = ON")
            db.execute("UPDATE runs SET source = qdbm_masked(source), target = qdbm_masked(target), "
                       "error = qdbm_masked(error) WHERE source IS NOT qdbm_masked(source) "
                       "OR target IS NOT qdbm_masked(target) OR error IS NOT qdbm_masked(error)")
            db.execute("UPDATE run_log SET message = qdbm_masked(message) "
                       "WHERE message IS NOT qdbm_masked(message)")
            db.execute("INSERT INTO qdbm_maintenance (step, done) VALUES (?, ?)", (_SCRUB_STEP, _iso(_now())))
        with closing(self._open_connection()) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _cannot_write(self, exc: BaseException) -> None:
        if self.write_problem is None:
            reason = one_line(str(exc)) or type(exc).__name__
            self.write_problem = (f"the run history {self._path} cannot be written ({reason}; is the disk "
                                  "full or read-only?): runs go on, but are not recorded")

    def _create_schema(self) -> None:
        with self._connect() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise UsageError(
                    f"{self._path} was written by a newer version of QDBM Desktop (history format "
                    f"{version}); update the app to read it"
                )
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def path(self) -> Path:
        return self._path

    @property
    def origin(self) -> str:
        """Where the runs this store records come from ("gui", "cli", "scheduler")."""
        return self._origin

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A connection to write with; a failure to write is remembered in ``write_problem``."""
        try:
            with self._connect() as db:
                yield db
        except (sqlite3.OperationalError, OSError) as exc:
            self._cannot_write(exc)
            raise

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A connection to read with, also from a full or read-only disk.

        Opening a WAL database creates its -wal and -shm files, which a full or read-only disk
        refuses; the file is then read as it is (``immutable``), without them. A history that
        does not exist reads as empty.
        """
        try:
            connection = self._open_connection()
        except (sqlite3.OperationalError, OSError):
            try:
                connection = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
            except sqlite3.Error:
                connection = sqlite3.connect(":memory:")
        with closing(connection) as db:
            # A history the disk had no room to create holds no table yet: it reads as empty.
            if db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'runs'").fetchone()[0] == 0:
                with closing(sqlite3.connect(":memory:")) as empty:
                    empty.executescript(_SCHEMA)
                    yield empty
                return
            yield db

    def _open_connection(self) -> sqlite3.Connection:
        if not self._path.exists():
            create_private_file(self._path)
        db = sqlite3.connect(self._path, timeout=_BUSY_TIMEOUT_S)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            # WAL lets a reader (the History page) and a writer (a run) work at once.
            db.execute("PRAGMA journal_mode = WAL")
        except BaseException:
            db.close()
            raise
        return db

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(self._open_connection()) as db, db:
            yield db

    # -- writing ----------------------------------------------------------------------------

    def start_run(
        self,
        *,
        run_id: str,
        source: str,
        target: str,
        query: str,
        target_table: str,
        mode: str,
        trigger: RunTrigger = RunTrigger.MANUAL,
        job: str | None = None,
        job_snapshot: Mapping[str, Any] | None = None,
        status: RunStatus = RunStatus.RUNNING,
        error: str | None = None,
    ) -> int:
        """Record a run that starts now (or, with ``status=SKIPPED``, one that did not); its row id."""
        started = _now()
        finished = None if status is RunStatus.RUNNING else _iso(started)
        with self._writing() as db:
            cursor = db.execute(
                "INSERT INTO runs (run_id, job, source, target, query, target_table, mode, trigger, status, "
                "started, finished, error, origin, pid, job_snapshot) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, job, redact(source), redact(target), query, target_table, mode, trigger.value,
                 status.value, _iso(started), finished, _masked(error), self._origin, os.getpid(),
                 json.dumps(job_snapshot) if job_snapshot is not None else None),
            )
            row_id = cursor.lastrowid
        assert row_id is not None
        return row_id

    def add_log(self, run: int, at: str, level: str, stage: str, message: str) -> None:
        with self._writing() as db:
            db.execute(
                "INSERT INTO run_log (run, seq, at, level, stage, message) "
                "VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM run_log WHERE run = ?), ?, ?, ?, ?)",
                (run, run, at, level, stage, redact(message)),
            )

    def update_counts(self, run: int, rows_read: int, rows_written: int) -> None:
        with self._writing() as db:
            db.execute("UPDATE runs SET rows_read = ?, rows_written = ? WHERE id = ?",
                       (rows_read, rows_written, run))

    def finish_run(self, run: int, status: RunStatus, rows_read: int, rows_written: int,
                   error: str | None = None) -> None:
        if status is RunStatus.RUNNING:
            raise ValueError("a finished run needs its outcome")
        with self._writing() as db:
            db.execute(
                "UPDATE runs SET status = ?, finished = ?, rows_read = ?, rows_written = ?, error = ? "
                "WHERE id = ?",
                (status.value, _iso(_now()), rows_read, rows_written, _masked(error), run),
            )

    def mark_interrupted(self) -> int:
        """Runs left ``running`` by processes that have died become ``interrupted``; how many.

        On a full or read-only disk nothing can be marked: 0, and ``write_problem`` says why.
        """
        try:
            with self._writing() as db:
                rows = db.execute("SELECT id, pid FROM runs WHERE status = ?",
                                  (RunStatus.RUNNING.value,)).fetchall()
                dead = [row_id for row_id, pid in rows if pid != os.getpid() and not pid_alive(int(pid or 0))]
                for row_id in dead:
                    db.execute(
                        "UPDATE runs SET status = ?, error = COALESCE(error, ?) WHERE id = ?",
                        (RunStatus.INTERRUPTED.value, INTERRUPTED_ERROR, row_id),
                    )
        except (sqlite3.OperationalError, OSError):
            return 0  # _writing has recorded why
        return len(dead)

    def delete(self, older_than: datetime | None = None) -> int:
        """Remove finished runs (all, or those started before ``older_than``); how many went."""
        where = "status != ?"
        params: list[Any] = [RunStatus.RUNNING.value]
        if older_than is not None:
            where += " AND started < ?"
            params.append(_iso(older_than))
        with self._writing() as db:
            return db.execute(f"DELETE FROM runs WHERE {where}", params).rowcount

    def apply_retention(self, days: int) -> int:
        """Drop runs older than ``days`` (0 keeps everything); 0 on a full or read-only disk, where
        nothing can go (``write_problem`` says why), since it is housekeeping that can wait."""
        if days <= 0:
            return 0
        try:
            return self.delete(_now() - timedelta(days=days))
        except (sqlite3.OperationalError, OSError):
            return 0

    # -- reading ----------------------------------------------------------------------------

    def get(self, run: int) -> RunRecord:
        with self._reading() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run,)).fetchone()
        if row is None:
            raise UsageError(f"there is no run {run} in the history")
        return _record(row)

    def find_run_id(self, run_id: str) -> RunRecord | None:
        with self._reading() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM runs WHERE run_id = ? ORDER BY id DESC",
                             (run_id,)).fetchone()
        return _record(row) if row else None

    def runs(self, filters: HistoryFilter | None = None) -> list[RunRecord]:
        """Runs newest first, narrowed by ``filters``."""
        f = filters or HistoryFilter()
        where: list[str] = []
        params: list[Any] = []
        if f.statuses:
            where.append(f"status IN ({', '.join('?' * len(f.statuses))})")
            params.extend(s.value for s in f.statuses)
        if f.connection:
            where.append("(source = ? OR target = ?)")
            params.extend([f.connection, f.connection])
        if f.since is not None:
            where.append("started >= ?")
            params.append(_iso(f.since))
        if f.until is not None:
            where.append("started < ?")
            params.append(_iso(f.until))
        if f.text:
            where.append("(instr(lower(query), ?) > 0 OR instr(lower(target_table), ?) > 0 "
                         "OR instr(lower(COALESCE(job, '')), ?) > 0)")
            params.extend([f.text.lower()] * 3)
        sql = f"SELECT {_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started DESC, id DESC"
        if f.limit is not None:
            sql += " LIMIT ?"
            params.append(max(0, f.limit))
        with self._reading() as db:
            return [_record(row) for row in db.execute(sql, params)]

    def log(self, run: int) -> list[LogLine]:
        with self._reading() as db:
            rows = db.execute("SELECT at, level, stage, message FROM run_log WHERE run = ? ORDER BY seq",
                              (run,)).fetchall()
        return [LogLine(at, level, stage, redact(message)) for at, level, stage, message in rows]

    def connections(self) -> list[str]:
        """Every connection name that appears in the history, for the filter's list."""
        with self._reading() as db:
            rows = db.execute("SELECT source FROM runs UNION SELECT target FROM runs ORDER BY 1").fetchall()
        return [redact(name) for (name,) in rows]


def _masked(text: str | None) -> str | None:
    return redact(text) if text else text


def _record(row: Sequence[Any]) -> RunRecord:
    (row_id, run_id, job, source, target, query, table, mode, trigger, status, started, finished,
     rows_read, rows_written, error, origin, snapshot, pid) = row
    if status == RunStatus.RUNNING.value and pid != os.getpid() and not pid_alive(int(pid or 0)):
        # Its process is gone, and a full or read-only disk kept mark_interrupted from saying so.
        status, error = RunStatus.INTERRUPTED.value, error or INTERRUPTED_ERROR
    return RunRecord(
        # Masked on the way out too: a history written before every credential form was masked.
        id=row_id, run_id=run_id, job=job, source=redact(source), target=redact(target), query=query,
        target_table=table,
        mode=mode, trigger=RunTrigger(trigger), status=RunStatus(status),
        started=datetime.fromisoformat(started),
        finished=datetime.fromisoformat(finished) if finished else None,
        rows_read=rows_read, rows_written=rows_written, error=_masked(error), origin=origin,
        job_snapshot=json.loads(snapshot) if snapshot else None,
    )
