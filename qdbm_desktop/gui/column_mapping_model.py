"""The column mapping grid: per query column, whether it goes, its target name, type and NOT NULL."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyle

from qdbm_desktop.core.dialects import Dialect
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.fidelity import ColumnVerdict, Verdict, classify
from qdbm_desktop.core.migration import ColumnMap
from qdbm_desktop.core.types import Column as QueryColumn
from qdbm_desktop.core.types import PortableType
from qdbm_desktop.gui.colours import error_colour
from qdbm_desktop.gui.table_models import FrozenRowsModel

_AnyIndex = QModelIndex | QPersistentModelIndex
STALE_TIP = "From an earlier query or source: Preview again (Ctrl+Enter) to map the columns of this one"


class Column(IntEnum):
    INCLUDE = 0
    SOURCE = 1
    SOURCE_TYPE = 2
    TARGET = 3
    TYPE = 4
    NATIVE = 5
    #: Ticked: the target column is created NOT NULL (the DDL's own words, as Show SQL prints them).
    NOT_NULL = 6

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {
    Column.INCLUDE: "Include",
    Column.SOURCE: "Source column",
    Column.SOURCE_TYPE: "Source type",
    Column.TARGET: "Target column",
    Column.TYPE: "Target type",
    Column.NATIVE: "Created as",
    Column.NOT_NULL: "NOT NULL",
}


@dataclass(frozen=True)
class MappingRow:
    """One query column and what the user chose for it."""

    source: QueryColumn
    suggested: PortableType
    include: bool = True
    target: str = ""
    type_text: str = ""
    nullable: bool = True

    @property
    def target_name(self) -> str:
        return self.target.strip() or self.source.name

    def portable_type(self) -> PortableType:
        """The chosen type; raises ``QdbmError`` with the reason when the text is not a type."""
        text = self.type_text.strip()
        return PortableType.parse(text) if text else self.suggested


class ColumnMappingModel(FrozenRowsModel[MappingRow]):
    """An editable grid over ``MappingRow``s. Invalid target types are flagged in the grid.

    Signals: ``mapping_changed()`` after any edit.
    """

    mapping_changed = Signal()
    titles = tuple(column.title for column in Column)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._dialect: Dialect | None = None
        #: The source's engine (a dialect's name), for the verdicts: the same engine keeps its forms.
        self.source_engine = ""
        self._stale = False

    # -- filling ----------------------------------------------------------------------------

    def set_columns(self, columns: list[QueryColumn]) -> None:
        """New query columns: choices for columns of the same name are kept, others start fresh."""
        previous = {row.source.name: row for row in self._rows}
        rows = []
        for column in columns:
            old = previous.get(column.name)
            row = MappingRow(column, column.type, nullable=column.nullable)
            if old is not None:
                row = replace(old, source=column, suggested=column.type)
            rows.append(row)
        self.beginResetModel()
        self._rows = rows
        self._stale = False
        self.endResetModel()
        self.mapping_changed.emit()

    def set_target_dialect(self, dialect: Dialect | None) -> None:
        """The destination's dialect, for the "Created as" column and its type checks."""
        self._dialect = dialect
        if self._rows:
            self.dataChanged.emit(self.index(0, Column.TYPE), self.index(len(self._rows) - 1, Column.NATIVE))

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self._stale = False
        self.endResetModel()
        self.mapping_changed.emit()

    def set_stale(self, stale: bool) -> None:
        """Mark the rows as describing an earlier query (or source): shown greyed, not to be run."""
        if stale == self._stale:
            return
        self._stale = stale
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(Column) - 1))

    @property
    def stale(self) -> bool:
        return self._stale

    def has_choices(self) -> bool:
        """Whether a row differs from what the query would get by default."""
        try:
            return bool(self.column_map())
        except QdbmError:
            return True

    # -- fidelity ---------------------------------------------------------------------------

    def verdict(self, row: MappingRow) -> ColumnVerdict | None:
        """The row's fidelity verdict into a new table of the target (None without a target, for a
        left-out or invalid row, or a stale grid)."""
        if self._dialect is None or self._stale or not row.include:
            return None
        try:
            ptype = row.portable_type()
        except QdbmError:
            return None
        target = replace(row.source, name=row.target_name, type=ptype)
        try:
            native, refusal = self._dialect.native_type(ptype), None
        except QdbmError as exc:
            native, refusal = "", str(exc)
        return classify(row.source, target, native, self._dialect.name, self.source_engine, refusal)

    def verdicts(self) -> list[ColumnVerdict]:
        return [v for row in self._rows if (v := self.verdict(row)) is not None]

    def fidelity_summary(self) -> str:
        """``12 exact, 2 converted, 1 lossy``; empty when there is nothing to judge."""
        found = self.verdicts()
        return ", ".join(f"{n} {v.value}" for v in Verdict if (n := sum(1 for c in found if c.verdict is v)))

    # -- reading ----------------------------------------------------------------------------

    def row_error(self, row: MappingRow) -> str | None:
        """Why this row cannot be loaded as chosen, or None."""
        if not row.include:
            return None
        try:
            ptype = row.portable_type()
        except QdbmError as exc:
            return str(exc)
        if self._dialect is not None:
            try:
                self._dialect.native_type(ptype)
                self._dialect.check_identifier(row.target_name)
            except QdbmError as exc:
                return str(exc)
        return None

    def errors(self) -> list[str]:
        """Every problem of the mapping, each naming its column; empty when it can run."""
        problems = [f"{row.source.name}: {error}" for row in self._rows if (error := self.row_error(row))]
        included = [row for row in self._rows if row.include]
        if self._rows and not included:
            problems.append("every column is left out; include at least one")
        names = [row.target_name for row in included]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"two columns would both be named {name!r} in the target; rename one")
        return problems

    def column_map(self) -> tuple[ColumnMap, ...]:
        """The choices that differ from the defaults, for ``MigrationRequest.column_map``."""
        choices = []
        for row in self._rows:
            chosen_type = row.portable_type()
            choice = ColumnMap(
                row.source.name,
                target=row.target_name if row.target_name != row.source.name else None,
                type=chosen_type if chosen_type != row.suggested else None,
                nullable=row.nullable if row.nullable != row.source.nullable else None,
                include=row.include,
            )
            if choice != ColumnMap(row.source.name):
                choices.append(choice)
        return tuple(choices)

    # -- Qt model ---------------------------------------------------------------------------

    def header_tooltip(self, section: int) -> str | None:
        if section == Column.NOT_NULL:
            return ("Ticked: the column is created NOT NULL, and a NULL in the data fails the run naming "
                    "its row. It starts as the source column is declared")
        return None

    def flags(self, index: _AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        column = Column(index.column())
        if column in (Column.INCLUDE, Column.NOT_NULL):
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        elif column in (Column.TARGET, Column.TYPE):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        row = self.cell_of(index)
        if row is None:
            return None
        column = Column(index.column())
        if role == Qt.ItemDataRole.CheckStateRole:
            return self._check_state(row, column)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._text(row, column, role == Qt.ItemDataRole.EditRole)
        if column is Column.SOURCE and role in (Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole):
            verdict = self.verdict(row)
            if verdict is not None:
                return verdict_icon(verdict.verdict) if role == Qt.ItemDataRole.DecorationRole else \
                    f"{verdict.verdict.value}: {verdict.reason}"
        error = self.row_error(row) if column in (Column.TYPE, Column.NATIVE, Column.TARGET) else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(column, error)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(row, error)
        return None

    @staticmethod
    def _check_state(row: MappingRow, column: Column) -> Qt.CheckState | None:
        if column is Column.INCLUDE:
            return Qt.CheckState.Checked if row.include else Qt.CheckState.Unchecked
        if column is Column.NOT_NULL:
            return Qt.CheckState.Unchecked if row.nullable else Qt.CheckState.Checked
        return None

    def _tooltip(self, column: Column, error: str | None) -> str | None:
        if self._stale:
            return STALE_TIP
        if error:
            return error
        if column is Column.TYPE:
            return ("A portable type: int16, int32, int64, decimal(p,s), float32, float64, boolean, "
                    "char(n), varchar(n), text, binary, date, time, timestamp, timestamptz, json, uuid "
                    "(bigint, numeric(p,s), integer ... work too). Empty: the suggestion.")
        return None

    def _foreground(self, row: MappingRow, error: str | None) -> QBrush | None:
        palette = QApplication.palette()
        if self._stale:
            return palette.brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        if error:
            return QBrush(QColor(error_colour(palette)))
        if not row.include:
            return palette.brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        return None

    def setData(self, index: _AnyIndex, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid():
            return False
        row = self._rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.CheckStateRole and column in (Column.INCLUDE, Column.NOT_NULL):
            checked = Qt.CheckState(value) == Qt.CheckState.Checked
            if column is Column.INCLUDE:
                row = replace(row, include=checked)
            else:
                row = replace(row, nullable=not checked)
        elif role == Qt.ItemDataRole.EditRole and column is Column.TARGET:
            text = str(value).strip()
            row = replace(row, target="" if text == row.source.name else text)
        elif role == Qt.ItemDataRole.EditRole and column is Column.TYPE:
            text = str(value).strip()
            row = replace(row, type_text="" if text == str(row.suggested) else text)
        else:
            return False
        self._rows[index.row()] = row
        self.dataChanged.emit(self.index(index.row(), 0), self.index(index.row(), len(Column) - 1))
        self.mapping_changed.emit()
        return True

    def _text(self, row: MappingRow, column: Column, editing: bool) -> str:
        if column is Column.SOURCE:
            return row.source.name
        if column is Column.SOURCE_TYPE:
            return row.source.source_type or str(row.source.type)
        if column is Column.TARGET:
            return row.target_name
        if column is Column.TYPE:
            return row.type_text or str(row.suggested)
        if column is Column.NATIVE:
            if self._dialect is None:
                return ""
            try:
                if row.portable_type() == row.suggested and not row.type_text:
                    return self._dialect.column_type(row.source)  # the source's exact type, if kept
                return self._dialect.native_type(row.portable_type())
            except QdbmError:
                return "—"
        return ""


_VERDICT_ICONS = {
    Verdict.EXACT: QStyle.StandardPixmap.SP_DialogApplyButton,
    Verdict.CONVERTED: QStyle.StandardPixmap.SP_MessageBoxInformation,
    Verdict.LOSSY: QStyle.StandardPixmap.SP_MessageBoxWarning,
    Verdict.REFUSED: QStyle.StandardPixmap.SP_MessageBoxCritical,
}


def verdict_icon(verdict: Verdict) -> QIcon:
    """The mapping grid's icon for a fidelity verdict (the style's own, so it follows the theme)."""
    return QApplication.style().standardIcon(_VERDICT_ICONS[verdict])
