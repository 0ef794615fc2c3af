"""The main window: a sidebar to the pages, the notices, and a status bar of what is going on."""

from __future__ import annotations

import logging
import platform
from html import escape
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QByteArray, QSize, qVersion
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QStyle,
    QSystemTrayIcon,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop import APP_NAME, __version__
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.drivers import driver_versions
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.history import RunRecord
from qdbm_desktop.core.legacy import LegacyImportReport, import_legacy
from qdbm_desktop.core.migration import MigrationResult, Status
from qdbm_desktop.gui.connections_model import ConnectionsModel, ConnectionsProxyModel
from qdbm_desktop.gui.connections_page import ConnectionsPage
from qdbm_desktop.gui.history_page import HistoryPage
from qdbm_desktop.gui.icons import app_icon
from qdbm_desktop.gui.migrate_page import MigratePage
from qdbm_desktop.gui.notice_banner import NoticeBanner
from qdbm_desktop.gui.schedules_page import SchedulesPage
from qdbm_desktop.gui.settings_page import SettingsPage
from qdbm_desktop.gui.ui_state import UiStateFile
from qdbm_desktop.gui.workers import TaskRunner

log = logging.getLogger(__name__)

DEFAULT_SIZE = QSize(1280, 800)
#: The key of this window's entry in ui-state.json.
STATE_KEY = "main_window"
KEY_FILE_LABEL = "Keyring: key file (no OS keyring)"
#: The pages, in sidebar order: (key, title, shortcut).
PAGES = (
    ("migrate", "Migrate", "Ctrl+1"),
    ("connections", "Connections", "Ctrl+2"),
    ("schedules", "Schedules", "Ctrl+3"),
    ("history", "History", "Ctrl+4"),
    ("settings", "Settings", "Ctrl+5"),
)
_PAGES_WITH_OWN_TITLE = frozenset({"connections", "settings"})
_SHUTDOWN_WAIT_MS = 15_000


def about_text() -> str:
    """The About box: this version and the versions of what it runs on, drivers included."""
    drivers = "".join(f"<tr><td>{escape(db)}</td><td>{escape(text)}</td></tr>"
                      for db, text in driver_versions())
    return (
        f"<h3>{escape(APP_NAME)} {escape(__version__)}</h3>"
        "<p>Moves a SQL query's result from one database into a table of another.</p>"
        f"<p>Qt {escape(qVersion())} (PySide6 {escape(pyside_version)})<br>"
        f"Python {escape(platform.python_version())} on {escape(platform.system())}</p>"
        f"<table cellspacing='4'>{drivers}</table>"
    )


class MainWindow(QMainWindow):
    """The app's window: Migrate, Connections, Schedules, History and Settings pages.

    It builds every page on the ``AppContext`` it is given and one ``TaskRunner`` they share;
    its geometry and last page are kept in the UI state file and restored on the next start.

    Signals: none of its own.
    """

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._ui_state = UiStateFile(context.paths)
        self._runner = TaskRunner(parent=self)
        self._tray: QSystemTrayIcon | None = None
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())

        self._migrate_page = MigratePage(context, self._runner, self)
        self._connections_page = ConnectionsPage(context, self._runner, self)
        self._schedules_page = SchedulesPage(context, self)
        self._history_page = HistoryPage(context, self)
        self._settings_page = SettingsPage(context, self)
        self._pages: dict[str, QWidget] = {
            "migrate": self._migrate_page,
            "connections": self._connections_page,
            "schedules": self._schedules_page,
            "history": self._history_page,
            "settings": self._settings_page,
        }

        self._create_actions()
        self._create_menus()
        self._create_central_widget()
        self._create_status_bar()
        self._create_tray()
        self._connect_pages()

        self._restore_geometry()
        self.show_page(self._ui_state.window_page(STATE_KEY) or "migrate")
        self.refresh()

    # -- public -----------------------------------------------------------------------------

    @property
    def runner(self) -> TaskRunner:
        return self._runner

    @property
    def migrate_page(self) -> MigratePage:
        return self._migrate_page

    @property
    def connections_page(self) -> ConnectionsPage:
        return self._connections_page

    @property
    def schedules_page(self) -> SchedulesPage:
        return self._schedules_page

    @property
    def history_page(self) -> HistoryPage:
        return self._history_page

    @property
    def settings_page(self) -> SettingsPage:
        return self._settings_page

    @property
    def sidebar(self) -> QListWidget:
        return self._sidebar

    @property
    def connections_model(self) -> ConnectionsModel:
        return self._connections_page.connections_model

    @property
    def proxy_model(self) -> ConnectionsProxyModel:
        return self._connections_page.proxy_model

    @property
    def table(self) -> QTableView:
        return self._connections_page.table

    @property
    def filter_edit(self) -> QLineEdit:
        return self._connections_page.filter_edit

    @property
    def count_label(self) -> QLabel:
        return self._connections_page.count_label

    @property
    def notice_banner(self) -> NoticeBanner:
        return self._banner

    @property
    def keyring_label(self) -> QLabel:
        return self._keyring_label

    @property
    def running_label(self) -> QLabel:
        return self._running_label

    @property
    def next_run_label(self) -> QLabel:
        return self._next_run_label

    @property
    def refresh_action(self) -> QAction:
        return self._refresh_action

    @property
    def quit_action(self) -> QAction:
        return self._quit_action

    @property
    def import_action(self) -> QAction:
        return self._import_action

    def current_page(self) -> str:
        return list(self._pages)[self._stack.currentIndex()]

    def show_page(self, key: str) -> None:
        """Switch to a page by its key (``migrate``, ``connections`` ...); unknown keys show Migrate."""
        keys = list(self._pages)
        index = keys.index(key) if key in keys else 0
        self._sidebar.setCurrentRow(index)
        self._stack.setCurrentIndex(index)
        self._page_actions[index].setChecked(True)

    def refresh(self) -> None:
        """Read the connections, the notices and the key status again."""
        self._connections_page.refresh()
        self._migrate_page.refresh_connections()
        self._update_next_run()
        self._banner.set_messages(self._notices(self._update_key_status()))

    def save_ui_state(self) -> None:
        self._ui_state.set_window_geometry(STATE_KEY, bytes(self.saveGeometry().data()))
        self._ui_state.set_window_page(STATE_KEY, self.current_page())

    def import_legacy_folder(self, folder: Path) -> LegacyImportReport | None:
        """Import a Query DB Migrator config folder and say what came in and what did not."""
        try:
            report = import_legacy(self._context, folder)
        except (QdbmError, OSError) as exc:
            QMessageBox.warning(self, "Import from Query DB Migrator", str(exc))
            return None
        self.refresh()
        lines = [f"Imported {len(report.imported)}: " + (", ".join(report.imported) or "nothing")]
        lines += [f"Skipped: {item}" for item in report.skipped]
        lines += [f"Warning: {item}" for item in report.warnings]
        box = QMessageBox(QMessageBox.Icon.Information, "Import from Query DB Migrator", lines[0],
                          QMessageBox.StandardButton.Ok, self)
        if len(lines) > 1:
            box.setDetailedText("\n".join(lines))
        box.open()
        return report

    # -- building ---------------------------------------------------------------------------

    def _create_actions(self) -> None:
        reload_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload)
        self._refresh_action = QAction(QIcon.fromTheme("view-refresh", reload_icon), "&Refresh", self)
        # F5 is kept for running a migration.
        self._refresh_action.setShortcut(QKeySequence("Ctrl+R"))
        self._refresh_action.setToolTip("Read the saved connections again (Ctrl+R)")
        self._refresh_action.triggered.connect(self._on_refresh_action_triggered)

        self._import_action = QAction("&Import from Query DB Migrator…", self)
        self._import_action.setToolTip(
            "Import the connections, batch size and schedules of its config/ folder")
        self._import_action.triggered.connect(self._on_import_action_triggered)

        self._quit_action = QAction("&Quit", self)
        # Spelled out: QKeySequence.StandardKey.Quit is empty on Windows.
        self._quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self._quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self._quit_action.triggered.connect(self._on_quit_action_triggered)

        self._about_action = QAction(f"&About {APP_NAME}", self)
        self._about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self._about_action.triggered.connect(self._on_about_action_triggered)

        group = QActionGroup(self)
        self._page_actions: list[QAction] = []
        for index, (_key, title, shortcut) in enumerate(PAGES):
            action = QAction(f"&{title}", self)
            action.setCheckable(True)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(lambda _checked=False, i=index: self._on_page_action_triggered(i))
            group.addAction(action)
            self._page_actions.append(action)

    def _create_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self._import_action)
        file_menu.addSeparator()
        file_menu.addAction(self._quit_action)
        view_menu = self.menuBar().addMenu("&View")
        for action in self._page_actions:
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self._refresh_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._about_action)

    def _create_central_widget(self) -> None:
        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self._banner = NoticeBanner(central)
        banner_box = QVBoxLayout()
        banner_box.setContentsMargins(12, 8, 12, 0)
        banner_box.addWidget(self._banner)
        outer.addLayout(banner_box)

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        self._sidebar = QListWidget(central)
        self._sidebar.setObjectName("sidebar")
        self._sidebar.setAccessibleName("Pages")
        self._sidebar.setIconSize(QSize(20, 20))
        self._sidebar.setFrameShape(QListWidget.Shape.NoFrame)
        self._sidebar.setSpacing(2)
        icons = {
            "migrate": QStyle.StandardPixmap.SP_ArrowRight,
            "connections": QStyle.StandardPixmap.SP_DriveNetIcon,
            "schedules": QStyle.StandardPixmap.SP_FileDialogDetailedView,
            "history": QStyle.StandardPixmap.SP_FileDialogContentsView,
            "settings": QStyle.StandardPixmap.SP_FileDialogInfoView,
        }
        for key, title, shortcut in PAGES:
            item = QListWidgetItem(self.style().standardIcon(icons[key]), title)
            item.setToolTip(f"{title} ({shortcut})")
            item.setSizeHint(QSize(130, 36))
            self._sidebar.addItem(item)
        self._sidebar.setFixedWidth(140)
        self._sidebar.currentRowChanged.connect(self._on_sidebar_current_row_changed)
        body.addWidget(self._sidebar)

        self._stack = QStackedWidget(central)
        self._stack.setObjectName("pages")
        for key, page in self._pages.items():
            holder = QWidget(self._stack)
            holder.setObjectName(f"{key}Holder")
            layout = QVBoxLayout(holder)
            layout.setContentsMargins(12, 10, 12, 6)
            if key not in _PAGES_WITH_OWN_TITLE:
                heading = QLabel(dict((k, t) for k, t, _ in PAGES)[key], holder)
                font = heading.font()
                font.setPointSizeF(font.pointSizeF() * 1.3)
                font.setBold(True)
                heading.setFont(font)
                layout.addWidget(heading)
            layout.addWidget(page, 1)
            self._stack.addWidget(holder)
        body.addWidget(self._stack, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)

    def _create_status_bar(self) -> None:
        self._message_label = QLabel(self)
        self._running_label = QLabel(self)
        self._running_label.setObjectName("runningStatus")
        self._next_run_label = QLabel(self)
        self._next_run_label.setObjectName("nextRunStatus")
        self._keyring_label = QLabel(self)
        self._keyring_label.setObjectName("keyringStatus")
        for label in (self._message_label, self._running_label, self._next_run_label, self._keyring_label):
            # The status bar puts its first widget flush against the window's edge.
            label.setContentsMargins(8, 0, 8, 0)
        self.statusBar().addWidget(self._message_label, 1)
        self.statusBar().addPermanentWidget(self._running_label)
        self.statusBar().addPermanentWidget(self._next_run_label)
        self.statusBar().addPermanentWidget(self._keyring_label)
        self._on_migrate_page_running_count_changed(0)

    def _create_tray(self) -> None:
        # Used for the "run finished" notification when the window is not in front.
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        self._tray = QSystemTrayIcon(app_icon(), self)
        self._tray.setToolTip(APP_NAME)
        self._tray.activated.connect(self._on_tray_activated)
        self._tray.show()

    def _connect_pages(self) -> None:
        self._connections_page.connections_changed.connect(self._on_connections_page_connections_changed)
        self._connections_page.status_message.connect(self._show_status)
        self._migrate_page.status_message.connect(self._show_status)
        self._migrate_page.running_count_changed.connect(self._on_migrate_page_running_count_changed)
        self._migrate_page.run_finished.connect(self._on_migrate_page_run_finished)
        self._history_page.status_message.connect(self._show_status)
        self._history_page.run_again_requested.connect(self._on_history_page_run_again_requested)
        self._settings_page.settings_changed.connect(self._on_settings_page_settings_changed)

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

    def _update_next_run(self) -> None:
        self._next_run_label.setText(self._schedules_page.next_run_text())

    def _notices(self, key_notices: list[str]) -> list[str]:
        load_error = self._connections_page.load_error
        return [*key_notices, *([load_error] if load_error else []), *self._context.notices(),
                *self._ui_state.notices]

    def _show_status(self, text: str) -> None:
        self._message_label.setText(text)

    # -- slots ------------------------------------------------------------------------------

    def _on_sidebar_current_row_changed(self, row: int) -> None:
        if 0 <= row < self._stack.count():
            self._stack.setCurrentIndex(row)
            self._page_actions[row].setChecked(True)

    def _on_page_action_triggered(self, index: int) -> None:
        self._sidebar.setCurrentRow(index)

    def _on_refresh_action_triggered(self) -> None:
        self.refresh()

    def _on_import_action_triggered(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Query DB Migrator's config folder")
        if folder:
            self.import_legacy_folder(Path(folder))

    def _on_quit_action_triggered(self) -> None:
        self.close()

    def _on_about_action_triggered(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", about_text())

    def _on_connections_page_connections_changed(self) -> None:
        self._migrate_page.refresh_connections()

    def _on_settings_page_settings_changed(self) -> None:
        self._migrate_page.apply_settings()

    def _on_migrate_page_running_count_changed(self, count: int) -> None:
        self._running_label.setText("No migration running" if count == 0 else
                                    f"{count} migration{'s' if count != 1 else ''} running")

    def _on_migrate_page_run_finished(self, result: MigrationResult, summary: str) -> None:
        self._show_status(summary)
        self._history_page.refresh()
        if self.isActiveWindow():
            return
        QApplication.alert(self)
        if self._tray is not None and QSystemTrayIcon.supportsMessages():
            icon = (QSystemTrayIcon.MessageIcon.Information if result.status is Status.SUCCEEDED
                    else QSystemTrayIcon.MessageIcon.Warning)
            self._tray.showMessage(f"{APP_NAME}: migration {result.status.value}", summary, icon)

    def _on_history_page_run_again_requested(self, record: RunRecord) -> None:
        self._migrate_page.load_run(record)
        self.show_page("migrate")

    def _on_tray_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.showNormal()
            self.raise_()
            self.activateWindow()

    # -- events -----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        running = self._migrate_page.running_count
        if running:
            text = (f"{running} migrations are still running. Quitting cancels them; their targets stay "
                    "as they were." if running != 1 else
                    "A migration is still running. Quitting cancels it; its target stays as it was.")
            answer = QMessageBox.question(self, APP_NAME, f"{text} Quit anyway?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.save_ui_state()
        self._migrate_page.cancel_all()
        if not self._runner.shutdown(_SHUTDOWN_WAIT_MS):
            log.warning("a background task was still running when the window closed")
        if self._tray is not None:
            self._tray.hide()
        super().closeEvent(event)
