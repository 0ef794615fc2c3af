"""Turns the scheduler's callbacks (from its threads) into Qt signals delivered on the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from qdbm_desktop.core.history import RunTrigger
from qdbm_desktop.core.scheduler import MissedRun, RunEvent


class SchedulerBridge(QObject):
    """A ``SchedulerListener`` whose calls become signals.

    Signals: ``run_started(str job, str trigger)``; ``run_finished(object RunEvent)``;
    ``runs_missed(object list[MissedRun])``.
    """

    run_started_signal = Signal(str, str)
    run_finished_signal = Signal(object)
    runs_missed_signal = Signal(object)

    def run_started(self, job: str, trigger: RunTrigger) -> None:
        self.run_started_signal.emit(job, trigger.value)

    def run_finished(self, event: RunEvent) -> None:
        self.run_finished_signal.emit(event)

    def runs_missed(self, missed: list[MissedRun]) -> None:
        self.runs_missed_signal.emit(list(missed))
