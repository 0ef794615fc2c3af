"""The dialog that adds, edits or duplicates one saved connection.

Which fields each engine has, and how they are checked, comes from
:mod:`qdbm_desktop.core.connection_fields`; this module only lays them out and reads them back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRegularExpression, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QRegularExpressionValidator, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core.connection_fields import (
    DATABASE,
    DRIVER,
    DSN,
    ENCRYPT,
    HOST,
    MODE_DSN,
    MODE_SERVER,
    OPTIONS,
    PASSWORD,
    PATH,
    PORT,
    SECRET_OPTION_HINT,
    TNS_ADMIN,
    TRUST_CERTIFICATE,
    USER,
    WINDOWS_AUTH,
    EngineForm,
    FieldSpec,
    Target,
    engine_form,
    flag_from_options,
    flag_option,
    form_for,
    option_problems,
    pop_option,
)
from qdbm_desktop.core.connections import ConnectionProfile, is_secret_option, validate_profile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import create_empty_database
from qdbm_desktop.core.dialects import DIALECTS
from qdbm_desktop.core.dialects import sqlserver as sqlserver_dialect
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.gui.connection_form import FormRows, stacked
from qdbm_desktop.gui.connection_test import (
    DEFAULT_TEST_TIMEOUT,
    OPTION_SECRET_PREFIX,
    TESTING_TEXT,
    ConnectionDraft,
    ConnectionTestRow,
)
from qdbm_desktop.gui.icons import database_icon
from qdbm_desktop.gui.options_model import OptionColumn, OptionRow, OptionsModel
from qdbm_desktop.gui.workers import TaskRunner

__all__ = [
    "DEFAULT_TEST_TIMEOUT", "REENTER_PASSWORD_HINT", "STORED_PASSWORD_HINT", "TESTING_TEXT",
    "ConnectionDialog", "ConnectionDraft", "OptionColumn", "OptionRow", "OptionsModel", "copy_name",
]

STORED_PASSWORD_HINT = "stored — leave empty to keep it"
REENTER_PASSWORD_HINT = "re-enter the password"
#: Fields whose text counts as typed, spaces and all.
_UNSTRIPPED = frozenset({PASSWORD})
#: The form rows beyond the engine's fields, and the one row that shows two of them.
_ALWAYS_SHOWN = ("name", "type")
_ROW_OF = {ENCRYPT: "encryption", TRUST_CERTIFICATE: "encryption"}


def copy_name(name: str, taken: Callable[[str], bool]) -> str:
    """``name (copy)``, or ``name (copy 2)`` ... the first one ``taken`` says is free."""
    candidate = f"{name} (copy)"
    number = 2
    while taken(candidate):
        candidate = f"{name} (copy {number})"
        number += 1
    return candidate


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
        return self._test_row.running

    @property
    def test_timeout(self) -> float:
        return self._test_row.timeout

    @test_timeout.setter
    def test_timeout(self, seconds: float) -> None:
        self._test_row.timeout = seconds

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
        return self._test_row.button

    @property
    def test_result_label(self) -> QLabel:
        return self._test_row.result_label

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
        return self._rows.boxes[field].error_line.text()

    def note_text(self, field: str) -> str:
        """The neutral note under ``field`` (a new SQLite file, no ODBC driver ...)."""
        box = self._rows.boxes[field]
        return box.note.text() if not box.note.isHidden() else ""

    def is_field_shown(self, field: str) -> bool:
        return self._rows.is_visible(field)

    def draft(self) -> ConnectionDraft:
        """What the form holds now, as a profile plus the secrets typed in it."""
        type_name = self.current_type()
        form = form_for(type_name)
        ticked = self._ticked(form)
        in_use = form.in_use(self._mode(form), ticked)
        kept = dict(self._stored_tokens)
        plain: dict[str, str | None] = {}
        values: dict[str, Any] = {}
        options: dict[str, str] = {}
        for spec in in_use:
            self._take_value(spec, values, options, plain)
        secrets_in_use = {spec.key for spec in in_use if spec.target is Target.SECRET}
        for key in kept:
            # A secret the form no longer asks for must go: core prefers a DSN over host and
            # service name, and a SQLite file has no password.
            if not key.startswith(OPTION_SECRET_PREFIX) and key not in secrets_in_use:
                plain[key] = None
        for spec in form.fields:
            if spec.target is Target.SECRET and spec.off_when in ticked:
                plain[spec.key] = None
        kept_options = self._take_option_rows(options, plain) if OPTIONS in {s.key for s in in_use} else set()
        for key in kept:
            if key.startswith(OPTION_SECRET_PREFIX) and key not in plain \
                    and key.removeprefix(OPTION_SECRET_PREFIX) not in kept_options:
                plain[key] = None
        for key, value in plain.items():
            if value is None:
                kept.pop(key, None)
        profile = ConnectionProfile(name=self._name_edit.text(), type=type_name, **values,
                                    options=options, secrets=kept)
        return ConnectionDraft(profile, plain)

    def test_connection(self) -> bool:
        """Start a test of what the form holds; False when a test is already running."""
        return self._test_row.start()

    def stop_test(self) -> None:
        """Stop waiting for the running test (it ends in the background; its result is ignored)."""
        self._test_row.stop()

    # -- reading the form -------------------------------------------------------------------

    def _take_value(self, spec: FieldSpec, values: dict[str, Any], options: dict[str, str],
                    plain: dict[str, str | None]) -> None:
        """Put the value of the field ``spec`` where it belongs: the profile, an option or a secret."""
        raw = self._readers[spec.key]() if spec.key in self._readers else ""
        text = raw if spec.key in _UNSTRIPPED else raw.strip()
        if spec.target is Target.PROFILE:
            values[spec.key] = self._port_value() if spec.key == PORT else (text or None)
        elif spec.target is Target.SECRET:
            clear = self._clear_checks.get(spec.key)
            if clear is not None and clear.isChecked():
                plain[spec.key] = None
            elif text:
                plain[spec.key] = text
        elif spec.target is Target.OPTION and spec.option_key:
            value = flag_option(spec, self._checks[spec.key].isChecked()) if spec.flag else text
            if value:
                options[spec.option_key] = value

    def _take_option_rows(self, options: dict[str, str], plain: dict[str, str | None]) -> set[str]:
        """Add the options table's rows; returns the keys of the stored secret options kept."""
        kept_options: set[str] = set()
        for row in self._options_model.rows:
            if not row.key:
                continue
            if row.stored_secret and not row.value:
                kept_options.add(row.key)
            elif is_secret_option(row.key):
                plain[OPTION_SECRET_PREFIX + row.key] = row.value
            else:
                options[row.key] = row.value
        return kept_options

    def _field_texts(self) -> dict[str, str]:
        return {key: read().strip() for key, read in self._readers.items()}

    def _mode(self, form: EngineForm) -> str:
        return MODE_DSN if MODE_DSN in form.modes and self._oracle_dsn_radio.isChecked() else MODE_SERVER

    def _ticked(self, form: EngineForm) -> set[str]:
        return {key for key, check in self._checks.items() if form.has(key) and check.isChecked()}

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        self._rows = FormRows(self)
        self._build_identity_rows()
        self._build_server_rows()
        self._build_file_and_driver_rows()
        self._build_sign_in_rows()
        self._build_options_row()
        layout.addLayout(self._rows.layout)
        self._test_row = ConnectionTestRow(self._runner, self._store, self.draft, self._sqlite_new_file_note,
                                           self)
        self._test_row.result_shown.connect(self._fit_height)
        layout.addWidget(self._test_row)
        self._form_error = QLabel(self)
        self._form_error.setObjectName("formError")
        self._form_error.setWordWrap(True)
        self._form_error.setTextFormat(Qt.TextFormat.PlainText)
        self._form_error.setVisible(False)
        layout.addWidget(self._form_error)
        layout.addStretch(1)
        layout.addWidget(self._build_buttons())
        self._index_fields()
        self._connect_fields()
        self._set_tab_order([self._name_edit, self._type_combo, self._oracle_service_radio,
                             self._oracle_dsn_radio, self._host_edit, self._port_edit,
                             self._database_edit, self._dsn_edit, self._tns_admin_edit, self._tns_browse,
                             self._path_edit, self._browse_button, self._driver_combo,
                             self._windows_auth_check, self._user_edit, self._password_edit,
                             self._clear_password_check, self._encrypt_check, self._trust_check,
                             self._options_view, self._add_option_button, self._remove_option_button,
                             self._test_row.button, self._ok_button])

    def _build_identity_rows(self) -> None:
        self._name_edit = self._line_edit("nameEdit", "e.g. Orders (production)")
        self._rows.add("name", "&Name:", self._name_edit)
        self._type_combo = QComboBox(self)
        self._type_combo.setObjectName("typeCombo")
        self._type_combo.setIconSize(QSize(18, 18))
        for dialect in DIALECTS.values():
            self._type_combo.addItem(database_icon(dialect.name), dialect.display_name, dialect.name)
        self._rows.add("type", "&Type:", self._type_combo)

    def _build_server_rows(self) -> None:
        # Where the server is given, for an engine with two ways (Oracle).
        self._oracle_service_radio = QRadioButton("Host and service name", self)
        self._oracle_dsn_radio = QRadioButton("DSN, Easy Connect string or TNS alias", self)
        self._oracle_group = QButtonGroup(self)
        self._oracle_group.addButton(self._oracle_service_radio)
        self._oracle_group.addButton(self._oracle_dsn_radio)
        self._oracle_service_radio.setChecked(True)
        self._rows.add("oracle_mode", "Connect with:",
                       stacked(self, self._oracle_service_radio, self._oracle_dsn_radio))
        self._host_edit = self._line_edit("hostEdit", "host name or IP address")
        self._rows.add(HOST, "&Host:", self._host_edit)
        self._port_edit = self._line_edit("portEdit")
        # Digits only; the range is checked on save, where the message can say what is wrong.
        self._port_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,5}"), self))
        self._port_edit.setMaximumWidth(self.fontMetrics().horizontalAdvance("0") * 10 + 24)
        self._rows.add(PORT, "&Port:", self._port_edit, expand=False)
        self._database_edit = self._line_edit("databaseEdit")
        self._rows.add(DATABASE, "&Database:", self._database_edit)
        self._dsn_edit = self._line_edit("dsnEdit", "host:1521/service, a TNS alias or a (DESCRIPTION=…)")
        self._rows.add(DSN, "DS&N:", self._dsn_edit)
        self._tns_admin_edit = self._line_edit("tnsAdminEdit", "optional: the folder holding tnsnames.ora")
        self._tns_browse = QPushButton("Browse…", self)
        self._tns_browse.clicked.connect(self._on_tns_browse_clicked)
        self._rows.add(TNS_ADMIN, "TNS_ADMIN folder:", [self._tns_admin_edit, self._tns_browse])

    def _build_file_and_driver_rows(self) -> None:
        self._path_edit = self._line_edit("pathEdit", "an existing database file, or a new one to create")
        self._browse_button = QPushButton("&Browse…", self)
        self._browse_button.clicked.connect(self._on_browse_button_clicked)
        self._rows.add(PATH, "&File:", [self._path_edit, self._browse_button])
        self._driver_combo = QComboBox(self)
        self._driver_combo.setObjectName("driverCombo")
        self._rows.add(DRIVER, "ODBC dri&ver:", self._driver_combo)
        self._windows_auth_check = QCheckBox("&Windows authentication (no user name or password)", self)
        self._windows_auth_check.toggled.connect(self._on_windows_auth_check_toggled)
        self._rows.add(WINDOWS_AUTH, "", self._windows_auth_check)

    def _build_sign_in_rows(self) -> None:
        self._user_edit = self._line_edit("userEdit")
        self._rows.add(USER, "&User:", self._user_edit)
        self._password_edit = self._line_edit("passwordEdit")
        self._password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self._clear_password_check = QCheckBox("Clear the stored password", self)
        self._clear_password_check.setVisible(False)
        self._clear_password_check.toggled.connect(self._on_clear_password_check_toggled)
        self._rows.add(PASSWORD, "Pass&word:", [self._password_edit, self._clear_password_check])
        self._encrypt_check = QCheckBox("&Encrypt the connection", self)
        self._encrypt_check.setChecked(True)
        self._trust_check = QCheckBox("Trust the server &certificate without checking it", self)
        self._rows.add("encryption", "Encryption:", stacked(self, self._encrypt_check, self._trust_check))

    def _build_options_row(self) -> None:
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
        self._rows.add(OPTIONS, "SSL and\noptions:", [self._options_view, option_buttons])

    def _build_buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok_button is not None
        self._ok_button = ok_button
        self._ok_button.setText("&Save")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        return buttons

    def _index_fields(self) -> None:
        """The widgets behind the field keys of :mod:`~qdbm_desktop.core.connection_fields`."""
        self._edits: dict[str, QLineEdit] = {
            "name": self._name_edit, HOST: self._host_edit, PORT: self._port_edit,
            DATABASE: self._database_edit, DSN: self._dsn_edit, TNS_ADMIN: self._tns_admin_edit,
            PATH: self._path_edit, USER: self._user_edit, PASSWORD: self._password_edit}
        self._readers: dict[str, Callable[[], str]] = {
            key: edit.text for key, edit in self._edits.items() if key != "name"}
        self._readers[DRIVER] = self._driver_combo.currentText
        self._checks: dict[str, QCheckBox] = {
            WINDOWS_AUTH: self._windows_auth_check, ENCRYPT: self._encrypt_check,
            TRUST_CERTIFICATE: self._trust_check}
        self._clear_checks = {PASSWORD: self._clear_password_check}

    def _connect_fields(self) -> None:
        self._type_combo.currentIndexChanged.connect(self._on_type_combo_current_index_changed)
        self._oracle_service_radio.toggled.connect(self._on_oracle_mode_toggled)
        self._path_edit.textChanged.connect(self._on_path_edit_text_changed)
        for field, edit in self._edits.items():
            if field != PATH:
                edit.textChanged.connect(lambda _text, f=field: self._rows.boxes[f].set_error(None))
        self._options_model.dataChanged.connect(lambda *_: self._rows.boxes[OPTIONS].set_error(None))

    def _line_edit(self, name: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        if placeholder:
            edit.setPlaceholderText(placeholder)
        return edit

    def _set_tab_order(self, widgets: Sequence[QWidget]) -> None:
        for before, after in zip(widgets, widgets[1:], strict=False):
            QWidget.setTabOrder(before, after)

    # -- loading ----------------------------------------------------------------------------

    def _load(self, profile: ConnectionProfile | None, duplicate: bool) -> None:
        if profile is None:
            self._last_type = None
            self._on_type_combo_current_index_changed(self._type_combo.currentIndex())
            self._port_edit.setText(form_for(self.current_type()).default_port_text)
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
        form = form_for(profile.type)
        self._host_edit.setText(profile.host or "")
        self._port_edit.setText(str(profile.port) if profile.port else form.default_port_text)
        self._database_edit.setText(profile.database or "")
        self._user_edit.setText(profile.user or "")
        self._path_edit.setText(profile.path or "")
        options = self._load_option_fields(form, profile)
        rows = [OptionRow(k, v) for k, v in options.items()]
        rows += [OptionRow(key.removeprefix(OPTION_SECRET_PREFIX), "", stored_secret=True)
                 for key in profile.secrets if key.startswith(OPTION_SECRET_PREFIX)]
        self._options_model.set_rows(rows)
        self._update_password_state(profile)
        self._last_type = None
        self._on_type_combo_current_index_changed(index)

    def _load_option_fields(self, form: EngineForm, profile: ConnectionProfile) -> dict[str, str]:
        """Fill the fields kept as driver options; returns the options left for the table."""
        options = dict(profile.options)
        for spec in form.fields:
            if spec.target is not Target.OPTION:
                continue
            if spec.flag:
                self._checks[spec.key].setChecked(flag_from_options(spec, options))
            else:
                self._edits[spec.key].setText(pop_option(options, *spec.option_spellings) or "")
        if form.has(WINDOWS_AUTH):
            # core connects with Windows authentication when no user is set, unless an
            # Authentication option (Azure AD ...) says otherwise.
            self._windows_auth_check.setChecked(
                not profile.user and not any(k.casefold() == "authentication" for k in options))
        if form.has(DSN) and DSN in profile.secrets:
            self._oracle_dsn_radio.setChecked(True)
            self._dsn_edit.setPlaceholderText(STORED_PASSWORD_HINT)
        return options

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
            self._rows.boxes[PASSWORD].set_note(
                "The stored password cannot be decrypted with this computer's key: re-enter it.")
        self._clear_password_check.setVisible(True)

    # -- state ------------------------------------------------------------------------------

    def _port_value(self) -> int | None:
        text = self._port_edit.text().strip()
        return int(text) if text.isdigit() else None

    def _show_rows(self) -> None:
        form = form_for(self.current_type())
        shown = {_ROW_OF.get(spec.key, spec.key) for spec in form.shown(self._mode(form))}
        shown.update(_ALWAYS_SHOWN)
        if len(form.modes) > 1:
            shown.add("oracle_mode")
        for field in self._rows.boxes:
            self._rows.set_visible(field, field in shown)
        self._rows.labels[DATABASE].setText(form.database_label)
        self._database_edit.setPlaceholderText(form.database_placeholder)
        hint = form.options_hint
        self._rows.boxes[OPTIONS].set_note(f"{hint} {SECRET_OPTION_HINT}" if hint else None)
        trusted = WINDOWS_AUTH in self._ticked(form)
        self._user_edit.setEnabled(not trusted)
        self._password_edit.setEnabled(not trusted and not self._clear_password_check.isChecked())
        self._clear_password_check.setEnabled(not trusted)
        if form.has(DRIVER):
            self._fill_drivers()
        if form.has(PATH):
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
        self._rows.boxes[DRIVER].set_note(problem)

    def _sqlite_new_file_note(self) -> str | None:
        """The note for a database file that does not exist yet (in an existing folder)."""
        if not form_for(self.current_type()).has(PATH):
            return None
        text = self._path_edit.text().strip()
        if not text:
            return None
        path = Path(text).expanduser()
        if not path.exists() and path.parent.is_dir():
            return "New file: an empty SQLite database will be created here when you save."
        return None

    def _update_path_note(self) -> None:
        self._rows.boxes[PATH].set_note(self._sqlite_new_file_note())
        self._fit_height()

    # -- validation and saving --------------------------------------------------------------

    def _problems(self, draft: ConnectionDraft) -> list[tuple[str, str]]:
        """(field, message) for everything the form must fix before saving, in form order."""
        profile = draft.profile
        problems = self._name_problems(profile.name)
        form = engine_form(profile.type)
        if form is None:
            problems.append(("type", f"unknown database type {profile.type!r}: choose one"))
            return problems
        problems += form.problems(self._field_texts(), mode=self._mode(form), ticked=self._ticked(form),
                                  stored=profile.secrets.keys())
        if form.has(OPTIONS):
            rows = [(row.key, row.value, row.secret) for row in self._options_model.rows]
            problems += [(OPTIONS, message) for message in option_problems(rows)]
        return problems

    def _name_problems(self, name: str) -> list[tuple[str, str]]:
        try:
            # Only the name is checked here: the type and the path are placeholders.
            validate_profile(ConnectionProfile(name=name, type="sqlite", path="-"))
        except QdbmError as exc:
            return [("name", str(exc))]
        clash = self._store.find(name)
        if clash is not None and (not self._editing or self._original is None
                                  or clash.name != self._original.name):
            return [("name", f"a connection named {clash.name!r} already exists")]
        return []

    def _field_widget(self, field: str) -> QWidget:
        widgets: dict[str, QWidget] = {"type": self._type_combo, OPTIONS: self._options_view, **self._edits}
        return widgets.get(field, self._name_edit)

    def _save(self) -> bool:
        self._rows.clear_errors()
        self._form_error.setVisible(False)
        draft = self.draft()
        problems = self._problems(draft)
        if problems:
            for field, message in problems:
                box = self._rows.boxes[field]
                if not box.has_error:
                    box.set_error(message)
            self._field_widget(problems[0][0]).setFocus(Qt.FocusReason.OtherFocusReason)
            self._fit_height()
            return False
        created_file: Path | None = None
        if self._sqlite_new_file_note():
            created_file = Path(draft.profile.path or "").expanduser()
            try:
                # A few milliseconds of local file work: the user asked for this new file.
                create_empty_database(created_file)
            except (OSError, QdbmError) as exc:
                self._rows.boxes[PATH].set_error(f"The file cannot be created: {exc}")
                self._path_edit.setFocus(Qt.FocusReason.OtherFocusReason)
                return False
            except Exception as exc:  # noqa: BLE001 - sqlite3 refuses some paths with its own errors
                self._rows.boxes[PATH].set_error(f"The file cannot be created: {exc}")
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
            if not port or port == form_for(self._last_type).default_port_text:
                self._port_edit.setText(form_for(new_type).default_port_text)
        self._last_type = new_type
        self._rows.clear_errors((HOST, PORT, DATABASE, PATH, DSN, "type"))
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
        self._rows.boxes[PATH].set_error(None)
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
        self._test_row.forget()
