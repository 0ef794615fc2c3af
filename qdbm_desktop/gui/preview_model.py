"""The preview grid: a query's first rows, each header naming the column's source type."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QApplication

from qdbm_desktop.core.types import END_OF_DAY, Column
from qdbm_desktop.gui.table_models import AnyIndex, FrozenRowsModel

#: Longer values are cut in the cell; the tooltip holds the whole value.
MAX_CELL_CHARS = 200
NULL_TEXT = "NULL"


def display_value(value: Any) -> str:
    """A value as a DBA expects to read it: exact decimals, ISO times, hex for bytes."""
    if value is None:
        return NULL_TEXT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if value.__class__ is timedelta and value == END_OF_DAY:
        return "24:00:00"
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        text = "0x" + data[:64].hex()
        return text + ("…" if len(data) > 64 else "")
    return str(value)


class PreviewModel(FrozenRowsModel[tuple[Any, ...]]):
    """Read-only rows of a preview. NULL is shown in italics, apart from the text 'NULL'.

    Signals: only those of ``QAbstractTableModel``.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._columns: list[Column] = []

    def set_preview(self, columns: list[Column], rows: list[tuple[Any, ...]]) -> None:
        self.beginResetModel()
        self._columns = list(columns)
        self._rows = list(rows)
        self.endResetModel()

    def clear(self) -> None:
        self.set_preview([], [])

    @property
    def columns(self) -> list[Column]:
        return list(self._columns)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        # Counted without building the titles: every cell's lookup asks.
        return 0 if parent.isValid() else len(self._columns)

    def column_titles(self) -> list[str]:
        return [f"{column.name}\n{column.source_type or column.type}" for column in self._columns]

    def header_tooltip(self, section: int) -> str | None:
        column = self._columns[section]
        return f"{column.name}: {column.source_type or column.type} (as {column.type})"

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Vertical:
            return str(section + 1) if role == Qt.ItemDataRole.DisplayRole else None
        return super().headerData(section, orientation, role)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        row = self.cell_of(index)
        if row is None:
            return None
        value = row[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            text = display_value(value)
            text = text.replace("\n", "⏎").replace("\t", "⇥")
            return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"
        if role == Qt.ItemDataRole.ToolTipRole:
            text = display_value(value)
            return text if len(text) > 40 or "\n" in text else None
        if value is None and role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setItalic(True)
            return font
        if value is None and role == Qt.ItemDataRole.ForegroundRole:
            return QApplication.palette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, int | float | Decimal) \
                and not isinstance(value, bool):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
