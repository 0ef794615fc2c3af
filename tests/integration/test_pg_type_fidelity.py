"""PostgreSQL's own types through the real pipeline: PostgreSQL -> PostgreSQL keeps each type with its
modifiers (arrays, ranges, network and geometric types, enums as text with a CHECK of their labels,
domains as their base type), json stays json; PostgreSQL -> MariaDB -> PostgreSQL and
PostgreSQL -> SQLite -> PostgreSQL bring every value back the same into a table of the original types."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from qdbm_desktop.core.dialects.base import ConnectParams, LoadMode, TableName
from qdbm_desktop.core.migration import Endpoint, MigrationRequest, MigrationResult, Status, run_migration

from .conftest import Server

pytestmark = [pytest.mark.postgresql]

#: (column, declared type, a value's literal); the id column comes first, a row of NULLs last.
TYPES: list[tuple[str, str, str]] = [
    ("n", "numeric(12,2)", "1234.56"),
    ("vc", "varchar(7)", "abc"),
    ("bp", "char(4)", "ab"),
    ("ts3", "timestamp(3) without time zone", "2024-01-02 03:04:05.678"),
    ("tz0", "timestamp(0) with time zone", "2024-01-02 03:04:05+00"),
    ("iv", "interval", "1 year 2 mons 3 days 04:05:06.789"),
    ("ivn", "interval", "-1 days +02:00:00"),
    ("ivd", "interval day to second(3)", "3 days 04:05:06.789"),
    ("ttz", "time with time zone", "12:34:56.5+02"),
    ("t3", "time(3) without time zone", "12:34:56.789"),
    ("ip", "inet", "192.168.0.1/24"),
    ("ip6", "inet", "::ffff:1.2.3.4"),
    ("cid", "cidr", "10.0.0.0/8"),
    ("mac", "macaddr", "08:00:2b:01:02:03"),
    ("mac8", "macaddr8", "08:00:2b:01:02:03:04:05"),
    ("b4", "bit(4)", "1010"),
    ("vb", "bit varying(8)", "101"),
    ("r4", "int4range", "[1,10)"),
    ("r8", "int8range", "empty"),
    ("nr", "numrange", "(1.5,2.5]"),
    ("tsr", "tsrange", "[2024-01-01 00:00:00,2024-02-01 00:00:00)"),
    ("tr", "tstzrange", "[2024-01-01 00:00:00+00,)"),
    ("dr", "daterange", "[2024-01-01,2024-02-01)"),
    ("m", "money", "-1234.56"),
    ("tv", "tsvector", "'a' 'cat':3 'fat':2"),
    ("tq", "tsquery", "'fat' & 'cat'"),
    ("x", "xml", "<a b=\"1\">é</a>"),
    ("pt", "point", "(1.5,2)"),
    ("ln", "line", "{1,-1,0}"),
    ("ls", "lseg", "[(0,0),(1,1)]"),
    ("bx", "box", "(1,1),(0,0)"),
    ("pa", "path", "[(0,0),(1,1),(2,0)]"),
    ("pg", "polygon", "((0,0),(1,1),(2,0))"),
    ("ci", "circle", "<(1,2),3>"),
    ("u", "uuid", "12345678-1234-5678-1234-567812345678"),
    ("j", "json", '{"b":1, "a":"é","a":2}'),
    ("jz", "json", '{"x": "\\u0000"}'),
    ("jb", "jsonb", '{"b": 1, "a": [1, 2]}'),
    ("ia", "integer[]", "{1,2,NULL}"),
    ("ta", "text[]", '{"a b","c\\"d",NULL,"",NULL2,"{x}"}'),
    ("i2", "integer[]", "{{1,2},{3,4}}"),
    ("te", "text[]", "{}"),
    ("na", "numeric(5,2)[]", "{1.50,-2.25}"),
    ("fa", "double precision[]", "{1.5,NaN,-Infinity}"),
    ("ba", "boolean[]", "{t,f}"),
    ("da", "date[]", "{2024-01-01,1999-12-31}"),
    ("ua", "uuid[]", "{12345678-1234-5678-1234-567812345678}"),
    ("bxa", "box[]", "{(1,1),(0,0);(3,3),(2,2)}"),
    ("mo", "mood", "happy"),
    ("moa", "mood[]", "{sad,happy}"),
    ("pos", "posint", "5"),
    ("short", "shortname", "abc"),
]
#: What a PostgreSQL target creates for the types the source database alone has.
TARGET_TYPE = {"mood": "text", "mood[]": "text[]", "posint": "integer", "shortname": "character varying(5)"}


def _connect(server: Server) -> psycopg.Connection[Any]:
    return psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database,
                           autocommit=True)


def _params(server: Server) -> ConnectParams:
    return ConnectParams(host=server.host, port=server.port, user=server.user, database=server.database)


def _create(conn: psycopg.Connection[Any], table: str, with_rows: bool) -> None:
    columns = ", ".join(f"{name} {declared}" for name, declared, _ in TYPES)
    conn.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY, {columns})")
    if with_rows:
        values = ", ".join(f"%s::{declared}" for _, declared, _ in TYPES)
        conn.execute(f"INSERT INTO {table} VALUES (1, {values})", [v for _, _, v in TYPES])
        conn.execute(f"INSERT INTO {table} (id) VALUES (2)")


@pytest.fixture
def pg_source(pg_database: Server) -> Iterator[Server]:
    with _connect(pg_database) as conn:
        conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        conn.execute("CREATE DOMAIN posint AS integer CHECK (VALUE > 0)")
        conn.execute("CREATE DOMAIN shortname AS varchar(5)")
        _create(conn, "src", with_rows=True)
    yield pg_database


def _types(conn: psycopg.Connection[Any], table: str) -> dict[str, str]:
    rows = conn.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table,)).fetchall()
    return {str(name): str(spelled) for name, spelled in rows}


def _texts(conn: psycopg.Connection[Any], table: str) -> list[tuple[Any, ...]]:
    names = ", ".join(f"{name}::text" for name, _, _ in TYPES)
    return conn.execute(f"SELECT id, {names} FROM {table} ORDER BY id").fetchall()


def _run(source: Endpoint, target: Endpoint, query: str, table: str,
         mode: LoadMode = LoadMode.REPLACE) -> MigrationResult:
    result = run_migration(MigrationRequest(source=source, target=target, query=query,
                                            table=TableName(table), mode=mode, batch_size=1))
    assert result.status is Status.SUCCEEDED, result.error
    return result


def _assert_same_values(conn: psycopg.Connection[Any], table: str) -> None:
    want, got = _texts(conn, "src"), _texts(conn, table)
    for want_row, got_row in zip(want, got, strict=True):
        for (name, _, _), a, b in zip(TYPES, want_row[1:], got_row[1:], strict=True):
            assert b == a, f"column {name!r} row {want_row[0]}: {b!r} != {a!r}"


def test_postgresql_to_postgresql_keeps_every_type(pg_source: Server) -> None:
    endpoint = Endpoint("pg", "postgresql", _params(pg_source))
    _run(endpoint, endpoint, "SELECT * FROM src", "pgtypes_copy")
    with _connect(pg_source) as conn:
        source_types, copied = _types(conn, "src"), _types(conn, "pgtypes_copy")
        for name, _declared, _ in TYPES:
            assert copied[name] == TARGET_TYPE.get(source_types[name], source_types[name]), name
        _assert_same_values(conn, "pgtypes_copy")
        # The enum's labels hold in the copy.
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO pgtypes_copy (id, mo) VALUES (3, 'angry')")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO pgtypes_copy (id, moa) VALUES (3, '{sad,angry}')")
        # json kept its exact text: duplicate keys and their order.
        row = conn.execute("SELECT j::text, jb::text FROM pgtypes_copy WHERE id = 1").fetchone()
        assert row == ('{"b":1, "a":"é","a":2}', '{"a": [1, 2], "b": 1}')


def test_json_mapped_to_jsonb_by_the_user(pg_source: Server) -> None:
    from qdbm_desktop.core.types import PortableType

    endpoint = Endpoint("pg", "postgresql", _params(pg_source))
    result = run_migration(MigrationRequest(
        source=endpoint, target=endpoint, query="SELECT id, j FROM src", table=TableName("pgtypes_jsonb"),
        mode=LoadMode.REPLACE, type_overrides={"j": PortableType.parse("jsonb")}))
    assert result.status is Status.SUCCEEDED, result.error
    with _connect(pg_source) as conn:
        assert _types(conn, "pgtypes_jsonb")["j"] == "jsonb"
        assert conn.execute("SELECT j::text FROM pgtypes_jsonb WHERE id = 1").fetchone() == ('{"a": 2, "b": 1}',)


def _round_trip(pg_source: Server, middle: Endpoint) -> None:
    pg = Endpoint("pg", "postgresql", _params(pg_source))
    _run(pg, middle, "SELECT * FROM src", "pgtypes_mid")
    # The enum's labels hold in the middle too (MySQL ENUM, SQLite CHECK): a value outside them fails.
    refused = run_migration(MigrationRequest(source=pg, target=middle, query="SELECT 3 AS id, 'angry' AS mo",
                                             table=TableName("pgtypes_mid"), mode=LoadMode.APPEND))
    assert refused.status is Status.FAILED
    assert refused.error is not None and ("CHECK constraint failed: mo" in refused.error
                                          or "column 'mo', row 1" in refused.error), refused.error
    with _connect(pg_source) as conn:
        _create(conn, "pgtypes_back", with_rows=False)
    _run(middle, pg, "SELECT * FROM pgtypes_mid", "pgtypes_back", LoadMode.APPEND)
    with _connect(pg_source) as conn:
        _assert_same_values(conn, "pgtypes_back")


@pytest.mark.mysql
def test_postgresql_to_mariadb_and_back(pg_source: Server, mysql_database: Server) -> None:
    params = ConnectParams(host=mysql_database.host, port=mysql_database.port, user=mysql_database.user,
                           password=mysql_database.password or None, database=mysql_database.database)
    _round_trip(pg_source, Endpoint("maria", "mysql", params))


def test_postgresql_to_sqlite_and_back(pg_source: Server, tmp_path: Path) -> None:
    path = tmp_path / "middle.sqlite"
    sqlite3.connect(path).close()
    _round_trip(pg_source, Endpoint("lite", "sqlite", ConnectParams(path=str(path))))


def _mysql_endpoint(server: Server) -> Endpoint:
    return Endpoint("maria", "mysql", ConnectParams(host=server.host, port=server.port, user=server.user,
                                                   password=server.password or None, database=server.database))


def _sqlite_endpoint(tmp_path: Path) -> Endpoint:
    path = tmp_path / "zeros.sqlite"
    sqlite3.connect(path).close()
    return Endpoint("lite", "sqlite", ConnectParams(path=str(path)))


@pytest.mark.mysql
@pytest.mark.parametrize("target", ["mysql", "sqlite"])
def test_negative_zero_is_counted_and_warned(target: str, pg_database: Server, request: pytest.FixtureRequest,
                                            tmp_path: Path) -> None:
    pg = Endpoint("pg", "postgresql", _params(pg_database))
    other = _mysql_endpoint(request.getfixturevalue("mysql_database")) if target == "mysql" \
        else _sqlite_endpoint(tmp_path)
    query = ("SELECT g AS id, CASE WHEN g % 2 = 0 THEN '-0'::float8 ELSE 0 END AS d, "
             "CASE WHEN g = 1 THEN '-0'::real ELSE 1.5 END AS r FROM generate_series(1, 5) g")
    result = _run(pg, other, query, "pgtypes_zeros")
    engine = "MariaDB" if target == "mysql" else "SQLite"
    warnings = [e.message for e in result.log if e.level == "warning" and "negative zero" in e.message]
    assert warnings == [f"3 negative zero(s) (-0.0) stored as 0.0, which is all {engine} holds ('d': 2, 'r': 1)"]
    # PostgreSQL keeps the sign: nothing to warn about.
    back = _run(pg, pg, query, "pgtypes_zeros")
    assert not [e for e in back.log if "negative zero" in e.message]


@pytest.mark.mysql
def test_negative_zero_is_counted_on_the_undecoded_path_too(pg_database: Server,
                                                            request: pytest.FixtureRequest) -> None:
    pg = Endpoint("pg", "postgresql", _params(pg_database))
    maria = _mysql_endpoint(request.getfixturevalue("mysql_database"))
    query = "SELECT g AS id, CASE WHEN g % 2 = 0 THEN '-0'::float8 ELSE -1.5 END AS d FROM generate_series(1, 5) g"
    result = _run(pg, maria, query, "pgtypes_zeros_text")
    messages = [e.message for e in result.log]
    assert any("as the source's text COPY" in m for m in messages)  # PostgreSQL's text went in as it was
    assert [m for m in messages if "negative zero" in m] == [
        "2 negative zero(s) (-0.0) stored as 0.0, which is all MariaDB holds ('d': 2)"]


TIME_QUERY = "SELECT 1 AS id, '24:00:00'::time AS t UNION ALL SELECT 2, '23:59:59.999999'::time"


def test_end_of_day_stays_exact_in_postgresql(pg_database: Server) -> None:
    pg = Endpoint("pg", "postgresql", _params(pg_database))
    _run(pg, pg, TIME_QUERY, "pgtypes_clock")
    with _connect(pg_database) as conn:
        rows = conn.execute("SELECT id, t::text FROM pgtypes_clock ORDER BY id").fetchall()
    assert rows == [(1, "24:00:00"), (2, "23:59:59.999999")]


@pytest.mark.mysql
def test_end_of_day_stays_exact_in_mariadb_and_comes_back(pg_database: Server, mysql_database: Server) -> None:
    pg, maria = Endpoint("pg", "postgresql", _params(pg_database)), _mysql_endpoint(mysql_database)
    _run(pg, maria, TIME_QUERY, "pgtypes_clock")
    _run(maria, pg, "SELECT id, t FROM pgtypes_clock ORDER BY id", "pgtypes_clock_back")
    with _connect(pg_database) as conn:
        rows = conn.execute("SELECT id, t::text FROM pgtypes_clock_back ORDER BY id").fetchall()
    assert rows == [(1, "24:00:00"), (2, "23:59:59.999999")]


def test_end_of_day_is_refused_naming_column_and_row_where_the_target_cannot_hold_it(
        pg_database: Server, tmp_path: Path) -> None:
    pg = Endpoint("pg", "postgresql", _params(pg_database))
    result = run_migration(MigrationRequest(source=pg, target=_sqlite_endpoint(tmp_path), query=TIME_QUERY,
                                            table=TableName("pgtypes_clock"), mode=LoadMode.REPLACE))
    assert result.status is Status.FAILED
    assert result.error is not None and "column 't', row 1" in result.error and "24:00:00" in result.error


@pytest.mark.mysql
@pytest.mark.parametrize("target", ["postgresql", "mysql", "sqlite"])
def test_every_type_passes_the_checksum(target: str, pg_source: Server, request: pytest.FixtureRequest,
                                        tmp_path: Path) -> None:
    from qdbm_desktop.core.checksum import VerifyLevel

    pg = Endpoint("pg", "postgresql", _params(pg_source))
    other = {"postgresql": lambda: pg, "mysql": lambda: _mysql_endpoint(request.getfixturevalue("mysql_database")),
             "sqlite": lambda: _sqlite_endpoint(tmp_path)}[target]()
    result = run_migration(MigrationRequest(source=pg, target=other, query="SELECT * FROM src",
                                            table=TableName("pgtypes_checked"), mode=LoadMode.REPLACE,
                                            verify=VerifyLevel.CHECKSUM))
    assert result.status is Status.SUCCEEDED, result.error
    assert result.verified is VerifyLevel.CHECKSUM
