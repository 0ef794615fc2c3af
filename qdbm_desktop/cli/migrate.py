"""``qdbm migrate``: stream a query's result into a table (or ``--dry-run``: show the plan)."""

from __future__ import annotations

import argparse
import json
import sys

from qdbm_desktop.cli.common import (
    Commands,
    Parser,
    add_migration_arguments,
    column_map_from_args,
    keys_from_args,
    print_table,
    query_from_args,
    wait_seconds,
)
from qdbm_desktop.cli.running import (
    ProgressLine,
    cancellable,
    report_run,
)
from qdbm_desktop.cli.tables import run_tables_cli, selection_from_args
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects.base import LoadMode
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.fidelity import FidelityReport, Verdict, consent_error, parse_accepted
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import (
    DEFAULT_WAIT_TIMEOUT,
    MigrationRequest,
    plan_fidelity,
    plan_migration,
    validate_request,
)
from qdbm_desktop.core.runs import run_recorded


def _migration_request(args: argparse.Namespace, context: AppContext) -> MigrationRequest:
    """The run the arguments describe: an unsaved job's, built as every run is (``Job.request``)."""
    settings = context.settings.get()
    job = Job(name="", source=args.source, target=args.target, query=query_from_args(args), table=args.table,
              mode=args.mode or settings.default_mode, keys=keys_from_args(args.key),
              column_map=column_map_from_args(args.map), batch_size=args.batch_size, count_rows=args.count,
              verify=args.verify,
              partitions=args.partitions, partition_by=args.partition_by,
              partition_bounds=args.partition_bounds or (),
              accept_lossy=parse_accepted(args.accept_lossy))
    request = job.request(context.connections, settings, work_dir=context.paths.runs_dir,
                          wait_timeout=getattr(args, "wait_timeout", DEFAULT_WAIT_TIMEOUT))
    if job.keys and request.mode is not LoadMode.UPSERT:
        raise UsageError("key columns are only used by the upsert mode")
    validate_request(request)
    return request


def _print_report(report: FidelityReport, accepted: tuple[str, ...] | None) -> None:
    rows = [[c.source, c.source_type, c.target_type, c.verdict.value, c.reason] for c in report.columns]
    print_table(rows, ["COLUMN", "SOURCE TYPE", "TARGET TYPE", "VERDICT", "REASON"], sys.stdout)
    print(f"\n{report.summary()}")
    for issue in report.values:
        print(f"  {issue}")
    problem = consent_error(report, accepted)
    if problem:
        print(f"\nthe run would stop: {problem}")
    elif report.count(Verdict.LOSSY):
        print("\nthe lossy columns are accepted")


def _cmd_plan(request: MigrationRequest, as_json: bool) -> int:
    """``--plan``: the fidelity report; nothing is created or written. Exit 0 (it is a report)."""
    report = plan_fidelity(request)
    if as_json:
        problem = consent_error(report, request.accept_lossy)
        json.dump({**report.as_json(), "target": str(request.table), "runs": problem is None,
                   "stops": problem}, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    _print_report(report, request.accept_lossy)
    return 0


def _cmd_migrate(args: argparse.Namespace, context: AppContext) -> int:
    selection = selection_from_args(args)
    if selection is not None:
        settings = context.settings.get()
        job = Job(name="", source=args.source, target=args.target, query="", table="",
                  mode=args.mode or settings.default_mode, keys=keys_from_args(args.key),
                  column_map=column_map_from_args(args.map), batch_size=args.batch_size,
                  count_rows=args.count, verify=args.verify, tables=selection)
        return run_tables_cli(job, context, as_json=args.json, dry_run=args.dry_run,
                              wait_timeout=args.wait_timeout)
    request = _migration_request(args, context)
    if args.plan:
        return _cmd_plan(request, args.json)
    if args.dry_run:
        plan = plan_migration(request)
        if args.json:
            json.dump({"target_exists": plan.target_exists, "create_sql": plan.create_sql,
                       "staging": plan.staging, "steps": plan.steps,
                       "columns": [{"source": s.name, "source_type": s.source_type, "target": t.name,
                                    "type": str(t.type), "nullable": t.nullable}
                                   for s, t in zip(plan.source_columns, plan.target_columns, strict=True)]},
                      sys.stdout, indent=2, ensure_ascii=False)
            sys.stdout.write("\n")
            return 0
        rows = [[s.name, s.source_type, t.name, str(t.type), "yes" if t.nullable else "no"]
                for s, t in zip(plan.source_columns, plan.target_columns, strict=True)]
        print_table(rows, ["SOURCE COLUMN", "SOURCE TYPE", "TARGET COLUMN", "TYPE", "NULL"], sys.stdout)
        print(f"\ntarget {request.table}: {'exists' if plan.target_exists else 'will be created'}")
        if plan.create_sql:
            print(f"\n{plan.create_sql};")
        print("\nplan:")
        for number, step in enumerate(plan.steps, start=1):
            print(f"  {number}. {step}")
        return 0
    printer = ProgressLine(sys.stderr)
    result, signal_number = cancellable(
        lambda cancel: run_recorded(context.history, request, on_progress=printer, on_log=printer.log,
                                    cancel=cancel, connections=context.connections))
    printer.end()
    return report_run(result, request, context, as_json=args.json, signal_number=signal_number)


def register(commands: Commands[Parser]) -> None:
    migrate = commands.add_parser("migrate", help="stream a query's result into a table")
    add_migration_arguments(migrate, "saved connection name or URL")
    migrate.add_argument("--dry-run", action="store_true", help="print the plan and the DDL; change nothing")
    migrate.add_argument("--plan", action="store_true",
                         help="print the fidelity report (each column exact, converted, lossy or refused, "
                              "and the first rows' values the target cannot hold); change nothing")
    migrate.add_argument("--json", action="store_true", help="print the summary as JSON")
    migrate.add_argument("--wait-timeout", type=wait_seconds, default=DEFAULT_WAIT_TIMEOUT,
                         metavar="SECONDS",
                         help="how long to wait for another run into the same table to end before giving "
                              f"up with nothing changed (default {DEFAULT_WAIT_TIMEOUT:g}; 0: do not wait)")
    migrate.set_defaults(handler=_cmd_migrate)
