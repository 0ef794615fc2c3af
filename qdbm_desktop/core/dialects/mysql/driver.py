"""The part of mysql-connector-python this package uses, as Protocols, and the checked narrowing
from the dialect contract's ``Connection`` / ``LockSession`` to it.

mysql-connector's own annotations describe every kind of cursor at once (rows as tuples or
dicts, each value a union of ten types) and declare ``consume_results`` only on the concrete
classes. This package opens tuple cursors only (plain, raw or prepared), whose rows are
tuples of ``bytes`` (raw), decoded values (prepared) or the driver's conversions (plain): hence
``tuple[Any, ...]`` rows, narrowed by each reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

from qdbm_desktop.core.dialects.base import Connection, LockSession


class MySQLCursor(Protocol):
    """A tuple cursor of either implementation (``MySQLCursor*`` or ``CMySQLCursor*``)."""

    @property
    def description(self) -> Sequence[tuple[Any, ...]] | None: ...

    @property
    def rowcount(self) -> int: ...

    @property
    def warning_count(self) -> int: ...

    def execute(self, operation: str, params: Sequence[object] = ...) -> object: ...

    def executemany(self, operation: str, seq_params: Sequence[Sequence[object]]) -> object: ...

    def fetchone(self) -> tuple[Any, ...] | None: ...

    def fetchmany(self, size: int = ...) -> list[tuple[Any, ...]]: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...

    def close(self) -> object: ...


class MySQLConnection(Protocol):
    """A connection of either implementation (pure Python or the C extension)."""

    @property
    def connection_id(self) -> int | None: ...

    @property
    def unread_result(self) -> bool: ...

    @property
    def autocommit(self) -> bool: ...

    @autocommit.setter
    def autocommit(self, value: bool) -> None: ...

    def cursor(self, buffered: bool | None = None, raw: bool | None = None,
               prepared: bool | None = None) -> MySQLCursor: ...

    def commit(self) -> object: ...

    def rollback(self) -> object: ...

    def close(self) -> object: ...

    def consume_results(self) -> object: ...

    def set_allow_local_infile_in_path(self, path: str) -> object: ...

    @property
    def server_info(self) -> str | None: ...


class NativeResult(Protocol):
    """The C extension's low-level handle (``connection._cmysql``): the current result's fields."""

    def fetch_fields(self) -> Sequence[Sequence[object]]: ...


class NativeStatement(Protocol):
    """The C extension's prepared statement (``cursor._stmt``), read row by row for FLOAT fidelity."""

    def fetch_row(self) -> tuple[Any, ...] | None: ...

    def fetch_fields(self) -> Sequence[Sequence[object]]: ...

    def free_result(self) -> object: ...


def _driver_classes() -> tuple[type, ...]:
    from mysql.connector.connection import MySQLConnection as PureConnection

    try:
        from mysql.connector.connection_cext import CMySQLConnection
    except ImportError:  # the C extension did not load: only the pure-Python class exists
        return (PureConnection,)
    return (PureConnection, CMySQLConnection)


def _mysql(connection: Connection | LockSession) -> MySQLConnection:
    """The mysql-connector connection behind ``connection`` (``MySQLDialect.connect`` opened it)."""
    return driver_connection(connection)


def driver_connection(connection: object) -> MySQLConnection:
    """``connection`` as this package's view of the driver, after checking its class."""
    if not isinstance(connection, _driver_classes()):
        raise TypeError(f"not a MySQL connection: {type(connection).__name__}")
    # Checked above; a cast, not a structural check, because the driver's annotations cover dict
    # cursors too (see the module docstring), which this package never opens.
    return cast(MySQLConnection, connection)


def native_result(connection: MySQLConnection) -> NativeResult | None:
    """The C extension's handle behind ``connection``, or None for the pure-Python driver."""
    native: NativeResult | None = getattr(connection, "_cmysql", None)
    return native


def native_statement(cursor: MySQLCursor) -> NativeStatement | None:
    """The C extension's statement behind a prepared ``cursor``, or None for the pure-Python one."""
    stmt: NativeStatement | None = getattr(cursor, "_stmt", None)
    return stmt


def mark_result_read(connection: MySQLConnection) -> None:
    """Tell the driver that the prepared statement's result is gone (what the C extension's own
    ``get_rows`` does after ``free_result``)."""
    if hasattr(connection, "_unread_result"):
        connection._unread_result = False  # a private flag of both driver classes (hasattr above)


def one_row(cursor: MySQLCursor) -> tuple[Any, ...]:
    """The row a single-row statement returns (a SELECT of expressions, SHOW WARNINGS LIMIT 1 after
    a warning)."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the MySQL server returned no row where one was expected")
    return row
