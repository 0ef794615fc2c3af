"""``--tables``: many tables in one run from ``qdbm migrate``, ``qdbm jobs add`` and ``qdbm run``."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from qdbm_desktop.cli.common import PROG
from qdbm_desktop.cli.running import ProgressLine, RunCancelled, cancellable
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError, UsageError
from qdbm_desktop.core.history import RunTrigger
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import DEFAULT_WAIT_TIMEOUT
from qdbm_desktop.core.table_runs import plan_table_job, run_table_job, step_requests
from qdbm_desktop.core.tables import StepResult, StepStatus, TableSelection, TablesPlan, TablesResult

#: Options that mean nothing for a query's run.
_TABLE_ONLY = ("exclude", "include_views", "target_schema", "no_constraints", "continue_on_error")


def selection_from_args(args: argparse.Namespace) -> TableSelection | None:
    """The ``--tables`` selection, or None for a query's run (then no table-only option may be given)."""
    if not getattr(args, "tables", None):
        given = [f"--{name.replace('_', '-')}" for name in _TABLE_ONLY if getattr(args, name, None)]
        if given:
            raise UsageError(f"{', '.join(given)} only go with --tables")
        return None
    if getattr(args, "table", None):
        raise UsageError("--table names a query's target; with --tables each table keeps its name "
                         "(use --target-schema to place them)")
    return TableSelection.parse(args.tables, args.exclude or (), include_views=args.include_views,
                                target_schema=args.target_schema or None,
                                constraints=not args.no_constraints,
                                continue_on_error=args.continue_on_error)


def print_plan(plan: TablesPlan, as_json: bool) -> None:
    if as_json:
        json.dump({"steps": [{"source": str(s.source), "target": str(s.target), "mode": s.mode.value,
                              "keys": list(s.keys), "query": s.query} for s in plan.steps],
                   "cycles": [[str(t) for t in c] for c in plan.cycles]}, sys.stdout, indent=2,
                  ensure_ascii=False)
        sys.stdout.write("\n")
        return
    for number, step in enumerate(plan.steps, 1):
        print(f"  {number}. {step.source} -> {step.target} ({step.mode.value})")
    for cycle in plan.cycles:
        print(f"foreign keys in a cycle: {', '.join(map(str, cycle))} (created after the loads)")


def _step_line(step: StepResult, number: int, total: int) -> str:
    text = f"step {number}/{total} {step.name}"
    if step.name != step.target:
        text += f" -> {step.target}"
    text += f": {step.status}"
    if step.status == StepStatus.SUCCEEDED:
        text += f", {step.rows:,} rows in {step.seconds:.2f} s"
    if step.error:
        text += f": {step.error}"
    return text


def run_tables_cli(job: Job, context: AppContext, *, as_json: bool, dry_run: bool = False,
                   trigger: RunTrigger = RunTrigger.MANUAL,
                   wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> int:
    """Plan and run a many-tables job, one line per step on stderr; 0 when every step succeeded."""
    settings = context.settings.get()
    plan = plan_table_job(job, context.connections)
    step_requests(job, plan, context.connections, settings, work_dir=context.paths.runs_dir)
    if dry_run:
        print_plan(plan, as_json)
        return 0
    printer = ProgressLine(sys.stderr)
    lock = threading.Lock()

    def on_step(step: StepResult, number: int, total: int) -> None:
        with lock:
            printer.end()
            for warning in step.warnings:
                sys.stderr.write(f"{PROG}: warning: {warning}\n")
            sys.stderr.write(_step_line(step, number, total) + "\n")
            sys.stderr.flush()

    (_, result), signal_number = cancellable(
        lambda cancel: run_table_job(job, context.connections, settings, context.history,
                                     work_dir=context.paths.runs_dir, wait_timeout=wait_timeout,
                                     trigger=trigger, on_step=on_step, on_log=printer.log, cancel=cancel,
                                     plan=plan))
    return _report(result, as_json, signal_number)


def _report(result: TablesResult, as_json: bool, signal_number: int | None) -> int:
    for note in result.notes:
        sys.stderr.write(f"{PROG}: warning: {note}\n")
    failed = [s for s in result.steps if s.status in (StepStatus.FAILED, StepStatus.CANCELLED)]
    skipped = [s for s in result.steps if s.status == StepStatus.SKIPPED]
    if as_json:
        summary: dict[str, Any] = {"status": "succeeded" if result.succeeded else "failed",
                                   "rows": result.rows, "seconds": round(result.seconds, 3),
                                   "steps": [s.to_json() for s in result.steps], "notes": result.notes}
        json.dump(summary, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    loads = [s for s in result.steps if s.status == StepStatus.SUCCEEDED]
    line = (f"{len(loads)} of {len(result.steps)} step(s) succeeded: {result.rows:,} rows "
            f"in {result.seconds:.2f} s")
    if skipped:
        line += f"; {len(skipped)} not run"
    (sys.stderr if as_json else sys.stdout).write(line + "\n")
    if signal_number is not None or any(s.status == StepStatus.CANCELLED for s in failed):
        raise RunCancelled("cancelled", signal_number)
    if failed or skipped:
        raise _StepsFailed(f"{len(failed)} step(s) failed: " + ", ".join(s.name for s in failed))
    return 0


class _StepsFailed(QdbmError):
    """A many-tables run with a failed step: exit code 1 after the summary."""

    exit_code = 1
