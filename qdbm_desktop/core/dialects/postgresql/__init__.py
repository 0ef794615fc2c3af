"""PostgreSQL through psycopg 3: types, reading, loading (COPY) and the dialect, one module each."""

from __future__ import annotations

from qdbm_desktop.core.dialects.postgresql.dialect import PostgreSQLDialect
from qdbm_desktop.core.dialects.postgresql.types import portable_type

__all__ = ["PostgreSQLDialect", "portable_type"]
