"""Connection URLs to profile fields."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.urls import parse_connection_url


def test_postgresql_url_gives_every_field_with_percent_decoded_password() -> None:
    parsed = parse_connection_url("postgresql://user:p%40ss@db.example:6543/sales?sslmode=require")

    assert parsed.type == "postgresql"
    assert parsed.host == "db.example"
    assert parsed.port == 6543
    assert parsed.database == "sales"
    assert parsed.user == "user"
    assert parsed.password == "p@ss"
    assert parsed.options == {"sslmode": "require"}
    assert parsed.path is None and parsed.driver is None


@pytest.mark.parametrize("scheme", ["postgres", "postgresql+psycopg", "POSTGRESQL", "pg"])
def test_postgresql_aliases_and_driver_suffix_are_accepted(scheme: str) -> None:
    parsed = parse_connection_url(f"{scheme}://u@h/db")

    assert (parsed.type, parsed.host, parsed.user, parsed.database) == ("postgresql", "h", "u", "db")


@pytest.mark.parametrize("scheme", ["mysql", "mariadb", "mysql+mysqlconnector"])
def test_mysql_and_mariadb_urls_are_type_mysql(scheme: str) -> None:
    parsed = parse_connection_url(f"{scheme}://root:pw@127.0.0.1:3307/shop")

    assert (parsed.type, parsed.host, parsed.port, parsed.database, parsed.password) == (
        "mysql", "127.0.0.1", 3307, "shop", "pw")


def test_url_without_port_leaves_port_unset() -> None:
    assert parse_connection_url("postgresql://h/db").port is None


def test_percent_encoded_user_and_database_are_decoded() -> None:
    parsed = parse_connection_url("postgresql://r%C3%A9my%40corp:pw@h/my%20db")

    assert parsed.user == "rémy@corp"
    assert parsed.database == "my db"


def test_sqlite_url_with_three_slashes_is_relative_to_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    parsed = parse_connection_url("sqlite:///rel.db")

    assert parsed.type == "sqlite"
    assert parsed.path == os.path.join(os.getcwd(), "rel.db")
    assert os.path.isabs(parsed.path)
    assert parsed.host is None


@pytest.mark.skipif(os.name != "posix", reason="POSIX absolute path")
def test_sqlite_url_with_four_slashes_is_an_absolute_path() -> None:
    assert parse_connection_url("sqlite:////abs/x.db").path == "/abs/x.db"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://rel.db"])
def test_sqlite_url_without_a_file_is_refused(url: str) -> None:
    with pytest.raises(UsageError, match="SQLite URL"):
        parse_connection_url(url)


def test_sqlserver_url_moves_the_odbc_driver_out_of_the_options() -> None:
    parsed = parse_connection_url(
        "mssql://sa:Pw@sql.example:1433/erp?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes")

    assert parsed.type == "sqlserver"
    assert parsed.driver == "ODBC Driver 18 for SQL Server"
    assert parsed.options == {"TrustServerCertificate": "yes"}
    assert (parsed.host, parsed.port, parsed.database, parsed.user) == ("sql.example", 1433, "erp", "sa")


def test_oracle_url_takes_the_service_name_as_database() -> None:
    parsed = parse_connection_url("oracle://u:p@h:1521/ORCLPDB1")

    assert (parsed.type, parsed.host, parsed.port, parsed.database, parsed.user, parsed.password) == (
        "oracle", "h", 1521, "ORCLPDB1", "u", "p")


def test_parsed_url_repr_hides_the_password() -> None:
    assert "p@ss" not in repr(parse_connection_url("postgresql://user:p%40ss@db.example/sales"))


def test_parsed_url_repr_hides_secret_query_options() -> None:
    parsed = parse_connection_url("postgresql://u@h/db?sslpassword=Opt-S3cret")

    assert parsed.options["sslpassword"] == "Opt-S3cret"
    assert "Opt-S3cret" not in repr(parsed)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/file", "unknown URL scheme 'ftp'"),
        ("db2://u@h/db", "unknown URL scheme 'db2'"),
        ("postgresql:/h/db", "a connection URL looks like"),
        ("db.example:5432/sales", "a connection URL looks like"),
        ("", "a connection URL looks like"),
        ("postgresql://u@h:99999/db", "port"),
        ("postgresql://u@h:abc/db", "port"),
    ],
    ids=["ftp", "db2", "one-slash", "no-scheme", "empty", "port-too-big", "port-not-a-number"],
)
def test_malformed_url_raises_usage_error(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_connection_url(url)


def test_usage_error_for_a_bad_url_does_not_repeat_the_password() -> None:
    with pytest.raises(UsageError) as caught:
        parse_connection_url("postgresql://u:Hunter2-pw@h:notaport/db")

    assert "Hunter2-pw" not in str(caught.value)
