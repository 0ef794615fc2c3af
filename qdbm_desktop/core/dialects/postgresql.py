"""PostgreSQL through psycopg 3."""

from __future__ import annotations

from typing import Any

from qdbm_desktop.core.dialects.base import ConnectParams, Dialect


class PostgreSQLDialect(Dialect):
    name = "postgresql"
    display_name = "PostgreSQL"
    default_port = 5432

    def connect(self, params: ConnectParams, timeout: float) -> Any:
        import psycopg

        kwargs: dict[str, Any] = {
            "host": params.host or "localhost",
            "port": params.port or self.default_port,
            "dbname": params.database or None,
            "user": params.user or None,
            "password": params.password or None,
            "connect_timeout": max(1, int(round(timeout))),
            "application_name": "QDBM Desktop",
        }
        kwargs.update(params.options)
        return psycopg.connect(**{k: v for k, v in kwargs.items() if v is not None})

    def server_version(self, connection: Any) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            row = cursor.fetchone()
        return f"PostgreSQL {row[0]}"
