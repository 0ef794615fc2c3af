"""The SQL editor: highlighting, line numbers, indentation keys, Ctrl+Enter left to the page."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QKeySequence, QPalette, QTextCharFormat
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from qdbm_desktop.gui.sql_editor import SqlColours, SqlEditor, TokenKind


@pytest.fixture
def editor(qtbot: Any) -> SqlEditor:
    widget = SqlEditor()
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    return widget


def _formats(editor: SqlEditor, line: int) -> list[tuple[str, QTextCharFormat]]:
    """The highlighted stretches of one line, as (text, format)."""
    block = editor.document().findBlockByNumber(line)
    # Copies: a range's format is owned by the range, which the list returned here does not keep.
    return [(block.text()[r.start:r.start + r.length], QTextCharFormat(r.format))
            for r in block.layout().formats()]


def _kind_of(editor: SqlEditor, line: int, text: str) -> TokenKind | None:
    """Which token kind's colour the stretch ``text`` of ``line`` has (None: not highlighted)."""
    for found, char_format in _formats(editor, line):
        if found == text:
            for kind in TokenKind:
                if char_format.foreground().color() == editor.highlighter.format_of(kind).foreground().color():
                    return kind
    return None


def test_keywords_strings_numbers_and_quoted_names_get_their_own_formats(editor: SqlEditor) -> None:
    editor.setPlainText("""SELECT id, "Full Name", 'it''s' AS note, 42 FROM customers""")

    assert _kind_of(editor, 0, "SELECT") == TokenKind.KEYWORD
    assert _kind_of(editor, 0, "AS") == TokenKind.KEYWORD
    assert _kind_of(editor, 0, "FROM") == TokenKind.KEYWORD
    assert _kind_of(editor, 0, "'it''s'") == TokenKind.STRING
    assert _kind_of(editor, 0, "42") == TokenKind.NUMBER
    assert _kind_of(editor, 0, '"Full Name"') == TokenKind.QUOTED_IDENTIFIER
    highlighted = [text for text, _ in _formats(editor, 0)]
    assert "id" not in highlighted and "customers" not in highlighted
    keyword = dict(_formats(editor, 0))["SELECT"]
    assert keyword.fontWeight() == 700


def test_word_in_a_dotted_name_is_a_name_even_if_it_is_a_keyword(editor: SqlEditor) -> None:
    editor.set_connection_type("postgresql")
    editor.setPlainText("SELECT c.name, date.day, name FROM customers c")

    highlighted = [text for text, _ in _formats(editor, 0)]
    assert highlighted.count("name") == 1
    assert "date" not in highlighted
    assert _kind_of(editor, 0, "FROM") == TokenKind.KEYWORD


def test_line_comment_runs_to_the_end_of_its_line_only(editor: SqlEditor) -> None:
    editor.setPlainText("SELECT 1 -- the answer, 'not a string'\nFROM t")

    assert _kind_of(editor, 0, "-- the answer, 'not a string'") == TokenKind.COMMENT
    assert _kind_of(editor, 1, "FROM") == TokenKind.KEYWORD
    assert dict(_formats(editor, 0))["-- the answer, 'not a string'"].fontItalic()


def test_block_comment_spanning_lines_is_a_comment_on_each_of_them(editor: SqlEditor) -> None:
    editor.setPlainText("SELECT a /* first\nSELECT inside\nlast */ FROM t")

    assert _kind_of(editor, 0, "/* first") == TokenKind.COMMENT
    assert _kind_of(editor, 1, "SELECT inside") == TokenKind.COMMENT
    assert _kind_of(editor, 2, "last */") == TokenKind.COMMENT
    assert _kind_of(editor, 2, "FROM") == TokenKind.KEYWORD


def test_closing_a_block_comment_later_rehighlights_the_lines_after_it(editor: SqlEditor) -> None:
    editor.setPlainText("/* open\nSELECT 1")
    assert _kind_of(editor, 1, "SELECT 1") == TokenKind.COMMENT

    cursor = editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    cursor.movePosition(cursor.MoveOperation.StartOfLine)
    cursor.insertText("*/ ")

    assert _kind_of(editor, 1, "*/") == TokenKind.COMMENT
    assert _kind_of(editor, 1, "SELECT") == TokenKind.KEYWORD


def test_string_spanning_lines_is_a_string_until_its_quote(editor: SqlEditor) -> None:
    editor.setPlainText("WHERE note = 'line one\nline two' AND n = 1")

    assert _kind_of(editor, 0, "'line one") == TokenKind.STRING
    assert _kind_of(editor, 1, "line two'") == TokenKind.STRING
    assert _kind_of(editor, 1, "AND") == TokenKind.KEYWORD
    assert _kind_of(editor, 1, "1") == TokenKind.NUMBER


def test_dialect_decides_what_quotes_a_name(editor: SqlEditor) -> None:
    editor.setPlainText("SELECT `order` FROM t")
    editor.set_connection_type("mysql")
    assert _kind_of(editor, 0, "`order`") == TokenKind.QUOTED_IDENTIFIER

    editor.setPlainText("SELECT [order] FROM t")
    editor.set_connection_type("sqlserver")
    assert _kind_of(editor, 0, "[order]") == TokenKind.QUOTED_IDENTIFIER


def test_colours_follow_the_palette_lightness(editor: SqlEditor) -> None:
    light, dark = QPalette(QColor("#f0f0f0")), QPalette(QColor("#202020"))

    assert SqlColours.for_palette(light) != SqlColours.for_palette(dark)
    for palette in (light, dark):
        base = palette.color(QPalette.ColorRole.Base).lightness()
        for colour in vars(SqlColours.for_palette(palette)).values():
            # Far enough from the background to read.
            assert abs(colour.lightness() - base) > 70

    editor.setPlainText("SELECT 1")
    editor.setPalette(dark)
    expected = SqlColours.for_palette(dark).keyword
    assert dict(_formats(editor, 0))["SELECT"].foreground().color() == expected


def test_line_number_gutter_grows_with_the_number_of_lines(editor: SqlEditor) -> None:
    editor.setPlainText("SELECT 1")
    narrow = editor.line_number_area_width()

    editor.setPlainText("\n".join(f"-- line {n}" for n in range(150)))

    assert editor.line_number_area_width() > narrow
    assert editor.viewportMargins().left() == editor.line_number_area_width()


def test_gutter_sits_beside_the_text_once_shown(editor: SqlEditor, qtbot: Any) -> None:
    editor.setPlainText("SELECT 1\nFROM t")
    with qtbot.waitExposed(editor):
        editor.show()

    assert editor.line_number_area.isVisible()
    assert editor.line_number_area.width() == editor.line_number_area_width()
    assert editor.line_number_area.geometry().right() < editor.viewport().geometry().left()


def test_editor_uses_a_fixed_pitch_font(editor: SqlEditor) -> None:
    metrics = editor.fontMetrics()
    assert metrics.horizontalAdvance("i") == metrics.horizontalAdvance("W")


def test_current_line_is_highlighted(editor: SqlEditor) -> None:
    editor.setPlainText("SELECT 1\nFROM t")
    cursor = editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    editor.setTextCursor(cursor)

    selections = editor.extraSelections()
    assert len(selections) == 1
    assert selections[0].cursor.blockNumber() == 1


def test_tab_inserts_four_spaces(editor: SqlEditor, qtbot: Any) -> None:
    qtbot.keyClicks(editor, "SELECT")
    qtbot.keyClick(editor, Qt.Key.Key_Tab)

    assert editor.toPlainText() == "SELECT    "


def test_tab_and_shift_tab_indent_and_dedent_the_selected_lines(editor: SqlEditor, qtbot: Any) -> None:
    editor.setPlainText("SELECT a\nFROM t\nWHERE x")
    editor.selectAll()

    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "    SELECT a\n    FROM t\n    WHERE x"

    qtbot.keyClick(editor, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert editor.toPlainText() == "SELECT a\nFROM t\nWHERE x"


def test_ctrl_tab_moves_the_focus_out_of_the_editor(qtbot: Any) -> None:
    page = QWidget()
    qtbot.addWidget(page)
    layout = QVBoxLayout(page)
    before, editor, after = QLineEdit(page), SqlEditor(page), QLineEdit(page)
    for widget in (before, editor, after):
        layout.addWidget(widget)
    with qtbot.waitActive(page):
        page.show()
        page.activateWindow()
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus)

    qtbot.keyClick(editor, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(after.hasFocus)
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClick(editor, Qt.Key.Key_Backtab,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(before.hasFocus)

    assert editor.toPlainText() == ""


def test_return_keeps_the_indentation_of_the_line(editor: SqlEditor, qtbot: Any) -> None:
    editor.setPlainText("SELECT\n    id,")
    cursor = editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    editor.setTextCursor(cursor)

    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "name")

    assert editor.toPlainText() == "SELECT\n    id,\n    name"


def test_set_query_replaces_the_text_and_can_be_undone(editor: SqlEditor) -> None:
    editor.setPlainText("SELECT 1")

    editor.set_query("SELECT 2\nFROM t")
    assert editor.query() == "SELECT 2\nFROM t"
    assert editor.textCursor().position() == 0

    editor.undo()
    assert editor.query() == "SELECT 1"


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter])
def test_ctrl_enter_triggers_a_shortcut_of_the_page_and_adds_no_line(qtbot: Any, key: Qt.Key) -> None:
    page = QWidget()
    qtbot.addWidget(page)
    editor = SqlEditor(page)
    QVBoxLayout(page).addWidget(editor)
    preview = QAction("Preview", page)
    preview.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
    preview.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    page.addAction(preview)
    editor.setPlainText("SELECT 1")
    with qtbot.waitActive(page):
        page.show()
        page.activateWindow()
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus)

    modifiers = Qt.KeyboardModifier.ControlModifier
    if key == Qt.Key.Key_Enter:
        modifiers |= Qt.KeyboardModifier.KeypadModifier
    with qtbot.waitSignal(preview.triggered, timeout=1000):
        qtbot.keyClick(editor, key, modifiers)

    assert editor.toPlainText() == "SELECT 1"


def test_ctrl_enter_without_a_shortcut_adds_no_line(editor: SqlEditor, qtbot: Any) -> None:
    editor.setPlainText("SELECT 1")

    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    assert editor.toPlainText() == "SELECT 1"
