"""The SQL editor's completion popup on words given to it, and a source that cannot be read (the catalog's are tested in
test_schema_tree.py against the real servers)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.gui.main_window import MainWindow
from qdbm_desktop.gui.sql_editor import SqlEditor


def _editor(qtbot: QtBot) -> SqlEditor:
    editor = SqlEditor()
    qtbot.addWidget(editor)
    with qtbot.waitExposed(editor):
        editor.show()
    editor.completion.set_words({"customers": "customers", "Order Lines": '"Order Lines"'})
    return editor


def test_one_character_opens_nothing_and_ctrl_space_opens_the_list(qtbot: QtBot) -> None:
    editor = _editor(qtbot)
    qtbot.keyClicks(editor, "SELECT * FROM c")
    assert not editor.completion.popup.isVisible()
    qtbot.keyClick(editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert editor.completion.popup.isVisible()
    assert editor.toPlainText() == "SELECT * FROM c"
    qtbot.keyClick(editor.completion.popup, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "SELECT * FROM customers"


def test_escape_closes_the_list_and_leaves_the_text(qtbot: QtBot) -> None:
    editor = _editor(qtbot)
    qtbot.keyClicks(editor, "SELECT * FROM or")
    assert editor.completion.popup.isVisible()
    qtbot.keyClick(editor.completion.popup, Qt.Key.Key_Escape)
    assert not editor.completion.popup.isVisible()
    assert editor.toPlainText() == "SELECT * FROM or"
    # Return with no list open still breaks the line, keeping the indentation.
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert editor.toPlainText() == "SELECT * FROM or\n"


def test_no_words_no_list(qtbot: QtBot) -> None:
    editor = _editor(qtbot)
    editor.completion.set_words({})
    qtbot.keyClicks(editor, "SELECT cu")
    assert not editor.completion.popup.isVisible()


def test_an_unreachable_source_gives_the_tree_one_line_and_no_list(qtbot: QtBot, context: AppContext) -> None:
    context.connections.add(ConnectionProfile(name="Closed port", type="postgresql", host="127.0.0.1", port=1,
                                              database="nothing", user="nobody"))
    window = MainWindow(context)
    qtbot.addWidget(window)
    page = window.migrate_page
    page.select_source("Closed port")
    status = page.schema_tree.findChild(QLabel, "schemaStatus")
    assert status is not None
    qtbot.waitUntil(lambda: "cannot connect" in status.text(), timeout=30_000)
    assert "\n" not in status.text() and "Traceback" not in status.text()
    assert page.schema_tree.tree.topLevelItemCount() == 0
    assert page.editor.completion.words() == []
    page.cancel_all()
