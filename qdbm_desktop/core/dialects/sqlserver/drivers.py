"""The ODBC drivers for SQL Server that pyodbc sees, and what to say when there is none."""

from __future__ import annotations

from typing import Any

from qdbm_desktop.core.dialects.odbc import (
    load_pyodbc,
)

PREFERRED_DRIVERS = ("ODBC Driver 18 for SQL Server", "ODBC Driver 17 for SQL Server")
NO_DRIVER_HELP = (
    "no SQL Server ODBC driver is installed; install Microsoft's \"ODBC Driver 18 for SQL Server\" "
    "(Windows: the installer from Microsoft; macOS: brew install msodbcsql18; Linux: the msodbcsql18 "
    "package from Microsoft's repository)"
)


def _pyodbc() -> Any:
    return load_pyodbc()


def installed_drivers() -> list[str]:
    """ODBC drivers for SQL Server that pyodbc can see, the preferred ones first."""
    names = [name for name in _pyodbc().drivers() if "SQL Server" in name]
    return sorted(names, key=lambda n: (n not in PREFERRED_DRIVERS, PREFERRED_DRIVERS.index(n)
                                        if n in PREFERRED_DRIVERS else 0, n))


def no_driver_message() -> str:
    """Says no SQL Server driver is installed, what pyodbc does see, and how to get one."""
    seen = _pyodbc().drivers()
    listed = ", ".join(f'"{d}"' for d in seen) if seen else "none"
    return f"{NO_DRIVER_HELP}; ODBC drivers found: {listed}"
