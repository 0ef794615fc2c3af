"""The Migrate page's "Copy tables…": list the source's tables (on a pool thread), ask which to
copy, then run them as one many-tables job with a card in the Runs tab."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from qdbm_desktop.core import browse
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects.catalog import Relation
from qdbm_desktop.core.errors import QdbmError, UsageError
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.migration import Endpoint, MigrationResult
from qdbm_desktop.core.table_copy import TableCopy, copy_job, run_copy
from qdbm_desktop.gui.copy_tables_dialog import SAVE_AS_JOB, CopyTablesDialog
from qdbm_desktop.gui.run_panel import RunCard, RunPanel
from qdbm_desktop.gui.workers import TaskReport, TaskRunner


class CopyTablesFlow(QObject):
    """Signals: ``message(str, bool error)`` for the page's message line; ``started(str title)``
    when a copy's run begins; ``finished(object MigrationResult)`` when it ends; ``job_saved(str)``;
    ``dialog_opened(object dialog)`` once the checklist is shown."""

    message = Signal(str, bool)
    started = Signal(str)
    finished = Signal(object)
    job_saved = Signal(str)
    dialog_opened = Signal(object)

    def __init__(self, context: AppContext, runner: TaskRunner, run_panel: RunPanel, page: QWidget) -> None:
        super().__init__(page)
        self._context = context
        self._runner = runner
        self._run_panel = run_panel
        self._page = page
        self._generation = 0
        self._dialog: CopyTablesDialog | None = None

    @property
    def dialog(self) -> CopyTablesDialog | None:
        """The checklist while it is open."""
        return self._dialog

    def cancel(self) -> None:
        self._generation += 1

    def open(self, source: str, target: str, endpoint: Endpoint | None, current: Relation | None) -> None:
        if endpoint is None:
            self.message.emit(f"The connection {source!r} cannot be opened: Preview says why.", True)
            return
        self._generation += 1
        generation = self._generation
        self.message.emit("Reading the source's tables…", False)

        def listed(relations: list[Relation]) -> None:
            if generation != self._generation:
                return
            self.message.emit("", False)
            if not relations:
                self.message.emit(f"{source} holds no table to copy.", True)
                return
            checked = [current.name] if current is not None else []
            dialog = CopyTablesDialog(source, target, relations, checked=checked, parent=self._page,
                                      default_schema=browse.default_schema(endpoint))
            self._dialog = dialog
            dialog.finished.connect(lambda result: self._on_dialog_finished(dialog, source, target, result))
            dialog.open()
            self.dialog_opened.emit(dialog)

        self._runner.start("Table list", lambda report, cancel: browse.all_relations(endpoint),
                           on_success=listed,
                           on_failure=lambda text: self.message.emit(f"Cannot list the tables: {text}", True))

    def _on_dialog_finished(self, dialog: CopyTablesDialog, source: str, target: str, result: int) -> None:
        self._dialog = None
        dialog.deleteLater()
        if result == CopyTablesDialog.DialogCode.Accepted:
            self.start(source, target, dialog.selection(), constraints=dialog.constraints,
                       continue_on_error=dialog.continue_on_error)
        elif result == SAVE_AS_JOB:
            self.save(dialog.job_name, source, target, dialog.selection(), constraints=dialog.constraints,
                      continue_on_error=dialog.continue_on_error)

    def save(self, name: str, source: str, target: str, copies: list[TableCopy], *, constraints: bool = True,
             continue_on_error: bool = False) -> Job | None:
        """Save the copy as a many-tables job named ``name`` (refused when one of that name exists)."""
        store = self._context.schedules
        try:
            job = copy_job(source, target, copies, name=name, constraints=constraints,
                           continue_on_error=continue_on_error)
            if store.find_job(job.name) is not None:
                raise UsageError(f"a job named {job.name!r} exists already; choose another name")
            saved = store.save_job(job)
        except (QdbmError, OSError) as exc:
            self.message.emit(f"The job was not saved: {exc}", True)
            return None
        self.message.emit(f"Saved as job “{saved.name}”: {len(copies)} tables.", False)
        self.job_saved.emit(saved.name)
        return saved

    def start(self, source: str, target: str, copies: list[TableCopy], *, constraints: bool = True,
              continue_on_error: bool = False) -> RunCard | None:
        """Run the copy of ``copies`` as one many-tables job; its card, or None after saying why not."""
        try:
            job = copy_job(source, target, copies, constraints=constraints,
                           continue_on_error=continue_on_error)
            settings = self._context.settings.get()
        except QdbmError as exc:
            self.message.emit(f"Cannot copy the tables: {exc}", True)
            return None
        context = self._context

        def work(report: TaskReport, cancel: threading.Event) -> MigrationResult:
            return run_copy(job, context.connections, settings, context.history, on_progress=report.progress,
                            on_log=report.log, cancel=cancel, work_dir=context.paths.runs_dir)

        count = len(copies)
        title = f"{source} → {target}: {count} table{'s' if count != 1 else ''}"
        card = self._run_panel.start_run(self._runner, title, f"{count} tables", work,
                                         on_finished=self.finished.emit)
        self.started.emit(title)
        return card
