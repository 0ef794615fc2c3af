"""``qdbm jobs``: saved jobs (add, list, show, reset-mark, export, import, remove)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qdbm_desktop.cli.common import (
    PROG,
    Commands,
    Parser,
    add_migration_arguments,
    column_map_from_args,
    command_group,
    keys_from_args,
    next_run_text,
    print_table,
    query_from_args,
)
from qdbm_desktop.cli.tables import selection_from_args
from qdbm_desktop.core.connections import (
    no_connection_named,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects.base import LoadMode
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.fidelity import parse_accepted
from qdbm_desktop.core.incremental import job_file_text, read_job_file
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import (
    validate_request,
)
from qdbm_desktop.core.schedules import Schedule
from qdbm_desktop.core.spark_export import SparkPartitioning, export_spark_job, password_variable
from qdbm_desktop.core.watermark import Watermark


def _job_from_args(args: argparse.Namespace, context: AppContext) -> Job:
    """The job ``qdbm jobs add`` describes, checked as a run of it would be (no connection opened)."""
    keys = keys_from_args(args.key)
    incremental = (args.incremental or "").strip() or None
    if incremental is not None:
        # An incremental job upserts by its keys, or appends without them.
        mode = args.mode or (LoadMode.UPSERT.value if keys else LoadMode.APPEND.value)
    else:
        if args.lookback:
            raise UsageError("--lookback needs --incremental COLUMN")
        mode = args.mode or context.settings.get().default_mode
    if keys and mode != LoadMode.UPSERT.value:
        raise UsageError("key columns are only used by the upsert mode (--mode upsert)")
    names: list[str] = []
    for flag, name in (("--source", args.source), ("--target", args.target)):
        profile = context.connections.find(name)
        if profile is None and "://" in name:
            # Not echoed: a URL may hold a password.
            raise UsageError(f"{flag}: a job names saved connections, never a URL (a job holds no password): "
                             "save it first with qdbm connections add NAME --url URL --password-stdin")
        if profile is None:
            raise UsageError(f"{flag}: {no_connection_named(name)} (add one with qdbm connections add)")
        names.append(profile.name)
    selection = selection_from_args(args)
    if selection is not None:
        if incremental is not None:
            raise UsageError("--incremental is not available with --tables yet")
        job = Job(name=args.name.strip(), source=names[0], target=names[1], query="", table="", mode=mode,
                  keys=keys, column_map=column_map_from_args(args.map), batch_size=args.batch_size,
                  count_rows=args.count, verify=args.verify, tables=selection)
        job.validate()
        return job
    job = Job(name=args.name.strip(), source=names[0], target=names[1], query=query_from_args(args),
              table=args.table, mode=mode, keys=keys, column_map=column_map_from_args(args.map),
              batch_size=args.batch_size, count_rows=args.count, incremental_column=incremental,
              lookback=args.lookback, verify=args.verify,
              partitions=args.partitions, partition_by=args.partition_by,
              partition_bounds=args.partition_bounds or (),
              accept_lossy=parse_accepted(args.accept_lossy))
    job.validate()
    # The checks a run makes before it connects, on the public parameters (no secret is decrypted).
    validate_request(job.request(context.connections, context.settings.get(), public=True))
    return job


def _cmd_jobs_add(args: argparse.Namespace, context: AppContext) -> int:
    job = _job_from_args(args, context)
    existing = context.schedules.find_job(job.name)
    if existing is not None and not args.replace:
        raise UsageError(f"a job named {job.name!r} already exists (give --replace to overwrite it)")
    context.schedules.save_job(job, replace_name=job.name if existing is not None else None)
    what = f"tables {', '.join(job.tables.patterns)}" if job.tables is not None else job.table
    print(f"{'replaced' if existing is not None else 'saved'} job {job.name!r}: "
          f"{job.source} -> {job.target}.{what} ({job.mode})")
    return 0


def _job_json(job: Job, schedules: Sequence[Schedule], mark: Watermark | None = None) -> dict[str, Any]:
    data = {**job.to_json(), "schedules": [s.id for s in schedules]}
    if job.incremental_column:
        data["watermark"] = mark.to_json() if mark is not None else None
    return data


def _cmd_jobs_list(args: argparse.Namespace, context: AppContext) -> int:
    jobs = context.schedules.jobs()
    schedules = context.schedules.schedules()
    attached = {job.name: [s for s in schedules if s.job == job.name] for job in jobs}
    if args.json:
        json.dump([_job_json(job, attached[job.name],
                             context.schedules.watermark(job.name) if job.incremental_column else None)
                   for job in jobs], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if not jobs:
        print("no saved jobs (add one with: qdbm jobs add NAME --source CONN --target CONN --query SQL "
              "--table TABLE)")
        return 0
    rows = [[job.name, f"{job.source} -> {job.target}.{job.table}", job.mode, str(len(attached[job.name]))]
            for job in jobs]
    print_table(rows, ["NAME", "SOURCE -> TARGET.TABLE", "MODE", "SCHEDULES"], sys.stdout)
    return 0


def _partitions_text(job: Job) -> str:
    if job.partitions is None:
        return ""
    bounds = f", bounds {','.join(job.partition_bounds)}" if job.partition_bounds else ""
    return f"{job.partitions or 'auto'} by {job.partition_by}{bounds}"


def _cmd_jobs_show(args: argparse.Namespace, context: AppContext) -> int:
    job = context.schedules.get_job(args.name)
    schedules = [s for s in context.schedules.schedules() if s.job == job.name]
    mark = context.schedules.watermark(job.name) if job.incremental_column else None
    if args.json:
        json.dump(_job_json(job, schedules, mark), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    mapping = ", ".join(f"{c.source}={c.type}" if c.type is not None else c.source for c in job.column_map)
    lines = [("name", job.name), ("source", job.source), ("target", job.target), ("table", job.table),
             ("mode", job.mode), ("keys", ", ".join(job.keys)), ("map", mapping),
             ("batch size", f"{job.batch_size:,}" if job.batch_size else "the batch_size setting"),
             ("count rows", "yes" if job.count_rows else "no"),
             ("verify", job.verify or "the verify setting"),
             ("partitions", _partitions_text(job)),
             ("accept lossy", ", ".join(job.accept_lossy)),
             ("incremental", job.incremental_column or ""), ("lookback", job.lookback or ""),
             ("mark", (str(mark) if mark is not None else "none yet (the next run reads every row)")
              if job.incremental_column else ""),
             ("created", job.created_at),
             ("updated", job.updated_at or "")]
    for label, value in lines:
        if value:
            print(f"{label + ':':<12} {value}")
    print("query:")
    for line in job.query.strip().splitlines():
        print(f"  {line}")
    if schedules:
        print("schedules:")
        now = datetime.now(timezone.utc)
        for schedule in schedules:
            print(f"  {schedule.id}  {schedule.trigger.describe()}  next: {next_run_text(schedule, now)}")
    return 0


def _cmd_jobs_reset_mark(args: argparse.Namespace, context: AppContext) -> int:
    job = context.schedules.get_job(args.name)
    if not job.incremental_column:
        raise UsageError(f"job {job.name!r} is not incremental (it has no incremental column)")
    if args.to is None:
        context.schedules.set_watermark(job.name, None)
        print(f"job {job.name!r}: mark cleared; the next run reads every row of its query")
        return 0
    if not args.to.strip():
        raise UsageError("--to needs a value (leave --to out to clear the mark)")
    current = context.schedules.watermark(job.name)
    mark = Watermark.parse(args.to, current.type if current is not None else None)
    context.schedules.set_watermark(job.name, mark)
    print(f"job {job.name!r}: mark set to {mark}")
    return 0


def _cmd_jobs_export(args: argparse.Namespace, context: AppContext) -> int:
    job = context.schedules.get_job(args.name)
    if args.spark is not None:
        return _export_spark(args, job, context)
    if args.partition_by or args.lower_bound or args.upper_bound or args.partitions:
        raise UsageError("--partition-by, --lower-bound, --upper-bound and --partitions go with --spark")
    text = job_file_text(job)
    if args.file in (None, "-"):
        sys.stdout.write(text)
        return 0
    path = Path(args.file).expanduser()
    if path.suffix.lower() in (".yaml", ".yml"):
        raise UsageError("job files are JSON: give a FILE ending in .json")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"exported job {job.name!r} to {path}")
    return 0


def _export_spark(args: argparse.Namespace, job: Job, context: AppContext) -> int:
    if args.file is not None:
        raise UsageError("give either FILE (a job file) or --spark FILE.py, not both")
    partitioning = SparkPartitioning(args.partition_by, args.lower_bound, args.upper_bound, args.partitions)
    mark = context.schedules.watermark(job.name) if job.incremental_column else None
    path = export_spark_job(job, context.connections, context.settings.get(), args.spark, mark, partitioning)
    source, target = (password_variable(job.source), password_variable(job.target))
    print(f"exported job {job.name!r} as a Spark job to {path}; it reads the passwords from "
          f"{' and '.join(sorted({source, target}))}")
    return 0


def _cmd_jobs_import(args: argparse.Namespace, context: AppContext) -> int:
    job = read_job_file(args.file)
    existing = context.schedules.find_job(job.name)
    if existing is not None and not args.replace:
        raise UsageError(f"a job named {job.name!r} already exists (give --replace to overwrite it)")
    context.schedules.save_job(job, replace_name=job.name if existing is not None else None)
    for side in (job.source, job.target):
        if context.connections.find(side) is None:
            print(f"{PROG}: warning: job {job.name!r} names the connection {side!r}, which is not saved "
                  "here yet (add it with qdbm connections add)", file=sys.stderr)
    print(f"{'replaced' if existing is not None else 'imported'} job {job.name!r}: "
          f"{job.source} -> {job.target}.{job.table} ({job.mode})")
    return 0


def _cmd_jobs_remove(args: argparse.Namespace, context: AppContext) -> int:
    removed = context.schedules.remove_job(args.name)
    print(f"removed job {args.name!r}" + (f" and its {removed} schedule{'s' if removed != 1 else ''}"
                                         if removed else ""))
    return 0


def register(commands: Commands[Parser]) -> None:
    actions = command_group(commands, "jobs", "saved jobs: a named migration to run by hand or on a schedule")
    _register_add(actions)
    job_list = actions.add_parser("list", help="list saved jobs")
    job_list.add_argument("--json", action="store_true")
    job_list.set_defaults(handler=_cmd_jobs_list)
    job_show = actions.add_parser("show", help="one job, its query and its schedules")
    job_show.add_argument("name")
    job_show.add_argument("--json", action="store_true")
    job_show.set_defaults(handler=_cmd_jobs_show)
    job_mark = actions.add_parser("reset-mark", help="forget an incremental job's mark, or set it",
                                  description="Without --to the next run reads every row of the query.")
    job_mark.add_argument("name")
    job_mark.add_argument("--to", metavar="VALUE", help="the new mark, read as the column's type (an "
                          "integer, a decimal, 2026-11-25T10:00:00.123456+00:00 ...)")
    job_mark.set_defaults(handler=_cmd_jobs_reset_mark)
    _register_export(actions)
    job_import = actions.add_parser("import", help="save the job a job file holds")
    job_import.add_argument("file")
    job_import.add_argument("--replace", action="store_true", help="overwrite the job of that name")
    job_import.set_defaults(handler=_cmd_jobs_import)
    job_rm = actions.add_parser("remove", help="delete a job and its schedules")
    job_rm.add_argument("name")
    job_rm.set_defaults(handler=_cmd_jobs_remove)


def _register_add(actions: Commands[Parser]) -> None:
    job_add = actions.add_parser("add", help="save a job (the options of qdbm migrate)",
                                 description="Save a migration as a job, checked as a run would be. "
                                 "--batch-size left out follows the batch_size setting at each run.")
    job_add.add_argument("name", help="a unique name for the job")
    add_migration_arguments(job_add, "saved connection name")
    job_add.add_argument("--incremental", metavar="COLUMN",
                         help="read only the rows past the last run's largest COLUMN (an id or an "
                         "updated-at time); with --key they are upserted, without it appended")
    job_add.add_argument("--lookback", metavar="WINDOW",
                         help="with --incremental and --key: read again this far before the mark (10m, 2h, "
                         "or a count such as 500) for rows committed late")
    job_add.add_argument("--replace", action="store_true", help="overwrite the job of that name")
    job_add.set_defaults(handler=_cmd_jobs_add)


def _register_export(actions: Commands[Parser]) -> None:
    job_export = actions.add_parser("export",
                                    help="write a job as a JSON file (connections by name, no secret)")
    job_export.add_argument("name")
    job_export.add_argument("file", nargs="?", help="the file to write (default: standard output)")
    job_export.add_argument("--spark", metavar="FILE.py", help="write a PySpark script that runs the job "
                            "on Apache Spark instead (see docs/scaling-out.md)")
    job_export.add_argument("--partition-by", metavar="COLUMN", help="with --spark: the numeric, date or "
                            "timestamp column of the query that splits the read")
    job_export.add_argument("--lower-bound", metavar="VALUE", help="with --partition-by: the column's "
                            "smallest value (default: the script reads it)")
    job_export.add_argument("--upper-bound", metavar="VALUE", help="with --partition-by: its largest value")
    job_export.add_argument("--partitions", type=int, metavar="N",
                            help="with --spark: parallel reads and writes (default: the cluster's)")
    job_export.set_defaults(handler=_cmd_jobs_export)
