"""The two ways the app says what is wrong: a warning line under a field, and a status label
whose text turns to the error colour."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from qdbm_desktop.gui.colours import error_style
from qdbm_desktop.gui.icons import load_icon


class ErrorLine(QWidget):
    """A warning icon and a bold, wrapped message; hidden while there is no message.

    An icon and bold text rather than a colour: the palette has no "error" role, and a fixed
    red would be unreadable on some themes. The message label is named ``fieldError``.

    Signals: none of its own.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        icon = QLabel(self)
        icon.setPixmap(load_icon("warning").pixmap(QSize(16, 16), self.devicePixelRatioF()))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        self.label = QLabel(self)
        self.label.setObjectName("fieldError")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.label.font()
        font.setBold(True)
        self.label.setFont(font)
        layout.addWidget(self.label, 1)
        self.setVisible(False)

    def set_message(self, message: str | None) -> None:
        """Show ``message`` (its first letter made a capital), or hide the line for None or ""."""
        self.label.setText(message[0].upper() + message[1:] if message else "")
        self.setVisible(bool(message))

    @property
    def has_message(self) -> bool:
        return not self.isHidden()

    def text(self) -> str:
        """The message shown; empty when hidden."""
        return self.label.text() if self.has_message else ""


class StatusLabel(QLabel):
    """A one-line (wrapping) status under a form: plain for news, the error colour for a problem.

    ``hide_when_empty``: the label takes no room while it says nothing.

    Signals: only those of ``QLabel``.
    """

    def __init__(self, parent: QWidget | None = None, *, object_name: str = "",
                 hide_when_empty: bool = False) -> None:
        super().__init__(parent)
        if object_name:
            self.setObjectName(object_name)
        self._hide_when_empty = hide_when_empty
        if hide_when_empty:
            self.setVisible(False)

    def show_message(self, text: str | None, *, error: bool = False) -> None:
        self.setText(text or "")
        self.setStyleSheet(error_style(self.palette()) if error else "")
        if self._hide_when_empty:
            self.setVisible(bool(text))

    def show_error(self, text: str | None) -> None:
        self.show_message(text, error=True)
