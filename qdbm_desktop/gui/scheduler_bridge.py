"""Turns the scheduler's callbacks (from its threads) into Qt signals delivered on the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from qdbm_desktop.core.history import RunTrigger
from qdbm_desktop.core.scheduler import MissedRun, RunEvent, ScheduledRun


class SchedulerBridge(QObject):
    """A ``SchedulerListener`` whose calls become signals, and the scheduler's ``RunExecutor``.

    The scheduler decides when a job runs and holds its locks; ``hand_over`` passes the run to the
    GUI thread, which runs it on the window's task runner with a run card (progress, Cancel).

    Signals: ``run_started(str job, str trigger)``; ``run_finished(object RunEvent)``;
    ``runs_missed(object list[MissedRun])``; ``run_handed_over(ScheduledRun)`` a run to start.
    """

    run_started_signal = Signal(str, str)
    run_finished_signal = Signal(object)
    runs_missed_signal = Signal(object)
    run_handed_over = Signal(ScheduledRun)

    def run_started(self, job: str, trigger: RunTrigger) -> None:
        self.run_started_signal.emit(job, trigger.value)

    def run_finished(self, event: RunEvent) -> None:
        self.run_finished_signal.emit(event)

    def runs_missed(self, missed: list[MissedRun]) -> None:
        self.runs_missed_signal.emit(list(missed))

    def hand_over(self, run: ScheduledRun) -> None:
        """The ``RunExecutor``: called from a scheduler thread, delivered on the GUI thread."""
        self.run_handed_over.emit(run)
