"""``qdbm schedule``: when saved jobs run (add, list, remove, enable, disable)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone

from qdbm_desktop.cli.common import (
    Commands,
    Parser,
    command_group,
    local_time,
    next_fire,
    next_run_text,
    print_table,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.schedules import Schedule, new_schedule_id
from qdbm_desktop.core.triggers import ScheduleTrigger, local_zone_name, parse_interval, zone


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
          f"next run: {next_run_text(schedule, now)}")
    return 0


def _cmd_schedule_list(args: argparse.Namespace, context: AppContext) -> int:
    now = datetime.now(timezone.utc)
    schedules = context.schedules.schedules()
    if args.json:
        items = []
        for schedule in schedules:
            fire = next_fire(schedule, now)
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
        last = (f"{local_time(schedule.last_run_at)} {schedule.last_status or ''}".strip()
                if schedule.last_run_at else "")
        rows.append([schedule.id, schedule.job, schedule.trigger.describe(), next_run_text(schedule, now),
                     last, state])
    print_table(rows, ["ID", "JOB", "WHEN", "NEXT RUN", "LAST RUN", "STATE"], sys.stdout)
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
          f"next run: {next_run_text(schedule, now)}")
    return 0


def _cmd_schedule_disable(args: argparse.Namespace, context: AppContext) -> int:
    schedule = context.schedules.update_schedule(args.id, enabled=False)
    print(f"disabled schedule {schedule.id} of job {schedule.job!r}")
    return 0


def register(commands: Commands[Parser]) -> None:
    actions = command_group(commands, "schedule", "when saved jobs run (qdbm scheduler or the app runs them)")
    _register_add(actions)
    sched_list = actions.add_parser("list", help="schedules, their next and last runs")
    sched_list.add_argument("--json", action="store_true")
    sched_list.set_defaults(handler=_cmd_schedule_list)
    for action, handler, text in (("remove", _cmd_schedule_remove, "delete a schedule"),
                                  ("enable", _cmd_schedule_enable,
                                   "enable a schedule (times passed while disabled are not run)"),
                                  ("disable", _cmd_schedule_disable, "stop a schedule from firing")):
        command = actions.add_parser(action, help=text)
        command.add_argument("id", help="the schedule's id (qdbm schedule list)")
        command.set_defaults(handler=handler)


def _register_add(actions: Commands[Parser]) -> None:
    sched_add = actions.add_parser(
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
