"""The Migrate page's "Copy tables…" against real PostgreSQL, MariaDB and SQLite sources: the
checklist, target names and modes per table, and the one run that copies them (into SQLite)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.migration import Status
from qdbm_desktop.core.table_copy import TableCopy
from qdbm_desktop.gui.copy_tables_dialog import CopyColumn, CopyTablesDialog
from qdbm_desktop.gui.migrate_page import MigratePage
from qdbm_desktop.gui.run_panel import RunCard
from tests.gui import test_schema_tree as tree_tests
from tests.gui.test_schema_tree import ODD, Source, _relation, _wait_for_tables

# The schema tree tests' fixtures: a source database of each engine, and the Migrate page on it.
source = tree_tests.source
page = tree_tests.page

TARGET = "Browser copy target"


@pytest.fixture
def target(context: AppContext, tmp_path: Path) -> Path:
    path = tmp_path / "browser-copy-target.sqlite"
    sqlite3.connect(path).close()
    context.connections.add(ConnectionProfile(name=TARGET, type="sqlite", path=str(path)))
    return path


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def _open_dialog(qtbot: QtBot, page: MigratePage, source: Source) -> CopyTablesDialog:
    page.refresh_connections()
    page.select_target(TARGET)
    _wait_for_tables(qtbot, page, source)
    page.schema_tree.tree.setCurrentItem(_relation(page, source, ODD))
    qtbot.mouseClick(page.schema_tree.copy_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.copy_flow.dialog is not None, timeout=45_000)
    dialog = page.copy_flow.dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def _finished(qtbot: QtBot, page: MigratePage) -> RunCard:
    qtbot.waitUntil(lambda: page.run_panel.running_count == 0 and bool(page.run_panel.cards)
                    and page.run_panel.cards[-1].result is not None, timeout=60_000)
    return page.run_panel.cards[-1]


def test_copy_tables_checks_names_and_modes_and_copies_them_in_one_run(
        qtbot: QtBot, page: MigratePage, source: Source, target: Path, context: AppContext) -> None:
    dialog = _open_dialog(qtbot, page, source)
    model = dialog.model
    schema = source.default_schema
    # The table selected in the tree comes checked.
    assert model.selection() == [TableCopy(TableName(ODD, schema), ODD, LoadMode.APPEND)]
    assert dialog.copy_button.text() == "&Copy 1 table"
    model.set_checked(TableName("browser_customers", schema))
    model.set_checked(TableName("browser_customer_names", schema))
    customers = model.row_of(TableName("browser_customers", schema))
    assert model.setData(model.index(customers, CopyColumn.TARGET), "browser_clients")
    assert model.setData(model.index(customers, CopyColumn.MODE), "replace")
    dialog.filter_edit.setText("names")
    assert [dialog.view.isRowHidden(r) for r in range(model.rowCount())].count(False) == 1
    assert sorted(model.selection(), key=lambda c: c.target.lower()) == [
        TableCopy(TableName("browser_customers", schema), "browser_clients", LoadMode.REPLACE),
        TableCopy(TableName("browser_customer_names", schema), "browser_customer_names", view=True),
        TableCopy(TableName(ODD, schema), ODD, LoadMode.APPEND),
    ]
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    card = _finished(qtbot, page)
    assert card.result is not None and card.result.status is Status.SUCCEEDED, card.result
    assert card.result.rows_written == 6
    assert _rows(target, "SELECT id, name, email FROM browser_clients ORDER BY id") == [
        (1, "Ada", "ada@example.org"), (2, "Bob", None)]
    assert _rows(target, f'SELECT order_id, line_no, customer_id FROM "{ODD}" ORDER BY line_no') == [
        (10, 1, 1), (10, 2, 2)]
    assert _rows(target, "SELECT name FROM browser_customer_names ORDER BY name") == [("Ada",), ("Bob",)]
    # The new tables are offered by the destination's Table field at once.
    completions = page.catalog_feeds.table_completer.model()
    qtbot.waitUntil(lambda: "browser_clients" in completions.stringList(), timeout=45_000)  # type: ignore[attr-defined]
    # One recorded run per table, in the History like any other run.
    tables = sorted(r.target_table for r in context.history.runs())
    assert len(tables) == 3 and any("browser_clients" in t for t in tables)


@pytest.mark.parametrize("source", ["sqlite"], indirect=True)
def test_a_failing_table_stops_the_copy_and_the_card_names_it(
        qtbot: QtBot, page: MigratePage, source: Source, target: Path) -> None:
    with sqlite3.connect(target) as conn:
        conn.execute("CREATE TABLE browser_customers (id INTEGER)")
    dialog = _open_dialog(qtbot, page, source)
    model = dialog.model
    model.set_all_checked(False)
    customers = TableName("browser_customers", source.default_schema)
    model.set_checked(customers)
    model.set_checked(TableName(ODD, source.default_schema))
    assert model.setData(model.index(model.row_of(customers), CopyColumn.MODE), "create")
    dialog.accept()
    card = _finished(qtbot, page)
    assert card.result is not None and card.result.status is Status.FAILED
    assert "browser_customers" in (card.result.error or "")
    # The customers come first (the order lines refer to them) and fail: nothing else is loaded.
    assert _rows(target, "SELECT name FROM sqlite_master WHERE type = 'table'") == [("browser_customers",)]


@pytest.mark.parametrize("source", ["sqlite"], indirect=True)
def test_copy_tables_asks_for_a_destination_first(qtbot: QtBot, page: MigratePage, context: AppContext,
                                                  source: Source) -> None:
    for profile in context.connections.list():
        if profile.name != "Browser source":
            context.connections.remove(profile.name)
    page.refresh_connections()
    page.copy_tables()
    assert "destination" in page.message_label.text()
    assert page.copy_flow.dialog is None


@pytest.mark.parametrize("source", ["sqlite"], indirect=True)
def test_save_as_job_keeps_the_checked_tables_with_their_names_and_modes(
        qtbot: QtBot, page: MigratePage, source: Source, target: Path, context: AppContext) -> None:
    dialog = _open_dialog(qtbot, page, source)
    model = dialog.model
    customers = TableName("browser_customers", source.default_schema)
    model.set_checked(customers)
    model.setData(model.index(model.row_of(customers), CopyColumn.TARGET), "browser_clients")
    assert not dialog.save_button.isEnabled()  # no name yet
    dialog.findChild(QLineEdit, "copyTablesJobName").setText("browser nightly copy")  # type: ignore[union-attr]
    assert dialog.save_button.isEnabled()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    job = context.schedules.find_job("browser nightly copy")
    assert job is not None and job.tables is not None
    assert job.source == "Browser source" and job.target == TARGET
    overrides = {o.source: (o.target, o.mode) for o in job.tables.overrides}
    assert overrides == {'"main"."Order Lines"': (ODD, "append"),
                         '"main"."browser_customers"': ("browser_clients", "append")}
    assert "Saved as job" in page.message_label.text()
    assert _rows(target, "SELECT name FROM sqlite_master") == []  # saved, not run
