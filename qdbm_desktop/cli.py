"""``qdbm``: the command line over the same core as the desktop app.

Exit codes: 0 success, 1 a failed operation, 2 bad usage. Expected errors print one line on
stderr and never a traceback (set QDBM_DEBUG=1 to see one for an unexpected error).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import platform
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn, TextIO

from qdbm_desktop import APP_NAME, __version__
from qdbm_desktop.core.connections import (
    ConnectionProfile,
    SecretState,
    check_connection,
    check_params,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import ensure_first_run
from qdbm_desktop.core.dialects import DIALECTS
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.drivers import driver_versions
from qdbm_desktop.core.errors import MASK, QdbmError, UsageError, one_line, redact
from qdbm_desktop.core.history import HistoryFilter, RunStatus
from qdbm_desktop.core.legacy import import_legacy
from qdbm_desktop.core.migration import (
    MigrationRequest,
    Progress,
    Status,
    plan_migration,
    resolve_endpoint,
    validate_request,
)
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.runs import run_recorded
from qdbm_desktop.core.settings import USER_KEYS
from qdbm_desktop.core.types import PortableType
from qdbm_desktop.core.urls import parse_connection_url

PROG = "qdbm"
Handler = Callable[[argparse.Namespace, AppContext], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# -- output helpers ---------------------------------------------------------------------------


def _print_table(rows: list[list[str]], headers: list[str], out: TextIO) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    out.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n")
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")


def _read_secret(prompt: str) -> str:
    """A secret from standard input: prompted without echo on a terminal, else its first line."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise UsageError("--password-stdin was given but standard input is empty")
    return line.rstrip("\r\n")


def _password_text(state: SecretState) -> str:
    return {SecretState.NONE: "", SecretState.STORED: MASK,
            SecretState.UNREADABLE: "re-enter password"}[state]


# -- connections ------------------------------------------------------------------------------


def _profile_from_args(args: argparse.Namespace) -> tuple[ConnectionProfile, dict[str, str | None]]:
    options: dict[str, str] = {}
    for item in args.option or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option takes KEY=VALUE, not {item!r}")
        options[key.strip()] = value
    secrets: dict[str, str | None] = {}
    if args.url:
        parsed = parse_connection_url(args.url)
        if args.type and args.type != parsed.type:
            raise UsageError(f"--type {args.type} contradicts the URL's scheme ({parsed.type})")
        base = ConnectionProfile(name=args.name, type=parsed.type, host=parsed.host, port=parsed.port,
                                 database=parsed.database, user=parsed.user, path=parsed.path,
                                 driver=parsed.driver, options={**parsed.options, **options})
        if parsed.password is not None:
            secrets["password"] = parsed.password
    elif args.type:
        base = ConnectionProfile(name=args.name, type=args.type, options=options)
        if args.type != "sqlite" and not args.host:
            base = replace(base, host="localhost")
    else:
        raise UsageError("give the database type with --type TYPE, or a --url")
    overrides = {k: getattr(args, k) for k in ("host", "port", "database", "user", "driver")
                 if getattr(args, k) is not None}
    if args.path is not None:
        overrides["path"] = os.path.abspath(os.path.expanduser(args.path))
    profile = replace(base, **overrides)
    if args.password_stdin:
        secrets["password"] = _read_secret(f"Password for {args.name}: ")
    if args.dsn_stdin:
        secrets["dsn"] = _read_secret(f"DSN for {args.name}: ")
    return profile, secrets


def _cmd_connections_add(args: argparse.Namespace, context: AppContext) -> int:
    profile, secrets = _profile_from_args(args)
    profile = context.connections.add(profile, secrets)
    print(f"saved connection {profile.name!r} ({profile.display_type}, {profile.location})")
    return 0


def _cmd_connections_list(args: argparse.Namespace, context: AppContext) -> int:
    profiles = context.connections.list()
    states = {p.name: context.connections.secret_state(p) for p in profiles}
    if args.json:
        items = []
        for p in profiles:
            data: dict[str, Any] = {
                "name": p.name, "type": p.type, "host": p.host, "port": p.effective_port,
                "database": p.database, "user": p.user, "path": p.path, "driver": p.driver,
                "options": {**p.options, **{k.removeprefix("option:"): MASK
                                            for k in p.secrets if k.startswith("option:")}},
                "password": MASK if "password" in p.secrets else None,
                "dsn": MASK if "dsn" in p.secrets else None,
                "secrets": states[p.name].value,
                "last_used": p.last_used, "last_test": p.last_test, "last_test_at": p.last_test_at,
            }
            items.append(data)
        json.dump(items, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if not profiles:
        print("no saved connections (add one with: qdbm connections add NAME --url URL)")
        return 0
    rows = [[p.name, p.type, p.location, p.user or "", _password_text(states[p.name]), p.last_test or ""]
            for p in profiles]
    _print_table(rows, ["NAME", "TYPE", "LOCATION", "USER", "PASSWORD", "LAST TEST"], sys.stdout)
    return 0


def _cmd_connections_test(args: argparse.Namespace, context: AppContext) -> int:
    profile = context.connections.find(args.name)
    if profile is None and "://" in args.name:
        parsed = parse_connection_url(args.name)
        params = ConnectionProfile(name="url", type=parsed.type, host=parsed.host, port=parsed.port,
                                   database=parsed.database, user=parsed.user, path=parsed.path,
                                   driver=parsed.driver, options=parsed.options).public_params()
        params = replace(params, password=parsed.password)
        result = check_params(parsed.type, params, args.timeout)
        label = redact(args.name, [parsed.password])
    elif profile is None:
        raise QdbmError(f"no saved connection named {args.name!r}")
    else:
        result = check_connection(context.connections, profile, args.timeout)
        label = profile.name
    if not result.ok:
        raise QdbmError(f"connection {label!r} failed: {result.message}")
    print(f"ok: {result.message} ({result.seconds:.2f} s)")
    return 0


def _cmd_connections_remove(args: argparse.Namespace, context: AppContext) -> int:
    context.connections.remove(args.name)
    print(f"removed connection {args.name!r}")
    return 0


def _cmd_connections_set_password(args: argparse.Namespace, context: AppContext) -> int:
    profile = context.connections.get(args.name)
    field = "dsn" if args.dsn else "password"
    value = _read_secret(f"{field.capitalize()} for {profile.name}: ")
    context.connections.set_secret(profile.name, field, value or None)
    print(f"{'stored' if value else 'removed'} the {field} of {profile.name!r}")
    return 0


# -- migrate ------------------------------------------------------------------------------------


def _migration_request(args: argparse.Namespace, context: AppContext) -> MigrationRequest:
    if args.query_file:
        try:
            query = Path(args.query_file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the query file {args.query_file}: {exc.strerror or exc}") from None
    else:
        query = args.query
    overrides: dict[str, PortableType] = {}
    for item in args.map or []:
        column, sep, type_text = item.partition("=")
        if not sep or not column:
            raise UsageError(f"--map takes COLUMN=TYPE, not {item!r}")
        overrides[column] = PortableType.parse(type_text)
    keys = tuple(k.strip() for k in (args.key or "").split(",") if k.strip())
    batch_size = args.batch_size if args.batch_size is not None else context.settings.get().batch_size
    mode = LoadMode(args.mode or context.settings.get().default_mode)
    request = MigrationRequest(
        source=resolve_endpoint(context.connections, args.source),
        target=resolve_endpoint(context.connections, args.target),
        query=query, table=TableName.parse(args.table), mode=mode, keys=keys, batch_size=batch_size,
        type_overrides=overrides, count_rows=args.count)
    validate_request(request)
    return request


class _ProgressLine:
    """Progress on stderr: a line redrawn in place on a terminal, a plain line every few seconds otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = 0.0

    def __call__(self, progress: Progress) -> None:
        text = (f"{progress.stage.value:<8} {progress.rows_read:>12,} read "
                f"{progress.rows_written:>12,} written {progress.rows_per_second:>10,.0f} rows/s "
                f"{progress.elapsed:>7.1f} s")
        if progress.total:
            eta = progress.eta
            text += f" {100 * progress.rows_written / progress.total:5.1f}%"
            text += f" ETA {eta:,.0f} s" if eta is not None else ""
        if self.tty:
            self.stream.write("\r" + text)
            self.stream.flush()
        elif progress.elapsed - self.last >= 2.0 or progress.stage.value in ("finalize", "done"):
            self.last = progress.elapsed
            self.stream.write(text + "\n")

    def end(self) -> None:
        if self.tty:
            self.stream.write("\n")


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
        _print_table(rows, ["SOURCE COLUMN", "SOURCE TYPE", "TARGET COLUMN", "TYPE", "NULL"], sys.stdout)
        print(f"\ntarget {request.table}: {'exists' if plan.target_exists else 'will be created'}")
        if plan.create_sql:
            print(f"\n{plan.create_sql};")
        print("\nplan:")
        for number, step in enumerate(plan.steps, start=1):
            print(f"  {number}. {step}")
        return 0
    printer = _ProgressLine(sys.stderr)
    result = run_recorded(context.history, request, on_progress=printer)
    printer.end()
    for endpoint in (request.source, request.target):
        if context.connections.find(endpoint.label) is not None:
            context.connections.record_use(endpoint.label)
    summary = {"run_id": result.run_id, "status": result.status.value, "rows_read": result.rows_read,
               "rows_written": result.rows_written, "seconds": round(result.seconds, 3),
               "rows_per_second": round(result.rows_per_second), "stage": result.stage.value,
               "error": result.error}
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for entry in result.log:
            if entry.level != "info":
                print(f"{PROG}: {entry.level}: {entry.message}", file=sys.stderr)
        print(f"{result.status.value}: {result.rows_read:,} rows read, {result.rows_written:,} written "
              f"in {result.seconds:.2f} s ({result.rows_per_second:,.0f} rows/s)")
    if result.status is not Status.SUCCEEDED:
        if not args.json:
            raise QdbmError(result.error or result.status.value)
        return 1
    return 0


# -- settings, import, info -------------------------------------------------------------------


def _cmd_settings_get(args: argparse.Namespace, context: AppContext) -> int:
    settings = context.settings.get()
    keys = [args.key] if args.key else list(USER_KEYS)
    for key in keys:
        if key not in USER_KEYS:
            raise UsageError(f"unknown setting {key!r} (known: {', '.join(USER_KEYS)})")
        value = getattr(settings, key)
        print(value if args.key else f"{key} = {value}")
    return 0


def _cmd_settings_set(args: argparse.Namespace, context: AppContext) -> int:
    if args.key not in USER_KEYS:
        raise UsageError(f"unknown setting {args.key!r} (known: {', '.join(USER_KEYS)})")
    settings = context.settings.set(args.key, args.value)
    print(f"{args.key} = {getattr(settings, args.key)}")
    return 0


def _cmd_import_legacy(args: argparse.Namespace, context: AppContext) -> int:
    report = import_legacy(context, Path(args.path).expanduser())
    for line in report.warnings:
        print(f"{PROG}: warning: {line}", file=sys.stderr)
    for line in report.imported:
        print(f"imported: {line}")
    for line in report.skipped:
        print(f"skipped:  {line}")
    print(f"{len(report.imported)} imported, {len(report.skipped)} skipped")
    return 0


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
    rows = [[str(r.id), r.started.astimezone().strftime("%Y-%m-%d %H:%M:%S"), r.status.value, r.source,
             r.target, r.target_table, f"{r.rows_written:,}",
             f"{r.seconds:.1f}" if r.seconds is not None else "", one_line(r.error or "")[:60]]
            for r in records]
    _print_table(rows, ["ID", "STARTED", "STATUS", "SOURCE", "TARGET", "TABLE", "ROWS", "SECONDS", "ERROR"],
                 sys.stdout)
    return 0


def _cmd_info(args: argparse.Namespace, context: AppContext) -> int:
    print(f"{APP_NAME} {__version__}")
    print(f"Python {platform.python_version()} on {platform.platform()}")
    print(f"app data: {context.paths.home}")
    status = context.secret_box.status
    print(f"keyring: {status.backend}" + (" (fallback: no OS keyring)" if status.file_fallback else ""))
    for label, text in driver_versions():
        print(f"{label}: {text}")
    return 0


# -- parser -----------------------------------------------------------------------------------


def _add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a unique name for the connection")
    parser.add_argument("--type", choices=list(DIALECTS), help="database type")
    parser.add_argument("--url", help="e.g. postgresql://user:password@host:5432/db, sqlite:///file.db")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--database", help="database name (Oracle: service name)")
    parser.add_argument("--user")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input (prompted on a terminal)")
    parser.add_argument("--dsn-stdin", action="store_true",
                        help="Oracle DSN or SQL Server connection string from standard input "
                        "(kept encrypted)")
    parser.add_argument("--path", help="SQLite database file")
    parser.add_argument("--driver", help="SQL Server ODBC driver name")
    parser.add_argument("--option", action="append", metavar="KEY=VALUE",
                        help="driver option such as sslmode=require (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=f"{APP_NAME} command line.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--home", help="app-data folder (default: $QDBM_HOME or the platform's)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    conns = commands.add_parser("connections", help="manage saved connections")
    conn_cmds = conns.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    conn_cmds.required = True
    add = conn_cmds.add_parser("add", help="save a connection")
    _add_connection_arguments(add)
    add.set_defaults(handler=_cmd_connections_add)
    lst = conn_cmds.add_parser("list", help="list saved connections (secrets shown as ********)")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=_cmd_connections_list)
    test = conn_cmds.add_parser("test", help="connect and print the server version")
    test.add_argument("name", help="saved connection name (or a connection URL)")
    test.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    test.set_defaults(handler=_cmd_connections_test)
    rm = conn_cmds.add_parser("remove", help="delete a saved connection")
    rm.add_argument("name")
    rm.set_defaults(handler=_cmd_connections_remove)
    pw = conn_cmds.add_parser("set-password", help="store a new password (read from standard input)")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true", help="accepted for symmetry with add")
    pw.add_argument("--dsn", action="store_true", help="set the DSN / connection string instead")
    pw.set_defaults(handler=_cmd_connections_set_password)

    sets = commands.add_parser("settings", help="global settings")
    set_cmds = sets.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    set_cmds.required = True
    get = set_cmds.add_parser("get", help="print one or all settings")
    get.add_argument("key", nargs="?", help=", ".join(USER_KEYS))
    get.set_defaults(handler=_cmd_settings_get)
    put = set_cmds.add_parser("set", help="change a setting")
    put.add_argument("key", help=", ".join(USER_KEYS))
    put.add_argument("value")
    put.set_defaults(handler=_cmd_settings_set)

    migrate = commands.add_parser("migrate", help="stream a query's result into a table")
    migrate.add_argument("--source", required=True, help="saved connection name or URL to read from")
    migrate.add_argument("--target", required=True, help="saved connection name or URL to load into")
    what = migrate.add_mutually_exclusive_group(required=True)
    what.add_argument("--query", help="the SELECT to run on the source")
    what.add_argument("--query-file", help="a file holding the query")
    migrate.add_argument("--table", required=True, help="target table, [SCHEMA.]TABLE")
    migrate.add_argument("--mode", choices=[m.value for m in LoadMode],
                         help="default: the default_mode setting (append)")
    migrate.add_argument("--key", help="key columns for upsert, COL[,COL]")
    migrate.add_argument("--batch-size", type=int, help="rows per batch (default: the batch_size setting)")
    migrate.add_argument("--map", action="append", metavar="COL=TYPE",
                         help="target type for a column, e.g. total=decimal(14,2) (repeatable)")
    migrate.add_argument("--count", action="store_true",
                         help="count the query's rows first, to show a percentage and an ETA")
    migrate.add_argument("--dry-run", action="store_true", help="print the plan and the DDL; change nothing")
    migrate.add_argument("--json", action="store_true", help="print the summary as JSON")
    migrate.set_defaults(handler=_cmd_migrate)

    legacy = commands.add_parser("import-legacy", help="import Query DB Migrator's config/ folder")
    legacy.add_argument("path", help="the folder holding db_connections.json and .encryption_key")
    legacy.set_defaults(handler=_cmd_import_legacy)

    history = commands.add_parser("history", help="past runs, newest first")
    history.add_argument("--limit", type=int, default=50, help="at most N runs (default 50; 0 = all)")
    history.add_argument("--status", action="append", choices=[s.value for s in RunStatus],
                         help="only runs with this status (repeatable)")
    history.add_argument("--log", type=int, metavar="ID", help="print the full log of run ID")
    history.add_argument("--json", action="store_true", help="print the runs as JSON")
    history.set_defaults(handler=_cmd_history)

    info = commands.add_parser("info", help="versions, drivers, keyring and app-data folder")
    info.set_defaults(handler=_cmd_info)
    return parser


class _StderrFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{PROG}: {record.levelname.lower()}: {record.getMessage()}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_StderrFormatter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    context: AppContext | None = None
    error: str | None = None
    try:
        context = AppContext.create(AppPaths.from_environment(override=args.home), origin="cli")
        ensure_first_run(context)
        code = int(args.handler(args, context))
    except QdbmError as exc:
        error, code = f"error: {exc}", exc.exit_code
    except BrokenPipeError:
        # The reader went away (`qdbm connections list | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except KeyboardInterrupt:
        error, code = "interrupted", 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, no traceback
        if os.environ.get("QDBM_DEBUG"):
            traceback.print_exc()
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        error = f"unexpected error: {type(exc).__name__}: {first_line} (set QDBM_DEBUG=1 for details)"
        code = 1
    # Notices first, so that the error (when there is one) is the last line a user sees.
    for notice in context.notices() if context else []:
        print(f"{PROG}: notice: {notice}", file=sys.stderr)
    if error:
        print(f"{PROG}: {error}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
