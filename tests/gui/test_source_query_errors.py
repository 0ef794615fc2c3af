"""The Migrate page names the user's query in its errors, never the wrapper around it, and a query
that is not one SELECT is refused on preview and run with the source left as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.gui.main_window import MainWindow
from qdbm_desktop.gui.migrate_page import TARGET_CHECK_DELAY_MS, MigratePage
from qdbm_desktop.gui.run_panel import RunCard
from tests.integration.conftest import Server


def _window(qtbot: QtBot, context: AppContext) -> MainWindow:
    ensure_first_run(context)
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    with qtbot.waitExposed(window):
        window.show()
    return window


def _preview(qtbot: QtBot, page: MigratePage) -> str:
    page.editor.setFocus()
    qtbot.keyClick(page.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.preview_button.isEnabled() and page.preview_status_label.text() != "",
                    timeout=15_000)
    return page.preview_status_label.text()


def _settle(qtbot: QtBot, window: MainWindow) -> None:
    """Let the target indicator's delayed look finish before the window closes."""
    qtbot.wait(TARGET_CHECK_DELAY_MS + 100)
    qtbot.waitUntil(lambda: not window.runner.running, timeout=15_000)


def _run(qtbot: QtBot, page: MigratePage) -> RunCard:
    card = page.start_migration()
    assert card is not None
    qtbot.waitUntil(lambda: card.finished, timeout=30_000)
    return card


def test_an_update_as_the_query_is_refused_on_preview_and_run_and_the_source_is_untouched(
        qtbot: QtBot, context: AppContext) -> None:
    window = _window(qtbot, context)
    page = window.migrate_page
    shop = Path(context.paths.demo_dir) / "demo_shop.sqlite"
    before = hashlib.sha256(shop.read_bytes()).hexdigest(), shop.stat().st_mtime_ns
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target(DEMO_TARGET_NAME)
    page.editor.set_query("UPDATE customers SET name = 'gone' -- every row")
    page.table_edit.setText("people")
    status = _preview(qtbot, page)
    assert status.startswith("Preview failed: the query must be one SELECT (this is an UPDATE)")
    assert "readonly" not in status
    for count in (False, True):
        page.count_check.setChecked(count)
        card = _run(qtbot, page)
        assert card.state_text == "failed"
        assert "the query must be one SELECT (this is an UPDATE)" in card.stats_text
        assert "syntax error" not in card.stats_text + card.log_text
    assert (hashlib.sha256(shop.read_bytes()).hexdigest(), shop.stat().st_mtime_ns) == before
    _settle(qtbot, window)


def test_a_missing_table_with_count_first_names_the_query_not_the_wrapper(
        qtbot: QtBot, context: AppContext, pg_database: Server) -> None:
    context.connections.add(ConnectionProfile(name="Warehouse PG", type="postgresql", host=pg_database.host,
                                              port=pg_database.port, database=pg_database.database,
                                              user=pg_database.user))
    window = _window(qtbot, context)
    window.refresh()
    page = window.migrate_page
    page.select_source("Warehouse PG")
    page.select_target(DEMO_TARGET_NAME)
    page.editor.set_query("SELECT * FROM orders -- the orders")
    page.table_edit.setText("orders_copy")
    page.count_check.setChecked(True)
    card = _run(qtbot, page)
    assert card.state_text == "failed"
    assert "read failed on 'Warehouse PG': relation \"orders\" does not exist" in card.stats_text
    for shown in (card.stats_text, card.log_text):
        assert "COUNT(*)" not in shown and "qdbm_count" not in shown
    status = _preview(qtbot, page)
    assert status == ("Preview failed: the query failed on 'Warehouse PG': relation \"orders\" does not exist "
                      "(line 1 of the query)")
    _settle(qtbot, window)


def test_a_query_with_a_trailing_comment_previews_and_runs(qtbot: QtBot, context: AppContext,
                                                           pg_database: Server) -> None:
    context.connections.add(ConnectionProfile(name="Warehouse PG", type="postgresql", host=pg_database.host,
                                              port=pg_database.port, database=pg_database.database,
                                              user=pg_database.user))
    window = _window(qtbot, context)
    window.refresh()
    page = window.migrate_page
    page.select_source("Warehouse PG")
    page.select_target("Warehouse PG")
    page.editor.set_query("select g from generate_series(1,10) g -- ten rows")
    page.table_edit.setText("ten")
    assert _preview(qtbot, page) == "1 columns; all 10 rows."
    page.count_check.setChecked(True)
    card = _run(qtbot, page)
    assert card.state_text == "succeeded", card.stats_text
    _settle(qtbot, window)
