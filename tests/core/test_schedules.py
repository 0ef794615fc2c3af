"""Saved jobs and schedules: persistence, renames, refusals, and the upgrade of the format-1 file."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import ColumnMap
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.schedules import Schedule, ScheduleStore
from qdbm_desktop.core.triggers import ScheduleTrigger, TriggerKind
from qdbm_desktop.core.types import PortableType

JOB = Job(name="nightly orders", source="shop", target="dwh", query="SELECT * FROM orders", table="stage.orders",
          mode="upsert", keys=("order_id",), batch_size=20_000,
          column_map=(ColumnMap("total", type=PortableType.parse("decimal(14,2)")),
                      ColumnMap("note", include=False), ColumnMap("id", target="order_id", nullable=False)))


def test_a_job_and_its_schedule_survive_a_restart_unchanged(paths: AppPaths) -> None:
    store = ScheduleStore(paths)
    store.save_job(JOB)
    schedule = store.add_schedule(Schedule(id="s1", job=JOB.name,
                                           trigger=ScheduleTrigger.weekly(["mon", "fri"], "06:30", "Europe/Berlin"),
                                           grace_seconds=600))
    again = ScheduleStore(paths)
    assert again.get_job(JOB.name) == JOB
    assert again.get_schedule("s1") == schedule
    assert schedule.checked_until is not None and schedule.created_at is not None
    assert "password" not in paths.schedules_file.read_text(encoding="utf-8")


def test_renaming_a_job_moves_its_schedules_and_removing_it_removes_them(paths: AppPaths) -> None:
    store = ScheduleStore(paths)
    store.save_job(JOB)
    store.add_schedule(Schedule(id="s1", job=JOB.name, trigger=ScheduleTrigger.daily("06:00", "UTC")))
    store.save_job(Job(name="orders", source="shop", target="dwh", query="SELECT 1", table="t"),
                   replace_name=JOB.name)
    assert [j.name for j in store.jobs()] == ["orders"]
    assert store.get_schedule("s1").job == "orders"
    assert store.get_job("orders").created_at == JOB.created_at
    assert store.remove_job("orders") == 1
    assert store.schedules() == [] and store.jobs() == []


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (Job(name=" ", source="a", target="b", query="SELECT 1", table="t"), "needs a name"),
        (Job(name="j", source="a", target="b", query=" ", table="t"), "has no query"),
        (Job(name="j", source="a", target="b", query="SELECT 1", table="t", mode="upsert"), "key columns"),
        (Job(name="j", source="a", target="b", query="SELECT 1", table="t", mode="merge"), "unknown mode"),
        (Job(name="j", source="a", target="b", query="SELECT 1", table="t", batch_size=0), "batch size"),
    ],
)
def test_a_bad_job_is_refused_and_nothing_is_saved(paths: AppPaths, job: Job, message: str) -> None:
    store = ScheduleStore(paths)
    with pytest.raises(UsageError, match=message):
        store.save_job(job)
    assert store.jobs() == []


def test_refusals_name_the_reason(paths: AppPaths) -> None:
    store = ScheduleStore(paths)
    store.save_job(JOB)
    with pytest.raises(UsageError, match="already exists"):
        store.save_job(JOB)
    with pytest.raises(UsageError, match="no saved job named 'ghost'"):
        store.add_schedule(Schedule(id="x", job="ghost", trigger=ScheduleTrigger.daily("06:00", "UTC")))
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    with pytest.raises(UsageError, match="in the past"):
        store.add_schedule(Schedule(id="x", job=JOB.name, trigger=ScheduleTrigger.once(past, "UTC")))
    assert store.schedules() == []


def test_jobs_follow_a_renamed_connection(paths: AppPaths) -> None:
    store = ScheduleStore(paths)
    store.save_job(JOB)
    assert store.jobs_using("shop") == [JOB.name]
    assert store.rename_connection("shop", "shop eu") == 1
    assert store.get_job(JOB.name).source == "shop eu" and store.jobs_using("shop") == []


def test_a_format_1_file_becomes_jobs_and_one_off_schedules_with_a_backup(paths: AppPaths,
                                                                          context: AppContext) -> None:
    when = (datetime.now(timezone.utc) + timedelta(days=2)).replace(microsecond=0).isoformat()
    old = {"version": 1, "schedules": [
        {"id": "a1", "source": "shop", "destination": "dwh", "query": "SELECT * FROM sales",
         "target_table": "sales", "run_at": when, "mode": "replace", "origin": "legacy:1"},
        {"id": "a2", "source": "shop", "destination": "dwh", "query": "SELECT 2", "target_table": "sales",
         "run_at": when, "enabled": False},
    ]}
    paths.schedules_file.write_text(json.dumps(old), encoding="utf-8")
    store = ScheduleStore(paths)
    jobs = store.jobs()
    assert [(j.name, j.query, j.mode) for j in jobs] == [("sales from shop", "SELECT * FROM sales", "replace"),
                                                          ("sales from shop (2)", "SELECT 2", "append")]
    schedules = {s.id: s for s in store.schedules()}
    assert schedules["a1"].trigger.kind is TriggerKind.ONCE
    assert schedules["a1"].trigger.once_time() == datetime.fromisoformat(when)
    assert (schedules["a1"].job, schedules["a1"].origin) == ("sales from shop", "legacy:1")
    assert schedules["a2"].enabled is False
    assert (paths.home / "schedules.json.v1.bak").exists()
    assert any("upgraded from format 1" in n for n in store.notices)


def test_update_schedule_changes_only_what_is_given(paths: AppPaths) -> None:
    store = ScheduleStore(paths)
    store.save_job(JOB)
    store.add_schedule(Schedule(id="s1", job=JOB.name, trigger=ScheduleTrigger.daily("06:00", "UTC")))
    updated = store.update_schedule("s1", enabled=False, last_status="succeeded")
    assert (updated.enabled, updated.last_status, updated.trigger.time) == (False, "succeeded", "06:00")
    with pytest.raises(UsageError, match="at least one day"):
        store.update_schedule("s1", trigger=ScheduleTrigger(TriggerKind.WEEKLY, "UTC", time="06:00"))
    assert store.get_schedule("s1").trigger.kind is TriggerKind.DAILY


def test_a_schedule_whose_id_is_taken_is_returned_with_the_id_it_was_stored_under(paths: AppPaths) -> None:
    store = ScheduleStore(paths)
    store.save_job(JOB)
    first = store.add_schedule(Schedule(id="s1", job=JOB.name, trigger=ScheduleTrigger.daily("06:00", "UTC")))
    second = store.add_schedule(Schedule(id="s1", job=JOB.name, trigger=ScheduleTrigger.daily("07:00", "UTC")))
    assert first.id == "s1" and second.id != "s1"
    assert store.get_schedule(second.id) == second
    assert [s.trigger.time for s in store.schedules()] == ["06:00", "07:00"]
