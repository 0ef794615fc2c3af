"""The Migrate and History pages driven through the real main window against real databases."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_QUERY, DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.core.history import RunStatus
from qdbm_desktop.gui.colours import error_colour
from qdbm_desktop.gui.column_mapping_model import Column as MapColumn
from qdbm_desktop.gui.column_mapping_model import ColumnMappingModel
from qdbm_desktop.gui.history_model import Column as HistoryColumn
from qdbm_desktop.gui.main_window import MainWindow
from qdbm_desktop.gui.migrate_dialogs import DestructiveRunQuestion
from qdbm_desktop.gui.migrate_page import STALE_PREVIEW_TEXT, MigratePage, PlanDialog
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
    page.tabs.setCurrentWidget(page.mapping_tab)
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
    assert "connected to Warehouse PG (PostgreSQL)" in card.log_text
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
    assert count == expected[0] and float(total) == pytest.approx(expected[1])
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
    assert page.start_migration() is None
    question = _question(qtbot, page)
    assert "“keep” on Warehouse PG holds 2 rows in 3 columns." in question.text()
    qtbot.mouseClick(question.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(page.run_panel.cards))
    card = page.run_panel.cards[0]
    assert window.running_label.text() == "1 migration running"
    qtbot.waitUntil(lambda: "written 2," in card.stats_text or "written 3," in card.stats_text, timeout=15_000)
    qtbot.mouseClick(card.cancel_button, Qt.MouseButton.LeftButton)
    _wait_for_card(qtbot, page)

    assert card.state_text == "cancelled"
    assert card.stats_text.endswith("keep is unchanged")
    assert card.progress_bar.text().startswith("Cancelled after "), card.progress_bar.text()
    assert int(card.progress_bar.text().split()[2].replace(",", "")) >= 2000
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
    assert page.start_migration() is None
    assert "name the key columns for upsert" in page.message_label.text()
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
    qtbot.waitUntil(lambda: (shown := page.findChild(PlanDialog)) is not None and shown.isVisible(), timeout=10_000)
    dialog = page.findChild(PlanDialog)
    assert dialog is not None
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
    button = page.recent_button
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


def test_on_a_first_start_the_destination_is_the_demo_warehouse_and_a_naive_run_succeeds(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    page = open_window(context).migrate_page
    assert page.source_combo.currentData() == DEMO_SOURCE_NAME
    assert page.target_combo.currentData() == DEMO_TARGET_NAME
    page.editor.set_query(DEMO_QUERY)
    page.table_edit.setText("orders")
    qtbot.keyClick(page.editor, Qt.Key.Key_F5)
    card = _wait_for_card(qtbot, page)
    assert card.state_text == "succeeded", card.stats_text
    with sqlite3.connect(Path(context.paths.demo_dir) / "warehouse.sqlite") as db:
        assert db.execute("SELECT count(*) FROM orders").fetchone() == (3000,)
    # The demo's labels name their type already: the log does not say it twice.
    assert "connected to Local warehouse (SQLite)\n" in card.log_text + "\n"
    assert "(SQLite) (SQLite)" not in card.log_text


def test_the_destination_never_defaults_to_the_source(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow, pg_database: Server) -> None:
    # Sorted by name, "A first" would be both the first source and the first destination.
    _pg_connection(context, pg_database, name="A first")
    _pg_connection(context, pg_database, name="B second")
    page = open_window(context).migrate_page
    assert page.source_combo.currentData() == "A first"
    assert page.target_combo.currentData() == DEMO_TARGET_NAME
    # Picking the default destination as the source moves the destination, until the user picks one.
    page.select_source(DEMO_TARGET_NAME)
    assert page.target_combo.currentData() not in (DEMO_TARGET_NAME, None)
    page.select_target(DEMO_SOURCE_NAME)
    page.select_source(DEMO_SOURCE_NAME)
    assert page.target_combo.currentData() == DEMO_SOURCE_NAME, "a destination the user chose is kept"


def test_with_a_single_connection_the_destination_is_left_for_the_user_to_choose(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    ensure_first_run(context)
    context.connections.remove(DEMO_TARGET_NAME)
    page = open_window(context).migrate_page
    assert page.source_combo.currentData() == DEMO_SOURCE_NAME
    assert page.target_combo.currentIndex() == -1
    page.editor.set_query("SELECT 1 AS one")
    page.table_edit.setText("one")
    assert page.start_migration() is None
    assert "choose a destination connection" in page.message_label.text()


def _is_error_colour(label: Any) -> bool:
    return error_colour(label.palette()) in label.styleSheet()


def test_changing_the_query_clears_the_preview_and_marks_the_mapping_out_of_date_at_once(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    page = open_window(context).migrate_page
    page.editor.set_query("SELECT customer_id, name FROM customers")
    _preview(qtbot, page)
    stale_after_the_preview = page.mapping_model.stale
    assert page.preview_model.columnCount() == 2 and not stale_after_the_preview
    mapping_tab = page.tabs.indexOf(page.mapping_tab)

    page.editor.setFocus()
    page.editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(page.editor, " WHERE customer_id < 10")
    assert page.preview_model.columnCount() == 0 and page.preview_model.rowCount() == 0
    assert page.preview_status_label.text() == STALE_PREVIEW_TEXT
    stale_after_the_edit = page.mapping_model.stale
    assert stale_after_the_edit
    assert page.tabs.tabText(mapping_tab) == "Column mapping (out of date)"
    assert page.mapping_model.index(0, MapColumn.SOURCE).data(Qt.ItemDataRole.ToolTipRole).startswith(
        "From an earlier query")

    _preview(qtbot, page)
    assert page.preview_model.rowCount() == 9 and not page.mapping_model.stale
    assert page.tabs.tabText(mapping_tab) == "Column mapping"


def test_changing_the_source_marks_the_preview_and_the_mapping_out_of_date(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    page = open_window(context).migrate_page
    page.editor.set_query("SELECT 1 AS one")
    _preview(qtbot, page)
    assert page.preview_model.rowCount() == 1
    page.select_source(DEMO_TARGET_NAME)
    assert page.preview_model.rowCount() == 0 and page.mapping_model.stale
    assert page.preview_status_label.text() == STALE_PREVIEW_TEXT
    # Back to what was previewed: the mapping describes the form again (the grid is not refetched).
    page.select_source(DEMO_SOURCE_NAME)
    assert not page.mapping_model.stale


def test_a_run_refuses_an_out_of_date_mapping_with_choices_and_uses_it_after_a_new_preview(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    page = open_window(context).migrate_page
    page.editor.set_query("SELECT customer_id, name FROM customers")
    _preview(qtbot, page)
    _edit_cell(qtbot, page, 1, MapColumn.TARGET, "customer_name")
    page.table_edit.setText("people")
    page.editor.set_query("SELECT customer_id, name, country FROM customers")

    assert page.start_migration() is None
    assert "the column mapping is from an earlier query" in page.message_label.text()
    assert _is_error_colour(page.message_label)
    assert page.run_panel.cards == []

    _preview(qtbot, page)
    assert page.mapping_model.index(1, MapColumn.TARGET).data() == "customer_name", "the choice is kept"
    page.start_migration()
    card = _wait_for_card(qtbot, page)
    assert card.state_text == "succeeded", card.stats_text
    with sqlite3.connect(Path(context.paths.demo_dir) / "warehouse.sqlite") as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(people)")]
    assert columns == ["customer_id", "customer_name", "country"]


def test_an_out_of_date_mapping_without_choices_runs_the_query_as_it_is_now(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    page = open_window(context).migrate_page
    page.editor.set_query("SELECT customer_id FROM customers")
    _preview(qtbot, page)
    page.editor.set_query("SELECT customer_id, name FROM customers")
    page.table_edit.setText("people")
    page.start_migration()
    card = _wait_for_card(qtbot, page)
    assert card.state_text == "succeeded", card.stats_text
    with sqlite3.connect(Path(context.paths.demo_dir) / "warehouse.sqlite") as db:
        assert [row[1] for row in db.execute("PRAGMA table_info(people)")] == ["customer_id", "name"]


def test_a_preview_that_ends_after_the_query_changed_is_not_shown(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow, pg_database: Server) -> None:
    _pg_connection(context, pg_database)
    window = open_window(context)
    page = window.migrate_page
    page.select_source("Warehouse PG")
    page.editor.set_query("SELECT pg_sleep(0.5) AS slept, 1 AS one")
    qtbot.mouseClick(page.preview_button, Qt.MouseButton.LeftButton)
    assert not page.preview_button.isEnabled()
    page.editor.set_query("SELECT 2 AS two")
    assert page.preview_button.isEnabled()
    qtbot.waitUntil(lambda: not window.runner.running, timeout=10_000)
    assert page.preview_model.columnCount() == 0
    assert page.mapping_model.rowCount() == 0


def test_cannot_start_messages_are_in_the_error_colour_and_others_are_not(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    page = open_window(context).migrate_page
    assert page.start_migration() is None
    assert page.message_label.text().startswith("Cannot start:")
    assert _is_error_colour(page.message_label)
    assert "highlight" not in page.message_label.styleSheet()
    page.editor.set_query("SELECT 1 AS one")
    page.table_edit.setText("one")
    saved = page.save_as_job("one")
    assert saved is not None
    assert page.message_label.text() == "Saved as job “one”."
    assert not _is_error_colour(page.message_label)


def _warehouse_table(context: AppContext, name: str, columns: int, rows: int) -> Path:
    """A table of integers in the demo warehouse; its first two columns are named as the query's."""
    path = Path(context.paths.demo_dir) / "warehouse.sqlite"
    names = ["order_id", "customer_id", *(f"c{i}" for i in range(2, columns))][:columns]
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE {name} ({', '.join(n + ' INTEGER' for n in names)})")
        db.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * columns)})",
                       [tuple(range(r, r + columns)) for r in range(rows)])
    return path


def _table_shape(path: Path, name: str) -> tuple[int, int]:
    with sqlite3.connect(path) as db:
        columns = len(db.execute(f"PRAGMA table_info({name})").fetchall())
        (rows,), = db.execute(f"SELECT count(*) FROM {name}").fetchall()
    return columns, rows


def _question(qtbot: QtBot, page: MigratePage) -> DestructiveRunQuestion:
    qtbot.waitUntil(lambda: page.pending_question is not None and page.pending_question.isVisible(),
                    timeout=10_000)
    question = page.pending_question
    assert question is not None
    return question


def _fill_replace_form(page: MigratePage, mode: str = "replace", table: str = "orders_wide") -> None:
    page.editor.set_query("SELECT order_id, customer_id FROM orders")
    page.table_edit.setText(table)
    page.mode_combo.setCurrentIndex(page.mode_combo.findData(mode))


def test_f5_in_replace_mode_on_an_existing_table_asks_naming_its_rows_and_columns_and_cancel_keeps_it(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    window = open_window(context)
    path = _warehouse_table(context, "orders_wide", columns=9, rows=500)
    page = window.migrate_page
    _fill_replace_form(page)
    page.editor.setFocus()
    qtbot.keyClick(page.editor, Qt.Key.Key_F5)
    question = _question(qtbot, page)

    assert "“orders_wide” on Local warehouse (SQLite) holds 500 rows in 9 columns." in question.text()
    assert "a table of 2 columns" in question.informativeText()
    assert question.windowTitle() == "Replace orders_wide?"
    assert question.dont_ask_check.text() == "Don't ask again for orders_wide on Local warehouse (SQLite)"
    assert question.defaultButton() is not question.confirm_button, "Enter must not replace the table"
    assert page.run_panel.cards == []
    qtbot.keyClick(question, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: page.pending_question is None)
    assert page.message_label.text() == "Not started: orders_wide is unchanged."
    assert page.run_panel.cards == [] and context.history.runs() == []
    assert _table_shape(path, "orders_wide") == (9, 500)
    assert page.migrate_button.isEnabled()


def test_confirming_the_question_runs_the_replace_and_the_next_f5_asks_again(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    window = open_window(context)
    path = _warehouse_table(context, "orders_wide", columns=9, rows=500)
    page = window.migrate_page
    _fill_replace_form(page)
    assert page.start_migration() is None
    question = _question(qtbot, page)
    qtbot.mouseClick(question.confirm_button, Qt.MouseButton.LeftButton)
    card = _wait_for_card(qtbot, page)
    assert card.state_text == "succeeded", card.stats_text
    assert _table_shape(path, "orders_wide") == (2, 3000)

    page.start_migration()
    question = _question(qtbot, page)
    assert "holds 3,000 rows in 2 columns" in question.text(), "the question names the table as it is now"
    question.reject()


def test_truncate_asks_too_and_dont_ask_again_is_kept_for_that_table_only(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    window = open_window(context)
    path = _warehouse_table(context, "orders_wide", columns=2, rows=7)
    _warehouse_table(context, "other_table", columns=2, rows=1)
    page = window.migrate_page
    _fill_replace_form(page, mode="truncate")
    page.start_migration()
    question = _question(qtbot, page)
    assert question.windowTitle() == "Empty orders_wide?"
    assert "holds 7 rows in 2 columns" in question.text()
    assert "Truncate empties it" in question.informativeText()
    question.dont_ask_check.setChecked(True)
    qtbot.mouseClick(question.confirm_button, Qt.MouseButton.LeftButton)
    card = _wait_for_card(qtbot, page)
    assert card.state_text == "succeeded", card.stats_text
    assert _table_shape(path, "orders_wide") == (2, 3000)

    # The same table again: no question, even in a window opened later.
    second = open_window(context)
    page = second.migrate_page
    _fill_replace_form(page, mode="truncate")
    started = page.start_migration()
    assert started is not None and page.pending_question is None
    _wait_for_card(qtbot, page)
    # Another table still asks.
    _fill_replace_form(page, mode="truncate", table="other_table")
    assert page.start_migration() is None
    _question(qtbot, page).reject()


def test_dont_ask_again_for_a_saved_job_holds_while_the_form_is_that_job(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    window = open_window(context)
    _warehouse_table(context, "orders_wide", columns=9, rows=500)
    _warehouse_table(context, "orders_other", columns=9, rows=5)
    page = window.migrate_page
    _fill_replace_form(page)
    assert page.save_as_job("wide orders") is not None
    page.start_migration()
    question = _question(qtbot, page)
    assert question.dont_ask_check.text() == "Don't ask again for this job (“wide orders”)"
    question.dont_ask_check.setChecked(True)
    qtbot.mouseClick(question.confirm_button, Qt.MouseButton.LeftButton)
    _wait_for_card(qtbot, page)
    page.run_panel.cards[0].dismissed.emit()

    assert page.start_migration() is not None, "the job does not ask again"
    _wait_for_card(qtbot, page)
    # Another table is no longer that job: it asks (for the table).
    page.table_edit.setText("orders_other")
    assert page.start_migration() is None
    question = _question(qtbot, page)
    assert question.dont_ask_check.text() == "Don't ask again for orders_other on Local warehouse (SQLite)"
    question.reject()


def test_replace_into_a_table_that_does_not_exist_runs_without_a_question(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    page = open_window(context).migrate_page
    _fill_replace_form(page, table="brand_new")
    page.start_migration()
    card = _wait_for_card(qtbot, page)
    assert card.state_text == "succeeded" and page.pending_question is None


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


def test_the_mapping_grid_says_not_null_as_the_readme_and_show_sql_do_and_a_ticked_column_is_created_so(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow, pg_database: Server) -> None:
    _pg_connection(context, pg_database)
    page = open_window(context).migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target("Warehouse PG")
    page.editor.set_query("SELECT customer_id, email FROM customers")
    _preview(qtbot, page)
    assert page.preview_status_label.text() == "2 columns; the first 100 rows.", page.preview_status_label.text()
    mapping = page.mapping_model
    assert mapping.headerData(MapColumn.NOT_NULL, Qt.Orientation.Horizontal) == "NOT NULL"
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "NOT NULL" in readme and "Nullable" not in readme
    assert mapping.index(1, MapColumn.NOT_NULL).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    mapping.setData(mapping.index(0, MapColumn.NOT_NULL), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    page.table_edit.setText("people")
    page.start_migration()
    card = _wait_for_card(qtbot, page)
    assert card.state_text == "succeeded", card.stats_text
    assert _pg_rows(pg_database, "SELECT column_name, is_nullable FROM information_schema.columns "
                                 "WHERE table_name = 'people' ORDER BY ordinal_position") == [
        ("customer_id", "NO"), ("email", "YES")]


def test_a_table_that_cannot_be_looked_at_still_asks_before_a_replace_and_says_why(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    context.connections.add(ConnectionProfile(name="Down", type="postgresql", host="127.0.0.1", port=port,
                                              database="dwh", user="postgres"))
    page = open_window(context).migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target("Down")
    _fill_replace_form(page)
    assert page.start_migration() is None
    assert not page.migrate_button.isEnabled(), "a second F5 waits for the answer"
    question = _question(qtbot, page)
    assert question.text() == "<b>“orders_wide” on Down could not be looked at: it may exist.</b>"
    assert question.informativeText().startswith("(cannot connect to 'Down'")
    assert "Replace drops it" in question.informativeText()
    question.reject()
    qtbot.waitUntil(lambda: page.pending_question is None)
    assert page.run_panel.cards == [] and page.migrate_button.isEnabled()
