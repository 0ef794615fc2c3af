"""Fixtures for the GUI tests: offscreen Qt, an app context on a temporary home, leak checks."""

from __future__ import annotations

import os
import threading

# Before anything imports Qt: the tests need no display and never flash windows on one.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent, QRunnable, QThreadPool  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

# The real servers, for the tests that drive the GUI end to end against them.
from tests.integration.conftest import (  # noqa: E402, F401
    Server,
    mysql_database,
    pg_database,
    pg_password_server,
)

_POOL_WAIT_MS = 5000


class FinishingPool(QThreadPool):
    """A pool whose ``start`` returns only once the task has run to its end on another thread.

    It makes the fastest possible task (a connection refused at once) certain rather than likely:
    every signal the task emits has been emitted before the caller of ``start`` goes on, so a
    slot connected after ``start`` would miss them, as it does by chance with a real pool.
    """

    def start(self, runnable: QRunnable, priority: int = 0) -> None:  # type: ignore[override]
        thread = threading.Thread(target=runnable.run, name="finishing-pool")
        thread.start()
        thread.join()


@pytest.fixture(autouse=True)
def _no_leftover_windows_or_tasks(qapp: QApplication) -> Iterator[None]:
    """Fail a test that leaves a top-level widget visible or a thread-pool task running."""
    yield
    # Widgets a test registered with qtbot.addWidget are closed by pytest-qt before this runs.
    QApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    names = [f"{type(w).__name__}({w.objectName() or w.windowTitle()!r})" for w in leaked]
    for widget in leaked:
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    pool = QThreadPool.globalInstance()
    # A task that has just reported its end may still hold its thread for a moment, so the check
    # waits: only a task still running after the wait was left behind.
    finished = pool.waitForDone(_POOL_WAIT_MS)
    busy = pool.activeThreadCount()
    assert not names, f"the test left top-level widgets visible: {', '.join(names)}"
    assert finished and busy == 0, f"the test left {busy} thread-pool task(s) running"
