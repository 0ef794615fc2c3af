"""The task runner: results, failures and progress arrive on the GUI thread; cancel reaches core."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.gui.workers import TaskRunner
from tests.gui.conftest import FinishingPool


def test_result_and_progress_are_delivered_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = TaskRunner()
    gui_thread = QThread.currentThread()
    seen: list[tuple[str, object, bool]] = []
    worker_threads: list[str] = []

    def work(report, cancel: threading.Event) -> int:  # type: ignore[no-untyped-def]
        worker_threads.append(threading.current_thread().name)
        for i in range(3):
            report(i)
        return 42

    runner.start(
        "sum",
        work,
        on_progress=lambda p: seen.append(("progress", p, QThread.currentThread() is gui_thread)),
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

    def work(report, cancel):  # type: ignore[no-untyped-def]
        raise error

    runner.start("divide", work, on_failure=messages.append)
    qtbot.waitUntil(lambda: messages == [expected])


def test_shutdown_cancels_and_waits_for_running_tasks(qtbot: QtBot) -> None:
    runner = TaskRunner()
    started = threading.Event()
    stopped_by_cancel: list[bool] = []

    def work(report, cancel: threading.Event) -> None:  # type: ignore[no-untyped-def]
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

    def work(report, cancel):  # type: ignore[no-untyped-def]
        report("step")
        raise UsageError("connection refused")

    task = runner.start("refused", work, on_progress=lambda _p: seen.append("progress"),
                        on_failure=lambda _m: seen.append("failed"), on_finished=lambda: seen.append("finished"))
    assert task.done, "the pool ran the task to its end before start returned"
    qtbot.waitUntil(lambda: seen == ["progress", "failed", "finished"])
    assert runner.running == []
