""""Copy tables…": a checklist over the source's tables and views, each with a target name and
a load mode, that becomes one many-tables run (see ``core.table_copy``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.dialects.catalog import Relation, RelationKind
from qdbm_desktop.core.table_copy import TableCopy

Index = QModelIndex | QPersistentModelIndex


class CopyColumn:
    TABLE = 0
    TARGET = 1
    MODE = 2


_HEADERS = ("Source table", "Target table", "Mode")
#: The dialog's result when the user saves the selection as a job instead of running it.
SAVE_AS_JOB = 2


@dataclass
class _Row:
    relation: Relation
    checked: bool
    target: str
    mode: LoadMode


class CopyTablesModel(QAbstractTableModel):
    """One row per source table or view: checked or not, its target name and its mode."""

    def __init__(self, relations: Sequence[Relation], mode: LoadMode = LoadMode.APPEND,
                 default_schema: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows = [_Row(r, False, _target_name(r.name, default_schema), mode) for r in relations]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's name and default
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's name and default
        return 0 if parent.isValid() else len(_HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt's name
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == CopyColumn.TABLE:
            return base | Qt.ItemFlag.ItemIsUserCheckable
        return base | Qt.ItemFlag.ItemIsEditable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if column == CopyColumn.TABLE:
            if role == Qt.ItemDataRole.CheckStateRole:
                return Qt.CheckState.Checked if row.checked else Qt.CheckState.Unchecked
            if role == Qt.ItemDataRole.DisplayRole:
                view = row.relation.kind is RelationKind.VIEW
                return str(row.relation.name) + ("  (view, copied as a table)" if view else "")
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return row.target if column == CopyColumn.TARGET else row.mode.value
        return None

    def setData(self, index: Index, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid():
            return False
        row = self._rows[index.row()]
        column = index.column()
        if column == CopyColumn.TABLE and role == Qt.ItemDataRole.CheckStateRole:
            row.checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2)
        elif column == CopyColumn.TARGET and role == Qt.ItemDataRole.EditRole:
            row.target = str(value).strip() or row.target
        elif column == CopyColumn.MODE and role == Qt.ItemDataRole.EditRole:
            try:
                row.mode = LoadMode(str(value))
            except ValueError:
                return False
        else:
            return False
        self.dataChanged.emit(index, index, [role])
        return True

    def set_all_checked(self, checked: bool) -> None:
        for row in self._rows:
            row.checked = checked
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 0),
                                  [Qt.ItemDataRole.CheckStateRole])

    def set_checked(self, table: TableName, checked: bool = True) -> None:
        for number, row in enumerate(self._rows):
            if row.relation.name == table:
                self.setData(self.index(number, CopyColumn.TABLE),
                             Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked,
                             Qt.ItemDataRole.CheckStateRole)

    def row_of(self, table: TableName) -> int:
        return next(i for i, row in enumerate(self._rows) if row.relation.name == table)

    def selection(self) -> list[TableCopy]:
        """The checked tables, in the list's order, as (source, target name, mode)."""
        return [TableCopy(r.relation.name, r.target, r.mode, r.relation.kind is RelationKind.VIEW)
                for r in self._rows if r.checked]

    def with_mode(self, mode: LoadMode) -> None:
        """Give every checked table ``mode``."""
        self._rows = [replace(r, mode=mode) if r.checked else r for r in self._rows]
        if self._rows:
            last = len(self._rows) - 1
            self.dataChanged.emit(self.index(0, CopyColumn.MODE), self.index(last, CopyColumn.MODE))


def _target_name(table: TableName, default_schema: str | None) -> str:
    """The target name a table starts with: its own, schema-qualified only outside the default schema."""
    if table.schema and table.schema != default_schema:
        return f"{table.schema}.{table.name}"
    return table.name


class _ModeDelegate(QStyledItemDelegate):
    """The Mode column edits with a list of the load modes."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,  # noqa: N802 - Qt's name
                     index: Index) -> QWidget:
        combo = QComboBox(parent)
        for mode in LoadMode:
            combo.addItem(mode.value, mode.value)
        return combo

    def setEditorData(self, editor: QWidget, index: Index) -> None:  # noqa: N802 - Qt's name
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(max(0, editor.findData(index.data(Qt.ItemDataRole.EditRole))))

    def setModelData(self, editor: QWidget, model: object, index: Index) -> None:  # noqa: N802
        if isinstance(editor, QComboBox) and isinstance(model, QAbstractTableModel):
            model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)


class CopyTablesDialog(QDialog):
    """Check the tables to copy from ``source`` to ``target``; ``selection()`` after Copy."""

    def __init__(self, source: str, target: str, relations: Sequence[Relation], *,
                 default_schema: str | None = None, checked: Sequence[TableName] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("copyTablesDialog")
        self.setWindowTitle("Copy tables")
        self._model = CopyTablesModel(relations, default_schema=default_schema, parent=self)
        for table in checked:
            self._model.set_checked(table)
        layout = QVBoxLayout(self)
        intro = QLabel(f"Copy tables from <b>{_html(source)}</b> to <b>{_html(target)}</b>: one run, "
                       "one step per table, parents before the tables whose foreign keys refer to "
                       "them. Check the tables; double-click a target name or mode to change it.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self._filter = QLineEdit(self)
        self._filter.setObjectName("copyTablesFilter")
        self._filter.setPlaceholderText("Filter tables")
        self._filter.setClearButtonEnabled(True)
        self._filter.textChanged.connect(self._on_filter_text_changed)
        layout.addWidget(self._filter)
        self._view = QTableView(self)
        self._view.setObjectName("copyTablesView")
        self._view.setModel(self._model)
        self._view.setItemDelegateForColumn(CopyColumn.MODE, _ModeDelegate(self._view))
        self._view.verticalHeader().setVisible(False)
        self._view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self._view.horizontalHeader()
        header.setSectionResizeMode(CopyColumn.TABLE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(CopyColumn.TARGET, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(CopyColumn.MODE, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self._view, 1)
        layout.addLayout(self._build_check_row())
        self._constraints = QCheckBox("Create the keys, indexes and foreign keys after the loads", self)
        self._constraints.setChecked(True)
        layout.addWidget(self._constraints)
        self._continue = QCheckBox("Go on with the other tables when one fails", self)
        layout.addWidget(self._continue)
        job_row = QHBoxLayout()
        self._job_name = QLineEdit(self)
        self._job_name.setObjectName("copyTablesJobName")
        self._job_name.setPlaceholderText("job name, to save the copy as a job")
        job_row.addWidget(self._job_name, 1)
        self._save_button = QPushButton("Save as &job", self)
        self._save_button.setObjectName("copyTablesSaveJob")
        self._save_button.setToolTip("Save these tables as a job, to run or schedule later")
        self._save_button.clicked.connect(lambda: self.done(SAVE_AS_JOB))
        job_row.addWidget(self._save_button)
        layout.addLayout(job_row)
        self._job_name.textChanged.connect(self._update_copy_button)
        self._buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self._copy_button = self._buttons.addButton("&Copy now", QDialogButtonBox.ButtonRole.AcceptRole)
        self._copy_button.setObjectName("copyTablesButton")
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)
        layout.addWidget(self._buttons)
        self._model.dataChanged.connect(self._update_copy_button)
        self._update_copy_button()
        self.resize(640, 480)

    def _build_check_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        check_all = QPushButton("Check &all", self)
        check_all.clicked.connect(lambda: self._model.set_all_checked(True))
        row.addWidget(check_all)
        check_none = QPushButton("Check &none", self)
        check_none.clicked.connect(lambda: self._model.set_all_checked(False))
        row.addWidget(check_none)
        row.addStretch(1)
        row.addWidget(QLabel("Mode of the checked tables:", self))
        self._mode_all = QComboBox(self)
        self._mode_all.setObjectName("copyTablesModeAll")
        for mode in LoadMode:
            self._mode_all.addItem(mode.value, mode.value)
        self._mode_all.activated.connect(self._on_mode_all_activated)
        row.addWidget(self._mode_all)
        return row

    def _on_mode_all_activated(self, _index: int) -> None:
        self._model.with_mode(LoadMode(self._mode_all.currentData()))

    @property
    def model(self) -> CopyTablesModel:
        return self._model

    @property
    def view(self) -> QTableView:
        return self._view

    @property
    def filter_edit(self) -> QLineEdit:
        return self._filter

    @property
    def copy_button(self) -> QPushButton:
        return self._copy_button

    @property
    def constraints(self) -> bool:
        return self._constraints.isChecked()

    @property
    def continue_on_error(self) -> bool:
        return self._continue.isChecked()

    def selection(self) -> list[TableCopy]:
        return self._model.selection()

    @property
    def job_name(self) -> str:
        return self._job_name.text().strip()

    @property
    def save_button(self) -> QPushButton:
        return self._save_button

    def _update_copy_button(self) -> None:
        count = len(self._model.selection())
        self._copy_button.setEnabled(count > 0)
        self._save_button.setEnabled(count > 0 and bool(self._job_name.text().strip()))
        self._copy_button.setText(f"&Copy {count} table{'s' if count != 1 else ''}" if count else "&Copy now")

    def _on_filter_text_changed(self, text: str) -> None:
        needle = text.strip().lower()
        for number in range(self._model.rowCount()):
            name = str(self._model.index(number, CopyColumn.TABLE).data()).lower()
            self._view.setRowHidden(number, bool(needle) and needle not in name)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
