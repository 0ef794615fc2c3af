"""Scheduling in the window: jobs from the Migrate page, the Schedules page, the tray menu, missed runs,
and one instance per app-data folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMenu, QMessageBox
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.core.history import RunStatus, RunTrigger
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import Status
from qdbm_desktop.core.schedules import Schedule
from qdbm_desktop.core.triggers import ScheduleTrigger
from qdbm_desktop.gui.main_window import MainWindow
from qdbm_desktop.gui.migrate_dialogs import DestructiveRunQuestion, JobNameDialog
from qdbm_desktop.gui.migrate_page import MigratePage
from qdbm_desktop.gui.missed_runs_dialog import MissedRunsDialog
from qdbm_desktop.gui.run_panel import RunCard
from qdbm_desktop.gui.schedules_page import ScheduleColumn, SchedulesPage
from qdbm_desktop.gui.single_instance import SingleInstance
from tests.integration.conftest import Server

OpenWindow = Callable[..., MainWindow]
DEMO_JOB = Job(name="customers copy", source=DEMO_SOURCE_NAME, target=DEMO_TARGET_NAME,
               query="SELECT customer_id, name FROM customers", table="customers_copy", mode="replace")


@pytest.fixture
def open_window(qtbot: QtBot) -> Iterator[OpenWindow]:
    opened: list[MainWindow] = []

    def open_(context: AppContext, start_scheduler: bool = True) -> MainWindow:
        ensure_first_run(context)
        window = MainWindow(context, start_scheduler=start_scheduler)
        # Not handed to qtbot, which would close it: without a tray, closing a window that runs
        # schedules asks first. The teardown quits it instead.
        opened.append(window)
        window.resize(1280, 800)
        with qtbot.waitExposed(window):
            window.show()
        return window

    yield open_
    for window in opened:
        try:
            # A run whose history row is written may still be telling its card that it has ended;
            # quitting before that would ask whether to cancel it.
            qtbot.waitUntil(lambda w=window: w.migrate_page.running_count == 0, timeout=15_000)  # type: ignore[misc]
        finally:
            window.quit_app()
            window.deleteLater()


def _finished_card(qtbot: QtBot, window: MainWindow, job: str, timeout: int = 15_000) -> RunCard:
    """The run card of ``job``'s run, once the run has ended."""
    def card() -> RunCard | None:
        return next((c for c in window.migrate_page.run_panel.cards if f"Job {job} " in c.title), None)

    qtbot.waitUntil(lambda: (found := card()) is not None and found.finished, timeout=timeout)
    found = card()
    assert found is not None
    return found


def test_save_as_job_and_schedule_from_the_migrate_page(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    window = open_window(context)
    page = window.migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target(DEMO_TARGET_NAME)
    page.editor.set_query("SELECT product_id, name FROM products")
    page.table_edit.setText("products_copy")
    page.mode_combo.setCurrentIndex(page.mode_combo.findData("replace"))
    monkeypatch.setattr(MigratePage, "_ask_job_name", lambda self, suggested: "products nightly")
    chosen = ScheduleTrigger.weekly(["mon", "wed"], "06:30", "Europe/Berlin")

    def pick_time(self: SchedulesPage, job_name: str) -> Schedule | None:
        return self.add_schedule(job_name, chosen, 900)

    monkeypatch.setattr("qdbm_desktop.gui.schedules_page.SchedulesPage.schedule_job", pick_time)
    qtbot.mouseClick(page.schedule_button, Qt.MouseButton.LeftButton)

    job = context.schedules.get_job("products nightly")
    assert (job.source, job.target, job.table, job.mode) == (DEMO_SOURCE_NAME, DEMO_TARGET_NAME, "products_copy",
                                                             "replace")
    assert job.batch_size is None  # follows the global setting
    (schedule,) = context.schedules.schedules()
    assert (schedule.job, schedule.trigger, schedule.grace_seconds) == ("products nightly", chosen, 900)
    assert window.current_page() == "schedules"
    schedules = window.schedules_page
    assert schedules.model.index(0, ScheduleColumn.WHEN).data() == \
        "every Monday and Wednesday at 06:30 (Europe/Berlin)"
    assert window.next_run_label.text().startswith("Next run: products nightly at ")


def test_run_now_from_the_schedules_page_records_the_run_and_refreshes_history(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    window = open_window(context)
    context.schedules.save_job(DEMO_JOB)
    schedules = window.schedules_page
    schedules.refresh()
    assert schedules.select_job(DEMO_JOB.name)
    schedules._on_run_job_clicked()
    card = _finished_card(qtbot, window, DEMO_JOB.name)
    assert card.title == f"Job {DEMO_JOB.name} (run now): {DEMO_SOURCE_NAME} → {DEMO_TARGET_NAME}.customers_copy"
    assert card.result is not None and card.result.status is Status.SUCCEEDED
    assert card.progress_bar.text() == "500 rows"
    qtbot.waitUntil(lambda: window.history_page.model.rowCount() == 1, timeout=15_000)
    record = window.history_page.model.row_at(0)
    assert (record.job, record.status, record.rows_written) == (DEMO_JOB.name, RunStatus.SUCCEEDED, 500)
    assert record.job_snapshot is not None and record.job_snapshot["query"] == DEMO_JOB.query


def test_pause_resume_and_delete_a_schedule(qtbot: QtBot, context: AppContext, open_window: OpenWindow,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    context.schedules.save_job(DEMO_JOB)
    context.schedules.add_schedule(Schedule(id="s1", job=DEMO_JOB.name,
                                            trigger=ScheduleTrigger.daily("06:00", "UTC")))
    window = open_window(context)
    page = window.schedules_page
    assert page.select_schedule("s1")
    page.toggle_selected()
    assert context.schedules.get_schedule("s1").enabled is False
    assert page.model.index(0, ScheduleColumn.NEXT).data() == "paused"
    assert window.scheduler is not None and window.scheduler.next_run() is None
    page.toggle_selected()
    assert context.schedules.get_schedule("s1").enabled is True
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert page.delete_selected()
    assert context.schedules.schedules() == [] and context.schedules.find_job(DEMO_JOB.name) is not None


def test_tray_menu_runs_a_job_and_pauses_every_schedule(qtbot: QtBot, context: AppContext,
                                                         open_window: OpenWindow) -> None:
    context.schedules.save_job(DEMO_JOB)
    window = open_window(context)
    run_menu = next(a.menu() for a in window.tray_menu.actions() if a.text() == "Run job now")
    assert isinstance(run_menu, QMenu)
    run_menu.aboutToShow.emit()
    (action,) = [a for a in run_menu.actions() if a.text() == DEMO_JOB.name]
    action.trigger()
    card = _finished_card(qtbot, window, DEMO_JOB.name)
    assert card.result is not None and card.result.status is Status.SUCCEEDED
    assert "500 rows" in card.stats_text and "INFO" not in card.log_text and card.log_text
    assert not card.cancel_button.isVisible()
    assert context.history.runs()[0].status is RunStatus.SUCCEEDED
    assert window.running_label.text() == "No migration running"
    window.pause_action.setChecked(True)
    assert window.scheduler is not None and window.scheduler.paused
    assert window.pause_action.text() == "Resume schedules"
    window.pause_action.setChecked(False)
    assert not window.scheduler.paused


def test_runs_missed_while_closed_are_listed_at_start_and_skipped_ones_recorded(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    context.schedules.save_job(DEMO_JOB)
    two_days_ago = datetime.now(timezone.utc) - timedelta(days=2)
    context.schedules.add_schedule(Schedule(id="s1", job=DEMO_JOB.name, trigger=ScheduleTrigger.interval(
        3600, "UTC", start=two_days_ago)), now=two_days_ago)
    window = open_window(context)
    qtbot.waitUntil(lambda: (shown := window.findChild(MissedRunsDialog)) is not None and shown.isVisible())
    dialog = window.findChild(MissedRunsDialog)
    assert dialog is not None
    assert dialog.runs_list.count() == 1 and DEMO_JOB.name in dialog.runs_list.item(0).text()
    dialog.skip_button.click()
    (record,) = context.history.runs()
    assert (record.status, record.job) == (RunStatus.SKIPPED, DEMO_JOB.name)
    assert "missed" in (record.error or "")


def test_a_missed_run_within_its_grace_period_runs_at_start(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    context.schedules.save_job(DEMO_JOB)
    start = datetime.now(timezone.utc) - timedelta(minutes=65)
    context.schedules.add_schedule(Schedule(id="s1", job=DEMO_JOB.name, grace_seconds=3600,
                                            trigger=ScheduleTrigger.interval(3600, "UTC", start=start)), now=start)
    window = open_window(context)
    qtbot.waitUntil(lambda: bool(context.history.runs()) and context.history.runs()[0].finished is not None,
                    timeout=15_000)
    (record,) = context.history.runs()
    assert (record.status, record.trigger) == (RunStatus.SUCCEEDED, RunTrigger.MISSED_RUN)
    assert window.findChild(MissedRunsDialog) is None


def test_models_pass_the_model_tester(qtmodeltester: Any, context: AppContext, open_window: OpenWindow) -> None:
    context.schedules.save_job(DEMO_JOB)
    context.schedules.add_schedule(Schedule(id="s1", job=DEMO_JOB.name,
                                            trigger=ScheduleTrigger.from_cron("30 6 * * 1-5", "UTC")))
    window = open_window(context)
    qtmodeltester.check(window.schedules_page.model)
    qtmodeltester.check(window.schedules_page.jobs_model)


def test_a_second_instance_hands_over_to_the_first(qtbot: QtBot, tmp_path: Path) -> None:
    first = SingleInstance(tmp_path)
    assert first.acquire()
    second = SingleInstance(tmp_path)
    try:
        assert not second.acquire()
        with qtbot.waitSignal(first.activation_requested, timeout=5000):
            assert second.activate_running()
    finally:
        first.release()
    third = SingleInstance(tmp_path)
    assert third.acquire()
    third.release()


def test_starting_the_app_twice_brings_the_first_to_the_front(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    command = [sys.executable, "-m", "qdbm_desktop", "--home", str(tmp_path / "home")]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "home" / "scheduler.owner").exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first instance did not start"
            time.sleep(0.1)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
        assert second.returncode == 0, second.stderr
        assert "already running; its window was brought to the front" in second.stderr
        assert first.poll() is None
    finally:
        first.terminate()
        out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err



def _answer_job_name(qtbot: QtBot, page: MigratePage, answer: Callable[[JobNameDialog], None]) -> list[JobNameDialog]:
    """Answers the next job-name dialog with ``answer`` once it is up (it is modal)."""
    seen: list[JobNameDialog] = []

    def when_shown() -> None:
        dialog = page.findChild(JobNameDialog)
        if dialog is None or not dialog.isVisible():
            QTimer.singleShot(20, when_shown)
            return
        seen.append(dialog)
        answer(dialog)

    QTimer.singleShot(0, when_shown)
    return seen


def test_save_as_job_opens_a_dialog_wide_enough_for_the_whole_default_name(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    window = open_window(context, start_scheduler=False)
    page = window.migrate_page
    page.editor.set_query("SELECT product_id, name FROM products")
    page.table_edit.setText("analytics.products_with_a_long_descriptive_name")
    sizes: list[tuple[int, int, int]] = []

    def answer(dialog: JobNameDialog) -> None:
        edit = dialog.name_edit
        sizes.append((dialog.width(), edit.width(), edit.fontMetrics().horizontalAdvance(edit.text())))
        assert edit.text() == "analytics.products_with_a_long_descriptive_name from Demo shop (SQLite)"
        dialog.accept()

    seen = _answer_job_name(qtbot, page, answer)
    qtbot.mouseClick(page.save_job_button, Qt.MouseButton.LeftButton)
    assert seen and sizes
    dialog_width, edit_width, text_width = sizes[0]
    assert edit_width > text_width, "the default name is shown whole"
    assert dialog_width >= 400
    assert context.schedules.find_job("analytics.products_with_a_long_descriptive_name from Demo shop (SQLite)")


def test_an_empty_job_name_is_refused_next_to_the_field(qtbot: QtBot) -> None:
    dialog = JobNameDialog("orders from shop")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name_edit.clear()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.error_text == "A job needs a name."
    qtbot.keyClicks(dialog.name_edit, "orders")
    assert dialog.error_text == ""
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == JobNameDialog.DialogCode.Accepted and dialog.name() == "orders"


def test_schedule_after_save_as_job_schedules_that_job_without_asking_its_name_again(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    window = open_window(context)
    page = window.migrate_page
    page.editor.set_query("SELECT product_id, name FROM products")
    page.table_edit.setText("products_copy")
    assert page.save_as_job("products nightly") is not None
    asked: list[str] = []
    monkeypatch.setattr(MigratePage, "_ask_job_name", lambda self, suggested: asked.append(suggested))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append("replace?"))
    scheduled: list[str] = []
    monkeypatch.setattr("qdbm_desktop.gui.schedules_page.SchedulesPage.schedule_job",
                        lambda self, job_name: scheduled.append(job_name))

    qtbot.mouseClick(page.schedule_button, Qt.MouseButton.LeftButton)
    assert scheduled == ["products nightly"] and asked == []
    assert [job.name for job in context.schedules.jobs()] == ["products nightly"]

    # Once the form differs from the job, Schedule… saves it first (suggesting the job's name).
    page.table_edit.setText("products_other")
    qtbot.mouseClick(page.schedule_button, Qt.MouseButton.LeftButton)
    assert asked == ["products nightly"] and scheduled == ["products nightly"]


def test_a_scheduled_replace_job_never_asks_before_replacing(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow) -> None:
    import sqlite3

    ensure_first_run(context)
    with sqlite3.connect(context.paths.demo_dir / "warehouse.sqlite") as db:
        db.execute("CREATE TABLE customers_copy (a INTEGER, b INTEGER, c INTEGER)")
        db.executemany("INSERT INTO customers_copy VALUES (?, ?, ?)", [(i, i, i) for i in range(50)])
    context.schedules.save_job(DEMO_JOB)
    window = open_window(context)
    schedules = window.schedules_page
    schedules.refresh()
    assert schedules.select_job(DEMO_JOB.name)
    assert schedules.run_now()
    qtbot.waitUntil(lambda: bool(context.history.runs()) and context.history.runs()[0].finished is not None,
                    timeout=15_000)
    assert context.history.runs()[0].status is RunStatus.SUCCEEDED
    assert window.findChildren(DestructiveRunQuestion) == []
    with sqlite3.connect(context.paths.demo_dir / "warehouse.sqlite") as db:
        assert db.execute("SELECT count(*) FROM customers_copy").fetchone() == (500,)


# About 4 s on PostgreSQL: a short sleep every 250 of 20,000 rows, so a scheduled run can be cancelled
# while it loads.
SLOW_PG_QUERY = ("SELECT g AS id, 'row ' || g AS label, "
                 "length(CASE WHEN g % 250 = 0 THEN pg_sleep(0.05)::text ELSE '' END) AS pad "
                 "FROM generate_series(1, 20000) AS g")


def _pg_rows(server: Server, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database) as conn:
        return conn.execute(sql).fetchall()


def _rows_written(card: RunCard) -> int:
    """The rows written so far, as the card's figures say."""
    found = re.search(r"written ([\d,]+)", card.stats_text)
    return int(found.group(1).replace(",", "")) if found else 0


def test_a_scheduled_fire_shows_a_card_with_progress_and_its_cancel_leaves_the_target_unchanged(
        qtbot: QtBot, context: AppContext, open_window: OpenWindow, pg_database: Server) -> None:
    server = pg_database
    context.connections.add(ConnectionProfile(name="Warehouse PG", type="postgresql", host=server.host,
                                              port=server.port, database=server.database, user=server.user))
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database) as conn:
        conn.execute("CREATE TABLE slow_copy (id integer, label text, pad integer)")
        conn.execute("INSERT INTO slow_copy VALUES (1, 'kept', 0), (2, 'kept', 0), (3, 'kept', 0)")
    job = Job(name="slow copy", source="Warehouse PG", target="Warehouse PG", query=SLOW_PG_QUERY,
              table="slow_copy", mode="append", batch_size=500)
    context.schedules.save_job(job)
    at = datetime.now(timezone.utc) + timedelta(seconds=3)
    context.schedules.add_schedule(Schedule(id="soon", job=job.name, trigger=ScheduleTrigger.once(at, "UTC")))
    window = open_window(context)
    window.show_page("migrate")
    panel = window.migrate_page.run_panel
    window.migrate_page.tabs.setCurrentWidget(panel)

    qtbot.waitUntil(lambda: bool(panel.cards), timeout=15_000)
    (card,) = panel.cards
    assert card.title == "Job slow copy (scheduled): Warehouse PG → Warehouse PG.slow_copy"
    assert window.running_label.text() == "1 migration running"
    qtbot.waitUntil(lambda: _rows_written(card) > 0, timeout=15_000)
    assert card.cancel_button.isVisible() and card.cancel_button.isEnabled()
    assert "loading" in card.state_text or "reading" in card.state_text

    # Run now while the scheduled run goes: refused (recorded as skipped), and no second card.
    schedules = window.schedules_page
    assert schedules.select_job(job.name)
    schedules._on_run_job_clicked()
    qtbot.waitUntil(lambda: any(r.status is RunStatus.SKIPPED for r in context.history.runs()), timeout=10_000)
    assert len(panel.cards) == 1

    QTest.mouseClick(card.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: card.finished, timeout=15_000)
    assert card.result is not None and card.result.status is Status.CANCELLED
    assert card.state_text == "cancelled"
    assert card.progress_bar.text().startswith("Cancelled after ")
    assert card.stats_text.endswith("slow_copy is unchanged")
    assert _pg_rows(server, "SELECT id, label FROM slow_copy ORDER BY id") == [(1, "kept"), (2, "kept"), (3, "kept")]
    qtbot.waitUntil(lambda: context.schedules.get_schedule("soon").last_status == "cancelled", timeout=10_000)
    runs = {r.status: r for r in context.history.runs()}
    assert set(runs) == {RunStatus.CANCELLED, RunStatus.SKIPPED}
    cancelled = runs[RunStatus.CANCELLED]
    assert (cancelled.job, cancelled.trigger, cancelled.finished is not None) == (job.name, RunTrigger.SCHEDULE, True)
    assert 0 < cancelled.rows_read < 20_000
    assert runs[RunStatus.SKIPPED].trigger is RunTrigger.MANUAL
    assert not context.schedules.get_schedule("soon").done, "a cancelled one-off is not done"
    assert window.running_label.text() == "No migration running"
    assert _pg_rows(server, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'qdbm_stg_%'") == [(0,)], \
        "no staging table is left"
