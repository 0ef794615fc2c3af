"""Real runs with secret-bearing URLs and connection strings given ad hoc as --source/--target:
no secret, in any spelling, reaches the app-data folder (history.sqlite3 and its -wal included)
or any output of the command line.

Every secret is built of unique tokens joined by the characters URLs and connection strings
treat specially (``@ / : ? # & ; { } % + ' "`` and a space). A token found anywhere means some
form of the secret leaked (raw, percent-encoded, decoded, quoted, escaped, or a piece of it).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.integration.conftest import MY_HOST, MY_PASSWORD, MY_PORT, MY_USER, Server, unique_name
from tests.integration.test_connections_cli import qdbm

SPECIALS = "@/:?#&;{}%+ '\""


def funky_secret() -> tuple[str, list[str]]:
    """A password holding every special character, and the unique tokens it is made of."""
    tokens = [f"zq{secrets.token_hex(4)}" for _ in range(len(SPECIALS) + 1)]
    text = tokens[0] + "".join(special + token for special, token in zip(SPECIALS, tokens[1:], strict=True))
    return text, tokens


def enc(text: str) -> str:
    return quote(text, safe="")


@pytest.fixture
def maria_funky(mysql_database: Server) -> Iterator[tuple[Server, list[str]]]:
    """A MariaDB account whose password holds every special character."""
    import mysql.connector

    password, tokens = funky_secret()
    user = unique_name("qdbm_s")
    admin = mysql.connector.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, password=MY_PASSWORD,
                                    autocommit=True)
    cursor = admin.cursor()
    for host in ("%", "localhost", "127.0.0.1"):
        cursor.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY %s", (password,))
        cursor.execute(f"GRANT ALL ON `{mysql_database.database}`.* TO '{user}'@'{host}'")
    try:
        yield Server(MY_HOST, MY_PORT, user, password, mysql_database.database), tokens
    finally:
        for host in ("%", "localhost", "127.0.0.1"):
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
        admin.close()


@pytest.fixture
def pg_funky(pg_password_server: Server) -> Iterator[tuple[Server, list[str]]]:
    """A role on the private, password-checking PostgreSQL cluster with a password of every special."""
    import psycopg
    from psycopg import sql

    password, tokens = funky_secret()
    role = unique_name("qdbm_s")
    with psycopg.connect(host=pg_password_server.host, port=pg_password_server.port, user="postgres",
                         password=pg_password_server.password, dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role),
                                                                         sql.Literal(password)))
        try:
            yield Server(pg_password_server.host, pg_password_server.port, role, password, "postgres"), tokens
        finally:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _leaks(home: Path, outputs: list[subprocess.CompletedProcess[str]], tokens: list[str]) -> list[str]:
    found = []
    blobs = {str(p): p.read_bytes() for p in home.rglob("*") if p.is_file()}
    blobs["outputs"] = "".join(r.stdout + r.stderr for r in outputs).encode("utf-8")
    for where, blob in blobs.items():
        for token in tokens:
            for needle in (token.encode(), token.encode("utf-16-le")):
                at = blob.find(needle)
                if at >= 0:
                    found.append(f"{token} in {where}: {blob[max(0, at - 80):at + 40]!r}")
    return found


def test_no_secret_in_any_spelling_reaches_the_history_files_or_the_output_of_real_runs(
        tmp_path: Path, maria_funky: tuple[Server, list[str]], pg_funky: tuple[Server, list[str]]) -> None:
    maria, maria_tokens = maria_funky
    pg, pg_tokens = pg_funky
    wrong, wrong_tokens = funky_secret()
    extra, extra_tokens = funky_secret()  # options and connection strings that name a secret
    all_tokens = maria_tokens + pg_tokens + wrong_tokens + extra_tokens
    home = tmp_path / "home"
    target_file = tmp_path / "target.db"
    sqlite3.connect(target_file).close()
    sqlite_url = f"sqlite:///{target_file}"
    m_base = f"{maria.host}:{maria.port}/{maria.database}"
    p_base = f"{pg.host}:{pg.port}/{pg.database}"

    succeeding = [
        (f"mysql://{maria.user}:{enc(maria.password)}@{m_base}", sqlite_url),
        (f"mariadb://{maria.user}@{m_base}?password={quote_plus(maria.password)}", sqlite_url),
        (f"postgresql://{pg.user}:{enc(pg.password)}@{p_base}", sqlite_url),
        (f"postgres://{pg.user}@{p_base}?sslmode=disable&password={enc(pg.password)}", sqlite_url),
        (f"postgresql://{pg.user}:{enc(pg.password)}@{p_base}?sslpassword={enc(extra)}", sqlite_url),
        (sqlite_url, f"mysql://{maria.user}:{enc(maria.password)}@{m_base}"),
    ]
    failing = [
        (f"mysql://{maria.user}:{enc(wrong)}@{m_base}", sqlite_url),  # wrong password on MariaDB
        (f"mysql://{maria.user}@{m_base}?PASSWORD={enc(wrong)}", sqlite_url),
        (f"postgresql://{pg.user}:{enc(wrong)}@{p_base}", sqlite_url),  # wrong password on PostgreSQL
        (sqlite_url, f"mysql://{maria.user}:{enc(wrong)}@{m_base}"),
        (f"host={pg.host} port={pg.port} user={pg.user} password='{extra}'", sqlite_url),  # libpq DSN
        (sqlite_url, f"DRIVER={{MariaDB Unicode}};SERVER={maria.host};UID={maria.user};PWD={{{extra}}};"),
        (f"scott/{extra.replace('/', '')}@{maria.host}:1/XE", sqlite_url),  # Oracle EZConnect
        (f"jdbc:postgresql://{p_base}?user={pg.user}&password={enc(extra)}", sqlite_url),
        (f"jdbc:oracle:thin:scott/{enc(extra)}@//{maria.host}:1/XE", sqlite_url),
        (f"oracle://scott:{enc(extra)}@127.0.0.1:1/XE", sqlite_url),
        (f"postgresql://{pg.user}:{pg.password}@{p_base}", sqlite_url),  # not encoded: unparseable
    ]
    outputs: list[subprocess.CompletedProcess[str]] = []
    for number, (source, target) in enumerate(succeeding + failing):
        query = "select 1 as a" if source != sqlite_url else "select 2 as a"
        result = qdbm(home, "migrate", "--source", source, "--target", target, "--query", query,
                      "--table", f"t{number}", *(["--json"] if number % 2 else []))
        outputs.append(result)
        if number < len(succeeding):
            assert result.returncode == 0, (source, result.stdout, result.stderr)
        else:
            assert result.returncode != 0, (source, result.stdout)
            assert "Traceback" not in result.stderr
            assert len([line for line in result.stderr.splitlines() if "error" in line]) <= 2
    # A missing table on a source that logs in: the driver's message is recorded, not the password.
    outputs.append(qdbm(home, "migrate", "--source", succeeding[2][0], "--target", sqlite_url,
                        "--query", "select * from no_such_table", "--table", "tx"))
    assert outputs[-1].returncode == 1 and "no_such_table" in outputs[-1].stderr
    outputs.append(qdbm(home, "connections", "test", failing[0][0]))
    assert outputs[-1].returncode == 1 and "Access denied" in outputs[-1].stderr
    outputs.append(qdbm(home, "connections", "add", "saved-pg", "--url", succeeding[4][0]))
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    outputs.append(qdbm(home, "connections", "test", "saved-pg"))
    assert outputs[-1].returncode == 0, outputs[-1].stderr

    history = qdbm(home, "history", "--json", "--limit", "0")
    runs = json.loads(history.stdout)
    assert sum(r["status"] == "succeeded" for r in runs) == len(succeeding)
    assert {f"mysql://{maria.user}:********@{m_base}", f"postgresql://{pg.user}:********@{p_base}"} <= \
        {r["source"] for r in runs}
    outputs += [history, qdbm(home, "history", "--limit", "0"), qdbm(home, "connections", "list"),
                qdbm(home, "connections", "list", "--json")]
    outputs += [qdbm(home, "history", "--log", str(r["id"])) for r in runs]
    assert any("Access denied" in r["error"] for r in runs if r["error"])
    assert (home / "history.sqlite3-wal").exists() or (home / "history.sqlite3").exists()

    assert _leaks(home, outputs, all_tokens) == []
