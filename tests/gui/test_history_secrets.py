"""The History page never shows a credential, even one a history from an older version holds."""

from __future__ import annotations

import sqlite3

import pytest
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.history import RunStatus
from qdbm_desktop.gui.history_model import Column
from qdbm_desktop.gui.history_page import HistoryPage

RAW_SOURCE = "postgresql://alice:Ab%40cd%2Fef@db.example:5432/sales?sslpassword=Key99phrase"
RAW_TARGET = "mysql://bob:p%2Bw0rd-xyz@maria.example/dw"
RAW_ERROR = "connect failed on \"host=h password='qu0ted pw' user=u\": Access denied (PWD={brace;d}}pw})"


def test_the_history_page_masks_urls_and_connection_strings_written_by_an_older_version(
        qtbot: QtBot, context: AppContext) -> None:
    run = context.history.start_run(run_id="r1", source="pg", target="maria", query="select 1",
                                    target_table="t", mode="append")
    context.history.add_log(run, "2026-01-01T00:00:00+00:00", "error", "connect", "placeholder")
    context.history.finish_run(run, RunStatus.FAILED, 0, 0, "placeholder")
    # As an older version wrote them: the URLs and the driver's message as they were.
    with sqlite3.connect(context.history.path) as db:
        db.execute("UPDATE runs SET source = ?, target = ?, error = ?", (RAW_SOURCE, RAW_TARGET, RAW_ERROR))
        db.execute("UPDATE run_log SET message = ?", (f"connected to {RAW_SOURCE}",))

    page = HistoryPage(context)
    qtbot.addWidget(page)
    page.refresh()
    assert page.model.rowCount() == 1
    shown = [page.model.index(0, column).data() for column in Column]
    page.table.selectRow(0)
    shown.append(page.detail.toPlainText())
    shown += [page.connection_combo.itemText(i) for i in range(page.connection_combo.count())]
    text = "\n".join(str(item) for item in shown)

    assert "postgresql://alice:********@db.example:5432/sales?sslpassword=********" in text
    assert "mysql://bob:********@maria.example/dw" in text
    for secret in ("Ab%40cd%2Fef", "Ab@cd/ef", "Key99phrase", "p%2Bw0rd", "p+w0rd", "qu0ted", "brace",
                   "d}}pw", "d}pw"):
        assert secret not in text


def test_an_exception_no_slot_caught_is_printed_with_its_credentials_masked(
        capsys: pytest.CaptureFixture[str]) -> None:
    from qdbm_desktop.gui.app import _redacted_excepthook

    try:
        raise ValueError(f"while opening {RAW_TARGET}")
    except ValueError as exc:
        _redacted_excepthook(ValueError, exc, exc.__traceback__)
    printed = capsys.readouterr().err
    assert "Traceback" in printed and "mysql://bob:********@maria.example/dw" in printed
    assert "p%2Bw0rd" not in printed
