"""What a new target table keeps of the source's catalog: NOT NULL of the base columns, the primary
key of the one table a query reads when its result keeps that key, constraint names that follow
the target table, and (MySQL to MySQL) each column's collation. Every pair of engines runs here."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.dialects.catalog import TableShape
from qdbm_desktop.core.mapping import ColumnMap
from qdbm_desktop.core.migration import MigrationRequest, Status, run_migration
from qdbm_desktop.core.partition_plan import Partitioning
from tests.integration.test_migration_matrix import ENGINES, Side, make_side

SOURCE_DDL = {
    "postgresql": ["CREATE TABLE src (id integer NOT NULL, code varchar(10) NOT NULL, label text, "
                   "n integer NOT NULL, PRIMARY KEY (id, code))",
                   "CREATE TABLE other (id integer PRIMARY KEY, extra text NOT NULL)"],
    "mysql": ["CREATE TABLE src (id int NOT NULL, code varchar(10) NOT NULL, label text, n int NOT NULL, "
              "PRIMARY KEY (id, code))",
              "CREATE TABLE other (id int PRIMARY KEY, extra varchar(20) NOT NULL)"],
    "sqlite": ["CREATE TABLE src (id integer NOT NULL, code varchar(10) NOT NULL, label text, n integer NOT NULL, "
               "PRIMARY KEY (id, code))",
               "CREATE TABLE other (id integer PRIMARY KEY, extra text NOT NULL)"],
}
ROWS = ["INSERT INTO src VALUES (1, 'a', 'one', 10)", "INSERT INTO src VALUES (2, 'b', NULL, 20)",
        "INSERT INTO other VALUES (1, 'x')"]


def prepared(engine: str, request: pytest.FixtureRequest, role: str) -> Side:
    side = make_side(engine, request, role)
    if role == "source":
        execute(side, SOURCE_DDL[engine] + ROWS)
    return side


def execute(side: Side, statements: Sequence[str]) -> None:
    conn = side.dialect.connect(side.params, 10)
    try:
        cursor = conn.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        conn.commit()
    finally:
        conn.close()


def describe(side: Side, table: str) -> TableShape:
    conn = side.dialect.connect(side.params, 10)
    try:
        return side.dialect.describe_table(conn, TableName(table))
    finally:
        conn.close()


def run(source: Side, target: Side, query: str, table: str = "copy", mode: LoadMode = LoadMode.REPLACE,
        **extra: object) -> list[str]:
    result = run_migration(MigrationRequest(source=source.endpoint(), target=target.endpoint(), query=query,
                                            table=TableName(table), mode=mode, **extra))  # type: ignore[arg-type]
    assert result.status is Status.SUCCEEDED, result.error
    return [entry.message for entry in result.log]


def pair(source_engine: str, target_engine: str, request: pytest.FixtureRequest) -> tuple[Side, Side]:
    source = prepared(source_engine, request, "source")
    same = source_engine == target_engine != "sqlite"
    return source, source if same else prepared(target_engine, request, "target")


@pytest.mark.parametrize("source_engine", ENGINES)
@pytest.mark.parametrize("target_engine", ENGINES)
def test_select_star_carries_not_null_and_the_primary_key(source_engine: str, target_engine: str,
                                                          request: pytest.FixtureRequest) -> None:
    source, target = pair(source_engine, target_engine, request)

    messages = run(source, target, "SELECT * FROM src WHERE n > 0 ORDER BY id")

    copy = describe(target, "copy")
    assert copy.primary_key is not None and copy.primary_key.columns == ("id", "code")
    assert "primary key (id, code) carried from the source table" in messages
    nullable = {c.name: c.nullable for c in copy.columns}
    assert nullable == {"id": False, "code": False, "label": True, "n": False}
    if target_engine == "postgresql":  # named after the target, not the staging table
        assert copy.primary_key.name == "copy_pkey"


@pytest.mark.parametrize("source_engine", ENGINES)
def test_queries_that_do_not_keep_the_key_carry_none(source_engine: str, request: pytest.FixtureRequest) -> None:
    source, target = pair(source_engine, "postgresql", request)

    run(source, target, "SELECT id, label, n FROM src", "subset")  # part of the key only
    run(source, target, "SELECT src.id, src.code, other.extra FROM src JOIN other ON other.id = src.id", "joined")
    run(source, target, "SELECT s.id, s.code, o.extra FROM src s LEFT JOIN other o ON o.id = s.id", "outer")
    run(source, target, "SELECT id, code, COUNT(*) AS c FROM src GROUP BY id, code", "grouped")
    run(source, target, "SELECT id + 0 AS id, code, n FROM src", "computed")

    assert describe(target, "subset").primary_key is None
    assert [c.nullable for c in describe(target, "subset").columns] == [False, True, False]
    joined = describe(target, "joined")
    assert joined.primary_key is None and [c.nullable for c in joined.columns] == [False, False, False]
    # An outer join can give NULL in any column of its other side: nothing is NOT NULL there.
    outer = describe(target, "outer")
    assert outer.primary_key is None and outer.columns[2].nullable
    assert describe(target, "grouped").primary_key is None
    computed = describe(target, "computed")
    assert computed.primary_key is None
    # MySQL's server works out NOT NULL for an expression over NOT NULL columns; others say nothing.
    assert computed.columns[0].nullable is (source_engine != "mysql")


def test_renamed_key_columns_keep_the_key_and_a_dropped_one_drops_it(request: pytest.FixtureRequest) -> None:
    source, target = pair("postgresql", "mysql", request)

    run(source, target, "SELECT * FROM src", "renamed",
        column_map=(ColumnMap("code", target="Code Name"),))
    run(source, target, "SELECT * FROM src", "dropped", column_map=(ColumnMap("code", include=False),))

    renamed = describe(target, "renamed")
    assert renamed.primary_key is not None and renamed.primary_key.columns == ("id", "Code Name")
    assert describe(target, "dropped").primary_key is None


def test_a_key_the_target_cannot_index_is_left_out_with_a_warning(request: pytest.FixtureRequest) -> None:
    source, target = pair("postgresql", "mysql", request)
    execute(source, ["CREATE TABLE texts (body text PRIMARY KEY, n integer)", "INSERT INTO texts VALUES ('a', 1)"])

    messages = run(source, target, "SELECT * FROM texts", "texts_copy")

    assert describe(target, "texts_copy").primary_key is None
    assert any(m.startswith("the source's primary key (body) is not carried") for m in messages)


def test_an_upsert_table_names_its_key_after_the_target(request: pytest.FixtureRequest) -> None:
    source, target = pair("postgresql", "postgresql", request)

    run(source, target, "SELECT id, code, n FROM src", "up", mode=LoadMode.UPSERT, keys=("id", "code"))
    run(source, target, "SELECT * FROM src", "replaced")
    run(source, target, "SELECT * FROM src", "replaced")  # again: the old table's key name is free

    assert describe(target, "up").primary_key is not None
    assert describe(target, "up").primary_key.name == "up_pkey"  # type: ignore[union-attr]
    assert describe(target, "replaced").primary_key.name == "replaced_pkey"  # type: ignore[union-attr]


def test_mysql_to_mysql_keeps_each_columns_collation(request: pytest.FixtureRequest) -> None:
    source = make_side("mysql", request, "source")
    execute(source, ["CREATE TABLE coll (id int PRIMARY KEY, ci varchar(20) CHARACTER SET utf8mb3 "
                     "COLLATE utf8mb3_general_ci, cs text COLLATE utf8mb4_bin, n int)",
                     "INSERT INTO coll VALUES (1, 'Abc', 'x', 1)"])
    pg_target = make_side("postgresql", request, "target")

    run(source, source, "SELECT * FROM coll", "coll_copy")
    run(source, pg_target, "SELECT * FROM coll", "coll_pg")
    run(pg_target, source, "SELECT * FROM coll_pg", "coll_back")

    columns = {c.name: c for c in describe(source, "coll_copy").columns}
    assert (columns["ci"].charset, columns["ci"].collation) == ("utf8mb3", "utf8mb3_general_ci")
    assert columns["cs"].collation == "utf8mb4_bin"
    # From PostgreSQL, whose text compares case-sensitively: the binary collation.
    back = {c.name: c for c in describe(source, "coll_back").columns}
    assert back["ci"].collation == "utf8mb4_bin"


def test_a_partitioned_read_carries_the_key_too(request: pytest.FixtureRequest) -> None:
    source, target = pair("postgresql", "mysql", request)

    run(source, target, "SELECT * FROM src", "split", partitions=Partitioning(2, "id"))

    split = describe(target, "split")
    assert split.primary_key is not None and split.primary_key.columns == ("id", "code")
    assert [c.nullable for c in split.columns] == [False, False, True, False]
