"""The migration pipeline: stream a query's rows into a staging table, then into the target at once.

A reader thread pulls batches from the source into a small bounded queue; the calling thread
loads them into a staging table on the target. Only when every row is in, and the staging
table holds exactly as many rows as were read, does the dialect's ``finalize`` move them into
the target in one atomic step. Whatever fails before that step, or inside it, leaves the
target exactly as it was.

This module is the pipeline's public face: run, plan, preview, look at a target. The parts live
beside it: the request and result types (:mod:`~qdbm_desktop.core.run_model`), the column
mapping (:mod:`~qdbm_desktop.core.mapping`), a run's steps (:mod:`~qdbm_desktop.core.run`), the
rows' way (:mod:`~qdbm_desktop.core.pipeline`) and the check before the swap
(:mod:`~qdbm_desktop.core.verification`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import Any

from qdbm_desktop.core.connections import ConnectionStore, no_connection_named
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.errors import QdbmError, UsageError, one_line, redact
from qdbm_desktop.core.fidelity import (
    FidelityReport,
    check_values,
    run_report,
    target_charsets,
    value_columns,
)
from qdbm_desktop.core.mapping import (
    ColumnMap,
    kept_positions,
    map_columns,
    match_existing,
    row_picker,
    tracked_position,
)
from qdbm_desktop.core.partitioned import PartitionedRun
from qdbm_desktop.core.run import MigrationRun
from qdbm_desktop.core.run_model import (
    CANCELLED_NOTE,
    DEFAULT_WAIT_TIMEOUT,
    OLD_PREFIX,
    STAGING_PREFIX,
    Cancelled,
    Endpoint,
    LogCallback,
    LogEntry,
    MigrationPlan,
    MigrationRequest,
    MigrationResult,
    Progress,
    ProgressCallback,
    QueryFailed,
    Stage,
    StageError,
    Status,
    new_run_id,
    validate_request,
)
from qdbm_desktop.core.sqlcheck import check_source_query, query_error
from qdbm_desktop.core.types import Column
from qdbm_desktop.core.urls import parse_connection_url

__all__ = [
    "CANCELLED_NOTE", "DEFAULT_WAIT_TIMEOUT", "OLD_PREFIX", "STAGING_PREFIX", "Cancelled", "ColumnMap",
    "Endpoint", "LogCallback", "LogEntry", "MigrationPlan", "MigrationRequest", "MigrationResult",
    "Progress", "ProgressCallback", "QueryFailed", "QueryPreview", "Stage", "StageError", "Status",
    "TargetInfo", "describe_target", "kept_positions", "looking_at", "map_columns", "match_existing",
    "new_run_id", "plan_fidelity", "plan_migration", "preview_query", "resolve_endpoint", "row_picker",
    "run_migration", "tracked_position", "validate_request",
]


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
    kind = PartitionedRun if request.partitions is not None else MigrationRun
    return kind(request, on_progress, cancel or threading.Event(), run_id, on_log).execute()


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
    run = MigrationRun(request, None, threading.Event())
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
    parts = request.partitions
    reading = f"stream the query from {source.label} in batches of {request.batch_size:,} rows"
    if parts is not None:
        reading = (f"stream the query from {source.label} in {parts.count or 'auto'} partitions by "
                   f"{parts.column}, each on its own connection, loaded by as many writers")
    steps = [
        reading,
        f"load them into the staging table {staging} on {target.label}",
        "check that the staging table holds exactly the rows read",
        _FINAL_STEP[request.mode].format(table=request.table, keys=", ".join(request.keys)),
        "check the target's row count; drop the staging table",
    ]
    positions = kept_positions(source_columns, request.column_map)
    kept = source_columns if positions is None else [source_columns[i] for i in positions]
    return MigrationPlan(kept, columns, exists, create_sql, staging, steps)


def plan_fidelity(request: MigrationRequest, rows: int = 100) -> FidelityReport:
    """The fidelity report of a run, before it: each mapped column's verdict (see
    :mod:`~qdbm_desktop.core.fidelity`) and the values of the query's first ``rows`` rows that the
    target cannot hold. Reads as a preview does; creates and writes nothing."""
    validate_request(request)
    run = MigrationRun(request, None, threading.Event())
    source, target = request.source, request.target
    with _looking_at(source.for_reading(), request.connect_timeout, "the query failed") as conn:
        source.dialect.prepare_preview(conn, rows)
        stream = source.dialect.open_read(conn, request.query, rows, request.query_params or None)
        try:
            source_columns = list(stream.columns)
            first = list(next(iter(stream.batches()), []))[:rows]
        finally:
            stream.close()
    with _looking_at(target, request.connect_timeout, f"cannot read {request.table}") as target_conn:
        exists = target.dialect.table_exists(target_conn, request.table)
        columns = run.target_columns(source_columns, target_conn, exists)
        report = run_report(request, source_columns, target_conn, columns, exists)
        existing = exists and request.mode not in (LoadMode.REPLACE, LoadMode.CREATE)
        charsets = target_charsets(target.dialect, target_conn, request.table) if existing else {}
    picker = row_picker(kept_positions(source_columns, request.column_map))
    kept_rows = [picker(r) for r in first] if picker else first
    issues = check_values(value_columns(report, columns, charsets), kept_rows, target.dialect.name)
    return replace(report, values=issues, rows_checked=len(kept_rows))


_FINAL_STEP: dict[LoadMode, str] = {
    LoadMode.APPEND: "in one transaction: insert the staged rows into {table}",
    LoadMode.TRUNCATE: "in one transaction: empty {table}, insert the staged rows",
    LoadMode.REPLACE: "in one step: the staging table replaces {table}",
    LoadMode.CREATE: "in one step: the staging table becomes {table} (which must not exist)",
    LoadMode.UPSERT: "in one transaction: insert or update the staged rows in {table} by ({keys})",
}
