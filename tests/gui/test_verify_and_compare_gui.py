"""Verify by checksum on the Migrate page and in Settings; Compare with source in History."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QPushButton
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_QUERY
from tests.gui.test_migrate_flow import OpenWindow, _wait_for_card, open_window

__all__ = ["open_window"]


def test_a_run_verified_by_checksum_then_compared_from_history(qtbot: QtBot, context: AppContext,
                                                               open_window: OpenWindow) -> None:
    window = open_window(context)
    settings = window.settings_page
    default = settings.findChild(QCheckBox, "defaultVerify")
    assert default is not None and not default.isChecked()
    default.setChecked(True)
    assert settings.apply()
    assert context.settings.get().verify == "checksum"
    page = window.migrate_page
    verify = page.findChild(QCheckBox, "verifyCheck")
    assert verify is not None
    page.apply_settings()
    assert verify.isChecked()

    page.editor.set_query(DEMO_QUERY)
    page.table_edit.setText("orders_checked")
    page.migrate_button.click()
    card = _wait_for_card(qtbot, page)
    assert card.state_text == "succeeded", card.stats_text
    assert "verified by checksum, 3,000 rows" in card.log_text

    window.show_page("history")
    history = window.history_page
    qtbot.waitUntil(lambda: history.model.rowCount() == 1)
    assert history.select_run(history.model.row_at(0).run_id)
    assert "verified by checksum, 3,000 rows" in history.detail.toPlainText()
    button = history.findChild(QPushButton, "compareButton")
    assert button is not None and button.isEnabled()
    button.click()
    qtbot.waitUntil(lambda: "-- compare with source" in history.detail.toPlainText(), timeout=20_000)
    assert history.detail.toPlainText().rstrip().endswith("\nequal")

    with sqlite3.connect(Path(context.paths.demo_dir) / "warehouse.sqlite") as db:
        db.execute("UPDATE orders_checked SET status = 'lost' WHERE rowid = 5")
    qtbot.waitUntil(button.isEnabled)
    button.click()
    qtbot.waitUntil(lambda: history.detail.toPlainText().rstrip().endswith("not equal"), timeout=20_000)
    text = history.detail.toPlainText()
    assert text.count("-- compare with source") == 1
    assert "  status      DIFFERENT" in text and "  total       equal" in text
