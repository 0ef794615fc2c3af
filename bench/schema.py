"""The benchmark table in each engine: DDL, and the types QDBM gives it as a migration target."""

from __future__ import annotations

from bench.config import COLUMNS

#: Source tables: the 11 column types of the benchmark table, in each engine's own spelling.
SOURCE_TYPES: dict[str, tuple[str, ...]] = {
    "postgresql": ("bigint", "integer", "numeric(12,2)", "smallint", "double precision", "varchar(20)",
                   "text", "timestamp", "timestamptz", "boolean", "date"),
    # TIMESTAMP(6) is MariaDB's zoned kind (stored as UTC); NULL keeps it free of auto-update defaults.
    "mysql": ("BIGINT", "INT", "DECIMAL(12,2)", "SMALLINT", "DOUBLE", "VARCHAR(20)", "LONGTEXT",
              "DATETIME(6)", "TIMESTAMP(6) NULL", "TINYINT(1)", "DATE"),
    # The declared types QDBM itself writes (docs/type-mapping.md), so values keep their exact form.
    "sqlite": ("BIGINT", "INT4", "DECIMAL_TEXT(12,2)", "SMALLINT", "DOUBLE", "VARCHAR(20)", "TEXT",
               "TIMESTAMP", "TIMESTAMPTZ", "BOOLEAN", "DATE"),
}

#: What QDBM creates for these columns on each target (the pipes load into the same definition).
TARGET_TYPES: dict[str, tuple[str, ...]] = {
    "postgresql": SOURCE_TYPES["postgresql"],
    "mysql": ("BIGINT", "INT", "DECIMAL(12,2)", "SMALLINT", "DOUBLE", "VARCHAR(20)", "LONGTEXT",
              "DATETIME(6)", "DATETIME(6)", "TINYINT(1)", "DATE"),
    "sqlite": SOURCE_TYPES["sqlite"],
}

_SUFFIX = {"mysql": " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"}


def create_sql(engine: str, table: str, types: tuple[str, ...]) -> str:
    """``CREATE TABLE`` for the benchmark columns with ``types``."""
    columns = ", ".join(f"{name} {kind}" for name, kind in zip(COLUMNS, types, strict=True))
    return f"CREATE TABLE {table} ({columns}){_SUFFIX.get(engine, '')}"


def drop_sql(table: str) -> str:
    return f"DROP TABLE IF EXISTS {table}"
