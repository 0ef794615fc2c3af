"""The table of saved connections: frozen rows in a ``QAbstractTableModel``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QIcon

from qdbm_desktop.core.connections import ConnectionProfile, ConnectionStore, SecretState
from qdbm_desktop.core.dialects import DIALECTS
from qdbm_desktop.core.errors import MASK
from qdbm_desktop.gui.icons import load_icon
from qdbm_desktop.gui.table_models import FrozenRowsModel

#: Role of a value that sorts the way a person expects (times by instant, text ignoring case).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1

REENTER_PASSWORD = "re-enter password"
TESTING = "Testing…"

_AnyIndex = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    NAME = 0
    TYPE = 1
    LOCATION = 2
    DATABASE = 3
    USER = 4
    PASSWORD = 5
    LAST_USED = 6
    LAST_TEST = 7

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {
    Column.NAME: "Name",
    Column.TYPE: "Type",
    Column.LOCATION: "Host / file",
    Column.DATABASE: "Database",
    Column.USER: "User",
    Column.PASSWORD: "Password",
    Column.LAST_USED: "Last used",
    Column.LAST_TEST: "Last test",
}


@dataclass(frozen=True)
class ConnectionRow:
    """What the table shows of one saved connection: no secret, only whether one is usable."""

    name: str
    type: str
    type_label: str
    location: str
    database: str
    user: str
    secret_state: SecretState
    last_used: str | None = None
    last_test: str | None = None
    last_test_at: str | None = None

    @classmethod
    def from_profile(cls, profile: ConnectionProfile, secret_state: SecretState) -> ConnectionRow:
        dialect = DIALECTS.get(profile.type)
        # A type edited by hand into something unknown still gets a row, so it can be fixed or removed.
        type_label = dialect.display_name if dialect else profile.type
        return cls(
            name=profile.name,
            type=profile.type,
            type_label=type_label,
            location=_location(profile, dialect.default_port if dialect else None),
            database=profile.database or "",
            user=profile.user or "",
            secret_state=secret_state,
            last_used=profile.last_used,
            last_test=profile.last_test,
            last_test_at=profile.last_test_at,
        )

    @property
    def password_text(self) -> str:
        if self.secret_state is SecretState.STORED:
            return MASK
        if self.secret_state is SecretState.UNREADABLE:
            return REENTER_PASSWORD
        return ""


def _location(profile: ConnectionProfile, default_port: int | None) -> str:
    # The database has its own column, so unlike Dialect.describe_location this is host:port only.
    if profile.path:
        return profile.path
    if profile.host:
        port = profile.port or default_port
        return f"{profile.host}:{port}" if port else profile.host
    if "dsn" in profile.secrets:
        return "DSN (stored encrypted)"
    return ""


def rows_from_store(store: ConnectionStore) -> list[ConnectionRow]:
    """Every saved connection as a row, with the state of its secrets."""
    return [ConnectionRow.from_profile(profile, store.secret_state(profile)) for profile in store.list()]


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _display_time(text: str | None) -> str:
    moment = _parse_time(text)
    if moment is None:
        return text or ""
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


def _time_sort_key(text: str | None) -> float:
    moment = _parse_time(text)
    if moment is None:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.timestamp()


class ConnectionsModel(FrozenRowsModel[ConnectionRow]):
    """Saved connections, one frozen :class:`ConnectionRow` per row; read-only.

    Signals: only those of ``QAbstractTableModel`` (a reload resets the model).
    """

    titles = tuple(column.title for column in Column)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._icons: dict[str, QIcon] = {}
        self._testing: frozenset[str] = frozenset()

    def set_testing(self, names: set[str] | frozenset[str]) -> None:
        """Show "Testing…" as the last test of the connections named (a test is running)."""
        changed = self._testing.symmetric_difference(names)
        self._testing = frozenset(names)
        for row, item in enumerate(self._rows):
            if item.name in changed:
                index = self.index(row, Column.LAST_TEST)
                self.dataChanged.emit(index, index)

    def is_testing(self, name: str) -> bool:
        return name in self._testing

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        row = self.cell_of(index)
        if row is None:
            return None
        column = Column(index.column())
        testing = column is Column.LAST_TEST and row.name in self._testing
        if role == Qt.ItemDataRole.DisplayRole:
            return TESTING if testing else self._display(row, column)
        if role == SORT_ROLE:
            return self._sort_key(row, column)
        if role == Qt.ItemDataRole.DecorationRole:
            name = None if testing else self._icon_name(row, column)
            return self._icon(name) if name else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        return None

    def _icon(self, name: str) -> QIcon:
        # Icons are cached per model: building one reads its SVG file.
        if name not in self._icons:
            self._icons[name] = load_icon(name)
        return self._icons[name]

    @staticmethod
    def _icon_name(row: ConnectionRow, column: Column) -> str | None:
        if column is Column.TYPE:
            return row.type
        if column is Column.PASSWORD and row.secret_state is SecretState.UNREADABLE:
            return "warning"
        if column is Column.LAST_TEST and row.last_test:
            if row.last_test.startswith("ok"):
                return "test-ok"
            if row.last_test.startswith("failed"):
                return "test-failed"
        return None

    @staticmethod
    def _display(row: ConnectionRow, column: Column) -> str:
        if column is Column.NAME:
            return row.name
        if column is Column.TYPE:
            return row.type_label
        if column is Column.LOCATION:
            return row.location
        if column is Column.DATABASE:
            return row.database
        if column is Column.USER:
            return row.user
        if column is Column.PASSWORD:
            return row.password_text
        if column is Column.LAST_USED:
            return _display_time(row.last_used)
        return (row.last_test or "").splitlines()[0] if row.last_test else ""

    @classmethod
    def _sort_key(cls, row: ConnectionRow, column: Column) -> str | float:
        if column is Column.LAST_USED:
            return _time_sort_key(row.last_used)
        return cls._display(row, column).casefold()

    @staticmethod
    def _tooltip(row: ConnectionRow, column: Column) -> str | None:
        if column is Column.PASSWORD and row.secret_state is SecretState.UNREADABLE:
            return ("The saved password cannot be decrypted with this computer's key "
                    "(the keyring was reset or the file came from another computer). "
                    "Edit the connection and enter it again.")
        if column is Column.LAST_TEST and row.last_test:
            when = _display_time(row.last_test_at)
            return f"{when}: {row.last_test}" if when else row.last_test
        if column is Column.LOCATION and row.location:
            return row.location
        return None


class ConnectionsProxyModel(QSortFilterProxyModel):
    """Sorts by :data:`SORT_ROLE` and keeps the rows that contain every word of the filter text.

    A word may match any column, so "sqlite demo" finds the demo shop by type and name at once.

    Signals: only those of ``QSortFilterProxyModel``.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._terms: tuple[str, ...] = ()
        self.setSortRole(SORT_ROLE)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setDynamicSortFilter(True)

    def set_filter_text(self, text: str) -> None:
        terms = tuple(text.casefold().split())
        if terms == self._terms:
            return
        if hasattr(self, "beginFilterChange"):
            # Qt 6.9+; invalidateRowsFilter, the older way, is deprecated there.
            self.beginFilterChange()
            self._terms = terms
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._terms = terms
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: _AnyIndex) -> bool:
        if not self._terms:
            return True
        source = self.sourceModel()
        texts = []
        for column in range(source.columnCount(source_parent)):
            value = source.data(source.index(source_row, column, source_parent),
                                Qt.ItemDataRole.DisplayRole)
            if value:
                texts.append(str(value).casefold())
        haystack = "\n".join(texts)
        return all(term in haystack for term in self._terms)
