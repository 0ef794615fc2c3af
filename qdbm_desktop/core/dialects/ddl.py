"""How each engine spells the keys, indexes, defaults and foreign keys a table copy carries.

``DdlRules`` holds the standard SQL forms (PostgreSQL's); each dialect package has a subclass
(``<engine>/ddl.py``) for what its engine does differently: how long a name may be and where it
must be unique, which referential actions and index kinds it has, how a NOT NULL or a default is
added to an existing column. ``core/table_ddl.py`` builds a table's statements from them.
Nothing here talks to a database.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from qdbm_desktop.core.dialects.base import Dialect, TableName


class Scope(str, Enum):
    """Where a name must be unique on an engine."""

    TABLE = "table"
    SCHEMA = "schema"


class NameKind(str, Enum):
    KEY = "key"  # primary keys and unique constraints
    INDEX = "index"
    FOREIGN_KEY = "foreign key"


class DefaultKind(str, Enum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    NOW = "now"


@dataclass(frozen=True)
class PortableDefault:
    """A column default every engine can spell: a literal, or the current timestamp."""

    kind: DefaultKind
    value: str = ""


ACTIONS = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT")

_TEXTISH = re.compile(r"^\s*(tiny|medium|long)?(text|blob)\b|^\s*json\b", re.IGNORECASE)


def shorten(name: str, limit: int | None, in_bytes: bool) -> str:
    """``name`` cut to ``limit`` (bytes of UTF-8 or characters), ending in a digest of the whole
    name so that two long names sharing a prefix stay apart; the same name always gives the same
    result."""

    def size(text: str) -> int:
        return len(text.encode("utf-8")) if in_bytes else len(text)

    if limit is None or size(name) <= limit:
        return name
    tail = "_" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    head = name
    while head and size(head + tail) > limit:
        head = head[:-1]
    return head + tail


class DdlRules:
    """The standard forms; a subclass per engine overrides what differs."""

    #: None: no limit (SQLite).
    identifier_limit: int | None = 63
    limit_in_bytes = True
    scopes: dict[NameKind, Scope] = {NameKind.KEY: Scope.SCHEMA, NameKind.INDEX: Scope.SCHEMA,
                                     NameKind.FOREIGN_KEY: Scope.TABLE}
    on_delete_actions: frozenset[str] = frozenset(ACTIONS)
    on_update_actions: frozenset[str] = frozenset(ACTIONS)
    partial_indexes = True
    expression_indexes = True
    #: Keys and constraints can only be declared in CREATE TABLE (SQLite): the table is rebuilt.
    rebuilds_table = False

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    # -- names --------------------------------------------------------------------------------

    def q(self, name: str) -> str:
        return self.dialect.quote_identifier(name)

    def table(self, table: TableName) -> str:
        return self.dialect.qualified(table)

    def index_name(self, table: TableName, name: str) -> str:
        """The name in CREATE INDEX (schema-qualified where the engine wants it there)."""
        return self.q(name)

    def fold(self, name: str) -> str:
        """The form two names are compared in (stricter than the engine is harmless)."""
        return name.casefold()

    # -- types ----------------------------------------------------------------------------------

    def keyable(self, type_name: str | None) -> bool:
        """Whether a column of this target type can be part of a key or an index."""
        return True

    def is_boolean(self, type_name: str | None) -> bool:
        return bool(type_name) and (type_name or "").strip().lower() in ("boolean", "bool")

    # -- defaults -----------------------------------------------------------------------------

    def string_literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def now(self, type_name: str | None) -> str:
        return "CURRENT_TIMESTAMP"

    def render_default(self, default: PortableDefault, type_name: str | None) -> str:
        if default.kind is DefaultKind.NOW:
            return self.now(type_name)
        if default.kind is DefaultKind.STRING:
            return self.string_literal(default.value)
        boolean_number = self.is_boolean(type_name) and default.value in ("0", "1")
        if default.kind is DefaultKind.BOOLEAN or boolean_number:
            return self.boolean(default.value in ("1", "true"), type_name)
        return default.value

    def boolean(self, truth: bool, type_name: str | None) -> str:
        if self.is_boolean(type_name):
            return "true" if truth else "false"
        return "1" if truth else "0"

    # -- column changes -----------------------------------------------------------------------

    def set_not_null(self, table: TableName, column: str, type_name: str | None) -> str | None:
        """None when the engine needs the column's type and none was given."""
        return f"ALTER TABLE {self.table(table)} ALTER COLUMN {self.q(column)} SET NOT NULL"

    def set_default(self, table: TableName, column: str, default_sql: str, type_name: str | None,
                    not_null: bool) -> str | None:
        return f"ALTER TABLE {self.table(table)} ALTER COLUMN {self.q(column)} SET DEFAULT {default_sql}"

    # -- constraints and indexes ----------------------------------------------------------------

    def columns(self, names: Sequence[str]) -> str:
        return "(" + ", ".join(self.q(n) for n in names) + ")"

    def add_primary_key(self, table: TableName, name: str, columns: Sequence[str]) -> str:
        return (f"ALTER TABLE {self.table(table)} ADD CONSTRAINT {self.q(name)} "
                f"PRIMARY KEY {self.columns(columns)}")

    def add_unique(self, table: TableName, name: str, columns: Sequence[str]) -> str:
        return f"ALTER TABLE {self.table(table)} ADD CONSTRAINT {self.q(name)} UNIQUE {self.columns(columns)}"

    def create_index(self, table: TableName, name: str, parts: Sequence[str], unique: bool,
                     where: str | None, method: str | None) -> str:
        using = f" USING {method}" if method else ""
        predicate = f" WHERE {where}" if where else ""
        return (f"CREATE {'UNIQUE ' if unique else ''}INDEX {self.index_name(table, name)} ON "
                f"{self.table(table)}{using} ({', '.join(parts)}){predicate}")

    def references(self, columns: Sequence[str], referenced: TableName, referenced_columns: Sequence[str],
                   on_delete: str, on_update: str) -> str:
        pairs = (("DELETE", on_delete), ("UPDATE", on_update))
        actions = "".join(f" ON {when} {action}" for when, action in pairs if action != "NO ACTION")
        return (f"FOREIGN KEY {self.columns(columns)} REFERENCES {self.table(referenced)} "
                f"{self.columns(referenced_columns)}{actions}")

    def add_foreign_key(self, table: TableName, name: str, clause: str) -> str:
        return f"ALTER TABLE {self.table(table)} ADD CONSTRAINT {self.q(name)} {clause}"

    def combine(self, table: TableName, statements: list[str]) -> list[str]:
        """The statements of one table, merged where the engine does better with fewer."""
        return statements

    def substitute_action(self, action: str, supported: frozenset[str]) -> str:
        """The closest action the engine has (RESTRICT and NO ACTION differ only in timing)."""
        if action == "RESTRICT" and "NO ACTION" in supported:
            return "NO ACTION"
        return "NO ACTION"

    def is_text_type(self, type_name: str | None) -> bool:
        return bool(type_name) and bool(_TEXTISH.match(type_name or ""))
