"""``qdbm history``: past runs, newest first, and one run's log."""

from __future__ import annotations

import argparse
import json
import sys

from qdbm_desktop.cli.common import (
    Commands,
    Parser,
    print_table,
    whole_number,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import one_line
from qdbm_desktop.core.history import HistoryFilter, RunStatus


def _cmd_history(args: argparse.Namespace, context: AppContext) -> int:
    if args.log is not None:
        record = context.history.get(args.log)
        for line in context.history.log(record.id):
            print(f"{line.at} {line.level:<7} {line.stage:<8} {line.message}")
        return 0
    filters = HistoryFilter(statuses=tuple(RunStatus(s) for s in args.status or ()),
                            limit=args.limit if args.limit > 0 else None)
    records = context.history.runs(filters)
    if args.json:
        json.dump([{"id": r.id, "run_id": r.run_id, "job": r.job, "source": r.source, "target": r.target,
                    "query": r.query, "table": r.target_table, "mode": r.mode, "trigger": r.trigger.value,
                    "status": r.status.value, "started": r.started.isoformat(),
                    "finished": r.finished.isoformat() if r.finished else None, "rows_read": r.rows_read,
                    "rows_written": r.rows_written, "error": r.error, "origin": r.origin} for r in records],
                  sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    rows = [[str(r.id), r.started.astimezone().strftime("%Y-%m-%d %H:%M:%S"), r.status.value, r.job or "-",
             r.source, r.target, r.target_table, f"{r.rows_written:,}",
             f"{r.seconds:.1f}" if r.seconds is not None else "", one_line(r.error or "")[:60]]
            for r in records]
    headers = ["ID", "STARTED", "STATUS", "JOB", "SOURCE", "TARGET", "TABLE", "ROWS", "SECONDS", "ERROR"]
    print_table(rows, headers, sys.stdout)
    return 0


def register(commands: Commands[Parser]) -> None:
    history = commands.add_parser("history", help="past runs, newest first")
    history.add_argument("--limit", type=whole_number(0, 1_000_000_000), default=50,
                         help="at most N runs (default 50; 0 = all)")
    history.add_argument("--status", action="append", choices=[s.value for s in RunStatus],
                         help="only runs with this status (repeatable)")
    history.add_argument("--log", type=whole_number(1, 2**63 - 1), metavar="ID",
                         help="print the full log of run ID")
    history.add_argument("--json", action="store_true", help="print the runs as JSON")
    history.set_defaults(handler=_cmd_history)
