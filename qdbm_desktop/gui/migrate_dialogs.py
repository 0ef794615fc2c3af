"""The Migrate page's two questions: the name of a job being saved, and "really replace this table?"."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core.dialects.base import LoadMode
from qdbm_desktop.core.jobs import MAX_JOB_NAME
from qdbm_desktop.gui.error_line import StatusLabel

#: The name field is at least this many characters wide, whatever the suggestion.
_MIN_NAME_CHARS = 60


class JobNameDialog(QDialog):
    """Asks the name of a job; the field fits the suggested name, an empty or too long one is refused
    next to the field.

    Signals: those of QDialog.
    """

    def __init__(self, suggested: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobNameDialog")
        self.setWindowTitle("Save as job")
        layout = QVBoxLayout(self)
        label = QLabel("&Job name:", self)
        layout.addWidget(label)
        self._edit = QLineEdit(suggested, self)
        self._edit.setObjectName("jobNameEdit")
        self._edit.setMaxLength(MAX_JOB_NAME)
        self._edit.selectAll()
        metrics = self._edit.fontMetrics()
        # Wide enough for the whole suggestion (up to a screen-friendly limit) and some typing.
        chars = max(_MIN_NAME_CHARS, min(len(suggested) + 4, 90))
        self._edit.setMinimumWidth(metrics.horizontalAdvance("M" * 2) + metrics.averageCharWidth() * chars)
        label.setBuddy(self._edit)
        layout.addWidget(self._edit)
        hint = QLabel("Saved jobs run from the Schedules page, the tray, a schedule or "
                      "<code>qdbm run</code>.", self)
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(hint)
        self._error = StatusLabel(self, object_name="jobNameError", hide_when_empty=True)
        self._error.setWordWrap(True)
        layout.addWidget(self._error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        layout.addWidget(buttons)
        self._edit.textChanged.connect(lambda _text: self._error.hide())
        self.adjustSize()

    @property
    def name_edit(self) -> QLineEdit:
        return self._edit

    @property
    def save_button(self) -> QPushButton:
        return self._save_button

    @property
    def error_text(self) -> str:
        return self._error.text() if self._error.isVisibleTo(self) else ""

    def name(self) -> str:
        return self._edit.text().strip()

    def accept(self) -> None:
        if not self.name():
            self._error.show_error("A job needs a name.")
            self._edit.setFocus()
            return
        super().accept()


@dataclass(frozen=True)
class DestructiveRun:
    """What a run in mode replace or truncate is about to do to an existing table."""

    mode: LoadMode
    table: str
    connection: str
    rows: int | None
    columns: int | None
    #: The columns the table has after a replace; None when not known.
    new_columns: int | None
    #: When the table could not be looked at: why (the question is asked all the same).
    unknown_reason: str | None = None

    def question(self) -> str:
        where = f"“{self.table}” on {self.connection}"
        if self.unknown_reason is not None:
            return f"{where} could not be looked at: it may exist."
        rows = "?" if self.rows is None else f"{self.rows:,}"
        columns = "?" if self.columns is None else str(self.columns)
        return (f"{where} holds {rows} row{'s' if self.rows != 1 else ''} "
                f"in {columns} column{'s' if self.columns != 1 else ''}.")

    def consequence(self) -> str:
        if self.mode is LoadMode.REPLACE:
            shape = (f"a table of {self.new_columns} column{'s' if self.new_columns != 1 else ''}"
                     if self.new_columns is not None else "a table of the query's columns")
            return (f"Replace drops it, rows and definition, and puts {shape} with the query's rows "
                    "in its place.")
        return "Truncate empties it, then loads the query's rows into its columns."


class DestructiveRunQuestion(QMessageBox):
    """Asks before a run empties or replaces an existing table; Cancel is the default answer.

    Signals: those of QMessageBox.
    """

    def __init__(self, run: DestructiveRun, dont_ask_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("destructiveRunQuestion")
        self.setIcon(QMessageBox.Icon.Warning)
        verb = "Replace" if run.mode is LoadMode.REPLACE else "Empty"
        self.setWindowTitle(f"{verb} {run.table}?")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setText(f"<b>{escape(run.question(), quote=False)}</b>")
        why = f"({escape(run.unknown_reason, quote=False)})<br><br>" if run.unknown_reason else ""
        self.setInformativeText(f"{why}{escape(run.consequence(), quote=False)} The old rows are gone once "
                                "the run commits; a run that fails or is cancelled changes nothing.")
        self._confirm = self.addButton("Replace the table" if run.mode is LoadMode.REPLACE
                                       else "Empty and load", QMessageBox.ButtonRole.DestructiveRole)
        self._confirm.setObjectName("confirmDestructiveRun")
        cancel = self.addButton(QMessageBox.StandardButton.Cancel)
        self.setDefaultButton(cancel)
        self.setEscapeButton(cancel)
        self._dont_ask = QCheckBox(dont_ask_text, self)
        self._dont_ask.setObjectName("dontAskAgain")
        self.setCheckBox(self._dont_ask)
        self._run = run

    @property
    def run(self) -> DestructiveRun:
        return self._run

    @property
    def confirm_button(self) -> QPushButton:
        return self._confirm

    @property
    def dont_ask_check(self) -> QCheckBox:
        return self._dont_ask

    def confirmed(self) -> bool:
        return self.clickedButton() is self._confirm
