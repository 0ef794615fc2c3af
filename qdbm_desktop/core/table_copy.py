"""The desktop app's "Copy tables…": a checklist's choices as a many-tables job, and its run as
one result for the run card.

The job is an ordinary many-tables :class:`~qdbm_desktop.core.jobs.Job` (one step per table, in
foreign-key order, each recorded in the history as its own run); see
:mod:`qdbm_desktop.core.table_runs`. Nothing here knows of Qt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qdbm_desktop.core.connections import ConnectionStore, now_iso
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.history import HistoryStore
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import (
    LogCallback,
    LogEntry,
    MigrationResult,
    ProgressCallback,
    Stage,
    Status,
)
from qdbm_desktop.core.settings import Settings
from qdbm_desktop.core.table_runs import run_table_job
from qdbm_desktop.core.tables import StepResult, StepStatus, TableOverride, TableSelection, TablesResult


@dataclass(frozen=True)
class TableCopy:
    """One checked table: where it is read, where it goes (``[schema.]table``) and how it loads."""

    source: TableName
    target: str
    mode: LoadMode = LoadMode.APPEND
    view: bool = False


def quoted_pattern(table: TableName) -> str:
    """A table as a selection pattern naming just it (quoted, so spaces and dots stay its own)."""
    def quote(part: str) -> str:
        return '"' + part.replace('"', '""') + '"'
    return f"{quote(table.schema)}.{quote(table.name)}" if table.schema else quote(table.name)


def copy_job(source: str, target: str, copies: Sequence[TableCopy], *, name: str = "",
             constraints: bool = True, continue_on_error: bool = False) -> Job:
    """The many-tables job of a checklist: each table named exactly, with its target and mode."""
    if not copies:
        raise UsageError("check at least one table to copy")
    selection = TableSelection(
        patterns=tuple(quoted_pattern(c.source) for c in copies),
        include_views=any(c.view for c in copies),
        overrides=tuple(TableOverride(quoted_pattern(c.source), c.target.strip() or None, c.mode.value)
                        for c in copies),
        constraints=constraints,
        continue_on_error=continue_on_error,
    )
    job = Job(name=name, source=source, target=target, query="", table="", tables=selection)
    if name:
        job.validate()
    else:
        selection.validate()
    return job


def step_line(step: StepResult) -> str:
    """One step as the run card's log shows it."""
    text = f"{step.name} → {step.target}: {step.status}, {step.rows:,} rows in {step.seconds:.2f} s"
    return f"{text}: {step.error}" if step.error else text


def summary(result: TablesResult, run_id: str = "") -> MigrationResult:
    """A many-tables run as one result: rows of every step, the first failure's error."""
    failed = [s for s in result.steps if s.status == StepStatus.FAILED]
    cancelled = any(s.status == StepStatus.CANCELLED for s in result.steps)
    status = (Status.SUCCEEDED if result.succeeded else Status.FAILED if failed
              else Status.CANCELLED if cancelled else Status.FAILED)
    error = f"{failed[0].name}: {failed[0].error}" if failed else None
    if status is Status.FAILED and error is None:
        error = "not every table was copied"
    rows = result.rows
    stage = Stage.DONE if status is Status.SUCCEEDED else Stage.LOAD
    return MigrationResult(run_id=run_id, status=status, rows_read=rows, rows_written=rows,
                           seconds=result.seconds, stage=stage, error=error)


def run_copy(job: Job, connections: ConnectionStore, settings: Settings, history: HistoryStore | None, *,
             on_progress: ProgressCallback | None = None, on_log: LogCallback | None = None,
             cancel: threading.Event | None = None,
             on_step: Callable[[StepResult, int, int], None] | None = None,
             work_dir: Path | None = None) -> MigrationResult:
    """Run a "Copy tables…" job; each finished step is logged as a line, and the whole as one result."""

    def stepped(step: StepResult, index: int, total: int) -> None:
        if on_log is not None:
            level = "error" if step.status == StepStatus.FAILED else "info"
            on_log(LogEntry(now_iso(), Stage.LOAD, f"[{index}/{total}] {step_line(step)}", level))
        if on_step is not None:
            on_step(step, index, total)

    _plan, result = run_table_job(job, connections, settings, history, on_step=stepped,
                                  on_progress=on_progress, on_log=on_log, cancel=cancel,
                                  work_dir=work_dir)
    return summary(result)
