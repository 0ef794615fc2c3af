"""The warning strip at the top of the main window."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from qdbm_desktop.gui.icons import load_icon

# Fixed colours rather than palette roles: a warning must read as a warning under light and dark
# themes alike, so it brings its own dark-on-amber contrast.
_STYLE = """
QFrame#noticeBanner {
    background-color: #fff3cd;
    border: 1px solid #e0b84a;
    border-radius: 4px;
}
QFrame#noticeBanner QLabel { color: #4a3800; background: transparent; }
QFrame#noticeBanner QToolButton {
    color: #4a3800; background: transparent; border: 1px solid transparent; border-radius: 3px;
    padding: 1px 6px;
}
QFrame#noticeBanner QToolButton:hover { border-color: #c9a23a; background-color: #ffe8a3; }
"""


class NoticeBanner(QFrame):
    """Lists what the user must be told (files set aside, no OS keyring ...); hidden when empty.

    A notice the user dismissed stays hidden until a new one arrives.

    Signals: none of its own.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBanner")
        self.setStyleSheet(_STYLE)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._messages: list[str] = []
        self._dismissed: set[str] = set()

        self._icon = QLabel(self)
        self._icon.setPixmap(load_icon("warning").pixmap(QSize(20, 20), self.devicePixelRatioF()))
        self._icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._icon.setAccessibleName("Warning")
        self._label = QLabel(self)
        self._label.setObjectName("noticeText")
        self._label.setWordWrap(True)
        self._label.setTextFormat(Qt.TextFormat.PlainText)
        # Notices name files and folders the user may want to copy.
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._dismiss = QToolButton(self)
        self._dismiss.setText("Dismiss")
        self._dismiss.setToolTip("Hide these notices")
        self._dismiss.clicked.connect(self._on_dismiss_clicked)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 8, 8, 8)
        layout.setSpacing(8)
        layout.addWidget(self._icon)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.setVisible(False)

    def set_messages(self, messages: Sequence[str]) -> None:
        """Show ``messages`` (duplicates once each); hide the banner when none is left to show."""
        shown = [m for m in dict.fromkeys(messages) if m not in self._dismissed]
        self._messages = shown
        sentences = [self._sentence(m) for m in shown]
        bullets = [f"\u2022 {sentence}" for sentence in sentences] if len(sentences) > 1 else sentences
        self._label.setText("\n".join(bullets))
        self.setVisible(bool(shown))

    @property
    def dismiss_button(self) -> QToolButton:
        return self._dismiss

    def messages(self) -> list[str]:
        return list(self._messages)

    def text(self) -> str:
        return self._label.text()

    @staticmethod
    def _sentence(message: str) -> str:
        # Core messages are lower-case clauses ("no usable OS keyring ...") so they read well in logs;
        # one that starts with a file name ("connections.json could not ...") keeps its case.
        first_word = message.split(" ", 1)[0]
        text = message[:1].upper() + message[1:] if first_word.isalpha() else message
        return text if text.endswith((".", "!", "?")) else text + "."

    def _on_dismiss_clicked(self) -> None:
        self._dismissed.update(self._messages)
        self.set_messages([])
