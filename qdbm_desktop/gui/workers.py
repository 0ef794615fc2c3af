"""Background work: core calls run on the Qt thread pool and report back through signals.

Nothing here touches a widget. A task gets a ``report`` function (core progress callbacks call
it from the worker thread; it becomes the ``progress_changed`` signal) and a cancel event that
core checks between batches. The GUI connects to the signals, which Qt delivers on the GUI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from qdbm_desktop.core.errors import QdbmError, redact

log = logging.getLogger(__name__)

#: What a task runs: ``fn(report, cancel)``; its return value is the task's result.
TaskFunction = Callable[[Callable[[object], None], threading.Event], Any]


class TaskSignals(QObject):
    """The signals of one task, on a QObject that lives on the GUI thread.

    Signals: ``progress_changed(object)`` whatever the task reported; ``task_succeeded(object)``
    its result; ``task_failed(str)`` a message for the user; ``task_finished()`` after either.
    """

    progress_changed = Signal(object)
    task_succeeded = Signal(object)
    task_failed = Signal(str)
    task_finished = Signal()


class BackgroundTask(QRunnable):
    """One call into core on a pool thread. ``cancel()`` sets the event the call checks."""

    def __init__(self, name: str, fn: TaskFunction) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.name = name
        self.signals = TaskSignals()
        self.cancel_event = threading.Event()
        self._fn = fn
        self._done = threading.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        signals = self.signals
        try:
            result = self._fn(signals.progress_changed.emit, self.cancel_event)
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
        fn: TaskFunction,
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_finished: Callable[[], None] | None = None,
    ) -> BackgroundTask:
        """Run ``fn`` in the pool; the callbacks are called on the GUI thread.

        Every callback is connected here, before the pool starts the task: a signal reaches only
        the slots connected when it is emitted, and a task that fails at once (a refused
        connection) may have emitted all of its signals before ``start`` returns. Connecting to
        ``task.signals`` after ``start`` would lose them.
        """
        task = BackgroundTask(name, fn)
        if on_success is not None:
            task.signals.task_succeeded.connect(on_success)
        if on_failure is not None:
            task.signals.task_failed.connect(on_failure)
        if on_progress is not None:
            task.signals.progress_changed.connect(on_progress)
        if on_finished is not None:
            task.signals.task_finished.connect(on_finished)
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
        finished = all(t._done.wait(timeout_ms / 1000) for t in list(self._tasks))
        self._tasks = [t for t in self._tasks if not t.done]
        return finished

    def _on_task_finished(self) -> None:
        sender = self.sender()
        self._tasks = [t for t in self._tasks if t.signals is not sender]
        self.running_changed.emit(len(self.running))
