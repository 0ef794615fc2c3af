"""The Connections page: the saved connections, and adding, editing, testing and deleting them."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QIcon, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core.connections import ConnectionCheck, ConnectionProfile, check_connection
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.gui.connection_dialog import ConnectionDialog
from qdbm_desktop.gui.connections_model import (
    Column,
    ConnectionRow,
    ConnectionsModel,
    ConnectionsProxyModel,
    rows_from_store,
)
from qdbm_desktop.gui.workers import BackgroundTask, TaskRunner

log = logging.getLogger(__name__)

# Wide enough for a typical path or host name; longer ones are elided, with the full text in the tooltip.
_MAX_COLUMN_WIDTH = 420
_COLUMN_PADDING = 16
TEST_TIMEOUT = 10.0


class MiddleElideDelegate(QStyledItemDelegate):
    """Cuts long text short in the middle ("/home/…/demo_shop.sqlite") rather than at the end.

    Signals: only those of ``QStyledItemDelegate``.
    """

    def initStyleOption(self, option: QStyleOptionViewItem,
                        index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class ConnectionsPage(QWidget):
    """The saved connections in a sortable, filterable table, with the actions that change them.

    Every database call (a test) runs on the ``TaskRunner``; the store is read again after each
    change. Add, edit and duplicate open a :class:`ConnectionDialog` (window-modal, not blocking:
    :attr:`active_dialog` is the one open).

    Signals: ``connections_changed()`` after a connection was added, edited, duplicated or
    deleted; ``status_message(str)`` a line for the window's status bar.
    """

    connections_changed = Signal()
    status_message = Signal(str)

    def __init__(self, context: AppContext, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._store = context.connections
        self._runner = runner
        self._load_error: str | None = None
        self._dialog: ConnectionDialog | None = None
        # Connection name -> its running test; one test per connection at a time.
        self._tests: dict[str, BackgroundTask] = {}
        self.setObjectName("connectionsPage")

        self._model = ConnectionsModel(self)
        self._proxy = ConnectionsProxyModel(self)
        self._proxy.setSourceModel(self._model)

        self._create_actions()
        self._build()
        self.refresh()

    # -- public -----------------------------------------------------------------------------

    @property
    def connections_model(self) -> ConnectionsModel:
        return self._model

    @property
    def proxy_model(self) -> ConnectionsProxyModel:
        return self._proxy

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def filter_edit(self) -> QLineEdit:
        return self._filter_edit

    @property
    def count_label(self) -> QLabel:
        return self._count_label

    @property
    def add_action(self) -> QAction:
        return self._add_action

    @property
    def edit_action(self) -> QAction:
        return self._edit_action

    @property
    def duplicate_action(self) -> QAction:
        return self._duplicate_action

    @property
    def delete_action(self) -> QAction:
        return self._delete_action

    @property
    def test_action(self) -> QAction:
        return self._test_action

    @property
    def find_action(self) -> QAction:
        return self._find_action

    @property
    def active_dialog(self) -> ConnectionDialog | None:
        """The connection dialog this page has open, if any."""
        return self._dialog

    @property
    def load_error(self) -> str | None:
        """Why the last refresh could not read the saved connections (None when it could)."""
        return self._load_error

    @property
    def tests_running(self) -> list[str]:
        """Names of the connections being tested."""
        return list(self._tests)

    def selected_name(self) -> str | None:
        """The name of the selected connection, if one is."""
        index = self._table.selectionModel().currentIndex()
        if not index.isValid() or not self._table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            return None
        source = self._proxy.mapToSource(index)
        return self._model.row_at(source.row()).name

    def select_connection(self, name: str) -> bool:
        """Select and show the row of ``name``; False when no row shown has that name."""
        for row in range(self._proxy.rowCount()):
            index = self._proxy.index(row, Column.NAME)
            if index.data() == name:
                self._table.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows)
                self._table.scrollTo(index)
                return True
        return False

    def refresh(self) -> None:
        """Read the connections again from the store, keeping the selection."""
        selected = self.selected_name()
        rows: list[ConnectionRow] = []
        self._load_error = None
        try:
            rows = rows_from_store(self._store)
        except (QdbmError, OSError) as exc:
            self._load_error = f"the saved connections cannot be read: {exc}"
            log.warning("%s", self._load_error)
            self.status_message.emit(self._load_error)
        self._model.reload(rows)
        self._model.set_testing(set(self._tests))
        self._fit_columns()
        if selected is not None:
            self.select_connection(selected)
        self._update_count()
        self._update_actions()

    def focus_filter(self) -> None:
        self._filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._filter_edit.selectAll()

    def add_connection(self) -> ConnectionDialog:
        """Open the dialog for a new connection."""
        return self._open_dialog(None, duplicate=False)

    def edit_connection(self, name: str | None = None) -> ConnectionDialog | None:
        """Open the dialog on ``name`` (default: the selected connection)."""
        profile = self._profile(name)
        return self._open_dialog(profile, duplicate=False) if profile else None

    def duplicate_connection(self, name: str | None = None) -> ConnectionDialog | None:
        """Open the dialog on a copy of ``name`` (default: the selected connection)."""
        profile = self._profile(name)
        return self._open_dialog(profile, duplicate=True) if profile else None

    def delete_connection(self, name: str | None = None) -> bool:
        """Ask, then delete ``name`` (default: the selected one); True when it was deleted."""
        name = name or self.selected_name()
        if name is None:
            return False
        text = f"Delete the connection “{name}”?"
        users = self._context.schedules.jobs_using(name)
        if users:
            noun = "job uses" if len(users) == 1 else "jobs use"
            shown = ", ".join(f"“{u}”" for u in users[:5]) + (" …" if len(users) > 5 else "")
            text += f"\n\n{len(users)} saved {noun} it ({shown}) and will fail until changed."
        answer = QMessageBox.question(
            self, "Delete connection", text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        try:
            self._store.remove(name)
        except (QdbmError, OSError) as exc:
            self.status_message.emit(f"“{name}” was not deleted: {exc}")
            QMessageBox.warning(self, "Delete connection", f"“{name}” was not deleted: {exc}")
            return False
        self._context.recent_queries.forget_connection(name)
        self.refresh()
        self.status_message.emit(f"Deleted “{name}”")
        self.connections_changed.emit()
        return True

    def test_connection(self, name: str | None = None) -> bool:
        """Test ``name`` (default: the selected one) in the background; False when not started."""
        profile = self._profile(name)
        if profile is None:
            return False
        if profile.name in self._tests:
            self.status_message.emit(f"“{profile.name}” is already being tested")
            return False
        store = self._store

        def work(report: object, cancel: threading.Event) -> ConnectionCheck:
            # check_connection records the outcome as the connection's last test.
            return check_connection(store, profile, TEST_TIMEOUT)

        task = self._runner.start(
            f"Testing connection {profile.name!r}", work,
            on_success=self._on_test_task_succeeded, on_failure=self._on_test_task_failed,
            on_finished=self._on_test_task_finished)
        self._tests[profile.name] = task
        self._model.set_testing(set(self._tests))
        self.status_message.emit(f"Testing “{profile.name}”…")
        return True

    # -- building ---------------------------------------------------------------------------

    def _create_actions(self) -> None:
        self._add_action = QAction(QIcon.fromTheme("list-add"), "&Add…", self)
        self._add_action.setToolTip("Add a connection (Ctrl+N)")
        self._add_action.setShortcut(QKeySequence.StandardKey.New)
        self._add_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._add_action.triggered.connect(self._on_add_action_triggered)

        self._edit_action = QAction(QIcon.fromTheme("document-properties"), "&Edit…", self)
        self._edit_action.setToolTip("Edit the selected connection (Enter or double-click)")
        self._edit_action.triggered.connect(self._on_edit_action_triggered)

        self._duplicate_action = QAction(QIcon.fromTheme("edit-copy"), "D&uplicate…", self)
        self._duplicate_action.setToolTip("Add a copy of the selected connection")
        self._duplicate_action.triggered.connect(self._on_duplicate_action_triggered)

        self._delete_action = QAction(QIcon.fromTheme("edit-delete"), "&Delete", self)
        self._delete_action.setToolTip("Delete the selected connection (Delete)")
        self._delete_action.triggered.connect(self._on_delete_action_triggered)

        self._test_action = QAction(QIcon.fromTheme("network-wired"), "&Test", self)
        self._test_action.setToolTip("Connect to the selected database and show its version (Ctrl+T)")
        self._test_action.setShortcut(QKeySequence("Ctrl+T"))
        self._test_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._test_action.triggered.connect(self._on_test_action_triggered)

        self._find_action = QAction("&Filter connections", self)
        self._find_action.setShortcut(QKeySequence.StandardKey.Find)
        self._find_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._find_action.triggered.connect(self._on_find_action_triggered)
        for action in (self._add_action, self._test_action, self._find_action):
            self.addAction(action)

    def _tool_button(self, action: QAction) -> QToolButton:
        button = QToolButton(self)
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setIconSize(QSize(18, 18))
        # Tool buttons skip Tab by default; these are the page's main controls.
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        button.setAutoRaise(False)
        return button

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(self._build_header())
        layout.addLayout(self._build_buttons())
        self._build_table()
        layout.addWidget(self._table, 1)
        order: list[QWidget] = [self._filter_edit, self._table, *self._buttons]
        for before, after in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(before, after)

    def _build_header(self) -> QHBoxLayout:
        """The page's title, the count and the filter box."""
        header = QHBoxLayout()
        title = QLabel("Connections", self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        title.setFont(font)
        header.addWidget(title)
        header.addSpacing(12)
        self._count_label = QLabel(self)
        self._count_label.setObjectName("connectionCount")
        header.addWidget(self._count_label)
        header.addStretch(1)
        self._filter_edit = QLineEdit(self)
        self._filter_edit.setObjectName("connectionsFilter")
        self._filter_edit.setPlaceholderText("Filter by name, type, host, database, user…")
        self._filter_edit.setAccessibleName("Filter connections")
        self._filter_edit.setToolTip("Show only the connections containing every word typed (Ctrl+F)")
        self._filter_edit.setClearButtonEnabled(True)
        self._filter_edit.setMinimumWidth(320)
        self._filter_edit.textChanged.connect(self._on_filter_edit_text_changed)
        header.addWidget(self._filter_edit)
        return header

    def _build_buttons(self) -> QHBoxLayout:
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self._buttons = [self._tool_button(action) for action in (
            self._add_action, self._edit_action, self._duplicate_action, self._delete_action,
            self._test_action)]
        for button in self._buttons:
            buttons.addWidget(button)
        buttons.addStretch(1)
        return buttons

    def _build_table(self) -> None:
        self._table = QTableView(self)
        self._table.setObjectName("connectionsTable")
        self._table.setAccessibleName("Saved connections")
        self._table.setModel(self._proxy)
        self._table.setSortingEnabled(True)
        self._table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setAlternatingRowColors(True)
        self._table.setWordWrap(False)
        self._table.setTabKeyNavigation(False)
        # Paths keep both their folder and their file name in view when cut short.
        self._table.setItemDelegateForColumn(Column.LOCATION, MiddleElideDelegate(self._table))
        self._table.setIconSize(QSize(18, 18))
        self._table.verticalHeader().setVisible(False)
        self._table.horizontalHeader().setStretchLastSection(True)
        self._table.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self._table.addActions([self._edit_action, self._duplicate_action, self._test_action,
                                self._delete_action])
        # Delete belongs to the table alone: in the filter box it must delete text.
        self._delete_action.setShortcut(QKeySequence.StandardKey.Delete)
        self._delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self._table.doubleClicked.connect(self._on_table_double_clicked)
        self._table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self._table.installEventFilter(self)

    # -- state ------------------------------------------------------------------------------

    def _profile(self, name: str | None) -> ConnectionProfile | None:
        name = name or self.selected_name()
        if name is None:
            return None
        try:
            return self._store.get(name)
        except (QdbmError, OSError) as exc:
            self.status_message.emit(str(exc))
            self.refresh()
            return None

    def _open_dialog(self, profile: ConnectionProfile | None, *, duplicate: bool) -> ConnectionDialog:
        if self._dialog is not None:
            self._dialog.raise_()
            self._dialog.activateWindow()
            return self._dialog
        dialog = ConnectionDialog(self._context, self._runner, profile, duplicate=duplicate, parent=self)
        dialog.connection_saved.connect(self._on_dialog_connection_saved)
        dialog.finished.connect(self._on_dialog_finished)
        self._dialog = dialog
        # Window-modal and not exec(): the event loop, and the tests driving it, keep running.
        dialog.open()
        return dialog

    def _fit_columns(self) -> None:
        self._table.resizeColumnsToContents()
        header = self._table.horizontalHeader()
        # The last column stretches over what is left; fitting it too would push the view wider.
        for column in list(Column)[:-1]:
            # Contents-fitted columns leave text touching the grid line; give it some air.
            header.resizeSection(column, min(header.sectionSize(column) + _COLUMN_PADDING, _MAX_COLUMN_WIDTH))

    def _update_count(self) -> None:
        total = self._model.rowCount()
        shown = self._proxy.rowCount()
        noun = "connection" if total == 1 else "connections"
        self._count_label.setText(f"{total} {noun}" if shown == total else f"{shown} of {total} {noun} shown")

    def _update_actions(self) -> None:
        selected = self.selected_name() is not None
        for action in (self._edit_action, self._duplicate_action, self._delete_action, self._test_action):
            action.setEnabled(selected)

    # -- slots ------------------------------------------------------------------------------

    def _on_add_action_triggered(self) -> None:
        self.add_connection()

    def _on_edit_action_triggered(self) -> None:
        self.edit_connection()

    def _on_duplicate_action_triggered(self) -> None:
        self.duplicate_connection()

    def _on_delete_action_triggered(self) -> None:
        self.delete_connection()

    def _on_test_action_triggered(self) -> None:
        self.test_connection()

    def _on_find_action_triggered(self) -> None:
        self.focus_filter()

    def _on_filter_edit_text_changed(self, text: str) -> None:
        self._proxy.set_filter_text(text)
        self._update_count()
        self._update_actions()

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.edit_connection()

    def _on_table_selection_changed(self, *_args: object) -> None:
        self._update_actions()

    def _on_dialog_connection_saved(self, name: str) -> None:
        dialog = self._dialog
        original = dialog.original_name if dialog is not None else None
        if original is not None and original != name:
            # Saved jobs and the remembered queries follow the connection to its new name.
            try:
                moved = self._context.schedules.rename_connection(original, name)
            except (QdbmError, OSError) as exc:
                QMessageBox.warning(self, "Rename connection",
                                    f"The saved jobs still name “{original}”: {exc}")
            else:
                if moved:
                    self.status_message.emit(f"Saved jobs now use “{name}”")
            self._context.recent_queries.rename_connection(original, name)
        self.refresh()
        self.select_connection(name)
        if dialog is not None and dialog.original_name is not None:
            self.status_message.emit(f"Saved “{name}”")
        else:
            self.status_message.emit(f"Added “{name}”")
        self.connections_changed.emit()

    def _on_dialog_finished(self, _result: int) -> None:
        dialog = self._dialog
        self._dialog = None
        if dialog is not None:
            dialog.deleteLater()
        self._table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _test_name(self) -> str | None:
        sender = self.sender()
        return next((name for name, task in self._tests.items() if task.signals is sender), None)

    def _on_test_task_succeeded(self, result: object) -> None:
        name = self._test_name()
        if name is None or not isinstance(result, ConnectionCheck):
            return
        if result.ok:
            self.status_message.emit(f"“{name}”: {result.message} ({result.seconds:.1f} s)")
        else:
            self.status_message.emit(f"“{name}” failed: {result.message}")

    def _on_test_task_failed(self, message: str) -> None:
        name = self._test_name()
        if name is not None:
            self.status_message.emit(f"“{name}” failed: {message}")

    def _on_test_task_finished(self) -> None:
        name = self._test_name()
        if name is None:
            return
        del self._tests[name]
        # The test wrote its outcome into the store: show it.
        self.refresh()

    # -- events -----------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._table and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent) \
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) \
                and event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier):
            if self.selected_name() is not None:
                self.edit_connection()
            return True
        return super().eventFilter(watched, event)
