"""Lists the scheduled runs missed while QDBM Desktop was not running, and asks what to do with each."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core.scheduler import MissedRun


class MissedRunsDialog(QDialog):
    """Ticked runs are run now; the others are recorded as skipped. Nothing is dropped silently.

    Signals: those of QDialog.
    """

    def __init__(self, missed: list[MissedRun], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("missedRunsDialog")
        self.setWindowTitle("Missed scheduled runs")
        self.resize(560, 320)
        layout = QVBoxLayout(self)
        count = len(missed)
        intro = QLabel(
            f"{count} scheduled run{'s were' if count != 1 else ' was'} due while QDBM Desktop was not "
            "running. Tick the ones to run now; the others are recorded in History as skipped.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self._list = QListWidget(self)
        self._list.setObjectName("missedRunsList")
        for run in missed:
            when = run.due.astimezone().strftime("%Y-%m-%d %H:%M")
            item = QListWidgetItem(f"{run.job} — due {when}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self._list.addItem(item)
        layout.addWidget(self._list, 1)
        buttons = QDialogButtonBox(self)
        self.run_button = buttons.addButton("Run ticked now", QDialogButtonBox.ButtonRole.AcceptRole)
        self.skip_button = buttons.addButton("Skip all", QDialogButtonBox.ButtonRole.RejectRole)
        self.run_button.clicked.connect(self.accept)
        self.skip_button.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self._missed = list(missed)

    @property
    def runs_list(self) -> QListWidget:
        return self._list

    def decisions(self) -> list[tuple[MissedRun, bool]]:
        """Each missed run and whether to run it (all False when the dialog was rejected)."""
        accepted = self.result() == QDialog.DialogCode.Accepted
        return [(run, accepted and self._list.item(i).checkState() == Qt.CheckState.Checked)
                for i, run in enumerate(self._missed)]
