"""A migration run recorded in the history: the one way the GUI, the command line and the scheduler run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from qdbm_desktop.core.connections import ConnectionStore
from qdbm_desktop.core.errors import one_line, redact
from qdbm_desktop.core.history import HistoryStore, RunStatus, RunTrigger
from qdbm_desktop.core.migration import (
    LogCallback,
    LogEntry,
    MigrationRequest,
    MigrationResult,
    Progress,
    ProgressCallback,
    Status,
    new_run_id,
    run_migration,
)

log = logging.getLogger(__name__)

#: How often the running row's counts are written while a run goes (the log lines go at once).
COUNTS_INTERVAL = 2.0

_STATUS = {Status.SUCCEEDED: RunStatus.SUCCEEDED, Status.FAILED: RunStatus.FAILED,
           Status.CANCELLED: RunStatus.CANCELLED}


def run_status(status: Status) -> RunStatus:
    """How the history names a run's outcome."""
    return _STATUS[status]


def run_recorded(
    history: HistoryStore | None,
    request: MigrationRequest,
    *,
    trigger: RunTrigger = RunTrigger.MANUAL,
    job: str | None = None,
    job_snapshot: Mapping[str, Any] | None = None,
    on_progress: ProgressCallback | None = None,
    on_log: LogCallback | None = None,
    cancel: threading.Event | None = None,
    run_id: str | None = None,
    connections: ConnectionStore | None = None,
) -> MigrationResult:
    """Run ``request`` and record it, its log and its outcome in ``history`` as it goes.

    Every run goes through here (the desktop form, ``qdbm migrate``, a saved job however it is
    started), so this is where the saved connections it uses get their "last used" time, once each
    as the run starts.

    A history that cannot be written (a full disk, say) does not stop the run: the run's result
    still says what happened, and its log ends with one warning saying what was not recorded.
    """
    run_id = run_id or new_run_id()
    recording = _Recording(history, request, on_progress, on_log)
    recording.start(run_id, request, trigger, job, job_snapshot)
    _record_use(connections, request)
    result = run_migration(request, recording.progressed, cancel, run_id=run_id, on_log=recording.logged)
    recording.finish(result)
    return result


class _Recording:
    """One run's row in the history, written as the run goes. A write that fails is noted and the
    run goes on; its log then ends with one warning (see :func:`_warn_unrecorded`)."""

    def __init__(self, history: HistoryStore | None, request: MigrationRequest,
                 on_progress: ProgressCallback | None, on_log: LogCallback | None) -> None:
        self.history = history
        self.record: int | None = None
        # The history masks credentials by their position; the values themselves it can only learn here.
        self.secrets = request.source.params.secret_values() + request.target.params.secret_values()
        self.failures: list[BaseException] = []
        self.on_progress = on_progress
        self.on_log = on_log
        self.last_counts = time.monotonic()

    def failed(self, exc: BaseException, what: str) -> None:
        log.debug("%s could not be written to the history", what, exc_info=True)
        self.failures.append(exc)

    def start(self, run_id: str, request: MigrationRequest, trigger: RunTrigger, job: str | None,
              job_snapshot: Mapping[str, Any] | None) -> None:
        if self.history is not None:
            try:
                self.record = self.history.start_run(
                    run_id=run_id, source=redact(request.source.label, self.secrets),
                    target=redact(request.target.label, self.secrets), query=request.query,
                    target_table=str(request.table), mode=request.mode.value, trigger=trigger, job=job,
                    job_snapshot=job_snapshot,
                )
            except Exception as exc:  # noqa: BLE001 - the run matters more than its record
                self.failed(exc, "the run")
        self.last_counts = time.monotonic()

    def logged(self, entry: LogEntry) -> None:
        if self.history is not None and self.record is not None:
            try:
                self.history.add_log(self.record, entry.at, entry.level, entry.stage.value,
                                     redact(entry.message, self.secrets))
            except Exception as exc:  # noqa: BLE001
                self.failed(exc, "a log line")
        if self.on_log is not None:
            self.on_log(entry)

    def progressed(self, progress: Progress) -> None:
        now = time.monotonic()
        if self.history is not None and self.record is not None and now - self.last_counts >= COUNTS_INTERVAL:
            self.last_counts = now
            try:
                self.history.update_counts(self.record, progress.rows_read, progress.rows_written)
            except Exception as exc:  # noqa: BLE001
                self.failed(exc, "the counts")
        if self.on_progress is not None:
            self.on_progress(progress)

    def finish(self, result: MigrationResult) -> None:
        if self.history is not None and self.record is not None:
            try:
                self.history.finish_run(self.record, _STATUS[result.status], result.rows_read,
                                        result.rows_written,
                                        redact(result.error, self.secrets) if result.error else None)
            except Exception as exc:  # noqa: BLE001
                self.failed(exc, "the outcome")
        if self.failures:
            _warn_unrecorded(result, self.failures,
                             whole=self.record is None or not _finished(self.history, self.record),
                             on_log=self.on_log)


def _record_use(connections: ConnectionStore | None, request: MigrationRequest) -> None:
    """The saved connections of a run get their "last used" time (a URL given as it is names none)."""
    if connections is None:
        return
    for name in dict.fromkeys((request.source.label, request.target.label)):
        connections.record_use(name)  # bookkeeping only: it never fails a run


_UNRECORDED = ("this run could not be recorded in the history",
               "part of this run's log could not be recorded in the history")


def unrecorded_warning(result: MigrationResult) -> str | None:
    """The warning a run's log ends with when the history could not record it, if it does."""
    last = result.log[-1] if result.log else None
    if last is not None and last.level == "warning" and last.message.startswith(_UNRECORDED):
        return last.message
    return None


def _finished(history: HistoryStore | None, record: int) -> bool:
    try:
        return history is not None and history.get(record).status is not RunStatus.RUNNING
    except Exception:  # noqa: BLE001 - unreadable too
        return False


def _warn_unrecorded(result: MigrationResult, failures: list[BaseException], *, whole: bool,
                     on_log: LogCallback | None) -> None:
    """End the run's log with one warning: what the history could not record, and why."""
    reason = one_line(str(failures[0])) or type(failures[0]).__name__
    what = _UNRECORDED[0] if whole else _UNRECORDED[1]
    entry = LogEntry(datetime.now(timezone.utc).isoformat(timespec="milliseconds"), result.stage,
                     f"{what} ({reason}; is the app-data disk full or read-only?); the run itself "
                     f"{result.status.value}", "warning")
    result.log.append(entry)
    if on_log is not None:
        on_log(entry)
