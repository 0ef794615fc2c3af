"""The run cards: what a finished run's bar says, and the log's long lines."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.migration import LogEntry, MigrationResult, Progress, Stage, Status
from qdbm_desktop.gui.run_panel import RunCard


def _card(qtbot: QtBot, width: int = 520) -> RunCard:
    card = RunCard("Demo shop → Local warehouse.orders", "orders")
    qtbot.addWidget(card)
    card.resize(width, 360)
    card.show()
    return card


def test_cancel_keeps_the_bar_where_the_run_got_and_says_cancelled(qtbot: QtBot) -> None:
    card = _card(qtbot)
    card.show_progress(Progress(Stage.LOAD, rows_read=10_000, rows_written=10_000, elapsed=2.0, total=30_000))
    assert card.progress_bar.value() == 333
    card.show_result(MigrationResult(run_id="r1", status=Status.CANCELLED, seconds=2.1))
    assert card.progress_bar.value() == 333
    assert card.progress_bar.text() == "Cancelled at 10,000 of 30,000 rows (33%)"
    assert card.state_text == "cancelled"


def test_cancel_without_a_row_count_says_how_many_rows_were_loaded(qtbot: QtBot) -> None:
    card = _card(qtbot)
    card.show_progress(Progress(Stage.LOAD, rows_read=2_000, rows_written=2_000, elapsed=1.0))
    card.show_result(MigrationResult(run_id="r1", status=Status.CANCELLED, seconds=1.1))
    assert card.progress_bar.text() == "Cancelled after 2,000 rows"
    assert card.progress_bar.maximum() > 0, "no longer a busy bar"


def test_a_failure_keeps_the_bar_too_and_a_success_fills_it(qtbot: QtBot) -> None:
    failed = _card(qtbot)
    failed.show_progress(Progress(Stage.LOAD, rows_read=500, rows_written=500, elapsed=1.0, total=1000))
    failed.show_result(MigrationResult(run_id="r1", status=Status.FAILED, error="column 'total', row 501"))
    assert failed.progress_bar.text() == "Failed at 500 of 1,000 rows (50%)"
    done = _card(qtbot)
    done.show_result(MigrationResult(run_id="r2", status=Status.SUCCEEDED, rows_written=1000, seconds=1.0))
    assert (done.progress_bar.value(), done.progress_bar.text()) == (1000, "1,000 rows")


def test_long_log_lines_wrap_inside_the_card(qtbot: QtBot) -> None:
    card = _card(qtbot, width=420)
    message = ("load failed on 'Local warehouse (SQLite)': column 'total', row 1: Decimal('3818.16') is "
               "not a int64 value; the path /home/someone/.local/share/qdbm-desktop/demo/"
               "warehouse_with_a_rather_long_file_name_that_has_no_spaces_at_all.sqlite")
    card.add_log(LogEntry(at="2026-12-06T22:50:01+00:00", stage=Stage.LOAD, message=message, level="error"))
    QApplication.processEvents()
    view = card.log_view
    assert view.horizontalScrollBar().maximum() == 0, "nothing hides past the right edge"
    layout = view.document().firstBlock().layout()
    assert layout is not None and layout.lineCount() >= 3
    assert view.toPlainText().endswith("spaces_at_all.sqlite")
