"""The Schedules page: the scheduled migrations and when each runs next."""

from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.schedules import Schedule

_AnyIndex = QModelIndex | QPersistentModelIndex
_HEADERS = ("Job", "When", "Enabled")


class SchedulesModel(QAbstractTableModel):
    """Frozen ``Schedule`` rows.

    Signals: only those of ``QAbstractTableModel``.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Schedule] = []

    def reload(self, rows: list[Schedule]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(_HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[section]
        return None

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        s = self._rows[index.row()]
        values = (s.job, s.trigger.describe(), "yes" if s.enabled else "no")
        return values[index.column()]


class SchedulesPage(QWidget):
    """The saved schedules.

    Signals: none of its own.
    """

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("schedulesPage")
        self._context = context
        self._model = SchedulesModel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._table = QTableView(self)
        self._table.setObjectName("schedulesTable")
        self._table.setModel(self._model)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.verticalHeader().setVisible(False)
        self._table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self._table, 1)
        self._count = QLabel(self)
        layout.addWidget(self._count)
        self.refresh()

    @property
    def model(self) -> SchedulesModel:
        return self._model

    def refresh(self) -> None:
        try:
            rows = sorted(self._context.schedules.schedules(), key=lambda s: s.job)
        except (QdbmError, OSError) as exc:
            self._count.setText(f"The schedules cannot be read: {exc}")
            return
        self._model.reload(rows)
        self._count.setText(f"{len(rows)} schedule{'s' if len(rows) != 1 else ''}")

    def next_run_text(self) -> str:
        """For the status bar: when the next enabled schedule is due."""
        try:
            now = datetime.now(timezone.utc)
            due = sorted(t for s in self._context.schedules.schedules() if s.active
                         for t in s.trigger.next_fire_times(now, 1))
        except (QdbmError, OSError, ValueError):
            return ""
        if not due:
            return "No scheduled run"
        return f"Next run: {due[0].astimezone().strftime('%Y-%m-%d %H:%M')}"
