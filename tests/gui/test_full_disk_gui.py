"""With a full app-data disk the app starts, a migration runs and arrives, and the window says
the run could not be recorded in the history (its card's log and the notice banner)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, ensure_first_run
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.gui.app import main, open_main_window
from qdbm_desktop.gui.main_window import MainWindow
from tests.integration.disk_faults import fill, small_disk_fixture  # noqa: F401


def test_the_app_starts_and_runs_a_migration_on_a_full_disk_and_warns_it_was_not_recorded(
        qtbot: QtBot, small_disk: Path, tmp_path: Path, memory_keyring: Any) -> None:
    paths = AppPaths(small_disk / "home")
    setup = AppContext.create(paths, keyring_backend=memory_keyring)
    ensure_first_run(setup)
    target = tmp_path / "elsewhere.db"
    sqlite3.connect(target).close()
    setup.connections.add(ConnectionProfile(name="Elsewhere", type="sqlite", path=str(target)))
    fill(small_disk)

    window = open_main_window(paths, keyring_backend=memory_keyring)
    qtbot.addWidget(window)
    page = window.migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target("Elsewhere")
    page.editor.set_query("SELECT customer_id, name FROM customers")
    page.table_edit.setText("customers")
    fill(small_disk)  # whatever the start-up gave back
    card = page.start_migration()
    assert card is not None
    qtbot.waitUntil(lambda: card.finished, timeout=30_000)

    assert card.state_text == "succeeded"
    assert "could not be recorded in the history" in card.log_text
    assert any("cannot be written" in message for message in window.notice_banner.messages())
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 500
    window.close()


def test_the_desktop_app_starts_on_a_full_disk_where_its_lock_file_cannot_be_written(
        qtbot: QtBot, small_disk: Path, memory_keyring: Any) -> None:
    home = small_disk / "home"
    ensure_first_run(AppContext.create(AppPaths(home), keyring_backend=memory_keyring))
    fill(small_disk)
    seen: dict[str, object] = {}

    def look_then_close() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen["windows"] = len(windows)
        for window in windows:
            window.close()

    QTimer.singleShot(0, look_then_close)
    assert main(["--home", str(home)], keyring_backend=memory_keyring) == 0
    assert seen == {"windows": 1}
