"""The connection fields of each engine: which are shown, which are required, and their messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from qdbm_desktop.core.connection_fields import (
    DATABASE,
    DRIVER,
    DSN,
    ENCRYPT,
    ENGINE_FORMS,
    HOST,
    MODE_DSN,
    MODE_SERVER,
    OPTIONS,
    PASSWORD,
    PATH,
    PORT,
    TNS_ADMIN,
    TNS_ADMIN_OPTION,
    TRUST_CERTIFICATE,
    USER,
    WINDOWS_AUTH,
    FieldSpec,
    Target,
    engine_form,
    flag_from_options,
    flag_option,
    form_for,
    option_problems,
    pop_option,
)
from qdbm_desktop.core.dialects import DIALECTS


def _keys(fields: tuple[FieldSpec, ...]) -> list[str]:
    return [spec.key for spec in fields]


def test_every_registered_dialect_has_a_form_with_its_display_name_and_default_port() -> None:
    assert set(ENGINE_FORMS) == set(DIALECTS)
    for name, dialect in DIALECTS.items():
        form = ENGINE_FORMS[name]
        assert form.engine == name
        assert form.display_name == dialect.display_name
        assert form.default_port == dialect.default_port


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_postgresql_and_mysql_ask_for_a_host_and_nothing_else_is_required(engine: str) -> None:
    form = ENGINE_FORMS[engine]
    assert _keys(form.shown(MODE_SERVER)) == [HOST, PORT, DATABASE, USER, PASSWORD, OPTIONS]
    name = DIALECTS[engine].display_name
    assert form.problems({}, mode=MODE_SERVER) == [(HOST, f"a {name} connection needs a host")]
    assert form.problems({HOST: "db", PORT: "5432"}, mode=MODE_SERVER) == []
    assert form.options_hint and form.database_label == "&Database:"


def test_postgresql_port_out_of_range_is_named() -> None:
    form = ENGINE_FORMS["postgresql"]
    assert form.problems({HOST: "db", PORT: "70000"}, mode=MODE_SERVER) == [
        (PORT, "port 70000 is out of range (1-65535)")]
    assert form.problems({HOST: "db", PORT: "0"}, mode=MODE_SERVER) == [(PORT, "port 0 is out of range (1-65535)")]
    assert form.problems({HOST: "db", PORT: "x1"}, mode=MODE_SERVER) == [(PORT, "the port 'x1' is not a number")]
    assert form.default_port_text == "5432"


def test_sqlite_has_only_a_file_which_must_be_a_file_in_an_existing_folder(tmp_path: Path) -> None:
    form = ENGINE_FORMS["sqlite"]
    assert _keys(form.fields) == [PATH]
    assert form.default_port_text == ""
    assert form.options_hint is None
    assert form.problems({}, mode=MODE_SERVER) == [
        (PATH, "a SQLite connection needs a database file: choose one or type a new file's path")]
    assert form.problems({PATH: str(tmp_path)}, mode=MODE_SERVER) == [
        (PATH, f"{tmp_path} is a folder, not a database file")]
    missing = tmp_path / "nowhere" / "x.db"
    assert form.problems({PATH: str(missing)}, mode=MODE_SERVER) == [
        (PATH, f"the folder {missing.parent} does not exist")]
    assert form.problems({PATH: str(tmp_path / "new.db")}, mode=MODE_SERVER) == []


def test_sql_server_has_a_driver_windows_authentication_and_encryption_boxes() -> None:
    form = ENGINE_FORMS["sqlserver"]
    assert _keys(form.shown(MODE_SERVER)) == [HOST, PORT, DATABASE, DRIVER, WINDOWS_AUTH, USER, PASSWORD,
                                              ENCRYPT, TRUST_CERTIFICATE, OPTIONS]
    # Windows authentication leaves the user name and the password unused.
    assert USER not in _keys(form.in_use(MODE_SERVER, {WINDOWS_AUTH}))
    assert PASSWORD not in _keys(form.in_use(MODE_SERVER, {WINDOWS_AUTH}))
    assert form.problems({}, mode=MODE_SERVER) == [(HOST, "a SQL Server connection needs a host")]


def test_sql_server_encryption_boxes_read_and_write_their_odbc_options() -> None:
    form = ENGINE_FORMS["sqlserver"]
    encrypt, trust = form.field(ENCRYPT), form.field(TRUST_CERTIFICATE)
    assert encrypt is not None and trust is not None
    assert flag_from_options(encrypt, {}) is True  # encrypted unless told otherwise
    options = {"encrypt": "no", "trust_server_certificate": "true", "Other": "1"}
    assert flag_from_options(encrypt, options) is False
    assert flag_from_options(trust, options) is True
    assert options == {"Other": "1"}
    assert (flag_option(encrypt, True), flag_option(encrypt, False)) == ("yes", "no")
    assert (flag_option(trust, True), flag_option(trust, False)) == ("yes", None)


def test_oracle_needs_a_host_and_service_name_or_a_dsn(tmp_path: Path) -> None:
    form = ENGINE_FORMS["oracle"]
    assert form.modes == (MODE_SERVER, MODE_DSN)
    assert form.database_label == "&Service name:"
    assert _keys(form.shown(MODE_SERVER)) == [HOST, PORT, DATABASE, TNS_ADMIN, USER, PASSWORD, OPTIONS]
    assert _keys(form.shown(MODE_DSN)) == [DSN, TNS_ADMIN, USER, PASSWORD, OPTIONS]
    assert form.problems({}, mode=MODE_SERVER) == [
        (HOST, "an Oracle connection needs a host"), (DATABASE, "an Oracle connection needs a service name")]
    assert form.problems({}, mode=MODE_DSN) == [(DSN, "enter a DSN, an Easy Connect string or a TNS alias")]
    # A DSN kept encrypted counts as given.
    assert form.problems({}, mode=MODE_DSN, stored={DSN}) == []
    missing = tmp_path / "tns"
    assert form.problems({DSN: "db:1521/x", TNS_ADMIN: str(missing)}, mode=MODE_DSN) == [
        (TNS_ADMIN, f"the folder {missing} does not exist")]
    assert form.problems({DSN: "db:1521/x", TNS_ADMIN: str(tmp_path)}, mode=MODE_DSN) == []
    tns = form.field(TNS_ADMIN)
    assert tns is not None and tns.target is Target.OPTION and tns.option_key == TNS_ADMIN_OPTION


def test_an_unknown_type_gets_plain_server_fields_but_no_form_of_its_own() -> None:
    assert engine_form("db2") is None
    assert _keys(form_for("db2").fields) == [HOST, PORT, DATABASE, USER, PASSWORD, OPTIONS]
    assert form_for("db2").default_port_text == ""


def test_option_rows_without_a_key_or_given_twice_are_named_without_echoing_a_secret() -> None:
    rows = [("sslmode", "require", False), ("SSLMODE", "disable", False), ("", "x", False),
            ("", "hunter2", True), ("", "", False)]
    assert option_problems(rows) == ["the option 'SSLMODE' is given twice",
                                     "the option with value 'x' has no key",
                                     "an option has a value but no key"]


def test_pop_option_removes_every_spelling_in_any_case() -> None:
    options = {"Encrypt": "yes", "ENCRYPT": "no", "Other": "1"}
    assert pop_option(options, "encrypt") == "no"
    assert options == {"Other": "1"}
    assert pop_option(options, "missing") is None
