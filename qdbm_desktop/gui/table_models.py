"""The common part of the table models: frozen rows, replaced all at once, named columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

AnyIndex = QModelIndex | QPersistentModelIndex
RowT = TypeVar("RowT")


class FrozenRowsModel(QAbstractTableModel, Generic[RowT]):
    """Rows given whole by ``reload``; a subclass names its columns in ``titles`` (or
    ``column_titles`` when they change) and writes ``data``, reading its row with ``cell_of``.

    Signals: only those of ``QAbstractTableModel``.
    """

    titles: ClassVar[tuple[str, ...]] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RowT] = []

    def reload(self, rows: Sequence[RowT]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> RowT:
        return self._rows[row]

    @property
    def rows(self) -> list[RowT]:
        return list(self._rows)

    def row_of(self, index: AnyIndex) -> RowT | None:
        """The row behind ``index``, or None for an index outside the rows."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self._rows[index.row()]

    def cell_of(self, index: AnyIndex) -> RowT | None:
        """The row behind a top-level ``index`` inside the rows and the columns, else None."""
        if not index.isValid() or index.parent().isValid() or not 0 <= index.row() < len(self._rows) \
                or not 0 <= index.column() < self.columnCount():
            return None
        return self._rows[index.row()]

    def column_titles(self) -> Sequence[str]:
        return self.titles

    def header_tooltip(self, section: int) -> str | None:
        """The tooltip of column ``section``'s header; None for none."""
        return None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self.column_titles())

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        titles = self.column_titles()
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(titles):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return titles[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.header_tooltip(section)
        return None
