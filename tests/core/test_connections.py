"""Saved connections: round trip, validation, encrypted secrets, unreadable keys, connection checks."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from keyring.backends import fail

from qdbm_desktop.core.connections import ConnectionProfile, SecretState, check_connection
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError, SecretUnavailable, UsageError
from qdbm_desktop.core.paths import AppPaths
from tests.conftest import MemoryKeyring

PASSWORD = "s3cr3t-PW!"
OPTION_SECRET = "Opt-p4ss#word"


def pg(name: str = "Sales", **changes: Any) -> ConnectionProfile:
    values: dict[str, Any] = {"name": name, "type": "postgresql", "host": "db.example", "port": 5432,
              "database": "sales", "user": "report"}
    values.update(changes)
    return ConnectionProfile(**values)


def encoded_forms(secret: str) -> set[bytes]:
    """The secret's UTF-8 bytes and every base64 rendering of them, at any alignment in a longer blob."""
    raw = secret.encode("utf-8")
    forms = {raw}
    for offset in range(3):
        padded = b"\0" * offset + raw
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(padded).rstrip(b"=")
            # drop the characters that also depend on neighbouring bytes
            start = (offset * 8 + 5) // 6
            end = (len(padded) * 8) // 6
            forms.add(text[start:end])
    forms.add(base64.b64encode(raw))
    return {form for form in forms if len(form) >= 6}


def files_containing(folder: Path, secret: str) -> list[str]:
    forms = encoded_forms(secret)
    found: list[str] = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found.extend(f"{path.name}: {form!r}" for form in forms if form in data)
    return found


def test_encoded_forms_detect_a_base64_encoded_secret_inside_other_data() -> None:
    for prefix in (b"", b"x", b"xy"):
        blob = base64.b64encode(prefix + PASSWORD.encode() + b"tail")
        assert any(form in blob for form in encoded_forms(PASSWORD)), prefix


# -- round trip ---------------------------------------------------------------------------------

def test_added_connection_is_listed_got_and_removed(context: AppContext) -> None:
    store = context.connections
    added = store.add(pg(options={"sslmode": "require"}))
    store.add(ConnectionProfile(name="Local", type="sqlite", path="/data/local.db"))

    assert [p.name for p in store.list()] == ["Sales", "Local"]
    got = store.get("Sales")
    assert (got.type, got.host, got.port, got.database, got.user) == ("postgresql", "db.example", 5432,
                                                                     "sales", "report")
    assert got.options == {"sslmode": "require"}
    assert got.created_at == added.created_at is not None
    assert store.get("Local").path == "/data/local.db"

    store.remove("Sales")

    assert [p.name for p in store.list()] == ["Local"]
    with pytest.raises(QdbmError, match="no saved connection named 'Sales'"):
        store.get("Sales")
    with pytest.raises(QdbmError, match="no saved connection named 'Sales'"):
        store.remove("Sales")


def test_connections_persist_across_app_starts(context: AppContext, paths: AppPaths, memory_keyring: MemoryKeyring) -> None:
    context.connections.add(pg(), {"password": PASSWORD})

    later = AppContext.create(paths, keyring_backend=memory_keyring)

    profile = later.connections.get("Sales")
    assert later.connections.connect_params(profile).password == PASSWORD
    document = json.loads(paths.connections_file.read_text(encoding="utf-8"))
    assert document["version"] == 1 and len(document["connections"]) == 1


def test_connection_names_are_unique_ignoring_case(context: AppContext) -> None:
    context.connections.add(pg("Sales"))

    with pytest.raises(QdbmError, match="already exists"):
        context.connections.add(pg("SALES", host="other.example"))

    assert [(p.name, p.host) for p in context.connections.list()] == [("Sales", "db.example")]
    found = context.connections.find("sAlEs")
    assert found is not None and found.name == "Sales"


def test_renaming_onto_another_name_differing_only_in_case_is_refused(context: AppContext) -> None:
    context.connections.add(pg("Sales"))
    context.connections.add(pg("Stock"))

    with pytest.raises(QdbmError, match="already exists"):
        context.connections.update("Stock", pg("sales"))

    assert sorted(p.name for p in context.connections.list()) == ["Sales", "Stock"]


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        (ConnectionProfile(name="Local", type="sqlite"), "SQLite connection needs a database file"),
        (pg(port=0), "port 0 is out of range"),
        (pg(port=70000), "port 70000 is out of range"),
        (pg(host=None), "PostgreSQL connection needs a host"),
        (pg(name=""), "a connection needs a name"),
        (pg(name="   "), "a connection needs a name"),
        (pg(name=" Sales"), "leading or trailing spaces"),
        (pg(name="x" * 101), "1-100 printable characters"),
        (pg(type="db2"), "unknown database type 'db2'"),
    ],
    ids=["sqlite-no-path", "port-0", "port-70000", "pg-no-host", "empty-name", "blank-name",
         "padded-name", "long-name", "unknown-type"],
)
def test_invalid_profile_is_refused_with_a_clear_message_and_nothing_saved(context: AppContext, paths: AppPaths, profile: ConnectionProfile, message: str) -> None:
    context.connections.list()  # the file exists before
    before = paths.connections_file.read_bytes()

    with pytest.raises(UsageError, match=message):
        context.connections.add(profile)

    assert paths.connections_file.read_bytes() == before


# -- secrets ------------------------------------------------------------------------------------

@pytest.mark.parametrize("keyring_kind", ["memory", "no keyring"])
def test_password_is_in_no_file_under_home_but_connect_params_return_it(paths: AppPaths, memory_keyring: MemoryKeyring, keyring_kind: str) -> None:
    backend = memory_keyring if keyring_kind == "memory" else fail.Keyring()
    context = AppContext.create(paths, keyring_backend=backend)

    context.connections.add(pg(), {"password": PASSWORD})
    context.connections.record_test("Sales", "ok: PostgreSQL 16")
    context.settings.set("batch_size", "5000")

    assert paths.connections_file.exists()
    assert files_containing(paths.home, PASSWORD) == []
    profile = context.connections.get("Sales")
    assert context.connections.secret_state(profile) is SecretState.STORED
    assert context.connections.connect_params(profile).password == PASSWORD


def test_secret_looking_options_are_encrypted_and_returned_in_connect_params(context: AppContext, paths: AppPaths) -> None:
    store = context.connections
    store.add(pg(options={"sslmode": "require", "sslpassword": OPTION_SECRET, "api_Token": "tok-123456"}),
              {"password": PASSWORD})

    profile = store.get("Sales")

    assert profile.options == {"sslmode": "require"}
    assert set(profile.secrets) == {"password", "option:sslpassword", "option:api_Token"}
    assert files_containing(paths.home, OPTION_SECRET) == []
    assert files_containing(paths.home, "tok-123456") == []
    params = store.connect_params(profile)
    assert params.options == {"sslmode": "require", "sslpassword": OPTION_SECRET, "api_Token": "tok-123456"}
    assert params.password == PASSWORD


def test_an_option_whose_value_holds_a_credential_is_encrypted_whatever_its_name(context: AppContext, paths: AppPaths) -> None:
    store = context.connections
    store.add(pg(options={"sslmode": "require", "options": "-c search_path=x password=Hid-den-77"}))

    profile = store.get("Sales")

    assert profile.options == {"sslmode": "require"}
    assert files_containing(paths.home, "Hid-den-77") == []
    params = store.connect_params(profile)
    assert params.options["options"] == "-c search_path=x password=Hid-den-77"
    assert "Hid-den-77" in params.secret_values()


def test_plain_secret_for_an_unknown_field_is_refused(context: AppContext) -> None:
    with pytest.raises(UsageError, match="'host' is not a secret field"):
        context.connections.add(pg(), {"host": "x"})


def test_update_of_the_stored_profile_without_secrets_keeps_the_password(context: AppContext) -> None:
    store = context.connections
    store.add(pg(), {"password": PASSWORD})

    store.update("Sales", replace(store.get("Sales"), host="db2.example", port=6543))

    profile = store.get("Sales")
    assert (profile.host, profile.port) == ("db2.example", 6543)
    assert store.connect_params(profile).password == PASSWORD


def test_update_with_a_fresh_profile_and_no_secrets_keeps_the_stored_password(context: AppContext) -> None:
    store = context.connections
    store.add(pg(), {"password": PASSWORD})

    store.update("Sales", pg(host="db2.example"))

    assert store.connect_params(store.get("Sales")).password == PASSWORD


def test_update_with_none_removes_the_stored_password(context: AppContext) -> None:
    store = context.connections
    store.add(pg(), {"password": PASSWORD})

    store.update("Sales", store.get("Sales"), {"password": None})

    profile = store.get("Sales")
    assert "password" not in profile.secrets
    assert store.secret_state(profile) is SecretState.NONE
    assert store.connect_params(profile).password is None


def test_update_with_a_new_password_replaces_it_and_can_rename(context: AppContext, paths: AppPaths) -> None:
    store = context.connections
    store.add(pg(), {"password": PASSWORD})

    store.update("Sales", replace(store.get("Sales"), name="Sales EU"), {"password": "n3w-PW!x"})

    assert [p.name for p in store.list()] == ["Sales EU"]
    assert store.connect_params(store.get("Sales EU")).password == "n3w-PW!x"
    assert files_containing(paths.home, "n3w-PW!x") == []


def test_set_secret_none_removes_the_password(context: AppContext) -> None:
    store = context.connections
    store.add(pg(), {"password": PASSWORD})

    store.set_secret("Sales", "password", None)

    assert store.get("Sales").secrets == {}


def test_repr_of_connect_params_and_profile_never_shows_a_secret(context: AppContext) -> None:
    store = context.connections
    store.add(pg(options={"sslpassword": OPTION_SECRET}), {"password": PASSWORD, "dsn": "dsn-S3cret-value"})
    profile = store.get("Sales")
    params = store.connect_params(profile)
    assert params.password == PASSWORD  # the secrets are really in there

    for text in (repr(params), str(params), repr(profile), str(profile)):
        assert PASSWORD not in text
        assert OPTION_SECRET not in text
        assert "dsn-S3cret-value" not in text
    for token in profile.secrets.values():
        assert token not in repr(profile)


# -- a lost or replaced key ---------------------------------------------------------------------

def test_with_a_replaced_key_the_password_is_unreadable_and_other_connections_still_work(
        context: AppContext, paths: AppPaths, tmp_path: Path, memory_keyring: MemoryKeyring, new_memory_keyring: Callable[[], MemoryKeyring]) -> None:
    db = tmp_path / "local.db"
    sqlite3.connect(db).close()
    context.connections.add(pg(), {"password": PASSWORD})
    context.connections.add(ConnectionProfile(name="Local", type="sqlite", path=str(db)))
    tokens_before = context.connections.get("Sales").secrets

    reset = AppContext.create(paths, keyring_backend=new_memory_keyring())
    store = reset.connections
    sales = store.get("Sales")

    assert store.secret_state(sales) is SecretState.UNREADABLE
    with pytest.raises(SecretUnavailable, match="connection 'Sales'") as caught:
        store.connect_params(sales)
    assert "please re-enter it" in str(caught.value)
    failed = check_connection(store, sales)
    assert not failed.ok and "Sales" in failed.message and "re-enter" in failed.message
    local = store.get("Local")
    assert store.secret_state(local) is SecretState.NONE
    assert store.connect_params(local).path == str(db)
    assert check_connection(store, local).ok
    # The undecryptable tokens are kept, so bringing back the old key brings back the password.
    assert store.get("Sales").secrets == tokens_before
    restored = AppContext.create(paths, keyring_backend=memory_keyring).connections
    assert restored.connect_params(restored.get("Sales")).password == PASSWORD


# -- checking a connection ----------------------------------------------------------------------

def test_check_of_missing_sqlite_file_fails_with_not_found_and_does_not_create_it(context: AppContext, tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "missing.db"
    context.connections.add(ConnectionProfile(name="Gone", type="sqlite", path=str(missing)))

    result = check_connection(context.connections, context.connections.get("Gone"))

    assert result.ok is False
    assert "not found" in result.message
    assert not missing.exists()
    assert not missing.parent.exists()
    recorded = context.connections.get("Gone")
    assert recorded.last_test is not None
    assert recorded.last_test.startswith("failed: ") and "not found" in recorded.last_test
    assert recorded.last_test_at


def test_check_of_a_real_sqlite_file_reports_its_version_and_records_it(context: AppContext, tmp_path: Path) -> None:
    db = tmp_path / "real.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE t (x)")
    context.connections.add(ConnectionProfile(name="Real", type="sqlite", path=str(db)))

    result = check_connection(context.connections, context.connections.get("Real"))

    assert result.ok is True
    assert result.message.startswith("SQLite 3.")
    assert result.message == f"SQLite {sqlite3.sqlite_version}"
    assert result.seconds >= 0
    recorded = context.connections.get("Real")
    assert recorded.last_test == f"ok: {result.message}"
    assert recorded.last_test_at


def test_check_of_a_file_that_is_no_database_fails(context: AppContext, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_bytes(b"this is plain text, not a SQLite database file" * 20)
    context.connections.add(ConnectionProfile(name="Bogus", type="sqlite", path=str(bogus)))

    result = check_connection(context.connections, context.connections.get("Bogus"))

    assert result.ok is False
    assert "not a database" in result.message
