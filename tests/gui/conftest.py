"""Fixtures for the GUI tests: offscreen Qt, an app context on a temporary home, leak checks."""

from __future__ import annotations

import os

# Before anything imports Qt: the tests need no display and never flash windows on one.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from qdbm_desktop.core.context import AppContext  # noqa: E402
from qdbm_desktop.core.paths import AppPaths  # noqa: E402

_POOL_WAIT_MS = 5000


def pytest_configure(config: pytest.Config) -> None:
    # The offscreen platform says this each time a window is shown; it is about the platform
    # plugin, not about our code, and would otherwise fail every test that shows a window.
    config.addinivalue_line("qt_log_ignore", "This plugin does not support propagateSizeHints")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def paths(home: Path) -> AppPaths:
    return AppPaths(home)


@pytest.fixture
def context(paths: AppPaths, memory_keyring: Any) -> AppContext:
    return AppContext.create(paths, keyring_backend=memory_keyring)


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
    busy = pool.activeThreadCount()
    finished = pool.waitForDone(_POOL_WAIT_MS)
    assert not names, f"the test left top-level widgets visible: {', '.join(names)}"
    assert busy == 0 and finished, f"the test left {busy} thread-pool task(s) running"
