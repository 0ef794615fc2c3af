"""The main window: a sidebar to the pages, the notices, and a status bar of what is going on."""

from __future__ import annotations

import logging
import platform
from html import escape
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, QUrl, qVersion
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDesktopServices,
    QIcon,
    QKeySequence,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
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
from qdbm_desktop.core.history import RunRecord, RunStatus, RunTrigger
from qdbm_desktop.core.legacy import LegacyImportReport, import_legacy
from qdbm_desktop.core.migration import MigrationResult, Status
from qdbm_desktop.core.scheduler import MissedRun, RunEvent, ScheduledRun, SchedulerBusy, SchedulerService
from qdbm_desktop.gui.connections_model import ConnectionsModel, ConnectionsProxyModel
from qdbm_desktop.gui.connections_page import ConnectionsPage
from qdbm_desktop.gui.history_page import HistoryPage
from qdbm_desktop.gui.icons import app_icon
from qdbm_desktop.gui.migrate_page import MigratePage
from qdbm_desktop.gui.missed_runs_dialog import MissedRunsDialog
from qdbm_desktop.gui.notice_banner import NoticeBanner
from qdbm_desktop.gui.scheduler_bridge import SchedulerBridge
from qdbm_desktop.gui.schedules_page import SchedulesPage
from qdbm_desktop.gui.settings_page import SettingsPage
from qdbm_desktop.gui.ui_state import UiStateFile
from qdbm_desktop.gui.user_guide import UserGuideDialog
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
_STATUS_REFRESH_MS = 30_000
TRAY_HINT_FLAG = "tray_hint_shown"
KEY_NOTICE_FLAG = "key_file_notice_shown"


def key_file_notice(key_file: Path) -> str:
    """The banner's one-time word on the key file; the keyring's own (long) reason is in the tip."""
    return (f"no usable OS keyring: saved passwords are encrypted with a key kept in {key_file}, readable "
            f"only by you (the status bar's “{KEY_FILE_LABEL}” says why)")


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


class ElidedLabel(QLabel):
    """A one-line label that never asks for more width than it gets: a long text is cut with "…"
    and shown whole in its tooltip. The status bar's message is one, so a long message never
    pushes the permanent labels (runs, next run, keyring) out of a small window.

    Signals: those of QLabel.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(0)

    @property
    def full_text(self) -> str:
        return self._full

    def setText(self, text: str) -> None:  # noqa: N802 - mirrors QLabel
        self._full = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(0, width)))


class MainWindow(QMainWindow):
    """The app's window: Migrate, Connections, Schedules, History and Settings pages.

    It builds every page on the ``AppContext`` it is given and one ``TaskRunner`` they share;
    its geometry and last page are kept in the UI state file and restored on the next start.

    Signals: none of its own.
    """

    def __init__(self, context: AppContext, parent: QWidget | None = None, *,
                 start_scheduler: bool = False) -> None:
        """``start_scheduler``: run the saved schedules while this window (or its tray icon) lives."""
        super().__init__(parent)
        self._context = context
        self._ui_state = UiStateFile(context.paths)
        self._runner = TaskRunner(parent=self)
        self._tray: QSystemTrayIcon | None = None
        self._quitting = False
        self._scheduler_note: str | None = None
        self._guide: UserGuideDialog | None = None
        #: The key-file notice is shown in the session of the first start without a keyring only.
        self._show_key_notice = not self._ui_state.window_flag(STATE_KEY, KEY_NOTICE_FLAG)
        self._bridge = SchedulerBridge(self)
        # Connected before the scheduler starts: a run due at start reports from its thread, and
        # queued signals reach only the slots connected when they are sent (delivered once the
        # event loop runs, when the pages exist).
        self._bridge.run_started_signal.connect(self._on_bridge_run_started)
        self._bridge.run_finished_signal.connect(self._on_bridge_run_finished)
        self._bridge.runs_missed_signal.connect(self.ask_about_missed_runs)
        self._bridge.run_handed_over.connect(self._on_bridge_run_handed_over)
        self._scheduler: SchedulerService | None = None
        self._missed_at_start: list[MissedRun] = []
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        if start_scheduler:
            self._start_scheduler()

        self._migrate_page = MigratePage(context, self._runner, self)
        self._connections_page = ConnectionsPage(context, self._runner, self)
        self._schedules_page = SchedulesPage(context, self._scheduler, self, runner=self._runner)
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
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(_STATUS_REFRESH_MS)
        self._status_timer.timeout.connect(self._update_next_run)
        self._status_timer.start()
        self.refresh()
        if self._missed_at_start:
            # After the window is up, so the question has a parent to sit on.
            QTimer.singleShot(0, lambda: self.ask_about_missed_runs(self._missed_at_start))

    # -- public -----------------------------------------------------------------------------

    @property
    def context(self) -> AppContext:
        return self._context

    @property
    def runner(self) -> TaskRunner:
        return self._runner

    @property
    def scheduler(self) -> SchedulerService | None:
        return self._scheduler

    @property
    def tray(self) -> QSystemTrayIcon | None:
        return self._tray

    @property
    def tray_menu(self) -> QMenu:
        return self._tray_menu

    @property
    def pause_action(self) -> QAction:
        return self._pause_action

    def show_and_raise(self) -> None:
        """Bring the window to the front (from the tray, or when the app is started a second time)."""
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def quit_app(self) -> None:
        """Quit for good (File > Quit, the tray's Quit): the window closes and schedules stop."""
        self._quitting = True
        if not self.close():
            self._quitting = False
        elif not QApplication.quitOnLastWindowClosed():
            # Living in the tray, the app does not end with its window. Otherwise closing the
            # last window ends it already, and a second quit request would linger in the queue.
            QApplication.quit()

    def ask_about_missed_runs(self, missed: list[MissedRun]) -> MissedRunsDialog | None:
        """List runs missed while the app was not running; the user picks which to run now."""
        if not missed or self._scheduler is None:
            return None
        dialog = MissedRunsDialog(missed, self)
        dialog.finished.connect(lambda _code: self._on_missed_dialog_finished(dialog))
        dialog.open()
        return dialog

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
    def status_text(self) -> str:
        """The status bar's message, whole (the label elides it to fit)."""
        return self._message_label.full_text

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

    @property
    def help_menu(self) -> QMenu:
        return self._help_menu

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

    def show_user_guide(self) -> UserGuideDialog:
        """The user guide in its own window (one at a time; it stays open beside the main window)."""
        if self._guide is None:
            self._guide = UserGuideDialog(self)
        self._guide.show()
        self._guide.raise_()
        self._guide.activateWindow()
        return self._guide

    def open_data_folder(self) -> bool:
        """Show the app-data folder in the file manager; False (and says so) when none could."""
        home = self._context.paths.home
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(home))):
            return True
        self._show_status(f"No file manager could open {home}")
        return False

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

        self._guide_action = QAction("&User guide", self)
        self._guide_action.setShortcut(QKeySequence.StandardKey.HelpContents)
        self._guide_action.setToolTip("How to use QDBM Desktop (F1)")
        self._guide_action.triggered.connect(self.show_user_guide)

        self._data_folder_action = QAction("Open the &data folder", self)
        self._data_folder_action.setToolTip(
            "Show the folder of the connections, jobs, history and settings in the file manager")
        self._data_folder_action.triggered.connect(self.open_data_folder)

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
        help_menu = self._help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._guide_action)
        help_menu.addAction(self._data_folder_action)
        help_menu.addSeparator()
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
        self._message_label = ElidedLabel(self)
        self._message_label.setObjectName("statusMessage")
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

    def _start_scheduler(self) -> None:
        # Every run of a saved job goes to the bridge, which starts it on this window's runner with
        # a run card: the core scheduler only decides when, and holds the job's locks meanwhile.
        scheduler = SchedulerService(self._context, self._bridge, executor=self._bridge.hand_over)
        try:
            self._missed_at_start = scheduler.start()
        except SchedulerBusy as exc:
            self._scheduler_note = f"schedules are not run by this window: {exc}"
            return
        except Exception as exc:  # noqa: BLE001 - the window must open even when scheduling cannot start
            log.exception("the scheduler did not start")
            self._scheduler_note = f"scheduled migrations cannot run: {exc}"
            return
        self._scheduler = scheduler

    def _create_tray(self) -> None:
        self._tray_menu = QMenu(self)
        open_action = self._tray_menu.addAction("Open QDBM Desktop")
        open_action.triggered.connect(self._show_from_tray)
        self._run_menu = self._tray_menu.addMenu("Run job now")
        self._run_menu.aboutToShow.connect(self._fill_run_menu)
        self._tray_menu.addSeparator()
        self._pause_action = self._tray_menu.addAction("Pause all schedules")
        self._pause_action.setCheckable(True)
        self._pause_action.setEnabled(self._scheduler is not None)
        self._pause_action.toggled.connect(self._on_pause_action_toggled)
        self._tray_menu.addSeparator()
        tray_quit = self._tray_menu.addAction("Quit")
        tray_quit.triggered.connect(self.quit_app)
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        self._tray = QSystemTrayIcon(app_icon(), self)
        self._tray.setToolTip(APP_NAME)
        self._tray.setContextMenu(self._tray_menu)
        self._tray.activated.connect(self._on_tray_activated)
        self._tray.show()

    def _fill_run_menu(self) -> None:
        self._run_menu.clear()
        jobs = self._context.schedules.jobs()
        if not jobs:
            empty = self._run_menu.addAction("No saved jobs")
            empty.setEnabled(False)
        for job in jobs:
            action = self._run_menu.addAction(job.name)
            action.setEnabled(self._scheduler is not None)
            action.triggered.connect(lambda _checked=False, name=job.name: self._run_job_now(name))

    def _run_job_now(self, name: str) -> None:
        if self._scheduler is not None:
            self._scheduler.run_job_now(name)
            self._show_status(f"Job “{name}” started")

    def _connect_pages(self) -> None:
        self._connections_page.connections_changed.connect(self._on_connections_page_connections_changed)
        self._connections_page.status_message.connect(self._show_status)
        self._migrate_page.status_message.connect(self._show_status)
        self._migrate_page.running_count_changed.connect(self._on_migrate_page_running_count_changed)
        self._migrate_page.run_finished.connect(self._on_migrate_page_run_finished)
        self._history_page.status_message.connect(self._show_status)
        self._history_page.run_again_requested.connect(self._on_history_page_run_again_requested)
        self._settings_page.settings_changed.connect(self._on_settings_page_settings_changed)
        self._schedules_page.status_message.connect(self._show_status)
        self._schedules_page.schedules_changed.connect(self._update_next_run)
        self._migrate_page.jobs_changed.connect(self._schedules_page.refresh)
        self._migrate_page.jobs_changed.connect(self._update_next_run)
        self._migrate_page.schedule_requested.connect(self._on_migrate_page_schedule_requested)

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
                if status.warning and self._show_key_notice:
                    # Once, on the first start that finds no keyring (it does not change from one
                    # start to the next); the status bar says it from then on, its tip says why.
                    notices.append(key_file_notice(self._context.paths.key_file))
                    if not self._ui_state.window_flag(STATE_KEY, KEY_NOTICE_FLAG):
                        self._ui_state.set_window_flag(STATE_KEY, KEY_NOTICE_FLAG)
            else:
                self._keyring_label.setText(f"Keyring: {status.backend}")
                self._keyring_label.setToolTip("Saved passwords are encrypted with a key kept there")
        return notices

    def _update_next_run(self) -> None:
        self._next_run_label.setText(self._schedules_page.next_run_text())

    def _notices(self, key_notices: list[str]) -> list[str]:
        load_error = self._connections_page.load_error
        scheduler = [self._scheduler_note] if self._scheduler_note else []
        history = self._context.history.write_problem
        return [*key_notices, *([load_error] if load_error else []), *scheduler, *self._context.notices(),
                *([history] if history else []), *self._ui_state.notices]

    def _refresh_history_notice(self) -> None:
        # A run that could not be recorded (a full disk) says so in its card; the banner keeps it in view.
        problem = self._context.history.write_problem
        if problem and problem not in self._banner.messages():
            self._banner.set_messages([*self._banner.messages(), problem])

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
        self.quit_app()

    def _show_from_tray(self) -> None:
        self.show_and_raise()

    def _on_pause_action_toggled(self, paused: bool) -> None:
        if self._scheduler is None:
            return
        if paused:
            self._scheduler.pause()
            self._show_status("Schedules paused: nothing runs until you resume them")
        else:
            missed = self._scheduler.resume()
            self._show_status("Schedules resumed")
            self.ask_about_missed_runs(missed)
        self._pause_action.setText("Resume schedules" if paused else "Pause all schedules")
        self._schedules_page.set_paused(paused)

    def _on_missed_dialog_finished(self, dialog: MissedRunsDialog) -> None:
        if self._scheduler is not None:
            for missed, run in dialog.decisions():
                self._scheduler.resolve_missed(missed, run)
        dialog.deleteLater()

    def _on_bridge_run_started(self, job: str, trigger: str) -> None:
        self._show_status(f"Job “{job}” started ({trigger})")

    def _on_bridge_run_handed_over(self, run: ScheduledRun) -> None:
        self._migrate_page.run_panel.start_job_run(self._runner, run)

    def _on_bridge_run_finished(self, event: RunEvent) -> None:
        self._show_status(event.message)
        self._refresh_history_notice()
        self._history_page.refresh()
        self._schedules_page.refresh()
        self._update_next_run()
        if event.trigger is RunTrigger.MANUAL and self.isActiveWindow():
            return
        if self._tray is not None and QSystemTrayIcon.supportsMessages():
            icon = (QSystemTrayIcon.MessageIcon.Information if event.status is RunStatus.SUCCEEDED
                    else QSystemTrayIcon.MessageIcon.Warning)
            self._tray.showMessage(f"{APP_NAME}: {event.job} {event.status.value}", event.message, icon)

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
        self._refresh_history_notice()
        self._history_page.refresh()
        if self.isActiveWindow():
            return
        QApplication.alert(self)
        if self._tray is not None and QSystemTrayIcon.supportsMessages():
            icon = (QSystemTrayIcon.MessageIcon.Information if result.status is Status.SUCCEEDED
                    else QSystemTrayIcon.MessageIcon.Warning)
            self._tray.showMessage(f"{APP_NAME}: migration {result.status.value}", summary, icon)

    def _on_migrate_page_schedule_requested(self, job: str) -> None:
        self.show_page("schedules")
        self._schedules_page.select_job(job)
        self._schedules_page.schedule_job(job)

    def _on_history_page_run_again_requested(self, record: RunRecord) -> None:
        self._migrate_page.load_run(record)
        self.show_page("migrate")

    def _on_tray_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self._show_from_tray()

    # -- events -----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._quitting and self._keeps_running_in_tray():
            # Closing the window is not quitting: schedules go on from the tray.
            event.ignore()
            self.save_ui_state()
            self.hide()
            if self._tray is not None and not self._ui_state.window_flag(STATE_KEY, TRAY_HINT_FLAG):
                self._ui_state.set_window_flag(STATE_KEY, TRAY_HINT_FLAG)
                self._tray.showMessage(APP_NAME, "QDBM Desktop keeps running in the tray, so scheduled "
                                       "migrations run. Quit from this icon's menu.",
                                       QSystemTrayIcon.MessageIcon.Information)
            return
        if not self._confirm_quit():
            event.ignore()
            return
        self.save_ui_state()
        self._migrate_page.cancel_all()
        if not self._runner.shutdown(_SHUTDOWN_WAIT_MS):
            log.warning("a background task was still running when the window closed")
        if self._scheduler is not None:
            self._scheduler.stop(wait=True, cancel_running=True)
            self._scheduler = None
        self._status_timer.stop()
        if self._tray is not None:
            self._tray.hide()
        super().closeEvent(event)

    def _keeps_running_in_tray(self) -> bool:
        try:
            wanted = self._context.settings.get().close_to_tray
        except Exception:  # noqa: BLE001 - unreadable settings: keep the default
            wanted = True
        return wanted and self._tray is not None and self._tray.isVisible() and self._scheduler is not None

    def _confirm_quit(self) -> bool:
        running = self._migrate_page.running_count
        if running:
            text = (f"{running} migrations are still running. Quitting cancels them; their targets stay "
                    "as they were." if running != 1 else
                    "A migration is still running. Quitting cancels it; its target stays as it was.")
            answer = QMessageBox.question(self, APP_NAME, f"{text} Quit anyway?")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        if self._scheduler is not None and self._tray is None and not self._quitting and any(
                s.active for s in self._context.schedules.schedules()):
            answer = QMessageBox.question(
                self, APP_NAME, "This desktop has no system tray, so QDBM Desktop cannot keep running "
                "without its window. Quitting stops the scheduled migrations until the next start. Quit?")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        return True
