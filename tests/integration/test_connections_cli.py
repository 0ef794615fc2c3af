"""`qdbm connections add/test` against the real PostgreSQL and MariaDB servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import Server


def qdbm(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `qdbm` command in its own process, as a user would."""
    env = {**os.environ, "QDBM_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    return subprocess.run([sys.executable, "-m", "qdbm_desktop.cli", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)


def all_output(home: Path, *results: subprocess.CompletedProcess[str]) -> str:
    files = "".join(p.read_bytes().decode("utf-8", "replace") for p in home.rglob("*")
                    if p.is_file() and p.suffix != ".sqlite")
    return files + "".join(r.stdout + r.stderr for r in results)


def test_postgresql_connection_test_succeeds_and_prints_version(tmp_path: Path, pg_database: Server) -> None:
    added = qdbm(tmp_path, "connections", "add", "pg", "--url", pg_database.url("postgresql"))
    assert added.returncode == 0, added.stderr
    result = qdbm(tmp_path, "connections", "test", "pg")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: PostgreSQL 1")
    listed = json.loads(qdbm(tmp_path, "connections", "list", "--json").stdout)
    assert next(c for c in listed if c["name"] == "pg")["last_test"].startswith("ok: PostgreSQL")


def test_postgresql_wrong_password_fails_with_one_clear_line(tmp_path: Path, pg_password_server: Server) -> None:
    right = qdbm(tmp_path, "connections", "add", "good", "--type", "postgresql", "--host", "127.0.0.1",
                 "--port", str(pg_password_server.port), "--user", "postgres", "--database", "postgres",
                 "--password-stdin", stdin=pg_password_server.password + "\n")
    assert right.returncode == 0, right.stderr
    wrong_pw = "Wr0ng-pass!"
    wrong = qdbm(tmp_path, "connections", "add", "bad", "--type", "postgresql", "--host", "127.0.0.1",
                 "--port", str(pg_password_server.port), "--user", "postgres", "--password-stdin",
                 stdin=wrong_pw + "\n")
    assert wrong.returncode == 0, wrong.stderr

    good = qdbm(tmp_path, "connections", "test", "good")
    bad = qdbm(tmp_path, "connections", "test", "bad")

    assert good.returncode == 0, good.stderr
    assert bad.returncode == 1
    errors = [line for line in bad.stderr.splitlines() if "error" in line]
    assert len(errors) == 1
    assert "connection 'bad' failed" in errors[0] and "password authentication failed" in errors[0]
    assert "Traceback" not in bad.stderr
    leaked = all_output(tmp_path, right, wrong, good, bad)
    assert wrong_pw not in leaked and pg_password_server.password not in leaked


def test_postgresql_wrong_port_fails_with_exit_code_1(tmp_path: Path, pg_database: Server) -> None:
    qdbm(tmp_path, "connections", "add", "pg", "--type", "postgresql", "--host", "127.0.0.1",
         "--port", "1", "--user", pg_database.user)
    result = qdbm(tmp_path, "connections", "test", "pg", "--timeout", "3")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("qdbm: error: connection 'pg' failed:")
    assert "port 1" in result.stderr and "refused" in result.stderr.lower()


def test_mariadb_connection_test_with_password_succeeds(tmp_path: Path, mysql_user_with_password: Server) -> None:
    server = mysql_user_with_password
    added = qdbm(tmp_path, "connections", "add", "maria", "--type", "mysql", "--host", server.host,
                 "--port", str(server.port), "--user", server.user, "--database", server.database,
                 "--password-stdin", stdin=server.password + "\n")
    assert added.returncode == 0, added.stderr
    result = qdbm(tmp_path, "connections", "test", "maria")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(("ok: MariaDB", "ok: MySQL"))
    assert server.password not in all_output(tmp_path, added, result)


def test_mariadb_wrong_password_says_access_denied(tmp_path: Path, mysql_user_with_password: Server) -> None:
    server = mysql_user_with_password
    qdbm(tmp_path, "connections", "add", "maria", "--url", server.url("mysql", password="not-it-42"))
    result = qdbm(tmp_path, "connections", "test", "maria")
    assert result.returncode == 1
    assert "Access denied" in result.stderr and "connection 'maria' failed" in result.stderr
    assert "not-it-42" not in all_output(tmp_path, result)
    assert "Traceback" not in result.stderr


def test_mariadb_wrong_port_fails_with_exit_code_1(tmp_path: Path, mysql_database: Server) -> None:
    qdbm(tmp_path, "connections", "add", "maria", "--type", "mysql", "--host", "127.0.0.1", "--port", "1",
         "--user", mysql_database.user)
    result = qdbm(tmp_path, "connections", "test", "maria", "--timeout", "3")
    assert result.returncode == 1
    assert "Can't connect" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_connection_url_can_be_tested_without_saving(tmp_path: Path, scheme: str, request: pytest.FixtureRequest) -> None:
    server: Server = request.getfixturevalue("pg_database" if scheme == "postgresql" else "mysql_database")
    result = qdbm(tmp_path, "connections", "test", server.url(scheme))
    assert result.returncode == 0, result.stderr
    assert json.loads(qdbm(tmp_path, "connections", "list", "--json").stdout)[-1]["name"] != "url"
