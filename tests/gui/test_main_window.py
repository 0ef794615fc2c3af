from __future__ import annotations

import base64
import json
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from keyring.backends import fail
from PySide6.QtCore import QSize, Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QLabel

from qdbm_desktop import __version__
from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.secrets import KEYRING_SERVICE, KEYRING_USERNAME
from qdbm_desktop.gui.connections_model import REENTER_PASSWORD, Column
from qdbm_desktop.gui.main_window import (
    DEFAULT_SIZE,
    KEY_FILE_LABEL,
    STATE_KEY,
    MainWindow,
    about_text,
)
from qdbm_desktop.gui.user_guide import UserGuideDialog, guide_path

OpenWindow = Callable[[AppContext], MainWindow]


@pytest.fixture
def open_window(qtbot: Any) -> OpenWindow:
    """Shows a main window on a context; pytest-qt closes it after the test."""

    def open_(context: AppContext) -> MainWindow:
        window = MainWindow(context)
        qtbot.addWidget(window)
        with qtbot.waitExposed(window):
            window.show()
        return window

    return open_


def _names(window: MainWindow) -> list[str]:
    proxy = window.proxy_model
    return [proxy.index(row, Column.NAME).data() for row in range(proxy.rowCount())]


def _cell(window: MainWindow, name: str, column: Column) -> str:
    proxy = window.proxy_model
    row = _names(window).index(name)
    return str(proxy.index(row, column).data())


def test_first_start_lists_the_two_demo_connections_and_welcomes_the_user(
        context: AppContext, open_window: OpenWindow) -> None:
    ensure_first_run(context)
    window = open_window(context)
    assert window.windowTitle() == "QDBM Desktop"
    assert sorted(_names(window)) == sorted([DEMO_SOURCE_NAME, DEMO_TARGET_NAME])
    assert _cell(window, DEMO_SOURCE_NAME, Column.TYPE) == "SQLite"
    assert _cell(window, DEMO_SOURCE_NAME, Column.LOCATION).endswith("demo_shop.sqlite")
    assert window.count_label.text() == "2 connections"
    assert window.notice_banner.isVisible()
    assert "Welcome" in window.notice_banner.text()


def test_table_is_sorted_by_name_and_the_filter_narrows_the_rows(
        context: AppContext, open_window: OpenWindow, qtbot: Any) -> None:
    ensure_first_run(context)
    window = open_window(context)
    assert _names(window) == [DEMO_SOURCE_NAME, DEMO_TARGET_NAME]
    qtbot.keyClicks(window.filter_edit, "warehouse")
    assert _names(window) == [DEMO_TARGET_NAME]
    assert window.count_label.text() == "1 of 2 connections shown"
    window.filter_edit.clear()
    assert len(_names(window)) == 2


def test_connection_whose_password_cannot_be_decrypted_asks_to_reenter_it(
        paths: AppPaths, memory_keyring: Any, new_memory_keyring: Callable[[], Any],
        open_window: OpenWindow) -> None:
    first = AppContext.create(paths, keyring_backend=memory_keyring)
    first.connections.add(ConnectionProfile(name="Warehouse", type="postgresql", host="db.example.org",
                                            database="dwh", user="loader"), {"password": "s3cret"})
    other_machine = new_memory_keyring()
    other_machine.set_password(KEYRING_SERVICE, KEYRING_USERNAME, Fernet.generate_key().decode("ascii"))
    window = open_window(AppContext.create(paths, keyring_backend=other_machine))
    assert _cell(window, "Warehouse", Column.PASSWORD) == REENTER_PASSWORD


def test_stored_password_is_shown_masked(context: AppContext, open_window: OpenWindow) -> None:
    context.connections.add(ConnectionProfile(name="Warehouse", type="postgresql", host="db.example.org"),
                            {"password": "s3cret"})
    window = open_window(context)
    assert _cell(window, "Warehouse", Column.PASSWORD) == "********"
    assert "s3cret" not in window.notice_banner.text()


def test_banner_warns_of_the_key_file_when_the_keyring_fails(
        paths: AppPaths, open_window: OpenWindow) -> None:
    context = AppContext.create(paths, keyring_backend=fail.Keyring())
    window = open_window(context)
    status = context.secret_box.status
    assert status.file_fallback and status.warning
    assert window.notice_banner.isVisible()
    assert str(paths.key_file) in window.notice_banner.text()
    assert window.keyring_label.text() == KEY_FILE_LABEL
    assert window.keyring_label.toolTip() == status.warning


def test_the_key_file_notice_is_shown_once_then_only_the_status_bar_says_it(
        paths: AppPaths, open_window: OpenWindow, qtbot: Any) -> None:
    context = AppContext.create(paths, keyring_backend=fail.Keyring())
    first = open_window(context)
    first.resize(1024, 700)
    QApplication.processEvents()
    assert first.notice_banner.isVisible()
    # At most two lines at the smallest supported width (the keyring's own reason ran to three).
    label = first.notice_banner.findChild(QLabel, "noticeText")
    assert label is not None
    assert label.height() <= 2 * label.fontMetrics().lineSpacing() + 4, label.text()
    first.refresh()
    assert first.notice_banner.isVisible(), "it stays for the session that showed it"
    first.close()

    second = open_window(AppContext.create(paths, keyring_backend=fail.Keyring()))
    assert not second.notice_banner.isVisible()
    assert second.keyring_label.text() == KEY_FILE_LABEL
    assert second.keyring_label.isVisible()
    assert "no usable OS keyring" in second.keyring_label.toolTip()


def test_status_bar_names_the_keyring_backend(context: AppContext, open_window: OpenWindow) -> None:
    window = open_window(context)
    # The module's name depends on how pytest imported the conftest that defines it.
    assert window.keyring_label.text().startswith("Keyring: ")
    assert window.keyring_label.text().endswith("conftest.MemoryKeyring")
    assert not window.notice_banner.isVisible()


def test_corrupt_connections_file_is_named_in_the_banner_with_the_name_it_was_kept_as(
        paths: AppPaths, memory_keyring: Any, open_window: OpenWindow) -> None:
    paths.ensure()
    paths.connections_file.write_text("{not json", encoding="utf-8")
    window = open_window(AppContext.create(paths, keyring_backend=memory_keyring))
    kept = list(paths.home.glob("connections.json.corrupt-*"))
    assert len(kept) == 1
    text = window.notice_banner.text()
    assert window.notice_banner.isVisible()
    assert "connections.json could not be read" in text
    assert kept[0].name in text
    assert kept[0].read_text(encoding="utf-8") == "{not json"


def test_dismissed_notices_stay_hidden_after_a_refresh(
        context: AppContext, open_window: OpenWindow, qtbot: Any) -> None:
    ensure_first_run(context)
    window = open_window(context)
    qtbot.mouseClick(window.notice_banner.dismiss_button, Qt.MouseButton.LeftButton)
    assert not window.notice_banner.isVisible()
    window.refresh_action.trigger()
    assert not window.notice_banner.isVisible()


def test_refresh_shows_connections_added_by_another_program(
        context: AppContext, open_window: OpenWindow, qtbot: Any) -> None:
    window = open_window(context)
    with qtbot.waitActive(window):
        window.activateWindow()
    assert _names(window) == []
    context.connections.add(ConnectionProfile(name="Added by the CLI", type="sqlite", path="/tmp/x.db"))
    qtbot.keyClick(window.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert _names(window) == ["Added by the CLI"]
    assert window.count_label.text() == "1 connection"


def test_geometry_is_saved_on_close_and_restored_by_the_next_window(
        context: AppContext, open_window: OpenWindow) -> None:
    ensure_first_run(context)
    first = open_window(context)
    # Smaller than the offscreen platform's 800x800 screen, which a restored window is fitted into.
    first.resize(720, 530)
    first.move(20, 30)
    QApplication.processEvents()
    first.close()
    saved = json.loads(context.paths.ui_state_file.read_text(encoding="utf-8"))
    base64.b64decode(saved["windows"][STATE_KEY]["geometry"], validate=True)
    assert "geometry" not in context.paths.settings_file.read_text(encoding="utf-8")
    second = open_window(context)
    assert second.size() == QSize(720, 530)


def _default_size(window: MainWindow) -> QSize:
    available = window.screen().availableGeometry()
    return DEFAULT_SIZE.boundedTo(QSize(available.width() * 95 // 100, available.height() * 95 // 100))


def test_first_window_opens_at_the_default_size_within_the_screen(
        context: AppContext, open_window: OpenWindow) -> None:
    window = open_window(context)
    assert window.size() == _default_size(window)
    assert window.size().width() <= 1280 and window.size().height() <= 800


def test_damaged_window_state_falls_back_to_the_default_size(
        context: AppContext, open_window: OpenWindow) -> None:
    context.paths.ui_state_file.write_text(
        '{"version": 1, "windows": {"main_window": {"geometry": "not base64!"}}}', encoding="utf-8")
    window = open_window(context)
    assert window.size() == _default_size(window)


def test_quit_action_closes_the_window(context: AppContext, open_window: OpenWindow) -> None:
    window = open_window(context)
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"
    window.quit_action.trigger()
    assert not window.isVisible()


def test_about_text_names_the_app_qt_and_python_versions() -> None:
    text = about_text()
    assert __version__ in text
    assert f"Qt {qVersion()}" in text
    assert f"Python {platform.python_version()}" in text


def test_unreadable_connections_file_leaves_an_empty_list_and_says_why(
        context: AppContext, open_window: OpenWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[Any]:
        raise PermissionError(13, "Permission denied", str(context.paths.connections_file))

    monkeypatch.setattr(context.connections, "list", broken)
    window = open_window(context)
    assert _names(window) == []
    assert "cannot be read" in window.notice_banner.text()



def test_help_holds_the_user_guide_the_data_folder_and_about(
        context: AppContext, open_window: OpenWindow, qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    window = open_window(context)
    titles = [a.text().replace("&", "") for a in window.help_menu.actions() if not a.isSeparator()]
    assert titles == ["User guide", "Open the data folder", "About QDBM Desktop"]

    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    guide = window.findChild(UserGuideDialog)
    assert guide is not None and guide.isVisible()
    text = guide.browser.toPlainText()
    assert text.startswith("QDBM Desktop user guide")
    for section in ("First start", "Load modes", "Replace and truncate ask first", "Your data folder"):
        assert section in text
    assert guide_path() is not None and guide.open_in_browser_button.isEnabled()
    assert window.show_user_guide() is guide, "one guide window, brought to the front again"
    opened: list[QUrl] = []

    def open_url(url: QUrl) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    qtbot.mouseClick(guide.open_in_browser_button, Qt.MouseButton.LeftButton)
    assert [Path(u.toLocalFile()) for u in opened] == [guide_path()]
    guide.close()


def test_open_the_data_folder_shows_the_app_data_folder_or_says_it_could_not(
        context: AppContext, open_window: OpenWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    window = open_window(context)
    opened: list[QUrl] = []

    def open_url(url: QUrl) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    action = next(a for a in window.help_menu.actions() if a.text() == "Open the &data folder")
    action.trigger()
    assert [u.toLocalFile() for u in opened] == [str(context.paths.home)]
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    assert not window.open_data_folder()
    assert window.status_text == f"No file manager could open {context.paths.home}"
