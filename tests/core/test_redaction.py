"""Every form in which a URL or connection string carries a secret is masked, known or not."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest

from qdbm_desktop.core.errors import MASK, redact
from qdbm_desktop.core.redaction import mask_url, secret_forms, secrets_in
from qdbm_desktop.core.urls import parse_connection_url

SECRET = "Ab@cd/ef:g?h#i&j;k{l}m%n+o p'q\"r\\s"


def spellings(secret: str) -> set[str]:
    """Raw, percent-encoded (upper and lower hex, + for space), decoded."""
    out = {secret}
    for encoded in (quote(secret, safe=""), quote_plus(secret, safe="")):
        out |= {encoded, encoded.lower()}
    return out


# (text a driver, the parser or the user may produce, the secrets it holds)
CONNECTION_STRINGS = [
    ("postgresql://u:Ab%40cd%2Fef@host/db", ["Ab%40cd%2Fef", "Ab@cd/ef"]),
    ("postgresql://u:Ab@cd/ef@host:5432/db", ["Ab@cd/ef", "cd/ef"]),
    ("postgresql://u@host/db?password=Sekr%20t&sslmode=require", ["Sekr%20t", "Sekr t"]),
    ("postgresql://u@host/db?sslmode=require&PASSWORD=Upper1", ["Upper1"]),
    ("postgresql://u@host/db?sslpassword=keyphrase9&sslkey=/k.pem", ["keyphrase9"]),
    ("mysql://root:p%2Bw%20d@127.0.0.1:3306/x?ssl_passphrase=zz9top", ["p%2Bw%20d", "p+w d", "zz9top"]),
    ("mariadb+mysqlconnector://u:s3cr3t@h/db", ["s3cr3t"]),
    ("host=h port=5432 password='se cr\\'et' user=u", ["se cr", "et'"]),
    ("host=h password = plainpw user=u", ["plainpw"]),
    ("dbname=x password=\"dq pw\" host=h", ["dq pw"]),
    ("DRIVER={ODBC Driver 18 for SQL Server};SERVER=h;UID=sa;PWD={a;b}}c};Encrypt=yes", ["a;b}}c", "b}}c"]),
    ("Server=h;Database=x;User Id=sa;Password=Odbc!Pw;", ["Odbc!Pw"]),
    ("scott/tiger99@localhost:1521/XE", ["tiger99"]),
    ("connect as scott/\"ti@ger\"@db", ["ti@ger", "ger\""]),
    ("jdbc:oracle:thin:scott/thinpw@//h:1521/svc", ["thinpw"]),
    ("jdbc:sqlserver://h:1433;databaseName=x;user=sa;password=jd@bc;", ["jd@bc"]),
    ("jdbc:postgresql://h/db?user=u&password=jdbcpg", ["jdbcpg"]),
    ("jdbc:mysql://u:jdbcmy@h:3306/db", ["jdbcmy"]),
    ("mysql://user@srv:p@ss@h/db", ["p@ss"]),
    ("postgresql://:onlypw@h/db", ["onlypw"]),
    ("postgresql://u@h/db?options=-c%20x&api_token=tk123&client_secret=cs456", ["tk123", "cs456"]),
]


@pytest.mark.parametrize(("text", "secrets"), CONNECTION_STRINGS, ids=[t for t, _ in CONNECTION_STRINGS])
def test_a_credential_in_any_connection_string_is_masked_without_knowing_it(text: str,
                                                                           secrets: list[str]) -> None:
    masked = redact(f"connect failed on '{text}': refused")
    assert MASK in masked
    for secret in secrets:
        assert secret not in masked
    assert masked.endswith(": refused")


@pytest.mark.parametrize("text", [
    "postgresql://host:5432/db?x=a@b", "sqlite:////tmp/a:b@c.db", "/tmp/x/report@2024.db",
    "Access denied for user 'root'@'127.0.0.1' (using password: YES)",
    "run 1a2b: pg -> maria table t, mode append, batch 50,000", "sqlserver://h:1433;Encrypt=yes",
])
def test_text_without_a_credential_is_left_as_it_is(text: str) -> None:
    assert redact(text) == text


def test_a_known_secret_is_masked_in_every_spelling() -> None:
    message = " | ".join(sorted(secret_forms(SECRET)))
    masked = redact(f"driver said: {message}", [SECRET])
    for form in spellings(SECRET):
        assert form not in masked
    assert "driver said: " in masked


def test_a_url_label_keeps_the_host_and_database_and_masks_the_password_and_secret_options() -> None:
    url = f"postgresql://alice:{quote(SECRET, safe='')}@db.example:6432/sales?sslmode=require&password=x%40y"
    label = parse_connection_url(url).label
    assert label == f"postgresql://alice:{MASK}@db.example:6432/sales?sslmode=require&password={MASK}"
    assert mask_url("sqlite:////data/shop.db?mode=ro") == "sqlite:////data/shop.db?mode=ro"
    assert parse_connection_url("postgresql://u:pw@h/db?application_name=me@x").label == \
        f"postgresql://u:{MASK}@h/db?application_name=me@x"


def test_a_parsed_url_knows_its_secrets_as_typed_and_decoded() -> None:
    url = "postgresql://u:Ab%40cd%2fef@h/db?sslpassword=k%2By&pwd=Q%20R"
    params = parse_connection_url(url).connect_params()
    values = set(params.secret_values())
    assert {"Ab@cd/ef", "Ab%40cd%2fef", "k+y", "k%2By", "Q R", "Q%20R"} <= values
    assert "Ab@cd/ef" not in repr(params) and "k+y" not in repr(params)


def test_the_credentials_inside_a_dsn_are_secrets_of_their_own() -> None:
    assert "a;b}c" in secrets_in("DRIVER={x};UID=u;PWD={a;b}}c}")
    assert "se cr'et" in secrets_in("host=h password='se cr\\'et'")
    assert "tiger" in secrets_in("scott/tiger@h:1521/XE")


def test_an_unknown_scheme_is_named_without_what_follows_it() -> None:
    from qdbm_desktop.core.errors import UsageError

    with pytest.raises(UsageError) as caught:
        parse_connection_url("jdbc:oracle:thin:scott/zz-secret@//h:1521/svc://x")
    assert "zz-secret" not in str(caught.value)
    with pytest.raises(UsageError) as caught:
        parse_connection_url("ftp://u:ftp-secret@h/x")
    assert "ftp-secret" not in str(caught.value) and "'ftp'" in str(caught.value)


@pytest.mark.parametrize("url", ["postgresql://u:ab/cd@h/db", "postgresql://u:ab?cd@h/db",
                                 "postgresql://u:ab#cd@h/db", "mysql://u:a@b/c@h:3306/db"])
def test_a_url_whose_password_holds_a_raw_slash_question_mark_or_hash_is_refused_without_echo(url: str) -> None:
    from qdbm_desktop.core.errors import UsageError

    with pytest.raises(UsageError) as caught:
        parse_connection_url(url)
    assert "percent-encoded" in str(caught.value) and "cd" not in str(caught.value)


@pytest.mark.parametrize("url", ["postgresql://u:a@b@h/db", "postgresql://h/db?application_name=me@x",
                                 "postgresql://h/db@archive", "mysql://u:p%2Fq@h:3306/db"])
def test_an_at_sign_that_is_no_password_spill_is_accepted(url: str) -> None:
    assert parse_connection_url(url).host is not None
