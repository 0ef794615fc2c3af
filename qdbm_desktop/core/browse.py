"""What the schema browser and the SQL editor's completion read from a connection.

Each call opens one read-only connection (as a preview does), reads the catalog through the
dialect's ``list_schemas`` / ``list_relations`` / ``describe_table`` and closes it again; the GUI
calls these on a worker thread. Nothing here knows of Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qdbm_desktop.core.dialects.base import Dialect, TableName
from qdbm_desktop.core.dialects.catalog import Relation, TableShape, key_columns
from qdbm_desktop.core.migration import Endpoint, looking_at

#: Completion reads the columns of at most this many tables (a large catalog stays quick).
COMPLETION_TABLE_LIMIT = 200


def list_schemas(endpoint: Endpoint, timeout: float = 30.0) -> list[str]:
    """The schemas holding user tables (MySQL: databases; SQLite: attached databases)."""
    with looking_at(endpoint.for_reading(), timeout, "cannot list the schemas") as conn:
        return endpoint.dialect.list_schemas(conn)


def list_relations(endpoint: Endpoint, schema: str | None, timeout: float = 30.0) -> list[Relation]:
    """The tables and views of ``schema``, sorted by name."""
    with looking_at(endpoint.for_reading(), timeout, f"cannot list the tables of {schema}") as conn:
        return endpoint.dialect.list_relations(conn, schema)


def all_relations(endpoint: Endpoint, timeout: float = 30.0) -> list[Relation]:
    """The tables and views of every schema of the connection's database (see ``own_schemas``):
    what "Copy tables…" offers and the destination's Table field completes."""
    with looking_at(endpoint.for_reading(), timeout, "cannot list the tables") as conn:
        dialect = endpoint.dialect
        return [r for schema in own_schemas(endpoint, conn) for r in dialect.list_relations(conn, schema)]


def own_schemas(endpoint: Endpoint, conn: Any) -> list[str]:
    """The schemas of the connection's database: every schema, except on MySQL/MariaDB, where
    schemas are the server's databases and a connection naming one has that one only."""
    if endpoint.type == "mysql" and endpoint.params.database:
        return [endpoint.params.database]
    return endpoint.dialect.list_schemas(conn)


def describe_table(endpoint: Endpoint, table: TableName, timeout: float = 30.0) -> TableShape:
    """One table's or view's columns, keys, indexes and foreign keys."""
    with looking_at(endpoint.for_reading(), timeout, f"cannot describe {table}") as conn:
        return endpoint.dialect.describe_table(conn, table)


def default_schema(endpoint: Endpoint) -> str | None:
    """The schema a bare table name means on this connection, so queries leave it out."""
    if endpoint.type == "postgresql":
        return "public"
    if endpoint.type == "sqlite":
        return "main"
    if endpoint.type == "mysql":
        return endpoint.params.database
    return None


@dataclass(frozen=True)
class CatalogNames:
    """The words a SQL editor completes: table names (bare and schema-qualified) and columns."""

    tables: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def words(self) -> list[str]:
        return sorted(set(self.tables) | set(self.columns), key=str.lower)


def catalog_names(endpoint: Endpoint, timeout: float = 30.0,
                  table_limit: int = COMPLETION_TABLE_LIMIT) -> CatalogNames:
    """Every table and view of every schema, and the columns of the first ``table_limit`` of them."""
    dialect = endpoint.dialect
    tables: list[str] = []
    columns: set[str] = set()
    with looking_at(endpoint.for_reading(), timeout, "cannot read the catalog") as conn:
        schemas = own_schemas(endpoint, conn)
        relations = [r for schema in schemas for r in dialect.list_relations(conn, schema)]
        for relation in relations:
            tables.append(relation.name.name)
            if relation.name.schema:
                tables.append(f"{relation.name.schema}.{relation.name.name}")
        for relation in relations[:table_limit]:
            columns.update(dialect.describe_table(conn, relation.name).column_names)
    return CatalogNames(tuple(dict.fromkeys(tables)), tuple(sorted(columns)))


def quoted_name(dialect: Dialect, name: str) -> str:
    """``name`` as the dialect writes it in SQL: quoted only when it must be."""
    return dialect.quote_identifier(name) if needs_quotes(dialect, name) else name


def needs_quotes(dialect: Dialect, name: str) -> bool:
    """Whether ``name`` cannot be written bare: not a plain lower-case word, or a reserved one.

    Upper case needs quotes on PostgreSQL (it folds unquoted names to lower case); a plain
    lower-case word of letters, digits and underscores is written as it is everywhere else.
    """
    plain = name.isidentifier() and name.isascii() and name == name.lower()
    return not plain or name.upper() in _RESERVED


def quoted_table(dialect: Dialect, table: TableName, default_schema: str | None = None) -> str:
    """A table's name for a query: schema-qualified unless it is the connection's default schema."""
    name = quoted_name(dialect, table.name)
    if table.schema and table.schema != default_schema:
        return f"{quoted_name(dialect, table.schema)}.{name}"
    return name


def select_statement(dialect: Dialect, shape: TableShape, default_schema: str | None = None) -> str:
    """``SELECT <columns> FROM <table>``, every name quoted where the dialect needs it."""
    columns = ", ".join(quoted_name(dialect, c) for c in shape.column_names) or "*"
    return f"SELECT {columns}\nFROM {quoted_table(dialect, shape.table, default_schema)}"


def column_label(shape: TableShape, column: str) -> str:
    """A column as the browser lists it: ``name  [PK, FK]  type NOT NULL`` (markers PK, UQ, FK)."""
    info = shape.column(column)
    markers = []
    if shape.primary_key is not None and column in shape.primary_key.columns:
        markers.append("PK")
    if any(column in u.columns for u in shape.uniques):
        markers.append("UQ")
    if any(column in f.columns for f in shape.foreign_keys):
        markers.append("FK")
    # The markers come before the type, so a narrow tree still shows them.
    text = f"{column}  [{', '.join(markers)}]" if markers else column
    text = f"{text}  {info.type_name if info else ''}".rstrip()
    if info is not None and not info.nullable:
        text += " NOT NULL"
    return text


def is_key_column(shape: TableShape, column: str) -> bool:
    return column in key_columns(shape)


#: Words that need quotes as names on at least one engine (the common SQL reserved words).
_RESERVED = frozenset({
    "ALL", "ALTER", "AND", "ANY", "AS", "ASC", "BETWEEN", "BY",
    "CASE", "CHECK", "COLUMN", "CONSTRAINT", "CREATE", "CROSS", "CURRENT_DATE", "CURRENT_TIME",
    "CURRENT_TIMESTAMP", "CURRENT_USER", "DEFAULT", "DELETE", "DESC", "DISTINCT", "DROP", "ELSE",
    "END", "EXCEPT", "EXISTS", "FALSE", "FETCH", "FOR", "FOREIGN", "FROM",
    "FULL", "GRANT", "GROUP", "HAVING", "IN", "INDEX", "INNER", "INSERT",
    "INTERSECT", "INTO", "IS", "JOIN", "KEY", "LEFT", "LIKE", "LIMIT",
    "NOT", "NULL", "OFFSET", "ON", "OR", "ORDER", "OUTER", "PRIMARY",
    "REFERENCES", "RIGHT", "ROW", "ROWS", "SELECT", "SET", "TABLE", "THEN",
    "TO", "TRUE", "UNION", "UNIQUE", "UPDATE", "USER", "USING", "VALUES",
    "VIEW", "WHEN", "WHERE", "WITH",
})
