"""The Schedules page: schedules (trigger in words, next run, last run and its result) and saved jobs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import IntEnum

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.scheduler import SchedulerService
from qdbm_desktop.core.schedules import Schedule, new_schedule_id
from qdbm_desktop.core.spark_export import export_spark_job, password_variable
from qdbm_desktop.core.triggers import ScheduleTrigger
from qdbm_desktop.core.watermark import Watermark
from qdbm_desktop.gui.table_models import FrozenRowsModel
from qdbm_desktop.gui.workers import TaskRunner

_AnyIndex = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


def _local(moment: datetime | None) -> str:
    """A time in this computer's zone, the zone named (a schedule may live in another one)."""
    return moment.astimezone(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M %Z") if moment else ""


@dataclass(frozen=True)
class ScheduleRow:
    """One schedule as the table shows it."""

    schedule: Schedule
    description: str
    next_run: datetime | None


def schedule_rows(schedules: Sequence[Schedule], now: datetime) -> list[ScheduleRow]:
    rows = []
    for schedule in schedules:
        try:
            description = schedule.trigger.describe()
            upcoming = schedule.next_fire(now)
        except QdbmError as exc:
            description, upcoming = f"invalid: {exc}", None
        rows.append(ScheduleRow(schedule, description, upcoming))
    return rows


class ScheduleColumn(IntEnum):
    JOB = 0
    WHEN = 1
    NEXT = 2
    LAST = 3
    RESULT = 4
    ENABLED = 5


_SCHEDULE_TITLES = ("Job", "When", "Next run", "Last run", "Result", "Enabled")


class SchedulesModel(FrozenRowsModel[ScheduleRow]):
    """Frozen ``ScheduleRow``s.

    Signals: only those of ``QAbstractTableModel``.
    """

    titles = _SCHEDULE_TITLES

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        row = self.row_of(index)
        if row is None:
            return None
        column = ScheduleColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == SORT_ROLE:
            if column is ScheduleColumn.NEXT:
                return row.next_run.timestamp() if row.next_run else float("inf")
            return str(self._display(row, column)).casefold()
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row.schedule, column)
        return None

    @staticmethod
    def _display(row: ScheduleRow, column: ScheduleColumn) -> str | None:
        schedule = row.schedule
        if column is ScheduleColumn.JOB:
            return schedule.job
        if column is ScheduleColumn.WHEN:
            return row.description
        if column is ScheduleColumn.NEXT:
            if schedule.done:
                return "done"
            if not schedule.enabled:
                return "paused"
            return _local(row.next_run) or "—"
        if column is ScheduleColumn.LAST:
            try:
                last = schedule.last_run_at
                return _local(datetime.fromisoformat(last)) if last else ""
            except ValueError:
                return schedule.last_run_at
        if column is ScheduleColumn.RESULT:
            return schedule.last_status or ""
        return "yes" if schedule.enabled else "no"

    @staticmethod
    def _tooltip(schedule: Schedule, column: ScheduleColumn) -> str | None:
        if column is ScheduleColumn.RESULT and schedule.last_error:
            return schedule.last_error
        if column is ScheduleColumn.WHEN:
            grace = schedule.grace_seconds
            return (f"A run missed while QDBM was not running is run at start when at most "
                    f"{grace // 60} min late" if grace else "A missed run is listed at start, not run")
        return None


class JobColumn(IntEnum):
    NAME = 0
    ROUTE = 1
    MODE = 2
    SCHEDULES = 3
    INCREMENTAL = 4


_JOB_TITLES = ("Job", "Source → destination", "Mode", "Schedules", "Incremental (mark)")


def incremental_text(job: Job, mark: Watermark | None) -> str:
    """An incremental job's column and mark in words; empty for a job that loads every row each time."""
    if not job.incremental_column:
        return ""
    shown = mark.text if mark is not None else "no mark yet (reads every row)"
    return f"{job.incremental_column}: {shown}"


class JobsModel(FrozenRowsModel[tuple[Job, int]]):
    """Frozen ``Job``s with how many schedules each has.

    Signals: only those of ``QAbstractTableModel``.
    """

    titles = _JOB_TITLES

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._marks: dict[str, Watermark] = {}

    def reload(self, rows: Sequence[tuple[Job, int]], marks: Mapping[str, Watermark] | None = None) -> None:
        """``marks``: the incremental jobs' marks by job name."""
        self._marks = dict(marks or {})
        super().reload(rows)

    def job_at(self, row: int) -> Job:
        return self.row_at(row)[0]

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        found = self.row_of(index)
        if found is None:
            return None
        job, count = found
        column = JobColumn(index.column())
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            if column is JobColumn.NAME:
                return job.name
            if column is JobColumn.ROUTE:
                return f"{job.source} → {job.target}.{job.table}"
            if column is JobColumn.MODE:
                return job.mode + (f" by {', '.join(job.keys)}" if job.keys else "")
            if column is JobColumn.INCREMENTAL:
                return incremental_text(job, self._marks.get(job.name))
            return count if role == SORT_ROLE else str(count)
        if role == Qt.ItemDataRole.ToolTipRole and column in (JobColumn.NAME, JobColumn.ROUTE):
            return job.query
        if role == Qt.ItemDataRole.ToolTipRole and column is JobColumn.INCREMENTAL and job.incremental_column:
            mark = self._marks.get(job.name)
            return (f"Each run reads the rows past the mark{' (upserted by the keys)' if job.keys else ''}"
                    + (f"; the mark is {mark}" if mark is not None else "; the next run reads every row"))
        return None


class SchedulesPage(QWidget):
    """Schedules and saved jobs: add, edit, pause/resume, run now, delete.

    Signals: ``schedules_changed()`` after any change; ``status_message(str)``.
    """

    schedules_changed = Signal()
    status_message = Signal(str)

    def __init__(self, context: AppContext, scheduler: SchedulerService | None,
                 parent: QWidget | None = None, runner: TaskRunner | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("schedulesPage")
        self._context = context
        self._scheduler = scheduler
        # Exporting asks both databases for the columns: off the GUI thread when a runner is given.
        self._runner = runner
        self._exporting = False
        self._paused = False
        self._model = SchedulesModel(self)
        self._proxy = QSortFilterProxyModel(self)
        self._proxy.setSourceModel(self._model)
        self._proxy.setSortRole(SORT_ROLE)
        self._jobs_model = JobsModel(self)
        self._jobs_proxy = QSortFilterProxyModel(self)
        self._jobs_proxy.setSourceModel(self._jobs_model)
        self._jobs_proxy.setSortRole(SORT_ROLE)
        self._build()
        self.refresh()

    # -- public -----------------------------------------------------------------------------

    @property
    def model(self) -> SchedulesModel:
        return self._model

    @property
    def jobs_model(self) -> JobsModel:
        return self._jobs_model

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def jobs_table(self) -> QTableView:
        return self._jobs_table

    @property
    def spark_button(self) -> QPushButton:
        return self._spark_button

    @property
    def state_label(self) -> QLabel:
        return self._state

    def refresh(self) -> None:
        now = datetime.now(timezone.utc)
        selected = self.selected_schedule()
        try:
            schedules = self._context.schedules.schedules()
            jobs = self._context.schedules.jobs()
        except (QdbmError, OSError) as exc:
            self._state.setText(f"The schedules cannot be read: {exc}")
            return
        self._model.reload(schedule_rows(schedules, now))
        counts = {job.name: 0 for job in jobs}
        for schedule in schedules:
            counts[schedule.job] = counts.get(schedule.job, 0) + 1
        marks: dict[str, Watermark] = {}
        for job in jobs:
            mark = self._context.schedules.watermark(job.name) if job.incremental_column else None
            if mark is not None:
                marks[job.name] = mark
        self._jobs_model.reload([(job, counts.get(job.name, 0)) for job in jobs], marks)
        if selected is not None:
            self.select_schedule(selected.id)
        for table in (self._table, self._jobs_table):
            table.resizeColumnsToContents()
            for column in range(table.model().columnCount() - 1):
                table.setColumnWidth(column, min(max(table.columnWidth(column) + 12, 90), 420))
        self._update_state()
        self._update_buttons()

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        self._update_state()

    def selected_schedule(self) -> Schedule | None:
        rows = self._table.selectionModel().selectedRows()
        return self._model.row_at(self._proxy.mapToSource(rows[0]).row()).schedule if rows else None

    def selected_job(self) -> Job | None:
        rows = self._jobs_table.selectionModel().selectedRows()
        return self._jobs_model.job_at(self._jobs_proxy.mapToSource(rows[0]).row()) if rows else None

    def select_schedule(self, schedule_id: str) -> bool:
        for row, item in enumerate(self._model.rows):
            if item.schedule.id == schedule_id:
                self._table.selectRow(self._proxy.mapFromSource(self._model.index(row, 0)).row())
                return True
        return False

    def select_job(self, name: str) -> bool:
        for row in range(self._jobs_model.rowCount()):
            if self._jobs_model.job_at(row).name == name:
                index = self._jobs_proxy.mapFromSource(self._jobs_model.index(row, 0))
                self._jobs_table.selectRow(index.row())
                return True
        return False

    def next_run_text(self) -> str:
        """For the status bar: when the next active schedule fires."""
        if self._scheduler is None:
            return "Schedules not running here" if self._context.schedules.schedules() else "No scheduled run"
        if self._paused:
            return "Schedules paused"
        upcoming = self._scheduler.next_run()
        if upcoming is None:
            return "No scheduled run"
        when, schedule = upcoming
        return f"Next run: {schedule.job} at {_local(when)}"

    def schedule_job(self, job_name: str) -> Schedule | None:
        """Ask when with the time picker and attach that trigger to ``job_name``."""
        from qdbm_desktop.gui.time_picker_dialog import TimePickerDialog

        dialog = TimePickerDialog(self, title=f"Schedule “{job_name}”")
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return self.add_schedule(job_name, dialog.trigger(), dialog.grace_seconds())

    def add_schedule(self, job_name: str, trigger: ScheduleTrigger,
                     grace_seconds: int = 0) -> Schedule | None:
        try:
            schedule = self._context.schedules.add_schedule(
                Schedule(id=new_schedule_id(), job=job_name, trigger=trigger, grace_seconds=grace_seconds))
        except (QdbmError, OSError) as exc:
            QMessageBox.warning(self, "Schedule", f"The schedule was not saved: {exc}")
            return None
        self._changed(f"Scheduled “{job_name}”: {trigger.describe()}")
        self.select_schedule(schedule.id)
        return schedule

    def edit_schedule(self) -> Schedule | None:
        from qdbm_desktop.gui.time_picker_dialog import TimePickerDialog

        schedule = self.selected_schedule()
        if schedule is None:
            return None
        dialog = TimePickerDialog(self, initial=schedule.trigger, grace_seconds=schedule.grace_seconds,
                                  title=f"Schedule “{schedule.job}”")
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return self.update_schedule(schedule.id, trigger=dialog.trigger(),
                                    grace_seconds=dialog.grace_seconds(), done=False,
                                    checked_until=datetime.now(timezone.utc).isoformat())

    def update_schedule(self, schedule_id: str, **changes: object) -> Schedule | None:
        try:
            schedule = self._context.schedules.update_schedule(schedule_id, **changes)
        except (QdbmError, OSError) as exc:
            QMessageBox.warning(self, "Schedule", f"The schedule was not changed: {exc}")
            return None
        self._changed(f"Schedule of “{schedule.job}”: {schedule.trigger.describe()}"
                      + ("" if schedule.enabled else " (paused)"))
        return schedule

    def toggle_selected(self) -> Schedule | None:
        """Pause a running schedule, or resume a paused one (its missed times are not run)."""
        schedule = self.selected_schedule()
        if schedule is None:
            return None
        changes: dict[str, object] = {"enabled": not schedule.enabled}
        if not schedule.enabled:
            # Fire times that passed while it was paused are not runs the user wanted.
            changes["checked_until"] = datetime.now(timezone.utc).isoformat()
        return self.update_schedule(schedule.id, **changes)

    def run_now(self) -> bool:
        schedule = self.selected_schedule()
        picked = self.selected_job()
        job = schedule.job if schedule else (picked.name if picked else None)
        if job is None or self._scheduler is None:
            return False
        self._scheduler.run_job_now(job, schedule_id=schedule.id if schedule else None)
        self.status_message.emit(f"Job “{job}” started")
        return True

    def delete_selected(self, confirm: bool = True) -> bool:
        schedule = self.selected_schedule()
        if schedule is None:
            return False
        if confirm and QMessageBox.question(
                self, "Delete schedule", f"Delete the schedule “{schedule.trigger.describe()}” of job "
                f"“{schedule.job}”? The job itself is kept.") != QMessageBox.StandardButton.Yes:
            return False
        try:
            self._context.schedules.remove_schedule(schedule.id)
        except (QdbmError, OSError) as exc:
            QMessageBox.warning(self, "Delete schedule", f"The schedule was not deleted: {exc}")
            return False
        self._changed(f"Schedule of “{schedule.job}” deleted")
        return True

    def reset_mark(self, value: str | None = None) -> bool:
        """Set the selected incremental job's mark to ``value`` (asked for when None; empty clears it)."""
        job = self.selected_job()
        if job is None or not job.incremental_column:
            return False
        try:
            current = self._context.schedules.watermark(job.name)
        except (QdbmError, OSError) as exc:
            QMessageBox.warning(self, "Reset mark", f"The mark cannot be read: {exc}")
            return False
        if value is None:
            value, accepted = QInputDialog.getText(
                self, "Reset mark", f"Mark of “{job.name}” on {job.incremental_column}; leave it empty for "
                "the next run to read every row:", text=current.text if current is not None else "")
            if not accepted:
                return False
        try:
            mark = Watermark.parse(value, current.type if current is not None else None) if value.strip() \
                else None
            self._context.schedules.set_watermark(job.name, mark)
        except (QdbmError, OSError) as exc:
            QMessageBox.warning(self, "Reset mark", f"The mark was not changed: {exc}")
            return False
        self.refresh()
        self.select_job(job.name)
        self.status_message.emit(f"Mark of “{job.name}” set to {mark.text}" if mark is not None
                                 else f"Mark of “{job.name}” cleared: the next run reads every row")
        return True

    def export_for_spark(self, path: str | None = None) -> bool:
        """Write the selected job as a PySpark script (asking where when ``path`` is None).

        True when the export started (with a runner it finishes in the background and says so
        in ``status_message``; a failure is shown in a message box).
        """
        job = self.selected_job()
        if job is None or self._exporting:
            return False
        if path is None:
            suggested = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in job.name) + "_spark.py"
            path, _filter = QFileDialog.getSaveFileName(self, "Export for Spark", suggested,
                                                        "Python files (*.py)")
            if not path:
                return False
        if not path.lower().endswith(".py"):
            path += ".py"
        context = self._context
        mark = None
        try:
            mark = context.schedules.watermark(job.name) if job.incremental_column else None
        except (QdbmError, OSError) as exc:
            QMessageBox.warning(self, "Export for Spark", f"The job's mark cannot be read: {exc}")
            return False
        settings = context.settings.get()
        variables = " and ".join(sorted({password_variable(job.source), password_variable(job.target)}))

        def export(_report: object, _cancel: object) -> str:
            return str(export_spark_job(job, context.connections, settings, path, mark))

        def succeeded(written: object) -> None:
            self._exporting = False
            self._update_buttons()
            self.status_message.emit(f"Job “{job.name}” exported for Spark to {written}; set {variables} "
                                     "and run it with spark-submit")

        def failed(message: str) -> None:
            self._exporting = False
            self._update_buttons()
            QMessageBox.warning(self, "Export for Spark", f"The job was not exported: {message}")

        self._exporting = True
        self._update_buttons()
        if self._runner is not None:
            self._runner.start(f"Export {job.name} for Spark", export, on_success=succeeded,
                               on_failure=failed)
            return True
        try:
            written = export(None, None)
        except QdbmError as exc:
            failed(str(exc))
            return False
        succeeded(written)
        return True

    def delete_selected_job(self, confirm: bool = True) -> bool:
        job = self.selected_job()
        if job is None:
            return False
        count = sum(1 for s in self._context.schedules.schedules() if s.job == job.name)
        extra = f" Its {count} schedule{'s' if count != 1 else ''} go with it." if count else ""
        if confirm and QMessageBox.question(self, "Delete job", f"Delete the job “{job.name}”?{extra}"
                                            ) != QMessageBox.StandardButton.Yes:
            return False
        try:
            self._context.schedules.remove_job(job.name)
        except (QdbmError, OSError) as exc:
            QMessageBox.warning(self, "Delete job", f"The job was not deleted: {exc}")
            return False
        self._changed(f"Job “{job.name}” deleted")
        return True

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setChildrenCollapsible(False)
        top = self._build_schedules_pane(splitter)
        bottom = self._build_jobs_pane(splitter)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)
        self._table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self._jobs_table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())

    def _build_schedules_pane(self, splitter: QSplitter) -> QWidget:
        """The schedules, the scheduler's state and the schedule buttons."""
        top = QWidget(splitter)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        self._table = self._make_table(top, "schedulesTable", "Schedules", self._proxy)
        self._table.sortByColumn(ScheduleColumn.NEXT, Qt.SortOrder.AscendingOrder)
        self._table.doubleClicked.connect(lambda _index: self.edit_schedule())
        top_layout.addWidget(self._table, 1)
        buttons = QHBoxLayout()
        self._state = QLabel(top)
        self._state.setObjectName("schedulerState")
        self._state.setWordWrap(True)
        buttons.addWidget(self._state, 1)
        self._edit_button = self._button(top, "&Edit…", "Change when this schedule runs",
                                         self.edit_schedule)
        self._toggle_button = self._button(top, "&Pause", "Stop this schedule until resumed",
                                           self.toggle_selected)
        self._run_button = self._button(top, "&Run now", "Run the job now, whatever its schedule",
                                        self.run_now)
        self._delete_button = self._button(top, "&Delete…", "Delete this schedule (the job is kept)",
                                           self.delete_selected)
        for button in (self._edit_button, self._toggle_button, self._run_button, self._delete_button):
            buttons.addWidget(button)
        top_layout.addLayout(buttons)
        return top

    def _build_jobs_pane(self, splitter: QSplitter) -> QWidget:
        """The saved jobs and their buttons."""
        bottom = QWidget(splitter)
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 6, 0, 0)
        heading = QLabel("<b>Saved jobs</b> (save one from the Migrate page)", bottom)
        bottom_layout.addWidget(heading)
        self._jobs_table = self._make_table(bottom, "jobsTable", "Saved jobs", self._jobs_proxy)
        self._jobs_table.sortByColumn(JobColumn.NAME, Qt.SortOrder.AscendingOrder)
        bottom_layout.addWidget(self._jobs_table, 1)
        job_buttons = QHBoxLayout()
        job_buttons.addStretch(1)
        self._schedule_job_button = self._button(bottom, "&Schedule…", "Add a schedule to this job",
                                                 self._on_schedule_job_clicked)
        self._run_job_button = self._button(bottom, "Run &job now", "Run this job now",
                                            self._on_run_job_clicked)
        self._delete_job_button = self._button(bottom, "Delete jo&b…", "Delete this job and its schedules",
                                               self.delete_selected_job)
        self._reset_mark_button = self._button(bottom, "Reset &mark…", "Set or clear the mark of this "
                                               "incremental job (cleared: the next run reads every row)",
                                               self.reset_mark)
        self._spark_button = self._button(bottom, "Export for S&park…", "Write this job as a PySpark "
                                          "script that runs it on a Spark cluster (no password in the file)",
                                          self.export_for_spark)
        self._spark_button.setObjectName("exportSparkButton")
        for button in (self._schedule_job_button, self._run_job_button, self._reset_mark_button,
                       self._spark_button, self._delete_job_button):
            job_buttons.addWidget(button)
        bottom_layout.addLayout(job_buttons)
        return bottom

    @staticmethod
    def _make_table(parent: QWidget, name: str, accessible: str, model: QSortFilterProxyModel) -> QTableView:
        table = QTableView(parent)
        table.setObjectName(name)
        table.setAccessibleName(accessible)
        table.setModel(model)
        table.setSortingEnabled(True)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.verticalHeader().setVisible(False)
        header = table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setDefaultSectionSize(170)
        return table

    @staticmethod
    def _button(parent: QWidget, text: str, tip: str, slot: object) -> QPushButton:
        button = QPushButton(text, parent)
        button.setToolTip(tip)
        button.clicked.connect(lambda _checked=False: slot())  # type: ignore[operator]
        return button

    def _update_state(self) -> None:
        if self._scheduler is None:
            self._state.setText("Schedules are not run by this window (another QDBM process runs them, or "
                                "scheduling could not start: see the notice above).")
        elif self._paused:
            self._state.setText("All schedules are paused (tray menu: Resume).")
        else:
            active = sum(1 for row in self._model.rows if row.schedule.active)
            self._state.setText(f"{active} active schedule{'s' if active != 1 else ''}; they run while "
                                "QDBM Desktop is running, in the tray too.")

    def _update_buttons(self) -> None:
        schedule = self.selected_schedule()
        has_schedule = schedule is not None
        self._edit_button.setEnabled(has_schedule)
        self._toggle_button.setEnabled(has_schedule)
        self._delete_button.setEnabled(has_schedule)
        self._run_button.setEnabled(has_schedule and self._scheduler is not None)
        self._toggle_button.setText("&Resume" if schedule is not None and not schedule.enabled else "&Pause")
        job = self.selected_job()
        has_job = job is not None
        self._reset_mark_button.setEnabled(job is not None and bool(job.incremental_column))
        self._schedule_job_button.setEnabled(has_job)
        self._spark_button.setEnabled(has_job and not self._exporting)
        self._delete_job_button.setEnabled(has_job)
        self._run_job_button.setEnabled(has_job and self._scheduler is not None)

    def _changed(self, message: str) -> None:
        if self._scheduler is not None:
            self._scheduler.reload()
        self.refresh()
        self.status_message.emit(message)
        self.schedules_changed.emit()

    def _on_schedule_job_clicked(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.schedule_job(job.name)

    def _on_run_job_clicked(self) -> None:
        job = self.selected_job()
        if job is not None and self._scheduler is not None:
            self._scheduler.run_job_now(job.name)
            self.status_message.emit(f"Job “{job.name}” started")
