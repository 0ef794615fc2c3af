"""The desktop form builds its run as a job, as the command line and a saved job do: the same
migration gives the same request from all three, and a run of the form records each connection's
use once. (The command line's side is in tests/core/test_one_run_path.py.)"""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from qdbm_desktop.cli import build_parser
from qdbm_desktop.cli.migrate import _migration_request
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.core.incremental import job_request
from qdbm_desktop.gui.main_window import MainWindow
from qdbm_desktop.gui.migrate_page import MigratePage

QUERY = "SELECT customer_id, name, credit_limit FROM customers"
ARGS = ["--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME, "--query", QUERY, "--table", "customers_copy",
        "--mode", "upsert", "--key", "customer_id", "--batch-size", "700", "--count"]


@pytest.fixture
def page(qtbot: QtBot, context: AppContext) -> MigratePage:
    """The Migrate page of a real main window, its form filled as ``ARGS`` say."""
    ensure_first_run(context)
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show_page("migrate")
    page = window.migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target(DEMO_TARGET_NAME)
    page.editor.set_query(QUERY)
    page.table_edit.setText("customers_copy")
    page.mode_combo.setCurrentIndex(page.mode_combo.findData("upsert"))
    page.keys_edit.setText("customer_id")
    page.batch_spin.setValue(700)
    page.count_check.setChecked(True)
    return page


def test_the_form_the_command_line_and_the_saved_job_build_the_same_request(
        page: MigratePage, context: AppContext) -> None:
    from_form = page._build_request()
    saved = page.save_as_job("copy")
    assert saved is not None

    from_args = _migration_request(build_parser().parse_args(["migrate", *ARGS]), context)
    from_job = job_request(saved, None, context.connections, context.settings.get(),
                           work_dir=context.paths.runs_dir)

    assert from_form is not None
    assert from_form == from_args == from_job
    assert (from_form.keys, from_form.batch_size, from_form.count_rows) == (("customer_id",), 700, True)


def test_a_run_of_the_form_records_the_use_of_each_connection_once(
        qtbot: QtBot, page: MigratePage, context: AppContext, connection_uses: list[str]) -> None:
    card = page.start_migration()
    assert card is not None
    qtbot.waitUntil(lambda: card.finished, timeout=30_000)

    assert card.state_text == "succeeded", card.stats_text
    assert connection_uses == [DEMO_SOURCE_NAME, DEMO_TARGET_NAME]
    assert all(p.last_used for p in context.connections.list()
               if p.name in (DEMO_SOURCE_NAME, DEMO_TARGET_NAME))
