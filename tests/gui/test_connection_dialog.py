"""The connection dialog, driven through its widgets against real databases where one runs here."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt, QThreadPool, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects import sqlserver
from qdbm_desktop.core.dialects.sqlserver import drivers as sqlserver_drivers
from qdbm_desktop.core.errors import MASK, DriverMissing
from qdbm_desktop.gui.connection_dialog import (
    REENTER_PASSWORD_HINT,
    STORED_PASSWORD_HINT,
    TESTING_TEXT,
    ConnectionDialog,
    OptionColumn,
    OptionRow,
    OptionsModel,
    copy_name,
)
from qdbm_desktop.gui.workers import TaskRunner
from tests.gui.conftest import FinishingPool
from tests.integration.conftest import Server

OpenDialog = Callable[..., ConnectionDialog]


@pytest.fixture
def runner() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()
    # A task has said it finished a moment before its pool thread is free again.
    QThreadPool.globalInstance().waitForDone(5000)


@pytest.fixture
def open_dialog(qtbot: QtBot, context: AppContext, runner: TaskRunner) -> OpenDialog:
    """Shows a connection dialog; pytest-qt closes it after the test."""

    def open_(profile: ConnectionProfile | None = None, *, duplicate: bool = False) -> ConnectionDialog:
        dialog = ConnectionDialog(context, runner, profile, duplicate=duplicate)
        qtbot.addWidget(dialog)
        with qtbot.waitExposed(dialog):
            dialog.show()
        return dialog

    return open_


@pytest.fixture
def refused_port() -> int:
    """A local port nothing listens on: a connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a test against it hangs until its timeout."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def _type(qtbot: QtBot, dialog: ConnectionDialog, **fields: str) -> None:
    """Type into the named line edits (``name``, ``host``, ``port`` ...), replacing what they hold."""
    for field, text in fields.items():
        edit = getattr(dialog, f"{field}_edit")
        edit.clear()
        qtbot.keyClicks(edit, text)


def _choose_type(dialog: ConnectionDialog, type_name: str) -> None:
    dialog.type_combo.setCurrentIndex(dialog.type_combo.findData(type_name))


def _open_editor(dialog: ConnectionDialog) -> QLineEdit:
    """The cell editor open in the options table."""
    editors = [e for e in dialog.options_view.findChildren(QLineEdit) if e.isVisible()]
    assert len(editors) == 1
    return editors[0]


def _tick(qtbot: QtBot, button: QAbstractButton) -> None:
    """Click a check box or radio button on its indicator (a wide one ignores clicks past its text)."""
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(6, button.height() // 2))


def _save(qtbot: QtBot, dialog: ConnectionDialog) -> None:
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def _run_test(qtbot: QtBot, dialog: ConnectionDialog, timeout: int = 15_000) -> str:
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.test_running, timeout=timeout)
    return dialog.test_result_label.text()


def _fill_postgresql(qtbot: QtBot, dialog: ConnectionDialog, server: Server, name: str,
                     password: str | None = None) -> None:
    _choose_type(dialog, "postgresql")
    _type(qtbot, dialog, name=name, host=server.host, port=str(server.port), database=server.database,
          user=server.user)
    if password is not None:
        _type(qtbot, dialog, password=password)


# -- the options model ----------------------------------------------------------------------


def test_options_model_passes_the_model_tester_through_edits(qtmodeltester: Any) -> None:
    model = OptionsModel()
    model.set_rows([OptionRow("sslmode", "require"), OptionRow("sslpassword", "", stored_secret=True)])
    qtmodeltester.check(model)
    row = model.append_row()
    assert model.setData(model.index(row, OptionColumn.KEY), "sslrootcert")
    assert model.setData(model.index(row, OptionColumn.VALUE), "/etc/ca.pem")
    model.remove_row(0)
    assert [r.key for r in model.rows] == ["sslpassword", "sslrootcert"]
    # A stored credential is masked and never handed to an editor.
    assert model.index(0, OptionColumn.VALUE).data() == MASK
    assert model.index(0, OptionColumn.VALUE).data(Qt.ItemDataRole.EditRole) == ""
    model.set_rows([])


def test_copy_name_picks_the_first_free_copy_number() -> None:
    taken = {"Orders (copy)", "Orders (copy 2)"}
    assert copy_name("Orders", taken.__contains__) == "Orders (copy 3)"
    assert copy_name("Shop", taken.__contains__) == "Shop (copy)"


# -- fields shown per type -------------------------------------------------------------------


def test_each_type_shows_only_its_fields_and_the_port_follows_the_type_default(open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    assert dialog.windowTitle() == "New connection"
    _choose_type(dialog, "postgresql")
    assert dialog.port_edit.text() == "5432"
    assert all(dialog.is_field_shown(f) for f in ("host", "port", "database", "user", "password", "options"))
    assert not any(dialog.is_field_shown(f) for f in ("path", "driver", "dsn", "tns_admin", "windows_auth"))
    assert dialog.password_edit.echoMode() == dialog.password_edit.EchoMode.Password

    _choose_type(dialog, "sqlite")
    assert dialog.is_field_shown("path")
    assert not any(dialog.is_field_shown(f) for f in ("host", "port", "user", "password", "options"))

    _choose_type(dialog, "mysql")
    assert dialog.port_edit.text() == "3306"
    dialog.port_edit.setText("3307")
    _choose_type(dialog, "postgresql")
    assert dialog.port_edit.text() == "3307", "a port the user typed is kept"

    _choose_type(dialog, "oracle")
    assert dialog.is_field_shown("tns_admin") and dialog.is_field_shown("oracle_mode")
    dialog.oracle_dsn_radio.setChecked(True)
    assert dialog.is_field_shown("dsn")
    assert not any(dialog.is_field_shown(f) for f in ("host", "port", "database"))


# -- adding -----------------------------------------------------------------------------------


def test_adding_a_sqlite_connection_to_a_new_file_says_so_and_creates_the_file(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext, tmp_path: Path) -> None:
    dialog = open_dialog()
    _choose_type(dialog, "sqlite")
    target = tmp_path / "new.sqlite"
    _type(qtbot, dialog, name="Scratch", path=str(target))
    assert "New file" in dialog.note_text("path")
    assert not target.exists()
    _save(qtbot, dialog)
    assert dialog.result() == dialog.DialogCode.Accepted
    assert dialog.saved_name == "Scratch"
    assert target.is_file()
    with sqlite3.connect(target) as db:
        db.execute("PRAGMA schema_version").fetchone()
    profile = context.connections.get("Scratch")
    assert (profile.type, profile.path, profile.secrets) == ("sqlite", str(target), {})


def test_an_existing_sqlite_file_tests_with_its_version(
        qtbot: QtBot, open_dialog: OpenDialog, tmp_path: Path) -> None:
    existing = tmp_path / "shop.sqlite"
    with sqlite3.connect(existing) as db:
        db.execute("CREATE TABLE t (x INTEGER)")
    dialog = open_dialog()
    _choose_type(dialog, "sqlite")
    _type(qtbot, dialog, name="Shop", path=str(existing))
    assert dialog.note_text("path") == ""
    assert _run_test(qtbot, dialog).startswith(f"Connected: SQLite {sqlite3.sqlite_version}")


def test_adding_a_postgresql_connection_tests_it_with_the_server_version_then_saves_it(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext, pg_database: Server) -> None:
    dialog = open_dialog()
    _fill_postgresql(qtbot, dialog, pg_database, "Orders")
    assert _run_test(qtbot, dialog).startswith("Connected: PostgreSQL ")
    assert dialog.test_button.text() == "Test c&onnection"
    _save(qtbot, dialog)
    assert dialog.result() == dialog.DialogCode.Accepted
    saved = context.connections.get("Orders")
    assert (saved.host, saved.port, saved.database, saved.user) == (
        pg_database.host, pg_database.port, pg_database.database, pg_database.user)
    assert saved.secrets == {}


def test_wrong_password_shows_the_servers_reason_without_the_password_and_a_right_one_connects(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext, pg_password_server: Server) -> None:
    dialog = open_dialog()
    _fill_postgresql(qtbot, dialog, pg_password_server, "Guarded", password="not-the-password")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.test_result_label.text() == TESTING_TEXT
    # The dialog answers while the server is being asked.
    qtbot.keyClicks(dialog.name_edit, " DB")
    assert dialog.name_edit.text() == "Guarded DB"
    qtbot.waitUntil(lambda: not dialog.test_running, timeout=15_000)
    message = dialog.test_result_label.text()
    assert message.startswith("Failed: ")
    assert "password authentication failed" in message
    assert "not-the-password" not in message

    _type(qtbot, dialog, password=pg_password_server.password)
    assert _run_test(qtbot, dialog).startswith("Connected: PostgreSQL ")
    _save(qtbot, dialog)
    params = context.connections.connect_params(context.connections.get("Guarded DB"))
    assert params.password == pg_password_server.password


def test_a_slow_test_leaves_the_dialog_responsive_and_a_second_click_stops_it(
        qtbot: QtBot, open_dialog: OpenDialog, runner: TaskRunner, silent_server: int) -> None:
    dialog = open_dialog()
    dialog.test_timeout = 2
    _fill_postgresql(qtbot, dialog, Server("127.0.0.1", silent_server, "postgres", "", "db"), "Silent")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    running_after_the_click = dialog.test_running
    assert running_after_the_click
    assert dialog.test_button.text() == "Stop test"
    # The event loop keeps running while the server is silent: timers fire, typing lands.
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(50)
    qtbot.wait(500)
    timer.stop()
    running_while_typing = dialog.test_running
    assert running_while_typing and len(ticks) >= 5
    qtbot.keyClicks(dialog.database_edit, "_other")
    assert dialog.database_edit.text() == "db_other"
    assert dialog.test_result_label.text() == TESTING_TEXT

    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert not dialog.test_running
    assert dialog.test_result_label.text() == "Test stopped."
    # The stopped test ends in the background and its late result is not shown.
    qtbot.waitUntil(lambda: not runner.running, timeout=10_000)
    QApplication.processEvents()
    assert dialog.test_result_label.text() == "Test stopped."


def test_a_refused_connection_fails_the_test_and_the_button_reads_test_connection_again(
        qtbot: QtBot, open_dialog: OpenDialog, refused_port: int) -> None:
    dialog = open_dialog()
    _fill_postgresql(qtbot, dialog, Server("127.0.0.1", refused_port, "postgres", "", "db"), "Refused")
    text = _run_test(qtbot, dialog)
    assert text.startswith("Failed:") and "refused" in text.lower(), text
    assert dialog.test_button.text().replace("&", "") == "Test connection"
    # The next click tests again rather than stopping a test that has already ended.
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.test_button.text() == "Stop test"
    qtbot.waitUntil(lambda: not dialog.test_running, timeout=15_000)


def test_a_test_that_ends_before_start_returns_still_resets_the_button(
        qtbot: QtBot, context: AppContext, refused_port: int) -> None:
    # The pool runs the test to its end inside start(): the worst case of a fast failure, every
    # time. A finished handler connected after start() never hears of it.
    runner = TaskRunner(FinishingPool())
    dialog = ConnectionDialog(context, runner)
    qtbot.addWidget(dialog)
    dialog.show()
    _fill_postgresql(qtbot, dialog, Server("127.0.0.1", refused_port, "postgres", "", "db"), "Refused")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.test_running, timeout=5_000)
    assert dialog.test_button.text().replace("&", "") == "Test connection"
    assert dialog.test_result_label.text().startswith("Failed:")
    assert runner.running == []


def test_closing_the_dialog_during_a_test_lets_the_test_end_in_the_background(
        qtbot: QtBot, context: AppContext, runner: TaskRunner, silent_server: int) -> None:
    dialog = ConnectionDialog(context, runner)
    dialog.test_timeout = 1
    dialog.show()
    _fill_postgresql(qtbot, dialog, Server("127.0.0.1", silent_server, "postgres", "", "db"), "Silent")
    assert dialog.test_connection()
    assert not dialog.test_connection(), "a second test does not start while one runs"
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    dialog.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()
    qtbot.waitUntil(lambda: not runner.running, timeout=10_000)
    QApplication.processEvents()
    assert context.connections.list() == []


# -- editing ----------------------------------------------------------------------------------


def _saved_pg(context: AppContext, name: str = "Orders", password: str | None = "s3cret") -> ConnectionProfile:
    profile = ConnectionProfile(name=name, type="postgresql", host="db.example.org", port=5433,
                                database="shop", user="reporter")
    return context.connections.add(profile, {"password": password} if password else None)


def test_editing_shows_a_stored_password_without_revealing_it_and_keeps_it_when_untouched(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext) -> None:
    profile = _saved_pg(context)
    dialog = open_dialog(profile)
    assert dialog.windowTitle() == "Edit connection “Orders”"
    assert dialog.password_edit.text() == ""
    assert dialog.password_edit.placeholderText() == STORED_PASSWORD_HINT
    assert dialog.port_edit.text() == "5433"
    _type(qtbot, dialog, database="shop_archive")
    _save(qtbot, dialog)
    saved = context.connections.get("Orders")
    assert saved.database == "shop_archive"
    assert context.connections.connect_params(saved).password == "s3cret"
    assert saved.created_at == profile.created_at


def test_renaming_keeps_the_stored_password(qtbot: QtBot, open_dialog: OpenDialog, context: AppContext) -> None:
    dialog = open_dialog(_saved_pg(context))
    _type(qtbot, dialog, name="Orders (archive)")
    _save(qtbot, dialog)
    assert dialog.saved_name == "Orders (archive)"
    assert [p.name for p in context.connections.list()] == ["Orders (archive)"]
    assert context.connections.connect_params(context.connections.get("Orders (archive)")).password == "s3cret"


def test_a_new_password_replaces_the_stored_one_and_clearing_removes_it(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext) -> None:
    dialog = open_dialog(_saved_pg(context))
    _type(qtbot, dialog, password="n3w")
    _save(qtbot, dialog)
    assert context.connections.connect_params(context.connections.get("Orders")).password == "n3w"

    dialog = open_dialog(context.connections.get("Orders"))
    assert dialog.clear_password_check.isVisible()
    _tick(qtbot, dialog.clear_password_check)
    assert not dialog.password_edit.isEnabled()
    _save(qtbot, dialog)
    assert context.connections.get("Orders").secrets == {}


def test_a_password_this_computer_cannot_decrypt_asks_to_be_entered_again(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext) -> None:
    foreign = ConnectionProfile(name="Moved", type="postgresql", host="h", user="u",
                                secrets={"password": "gAAAAAB-not-a-token-of-this-key"})
    context.connections.add(foreign)
    dialog = open_dialog(context.connections.get("Moved"))
    assert dialog.password_edit.placeholderText() == REENTER_PASSWORD_HINT
    assert "re-enter" in dialog.note_text("password")
    _type(qtbot, dialog, password="again")
    _save(qtbot, dialog)
    assert context.connections.connect_params(context.connections.get("Moved")).password == "again"


def test_duplicating_opens_a_copy_under_a_free_name_with_the_password(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext) -> None:
    original = _saved_pg(context)
    context.connections.record_test("Orders", "ok: PostgreSQL 16")
    dialog = open_dialog(context.connections.get("Orders"), duplicate=True)
    assert dialog.name_edit.text() == "Orders (copy)"
    assert dialog.password_edit.placeholderText() == STORED_PASSWORD_HINT
    _save(qtbot, dialog)
    copy = context.connections.get("Orders (copy)")
    assert (copy.host, copy.port, copy.database, copy.user) == (
        original.host, original.port, original.database, original.user)
    assert copy.last_test is None
    assert context.connections.connect_params(copy).password == "s3cret"
    assert context.connections.get("Orders").last_test == "ok: PostgreSQL 16"


# -- validation -------------------------------------------------------------------------------


def test_bad_input_is_named_next_to_the_field_focused_and_nothing_is_saved(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext, tmp_path: Path) -> None:
    _saved_pg(context, "Taken", password=None)
    dialog = open_dialog()
    _choose_type(dialog, "postgresql")
    _type(qtbot, dialog, port="0")
    _save(qtbot, dialog)
    assert dialog.isVisible()
    assert dialog.error_text("name") == "A connection needs a name"
    assert dialog.error_text("host") == "A PostgreSQL connection needs a host"
    assert dialog.error_text("port") == "Port 0 is out of range (1-65535)"
    assert QApplication.focusWidget() is dialog.name_edit
    # Typing into a field takes its message away.
    _type(qtbot, dialog, name="taken", host="db", port="70000")
    assert dialog.error_text("name") == ""
    _save(qtbot, dialog)
    assert dialog.error_text("name") == "A connection named 'Taken' already exists"
    assert dialog.error_text("port") == "Port 70000 is out of range (1-65535)"
    _type(qtbot, dialog, name=" padded ")
    _save(qtbot, dialog)
    assert "without leading or trailing spaces" in dialog.error_text("name")

    _type(qtbot, dialog, name="Fine", port="5432")
    dialog.options_model.set_rows([OptionRow("sslmode", "require"), OptionRow("SSLMODE", "disable")])
    _save(qtbot, dialog)
    assert dialog.error_text("options") == "The option 'SSLMODE' is given twice"
    assert QApplication.focusWidget() is dialog.options_view

    _choose_type(dialog, "sqlite")
    _save(qtbot, dialog)
    assert dialog.error_text("path").startswith("A SQLite connection needs a database file")
    _type(qtbot, dialog, path=str(tmp_path / "missing" / "x.sqlite"))
    _save(qtbot, dialog)
    assert dialog.error_text("path") == f"The folder {tmp_path / 'missing'} does not exist"
    _type(qtbot, dialog, path=str(tmp_path))
    _save(qtbot, dialog)
    assert dialog.error_text("path") == f"{tmp_path} is a folder, not a database file"
    assert QApplication.focusWidget() is dialog.path_edit
    assert [p.name for p in context.connections.list()] == ["Taken"]
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]


def test_escape_cancels_without_saving(qtbot: QtBot, open_dialog: OpenDialog, context: AppContext) -> None:
    dialog = open_dialog()
    _choose_type(dialog, "postgresql")
    _type(qtbot, dialog, name="Never", host="db")
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Escape)
    assert dialog.result() == dialog.DialogCode.Rejected
    assert not dialog.isVisible()
    assert dialog.saved_name is None
    assert context.connections.list() == []


# -- per-type extras --------------------------------------------------------------------------


def test_sql_server_without_a_driver_says_how_to_get_one_and_still_saves(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever this machine has (no unixODBC, or other ODBC drivers): pyodbc here sees only a
    # PostgreSQL driver, as on a machine without Microsoft's.
    monkeypatch.setattr(sqlserver_drivers, "_pyodbc", lambda: SimpleNamespace(drivers=lambda: ["PostgreSQL Unicode"]))
    dialog = open_dialog()
    _choose_type(dialog, "sqlserver")
    assert dialog.port_edit.text() == "1433"
    assert "ODBC Driver 18 for SQL Server" in dialog.note_text("driver")
    assert 'ODBC drivers found: "PostgreSQL Unicode"' in dialog.note_text("driver")
    assert not dialog.driver_combo.isEnabled()
    _type(qtbot, dialog, name="Reports", host="sql01", user="sa", password="pw")
    _tick(qtbot, dialog.windows_auth_check)
    assert not dialog.user_edit.isEnabled() and not dialog.password_edit.isEnabled()
    _tick(qtbot, dialog.trust_certificate_check)
    _save(qtbot, dialog)
    saved = context.connections.get("Reports")
    assert saved.user is None and saved.secrets == {} and saved.driver is None
    assert dict(saved.options) == {"Encrypt": "yes", "TrustServerCertificate": "yes"}

    dialog = open_dialog(saved)
    assert dialog.windows_auth_check.isChecked()
    assert dialog.encrypt_check.isChecked() and dialog.trust_certificate_check.isChecked()
    assert dialog.options_model.rows == []

    # A profile from a URL (friendly option names) shows in the same check boxes.
    from_url = context.connections.add(ConnectionProfile(
        name="From URL", type="sqlserver", host="sql03", user="app",
        options={"encrypt": "no", "trust_server_certificate": "yes", "instance": "SQLEXPRESS"}))
    dialog = open_dialog(from_url)
    assert not dialog.windows_auth_check.isChecked()
    assert not dialog.encrypt_check.isChecked() and dialog.trust_certificate_check.isChecked()
    assert [(r.key, r.value) for r in dialog.options_model.rows] == [("instance", "SQLEXPRESS")]
    _save(qtbot, dialog)
    assert dict(context.connections.get("From URL").options) == {
        "Encrypt": "no", "TrustServerCertificate": "yes", "instance": "SQLEXPRESS"}


def test_sql_server_lists_the_installed_drivers_and_a_pyodbc_failure_is_a_message(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No SQL Server ODBC driver can be installed here: the driver list is what pyodbc would say.
    monkeypatch.setattr(sqlserver, "installed_drivers",
                        lambda: ["ODBC Driver 18 for SQL Server", "ODBC Driver 17 for SQL Server"])
    dialog = open_dialog()
    _choose_type(dialog, "sqlserver")
    assert [dialog.driver_combo.itemText(i) for i in range(dialog.driver_combo.count())] == [
        "ODBC Driver 18 for SQL Server", "ODBC Driver 17 for SQL Server"]
    assert dialog.note_text("driver") == ""
    dialog.driver_combo.setCurrentIndex(1)
    _tick(qtbot, dialog.encrypt_check)
    _type(qtbot, dialog, name="Old", host="sql02", user="app", password="pw")
    _save(qtbot, dialog)
    saved = context.connections.get("Old")
    assert saved.driver == "ODBC Driver 17 for SQL Server"
    assert dict(saved.options) == {"Encrypt": "no"}

    def broken() -> list[str]:
        raise DriverMissing("pyodbc cannot be loaded (libodbc.so.2: cannot open shared object file)")

    monkeypatch.setattr(sqlserver, "installed_drivers", broken)
    dialog = open_dialog()
    _choose_type(dialog, "sqlserver")
    assert dialog.note_text("driver").startswith("Pyodbc cannot be loaded")


def test_oracle_dsn_and_tns_admin_folder_are_saved_and_shown_again(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext, tmp_path: Path) -> None:
    dialog = open_dialog()
    _choose_type(dialog, "oracle")
    _type(qtbot, dialog, name="ERP", user="scott", password="tiger")
    _save(qtbot, dialog)
    assert dialog.error_text("host") == "An Oracle connection needs a host"
    assert dialog.error_text("database") == "An Oracle connection needs a service name"
    _tick(qtbot, dialog.oracle_dsn_radio)
    _save(qtbot, dialog)
    assert dialog.error_text("dsn") == "Enter a DSN, an Easy Connect string or a TNS alias"
    _type(qtbot, dialog, dsn="erp_high", tns_admin=str(tmp_path))
    _save(qtbot, dialog)
    saved = context.connections.get("ERP")
    assert dict(saved.options) == {"config_dir": str(tmp_path)}
    params = context.connections.connect_params(saved)
    assert (params.dsn, params.password, params.host) == ("erp_high", "tiger", None)

    dialog = open_dialog(saved)
    assert dialog.oracle_dsn_radio.isChecked()
    assert dialog.dsn_edit.text() == "" and dialog.dsn_edit.placeholderText() == STORED_PASSWORD_HINT
    assert dialog.tns_admin_edit.text() == str(tmp_path)
    # Back to host and service name: the DSN, which core would prefer, goes.
    _tick(qtbot, dialog.oracle_service_radio)
    _type(qtbot, dialog, host="erp.example.org", database="ERPPDB")
    _save(qtbot, dialog)
    saved = context.connections.get("ERP")
    assert sorted(saved.secrets) == ["password"]
    assert (saved.host, saved.port, saved.database) == ("erp.example.org", 1521, "ERPPDB")


def test_driver_options_are_saved_and_a_credential_among_them_is_kept_encrypted(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext) -> None:
    dialog = open_dialog()
    _choose_type(dialog, "postgresql")
    _type(qtbot, dialog, name="TLS", host="db")
    for key, value in (("sslmode", "verify-full"), ("sslpassword", "key-pass")):
        # Add opens an editor on the new key; Tab moves on to its value, Return commits it.
        qtbot.mouseClick(dialog.add_option_button, Qt.MouseButton.LeftButton)
        qtbot.keyClicks(_open_editor(dialog), key)
        qtbot.keyClick(_open_editor(dialog), Qt.Key.Key_Tab)
        qtbot.keyClicks(_open_editor(dialog), value)
        qtbot.keyClick(_open_editor(dialog), Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not any(e.isVisible() for e in dialog.options_view.findChildren(QLineEdit)))
    assert dialog.isVisible(), "Return in an option's editor does not save the dialog"
    assert [(r.key, r.value) for r in dialog.options_model.rows] == [
        ("sslmode", "verify-full"), ("sslpassword", "key-pass")]
    assert dialog.options_model.index(1, OptionColumn.VALUE).data() == MASK
    _save(qtbot, dialog)
    saved = context.connections.get("TLS")
    assert dict(saved.options) == {"sslmode": "verify-full"}
    assert context.connections.connect_params(saved).options["sslpassword"] == "key-pass"

    dialog = open_dialog(saved)
    assert [(r.key, r.value, r.stored_secret) for r in dialog.options_model.rows] == [
        ("sslmode", "verify-full", False), ("sslpassword", "", True)]
    _save(qtbot, dialog)
    assert context.connections.connect_params(context.connections.get("TLS")).options["sslpassword"] == "key-pass"

    dialog = open_dialog(context.connections.get("TLS"))
    dialog.options_view.setCurrentIndex(dialog.options_model.index(1, OptionColumn.KEY))
    qtbot.mouseClick(dialog.remove_option_button, Qt.MouseButton.LeftButton)
    _save(qtbot, dialog)
    saved = context.connections.get("TLS")
    assert saved.secrets == {} and dict(saved.options) == {"sslmode": "verify-full"}


# -- fields the engine does not have ----------------------------------------------------------


def test_a_server_connection_changed_to_sqlite_drops_every_stored_secret(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext, tmp_path: Path) -> None:
    saved = context.connections.add(
        ConnectionProfile(name="Moved", type="postgresql", host="db", user="app"),
        {"password": "pw", "option:sslpassword": "key-pass"})
    assert sorted(saved.secrets) == ["option:sslpassword", "password"]
    dialog = open_dialog(saved)
    _choose_type(dialog, "sqlite")
    assert not dialog.is_field_shown("host") and not dialog.is_field_shown("options")
    _type(qtbot, dialog, path=str(tmp_path / "moved.sqlite"))
    _save(qtbot, dialog)
    moved = context.connections.get("Moved")
    assert (moved.type, moved.host, moved.user, moved.port) == ("sqlite", None, None, None)
    assert moved.secrets == {} and dict(moved.options) == {}


def test_windows_authentication_removes_a_stored_sql_server_password(
        qtbot: QtBot, open_dialog: OpenDialog, context: AppContext,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlserver, "installed_drivers", lambda: ["ODBC Driver 18 for SQL Server"])
    saved = context.connections.add(
        ConnectionProfile(name="Reports", type="sqlserver", host="sql01", user="sa"), {"password": "pw"})
    dialog = open_dialog(saved)
    assert not dialog.windows_auth_check.isChecked()
    _tick(qtbot, dialog.windows_auth_check)
    draft = dialog.draft()
    assert draft.plain == {"password": None}
    assert draft.profile.user is None and draft.profile.secrets == {}
    _save(qtbot, dialog)
    assert context.connections.get("Reports").secrets == {}


def test_tab_moves_through_the_postgresql_fields_in_form_order(open_dialog: OpenDialog) -> None:
    dialog = open_dialog()
    _choose_type(dialog, "postgresql")
    dialog.name_edit.setFocus()
    seen = [QApplication.focusWidget()]
    for _ in range(10):
        focused = QApplication.focusWidget()
        assert focused is not None
        QTest.keyClick(focused, Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    assert seen == [dialog.name_edit, dialog.type_combo, dialog.host_edit, dialog.port_edit,
                    dialog.database_edit, dialog.user_edit, dialog.password_edit, dialog.options_view,
                    dialog.add_option_button, dialog.remove_option_button, dialog.test_button]
