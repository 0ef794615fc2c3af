"""The migration pipeline: stream a query's rows into a staging table, then into the target at once.

A reader thread pulls batches from the source into a small bounded queue; the calling thread
loads them into a staging table on the target. Only when every row is in, and the staging
table holds exactly as many rows as were read, does the dialect's ``finalize`` move them into
the target in one atomic step. Whatever fails before that step, or inside it, leaves the
target exactly as it was.
"""

from __future__ import annotations

import functools
import logging
import operator
import queue
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from qdbm_desktop.core.checksum import (
    PG_TEXT_SETTINGS,
    Hasher,
    RowDifference,
    VerifyLevel,
    collect_bucket_rows,
    find_differences,
    pg_checksum_sql,
    shown,
)
from qdbm_desktop.core.connections import ConnectionStore, no_connection_named
from qdbm_desktop.core.dialects import ConnectParams, Dialect, get_dialect
from qdbm_desktop.core.dialects.base import BulkWriter, LoadMode, ReadFailed, ReadStream, TableName
from qdbm_desktop.core.errors import QdbmError, UsageError, one_line, redact
from qdbm_desktop.core.run_locks import RunFolder, TargetLocks, WaitCancelled, WaitTimedOut, duration_text
from qdbm_desktop.core.settings import DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE
from qdbm_desktop.core.sqlcheck import check_source_query, query_error, wrap_query
from qdbm_desktop.core.types import Column, Kind, PortableType, ValueRejected
from qdbm_desktop.core.urls import parse_connection_url

log = logging.getLogger(__name__)

STAGING_PREFIX = "qdbm_stg_"
OLD_PREFIX = "qdbm_old_"
#: How many batches may wait between the reader and the writer. One is enough to overlap the two
#: (measured: as fast as two), and each more costs a batch of memory.
QUEUE_DEPTH = 1
PROGRESS_INTERVAL = 0.1
_POLL = 0.2
#: How often a cancelled run asks the servers again to stop what they run (one request can arrive
#: between two statements and stop nothing).
_CANCEL_REPEAT = 0.5
#: How long an abandoned read may take to end once its statement was cancelled.
_READER_GRACE = 2.0
#: The log line that ends a cancelled run.
CANCELLED_NOTE = "cancelled; the target is unchanged"
#: How long a run waits, by default, for another run into the same table before giving up.
DEFAULT_WAIT_TIMEOUT = 600.0


class Stage(str, Enum):
    CONNECT = "connect"
    #: Waiting for another run into the same target table to end.
    WAIT = "wait"
    READ = "read"
    CREATE = "create"
    LOAD = "load"
    VERIFY = "verify"
    FINALIZE = "finalize"
    DONE = "done"


class Status(str, Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Endpoint:
    """One side of a migration: its label (a saved connection's name), engine and parameters."""

    label: str
    type: str
    params: ConnectParams

    @property
    def dialect(self) -> Dialect:
        return get_dialect(self.type)

    def for_reading(self) -> Endpoint:
        """This endpoint as a run's source: connections to it only read (SQLite opens the file read-only)."""
        return replace(self, params=replace(self.params, read_only=True))


@dataclass(frozen=True)
class ColumnMap:
    """The user's choice for one of the query's columns (the GUI's column mapping grid)."""

    source: str
    #: The column's name in the target table; ``None`` keeps the query's name.
    target: str | None = None
    #: The target type; ``None`` keeps the engine's suggestion.
    type: PortableType | None = None
    #: ``False`` makes the new table's column NOT NULL; ``None`` keeps what the source says.
    nullable: bool | None = None
    include: bool = True


@dataclass(frozen=True)
class MigrationRequest:
    """Everything a run needs, fixed before it starts (built on the GUI thread or by the CLI)."""

    source: Endpoint
    target: Endpoint
    query: str
    table: TableName
    mode: LoadMode = LoadMode.APPEND
    keys: tuple[str, ...] = ()
    batch_size: int = DEFAULT_BATCH_SIZE
    #: Target type per source column name, replacing the engine's suggested mapping.
    type_overrides: Mapping[str, PortableType] = field(default_factory=dict)
    connect_timeout: float = 30.0
    #: Count the query's rows first, so progress can show a total and an ETA (costs one more query).
    count_rows: bool = False
    #: Per-column choices (leave out, rename, retype, NOT NULL), applied after ``type_overrides``.
    column_map: tuple[ColumnMap, ...] = ()
    #: Values bound to the query's parameter markers (the source dialect's ``param_marker``).
    query_params: tuple[Any, ...] = ()
    #: A column of the query whose largest value over the rows read is reported as ``max_value``
    #: (an incremental job's next mark). The rows then always take the decoding path.
    track_max_column: str | None = None
    #: (level, message) lines written to the run's log as it starts (what an incremental run reads).
    log_lines: tuple[tuple[str, str], ...] = ()
    #: Seconds to wait for another run into the same table (in any process, on any machine) to
    #: end before giving up with nothing changed; 0 gives up at once.
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT
    #: The folder under which the run keeps its temporary files, in a folder of its own that is
    #: removed when it ends (or by a later run, when it was killed): the app's ``runs`` folder.
    #: None keeps them under the system's temporary folder.
    work_dir: Path | None = None
    #: How the staging table is checked before the swap: its row count, or also a checksum of
    #: every column over what the target holds (read back) against what was read.
    verify: VerifyLevel = VerifyLevel.COUNTS


@dataclass(frozen=True)
class Progress:
    stage: Stage
    rows_read: int
    rows_written: int
    elapsed: float
    #: The query's row count, when the run counted it first.
    total: int | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows_written / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, when the total is known."""
        rate = self.rows_per_second
        if self.total is None or rate <= 0:
            return None
        return max(0.0, (self.total - self.rows_written) / rate)


class ProgressCallback(Protocol):
    def __call__(self, progress: Progress, /) -> None: ...


def new_run_id() -> str:
    """A run's id: short, unique, and usable in a table name (the staging table carries it)."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class LogEntry:
    at: str
    stage: Stage
    message: str
    level: str = "info"


class LogCallback(Protocol):
    def __call__(self, entry: LogEntry, /) -> None: ...


@dataclass
class MigrationResult:
    run_id: str
    status: Status
    rows_read: int = 0
    rows_written: int = 0
    seconds: float = 0.0
    stage: Stage = Stage.CONNECT
    error: str | None = None
    columns: list[Column] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)
    #: The largest non-NULL value of the request's ``track_max_column`` among the rows read
    #: (None when it is not tracked or every value was NULL).
    max_value: Any = None
    #: The check the staging table passed before the swap (None: it did not get that far).
    verified: VerifyLevel | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows_written / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class MigrationPlan:
    """What a run would do, for ``--dry-run`` and the GUI's Show SQL."""

    #: The query's columns that go to the target, each beside its target column.
    source_columns: list[Column]
    target_columns: list[Column]
    target_exists: bool
    create_sql: str | None
    staging: str
    steps: list[str]


class StageError(QdbmError):
    """A run failed at ``stage``; the message names the stage and the connection."""

    def __init__(self, stage: Stage, message: str) -> None:
        super().__init__(message)
        self.stage = stage


class Cancelled(QdbmError):
    pass


class QueryFailed(Exception):
    """The source query failed; the message is the engine's, in terms of the user's query."""


def resolve_endpoint(store: ConnectionStore, name_or_url: str) -> Endpoint:
    """A saved connection by name, or a connection URL used as it is (its password masked in labels)."""
    profile = store.find(name_or_url)
    if profile is not None:
        return Endpoint(profile.name, profile.type, store.connect_params(profile))
    if "://" not in name_or_url:
        raise UsageError(no_connection_named(name_or_url))
    parsed = parse_connection_url(name_or_url)
    params = parsed.connect_params()
    return Endpoint(redact(parsed.label, params.secret_values()), parsed.type, params)


def validate_request(request: MigrationRequest) -> None:
    """Refuse a malformed request before any connection is opened."""
    if not 1 <= request.batch_size <= MAX_BATCH_SIZE:
        raise UsageError(
            f"batch size must be between 1 and {MAX_BATCH_SIZE:,} rows, not {request.batch_size:,}"
        )
    if not request.query.strip():
        raise UsageError("the source query is empty")
    check_source_query(request.query, request.source.type)
    if request.mode is LoadMode.UPSERT and not request.keys:
        raise UsageError("upsert needs the key columns (--key COL[,COL])")
    if request.keys and request.mode is not LoadMode.UPSERT:
        raise UsageError("key columns are only used by the upsert mode")
    if not 0 <= request.wait_timeout <= 7 * 24 * 3600:
        raise UsageError(f"the wait for another run into the same table must be between 0 s and "
                         f"7 days, not {request.wait_timeout:g} s")
    request.target.dialect.check_identifier(request.table.name)
    _refuse_same_sqlite_file_without_wal(request)


def _refuse_same_sqlite_file_without_wal(request: MigrationRequest) -> None:
    """In SQLite's default journal mode an open read blocks every write to the same file."""
    source, target = request.source, request.target
    if source.type != "sqlite" or target.type != "sqlite" or not source.params.path or not target.params.path:
        return
    same = Path(source.params.path).expanduser().resolve() == Path(target.params.path).expanduser().resolve()
    if not same or not Path(source.params.path).expanduser().is_file():
        return
    uri = Path(source.params.path).expanduser().resolve().as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()
    if str(mode).lower() != "wal":
        raise UsageError("the source and the target are the same SQLite file, which works only in WAL mode "
                         f"(now {mode}); switch it once with: sqlite3 FILE 'PRAGMA journal_mode=WAL', or "
                         "load into another file")


def map_columns(
    source_columns: Sequence[Column],
    overrides: Mapping[str, PortableType],
    column_map: Sequence[ColumnMap] = (),
) -> list[Column]:
    """Target columns for a new table: the source's portable types, with the user's overrides.

    Columns left out by ``column_map`` are not in the list; see :func:`kept_positions`.
    """
    names = [c.name for c in source_columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UsageError(
            f"the query returns more than one column named {duplicates[0]!r}; give them "
            "distinct names with AS"
        )
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise UsageError(
            f"--map names {unknown[0]!r}, which is not a column of the query (columns: {', '.join(names)})"
        )
    choices = {m.source: m for m in column_map}
    unknown = sorted(set(choices) - set(names))
    if unknown:
        raise UsageError(
            f"the column mapping names {unknown[0]!r}, which is not a column of the query "
            f"(columns: {', '.join(names)}); preview the query again"
        )
    mapped = []
    for column in source_columns:
        choice = choices.get(column.name)
        column = replace(column, type=overrides.get(column.name, column.type))
        if choice is not None:
            if not choice.include:
                continue
            column = replace(
                column,
                name=choice.target.strip() if choice.target and choice.target.strip() else column.name,
                type=choice.type or column.type,
                nullable=column.nullable if choice.nullable is None else choice.nullable,
            )
        mapped.append(column)
    if not mapped:
        raise UsageError("every column of the query is left out; include at least one")
    targets = [c.name for c in mapped]
    clashes = sorted({n for n in targets if targets.count(n) > 1})
    if clashes:
        raise UsageError(f"two columns would both be named {clashes[0]!r} in the target; rename one")
    return mapped


def kept_positions(source_columns: Sequence[Column], column_map: Sequence[ColumnMap]) -> list[int] | None:
    """The positions of the query's columns that go to the target, or ``None`` when all of them do."""
    left_out = {m.source for m in column_map if not m.include}
    if not left_out:
        return None
    return [i for i, c in enumerate(source_columns) if c.name not in left_out]


def row_picker(positions: list[int] | None) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
    """A function keeping the values at ``positions`` of a row, or ``None`` when every value is kept."""
    if positions is None:
        return None
    if len(positions) == 1:
        (only,) = positions
        return lambda row: (row[only],)  # itemgetter of one index gives no tuple
    return operator.itemgetter(*positions)


def tracked_position(columns: Sequence[Column], name: str | None) -> Callable[[Any], Any] | None:
    """An itemgetter for the query's column ``name`` (matched exactly, else ignoring case)."""
    if name is None:
        return None
    names = [c.name for c in columns]
    if name in names:
        return operator.itemgetter(names.index(name))
    folded = [n.casefold() for n in names]
    if folded.count(name.casefold()) == 1:
        return operator.itemgetter(folded.index(name.casefold()))
    raise UsageError(f"the incremental column {name!r} is not a column of the query "
                     f"(columns: {', '.join(names)})")


def match_existing(
    source_columns: Sequence[Column], existing: Sequence[Column], table: TableName
) -> list[Column]:
    """The existing target columns that receive the query's columns, in the query's order."""
    by_name = {c.name: c for c in existing}
    folded = {c.name.casefold(): c for c in existing}
    matched = []
    for column in source_columns:
        found = by_name.get(column.name) or folded.get(column.name.casefold())
        if found is None:
            raise UsageError(
                f"the target table {table} has no column {column.name!r} "
                f"(it has: {', '.join(c.name for c in existing)})"
            )
        matched.append(found)
    return matched


class _Run:
    """The state of one run; ``execute`` never raises for a failed run, it returns the result."""

    def __init__(
        self,
        request: MigrationRequest,
        on_progress: ProgressCallback | None,
        cancel: threading.Event,
        run_id: str | None = None,
        on_log: LogCallback | None = None,
    ) -> None:
        self.request = request
        self.on_progress = on_progress
        self.on_log = on_log
        self.cancel = cancel
        self.run_id = run_id or new_run_id()
        self.result = MigrationResult(run_id=self.run_id, status=Status.FAILED)
        self.started = time.monotonic()
        self.last_progress = 0.0
        self.secrets = request.source.params.secret_values() + request.target.params.secret_values()
        self.staging = TableName(STAGING_PREFIX + self.run_id, request.table.schema)
        self.total: int | None = None
        #: Set once the final step committed: from then on a failure cannot undo the load.
        self.committed = False
        #: The run's open connections, whose running statement a cancel stops (see watch_cancel).
        self.live: list[tuple[Endpoint, Any]] = []
        #: Held while statements are being cancelled; ``interruptible`` turns false for the final
        #: step and the clean-up, which a cancel must never cut in two.
        self.interrupt_lock = threading.Lock()
        self.interruptible = True
        self.over = threading.Event()
        self.source_conn: Any = None
        self.locks: TargetLocks | None = None
        self.folder: RunFolder | None = None
        #: The checksum of the rows read (with ``--verify checksum``).
        self.hasher: Hasher | None = None
        #: Whether the rows went straight from source to target (same engine, same types).
        self.passed_through = False

    # -- bookkeeping --------------------------------------------------------------------------

    def note(self, stage: Stage, message: str, level: str = "info") -> None:
        message = redact(message, self.secrets)
        entry = LogEntry(datetime.now(timezone.utc).isoformat(timespec="milliseconds"), stage, message, level)
        self.result.log.append(entry)
        if self.on_log is not None:
            self.on_log(entry)
        log.log(logging.WARNING if level == "warning" else logging.INFO, "[%s] %s", self.run_id, message)

    def progress(self, stage: Stage, force: bool = False) -> None:
        self.result.stage = stage
        now = time.monotonic()
        if self.on_progress is None or (not force and now - self.last_progress < PROGRESS_INTERVAL):
            return
        self.last_progress = now
        self.on_progress(Progress(stage, self.result.rows_read, self.result.rows_written, now - self.started,
                                  self.total))

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("cancelled by the user")

    def stop_interrupting(self) -> None:
        """From now on a cancel no longer stops running statements (waits for one being sent)."""
        with self.interrupt_lock:
            self.interruptible = False

    def interrupt(self, only: Any = None) -> None:
        """Stop what the run's connections (or only the connection ``only``) are running now."""
        with self.interrupt_lock:
            if not self.interruptible:
                return
            for side, conn in list(self.live):
                if only is None or conn is only:
                    try:
                        side.dialect.cancel_running(conn, side.params)
                    except Exception as exc:  # noqa: BLE001 - a connection already gone has nothing to stop
                        log.debug("[%s] cancel on %s: %s", self.run_id, side.label, exc)

    def watch_cancel(self) -> None:
        """A cancel interrupts the driver call the run is blocked in, whichever it is (a slow query,
        a count, a load, a verify), so it takes effect at once rather than when the call returns."""
        while not self.over.is_set():
            if not self.cancel.wait(_POLL):
                continue
            self.interrupt()
            self.over.wait(_CANCEL_REPEAT)

    def fail(self, stage: Stage, endpoint: Endpoint | None, exc: BaseException) -> StageError:
        if isinstance(exc, StageError):
            return exc
        text = one_line(str(exc)) or type(exc).__name__
        where = f" on {endpoint.label!r}" if endpoint else ""
        return StageError(stage, redact(f"{stage.value} failed{where}: {text}", self.secrets))

    # -- the run ------------------------------------------------------------------------------

    def execute(self) -> MigrationResult:
        request = self.request
        self.note(
            Stage.CONNECT,
            f"run {self.run_id}: {request.source.label} -> {request.target.label} "
            f"table {request.table}, mode {request.mode.value}, batch {request.batch_size:,}",
        )
        for level, message in request.log_lines:
            self.note(Stage.CONNECT, message, level)
        source_conn = target_conn = None
        watchdog = threading.Thread(target=self.watch_cancel, name=f"qdbm-cancel-{self.run_id}", daemon=True)
        watchdog.start()
        try:
            validate_request(request)
            self.progress(Stage.CONNECT, force=True)
            source_conn = self.source_conn = self.connect(request.source.for_reading())
            target_conn = self.connect(request.target)
            self.hold_target(target_conn)
            self.load(source_conn, target_conn)
            self.result.status = Status.SUCCEEDED
            self.progress(Stage.DONE, force=True)
            self.note(
                Stage.DONE,
                f"succeeded: {self.result.rows_written:,} rows in {time.monotonic() - self.started:.2f} s",
            )
        except Cancelled as exc:
            self.result.status, self.result.error = Status.CANCELLED, str(exc)
            self.note(self.result.stage, CANCELLED_NOTE, "warning")
        except QdbmError as exc:
            if isinstance(exc, StageError):
                self.result.stage = exc.stage
            if self.cancel.is_set() and not self.committed:
                # The cancel stopped a statement, which then failed: that failure is the cancel.
                self.result.status, self.result.error = Status.CANCELLED, "cancelled by the user"
                self.note(self.result.stage, CANCELLED_NOTE, "warning")
                return self.result
            self.result.error = redact(str(exc), self.secrets)
            outcome = "the rows were committed" if self.committed else "the target is unchanged"
            self.note(self.result.stage, f"failed: {self.result.error}; {outcome}", "error")
        finally:
            self.stop_interrupting()
            self.over.set()
            watchdog.join()
            if target_conn is not None:
                self.cleanup(target_conn)
            # Only now, with the staging table gone or renamed, may another run's sweep look at it.
            self.let_go()
            for conn in (source_conn, target_conn):
                if conn is not None:
                    with suppress(Exception):  # closing a broken connection may fail too
                        conn.close()
            self.result.seconds = time.monotonic() - self.started
        return self.result

    def connect(self, endpoint: Endpoint) -> Any:
        self.check_cancel()
        try:
            conn = self.connect_or_cancel(endpoint)
        except Cancelled:
            raise
        except Exception as exc:  # any driver error
            raise self.fail(Stage.CONNECT, endpoint, exc) from exc
        kind = endpoint.dialect.display_name  # a label such as "Local warehouse (SQLite)" names it already
        named = any(word.lower() in endpoint.label.lower() for word in kind.split(" / "))
        self.note(Stage.CONNECT, f"connected to {endpoint.label}" + ("" if named else f" ({kind})"))
        return conn

    def connect_or_cancel(self, endpoint: Endpoint) -> Any:
        """``endpoint``'s connection, opened in a thread of its own so that a cancel need not wait for
        a server that does not answer (a connection that arrives after a cancel is closed)."""
        outcome: list[Any] = []
        lock = threading.Lock()
        arrived = threading.Event()
        abandoned = False

        def attempt() -> None:
            try:
                conn = endpoint.dialect.connect(endpoint.params, self.request.connect_timeout)
            except BaseException as exc:  # noqa: BLE001 - handed to the run's thread
                outcome.append(exc)
                arrived.set()
                return
            with lock:
                if abandoned:
                    with suppress(Exception):
                        conn.close()
                    return
                outcome.append(conn)
                self.live.append((endpoint, conn))
                arrived.set()

        threading.Thread(target=attempt, name=f"qdbm-connect-{self.run_id}", daemon=True).start()
        while not arrived.wait(_POLL):
            if self.cancel.is_set():
                with lock:
                    if not arrived.is_set():
                        abandoned = True
                        raise Cancelled("cancelled by the user")
        (found,) = outcome
        if isinstance(found, BaseException):
            raise found
        return found

    def close_stream(self, stream: ReadStream) -> None:
        """Close the source stream; a failure to close does not hide the error that ended the read."""
        failing = sys.exc_info()[1] is not None
        try:
            stream.close()
        except Exception as exc:
            if not failing:
                raise self.fail(Stage.READ, self.request.source, exc) from exc
            log.debug("[%s] closing the read after an error: %s", self.run_id, exc)

    def hold_target(self, target_conn: Any) -> None:
        """Take this run's locks on the target (waiting for another run into the same table) and
        make its private folder, before anything on the target is touched."""
        request = self.request
        target = request.target
        self.check_cancel()
        if request.work_dir is not None:
            folder = RunFolder(request.work_dir, self.run_id)
            try:
                swept = folder.create()
            except Exception as exc:  # noqa: BLE001 - a full or read-only app-data disk
                # does not stop a run: load files (if the target needs any) go to a private folder in
                # the system's temporary folder instead.
                swept = []
                self.note(Stage.CONNECT, f"cannot make the run's folder under {request.work_dir} "
                                         f"({one_line(str(exc))}); temporary load files, if any, go to a "
                                         "folder of this user's in the system's temporary folder", "warning")
            else:
                self.folder = folder
            if swept:
                self.note(Stage.CONNECT, f"removed the temporary files of {len(swept)} interrupted "
                                         f"run(s) ({', '.join(swept)})", "warning")
        try:
            self.locks = TargetLocks(target.dialect, target.params, request.connect_timeout)
            if not self.locks.hold_own(self.staging.name) and self.locks.available:
                raise StageError(Stage.CONNECT, f"another run holds this run's name {self.staging.name} "
                                                f"on {target.label!r}; run it again")
            table_lock = self.locks.table_lock_name(request.table)
        except QdbmError:
            raise
        except Exception as exc:
            raise self.fail(Stage.CONNECT, target, exc) from exc
        target.dialect.set_lock_wait(target_conn, max(request.connect_timeout, request.wait_timeout))
        limit = duration_text(request.wait_timeout)
        waiting = False

        def on_wait(seconds: float) -> None:
            nonlocal waiting
            if not waiting:
                waiting = True
                self.note(Stage.WAIT, f"waiting for another run into {request.table} on {target.label} to "
                                      f"end (gives up after {limit})")
                self.progress(Stage.WAIT, force=True)
            else:
                self.progress(Stage.WAIT)

        try:
            waited = self.locks.wait_for(table_lock, request.wait_timeout, self.cancel, on_wait)
        except WaitCancelled as exc:
            raise Cancelled("cancelled by the user while waiting for another run") from exc
        except WaitTimedOut as exc:
            raise StageError(Stage.WAIT, f"another run into {request.table} on {target.label!r} is still "
                                         f"going: {exc} (the limit is {limit}); nothing was changed") from exc
        except Exception as exc:
            raise self.fail(Stage.WAIT, target, exc) from exc
        if not self.locks.available:
            self.note(Stage.CONNECT, f"{target.label} offers no locks to this login ({self.locks.reason}): "
                                     "staging tables left by other runs are kept, and runs into the same "
                                     "table are not kept apart", "warning")
        elif waiting:
            self.note(Stage.WAIT, f"the other run into {request.table} ended after {waited:.1f} s; "
                                  "this run goes on")

    def let_go(self) -> None:
        """Release the target's locks and remove the run's folder (the run's very last step)."""
        if self.locks is not None:
            self.locks.close()
            self.locks = None
        if self.folder is not None:
            try:
                self.folder.remove()
            except QdbmError as exc:
                self.note(self.result.stage, f"{exc}; the next run removes it", "warning")
            self.folder = None

    def load(self, source_conn: Any, target_conn: Any) -> None:
        request = self.request
        source, target = request.source, request.target
        dialect = target.dialect
        if request.count_rows:
            self.total = self.count_rows(source_conn)
        try:
            stream = source.dialect.open_read(source_conn, request.query, request.batch_size,
                                              request.query_params or None)
        except QdbmError:
            raise
        except Exception as exc:
            raise self.fail(Stage.READ, source, QueryFailed(query_error(str(exc)))) from exc
        try:
            self.progress(Stage.CREATE, force=True)
            try:
                dialect.prepare_for_load(target_conn)
                self.drop_leftovers(target_conn)
                target_exists = dialect.table_exists(target_conn, request.table)
                columns = self.target_columns(stream.columns, target_conn, target_exists)
                for column in columns:
                    dialect.native_type(column.type)  # an unsupported type stops the run here
                if request.mode is LoadMode.CREATE and target_exists:
                    raise UsageError(f"the table {request.table} already exists (mode create)")
                if request.mode is LoadMode.TRUNCATE and not target_exists:
                    raise UsageError(
                        f"the table {request.table} does not exist (mode truncate empties an "
                        "existing table; use append, create or replace to make it)"
                    )
                before = dialect.row_count(target_conn, request.table) if target_exists else 0
                # A new table loaded by upsert gets its keys as primary key, so the next upsert works.
                primary_key = request.keys if request.mode is LoadMode.UPSERT and not target_exists else ()
                dialect.create_table(target_conn, self.staging, columns, primary_key)
                target_conn.commit()
            except QdbmError:
                raise
            except Exception as exc:
                raise self.fail(Stage.CREATE, target, exc) from exc
            self.result.columns = columns
            self.note(Stage.CREATE, f"staging table {self.staging} created with {len(columns)} columns")
            if not self.pass_through(stream, target_conn):
                self.stream_rows(stream, target_conn, columns)
        finally:
            self.close_stream(stream)
        self.verify_staging(target_conn, columns)
        self.finalize(target_conn, columns, target_exists, before)

    def count_rows(self, source_conn: Any) -> int:
        """The query's row count, read through the same read-only path as the rows."""
        source = self.request.source
        # The query is one SELECT (checked), so it can stand as a subquery.
        counting = wrap_query("SELECT COUNT(*) AS row_count FROM (", self.request.query, ") qdbm_count",
                              source.type)
        try:
            stream = source.dialect.open_read(source_conn, counting, 1, self.request.query_params or None)
            try:
                total = int(next(iter(stream.batches()))[0][0])
            finally:
                stream.close()
            source_conn.rollback()
        except QdbmError:
            raise
        except Exception as exc:
            raise self.fail(Stage.READ, source, QueryFailed(query_error(str(exc)))) from exc
        self.note(Stage.READ, f"the query returns {total:,} rows")
        return total

    def target_columns(
        self, source_columns: list[Column], target_conn: Any, target_exists: bool
    ) -> list[Column]:
        request = self.request
        mapped = map_columns(source_columns, request.type_overrides, request.column_map)
        if not target_exists or request.mode in (LoadMode.REPLACE, LoadMode.CREATE):
            for column in mapped:
                request.target.dialect.check_identifier(column.name)
            return mapped
        existing = request.target.dialect.table_columns(target_conn, request.table)
        matched = match_existing(mapped, existing, request.table)
        missing = sorted(set(request.keys) - {c.name for c in matched})
        if missing:
            raise UsageError(f"key column {missing[0]!r} is not among the query's columns")
        return matched

    def pass_through(self, stream: ReadStream, target_conn: Any) -> bool:
        """Same engine, same column types: move the rows without decoding them (False when not)."""
        request = self.request
        if request.source.type != request.target.type or request.type_overrides or request.track_max_column:
            return False
        if request.verify is VerifyLevel.CHECKSUM and request.source.type != "postgresql":
            return False  # the rows must be decoded to be hashed as they pass
        if any(not m.include or m.type is not None for m in request.column_map):
            return False

        def on_rows(count: int) -> None:
            self.result.rows_read = self.result.rows_written = count
            self.progress(Stage.LOAD)

        try:
            rows = request.source.dialect.copy_between(stream, target_conn, self.staging, self.cancel.is_set,
                                                       on_rows)
        except InterruptedError as exc:
            raise Cancelled("cancelled by the user") from exc
        except ReadFailed as exc:
            raise self.fail(Stage.READ, request.source, exc) from exc
        except QdbmError:
            raise
        except Exception as exc:
            raise self.fail(Stage.LOAD, request.target, exc) from exc
        if rows is None:
            return False
        self.passed_through = True
        target_conn.commit()
        self.result.rows_read = self.result.rows_written = rows
        self.note(Stage.LOAD, f"{rows:,} rows passed straight into the staging table (same column types "
                              "on both sides, nothing decoded)")
        return True

    def stream_rows(self, stream: ReadStream, target_conn: Any, columns: list[Column]) -> None:
        """Reads in one thread and writes in this one, a batch at a time through a short queue."""
        request = self.request
        batches: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
        done = object()
        stop = threading.Event()
        pick = row_picker(kept_positions(stream.columns, request.column_map))
        hasher = self.hasher = self.source_hasher(stream.columns, columns)
        tracked = tracked_position(stream.columns, request.track_max_column)

        def hand_over(item: object) -> bool:
            """Put ``item`` on the queue unless the writer side has stopped (then False)."""
            while not stop.is_set():
                try:
                    batches.put(item, timeout=_POLL)
                    return True
                except queue.Full:
                    continue
            return False

        def read() -> None:
            try:
                if self.read_batches(stream, pick, tracked, hasher, hand_over):
                    hand_over(done)
            except BaseException as exc:  # noqa: BLE001 - handed to the writer side
                hand_over(exc)

        reader = threading.Thread(target=read, name=f"qdbm-reader-{self.run_id}", daemon=True)
        reader.start()
        writer = request.target.dialect.open_writer(target_conn, self.staging, columns,
                                                    self.folder.path if self.folder else None)
        try:
            self.write_batches(batches, done, writer)
            writer.finish()
            target_conn.commit()
        except BaseException:
            stop.set()
            if reader.is_alive():
                # The reader may be waiting on the server (a query still computing): stop the
                # statement there, or the join below would wait for it.
                self.interrupt(self.source_conn)
            raise
        finally:
            reader.join(timeout=_READER_GRACE)
        for warning in stream.warnings:
            self.note(Stage.READ, warning, "warning")
        for warning in writer.warnings:
            self.note(Stage.LOAD, warning, "warning")
        self.note(Stage.LOAD, f"{self.result.rows_written:,} rows loaded into the staging table")

    def read_batches(self, stream: ReadStream, pick: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None,
                     tracked: Callable[[Any], Any] | None, hasher: Hasher | None,
                     hand_over: Callable[[object], bool]) -> bool:
        """The reader's side: each batch, with the tracked column's highest value noted and only the
        mapped columns kept, hashed when verifying, handed over. False when the writer side stopped
        taking them."""
        not_null = functools.partial(operator.is_not, None)
        for batch in stream.batches():
            if tracked is not None:
                # One pass in C over the batch's column; NULLs are no mark.
                top = max(filter(not_null, map(tracked, batch)), default=None)
                if top is not None and (self.result.max_value is None or top > self.result.max_value):
                    self.result.max_value = top
            if pick is not None:
                batch = list(map(pick, batch))
            if hasher is not None:
                hasher.add(batch)
            if not hand_over(batch):
                return False
        return True

    def write_batches(self, batches: queue.Queue[object], done: object, writer: BulkWriter) -> None:
        """The writer's side: every batch the reader hands over until ``done``; a reader's error
        fails the read stage."""
        request = self.request
        while True:
            self.check_cancel()
            try:
                item = batches.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is done:
                return
            if isinstance(item, BaseException):
                raise self.fail(Stage.READ, request.source, item) from item
            rows: list[tuple[Any, ...]] = item  # type: ignore[assignment]
            self.result.rows_read += len(rows)
            self.progress(Stage.LOAD)
            try:
                writer.write(rows, self.result.rows_written + 1)
            except ValueRejected as exc:
                raise StageError(Stage.LOAD, f"load failed on {request.target.label!r}: {exc}") from exc
            except Exception as exc:
                first = self.result.rows_written + 1
                raise self.fail(
                    Stage.LOAD,
                    request.target,
                    RuntimeError(f"rows {first:,}-{first + len(rows) - 1:,}: {exc}"),
                ) from exc
            self.result.rows_written += len(rows)
            self.progress(Stage.LOAD)

    def source_hasher(self, read: list[Column], columns: list[Column]) -> Hasher | None:
        """The checksum of the rows as read, in the target columns' canonical forms (verify checksum)."""
        if self.request.verify is not VerifyLevel.CHECKSUM:
            return None
        return self.source_hasher_for(read, columns)

    def key_positions(self, columns: list[Column]) -> list[int]:
        folded = [c.name.casefold() for c in columns]
        return [folded.index(k.casefold()) for k in self.request.keys if k.casefold() in folded]

    def verify_staging(self, target_conn: Any, columns: list[Column]) -> None:
        self.check_cancel()
        self.progress(Stage.VERIFY, force=True)
        try:
            staged = self.request.target.dialect.row_count(target_conn, self.staging)
        except Exception as exc:
            raise self.fail(Stage.VERIFY, self.request.target, exc) from exc
        if staged != self.result.rows_read:
            raise StageError(
                Stage.VERIFY,
                f"verify failed: {self.result.rows_read:,} rows were read but the "
                f"staging table holds {staged:,}",
            )
        if self.passed_through and self.request.verify is VerifyLevel.CHECKSUM:
            self.verify_on_servers(target_conn, columns)
            return
        if self.hasher is None:
            self.note(Stage.VERIFY, f"verified: counts only ({staged:,} rows)")
            self.result.verified = VerifyLevel.COUNTS
            return
        self.verify_checksum(target_conn, columns, self.hasher)

    def read_back(self, target_conn: Any, columns: list[Column]) -> ReadStream:
        """The staging table's rows as the target holds them: one streamed SELECT."""
        dialect = self.request.target.dialect
        names = ", ".join(dialect.quote_identifier(c.name) for c in columns)
        return dialect.open_read(target_conn, f"SELECT {names} FROM {dialect.qualified(self.staging)}",
                                 self.request.batch_size)

    def staged_hasher(self, stream: ReadStream, columns: list[Column], like: Hasher) -> Hasher:
        return Hasher(like.checksum.names, [c.type.kind for c in stream.columns],
                      [c.type.kind for c in columns], like.keys)

    def verify_checksum(self, target_conn: Any, columns: list[Column], hasher: Hasher) -> None:
        """Read the staging table back and compare its checksum with the rows read; fail on a difference."""
        self.note(Stage.VERIFY, "reading the staging table back to compare its checksums")
        try:
            stream = self.read_back(target_conn, columns)
            try:
                back = self.staged_hasher(stream, columns, hasher)
                for batch in stream.batches():
                    self.check_cancel()
                    back.add(batch)
            finally:
                stream.close()
                target_conn.rollback()
        except QdbmError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self.fail(Stage.VERIFY, self.request.target, exc) from exc
        mine, theirs = hasher.checksum, back.checksum
        if mine.equals(theirs):
            self.note(Stage.VERIFY, f"verified by checksum, {mine.rows:,} rows "
                                    f"({len(columns)} columns equal)")
            self.result.verified = VerifyLevel.CHECKSUM
            return
        differing = mine.differing_columns(theirs)
        named = (f"the column(s) {', '.join(differing)} hold other values in the staging table than were read"
                 if differing else "values moved between rows in the staging table")
        raise StageError(Stage.VERIFY, f"verify failed: checksum mismatch: {named}; "
                                       f"{self.example_row(target_conn, columns, hasher, back)}")

    def verify_on_servers(self, target_conn: Any, columns: list[Column]) -> None:
        """The checksums of rows that passed undecoded: one aggregate on each server, run at once (the
        source runs the query again); on a difference, both sides are read and hashed here to say more."""
        request = self.request
        source_sql = wrap_query("", request.query, "", request.source.type)
        staged = ", ".join(request.target.dialect.quote_identifier(c.name) for c in columns)
        target_sql = f"SELECT {staged} FROM {request.target.dialect.qualified(self.staging)}"
        names = [(c.name, c.type.kind) for c in columns]
        self.note(Stage.VERIFY, "summing the checksums of the query on the source and of the staging table "
                                "on the target (the rows passed without being decoded)")
        outcome: list[Any] = []
        source_names = list(zip(self.source_names(columns), [c.type.kind for c in columns], strict=True))
        quote = request.source.dialect.quote_identifier
        reader = threading.Thread(target=lambda: outcome.append(
            _server_sums(self.source_conn, source_sql, source_names, quote)), daemon=True)
        reader.start()
        try:
            held = _server_sums(target_conn, target_sql, names, request.target.dialect.quote_identifier)
        finally:
            reader.join()
        read = outcome[0] if outcome else RuntimeError("no result")
        if isinstance(read, BaseException):
            raise self.fail(Stage.VERIFY, request.source, read) from read
        if isinstance(held, BaseException):
            raise self.fail(Stage.VERIFY, request.target, held) from held
        if read == held:
            self.note(Stage.VERIFY, f"verified by checksum, {held[0]:,} rows ({len(columns)} columns equal)")
            self.result.verified = VerifyLevel.CHECKSUM
            return
        differing = [c.name for c, a, b in zip(columns, read[1:-1], held[1:-1], strict=True) if a != b]
        named = (f"the column(s) {', '.join(differing)} hold other values in the staging table than the "
                 "query returns" if differing else "values moved between rows in the staging table")
        raise StageError(Stage.VERIFY, f"verify failed: checksum mismatch: {named}; "
                                       f"{self.example_after_servers(target_conn, columns)}")

    def source_names(self, columns: list[Column]) -> list[str]:
        """The query's names of the target's columns (a column map may rename them)."""
        renamed = {m.target.strip(): m.source for m in self.request.column_map
                   if m.target and m.target.strip()}
        return [renamed.get(c.name, c.name) for c in columns]

    def example_after_servers(self, target_conn: Any, columns: list[Column]) -> str:
        """Read and hash both sides here (only after a mismatch), to name an example row."""
        request = self.request
        try:
            stream = request.source.dialect.open_read(self.source_conn, request.query, request.batch_size)
            try:
                mine = self.source_hasher_for(stream.columns, columns)
                for batch in stream.batches():
                    mine.add(batch)
            finally:
                stream.close()
            stream = self.read_back(target_conn, columns)
            try:
                theirs = self.staged_hasher(stream, columns, mine)
                for batch in stream.batches():
                    theirs.add(batch)
            finally:
                stream.close()
                target_conn.rollback()
        except Exception as exc:  # noqa: BLE001 - the mismatch is the error that matters
            return f"no example row ({one_line(str(exc))})"
        return self.example_row(target_conn, columns, mine, theirs)

    def source_hasher_for(self, read: list[Column], columns: list[Column]) -> Hasher:
        return Hasher([c.name for c in columns], [c.type.kind for c in self.kept(read)],
                      [c.type.kind for c in columns], self.key_positions(columns))

    def kept(self, read: list[Column]) -> list[Column]:
        positions = kept_positions(read, self.request.column_map)
        return read if positions is None else [read[i] for i in positions]

    def example_row(self, target_conn: Any, columns: list[Column], mine: Hasher, theirs: Hasher) -> str:
        """One differing row, found by reading again the rows of one differing key bucket on both sides."""
        if not mine.keys:
            return "no key column names an example row (an upsert's keys would)"
        buckets = mine.checksum.differing_buckets(theirs.checksum)
        if not buckets:
            return "no single row differs by key"
        wanted = {buckets[0]}
        request = self.request
        try:
            stream = request.source.dialect.open_read(self.source_conn, request.query, request.batch_size,
                                                      request.query_params or None)
            try:
                pick = row_picker(kept_positions(stream.columns, request.column_map))
                batches = (b if pick is None else list(map(pick, b)) for b in stream.batches())
                read = collect_bucket_rows(mine.fresh(), batches, wanted)
            finally:
                stream.close()
            stream = self.read_back(target_conn, columns)
            try:
                held = collect_bucket_rows(theirs.fresh(), stream.batches(), wanted)
            finally:
                stream.close()
                target_conn.rollback()
        except QdbmError:
            raise
        except Exception as exc:  # noqa: BLE001 - the mismatch is the error that matters
            return f"no example row ({one_line(str(exc))})"
        found = find_differences(read, held, mine.keys, 1)
        if not found:
            return "the source returned other rows when read again, so no example row"
        return _example_text(found[0], columns, mine, theirs)

    def finalize(self, target_conn: Any, columns: list[Column], target_exists: bool, before: int) -> None:
        request = self.request
        dialect = request.target.dialect
        # A cancel from here on lets the final step finish: cut in two, it might not be atomic.
        self.stop_interrupting()
        self.check_cancel()
        self.progress(Stage.FINALIZE, force=True)
        try:
            matched = self.count_matching_keys(target_conn) if target_exists and request.keys else 0
            dialect.finalize(
                target_conn, request.mode, request.table, self.staging, columns, request.keys, target_exists
            )
        except QdbmError:
            raise
        except Exception as exc:
            raise self.fail(Stage.FINALIZE, request.target, exc) from exc
        self.committed = True
        rows = self.result.rows_written
        after = dialect.row_count(target_conn, request.table)
        expected = {LoadMode.APPEND: before + rows, LoadMode.UPSERT: before + rows - matched}.get(
            request.mode, rows
        )
        if after != expected:
            # Committed already: say so plainly rather than claim a success.
            raise StageError(
                Stage.VERIFY,
                f"verify failed: the table {request.table} should hold {expected:,} "
                f"rows after this run but holds {after:,}; the rows were committed, so another "
                "writer changed the table at the same time or the count is off: check it",
            )
        self.note(Stage.FINALIZE, f"committed: {request.table} holds {after:,} rows ({request.mode.value})")

    def count_matching_keys(self, target_conn: Any) -> int:
        """Staging rows whose key already exists in the target (they update rather than insert)."""
        dialect = self.request.target.dialect
        keys = self.request.keys
        condition = " AND ".join(
            f"t.{dialect.quote_identifier(k)} = s.{dialect.quote_identifier(k)}" for k in keys
        )
        distinct = ", ".join(dialect.quote_identifier(k) for k in keys)
        cursor = target_conn.cursor()
        try:
            cursor.execute(
                f"SELECT COUNT(*) FROM (SELECT DISTINCT {distinct} FROM {dialect.qualified(self.staging)}) d"
            )
            (unique_keys,) = cursor.fetchone()
            if int(unique_keys) != self.result.rows_written:
                raise StageError(
                    Stage.VERIFY,
                    "verify failed: the query returns several rows with the same "
                    f"key ({', '.join(keys)}); an upsert needs one row per key",
                )
            cursor.execute(
                f"SELECT COUNT(*) FROM {dialect.qualified(self.staging)} s WHERE EXISTS "
                f"(SELECT 1 FROM {dialect.qualified(self.request.table)} t WHERE {condition})"
            )
            (matched,) = cursor.fetchone()
        finally:
            cursor.close()
        target_conn.commit()
        return int(matched)

    def drop_leftovers(self, target_conn: Any) -> None:
        """Drop the staging tables of runs that are gone (a crash, a killed process).

        A staging (or set-aside) table is its run's as long as that run holds the lock named after
        it: only a table whose lock this run can take itself is dropped, so the tables of runs
        going on now, in any process or on any machine, are left alone.
        """
        dialect = self.request.target.dialect
        schema = self.request.table.schema
        kept: list[str] = []
        for prefix in (STAGING_PREFIX, OLD_PREFIX):
            for table in dialect.list_tables(target_conn, schema, prefix):
                owner = STAGING_PREFIX + table.name[len(prefix):]
                if owner == self.staging.name or self.locks is None:
                    continue
                with self.locks.claim(owner) as gone:
                    if not gone:
                        if not self.locks.available:
                            kept.append(str(table))
                        continue
                    dialect.drop_table(target_conn, table)
                    target_conn.commit()
                self.note(Stage.CREATE, f"dropped {table}, left behind by an interrupted run", "warning")
        if kept:
            self.note(Stage.CREATE, f"kept {', '.join(kept)}: without locks there is no telling whether "
                                    "their runs are still going; drop them by hand once no run is", "warning")
        target_conn.commit()

    def cleanup(self, target_conn: Any) -> None:
        if self.result.status is Status.SUCCEEDED:
            return
        try:
            target_conn.rollback()
            self.request.target.dialect.drop_table(target_conn, self.staging)
            target_conn.commit()
        except Exception as exc:  # noqa: BLE001 - the next run drops it
            self.note(
                self.result.stage,
                f"the staging table {self.staging} could not be dropped now "
                f"({one_line(str(exc))}); the next run drops it",
                "warning",
            )


def _server_sums(conn: Any, relation: str, names: list[tuple[str, Kind]], quote: Callable[[str], str]) -> Any:
    """The row count, per-column and row checksums of ``relation`` as one PostgreSQL server sums them."""
    try:
        cursor = conn.cursor()
        try:
            for statement in PG_TEXT_SETTINGS:
                cursor.execute(statement)
            cursor.execute(pg_checksum_sql(relation, names, quote))
            return tuple(cursor.fetchone())
        finally:
            cursor.close()
            conn.rollback()
    except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
        return exc


def _example_text(diff: RowDifference, columns: list[Column], mine: Hasher, theirs: Hasher) -> str:
    key = ", ".join(f"{columns[k].name}={shown(v)!r}" for k, v in zip(mine.keys, diff.key, strict=False))
    if diff.kind == "missing":
        return f"for example the row with {key} was read but is not in the staging table"
    if diff.kind == "extra":
        return f"for example the row with {key} is in the staging table but was not read"
    changed = [f"{c.name} {shown(a)!r} read, {shown(b)!r} staged"
               for i, (c, a, b) in enumerate(zip(columns, diff.source or (), diff.target or (), strict=False))
               if mine.value(i, a) != theirs.value(i, b)]
    return f"for example the row with {key}: " + "; ".join(changed)


def run_migration(
    request: MigrationRequest,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    *,
    run_id: str | None = None,
    on_log: LogCallback | None = None,
) -> MigrationResult:
    """Run one migration to the end; a failure or a cancel is reported in the result, not raised.

    ``on_log`` receives each log line as it is written. Other runs may go on at the same time,
    into the same database or the same table (see :mod:`qdbm_desktop.core.run_locks`).
    """
    return _Run(request, on_progress, cancel or threading.Event(), run_id, on_log).execute()


@dataclass(frozen=True)
class QueryPreview:
    """The first rows of a query and its columns, without running it to the end."""

    columns: list[Column]
    rows: list[tuple[Any, ...]]
    #: Whether the query returns more rows than were fetched.
    more: bool


def preview_query(endpoint: Endpoint, query: str, limit: int = 100, timeout: float = 30.0) -> QueryPreview:
    """Fetch at most ``limit`` rows of ``query`` (read-only, as a run reads) and describe its columns."""
    if not query.strip():
        raise UsageError("the query is empty")
    check_source_query(query, endpoint.type)
    dialect = endpoint.dialect
    with _looking_at(endpoint.for_reading(), timeout, "the query failed") as conn:
        try:
            dialect.prepare_preview(conn, limit + 1)
            stream = dialect.open_read(conn, query, limit + 1)
            try:
                columns = list(stream.columns)
                rows = next(iter(stream.batches()), [])
            finally:
                stream.close()
        except QdbmError:
            raise
        except Exception as exc:
            raise UsageError(redact(f"the query failed on {endpoint.label!r}: {query_error(str(exc))}",
                                    endpoint.params.secret_values())) from exc
    return QueryPreview(columns, list(rows[:limit]), len(rows) > limit)


@contextmanager
def _looking_at(endpoint: Endpoint, timeout: float, failed: str) -> Iterator[Any]:
    """A connection for a look that changes nothing (a preview, the target's indicator).

    Driver errors become one redacted line starting with ``failed``; the connection is rolled
    back and closed whatever happens.
    """
    secrets = endpoint.params.secret_values()
    try:
        conn = endpoint.dialect.connect(endpoint.params, timeout)
    except QdbmError:
        raise
    except Exception as exc:
        message = f"cannot connect to {endpoint.label!r}: {one_line(str(exc))}"
        raise UsageError(redact(message, secrets)) from exc
    try:
        yield conn
    except QdbmError:
        raise
    except Exception as exc:
        message = f"{failed} on {endpoint.label!r}: {one_line(str(exc))}"
        raise UsageError(redact(message, secrets)) from exc
    finally:
        with suppress(Exception):
            conn.rollback()
        with suppress(Exception):
            conn.close()


#: The same, for other core modules (a comparison reads both sides this way).
looking_at = _looking_at


@dataclass(frozen=True)
class TargetInfo:
    """Whether a target table exists, its row count and columns (the Migrate page's indicator)."""

    exists: bool
    rows: int | None = None
    columns: list[Column] = field(default_factory=list)


def describe_target(endpoint: Endpoint, table: TableName, timeout: float = 30.0) -> TargetInfo:
    """Look at ``table`` on ``endpoint`` without changing anything."""
    dialect = endpoint.dialect
    dialect.check_identifier(table.name)
    with _looking_at(endpoint, timeout, f"cannot read {table}") as conn:
        if not dialect.table_exists(conn, table):
            return TargetInfo(False)
        return TargetInfo(True, dialect.row_count(conn, table), dialect.table_columns(conn, table))


def plan_migration(request: MigrationRequest) -> MigrationPlan:
    """Describe the query and the target, change nothing: the ``--dry-run`` view of a run."""
    validate_request(request)
    run = _Run(request, None, threading.Event())
    source, target = request.source, request.target
    source_conn = run.connect(source.for_reading())
    try:
        stream = source.dialect.open_read(source_conn, request.query, 1, request.query_params or None)
        try:
            source_columns = list(stream.columns)
        finally:
            stream.close()
    except QdbmError:
        raise
    except Exception as exc:
        raise run.fail(Stage.READ, source, QueryFailed(query_error(str(exc)))) from exc
    finally:
        source_conn.close()
    target_conn = run.connect(target)
    try:
        exists = target.dialect.table_exists(target_conn, request.table)
        columns = run.target_columns(source_columns, target_conn, exists)
    finally:
        target_conn.rollback()
        target_conn.close()
    creates = not exists or request.mode in (LoadMode.REPLACE, LoadMode.CREATE)
    create_sql = target.dialect.create_table_sql(request.table, columns) if creates else None
    staging = target.dialect.qualified(run.staging)
    steps = [
        f"stream the query from {source.label} in batches of {request.batch_size:,} rows",
        f"load them into the staging table {staging} on {target.label}",
        "check that the staging table holds exactly the rows read",
        _FINAL_STEP[request.mode].format(table=request.table, keys=", ".join(request.keys)),
        "check the target's row count; drop the staging table",
    ]
    positions = kept_positions(source_columns, request.column_map)
    kept = source_columns if positions is None else [source_columns[i] for i in positions]
    return MigrationPlan(kept, columns, exists, create_sql, staging, steps)


_FINAL_STEP: dict[LoadMode, str] = {
    LoadMode.APPEND: "in one transaction: insert the staged rows into {table}",
    LoadMode.TRUNCATE: "in one transaction: empty {table}, insert the staged rows",
    LoadMode.REPLACE: "in one step: the staging table replaces {table}",
    LoadMode.CREATE: "in one step: the staging table becomes {table} (which must not exist)",
    LoadMode.UPSERT: "in one transaction: insert or update the staged rows in {table} by ({keys})",
}
