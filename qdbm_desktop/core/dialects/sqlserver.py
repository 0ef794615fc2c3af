"""Microsoft SQL Server through pyodbc and an installed ODBC driver."""

from __future__ import annotations

from typing import Any

from qdbm_desktop.core.dialects.base import ConnectParams, Dialect
from qdbm_desktop.core.errors import DriverMissing

PREFERRED_DRIVERS = ("ODBC Driver 18 for SQL Server", "ODBC Driver 17 for SQL Server")
NO_DRIVER_HELP = (
    "no SQL Server ODBC driver is installed; install Microsoft's \"ODBC Driver 18 for SQL Server\" "
    "(Windows: the installer from Microsoft; macOS: brew install msodbcsql18; Linux: the msodbcsql18 "
    "package from Microsoft's repository)"
)


def _pyodbc() -> Any:
    try:
        import pyodbc
    except ImportError as exc:
        raise DriverMissing(
            f"pyodbc cannot be loaded ({exc}); on Linux install unixODBC (apt install unixodbc), "
            "on macOS brew install unixodbc"
        ) from exc
    return pyodbc


def installed_drivers() -> list[str]:
    """ODBC drivers for SQL Server that pyodbc can see, the preferred ones first."""
    names = [name for name in _pyodbc().drivers() if "SQL Server" in name]
    return sorted(names, key=lambda n: (n not in PREFERRED_DRIVERS, PREFERRED_DRIVERS.index(n)
                                        if n in PREFERRED_DRIVERS else 0, n))


def _odbc_value(value: str) -> str:
    # ODBC connection string values with ; { } or spaces at the ends are brace-quoted.
    if any(ch in value for ch in ";{}") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


class SQLServerDialect(Dialect):
    name = "sqlserver"
    display_name = "SQL Server"
    default_port = 1433
    fields = ("host", "port", "database", "user", "password", "driver")

    def connection_string(self, params: ConnectParams) -> str:
        driver = params.driver
        if not driver:
            found = installed_drivers()
            if not found:
                raise DriverMissing(NO_DRIVER_HELP)
            driver = found[0]
        server = params.host or "localhost"
        if params.port and "\\" not in server:
            server = f"{server},{params.port}"
        parts = {"DRIVER": driver, "SERVER": server}
        if params.database:
            parts["DATABASE"] = params.database
        if params.user:
            parts["UID"] = params.user
            parts["PWD"] = params.password or ""
        else:
            parts["Trusted_Connection"] = "yes"
        parts.update(params.options)
        return ";".join(f"{key}={_odbc_value(str(value))}" for key, value in parts.items())

    def connect(self, params: ConnectParams, timeout: float) -> Any:
        pyodbc = _pyodbc()
        conn_str = params.dsn or self.connection_string(params)
        return pyodbc.connect(conn_str, timeout=max(1, int(round(timeout))), autocommit=False)

    def server_version(self, connection: Any) -> str:
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)), "
                           "CAST(SERVERPROPERTY('Edition') AS nvarchar(128))")
            version, edition = cursor.fetchone()
        finally:
            cursor.close()
        return f"SQL Server {version} ({edition})"
