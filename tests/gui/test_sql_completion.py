"""The SQL editor's completion popup, on words given to it (the catalog's are tested in
test_schema_tree.py against the real servers)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

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
