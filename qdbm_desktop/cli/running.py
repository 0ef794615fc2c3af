"""Running a migration from the command line: progress on stderr, cancelling by signal, the summary."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

from qdbm_desktop.cli.common import (
    PROG,
)
from qdbm_desktop.core.checksum import VerifyLevel
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.migration import (
    CANCELLED_NOTE,
    LogEntry,
    MigrationRequest,
    MigrationResult,
    Progress,
    Stage,
    Status,
)

_T = TypeVar("_T")
_CANCEL_NOTICE_SECONDS = 1.0


class ProgressLine:
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
        """A run's warnings as they come; its closing line is the command's last (see report_run)."""
        if entry.level != "warning" or entry.message == CANCELLED_NOTE:
            return
        self.stream.write(("\r\033[K" if self.tty else "") + f"{PROG}: warning: {entry.message}\n")
        self.stream.flush()


class RunCancelled(QdbmError):
    """A run stopped by SIGINT or SIGTERM: exit code 128 + the signal's number (130, 143)."""

    def __init__(self, message: str, signal_number: int | None) -> None:
        super().__init__(message)
        self.exit_code = 128 + (signal_number or signal.SIGINT)


def cancellable(work: Callable[[threading.Event], _T]) -> tuple[_T, int | None]:
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


def report_run(result: MigrationResult, request: MigrationRequest, context: AppContext, *,
                as_json: bool, signal_number: int | None = None) -> int:
    """The summary of a run on stdout (its warnings went to stderr as they came); the exit code.

    A failed or cancelled run ends with one error line on stderr, saying whether the target was
    changed (the run's closing log line, which is therefore not printed on its own).
    """
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
        cancelled = RunCancelled(CANCELLED_NOTE, signal_number)
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
