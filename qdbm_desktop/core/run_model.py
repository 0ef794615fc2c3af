"""What a run is given and what it gives back: the request, its progress, log and result.

Also the check of a request before any connection is opened (:func:`validate_request`).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from qdbm_desktop.core.checksum import VerifyLevel
from qdbm_desktop.core.dialects import ConnectParams, Dialect, get_dialect
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.errors import QdbmError, UsageError
from qdbm_desktop.core.mapping import ColumnMap
from qdbm_desktop.core.partition_plan import Partitioning
from qdbm_desktop.core.partition_plan import check as check_partitioning
from qdbm_desktop.core.settings import DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE
from qdbm_desktop.core.sqlcheck import check_source_query
from qdbm_desktop.core.types import Column, PortableType

STAGING_PREFIX = "qdbm_stg_"
OLD_PREFIX = "qdbm_old_"
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
    #: Read the query in ranges of one column on several connections at once (see
    #: :mod:`qdbm_desktop.core.partitioned`); None reads it on one.
    partitions: Partitioning | None = None
    #: The lossy columns (query or target names, or "all") the user accepted; a lossy column not
    #: among them stops the run before anything is created. None asks no consent (a refused column
    #: still stops the run): the app's runs (``Job.request``) always give a tuple.
    accept_lossy: tuple[str, ...] | None = None
    #: Give a new table the NOT NULL and primary key of the columns it comes from (core/origins.py).
    #: A step of a many-tables run leaves them out: its closing step creates the source's
    #: constraints (or, with ``--no-constraints``, none are wanted).
    carry_source_shape: bool = True


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
    if request.partitions is not None:
        check_partitioning(request.partitions, request.source.type)
        if request.track_max_column:
            raise UsageError("an incremental run reads one range already: leave --partitions out")
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
