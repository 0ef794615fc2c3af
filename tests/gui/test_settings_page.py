"""The Settings page: validation next to the field, Apply/Revert, read-only files, the key's home."""

from __future__ import annotations

import json
from typing import Any

import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.settings import Settings, SettingsStore
from qdbm_desktop.gui.settings_page import KEY_FILE_EXPLANATION, SettingsPage


@pytest.fixture
def open_page(qtbot: Any) -> Any:
    def open_(context: AppContext) -> SettingsPage:
        page = SettingsPage(context)
        qtbot.addWidget(page)
        page.resize(900, 800)
        with qtbot.waitExposed(page):
            page.show()
        return page

    return open_


def _on_disk(paths: AppPaths) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(paths.settings_file.read_text(encoding="utf-8"))
    return document


def _type_batch_size(qtbot: Any, page: SettingsPage, text: str) -> None:
    page.batch_size_edit.selectAll()
    qtbot.keyClicks(page.batch_size_edit, text)


def test_page_shows_the_saved_settings(context: AppContext, open_page: Any) -> None:
    context.settings.update({"batch_size": 20_000, "default_mode": "upsert", "close_to_tray": False,
                             "history_retention_days": 30})

    page = open_page(context)

    assert page.batch_size_edit.text() == "20000"
    assert page.mode_combo.currentData() == "upsert"
    assert not page.close_to_tray_check.isChecked()
    assert page.retention_spin.value() == 30
    assert not page.apply_button.isEnabled() and not page.revert_button.isEnabled()


@pytest.mark.parametrize(("text", "message"), [
    ("0", "Must be between 1 and 10,000,000 rows, not 0"),
    ("lots", "Must be a whole number of rows, not 'lots'"),
    ("20000000", "Must be between 1 and 10,000,000 rows"),
])
def test_bad_batch_size_is_explained_next_to_the_field_and_nothing_is_saved(
        context: AppContext, open_page: Any, qtbot: Any, text: str, message: str) -> None:
    page = open_page(context)
    page.close_to_tray_check.setChecked(False)
    before = context.paths.settings_file.read_bytes()
    changed: list[bool] = []
    page.settings_changed.connect(lambda: changed.append(True))

    _type_batch_size(qtbot, page, text)
    assert page.batch_size_message.isVisible()
    assert page.batch_size_message.text().startswith(message)

    qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)

    assert context.paths.settings_file.read_bytes() == before
    assert "Nothing was saved" in page.status_label.text()
    assert page.batch_size_message.isVisible()
    assert changed == []


def test_message_goes_away_once_the_batch_size_is_good(context: AppContext, open_page: Any,
                                                       qtbot: Any) -> None:
    page = open_page(context)
    _type_batch_size(qtbot, page, "-1")
    assert page.batch_size_message.isVisible()

    _type_batch_size(qtbot, page, "25_000")

    assert not page.batch_size_message.isVisible()
    assert page.apply_button.isEnabled()


def test_applied_values_are_written_and_read_back_by_a_new_store(
        context: AppContext, open_page: Any, qtbot: Any) -> None:
    page = open_page(context)
    _type_batch_size(qtbot, page, "25000")
    page.mode_combo.setCurrentIndex(page.mode_combo.findData("truncate"))
    page.close_to_tray_check.setChecked(False)
    page.retention_spin.setValue(0)
    assert page.status_label.text() == "Unsaved changes."

    with qtbot.waitSignal(page.settings_changed):
        qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)

    assert _on_disk(context.paths) == {"version": 1, "batch_size": 25000, "default_mode": "truncate",
                                       "close_to_tray": False, "history_retention_days": 0,
                                       "verify": "counts", "first_run_done": False}
    assert SettingsStore(context.paths).get() == Settings(batch_size=25000, default_mode="truncate",
                                                          close_to_tray=False, history_retention_days=0)
    assert page.status_label.text() == "Settings saved."
    assert not page.apply_button.isEnabled()
    assert page.retention_spin.text() == "forever"


def test_return_in_the_batch_size_field_applies(context: AppContext, open_page: Any, qtbot: Any) -> None:
    page = open_page(context)
    _type_batch_size(qtbot, page, "1234")

    with qtbot.waitSignal(page.settings_changed):
        qtbot.keyClick(page.batch_size_edit, Qt.Key.Key_Return)

    assert SettingsStore(context.paths).get().batch_size == 1234


def test_revert_puts_back_the_saved_values_and_writes_nothing(
        context: AppContext, open_page: Any, qtbot: Any) -> None:
    page = open_page(context)
    before = context.paths.settings_file.read_bytes()
    _type_batch_size(qtbot, page, "abc")
    page.retention_spin.setValue(7)
    assert page.revert_button.isEnabled()

    qtbot.mouseClick(page.revert_button, Qt.MouseButton.LeftButton)

    assert page.batch_size_edit.text() == "50000"
    assert page.retention_spin.value() == 90
    assert not page.batch_size_message.isVisible()
    assert not page.is_modified() and not page.apply_button.isEnabled()
    assert context.paths.settings_file.read_bytes() == before


def test_retention_reads_day_in_the_singular(context: AppContext, open_page: Any) -> None:
    page = open_page(context)
    page.retention_spin.setValue(1)
    assert page.retention_spin.text() == "1 day"
    page.retention_spin.setValue(2)
    assert page.retention_spin.text() == "2 days"


def test_file_from_a_newer_version_is_shown_but_cannot_be_edited(paths: AppPaths, memory_keyring: Any,
                                                                 open_page: Any) -> None:
    paths.home.mkdir(parents=True)
    paths.settings_file.write_text('{"version": 9, "batch_size": 4000}', encoding="utf-8")
    page = open_page(AppContext.create(paths, keyring_backend=memory_keyring))

    assert page.batch_size_edit.text() == "4000"
    assert page.read_only_warning.isVisible()
    assert "newer QDBM Desktop" in page.read_only_warning.text()
    assert "cannot be changed" in page.read_only_warning.text()
    for widget in (page.batch_size_edit, page.mode_combo, page.close_to_tray_check, page.retention_spin,
                   page.apply_button, page.revert_button):
        assert not widget.isEnabled()
    assert page.open_folder_button.isEnabled()


def test_writable_file_has_no_read_only_warning(context: AppContext, open_page: Any) -> None:
    page = open_page(context)
    assert not page.read_only_warning.isVisible()
    assert page.batch_size_edit.isEnabled()


def test_failed_save_says_why_and_keeps_the_edits(context: AppContext, open_page: Any, qtbot: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from qdbm_desktop.core import jsonfile

    page = open_page(context)
    _type_batch_size(qtbot, page, "3000")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jsonfile, "atomic_write_text", disk_full)
    assert not page.apply()

    assert "could not be saved" in page.status_label.text()
    assert "No space left" in page.status_label.text()
    assert page.batch_size_edit.text() == "3000" and page.is_modified()


def test_key_file_fallback_is_named_with_a_warning_of_what_it_means(paths: AppPaths, open_page: Any) -> None:
    page = open_page(AppContext.create(paths, keyring_backend=fail.Keyring()))

    assert str(paths.key_file) in page.keyring_label.text()
    assert page.keyring_warning.isVisible()
    assert page.keyring_warning.text().startswith(KEY_FILE_EXPLANATION)
    assert "decrypt" in page.keyring_warning.text()


def test_os_keyring_backend_is_named_without_a_warning(context: AppContext, open_page: Any) -> None:
    page = open_page(context)

    assert page.keyring_label.text().startswith("Encryption key kept in the OS keyring: ")
    assert page.keyring_label.text().endswith("MemoryKeyring")
    assert not page.keyring_warning.isVisible()


def test_app_data_folder_is_shown_and_opened(context: AppContext, open_page: Any, qtbot: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[QUrl] = []

    def open_url(url: QUrl) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    page = open_page(context)

    assert page.home_edit.text() == str(context.paths.home)
    assert page.home_edit.isReadOnly()
    qtbot.mouseClick(page.open_folder_button, Qt.MouseButton.LeftButton)

    assert [url.toLocalFile() for url in opened] == [str(context.paths.home)]


def test_folder_that_cannot_be_opened_is_reported(context: AppContext, open_page: Any, qtbot: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    page = open_page(context)

    qtbot.mouseClick(page.open_folder_button, Qt.MouseButton.LeftButton)

    assert "copy the path" in page.status_label.text()


def test_showing_the_page_again_picks_up_changes_made_elsewhere(context: AppContext, open_page: Any) -> None:
    page = open_page(context)
    page.hide()
    SettingsStore(context.paths).set("batch_size", "777")

    page.show()
    QApplication.processEvents()

    assert page.batch_size_edit.text() == "777"
