"""What the connection form holds, and the row that tests it without blocking the dialog."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from qdbm_desktop.core.connections import ConnectionCheck, ConnectionProfile, ConnectionStore, check_params
from qdbm_desktop.core.dialects import ConnectParams
from qdbm_desktop.gui.icons import load_icon
from qdbm_desktop.gui.workers import BackgroundTask, TaskRunner

TESTING_TEXT = "Testing…"
DEFAULT_TEST_TIMEOUT = 10.0
#: The prefix of a secret driver option's key among a profile's secrets.
OPTION_SECRET_PREFIX = "option:"


@dataclass(frozen=True)
class ConnectionDraft:
    """The form's content, built on the GUI thread for saving or for a test.

    ``profile`` carries the stored tokens to keep in ``secrets``; ``plain`` holds the secrets
    typed in the form in plain text (``None``: remove that secret).
    """

    profile: ConnectionProfile
    plain: dict[str, str | None]

    def connect_params(self, store: ConnectionStore) -> ConnectParams:
        """Decrypt the kept tokens (may raise ``SecretUnavailable``) and apply what was typed."""
        params = store.connect_params(self.profile)
        options = dict(params.options)
        for key, value in self.plain.items():
            if key.startswith(OPTION_SECRET_PREFIX):
                name = key.removeprefix(OPTION_SECRET_PREFIX)
                if value is None:
                    options.pop(name, None)
                else:
                    options[name] = value
        changes: dict[str, Any] = {"options": options}
        for key in ("password", "dsn"):
            if key in self.plain:
                changes[key] = self.plain[key]
        return replace(params, **changes)


def _test_connection(store: ConnectionStore, draft: ConnectionDraft, timeout: float) -> ConnectionCheck:
    return check_params(draft.profile.type, draft.connect_params(store), timeout)


class ConnectionTestRow(QWidget):
    """The Test connection button with the result's icon and message beside it.

    A test runs on the ``TaskRunner`` and never blocks the dialog; a stopped test, or one still
    running when :meth:`forget` is called, ends in the background and its result is ignored.
    ``make_draft`` gives what to test; ``new_file_note`` says (instead of testing) that the
    file to test does not exist yet.

    Signals: ``result_shown()`` after the message changed (its height may have too).
    """

    result_shown = Signal()

    def __init__(self, runner: TaskRunner, store: ConnectionStore, make_draft: Callable[[], ConnectionDraft],
                 new_file_note: Callable[[], str | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._store = store
        self._make_draft = make_draft
        self._new_file_note = new_file_note
        self._task: BackgroundTask | None = None
        self.timeout = DEFAULT_TEST_TIMEOUT
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.button = QPushButton(self)
        self.button.setObjectName("testButton")
        self.button.setAutoDefault(False)
        self.button.clicked.connect(self._on_button_clicked)
        self._reset_button()
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignTop)
        self._icon = QLabel(self)
        self._icon.setFixedSize(20, 20)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        self.result_label = QLabel(self)
        self.result_label.setObjectName("testResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setMinimumHeight(self.button.sizeHint().height())
        layout.addWidget(self.result_label, 1)

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> bool:
        """Start a test of what the form holds; False when a test is already running."""
        if self._task is not None:
            return False
        note = self._new_file_note()
        if note:
            self._show_result(None, note)
            return True
        draft = self._make_draft()
        store, timeout = self._store, self.timeout
        self._show_result(None, TESTING_TEXT)
        self.button.setText("Stop test")
        self.button.setToolTip("Stop waiting for this test; a new one can start at once")

        def work(report: object, cancel: threading.Event) -> ConnectionCheck:
            return _test_connection(store, draft, timeout)

        # Bound methods of this widget, so Qt drops the connections when the dialog is deleted
        # before the test ends instead of calling into a destroyed widget.
        self._task = self._runner.start(
            f"Testing connection {draft.profile.name!r}", work,
            on_success=self._on_task_succeeded, on_failure=self._on_task_failed,
            on_finished=self._on_task_finished)
        return True

    def stop(self) -> None:
        """Stop waiting for the running test (it ends in the background; its result is ignored)."""
        if self._task is None:
            return
        self._task.cancel()
        self.forget()
        self._show_result(None, "Test stopped.")

    def forget(self) -> None:
        """The running test ends in the background; its result is no longer wanted."""
        self._task = None
        self._reset_button()

    def _reset_button(self) -> None:
        self.button.setText("Test c&onnection")
        self.button.setToolTip("")

    def _show_result(self, ok: bool | None, text: str) -> None:
        self.result_label.setText(text)
        if ok is None:
            self._icon.clear()
        else:
            icon = load_icon("test-ok" if ok else "test-failed")
            self._icon.setPixmap(icon.pixmap(QSize(18, 18), self.devicePixelRatioF()))
        self.result_shown.emit()

    def _on_button_clicked(self) -> None:
        if self._task is not None:
            self.stop()
        else:
            self.start()

    def _from_current_task(self) -> bool:
        # A stopped test, or one started before the dialog closed, still reports: ignore it.
        return self._task is not None and self.sender() is self._task.signals

    def _on_task_succeeded(self, result: object) -> None:
        if not self._from_current_task() or not isinstance(result, ConnectionCheck):
            return
        if result.ok:
            self._show_result(True, f"Connected: {result.message} ({result.seconds:.1f} s)")
        else:
            self._show_result(False, f"Failed: {result.message}")

    def _on_task_failed(self, message: str) -> None:
        if self._from_current_task():
            self._show_result(False, f"Failed: {message}")

    def _on_task_finished(self) -> None:
        if self._from_current_task():
            self.forget()
