"""The Migrate page's Partitions row: the form's request is the command line's, and a run of it
reads in partitions."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from qdbm_desktop.cli import build_parser
from qdbm_desktop.cli.migrate import _migration_request
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_SOURCE_NAME, DEMO_TARGET_NAME, ensure_first_run
from qdbm_desktop.core.partition_plan import Partitioning
from qdbm_desktop.gui.main_window import MainWindow
from qdbm_desktop.gui.migrate_page import MigratePage

QUERY = "SELECT customer_id, name, credit_limit FROM customers"


@pytest.fixture
def page(qtbot: QtBot, context: AppContext) -> MigratePage:
    ensure_first_run(context)
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show_page("migrate")
    page = window.migrate_page
    page.select_source(DEMO_SOURCE_NAME)
    page.select_target(DEMO_TARGET_NAME)
    page.editor.set_query(QUERY)
    page.table_edit.setText("customers_parts")
    page.partitions_combo.setCurrentIndex(page.partitions_combo.findData(3))
    page.partition_by_edit.setText("customer_id")
    return page


def test_the_form_builds_the_command_lines_partitioned_request(page: MigratePage, context: AppContext) -> None:
    from_form = page._build_request()
    args = ["migrate", "--source", DEMO_SOURCE_NAME, "--target", DEMO_TARGET_NAME, "--query", QUERY,
            "--table", "customers_parts", "--partitions", "3", "--partition-by", "customer_id"]
    from_args = _migration_request(build_parser().parse_args(args), context)

    assert from_form is not None
    assert from_form == from_args
    assert from_form.partitions == Partitioning(3, "customer_id")


def test_partitions_without_a_column_say_what_is_missing(page: MigratePage) -> None:
    page.partition_by_edit.setText("")

    assert page._build_request() is None
    assert "name the column the partitions split" in page.message_label.text()


def test_a_run_of_the_form_reads_in_partitions(qtbot: QtBot, page: MigratePage) -> None:
    card = page.start_migration()
    assert card is not None
    qtbot.waitUntil(lambda: card.finished, timeout=30_000)

    assert card.state_text == "succeeded", card.stats_text
    assert "reading in 3 partitions by customer_id" in card.log_text, card.log_text
