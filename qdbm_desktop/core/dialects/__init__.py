"""The database dialects, one package (or module) each behind :class:`~.base.Dialect`.

Adding a database means adding one package here, ``dialects/<engine>/``, whose ``__init__`` exposes
a subclass of ``Dialect`` implementing every abstract method (its connections, streams and
writers meet the ``Connection``, ``ReadStream`` and ``BulkWriter`` protocols of ``base``), listing
it in ``DIALECTS`` below, and its tests (tests/core/test_dialect_contract.py checks the contract
for every entry of ``DIALECTS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from qdbm_desktop.core.dialects.base import Connection, ConnectParams, Cursor, Dialect, LockSession
from qdbm_desktop.core.dialects.mysql import MySQLDialect
from qdbm_desktop.core.dialects.oracle import OracleDialect
from qdbm_desktop.core.dialects.postgresql import PostgreSQLDialect
from qdbm_desktop.core.dialects.sqlite import SQLiteDialect
from qdbm_desktop.core.dialects.sqlserver import SQLServerDialect
from qdbm_desktop.core.errors import UsageError

#: Every supported engine by its type name (the ``type`` of a connection profile).
DIALECTS: Mapping[str, Dialect] = MappingProxyType(
    {d.name: d for d in (PostgreSQLDialect(), MySQLDialect(), SQLiteDialect(), SQLServerDialect(),
                         OracleDialect())}
)


def get_dialect(type_name: str) -> Dialect:
    """The dialect for a connection type; a clear error for an unknown one."""
    try:
        return DIALECTS[type_name]
    except KeyError:
        known = ", ".join(DIALECTS)
        raise UsageError(f"unknown database type {type_name!r} (known: {known})") from None


__all__ = ["DIALECTS", "ConnectParams", "Connection", "Cursor", "Dialect", "LockSession", "get_dialect"]
