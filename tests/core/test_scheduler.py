"""The scheduler service without Qt: missed runs after a downtime, no job twice at once, restarts, one owner."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from qdbm_desktop.core import scheduler as scheduler_module
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_QUERY, DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.core.history import RunRecord, RunStatus, RunTrigger
from qdbm_desktop.core.job_lock import JobRunLock, job_lock_file
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import Status
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.scheduler import MissedRun, RunEvent, ScheduledRun, SchedulerBusy, SchedulerService
from qdbm_desktop.core.schedules import Schedule
from qdbm_desktop.core.triggers import ScheduleTrigger
from tests.conftest import MemoryKeyring

ORDERS = Job(name="orders", source=DEMO_SOURCE_NAME, target=DEMO_TARGET_NAME, query=DEMO_QUERY,
             table="orders_report")
#: A query that keeps SQLite busy for a few seconds and returns one row.
SLOW_QUERY = ("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20000000) "
              "SELECT COUNT(*) AS c FROM n")
SLOW = Job(name="slow", source=DEMO_SOURCE_NAME, target=DEMO_TARGET_NAME, query=SLOW_QUERY, table="slow_count")


class RecordingListener:
    def __init__(self) -> None:
        self.started: list[tuple[str, RunTrigger]] = []
        self.finished: list[RunEvent] = []
        self.missed: list[MissedRun] = []

    def run_started(self, job: str, trigger: RunTrigger) -> None:
        self.started.append((job, trigger))

    def run_finished(self, event: RunEvent) -> None:
        self.finished.append(event)

    def runs_missed(self, missed: list[MissedRun]) -> None:
        self.missed.extend(missed)


@pytest.fixture
def demo(context: AppContext) -> AppContext:
    """The context with the demo databases and connections, and the job "orders"."""
    ensure_first_run(context)
    context.schedules.save_job(ORDERS)
    return context


@pytest.fixture
def services() -> Iterator[list[SchedulerService]]:
    """Services a test starts; stopped at its end even when it fails."""
    started: list[SchedulerService] = []
    yield started
    for service in started:
        service.stop(wait=True, cancel_running=True)


def warehouse_count(home: Path, table: str) -> int | None:
    with sqlite3.connect(home / "demo" / "warehouse.sqlite") as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
            return None
        return int(db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def hourly_since(context: AppContext, t0: datetime, grace_seconds: int) -> Schedule:
    """An hourly schedule from ``t0``, last checked at ``t0``."""
    return context.schedules.add_schedule(
        Schedule(id="hourly", job="orders", trigger=ScheduleTrigger.interval(3600, "UTC", start=t0),
                 grace_seconds=grace_seconds), now=t0)


def runs_of(context: AppContext, job: str) -> list[RunRecord]:
    return [r for r in context.history.runs() if r.job == job]


def test_a_run_missed_in_a_downtime_runs_at_start_when_within_its_grace(
        demo: AppContext, home: Path, services: list[SchedulerService]) -> None:
    t0 = datetime.now(timezone.utc).replace(microsecond=0)
    hourly_since(demo, t0, grace_seconds=600)
    # Started 5 h 5 min later: five fire times went by, the last one 5 minutes ago.
    service = SchedulerService(demo, RecordingListener(), clock=lambda: t0 + timedelta(hours=5, minutes=5))
    services.append(service)
    assert service.start() == []
    service.stop(wait=True)

    (run,) = runs_of(demo, "orders")
    assert (run.status, run.trigger, run.rows_written) == (RunStatus.SUCCEEDED, RunTrigger.MISSED_RUN, 3000)
    assert warehouse_count(home, "orders_report") == 3000
    schedule = demo.schedules.get_schedule("hourly")
    assert schedule.last_status == "succeeded" and not schedule.done
    assert schedule.checked_until_time() >= t0 + timedelta(hours=5)


def test_a_run_missed_beyond_its_grace_is_recorded_as_skipped_when_headless(
        demo: AppContext, home: Path, services: list[SchedulerService]) -> None:
    t0 = datetime.now(timezone.utc).replace(microsecond=0)
    hourly_since(demo, t0, grace_seconds=60)
    listener = RecordingListener()
    service = SchedulerService(demo, listener, clock=lambda: t0 + timedelta(hours=5, minutes=5),
                               auto_skip_missed=True)
    services.append(service)
    assert service.start() == []
    service.stop(wait=True)

    (run,) = runs_of(demo, "orders")
    assert run.status is RunStatus.SKIPPED and run.error is not None
    assert "missed 5 runs" in run.error and "5 min late" in run.error
    assert warehouse_count(home, "orders_report") is None
    assert demo.schedules.get_schedule("hourly").last_status == "skipped"
    assert [e.status for e in listener.finished] == [RunStatus.SKIPPED] and listener.started == []


@pytest.mark.parametrize("paused", [False, True])
def test_a_skipped_fire_time_says_whether_a_scheduler_was_running_or_paused_at_the_time(
        demo: AppContext, home: Path, services: list[SchedulerService], paused: bool) -> None:
    t0 = datetime.now(timezone.utc).replace(microsecond=0)
    hourly_since(demo, t0, grace_seconds=60)
    now = [t0 + timedelta(minutes=5)]
    service = SchedulerService(demo, RecordingListener(), clock=lambda: now[0], auto_skip_missed=True)
    services.append(service)
    service.start()
    if paused:
        service.pause()
    # The 1 h fire time goes by unfired (the test's clock is not APScheduler's) and is found later.
    now[0] = t0 + timedelta(hours=1, minutes=5)
    if paused:
        service.resume()
    else:
        service.heartbeat()

    skipped = [r for r in runs_of(demo, "orders") if r.status is RunStatus.SKIPPED]
    assert len(skipped) == 1 and skipped[0].error is not None
    wanted = "while the schedules were paused" if paused else "while this scheduler ran but could not fire it"
    assert wanted in skipped[0].error and "no scheduler was running" not in skipped[0].error


def test_a_run_missed_beyond_its_grace_is_handed_back_by_start_for_the_user_to_decide(
        demo: AppContext, home: Path, services: list[SchedulerService]) -> None:
    t0 = datetime.now(timezone.utc).replace(microsecond=0)
    hourly_since(demo, t0, grace_seconds=60)
    service = SchedulerService(demo, RecordingListener(), clock=lambda: t0 + timedelta(hours=5, minutes=5))
    services.append(service)
    missed = service.start()
    assert missed == [MissedRun("hourly", "orders", t0 + timedelta(hours=5))]
    assert runs_of(demo, "orders") == []
    # The fire times are handled: a heartbeat does not report them again.
    service.heartbeat()
    assert runs_of(demo, "orders") == []

    service.resolve_missed(missed[0], run=False)
    (run,) = runs_of(demo, "orders")
    assert run.status is RunStatus.SKIPPED and "missed" in (run.error or "")


def test_a_job_never_runs_twice_at_once_the_second_run_is_recorded_as_skipped(
        demo: AppContext, home: Path) -> None:
    demo.schedules.save_job(SLOW)
    service = SchedulerService(demo)
    results: list[object] = []
    first = threading.Thread(target=lambda: results.append(
        service.execute("slow", RunTrigger.SCHEDULE, None, None)))
    first.start()
    try:
        wait_for(lambda: any(r.status is RunStatus.RUNNING for r in runs_of(demo, "slow")))
        assert service.execute("slow", RunTrigger.MANUAL, None, None) is None
        statuses = {r.status for r in runs_of(demo, "slow")}
        assert statuses == {RunStatus.RUNNING, RunStatus.SKIPPED}, "the first run ended too soon to overlap"
    finally:
        first.join(timeout=60)
    (result,) = results
    assert getattr(result, "status", None) is Status.SUCCEEDED
    skipped = [r for r in runs_of(demo, "slow") if r.status is RunStatus.SKIPPED]
    assert len(skipped) == 1 and "still going" in (skipped[0].error or "")
    assert skipped[0].trigger is RunTrigger.MANUAL
    assert warehouse_count(home, "slow_count") == 1
    # Once the first run ended, the job runs again (the lock is the job's, by name: a quick query under
    # the same name shows it was let go without a second long recursion).
    demo.schedules.save_job(replace(SLOW, query="SELECT 1 AS c"), replace_name="slow")
    again = service.execute("slow", RunTrigger.MANUAL, None, None)
    assert again is not None and again.status is Status.SUCCEEDED


def test_a_fire_time_that_comes_while_the_job_still_runs_is_recorded_as_skipped_not_missed(
        demo: AppContext, services: list[SchedulerService]) -> None:
    demo.schedules.save_job(SLOW)
    added = demo.schedules.add_schedule(Schedule(id="fast", job="slow", trigger=ScheduleTrigger.interval(60, "UTC")))
    service = SchedulerService(demo)
    services.append(service)
    service.start()
    # Every second: shorter than a stored schedule may be (the file's check refuses it), but the same
    # path as a long run of an hourly job, registered as ``reload`` registers it.
    assert service._scheduler is not None
    service._scheduler.reschedule_job(added.id, trigger=IntervalTrigger(seconds=1, timezone=timezone.utc))
    wait_for(lambda: any(r.status is RunStatus.SKIPPED for r in runs_of(demo, "slow")), timeout=20)
    service.stop(wait=True, cancel_running=True)
    skipped = [r for r in runs_of(demo, "slow") if r.status is RunStatus.SKIPPED]
    assert all("still going" in (r.error or "") for r in skipped)
    assert all(r.trigger is RunTrigger.SCHEDULE for r in skipped)


def test_a_fire_time_while_every_run_slot_is_taken_waits_its_turn_instead_of_being_dropped(
        demo: AppContext, services: list[SchedulerService], monkeypatch: pytest.MonkeyPatch) -> None:
    # Four slow runs take every slot; a fire time that comes meanwhile must run after them, however
    # long they take, not be dropped by APScheduler as too late (here after one second).
    monkeypatch.setattr(scheduler_module, "MISFIRE_GRACE_SECONDS", 1)
    slow_jobs = [replace(SLOW, name=f"slow{i}", table=f"slow_count_{i}")
                 for i in range(scheduler_module.MAX_PARALLEL_RUNS)]
    for job in [*slow_jobs, ORDERS]:
        if job is not ORDERS:
            demo.schedules.save_job(job)
        demo.schedules.add_schedule(Schedule(id=job.name, job=job.name,
                                             trigger=ScheduleTrigger.interval(3600, "UTC")))
    service = SchedulerService(demo)
    services.append(service)
    service.start()
    assert service._scheduler is not None
    now = datetime.now(timezone.utc)
    for job in slow_jobs:
        service._scheduler.reschedule_job(job.name, trigger=DateTrigger(now + timedelta(seconds=1)))
    service._scheduler.reschedule_job("orders", trigger=DateTrigger(now + timedelta(seconds=2)))
    wait_for(lambda: any(r.status is RunStatus.SUCCEEDED for r in runs_of(demo, "orders")), timeout=90)
    ended = {job.name: runs_of(demo, job.name) for job in slow_jobs}
    assert all(len(runs) == 1 for runs in ended.values()), ended
    orders = runs_of(demo, "orders")[0]
    # It waited: it started only once a slow run had ended.
    assert any(r.finished is not None and r.finished <= orders.started for runs in ended.values() for r in runs)


def test_a_job_another_process_is_running_is_skipped_by_the_scheduler(demo: AppContext, home: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, filelock; lock = filelock.FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); "
         "sys.stdin.read()", str(job_lock_file(demo.paths, "orders"))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert SchedulerService(demo).execute("orders", RunTrigger.SCHEDULE, None, None) is None
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    (run,) = runs_of(demo, "orders")
    assert run.status is RunStatus.SKIPPED
    assert warehouse_count(home, "orders_report") is None
    # The other process has ended: its lock went with it.
    result = SchedulerService(demo).execute("orders", RunTrigger.SCHEDULE, None, None)
    assert result is not None and result.status is Status.SUCCEEDED


def test_schedules_survive_a_restart_and_a_one_off_that_ran_is_done_and_stays_listed(
        demo: AppContext, paths: AppPaths, home: Path, memory_keyring: MemoryKeyring,
        services: list[SchedulerService]) -> None:
    first = SchedulerService(demo)
    services.append(first)
    first.start()
    now = datetime.now(timezone.utc)
    at = (now + timedelta(seconds=4)).replace(microsecond=0) + timedelta(seconds=1)
    demo.schedules.add_schedule(Schedule(id="daily", job="orders", trigger=ScheduleTrigger.daily("06:30", "UTC")))
    demo.schedules.add_schedule(Schedule(id="once", job="orders", trigger=ScheduleTrigger.once(at, "UTC")))
    first.stop()

    # A new process: its own context on the same folder.
    restarted = AppContext.create(paths, keyring_backend=memory_keyring)
    second = SchedulerService(restarted)
    services.append(second)
    second.start()
    upcoming = second.next_run()
    assert upcoming is not None and (upcoming[0], upcoming[1].id) == (at, "once")

    wait_for(lambda: any(r.status is RunStatus.SUCCEEDED for r in runs_of(restarted, "orders")))
    wait_for(lambda: restarted.schedules.get_schedule("once").done)
    once = restarted.schedules.get_schedule("once")
    assert once.done and once.last_status == "succeeded" and not once.active
    assert [s.id for s in restarted.schedules.schedules()] == ["daily", "once"]
    (run,) = runs_of(restarted, "orders")
    assert run.trigger is RunTrigger.SCHEDULE and warehouse_count(home, "orders_report") == 3000
    upcoming = second.next_run()
    assert upcoming is not None and upcoming[1].id == "daily"
    assert (upcoming[0].hour, upcoming[0].minute) == (6, 30) and upcoming[0] > datetime.now(timezone.utc)


def test_a_second_scheduler_on_the_same_folder_is_refused_until_the_first_stops(
        demo: AppContext, paths: AppPaths, memory_keyring: MemoryKeyring,
        services: list[SchedulerService]) -> None:
    first = SchedulerService(demo)
    services.append(first)
    first.start()
    other = SchedulerService(AppContext.create(paths, keyring_backend=memory_keyring, origin="scheduler"))
    with pytest.raises(SchedulerBusy, match=r"already run by another process \(gui \d+\)"):
        other.start()
    assert not other.running
    first.stop()
    services.append(other)
    other.start()
    assert other.running


# -- runs handed to an executor (the desktop app runs them on its worker pool, with a card) -------------


def test_a_run_handed_to_the_executor_keeps_its_job_locked_until_it_has_run_once(
        demo: AppContext, home: Path, services: list[SchedulerService]) -> None:
    handed: list[ScheduledRun] = []
    listener = RecordingListener()
    service = SchedulerService(demo, listener, executor=handed.append)
    services.append(service)
    service.start()
    service.run_job_now("orders").join(10)
    (run,) = handed
    assert handed[0].pending and (run.job, run.trigger, run.schedule_id) == ("orders", RunTrigger.MANUAL, None)
    assert run.definition == demo.schedules.get_job("orders")
    assert runs_of(demo, "orders") == [] and listener.started == []

    # Handed over but not started yet: the job is taken, here and for other processes (``qdbm run``).
    service.run_job_now("orders").join(10)
    assert len(handed) == 1
    assert [r.status for r in runs_of(demo, "orders")] == [RunStatus.SKIPPED]
    assert not JobRunLock(demo.paths, "orders").acquire()

    seen: list[int] = []
    result = run.run(on_progress=lambda progress: seen.append(progress.rows_written))
    assert result is not None and result.status is Status.SUCCEEDED
    assert seen and seen[-1] == 3000 and warehouse_count(home, "orders_report") == 3000
    assert not run.pending and run.wait(0)
    assert run.run() is None, "a run runs once"
    assert listener.started == [("orders", RunTrigger.MANUAL)]
    assert [e.status for e in listener.finished] == [RunStatus.SKIPPED, RunStatus.SUCCEEDED]
    # It has ended: the job may run again.
    service.run_job_now("orders").join(10)
    assert len(handed) == 2 and handed[1].pending


def test_stopping_gives_up_a_handed_over_run_that_has_not_started_and_records_it_cancelled(
        demo: AppContext, home: Path, services: list[SchedulerService]) -> None:
    handed: list[ScheduledRun] = []
    service = SchedulerService(demo, RecordingListener(), executor=handed.append)
    services.append(service)
    service.start()
    service.run_job_now("orders").join(10)
    assert service.stop(wait=True, timeout=10) == []
    (run,) = handed
    assert not run.pending and run.run() is None
    (record,) = runs_of(demo, "orders")
    assert record.status is RunStatus.CANCELLED and "before it started" in (record.error or "")
    assert warehouse_count(home, "orders_report") is None
    lock = JobRunLock(demo.paths, "orders")
    assert lock.acquire(), "the job's lock was let go"
    lock.release()


def test_an_executor_that_fails_leaves_the_run_recorded_as_failed_and_the_job_free(
        demo: AppContext, home: Path, services: list[SchedulerService]) -> None:
    def refuse(run: ScheduledRun) -> None:
        raise RuntimeError("no worker left")

    service = SchedulerService(demo, RecordingListener(), executor=refuse)
    services.append(service)
    service.start()
    service.run_job_now("orders").join(10)
    (record,) = runs_of(demo, "orders")
    assert record.status is RunStatus.FAILED and "no worker left" in (record.error or "")
    assert service.execute("orders", RunTrigger.MANUAL, None, None) is None
    assert [r.status for r in runs_of(demo, "orders")] == [RunStatus.FAILED, RunStatus.FAILED], \
        "the job was free again (not skipped as still going)"
