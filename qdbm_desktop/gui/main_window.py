"""The main window: the saved connections, the notices, the status of the secret store."""

from __future__ import annotations

import logging
import platform
from html import escape

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QByteArray, QModelIndex, QPersistentModelIndex, QSize, Qt, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop import APP_NAME, __version__
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.gui.connections_model import (
    Column,
    ConnectionRow,
    ConnectionsModel,
    ConnectionsProxyModel,
    rows_from_store,
)
from qdbm_desktop.gui.icons import app_icon
from qdbm_desktop.gui.notice_banner import NoticeBanner
from qdbm_desktop.gui.ui_state import UiStateFile

log = logging.getLogger(__name__)

DEFAULT_SIZE = QSize(1280, 800)
#: The key of this window's entry in ui-state.json.
STATE_KEY = "main_window"
KEY_FILE_LABEL = "Keyring: key file (no OS keyring)"
# Wide enough for a typical path or host name; longer ones are elided, with the full text in the tooltip.
_MAX_COLUMN_WIDTH = 420
_COLUMN_PADDING = 16


def about_text() -> str:
    """The About box: this version and the versions of what it runs on."""
    return (
        f"<h3>{escape(APP_NAME)} {escape(__version__)}</h3>"
        "<p>Moves a SQL query's result from one database into a table of another.</p>"
        f"<p>Qt {escape(qVersion())} (PySide6 {escape(pyside_version)})<br>"
        f"Python {escape(platform.python_version())} on {escape(platform.system())}</p>"
    )


class MiddleElideDelegate(QStyledItemDelegate):
    """Cuts long text short in the middle ("/home/…/demo_shop.sqlite") rather than at the end.

    Signals: only those of ``QStyledItemDelegate``.
    """

    def initStyleOption(self, option: QStyleOptionViewItem,
                        index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class MainWindow(QMainWindow):
    """The first window a user sees: the saved connections and anything they must be told.

    It reads everything from the ``AppContext`` it is given; its geometry is kept in the UI
    state file and restored on the next start.

    Signals: none of its own.
    """

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._ui_state = UiStateFile(context.paths)
        self._load_error: str | None = None
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())

        self._model = ConnectionsModel(self)
        self._proxy = ConnectionsProxyModel(self)
        self._proxy.setSourceModel(self._model)

        self._create_actions()
        self._create_menus()
        self._create_toolbar()
        self._create_central_widget()
        self._create_status_bar()

        self._restore_geometry()
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
    def notice_banner(self) -> NoticeBanner:
        return self._banner

    @property
    def count_label(self) -> QLabel:
        return self._count_label

    @property
    def keyring_label(self) -> QLabel:
        return self._keyring_label

    @property
    def refresh_action(self) -> QAction:
        return self._refresh_action

    @property
    def quit_action(self) -> QAction:
        return self._quit_action

    def refresh(self) -> None:
        """Read the connections again from the store, then the notices and the key status."""
        rows: list[ConnectionRow] = []
        self._load_error = None
        try:
            rows = rows_from_store(self._context.connections)
        except (QdbmError, OSError) as exc:
            # The rest of the window still works; the banner says why the list is empty.
            self._load_error = f"the saved connections cannot be read: {exc}"
            log.warning("%s", self._load_error)
        self._model.reload(rows)
        self._fit_columns()
        self._update_count()
        self._banner.set_messages(self._notices(self._update_key_status()))

    def save_ui_state(self) -> None:
        self._ui_state.set_window_geometry(STATE_KEY, bytes(self.saveGeometry().data()))

    # -- building ---------------------------------------------------------------------------

    def _create_actions(self) -> None:
        reload_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload)
        self._refresh_action = QAction(QIcon.fromTheme("view-refresh", reload_icon), "&Refresh", self)
        # F5 is kept for running a migration.
        self._refresh_action.setShortcut(QKeySequence("Ctrl+R"))
        self._refresh_action.setToolTip("Read the saved connections again (Ctrl+R)")
        self._refresh_action.triggered.connect(self._on_refresh_action_triggered)

        self._quit_action = QAction("&Quit", self)
        # Spelled out: QKeySequence.StandardKey.Quit is empty on Windows.
        self._quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self._quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self._quit_action.triggered.connect(self._on_quit_action_triggered)

        self._about_action = QAction(f"&About {APP_NAME}", self)
        self._about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self._about_action.triggered.connect(self._on_about_action_triggered)

        self._find_action = QAction("&Filter connections", self)
        self._find_action.setShortcut(QKeySequence.StandardKey.Find)
        self._find_action.triggered.connect(self._on_find_action_triggered)

    def _create_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self._quit_action)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self._refresh_action)
        view_menu.addAction(self._find_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._about_action)

    def _create_toolbar(self) -> None:
        toolbar = QToolBar("Main toolbar", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setIconSize(QSize(20, 20))
        toolbar.addAction(self._refresh_action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

    def _create_central_widget(self) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(12, 10, 12, 6)
        layout.setSpacing(8)

        self._banner = NoticeBanner(central)
        layout.addWidget(self._banner)

        header = QHBoxLayout()
        title = QLabel("Connections", central)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        title.setFont(font)
        header.addWidget(title)
        header.addStretch(1)
        self._filter_edit = QLineEdit(central)
        self._filter_edit.setObjectName("connectionsFilter")
        self._filter_edit.setPlaceholderText("Filter by name, type, host, database, user…")
        self._filter_edit.setAccessibleName("Filter connections")
        self._filter_edit.setClearButtonEnabled(True)
        self._filter_edit.setMinimumWidth(320)
        self._filter_edit.textChanged.connect(self._on_filter_edit_text_changed)
        header.addWidget(self._filter_edit)
        layout.addLayout(header)

        self._table = QTableView(central)
        self._table.setObjectName("connectionsTable")
        self._table.setAccessibleName("Saved connections")
        self._table.setModel(self._proxy)
        self._table.setSortingEnabled(True)
        self._table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.setAlternatingRowColors(True)
        self._table.setWordWrap(False)
        # Paths keep both their folder and their file name in view when cut short.
        self._table.setItemDelegateForColumn(Column.LOCATION, MiddleElideDelegate(self._table))
        self._table.setIconSize(QSize(18, 18))
        self._table.verticalHeader().setVisible(False)
        self._table.horizontalHeader().setStretchLastSection(True)
        self._table.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        layout.addWidget(self._table, 1)

        self.setCentralWidget(central)

    def _create_status_bar(self) -> None:
        self._count_label = QLabel(self)
        self._count_label.setObjectName("connectionCount")
        self._keyring_label = QLabel(self)
        self._keyring_label.setObjectName("keyringStatus")
        # The status bar puts its first widget flush against the window's edge.
        self._count_label.setContentsMargins(8, 0, 8, 0)
        self._keyring_label.setContentsMargins(8, 0, 8, 0)
        self.statusBar().addWidget(self._count_label, 1)
        self.statusBar().addPermanentWidget(self._keyring_label)

    # -- state ------------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        saved = self._ui_state.window_geometry(STATE_KEY)
        if saved and self.restoreGeometry(QByteArray(saved)):
            return
        available = self.screen().availableGeometry()
        # A laptop screen may be smaller than the default: never open larger than the screen.
        size = DEFAULT_SIZE.boundedTo(QSize(available.width() * 95 // 100, available.height() * 95 // 100))
        self.resize(size)
        self.move(available.center() - self.rect().center())

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

    def _update_key_status(self) -> list[str]:
        """Show where the encryption key lives; returns what the user must be told about it."""
        notices: list[str] = []
        try:
            status = self._context.secret_box.status
        except Exception as exc:  # noqa: BLE001 - even the key-file fallback can fail (a read-only home)
            self._keyring_label.setText("Keyring: unavailable")
            message = f"saved passwords cannot be used: no encryption key could be loaded ({exc})"
            self._keyring_label.setToolTip(message)
            notices.append(message)
        else:
            if status.file_fallback:
                self._keyring_label.setText(KEY_FILE_LABEL)
                self._keyring_label.setToolTip(status.warning or "")
                if status.warning:
                    notices.append(status.warning)
            else:
                self._keyring_label.setText(f"Keyring: {status.backend}")
                self._keyring_label.setToolTip("Saved passwords are encrypted with a key kept there")
        return notices

    def _notices(self, key_notices: list[str]) -> list[str]:
        load_error = [self._load_error] if self._load_error else []
        return [*key_notices, *load_error, *self._context.notices(), *self._ui_state.notices]

    # -- slots ------------------------------------------------------------------------------

    def _on_refresh_action_triggered(self) -> None:
        self.refresh()

    def _on_quit_action_triggered(self) -> None:
        self.close()

    def _on_about_action_triggered(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", about_text())

    def _on_find_action_triggered(self) -> None:
        self._filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._filter_edit.selectAll()

    def _on_filter_edit_text_changed(self, text: str) -> None:
        self._proxy.set_filter_text(text)
        self._update_count()

    # -- events -----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_ui_state()
        super().closeEvent(event)
