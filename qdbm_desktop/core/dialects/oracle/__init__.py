"""Oracle Database through python-oracledb: thin mode (no client libraries) unless an Instant
Client folder is configured, which switches the process to thick mode.

Names: a name that is all lower-case letters, digits, ``_``, ``$`` and ``#`` (starting with a
letter) is stored upper-case, as Oracle stores an unquoted name, so ``SELECT id FROM orders``
finds what QDBM made from ``orders.id``; every other name (mixed case, spaces, other characters)
is kept exactly, double-quoted. Reading does the reverse: an all-upper-case simple name comes
back lower-case, so names survive a round trip.

Oracle stores an empty string as NULL. The writer counts the empty strings it sends and reports
them in ``warnings``, which the run log shows.
"""

from __future__ import annotations

from qdbm_desktop.core.dialects.oracle.dialect import OracleDialect
from qdbm_desktop.core.dialects.oracle.types import (
    catalog_spelling,
    old_name,
    portable_from_catalog,
    portable_from_declared,
    reported_name,
    stored_name,
)

__all__ = ["OracleDialect", "catalog_spelling", "old_name", "portable_from_catalog", "portable_from_declared",
           "reported_name", "stored_name"]
