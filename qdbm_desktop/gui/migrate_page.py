"""The Migrate page: source and query, preview, column mapping, destination, and the runs.

Every database call (preview, the target's indicator, Show SQL, the run itself) goes through the
page's ``TaskRunner``; the page only builds frozen requests on the GUI thread and shows results.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core.checksum import VerifyLevel
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_TARGET_NAME
from qdbm_desktop.core.dialects import get_dialect
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.fidelity import ACCEPT_ALL, ColumnVerdict, Verdict
from qdbm_desktop.core.history import RunRecord
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import (
    ColumnMap,
    Endpoint,
    MigrationPlan,
    MigrationRequest,
    MigrationResult,
    QueryPreview,
    Status,
    TargetInfo,
    describe_target,
    new_run_id,
    plan_migration,
    preview_query,
    resolve_endpoint,
)
from qdbm_desktop.core.runs import run_recorded
from qdbm_desktop.core.settings import MAX_BATCH_SIZE, Settings
from qdbm_desktop.gui.catalog_feeds import CatalogFeeds
from qdbm_desktop.gui.column_mapping_model import STALE_TIP, ColumnMappingModel
from qdbm_desktop.gui.copy_tables_flow import CopyTablesFlow
from qdbm_desktop.gui.error_line import StatusLabel
from qdbm_desktop.gui.icons import database_icon
from qdbm_desktop.gui.migrate_dialogs import DestructiveRun, DestructiveRunQuestion, JobNameDialog
from qdbm_desktop.gui.preview_model import PreviewModel
from qdbm_desktop.gui.recent_queries_menu import RecentQueriesButton
from qdbm_desktop.gui.run_panel import RunCard, RunPanel, summary_text
from qdbm_desktop.gui.schema_tree import SchemaTree
from qdbm_desktop.gui.sql_editor import SqlEditor
from qdbm_desktop.gui.ui_state import UiStateFile
from qdbm_desktop.gui.workers import BackgroundTask, TaskReport, TaskRunner

log = logging.getLogger(__name__)

#: This page's entry in ui-state.json (where "don't ask again" answers are kept).
STATE_KEY = "migrate_page"
_DONT_ASK_PREFIX = "dont_ask_destructive:"
_DESTRUCTIVE_MODES = frozenset({LoadMode.REPLACE, LoadMode.TRUNCATE})

PREVIEW_ROWS = 100
#: The schema tree's width beside the query when the page first shows (pixels).
SCHEMA_TREE_WIDTH = 260
#: The connection pickers show this many characters of a name whatever the window's size.
CONNECTION_COMBO_CHARS = 24
#: Narrower windows (down to the smallest the page allows) may shrink the pickers to this.
TARGET_COMBO_MIN_CHARS = 14
SOURCE_COMBO_MIN_CHARS = 10
STALE_PREVIEW_TEXT = "The query or its source changed since this preview: Preview again (Ctrl+Enter)."
#: Typing in the table field waits this long before the target is looked at.
TARGET_CHECK_DELAY_MS = 600
_MODE_HELP = {
    LoadMode.APPEND: "add the rows to the table (created when missing)",
    LoadMode.TRUNCATE: "empty the existing table, then load (one transaction)",
    LoadMode.REPLACE: "the loaded rows replace the table, its definition included",
    LoadMode.CREATE: "create the table; refused when it exists",
    LoadMode.UPSERT: "insert new rows, update rows whose key columns match",
}


class MigratePage(QWidget):
    """Where a user writes a query and moves its result into a table.

    Signals: ``run_finished(object result, str summary)`` when a run ends (for the status bar and
    the notification); ``running_count_changed(int)``; ``status_message(str)``; ``jobs_changed()``
    after Save as job; ``schedule_requested(str job)`` when the saved job should get a schedule.
    """

    run_finished = Signal(object, str)
    running_count_changed = Signal(int)
    status_message = Signal(str)
    jobs_changed = Signal()
    schedule_requested = Signal(str)

    def __init__(self, context: AppContext, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("migratePage")
        self._context = context
        self._runner = runner
        #: Set by ``cancel_all`` as the window closes: nothing new is looked up then.
        self._closing = False
        #: Results of background look-ups older than the latest request are dropped.
        self._preview_generation = 0
        self._target_generation = 0
        self._preview_task: BackgroundTask | None = None
        self._target_info: TargetInfo | None = None
        #: Set once the user picks a destination; until then it follows the source away from itself.
        self._target_chosen = False
        #: The (source, query) the preview grid and the column mapping describe; None when empty.
        self._previewed: tuple[str | None, str] | None = None
        #: The saved job the form was last saved as (or loaded from); see ``form_job``.
        self._job_name: str | None = None
        #: A destructive run is being looked at or asked about: F5 waits for the answer.
        self._confirming = False
        self._confirm_generation = 0
        self._question: DestructiveRunQuestion | None = None
        #: The lossy columns the user said yes to (saved with a job as its accept_lossy).
        self._accepted_lossy: tuple[str, ...] = ()
        self._lossy_question: QMessageBox | None = None
        self._ui_state = UiStateFile(context.paths)

        self._preview_model = PreviewModel(self)
        self._mapping_model = ColumnMappingModel(self)
        self._target_timer = QTimer(self)
        self._target_timer.setSingleShot(True)
        self._target_timer.setInterval(TARGET_CHECK_DELAY_MS)
        self._target_timer.timeout.connect(self._check_target)

        self._build()
        self._run_panel.running_count_changed.connect(self.running_count_changed)
        self._create_actions()
        self.refresh_connections()
        self.apply_settings()

    # -- public -----------------------------------------------------------------------------

    @property
    def source_combo(self) -> QComboBox:
        return self._source_combo

    @property
    def target_combo(self) -> QComboBox:
        return self._target_combo

    @property
    def editor(self) -> SqlEditor:
        return self._editor

    @property
    def schema_tree(self) -> SchemaTree:
        return self._schema_tree

    @property
    def catalog_feeds(self) -> CatalogFeeds:
        return self._catalog_feeds

    @property
    def table_edit(self) -> QLineEdit:
        return self._table_edit

    @property
    def mode_combo(self) -> QComboBox:
        return self._mode_combo

    @property
    def keys_edit(self) -> QLineEdit:
        return self._keys_edit

    @property
    def incremental_edit(self) -> QLineEdit:
        return self._incremental_edit

    @property
    def batch_spin(self) -> QSpinBox:
        return self._batch_spin

    @property
    def count_check(self) -> QCheckBox:
        return self._count_check

    @property
    def partitions_combo(self) -> QComboBox:
        return self._partitions_combo

    @property
    def partition_by_edit(self) -> QLineEdit:
        return self._partition_by_edit

    @property
    def partition_bounds_edit(self) -> QLineEdit:
        return self._partition_bounds_edit

    @property
    def recent_button(self) -> RecentQueriesButton:
        return self._recent_button

    @property
    def preview_model(self) -> PreviewModel:
        return self._preview_model

    @property
    def mapping_model(self) -> ColumnMappingModel:
        return self._mapping_model

    @property
    def mapping_view(self) -> QTableView:
        return self._mapping_view

    @property
    def mapping_tab(self) -> QWidget:
        """The Column mapping tab: the fidelity summary above the grid."""
        return self._mapping_tab

    @property
    def fidelity_label(self) -> QLabel:
        return self._fidelity_label

    @property
    def preview_button(self) -> QPushButton:
        return self._preview_button

    @property
    def migrate_button(self) -> QPushButton:
        return self._migrate_button

    @property
    def show_sql_button(self) -> QPushButton:
        return self._show_sql_button

    @property
    def save_job_button(self) -> QPushButton:
        return self._save_job_button

    @property
    def schedule_button(self) -> QPushButton:
        return self._schedule_button

    @property
    def message_label(self) -> QLabel:
        return self._message

    @property
    def target_status_label(self) -> QLabel:
        return self._target_status

    @property
    def preview_status_label(self) -> QLabel:
        return self._preview_status

    @property
    def run_panel(self) -> RunPanel:
        return self._run_panel

    @property
    def tabs(self) -> QTabWidget:
        return self._tabs

    @property
    def preview_action(self) -> QAction:
        return self._preview_action

    @property
    def migrate_action(self) -> QAction:
        return self._migrate_action

    @property
    def running_count(self) -> int:
        """The runs going on in the Runs tab, the saved jobs' included."""
        return self._run_panel.running_count

    def refresh_connections(self) -> None:
        """Fill both pickers again from the saved connections, keeping the current choices."""
        try:
            profiles = self._context.connections.list()
        except (QdbmError, OSError) as exc:
            self._show_message(f"The saved connections cannot be read: {exc}", error=True)
            profiles = []
        for combo in (self._source_combo, self._target_combo):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for profile in profiles:
                combo.addItem(database_icon(profile.type), profile.name, profile.name)
                combo.setItemData(combo.count() - 1, f"{profile.display_type}: {profile.location}",
                                  Qt.ItemDataRole.ToolTipRole)
            index = combo.findData(current)
            if index < 0 and combo is self._target_combo:
                index = self._default_target()
            elif index < 0:
                index = 0 if combo.count() else -1
            combo.setCurrentIndex(index)
            combo.blockSignals(False)
        self._on_source_combo_changed()
        self._on_target_combo_changed()

    def apply_settings(self) -> None:
        """Take the global batch size and default mode (for the next job)."""
        settings = self._context.settings.get()
        self._batch_spin.setValue(settings.batch_size)
        self._verify_check.setChecked(settings.verify == VerifyLevel.CHECKSUM.value)
        index = self._mode_combo.findData(settings.default_mode)
        if index >= 0:
            self._mode_combo.setCurrentIndex(index)

    def select_source(self, name: str) -> None:
        self._source_combo.setCurrentIndex(max(0, self._source_combo.findData(name)))

    def select_target(self, name: str) -> None:
        self._target_chosen = True
        self._target_combo.setCurrentIndex(max(0, self._target_combo.findData(name)))

    def load_run(self, record: RunRecord) -> None:
        """Fill the form with a past run (History's Run again): same source, query and destination."""
        self.refresh_connections()
        missing = [name for name in (record.source, record.target)
                   if self._source_combo.findData(name) < 0]
        if record.source not in missing:
            self.select_source(record.source)
        if record.target not in missing:
            self.select_target(record.target)
        self._editor.set_query(record.query)
        self._job_name = record.job
        saved = self._context.schedules.find_job(record.job) if record.job else None
        self._accepted_lossy = saved.accept_lossy if saved is not None else ()
        self._table_edit.setText(record.target_table)
        index = self._mode_combo.findData(record.mode)
        if index >= 0:
            self._mode_combo.setCurrentIndex(index)
        self._clear_preview()
        if missing:
            self._show_message("No saved connection is named " + " or ".join(repr(n) for n in missing)
                               + " any more; choose one.")
        else:
            self._show_message("Loaded from History: check the form, then Migrate now (F5).")

    def preview(self) -> None:
        """Describe the query and fetch its first rows in the background."""
        source = self._source_combo.currentData()
        query = self._editor.query()
        if not source:
            self._show_message("Choose a source connection first.")
            return
        if not query.strip():
            self._show_message("Write the query to preview.")
            self._editor.setFocus()
            return
        try:
            endpoint = resolve_endpoint(self._context.connections, source)
        except QdbmError as exc:
            self._show_message(str(exc), error=True)
            return
        self._show_message("")
        self._remember_query(source, query)
        self._preview_generation += 1
        generation = self._preview_generation
        self._set_preview_status("Running the query for a preview…")
        self._preview_button.setEnabled(False)
        self._preview_task = self._runner.start(
            "Preview",
            lambda report, cancel: preview_query(endpoint, query, PREVIEW_ROWS),
            on_success=lambda preview: self._on_preview_succeeded(generation, (source, query), preview),
            on_failure=lambda message: self._on_preview_failed(generation, message),
        )

    def start_migration(self) -> RunCard | None:
        """Check the form, then run the migration in the background; its card, or None when it did
        not start now.

        A run that would empty or replace an existing table asks first (once, naming the table, its
        rows and columns and what happens to them), unless the user said not to ask again for this
        job or, for a form not saved as a job, for this table. The run then starts from the answer,
        so None here may be followed by a card. Saved jobs run by schedules, the tray or
        ``qdbm run`` never come here and never ask.
        """
        request = self._build_request()
        if request is None:
            return None
        pending = self.pending_lossy()
        if pending:
            self._ask_lossy_consent(pending)
            return None
        if request.mode not in _DESTRUCTIVE_MODES:
            return self._launch(request)
        if self._confirming:
            return None
        key, dont_ask_text = self._dont_ask_key(request)
        if self._ui_state.window_flag(STATE_KEY, key):
            return self._launch(request)
        self._look_before_destroying(request, key, dont_ask_text)
        return None

    @property
    def pending_question(self) -> DestructiveRunQuestion | None:
        """The "empty or replace this table?" question while it is open."""
        return self._question

    def _dont_ask_key(self, request: MigrationRequest) -> tuple[str, str]:
        """Where "don't ask again" is remembered, and how the check box says so.

        Per saved job when the form is one (the choice goes with the job's definition, not with
        whatever the form holds next); per destination table otherwise.
        """
        job = self.form_job()
        if job is not None:
            return f"{_DONT_ASK_PREFIX}job:{job.name}", f"Don't ask again for this job (“{job.name}”)"
        target = request.target.label
        return (f"{_DONT_ASK_PREFIX}table:{target}/{request.table}",
                f"Don't ask again for {request.table} on {target}")

    def _look_before_destroying(self, request: MigrationRequest, key: str, dont_ask_text: str) -> None:
        self._set_confirming(True)
        doing = "replaced" if request.mode is LoadMode.REPLACE else "emptied"
        self._show_message(f"Looking at {request.table} before it is {doing}…")
        rows = self._mapping_model.rows
        known = (sum(1 for row in rows if row.include)
                 if rows and not self._mapping_model.stale else None)
        generation = self._confirm_generation

        def work(report: TaskReport, cancel: threading.Event) -> tuple[TargetInfo, int | None]:
            info = describe_target(request.target, request.table)
            new_columns = known
            if info.exists and request.mode is LoadMode.REPLACE and new_columns is None:
                try:
                    new_columns = len(plan_migration(request).target_columns)
                except QdbmError:
                    new_columns = None  # the run itself will say what is wrong with the query
            return info, new_columns

        def looked(result: tuple[TargetInfo, int | None]) -> None:
            if generation != self._confirm_generation:
                return  # the window is closing
            info, new_columns = result
            if not info.exists:
                self._set_confirming(False)
                self._show_message("")
                self._launch(request)
                return
            self._ask_before_destroying(DestructiveRun(
                request.mode, str(request.table), request.target.label, info.rows,
                len(info.columns), new_columns), request, key, dont_ask_text)

        def not_looked(message: str) -> None:
            if generation != self._confirm_generation:
                return
            self._ask_before_destroying(DestructiveRun(
                request.mode, str(request.table), request.target.label, None, None, None,
                unknown_reason=message), request, key, dont_ask_text)

        self._runner.start("Target check before the run", work, on_success=looked, on_failure=not_looked)

    def _ask_before_destroying(self, run: DestructiveRun, request: MigrationRequest, key: str,
                               dont_ask_text: str) -> None:
        self._show_message("")
        question = DestructiveRunQuestion(run, dont_ask_text, self)
        self._question = question
        question.finished.connect(lambda _code: self._on_question_finished(question, request, key))
        question.open()

    def _on_question_finished(self, question: DestructiveRunQuestion, request: MigrationRequest,
                              key: str) -> None:
        self._question = None
        self._set_confirming(False)
        question.deleteLater()
        if not question.confirmed():
            self._show_message(f"Not started: {request.table} is unchanged.")
            return
        if question.dont_ask_check.isChecked():
            self._ui_state.set_window_flag(STATE_KEY, key)
        self._launch(request)

    def _set_confirming(self, confirming: bool) -> None:
        self._confirming = confirming
        self._migrate_button.setEnabled(not confirming)
        self._migrate_action.setEnabled(not confirming)

    def _launch(self, request: MigrationRequest) -> RunCard:
        self._remember_query(request.source.label, request.query)
        run_id = new_run_id()
        title = f"{request.source.label} → {request.target.label}.{request.table}"
        history = self._context.history

        connections = self._context.connections

        def run(report: TaskReport, cancel: threading.Event) -> MigrationResult:
            return run_recorded(history, request, on_progress=report.progress, on_log=report.log,
                                cancel=cancel, run_id=run_id, connections=connections)

        card = self._run_panel.start_run(self._runner, title, str(request.table), run,
                                         on_finished=lambda result: self._on_run_finished(request, result))
        self._tabs.setCurrentWidget(self._run_panel)
        self.status_message.emit(f"Migration started: {title}")
        return card

    def show_sql(self) -> None:
        """The dry-run plan and the DDL, in a dialog, without changing anything."""
        request = self._build_request()
        if request is None:
            return
        self._show_sql_button.setEnabled(False)
        self._runner.start(
            "Show SQL",
            lambda report, cancel: plan_migration(request),
            on_success=self._on_plan_succeeded,
            on_failure=self._on_plan_failed,
        )

    def job_from_form(self, name: str) -> Job | None:
        """The form as a saved job named ``name``, or None after saying what is missing."""
        if self._build_request() is None:
            return None
        job = self._job_of_form(name.strip(), self._context.settings.get())
        try:
            job.validate()
        except QdbmError as exc:
            self._show_message(f"Cannot save the job: {exc}", error=True)
            return None
        return job

    def save_as_job(self, name: str | None = None) -> Job | None:
        """Save the form as a job (asking its name when not given; a job of that name is replaced
        after asking)."""
        if self._build_request() is None:
            return None
        if name is None:
            suggested = f"{self._table_edit.text().strip()} from {self._source_combo.currentData()}"
            name = self._ask_job_name(self._job_name or suggested)
            if name is None:
                return None
        job = self.job_from_form(name)
        if job is None:
            return None
        store = self._context.schedules
        replacing = store.find_job(job.name) is not None
        if replacing and QMessageBox.question(
                self, "Save as job", f"A job named “{job.name}” exists. Replace it? Its schedules are kept."
        ) != QMessageBox.StandardButton.Yes:
            return None
        try:
            saved = store.save_job(job, replace_name=job.name if replacing else None)
        except (QdbmError, OSError) as exc:
            self._show_message(f"The job was not saved: {exc}", error=True)
            return None
        self._job_name = saved.name
        self._show_message(f"Saved as job “{saved.name}”.")
        self.status_message.emit(f"Job “{saved.name}” saved")
        self.jobs_changed.emit()
        return saved

    def form_job(self) -> Job | None:
        """The saved job the form is, unchanged since it was saved (or loaded): Schedule… and the
        "don't ask again" choice go with it. None once any field of the form differs from it."""
        if self._job_name is None:
            return None
        saved = self._context.schedules.find_job(self._job_name)
        if saved is None:
            return None
        keys = tuple(k.strip() for k in self._keys_edit.text().split(",") if k.strip())
        batch = self._batch_spin.value()
        try:
            default_batch = self._context.settings.get().batch_size
            column_map = self._column_map()
        except (QdbmError, OSError):
            return None
        form = (self._source_combo.currentData(), self._target_combo.currentData(), self._editor.query(),
                self._table_edit.text().strip(), self._mode_combo.currentData(), keys, column_map,
                batch if batch != default_batch else None, self._count_check.isChecked(),
                self._incremental_edit.text().strip() or None, self._verify_for_job(),
                *self._partitions_of_form())
        stored = (saved.source, saved.target, saved.query, saved.table, saved.mode, saved.keys,
                  saved.column_map, saved.batch_size, saved.count_rows, saved.incremental_column,
                  saved.verify, saved.partitions, saved.partition_by, saved.partition_bounds)
        return saved if form == stored else None

    def _partitions_of_form(self) -> tuple[int | None, str | None, tuple[str, ...]]:
        """The Partitions row as a job's fields: off (None), auto (0) or N; the column; the bounds."""
        count: int | None = self._partitions_combo.currentData()
        column = self._partition_by_edit.text().strip() or None
        bounds = tuple(b.strip() for b in self._partition_bounds_edit.text().split(",") if b.strip())
        if count is None:
            return None, None, ()
        return count, column, bounds

    def _verify_for_job(self) -> str | None:
        """The verify level a job saves: None when it is the setting's (the job then follows it)."""
        level = VerifyLevel.CHECKSUM.value if self._verify_check.isChecked() else VerifyLevel.COUNTS.value
        return None if level == self._context.settings.get().verify else level

    def _ask_job_name(self, suggested: str) -> str | None:
        dialog = JobNameDialog(suggested, self)
        try:
            return dialog.name() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    def cancel_all(self) -> None:
        """On quit: cancel the runs, and ignore what look-ups still in flight report later (the
        widgets they would write to are about to go)."""
        self._target_timer.stop()
        self._target_generation += 1
        self._preview_generation += 1
        self._confirm_generation += 1
        self._closing = True
        self._schema_tree.cancel()
        self._copy_flow.cancel()
        self._catalog_feeds.cancel()
        self._run_panel.cancel_all()

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setChildrenCollapsible(False)
        outer.addWidget(splitter)

        left = QSplitter(Qt.Orientation.Vertical, splitter)
        left.setChildrenCollapsible(False)
        query_box = self._build_query_box(left)
        self._build_result_tabs(left)
        left.addWidget(query_box)
        left.addWidget(self._tabs)
        left.setStretchFactor(0, 2)
        left.setStretchFactor(1, 3)

        right = self._build_destination_pane(splitter)
        splitter.addWidget(left)
        splitter.addWidget(right)
        # A wider window widens the query and the grids; the destination form keeps its width.
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        self._splitter = splitter
        self._destination_pane = right
        self._query_pane = left
        self._pane_fitted = False
        self._on_mode_combo_changed()

    def _build_query_box(self, left: QSplitter) -> QWidget:
        """The source connection, the query editor and the Preview button."""
        query_box = QWidget(left)
        query_layout = QVBoxLayout(query_box)
        query_layout.setContentsMargins(0, 0, 0, 0)
        query_layout.addLayout(self._build_source_row(query_box))
        browse_split = QSplitter(Qt.Orientation.Horizontal, query_box)
        browse_split.setObjectName("browseSplitter")
        self._schema_tree = SchemaTree(self._runner, browse_split)
        self._schema_tree.insert_requested.connect(self._on_schema_tree_insert_requested)
        self._schema_tree.query_requested.connect(self._on_schema_tree_query_requested)
        self._schema_tree.copy_tables_requested.connect(self.copy_tables)
        self._editor = SqlEditor(browse_split)
        self._editor.setAccessibleName("SQL query")
        self._editor.setPlaceholderText("SELECT … FROM …   (Ctrl+Enter: preview)")
        self._editor.textChanged.connect(self._on_query_or_source_changed)
        browse_split.addWidget(self._schema_tree)
        browse_split.addWidget(self._editor)
        browse_split.setStretchFactor(0, 0)
        browse_split.setStretchFactor(1, 1)
        browse_split.setCollapsible(1, False)
        self._browse_split = browse_split
        query_layout.addWidget(browse_split, 1)
        query_layout.addLayout(self._build_preview_row(query_box))
        return query_box

    def _build_source_row(self, query_box: QWidget) -> QHBoxLayout:
        source_row = QHBoxLayout()
        source_label = QLabel("&Source", query_box)
        source_row.addWidget(source_label)
        self._source_combo = QComboBox(query_box)
        self._source_combo.setObjectName("sourceCombo")
        self._source_combo.setIconSize(QSize(18, 18))
        self._source_combo.setMinimumWidth(160)
        self._source_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        # The source row has the width of the query editor, so the name shows whole from 1024
        # pixels on; the minimum only keeps a narrower window possible.
        self._source_combo.setMinimumContentsLength(SOURCE_COMBO_MIN_CHARS)
        self._source_combo.setAccessibleName("Source connection")
        self._source_combo.currentIndexChanged.connect(self._on_source_combo_changed)
        source_label.setBuddy(self._source_combo)
        source_row.addWidget(self._source_combo, 1)
        self._recent_button = RecentQueriesButton(self._context.recent_queries, query_box)
        self._recent_button.query_chosen.connect(self._on_recent_button_query_chosen)
        source_row.addWidget(self._recent_button)
        return source_row

    def _build_preview_row(self, query_box: QWidget) -> QHBoxLayout:
        preview_row = QHBoxLayout()
        self._preview_button = QPushButton("&Preview", query_box)
        self._preview_button.setObjectName("previewButton")
        self._preview_button.setToolTip(
            f"Run the query for its first {PREVIEW_ROWS} rows and its column types (Ctrl+Enter)")
        self._preview_button.clicked.connect(self.preview)
        preview_row.addWidget(self._preview_button)
        self._preview_status = StatusLabel(query_box, object_name="previewStatus")
        self._preview_status.setWordWrap(True)
        self._preview_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        preview_row.addWidget(self._preview_status, 1)
        return preview_row

    def _build_result_tabs(self, left: QSplitter) -> None:
        """The preview grid, the column mapping and the runs, as tabs under the query."""
        self._tabs = QTabWidget(left)
        self._tabs.setObjectName("migrateTabs")
        self._preview_view = QTableView(self._tabs)
        self._preview_view.setObjectName("previewTable")
        self._preview_view.setModel(self._preview_model)
        self._preview_view.setWordWrap(False)
        self._preview_view.setAlternatingRowColors(True)
        self._preview_view.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._preview_view.verticalHeader().setDefaultSectionSize(
            self._preview_view.fontMetrics().height() + 8)
        self._tabs.addTab(self._preview_view, "Preview")
        self._mapping_tab = QWidget(self._tabs)
        mapping_layout = QVBoxLayout(self._mapping_tab)
        mapping_layout.setContentsMargins(0, 4, 0, 0)
        self._fidelity_label = QLabel(self._mapping_tab)
        self._fidelity_label.setObjectName("fidelitySummary")
        self._fidelity_label.setToolTip(
            "Each column's fidelity into the target: exact, converted (a lossless change of form), lossy "
            "(needs your yes to run) or refused. Hover a column's icon for the reason.")
        mapping_layout.addWidget(self._fidelity_label)
        self._mapping_view = QTableView(self._mapping_tab)
        mapping_layout.addWidget(self._mapping_view)
        self._mapping_view.setObjectName("mappingTable")
        self._mapping_view.setModel(self._mapping_model)
        self._mapping_view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                           | QAbstractItemView.EditTrigger.EditKeyPressed
                                           | QAbstractItemView.EditTrigger.AnyKeyPressed
                                           | QAbstractItemView.EditTrigger.SelectedClicked)
        self._mapping_view.verticalHeader().setVisible(False)
        self._mapping_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._mapping_view.horizontalHeader().setStretchLastSection(True)
        self._tabs.addTab(self._mapping_tab, "Column mapping")
        for signal in (self._mapping_model.mapping_changed, self._mapping_model.modelReset,
                       self._mapping_model.dataChanged):
            signal.connect(self._show_fidelity)
        self._run_panel = RunPanel(self._tabs)
        self._run_panel.setObjectName("runPanel")
        self._tabs.addTab(self._run_panel, "Runs")
        self._copy_flow = CopyTablesFlow(self._context, self._runner, self._run_panel, self)
        self._copy_flow.message.connect(lambda text, error: self._show_message(text, error=error))
        self._copy_flow.started.connect(self._on_copy_flow_started)
        self._copy_flow.finished.connect(self._on_target_tables_changed)
        self._copy_flow.job_saved.connect(lambda _name: self.jobs_changed.emit())

    def _build_destination_pane(self, splitter: QSplitter) -> QWidget:
        """The destination form, the run and job buttons and the page's message."""
        right = QWidget(splitter)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 0, 0, 0)
        target_box = QGroupBox("Destination", right)
        form = QFormLayout(target_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # One pixel less between rows keeps the window's smallest height with the Partitions row.
        form.setVerticalSpacing(max(2, form.verticalSpacing() - 1))
        self._build_target_rows(target_box, form)
        self._build_load_rows(target_box, form)
        right_layout.addWidget(target_box)
        self._build_action_buttons(right, right_layout)
        self._message = StatusLabel(right, object_name="migrateMessage")
        self._message.setWordWrap(True)
        self._message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right_layout.addWidget(self._message)
        right_layout.addStretch(1)
        return right

    def _build_target_rows(self, target_box: QGroupBox, form: QFormLayout) -> None:
        """Where the rows go: the connection and the table, with the table's status."""
        self._target_combo = QComboBox(target_box)
        self._target_combo.setObjectName("targetCombo")
        self._target_combo.setIconSize(QSize(18, 18))
        self._target_combo.setAccessibleName("Destination connection")
        # Sized for a typical name, not the longest (which would push the window wider than a
        # small screen): a longer one is elided, whole in the tooltip. See _fit_destination_pane.
        self._target_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._target_combo.setMinimumContentsLength(TARGET_COMBO_MIN_CHARS)
        self._target_combo.currentIndexChanged.connect(self._on_target_combo_changed)
        self._target_combo.activated.connect(self._on_target_combo_activated)
        form.addRow("&Connection", self._target_combo)
        self._table_edit = QLineEdit(target_box)
        self._table_edit.setObjectName("tableEdit")
        self._table_edit.setPlaceholderText("[schema.]table")
        self._table_edit.setAccessibleName("Target table")
        self._table_edit.textChanged.connect(self._on_table_edit_text_changed)
        form.addRow("&Table", self._table_edit)
        self._catalog_feeds = CatalogFeeds(self._runner, self._editor, self._table_edit)
        self._target_status = StatusLabel(target_box, object_name="targetStatus")
        self._target_status.setWordWrap(True)
        form.addRow("", self._target_status)

    def _build_load_rows(self, target_box: QGroupBox, form: QFormLayout) -> None:
        """How the rows are written: mode, keys, incremental column, batch size, row count."""
        self._mode_combo = QComboBox(target_box)
        self._mode_combo.setObjectName("modeCombo")
        for mode in LoadMode:
            self._mode_combo.addItem(mode.value, mode.value)
            self._mode_combo.setItemData(self._mode_combo.count() - 1, _MODE_HELP[mode],
                                         Qt.ItemDataRole.ToolTipRole)
        self._mode_combo.currentIndexChanged.connect(self._on_mode_combo_changed)
        form.addRow("&Mode", self._mode_combo)
        self._mode_help = QLabel(target_box)
        self._mode_help.setWordWrap(True)
        form.addRow("", self._mode_help)
        self._keys_edit = QLineEdit(target_box)
        self._keys_edit.setObjectName("keysEdit")
        self._keys_edit.setPlaceholderText("id[, other_key]")
        self._keys_edit.setToolTip("The target columns that identify a row, for upsert")
        form.addRow("&Key columns", self._keys_edit)
        self._incremental_edit = QLineEdit(target_box)
        self._incremental_edit.setObjectName("incrementalEdit")
        self._incremental_edit.setPlaceholderText("for saved jobs: updated_at, id …")
        self._incremental_edit.setToolTip(
            "Saved jobs only: each run reads just the rows past the largest value of this column loaded "
            "so far, upserted by the key columns (mode upsert) or appended (mode append). Empty: every run "
            "reads every row")
        form.addRow("&Incremental", self._incremental_edit)
        self._batch_spin = QSpinBox(target_box)
        self._batch_spin.setObjectName("batchSpin")
        self._batch_spin.setRange(1, MAX_BATCH_SIZE)
        self._batch_spin.setSingleStep(10_000)
        self._batch_spin.setGroupSeparatorShown(True)
        self._batch_spin.setSuffix(" rows")
        self._batch_spin.setToolTip("Rows per batch for this job (the default comes from Settings)")
        form.addRow("&Batch size", self._batch_spin)
        self._count_check = QCheckBox("Count the rows first", target_box)
        self._count_check.setObjectName("countCheck")
        self._count_check.setToolTip("One more query before the run, so progress shows a percentage and ETA")
        form.addRow("", self._count_check)
        self._verify_check = QCheckBox("Verify by checksum", target_box)
        self._verify_check.setObjectName("verifyCheck")
        self._verify_check.setToolTip("Read the staging table back and compare every column's checksum with "
                                      "the rows read; a difference fails the run with the target unchanged")
        form.addRow("", self._verify_check)
        self._build_partitions_row(target_box, form)

    def _build_partitions_row(self, target_box: QGroupBox, form: QFormLayout) -> None:
        """Partitioned reads: off, auto or N ranges of a column, with optional bounds."""
        row = QHBoxLayout()
        row.setSpacing(6)
        self._partitions_combo = QComboBox(target_box)
        self._partitions_combo.setObjectName("partitionsCombo")
        self._partitions_combo.addItem("off", None)
        self._partitions_combo.addItem("auto", 0)
        for count in (2, 3, 4, 6, 8, 12, 16):
            self._partitions_combo.addItem(str(count), count)
        self._partitions_combo.setToolTip(
            "Read the query in this many ranges of one column at once, each on its own connection, loaded "
            "by as many writers (one into SQLite) and swapped in as one run. auto: the count measured best "
            "for this path on this machine. PostgreSQL readers share one snapshot; MySQL/MariaDB and SQLite "
            "readers each take their own (see the run's log)")
        row.addWidget(self._partitions_combo)
        row.addWidget(QLabel("by", target_box))
        self._partition_by_edit = QLineEdit(target_box)
        self._partition_by_edit.setObjectName("partitionByEdit")
        self._partition_by_edit.setPlaceholderText("id, created_at …")
        self._partition_by_edit.setToolTip("A number, date or timestamp column of the query; its NULLs go "
                                           "to the first range")
        row.addWidget(self._partition_by_edit, 1)
        self._partition_bounds_edit = QLineEdit(target_box)
        self._partition_bounds_edit.setObjectName("partitionBoundsEdit")
        self._partition_bounds_edit.setPlaceholderText("min,max")
        self._partition_bounds_edit.setToolTip("Optional LOW,HIGH (split evenly) or LOW,B1,…,HIGH (the split "
                                               "points); values outside still go to the first or last range")
        row.addWidget(self._partition_bounds_edit, 1)
        label = QLabel("Partiti&ons", target_box)
        label.setBuddy(self._partitions_combo)
        form.addRow(label, row)

    def _build_action_buttons(self, right: QWidget, right_layout: QVBoxLayout) -> None:
        buttons = QHBoxLayout()
        self._show_sql_button = QPushButton("Show &SQL", right)
        self._show_sql_button.setObjectName("showSqlButton")
        self._show_sql_button.setToolTip("The plan and the DDL of this migration; nothing is changed")
        self._show_sql_button.clicked.connect(self.show_sql)
        buttons.addWidget(self._show_sql_button)
        self._migrate_button = QPushButton("Migrate &now", right)
        self._migrate_button.setObjectName("migrateButton")
        self._migrate_button.setDefault(False)
        self._migrate_button.setToolTip("Run this migration now (F5)")
        self._migrate_button.clicked.connect(self.start_migration)
        buttons.addWidget(self._migrate_button)
        right_layout.addLayout(buttons)
        job_buttons = QHBoxLayout()
        self._save_job_button = QPushButton("Save as &job…", right)
        self._save_job_button.setObjectName("saveJobButton")
        self._save_job_button.setToolTip("Save this migration under a name, to run it again or on a schedule")
        self._save_job_button.clicked.connect(lambda: self.save_as_job())
        job_buttons.addWidget(self._save_job_button)
        self._schedule_button = QPushButton("Sc&hedule…", right)
        self._schedule_button.setObjectName("scheduleButton")
        self._schedule_button.setToolTip("Save this migration as a job and choose when it runs")
        self._schedule_button.clicked.connect(self._on_schedule_button_clicked)
        job_buttons.addWidget(self._schedule_button)
        right_layout.addLayout(job_buttons)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._pane_fitted:
            self._pane_fitted = True
            self._fit_destination_pane()
            # The schema tree starts narrow (a third of the query's width at most); the
            # splitter handle widens it, or folds it away.
            total = self._browse_split.width()
            tree = min(SCHEMA_TREE_WIDTH, total // 3)
            self._browse_split.setSizes([tree, total - tree])

    def _fit_destination_pane(self) -> None:
        """Give the destination form the width that shows CONNECTION_COMBO_CHARS of a name (the
        demo's "Local warehouse (SQLite)" whole), leaving the query at least its minimum."""
        total = self._splitter.width()
        extra = self._target_combo.fontMetrics().averageCharWidth() \
            * (CONNECTION_COMBO_CHARS - TARGET_COMBO_MIN_CHARS)
        wanted = self._destination_pane.minimumSizeHint().width() + extra
        left_min = self._query_pane.minimumSizeHint().width()
        right = max(self._destination_pane.minimumSizeHint().width(), min(wanted, total - left_min))
        self._splitter.setSizes([max(left_min, total - right), right])

    def _create_actions(self) -> None:
        self._preview_action = QAction("Preview", self)
        self._preview_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self._preview_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._preview_action.triggered.connect(self.preview)
        self.addAction(self._preview_action)
        self._migrate_action = QAction("Migrate now", self)
        self._migrate_action.setShortcut(QKeySequence("F5"))
        self._migrate_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._migrate_action.triggered.connect(self.start_migration)
        self.addAction(self._migrate_action)

    # -- the request ------------------------------------------------------------------------

    def _build_request(self) -> MigrationRequest | None:
        """The frozen request of the form as it is, or None after saying what is missing."""
        source, target = self._source_combo.currentData(), self._target_combo.currentData()
        query = self._editor.query()
        problems = []
        if not source:
            problems.append("choose a source connection")
        if not query.strip():
            problems.append("write the query")
        if not target:
            problems.append("choose a destination connection")
        table_text = self._table_edit.text().strip()
        if not table_text:
            problems.append("name the target table")
        mode = LoadMode(self._mode_combo.currentData())
        keys = tuple(k.strip() for k in self._keys_edit.text().split(",") if k.strip())
        if mode is LoadMode.UPSERT and not keys:
            problems.append("name the key columns for upsert")
        if self._partitions_combo.currentData() is not None and not self._partition_by_edit.text().strip():
            problems.append("name the column the partitions split (Partitions … by)")
        stale_choices = self._mapping_model.stale and self._mapping_model.has_choices()
        if stale_choices:
            problems.append("the column mapping is from an earlier query or source; Preview (Ctrl+Enter) "
                            "to map this one (choices for columns of the same name are kept)")
        elif not self._mapping_model.stale:
            problems.extend(self._mapping_model.errors())
        if problems:
            self._show_message("Cannot start: " + "; ".join(problems) + ".", error=True)
            return None
        try:
            settings = self._context.settings.get()
            request = self._job_of_form(self._job_name or "", settings).request(
                self._context.connections, settings, work_dir=self._context.paths.runs_dir)
        except QdbmError as exc:
            self._show_message(f"Cannot start: {exc}", error=True)
            return None
        self._show_message("")
        return request

    def _job_of_form(self, name: str, settings: Settings) -> Job:
        """The form as a job named ``name`` (saved or not): a run of the form is a run of this job.

        A batch size equal to the setting is left to follow it, as a saved job does.
        """
        batch = self._batch_spin.value()
        partitions, partition_by, partition_bounds = self._partitions_of_form()
        return Job(
            name=name,
            source=self._source_combo.currentData(),
            target=self._target_combo.currentData(),
            query=self._editor.query(),
            table=self._table_edit.text().strip(),
            mode=self._mode_combo.currentData(),
            keys=tuple(k.strip() for k in self._keys_edit.text().split(",") if k.strip()),
            column_map=self._column_map(),
            batch_size=None if batch == settings.batch_size else batch,
            count_rows=self._count_check.isChecked(),
            incremental_column=self._incremental_edit.text().strip() or None,
            verify=self._verify_for_job(),
            partitions=partitions,
            partition_by=partition_by,
            partition_bounds=partition_bounds,
            accept_lossy=self._accepted_lossy,
        )

    # -- fidelity ---------------------------------------------------------------------------

    def _show_fidelity(self) -> None:
        summary = self._mapping_model.fidelity_summary()
        self._fidelity_label.setText(f"Fidelity: {summary}" if summary else "")

    def pending_lossy(self) -> list[ColumnVerdict]:
        """The grid's lossy columns the user has not said yes to."""
        accepted = {name.casefold() for name in self._accepted_lossy}
        return [v for v in self._mapping_model.verdicts() if v.verdict is Verdict.LOSSY
                and ACCEPT_ALL not in accepted and v.source.casefold() not in accepted]

    @property
    def lossy_question(self) -> QMessageBox | None:
        """The "run with these lossy columns?" question while it is open."""
        return self._lossy_question

    def _ask_lossy_consent(self, pending: list[ColumnVerdict]) -> None:
        if self._lossy_question is not None:
            return
        listed = "\n".join(f"• {v.source} ({v.source_type} → {v.target_type}): {v.reason}" for v in pending)
        box = QMessageBox(QMessageBox.Icon.Warning, "Lossy columns",
                          f"The target cannot hold every value of {len(pending)} column(s):\n\n{listed}\n\n"
                          "Values that do not fit are refused (the run then fails with the target "
                          "unchanged) or changed where the engine gives no choice. Run anyway?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setObjectName("lossyQuestion")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText("Run with these columns")
        self._lossy_question = box

        def answered(button: int) -> None:
            self._lossy_question = None
            box.deleteLater()
            if button == QMessageBox.StandardButton.Yes:
                names = (*self._accepted_lossy, *(v.source for v in pending))
                self._accepted_lossy = tuple(dict.fromkeys(names))
                self.start_migration()

        box.finished.connect(answered)
        box.open()

    def _column_map(self) -> tuple[ColumnMap, ...]:
        # An out-of-date mapping that holds no choice is the default mapping: the run uses the
        # defaults of the query as it is now. One with choices never gets this far.
        return () if self._mapping_model.stale else self._mapping_model.column_map()

    def _remember_query(self, source: str, query: str) -> None:
        try:
            self._context.recent_queries.add(source, query)
        except (QdbmError, OSError) as exc:
            log.warning("the query cannot be remembered: %s", exc)
        self._fill_recent()

    def _fill_recent(self) -> None:
        self._recent_button.set_connection(self._source_combo.currentData())

    def _show_message(self, text: str, *, error: bool = False) -> None:
        self._message.show_message(text, error=error)

    # -- slots ------------------------------------------------------------------------------

    def _default_target(self) -> int:
        """The destination the form starts with: never the source, the demo warehouse when there.

        The same database on both sides is a legal choice, but not one to make for the user: with
        the demo's SQLite files a first naive run would be refused as reading and writing one file.
        """
        source = self._source_combo.currentData()
        names = [self._target_combo.itemData(i) for i in range(self._target_combo.count())]
        if DEMO_TARGET_NAME in names and source != DEMO_TARGET_NAME:
            return names.index(DEMO_TARGET_NAME)
        return next((i for i, name in enumerate(names) if name != source), -1)

    def _on_target_combo_activated(self, _index: int) -> None:
        self._target_chosen = True

    def _on_source_combo_changed(self) -> None:
        self._source_combo.setToolTip(self._source_combo.currentData() or "")
        if not self._target_chosen and self._target_combo.count() \
                and self._target_combo.currentData() == self._source_combo.currentData():
            self._target_combo.setCurrentIndex(self._default_target())
        name = self._source_combo.currentData()
        profile = self._context.connections.find(name) if name else None
        self._editor.set_connection_type(profile.type if profile else None)
        endpoint = self._browse_endpoint(name)
        self._schema_tree.set_endpoint(endpoint)
        self._catalog_feeds.set_source(endpoint)
        self._mapping_model.source_engine = profile.type if profile else ""
        self._fill_recent()
        self._on_query_or_source_changed()

    def _on_query_or_source_changed(self) -> None:
        """The grid, its message and the mapping describe what was previewed: say at once when
        the form no longer matches it, and drop a preview still running for the older query."""
        current = (self._source_combo.currentData(), self._editor.query())
        if self._preview_task is not None and not self._preview_button.isEnabled():
            self._preview_generation += 1
            self._preview_button.setEnabled(True)
            self._set_preview_status("")
        if self._previewed is None:
            return
        stale = current != self._previewed
        if stale and self._preview_model.columnCount():
            self._preview_model.clear()
            self._set_preview_status(STALE_PREVIEW_TEXT)
        self._mapping_model.set_stale(stale)
        self._show_mapping_state()

    def _show_mapping_state(self) -> None:
        stale = self._mapping_model.stale
        index = self._tabs.indexOf(self._mapping_tab)
        self._tabs.setTabText(index, "Column mapping (out of date)" if stale else "Column mapping")
        self._tabs.setTabToolTip(index, STALE_TIP if stale else "")

    def _clear_preview(self) -> None:
        self._previewed = None
        self._preview_model.clear()
        self._mapping_model.clear()
        self._set_preview_status("")
        self._show_mapping_state()

    def _set_target_status(self, text: str, *, error: bool = False) -> None:
        self._target_status.show_message(text, error=error)

    def _set_preview_status(self, text: str, *, error: bool = False) -> None:
        self._preview_status.show_message(text, error=error)

    def _on_target_combo_changed(self) -> None:
        name = self._target_combo.currentData()
        self._target_combo.setToolTip(name or "")
        profile = self._context.connections.find(name) if name else None
        try:
            dialect = get_dialect(profile.type) if profile else None
        except QdbmError:
            dialect = None
        self._mapping_model.set_target_dialect(dialect)
        self._catalog_feeds.set_target(self._browse_endpoint(name))
        self._target_timer.start()

    def _browse_endpoint(self, name: str | None) -> Endpoint | None:
        """The connection the schema tree and the completions read, or None (none chosen, or
        its secrets cannot be read: the tree says nothing, a preview would say why)."""
        if not name or self._closing:
            return None
        try:
            return resolve_endpoint(self._context.connections, name)
        except QdbmError:
            return None

    def _on_schema_tree_insert_requested(self, text: str) -> None:
        self._editor.insertPlainText(text)
        self._editor.setFocus()

    def _on_schema_tree_query_requested(self, query: str) -> None:
        self._editor.set_query(query)
        self._editor.setFocus()

    def copy_tables(self) -> None:
        """"Copy tables…": read the source's tables, then ask which to copy (see copy_tables_flow)."""
        source, target = self._source_combo.currentData(), self._target_combo.currentData()
        if not source or not target:
            self._show_message("Choose a source and a destination connection to copy tables.")
            return
        self._copy_flow.open(source, target, self._browse_endpoint(source),
                             self._schema_tree.current_relation())

    def _on_copy_flow_started(self, title: str) -> None:
        self._tabs.setCurrentWidget(self._run_panel)
        self.status_message.emit(f"Copy started: {title}")

    @property
    def copy_flow(self) -> CopyTablesFlow:
        return self._copy_flow

    def _on_table_edit_text_changed(self, _text: str) -> None:
        self._target_timer.start()

    def _on_mode_combo_changed(self) -> None:
        mode = LoadMode(self._mode_combo.currentData())
        self._mode_help.setText(_MODE_HELP[mode])
        self._keys_edit.setEnabled(mode is LoadMode.UPSERT)

    def _on_schedule_button_clicked(self) -> None:
        # A form just saved as a job is that job: schedule it rather than ask its name again.
        job = self.form_job() or self.save_as_job()
        if job is not None:
            self.schedule_requested.emit(job.name)

    def _on_recent_button_query_chosen(self, query: str) -> None:
        self._editor.set_query(query)
        self._editor.setFocus()

    def _check_target(self) -> None:
        self._target_generation += 1
        generation = self._target_generation
        name, text = self._target_combo.currentData(), self._table_edit.text().strip()
        self._target_info = None
        if not name or not text:
            self._set_target_status("")
            return
        try:
            endpoint = resolve_endpoint(self._context.connections, name)
            table = TableName.parse(text)
        except QdbmError as exc:
            self._set_target_status(str(exc), error=True)
            return
        self._set_target_status("Looking at the table…")
        self._runner.start(
            "Target check",
            lambda report, cancel: describe_target(endpoint, table),
            on_success=lambda info: self._on_target_checked(generation, info),
            on_failure=lambda message: self._on_target_check_failed(generation, message),
        )

    def _on_target_checked(self, generation: int, info: TargetInfo) -> None:
        if generation != self._target_generation:
            return
        self._target_info = info
        if info.exists:
            self._set_target_status(f"● exists, {info.rows:,} rows, {len(info.columns)} columns")
            columns = "\n".join(f"{c.name}  {c.source_type or c.type.kind.value}" for c in info.columns)
            self._target_status.setToolTip(f"Columns of the table:\n{columns}")
            self._table_edit.setToolTip(f"Columns of the table:\n{columns}")
        else:
            self._set_target_status("○ does not exist yet: it will be created")
            self._target_status.setToolTip("")
            self._table_edit.setToolTip("")

    def _on_target_check_failed(self, generation: int, message: str) -> None:
        if generation == self._target_generation:
            self._set_target_status(f"Cannot check the table: {message}", error=True)

    def _on_preview_succeeded(self, generation: int, previewed: tuple[str | None, str],
                              preview: QueryPreview) -> None:
        if generation != self._preview_generation:
            return
        self._preview_button.setEnabled(True)
        self._previewed = previewed
        self._preview_model.set_preview(preview.columns, preview.rows)
        self._mapping_model.set_columns(preview.columns)
        self._show_mapping_state()
        self._preview_view.resizeColumnsToContents()
        for column in range(self._preview_model.columnCount()):
            self._preview_view.setColumnWidth(column, min(self._preview_view.columnWidth(column), 320))
        more = f"the first {len(preview.rows):,} rows" if preview.more else f"all {len(preview.rows):,} rows"
        self._set_preview_status(f"{len(preview.columns)} columns; {more}.")
        self._tabs.setCurrentWidget(self._preview_view)

    def _on_preview_failed(self, generation: int, message: str) -> None:
        if generation != self._preview_generation:
            return
        self._preview_button.setEnabled(True)
        self._set_preview_status(f"Preview failed: {message}", error=True)

    def _on_plan_succeeded(self, plan: MigrationPlan) -> None:
        self._show_sql_button.setEnabled(True)
        PlanDialog(plan, self).open()

    def _on_plan_failed(self, message: str) -> None:
        self._show_sql_button.setEnabled(True)
        self._show_message(f"Show SQL failed: {message}", error=True)

    def _on_run_finished(self, request: MigrationRequest, result: MigrationResult) -> None:
        self.run_finished.emit(result, summary_text(result, str(request.table)))
        if result.status is not Status.FAILED and not self._closing:
            self._target_timer.start()
            self._on_target_tables_changed()

    def _on_target_tables_changed(self) -> None:
        """A run may have created tables: the Table field's completion reads them again."""
        if not self._closing:
            self._catalog_feeds.set_target(self._browse_endpoint(self._target_combo.currentData()))


class PlanDialog(QDialog):
    """What a run would do: the steps, the columns and the DDL (read-only, copyable).

    Signals: those of QDialog.
    """

    def __init__(self, plan: MigrationPlan, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("planDialog")
        self.setWindowTitle("Migration plan")
        self.resize(760, 520)
        layout = QVBoxLayout(self)
        status = "exists" if plan.target_exists else "will be created"
        intro = QLabel(f"The target table {status}. Nothing has been changed.", self)
        layout.addWidget(intro)
        self._text = QPlainTextEdit(self)
        self._text.setObjectName("planText")
        self._text.setReadOnly(True)
        self._text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        lines = ["-- plan"]
        lines += [f"--  {n}. {step}" for n, step in enumerate(plan.steps, start=1)]
        lines += ["", "-- columns: source -> target"]
        for source, target in zip(plan.source_columns, plan.target_columns, strict=True):
            not_null = "" if target.nullable else " NOT NULL"
            lines.append(f"--  {source.name} ({source.source_type or source.type}) -> "
                         f"{target.name} {target.type}{not_null}")
        if plan.create_sql:
            lines += ["", plan.create_sql + ";"]
        self._text.setPlainText("\n".join(lines))
        layout.addWidget(self._text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @property
    def text(self) -> str:
        return self._text.toPlainText()
