"""Oracle's forms of a copied table's keys, indexes and defaults."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.ddl import DdlRules, NameKind, Scope
from qdbm_desktop.core.dialects.oracle.types import stored_name

_LOB = re.compile(r"^\s*(n?clob|blob|long|xmltype)\b", re.IGNORECASE)


class OracleDdl(DdlRules):
    """Names up to 128 bytes (30 before 12.2: give ``identifier_limit``); constraint and index
    names unique per schema; ON DELETE CASCADE or SET NULL only, no ON UPDATE; function-based
    indexes between Oracle servers, no partial ones; LOBs cannot be keys."""

    identifier_limit = 128
    scopes = {NameKind.KEY: Scope.SCHEMA, NameKind.INDEX: Scope.SCHEMA, NameKind.FOREIGN_KEY: Scope.SCHEMA}
    on_delete_actions = frozenset({"NO ACTION", "CASCADE", "SET NULL"})
    on_update_actions = frozenset({"NO ACTION"})
    partial_indexes = False

    def fold(self, name: str) -> str:
        return stored_name(name)

    def keyable(self, type_name: str | None) -> bool:
        return not _LOB.match(type_name or "")

    def is_boolean(self, type_name: str | None) -> bool:
        return False

    def set_not_null(self, table: TableName, column: str, type_name: str | None) -> str | None:
        return f"ALTER TABLE {self.table(table)} MODIFY ({self.q(column)} NOT NULL)"

    def set_default(self, table: TableName, column: str, default_sql: str, type_name: str | None,
                    not_null: bool) -> str | None:
        return f"ALTER TABLE {self.table(table)} MODIFY ({self.q(column)} DEFAULT {default_sql})"

    def create_index(self, table: TableName, name: str, parts: Sequence[str], unique: bool,
                     where: str | None, method: str | None) -> str:
        owner = f"{self.q(table.schema)}." if table.schema else ""
        return (f"CREATE {'UNIQUE ' if unique else ''}INDEX {owner}{self.q(name)} ON {self.table(table)} "
                f"({', '.join(parts)})")
