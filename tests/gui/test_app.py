from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from qdbm_desktop import __version__
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME
from qdbm_desktop.core.history import RunStatus
from qdbm_desktop.core.paths import HOME_ENV, AppPaths
from qdbm_desktop.gui.app import main, open_main_window
from qdbm_desktop.gui.connections_model import Column
from qdbm_desktop.gui.icons import app_icon, database_icon
from qdbm_desktop.gui.main_window import MainWindow


def _saved_names(home: Path) -> list[str]:
    document = json.loads((home / "connections.json").read_text(encoding="utf-8"))
    return [entry["name"] for entry in document["connections"]]


def test_main_with_home_runs_the_first_start_there_and_returns_when_the_window_closes(
        tmp_path: Path, memory_keyring: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "chosen"
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "not-this-one"))
    seen: dict[str, Any] = {}

    def look_then_close() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen["titles"] = [w.windowTitle() for w in windows]
        proxy = windows[0].proxy_model
        seen["names"] = sorted(proxy.index(r, Column.NAME).data() for r in range(proxy.rowCount()))
        for window in windows:
            window.close()

    QTimer.singleShot(0, look_then_close)
    assert main(["--home", str(home)], keyring_backend=memory_keyring) == 0
    assert seen == {"titles": ["QDBM Desktop"], "names": sorted([DEMO_SOURCE_NAME, DEMO_TARGET_NAME])}
    assert sorted(_saved_names(home)) == sorted([DEMO_SOURCE_NAME, DEMO_TARGET_NAME])
    assert (home / "ui-state.json").exists()
    assert not (tmp_path / "not-this-one").exists()
    assert QApplication.applicationName() == "QDBM Desktop"


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="POSIX signals")
def test_sigterm_closes_the_window_like_quit_so_its_geometry_is_saved(
        tmp_path: Path, memory_keyring: Any) -> None:
    home = tmp_path / "home"
    before = signal.getsignal(signal.SIGTERM)
    QTimer.singleShot(50, lambda: os.kill(os.getpid(), signal.SIGTERM))
    assert main(["--home", str(home)], keyring_backend=memory_keyring) == 0
    state = json.loads((home / "ui-state.json").read_text(encoding="utf-8"))
    assert state["windows"]["main_window"]["geometry"]
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_home_that_cannot_be_created_is_reported_in_a_dialog_and_main_returns_1(
        tmp_path: Path, memory_keyring: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    assert main(["--home", str(blocker / "home")], keyring_backend=memory_keyring) == 1
    assert len(shown) == 1 and shown[0].startswith("QDBM Desktop cannot start:")


def test_open_main_window_shows_the_window_without_running_the_event_loop(
        tmp_path: Path, memory_keyring: Any, qtbot: Any) -> None:
    window = open_main_window(AppPaths(tmp_path / "home"), keyring_backend=memory_keyring)
    qtbot.addWidget(window)
    assert window.isVisible()
    assert not window.windowIcon().isNull()
    assert window.proxy_model.rowCount() == 2


def test_start_up_removes_runs_older_than_the_retention_setting(
        tmp_path: Path, memory_keyring: Any, qtbot: Any) -> None:
    paths = AppPaths(tmp_path / "home")
    context = AppContext.create(paths, keyring_backend=memory_keyring)
    context.settings.set("history_retention_days", 30)
    for run_id, days_ago in (("old", 31), ("recent", 29)):
        row = context.history.start_run(run_id=run_id, source="a", target="b", query="SELECT 1",
                                        target_table="t", mode="append")
        context.history.finish_run(row, RunStatus.SUCCEEDED, 1, 1)
        with sqlite3.connect(paths.history_file) as db:
            db.execute("UPDATE runs SET started = ? WHERE id = ?",
                       ((datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat(), row))
    window = open_main_window(paths, keyring_backend=memory_keyring)
    qtbot.addWidget(window)
    assert [r.run_id for r in context.history.runs()] == ["recent"]
    assert window.history_page.model.rowCount() == 1


def test_every_icon_loads_from_the_resources(qapp: QApplication) -> None:
    assert not app_icon().isNull()
    for type_name in ("postgresql", "mysql", "sqlite", "sqlserver", "oracle"):
        icon = database_icon(type_name)
        assert not icon.isNull(), type_name
        assert not icon.pixmap(24, 24).isNull(), type_name


def test_python_dash_m_prints_the_version_without_opening_a_window() -> None:
    done = subprocess.run([sys.executable, "-m", "qdbm_desktop", "--version"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"QDBM Desktop {__version__}"
