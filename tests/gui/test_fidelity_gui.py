"""The fidelity report on the Migrate page: an icon and reason per mapping row, a summary above the
grid, and an explicit yes before a run with lossy columns (which a saved job then records)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME
from qdbm_desktop.gui.column_mapping_model import Column as MapColumn
from tests.gui.test_migrate_flow import OpenWindow, _edit_cell, _preview, _wait_for_card, open_window

__all__ = ["open_window"]

QUERY = ("SELECT o.order_id, c.name AS customer, o.total FROM orders o "
         "JOIN customers c ON c.customer_id = o.customer_id ORDER BY o.order_id")


def _target(context: AppContext, tmp_path: Path) -> Path:
    path = tmp_path / "fidelity-target.db"
    sqlite3.connect(path).close()
    context.connections.add(ConnectionProfile(name="Fidelity target", type="sqlite", path=str(path)))
    return path


def test_mapping_grid_shows_verdicts_and_a_lossy_run_needs_a_yes(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow, tmp_path: Path) -> None:
    target = _target(context, tmp_path)
    window = open_window(context)
    window.refresh()
    page = window.migrate_page
    window.show_page("migrate")
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target("Fidelity target")
    page.editor.set_query(QUERY)
    page.table_edit.setText("fidelity_orders")
    _preview(qtbot, page)
    model = page.mapping_model
    assert page.fidelity_label.text().startswith("Fidelity: ")
    assert "lossy" not in page.fidelity_label.text()

    _edit_cell(qtbot, page, 1, MapColumn.TYPE, "varchar(3)")
    qtbot.waitUntil(lambda: "1 lossy" in page.fidelity_label.text())
    cell = model.index(1, MapColumn.SOURCE)
    tip = str(model.data(cell, Qt.ItemDataRole.ToolTipRole))
    assert tip.startswith("lossy: ") and "longer than 3" in tip
    assert isinstance(model.data(cell, Qt.ItemDataRole.DecorationRole), QIcon)
    assert str(model.data(model.index(0, MapColumn.SOURCE), Qt.ItemDataRole.ToolTipRole)).startswith(
        ("exact: ", "converted: "))
    window.grab().save(str(tmp_path / "fidelity-grid.png"))

    # No: nothing runs, nothing is created.
    assert page.start_migration() is None
    question = page.lossy_question
    assert question is not None and "customer" in question.text()
    question.button(QMessageBox.StandardButton.No).click()
    qtbot.waitUntil(lambda: page.lossy_question is None)
    assert not page.run_panel.cards
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == []

    # Yes: the run starts and the values that do not fit are refused (the target stays unchanged).
    page.start_migration()
    question = page.lossy_question
    assert question is not None
    question.button(QMessageBox.StandardButton.Yes).click()
    card = _wait_for_card(qtbot, page)
    assert card.result is not None
    with sqlite3.connect(target) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE name = 'fidelity_orders'")]
    assert names == ([] if card.result.status.value == "failed" else ["fidelity_orders"])
    assert "lossy" not in (card.result.error or "")

    job = page.save_as_job("fidelity job")
    assert job is not None and job.accept_lossy == ("customer",)
    assert context.schedules.get_job("fidelity job").accept_lossy == ("customer",)
