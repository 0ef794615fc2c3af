"""History's "Compare with source": runs ``core.compare`` for a run's source, query and table."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QPushButton, QWidget

from qdbm_desktop.core.compare import compare, describe_text
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.history import RunRecord
from qdbm_desktop.core.migration import resolve_endpoint
from qdbm_desktop.gui.workers import TaskRunner


def compare_run(context: AppContext, record: RunRecord) -> list[str]:
    """The comparison of a run's query on its source with its table on its target, as lines."""
    snapshot = record.job_snapshot or {}
    keys = tuple(str(k) for k in snapshot.get("keys") or ()) if record.mode == "upsert" else ()
    source = resolve_endpoint(context.connections, record.source)
    target = resolve_endpoint(context.connections, record.target)
    result = compare(source, record.query, target, TableName.parse(record.target_table), keys)
    return describe_text(result)


class CompareAction:
    """The button, and the comparison it runs on a pool thread; ``on_done(record, lines)`` gets the result."""

    def __init__(self, context: AppContext, selected: Callable[[], RunRecord | None],
                 on_done: Callable[[RunRecord, list[str]], None], parent: QWidget) -> None:
        self._context, self._selected, self._on_done = context, selected, on_done
        self._runner = TaskRunner(parent=parent)
        self.button = QPushButton("Co&mpare with source", parent)
        self.button.setObjectName("compareButton")
        self.button.setToolTip("Read this run's query on its source and its table on its destination "
                               "(read-only) and compare row counts, each column's checksum and, for an "
                               "upsert, the keys")
        self.button.setEnabled(False)
        self.button.clicked.connect(self.start)
        self.running = False

    def update(self, record: RunRecord | None) -> None:
        self.button.setEnabled(record is not None and bool(record.query.strip()) and not self.running)

    def start(self) -> None:
        record = self._selected()
        if record is None or self.running:
            return
        self.running = True
        self.button.setEnabled(False)
        self.button.setText("Comparing…")

        def work(_report: object, _cancel: threading.Event) -> Any:
            return compare_run(self._context, record)

        self._runner.start(f"compare run {record.run_id}", work,
                           on_success=lambda lines: self._on_done(record, list(lines)),
                           on_failure=lambda message: self._on_done(record, [f"cannot compare: {message}"]),
                           on_finished=self._finished)

    def _finished(self) -> None:
        self.running = False
        self.button.setText("Co&mpare with source")
        self.update(self._selected())

    def shutdown(self) -> bool:
        return self._runner.shutdown()
