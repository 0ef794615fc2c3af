"""Running a many-tables job: plan it on the source, run one recorded migration per table, then
create the keys, indexes and foreign keys on the target.

The one entry point is :func:`run_table_job`; ``qdbm migrate --tables``, ``qdbm run`` of a saved
many-tables job and the desktop app's "Copy tables..." all come here. Each step is an ordinary
run (:func:`qdbm_desktop.core.runs.run_recorded`) of the job's single-table form
(:func:`qdbm_desktop.core.tables.step_request_job` then ``Job.request``), so it is recorded in the
history, held by the same locks and all-or-nothing like any other run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from qdbm_desktop.core.connections import ConnectionStore
from qdbm_desktop.core.dialects.base import LoadMode
from qdbm_desktop.core.errors import UsageError, one_line, redact
from qdbm_desktop.core.history import HistoryStore, RunTrigger
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import (
    DEFAULT_WAIT_TIMEOUT,
    Endpoint,
    LogCallback,
    MigrationRequest,
    MigrationResult,
    ProgressCallback,
    Status,
    looking_at,
    new_run_id,
    resolve_endpoint,
    validate_request,
)
from qdbm_desktop.core.runs import run_recorded
from qdbm_desktop.core.settings import Settings
from qdbm_desktop.core.table_ddl import TargetNames, plan_table_ddl, rules_for
from qdbm_desktop.core.tables import (
    CONSTRAINTS_STEP,
    StepResult,
    StepStatus,
    TablesPlan,
    TablesResult,
    TableStep,
    plan_tables,
    run_steps,
    step_request_job,
)

StepCallback = Callable[[StepResult, int, int], None]


def plan_table_job(job: Job, connections: ConnectionStore, timeout: float = 30.0) -> TablesPlan:
    """The steps a many-tables job would run now, read from its source's catalog."""
    if job.tables is None:
        raise UsageError(f"job {job.name or '(unsaved)'!r} copies a query, not tables")
    source = resolve_endpoint(connections, job.source).for_reading()
    return plan_tables_on(source, job, timeout)


def plan_tables_on(source: Endpoint, job: Job, timeout: float = 30.0) -> TablesPlan:
    assert job.tables is not None
    with looking_at(source, timeout, "cannot read the tables") as conn:
        return plan_tables(source.dialect, conn, job.tables, LoadMode(job.mode), job.keys)


def step_requests(job: Job, plan: TablesPlan, connections: ConnectionStore, settings: Settings, *,
                  work_dir: Path | None = None, wait_timeout: float = DEFAULT_WAIT_TIMEOUT
                  ) -> list[MigrationRequest]:
    """One checked request per step, built as every run's is (``Job.request``)."""
    requests = []
    for step in plan.steps:
        request = step_request_job(job, step).request(connections, settings, work_dir=work_dir,
                                                      wait_timeout=wait_timeout)
        # The closing step creates the source's keys and NOT NULL (or none, without constraints).
        request = replace(request, carry_source_shape=False)
        validate_request(request)
        requests.append(request)
    return requests


def run_table_job(
    job: Job,
    connections: ConnectionStore,
    settings: Settings,
    history: HistoryStore | None,
    *,
    work_dir: Path | None = None,
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
    trigger: RunTrigger = RunTrigger.MANUAL,
    on_step: StepCallback | None = None,
    on_progress: ProgressCallback | None = None,
    on_log: LogCallback | None = None,
    cancel: threading.Event | None = None,
    plan: TablesPlan | None = None,
) -> tuple[TablesPlan, TablesResult]:
    """Plan (unless given) and run a many-tables job; the plan and each step's outcome.

    Bad input (no table matches, a table the target cannot take) is a ``UsageError`` before any
    step runs; a step that fails is in the result, not raised.
    """
    assert job.tables is not None
    plan = plan or plan_table_job(job, connections)
    requests = step_requests(job, plan, connections, settings, work_dir=work_dir, wait_timeout=wait_timeout)
    snapshot = job.to_json() if job.name else None

    def run_step(request: MigrationRequest) -> Any:
        return run_recorded(history, request, trigger=trigger, job=job.name or None, job_snapshot=snapshot,
                            on_progress=on_progress, on_log=on_log, cancel=cancel, connections=connections)

    constraints = None
    if job.tables.constraints and requests:
        first = requests[0]
        constraints = _constraints_runner(first.target, first.source.dialect.name, first.connect_timeout)
    notes = _drop_replaced_foreign_keys(requests[0].target, plan, requests[0].connect_timeout) \
        if job.tables.constraints and requests else []
    result = run_steps(plan, requests, run_step, continue_on_error=job.tables.continue_on_error,
                       constraints=constraints, on_step=on_step, cancel=cancel)
    result.notes += notes
    return plan, result


def run_table_job_summary(job: Job, connections: ConnectionStore, settings: Settings,
                          history: HistoryStore | None,
                          **options: Any) -> tuple[MigrationRequest, MigrationResult]:
    """A many-tables job run as the scheduler and ``run_job`` see any run: one request (the first
    step's) and one result summing the steps (failed with the first step's error when any failed).
    Each step is in the history as a run of its own."""
    plan, result = run_table_job(job, connections, settings, history, **options)
    requests = step_requests(job, plan, connections, settings, work_dir=options.get("work_dir"))
    loads = [s for s in result.steps if s.name != CONSTRAINTS_STEP]
    bad = next((s for s in result.steps if s.status in (StepStatus.FAILED, StepStatus.CANCELLED)), None)
    status = Status.SUCCEEDED if bad is None and result.succeeded else (
        Status.CANCELLED if bad is not None and bad.status == StepStatus.CANCELLED else Status.FAILED)
    error = f"table {bad.name}: {bad.error}" if bad is not None else None
    if error is None and status is not Status.SUCCEEDED:
        error = "not every table was copied"
    summary = MigrationResult(run_id=loads[-1].run_id or new_run_id() if loads else new_run_id(),
                              status=status, rows_read=result.rows, rows_written=result.rows,
                              seconds=result.seconds, error=error)
    return requests[0], summary


def _constraints_runner(target: Endpoint, source_dialect: str,
                        timeout: float) -> Callable[[Sequence[TableStep]], list[str]]:
    """Creates the loaded tables' keys, indexes and foreign keys on the target: each table's own
    (keys, indexes) first, then every foreign key, so cyclic references find their tables. A
    statement the target refuses is a warning naming it; the others still run."""

    def create(loaded: Sequence[TableStep]) -> list[str]:
        dialect, warnings = target.dialect, []
        conn = dialect.connect(target.params, timeout)
        try:
            names = TargetNames(rules_for(dialect))
            mapped = {step.source: step.target for step in loaded}
            later: list[str] = []
            for step in loaded:
                types = {c.name: c.type_name for c in dialect.describe_table(conn, step.target).columns}
                ddl = plan_table_ddl(step.shape, dialect, step.target, source=source_dialect,
                                     column_types=types, table_names=mapped, names=names)
                warnings += [f"{step.target}: {w}" for w in ddl.warnings]
                warnings += _execute(conn, ddl.after_load)
                later += ddl.after_all
            warnings += _execute(conn, later)
        finally:
            with suppress(Exception):
                conn.close()
        return [redact(w, target.params.secret_values()) for w in warnings]

    return create


#: How each engine drops a foreign key; engines left out keep theirs (SQLite checks none by default).
_DROP_FOREIGN_KEY = {"postgresql": "ALTER TABLE {table} DROP CONSTRAINT {name}",
                     "mysql": "ALTER TABLE {table} DROP FOREIGN KEY {name}"}


def _drop_replaced_foreign_keys(target: Endpoint, plan: TablesPlan, timeout: float) -> list[str]:
    """Drop the foreign keys of the tables a replace step swaps out (a previous copy's, say),
    which would otherwise stop the swap of the tables they refer to; the constraints step makes
    them again. The notes say what was dropped."""
    dialect = target.dialect
    template = _DROP_FOREIGN_KEY.get(dialect.name)
    replaced = [s for s in plan.steps if s.mode is LoadMode.REPLACE]
    if template is None or not replaced:
        return []
    conn = dialect.connect(target.params, timeout)
    statements = []
    try:
        for step in replaced:
            if not dialect.table_exists(conn, step.target):
                continue
            for fk in dialect.describe_table(conn, step.target).foreign_keys:
                statements.append(template.format(table=dialect.qualified(step.target),
                                                  name=dialect.quote_identifier(fk.name)))
        warnings = _execute(conn, statements)
    finally:
        with suppress(Exception):
            conn.close()
    dropped = len(statements) - len(warnings)
    notes = [f"dropped {dropped} foreign key(s) of the tables being replaced; the constraints step "
             "creates them again"] if dropped else []
    return notes + warnings


def _execute(conn: Any, statements: Sequence[str]) -> list[str]:
    warnings = []
    for statement in statements:
        cursor = conn.cursor()
        try:
            cursor.execute(statement)
            conn.commit()
        except Exception as exc:  # noqa: BLE001 - one refused statement is one warning
            with suppress(Exception):
                conn.rollback()
            warnings.append(f"not created: {statement[:120]}: {one_line(str(exc))}")
        finally:
            with suppress(Exception):
                cursor.close()
    return warnings
