"""The history table: one row per run, newest first, behind a sort/filter proxy."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from qdbm_desktop.core.history import RunRecord, RunStatus
from qdbm_desktop.gui.table_models import FrozenRowsModel

_AnyIndex = QModelIndex | QPersistentModelIndex
#: The role that gives a cell's value for sorting (numbers as numbers, times as times).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1

_STATUS_COLOURS = {
    RunStatus.SUCCEEDED: QColor(46, 160, 67),
    RunStatus.FAILED: QColor(218, 54, 51),
    RunStatus.INTERRUPTED: QColor(218, 54, 51),
    RunStatus.CANCELLED: QColor(191, 135, 0),
    RunStatus.SKIPPED: QColor(128, 128, 128),
}


class Column(IntEnum):
    STARTED = 0
    STATUS = 1
    JOB = 2
    SOURCE = 3
    TARGET = 4
    TABLE = 5
    ROWS = 6
    SECONDS = 7
    RATE = 8
    TRIGGER = 9
    ERROR = 10

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {
    Column.STARTED: "Started", Column.STATUS: "Status", Column.JOB: "Job", Column.SOURCE: "Source",
    Column.TARGET: "Destination", Column.TABLE: "Table", Column.ROWS: "Rows", Column.SECONDS: "Seconds",
    Column.RATE: "Rows/s", Column.TRIGGER: "Trigger", Column.ERROR: "Error",
}
_NUMERIC = (Column.ROWS, Column.SECONDS, Column.RATE)


def cell_text(record: RunRecord, column: Column) -> str:
    """A cell as shown, and as exported to CSV."""
    if column is Column.STARTED:
        return record.started.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    if column is Column.STATUS:
        return record.status.value
    if column is Column.JOB:
        return record.job or "(ad hoc)"
    if column is Column.SOURCE:
        return record.source
    if column is Column.TARGET:
        return record.target
    if column is Column.TABLE:
        return record.target_table
    if column is Column.ROWS:
        return f"{record.rows_written:,}"
    if column is Column.SECONDS:
        return f"{record.seconds:.1f}" if record.seconds is not None else ""
    if column is Column.RATE:
        rate = record.rows_per_second
        return f"{rate:,.0f}" if rate is not None else ""
    if column is Column.TRIGGER:
        return record.trigger.value
    return " ".join((record.error or "").split())


def _sort_value(record: RunRecord, column: Column) -> object:
    if column is Column.STARTED:
        return record.started.timestamp()
    if column is Column.ROWS:
        return record.rows_written
    if column is Column.SECONDS:
        return record.seconds if record.seconds is not None else -1.0
    if column is Column.RATE:
        rate = record.rows_per_second
        return rate if rate is not None else -1.0
    return cell_text(record, column).casefold()


class HistoryModel(FrozenRowsModel[RunRecord]):
    """Frozen ``RunRecord``s, as the history store gave them.

    Signals: only those of ``QAbstractTableModel``.
    """

    titles = tuple(column.title for column in Column)

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        record = self.row_of(index)
        if record is None:
            return None
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(record, column)
        if role == SORT_ROLE:
            return _sort_value(record, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is Column.ERROR and record.error:
                return record.error
            if column in (Column.SOURCE, Column.TABLE):
                return record.query
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column is Column.STATUS:
            colour = _STATUS_COLOURS.get(record.status)
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class HistoryProxyModel(QSortFilterProxyModel):
    """Sorts by each column's value (not its text).

    Signals: only those of ``QSortFilterProxyModel``.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
