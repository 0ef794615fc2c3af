"""The Schedules page shows an incremental job's column and mark, and resets the mark."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.watermark import Watermark
from qdbm_desktop.gui.main_window import MainWindow
from qdbm_desktop.gui.schedules_page import JobColumn, SchedulesPage

INCREMENTAL_JOB = Job(name="orders sync", source=DEMO_SOURCE_NAME, target=DEMO_TARGET_NAME,
                      query="SELECT order_id, status FROM orders", table="orders_copy", mode="upsert",
                      keys=("order_id",), incremental_column="order_id")


@pytest.fixture
def page(qtbot: QtBot, context: AppContext) -> SchedulesPage:
    ensure_first_run(context)
    context.schedules.save_job(INCREMENTAL_JOB)
    shown = SchedulesPage(context, None)
    qtbot.addWidget(shown)
    shown.refresh()
    assert shown.select_job(INCREMENTAL_JOB.name)
    return shown


def incremental_cell(page: SchedulesPage) -> str:
    model = page.jobs_model
    row = next(r for r in range(model.rowCount()) if model.job_at(r).name == INCREMENTAL_JOB.name)
    return str(model.index(row, JobColumn.INCREMENTAL).data())


def test_the_jobs_table_shows_the_incremental_column_and_its_mark(
        page: SchedulesPage, context: AppContext, qtmodeltester: Any) -> None:
    assert incremental_cell(page) == "order_id: no mark yet (reads every row)"
    context.schedules.set_watermark(INCREMENTAL_JOB.name, Watermark("int", "1042"))
    page.refresh()
    assert incremental_cell(page) == "order_id: 1042"
    qtmodeltester.check(page.jobs_model)


def test_reset_mark_sets_a_typed_value_clears_it_and_refuses_a_bad_one(
        page: SchedulesPage, context: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    context.schedules.set_watermark(INCREMENTAL_JOB.name, Watermark("int", "1042"))
    asked: list[str] = []

    def answer(*args: Any, **kwargs: Any) -> tuple[str, bool]:
        asked.append(kwargs.get("text", ""))
        return "7", True

    monkeypatch.setattr(QInputDialog, "getText", answer)
    assert page.reset_mark()
    assert asked == ["1042"]  # the dialog opens on the current mark
    assert context.schedules.watermark(INCREMENTAL_JOB.name) == Watermark("int", "7")
    assert incremental_cell(page) == "order_id: 7"

    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warned.append(text))
    assert not page.reset_mark("last tuesday")
    assert warned and "not a integer" in warned[0]
    assert context.schedules.watermark(INCREMENTAL_JOB.name) == Watermark("int", "7")

    assert page.reset_mark("")
    assert context.schedules.watermark(INCREMENTAL_JOB.name) is None
    assert incremental_cell(page) == "order_id: no mark yet (reads every row)"


def test_save_as_job_on_the_migrate_page_keeps_the_incremental_column(qtbot: QtBot, context: AppContext) -> None:
    ensure_first_run(context)
    window = MainWindow(context, start_scheduler=False)
    try:
        page = window.migrate_page
        page.select_source(DEMO_SOURCE_NAME)
        page.select_target(DEMO_TARGET_NAME)
        page.editor.set_query("SELECT order_id, status FROM orders")
        page.table_edit.setText("orders_copy")
        page.mode_combo.setCurrentIndex(page.mode_combo.findData("upsert"))
        page.keys_edit.setText("order_id")
        page.incremental_edit.setText("order_id")
        saved = page.save_as_job("orders sync")
        assert saved is not None
        assert context.schedules.get_job("orders sync").incremental_column == "order_id"

        # Replace or truncate cannot be incremental: the form says why and saves nothing.
        page.mode_combo.setCurrentIndex(page.mode_combo.findData("replace"))
        assert page.job_from_form("orders replaced") is None
    finally:
        window.quit_app()
        window.deleteLater()
