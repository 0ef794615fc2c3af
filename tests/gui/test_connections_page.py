"""The Connections page: the table, and adding, editing, duplicating, testing and deleting through it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QToolButton
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.gui.connection_dialog import ConnectionDialog
from qdbm_desktop.gui.connections_model import TESTING, Column
from qdbm_desktop.gui.connections_page import ConnectionsPage
from qdbm_desktop.gui.workers import TaskRunner
from tests.gui.conftest import FinishingPool
from tests.integration.conftest import Server

OpenPage = Callable[[AppContext], ConnectionsPage]


@pytest.fixture
def runner() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()
    # A task has said it finished a moment before its pool thread is free again.
    QThreadPool.globalInstance().waitForDone(5000)


@pytest.fixture
def open_page(qtbot: QtBot, runner: TaskRunner) -> OpenPage:
    def open_(context: AppContext) -> ConnectionsPage:
        page = ConnectionsPage(context, runner)
        qtbot.addWidget(page)
        page.resize(1100, 500)
        with qtbot.waitExposed(page):
            page.show()
        return page

    return open_


def _names(page: ConnectionsPage) -> list[str]:
    proxy = page.proxy_model
    return [proxy.index(row, Column.NAME).data() for row in range(proxy.rowCount())]


def _cell(page: ConnectionsPage, name: str, column: Column) -> str:
    return str(page.proxy_model.index(_names(page).index(name), column).data())


def _button(page: ConnectionsPage, text: str) -> QToolButton:
    return next(b for b in page.findChildren(QToolButton) if b.text().replace("&", "").startswith(text))


def _click(qtbot: QtBot, page: ConnectionsPage, text: str) -> None:
    qtbot.mouseClick(_button(page, text), Qt.MouseButton.LeftButton)


def _dialog(qtbot: QtBot, page: ConnectionsPage) -> ConnectionDialog:
    qtbot.waitUntil(lambda: page.active_dialog is not None and page.active_dialog.isVisible())
    dialog = page.active_dialog
    assert dialog is not None
    return dialog


def _type(qtbot: QtBot, dialog: ConnectionDialog, **fields: str) -> None:
    for field, text in fields.items():
        edit = getattr(dialog, f"{field}_edit")
        edit.clear()
        qtbot.keyClicks(edit, text)


def _save(qtbot: QtBot, page: ConnectionsPage, dialog: ConnectionDialog) -> None:
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.active_dialog is None)


def _answer_next_message_box(qtbot: QtBot, button: QMessageBox.StandardButton, seen: list[str]) -> QTimer:
    """Clicks ``button`` on the next message box shown, noting its text in ``seen``."""
    timer = QTimer()

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            timer.stop()
            seen.append(box.text())
            answer_button = box.button(button)
            assert answer_button is not None
            answer_button.click()

    timer.timeout.connect(answer)
    timer.start(20)
    return timer


def _add_saved(context: AppContext, name: str, server: Server | None = None, *,
               password: str | None = None) -> None:
    if server is None:
        profile = ConnectionProfile(name=name, type="postgresql", host="db.example.org", user="app")
    else:
        profile = ConnectionProfile(name=name, type="postgresql", host=server.host, port=server.port,
                                    database=server.database, user=server.user)
    context.connections.add(profile, {"password": password} if password else None)


# -- the table --------------------------------------------------------------------------------


def test_models_pass_the_model_tester_with_the_demo_rows(
        context: AppContext, open_page: OpenPage, qtmodeltester: Any) -> None:
    ensure_first_run(context)
    page = open_page(context)
    qtmodeltester.check(page.connections_model)
    qtmodeltester.check(page.proxy_model)
    page.connections_model.set_testing({DEMO_SOURCE_NAME})
    page.refresh()


def test_the_page_lists_the_connections_sorted_and_the_filter_narrows_them(
        context: AppContext, open_page: OpenPage, qtbot: QtBot) -> None:
    ensure_first_run(context)
    page = open_page(context)
    assert _names(page) == [DEMO_SOURCE_NAME, DEMO_TARGET_NAME]
    assert _cell(page, DEMO_SOURCE_NAME, Column.TYPE) == "SQLite"
    assert _cell(page, DEMO_SOURCE_NAME, Column.LOCATION).endswith("demo_shop.sqlite")
    assert page.count_label.text() == "2 connections"
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is page.filter_edit
    qtbot.keyClicks(page.filter_edit, "warehouse")
    assert _names(page) == [DEMO_TARGET_NAME]
    assert page.count_label.text() == "1 of 2 connections shown"
    # Delete in the filter box edits the text; it never deletes a connection.
    page.select_connection(DEMO_TARGET_NAME)
    page.filter_edit.setFocus()
    page.filter_edit.setCursorPosition(0)
    qtbot.keyClick(page.filter_edit, Qt.Key.Key_Delete)
    assert page.filter_edit.text() == "arehouse"
    assert len(context.connections.list()) == 2


def test_actions_on_a_connection_wait_for_a_selection(context: AppContext, open_page: OpenPage) -> None:
    ensure_first_run(context)
    page = open_page(context)
    page.table.clearSelection()
    assert page.selected_name() is None
    assert not any(a.isEnabled() for a in (page.edit_action, page.duplicate_action, page.delete_action,
                                           page.test_action))
    assert page.add_action.isEnabled()
    assert page.select_connection(DEMO_TARGET_NAME)
    assert page.selected_name() == DEMO_TARGET_NAME
    assert all(a.isEnabled() for a in (page.edit_action, page.duplicate_action, page.delete_action,
                                       page.test_action))


def test_tab_goes_from_the_filter_to_the_table_and_then_the_buttons(
        context: AppContext, open_page: OpenPage, qtbot: QtBot) -> None:
    ensure_first_run(context)
    page = open_page(context)
    page.filter_edit.setFocus()
    qtbot.keyClick(page.filter_edit, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is page.table
    qtbot.keyClick(page.table, Qt.Key.Key_Tab)
    focused = QApplication.focusWidget()
    assert isinstance(focused, QToolButton) and focused.defaultAction() is page.add_action


# -- adding, editing, duplicating -------------------------------------------------------------


def test_adding_a_sqlite_connection_through_the_page_shows_and_selects_it(
        context: AppContext, open_page: OpenPage, qtbot: QtBot, tmp_path: Path) -> None:
    page = open_page(context)
    messages: list[str] = []
    page.status_message.connect(messages.append)
    _click(qtbot, page, "Add")
    dialog = _dialog(qtbot, page)
    dialog.type_combo.setCurrentIndex(dialog.type_combo.findData("sqlite"))
    _type(qtbot, dialog, name="Scratch", path=str(tmp_path / "scratch.sqlite"))
    with qtbot.waitSignal(page.connections_changed):
        _save(qtbot, page, dialog)
    assert _names(page) == ["Scratch"]
    assert page.selected_name() == "Scratch"
    assert messages[-1] == "Added “Scratch”"
    assert (tmp_path / "scratch.sqlite").is_file()


def test_adding_and_testing_a_postgresql_connection_records_the_server_version(
        context: AppContext, open_page: OpenPage, qtbot: QtBot, runner: TaskRunner,
        pg_database: Server) -> None:
    page = open_page(context)
    messages: list[str] = []
    page.status_message.connect(messages.append)
    _click(qtbot, page, "Add")
    dialog = _dialog(qtbot, page)
    dialog.type_combo.setCurrentIndex(dialog.type_combo.findData("postgresql"))
    _type(qtbot, dialog, name="Orders", host=pg_database.host, port=str(pg_database.port),
          database=pg_database.database, user=pg_database.user)
    _save(qtbot, page, dialog)

    assert page.selected_name() == "Orders"
    _click(qtbot, page, "Test")
    assert _cell(page, "Orders", Column.LAST_TEST) == TESTING
    assert messages[-1] == "Testing “Orders”…"
    assert not page.test_connection("Orders"), "one test per connection at a time"
    qtbot.waitUntil(lambda: not page.tests_running, timeout=15_000)
    assert _cell(page, "Orders", Column.LAST_TEST).startswith("ok: PostgreSQL ")
    assert messages[-1].startswith("“Orders”: PostgreSQL ")
    assert context.connections.get("Orders").last_test_at is not None
    assert page.selected_name() == "Orders"


def test_a_failed_test_is_recorded_with_the_servers_reason(
        context: AppContext, open_page: OpenPage, qtbot: QtBot, pg_password_server: Server) -> None:
    _add_saved(context, "Guarded", pg_password_server, password="wrong-password")
    page = open_page(context)
    messages: list[str] = []
    page.status_message.connect(messages.append)
    page.select_connection("Guarded")
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not page.tests_running, timeout=15_000)
    assert _cell(page, "Guarded", Column.LAST_TEST).startswith("failed: ")
    assert "password authentication failed" in messages[-1]
    assert "wrong-password" not in messages[-1]


def test_enter_edits_the_selected_connection_and_keeps_its_password(
        context: AppContext, open_page: OpenPage, qtbot: QtBot) -> None:
    _add_saved(context, "Orders", password="s3cret")
    page = open_page(context)
    page.select_connection("Orders")
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Return)
    dialog = _dialog(qtbot, page)
    assert dialog.original_name == "Orders"
    _type(qtbot, dialog, name="Orders (archive)")
    with qtbot.waitSignal(page.connections_changed):
        _save(qtbot, page, dialog)
    assert _names(page) == ["Orders (archive)"]
    assert page.selected_name() == "Orders (archive)"
    assert context.connections.connect_params(context.connections.get("Orders (archive)")).password == "s3cret"


def test_a_renamed_connection_takes_its_jobs_and_recent_queries_along(
        context: AppContext, open_page: OpenPage, qtbot: QtBot) -> None:
    _add_saved(context, "Orders", password="s3cret")
    context.schedules.save_job(Job(name="nightly", source="Orders", target="Orders", query="SELECT 1",
                                   table="t"))
    context.recent_queries.add("Orders", "SELECT 42")
    page = open_page(context)
    page.select_connection("Orders")
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Return)
    dialog = _dialog(qtbot, page)
    _type(qtbot, dialog, name="Orders EU")
    with qtbot.waitSignal(page.connections_changed):
        _save(qtbot, page, dialog)
    job = context.schedules.get_job("nightly")
    assert (job.source, job.target) == ("Orders EU", "Orders EU")
    assert context.recent_queries.list("Orders EU") == ["SELECT 42"]
    assert context.recent_queries.list("Orders") == []


def test_double_click_edits_and_cancel_changes_nothing(
        context: AppContext, open_page: OpenPage, qtbot: QtBot) -> None:
    _add_saved(context, "Orders")
    page = open_page(context)
    changes: list[None] = []
    page.connections_changed.connect(lambda: changes.append(None))
    index = page.proxy_model.index(0, Column.NAME)
    position = page.table.visualRect(index).center()
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=position)
    qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=position)
    dialog = _dialog(qtbot, page)
    assert dialog.name_edit.text() == "Orders"
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: page.active_dialog is None)
    assert changes == []
    assert _names(page) == ["Orders"]


def test_duplicate_adds_a_copy(context: AppContext, open_page: OpenPage, qtbot: QtBot) -> None:
    _add_saved(context, "Orders", password="s3cret")
    page = open_page(context)
    page.select_connection("Orders")
    _click(qtbot, page, "Duplicate")
    dialog = _dialog(qtbot, page)
    assert dialog.name_edit.text() == "Orders (copy)"
    with qtbot.waitSignal(page.connections_changed):
        _save(qtbot, page, dialog)
    assert _names(page) == ["Orders", "Orders (copy)"]
    assert page.selected_name() == "Orders (copy)"
    assert context.connections.connect_params(context.connections.get("Orders (copy)")).password == "s3cret"


# -- deleting ---------------------------------------------------------------------------------


def test_delete_key_asks_naming_the_connection_and_no_keeps_it(
        context: AppContext, open_page: OpenPage, qtbot: QtBot) -> None:
    _add_saved(context, "Orders")
    context.schedules.save_job(Job(name="nightly", source="Orders", target="Orders", query="SELECT 1",
                                   table="t"))
    page = open_page(context)
    page.select_connection("Orders")
    page.table.setFocus()
    seen: list[str] = []
    timer = _answer_next_message_box(qtbot, QMessageBox.StandardButton.No, seen)
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    timer.stop()
    assert seen and "Delete the connection “Orders”?" in seen[0]
    assert "1 saved job uses it (“nightly”)" in seen[0]
    assert _names(page) == ["Orders"]


def test_delete_with_yes_removes_the_connection(
        context: AppContext, open_page: OpenPage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    _add_saved(context, "Orders")
    _add_saved(context, "Reports")
    page = open_page(context)
    asked: list[str] = []

    def yes(parent: object, title: str, text: str, *args: object) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    page.select_connection("Orders")
    with qtbot.waitSignal(page.connections_changed):
        _click(qtbot, page, "Delete")
    assert asked == ["Delete the connection “Orders”?"]
    assert _names(page) == ["Reports"]
    assert [p.name for p in context.connections.list()] == ["Reports"]
    assert page.count_label.text() == "1 connection"


def test_a_page_closed_during_a_test_does_not_fail(
        context: AppContext, qtbot: QtBot, runner: TaskRunner, pg_database: Server) -> None:
    _add_saved(context, "Orders", pg_database)
    page = ConnectionsPage(context, runner)
    page.show()
    assert page.test_connection("Orders")
    page.close()
    page.deleteLater()
    qtbot.waitUntil(lambda: not runner.running, timeout=15_000)
    QApplication.processEvents()
    assert context.connections.get("Orders").last_test is not None



def test_a_test_that_ends_before_start_returns_is_recorded_and_can_run_again(
        context: AppContext, qtbot: QtBot) -> None:
    # The pool runs the test to its end inside start(), as a refused connection may.
    runner = TaskRunner(FinishingPool())
    context.connections.add(ConnectionProfile(name="Refused", type="postgresql", host="127.0.0.1",
                                              port=1, database="db", user="postgres"))
    page = ConnectionsPage(context, runner)
    qtbot.addWidget(page)
    page.show()
    assert page.test_connection("Refused")
    qtbot.waitUntil(lambda: _cell(page, "Refused", Column.LAST_TEST) != TESTING, timeout=5_000)
    assert "failed" in _cell(page, "Refused", Column.LAST_TEST).lower()
    assert page.test_connection("Refused"), "the ended test no longer blocks a new one"
