"""The dialog that adds, edits or duplicates one saved connection."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRegularExpression,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QRegularExpressionValidator, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core.connections import (
    ConnectionCheck,
    ConnectionProfile,
    ConnectionStore,
    check_params,
    is_secret_option,
    validate_profile,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import create_empty_database
from qdbm_desktop.core.dialects import DIALECTS, ConnectParams
from qdbm_desktop.core.dialects import sqlserver as sqlserver_dialect
from qdbm_desktop.core.errors import MASK, QdbmError
from qdbm_desktop.gui.icons import database_icon, load_icon
from qdbm_desktop.gui.workers import BackgroundTask, TaskRunner

_AnyIndex = QModelIndex | QPersistentModelIndex

STORED_PASSWORD_HINT = "stored — leave empty to keep it"
REENTER_PASSWORD_HINT = "re-enter the password"
TESTING_TEXT = "Testing…"
DEFAULT_TEST_TIMEOUT = 10.0

#: Option keys the SQL Server check boxes own (ODBC keywords).
ENCRYPT_OPTION = "Encrypt"
TRUST_CERTIFICATE_OPTION = "TrustServerCertificate"
# core also takes the friendly spelling of a URL's query string.
_TRUST_CERTIFICATE_SPELLINGS = (TRUST_CERTIFICATE_OPTION, "trust_server_certificate")
#: python-oracledb's name for the folder holding tnsnames.ora (what TNS_ADMIN points to).
TNS_ADMIN_OPTION = "config_dir"
_OPTION_SECRET_PREFIX = "option:"

_OPTION_HINTS = {
    "postgresql": "Passed to libpq, e.g. sslmode = require, sslrootcert = /path/to/ca.pem.",
    "mysql": "Passed to MySQL Connector/Python, e.g. ssl_ca = /path/to/ca.pem.",
    "sqlserver": "Added to the ODBC connection string, e.g. ApplicationIntent = ReadOnly.",
    "oracle": "Passed to python-oracledb, e.g. wallet_location = /path/to/wallet.",
}
_SECRET_OPTION_HINT = "Keys containing pass, pwd, secret or token are stored encrypted."


def _yes(value: str | None) -> bool:
    return (value or "").strip().casefold() in ("yes", "true", "1", "on", "mandatory", "strict")


def _pop_option(options: dict[str, str], *keys: str) -> str | None:
    """Remove every spelling in ``keys`` (any case: ODBC keywords are case-insensitive) and
    return the value of the last one found."""
    wanted = {key.casefold() for key in keys}
    found = None
    for existing in list(options):
        if existing.casefold() in wanted:
            found = options.pop(existing)
    return found


def copy_name(name: str, taken: Callable[[str], bool]) -> str:
    """``name (copy)``, or ``name (copy 2)`` ... the first one ``taken`` says is free."""
    candidate = f"{name} (copy)"
    number = 2
    while taken(candidate):
        candidate = f"{name} (copy {number})"
        number += 1
    return candidate


# -- the options table ------------------------------------------------------------------------


class OptionColumn(IntEnum):
    KEY = 0
    VALUE = 1


@dataclass(frozen=True)
class OptionRow:
    """One driver option. ``stored_secret``: its value is kept encrypted and not shown."""

    key: str
    value: str
    stored_secret: bool = False

    @property
    def secret(self) -> bool:
        return is_secret_option(self.key)


class OptionsModel(QAbstractTableModel):
    """Editable key/value rows for a connection's driver options (SSL files, modes ...).

    A row whose value is stored encrypted shows a mask; leaving its value empty keeps it.

    Signals: only those of ``QAbstractTableModel``.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[OptionRow] = []

    @property
    def rows(self) -> list[OptionRow]:
        return list(self._rows)

    def set_rows(self, rows: Sequence[OptionRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def append_row(self, key: str = "", value: str = "") -> int:
        """Add a row at the end; returns its number."""
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append(OptionRow(key, value))
        self.endInsertRows()
        return row

    def remove_row(self, row: int) -> None:
        if not 0 <= row < len(self._rows):
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self.endRemoveRows()

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(OptionColumn)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(OptionColumn):
            return "Key" if section == OptionColumn.KEY else "Value"
        return None

    def flags(self, index: _AnyIndex) -> Qt.ItemFlag:
        if not self._valid(index):
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not self._valid(index):
            return None
        row = self._rows[index.row()]
        if index.column() == OptionColumn.KEY:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
                return row.key
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            # A credential typed into an option is not left readable on screen.
            return MASK if row.secret and (row.value or row.stored_secret) else row.value
        if role == Qt.ItemDataRole.EditRole:
            return row.value
        if role == Qt.ItemDataRole.ToolTipRole and row.stored_secret:
            return "Stored encrypted; leave it empty to keep it, or type a new value"
        return None

    def setData(self, index: _AnyIndex, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not self._valid(index):
            return False
        text = "" if value is None else str(value)
        old = self._rows[index.row()]
        if index.column() == OptionColumn.KEY:
            # The stored token belongs to the old key; a renamed key starts without one.
            new = replace(old, key=text.strip(),
                          stored_secret=old.stored_secret and text.strip() == old.key)
        else:
            new = replace(old, value=text)
        if new == old:
            return False
        self._rows[index.row()] = new
        self.dataChanged.emit(self.index(index.row(), 0), self.index(index.row(), len(OptionColumn) - 1))
        return True

    def _valid(self, index: _AnyIndex) -> bool:
        return (index.isValid() and not index.parent().isValid() and 0 <= index.row() < len(self._rows)
                and 0 <= index.column() < len(OptionColumn))


# -- what the form holds ----------------------------------------------------------------------


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
            if key.startswith(_OPTION_SECRET_PREFIX):
                name = key.removeprefix(_OPTION_SECRET_PREFIX)
                if value is None:
                    options.pop(name, None)
                else:
                    options[name] = value
        changes: dict[str, Any] = {"options": options}
        for key in ("password", "dsn"):
            if key in self.plain:
                changes[key] = self.plain[key]
        return replace(params, **changes)


def _test_connection(store: ConnectionStore, draft: ConnectionDraft,
                     timeout: float) -> ConnectionCheck:
    return check_params(draft.profile.type, draft.connect_params(store), timeout)


class _FieldBox(QWidget):
    """A form field with a neutral note and the message that says what is wrong underneath.

    Signals: none of its own.
    """

    def __init__(self, field: QWidget | Sequence[QWidget], parent: QWidget | None = None,
                 *, expand: bool = True) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        widgets = [field] if isinstance(field, QWidget) else list(field)
        for i, widget in enumerate(widgets):
            line.addWidget(widget, 1 if i == 0 and expand else 0)
        if not expand:
            line.addStretch(1)
        layout.addLayout(line)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setVisible(False)
        layout.addWidget(self.note)
        # An icon and bold text rather than a colour: the palette has no "error" role, and a
        # fixed red would be unreadable on some themes.
        self._error_line = QWidget(self)
        error_layout = QHBoxLayout(self._error_line)
        error_layout.setContentsMargins(0, 0, 0, 0)
        error_layout.setSpacing(4)
        icon = QLabel(self._error_line)
        icon.setPixmap(load_icon("warning").pixmap(QSize(16, 16), self.devicePixelRatioF()))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        error_layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        self.error = QLabel(self._error_line)
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        font = self.error.font()
        font.setBold(True)
        self.error.setFont(font)
        error_layout.addWidget(self.error, 1)
        self._error_line.setVisible(False)
        layout.addWidget(self._error_line)

    def set_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self._error_line.setVisible(bool(message))

    @property
    def has_error(self) -> bool:
        return not self._error_line.isHidden()

    def set_note(self, message: str | None) -> None:
        self.note.setText(message or "")
        self.note.setVisible(bool(message))


class ConnectionDialog(QDialog):
    """Adds, edits or duplicates one saved connection; only the chosen type's fields are shown.

    On accept the connection is saved through the context's ``ConnectionStore`` (added, or
    updated under its original name) and :attr:`saved_name` tells under which name. A test runs
    on the ``TaskRunner`` and never blocks the dialog; a dialog closed during a test leaves the
    test to finish in the background and ignores its result.

    Signals: ``connection_saved(str)`` the saved name, just before the dialog accepts; and those
    of ``QDialog``.
    """

    connection_saved = Signal(str)

    def __init__(self, context: AppContext, runner: TaskRunner, profile: ConnectionProfile | None = None,
                 *, duplicate: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._store = context.connections
        self._runner = runner
        self._original = profile
        self._editing = profile is not None and not duplicate
        self._saved_name: str | None = None
        self._saved_profile: ConnectionProfile | None = None
        self._test_task: BackgroundTask | None = None
        self._test_timeout = DEFAULT_TEST_TIMEOUT
        self._drivers: list[str] | None = None
        self._driver_problem: str | None = None
        self._last_type: str | None = None
        self._stored_tokens: dict[str, str] = dict(profile.secrets) if profile else {}

        if profile is None:
            self.setWindowTitle("New connection")
        elif duplicate:
            self.setWindowTitle(f"Duplicate connection “{profile.name}”")
        else:
            self.setWindowTitle(f"Edit connection “{profile.name}”")
        self.setObjectName("connectionDialog")
        self.setSizeGripEnabled(True)

        self._build()
        self._load(profile, duplicate)
        self.setMinimumWidth(620)

    # -- public -----------------------------------------------------------------------------

    @property
    def saved_name(self) -> str | None:
        """The name the connection was saved under; None until the dialog accepted."""
        return self._saved_name

    @property
    def saved_profile(self) -> ConnectionProfile | None:
        return self._saved_profile

    @property
    def original_name(self) -> str | None:
        """The name of the connection being edited (None for a new one or a duplicate)."""
        return self._original.name if self._editing and self._original else None

    @property
    def test_running(self) -> bool:
        return self._test_task is not None

    @property
    def test_timeout(self) -> float:
        return self._test_timeout

    @test_timeout.setter
    def test_timeout(self, seconds: float) -> None:
        self._test_timeout = seconds

    @property
    def name_edit(self) -> QLineEdit:
        return self._name_edit

    @property
    def type_combo(self) -> QComboBox:
        return self._type_combo

    @property
    def host_edit(self) -> QLineEdit:
        return self._host_edit

    @property
    def port_edit(self) -> QLineEdit:
        return self._port_edit

    @property
    def database_edit(self) -> QLineEdit:
        return self._database_edit

    @property
    def user_edit(self) -> QLineEdit:
        return self._user_edit

    @property
    def password_edit(self) -> QLineEdit:
        return self._password_edit

    @property
    def clear_password_check(self) -> QCheckBox:
        return self._clear_password_check

    @property
    def path_edit(self) -> QLineEdit:
        return self._path_edit

    @property
    def browse_button(self) -> QPushButton:
        return self._browse_button

    @property
    def oracle_dsn_radio(self) -> QRadioButton:
        return self._oracle_dsn_radio

    @property
    def oracle_service_radio(self) -> QRadioButton:
        return self._oracle_service_radio

    @property
    def dsn_edit(self) -> QLineEdit:
        return self._dsn_edit

    @property
    def tns_admin_edit(self) -> QLineEdit:
        return self._tns_admin_edit

    @property
    def driver_combo(self) -> QComboBox:
        return self._driver_combo

    @property
    def encrypt_check(self) -> QCheckBox:
        return self._encrypt_check

    @property
    def trust_certificate_check(self) -> QCheckBox:
        return self._trust_check

    @property
    def windows_auth_check(self) -> QCheckBox:
        return self._windows_auth_check

    @property
    def options_model(self) -> OptionsModel:
        return self._options_model

    @property
    def options_view(self) -> QTableView:
        return self._options_view

    @property
    def add_option_button(self) -> QPushButton:
        return self._add_option_button

    @property
    def remove_option_button(self) -> QPushButton:
        return self._remove_option_button

    @property
    def test_button(self) -> QPushButton:
        return self._test_button

    @property
    def test_result_label(self) -> QLabel:
        return self._test_result

    @property
    def ok_button(self) -> QPushButton:
        return self._ok_button

    @property
    def form_error_label(self) -> QLabel:
        return self._form_error

    def current_type(self) -> str:
        return str(self._type_combo.currentData())

    def set_type(self, type_name: str) -> None:
        index = self._type_combo.findData(type_name)
        if index < 0:
            raise ValueError(f"unknown connection type {type_name!r}")
        self._type_combo.setCurrentIndex(index)

    def error_text(self, field: str) -> str:
        """The message shown under ``field`` ("name", "port", "path" ...); empty when none."""
        box = self._boxes[field]
        return box.error.text() if box.has_error else ""

    def note_text(self, field: str) -> str:
        """The neutral note under ``field`` (a new SQLite file, no ODBC driver ...)."""
        box = self._boxes[field]
        return box.note.text() if not box.note.isHidden() else ""

    def is_field_shown(self, field: str) -> bool:
        return self._form.isRowVisible(self._boxes[field])

    def draft(self) -> ConnectionDraft:
        """What the form holds now, as a profile plus the secrets typed in it."""
        type_name = self.current_type()
        kept = dict(self._stored_tokens)
        plain: dict[str, str | None] = {}

        def text(edit: QLineEdit) -> str | None:
            return edit.text().strip() or None

        host = port = database = user = path = driver = None
        options: dict[str, str] = {}
        if type_name == "sqlite":
            path = text(self._path_edit)
            # A SQLite file has no password or DSN to keep.
            for key in list(kept):
                plain[key] = None
            kept.clear()
        else:
            oracle_dsn = type_name == "oracle" and self._oracle_dsn_radio.isChecked()
            if not oracle_dsn:
                host = text(self._host_edit)
                port = self._port_value()
                database = text(self._database_edit)
            trusted = type_name == "sqlserver" and self._windows_auth_check.isChecked()
            if not trusted:
                user = text(self._user_edit)
            if trusted or self._clear_password_check.isChecked():
                plain["password"] = None
            elif self._password_edit.text():
                plain["password"] = self._password_edit.text()
            if type_name == "oracle" and oracle_dsn:
                if self._dsn_edit.text().strip():
                    plain["dsn"] = self._dsn_edit.text().strip()
            elif "dsn" in kept:
                # core prefers a DSN over host and service name: a dropped DSN must go.
                plain["dsn"] = None
            if type_name == "sqlserver":
                driver = self._driver_combo.currentText().strip() or None
                options[ENCRYPT_OPTION] = "yes" if self._encrypt_check.isChecked() else "no"
                if self._trust_check.isChecked():
                    options[TRUST_CERTIFICATE_OPTION] = "yes"
            if type_name == "oracle" and self._tns_admin_edit.text().strip():
                options[TNS_ADMIN_OPTION] = self._tns_admin_edit.text().strip()
            kept_options: set[str] = set()
            for row in self._options_model.rows:
                if not row.key:
                    continue
                if row.stored_secret and not row.value:
                    kept_options.add(row.key)
                elif is_secret_option(row.key):
                    plain[_OPTION_SECRET_PREFIX + row.key] = row.value
                else:
                    options[row.key] = row.value
            for key in list(kept):
                if key.startswith(_OPTION_SECRET_PREFIX) and \
                        key.removeprefix(_OPTION_SECRET_PREFIX) not in kept_options \
                        and key not in plain:
                    plain[key] = None
        for key, value in plain.items():
            if value is None:
                kept.pop(key, None)
        profile = ConnectionProfile(
            name=self._name_edit.text(), type=type_name, host=host, port=port, database=database,
            user=user, path=path, driver=driver, options=options, secrets=kept)
        return ConnectionDraft(profile, plain)

    def test_connection(self) -> bool:
        """Start a test of what the form holds; False when a test is already running."""
        if self._test_task is not None:
            return False
        sqlite_note = self._sqlite_new_file_note()
        if sqlite_note:
            self._show_test_result(None, sqlite_note)
            return True
        draft = self.draft()
        store, timeout = self._store, self._test_timeout
        self._show_test_result(None, TESTING_TEXT)
        self._test_button.setText("Stop test")
        self._test_button.setToolTip("Stop waiting for this test; a new one can start at once")

        def work(report: object, cancel: threading.Event) -> ConnectionCheck:
            return _test_connection(store, draft, timeout)

        # Bound methods of the dialog, so Qt drops the connections when the dialog is deleted
        # before the test ends instead of calling into a destroyed widget.
        self._test_task = self._runner.start(
            f"Testing connection {draft.profile.name!r}", work,
            on_success=self._on_test_task_succeeded, on_failure=self._on_test_task_failed,
            on_finished=self._on_test_task_finished)
        return True

    def stop_test(self) -> None:
        """Stop waiting for the running test (it ends in the background; its result is ignored)."""
        if self._test_task is None:
            return
        self._test_task.cancel()
        self._test_task = None
        self._reset_test_button()
        self._show_test_result(None, "Test stopped.")

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self._boxes: dict[str, _FieldBox] = {}
        self._labels: dict[str, QLabel] = {}

        self._name_edit = QLineEdit(self)
        self._name_edit.setObjectName("nameEdit")
        self._name_edit.setPlaceholderText("e.g. Orders (production)")
        self._add_row("name", "&Name:", self._name_edit)

        self._type_combo = QComboBox(self)
        self._type_combo.setObjectName("typeCombo")
        self._type_combo.setIconSize(QSize(18, 18))
        for dialect in DIALECTS.values():
            self._type_combo.addItem(database_icon(dialect.name), dialect.display_name, dialect.name)
        self._add_row("type", "&Type:", self._type_combo)

        # Oracle: where the server is given.
        self._oracle_service_radio = QRadioButton("Host and service name", self)
        self._oracle_dsn_radio = QRadioButton("DSN, Easy Connect string or TNS alias", self)
        self._oracle_group = QButtonGroup(self)
        self._oracle_group.addButton(self._oracle_service_radio)
        self._oracle_group.addButton(self._oracle_dsn_radio)
        self._oracle_service_radio.setChecked(True)
        oracle_modes = QWidget(self)
        modes_layout = QVBoxLayout(oracle_modes)
        modes_layout.setContentsMargins(0, 0, 0, 0)
        modes_layout.setSpacing(2)
        modes_layout.addWidget(self._oracle_service_radio)
        modes_layout.addWidget(self._oracle_dsn_radio)
        self._add_row("oracle_mode", "Connect with:", oracle_modes)

        self._host_edit = QLineEdit(self)
        self._host_edit.setObjectName("hostEdit")
        self._host_edit.setPlaceholderText("host name or IP address")
        self._add_row("host", "&Host:", self._host_edit)

        self._port_edit = QLineEdit(self)
        self._port_edit.setObjectName("portEdit")
        # Digits only; the range is checked on save, where the message can say what is wrong.
        self._port_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,5}"), self))
        self._port_edit.setMaximumWidth(self.fontMetrics().horizontalAdvance("0") * 10 + 24)
        self._add_row("port", "&Port:", self._port_edit, expand=False)

        self._database_edit = QLineEdit(self)
        self._database_edit.setObjectName("databaseEdit")
        self._add_row("database", "&Database:", self._database_edit)

        self._dsn_edit = QLineEdit(self)
        self._dsn_edit.setObjectName("dsnEdit")
        self._dsn_edit.setPlaceholderText("host:1521/service, a TNS alias or a (DESCRIPTION=…)")
        self._add_row("dsn", "DS&N:", self._dsn_edit)

        self._tns_admin_edit = QLineEdit(self)
        self._tns_admin_edit.setObjectName("tnsAdminEdit")
        self._tns_admin_edit.setPlaceholderText("optional: the folder holding tnsnames.ora")
        tns_browse = QPushButton("Browse…", self)
        tns_browse.clicked.connect(self._on_tns_browse_clicked)
        self._add_row("tns_admin", "TNS_ADMIN folder:", [self._tns_admin_edit, tns_browse])

        self._path_edit = QLineEdit(self)
        self._path_edit.setObjectName("pathEdit")
        self._path_edit.setPlaceholderText("an existing database file, or a new one to create")
        self._browse_button = QPushButton("&Browse…", self)
        self._browse_button.clicked.connect(self._on_browse_button_clicked)
        self._add_row("path", "&File:", [self._path_edit, self._browse_button])

        self._driver_combo = QComboBox(self)
        self._driver_combo.setObjectName("driverCombo")
        self._add_row("driver", "ODBC dri&ver:", self._driver_combo)

        self._windows_auth_check = QCheckBox("&Windows authentication (no user name or password)", self)
        self._windows_auth_check.toggled.connect(self._on_windows_auth_check_toggled)
        self._add_row("windows_auth", "", self._windows_auth_check)

        self._user_edit = QLineEdit(self)
        self._user_edit.setObjectName("userEdit")
        self._add_row("user", "&User:", self._user_edit)

        self._password_edit = QLineEdit(self)
        self._password_edit.setObjectName("passwordEdit")
        self._password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self._clear_password_check = QCheckBox("Clear the stored password", self)
        self._clear_password_check.setVisible(False)
        self._clear_password_check.toggled.connect(self._on_clear_password_check_toggled)
        self._add_row("password", "Pass&word:", [self._password_edit, self._clear_password_check])

        self._encrypt_check = QCheckBox("&Encrypt the connection", self)
        self._encrypt_check.setChecked(True)
        self._trust_check = QCheckBox("Trust the server &certificate without checking it", self)
        encryption = QWidget(self)
        encryption_layout = QVBoxLayout(encryption)
        encryption_layout.setContentsMargins(0, 0, 0, 0)
        encryption_layout.setSpacing(2)
        encryption_layout.addWidget(self._encrypt_check)
        encryption_layout.addWidget(self._trust_check)
        self._add_row("encryption", "Encryption:", encryption)

        self._options_model = OptionsModel(self)
        self._options_view = QTableView(self)
        self._options_view.setObjectName("optionsView")
        self._options_view.setAccessibleName("Driver options")
        self._options_view.setModel(self._options_model)
        self._options_view.verticalHeader().setVisible(False)
        self._options_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._options_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._options_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        row_height = self._options_view.verticalHeader().defaultSectionSize()
        self._options_view.setFixedHeight(self._options_view.horizontalHeader().sizeHint().height()
                                          + row_height * 2 + 4)
        self._add_option_button = QPushButton("&Add", self)
        self._add_option_button.setToolTip("Add a driver option")
        self._add_option_button.clicked.connect(self._on_add_option_button_clicked)
        self._remove_option_button = QPushButton("Re&move", self)
        self._remove_option_button.setToolTip("Remove the selected option")
        self._remove_option_button.clicked.connect(self._on_remove_option_button_clicked)
        option_buttons = QWidget(self)
        buttons_layout = QVBoxLayout(option_buttons)
        buttons_layout.setContentsMargins(0, 0, 0, 0)
        buttons_layout.addWidget(self._add_option_button)
        buttons_layout.addWidget(self._remove_option_button)
        buttons_layout.addStretch(1)
        self._add_row("options", "SSL and\noptions:", [self._options_view, option_buttons])

        layout.addLayout(self._form)

        test_row = QHBoxLayout()
        self._test_button = QPushButton("Test c&onnection", self)
        self._test_button.setObjectName("testButton")
        self._test_button.setAutoDefault(False)
        self._test_button.clicked.connect(self._on_test_button_clicked)
        test_row.addWidget(self._test_button, 0, Qt.AlignmentFlag.AlignTop)
        self._test_icon = QLabel(self)
        self._test_icon.setFixedSize(20, 20)
        test_row.addWidget(self._test_icon, 0, Qt.AlignmentFlag.AlignTop)
        self._test_result = QLabel(self)
        self._test_result.setObjectName("testResult")
        self._test_result.setWordWrap(True)
        self._test_result.setTextFormat(Qt.TextFormat.PlainText)
        self._test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._test_result.setMinimumHeight(self._test_button.sizeHint().height())
        test_row.addWidget(self._test_result, 1)
        layout.addLayout(test_row)

        self._form_error = QLabel(self)
        self._form_error.setObjectName("formError")
        self._form_error.setWordWrap(True)
        self._form_error.setTextFormat(Qt.TextFormat.PlainText)
        self._form_error.setVisible(False)
        layout.addWidget(self._form_error)
        layout.addStretch(1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok_button is not None
        self._ok_button = ok_button
        self._ok_button.setText("&Save")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self._type_combo.currentIndexChanged.connect(self._on_type_combo_current_index_changed)
        self._oracle_service_radio.toggled.connect(self._on_oracle_mode_toggled)
        self._path_edit.textChanged.connect(self._on_path_edit_text_changed)
        for field, edit in (("name", self._name_edit), ("host", self._host_edit),
                            ("port", self._port_edit), ("database", self._database_edit),
                            ("dsn", self._dsn_edit), ("tns_admin", self._tns_admin_edit),
                            ("user", self._user_edit), ("password", self._password_edit)):
            edit.textChanged.connect(lambda _text, f=field: self._boxes[f].set_error(None))
        self._options_model.dataChanged.connect(lambda *_: self._boxes["options"].set_error(None))
        self._set_tab_order([self._name_edit, self._type_combo, self._oracle_service_radio,
                             self._oracle_dsn_radio, self._host_edit, self._port_edit,
                             self._database_edit, self._dsn_edit, self._tns_admin_edit, tns_browse,
                             self._path_edit, self._browse_button, self._driver_combo,
                             self._windows_auth_check, self._user_edit, self._password_edit,
                             self._clear_password_check, self._encrypt_check, self._trust_check,
                             self._options_view, self._add_option_button, self._remove_option_button,
                             self._test_button, self._ok_button])

    def _add_row(self, field: str, label: str, widget: QWidget | Sequence[QWidget], *,
                 expand: bool = True) -> None:
        box = _FieldBox(widget, self, expand=expand)
        box.setObjectName(f"{field}Field")
        text_label = QLabel(label, self)
        first = widget if isinstance(widget, QWidget) else widget[0]
        text_label.setBuddy(first)
        self._form.addRow(text_label, box)
        self._boxes[field] = box
        self._labels[field] = text_label

    def _set_tab_order(self, widgets: Sequence[QWidget]) -> None:
        for before, after in zip(widgets, widgets[1:], strict=False):
            QWidget.setTabOrder(before, after)

    # -- loading ----------------------------------------------------------------------------

    def _load(self, profile: ConnectionProfile | None, duplicate: bool) -> None:
        if profile is None:
            self._last_type = None
            self._on_type_combo_current_index_changed(self._type_combo.currentIndex())
            self._port_edit.setText(self._default_port_text(self.current_type()))
            self._update_password_state(None)
            return
        name = profile.name
        if duplicate:
            name = copy_name(profile.name, lambda n: self._store.find(n) is not None)
        self._name_edit.setText(name)
        index = self._type_combo.findData(profile.type)
        if index < 0:
            # A type edited into the file by hand: shown so the user sees what is wrong.
            self._type_combo.addItem(profile.type, profile.type)
            index = self._type_combo.count() - 1
        self._type_combo.blockSignals(True)
        self._type_combo.setCurrentIndex(index)
        self._type_combo.blockSignals(False)
        self._host_edit.setText(profile.host or "")
        self._port_edit.setText(str(profile.port) if profile.port else
                                self._default_port_text(profile.type))
        self._database_edit.setText(profile.database or "")
        self._user_edit.setText(profile.user or "")
        self._path_edit.setText(profile.path or "")
        options = dict(profile.options)
        if profile.type == "sqlserver":
            encrypt = _pop_option(options, ENCRYPT_OPTION)
            self._encrypt_check.setChecked(encrypt is None or _yes(encrypt))
            self._trust_check.setChecked(_yes(_pop_option(options, *_TRUST_CERTIFICATE_SPELLINGS)))
            # core connects with Windows authentication when no user is set, unless an
            # Authentication option (Azure AD ...) says otherwise.
            self._windows_auth_check.setChecked(
                not profile.user and not any(k.casefold() == "authentication" for k in options))
        if profile.type == "oracle":
            self._tns_admin_edit.setText(_pop_option(options, TNS_ADMIN_OPTION) or "")
            if "dsn" in profile.secrets:
                self._oracle_dsn_radio.setChecked(True)
                self._dsn_edit.setPlaceholderText(STORED_PASSWORD_HINT)
        rows = [OptionRow(k, v) for k, v in options.items()]
        rows += [OptionRow(key.removeprefix(_OPTION_SECRET_PREFIX), "", stored_secret=True)
                 for key in profile.secrets if key.startswith(_OPTION_SECRET_PREFIX)]
        self._options_model.set_rows(rows)
        self._update_password_state(profile)
        self._last_type = None
        self._on_type_combo_current_index_changed(index)

    def _update_password_state(self, profile: ConnectionProfile | None) -> None:
        token = profile.secrets.get("password") if profile else None
        if token is None:
            self._password_edit.setPlaceholderText("")
            self._clear_password_check.setVisible(False)
            return
        if self._store.secret_box.can_decrypt(token):
            self._password_edit.setPlaceholderText(STORED_PASSWORD_HINT)
            self._password_edit.setToolTip("A password is stored; it is never shown. "
                                           "Type a new one to replace it.")
        else:
            self._password_edit.setPlaceholderText(REENTER_PASSWORD_HINT)
            self._boxes["password"].set_note(
                "The stored password cannot be decrypted with this computer's key: re-enter it.")
        self._clear_password_check.setVisible(True)

    # -- state ------------------------------------------------------------------------------

    def _default_port_text(self, type_name: str) -> str:
        dialect = DIALECTS.get(type_name)
        return str(dialect.default_port) if dialect and dialect.default_port else ""

    def _port_value(self) -> int | None:
        text = self._port_edit.text().strip()
        return int(text) if text.isdigit() else None

    def _show_rows(self) -> None:
        type_name = self.current_type()
        dialect = DIALECTS.get(type_name)
        fields = set(dialect.fields if dialect else ("host", "port", "database", "user", "password"))
        oracle = type_name == "oracle"
        oracle_dsn = oracle and self._oracle_dsn_radio.isChecked()
        sqlserver = type_name == "sqlserver"
        shown = {
            "name": True,
            "type": True,
            "oracle_mode": oracle,
            "host": "host" in fields and not oracle_dsn,
            "port": "port" in fields and not oracle_dsn,
            "database": "database" in fields and not oracle_dsn,
            "dsn": oracle_dsn,
            "tns_admin": oracle,
            "path": "path" in fields,
            "driver": sqlserver,
            "windows_auth": sqlserver,
            "user": "user" in fields,
            "password": "password" in fields,
            "encryption": sqlserver,
            "options": type_name != "sqlite",
        }
        for field, visible in shown.items():
            self._form.setRowVisible(self._boxes[field], visible)
        self._labels["database"].setText("&Service name:" if oracle else "&Database:")
        self._database_edit.setPlaceholderText(
            "e.g. ORCLPDB1" if oracle else "optional: the server's default when empty")
        hint = _OPTION_HINTS.get(type_name)
        self._boxes["options"].set_note(f"{hint} {_SECRET_OPTION_HINT}" if hint else None)
        trusted = sqlserver and self._windows_auth_check.isChecked()
        self._user_edit.setEnabled(not trusted)
        self._password_edit.setEnabled(not trusted and not self._clear_password_check.isChecked())
        self._clear_password_check.setEnabled(not trusted)
        if sqlserver:
            self._fill_drivers()
        if type_name == "sqlite":
            self._update_path_note()
        self._fit_height()

    def _fit_height(self) -> None:
        # Wrapped notes and messages need more height at a narrower width, which a window's
        # minimum size does not account for: without this the rows would overlap.
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        needed = layout.totalHeightForWidth(self.width())
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)
            if self.height() < needed:
                self.resize(self.width(), needed)

    def _fill_drivers(self) -> None:
        if self._drivers is None:
            try:
                self._drivers = sqlserver_dialect.installed_drivers()
                self._driver_problem = None if self._drivers else sqlserver_dialect.no_driver_message()
            except (QdbmError, OSError) as exc:
                # pyodbc or unixODBC missing: say so, and still let the connection be saved.
                self._drivers = []
                self._driver_problem = str(exc)
            saved = self._original.driver if self._original else None
            self._driver_combo.clear()
            for name in self._drivers:
                self._driver_combo.addItem(name)
            if saved and saved not in self._drivers:
                self._driver_combo.addItem(f"{saved}")
                self._driver_combo.setItemData(self._driver_combo.count() - 1,
                                               "Saved with this connection, but not installed here",
                                               Qt.ItemDataRole.ToolTipRole)
            if saved:
                self._driver_combo.setCurrentText(saved)
            self._driver_combo.setEnabled(self._driver_combo.count() > 0)
        problem = self._driver_problem
        if problem:
            problem = problem[0].upper() + problem[1:] + "."
        self._boxes["driver"].set_note(problem)

    def _sqlite_new_file_note(self) -> str | None:
        """The note for a SQLite path that does not exist yet (in an existing folder)."""
        if self.current_type() != "sqlite":
            return None
        text = self._path_edit.text().strip()
        if not text:
            return None
        path = Path(text).expanduser()
        if not path.exists() and path.parent.is_dir():
            return "New file: an empty SQLite database will be created here when you save."
        return None

    def _update_path_note(self) -> None:
        self._boxes["path"].set_note(self._sqlite_new_file_note())
        self._fit_height()

    def _reset_test_button(self) -> None:
        self._test_button.setText("Test c&onnection")
        self._test_button.setToolTip("")

    def _show_test_result(self, ok: bool | None, text: str) -> None:
        self._test_result.setText(text)
        if ok is None:
            self._test_icon.clear()
        else:
            icon = load_icon("test-ok" if ok else "test-failed")
            self._test_icon.setPixmap(icon.pixmap(QSize(18, 18), self.devicePixelRatioF()))
        self._fit_height()

    # -- validation and saving --------------------------------------------------------------

    def _problems(self, draft: ConnectionDraft) -> list[tuple[str, str]]:
        """(field, message) for everything the form must fix before saving, in form order."""
        profile = draft.profile
        problems: list[tuple[str, str]] = []
        name = profile.name
        try:
            # Only the name is checked here: the type and the path are placeholders.
            validate_profile(ConnectionProfile(name=name, type="sqlite", path="-"))
        except QdbmError as exc:
            problems.append(("name", str(exc)))
        else:
            clash = self._store.find(name)
            if clash is not None and (not self._editing or self._original is None
                                      or clash.name != self._original.name):
                problems.append(("name", f"a connection named {clash.name!r} already exists"))
        type_name = profile.type
        if type_name not in DIALECTS:
            problems.append(("type", f"unknown database type {type_name!r}: choose one"))
            return problems
        dialect = DIALECTS[type_name]
        if type_name == "sqlite":
            problems += [("path", message) for message in self._path_problems()]
            return problems
        oracle_dsn = type_name == "oracle" and self._oracle_dsn_radio.isChecked()
        if oracle_dsn:
            if not draft.plain.get("dsn") and "dsn" not in profile.secrets:
                problems.append(("dsn", "enter a DSN, an Easy Connect string or a TNS alias"))
        else:
            if not profile.host:
                article = "an" if dialect.display_name[0] in "AEIOU" else "a"
                problems.append(("host", f"{article} {dialect.display_name} connection needs a host"))
            port_text = self._port_edit.text().strip()
            if port_text and not 1 <= int(port_text) <= 65535:
                problems.append(("port", f"port {int(port_text)} is out of range (1-65535)"))
            if type_name == "oracle" and not profile.database:
                problems.append(("database", "an Oracle connection needs a service name"))
        tns = self._tns_admin_edit.text().strip()
        if type_name == "oracle" and tns and not Path(tns).expanduser().is_dir():
            problems.append(("tns_admin", f"the folder {tns} does not exist"))
        seen: set[str] = set()
        for row in self._options_model.rows:
            if not row.key:
                if row.value:
                    problems.append(("options", f"the option with value {row.value!r} has no key"
                                     if not row.secret else "an option has a value but no key"))
                continue
            if row.key.casefold() in seen:
                problems.append(("options", f"the option {row.key!r} is given twice"))
            seen.add(row.key.casefold())
        return problems

    def _path_problems(self) -> list[str]:
        text = self._path_edit.text().strip()
        if not text:
            return ["a SQLite connection needs a database file: choose one or type a new file's path"]
        path = Path(text).expanduser()
        if path.is_dir():
            return [f"{path} is a folder, not a database file"]
        if not path.exists() and not path.parent.is_dir():
            return [f"the folder {path.parent} does not exist"]
        return []

    def _field_widget(self, field: str) -> QWidget:
        return {
            "name": self._name_edit, "type": self._type_combo, "host": self._host_edit,
            "port": self._port_edit, "database": self._database_edit, "dsn": self._dsn_edit,
            "tns_admin": self._tns_admin_edit, "path": self._path_edit, "options": self._options_view,
        }.get(field, self._name_edit)

    def _save(self) -> bool:
        for box in self._boxes.values():
            box.set_error(None)
        self._form_error.setVisible(False)
        draft = self.draft()
        problems = self._problems(draft)
        if problems:
            for field, message in problems:
                box = self._boxes[field]
                if not box.has_error:
                    box.set_error(message[0].upper() + message[1:])
            self._field_widget(problems[0][0]).setFocus(Qt.FocusReason.OtherFocusReason)
            self._fit_height()
            return False
        created_file: Path | None = None
        if draft.profile.type == "sqlite" and self._sqlite_new_file_note():
            created_file = Path(draft.profile.path or "").expanduser()
            try:
                # A few milliseconds of local file work: the user asked for this new file.
                create_empty_database(created_file)
            except (OSError, QdbmError) as exc:
                self._boxes["path"].set_error(f"The file cannot be created: {exc}")
                self._path_edit.setFocus(Qt.FocusReason.OtherFocusReason)
                return False
            except Exception as exc:  # noqa: BLE001 - sqlite3 refuses some paths with its own errors
                self._boxes["path"].set_error(f"The file cannot be created: {exc}")
                self._path_edit.setFocus(Qt.FocusReason.OtherFocusReason)
                return False
        try:
            if self._editing and self._original is not None:
                saved = self._store.update(self._original.name, draft.profile, draft.plain)
            else:
                saved = self._store.add(draft.profile, draft.plain)
        except (QdbmError, OSError) as exc:
            if created_file is not None:
                created_file.unlink(missing_ok=True)
            self._form_error.setText(f"The connection was not saved: {exc}")
            self._form_error.setVisible(True)
            self._fit_height()
            return False
        self._saved_name = saved.name
        self._saved_profile = saved
        return True

    # -- slots ------------------------------------------------------------------------------

    def _on_type_combo_current_index_changed(self, _index: int) -> None:
        new_type = self.current_type()
        if self._last_type is not None and self._last_type != new_type:
            # A port still at the old type's default follows the type; one typed in stays.
            port = self._port_edit.text().strip()
            if not port or port == self._default_port_text(self._last_type):
                self._port_edit.setText(self._default_port_text(new_type))
        self._last_type = new_type
        for field in ("host", "port", "database", "path", "dsn", "type"):
            self._boxes[field].set_error(None)
        self._show_rows()

    def _on_oracle_mode_toggled(self, _checked: bool) -> None:
        self._show_rows()

    def _on_windows_auth_check_toggled(self, _checked: bool) -> None:
        self._show_rows()

    def _on_clear_password_check_toggled(self, checked: bool) -> None:
        if checked:
            self._password_edit.clear()
        self._show_rows()

    def _on_path_edit_text_changed(self, _text: str) -> None:
        self._boxes["path"].set_error(None)
        self._update_path_note()

    def _on_browse_button_clicked(self) -> None:
        current = self._path_edit.text().strip()
        start = str(Path(current).expanduser()) if current else str(Path.home())
        path, _filter = QFileDialog.getSaveFileName(
            self, "Choose or create a SQLite database", start,
            "SQLite databases (*.sqlite *.sqlite3 *.db *.db3);;All files (*)",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self._path_edit.setText(path)

    def _on_tns_browse_clicked(self) -> None:
        current = self._tns_admin_edit.text().strip()
        folder = QFileDialog.getExistingDirectory(self, "Folder holding tnsnames.ora",
                                                  current or str(Path.home()))
        if folder:
            self._tns_admin_edit.setText(folder)

    def _on_add_option_button_clicked(self) -> None:
        row = self._options_model.append_row()
        index = self._options_model.index(row, OptionColumn.KEY)
        self._options_view.setCurrentIndex(index)
        self._options_view.edit(index)

    def _on_remove_option_button_clicked(self) -> None:
        index = self._options_view.currentIndex()
        if index.isValid():
            self._options_model.remove_row(index.row())

    def _on_test_button_clicked(self) -> None:
        if self._test_task is not None:
            self.stop_test()
        else:
            self.test_connection()

    def _from_current_test(self) -> bool:
        # A stopped test, or one started before the dialog closed, still reports: ignore it.
        return self._test_task is not None and self.sender() is self._test_task.signals

    def _on_test_task_succeeded(self, result: object) -> None:
        if not self._from_current_test() or not isinstance(result, ConnectionCheck):
            return
        if result.ok:
            self._show_test_result(True, f"Connected: {result.message} ({result.seconds:.1f} s)")
        else:
            self._show_test_result(False, f"Failed: {result.message}")

    def _on_test_task_failed(self, message: str) -> None:
        if self._from_current_test():
            self._show_test_result(False, f"Failed: {message}")

    def _on_test_task_finished(self) -> None:
        if self._from_current_test():
            self._test_task = None
            self._reset_test_button()

    # -- QDialog ----------------------------------------------------------------------------

    def accept(self) -> None:
        if self._save():
            self._forget_test()
            self.connection_saved.emit(self._saved_name or "")
            super().accept()

    def done(self, result: int) -> None:
        self._forget_test()
        super().done(result)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_height()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_height()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._forget_test()
        super().closeEvent(event)

    def _forget_test(self) -> None:
        # The running test ends in the background; its result is no longer wanted.
        self._test_task = None
        self._reset_test_button()
