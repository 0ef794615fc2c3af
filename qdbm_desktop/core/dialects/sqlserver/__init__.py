"""Microsoft SQL Server through pyodbc and an installed ODBC driver.

This package holds what is SQL Server's own: the connection string, T-SQL text (bracket-quoted
names, DDL, MERGE, the staging swap), the type mapping both ways and the value checks. Sending
it (streaming reads, parameter-array loads, transactions, error mapping) is the ODBC transport's
job, in :mod:`..odbc`, which is tested through other ODBC drivers where no SQL Server runs.
"""

from __future__ import annotations

from qdbm_desktop.core.dialects.sqlserver.connection import SQLServerConnection
from qdbm_desktop.core.dialects.sqlserver.dialect import SQLServerDialect
from qdbm_desktop.core.dialects.sqlserver.drivers import (
    NO_DRIVER_HELP,
    PREFERRED_DRIVERS,
    installed_drivers,
    no_driver_message,
)
from qdbm_desktop.core.dialects.sqlserver.types import catalog_type_text, portable_from_type_name

__all__ = ["NO_DRIVER_HELP", "PREFERRED_DRIVERS", "SQLServerConnection", "SQLServerDialect",
           "catalog_type_text",
           "installed_drivers", "no_driver_message", "portable_from_type_name"]
