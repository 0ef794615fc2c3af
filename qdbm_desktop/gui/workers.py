"""Background work: core calls run on the Qt thread pool and report back through signals.

Nothing here touches a widget. A task gets a ``TaskReport`` (its ``progress`` and ``log`` are the
core's progress and log callbacks; called from the worker thread, they become the
``progress_changed`` and ``log_added`` signals) and a cancel event that core checks between
batches. The GUI connects to the signals, which Qt delivers on the GUI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from qdbm_desktop.core.errors import QdbmError, redact
from qdbm_desktop.core.migration import LogEntry, Progress

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskSignals(QObject):
    """The signals of one task, on a QObject that lives on the GUI thread.

    Signals: ``progress_changed(Progress)`` and ``log_added(LogEntry)`` as the task reports them;
    ``task_succeeded(object)`` its result (typed by ``TaskRunner.start``); ``task_failed(str)`` a
    message for the user; ``task_finished()`` after either.
    """

    progress_changed = Signal(Progress)
    log_added = Signal(LogEntry)
    task_succeeded = Signal(object)
    task_failed = Signal(str)
    task_finished = Signal()


class TaskReport:
    """What a task reports while it runs: pass ``progress`` and ``log`` to core as its callbacks."""

    def __init__(self, signals: TaskSignals) -> None:
        self._signals = signals

    def progress(self, progress: Progress, /) -> None:
        self._signals.progress_changed.emit(progress)

    def log(self, entry: LogEntry, /) -> None:
        self._signals.log_added.emit(entry)


#: What a task runs: ``fn(report, cancel)``; its return value is the task's result.
TaskFunction = Callable[[TaskReport, threading.Event], T]


class BackgroundTask(QRunnable):
    """One call into core on a pool thread. ``cancel()`` sets the event the call checks."""

    def __init__(self, name: str, fn: TaskFunction[object],
                 cancel_event: threading.Event | None = None) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.name = name
        self.signals = TaskSignals()
        self.cancel_event = cancel_event if cancel_event is not None else threading.Event()
        self._fn = fn
        self._done = threading.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float) -> bool:
        """Wait until the task has ended; False after ``timeout`` seconds."""
        return self._done.wait(timeout)

    def run(self) -> None:
        signals = self.signals
        try:
            result = self._fn(TaskReport(signals), self.cancel_event)
        except QdbmError as exc:
            signals.task_failed.emit(redact(str(exc)))
        except Exception as exc:  # noqa: BLE001 - shown to the user, and logged with its trace
            log.exception("%s failed", redact(self.name))
            signals.task_failed.emit(redact(f"{self.name} failed: {type(exc).__name__}: {exc}"))
        else:
            signals.task_succeeded.emit(result)
        finally:
            self._done.set()
            signals.task_finished.emit()


class _TaskCallbacks(QObject):
    """Calls a task's plain callbacks (lambdas, functions) for as long as it lives: a child of the runner.

    A lambda connected to a task's signals would still be called after the window that started
    the task is gone, and then write to deleted widgets. Called from the bound methods of this
    object instead, the callbacks go with the runner: Qt drops a connection whose receiver has been
    destroyed. A callback that is itself a QObject's bound method is connected directly: it goes
    with its own object, and its ``sender()`` is the task's ``TaskSignals``.
    """

    def __init__(self, parent: QObject, signals: TaskSignals) -> None:
        super().__init__(parent)
        self._callbacks: dict[str, Callable[..., None]] = {}
        signals.task_succeeded.connect(self._on_task_succeeded)
        signals.task_failed.connect(self._on_task_failed)
        signals.progress_changed.connect(self._on_task_progress_changed)
        signals.log_added.connect(self._on_task_log_added)
        signals.task_finished.connect(self._on_task_finished)
        self._signals = signals

    def add(self, name: str, callback: Callable[..., None] | None) -> None:
        """Call ``callback`` when the signal ``name`` of the task's ``TaskSignals`` comes."""
        if callback is None:
            return
        if isinstance(getattr(callback, "__self__", None), QObject):
            getattr(self._signals, name).connect(callback)
        else:
            self._callbacks[name] = callback

    def _call(self, name: str, *args: object) -> None:
        callback = self._callbacks.get(name)
        if callback is not None:
            callback(*args)

    def _on_task_succeeded(self, result: object) -> None:
        self._call("task_succeeded", result)

    def _on_task_failed(self, message: str) -> None:
        self._call("task_failed", message)

    def _on_task_progress_changed(self, progress: Progress) -> None:
        self._call("progress_changed", progress)

    def _on_task_log_added(self, entry: LogEntry) -> None:
        self._call("log_added", entry)

    def _on_task_finished(self) -> None:
        try:
            self._call("task_finished")
        finally:
            self.deleteLater()


class TaskRunner(QObject):
    """Starts tasks on a thread pool and keeps them referenced until they have finished.

    On quit, ``shutdown`` cancels what is running and waits for it, so no task outlives the app.

    Signals: ``running_changed(int)`` the number of tasks running.
    """

    running_changed = Signal(int)

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._tasks: list[BackgroundTask] = []

    @property
    def running(self) -> list[BackgroundTask]:
        return [t for t in self._tasks if not t.done]

    def start(
        self,
        name: str,
        fn: TaskFunction[T],
        *,
        on_success: Callable[[T], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_log: Callable[[LogEntry], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        cancel_event: threading.Event | None = None,
    ) -> BackgroundTask:
        """Run ``fn`` in the pool; the callbacks are called on the GUI thread while this runner lives
        (``on_success`` with what ``fn`` returned).

        ``cancel_event``: the event the task's ``cancel`` sets and ``fn`` is given (one that
        something else may set too, such as a scheduled run's); a new one by default.

        Every callback is connected here, before the pool starts the task: a signal reaches only
        the slots connected when it is emitted, and a task that fails at once (a refused
        connection) may have emitted all of its signals before ``start`` returns. Connecting to
        ``task.signals`` after ``start`` would lose them.
        """
        task = BackgroundTask(name, fn, cancel_event)
        callbacks = _TaskCallbacks(self, task.signals)
        callbacks.add("task_succeeded", on_success)
        callbacks.add("task_failed", on_failure)
        callbacks.add("progress_changed", on_progress)
        callbacks.add("log_added", on_log)
        callbacks.add("task_finished", on_finished)
        # A bound method, not a lambda: Qt drops the connection when the runner is destroyed, so a
        # task that ends after its window has gone does not call into it.
        task.signals.task_finished.connect(self._on_task_finished)
        self._tasks.append(task)
        self._pool.start(task)
        self.running_changed.emit(len(self.running))
        return task

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel every task and wait for them; False when one is still running after the timeout."""
        for task in self._tasks:
            task.cancel()
        finished = all(t.wait(timeout_ms / 1000) for t in list(self._tasks))
        self._tasks = [t for t in self._tasks if not t.done]
        return finished

    def _on_task_finished(self) -> None:
        sender = self.sender()
        self._tasks = [t for t in self._tasks if t.signals is not sender]
        self.running_changed.emit(len(self.running))
