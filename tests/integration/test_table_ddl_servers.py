"""Keys, indexes, defaults and foreign keys carried between the real servers: the catalog
fixture (composite, self-referencing and cascading keys, unique, partial and expression indexes,
defaults, odd names) is described on PostgreSQL, MariaDB and SQLite, its statements are run on
empty copies of its tables on every one of them, and the copies are described again."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.core.dialects import get_dialect
from qdbm_desktop.core.dialects.base import ConnectParams, Dialect, TableName
from qdbm_desktop.core.dialects.catalog import TableShape
from qdbm_desktop.core.table_ddl import TargetNames, plan_table_ddl, rules_for
from tests.integration.conftest import Server
from tests.integration.test_catalog import engine, lite, mysql, pg  # noqa: F401 - fixtures

pytestmark = pytest.mark.servers

Target = tuple[Dialect, Any, "str | None"]


@pytest.fixture
def pg_target(pg_database: Server) -> Iterator[Target]:
    dialect = get_dialect("postgresql")
    connection = dialect.connect(ConnectParams(host=pg_database.host, port=pg_database.port,
                                               database=pg_database.database, user=pg_database.user), 5)
    connection.cursor().execute('CREATE SCHEMA "ddl target"')
    connection.commit()
    try:
        yield dialect, connection, "ddl target"
    finally:
        connection.close()


@pytest.fixture
def mysql_target(mysql_database: Server) -> Iterator[Target]:
    dialect = get_dialect("mysql")
    name = mysql_database.database + "_t"
    connection = dialect.connect(ConnectParams(host=mysql_database.host, port=mysql_database.port,
                                               user=mysql_database.user, password=mysql_database.password,
                                               database=mysql_database.database), 5)
    cursor = connection.cursor()
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield dialect, connection, name
    finally:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        connection.close()


@pytest.fixture
def lite_target(tmp_path: Path) -> Iterator[Target]:
    dialect = get_dialect("sqlite")
    sqlite3.connect(tmp_path / "target.db").close()
    connection = dialect.connect(ConnectParams(path=str(tmp_path / "target.db")), 5)
    try:
        yield dialect, connection, None
    finally:
        connection.close()


def _target_type(source_type: str, target: str) -> str:
    low = source_type.lower()
    if "int" in low:
        return "integer"
    if "time" in low:
        return {"mysql": "datetime", "postgresql": "timestamp with time zone"}.get(target, "timestamp")
    return "varchar(20)" if target == "mysql" else "text"


def _copy(source: TableShape, target: Target, mapping: dict[TableName, TableName]) -> dict[str, str]:
    dialect, connection, _ = target
    types = {c.name: _target_type(c.type_name, dialect.name) for c in source.columns}
    columns = ", ".join(f"{dialect.quote_identifier(n)} {t}" for n, t in types.items())
    cursor = connection.cursor()
    cursor.execute(f"CREATE TABLE {dialect.qualified(mapping[source.table])} ({columns})")
    cursor.close()
    return types


def _run(connection: Any, statements: tuple[str, ...]) -> None:
    cursor = connection.cursor()
    for statement in statements:
        cursor.execute(statement)
    cursor.close()


@pytest.mark.parametrize("target_name", ["pg_target", "mysql_target", "lite_target"])
def test_the_copies_have_the_keys_indexes_defaults_and_foreign_keys_of_their_source(
        engine: tuple[Dialect, Any, str | None], target_name: str,  # noqa: F811 - the fixture
        request: pytest.FixtureRequest) -> None:
    source_dialect, source_connection, source_schema = engine
    target: Target = request.getfixturevalue(target_name)
    dialect, connection, schema = target
    shapes = [source_dialect.describe_table(source_connection, TableName(n, source_schema))
              for n in ("parent", "child")]
    mapping = {s.table: TableName(s.table.name, schema) for s in shapes}
    names = TargetNames(rules_for(dialect))
    plans = []
    for shape in shapes:
        types = _copy(shape, target, mapping)
        plans.append(plan_table_ddl(shape, dialect, mapping[shape.table], source=source_dialect.name,
                                    column_types=types, table_names=mapping, names=names))
    for plan in plans:
        _run(connection, plan.after_load)
    for plan in plans:
        _run(connection, plan.after_all)
    connection.commit()

    for shape, plan in zip(shapes, plans, strict=True):
        copy = dialect.describe_table(connection, mapping[shape.table])
        _compare(shape, copy, dialect, source_dialect, plan.warnings)


def _compare(shape: TableShape, copy: TableShape, dialect: Dialect, source: Dialect,
             warnings: tuple[str, ...]) -> None:
    assert copy.column_names == shape.column_names
    # A primary key's columns are NOT NULL, also where SQLite reports its INTEGER PRIMARY KEY nullable.
    keys = set(shape.primary_key.columns if shape.primary_key else ())
    assert [c.nullable or c.name in keys for c in copy.columns] == [c.nullable or c.name in keys
                                                                    for c in shape.columns]
    assert [c.default is None for c in copy.columns] == [c.default is None for c in shape.columns]
    assert shape.primary_key is not None and copy.primary_key is not None
    assert copy.primary_key.columns == shape.primary_key.columns
    copied_uniques = {u.columns for u in copy.uniques} | {tuple(p.column for p in i.parts)
                                                         for i in copy.indexes if i.unique}
    for unique in shape.uniques:
        assert unique.columns in copied_uniques
    by_columns = {fk.columns: fk for fk in copy.foreign_keys}
    for fk in shape.foreign_keys:
        got = by_columns[fk.columns]
        assert (got.referenced.name, got.referenced_columns) == (fk.referenced.name, fk.referenced_columns)
        assert _same(got.on_delete, fk.on_delete, dialect)
        if dialect.name != "sqlite" and source.name != "sqlite":
            assert got.name == fk.name
        assert _same(got.on_update, fk.on_update, dialect) or any(f"ON UPDATE {fk.on_update}" in w for w in warnings)
    copied = {i.name for i in copy.indexes} | {u.name for u in copy.uniques}
    for index in shape.indexes:
        assert index.name in copied or any(f"index {index.name} left out" in w for w in warnings)
        if source.name == dialect.name:  # between servers of one engine every index is carried
            assert index.name in copied


def _same(got: str, wanted: str, dialect: Dialect) -> bool:
    # InnoDB checks NO ACTION at once, as RESTRICT, and reports a key declared without an action so.
    if dialect.name == "mysql":
        return got.replace("NO ACTION", "RESTRICT") == wanted.replace("NO ACTION", "RESTRICT")
    return got == wanted
