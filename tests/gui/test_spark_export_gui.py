"""Export for Spark… on the Schedules page: the selected job becomes a PySpark script."""

from __future__ import annotations

import runpy
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.gui.schedules_page import SchedulesPage
from qdbm_desktop.gui.workers import TaskRunner
from tests.integration.conftest import Server


@pytest.fixture
def runner(qtbot: QtBot) -> TaskRunner:
    return TaskRunner()


def make_page(qtbot: QtBot, context: AppContext, runner: TaskRunner | None) -> SchedulesPage:
    page = SchedulesPage(context, None, runner=runner)
    qtbot.addWidget(page)
    page.refresh()
    return page


@pytest.mark.postgresql
def test_export_for_spark_writes_the_selected_job_in_the_background_and_names_the_password_variables(
        qtbot: QtBot, context: AppContext, runner: TaskRunner, pg_database: Server, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with closing(psycopg.connect(host=pg_database.host, port=pg_database.port, user=pg_database.user,
                                 dbname=pg_database.database, autocommit=True)) as conn:
        conn.execute("CREATE TABLE orders (id bigint, total numeric(10,2))")
    context.connections.add(ConnectionProfile(name="Shop PG", type="postgresql", host=pg_database.host,
                                              port=pg_database.port, user=pg_database.user,
                                              database=pg_database.database))
    context.schedules.save_job(Job(name="orders copy", source="Shop PG", target="Shop PG",
                                   query="SELECT * FROM orders", table="orders_copy", mode="replace"))
    page = make_page(qtbot, context, runner)
    button = page.spark_button
    assert not button.isEnabled()  # nothing selected yet
    assert page.select_job("orders copy")
    assert button.isEnabled() and button.text() == "Export for S&park…"
    chosen = tmp_path / "orders_spark"  # the dialog's answer without a suffix gets .py
    asked: list[str] = []

    def save_dialog(parent: object, title: str, suggested: str, filters: str) -> tuple[str, str]:
        asked.append(suggested)
        return str(chosen), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)

    with qtbot.waitSignal(page.status_message, timeout=30_000) as said:
        button.click()
        assert not button.isEnabled()  # while the export asks the databases for the columns

    assert asked == ["orders_copy_spark.py"]
    written = tmp_path / "orders_spark.py"
    assert said.args == [f"Job “orders copy” exported for Spark to {written}; set QDBM_PASSWORD_SHOP_PG "
                         "and run it with spark-submit"]
    config = runpy.run_path(str(written), run_name="qdbm_exported")["CONFIG"]
    assert config["job"]["name"] == "orders copy" and config["job"]["mode"] == "replace"
    assert button.isEnabled()


def test_export_for_spark_of_a_job_spark_cannot_load_says_why_and_writes_nothing(
        qtbot: QtBot, context: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_first_run(context)
    context.schedules.save_job(Job(name="demo", source=DEMO_SOURCE_NAME, target=DEMO_TARGET_NAME,
                                   query="SELECT * FROM orders", table="orders_copy"))
    page = make_page(qtbot, context, None)
    assert page.select_job("demo")
    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warned.append(text))

    assert not page.export_for_spark(str(tmp_path / "demo.py"))

    assert warned == ["The job was not exported: a Spark job loads into PostgreSQL or MySQL/MariaDB; SQLite "
                      "is not available as its target yet"]
    assert not (tmp_path / "demo.py").exists()


def test_cancelling_the_file_dialog_exports_nothing(
        qtbot: QtBot, context: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_first_run(context)
    context.schedules.save_job(Job(name="demo", source=DEMO_SOURCE_NAME, target=DEMO_TARGET_NAME,
                                   query="SELECT * FROM orders", table="orders_copy"))
    page = make_page(qtbot, context, None)
    assert page.select_job("demo")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: ("", ""))

    assert not page.export_for_spark()
