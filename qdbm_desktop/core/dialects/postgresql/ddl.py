"""PostgreSQL's forms of a copied table's keys, indexes and defaults: the standard ones."""

from __future__ import annotations

from qdbm_desktop.core.dialects.ddl import DdlRules


class PostgreSQLDdl(DdlRules):
    """Names up to 63 bytes; key and index names are unique per schema (they share the namespace
    of tables), foreign-key names per table; every action, partial and expression index."""
