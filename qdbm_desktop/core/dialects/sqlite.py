"""SQLite through the standard library."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from qdbm_desktop.core.dialects.base import ConnectParams, Dialect
from qdbm_desktop.core.errors import ConnectFailed


class SQLiteDialect(Dialect):
    name = "sqlite"
    display_name = "SQLite"
    default_port = None
    fields = ("path",)

    def connect(self, params: ConnectParams, timeout: float) -> Any:
        if not params.path:
            raise ConnectFailed("no database file is set")
        path = Path(params.path).expanduser()
        # Opening a missing file would silently create an empty database; a typo in a path
        # must say so instead. New files are made on purpose (connection dialog, demo).
        if not path.is_file():
            raise ConnectFailed(f"database file not found: {path}")
        connection = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
        connection.execute("PRAGMA schema_version").fetchone()  # fails now if it is no database
        return connection

    def server_version(self, connection: Any) -> str:
        (version,) = connection.execute("SELECT sqlite_version()").fetchone()
        return f"SQLite {version}"

    def describe_location(self, params: ConnectParams) -> str:
        return params.path or ""
