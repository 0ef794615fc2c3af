"""The connections the SQL Server dialect opens: pyodbc's, with the cursor reading on each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qdbm_desktop.core.dialects.base import (
    Connection,
    LockSession,
)

if TYPE_CHECKING:
    import pyodbc


class SQLServerConnection:
    """A pyodbc connection, and the cursor reading on it now.

    pyodbc cancels a statement only through the cursor running it (it has no connection-wide
    cancel), so the cursor ``open_read`` starts is kept here, with its own connection, for
    ``cancel_running`` to stop from another thread. The rest is the pyodbc connection's, ``odbc``.
    """

    def __init__(self, odbc: pyodbc.Connection) -> None:
        self.odbc = odbc
        #: The cursor of the query being read, until its stream closes.
        self.reading: pyodbc.Cursor | None = None

    def cursor(self) -> pyodbc.Cursor:
        return self.odbc.cursor()

    def commit(self) -> None:
        self.odbc.commit()

    def rollback(self) -> None:
        self.odbc.rollback()

    def close(self) -> None:
        self.odbc.close()


def _sqlserver(connection: Connection | LockSession) -> SQLServerConnection:
    """The connection ``SQLServerDialect.connect`` opened."""
    if not isinstance(connection, SQLServerConnection):
        raise TypeError(f"not a SQL Server connection: {type(connection).__name__}")
    return connection
