"""The keys, indexes, defaults and foreign keys a table copy gives its target.

``plan_table_ddl`` turns a source table's shape (``Dialect.describe_table``) into the target's
statements: NOT NULL, simple defaults, the primary key, unique constraints and indexes in
``after_load`` (run once that table's rows are in: building them on a full table is faster than
loading into an indexed one), and foreign keys in ``after_all`` (run once every table of the run
is loaded, so that cyclic and self references find their rows). What the target cannot have is
left out with one warning line each, naming it.

Names are kept, cut to the target's limit with a digest of the whole name, and made unique
where the target wants them unique (a ``TargetNames`` shared by the tables of one run): a name
already taken gets ``_2``, ``_3``... The same input always gives the same names.

SQLite declares keys, defaults and foreign keys only in CREATE TABLE: there ``after_load``
rebuilds the loaded table (create a new one with them, copy the rows, drop the old one, rename),
with foreign keys inside, so ``after_all`` is empty. It needs ``column_types`` for every column,
and SQLite's default ``PRAGMA foreign_keys = OFF`` on the connection that runs it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from qdbm_desktop.core.dialects.base import Dialect, TableName
from qdbm_desktop.core.dialects.catalog import (
    ForeignKey,
    IndexInfo,
    IndexPart,
    KeyConstraint,
    TableShape,
    unwrap_parentheses,
)
from qdbm_desktop.core.dialects.ddl import (
    DdlRules,
    DefaultKind,
    NameKind,
    PortableDefault,
    Scope,
    shorten,
)

#: Each engine's DDL forms, by the module and class in its dialect package (imported when used,
#: so that a run loads only the engines it talks to).
RULES: Mapping[str, tuple[str, str]] = {
    "postgresql": ("postgresql", "PostgreSQLDdl"), "mysql": ("mysql", "MySQLDdl"),
    "sqlite": ("sqlite", "SQLiteDdl"), "sqlserver": ("sqlserver", "SQLServerDdl"),
    "oracle": ("oracle", "OracleDdl"),
}


def rules_for(dialect: Dialect) -> DdlRules:
    package, name = RULES[dialect.name]
    module = importlib.import_module(f"qdbm_desktop.core.dialects.{package}.ddl")
    rules: type[DdlRules] = getattr(module, name)
    return rules(dialect)


@dataclass(frozen=True)
class TableDdl:
    """What to run on the target for one copied table, in order."""

    table: TableName
    #: Once the table's rows are loaded: NOT NULL, defaults, keys, indexes (SQLite: the rebuild).
    after_load: tuple[str, ...] = ()
    #: Once every table of the run is loaded: the foreign keys.
    after_all: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class TargetNames:
    """The constraint and index names taken on one target, shared by the tables of a run.

    ``reserved`` are names already there (existing indexes and constraints; in PostgreSQL and
    Oracle the tables too, whose names indexes share), as (schema or None, name)."""

    def __init__(self, rules: DdlRules, reserved: Iterable[tuple[str | None, str]] = (),
                 identifier_limit: int | None = None) -> None:
        self.rules = rules
        self.limit = identifier_limit if identifier_limit is not None else rules.identifier_limit
        self._taken: set[tuple[str, str, str]] = set()
        for schema, name in reserved:
            self._taken.add((self.rules.fold(schema or ""), "", self.rules.fold(name)))

    def _key(self, kind: NameKind, table: TableName, name: str) -> tuple[str, str, str]:
        owner = self.rules.fold(table.name) if self.rules.scopes[kind] is Scope.TABLE else ""
        return self.rules.fold(table.schema or ""), owner, self.rules.fold(name)

    def claim(self, kind: NameKind, table: TableName, wanted: str) -> str:
        """``wanted`` as the target may hold it: cut to the limit, with a suffix when taken."""
        name = shorten(wanted, self.limit, self.rules.limit_in_bytes)
        number = 1
        while self._key(kind, table, name) in self._taken:
            number += 1
            suffix = f"_{number}"
            limit = None if self.limit is None else self.limit - len(suffix)
            name = shorten(wanted, limit, self.rules.limit_in_bytes) + suffix
        self._taken.add(self._key(kind, table, name))
        return name


# -- defaults ----------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_NOW = re.compile(
    r"^(now\(\)|current_timestamp(\(\d?\))?|localtimestamp(\(\d?\))?|transaction_timestamp\(\)|"
    r"statement_timestamp\(\)|getdate\(\)|sysdatetime\(\)|getutcdate\(\)|sysdate|systimestamp|"
    r"datetime\('now'\))$",
    re.IGNORECASE,
)
_CAST = re.compile(r'^[\w\s]+(\(\d+(,\s*\d+)?\))?(\[\])?$')
_NUMERIC_CASTS = ("integer", "bigint", "smallint", "numeric", "real", "double precision", "money")




def _string(text: str, source: str) -> tuple[str, str] | None:
    """A leading quoted literal's value and what follows it (a PostgreSQL cast), or None."""
    match = re.match(r"^[nN]?'((?:[^']|'')*)'", text)
    if not match:
        return None
    value = match.group(1).replace("''", "'")
    if source == "mysql":
        escapes = {"n": "\n", "t": "\t", "0": "\x00"}
        value = re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), value)
    return value, text[match.end():].strip()


def portable_default(text: str | None, source: str) -> PortableDefault | None:
    """The default a source engine printed, as a value every engine can spell; None when there
    is none (or NULL); ``ValueError`` when it is something else (an expression, a sequence)."""
    if text is None:
        return None
    body = unwrap_parentheses(text)
    if body.upper() == "NULL" or re.fullmatch(r"NULL::[\w\s]+", body, re.IGNORECASE):
        return None
    quoted = _string(body, source)
    if quoted is not None:
        value, rest = quoted
        casts = [c.strip().strip('"').lower() for c in rest.split("::")[1:]] if rest.startswith("::") else []
        if rest and not (casts and all(_CAST.match(c) for c in casts)):
            raise ValueError(text)
        if casts and casts[-1] in _NUMERIC_CASTS and _NUMBER.match(value):
            return PortableDefault(DefaultKind.NUMBER, value)
        if casts and casts[-1] in ("boolean", "bool"):
            return PortableDefault(DefaultKind.BOOLEAN, "1" if value.lower() in ("t", "true", "1") else "0")
        return PortableDefault(DefaultKind.STRING, value)
    if _NUMBER.match(body):
        return PortableDefault(DefaultKind.NUMBER, body)
    if body.lower() in ("true", "false"):
        return PortableDefault(DefaultKind.BOOLEAN, "1" if body.lower() == "true" else "0")
    if _NOW.match(body):
        return PortableDefault(DefaultKind.NOW)
    raise ValueError(text)


# -- the plan ----------------------------------------------------------------------------------


@dataclass
class _Plan:
    rules: DdlRules
    names: TargetNames
    shape: TableShape
    table: TableName
    source: str
    types: Mapping[str, str]
    table_names: Mapping[TableName, TableName] | None
    statements: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: SQLite's rebuild: column clauses and table constraints of the new CREATE TABLE.
    inline: list[str] = field(default_factory=list)
    column_defaults: dict[str, str] = field(default_factory=dict)

    @property
    def same_engine(self) -> bool:
        return self.source == self.rules.dialect.name

    def warn(self, text: str) -> None:
        self.warnings.append(f"{self.table}: {text}")

    def unkeyable(self, columns: Sequence[str]) -> str | None:
        for column in columns:
            if not self.rules.keyable(self.types.get(column)):
                return column
        return None


def plan_table_ddl(shape: TableShape, target: Dialect, table: TableName, *, source: str,
                   column_types: Mapping[str, str] | None = None,
                   table_names: Mapping[TableName, TableName] | None = None,
                   names: TargetNames | None = None) -> TableDdl:
    """The statements giving ``table`` (a copy of ``shape`` on ``target``) its source's keys,
    indexes, NOT NULL, defaults and foreign keys.

    ``source`` is the source dialect's name (expression and partial indexes, index methods and
    prefixes are carried only between servers of one engine, since their text is the engine's
    own). ``column_types`` gives each target column's type as created (``varchar(20)``): MySQL
    and SQL Server need it to add a NOT NULL, MySQL, SQL Server and Oracle to tell which columns
    cannot be keys, SQLite to rebuild the table. ``table_names`` maps each copied source table
    to its target name, for foreign keys (a reference to a table outside it is left out with a
    warning); None keeps the referenced table's name, in the target table's schema. ``names`` is
    shared by the tables of one run (one target database).
    """
    rules = names.rules if names is not None else rules_for(target)
    plan = _Plan(rules, names or TargetNames(rules), shape, table, source, column_types or {}, table_names)
    _columns(plan)
    if shape.primary_key is not None:
        _key(plan, shape.primary_key, primary=True)
    for unique in shape.uniques:
        _key(plan, unique, primary=False)
    for fk in shape.foreign_keys:
        _foreign_key(plan, fk)
    indexes = [s for s in (_index(plan, index) for index in shape.indexes) if s]
    if rules.rebuilds_table:
        return _rebuilt(plan, indexes)
    return TableDdl(table, tuple(rules.combine(table, plan.statements) + indexes), tuple(plan.foreign),
                    tuple(plan.warnings))


def _columns(plan: _Plan) -> None:
    # A primary key's columns are NOT NULL, also where SQLite reports its INTEGER PRIMARY KEY nullable.
    keys = set(plan.shape.primary_key.columns if plan.shape.primary_key else ())
    for column in plan.shape.columns:
        type_name = plan.types.get(column.name)
        default_sql = _default_sql(plan, column.name, column.default, type_name)
        if default_sql is not None:
            plan.column_defaults[column.name] = default_sql
        if plan.rules.rebuilds_table:
            continue
        not_null = not column.nullable or column.name in keys
        combined = not_null and default_sql is not None and plan.rules.dialect.name == "mysql"
        if not_null and not combined:  # NOT NULL first: SQL Server alters no column with a default
            statement = plan.rules.set_not_null(plan.table, column.name, type_name)
            if statement is None:
                plan.warn(f"NOT NULL on {column.name} left out: its target type is not known")
            else:
                plan.statements.append(statement)
        if default_sql is not None:
            statement = plan.rules.set_default(plan.table, column.name, default_sql, type_name, combined)
            if statement is None:
                plan.warn(f"the default and NOT NULL of {column.name} left out: its target type is not known")
            else:
                plan.statements.append(statement)


def _default_sql(plan: _Plan, column: str, text: str | None, type_name: str | None) -> str | None:
    try:
        default = portable_default(text, plan.source)
    except ValueError:
        plan.warn(f"the default of {column} ({text}) left out: only literals and the current "
                  "timestamp are carried")
        return None
    return None if default is None else plan.rules.render_default(default, type_name)


def _key(plan: _Plan, key: KeyConstraint, primary: bool) -> None:
    what = "primary key" if primary else f"unique constraint {key.name}"
    column = plan.unkeyable(key.columns)
    if column is not None:
        plan.warn(f"{what} left out: {column} is of type {plan.types.get(column)}, which "
                  f"{plan.rules.dialect.display_name} cannot hold in a key")
        return
    wanted = f"{plan.table.name}_pkey" if primary and key.name.upper() == "PRIMARY" else key.name
    name = plan.names.claim(NameKind.KEY, plan.table, wanted)
    if plan.rules.rebuilds_table:
        kind = "PRIMARY KEY" if primary else "UNIQUE"
        plan.inline.append(f"CONSTRAINT {plan.rules.q(name)} {kind} {plan.rules.columns(key.columns)}")
    elif primary:
        plan.statements.append(plan.rules.add_primary_key(plan.table, name, key.columns))
    else:
        plan.statements.append(plan.rules.add_unique(plan.table, name, key.columns))


def _referenced(plan: _Plan, referenced: TableName) -> TableName | None:
    if plan.table_names is None:
        return TableName(referenced.name, plan.table.schema)
    if referenced in plan.table_names:
        return plan.table_names[referenced]
    same = [target for source, target in plan.table_names.items() if source.name == referenced.name]
    return same[0] if len(same) == 1 else None


def _action(plan: _Plan, fk: ForeignKey, when: str, action: str, supported: frozenset[str]) -> str:
    if action in supported:
        return action
    plan.warn(f"foreign key {fk.name}: ON {when} {action} becomes NO ACTION "
              f"({plan.rules.dialect.display_name} does not have it)")
    return "NO ACTION"


def _foreign_key(plan: _Plan, fk: ForeignKey) -> None:
    referenced = _referenced(plan, fk.referenced)
    if referenced is None:
        plan.warn(f"foreign key {fk.name} left out: it references {fk.referenced}, which is not copied")
        return
    column = plan.unkeyable(fk.columns)
    if column is not None:
        plan.warn(f"foreign key {fk.name} left out: {column} is of type {plan.types.get(column)}, "
                  f"which {plan.rules.dialect.display_name} cannot hold in a key")
        return
    on_delete = _action(plan, fk, "DELETE", fk.on_delete, plan.rules.on_delete_actions)
    on_update = _action(plan, fk, "UPDATE", fk.on_update, plan.rules.on_update_actions)
    name = plan.names.claim(NameKind.FOREIGN_KEY, plan.table, fk.name)
    clause = plan.rules.references(fk.columns, referenced, fk.referenced_columns, on_delete, on_update)
    if plan.rules.rebuilds_table:
        if referenced.schema != plan.table.schema:
            plan.warn(f"foreign key {fk.name} left out: SQLite references tables of the same database only")
            return
        clause = clause.replace(plan.rules.table(referenced), plan.rules.q(referenced.name), 1)
        plan.inline.append(f"CONSTRAINT {plan.rules.q(name)} {clause}")
    else:
        plan.foreign.append(plan.rules.add_foreign_key(plan.table, name, clause))


def _index_problem(plan: _Plan, index: IndexInfo) -> str | None:
    target = plan.rules.dialect.display_name
    if index.method and not plan.same_engine:
        return f"it is a {index.method} index, kept between servers of one engine only"
    if index.where and not (plan.same_engine and plan.rules.partial_indexes):
        return f"it is partial (WHERE {index.where}), which {target} cannot create from this source"
    if any(p.expression for p in index.parts) and not (plan.same_engine and plan.rules.expression_indexes):
        return f"it indexes an expression, which {target} cannot create from this source"
    if index.unique and any(p.length for p in index.parts) and not plan.same_engine:
        return "it is unique over column prefixes, which would not mean the same on the whole columns"
    column = plan.unkeyable([p.column for p in index.parts if p.column and not p.length])
    if column is not None:
        return f"{column} is of type {plan.types.get(column)}, which {target} cannot index"
    if plan.rules.dialect.name == "oracle":
        keys = [k.columns for k in (plan.shape.primary_key, *plan.shape.uniques) if k is not None]
        if tuple(p.column for p in index.parts) in keys:
            return "Oracle already indexes the same columns for a key"
    return None


def _part(plan: _Plan, part: IndexPart) -> str:
    if part.expression:
        text = f"({part.expression})"
    else:
        text = plan.rules.q(part.column or "")
        if part.length and plan.same_engine:
            text += f"({part.length})"
    return text + (" DESC" if part.descending else "")


def _index(plan: _Plan, index: IndexInfo) -> str | None:
    problem = _index_problem(plan, index)
    if problem is not None:
        plan.warn(f"index {index.name} left out: {problem}")
        return None
    if any(p.length for p in index.parts) and not plan.same_engine:
        plan.warn(f"index {index.name} covers whole columns: its source indexes column prefixes")
    name = plan.names.claim(NameKind.INDEX, plan.table, index.name)
    parts = [_part(plan, p) for p in index.parts]
    return plan.rules.create_index(plan.table, name, parts, index.unique, index.where, index.method)


def _rebuilt(plan: _Plan, indexes: list[str]) -> TableDdl:
    """SQLite: the table made again with its keys, defaults and foreign keys, then its indexes."""
    rules, table = plan.rules, plan.table
    missing = [c for c in plan.shape.column_names if c not in plan.types]
    required = any(not c.nullable for c in plan.shape.columns)
    if missing or not (plan.inline or plan.column_defaults or required):
        if missing:
            plan.warn(f"keys, defaults, NOT NULL and foreign keys left out: the target types of "
                      f"{', '.join(missing)} are not known")
        return TableDdl(table, tuple(indexes), (), tuple(plan.warnings))
    keys = set(plan.shape.primary_key.columns if plan.shape.primary_key else ())
    definitions = []
    for column in plan.shape.columns:
        text = f"{rules.q(column.name)} {plan.types[column.name]}"
        text += "" if column.nullable and column.name not in keys else " NOT NULL"
        if column.name in plan.column_defaults:
            text += f" DEFAULT {plan.column_defaults[column.name]}"
        definitions.append(text)
    fresh = TableName(shorten(f"{table.name}__qdbm_rebuild", None, False), table.schema)
    names = ", ".join(rules.q(c) for c in plan.shape.column_names)
    statements = (
        f"CREATE TABLE {rules.table(fresh)} ({', '.join(definitions + plan.inline)})",
        f"INSERT INTO {rules.table(fresh)} ({names}) SELECT {names} FROM {rules.table(table)}",
        f"DROP TABLE {rules.table(table)}",
        f"ALTER TABLE {rules.table(fresh)} RENAME TO {rules.q(table.name)}",
    )
    return TableDdl(table, statements + tuple(indexes), (), tuple(plan.warnings))
