"""The database dialects, one package (or module) each behind :class:`~.base.Dialect`.

Adding a database means adding one package here, ``dialects/<engine>/``, whose ``__init__`` exposes
a subclass of ``Dialect`` implementing every abstract method (its connections, streams and
writers meet the ``Connection``, ``ReadStream`` and ``BulkWriter`` protocols of ``base``), listing
it in ``DIALECTS`` below, and its tests (tests/core/test_dialect_contract.py checks the contract
for every entry of ``DIALECTS``).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Mapping

from qdbm_desktop.core.dialects.base import Connection, ConnectParams, Cursor, Dialect, LockSession
from qdbm_desktop.core.errors import UsageError

#: Each connection type's dialect, as (module, class), in the order lists show them.
_REGISTRY: dict[str, tuple[str, str]] = {
    "postgresql": ("qdbm_desktop.core.dialects.postgresql", "PostgreSQLDialect"),
    "mysql": ("qdbm_desktop.core.dialects.mysql", "MySQLDialect"),
    "sqlite": ("qdbm_desktop.core.dialects.sqlite", "SQLiteDialect"),
    "sqlserver": ("qdbm_desktop.core.dialects.sqlserver", "SQLServerDialect"),
    "oracle": ("qdbm_desktop.core.dialects.oracle", "OracleDialect"),
}


class _Dialects(Mapping[str, Dialect]):
    """The dialects by connection type, each imported when first looked up.

    A run between two engines loads those two dialect packages only (start-up time: a
    dialect module pulls in its type maps and writers); listing the names imports nothing.
    """

    def __init__(self, registry: Mapping[str, tuple[str, str]]) -> None:
        self._registry = dict(registry)
        self._loaded: dict[str, Dialect] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> Dialect:
        dialect = self._loaded.get(name)
        if dialect is not None:
            return dialect
        module_name, class_name = self._registry[name]  # KeyError for an unknown type
        with self._lock:
            if name not in self._loaded:
                cls = getattr(importlib.import_module(module_name), class_name)
                self._loaded[name] = cls()
            return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry)

    def __len__(self) -> int:
        return len(self._registry)

    def __contains__(self, name: object) -> bool:
        return name in self._registry


DIALECTS: Mapping[str, Dialect] = _Dialects(_REGISTRY)


def get_dialect(type_name: str) -> Dialect:
    """The dialect for a connection type; a clear error for an unknown one."""
    try:
        return DIALECTS[type_name]
    except KeyError:
        known = ", ".join(DIALECTS)
        raise UsageError(f"unknown database type {type_name!r} (known: {known})") from None


__all__ = ["DIALECTS", "ConnectParams", "Connection", "Cursor", "Dialect", "LockSession", "get_dialect"]
