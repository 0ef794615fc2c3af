"""Which queries carry NOT NULL and a primary key: the shapes sqlglot reads, without a server."""

from __future__ import annotations

import pytest

from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.catalog import ColumnInfo, KeyConstraint, TableShape
from qdbm_desktop.core.mapping import ColumnMap, target_key
from qdbm_desktop.core.origins import carry, shape_of
from qdbm_desktop.core.types import Column, Kind, PortableType

T = TableShape(TableName("t"), (ColumnInfo("id", "integer", False), ColumnInfo("code", "text", False),
                                ColumnInfo("note", "text", True)), primary_key=KeyConstraint("t_pkey", ("id", "code")))
U = TableShape(TableName("u"), (ColumnInfo("id", "integer", False), ColumnInfo("extra", "text", False)),
               primary_key=KeyConstraint("u_pkey", ("id",)))


def columns(*names: str) -> list[Column]:
    return [Column(n, PortableType(Kind.TEXT)) for n in names]


@pytest.mark.parametrize(("query", "names", "not_null", "key"), [
    ("SELECT * FROM t", ("id", "code", "note"), [True, True, False], ("id", "code")),
    ("select t.* from t where id > 1 order by id limit 3", ("id", "code", "note"), [True, True, False], ("id", "code")),
    ("SELECT code AS c, id, note FROM t", ("c", "id", "note"), [True, True, False], ("id", "c")),
    ('SELECT "ID" FROM t', ("ID",), [False], ()),  # quoted: a different column in PostgreSQL
    ("SELECT DISTINCT id, code FROM t", ("id", "code"), [True, True], ("id", "code")),
    ("SELECT id, note FROM t", ("id", "note"), [True, False], ()),
    ("SELECT id, code, count(*) AS n FROM t GROUP BY id, code", ("id", "code", "n"), [True, True, False], ()),
    ("SELECT DISTINCT ON (id) id, code FROM t", ("id", "code"), [True, True], ()),
    ("SELECT t.id, t.code, u.extra FROM t JOIN u ON u.id = t.id", ("id", "code", "extra"), [True, True, True], ()),
    ("SELECT t.id, u.extra FROM t LEFT JOIN u ON u.id = t.id", ("id", "extra"), [False, False], ()),
    ("SELECT id, code FROM t GROUP BY ROLLUP (id, code)", ("id", "code"), [False, False], ()),
    ("SELECT id + 0 AS id, code FROM t", ("id", "code"), [False, True], ()),
    ("SELECT id FROM t UNION ALL SELECT id FROM t", ("id",), [False], ()),
    ("WITH x AS (SELECT * FROM t) SELECT * FROM x", ("id", "code", "note"), [False, False, False], ()),
    ("SELECT * FROM (SELECT * FROM t) s", ("id", "code", "note"), [False, False, False], ()),
])
def test_what_a_query_carries(query: str, names: tuple[str, ...], not_null: list[bool], key: tuple[str, ...]) -> None:
    shape = shape_of(query, "postgresql")
    result = columns(*names)
    if shape is not None:
        found = {"t": T, "u": U}
        carried = carry(result, shape, [found.get(t.name) for t in shape.tables], "postgresql")
        result, primary_key = carried.columns, carried.primary_key
    else:
        primary_key = ()
    assert [not c.nullable for c in result] == not_null
    assert primary_key == key


def test_a_table_whose_catalog_is_unknown_carries_nothing() -> None:
    shape = shape_of("SELECT * FROM t", "postgresql")
    assert shape is not None
    carried = carry(columns("id"), shape, [None], "postgresql")
    assert carried.primary_key == () and carried.columns[0].nullable


def test_mysql_and_sqlite_match_names_without_case() -> None:
    for engine in ("mysql", "sqlite"):
        shape = shape_of("SELECT ID, Code FROM T", engine)
        assert shape is not None
        carried = carry(columns("ID", "Code"), shape, [T], engine)
        assert carried.primary_key == ("ID", "Code")


def test_key_names_follow_the_mapping() -> None:
    assert target_key(("id", "code"), (ColumnMap("code", target=" Code "),)) == ("id", "Code")
    assert target_key(("id", "code"), (ColumnMap("code", include=False),)) == ()
