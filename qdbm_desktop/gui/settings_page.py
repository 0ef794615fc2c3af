"""The Settings page: preferences, where the data lives, and where the password key is kept."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFont, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError, UsageError
from qdbm_desktop.core.settings import (
    DEFAULT_BATCH_SIZE,
    LOAD_MODES,
    MAX_BATCH_SIZE,
    MAX_HISTORY_RETENTION_DAYS,
    Settings,
    parse_setting,
)
from qdbm_desktop.gui.error_line import StatusLabel
from qdbm_desktop.gui.icons import load_icon

log = logging.getLogger(__name__)

MODE_DESCRIPTIONS = {
    "append": "add the rows to the table",
    "truncate": "empty the existing table, then load",
    "replace": "drop the table and create it again from the query's types",
    "create": "create the table; fail if it exists",
    "upsert": "insert or update rows by their key columns",
}
KEY_FILE_EXPLANATION = (
    "No OS keyring is available, so the key that encrypts your saved passwords is kept in a file "
    "readable only by your user account. Anyone who can read your files as you (a backup, a "
    "program you run, an administrator) can decrypt them. Start or install a keyring (GNOME "
    "Keyring, KWallet, macOS Keychain, Windows Credential Manager) and restart QDBM Desktop: the "
    "key then moves there by itself."
)
_CONTENT_WIDTH = 760
# Same dark-on-amber look as the notice banner, for the same reason: a warning must read as one
# under light and dark themes alike.
_WARNING_STYLE = """
QFrame[warning="true"] { background-color: #fff3cd; border: 1px solid #e0b84a; border-radius: 4px; }
QFrame[warning="true"] QLabel { color: #4a3800; background: transparent; }
"""


class _WarningBox(QFrame):
    """An amber box with a warning icon and wrapped, selectable text."""

    def __init__(self, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setProperty("warning", True)
        self.setStyleSheet(_WARNING_STYLE)
        icon = QLabel(self)
        icon.setPixmap(load_icon("warning").pixmap(QSize(20, 20), self.devicePixelRatioF()))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        icon.setAccessibleName("Warning")
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._label.setTextFormat(Qt.TextFormat.PlainText)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(8)
        layout.addWidget(icon)
        layout.addWidget(self._label, 1)

    def text(self) -> str:
        return self._label.text()

    def setText(self, text: str) -> None:  # noqa: N802 - mirrors QLabel
        self._label.setText(text)


class SettingsPage(QWidget):
    """Edits the preferences in settings.json; changes take effect on Apply, Revert drops them.

    A settings file that cannot be written (one from a newer version) is shown but not editable.

    Signals:
        settings_changed(): the preferences were saved; read them again from the context.
    """

    settings_changed = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPage")
        self._context = context
        self._saved = Settings()
        self._load_error: str | None = None
        self._build()
        self.reload()

    # -- public -----------------------------------------------------------------------------

    @property
    def batch_size_edit(self) -> QLineEdit:
        return self._batch_size_edit

    @property
    def batch_size_message(self) -> QLabel:
        return self._batch_size_message

    @property
    def mode_combo(self) -> QComboBox:
        return self._mode_combo

    @property
    def close_to_tray_check(self) -> QCheckBox:
        return self._close_to_tray_check

    @property
    def retention_spin(self) -> QSpinBox:
        return self._retention_spin

    @property
    def home_edit(self) -> QLineEdit:
        return self._home_edit

    @property
    def open_folder_button(self) -> QPushButton:
        return self._open_folder_button

    @property
    def keyring_label(self) -> QLabel:
        return self._keyring_label

    @property
    def keyring_warning(self) -> _WarningBox:
        return self._keyring_warning

    @property
    def read_only_warning(self) -> _WarningBox:
        return self._read_only_warning

    @property
    def apply_button(self) -> QPushButton:
        return self._apply_button

    @property
    def revert_button(self) -> QPushButton:
        return self._revert_button

    @property
    def status_label(self) -> QLabel:
        return self._status_label

    def saved_settings(self) -> Settings:
        """The settings as last read from or written to the file."""
        return self._saved

    def is_modified(self) -> bool:
        """Whether the form differs from the saved settings."""
        return self._form_texts() != self._saved_texts()

    def reload(self) -> None:
        """Read settings.json and the key status again, dropping unsaved edits."""
        try:
            self._saved = self._context.settings.get()
            self._load_error = None
        except QdbmError as exc:
            self._saved = Settings()
            self._load_error = f"The settings cannot be read: {exc}"
        self._fill_form(self._saved)
        self._update_key_status()
        self._update_editable()
        self._set_status("")

    def apply(self) -> bool:
        """Validate the form and save it; False (with the reason next to the field) if nothing was saved."""
        if not self._validate_batch_size():
            self._batch_size_edit.setFocus()
            self._set_status("Nothing was saved: correct the batch size first.", error=True)
            return False
        try:
            self._saved = self._context.settings.update(self._form_texts())
        except UsageError as exc:
            self._set_status(f"Nothing was saved: {exc}", error=True)
            return False
        except QdbmError as exc:
            self._set_status(f"The settings could not be saved: {exc}", error=True)
            self._update_editable()
            return False
        self._fill_form(self._saved)
        self._update_buttons()
        self._set_status("Settings saved.")
        self.settings_changed.emit()
        return True

    def revert(self) -> None:
        """Put the saved settings back in the form."""
        self._fill_form(self._saved)
        self._set_status("")

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        content = QWidget(self)
        content.setObjectName("settingsContent")
        content.setMaximumWidth(_CONTENT_WIDTH)
        column = QVBoxLayout(content)
        column.setContentsMargins(16, 16, 16, 16)
        column.setSpacing(12)

        heading = QLabel("Settings", content)
        heading_font = QFont(heading.font())
        heading_font.setPointSizeF(heading_font.pointSizeF() * 1.4)
        heading_font.setBold(True)
        heading.setFont(heading_font)
        column.addWidget(heading)

        self._read_only_warning = _WarningBox("settingsReadOnly", content)
        column.addWidget(self._read_only_warning)
        column.addWidget(self._build_migrations_group(content))
        column.addWidget(self._build_window_group(content))
        column.addWidget(self._build_history_group(content))
        column.addWidget(self._build_folder_group(content))
        column.addWidget(self._build_key_group(content))
        column.addStretch(1)

        scroll = QScrollArea(self)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidgetResizable(True)
        holder = QWidget(scroll)
        holder_layout = QHBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        holder_layout.addWidget(content, 1)
        holder_layout.addStretch(0)
        scroll.setWidget(holder)

        buttons = self._build_apply_row()
        bar = QFrame(self)
        bar.setFrameShape(QFrame.Shape.HLine)
        bar.setFrameShadow(QFrame.Shadow.Sunken)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(scroll, 1)
        layout.addWidget(bar)
        layout.addLayout(buttons)

    def _build_apply_row(self) -> QHBoxLayout:
        """The status line with Revert and Apply."""
        self._status_label = StatusLabel(self, object_name="settingsStatus")
        self._status_label.setWordWrap(True)
        self._status_label.setTextFormat(Qt.TextFormat.PlainText)
        self._revert_button = QPushButton("Revert", self)
        self._revert_button.setToolTip("Put back the settings as they are saved")
        self._revert_button.clicked.connect(self._on_revert_button_clicked)
        self._apply_button = QPushButton("Apply", self)
        self._apply_button.setToolTip("Check and save the settings")
        self._apply_button.setDefault(True)
        self._apply_button.clicked.connect(self._on_apply_button_clicked)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(16, 8, 16, 12)
        buttons.addWidget(self._status_label, 1)
        buttons.addWidget(self._revert_button)
        buttons.addWidget(self._apply_button)
        return buttons

    def _build_migrations_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Migrations", parent)
        form = QFormLayout(group)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self._batch_size_edit = QLineEdit(group)
        self._batch_size_edit.setObjectName("batchSize")
        self._batch_size_edit.setMaximumWidth(160)
        self._batch_size_edit.setToolTip(
            f"Rows read and written at a time, 1 to {MAX_BATCH_SIZE:,}. Bigger batches use more "
            f"memory and are rarely faster; {DEFAULT_BATCH_SIZE:,} suits most tables.")
        self._batch_size_edit.textEdited.connect(self._on_batch_size_edit_text_edited)
        self._batch_size_edit.returnPressed.connect(self._on_batch_size_edit_return_pressed)
        rows = QLabel("rows per batch", group)
        self._batch_size_message = StatusLabel(group, object_name="batchSizeMessage", hide_when_empty=True)
        self._batch_size_message.setWordWrap(True)
        self._batch_size_message.setTextFormat(Qt.TextFormat.PlainText)
        self._batch_size_message.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        batch_row = QHBoxLayout()
        batch_row.addWidget(self._batch_size_edit)
        batch_row.addWidget(rows)
        batch_row.addWidget(self._batch_size_message, 1)
        form.addRow("&Batch size:", batch_row)
        label = form.labelForField(batch_row)
        if isinstance(label, QLabel):
            label.setBuddy(self._batch_size_edit)

        self._mode_combo = QComboBox(group)
        self._mode_combo.setObjectName("defaultMode")
        for mode in LOAD_MODES:
            self._mode_combo.addItem(f"{mode} — {MODE_DESCRIPTIONS.get(mode, '')}", mode)
        self._mode_combo.setToolTip("The load mode a new migration starts with; each migration can change it")
        self._mode_combo.currentIndexChanged.connect(self._on_form_changed)
        form.addRow("Default load &mode:", self._mode_combo)
        self._verify_check = QCheckBox("Verify each run by &checksum before the swap", group)
        self._verify_check.setObjectName("defaultVerify")
        self._verify_check.setToolTip("New migrations start with Verify by checksum on: the staging table is "
                                      "read back and every column's checksum compared with what was read")
        self._verify_check.toggled.connect(self._on_form_changed)
        form.addRow("", self._verify_check)
        return group

    def _build_window_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Closing the window", parent)
        layout = QVBoxLayout(group)
        self._close_to_tray_check = QCheckBox(
            "Closing the window keeps QDBM running in the system &tray", group)
        self._close_to_tray_check.setObjectName("closeToTray")
        self._close_to_tray_check.toggled.connect(self._on_form_changed)
        note = QLabel("Scheduled migrations run only while QDBM is running. Quit from the tray "
                      "icon's menu to stop it.", group)
        note.setWordWrap(True)
        note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(self._close_to_tray_check)
        layout.addWidget(note)
        return group

    def _build_history_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("History", parent)
        form = QFormLayout(group)
        self._retention_spin = QSpinBox(group)
        self._retention_spin.setObjectName("historyRetention")
        self._retention_spin.setRange(0, MAX_HISTORY_RETENTION_DAYS)
        self._retention_spin.setSpecialValueText("forever")
        self._retention_spin.setSuffix(" days")
        self._retention_spin.setMinimumWidth(120)
        self._retention_spin.setToolTip(
            "Runs older than this are removed from the history; 0 keeps them forever")
        self._retention_spin.valueChanged.connect(self._on_retention_spin_value_changed)
        row = QHBoxLayout()
        row.addWidget(self._retention_spin)
        row.addWidget(QLabel("(0 keeps every run)", group))
        row.addStretch(1)
        form.addRow("&Keep finished runs for:", row)
        label = form.labelForField(row)
        if isinstance(label, QLabel):
            label.setBuddy(self._retention_spin)
        return group

    def _build_folder_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Where your data lives", parent)
        layout = QVBoxLayout(group)
        row = QHBoxLayout()
        self._home_edit = QLineEdit(str(self._context.paths.home), group)
        self._home_edit.setObjectName("appDataFolder")
        self._home_edit.setReadOnly(True)
        self._home_edit.setToolTip(str(self._context.paths.home))
        self._home_edit.setCursorPosition(0)
        self._open_folder_button = QPushButton("&Open folder", group)
        self._open_folder_button.setToolTip("Show the folder in the file manager")
        self._open_folder_button.clicked.connect(self._on_open_folder_button_clicked)
        row.addWidget(self._home_edit, 1)
        row.addWidget(self._open_folder_button)
        note = QLabel("Connections, settings, schedules and history are kept here. Set QDBM_HOME "
                      "or start with --home DIR to use another folder.", group)
        note.setWordWrap(True)
        note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addLayout(row)
        layout.addWidget(note)
        return group

    def _build_key_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Saved passwords", parent)
        layout = QVBoxLayout(group)
        self._keyring_label = QLabel(group)
        self._keyring_label.setObjectName("keyringBackend")
        self._keyring_label.setWordWrap(True)
        self._keyring_label.setTextFormat(Qt.TextFormat.PlainText)
        self._keyring_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._keyring_warning = _WarningBox("keyFileWarning", group)
        layout.addWidget(self._keyring_label)
        layout.addWidget(self._keyring_warning)
        return group

    # -- state ------------------------------------------------------------------------------

    def _fill_form(self, settings: Settings) -> None:
        widgets: list[Any] = [self._batch_size_edit, self._mode_combo, self._close_to_tray_check,
                              self._retention_spin, self._verify_check]
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self._batch_size_edit.setText(str(settings.batch_size))
            index = self._mode_combo.findData(settings.default_mode)
            self._mode_combo.setCurrentIndex(max(index, 0))
            self._close_to_tray_check.setChecked(settings.close_to_tray)
            self._retention_spin.setValue(settings.history_retention_days)
            self._verify_check.setChecked(settings.verify == "checksum")
        finally:
            for widget in widgets:
                widget.blockSignals(False)
        self._update_retention_suffix()
        self._show_batch_size_message(None)
        self._update_buttons()

    def _form_texts(self) -> dict[str, str]:
        """The form's values as the texts parse_setting reads."""
        return {
            "batch_size": self._batch_size_edit.text().strip(),
            "default_mode": str(self._mode_combo.currentData()),
            "close_to_tray": "true" if self._close_to_tray_check.isChecked() else "false",
            "history_retention_days": str(self._retention_spin.value()),
            "verify": "checksum" if self._verify_check.isChecked() else "counts",
        }

    def _saved_texts(self) -> dict[str, str]:
        saved = self._saved
        return {
            "batch_size": str(saved.batch_size),
            "default_mode": saved.default_mode,
            "close_to_tray": "true" if saved.close_to_tray else "false",
            "history_retention_days": str(saved.history_retention_days),
            "verify": saved.verify,
        }

    def _validate_batch_size(self) -> bool:
        try:
            parse_setting("batch_size", self._batch_size_edit.text())
        except UsageError as exc:
            message = str(exc).removeprefix("batch_size ")
            self._show_batch_size_message(message[:1].upper() + message[1:])
            return False
        self._show_batch_size_message(None)
        return True

    def _show_batch_size_message(self, message: str | None) -> None:
        self._batch_size_message.show_error(message)

    def _read_only_reason(self) -> str | None:
        if self._load_error:
            return self._load_error
        reason = self._context.settings.read_only_reason
        if reason:
            return f"These settings cannot be changed: {reason}."
        return None

    def _update_editable(self) -> None:
        reason = self._read_only_reason()
        self._read_only_warning.setText(reason or "")
        self._read_only_warning.setVisible(reason is not None)
        for widget in (self._batch_size_edit, self._mode_combo, self._close_to_tray_check,
                       self._retention_spin, self._verify_check):
            widget.setEnabled(reason is None)
        self._update_buttons()

    def _update_buttons(self) -> None:
        editable = self._read_only_reason() is None
        modified = self.is_modified()
        self._apply_button.setEnabled(editable and modified)
        self._revert_button.setEnabled(editable and modified)

    def _update_retention_suffix(self) -> None:
        self._retention_spin.setSuffix(" day" if self._retention_spin.value() == 1 else " days")

    def _update_key_status(self) -> None:
        try:
            status = self._context.secret_box.status
        except Exception as exc:  # noqa: BLE001 - even the key-file fallback can fail (a read-only home)
            self._keyring_label.setText(
                "No encryption key could be loaded, so saved passwords cannot be used.")
            self._keyring_warning.setText(str(exc))
            self._keyring_warning.setVisible(True)
            return
        if status.file_fallback:
            self._keyring_label.setText(f"Encryption key kept in: key file {self._context.paths.key_file}")
            detail = f"\n\nDetails: {status.warning}" if status.warning else ""
            self._keyring_warning.setText(KEY_FILE_EXPLANATION + detail)
            self._keyring_warning.setVisible(True)
        else:
            self._keyring_label.setText(f"Encryption key kept in the OS keyring: {status.backend}")
            self._keyring_warning.setText("")
            self._keyring_warning.setVisible(False)

    def _set_status(self, text: str, error: bool = False) -> None:
        self._status_label.show_message(text, error=error)

    # -- slots ------------------------------------------------------------------------------

    @Slot()
    def _on_form_changed(self) -> None:
        self._update_buttons()
        self._set_status("Unsaved changes." if self.is_modified() else "")

    @Slot(str)
    def _on_batch_size_edit_text_edited(self, _text: str) -> None:
        self._validate_batch_size()
        self._on_form_changed()

    @Slot()
    def _on_batch_size_edit_return_pressed(self) -> None:
        if self.is_modified():
            self.apply()

    @Slot(int)
    def _on_retention_spin_value_changed(self, _value: int) -> None:
        self._update_retention_suffix()
        self._on_form_changed()

    @Slot()
    def _on_apply_button_clicked(self) -> None:
        self.apply()

    @Slot()
    def _on_revert_button_clicked(self) -> None:
        self.revert()

    @Slot()
    def _on_open_folder_button_clicked(self) -> None:
        home = self._context.paths.home
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(home))):
            self._set_status(f"No file manager could open {home}; copy the path from the field.", error=True)

    # -- Qt events --------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        # `qdbm settings set` may have changed the file while the page was hidden.
        if not self.is_modified():
            self.reload()
