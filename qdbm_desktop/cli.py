"""``qdbm``: the command line over the same core as the desktop app.

Exit codes: 0 success, 1 a failed operation, 2 bad usage, 128 + the signal's number (130 for
SIGINT, 143 for SIGTERM) for a run cancelled by that signal. Expected errors print one line on
stderr, once, and never a traceback (set QDBM_DEBUG=1 to see one for an unexpected error).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import platform
import re
import signal
import sqlite3
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar

from qdbm_desktop import APP_NAME, __version__
from qdbm_desktop.core.checksum import VerifyLevel
from qdbm_desktop.core.connections import (
    ConnectionProfile,
    SecretState,
    check_connection,
    check_params,
    no_connection_named,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import create_empty_database, ensure_first_run
from qdbm_desktop.core.dialects import DIALECTS
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.drivers import driver_versions
from qdbm_desktop.core.errors import MASK, QdbmError, UsageError, one_line, redact
from qdbm_desktop.core.history import HistoryFilter, RunStatus, RunTrigger
from qdbm_desktop.core.incremental import job_file_text, read_job_file, run_job
from qdbm_desktop.core.job_lock import JobAlreadyRunning, JobRunLock
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.legacy import import_legacy
from qdbm_desktop.core.migration import (
    CANCELLED_NOTE,
    DEFAULT_WAIT_TIMEOUT,
    ColumnMap,
    Endpoint,
    LogEntry,
    MigrationRequest,
    MigrationResult,
    Progress,
    Stage,
    Status,
    new_run_id,
    plan_migration,
    resolve_endpoint,
    validate_request,
)
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.runs import run_recorded, unrecorded_warning
from qdbm_desktop.core.scheduler import MissedRun, RunEvent, SchedulerService
from qdbm_desktop.core.schedules import Schedule, new_schedule_id
from qdbm_desktop.core.settings import MAX_BATCH_SIZE, USER_KEYS, VERIFY_LEVELS
from qdbm_desktop.core.spark_export import SparkPartitioning, export_spark_job, password_variable
from qdbm_desktop.core.triggers import ScheduleTrigger, local_zone_name, parse_interval, zone
from qdbm_desktop.core.types import PortableType
from qdbm_desktop.core.urls import parse_connection_url
from qdbm_desktop.core.watermark import Watermark

PROG = "qdbm"
#: How often ``qdbm scheduler`` looks for schedules added or edited by other commands.
HEADLESS_CHECK_SECONDS = 5
#: ``qdbm scheduler`` is gone within 2 s of SIGTERM or SIGINT whatever it was doing: this long for
#: running jobs to end once cancelled, the rest for the interpreter to exit.
SCHEDULER_STOP_SECONDS = 1.5
Handler = Callable[[argparse.Namespace, AppContext], int]
_T = TypeVar("_T")
#: How long after a cancelling signal the command says it is still cancelling.
_CANCEL_NOTICE_SECONDS = 1.0


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
    clash = context.connections.find(profile.name)
    if clash is not None:  # said before a file is looked at or made
        raise QdbmError(f"a connection named {clash.name!r} already exists")
    created = _sqlite_file_for(profile, create=args.create)
    try:
        profile = context.connections.add(profile, secrets)
    except BaseException:
        if created is not None:
            created.unlink(missing_ok=True)
        raise
    made = f"; created the empty database {created}" if created is not None else ""
    print(f"saved connection {profile.name!r} ({profile.display_type}, {profile.location}){made}")
    return 0


def _sqlite_file_for(profile: ConnectionProfile, *, create: bool) -> Path | None:
    """A SQLite profile's file must exist, or be made now with ``--create``: the file it made, if any."""
    if profile.type != "sqlite":
        if create:
            raise UsageError("--create makes a new SQLite database file; it does not apply to "
                             f"{profile.display_type}")
        return None
    if not profile.path:
        raise UsageError("a SQLite connection needs the database file: give --path FILE or a sqlite:/// URL")
    path = Path(profile.path)
    try:
        if path.is_file():
            return None
        if path.exists():
            raise UsageError(f"{path} is not a file (a SQLite connection needs a database file)")
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot use {str(path)[:200]!r} as a SQLite database file: "
                         f"{getattr(exc, 'strerror', None) or one_line(str(exc))}") from None
    if not create:
        raise UsageError(f"the SQLite database file {path} does not exist; give --create to make an empty "
                         "database there")
    try:
        create_empty_database(path)
    except (OSError, sqlite3.Error, ValueError) as exc:
        with suppress(OSError, ValueError):
            path.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else one_line(str(exc))
        raise UsageError(f"cannot create the SQLite database {path}: {reason}") from None
    return path


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
        params = parsed.connect_params()
        result = check_params(parsed.type, params, args.timeout)
        label = redact(parsed.label, params.secret_values())
    elif profile is None:
        raise QdbmError(no_connection_named(args.name))
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


def _query_from_args(args: argparse.Namespace) -> str:
    if args.query_file:
        try:
            return Path(args.query_file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the query file {args.query_file}: {exc.strerror or exc}") from None
    return str(args.query)


def _type_overrides(items: Sequence[str] | None) -> dict[str, PortableType]:
    overrides: dict[str, PortableType] = {}
    for item in items or []:
        column, sep, type_text = item.partition("=")
        if not sep or not column.strip():
            raise UsageError(f"--map takes COLUMN=TYPE, not {item!r}")
        overrides[column.strip()] = PortableType.parse(type_text)
    return overrides


def _keys_from_args(text: str | None) -> tuple[str, ...]:
    return tuple(k.strip() for k in (text or "").split(",") if k.strip())


def _migration_request(args: argparse.Namespace, context: AppContext) -> MigrationRequest:
    query = _query_from_args(args)
    overrides = _type_overrides(args.map)
    keys = _keys_from_args(args.key)
    batch_size = args.batch_size if args.batch_size is not None else context.settings.get().batch_size
    mode = LoadMode(args.mode or context.settings.get().default_mode)
    request = MigrationRequest(
        source=resolve_endpoint(context.connections, args.source),
        target=resolve_endpoint(context.connections, args.target),
        query=query, table=TableName.parse(args.table), mode=mode, keys=keys, batch_size=batch_size,
        type_overrides=overrides, count_rows=args.count,
        wait_timeout=getattr(args, "wait_timeout", DEFAULT_WAIT_TIMEOUT), work_dir=context.paths.runs_dir,
        verify=VerifyLevel(args.verify or context.settings.get().verify))
    validate_request(request)
    return request


class _ProgressLine:
    """Progress on stderr: a line redrawn in place on a terminal, a plain line every few seconds otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = 0.0
        self.stage: Stage | None = None

    def __call__(self, progress: Progress) -> None:
        began = progress.stage is not self.stage
        self.stage = progress.stage
        if progress.stage is Stage.WAIT:
            text = f"waiting for another run into the same table to end {progress.elapsed:>7.1f} s"
            if self.tty:
                self.stream.write("\r" + text)
                self.stream.flush()
            elif began or progress.elapsed - self.last >= 10.0:
                self.last = progress.elapsed
                self.stream.write(text + "\n")
            return
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

    def log(self, entry: LogEntry) -> None:
        """A run's warnings as they come; its closing line is the command's last (see _report_run)."""
        if entry.level != "warning" or entry.message == CANCELLED_NOTE:
            return
        self.stream.write(("\r\033[K" if self.tty else "") + f"{PROG}: warning: {entry.message}\n")
        self.stream.flush()


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
    result, signal_number = _cancellable(
        lambda cancel: run_recorded(context.history, request, on_progress=printer, on_log=printer.log,
                                    cancel=cancel))
    printer.end()
    return _report_run(result, request, context, as_json=args.json, signal_number=signal_number)


class _RunCancelled(QdbmError):
    """A run stopped by SIGINT or SIGTERM: exit code 128 + the signal's number (130, 143)."""

    def __init__(self, message: str, signal_number: int | None) -> None:
        super().__init__(message)
        self.exit_code = 128 + (signal_number or signal.SIGINT)


def _cancellable(work: Callable[[threading.Event], _T]) -> tuple[_T, int | None]:
    """``work(cancel)`` in a thread of its own, SIGINT and SIGTERM setting ``cancel``; its result and
    the signal that cancelled it (None without one). A second signal stops waiting at once.

    The main thread only waits, so a signal is handled at once even while a driver call blocks
    the run (a signal handler runs in the main thread only, and never inside a C call).
    """
    cancel = threading.Event()
    outcome: list[Any] = []
    received: list[tuple[int, float]] = []

    def attempt() -> None:
        try:
            outcome.append(work(cancel))
        except BaseException as exc:  # noqa: BLE001 - raised again in the main thread
            outcome.append(exc)

    def on_signal(number: int, _frame: object) -> None:
        if received:
            raise KeyboardInterrupt
        received.append((number, time.monotonic()))
        cancel.set()

    watched = [signal.SIGINT, signal.SIGTERM]
    in_main = threading.current_thread() is threading.main_thread()
    previous = {number: signal.signal(number, on_signal) for number in watched} if in_main else {}
    worker = threading.Thread(target=attempt, name="qdbm-run", daemon=True)
    try:
        worker.start()
        told = False
        while worker.is_alive():
            worker.join(0.05)
            if received and not told and worker.is_alive() and \
                    time.monotonic() - received[0][1] >= _CANCEL_NOTICE_SECONDS:
                told = True
                print(f"{PROG}: cancelling (signal again to stop at once)", file=sys.stderr, flush=True)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    (found,) = outcome
    if isinstance(found, BaseException):
        raise found
    return found, received[0][0] if received else None


def _report_run(result: MigrationResult, request: MigrationRequest, context: AppContext, *,
                as_json: bool, signal_number: int | None = None) -> int:
    """The summary of a run on stdout (its warnings went to stderr as they came); the exit code.

    A failed or cancelled run ends with one error line on stderr, saying whether the target was
    changed (the run's closing log line, which is therefore not printed on its own).
    """
    for endpoint in (request.source, request.target):
        if context.connections.find(endpoint.label) is not None:
            context.connections.record_use(endpoint.label)
    summary = {"run_id": result.run_id, "status": result.status.value, "rows_read": result.rows_read,
               "rows_written": result.rows_written, "seconds": round(result.seconds, 3),
               "rows_per_second": round(result.rows_per_second), "stage": result.stage.value,
               "error": result.error, "verified": result.verified.value if result.verified else None}
    # The run's warnings reached stderr as they came (also with --json: stdout stays JSON).
    if as_json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"{result.status.value}: {result.rows_read:,} rows read, {result.rows_written:,} written "
              f"in {result.seconds:.2f} s ({result.rows_per_second:,.0f} rows/s)"
              + (", verified by checksum" if result.verified is VerifyLevel.CHECKSUM else ""))
    if result.status is Status.CANCELLED:
        cancelled = _RunCancelled(CANCELLED_NOTE, signal_number)
        if not as_json:
            raise cancelled
        return cancelled.exit_code
    if result.status is not Status.SUCCEEDED:
        if not as_json:
            closing = next((e.message for e in reversed(result.log)
                            if e.level == "error" and e.message.startswith("failed: ")), None)
            raise QdbmError(closing.removeprefix("failed: ") if closing
                            else result.error or result.status.value)
        return 1
    return 0


# -- jobs and run -------------------------------------------------------------------------------


def _job_from_args(args: argparse.Namespace, context: AppContext) -> Job:
    """The job ``qdbm jobs add`` describes, checked as a run of it would be (no connection opened)."""
    keys = _keys_from_args(args.key)
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
    job = Job(name=args.name.strip(), source=names[0], target=names[1], query=_query_from_args(args),
              table=args.table, mode=mode, keys=keys,
              column_map=tuple(ColumnMap(column, type=type_)
                               for column, type_ in _type_overrides(args.map).items()),
              batch_size=args.batch_size, count_rows=args.count, incremental_column=incremental,
              lookback=args.lookback, verify=args.verify)
    job.validate()
    # The checks a run makes before it connects, on the public parameters (no secret is decrypted).
    source, target = (context.connections.get(n) for n in names)
    validate_request(MigrationRequest(
        source=Endpoint(source.name, source.type, source.public_params()),
        target=Endpoint(target.name, target.type, target.public_params()),
        query=job.query, table=TableName.parse(job.table), mode=LoadMode(job.mode), keys=job.keys,
        batch_size=job.batch_size or context.settings.get().batch_size, count_rows=job.count_rows,
        column_map=job.column_map))
    return job


def _cmd_jobs_add(args: argparse.Namespace, context: AppContext) -> int:
    job = _job_from_args(args, context)
    existing = context.schedules.find_job(job.name)
    if existing is not None and not args.replace:
        raise UsageError(f"a job named {job.name!r} already exists (give --replace to overwrite it)")
    context.schedules.save_job(job, replace_name=job.name if existing is not None else None)
    print(f"{'replaced' if existing is not None else 'saved'} job {job.name!r}: "
          f"{job.source} -> {job.target}.{job.table} ({job.mode})")
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
    _print_table(rows, ["NAME", "SOURCE -> TARGET.TABLE", "MODE", "SCHEDULES"], sys.stdout)
    return 0


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
            print(f"  {schedule.id}  {schedule.trigger.describe()}  next: {_next_run_text(schedule, now)}")
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


def _cmd_run(args: argparse.Namespace, context: AppContext) -> int:
    if (args.name is None) == (args.file is None):
        raise UsageError("give a saved job's NAME, or --file FILE")
    saved = args.file is None
    job = context.schedules.get_job(args.name) if saved else read_job_file(args.file)
    # A connection gone or a bad query: one line, and no run recorded.
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
        printer = _ProgressLine(sys.stderr)
        (request, result), signal_number = _cancellable(
            lambda cancel: run_job(context, job, trigger=RunTrigger.MANUAL, saved=saved, on_progress=printer,
                                   on_log=printer.log, cancel=cancel))
        printer.end()
    finally:
        run_lock.release()
    return _report_run(result, request, context, as_json=args.json, signal_number=signal_number)


# -- schedules and the scheduler -----------------------------------------------------------------


def _parse_at(text: str, tz_name: str, now: datetime) -> datetime:
    """``+30s``/``+15m``/``+2h`` from now, or ``YYYY-MM-DD HH:MM`` in ``tz_name`` (an offset given wins)."""
    text = text.strip()
    if text.startswith("+"):
        return now + timedelta(seconds=parse_interval(text[1:]))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--at {text!r} is not a time (give \"YYYY-MM-DD HH:MM\", or +30s, +15m, +2h "
                         "from now)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz_name))
    return moment


def _trigger_from_args(args: argparse.Namespace, now: datetime) -> ScheduleTrigger:
    tz_name = args.tz or local_zone_name()
    zone(tz_name)
    if args.at is not None:
        return ScheduleTrigger.once(_parse_at(args.at, tz_name, now), tz_name)
    if args.every is not None:
        return ScheduleTrigger.interval(parse_interval(args.every), tz_name, start=now)
    if args.daily is not None:
        return ScheduleTrigger.daily(args.daily, tz_name)
    if args.weekly is not None:
        days, sep, time_text = args.weekly.partition("@")
        if not sep or not days.strip():
            raise UsageError(f"--weekly takes DAYS@HH:MM such as mon,thu@06:30, not {args.weekly!r}")
        return ScheduleTrigger.weekly([d for d in days.split(",") if d.strip()], time_text, tz_name)
    return ScheduleTrigger.from_cron(args.cron, tz_name)


def _cmd_schedule_add(args: argparse.Namespace, context: AppContext) -> int:
    now = datetime.now(timezone.utc)
    job = context.schedules.get_job(args.job)
    trigger = _trigger_from_args(args, now)
    grace = parse_interval(args.grace) if args.grace else 0
    schedule = context.schedules.add_schedule(
        Schedule(id=new_schedule_id(), job=job.name, trigger=trigger, enabled=not args.disabled,
                 grace_seconds=grace, origin="cli"), now=now)
    print(f"added schedule {schedule.id} for job {job.name!r}: {trigger.describe()}; "
          f"next run: {_next_run_text(schedule, now)}")
    return 0


def _next_fire(schedule: Schedule, now: datetime) -> datetime | None:
    if not schedule.active:
        return None
    try:
        times = schedule.trigger.next_fire_times(now, 1)
    except QdbmError:
        return None
    return times[0] if times else None


def _next_run_text(schedule: Schedule, now: datetime) -> str:
    if schedule.done:
        return "done"
    if not schedule.enabled:
        return "disabled"
    fire = _next_fire(schedule, now)
    return _local_time(fire) if fire is not None else "none"


def _local_time(moment: datetime | str | None) -> str:
    """A time as this computer's wall clock shows it (an ISO text that does not parse is shown as it is)."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return str(moment)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""


def _cmd_schedule_list(args: argparse.Namespace, context: AppContext) -> int:
    now = datetime.now(timezone.utc)
    schedules = context.schedules.schedules()
    if args.json:
        items = []
        for schedule in schedules:
            fire = _next_fire(schedule, now)
            items.append({**schedule.to_json(), "description": schedule.trigger.describe(),
                          "enabled": schedule.enabled, "done": schedule.done,
                          "next_run": fire.isoformat() if fire else None})
        json.dump(items, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if not schedules:
        print("no schedules (add one with: qdbm schedule add JOB --daily 06:30)")
        return 0
    rows = []
    for schedule in schedules:
        state = "done" if schedule.done else "enabled" if schedule.enabled else "disabled"
        last = (f"{_local_time(schedule.last_run_at)} {schedule.last_status or ''}".strip()
                if schedule.last_run_at else "")
        rows.append([schedule.id, schedule.job, schedule.trigger.describe(), _next_run_text(schedule, now),
                     last, state])
    _print_table(rows, ["ID", "JOB", "WHEN", "NEXT RUN", "LAST RUN", "STATE"], sys.stdout)
    return 0


def _cmd_schedule_remove(args: argparse.Namespace, context: AppContext) -> int:
    # Also one that cannot be read (named in a notice): removing it is how a user fixes the file.
    schedule = next((s for s in context.schedules.schedules() if s.id == args.id), None)
    context.schedules.remove_schedule(args.id)
    if schedule is None:
        print(f"removed schedule {args.id}")
        return 0
    print(f"removed schedule {schedule.id} of job {schedule.job!r} ({schedule.trigger.describe()})")
    return 0


def _cmd_schedule_enable(args: argparse.Namespace, context: AppContext) -> int:
    schedule = context.schedules.get_schedule(args.id)
    if schedule.done:
        raise UsageError(f"schedule {schedule.id} is a one-off that has already run; add a new schedule")
    now = datetime.now(timezone.utc)
    # A one-off whose time went by while it was disabled would never fire: say so rather than enable it.
    schedule.trigger.validate(now)
    # Fire times that passed while it was disabled are not runs anyone wanted: they are not missed runs.
    schedule = context.schedules.update_schedule(schedule.id, enabled=True, checked_until=now.isoformat())
    print(f"enabled schedule {schedule.id} of job {schedule.job!r}; "
          f"next run: {_next_run_text(schedule, now)}")
    return 0


def _cmd_schedule_disable(args: argparse.Namespace, context: AppContext) -> int:
    schedule = context.schedules.update_schedule(args.id, enabled=False)
    print(f"disabled schedule {schedule.id} of job {schedule.job!r}")
    return 0


class _StderrRunListener:
    """The headless scheduler's events, one line each on stderr."""

    def _say(self, text: str) -> None:
        print(f"{datetime.now().astimezone().strftime('%Y-%m-%d %H:%M:%S')} {text}", file=sys.stderr,
              flush=True)

    def run_started(self, job: str, trigger: RunTrigger) -> None:
        self._say(f"started: job {job!r} ({trigger.value})")

    def run_finished(self, event: RunEvent) -> None:
        # One shape for every outcome: "STATUS: JOB: what happened".
        message = one_line(event.message).removeprefix(f"{event.status.value}: ")
        if not message.startswith(f"{event.job}: "):
            message = f"{event.job}: {message}"
        self._say(f"{event.status.value}: {message}")
        warning = unrecorded_warning(event.result) if event.result is not None else None
        if warning:
            self._say(f"warning: {event.job}: {warning}")

    def runs_missed(self, missed: list[MissedRun]) -> None:
        for run in missed:
            self._say(f"missed: job {run.job!r}, due at {_local_time(run.due)}")


def _cmd_scheduler(args: argparse.Namespace, context: AppContext) -> int:
    service = SchedulerService(context, listener=_StderrRunListener(), auto_skip_missed=True,
                               heartbeat_seconds=args.check_every)
    stopping = threading.Event()
    signalled_at: list[float] = []

    def on_signal(number: int, _frame: object) -> None:
        # Flags only: the main thread may be anywhere (in a print, in a file lock), so the
        # words are said by the main loop.
        if not signalled_at:
            signalled_at.append(time.monotonic())
        stopping.set()
        service.request_stop()

    shown: set[str] = set()

    def show_notices() -> None:
        # A server's scheduler runs for weeks: a bad entry is said when it is found, once.
        for notice in context.notices():
            if notice not in shown:
                shown.add(notice)
                print(f"{PROG}: notice: {notice}", file=sys.stderr, flush=True)

    watched = [signal.SIGINT, signal.SIGTERM]
    previous = {number: signal.signal(number, on_signal) for number in watched}
    still_running: list[str] = []
    try:
        service.start()
        show_notices()
        if not stopping.is_set():
            _scheduler_started(args, context)
        while not stopping.wait(0.2):
            show_notices()
    finally:
        if stopping.is_set():
            print(f"{PROG}: stopping; running jobs are cancelled (their targets stay unchanged)",
                  file=sys.stderr, flush=True)
        spent = time.monotonic() - signalled_at[0] if signalled_at else 0.0
        still_running = service.stop(wait=True, cancel_running=True,
                                     timeout=max(0.2, SCHEDULER_STOP_SECONDS - spent))
        for number, handler in previous.items():
            signal.signal(number, handler)
    show_notices()
    context.forget_notices(shown)
    if still_running:
        names = ", ".join(f"job {name!r}" for name in still_running)
        print(f"{PROG}: {names} did not stop within {SCHEDULER_STOP_SECONDS:g} s of the signal; leaving "
              "without waiting (a run is all-or-nothing: its target is unchanged, and the history "
              "shows it as interrupted)", file=sys.stderr, flush=True)
        print(f"{PROG} scheduler stopped", flush=True)
        # The run's thread may be inside a driver call that no flag reaches; the server rolls back
        # when the connection goes, as after a kill.
        os._exit(0)
    print(f"{PROG} scheduler stopped", flush=True)
    return 0


def _scheduler_started(args: argparse.Namespace, context: AppContext) -> None:
    # A server may never open the app, which otherwise applies the retention setting at start.
    removed = context.history.apply_retention(context.settings.get().history_retention_days)
    if removed:
        print(f"{PROG}: removed {removed} runs older than the history_retention_days setting from the "
              "history", file=sys.stderr, flush=True)
    now = datetime.now(timezone.utc)
    active = [s for s in context.schedules.schedules() if s.active]
    print(f"{PROG} scheduler (pid {os.getpid()}) runs the schedules of {context.paths.home}", flush=True)
    for schedule in active:
        print(f"  {schedule.id}  {schedule.job}: {schedule.trigger.describe()}; "
              f"next run: {_next_run_text(schedule, now)}", flush=True)
    if not active:
        print("  no active schedules yet; schedules added later are picked up "
              f"within {args.check_every:g} s", flush=True)


# -- settings, import, info -------------------------------------------------------------------


def _cmd_settings_get(args: argparse.Namespace, context: AppContext) -> int:
    settings = context.settings.get()
    keys = [args.key] if args.key is not None else list(USER_KEYS)
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
    rows = [[str(r.id), r.started.astimezone().strftime("%Y-%m-%d %H:%M:%S"), r.status.value, r.job or "-",
             r.source, r.target, r.target_table, f"{r.rows_written:,}",
             f"{r.seconds:.1f}" if r.seconds is not None else "", one_line(r.error or "")[:60]]
            for r in records]
    headers = ["ID", "STARTED", "STATUS", "JOB", "SOURCE", "TARGET", "TABLE", "ROWS", "SECONDS", "ERROR"]
    _print_table(rows, headers, sys.stdout)
    return 0


def _cmd_info(args: argparse.Namespace, context: AppContext) -> int:
    print(f"{APP_NAME} {__version__}")
    print(f"Python {platform.python_version()} on {platform.platform()}")
    print(f"app data: {context.paths.home}")
    try:
        status = context.secret_box.status
    except QdbmError as exc:  # a full or read-only disk where the key file would go
        print(f"keyring: unavailable ({exc})")
    else:
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
    parser.add_argument("--port", type=_whole_number(1, 65535))
    parser.add_argument("--database", help="database name (Oracle: service name)")
    parser.add_argument("--user")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input (prompted on a terminal)")
    parser.add_argument("--dsn-stdin", action="store_true",
                        help="Oracle DSN or SQL Server connection string from standard input "
                        "(kept encrypted)")
    parser.add_argument("--path", help="SQLite database file")
    parser.add_argument("--create", action="store_true",
                        help="SQLite: make an empty database file when it does not exist yet")
    parser.add_argument("--driver", help="SQL Server ODBC driver name")
    parser.add_argument("--option", action="append", metavar="KEY=VALUE",
                        help="driver option such as sslmode=require (repeatable)")


def _add_migration_arguments(parser: argparse.ArgumentParser, connection: str) -> None:
    parser.add_argument("--source", required=True, help=f"{connection} to read from")
    parser.add_argument("--target", required=True, help=f"{connection} to load into")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--query", help="the SELECT to run on the source")
    what.add_argument("--query-file", help="a file holding the query")
    parser.add_argument("--table", required=True, help="target table, [SCHEMA.]TABLE")
    parser.add_argument("--mode", choices=[m.value for m in LoadMode],
                        help="default: the default_mode setting (append)")
    parser.add_argument("--key", help="key columns for upsert, COL[,COL]")
    parser.add_argument("--batch-size", type=_whole_number(1, MAX_BATCH_SIZE),
                        help="rows per batch (default: the batch_size setting)")
    parser.add_argument("--map", action="append", metavar="COL=TYPE",
                        help="target type for a column, e.g. total=decimal(14,2) (repeatable)")
    parser.add_argument("--count", action="store_true",
                        help="count the query's rows first, to show a percentage and an ETA")
    _add_verify_argument(parser)


def _add_verify_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verify", choices=list(VERIFY_LEVELS),
                        help="before the swap, check the staging table's row count (counts) or also a "
                             "checksum of every column read back from the target (checksum); default: the "
                             "verify setting (counts)")


def _shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, cut short when it is long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _positive_seconds(text: str) -> float:
    # float() would also take " 5", "1_0", "nan" and "inf".
    if not re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,6})?|\.[0-9]{1,6}", text):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a number of seconds")
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("give a number of seconds between 0 and 3600")
    return value


def _wait_seconds(text: str) -> float:
    try:
        value = float(text.strip()) if text.strip().isascii() else float("nan")
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 7 * 24 * 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds from 0 to 604800 (7 days)")
    return value


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: digits only (int() would also take " 5", "+5", "1_0" and other scripts' digits)."""

    def parse(text: str) -> int:
        if not re.fullmatch(r"[0-9]{1,19}", text) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{_shown(text)} is not a whole number from {low:,} to {high:,}")
        return int(text)

    return parse


def _home_folder(text: str) -> str:
    """``--home``: a folder that exists or can be made (checked before anything is written there)."""
    if not text.strip() or "\x00" in text:
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a folder name")
    try:
        encoded = os.fsencode(text)
    except UnicodeError:
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a folder name") from None
    if len(encoded) >= 4096 or any(len(part) > 255 for part in encoded.split(b"/")):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is too long for a folder name")
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a folder")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=f"{APP_NAME} command line.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--home", type=_home_folder,
                        help="app-data folder (default: $QDBM_HOME or the platform's)")
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
    test.add_argument("--timeout", type=_positive_seconds, default=10.0, help="seconds (default 10)")
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
    _add_migration_arguments(migrate, "saved connection name or URL")
    migrate.add_argument("--dry-run", action="store_true", help="print the plan and the DDL; change nothing")
    migrate.add_argument("--json", action="store_true", help="print the summary as JSON")
    migrate.add_argument("--wait-timeout", type=_wait_seconds, default=DEFAULT_WAIT_TIMEOUT,
                         metavar="SECONDS",
                         help="how long to wait for another run into the same table to end before giving "
                              f"up with nothing changed (default {DEFAULT_WAIT_TIMEOUT:g}; 0: do not wait)")
    migrate.set_defaults(handler=_cmd_migrate)

    jobs = commands.add_parser("jobs", help="saved jobs: a named migration to run by hand or on a schedule")
    job_cmds = jobs.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    job_cmds.required = True
    job_add = job_cmds.add_parser("add", help="save a job (the options of qdbm migrate)",
                                  description="Save a migration as a job, checked as a run would be. "
                                  "--batch-size left out follows the batch_size setting at each run.")
    job_add.add_argument("name", help="a unique name for the job")
    _add_migration_arguments(job_add, "saved connection name")
    job_add.add_argument("--incremental", metavar="COLUMN",
                         help="read only the rows past the last run's largest COLUMN (an id or an "
                         "updated-at time); with --key they are upserted, without it appended")
    job_add.add_argument("--lookback", metavar="WINDOW",
                         help="with --incremental and --key: read again this far before the mark (10m, 2h, "
                         "or a count such as 500) for rows committed late")
    job_add.add_argument("--replace", action="store_true", help="overwrite the job of that name")
    job_add.set_defaults(handler=_cmd_jobs_add)
    job_list = job_cmds.add_parser("list", help="list saved jobs")
    job_list.add_argument("--json", action="store_true")
    job_list.set_defaults(handler=_cmd_jobs_list)
    job_show = job_cmds.add_parser("show", help="one job, its query and its schedules")
    job_show.add_argument("name")
    job_show.add_argument("--json", action="store_true")
    job_show.set_defaults(handler=_cmd_jobs_show)
    job_mark = job_cmds.add_parser("reset-mark", help="forget an incremental job's mark, or set it",
                                   description="Without --to the next run reads every row of the query.")
    job_mark.add_argument("name")
    job_mark.add_argument("--to", metavar="VALUE", help="the new mark, read as the column's type (an "
                          "integer, a decimal, 2026-11-25T10:00:00.123456+00:00 ...)")
    job_mark.set_defaults(handler=_cmd_jobs_reset_mark)
    job_export = job_cmds.add_parser("export",
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
    job_import = job_cmds.add_parser("import", help="save the job a job file holds")
    job_import.add_argument("file")
    job_import.add_argument("--replace", action="store_true", help="overwrite the job of that name")
    job_import.set_defaults(handler=_cmd_jobs_import)
    job_rm = job_cmds.add_parser("remove", help="delete a job and its schedules")
    job_rm.add_argument("name")
    job_rm.set_defaults(handler=_cmd_jobs_remove)

    run = commands.add_parser("run", help="run a saved job now (never while another run of it goes)")
    run.add_argument("name", nargs="?", help="the job's name")
    run.add_argument("--file", metavar="FILE", help="run the job a job file holds, without saving it "
                     "(an incremental job keeps no mark that way: it reads every row)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(handler=_cmd_run)

    sched = commands.add_parser("schedule", help="when saved jobs run (qdbm scheduler or the app runs them)")
    sched_cmds = sched.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    sched_cmds.required = True
    sched_add = sched_cmds.add_parser(
        "add", help="attach a trigger to a job",
        description="Attach a trigger to a saved job. Times are in --tz (default: this computer's zone).")
    sched_add.add_argument("job", help="the job's name")
    when = sched_add.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", metavar="TIME",
                      help='once: "YYYY-MM-DD HH:MM", or +30s, +15m, +2h from now')
    when.add_argument("--every", metavar="INTERVAL", help="repeatedly: 30m, 2h, 1d (at least 1 minute)")
    when.add_argument("--daily", metavar="HH:MM", help="every day at this time")
    when.add_argument("--weekly", metavar="DAYS@HH:MM", help="on these days at this time: mon,thu@06:30")
    when.add_argument("--cron", metavar="EXPR", help='a five-field crontab expression: "30 6 * * 1-5"')
    sched_add.add_argument("--tz", metavar="ZONE", help="IANA time zone such as Europe/Berlin or UTC")
    sched_add.add_argument("--grace", metavar="INTERVAL",
                           help="a run missed while no scheduler ran still runs when at most this late "
                           "(10m, 2h; default: never, it is recorded as skipped)")
    sched_add.add_argument("--disabled", action="store_true", help="add it disabled")
    sched_add.set_defaults(handler=_cmd_schedule_add)
    sched_list = sched_cmds.add_parser("list", help="schedules, their next and last runs")
    sched_list.add_argument("--json", action="store_true")
    sched_list.set_defaults(handler=_cmd_schedule_list)
    for action, handler, text in (("remove", _cmd_schedule_remove, "delete a schedule"),
                                  ("enable", _cmd_schedule_enable,
                                   "enable a schedule (times passed while disabled are not run)"),
                                  ("disable", _cmd_schedule_disable, "stop a schedule from firing")):
        command = sched_cmds.add_parser(action, help=text)
        command.add_argument("id", help="the schedule's id (qdbm schedule list)")
        command.set_defaults(handler=handler)

    scheduler = commands.add_parser(
        "scheduler", help="run the schedules without the desktop app, until SIGINT/SIGTERM",
        description="Run the schedules of this app-data folder until SIGINT or SIGTERM, which stops it "
        "within 2 s: running jobs are cancelled, their targets left unchanged. "
        "Only one process runs them at a time: this or the desktop app. Runs missed while nothing ran "
        "are run when within their grace period, otherwise recorded as skipped.")
    scheduler.add_argument("--check-every", type=_positive_seconds, default=HEADLESS_CHECK_SECONDS,
                           metavar="SECONDS", help="how often schedules edited elsewhere are re-read and "
                           f"missed runs looked for (default {HEADLESS_CHECK_SECONDS})")
    scheduler.set_defaults(handler=_cmd_scheduler, origin="scheduler")

    legacy = commands.add_parser("import-legacy", help="import Query DB Migrator's config/ folder")
    legacy.add_argument("path", help="the folder holding db_connections.json and .encryption_key")
    legacy.set_defaults(handler=_cmd_import_legacy)

    history = commands.add_parser("history", help="past runs, newest first")
    history.add_argument("--limit", type=_whole_number(0, 1_000_000_000), default=50,
                         help="at most N runs (default 50; 0 = all)")
    history.add_argument("--status", action="append", choices=[s.value for s in RunStatus],
                         help="only runs with this status (repeatable)")
    history.add_argument("--log", type=_whole_number(1, 2**63 - 1), metavar="ID",
                         help="print the full log of run ID")
    history.add_argument("--json", action="store_true", help="print the runs as JSON")
    history.set_defaults(handler=_cmd_history)

    info = commands.add_parser("info", help="versions, drivers, keyring and app-data folder")
    info.set_defaults(handler=_cmd_info)
    _add_compare_command(commands)
    return parser


def _add_compare_command(commands: Any) -> None:
    compare = commands.add_parser(
        "compare", help="compare a source query with a target table (counts, checksums, differing keys)",
        description="Read the query on the source and the table on the target (both read-only) and compare "
                    "row counts and per-column checksums; with --key, list the first 20 keys missing, extra "
                    "or different. Exit code 0 when equal, 1 when not, 2 on bad input.")
    compare.add_argument("--source", required=True, help="saved connection name or URL to read the query on")
    what = compare.add_mutually_exclusive_group(required=True)
    what.add_argument("--query", help="the SELECT to run on the source")
    what.add_argument("--query-file", help="a file holding the query")
    compare.add_argument("--target", required=True, help="saved connection name or URL holding the table")
    compare.add_argument("--table", required=True, help="the target table, [SCHEMA.]TABLE")
    compare.add_argument("--key", help="key columns, COL[,COL]: list the rows that differ")
    compare.add_argument("--batch-size", type=_whole_number(1, MAX_BATCH_SIZE), default=50_000,
                         help="rows per read (default 50,000)")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")
    compare.set_defaults(handler=_cmd_compare)


def _cmd_compare(args: argparse.Namespace, context: AppContext) -> int:
    from qdbm_desktop.core.compare import compare, describe_text

    result = compare(resolve_endpoint(context.connections, args.source), _query_from_args(args),
                     resolve_endpoint(context.connections, args.target), TableName.parse(args.table),
                     _keys_from_args(args.key), args.batch_size)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print("\n".join(describe_text(result)))
    return 0 if result.equal else 1


def _open_context(args: argparse.Namespace) -> AppContext:
    """The app context over ``--home`` (or $QDBM_HOME): a folder that cannot be used is one line."""
    try:
        return AppContext.create(AppPaths.from_environment(override=args.home),
                                 origin=getattr(args, "origin", "cli"))
    except (OSError, sqlite3.Error, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else one_line(str(exc))
        shown = str(args.home or os.environ.get("QDBM_HOME") or "")
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        raise QdbmError(f"cannot use the app-data folder {shown}: {reason}") from None


class _StderrFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{PROG}: {record.levelname.lower()}: {redact(record.getMessage())}"


def _not_a_run_note(record: logging.LogRecord) -> bool:
    """A run's own log lines reach stderr once, through its log callback (see _ProgressLine.log)."""
    return record.name != "qdbm_desktop.core.migration" or record.msg != "[%s] %s"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    for number, text in enumerate(arguments, start=1):
        # Not echoed: a NUL, or bytes that are not UTF-8, would not survive a message or a file.
        if "\x00" in text:
            parser.error(f"argument {number} holds a NUL character")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            parser.error(f"argument {number} is not valid UTF-8 text")
    args = parser.parse_args(arguments)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_StderrFormatter())
    if getattr(args, "origin", "cli") != "scheduler":
        handler.addFilter(_not_a_run_note)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    context: AppContext | None = None
    error: str | None = None
    try:
        context = _open_context(args)
        try:
            ensure_first_run(context)
        except (QdbmError, OSError, sqlite3.Error) as exc:
            # A full or read-only app-data disk: the demo can wait; the command still runs.
            context.first_run_notices.append(f"the demo could not be set up: {exc}")
        code = int(args.handler(args, context))
    except _RunCancelled as exc:  # asked for, so not an error
        error, code = str(exc), exc.exit_code
    except QdbmError as exc:
        error, code = f"error: {exc}", exc.exit_code
    except BrokenPipeError:
        # The reader went away (`qdbm connections list | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except KeyboardInterrupt:
        error, code = "interrupted", 130
    except OSError as exc:  # a file or folder named on the command line
        where = f": {_shown(str(exc.filename), 200)}" if exc.filename else ""
        error, code = f"error: {exc.strerror or one_line(str(exc))}{where}", 1
    except Exception as exc:  # noqa: BLE001 - last resort: one line, no traceback
        if os.environ.get("QDBM_DEBUG"):
            sys.stderr.write(redact(traceback.format_exc()))
        first_line = str(exc).splitlines()[0][:300] if str(exc) else ""
        error = f"unexpected error: {type(exc).__name__}: {first_line} (set QDBM_DEBUG=1 for details)"
        code = 1
    # Notices first, so that the error (when there is one) is the last line a user sees.
    for notice in context.notices() if context else []:
        print(f"{PROG}: notice: {redact(notice)}", file=sys.stderr)
    if error:
        # A driver's or the parser's message may echo a connection string given on the command line;
        # and it stays one line, whatever it quotes (a file name may hold a line break).
        print(f"{PROG}: {redact(error)}".replace("\r", "\\r").replace("\n", "\\n"), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
