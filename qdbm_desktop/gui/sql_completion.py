"""Completion of table and column names in the SQL editor, from the source's catalog.

The words come from ``core.browse.catalog_names`` (read on a pool thread by the page); each word
maps to the text inserted for it, quoted where the source's dialect needs it. The popup opens
once two characters of a word are typed (or on Ctrl+Space) and closes when nothing matches.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject, QStringListModel, Qt
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QAbstractItemView, QCompleter, QPlainTextEdit

#: Characters of a word being completed: a name, perhaps schema-qualified.
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
MIN_PREFIX = 2
_POPUP_KEYS = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Tab,
                         Qt.Key.Key_Backtab})


class SqlCompletion(QObject):
    """A QCompleter over an editor's text: table and column names of the source."""

    def __init__(self, editor: QPlainTextEdit) -> None:
        super().__init__(editor)
        self._editor = editor
        self._inserts: dict[str, str] = {}
        self._model = QStringListModel(self)
        self._completer = QCompleter(self._model, self)
        self._completer.setWidget(editor)
        self._completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self._completer.setModelSorting(QCompleter.ModelSorting.CaseInsensitivelySortedModel)
        self._completer.activated.connect(self._on_completer_activated)

    @property
    def completer(self) -> QCompleter:
        return self._completer

    @property
    def popup(self) -> QAbstractItemView:
        popup = self._completer.popup()
        assert popup is not None  # a QCompleter always has one
        return popup

    def words(self) -> list[str]:
        return list(self._model.stringList())

    def set_words(self, inserts: Mapping[str, str]) -> None:
        """The names to offer, each with the text inserted for it; empty turns completion off."""
        self._inserts = dict(inserts)
        self._model.setStringList(sorted(self._inserts, key=str.lower))
        if not self._inserts:
            self.popup.hide()

    def popup_takes(self, event: QKeyEvent) -> bool:
        """Whether the open popup handles this key (the editor must leave it alone)."""
        return self.popup.isVisible() and Qt.Key(event.key()) in _POPUP_KEYS

    def after_key(self, event: QKeyEvent) -> None:
        """Open, narrow or close the popup for the word now left of the cursor."""
        forced = (event.key() == Qt.Key.Key_Space
                  and bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier))
        prefix = self.prefix()
        if not self._inserts or (len(prefix) < MIN_PREFIX and not forced) or not event.text() and not forced:
            if len(prefix) < MIN_PREFIX:
                self.popup.hide()
            return
        self.complete(prefix)

    def complete(self, prefix: str) -> None:
        """Show the names starting with ``prefix`` under the cursor; hide the popup when none does."""
        self._completer.setCompletionPrefix(prefix)
        if self._completer.completionCount() == 0:
            self.popup.hide()
            return
        popup = self.popup
        popup.setCurrentIndex(self._completer.completionModel().index(0, 0))
        rect = self._editor.cursorRect()
        rect.setWidth(popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width())
        self._completer.complete(rect)

    def prefix(self) -> str:
        """The part of a name typed left of the cursor."""
        cursor = self._editor.textCursor()
        text = cursor.block().text()[: cursor.positionInBlock()]
        start = len(text)
        while start > 0 and text[start - 1] in _WORD_CHARS:
            start -= 1
        return text[start:]

    def _on_completer_activated(self, word: str) -> None:
        cursor = self._editor.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor,
                            len(self.prefix()))
        cursor.insertText(self._inserts.get(word, word))
        self._editor.setTextCursor(cursor)
