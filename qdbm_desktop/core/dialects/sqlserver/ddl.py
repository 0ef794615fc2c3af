"""SQL Server's forms of a copied table's keys, indexes and defaults."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.ddl import ACTIONS, DdlRules, NameKind, Scope

_UNKEYABLE = re.compile(r"\(\s*max\s*\)|^\s*(n?text|image|xml|geography|geometry)\b", re.IGNORECASE)


class SQLServerDdl(DdlRules):
    """Names up to 128 characters; constraints are objects of the schema, indexes per table; no
    RESTRICT (NO ACTION instead); filtered (partial) indexes between SQL Servers only, no
    expression indexes; (max) and LOB columns cannot be keys. NOT NULL needs the column's type."""

    identifier_limit = 128
    limit_in_bytes = False
    scopes = {NameKind.KEY: Scope.SCHEMA, NameKind.INDEX: Scope.TABLE, NameKind.FOREIGN_KEY: Scope.SCHEMA}
    on_delete_actions = frozenset(a for a in ACTIONS if a != "RESTRICT")
    on_update_actions = on_delete_actions
    expression_indexes = False

    def keyable(self, type_name: str | None) -> bool:
        return not _UNKEYABLE.search(type_name or "")

    def is_boolean(self, type_name: str | None) -> bool:
        return False

    def set_not_null(self, table: TableName, column: str, type_name: str | None) -> str | None:
        if not type_name:
            return None
        return f"ALTER TABLE {self.table(table)} ALTER COLUMN {self.q(column)} {type_name} NOT NULL"

    def set_default(self, table: TableName, column: str, default_sql: str, type_name: str | None,
                    not_null: bool) -> str | None:
        return f"ALTER TABLE {self.table(table)} ADD DEFAULT {default_sql} FOR {self.q(column)}"

    def create_index(self, table: TableName, name: str, parts: Sequence[str], unique: bool,
                     where: str | None, method: str | None) -> str:
        predicate = f" WHERE {where}" if where else ""
        return (f"CREATE {'UNIQUE ' if unique else ''}INDEX {self.q(name)} ON {self.table(table)} "
                f"({', '.join(parts)}){predicate}")
