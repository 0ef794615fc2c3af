"""The History page: every run with filters, its full log, Run again, CSV export and clearing."""

from __future__ import annotations

import csv
import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path

from PySide6.QtCore import QDate, QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
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
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.history import HistoryFilter, RunRecord, RunStatus
from qdbm_desktop.gui.history_compare import CompareAction
from qdbm_desktop.gui.history_model import Column, HistoryModel, HistoryProxyModel, cell_text

log = logging.getLogger(__name__)

#: The page shows at most this many runs; the filters narrow to older ones.
DISPLAY_LIMIT = 5000
_FILTER_DELAY_MS = 250
CONNECTION_COMBO_CHARS = 18


def write_csv(path: Path, records: list[RunRecord]) -> None:
    """The runs as CSV (UTF-8 with a BOM, so spreadsheet programs read the accents right)."""
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "run_id", "started", "finished", "status", "job", "source", "target", "table",
                         "mode", "trigger", "rows_read", "rows_written", "seconds", "query", "error"])
        for r in records:
            finished = r.finished.isoformat() if r.finished else ""
            writer.writerow([r.id, r.run_id, r.started.isoformat(), finished,
                             r.status.value, r.job or "", r.source, r.target, r.target_table, r.mode,
                             r.trigger.value, r.rows_read, r.rows_written,
                             f"{r.seconds:.3f}" if r.seconds is not None else "", r.query, r.error or ""])


class ClearHistoryDialog(QDialog):
    """Asks what to clear: every finished run, or only those older than N days.

    Signals: those of QDialog.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Clear history")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Remove finished runs and their logs from the history.\n"
                                "Running migrations are kept. This cannot be undone.", self))
        form = QFormLayout()
        self.older_check = QCheckBox("Only runs older than", self)
        self.days_spin = QSpinBox(self)
        self.days_spin.setRange(1, 36500)
        self.days_spin.setValue(30)
        self.days_spin.setSuffix(" days")
        self.days_spin.setEnabled(False)
        self.older_check.toggled.connect(self.days_spin.setEnabled)
        form.addRow(self.older_check, self.days_spin)
        layout.addLayout(form)
        buttons = QDialogButtonBox(self)
        self.clear_button = buttons.addButton("Clear", QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.clear_button.clicked.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def older_than_days(self) -> int | None:
        return self.days_spin.value() if self.older_check.isChecked() else None


class HistoryPage(QWidget):
    """The runs of every origin (this window, the command line, the scheduler).

    Signals: ``run_again_requested(object)`` with the ``RunRecord`` to load into the Migrate page;
    ``status_message(str)``.
    """

    run_again_requested = Signal(object)
    status_message = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyPage")
        self._context = context
        self._model = HistoryModel(self)
        self._proxy = HistoryProxyModel(self)
        self._proxy.setSourceModel(self._model)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(_FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.refresh)
        self._build()
        self.refresh()

    # -- public -----------------------------------------------------------------------------

    @property
    def model(self) -> HistoryModel:
        return self._model

    @property
    def proxy(self) -> HistoryProxyModel:
        return self._proxy

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def status_combo(self) -> QComboBox:
        return self._status_combo

    @property
    def connection_combo(self) -> QComboBox:
        return self._connection_combo

    @property
    def text_edit(self) -> QLineEdit:
        return self._text_edit

    @property
    def date_check(self) -> QCheckBox:
        return self._date_check

    @property
    def from_date(self) -> QDateEdit:
        return self._from_date

    @property
    def to_date(self) -> QDateEdit:
        return self._to_date

    @property
    def detail(self) -> QPlainTextEdit:
        return self._detail

    @property
    def run_again_button(self) -> QPushButton:
        return self._run_again_button

    @property
    def count_label(self) -> QLabel:
        return self._count_label

    def current_filter(self) -> HistoryFilter:
        status = self._status_combo.currentData()
        since = until = None
        if self._date_check.isChecked():
            first: date = self._from_date.date().toPython()  # type: ignore[assignment]
            last: date = self._to_date.date().toPython()  # type: ignore[assignment]
            since = datetime.combine(first, time.min).astimezone()
            until = datetime.combine(last, time.min).astimezone() + timedelta(days=1)
        return HistoryFilter(
            statuses=(RunStatus(status),) if status else (),
            connection=self._connection_combo.currentData() or None,
            since=since,
            until=until,
            text=self._text_edit.text().strip() or None,
            limit=DISPLAY_LIMIT,
        )

    def refresh(self) -> None:
        """Read the runs again with the current filters, keeping the selected run selected."""
        selected = self.selected_record()
        history = self._context.history
        try:
            history.mark_interrupted()
            records = history.runs(self.current_filter())
            names = history.connections()
        except (QdbmError, OSError) as exc:
            self._count_label.setText(f"The history cannot be read: {exc}")
            return
        self._fill_connections(names)
        self._model.reload(records)
        shown = len(records)
        more = " (the newest; narrow the filters for older runs)" if shown >= DISPLAY_LIMIT else ""
        self._count_label.setText(f"{shown:,} run{'s' if shown != 1 else ''}{more}")
        if selected is not None:
            for row, record in enumerate(records):
                if record.id == selected.id:
                    self._table.selectRow(self._proxy.mapFromSource(self._model.index(row, 0)).row())
                    break
        self._show_detail()

    def selected_record(self) -> RunRecord | None:
        rows = self._table.selectionModel().selectedRows() if self._table.selectionModel() else []
        if not rows:
            return None
        return self._model.row_at(self._proxy.mapToSource(rows[0]).row())

    def select_run(self, run_id: str) -> bool:
        """Select the run with this id when it is in the list."""
        for row, record in enumerate(self._model.rows):
            if record.run_id == run_id:
                self._table.selectRow(self._proxy.mapFromSource(self._model.index(row, 0)).row())
                return True
        return False

    def export_csv(self, path: Path | None = None) -> Path | None:
        """Write the listed runs to ``path`` (asked for when not given); the path written, or None."""
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Export history", "qdbm-history.csv",
                                                    "CSV files (*.csv)")
            if not chosen:
                return None
            path = Path(chosen)
        try:
            write_csv(path, self._model.rows)
        except OSError as exc:
            QMessageBox.warning(self, "Export history", f"The file cannot be written: {exc}")
            return None
        self.status_message.emit(f"{len(self._model.rows):,} runs exported to {path}")
        return path

    def clear(self, older_than_days: int | None = None, confirm: bool = True) -> int:
        """Remove finished runs (optionally only older ones), after asking; how many went."""
        if confirm:
            dialog = ClearHistoryDialog(self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return 0
            older_than_days = dialog.older_than_days()
        cutoff = None
        if older_than_days is not None:
            cutoff = datetime.now().astimezone() - timedelta(days=older_than_days)
        try:
            removed = self._context.history.delete(cutoff)
        except (QdbmError, OSError) as exc:
            QMessageBox.warning(self, "Clear history", f"The history cannot be changed: {exc}")
            return 0
        self.refresh()
        self.status_message.emit(f"{removed:,} runs removed from the history")
        return removed

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._build_filters())
        layout.addLayout(self._build_date_range())
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setChildrenCollapsible(False)
        self._build_table(splitter)
        self._build_detail(splitter)
        splitter.addWidget(self._table)
        splitter.addWidget(self._detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)
        layout.addLayout(self._build_buttons())

    def _build_filters(self) -> QHBoxLayout:
        """Status, connection and text filters."""
        filters = QHBoxLayout()
        self._status_combo = QComboBox(self)
        self._status_combo.setObjectName("historyStatus")
        self._status_combo.setAccessibleName("Status filter")
        self._status_combo.addItem("Any status", None)
        for status in RunStatus:
            self._status_combo.addItem(status.value, status.value)
        self._status_combo.currentIndexChanged.connect(self._filter_timer.start)
        filters.addWidget(QLabel("Status", self))
        filters.addWidget(self._status_combo)
        self._connection_combo = QComboBox(self)
        self._connection_combo.setObjectName("historyConnection")
        self._connection_combo.setAccessibleName("Connection filter")
        self._connection_combo.setMinimumWidth(120)
        # Sized for a typical name, not the longest one, so a long name never pushes the filter
        # row wider than a small window; the list itself shows names whole.
        self._connection_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._connection_combo.setMinimumContentsLength(CONNECTION_COMBO_CHARS)
        self._connection_combo.addItem("Any connection", None)
        self._connection_combo.currentIndexChanged.connect(self._filter_timer.start)
        filters.addWidget(QLabel("Connection", self))
        filters.addWidget(self._connection_combo)
        self._text_edit = QLineEdit(self)
        self._text_edit.setObjectName("historyText")
        self._text_edit.setPlaceholderText("Text in the query, table or job…")
        self._text_edit.setClearButtonEnabled(True)
        self._text_edit.setAccessibleName("Text filter")
        self._text_edit.textChanged.connect(self._filter_timer.start)
        filters.addWidget(QLabel("Text", self))
        filters.addWidget(self._text_edit, 1)
        return filters

    def _build_date_range(self) -> QHBoxLayout:
        dates = QHBoxLayout()
        self._date_check = QCheckBox("From", self)
        self._date_check.setObjectName("historyDateRange")
        self._date_check.toggled.connect(self._on_date_check_toggled)
        dates.addWidget(self._date_check)
        today = QDate.currentDate()
        self._from_date = QDateEdit(today.addDays(-7), self)
        self._to_date = QDateEdit(today, self)
        for edit in (self._from_date, self._to_date):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
            edit.dateChanged.connect(self._filter_timer.start)
        dates.addWidget(self._from_date)
        dates.addWidget(QLabel("to", self))
        dates.addWidget(self._to_date)
        dates.addStretch(1)
        return dates

    def _build_table(self, splitter: QSplitter) -> None:
        self._table = QTableView(splitter)
        self._table.setObjectName("historyTable")
        self._table.setAccessibleName("Runs")
        self._table.setModel(self._proxy)
        self._table.setSortingEnabled(True)
        self._table.sortByColumn(Column.STARTED, Qt.SortOrder.DescendingOrder)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.setAlternatingRowColors(True)
        self._table.setWordWrap(False)
        self._table.verticalHeader().setVisible(False)
        header = self._table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        widths = {Column.STARTED: 150, Column.STATUS: 90, Column.JOB: 110, Column.SOURCE: 150,
                  Column.TARGET: 150, Column.TABLE: 150, Column.ROWS: 90, Column.SECONDS: 70,
                  Column.RATE: 90, Column.TRIGGER: 80}
        for column, width in widths.items():
            self._table.setColumnWidth(column, width)
        self._table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self._table.doubleClicked.connect(lambda _index: self._on_run_again_clicked())

    def _build_detail(self, splitter: QSplitter) -> None:
        """The selected run's query and log."""
        self._detail = QPlainTextEdit(splitter)
        self._detail.setObjectName("historyDetail")
        self._detail.setReadOnly(True)
        self._detail.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._detail.setPlaceholderText("Select a run to see its query and its full log.")

    def _build_buttons(self) -> QHBoxLayout:
        buttons = QHBoxLayout()
        self._count_label = QLabel(self)
        self._count_label.setObjectName("historyCount")
        buttons.addWidget(self._count_label, 1)
        refresh = QPushButton("&Refresh", self)
        refresh.clicked.connect(self.refresh)
        buttons.addWidget(refresh)
        self._run_again_button = QPushButton("Run &again…", self)
        self._run_again_button.setObjectName("runAgainButton")
        self._run_again_button.setToolTip("Open this run's query and destination on the Migrate page")
        self._run_again_button.setEnabled(False)
        self._run_again_button.clicked.connect(self._on_run_again_clicked)
        buttons.addWidget(self._run_again_button)
        self._compare = CompareAction(self._context, self.selected_record, self._show_comparison, self)
        buttons.addWidget(self._compare.button)
        export = QPushButton("&Export CSV…", self)
        export.setToolTip("Write the runs listed (with the filters applied) to a CSV file")
        export.clicked.connect(lambda: self.export_csv())
        buttons.addWidget(export)
        clear = QPushButton("C&lear…", self)
        clear.setObjectName("clearHistoryButton")
        clear.clicked.connect(lambda: self.clear())
        buttons.addWidget(clear)
        return buttons

    def _fill_connections(self, names: list[str]) -> None:
        current = self._connection_combo.currentData()
        present = [self._connection_combo.itemData(i) for i in range(1, self._connection_combo.count())]
        if present == names:
            return
        self._connection_combo.blockSignals(True)
        self._connection_combo.clear()
        self._connection_combo.addItem("Any connection", None)
        for name in names:
            self._connection_combo.addItem(name, name)
        index = self._connection_combo.findData(current)
        self._connection_combo.setCurrentIndex(max(0, index))
        self._connection_combo.blockSignals(False)

    def _show_detail(self) -> None:
        record = self.selected_record()
        self._run_again_button.setEnabled(record is not None)
        self._compare.update(record)
        if record is None:
            self._detail.clear()
            return
        lines = [
            f"Run {record.run_id} ({record.origin}, {record.trigger.value}): {record.status.value}",
            f"{record.source} -> {record.target}, table {record.target_table}, mode {record.mode}",
            f"started {cell_text(record, Column.STARTED)}"
            + (f", {record.seconds:.2f} s" if record.seconds is not None else ""),
            f"rows read {record.rows_read:,}, written {record.rows_written:,}",
        ]
        if record.error:
            lines.append(f"error: {record.error}")
        lines += ["", "-- query", record.query, "", "-- log"]
        try:
            lines += [f"{line.at} {line.level:<7} {line.stage:<8} {line.message}"
                      for line in self._context.history.log(record.id)]
        except (QdbmError, OSError) as exc:
            lines.append(f"the log cannot be read: {exc}")
        self._detail.setPlainText("\n".join(lines))

    # -- slots ------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def _on_table_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._show_detail()

    def _on_date_check_toggled(self, checked: bool) -> None:
        self._from_date.setEnabled(checked)
        self._to_date.setEnabled(checked)
        self._filter_timer.start()

    @property
    def compare_action(self) -> CompareAction:
        return self._compare

    def _show_comparison(self, record: RunRecord, lines: list[str]) -> None:
        """The comparison of ``record``'s source and table, below its log (if it is still selected)."""
        if self.selected_record() == record:
            self._show_detail()  # drops an earlier comparison's lines
            self._detail.appendPlainText("\n-- compare with source\n" + "\n".join(lines))
        self.status_message.emit(lines[-1] if lines else "")

    def _on_run_again_clicked(self) -> None:
        record = self.selected_record()
        if record is not None:
            self.run_again_requested.emit(record)
