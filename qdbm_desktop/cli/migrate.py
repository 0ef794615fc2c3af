"""``qdbm migrate``: stream a query's result into a table (or ``--dry-run``: show the plan)."""

from __future__ import annotations

import argparse
import json
import sys

from qdbm_desktop.cli.common import (
    Commands,
    Parser,
    add_migration_arguments,
    keys_from_args,
    print_table,
    query_from_args,
    type_overrides,
    wait_seconds,
)
from qdbm_desktop.cli.running import (
    ProgressLine,
    cancellable,
    report_run,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.migration import (
    DEFAULT_WAIT_TIMEOUT,
    MigrationRequest,
    plan_migration,
    resolve_endpoint,
    validate_request,
)
from qdbm_desktop.core.runs import run_recorded


def _migration_request(args: argparse.Namespace, context: AppContext) -> MigrationRequest:
    query = query_from_args(args)
    overrides = type_overrides(args.map)
    keys = keys_from_args(args.key)
    batch_size = args.batch_size if args.batch_size is not None else context.settings.get().batch_size
    mode = LoadMode(args.mode or context.settings.get().default_mode)
    request = MigrationRequest(
        source=resolve_endpoint(context.connections, args.source),
        target=resolve_endpoint(context.connections, args.target),
        query=query, table=TableName.parse(args.table), mode=mode, keys=keys, batch_size=batch_size,
        type_overrides=overrides, count_rows=args.count,
        wait_timeout=getattr(args, "wait_timeout", DEFAULT_WAIT_TIMEOUT), work_dir=context.paths.runs_dir)
    validate_request(request)
    return request


def _cmd_migrate(args: argparse.Namespace, context: AppContext) -> int:
    request = _migration_request(args, context)
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
                                    cancel=cancel))
    printer.end()
    return report_run(result, request, context, as_json=args.json, signal_number=signal_number)


def register(commands: Commands[Parser]) -> None:
    migrate = commands.add_parser("migrate", help="stream a query's result into a table")
    add_migration_arguments(migrate, "saved connection name or URL")
    migrate.add_argument("--dry-run", action="store_true", help="print the plan and the DDL; change nothing")
    migrate.add_argument("--json", action="store_true", help="print the summary as JSON")
    migrate.add_argument("--wait-timeout", type=wait_seconds, default=DEFAULT_WAIT_TIMEOUT,
                         metavar="SECONDS",
                         help="how long to wait for another run into the same table to end before giving "
                              f"up with nothing changed (default {DEFAULT_WAIT_TIMEOUT:g}; 0: do not wait)")
    migrate.set_defaults(handler=_cmd_migrate)
