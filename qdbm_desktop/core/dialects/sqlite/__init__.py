"""SQLite through the standard library.

Transactions. Connections keep the ``sqlite3`` module's default isolation level, so the
caller's ``commit()`` and ``rollback()`` work as usual. Because that module opens a
transaction implicitly only before INSERT/UPDATE/DELETE (never before DDL), every method
here that changes the database opens the transaction itself when none is open, so DDL and
rows share one transaction the caller controls:

* ``create_table``, ``drop_table`` and ``BulkWriter.write`` run ``BEGIN`` first if needed and
  never commit: the caller commits (staging table, then its rows) or rolls back (nothing stays);
* ``finalize`` is the one method that commits: ``BEGIN IMMEDIATE``, every statement of the mode,
  ``COMMIT``; on any error ``ROLLBACK`` and the target is as it was. Should the caller have left
  a transaction open, the step runs in a savepoint instead and the final commit covers both.

The same holds with ``isolation_level=None``: ``commit()`` and ``rollback()`` act on any
transaction that is open, whoever began it.

A run's source is opened read-only (``mode=ro``), with an authorizer refusing ATTACH (and so
VACUUM INTO, which attaches its new file). Reading also runs the query with ``PRAGMA query_only``
on (restored by ``close()``), so a data-modifying statement fails on any connection. A
single SELECT already reads one consistent snapshot; no explicit read transaction is held, so
a SQLite target in the same file is not locked out for longer than the statement runs.

Types. SQLite results carry no types: the declared type of each result column (known for
columns taken straight from a table) comes from ``PRAGMA table_info`` of a temporary view over
the query; columns without one (expressions) take their kind from the values of the first
batch. See docs/type-mapping-sqlite.md for both directions of the mapping.
"""

from __future__ import annotations

from qdbm_desktop.core.dialects.sqlite.dialect import SQLiteDialect
from qdbm_desktop.core.dialects.sqlite.locks import SQLiteLockSession
from qdbm_desktop.core.dialects.sqlite.types import portable_type

__all__ = ["SQLiteDialect", "SQLiteLockSession", "portable_type"]
