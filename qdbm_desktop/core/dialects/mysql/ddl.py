"""MySQL's and MariaDB's forms of a copied table's keys, indexes and defaults."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.ddl import ACTIONS, DdlRules, NameKind, PortableDefault, Scope

_PRECISION = re.compile(r"^\s*(datetime|timestamp)\s*\((\d)\)", re.IGNORECASE)
_TEMPORAL = re.compile(r"^\s*(datetime|timestamp)\b", re.IGNORECASE)


class MySQLDdl(DdlRules):
    """Names up to 64 characters; key and index names per table, foreign-key names per database;
    no SET DEFAULT action (InnoDB refuses it), no partial indexes, and expression indexes only
    between MySQL servers. A NOT NULL needs the column's whole type (``MODIFY``), and a table's
    changes go in one ALTER TABLE so that InnoDB rebuilds it once."""

    identifier_limit = 64
    limit_in_bytes = False
    scopes = {NameKind.KEY: Scope.TABLE, NameKind.INDEX: Scope.TABLE, NameKind.FOREIGN_KEY: Scope.SCHEMA}
    on_delete_actions = frozenset(a for a in ACTIONS if a != "SET DEFAULT")
    on_update_actions = on_delete_actions
    partial_indexes = False

    def keyable(self, type_name: str | None) -> bool:
        return not self.is_text_type(type_name)

    def is_boolean(self, type_name: str | None) -> bool:
        return (type_name or "").strip().lower() in ("tinyint(1)", "boolean", "bool")

    def boolean(self, truth: bool, type_name: str | None) -> str:
        return "1" if truth else "0"

    def string_literal(self, text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"

    def now(self, type_name: str | None) -> str:
        match = _PRECISION.match(type_name or "")
        return f"CURRENT_TIMESTAMP({match.group(2)})" if match else "CURRENT_TIMESTAMP"

    def render_default(self, default: PortableDefault, type_name: str | None) -> str:
        sql = super().render_default(default, type_name)
        # TEXT, BLOB and JSON columns take a default only as an expression (MySQL 8.0.13+, MariaDB 10.2+).
        return f"({sql})" if self.is_text_type(type_name) else sql

    def set_not_null(self, table: TableName, column: str, type_name: str | None) -> str | None:
        if not type_name:
            return None
        return f"ALTER TABLE {self.table(table)} MODIFY COLUMN {self.q(column)} {type_name} NOT NULL"

    def set_default(self, table: TableName, column: str, default_sql: str, type_name: str | None,
                    not_null: bool) -> str | None:
        if not_null:
            if not type_name:
                return None
            # One MODIFY carries both: a second MODIFY would drop the NOT NULL again.
            return (f"ALTER TABLE {self.table(table)} MODIFY COLUMN {self.q(column)} {type_name} "
                    f"NOT NULL DEFAULT {default_sql}")
        return f"ALTER TABLE {self.table(table)} ALTER COLUMN {self.q(column)} SET DEFAULT {default_sql}"

    def add_primary_key(self, table: TableName, name: str, columns: Sequence[str]) -> str:
        # MySQL names every primary key PRIMARY.
        return f"ALTER TABLE {self.table(table)} ADD PRIMARY KEY {self.columns(columns)}"

    def create_index(self, table: TableName, name: str, parts: Sequence[str], unique: bool,
                     where: str | None, method: str | None) -> str:
        kind = "UNIQUE " if unique else f"{method.upper()} " if method in ("fulltext", "spatial") else ""
        return f"CREATE {kind}INDEX {self.q(name)} ON {self.table(table)} ({', '.join(parts)})"

    def combine(self, table: TableName, statements: list[str]) -> list[str]:
        prefix = f"ALTER TABLE {self.table(table)} "
        clauses = [s[len(prefix):] for s in statements if s.startswith(prefix)]
        rest = [s for s in statements if not s.startswith(prefix)]
        return ([prefix + ", ".join(clauses)] if clauses else []) + rest
