"""SQLite's forms of a copied table's keys, indexes and defaults: keys, defaults and foreign keys
exist only in CREATE TABLE, so the loaded table is rebuilt with them."""

from __future__ import annotations

from collections.abc import Sequence

from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.ddl import DdlRules, NameKind, Scope


class SQLiteDdl(DdlRules):
    """No name limit; index names per schema (database file), constraint names are not checked
    for uniqueness at all; every action, partial and expression indexes."""

    identifier_limit = None
    scopes = {NameKind.KEY: Scope.TABLE, NameKind.INDEX: Scope.SCHEMA, NameKind.FOREIGN_KEY: Scope.TABLE}
    rebuilds_table = True

    def index_name(self, table: TableName, name: str) -> str:
        # SQLite puts the schema on the index's name, and the table in the same schema.
        return f"{self.q(table.schema)}.{self.q(name)}" if table.schema else self.q(name)

    def create_index(self, table: TableName, name: str, parts: Sequence[str], unique: bool,
                     where: str | None, method: str | None) -> str:
        predicate = f" WHERE {where}" if where else ""
        return (f"CREATE {'UNIQUE ' if unique else ''}INDEX {self.index_name(table, name)} ON "
                f"{self.q(table.name)} ({', '.join(parts)}){predicate}")

    def is_boolean(self, type_name: str | None) -> bool:
        return False
