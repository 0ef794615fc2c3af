"""Oracle Database through python-oracledb (thin mode: no Instant Client needed)."""

from __future__ import annotations

from typing import Any

from qdbm_desktop.core.dialects.base import ConnectParams, Dialect


class OracleDialect(Dialect):
    name = "oracle"
    display_name = "Oracle"
    default_port = 1521
    fields = ("host", "port", "database", "user", "password", "dsn")

    def make_dsn(self, params: ConnectParams) -> str:
        """The DSN given by the user, or an Easy Connect string host:port/service_name."""
        if params.dsn:
            return params.dsn
        host = params.host or "localhost"
        port = params.port or self.default_port
        return f"{host}:{port}/{params.database or ''}"

    def connect(self, params: ConnectParams, timeout: float) -> Any:
        import oracledb

        kwargs: dict[str, Any] = {"user": params.user, "password": params.password,
                                  "dsn": self.make_dsn(params), "tcp_connect_timeout": float(timeout)}
        kwargs.update(params.options)
        return oracledb.connect(**kwargs)

    def server_version(self, connection: Any) -> str:
        return f"Oracle {connection.version}"
