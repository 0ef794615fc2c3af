"""The SQL text editor: highlighting from sqlglot's tokenizer, line numbers, SQL-friendly keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from PySide6.QtCore import QEvent, QRect, QSize, Qt, Slot
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

from qdbm_desktop.core.sqlcheck import SQLGLOT_DIALECTS
from qdbm_desktop.gui.sql_completion import SqlCompletion

INDENT = "    "
_MIN_GUTTER_DIGITS = 2
_GUTTER_PADDING = 6
# A dark window is one whose background is darker than this (QColor.lightness, 0-255).
_DARK_LIGHTNESS = 128


class TokenKind(IntEnum):
    KEYWORD = 0
    STRING = 1
    NUMBER = 2
    COMMENT = 3
    QUOTED_IDENTIFIER = 4


class _Carry(IntEnum):
    """What a text block ends inside of, so the next block can be read from where it left off.

    Each value's opener is put before the next block's text and its closer tried after an
    unfinished one: sqlglot then tokenizes the block as if the lines were one.
    """

    NOTHING = 0
    BLOCK_COMMENT = 1
    STRING = 2
    DOUBLE_QUOTED = 3
    BACKTICK_QUOTED = 4


_OPENERS = {_Carry.BLOCK_COMMENT: "/*", _Carry.STRING: "'", _Carry.DOUBLE_QUOTED: '"',
            _Carry.BACKTICK_QUOTED: "`"}
_CLOSERS = {_Carry.BLOCK_COMMENT: "*/", _Carry.STRING: "'", _Carry.DOUBLE_QUOTED: '"',
            _Carry.BACKTICK_QUOTED: "`"}

_NOT_KEYWORDS = frozenset({TokenType.VAR, TokenType.IDENTIFIER, TokenType.NUMBER, TokenType.PARAMETER})


@dataclass(frozen=True)
class SqlColours:
    """Foreground colours of each token kind, chosen for a light or a dark background."""

    keyword: QColor
    string: QColor
    number: QColor
    comment: QColor
    quoted_identifier: QColor

    @classmethod
    def for_palette(cls, palette: QPalette) -> SqlColours:
        """Colours that read well on the palette's base colour."""
        if palette.color(QPalette.ColorRole.Window).lightness() < _DARK_LIGHTNESS:
            return cls(keyword=QColor("#6cb6ff"), string=QColor("#e6a572"), number=QColor("#b5cea8"),
                       comment=QColor("#8b949e"), quoted_identifier=QColor("#d2a8ff"))
        return cls(keyword=QColor("#0033b3"), string=QColor("#067d17"), number=QColor("#1750eb"),
                   comment=QColor("#6e7781"), quoted_identifier=QColor("#871094"))


def _kind(token: Token) -> TokenKind | None:
    if token.token_type == TokenType.NUMBER:
        return TokenKind.NUMBER
    if token.token_type == TokenType.IDENTIFIER:
        return TokenKind.QUOTED_IDENTIFIER
    if token.token_type.name.endswith("_STRING") or token.token_type == TokenType.STRING:
        return TokenKind.STRING
    if token.token_type not in _NOT_KEYWORDS and token.text[:1].isalpha():
        return TokenKind.KEYWORD
    return None


def _is_qualified(tokens: list[Token], index: int) -> bool:
    """Whether the word at ``index`` is part of a dotted name (``c.name``, ``date.x``), so not a keyword."""
    before = tokens[index - 1] if index > 0 else None
    after = tokens[index + 1] if index + 1 < len(tokens) else None
    return any(t is not None and t.token_type == TokenType.DOT for t in (before, after))


@dataclass(frozen=True)
class Span:
    """A highlighted stretch of one line: ``length`` characters from ``start``."""

    start: int
    length: int
    kind: TokenKind


def highlight_line(text: str, carry: int, dialect: Dialect) -> tuple[list[Span], int]:
    """The spans of one line and what it ends inside of, given what the line before ended inside of.

    Comments are not tokens for sqlglot: whatever non-blank text lies between its tokens is one.
    """
    try:
        carried = _Carry(carry)
    except ValueError:  # -1: a block never highlighted before
        carried = _Carry.NOTHING
    opener = _OPENERS.get(carried, "")
    source = opener + text
    tokens: list[Token] | None = None
    ends_in = _Carry.NOTHING
    closer = ""
    for candidate in (_Carry.NOTHING, *_CLOSERS):
        closer = _CLOSERS.get(candidate, "")
        try:
            tokens = dialect.tokenize(source + closer)
        except SqlglotError:
            continue
        ends_in = candidate
        break
    if tokens is None:
        return [], _Carry.NOTHING

    spans: list[Span] = []
    shift = len(opener)
    limit = len(text)

    def add(start: int, end: int, kind: TokenKind) -> None:
        # Positions in the tokenized text, end exclusive; the opener and closer are not on the line.
        start, end = max(start - shift, 0), min(end - shift, limit)
        if end > start:
            spans.append(Span(start, end - start, kind))

    def add_comments(gap_start: int, gap_end: int) -> None:
        gap = (source + closer)[gap_start:gap_end]
        if gap.strip():
            first = gap_start + len(gap) - len(gap.lstrip())
            add(first, gap_start + len(gap.rstrip()), TokenKind.COMMENT)

    position = 0
    for index, token in enumerate(tokens):
        add_comments(position, token.start)
        kind = _kind(token)
        if kind == TokenKind.KEYWORD and _is_qualified(tokens, index):
            kind = None
        if kind is not None:
            add(token.start, token.end + 1, kind)
        position = token.end + 1
    add_comments(position, len(source + closer))
    return spans, ends_in


class SqlHighlighter(QSyntaxHighlighter):
    """Colours keywords, strings, numbers, comments and quoted names, block by block.

    Signals: none of its own.
    """

    def __init__(self, document: QTextDocument, colours: SqlColours, dialect: str | None = None) -> None:
        super().__init__(document)
        self._dialect = Dialect.get_or_raise(dialect)
        self._formats: dict[TokenKind, QTextCharFormat] = {}
        self._make_formats(colours)

    def set_colours(self, colours: SqlColours) -> None:
        self._make_formats(colours)
        self.rehighlight()

    def set_dialect(self, dialect: str | None) -> None:
        """Tokenize as sqlglot's ``dialect`` (None: its generic SQL)."""
        self._dialect = Dialect.get_or_raise(dialect)
        self.rehighlight()

    def format_of(self, kind: TokenKind) -> QTextCharFormat:
        return QTextCharFormat(self._formats[kind])

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt's name
        spans, ends_in = highlight_line(text, self.previousBlockState(), self._dialect)
        for span in spans:
            self.setFormat(span.start, span.length, self._formats[span.kind])
        self.setCurrentBlockState(int(ends_in))

    def _make_formats(self, colours: SqlColours) -> None:
        def make(colour: QColor, bold: bool = False, italic: bool = False) -> QTextCharFormat:
            char_format = QTextCharFormat()
            char_format.setForeground(colour)
            if bold:
                char_format.setFontWeight(QFont.Weight.Bold)
            char_format.setFontItalic(italic)
            return char_format

        self._formats = {
            TokenKind.KEYWORD: make(colours.keyword, bold=True),
            TokenKind.STRING: make(colours.string),
            TokenKind.NUMBER: make(colours.number),
            TokenKind.COMMENT: make(colours.comment, italic=True),
            TokenKind.QUOTED_IDENTIFIER: make(colours.quoted_identifier),
        }


class _LineNumberGutter(QWidget):
    """Paints the editor's line numbers; the editor keeps it beside its viewport."""

    def __init__(self, editor: SqlEditor) -> None:
        super().__init__(editor)
        self._editor = editor

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self._editor.line_number_area_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        self._editor.paint_line_numbers(event)


def _is_ctrl_enter(event: QKeyEvent) -> bool:
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return (event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and modifiers == Qt.KeyboardModifier.ControlModifier)


class SqlEditor(QPlainTextEdit):
    """A plain-text SQL editor with highlighting, line numbers and the current line marked.

    Tab inserts four spaces (indents the selected lines; Shift+Tab takes them back) and
    Ctrl+Tab moves the focus on; Return keeps the line's indentation, and Ctrl+Enter is left to a
    shortcut of the page (Preview) instead of breaking the line.

    Signals: those of QPlainTextEdit (``textChanged`` ...).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sqlEditor")
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabChangesFocus(False)
        self._gutter = _LineNumberGutter(self)
        self._highlighter = SqlHighlighter(self.document(), SqlColours.for_palette(self.palette()))
        self._update_tab_width()
        self._completion = SqlCompletion(self)

        self.blockCountChanged.connect(self._on_self_block_count_changed)
        self.updateRequest.connect(self._on_self_update_request)
        self.cursorPositionChanged.connect(self._on_self_cursor_position_changed)
        self._on_self_block_count_changed(self.blockCount())
        self._on_self_cursor_position_changed()

    @property
    def highlighter(self) -> SqlHighlighter:
        return self._highlighter

    @property
    def line_number_area(self) -> QWidget:
        return self._gutter

    @property
    def completion(self) -> SqlCompletion:
        """The completion of the source's table and column names (``set_words`` fills it)."""
        return self._completion

    def set_connection_type(self, connection_type: str | None) -> None:
        """Read the text as the SQL of a connection type (``postgresql``, ``mysql`` ...)."""
        self._highlighter.set_dialect(SQLGLOT_DIALECTS.get(connection_type or ""))

    def query(self) -> str:
        return self.toPlainText()

    def set_query(self, text: str) -> None:
        """Replace the whole text as one edit, so Ctrl+Z brings the previous query back."""
        cursor = QTextCursor(self.document())
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)
        cursor.movePosition(QTextCursor.MoveOperation.Start)
        self.setTextCursor(cursor)

    # -- line numbers -----------------------------------------------------------------------

    def line_number_area_width(self) -> int:
        digits = max(_MIN_GUTTER_DIGITS, len(str(max(1, self.blockCount()))))
        return _GUTTER_PADDING * 2 + self.fontMetrics().horizontalAdvance("9") * digits

    def paint_line_numbers(self, event: QPaintEvent) -> None:
        palette = self.palette()
        painter = QPainter(self._gutter)
        try:
            painter.fillRect(event.rect(), palette.color(QPalette.ColorRole.Window))
            painter.setFont(self.font())
            current = self.textCursor().blockNumber()
            normal = palette.color(QPalette.ColorRole.PlaceholderText)
            strong = palette.color(QPalette.ColorRole.WindowText)
            width = self._gutter.width() - _GUTTER_PADDING
            height = self.fontMetrics().height()
            block = self.firstVisibleBlock()
            top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
            while block.isValid() and top <= event.rect().bottom():
                bottom = top + round(self.blockBoundingRect(block).height())
                if block.isVisible() and bottom >= event.rect().top():
                    painter.setPen(strong if block.blockNumber() == current else normal)
                    painter.drawText(0, top, width, height, Qt.AlignmentFlag.AlignRight,
                                     str(block.blockNumber() + 1))
                block = block.next()
                top = bottom
        finally:
            painter.end()

    @Slot(int)
    def _on_self_block_count_changed(self, _count: int) -> None:
        self.setViewportMargins(self.line_number_area_width(), 0, 0, 0)

    @Slot(QRect, int)
    def _on_self_update_request(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._on_self_block_count_changed(self.blockCount())

    @Slot()
    def _on_self_cursor_position_changed(self) -> None:
        selection = QTextEdit.ExtraSelection()
        selection.format.setBackground(self._current_line_colour())
        selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        cursor = self.textCursor()
        cursor.clearSelection()
        selection.cursor = cursor
        self.setExtraSelections([selection])
        # The current line's number is drawn stronger than the others.
        self._gutter.update()

    def _current_line_colour(self) -> QColor:
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Base)
        highlight = palette.color(QPalette.ColorRole.Highlight)
        # A faint tint of the selection colour: visible on the base colour, never hiding a selection.
        weight = 0.12

        def mix(a: int, b: int) -> int:
            return round(a * (1 - weight) + b * weight)

        return QColor(mix(base.red(), highlight.red()), mix(base.green(), highlight.green()),
                      mix(base.blue(), highlight.blue()))

    # -- Qt events --------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        contents = self.contentsRect()
        self._gutter.setGeometry(QRect(contents.left(), contents.top(), self.line_number_area_width(),
                                       contents.height()))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange,
                            QEvent.Type.StyleChange):
            self._highlighter.set_colours(SqlColours.for_palette(self.palette()))
            self._on_self_cursor_position_changed()
        elif event.type() == QEvent.Type.FontChange:
            self._update_tab_width()
            self._on_self_block_count_changed(self.blockCount())

    def event(self, event: QEvent) -> bool:
        # A text edit claims Ctrl+Enter before shortcuts see it; leaving it unclaimed lets the
        # page's Preview shortcut fire while the cursor is in the query.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and _is_ctrl_enter(event):
            event.ignore()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if self._completion.popup_takes(event):
            event.ignore()  # the completion's popup acts on it
            return
        self._key_press(event)
        self._completion.after_key(event)

    def _key_press(self, event: QKeyEvent) -> None:
        if _is_ctrl_enter(event):
            # No shortcut took it: still no line break, the parent may act on it.
            event.ignore()
            return
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        control = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        if event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) and control:
            # Tab indents here, so Ctrl+Tab is the keyboard's way out of the editor. QPlainTextEdit's
            # own focusNextPrevChild refuses to move the focus while Tab is text, so QWidget's is used.
            forward = event.key() == Qt.Key.Key_Tab and not modifiers & Qt.KeyboardModifier.ShiftModifier
            QWidget.focusNextPrevChild(self, forward)
            return
        if event.key() == Qt.Key.Key_Tab and modifiers == Qt.KeyboardModifier.NoModifier:
            self._indent()
            return
        if event.key() == Qt.Key.Key_Backtab:
            self._dedent()
            return
        plain = modifiers == Qt.KeyboardModifier.NoModifier
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain:
            line = self.textCursor().block().text()
            self.textCursor().insertText("\n" + line[: len(line) - len(line.lstrip(" \t"))])
            self.ensureCursorVisible()
            return
        super().keyPressEvent(event)

    # -- indentation ------------------------------------------------------------------------

    def _selected_blocks(self) -> tuple[int, int] | None:
        """First and last block numbers of a selection spanning lines, else None."""
        cursor = self.textCursor()
        if not cursor.hasSelection():
            return None
        document = self.document()
        first = document.findBlock(cursor.selectionStart()).blockNumber()
        last_block = document.findBlock(cursor.selectionEnd())
        last = last_block.blockNumber()
        # A selection ending at the very start of a line does not take that line along.
        if last > first and cursor.selectionEnd() == last_block.position():
            last -= 1
        return (first, last) if last > first else None

    def _indent(self) -> None:
        blocks = self._selected_blocks()
        if blocks is None:
            self.textCursor().insertText(INDENT)
            return
        self._edit_lines(blocks, lambda line: INDENT + line if line.strip() else line)

    def _dedent(self) -> None:
        blocks = self._selected_blocks()
        if blocks is None:
            number = self.textCursor().blockNumber()
            blocks = (number, number)
        self._edit_lines(blocks, lambda line: line[min(len(INDENT), len(line) - len(line.lstrip(" "))):])

    def _edit_lines(self, blocks: tuple[int, int], edit: Callable[[str], str]) -> None:
        first, last = blocks
        document = self.document()
        cursor = QTextCursor(document)
        cursor.beginEditBlock()
        for number in range(first, last + 1):
            block = document.findBlockByNumber(number)
            new = edit(block.text())
            if new != block.text():
                cursor.setPosition(block.position())
                cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
                cursor.insertText(new)
        cursor.endEditBlock()
        # Keep the edited lines selected, so Tab or Shift+Tab can be pressed again.
        selection = QTextCursor(document.findBlockByNumber(first))
        end = document.findBlockByNumber(last)
        selection.setPosition(end.position() + end.length() - 1, QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(selection)

    def _update_tab_width(self) -> None:
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * len(INDENT))

