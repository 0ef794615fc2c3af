"""When a schedule fires: once, every N minutes/hours, daily, weekly on chosen days, or a cron expression.

A trigger keeps its IANA time zone, so "daily at 06:30" stays at 06:30 on the wall clock across
daylight-saving changes. APScheduler 3's triggers compute the fire times; this module adds the
text a user reads ("every weekday at 06:30") and the checks that say what is wrong with a trigger.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.schema import Choice, Integer, ListOf, Nullable, Record, Text, Timestamp, require

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
              "sat": "Saturday", "sun": "Sunday"}
#: Cron's day-of-week numbers: 0 and 7 are Sunday.
_CRON_DAY_NUMBERS = {0: "sun", 1: "mon", 2: "tue", 3: "wed", 4: "thu", 5: "fri", 6: "sat", 7: "sun"}
MIN_INTERVAL_SECONDS = 60
#: A year and a day: a longer interval is a typo (and beyond what the fire-time arithmetic can hold).
MAX_INTERVAL_SECONDS = 366 * 86400
_TIME_TEXT = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


class TriggerKind(str, Enum):
    ONCE = "once"
    INTERVAL = "interval"
    DAILY = "daily"
    WEEKLY = "weekly"
    CRON = "cron"


def local_zone_name() -> str:
    """The IANA name of this computer's time zone ("Europe/Berlin"), or UTC when it has none."""
    try:
        import tzlocal

        return str(tzlocal.get_localzone_name() or "UTC")
    except Exception:  # noqa: BLE001 - an unusual system setting must not stop the app
        return "UTC"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {name!r} (a name such as Europe/Berlin or UTC)") from None


def parse_time_of_day(text: str) -> tuple[int, int]:
    match = _TIME_TEXT.fullmatch(text.strip())
    if not match:
        raise UsageError(f"{text!r} is not a time of day (expected HH:MM, 00:00 to 23:59)")
    return int(match.group(1)), int(match.group(2))


def cron_day_of_week(field_text: str) -> str:
    """Cron's day-of-week field (0 or 7 = Sunday, 1 = Monday) as day names for APScheduler.

    APScheduler 3 numbers days from Monday = 0, so a crontab's ``1-5`` given to it as numbers
    would mean Tuesday to Saturday; names mean the same to both.
    """
    if field_text in ("*", "?"):
        return "*"
    days: list[str] = []
    for part in field_text.lower().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise UsageError(f"bad step in the day-of-week field {field_text!r}")
            step = int(step_text)
        if part in ("*", ""):
            numbers = list(range(0, 7))
        elif "-" in part:
            first, last = (_day_number(p, field_text) for p in part.split("-", 1))
            if last < first:
                raise UsageError(f"the day range {part!r} runs backwards in {field_text!r}")
            numbers = list(range(first, last + 1))
        else:
            numbers = [_day_number(part, field_text)]
        for number in numbers[::step]:
            name = _CRON_DAY_NUMBERS[number]
            if name not in days:
                days.append(name)
    return ",".join(sorted(days, key=DAYS.index))


def _day_key(text: str) -> str:
    """``mon`` for mon, Mon, monday; ``UsageError`` for anything else."""
    name = text.strip().lower()
    key = name[:3]
    if len(name) < 3 or key not in DAYS or not _DAY_NAMES[key].lower().startswith(name):
        raise UsageError(f"{_shown(text)} is not a day (mon, tue, wed, thu, fri, sat, sun)")
    return key


def _day_number(text: str, field_text: str) -> int:
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)
    names = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
    if text[:3] in names and len(text) == 3:
        return names[text]
    raise UsageError(f"{text!r} is not a day of the week in {field_text!r} (0-7 or sun..sat)")


@dataclass(frozen=True)
class ScheduleTrigger:
    """One way of firing; which fields matter depends on ``kind``.

    ``at`` (ONCE) is an ISO 8601 time with its offset; ``time`` (DAILY, WEEKLY) is HH:MM in
    ``timezone``; ``days`` (WEEKLY) are ``mon`` .. ``sun``; ``every_seconds`` (INTERVAL);
    ``cron`` (CRON) is a five-field crontab expression evaluated in ``timezone``.
    """

    kind: TriggerKind
    timezone: str = "UTC"
    at: str | None = None
    every_seconds: int | None = None
    time: str | None = None
    days: tuple[str, ...] = ()
    cron: str | None = None
    #: Interval triggers count from here (ISO 8601), so a restart does not move their rhythm.
    start: str | None = None

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def once(cls, at: datetime, tz: str | None = None) -> ScheduleTrigger:
        if at.tzinfo is None:
            raise UsageError("a one-off time must carry its time zone")
        return cls(TriggerKind.ONCE, tz or local_zone_name(), at=at.isoformat())

    @classmethod
    def interval(cls, seconds: int, tz: str | None = None, start: datetime | None = None) -> ScheduleTrigger:
        start = start or datetime.now(timezone.utc)
        return cls(TriggerKind.INTERVAL, tz or local_zone_name(), every_seconds=int(seconds),
                   start=start.isoformat())

    @classmethod
    def daily(cls, time_text: str, tz: str | None = None) -> ScheduleTrigger:
        hour, minute = parse_time_of_day(time_text)
        return cls(TriggerKind.DAILY, tz or local_zone_name(), time=f"{hour:02d}:{minute:02d}")

    @classmethod
    def weekly(cls, days: tuple[str, ...] | list[str], time_text: str,
               tz: str | None = None) -> ScheduleTrigger:
        hour, minute = parse_time_of_day(time_text)
        chosen = tuple(sorted({_day_key(d) for d in days}, key=DAYS.index))
        return cls(TriggerKind.WEEKLY, tz or local_zone_name(), time=f"{hour:02d}:{minute:02d}", days=chosen)

    @classmethod
    def from_cron(cls, expression: str, tz: str | None = None) -> ScheduleTrigger:
        return cls(TriggerKind.CRON, tz or local_zone_name(), cron=" ".join(expression.split()))

    # -- checking and computing -------------------------------------------------------------

    def validate(self, now: datetime | None = None) -> None:
        """``UsageError`` naming what is wrong; a one-off time in the past is refused."""
        self.check()
        if self.kind is TriggerKind.ONCE:
            when = self.once_time()
            if when <= (now or datetime.now(timezone.utc)):
                shown = when.astimezone(zone(self.timezone)).strftime("%Y-%m-%d %H:%M")
                raise UsageError(f"{shown} is in the past; choose a later time")

    def check(self) -> None:
        """``UsageError`` naming what is wrong with the trigger itself (a stored one-off may be past)."""
        zone(self.timezone)
        if self.kind is TriggerKind.ONCE:
            self.once_time()
        elif self.kind is TriggerKind.INTERVAL:
            seconds = self.every_seconds
            if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < MIN_INTERVAL_SECONDS:
                raise UsageError(f"an interval must be at least {MIN_INTERVAL_SECONDS // 60} minute")
            if seconds > MAX_INTERVAL_SECONDS:
                raise UsageError(f"an interval must be at most {MAX_INTERVAL_SECONDS // 86400} days")
            if self.start is not None:
                _aware_time(self.start, "the interval's start")
        elif self.kind in (TriggerKind.DAILY, TriggerKind.WEEKLY):
            parse_time_of_day(self.time or "")
            if self.kind is TriggerKind.WEEKLY:
                if not self.days:
                    raise UsageError("choose at least one day of the week")
                unknown = [d for d in self.days if d not in DAYS]
                if unknown:
                    raise UsageError(f"{unknown[0]!r} is not a day (mon, tue, wed, thu, fri, sat, sun)")
        trigger = self.apscheduler_trigger()
        # A date no calendar has (31 February): APScheduler searches to the year 9999 at every
        # look, close to a second each time, for a schedule that can never run.
        now = datetime.now(timezone.utc)
        if self.kind is TriggerKind.CRON and trigger.get_next_fire_time(None, now) is None:
            raise UsageError(f"the cron expression {self.cron!r} never fires (no month has that day)")

    def once_time(self) -> datetime:
        return _aware_time(self.at, "a one-off time")

    def apscheduler_trigger(self) -> BaseTrigger:
        # Imported here: a run that reads no schedule (``qdbm migrate``) does not load APScheduler.
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.date import DateTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        tz = zone(self.timezone)
        if self.kind is TriggerKind.ONCE:
            return DateTrigger(run_date=self.once_time(), timezone=tz)
        if self.kind is TriggerKind.INTERVAL:
            start = datetime.fromisoformat(self.start) if self.start else None
            return IntervalTrigger(seconds=int(self.every_seconds or 0), start_date=start, timezone=tz)
        if self.kind in (TriggerKind.DAILY, TriggerKind.WEEKLY):
            hour, minute = parse_time_of_day(self.time or "")
            days = ",".join(self.days) if self.kind is TriggerKind.WEEKLY else "*"
            return CronTrigger(day_of_week=days, hour=hour, minute=minute, second=0, timezone=tz)
        fields = (self.cron or "").split()
        if len(fields) != 5:
            raise UsageError(f"a cron expression has five fields (minute hour day month weekday), "
                             f"not {len(fields)}: {self.cron!r}")
        try:
            return CronTrigger(minute=fields[0], hour=fields[1], day=fields[2], month=fields[3],
                               day_of_week=cron_day_of_week(fields[4]), second=0, timezone=tz)
        except ValueError as exc:
            raise UsageError(f"bad cron expression {self.cron!r}: {exc}") from None

    def next_fire_times(self, after: datetime, count: int = 5) -> list[datetime]:
        """The next ``count`` fire times strictly after ``after`` (fewer for a one-off)."""
        trigger = self.apscheduler_trigger()
        times: list[datetime] = []
        previous: datetime | None = None
        now = after + timedelta(microseconds=1)
        while len(times) < count:
            fire = trigger.get_next_fire_time(previous, now)
            if fire is None or (previous is not None and fire <= previous):
                # A trigger that does not move forward (a hand-edited interval) must not loop for ever.
                break
            if fire > after:
                times.append(fire)
            previous = fire
            now = fire + timedelta(microseconds=1)
        return times

    def fire_times_between(self, start: datetime, end: datetime, limit: int = 1000) -> list[datetime]:
        """The fire times in ``(start, end]``: what a scheduler that was not running missed."""
        found = []
        for fire in self.next_fire_times(start, limit):
            if fire > end:
                break
            found.append(fire)
        return found

    # -- words ------------------------------------------------------------------------------

    def describe(self) -> str:
        """The trigger as a user reads it: "every weekday at 06:30 (Europe/Berlin)"."""
        where = f" ({self.timezone})"
        if self.kind is TriggerKind.ONCE:
            try:
                when = self.once_time().astimezone(zone(self.timezone))
            except UsageError:
                return f"once at {self.at}"
            return f"once on {when.strftime('%Y-%m-%d at %H:%M')}{where}"
        if self.kind is TriggerKind.INTERVAL:
            return f"every {interval_text(self.every_seconds or 0)}"
        if self.kind is TriggerKind.DAILY:
            return f"daily at {self.time}{where}"
        if self.kind is TriggerKind.WEEKLY:
            return f"{days_text(self.days)} at {self.time}{where}"
        return f"{cron_text(self.cron or '')}{where}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind.value, "timezone": self.timezone}
        for key in ("at", "every_seconds", "time", "cron", "start"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.days:
            data["days"] = list(self.days)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScheduleTrigger:
        """The trigger a stored entry holds; ``UsageError`` naming the field when it does not pass."""
        require(TRIGGER_ENTRY, data, "trigger")
        return cls.from_checked(data)

    @classmethod
    def from_checked(cls, data: Mapping[str, Any]) -> ScheduleTrigger:
        return cls(TriggerKind(data["kind"]), str(data.get("timezone") or "UTC"), at=data.get("at"),
                   every_seconds=data.get("every_seconds"), time=data.get("time"),
                   days=tuple(data.get("days") or ()), cron=data.get("cron"), start=data.get("start"))


def _aware_time(text: str | None, what: str) -> datetime:
    try:
        when = datetime.fromisoformat(text or "")
    except (ValueError, TypeError):
        raise UsageError(f"{text!r} is not a date and time") from None
    if when.tzinfo is None:
        raise UsageError(f"{what} must carry its time zone")
    return when


@functools.lru_cache(maxsize=4096)
def _trigger_problem(trigger: ScheduleTrigger) -> str | None:
    # Building APScheduler's cron trigger costs a fraction of a millisecond, and the schedules are
    # read again at every heartbeat and every state change: the same trigger is checked once.
    try:
        trigger.check()
    except UsageError as exc:
        return str(exc)
    return None


def _check_stored_trigger(data: Mapping[str, Any]) -> None:
    problem = _trigger_problem(ScheduleTrigger.from_checked(data))
    if problem is not None:
        raise UsageError(problem)


#: What the trigger of a stored schedule holds; the fields its kind needs are checked by ``check``.
TRIGGER_ENTRY = Record(
    fields={
        "kind": Choice(tuple(k.value for k in TriggerKind)),
        "timezone": Text(non_empty=True, check_text=zone),
        "at": Nullable(Timestamp()),
        "every_seconds": Nullable(Integer(MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS)),
        "time": Nullable(Text(check_text=parse_time_of_day)),
        "days": ListOf(Choice(DAYS), unique=True),
        "cron": Nullable(Text(max_length=200)),
        "start": Nullable(Timestamp()),
    },
    required=frozenset({"kind"}),
    check_record=_check_stored_trigger,
)


def interval_text(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} hours"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "minute" if minutes == 1 else f"{minutes} minutes"
    return f"{seconds} seconds"


def days_text(days: tuple[str, ...]) -> str:
    chosen = [d for d in DAYS if d in days]
    if not chosen:
        return "on no day"
    if chosen == list(DAYS):
        return "every day"
    if chosen == list(DAYS[:5]):
        return "every weekday"
    if chosen == list(DAYS[5:]):
        return "every weekend day"
    names = [_DAY_NAMES[d] for d in chosen]
    if len(names) == 1:
        return f"every {names[0]}"
    return "every " + ", ".join(names[:-1]) + " and " + names[-1]


def cron_text(expression: str) -> str:
    """A cron expression in words (cron-descriptor, 24-hour clock)."""
    try:
        from cron_descriptor import CasingTypeEnum, Options, get_description

        options = Options()
        options.use_24hour_time_format = True
        options.casing_type = CasingTypeEnum.LowerCase
        return f"cron {expression}: {get_description(expression, options)}"
    except Exception:  # noqa: BLE001 - the words are a help; the expression itself is checked elsewhere
        return f"cron {expression}"


INTERVAL_TEXT = re.compile(r"([0-9]{1,15})\s*([smhd])")
#: The longest duration written as text (an interval, a grace, a one-off delay): ten years (longer
#: ones overflow the date types). A schedule's interval is held to MAX_INTERVAL_SECONDS besides.
MAX_DURATION_SECONDS = 3650 * 86400


def parse_interval(text: str) -> int:
    """``30m``, ``2h``, ``90s``, ``1d`` as seconds."""
    match = INTERVAL_TEXT.fullmatch(text.strip().lower())
    if not match:
        raise UsageError(f"{_shown(text)} is not an interval (examples: 30m, 2h, 1d)")
    seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if seconds > MAX_DURATION_SECONDS:
        longest = MAX_DURATION_SECONDS // 86400
        raise UsageError(f"{_shown(text)} is too long: an interval is at most {longest}d (ten years)")
    return seconds


def _shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, cut short when it is long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


