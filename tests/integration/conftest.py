"""Real database servers for integration tests.

Each test gets its own uniquely named database, dropped afterwards. An unreachable server
skips the test with the reason, except when QDBM_REQUIRE_SERVERS=1 (CI), where it fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

PG_HOST = os.environ.get("QDBM_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("QDBM_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("QDBM_TEST_PG_USER", "postgres")
MY_HOST = os.environ.get("QDBM_TEST_MYSQL_HOST", "127.0.0.1")
MY_PORT = int(os.environ.get("QDBM_TEST_MYSQL_PORT", "3306"))
MY_USER = os.environ.get("QDBM_TEST_MYSQL_USER", "root")
MY_PASSWORD = os.environ.get("QDBM_TEST_MYSQL_PASSWORD", "")


def unavailable(message: str) -> NoReturn:
    """Skip (also a whole module, at import), or fail when the run requires servers and drivers."""
    if os.environ.get("QDBM_REQUIRE_SERVERS") == "1":
        pytest.fail(message + " (QDBM_REQUIRE_SERVERS=1)")
    pytest.skip(message, allow_module_level=True)


def unreachable(what: str, why: object) -> NoReturn:
    """Skip, or fail when the run requires servers."""
    unavailable(f"{what} is not reachable: {why}")


def pyodbc_or_skip() -> Any:
    """pyodbc, or a skip saying how to get the ODBC driver manager (unixODBC) it cannot load without.

    ``pytest.importorskip`` lets a module that is installed but whose shared library is missing
    raise its ImportError, which stops the whole run at collection.
    """
    from qdbm_desktop.core.dialects.odbc import load_pyodbc
    from qdbm_desktop.core.errors import DriverMissing

    try:
        return load_pyodbc()
    except DriverMissing as exc:
        unavailable(str(exc))


def unique_name(prefix: str = "qdbm_t") -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str
    database: str

    def url(self, scheme: str, password: str | None = None) -> str:
        pw = self.password if password is None else password
        auth = f"{self.user}:{pw}" if pw else self.user
        return f"{scheme}://{auth}@{self.host}:{self.port}/{self.database}"


@pytest.fixture
def pg_database() -> Iterator[Server]:
    """A fresh PostgreSQL database on the running server."""
    import psycopg

    name = unique_name()
    try:
        admin = psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres",
                                autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        unreachable(f"PostgreSQL at {PG_HOST}:{PG_PORT}", exc)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield Server(PG_HOST, PG_PORT, PG_USER, "", name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mysql_database() -> Iterator[Server]:
    """A fresh MariaDB/MySQL database on the running server."""
    import mysql.connector

    name = unique_name()
    try:
        admin = mysql.connector.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, password=MY_PASSWORD,
                                        connection_timeout=5, autocommit=True)
    except mysql.connector.Error as exc:
        unreachable(f"MariaDB/MySQL at {MY_HOST}:{MY_PORT}", exc)
    cursor = admin.cursor()
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield Server(MY_HOST, MY_PORT, MY_USER, MY_PASSWORD, name)
    finally:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture
def mysql_user_with_password(mysql_database: Server) -> Iterator[Server]:
    """A MariaDB/MySQL account that logs in only with its password."""
    import mysql.connector

    user, password = unique_name("qdbm_u"), "pw-" + secrets.token_urlsafe(12)
    admin = mysql.connector.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, password=MY_PASSWORD,
                                    autocommit=True)
    cursor = admin.cursor()
    for host in ("%", "localhost", "127.0.0.1"):
        cursor.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY %s", (password,))
        cursor.execute(f"GRANT ALL ON `{mysql_database.database}`.* TO '{user}'@'{host}'")
    try:
        yield Server(MY_HOST, MY_PORT, user, password, mysql_database.database)
    finally:
        for host in ("%", "localhost", "127.0.0.1"):
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
        admin.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    # Debian's versioned folders, and Homebrew's keg-only postgresql@N formulae.
    candidates = sorted([*Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                         *Path("/opt/homebrew/opt").glob(f"postgresql@*/bin/{name}"),
                         *Path("/usr/local/opt").glob(f"postgresql@*/bin/{name}")], reverse=True)
    return str(candidates[0]) if candidates else None


@pytest.fixture(scope="session")
def pg_password_server() -> Iterator[Server]:
    """A private PostgreSQL cluster that demands a password (scram-sha-256).

    The shared server trusts every local login, so a wrong password can only be shown to fail
    on a server of our own: initdb into a temporary folder, started on a free port.
    """
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        unreachable("a PostgreSQL installation (initdb, pg_ctl) for a password-protected cluster", "not found")
    assert initdb and pg_ctl
    # Directly under the system temp dir: pytest's own tmp folders are 0700 root, which the
    # postgres account (needed when the tests run as root) cannot enter.
    folder = Path(tempfile.mkdtemp(prefix="qdbm-pgcluster-"))
    data, pwfile = folder / "data", folder / "pw"
    password = "pg-" + secrets.token_urlsafe(12)
    pwfile.write_text(password + "\n")
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(folder, "postgres")
        shutil.chown(pwfile, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run([*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
                    f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True)
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*prefix, pg_ctl, "-D", str(data), "-o", opts, "-l", str(folder / "log"), "-w", "start"],
                   check=True, capture_output=True)
    try:
        yield Server("127.0.0.1", port, "postgres", password, "postgres")
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        time.sleep(0.1)
        shutil.rmtree(folder, ignore_errors=True)
