"""The Migrate and History pages driven through the real main window against real databases."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QToolButton
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_QUERY, DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.core.history import RunStatus
from qdbm_desktop.gui.column_mapping_model import Column as MapColumn
from qdbm_desktop.gui.column_mapping_model import ColumnMappingModel
from qdbm_desktop.gui.history_model import Column as HistoryColumn
from qdbm_desktop.gui.main_window import MainWindow
from qdbm_desktop.gui.migrate_page import MigratePage, PlanDialog
from qdbm_desktop.gui.preview_model import PreviewModel
from qdbm_desktop.gui.run_panel import RunCard
from tests.integration.conftest import Server

OpenWindow = Callable[[AppContext], MainWindow]
# About 2 s on PostgreSQL: a sleep every 500 of 30,000 rows, so a run can be cancelled mid-way.
SLOW_QUERY = ("SELECT g AS id, 'row ' || g AS label, "
              "length(CASE WHEN g % 500 = 0 THEN pg_sleep(0.03)::text ELSE '' END) AS pad "
              "FROM generate_series(1, 30000) AS g")


@pytest.fixture
def open_window(qtbot: QtBot) -> OpenWindow:
    def open_(context: AppContext) -> MainWindow:
        ensure_first_run(context)
        window = MainWindow(context)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        with qtbot.waitExposed(window):
            window.show()
        return window

    return open_


def _pg_connection(context: AppContext, server: Server, name: str = "Warehouse PG",
                   password: str | None = None) -> None:
    secrets = {"password": password} if password else None
    context.connections.add(ConnectionProfile(name=name, type="postgresql", host=server.host, port=server.port,
                                              database=server.database, user=server.user), secrets)


def _pg_rows(server: Server, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database) as conn:
        return conn.execute(sql).fetchall()


def _preview(qtbot: QtBot, page: MigratePage) -> None:
    """Preview with the keyboard, as a user does: Ctrl+Enter in the editor."""
    page.editor.setFocus()
    qtbot.keyClick(page.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.preview_button.isEnabled() and page.preview_status_label.text() != "",
                    timeout=15_000)


def _edit_cell(qtbot: QtBot, page: MigratePage, row: int, column: MapColumn, text: str) -> None:
    """Select a mapping cell, press F2, type, press Enter: a keyboard user's edit of the grid."""
    page.tabs.setCurrentWidget(page.mapping_view)
    view = page.mapping_view
    view.setFocus()
    view.setCurrentIndex(view.model().index(row, column))
    qtbot.keyClick(view, Qt.Key.Key_F2)
    editors = [e for e in view.viewport().findChildren(QLineEdit) if e.isVisible()]
    assert len(editors) == 1, editors
    editor = editors[0]
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not [e for e in view.viewport().findChildren(QLineEdit) if e.isVisible()])


def _wait_for_card(qtbot: QtBot, page: MigratePage, timeout: int = 30_000) -> RunCard:
    qtbot.waitUntil(lambda: bool(page.run_panel.cards) and page.run_panel.cards[0].finished, timeout=timeout)
    return page.run_panel.cards[0]


def test_sqlite_to_postgresql_with_a_renamed_and_retyped_column_arrives_and_is_in_history(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow, pg_database: Server) -> None:
    _pg_connection(context, pg_database)
    window = open_window(context)
    window.refresh()
    page = window.migrate_page
    window.show_page("migrate")
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target("Warehouse PG")
    page.editor.set_query(DEMO_QUERY)
    _preview(qtbot, page)

    assert page.preview_status_label.text() == "7 columns; the first 100 rows."
    assert [c.name for c in page.preview_model.columns] == [
        "order_id", "customer", "country", "ordered_at", "paid_at", "status", "total"]
    assert page.preview_model.rowCount() == 100
    # The grid starts with the engine's suggestion for PostgreSQL.
    mapping = page.mapping_model
    assert mapping.index(6, MapColumn.NATIVE).data() == "numeric(12,2)"
    _edit_cell(qtbot, page, 1, MapColumn.TARGET, "customer_name")
    _edit_cell(qtbot, page, 6, MapColumn.TYPE, "decimal(14,4)")
    assert mapping.index(6, MapColumn.NATIVE).data() == "numeric(14,4)"
    mapping.setData(mapping.index(2, MapColumn.INCLUDE), Qt.CheckState.Unchecked.value,
                    Qt.ItemDataRole.CheckStateRole)

    qtbot.keyClicks(page.table_edit, "public.orders_copy")
    qtbot.waitUntil(lambda: "does not exist" in page.target_status_label.text(), timeout=10_000)
    page.mode_combo.setCurrentIndex(page.mode_combo.findData("create"))
    page.count_check.setChecked(True)
    qtbot.keyClick(page.editor, Qt.Key.Key_F5)
    card = _wait_for_card(qtbot, page)

    assert card.state_text == "succeeded", card.stats_text
    assert card.stats_text.startswith("Succeeded: 3,000 rows into public.orders_copy")
    assert "committed" in card.log_text
    columns = _pg_rows(pg_database, "SELECT column_name, data_type, numeric_precision, numeric_scale "
                                    "FROM information_schema.columns WHERE table_name = 'orders_copy' "
                                    "ORDER BY ordinal_position")
    assert [c[0] for c in columns] == ["order_id", "customer_name", "ordered_at", "paid_at", "status", "total"]
    assert columns[-1] == ("total", "numeric", 14, 4)
    shop = sqlite3.connect(Path(context.paths.demo_dir) / "demo_shop.sqlite")
    expected = shop.execute("SELECT COUNT(*), SUM(CAST(total AS TEXT) + 0) FROM orders").fetchone()
    shop.close()
    (count, total), = _pg_rows(pg_database, "SELECT COUNT(*), SUM(total) FROM orders_copy")
    assert (count, float(total)) == (expected[0], pytest.approx(expected[1]))
    # Unicode names arrive unchanged.
    assert _pg_rows(pg_database, "SELECT customer_name FROM orders_copy WHERE order_id = 1") == [
        (page.preview_model.index(0, 1).data(),)]

    window.show_page("history")
    history = window.history_page
    qtbot.waitUntil(lambda: history.model.rowCount() == 1)
    record = history.model.row_at(0)
    assert (record.status, record.source, record.target, record.target_table, record.rows_written) == (
        RunStatus.SUCCEEDED, DEMO_SOURCE_NAME, "Warehouse PG", "public.orders_copy", 3000)
    assert history.select_run(record.run_id)
    assert "succeeded: 3,000 rows" in history.detail.toPlainText()
    assert history.proxy.index(0, HistoryColumn.STATUS).data() == "succeeded"


def test_cancel_stops_a_long_run_and_leaves_the_target_as_it_was(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow, pg_database: Server) -> None:
    _pg_connection(context, pg_database)
    with psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                         dbname=pg_database.database) as conn:
        conn.execute("CREATE TABLE keep (id integer, label text, pad integer)")
        conn.execute("INSERT INTO keep VALUES (1, 'before', 0), (2, 'before', 0)")
    window = open_window(context)
    window.refresh()
    page = window.migrate_page
    page.select_source("Warehouse PG")
    page.select_target("Warehouse PG")
    page.editor.set_query(SLOW_QUERY)
    page.table_edit.setText("keep")
    page.mode_combo.setCurrentIndex(page.mode_combo.findData("truncate"))
    page.batch_spin.setValue(1000)
    card = page.start_migration()
    assert card is not None
    assert window.running_label.text() == "1 migration running"
    qtbot.waitUntil(lambda: "written 2," in card.stats_text or "written 3," in card.stats_text, timeout=15_000)
    qtbot.mouseClick(card.cancel_button, Qt.MouseButton.LeftButton)
    _wait_for_card(qtbot, page)

    assert card.state_text == "cancelled"
    assert card.stats_text.endswith("keep is unchanged")
    assert _pg_rows(pg_database, "SELECT id, label FROM keep ORDER BY id") == [(1, "before"), (2, "before")]
    assert _pg_rows(pg_database, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'qdbm_%'") == [(0,)]
    assert window.running_label.text() == "No migration running"
    assert context.history.runs()[0].status is RunStatus.CANCELLED


def test_a_wrong_password_fails_the_run_with_its_reason_and_the_window_stays_responsive(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow, pg_password_server: Server) -> None:
    _pg_connection(context, pg_password_server, "Locked", password="not-the-password")
    window = open_window(context)
    window.refresh()
    page = window.migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target("Locked")
    page.editor.set_query("SELECT customer_id, name FROM customers")
    page.table_edit.setText("customers")
    card = page.start_migration()
    assert card is not None
    # While the run connects, the window answers: another page opens and its table is filled.
    window.show_page("connections")
    assert window.current_page() == "connections" and window.connections_model.rowCount() == 3
    card = _wait_for_card(qtbot, page)
    assert card.state_text == "failed"
    assert "password authentication failed" in card.stats_text
    assert "not-the-password" not in card.stats_text + card.log_text


def test_bad_input_is_refused_before_anything_runs(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    window = open_window(context)
    page = window.migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target(DEMO_TARGET_NAME)
    assert page.start_migration() is None
    assert "write the query" in page.message_label.text()
    assert "name the target table" in page.message_label.text()

    page.editor.set_query("SELECT customer_id, name FROM customers")
    _preview(qtbot, page)
    page.table_edit.setText("people")
    _edit_cell(qtbot, page, 0, MapColumn.TYPE, "decimal(4")
    assert page.mapping_model.index(0, MapColumn.TYPE).data(Qt.ItemDataRole.ForegroundRole) is not None
    assert page.start_migration() is None
    assert "customer_id: 'decimal(4' is not a type" in page.message_label.text()
    page.mode_combo.setCurrentIndex(page.mode_combo.findData("upsert"))
    assert "name the key columns for upsert" in (page.start_migration() or page.message_label.text())
    assert page.run_panel.cards == [] and context.history.runs() == []
    with sqlite3.connect(Path(context.paths.demo_dir) / "warehouse.sqlite") as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'people'").fetchall() == []


def test_a_failed_preview_says_why(qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    page = open_window(context).migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.editor.set_query("SELECT * FROM no_such_table")
    _preview(qtbot, page)
    assert page.preview_status_label.text().startswith("Preview failed:")
    assert "no_such_table" in page.preview_status_label.text()


def test_show_sql_shows_the_plan_and_the_ddl_and_changes_nothing(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    page = open_window(context).migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target(DEMO_TARGET_NAME)
    page.editor.set_query("SELECT customer_id, name FROM customers")
    page.table_edit.setText("people")
    qtbot.mouseClick(page.show_sql_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.findChild(PlanDialog) is not None and page.findChild(PlanDialog).isVisible(),
                    timeout=10_000)
    dialog = page.findChild(PlanDialog)
    assert 'CREATE TABLE "people"' in dialog.text
    assert "customer_id (INTEGER) -> customer_id int64" in dialog.text
    dialog.close()
    with sqlite3.connect(Path(context.paths.demo_dir) / "warehouse.sqlite") as db:
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_run_again_from_history_fills_the_migrate_page(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    window = open_window(context)
    page = window.migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target(DEMO_TARGET_NAME)
    page.editor.set_query("SELECT product_id, name FROM products")
    page.table_edit.setText("products")
    page.mode_combo.setCurrentIndex(page.mode_combo.findData("replace"))
    page.start_migration()
    _wait_for_card(qtbot, page)
    page.editor.set_query("")
    page.table_edit.setText("")

    window.show_page("history")
    history = window.history_page
    qtbot.waitUntil(lambda: history.model.rowCount() == 1)
    history.table.selectRow(0)
    qtbot.mouseClick(history.run_again_button, Qt.MouseButton.LeftButton)
    assert window.current_page() == "migrate"
    assert page.editor.query() == "SELECT product_id, name FROM products"
    assert (page.table_edit.text(), page.mode_combo.currentData()) == ("products", "replace")
    assert (page.source_combo.currentData(), page.target_combo.currentData()) == (DEMO_SOURCE_NAME,
                                                                                  DEMO_TARGET_NAME)


def test_recent_queries_of_the_source_come_back(qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    page = open_window(context).migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.editor.set_query("SELECT 1 AS one")
    _preview(qtbot, page)
    page.editor.set_query("")
    button: QToolButton = page.recent_button
    button.refresh_menu()
    actions = [a for a in button.menu().actions() if a.data() == "SELECT 1 AS one"]
    assert actions, [a.text() for a in button.menu().actions()]
    actions[0].trigger()
    assert page.editor.query() == "SELECT 1 AS one"


def test_the_window_remembers_its_last_page(qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    first = open_window(context)
    first.show_page("history")
    first.close()
    second = open_window(context)
    assert second.current_page() == "history"
    assert second.sidebar.currentItem().text() == "History"


def test_page_shortcuts_switch_pages(qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    window = open_window(context)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() == "history"
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() == "connections"


def test_models_pass_the_model_tester(qtmodeltester: Any, context: AppContext, qtbot: QtBot,
                                      open_window: OpenWindow) -> None:
    window = open_window(context)
    page = window.migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target(DEMO_TARGET_NAME)
    page.editor.set_query(DEMO_QUERY)
    _preview(qtbot, page)
    preview: PreviewModel = page.preview_model
    mapping: ColumnMappingModel = page.mapping_model
    qtmodeltester.check(preview)
    qtmodeltester.check(mapping)
    page.table_edit.setText("orders")
    page.start_migration()
    _wait_for_card(qtbot, page)
    window.history_page.refresh()
    qtmodeltester.check(window.history_page.model)
    qtmodeltester.check(window.history_page.proxy)
    qtmodeltester.check(window.schedules_page.model)


def test_a_second_run_into_the_same_table_shows_it_is_waiting_then_both_arrive_in_full(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow, pg_database: Server) -> None:
    _pg_connection(context, pg_database)
    window = open_window(context)
    window.refresh()
    page = window.migrate_page
    page.select_source("Warehouse PG")
    page.select_target("Warehouse PG")
    page.editor.set_query(SLOW_QUERY)
    page.table_edit.setText("shared")
    page.mode_combo.setCurrentIndex(page.mode_combo.findData("append"))
    page.batch_spin.setValue(1000)
    first = page.start_migration()
    assert first is not None
    qtbot.waitUntil(lambda: "written 1," in first.stats_text or "written 2," in first.stats_text, timeout=15_000)
    second = page.start_migration()
    assert second is not None
    qtbot.waitUntil(lambda: second.state_text == "waiting for another run into this table" or second.finished,
                    timeout=15_000)
    assert second.state_text == "waiting for another run into this table"
    assert window.running_label.text() == "2 migrations running"
    qtbot.waitUntil(lambda: first.finished and second.finished, timeout=60_000)
    qtbot.waitUntil(lambda: window.running_label.text() == "No migration running", timeout=10_000)
    # The page looks at the target again after a run, and shows what both runs put there.
    qtbot.waitUntil(lambda: page.target_status_label.text().startswith("● exists, 60,000 rows"), timeout=10_000)
    qtbot.waitUntil(lambda: not window.runner.running, timeout=10_000)

    assert (first.state_text, second.state_text) == ("succeeded", "succeeded"), (first.stats_text, second.stats_text)
    assert "waiting for another run into shared" in second.log_text
    assert _pg_rows(pg_database, "SELECT count(*), count(DISTINCT id) FROM shared") == [(60_000, 30_000)]
    assert _pg_rows(pg_database, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'qdbm_%'") == [(0,)]
