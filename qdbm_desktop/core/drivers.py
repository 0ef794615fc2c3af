"""The database drivers this installation can load, and their versions (for `qdbm info` and About)."""

from __future__ import annotations

from collections.abc import Callable


def driver_versions() -> list[tuple[str, str]]:
    """(database, "driver version") for each engine; a driver that cannot load says why instead."""
    from qdbm_desktop.core.dialects.mysql import driver_description
    from qdbm_desktop.core.dialects.odbc import load_pyodbc

    found: list[tuple[str, str]] = []
    checks: list[tuple[str, Callable[[], str]]] = [
        ("PostgreSQL", lambda: "psycopg " + __import__("psycopg").__version__),
        ("MySQL / MariaDB", driver_description),
        ("SQLite", lambda: "sqlite3 " + __import__("sqlite3").sqlite_version),
        ("SQL Server", lambda: "pyodbc " + load_pyodbc().version),
        ("Oracle", lambda: "oracledb " + __import__("oracledb").__version__),
    ]
    for label, probe in checks:
        try:
            found.append((label, probe()))
        except Exception as exc:  # noqa: BLE001 - a driver that cannot load is reported, not fatal
            found.append((label, f"not available: {str(exc).splitlines()[0] if str(exc) else exc}"))
    return found
