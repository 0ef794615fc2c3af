"""The state one run carries through its steps, and the bookkeeping they share.

Its log, its progress, its cancel (which stops the statement the run is blocked in), the failure
of a stage, and the connections it opens. :mod:`qdbm_desktop.core.run` builds the run's steps on
it; :mod:`qdbm_desktop.core.pipeline` and :mod:`qdbm_desktop.core.verification` take it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from contextlib import suppress
from datetime import datetime, timezone
from typing import Any

from qdbm_desktop.core.checksum import Hasher
from qdbm_desktop.core.dialects.base import ReadStream, TableName
from qdbm_desktop.core.errors import one_line, redact
from qdbm_desktop.core.run_locks import RunFolder, TargetLocks
from qdbm_desktop.core.run_model import (
    STAGING_PREFIX,
    Cancelled,
    Endpoint,
    LogCallback,
    LogEntry,
    MigrationRequest,
    MigrationResult,
    Progress,
    ProgressCallback,
    Stage,
    StageError,
    Status,
    new_run_id,
)

#: A run's log lines go out under one logger name, whichever module writes them (the command line
#: sorts them by it).
log = logging.getLogger("qdbm_desktop.core.migration")

PROGRESS_INTERVAL = 0.1
#: How often a waiting run looks again (at a cancel, at a queue).
POLL = 0.2
#: How often a cancelled run asks the servers again to stop what they run (one request can arrive
#: between two statements and stop nothing).
_CANCEL_REPEAT = 0.5


class RunContext:
    """The state of one run: what it was asked, what it did so far, what it holds open."""

    def __init__(
        self,
        request: MigrationRequest,
        on_progress: ProgressCallback | None,
        cancel: threading.Event,
        run_id: str | None = None,
        on_log: LogCallback | None = None,
    ) -> None:
        self.request = request
        self.on_progress = on_progress
        self.on_log = on_log
        self.cancel = cancel
        self.run_id = run_id or new_run_id()
        self.result = MigrationResult(run_id=self.run_id, status=Status.FAILED)
        self.started = time.monotonic()
        self.last_progress = 0.0
        self.secrets = request.source.params.secret_values() + request.target.params.secret_values()
        self.staging = TableName(STAGING_PREFIX + self.run_id, request.table.schema)
        self.total: int | None = None
        #: Set once the final step committed: from then on a failure cannot undo the load.
        self.committed = False
        #: The run's open connections, whose running statement a cancel stops (see watch_cancel).
        self.live: list[tuple[Endpoint, Any]] = []
        #: Held while statements are being cancelled; ``interruptible`` turns false for the final
        #: step and the clean-up, which a cancel must never cut in two.
        self.interrupt_lock = threading.Lock()
        self.interruptible = True
        self.over = threading.Event()
        self.source_conn: Any = None
        self.locks: TargetLocks | None = None
        self.folder: RunFolder | None = None
        #: The checksum of the rows read (with ``--verify checksum``).
        self.hasher: Hasher | None = None
        #: Whether the rows went straight from source to target (same engine, same types).
        self.passed_through = False

    # -- bookkeeping --------------------------------------------------------------------------

    def note(self, stage: Stage, message: str, level: str = "info") -> None:
        message = redact(message, self.secrets)
        entry = LogEntry(datetime.now(timezone.utc).isoformat(timespec="milliseconds"), stage, message, level)
        self.result.log.append(entry)
        if self.on_log is not None:
            self.on_log(entry)
        log.log(logging.WARNING if level == "warning" else logging.INFO, "[%s] %s", self.run_id, message)

    def progress(self, stage: Stage, force: bool = False) -> None:
        self.result.stage = stage
        now = time.monotonic()
        if self.on_progress is None or (not force and now - self.last_progress < PROGRESS_INTERVAL):
            return
        self.last_progress = now
        self.on_progress(Progress(stage, self.result.rows_read, self.result.rows_written, now - self.started,
                                  self.total))

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("cancelled by the user")

    def stop_interrupting(self) -> None:
        """From now on a cancel no longer stops running statements (waits for one being sent)."""
        with self.interrupt_lock:
            self.interruptible = False

    def interrupt(self, only: Any = None) -> None:
        """Stop what the run's connections (or only the connection ``only``) are running now."""
        with self.interrupt_lock:
            if not self.interruptible:
                return
            for side, conn in list(self.live):
                if only is None or conn is only:
                    try:
                        side.dialect.cancel_running(conn, side.params)
                    except Exception as exc:  # noqa: BLE001 - a connection already gone has nothing to stop
                        log.debug("[%s] cancel on %s: %s", self.run_id, side.label, exc)

    def watch_cancel(self) -> None:
        """A cancel interrupts the driver call the run is blocked in, whichever it is (a slow query,
        a count, a load, a verify), so it takes effect at once rather than when the call returns."""
        while not self.over.is_set():
            if not self.cancel.wait(POLL):
                continue
            self.interrupt()
            self.over.wait(_CANCEL_REPEAT)

    def fail(self, stage: Stage, endpoint: Endpoint | None, exc: BaseException) -> StageError:
        if isinstance(exc, StageError):
            return exc
        text = one_line(str(exc)) or type(exc).__name__
        where = f" on {endpoint.label!r}" if endpoint else ""
        return StageError(stage, redact(f"{stage.value} failed{where}: {text}", self.secrets))

    # -- the run ------------------------------------------------------------------------------

    def connect(self, endpoint: Endpoint) -> Any:
        self.check_cancel()
        try:
            conn = self.connect_or_cancel(endpoint)
        except Cancelled:
            raise
        except Exception as exc:  # any driver error
            raise self.fail(Stage.CONNECT, endpoint, exc) from exc
        kind = endpoint.dialect.display_name  # a label such as "Local warehouse (SQLite)" names it already
        named = any(word.lower() in endpoint.label.lower() for word in kind.split(" / "))
        self.note(Stage.CONNECT, f"connected to {endpoint.label}" + ("" if named else f" ({kind})"))
        return conn

    def connect_or_cancel(self, endpoint: Endpoint) -> Any:
        """``endpoint``'s connection, opened in a thread of its own so that a cancel need not wait for
        a server that does not answer (a connection that arrives after a cancel is closed)."""
        outcome: list[Any] = []
        lock = threading.Lock()
        arrived = threading.Event()
        abandoned = False

        def attempt() -> None:
            try:
                conn = endpoint.dialect.connect(endpoint.params, self.request.connect_timeout)
            except BaseException as exc:  # noqa: BLE001 - handed to the run's thread
                outcome.append(exc)
                arrived.set()
                return
            with lock:
                if abandoned:
                    with suppress(Exception):
                        conn.close()
                    return
                outcome.append(conn)
                self.live.append((endpoint, conn))
                arrived.set()

        threading.Thread(target=attempt, name=f"qdbm-connect-{self.run_id}", daemon=True).start()
        while not arrived.wait(POLL):
            if self.cancel.is_set():
                with lock:
                    if not arrived.is_set():
                        abandoned = True
                        raise Cancelled("cancelled by the user")
        (found,) = outcome
        if isinstance(found, BaseException):
            raise found
        return found

    def close_stream(self, stream: ReadStream) -> None:
        """Close the source stream; a failure to close does not hide the error that ended the read."""
        failing = sys.exc_info()[1] is not None
        try:
            stream.close()
        except Exception as exc:
            if not failing:
                raise self.fail(Stage.READ, self.request.source, exc) from exc
            log.debug("[%s] closing the read after an error: %s", self.run_id, exc)
