"""Catalog readers against the real servers: one fixture of composite and self-referencing keys,
unique, descending, partial and expression indexes, defaults, views and odd names, described on
PostgreSQL, MariaDB and SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.core.dialects import get_dialect
from qdbm_desktop.core.dialects.base import ConnectParams, Dialect, TableName
from qdbm_desktop.core.dialects.catalog import ForeignKey, IndexPart, RelationKind, TableShape, key_columns
from qdbm_desktop.core.errors import UsageError
from tests.integration.conftest import Server

PG_FIXTURE = [
    'CREATE SCHEMA "Sales €"',
    'CREATE TABLE "Sales €".parent (a int, b text, "Odd ""name""" text DEFAULT \'x\', '
    'created timestamptz DEFAULT now(), PRIMARY KEY (a, b), CONSTRAINT parent_odd_uq UNIQUE ("Odd ""name"""))',
    'CREATE TABLE "Sales €".child (id int PRIMARY KEY, pa int NOT NULL, pb text, '
    'up int CONSTRAINT child_up_fk REFERENCES "Sales €".child (id) ON DELETE SET NULL, '
    'CONSTRAINT child_parent_fk FOREIGN KEY (pa, pb) REFERENCES "Sales €".parent (a, b) ON DELETE CASCADE '
    "ON UPDATE RESTRICT)",
    'CREATE INDEX child_expr ON "Sales €".child (lower(pb) DESC, pa) WHERE pa > 0',
    'CREATE UNIQUE INDEX child_pa_uix ON "Sales €".child (pa, id)',
    'CREATE VIEW "Sales €".v AS SELECT id, pb FROM "Sales €".child',
]
MYSQL_FIXTURE = [
    "CREATE TABLE parent (a int, b varchar(20), `Odd ``name``` varchar(10) "
    "CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci DEFAULT 'x', created timestamp DEFAULT CURRENT_TIMESTAMP, t text, "
    "PRIMARY KEY (a, b), CONSTRAINT parent_odd_uq UNIQUE (`Odd ``name```), KEY t_prefix (t(10)))",
    "CREATE TABLE child (id int PRIMARY KEY, pa int NOT NULL, pb varchar(20), up int, "
    "KEY child_expr (pb DESC, pa), UNIQUE KEY child_pa_uix (pa, id), "
    "CONSTRAINT child_up_fk FOREIGN KEY (up) REFERENCES child (id) ON DELETE SET NULL, "
    "CONSTRAINT child_parent_fk FOREIGN KEY (pa, pb) REFERENCES parent (a, b) ON DELETE CASCADE "
    "ON UPDATE RESTRICT)",
    "CREATE VIEW v AS SELECT id, pb FROM child",
]
SQLITE_FIXTURE = [
    'CREATE TABLE parent (a int NOT NULL, b text NOT NULL, "Odd ""name""" text DEFAULT \'x\', '
    'created timestamp DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (a, b), UNIQUE ("Odd ""name"""))',
    "CREATE TABLE child (id integer PRIMARY KEY, pa int NOT NULL, pb text, "
    "up int REFERENCES child ON DELETE SET NULL, "
    "FOREIGN KEY (pa, pb) REFERENCES parent (a, b) ON DELETE CASCADE ON UPDATE RESTRICT)",
    "CREATE INDEX child_expr ON child (lower(pb) DESC, pa) WHERE pa > 0",
    "CREATE UNIQUE INDEX child_pa_uix ON child (pa, id)",
    "CREATE VIEW v AS SELECT id, pb FROM child",
]
ODD = 'Odd "name"'
MYSQL_ODD = "Odd `name`"


@pytest.fixture
def pg(pg_database: Server) -> Iterator[tuple[Dialect, Any, str | None]]:
    dialect = get_dialect("postgresql")
    connection = dialect.connect(
        ConnectParams(
            host=pg_database.host, port=pg_database.port, database=pg_database.database, user=pg_database.user
        ),
        5,
    )
    cursor = connection.cursor()
    for statement in PG_FIXTURE:
        cursor.execute(statement)
    cursor.close()
    connection.commit()
    try:
        yield dialect, connection, "Sales €"
    finally:
        connection.close()


@pytest.fixture
def mysql(mysql_database: Server) -> Iterator[tuple[Dialect, Any, str | None]]:
    dialect = get_dialect("mysql")
    connection = dialect.connect(
        ConnectParams(
            host=mysql_database.host,
            port=mysql_database.port,
            user=mysql_database.user,
            password=mysql_database.password,
            database=mysql_database.database,
        ),
        5,
    )
    cursor = connection.cursor()
    for statement in MYSQL_FIXTURE:
        cursor.execute(statement)
    cursor.close()
    try:
        yield dialect, connection, mysql_database.database
    finally:
        connection.close()


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[tuple[Dialect, Any, str | None]]:
    dialect = get_dialect("sqlite")
    path = tmp_path / "catalog.db"
    setup = sqlite3.connect(path)
    for statement in SQLITE_FIXTURE:
        setup.execute(statement)
    setup.commit()
    setup.close()
    connection = dialect.connect(ConnectParams(path=str(path), read_only=True), 5)
    try:
        yield dialect, connection, None
    finally:
        connection.close()


@pytest.fixture(params=["pg", "mysql", "lite"])
def engine(request: pytest.FixtureRequest) -> tuple[Dialect, Any, str | None]:
    found: tuple[Dialect, Any, str | None] = request.getfixturevalue(request.param)
    return found


def test_schemas_and_relations(engine: tuple[Dialect, Any, str | None]) -> None:
    dialect, connection, schema = engine
    schemas = dialect.list_schemas(connection)
    assert (schema or "main") in schemas
    assert not {"pg_catalog", "information_schema", "mysql", "performance_schema"} & set(schemas)
    relations = dialect.list_relations(connection, schema)
    assert [(r.name.name, r.kind) for r in relations] == [
        ("child", RelationKind.TABLE),
        ("parent", RelationKind.TABLE),
        ("v", RelationKind.VIEW),
    ]
    if schema is not None:  # the default schema is the same list
        default = TableName("x", schema)
        assert all(r.name.schema == default.schema for r in relations)


def _odd(dialect: Dialect) -> str:
    return MYSQL_ODD if dialect.name == "mysql" else ODD


def test_keys_defaults_and_columns(engine: tuple[Dialect, Any, str | None]) -> None:
    dialect, connection, schema = engine
    parent = dialect.describe_table(connection, TableName("parent", schema))
    assert parent.column_names == (
        ("a", "b", _odd(dialect), "created", "t")
        if dialect.name == "mysql"
        else ("a", "b", _odd(dialect), "created")
    )
    assert parent.primary_key is not None and parent.primary_key.columns == ("a", "b")
    assert [u.columns for u in parent.uniques] == [(_odd(dialect),)]
    if dialect.name != "sqlite":  # SQLite keeps no names for inline keys
        assert parent.uniques[0].name == "parent_odd_uq"
    odd = parent.column(_odd(dialect))
    assert odd is not None and odd.default is not None and "'x'" in odd.default and odd.nullable
    created = parent.column("created")
    assert created is not None and created.default is not None
    assert created.default.lower().replace("()", "") in ("now", "current_timestamp")
    a = parent.column("a")
    assert a is not None and not a.nullable
    if dialect.name == "mysql":
        assert odd.charset == "utf8mb3" and odd.collation == "utf8mb3_general_ci"
        (prefix,) = parent.indexes
        assert prefix.parts == (IndexPart("t", None, False, 10),) and not prefix.plain


def test_foreign_keys_and_indexes(engine: tuple[Dialect, Any, str | None]) -> None:
    dialect, connection, schema = engine
    child = dialect.describe_table(connection, TableName("child", schema))
    assert child.primary_key is not None and child.primary_key.columns == ("id",)
    pa = child.column("pa")
    assert pa is not None and not pa.nullable
    fks = {fk.columns: fk for fk in child.foreign_keys}
    assert set(fks) == {("up",), ("pa", "pb")}
    assert fks[("up",)].referenced.name == "child" and fks[("up",)].referenced_columns == ("id",)
    assert fks[("up",)].on_delete == "SET NULL"
    parent_fk: ForeignKey = fks[("pa", "pb")]
    assert (parent_fk.referenced.name, parent_fk.referenced_columns) == ("parent", ("a", "b"))
    assert (parent_fk.on_delete, parent_fk.on_update) == ("CASCADE", "RESTRICT")
    if dialect.name != "sqlite":
        assert parent_fk.name == "child_parent_fk" and fks[("up",)].name == "child_up_fk"
        assert parent_fk.referenced.schema == schema
    indexes = {i.name: i for i in child.indexes}
    unique = indexes.get("child_pa_uix")
    uniques = {u.name: u for u in child.uniques}
    # MySQL reports a UNIQUE index as a unique constraint too; the others as an index.
    assert (
        unique is not None and unique.unique and [p.column for p in unique.parts] == ["pa", "id"]
    ) or uniques["child_pa_uix"].columns == ("pa", "id")
    expr = indexes["child_expr"]
    if dialect.name == "mysql":  # no partial or expression indexes: the descending part only
        assert expr.parts[0] == IndexPart("pb", None, True) and expr.where is None
    else:
        assert expr.parts[0].column is None and expr.parts[0].descending
        assert (expr.parts[0].expression or "").replace(" ", "") == "lower(pb)"
        assert expr.parts[1] == IndexPart("pa")
        assert (expr.where or "").replace("(", "").replace(")", "") == "pa > 0"
        assert not expr.plain
    assert key_columns(child) >= {"id", "pa", "pb", "up"}


def test_views_and_missing_tables(engine: tuple[Dialect, Any, str | None]) -> None:
    dialect, connection, schema = engine
    view: TableShape = dialect.describe_table(connection, TableName("v", schema))
    assert view.kind is RelationKind.VIEW and view.column_names == ("id", "pb")
    assert view.primary_key is None and not view.foreign_keys
    with pytest.raises(UsageError, match="nope does not exist"):
        dialect.describe_table(connection, TableName("nope", schema))
