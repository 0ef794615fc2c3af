"""Running and finished migrations: one card each, with progress, rates, ETA, the live log and Cancel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from html import escape

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.history import RunTrigger
from qdbm_desktop.core.migration import LogEntry, MigrationResult, Progress, Stage, Status
from qdbm_desktop.core.scheduler import ScheduledRun
from qdbm_desktop.gui.workers import BackgroundTask, TaskFunction, TaskReport, TaskRunner

_STAGE_TEXT = {
    Stage.CONNECT: "connecting",
    Stage.WAIT: "waiting for another run into this table",
    Stage.READ: "reading",
    Stage.CREATE: "preparing the staging table",
    Stage.LOAD: "loading",
    Stage.VERIFY: "verifying",
    Stage.FINALIZE: "moving the rows into the target",
    Stage.DONE: "done",
}


_TRIGGER_TEXT = {
    RunTrigger.SCHEDULE: "scheduled",
    RunTrigger.MISSED_RUN: "missed run",
    RunTrigger.MANUAL: "run now",
}


def duration_text(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def job_run_title(run: ScheduledRun) -> str:
    """A saved job's card title: the job, why it runs, and where from and to."""
    job = run.definition
    why = _TRIGGER_TEXT.get(run.trigger, run.trigger.value)
    if job is None:
        return f"Job {run.job} ({why})"
    return f"Job {run.job} ({why}): {job.source} → {job.target}.{job.table}"


def summary_text(result: MigrationResult, table: str) -> str:
    """One line a user reads at a glance when a run ends."""
    if result.status is Status.SUCCEEDED:
        return (f"Succeeded: {result.rows_written:,} rows into {table} in {result.seconds:.1f} s "
                f"({result.rows_per_second:,.0f} rows/s)")
    if result.status is Status.CANCELLED:
        return f"Cancelled after {result.seconds:.1f} s: {table} is unchanged"
    return f"Failed: {result.error or 'unknown error'}"


class RunCard(QFrame):
    """One migration: its progress while it runs, its summary once it ends.

    Signals: ``cancel_requested()`` when Cancel is clicked; ``dismissed()`` when a finished card is closed.
    """

    cancel_requested = Signal()
    dismissed = Signal()

    def __init__(self, title: str, table: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._table = table
        self._title_text = title
        self._started = time.monotonic()
        self._last: Progress | None = None
        self._result: MigrationResult | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        header = QHBoxLayout()
        self._title = QLabel(f"<b>{escape(title)}</b>", self)
        self._title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        header.addWidget(self._title, 1)
        self._state = QLabel("starting", self)
        self._state.setObjectName("runState")
        header.addWidget(self._state)
        self._cancel = QPushButton("Cancel", self)
        self._cancel.setObjectName("cancelRun")
        self._cancel.setToolTip("Stop this run; the target stays exactly as it was")
        self._cancel.clicked.connect(self._on_cancel_clicked)
        header.addWidget(self._cancel)
        self._close = QToolButton(self)
        self._close.setText("✕")
        self._close.setToolTip("Remove this finished run from the list (it stays in History)")
        self._close.setAutoRaise(True)
        self._close.hide()
        self._close.clicked.connect(self.dismissed.emit)
        header.addWidget(self._close)
        layout.addLayout(header)

        self._bar = QProgressBar(self)
        self._bar.setRange(0, 0)  # busy until a total is known
        self._bar.setTextVisible(True)
        layout.addWidget(self._bar)
        self._stats = QLabel(self)
        self._stats.setObjectName("runStats")
        layout.addWidget(self._stats)

        log_header = QHBoxLayout()
        self._log_toggle = QToolButton(self)
        self._log_toggle.setText("Log")
        self._log_toggle.setCheckable(True)
        self._log_toggle.setChecked(True)
        self._log_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._log_toggle.setArrowType(Qt.ArrowType.DownArrow)
        self._log_toggle.toggled.connect(self._on_log_toggle_toggled)
        log_header.addWidget(self._log_toggle)
        log_header.addStretch(1)
        layout.addLayout(log_header)
        self._log = QPlainTextEdit(self)
        self._log.setObjectName("runLog")
        self._log.setReadOnly(True)
        self._log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._log.setMaximumHeight(140)
        # Long lines (an error naming a column and a row, a path) wrap rather than hide behind a
        # horizontal scroll bar; a word longer than the card is broken wherever it must be.
        self._log.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self._log.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.addWidget(self._log)

        # Elapsed time moves on between progress reports (a slow first batch, say).
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._refresh_stats)
        self._clock.start()
        self._refresh_stats()

    # -- public -----------------------------------------------------------------------------

    @property
    def title(self) -> str:
        return self._title_text

    @property
    def finished(self) -> bool:
        return self._result is not None

    @property
    def result(self) -> MigrationResult | None:
        return self._result

    @property
    def progress_bar(self) -> QProgressBar:
        return self._bar

    @property
    def cancel_button(self) -> QPushButton:
        return self._cancel

    @property
    def state_text(self) -> str:
        return self._state.text()

    @property
    def stats_text(self) -> str:
        return self._stats.text()

    @property
    def log_text(self) -> str:
        return self._log.toPlainText()

    @property
    def log_view(self) -> QPlainTextEdit:
        return self._log

    def show_progress(self, progress: Progress) -> None:
        if self._result is not None:
            return
        self._last = progress
        self._state.setText(_STAGE_TEXT.get(progress.stage, progress.stage.value))
        if progress.total:
            self._bar.setRange(0, 1000)
            self._bar.setValue(min(1000, int(1000 * progress.rows_written / progress.total)))
            self._bar.setFormat(f"{progress.rows_written:,} of {progress.total:,} rows (%p%)")
        else:
            self._bar.setRange(0, 0)
        self._refresh_stats()

    def add_log(self, entry: LogEntry) -> None:
        stamp = entry.at[11:19] if len(entry.at) >= 19 else entry.at
        level = "" if entry.level == "info" else f"{entry.level.upper()}: "
        self._log.appendPlainText(f"{stamp} {level}{entry.message}")

    def show_result(self, result: MigrationResult) -> None:
        self._result = result
        self._clock.stop()
        self._cancel.hide()
        self._close.show()
        self._show_final_bar(result)
        self._state.setText(result.status.value)
        self._stats.setText(summary_text(result, self._table))
        self._stats.setWordWrap(True)
        self._stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def show_failure(self, message: str) -> None:
        """The run could not even start (a bad request): say why, as a finished card."""
        self.show_result(MigrationResult(run_id="", status=Status.FAILED, error=message,
                                         seconds=time.monotonic() - self._started))

    # -- private ----------------------------------------------------------------------------

    def _show_final_bar(self, result: MigrationResult) -> None:
        if result.status is Status.SUCCEEDED:
            self._bar.setRange(0, 1000)
            self._bar.setValue(1000)
            self._bar.setFormat(f"{result.rows_written:,} rows")
            return
        # A cancelled or failed run keeps showing how far it got (nothing of it was committed).
        word = "Cancelled" if result.status is Status.CANCELLED else "Failed"
        last = self._last
        written = last.rows_written if last is not None else 0
        if last is not None and last.total:
            self._bar.setRange(0, 1000)
            self._bar.setValue(min(1000, int(1000 * written / last.total)))
            self._bar.setFormat(f"{word} at {written:,} of {last.total:,} rows (%p%)")
        else:
            # No total: a full bar would claim the end was reached, an empty one that nothing ran.
            self._bar.setRange(0, 1)
            self._bar.setValue(0)
            self._bar.setFormat(f"{word} after {written:,} rows" if written else word)

    def _refresh_stats(self) -> None:
        if self._result is not None:
            return
        progress = self._last
        elapsed = progress.elapsed if progress else time.monotonic() - self._started
        if progress is None:
            self._stats.setText(f"elapsed {duration_text(elapsed)}")
            return
        parts = [f"read {progress.rows_read:,}", f"written {progress.rows_written:,}",
                 f"{progress.rows_per_second:,.0f} rows/s", f"elapsed {duration_text(elapsed)}"]
        if progress.eta is not None:
            parts.append(f"ETA {duration_text(progress.eta)}")
        self._stats.setText(" · ".join(parts))

    def _on_cancel_clicked(self) -> None:
        self._cancel.setEnabled(False)
        self._cancel.setText("Cancelling…")
        self.cancel_requested.emit()

    def _on_log_toggle_toggled(self, checked: bool) -> None:
        self._log.setVisible(checked)
        self._log_toggle.setArrowType(Qt.ArrowType.DownArrow if checked else Qt.ArrowType.RightArrow)


class RunPanel(QScrollArea):
    """The cards of this session's runs, newest on top: those of the Migrate page and the saved
    jobs' (a schedule's fire, Run now, the tray's menu) alike.

    Signals: ``running_count_changed(int)`` the number of runs going on.
    """

    running_count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget(self)
        self._layout = QVBoxLayout(inner)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._empty = QLabel("No migration has run in this session. Runs of earlier sessions are in History.",
                             inner)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._empty.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)
        self.setWidget(inner)
        self._cards: list[RunCard] = []
        self._running: dict[RunCard, BackgroundTask] = {}

    @property
    def cards(self) -> list[RunCard]:
        return list(self._cards)

    @property
    def running_count(self) -> int:
        return len(self._running)

    def start_run(self, runner: TaskRunner, title: str, table: str, work: TaskFunction[MigrationResult], *,
                  cancel_event: threading.Event | None = None,
                  on_finished: Callable[[MigrationResult], None] | None = None) -> RunCard:
        """Run ``work`` on ``runner`` with a new card showing its progress and log, with Cancel.

        ``cancel_event``: the event Cancel sets and ``work`` is given. ``on_finished(result)`` is
        called once the card shows how the run ended (a run that could not start as a failed one).
        """
        card = self.add_card(title, table)

        def ended(show: Callable[[], None]) -> None:
            if self._running.pop(card, None) is None:
                return
            show()
            self.running_count_changed.emit(len(self._running))
            if on_finished is not None and card.result is not None:
                on_finished(card.result)

        task = runner.start(
            f"Migration {title}", work,
            on_success=lambda result: ended(lambda: card.show_result(result)),
            on_failure=lambda message: ended(lambda: card.show_failure(message)),
            on_progress=card.show_progress, on_log=card.add_log, cancel_event=cancel_event)
        card.cancel_requested.connect(task.cancel)
        self._running[card] = task
        self.running_count_changed.emit(len(self._running))
        return card

    def start_job_run(self, runner: TaskRunner, run: ScheduledRun) -> RunCard | None:
        """Run a saved job's run that the scheduler handed over, with a card (its Cancel cancels
        the run); None when the run was given up before it could start."""
        if not run.pending:
            return None

        def work(report: TaskReport, _cancel: threading.Event) -> MigrationResult:
            result = run.run(report.progress, report.log)
            if result is None:
                raise QdbmError(run.error or f"job {run.job!r} did not run")
            return result

        table = run.definition.table if run.definition is not None else ""
        return self.start_run(runner, job_run_title(run), table, work, cancel_event=run.cancel_event)

    def cancel_all(self) -> None:
        """Cancel every run going on (on quit): each stops between batches, its target unchanged."""
        for task in self._running.values():
            task.cancel()

    def add_card(self, title: str, table: str) -> RunCard:
        card = RunCard(title, table, self.widget())
        card.dismissed.connect(lambda: self._remove(card))
        self._cards.insert(0, card)
        self._layout.insertWidget(0, card)
        self._empty.hide()
        self.verticalScrollBar().setValue(0)
        return card

    def _remove(self, card: RunCard) -> None:
        if card in self._cards:
            self._cards.remove(card)
        card.hide()
        card.deleteLater()
        self._empty.setVisible(not self._cards)
