"""Triggers: the right next fire times (across DST changes too), the words, and the refusals."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.triggers import (
    ScheduleTrigger,
    TriggerKind,
    cron_day_of_week,
    parse_interval,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(times: list[datetime], tz: ZoneInfo) -> list[str]:
    return [t.astimezone(timezone.utc).astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z") for t in times]


def test_daily_keeps_the_wall_clock_time_across_the_spring_and_autumn_changes() -> None:
    trigger = ScheduleTrigger.daily("06:30", "Europe/Berlin")
    spring = trigger.next_fire_times(datetime(2026, 3, 27, 12, tzinfo=timezone.utc), 4)
    assert local(spring, BERLIN) == ["Sat 2026-03-28 06:30 CET", "Sun 2026-03-29 06:30 CEST",
                                     "Mon 2026-03-30 06:30 CEST", "Tue 2026-03-31 06:30 CEST"]
    # 23 hours between the two runs around the change: the wall clock wins, not the interval.
    assert spring[1].astimezone(timezone.utc) - spring[0].astimezone(timezone.utc) == timedelta(hours=23)
    autumn = trigger.next_fire_times(datetime(2026, 10, 24, 12, tzinfo=timezone.utc), 2)
    assert local(autumn, BERLIN) == ["Sun 2026-10-25 06:30 CET", "Mon 2026-10-26 06:30 CET"]
    assert autumn[0].astimezone(timezone.utc) - datetime(2026, 10, 24, 4, 30, tzinfo=timezone.utc) == \
        timedelta(hours=25)


def test_a_time_that_does_not_exist_on_the_spring_day_runs_once_an_hour_later() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29 (02:00 jumps to 03:00): that day it runs at 03:30.
    fires = ScheduleTrigger.daily("02:30", "Europe/Berlin").next_fire_times(
        datetime(2026, 3, 28, 12, tzinfo=timezone.utc), 3)
    assert local(fires, BERLIN) == ["Sun 2026-03-29 03:30 CEST", "Mon 2026-03-30 02:30 CEST",
                                    "Tue 2026-03-31 02:30 CEST"]


def test_weekly_fires_only_on_the_chosen_days() -> None:
    trigger = ScheduleTrigger.weekly(["mon", "thu"], "07:15", "America/New_York")
    fires = trigger.next_fire_times(datetime(2026, 11, 25, 12, tzinfo=timezone.utc), 4)
    assert local(fires, NEW_YORK) == ["Thu 2026-11-26 07:15 EST", "Mon 2026-11-30 07:15 EST",
                                      "Thu 2026-12-03 07:15 EST", "Mon 2026-12-07 07:15 EST"]
    assert trigger.describe() == "every Monday and Thursday at 07:15 (America/New_York)"
    assert ScheduleTrigger.weekly(["fri", "mon", "tue", "wed", "thu"], "06:30", "UTC").describe() == \
        "every weekday at 06:30 (UTC)"


def test_cron_weekdays_follow_crontab_numbering() -> None:
    # In a crontab 1-5 is Monday to Friday (APScheduler's own numbers would make it Tuesday to Saturday).
    trigger = ScheduleTrigger.from_cron("30 6 * * 1-5", "Europe/Berlin")
    fires = trigger.next_fire_times(datetime(2026, 11, 27, 12, tzinfo=timezone.utc), 3)
    assert local(fires, BERLIN) == ["Mon 2026-11-30 06:30 CET", "Tue 2026-12-01 06:30 CET",
                                    "Wed 2026-12-02 06:30 CET"]
    assert cron_day_of_week("0") == "sun" and cron_day_of_week("7") == "sun"
    assert cron_day_of_week("1-5") == "mon,tue,wed,thu,fri"
    assert cron_day_of_week("*/2") == "tue,thu,sat,sun"
    assert cron_day_of_week("sat,sun") == "sat,sun"
    assert "monday through friday" in trigger.describe()


def test_interval_counts_from_its_start_so_a_restart_keeps_the_rhythm() -> None:
    start = datetime(2026, 11, 25, 10, 0, 7, tzinfo=timezone.utc)
    trigger = ScheduleTrigger.interval(1800, "UTC", start=start)
    fires = trigger.next_fire_times(datetime(2026, 11, 25, 11, 5, tzinfo=timezone.utc), 2)
    assert fires == [datetime(2026, 11, 25, 11, 30, 7, tzinfo=timezone.utc),
                     datetime(2026, 11, 25, 12, 0, 7, tzinfo=timezone.utc)]
    assert trigger.describe() == "every 30 minutes"


def test_once_fires_once_and_a_past_time_is_refused() -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
    trigger = ScheduleTrigger.once(now + timedelta(hours=2), "Europe/Berlin")
    assert trigger.next_fire_times(now, 5) == [now + timedelta(hours=2)]
    assert trigger.describe() == "once on 2026-11-25 at 15:00 (Europe/Berlin)"
    trigger.validate(now)
    with pytest.raises(UsageError, match="in the past"):
        ScheduleTrigger.once(now - timedelta(minutes=1), "UTC").validate(now)


def test_fire_times_between_lists_what_a_stopped_scheduler_missed() -> None:
    trigger = ScheduleTrigger.daily("06:30", "UTC")
    missed = trigger.fire_times_between(datetime(2026, 11, 20, 7, tzinfo=timezone.utc),
                                        datetime(2026, 11, 23, 6, 30, tzinfo=timezone.utc))
    assert [t.day for t in missed] == [21, 22, 23]


@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        (ScheduleTrigger.from_cron("61 * * * *", "UTC"), "bad cron expression"),
        (ScheduleTrigger.from_cron("* * *", "UTC"), "five fields"),
        (ScheduleTrigger(TriggerKind.WEEKLY, "UTC", time="06:00"), "at least one day"),
        (ScheduleTrigger(TriggerKind.INTERVAL, "UTC", every_seconds=10), "at least 1 minute"),
        (ScheduleTrigger(TriggerKind.DAILY, "Mars/Olympus", time="06:00"), "unknown time zone"),
        (ScheduleTrigger(TriggerKind.DAILY, "UTC", time="25:00"), "not a time of day"),
    ],
)
def test_a_bad_trigger_says_what_is_wrong(trigger: ScheduleTrigger, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        trigger.validate()


def test_json_round_trip_keeps_every_field() -> None:
    for trigger in (ScheduleTrigger.weekly(["mon"], "06:00", "Asia/Tokyo"),
                    ScheduleTrigger.interval(3600, "UTC", datetime(2026, 1, 1, tzinfo=timezone.utc)),
                    ScheduleTrigger.from_cron("0 */2 * * *", "UTC"),
                    ScheduleTrigger.once(datetime(2027, 1, 1, 9, tzinfo=BERLIN), "Europe/Berlin")):
        assert ScheduleTrigger.from_json(trigger.to_json()) == trigger


def test_intervals_in_words() -> None:
    assert [parse_interval(t) for t in ("30m", "2h", "90s", "1d")] == [1800, 7200, 90, 86400]
    with pytest.raises(UsageError):
        parse_interval("soon")


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"])
def test_a_cron_expression_that_can_never_fire_is_refused(expression: str) -> None:
    with pytest.raises(UsageError, match="never fires"):
        ScheduleTrigger.from_cron(expression, "UTC").validate()
