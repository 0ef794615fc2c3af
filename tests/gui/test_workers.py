"""The task runner: results, failures and progress arrive on the GUI thread; cancel reaches core."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.migration import LogEntry, Progress, Stage
from qdbm_desktop.gui.workers import TaskReport, TaskRunner, TaskSignals
from tests.gui.conftest import FinishingPool


def test_result_and_progress_are_delivered_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = TaskRunner()
    gui_thread = QThread.currentThread()
    seen: list[tuple[str, object, bool]] = []
    worker_threads: list[str] = []

    def work(report: TaskReport, cancel: threading.Event) -> int:
        worker_threads.append(threading.current_thread().name)
        for i in range(3):
            report.progress(Progress(Stage.LOAD, rows_read=i, rows_written=i, elapsed=0.1))
        return 42

    runner.start(
        "sum",
        work,
        on_progress=lambda p: seen.append(("progress", p.rows_written, QThread.currentThread() is gui_thread)),
        on_success=lambda r: seen.append(("result", r, QThread.currentThread() is gui_thread)),
    )
    qtbot.waitUntil(lambda: len(seen) == 4)
    assert seen == [("progress", 0, True), ("progress", 1, True), ("progress", 2, True), ("result", 42, True)]
    assert worker_threads and worker_threads[0] != threading.main_thread().name
    qtbot.waitUntil(lambda: runner.running == [])


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (UsageError("the source query is empty"), "the source query is empty"),
        (ZeroDivisionError("division by zero"), "divide failed: ZeroDivisionError: division by zero"),
    ],
)
def test_a_failure_becomes_a_message(qtbot: QtBot, error: Exception, expected: str) -> None:
    runner = TaskRunner()
    messages: list[str] = []

    def work(report: TaskReport, cancel: threading.Event) -> None:
        raise error

    runner.start("divide", work, on_failure=messages.append)
    qtbot.waitUntil(lambda: messages == [expected])


def test_shutdown_cancels_and_waits_for_running_tasks(qtbot: QtBot) -> None:
    runner = TaskRunner()
    started = threading.Event()
    stopped_by_cancel: list[bool] = []

    def work(report: TaskReport, cancel: threading.Event) -> None:
        started.set()
        stopped_by_cancel.append(cancel.wait(30))

    runner.start("wait", work)
    assert started.wait(5)
    assert len(runner.running) == 1
    assert runner.shutdown(timeout_ms=5000)
    assert stopped_by_cancel == [True]


def test_every_callback_of_a_task_that_ends_inside_start_is_delivered(qtbot: QtBot) -> None:
    runner = TaskRunner(FinishingPool())
    seen: list[str] = []

    def work(report: TaskReport, cancel: threading.Event) -> None:
        report.log(LogEntry("2026-01-01T00:00:00+00:00", Stage.CONNECT, "connecting"))
        raise UsageError("connection refused")

    task = runner.start("refused", work, on_log=lambda _e: seen.append("log"),
                        on_failure=lambda _m: seen.append("failed"), on_finished=lambda: seen.append("finished"))
    assert task.done, "the pool ran the task to its end before start returned"
    qtbot.waitUntil(lambda: seen == ["log", "failed", "finished"])
    assert runner.running == []


def test_progress_and_log_lines_arrive_each_on_its_own_typed_signal(qtbot: QtBot) -> None:
    runner = TaskRunner()
    progress: list[object] = []
    lines: list[object] = []

    def work(report: TaskReport, cancel: threading.Event) -> str:
        report.log(LogEntry("2026-01-01T00:00:00+00:00", Stage.CONNECT, "connected"))
        report.progress(Progress(Stage.LOAD, rows_read=500, rows_written=500, elapsed=0.5, total=1000))
        report.log(LogEntry("2026-01-01T00:00:01+00:00", Stage.LOAD, "batch 1"))
        report.progress(Progress(Stage.LOAD, rows_read=1000, rows_written=1000, elapsed=1.0, total=1000))
        return "done"

    results: list[str] = []
    runner.start("typed", work, on_progress=progress.append, on_log=lines.append, on_success=results.append)
    qtbot.waitUntil(lambda: results == ["done"])
    assert all(type(p) is Progress for p in progress) and all(type(e) is LogEntry for e in lines)
    assert [p.rows_written for p in progress] == [500, 1000]  # type: ignore[attr-defined]
    assert [e.message for e in lines] == ["connected", "batch 1"]  # type: ignore[attr-defined]
    # The signals say what they carry (an ``object`` channel sorted by type is gone).
    signals = TaskSignals()
    names = {bytes(signals.metaObject().method(i).name().data()).decode()
             for i in range(signals.metaObject().methodCount())}
    assert {"progress_changed", "log_added", "task_succeeded", "task_failed", "task_finished"} <= names
    qtbot.waitUntil(lambda: runner.running == [])


def test_a_task_that_ends_after_its_runner_is_gone_calls_nothing(qtbot: QtBot) -> None:
    """The window (and the runner it owns) may be gone before a look-up ends; its callbacks, which
    would write to deleted widgets, are then not called."""
    owner = QObject()
    runner = TaskRunner(parent=owner)
    release = threading.Event()
    seen: list[str] = []

    def work(report: TaskReport, cancel: threading.Event) -> int:
        release.wait(10)
        raise UsageError("the target cannot be reached")

    task = runner.start("late", work, on_failure=seen.append, on_finished=lambda: seen.append("finished"))
    owner.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    release.set()
    assert task.wait(10)
    QCoreApplication.processEvents()
    qtbot.wait(50)
    assert seen == []


def test_a_given_cancel_event_is_the_one_the_task_checks_and_cancel_sets(qtbot: QtBot) -> None:
    runner = TaskRunner()
    shared = threading.Event()
    seen: list[bool] = []

    def work(report: TaskReport, cancel: threading.Event) -> None:
        seen.append(cancel is shared and cancel.wait(10))

    task = runner.start("shared", work, cancel_event=shared)
    task.cancel()
    assert shared.is_set()
    assert task.wait(10) and seen == [True]
    qtbot.waitUntil(lambda: runner.running == [])
