"""``qdbm run``: run a saved job (or a job file) now."""

from __future__ import annotations

import argparse
import sys

from qdbm_desktop.cli.common import (
    Commands,
    Parser,
)
from qdbm_desktop.cli.running import (
    ProgressLine,
    cancellable,
    report_run,
)
from qdbm_desktop.cli.tables import run_tables_cli
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.history import RunStatus, RunTrigger
from qdbm_desktop.core.incremental import read_job_file, run_job
from qdbm_desktop.core.job_lock import JobAlreadyRunning, JobRunLock
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import (
    new_run_id,
    validate_request,
)


def _cmd_run(args: argparse.Namespace, context: AppContext) -> int:
    if (args.name is None) == (args.file is None):
        raise UsageError("give a saved job's NAME, or --file FILE")
    saved = args.file is None
    job = context.schedules.get_job(args.name) if saved else read_job_file(args.file)
    # A connection gone or a bad query: one line, and no run recorded.
    job.validate()
    if job.tables is not None:
        return _run_tables_job(job, context, saved, args.json)
    validate_request(job.request(context.connections, context.settings.get()))
    run_lock = JobRunLock(context.paths, job.name)
    if not run_lock.acquire():
        message = f"job {job.name!r} is already running; it never runs twice at once"
        context.history.start_run(run_id=f"skip-{new_run_id()}", source=job.source, target=job.target,
                                  query=job.query, target_table=job.table, mode=job.mode,
                                  trigger=RunTrigger.MANUAL, job=job.name, job_snapshot=job.to_json(),
                                  status=RunStatus.SKIPPED, error=f"skipped: {message}")
        raise JobAlreadyRunning(message)
    try:
        printer = ProgressLine(sys.stderr)
        (request, result), signal_number = cancellable(
            lambda cancel: run_job(context, job, trigger=RunTrigger.MANUAL, saved=saved, on_progress=printer,
                                   on_log=printer.log, cancel=cancel))
        printer.end()
    finally:
        run_lock.release()
    return report_run(result, request, context, as_json=args.json, signal_number=signal_number)


def _run_tables_job(job: Job, context: AppContext, saved: bool, as_json: bool) -> int:
    run_lock = JobRunLock(context.paths, job.name) if saved else None
    if run_lock is not None and not run_lock.acquire():
        raise JobAlreadyRunning(f"job {job.name!r} is already running; it never runs twice at once")
    try:
        return run_tables_cli(job, context, as_json=as_json)
    finally:
        if run_lock is not None:
            run_lock.release()


def register(commands: Commands[Parser]) -> None:
    run = commands.add_parser("run", help="run a saved job now (never while another run of it goes)")
    run.add_argument("name", nargs="?", help="the job's name")
    run.add_argument("--file", metavar="FILE", help="run the job a job file holds, without saving it "
                     "(an incremental job keeps no mark that way: it reads every row)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(handler=_cmd_run)
