"""The scheduler: fires saved schedules with APScheduler 3, records every run, never runs a job twice at once.

One process at a time owns the schedules (a lock file in the app-data folder): the GUI in the
tray, or ``qdbm scheduler`` on a server, never both. Each schedule remembers up to when its fire
times were handled (``checked_until``), so fire times missed while nothing was running (the app
closed, the computer asleep, the scheduler paused) are found at the next start or heartbeat: run
at once when they are less than the schedule's grace period late, otherwise reported, never
silently dropped and never silently run hours late.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol

from filelock import FileLock, Timeout

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.history import RunStatus, RunTrigger
from qdbm_desktop.core.incremental import run_job
from qdbm_desktop.core.job_lock import JobRunLock
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import LogCallback, MigrationResult, ProgressCallback, Status
from qdbm_desktop.core.paths import PRIVATE_FILE_MODE, write_private_text
from qdbm_desktop.core.runs import run_status
from qdbm_desktop.core.schedules import Schedule
from qdbm_desktop.core.triggers import TriggerKind

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

#: How often schedules are re-read (another process may have edited them) and missed fire times looked for.
HEARTBEAT_SECONDS = 30
#: A fire time is left to APScheduler until it is this late; after that the heartbeat deals with it.
FIRE_LAG = timedelta(seconds=90)
MISFIRE_GRACE_SECONDS = 60
MAX_PARALLEL_RUNS = 4


class SchedulerBusy(QdbmError):
    """Another process already runs the schedules of this app-data folder."""


@dataclass(frozen=True)
class MissedRun:
    """A fire time that passed while no scheduler was running (or while it was paused)."""

    schedule_id: str
    job: str
    due: datetime


@dataclass(frozen=True)
class RunEvent:
    """What a listener hears about a scheduled run."""

    schedule_id: str | None
    job: str
    trigger: RunTrigger
    status: RunStatus
    message: str
    result: MigrationResult | None = None


class SchedulerListener(Protocol):
    """Called from scheduler threads; a GUI turns these into signals."""

    def run_started(self, job: str, trigger: RunTrigger) -> None: ...

    def run_finished(self, event: RunEvent) -> None: ...

    def runs_missed(self, missed: list[MissedRun]) -> None: ...


class ScheduledRun:
    """A run the scheduler has decided on, holding its job's locks until it has run or been discarded.

    Without an executor the scheduler calls ``run`` at once on its own thread. A ``RunExecutor``
    (the desktop app's) gets the run instead and calls ``run`` later, once, on a thread of its own,
    with its own progress and log callbacks; the job stays locked until then, so a fire time that
    comes meanwhile is recorded as skipped. ``cancel_event`` cancels the run (between batches; the
    target stays unchanged); the scheduler's ``cancel_runs`` and ``stop(cancel_running=True)`` set it.
    """

    def __init__(self, service: SchedulerService, job: str, definition: Job | None, trigger: RunTrigger,
                 schedule_id: str | None, due: datetime | None, lock: JobRunLock) -> None:
        self.job = job
        #: The job as it was when the run was decided on; None when it no longer exists.
        self.definition = definition
        self.trigger = trigger
        self.schedule_id = schedule_id
        self.due = due
        self.cancel_event = threading.Event()
        #: Why the run produced no result (the job is gone or cannot start), once it has run.
        self.error: str | None = None
        self._service = service
        self._lock = lock
        self._guard = threading.Lock()
        self._state = "pending"
        self._ended = threading.Event()

    @property
    def pending(self) -> bool:
        """Neither started nor discarded yet."""
        return self._state == "pending"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the run has ended (or was discarded); False after ``timeout`` seconds."""
        return self._ended.wait(timeout)

    def run(self, on_progress: ProgressCallback | None = None,
            on_log: LogCallback | None = None) -> MigrationResult | None:
        """Run the job now, recorded in the history; None when it did not run (``error`` says why,
        unless the run had been discarded)."""
        if not self._take("running"):
            return None
        try:
            return self._service._run(self, on_progress, on_log)
        finally:
            self._end()

    def discard(self, status: RunStatus, message: str) -> bool:
        """Give up a run that has not started: it is recorded with ``status`` and its locks let go.

        False when it had started (or been discarded) already."""
        if not self._take("discarded"):
            return False
        try:
            self.error = message
            self._service._record_outcome(self.job, self.schedule_id, self.trigger, status, message)
        finally:
            self._end()
        return True

    def _take(self, state: str) -> bool:
        with self._guard:
            if self._state != "pending":
                return False
            self._state = state
            return True

    def _end(self) -> None:
        self._service._release(self)
        self._lock.release()
        self._ended.set()


#: Hands a run to whoever runs it (the desktop app's worker pool); called from a scheduler thread.
RunExecutor = Callable[[ScheduledRun], None]


class SchedulerService:
    """Owns the schedules while it runs: ``start`` registers them, ``stop`` lets running jobs finish."""

    def __init__(
        self,
        context: AppContext,
        listener: SchedulerListener | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        auto_skip_missed: bool = False,
        executor: RunExecutor | None = None,
    ) -> None:
        """``auto_skip_missed``: record missed runs outside their grace period as skipped (headless)
        instead of handing them to the listener to ask the user. ``executor``: given each run to
        run it elsewhere (see ``ScheduledRun``); without one, runs run on the scheduler's threads."""
        self._context = context
        self._listener = listener
        self._executor = executor
        #: The runs decided on and not ended yet (handed to the executor, or running).
        self._runs: set[ScheduledRun] = set()
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._heartbeat_seconds = heartbeat_seconds
        self._auto_skip = auto_skip_missed
        self._lock = FileLock(str(context.paths.home / "scheduler.lock"), mode=PRIVATE_FILE_MODE)
        self._owner_file = context.paths.home / "scheduler.owner"
        self._scheduler: BackgroundScheduler | None = None
        self._running_jobs: set[str] = set()
        self._running_guard = threading.Lock()
        self._cancel = threading.Event()
        #: Set by ``request_stop`` (safe from a signal handler): long loops end at their next step.
        self._stop_requested = threading.Event()
        #: One round of missed runs at a time: two (the start's and a heartbeat's) would both find the
        #: same fire times before either wrote that it had handled them.
        self._collect_guard = threading.Lock()
        self._state_guard = threading.Lock()
        self._loaded_mtime = 0.0
        self._paused = False
        #: Since when this scheduler fires (its start or its last resume; None while stopped or
        #: paused), and the last pause (its start and end): what a missed fire time is put down to.
        self._firing_since: datetime | None = None
        self._last_pause: tuple[datetime, datetime | None] | None = None
        self._pending_missed: dict[tuple[str, str], MissedRun] = {}
        self._threads: list[threading.Thread] = []
        #: Headless runs at once: each has its own thread, so APScheduler's pool only fires and
        #: a long run never holds back a later fire time until it is dropped as too late.
        self._parallel = threading.BoundedSemaphore(MAX_PARALLEL_RUNS)
        self._waiting_jobs: set[str] = set()

    # -- life cycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    @property
    def paused(self) -> bool:
        return self._paused

    def start(self) -> list[MissedRun]:
        """Take the schedules, run what is due within its grace period; the missed runs left to decide."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise SchedulerBusy(f"the schedules are already run by another process ({self._owner()}); "
                                "only one scheduler may run them") from None
        with contextlib.suppress(OSError):
            write_private_text(self._owner_file, f"{os.getpid()} {self._context.history.origin}")
        self._cancel.clear()
        self._stop_requested.clear()
        from apscheduler.schedulers.background import BackgroundScheduler  # only when scheduling

        self._scheduler = BackgroundScheduler(
            timezone=timezone.utc,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
            executors={"default": {"type": "threadpool", "max_workers": MAX_PARALLEL_RUNS}},
        )
        self._scheduler.start()
        self._scheduler.add_job(self.heartbeat, "interval", seconds=self._heartbeat_seconds,
                                id="qdbm-heartbeat", max_instances=1)
        self.reload()
        self._firing_since, self._last_pause = self._clock(), None
        return self._collect_missed()

    def request_stop(self) -> None:
        """Make a start or a round of missed runs end at its next step; nothing new is fired.

        Only sets flags, so a signal handler may call it while the main thread is anywhere.
        """
        self._stop_requested.set()

    def stop(self, wait: bool = True, cancel_running: bool = False,
             timeout: float | None = None) -> list[str]:
        """Stop firing; with ``wait`` let running jobs end (cancelled first with ``cancel_running``).

        With ``timeout`` it waits at most that many seconds for them and returns the jobs still
        running then (a cancelled run stops between batches; a driver call in progress may not).
        """
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return []
        self._firing_since = None
        self._stop_requested.set()
        if cancel_running:
            self.cancel_runs()
        deadline = None if timeout is None else time.monotonic() + timeout
        scheduler.shutdown(wait=wait and deadline is None)
        if wait:
            for thread in self._threads:
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._discard_pending()
        if wait:
            for run in self._current_runs():
                run.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
            while deadline is not None and self._running() and time.monotonic() < deadline:
                time.sleep(0.05)
        still_running = self._running()
        self._threads = []
        self._advance_checked_until()
        with contextlib.suppress(OSError):
            self._owner_file.unlink(missing_ok=True)
        self._lock.release()
        return still_running

    def _running(self) -> list[str]:
        with self._running_guard:
            return sorted(self._running_jobs)

    def _current_runs(self) -> list[ScheduledRun]:
        with self._running_guard:
            return list(self._runs)

    def _discard_pending(self) -> None:
        """At stop: the runs handed to the executor that it has not started will not start."""
        for run in self._current_runs():
            run.discard(RunStatus.CANCELLED, f"{run.job}: cancelled before it started: the scheduler stopped")

    def cancel_runs(self) -> None:
        """Cancel the runs going on now (between batches; their targets stay unchanged)."""
        self._cancel.set()
        for run in self._current_runs():
            run.cancel_event.set()

    def pause(self) -> None:
        """Stop firing until ``resume``; fire times passed meanwhile are reported as missed."""
        if self._scheduler is not None and not self._paused:
            self._scheduler.pause()
            self._paused = True
            self._firing_since, self._last_pause = None, (self._clock(), None)

    def resume(self) -> list[MissedRun]:
        if self._scheduler is None or not self._paused:
            return []
        self._paused = False
        self._scheduler.resume()
        now = self._clock()
        if self._last_pause is not None:
            self._last_pause = (self._last_pause[0], now)
        self._firing_since = now
        return self._collect_missed()

    # -- what the GUI and the CLI ask ------------------------------------------------------

    def reload(self) -> None:
        """Register the stored schedules with APScheduler again (after an edit here or elsewhere)."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        self._loaded_mtime = self._context.schedules.mtime()
        wanted = {s.id: s for s in self._context.schedules.schedules() if s.active}
        for job in scheduler.get_jobs():
            if job.id != "qdbm-heartbeat" and job.id not in wanted:
                job.remove()
        for schedule in wanted.values():
            try:
                trigger = schedule.trigger.apscheduler_trigger()
            except QdbmError as exc:
                log.warning("schedule %s is not registered: %s", schedule.id, exc)
                continue
            if trigger.get_next_fire_time(None, self._clock()) is None:
                continue  # a one-off whose time has passed: the missed-run check deals with it
            existing = scheduler.get_job(schedule.id)
            signature = repr(schedule.trigger.to_json())
            if existing is not None and existing.name == signature:
                continue
            if existing is not None:
                existing.remove()
            # A fire time that comes while the job still runs must reach ``execute``, which records it
            # as skipped; with one instance APScheduler would drop it unseen, and the heartbeat would
            # later report it as missed while no scheduler ran.
            scheduler.add_job(self._fire, trigger=trigger, args=[schedule.id], id=schedule.id, name=signature,
                              max_instances=2)

    def next_run(self) -> tuple[datetime, Schedule] | None:
        """The next fire time of an active schedule, and that schedule."""
        now = self._clock()
        found: list[tuple[datetime, Schedule]] = []
        for schedule in self._context.schedules.schedules():
            try:
                fire = schedule.next_fire(now)
            except QdbmError:
                continue
            if fire is not None:
                found.append((fire, schedule))
        return min(found, key=lambda pair: pair[0]) if found else None

    def run_job_now(self, job: str, trigger: RunTrigger = RunTrigger.MANUAL,
                    schedule_id: str | None = None) -> threading.Thread:
        """Run a saved job at once in the background (still never twice at the same time)."""
        return self._start_thread(self.execute, (job, trigger, schedule_id, None), job)

    def _start_thread(self, target: Callable[..., object], args: tuple[object, ...],
                      job: str) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=f"qdbm-run-{job}", daemon=True)
        with self._running_guard:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        return thread

    def resolve_missed(self, missed: MissedRun, run: bool) -> None:
        """The user's answer for a missed run: run it now, or record it as skipped."""
        self._pending_missed.pop((missed.schedule_id, missed.due.isoformat()), None)
        if run:
            self.run_job_now(missed.job, RunTrigger.MISSED_RUN, missed.schedule_id)
        else:
            self._record_skipped(missed.job, missed.schedule_id, RunTrigger.SCHEDULE,
                                 f"missed: due at {_shown(missed.due)} {self._missed_while(missed.due)}; "
                                 "skipped")

    def heartbeat(self) -> None:
        """Re-read schedules edited elsewhere; find fire times that went by without a run."""
        try:
            if self._context.schedules.mtime() != self._loaded_mtime:
                self.reload()
            if not self._paused:
                missed = self._collect_missed(blocking=False)
                if missed and self._listener is not None:
                    self._listener.runs_missed(missed)
        except Exception:  # noqa: BLE001 - the heartbeat must go on
            log.exception("the scheduler's heartbeat failed")

    # -- running ----------------------------------------------------------------------------

    def execute(self, job_name: str, trigger: RunTrigger, schedule_id: str | None,
                due: datetime | None) -> MigrationResult | None:
        """Run one job now unless it is already running, in this process or another one (``qdbm run``):
        then record the run as skipped."""
        if self._stop_requested.is_set() and trigger is not RunTrigger.MANUAL:
            return None  # a fire time as the scheduler stops: the next start finds it missed
        run_lock = JobRunLock(self._context.paths, job_name)
        with self._running_guard:
            busy = job_name in self._running_jobs or not run_lock.acquire()
            if not busy:
                self._running_jobs.add(job_name)
        if busy:
            self._record_skipped(job_name, schedule_id, trigger,
                                 f"skipped: the previous run of job {job_name!r} was still going")
            return None
        try:
            definition = self._context.schedules.find_job(job_name)
        except Exception:
            self._release_job(job_name, run_lock)
            raise
        run = ScheduledRun(self, job_name, definition, trigger, schedule_id, due, run_lock)
        with self._running_guard:
            self._runs.add(run)
        if self._cancel.is_set():
            run.cancel_event.set()
        executor = self._executor
        if executor is None:
            return run.run()
        self._hand_over(executor, run)
        return None

    def _hand_over(self, executor: RunExecutor, run: ScheduledRun) -> None:
        try:
            executor(run)
        except Exception as exc:  # noqa: BLE001 - the run is recorded as failed instead
            log.exception("a run could not be handed over")
            run.discard(RunStatus.FAILED, f"job {run.job!r} cannot start: {type(exc).__name__}: {exc}")

    def _release(self, run: ScheduledRun) -> None:
        """A run has ended: its job may run again."""
        with self._running_guard:
            self._runs.discard(run)
            self._running_jobs.discard(run.job)

    def _release_job(self, job_name: str, run_lock: JobRunLock) -> None:
        run_lock.release()
        with self._running_guard:
            self._running_jobs.discard(job_name)

    def _fire(self, schedule_id: str) -> None:
        """APScheduler's call at a fire time."""
        if self._stop_requested.is_set():
            return
        due = self._clock()
        try:
            schedule = self._context.schedules.get_schedule(schedule_id)
        except QdbmError:
            return
        if not schedule.active:
            return
        self._set_state(schedule_id, checked_until=max(due, schedule.checked_until_time()).isoformat())
        if self._executor is not None:
            self.execute(schedule.job, RunTrigger.SCHEDULE, schedule_id, due)  # the app's pool runs it
        else:
            self._start_thread(self._execute_in_turn, (schedule.job, schedule_id, due), schedule.job)

    def _execute_in_turn(self, job: str, schedule_id: str, due: datetime) -> None:
        """A headless fire's run, once fewer than MAX_PARALLEL_RUNS are going; one waiting per job."""
        with self._running_guard:
            waiting = job in self._waiting_jobs
            self._waiting_jobs.add(job)
        if waiting:  # no backlog of a job's fire times behind busy slots
            self._record_skipped(job, schedule_id, RunTrigger.SCHEDULE,
                                 f"skipped: an earlier run of job {job!r} was still waiting for a run slot")
            return
        with self._parallel:
            with self._running_guard:
                self._waiting_jobs.discard(job)
            self.execute(job, RunTrigger.SCHEDULE, schedule_id, due)

    def _run(self, run: ScheduledRun, on_progress: ProgressCallback | None,
             on_log: LogCallback | None) -> MigrationResult | None:
        context = self._context
        job_name, trigger, schedule_id = run.job, run.trigger, run.schedule_id
        if self._listener is not None:
            self._listener.run_started(job_name, trigger)
        job = run.definition
        if job is None:
            message = run.error = f"job {job_name!r} no longer exists"
            self._record_failed(job_name, schedule_id, trigger, message)
            return None
        try:
            _, result = run_job(context, job, trigger=trigger, cancel=run.cancel_event,
                                on_progress=on_progress, on_log=on_log)
        except QdbmError as exc:
            run.error = f"job {job_name!r} cannot start: {exc}"
            self._record_failed(job_name, schedule_id, trigger, run.error, job.to_json())
            return None
        status = run_status(result.status)
        if schedule_id is not None:
            self._after_run(schedule_id, status, result.error)
        message = (f"{job_name}: {result.rows_written:,} rows in {result.seconds:.1f} s"
                   if result.status is Status.SUCCEEDED else f"{job_name}: {result.error or status.value}")
        self._notify(RunEvent(schedule_id, job_name, trigger, status, message, result))
        return result

    def _after_run(self, schedule_id: str, status: RunStatus, error: str | None) -> None:
        try:
            schedule = self._context.schedules.get_schedule(schedule_id)
        except QdbmError:
            return
        done = schedule.trigger.kind is TriggerKind.ONCE and status is RunStatus.SUCCEEDED
        self._set_state(schedule_id, last_run_at=self._clock().isoformat(), last_status=status.value,
                        last_error=error, done=schedule.done or done)

    def _record_skipped(self, job: str, schedule_id: str | None, trigger: RunTrigger, message: str,
                        state: dict[str, Any] | None = None) -> None:
        self._record_outcome(job, schedule_id, trigger, RunStatus.SKIPPED, message, state=state)

    def _record_failed(self, job: str, schedule_id: str | None, trigger: RunTrigger, message: str,
                       snapshot: dict[str, Any] | None = None) -> None:
        self._record_outcome(job, schedule_id, trigger, RunStatus.FAILED, message, snapshot)

    def _record_outcome(self, job_name: str, schedule_id: str | None, trigger: RunTrigger, status: RunStatus,
                        message: str, snapshot: dict[str, Any] | None = None,
                        state: dict[str, Any] | None = None) -> None:
        """Record a run that did not happen; ``state`` collects the schedule's new state instead of
        writing it at once (several are then written in one go)."""
        job = self._context.schedules.find_job(job_name)
        try:
            self._context.history.start_run(
                run_id=f"{status.value[:4]}-{os.urandom(4).hex()}", source=job.source if job else "?",
                target=job.target if job else "?", query=job.query if job else "",
                target_table=job.table if job else "", mode=job.mode if job else "", trigger=trigger,
                job=job_name, job_snapshot=snapshot or (job.to_json() if job else None), status=status,
                error=message)
        except Exception:  # noqa: BLE001
            log.exception("the history cannot be written")
        if schedule_id is not None:
            changes = {"last_run_at": self._clock().isoformat(), "last_status": status.value,
                       "last_error": message}
            if state is not None:
                state.update(changes)
            else:
                self._set_state(schedule_id, **changes)
        log.warning("%s", message)
        self._notify(RunEvent(schedule_id, job_name, trigger, status, message))

    def _notify(self, event: RunEvent) -> None:
        if self._listener is not None:
            try:
                self._listener.run_finished(event)
            except Exception:  # noqa: BLE001
                log.exception("a scheduler listener failed")

    # -- missed runs ------------------------------------------------------------------------

    def _collect_missed(self, blocking: bool = True) -> list[MissedRun]:
        """Fire times older than ``FIRE_LAG`` that no run handled: run, skip or hand back each.

        The schedules' new state is written in one go at the end (one write per schedule made a
        round over hundreds of schedules take seconds); a stop request ends the round early, and
        the schedules not reached yet keep their state, to be looked at by the next round. Without
        ``blocking`` nothing is done while another round goes on (a heartbeat during a long start).
        """
        if not self._collect_guard.acquire(blocking=blocking):
            return []
        try:
            return self._collect_missed_now()
        finally:
            self._collect_guard.release()

    def _collect_missed_now(self) -> list[MissedRun]:
        now = self._clock()
        horizon = now - FIRE_LAG
        to_ask: list[MissedRun] = []
        states: dict[str, dict[str, Any]] = {}
        try:
            for schedule in self._context.schedules.schedules():
                if self._stop_requested.is_set():
                    break
                if not schedule.active:
                    continue
                since = schedule.checked_until_time()
                if since >= horizon:
                    continue
                try:
                    due_times = schedule.trigger.fire_times_between(since, horizon)
                except QdbmError:
                    continue
                state = states[schedule.id] = {"checked_until": horizon.isoformat()}
                if not due_times:
                    continue
                # Several missed fire times of one schedule make one run: the latest is what counts.
                latest = due_times[-1]
                missed = MissedRun(schedule.id, schedule.job, latest)
                late = (now - latest).total_seconds()
                if schedule.grace_seconds and late <= schedule.grace_seconds:
                    log.info("running %s, missed at %s, %d s late (within its grace period)", schedule.job,
                             _shown(latest), late)
                    self.run_job_now(schedule.job, RunTrigger.MISSED_RUN, schedule.id)
                elif self._auto_skip or self._listener is None:
                    count = f"{len(due_times)} runs" if len(due_times) > 1 else "a run"
                    self._record_skipped(schedule.job, schedule.id, RunTrigger.SCHEDULE,
                                         f"missed {count} (the last due at {_shown(latest)}) "
                                         f"{self._missed_while(latest)}; skipped, {_late_text(late)} late",
                                         state)
                else:
                    self._pending_missed[(missed.schedule_id, missed.due.isoformat())] = missed
                    to_ask.append(missed)
        finally:
            self._set_states(states)
        return to_ask

    def _missed_while(self, due: datetime) -> str:
        """Why a fire time at ``due`` went by without a run, as far as this scheduler knows."""
        if self._firing_since is not None and due >= self._firing_since:
            return "while this scheduler ran but could not fire it on time (its process was held up)"
        pause = self._last_pause
        if pause is not None and pause[0] <= due and (pause[1] is None or due <= pause[1]):
            return "while the schedules were paused"
        return "while no scheduler was running"

    def _advance_checked_until(self) -> None:
        """At stop: fire times older than the lag were all handled while this scheduler ran."""
        horizon = (self._clock() - FIRE_LAG)
        states: dict[str, dict[str, Any]] = {}
        for schedule in self._context.schedules.schedules():
            if schedule.active and schedule.checked_until_time() < horizon:
                try:
                    # The first fire time is enough to know whether one is due (and quick to find).
                    due = schedule.trigger.fire_times_between(schedule.checked_until_time(), horizon, limit=1)
                except QdbmError:
                    continue
                if not due:
                    states[schedule.id] = {"checked_until": horizon.isoformat()}
        self._set_states(states)

    def _set_states(self, states: dict[str, dict[str, Any]]) -> None:
        if not states:
            return
        with self._state_guard:
            try:
                self._context.schedules.update_schedules(states)
                self._loaded_mtime = self._context.schedules.mtime()
            except QdbmError as exc:
                log.warning("the state of %d schedules cannot be saved: %s", len(states), exc)

    def _set_state(self, schedule_id: str, **changes: Any) -> None:
        with self._state_guard:
            try:
                self._context.schedules.update_schedule(schedule_id, **changes)
                self._loaded_mtime = self._context.schedules.mtime()
            except QdbmError as exc:
                log.warning("schedule %s: its state cannot be saved: %s", schedule_id, exc)

    def _owner(self) -> str:
        try:
            pid, _, origin = self._owner_file.read_text(encoding="utf-8").partition(" ")
        except OSError:
            return "process unknown"
        return f"{origin or 'process'} {pid}"


def _shown(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _late_text(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    return f"{seconds / 3600:.1f} h"

