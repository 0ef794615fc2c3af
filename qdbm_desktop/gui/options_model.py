"""The editable table of a connection's driver options (SSL files, modes ...)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum
from typing import ClassVar

from PySide6.QtCore import QModelIndex, Qt

from qdbm_desktop.core.connections import is_secret_option
from qdbm_desktop.core.errors import MASK
from qdbm_desktop.gui.table_models import AnyIndex, FrozenRowsModel


class OptionColumn(IntEnum):
    KEY = 0
    VALUE = 1


@dataclass(frozen=True)
class OptionRow:
    """One driver option. ``stored_secret``: its value is kept encrypted and not shown."""

    key: str
    value: str
    stored_secret: bool = False

    @property
    def secret(self) -> bool:
        return is_secret_option(self.key)


_EDITABLE = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable
_SHOWN = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole)


class OptionsModel(FrozenRowsModel[OptionRow]):
    """Editable key/value rows for a connection's driver options (SSL files, modes ...).

    A row whose value is stored encrypted shows a mask; leaving its value empty keeps it.

    Signals: only those of ``QAbstractTableModel``.
    """

    titles: ClassVar[tuple[str, ...]] = ("Key", "Value")

    def set_rows(self, rows: list[OptionRow]) -> None:
        self.reload(rows)

    def append_row(self, key: str = "", value: str = "") -> int:
        """Add a row at the end; returns its number."""
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append(OptionRow(key, value))
        self.endInsertRows()
        return row

    def remove_row(self, row: int) -> None:
        if not 0 <= row < len(self._rows):
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self.endRemoveRows()

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        return _EDITABLE if self.cell_of(index) is not None else Qt.ItemFlag.NoItemFlags

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        row = self.cell_of(index)
        if row is None:
            return None
        if index.column() == OptionColumn.KEY:
            return row.key if role in _SHOWN else None
        if role == Qt.ItemDataRole.DisplayRole:
            # A credential typed into an option is not left readable on screen.
            return MASK if row.secret and (row.value or row.stored_secret) else row.value
        if role == Qt.ItemDataRole.EditRole:
            return row.value
        if role == Qt.ItemDataRole.ToolTipRole and row.stored_secret:
            return "Stored encrypted; leave it empty to keep it, or type a new value"
        return None

    def setData(self, index: AnyIndex, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:
        old = self.cell_of(index)
        if role != Qt.ItemDataRole.EditRole or old is None:
            return False
        text = "" if value is None else str(value)
        if index.column() == OptionColumn.KEY:
            # The stored token belongs to the old key; a renamed key starts without one.
            new = replace(old, key=text.strip(),
                          stored_secret=old.stored_secret and text.strip() == old.key)
        else:
            new = replace(old, value=text)
        if new == old:
            return False
        self._rows[index.row()] = new
        self.dataChanged.emit(self.index(index.row(), 0), self.index(index.row(), len(OptionColumn) - 1))
        return True
