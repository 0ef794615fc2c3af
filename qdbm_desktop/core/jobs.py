"""Saved jobs: a named migration (source, destination, query, table, mode, keys, mapping, batch size),
optionally incremental (each run reads only the rows past the last run's mark)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qdbm_desktop.core.checksum import VerifyLevel
from qdbm_desktop.core.connections import ConnectionStore, now_iso
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.migration import (
    DEFAULT_WAIT_TIMEOUT,
    ColumnMap,
    Endpoint,
    MigrationRequest,
    resolve_endpoint,
)
from qdbm_desktop.core.partition_plan import MAX_PARTITIONS, Partitioning, parse_bounds, parse_count
from qdbm_desktop.core.schema import (
    Anything,
    Boolean,
    Choice,
    Integer,
    ListOf,
    Nullable,
    Record,
    Scalar,
    Text,
    Timestamp,
    require,
)
from qdbm_desktop.core.settings import MAX_BATCH_SIZE, VERIFY_LEVELS, Settings
from qdbm_desktop.core.tables import TableSelection
from qdbm_desktop.core.types import PortableType
from qdbm_desktop.core.watermark import Lookback

MAX_JOB_NAME = 120
#: Where an incremental job's query wants the mark, instead of being wrapped in a filter.
WATERMARK_PLACEHOLDER = re.compile(r"\{\{\s*watermark\s*\}\}")


def column_map_to_json(choice: ColumnMap) -> dict[str, Any]:
    data: dict[str, Any] = {"source": choice.source}
    if choice.target is not None:
        data["target"] = choice.target
    if choice.type is not None:
        data["type"] = str(choice.type)
    if choice.nullable is not None:
        data["nullable"] = choice.nullable
    if not choice.include:
        data["include"] = False
    return data


def column_map_from_json(data: Mapping[str, Any]) -> ColumnMap:
    if not isinstance(data.get("source"), str):
        raise UsageError(f"a column mapping entry has no source column: {dict(data)!r}")
    type_text = data.get("type")
    return ColumnMap(
        source=data["source"],
        target=data.get("target"),
        type=PortableType.parse(type_text) if type_text else None,
        nullable=data.get("nullable"),
        include=bool(data.get("include", True)),
    )


@dataclass(frozen=True)
class Job:
    """A migration saved under a name, run from the GUI, the tray, a schedule or ``qdbm run``.

    Connections are referred to by their saved names: a job holds no password.
    """

    name: str
    source: str
    target: str
    query: str
    table: str
    mode: str = LoadMode.APPEND.value
    keys: tuple[str, ...] = ()
    column_map: tuple[ColumnMap, ...] = ()
    #: Rows per batch; ``None`` follows the global setting.
    batch_size: int | None = None
    count_rows: bool = False
    #: A column of the query that only grows (an id, an updated-at time): each run reads the rows
    #: past the mark the last successful run left, upserted by ``keys`` (appended without keys).
    incremental_column: str | None = None
    #: Read again this far before the mark (``10m``, ``2h``, or a count such as ``500``); needs keys.
    lookback: str | None = None
    #: How the staging table is checked before the swap (counts, checksum); ``None`` follows the setting.
    verify: str | None = None
    #: Read in this many ranges of ``partition_by`` at once (0: ``auto``); None reads on one connection.
    partitions: int | None = None
    partition_by: str | None = None
    #: LOW,HIGH or LOW,B1,...,HIGH (texts in the column's kind); empty: the query's min and max.
    partition_bounds: tuple[str, ...] = ()
    #: A many-tables job: the source tables it copies, one step each (``query`` and ``table`` are
    #: then empty; see :mod:`qdbm_desktop.core.tables`).
    tables: TableSelection | None = None
    #: The lossy columns (see :mod:`~qdbm_desktop.core.fidelity`) the user accepted, or ``all``;
    #: a run with another lossy column stops before anything is created.
    accept_lossy: tuple[str, ...] = ()
    created_at: str = field(default_factory=now_iso)
    updated_at: str | None = None

    def validate(self) -> None:
        """``UsageError`` naming what is wrong with the definition (connections are checked at run time)."""
        name = self.name.strip()
        if not name:
            raise UsageError("a job needs a name")
        if len(name) > MAX_JOB_NAME:
            raise UsageError(f"a job name is at most {MAX_JOB_NAME} characters")
        if not self.source.strip() or not self.target.strip():
            raise UsageError(f"job {name!r} needs a source and a destination connection")
        if self.tables is not None:
            self._validate_tables(name)
            return
        if not self.query.strip():
            raise UsageError(f"job {name!r} has no query")
        TableName.parse(self.table)
        try:
            mode = LoadMode(self.mode)
        except ValueError:
            raise UsageError(f"job {name!r}: unknown mode {self.mode!r} "
                             f"(one of {', '.join(m.value for m in LoadMode)})") from None
        if mode is LoadMode.UPSERT and not self.keys:
            raise UsageError(f"job {name!r}: upsert needs the key columns")
        if self.batch_size is not None and not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise UsageError(f"job {name!r}: the batch size must be between 1 and {MAX_BATCH_SIZE:,} rows")
        self._validate_incremental(name, mode)
        self._validate_partitions(name)

    def _validate_partitions(self, name: str) -> None:
        if self.partitions is None:
            if self.partition_by or self.partition_bounds:
                raise UsageError(f"job {name!r}: --partition-by and --partition-bounds need --partitions N")
            return
        if not 0 <= self.partitions <= MAX_PARTITIONS:
            raise UsageError(f"job {name!r}: the partitions must be 1 to {MAX_PARTITIONS} or auto")
        if not (self.partition_by or "").strip():
            raise UsageError(f"job {name!r}: --partitions needs --partition-by COLUMN (a number, date or "
                             "timestamp column of the query)")
        if self.incremental_column:
            raise UsageError(f"job {name!r}: an incremental job reads one range already: "
                             "leave --partitions out")
        if self.partition_bounds:
            parse_bounds(",".join(self.partition_bounds))

    def partitioning(self) -> Partitioning | None:
        if self.partitions is None:
            return None
        return Partitioning(self.partitions, (self.partition_by or "").strip(), self.partition_bounds)

    def _validate_tables(self, name: str) -> None:
        assert self.tables is not None
        if self.query.strip() or self.table.strip():
            raise UsageError(f"job {name!r}: give either tables or a query and a table, not both")
        if self.incremental_column or self.lookback:
            raise UsageError(f"job {name!r}: a many-tables job cannot be incremental yet")
        try:
            LoadMode(self.mode)
        except ValueError:
            raise UsageError(f"job {name!r}: unknown mode {self.mode!r}") from None
        if self.batch_size is not None and not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise UsageError(f"job {name!r}: the batch size must be between 1 and {MAX_BATCH_SIZE:,} rows")
        self.tables.validate()

    def _validate_incremental(self, name: str, mode: LoadMode) -> None:
        column = self.incremental_column
        if column is not None and not column.strip():
            raise UsageError(f"job {name!r}: the incremental column has no name")
        if column is None:
            if self.lookback:
                raise UsageError(f"job {name!r}: a lookback needs an incremental column")
            if WATERMARK_PLACEHOLDER.search(self.query):
                raise UsageError(f"job {name!r}: the query holds {{{{ watermark }}}} but the job has no "
                                 "incremental column")
            return
        if self.keys and mode is not LoadMode.UPSERT:
            raise UsageError(f"job {name!r}: an incremental job with key columns loads by upsert, "
                             f"not {mode.value}")
        if not self.keys and mode is not LoadMode.APPEND:
            raise UsageError(f"job {name!r}: an incremental job without key columns appends "
                             f"(give key columns to upsert), not {mode.value}")
        if self.lookback:
            if not self.keys:
                raise UsageError(f"job {name!r}: a lookback re-reads rows already loaded, so it needs key "
                                 "columns to upsert them by (without keys they would be appended twice)")
            Lookback.parse(self.lookback)

    def verify_level(self, settings: Settings) -> VerifyLevel:
        """The job's own verify level, else the settings' default."""
        return VerifyLevel(self.verify or settings.verify)

    def request(self, connections: ConnectionStore, settings: Settings, *, work_dir: Path | None = None,
                wait_timeout: float = DEFAULT_WAIT_TIMEOUT, public: bool = False) -> MigrationRequest:
        """The run this job describes, with the connections' current parameters and secrets.

        The one builder of a request: a saved job's run, the desktop app's form and ``qdbm migrate``
        (both an unsaved job) all come here. The definition is not checked (:meth:`validate` does
        that for a saved job), nor is the request (``validate_request``); an incremental job's
        filter is added by ``incremental.job_request``. ``public=True`` uses the saved connections'
        public parameters only, decrypting no secret: for checking a definition without a run.
        """
        if self.tables is not None:
            raise UsageError(f"job {self.name!r} copies tables: each table's step has its own request "
                             "(see qdbm_desktop.core.table_runs)")
        mode = LoadMode(self.mode)
        return MigrationRequest(
            source=_endpoint(connections, self.source, public),
            target=_endpoint(connections, self.target, public),
            query=self.query,
            table=TableName.parse(self.table),
            mode=mode,
            keys=self.keys if mode is LoadMode.UPSERT else (),
            batch_size=self.batch_size or settings.batch_size,
            count_rows=self.count_rows,
            column_map=self.column_map,
            wait_timeout=wait_timeout,
            work_dir=work_dir,
            verify=self.verify_level(settings),
            partitions=self.partitioning(),
            accept_lossy=self.accept_lossy,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name, "source": self.source, "target": self.target, "query": self.query,
            "table": self.table, "mode": self.mode,
        }
        if self.keys:
            data["keys"] = list(self.keys)
        if self.column_map:
            data["column_map"] = [column_map_to_json(c) for c in self.column_map]
        if self.batch_size is not None:
            data["batch_size"] = self.batch_size
        if self.count_rows:
            data["count_rows"] = True
        if self.incremental_column:
            data["incremental_column"] = self.incremental_column
        if self.lookback:
            data["lookback"] = self.lookback
        if self.verify:
            data["verify"] = self.verify
        if self.partitions is not None:
            data["partitions"] = self.partitions or "auto"
            data["partition_by"] = self.partition_by
            if self.partition_bounds:
                data["partition_bounds"] = list(self.partition_bounds)
        if self.tables is not None:
            data["tables"] = self.tables.to_json()
        if self.accept_lossy:
            data["accept_lossy"] = list(self.accept_lossy)
        data["created_at"] = self.created_at
        if self.updated_at:
            data["updated_at"] = self.updated_at
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        """The job a stored entry holds; ``UsageError`` naming the field that fails ``JOB_ENTRY``."""
        require(JOB_ENTRY, data, "job")
        return cls.from_checked(data)

    @classmethod
    def from_checked(cls, data: Mapping[str, Any]) -> Job:
        """The job of an entry that has passed ``JOB_ENTRY``."""
        batch = data.get("batch_size")
        return cls(
            name=data["name"], source=data["source"], target=data["target"], query=data.get("query") or "",
            table=data.get("table") or "", mode=str(data.get("mode") or LoadMode.APPEND.value),
            keys=tuple(str(k) for k in data.get("keys") or ()),
            column_map=tuple(column_map_from_json(c) for c in data.get("column_map") or ()),
            batch_size=int(batch) if batch is not None else None,
            count_rows=bool(data.get("count_rows", False)),
            incremental_column=data.get("incremental_column") or None,
            lookback=data.get("lookback") or None,
            verify=data.get("verify") or None,
            partitions=_partitions(data.get("partitions")),
            partition_by=data.get("partition_by") or None,
            partition_bounds=tuple(str(b) for b in data.get("partition_bounds") or ()),
            tables=TableSelection.from_json(data["tables"]) if data.get("tables") else None,
            accept_lossy=tuple(str(c) for c in data.get("accept_lossy") or ()),
            created_at=str(data.get("created_at") or now_iso()),
            updated_at=data.get("updated_at"),
        )


def _partitions(value: Any) -> int | None:
    """A stored ``partitions``: a whole number or "auto" (0); None when not partitioned."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise UsageError(f"partitions is {value!r}: a number from 1 to {MAX_PARTITIONS} or auto")
    return parse_count(str(value))


def _endpoint(connections: ConnectionStore, name: str, public: bool) -> Endpoint:
    if not public:
        return resolve_endpoint(connections, name)
    profile = connections.get(name)
    return Endpoint(profile.name, profile.type, profile.public_params())


def _check_stored_job(data: Mapping[str, Any]) -> None:
    Job.from_checked(data).validate()


COLUMN_MAP_ENTRY = Record(
    fields={"source": Text(non_empty=True), "target": Nullable(Text()),
            "type": Nullable(Text(check_text=PortableType.parse)), "nullable": Nullable(Boolean()),
            "include": Boolean()},
    required=frozenset({"source"}),
)
#: What one job of schedules.json (or a job file) holds.
JOB_ENTRY = Record(
    fields={
        "name": Text(max_length=MAX_JOB_NAME, non_empty=True), "source": Text(non_empty=True),
        "target": Text(non_empty=True), "query": Text(), "table": Text(),
        "mode": Choice(tuple(m.value for m in LoadMode)),
        "keys": ListOf(Text(non_empty=True), unique=True),
        "column_map": ListOf(COLUMN_MAP_ENTRY),
        "batch_size": Nullable(Integer(1, MAX_BATCH_SIZE)), "count_rows": Boolean(),
        "incremental_column": Nullable(Text()), "lookback": Nullable(Text()),
        "verify": Nullable(Choice(VERIFY_LEVELS)),
        "partitions": Nullable(Scalar(check_value=_partitions)), "partition_by": Nullable(Text()),
        "partition_bounds": ListOf(Text(non_empty=True)),
        # A many-tables job's selection, checked by TableSelection.from_json.
        "tables": Nullable(Anything()),
        "accept_lossy": ListOf(Text(non_empty=True), unique=True),
        "created_at": Timestamp(), "updated_at": Nullable(Timestamp()),
        # Checked where it is used (a mark that does not parse is ignored with a notice).
        "state": Nullable(Anything()),
    },
    required=frozenset({"name", "source", "target"}),
    check_record=_check_stored_job,
)
