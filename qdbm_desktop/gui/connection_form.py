"""The rows of the connection form: each field with its note and its error line underneath."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from qdbm_desktop.gui.error_line import ErrorLine


class FieldBox(QWidget):
    """A form field with a neutral note and the message that says what is wrong underneath.

    Signals: none of its own.
    """

    def __init__(self, field: QWidget | Sequence[QWidget], parent: QWidget | None = None,
                 *, expand: bool = True) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        widgets = [field] if isinstance(field, QWidget) else list(field)
        for i, widget in enumerate(widgets):
            line.addWidget(widget, 1 if i == 0 and expand else 0)
        if not expand:
            line.addStretch(1)
        layout.addLayout(line)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setVisible(False)
        layout.addWidget(self.note)
        self.error_line = ErrorLine(self)
        layout.addWidget(self.error_line)

    @property
    def error(self) -> QLabel:
        return self.error_line.label

    def set_error(self, message: str | None) -> None:
        self.error_line.set_message(message)

    @property
    def has_error(self) -> bool:
        return self.error_line.has_message

    def set_note(self, message: str | None) -> None:
        self.note.setText(message or "")
        self.note.setVisible(bool(message))


class FormRows:
    """A ``QFormLayout`` of :class:`FieldBox` rows, each known by its field's key."""

    def __init__(self, owner: QWidget) -> None:
        self._owner = owner
        self.layout = QFormLayout()
        self.layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.layout.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.boxes: dict[str, FieldBox] = {}
        self.labels: dict[str, QLabel] = {}

    def add(self, field: str, label: str, widget: QWidget | Sequence[QWidget], *,
            expand: bool = True) -> None:
        box = FieldBox(widget, self._owner, expand=expand)
        box.setObjectName(f"{field}Field")
        text_label = QLabel(label, self._owner)
        first = widget if isinstance(widget, QWidget) else widget[0]
        text_label.setBuddy(first)
        self.layout.addRow(text_label, box)
        self.boxes[field] = box
        self.labels[field] = text_label

    def set_visible(self, field: str, visible: bool) -> None:
        self.layout.setRowVisible(self.boxes[field], visible)

    def is_visible(self, field: str) -> bool:
        return self.layout.isRowVisible(self.boxes[field])

    def clear_errors(self, fields: Sequence[str] | None = None) -> None:
        for field in self.boxes if fields is None else fields:
            self.boxes[field].set_error(None)


def stacked(parent: QWidget, *widgets: QWidget) -> QWidget:
    """``widgets`` one above the other, tight, as one form field."""
    holder = QWidget(parent)
    layout = QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    for widget in widgets:
        layout.addWidget(widget)
    return holder
