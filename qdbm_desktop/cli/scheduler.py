"""``qdbm scheduler``: run the schedules without the desktop app, until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from datetime import datetime, timezone

from qdbm_desktop.cli.common import (
    PROG,
    Commands,
    Parser,
    local_time,
    next_run_text,
    positive_seconds,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import one_line
from qdbm_desktop.core.history import RunTrigger
from qdbm_desktop.core.runs import unrecorded_warning
from qdbm_desktop.core.scheduler import MissedRun, RunEvent, SchedulerService

HEADLESS_CHECK_SECONDS = 5


SCHEDULER_STOP_SECONDS = 1.5


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
            self._say(f"missed: job {run.job!r}, due at {local_time(run.due)}")


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
              f"next run: {next_run_text(schedule, now)}", flush=True)
    if not active:
        print("  no active schedules yet; schedules added later are picked up "
              f"within {args.check_every:g} s", flush=True)


def register(commands: Commands[Parser]) -> None:
    scheduler = commands.add_parser(
        "scheduler", help="run the schedules without the desktop app, until SIGINT/SIGTERM",
        description="Run the schedules of this app-data folder until SIGINT or SIGTERM, which stops it "
        "within 2 s: running jobs are cancelled, their targets left unchanged. "
        "Only one process runs them at a time: this or the desktop app. Runs missed while nothing ran "
        "are run when within their grace period, otherwise recorded as skipped.")
    scheduler.add_argument("--check-every", type=positive_seconds, default=HEADLESS_CHECK_SECONDS,
                           metavar="SECONDS", help="how often schedules edited elsewhere are re-read and "
                           f"missed runs looked for (default {HEADLESS_CHECK_SECONDS})")
    scheduler.set_defaults(handler=_cmd_scheduler, origin="scheduler")
