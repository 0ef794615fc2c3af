"""SQL Server and Oracle against real servers, when there is one to test against.

Set QDBM_TEST_SQLSERVER_URL (``mssql://user:password@host:1433/database?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes``)
and/or QDBM_TEST_ORACLE_URL (``oracle://user:password@host:1521/FREEPDB1``); without them these tests skip
and say which variable is missing. They run the fixture trip of test_migration_matrix.py (same columns,
same rows, same comparison) through the real pipeline, with each of these engines as source and as
target against itself, PostgreSQL, MariaDB and SQLite, and the two against each other; then the load
modes, the all-or-nothing final step and Oracle's recovery from a crash between its two renames.

Each test works in its own uniquely named tables and drops them afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

import pytest

from qdbm_desktop.core.dialects import ConnectParams, get_dialect
from qdbm_desktop.core.dialects.base import Dialect, LoadMode, TableName
from qdbm_desktop.core.dialects.oracle.dialect import _init_thick_mode as init_thick_mode
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.migration import MigrationRequest, Status, run_migration
from qdbm_desktop.core.types import Column, Kind, PortableType
from qdbm_desktop.core.urls import parse_connection_url
from tests.integration.conftest import pyodbc_or_skip, unavailable
from tests.integration.test_migration_matrix import (
    ENGINES,
    FIXTURE_COLUMNS,
    FIXTURE_ROWS,
    Side,
    make_side,
    normalise,
)

# Every test here needs a SQL Server or Oracle server, or PostgreSQL/MariaDB for the other side.
pytestmark = pytest.mark.servers

SERVER_URLS = {"sqlserver": "QDBM_TEST_SQLSERVER_URL", "oracle": "QDBM_TEST_ORACLE_URL"}
URL_FORMATS = {
    "sqlserver": "mssql://USER:PASSWORD@HOST:1433/DATABASE?driver=ODBC+Driver+18+for+SQL+Server"
                 "&TrustServerCertificate=yes",
    "oracle": "oracle://USER:PASSWORD@HOST:1521/SERVICE_NAME",
}
_F64 = [c.name for c in FIXTURE_COLUMNS].index("f64")
#: The fixture rows SQL Server can hold: its float has no subnormal numbers, so the smallest
#: positive double (5e-324, refused with column and row) becomes the smallest normal one.
SQLSERVER_ROWS: list[tuple[Any, ...]] = [
    row[:_F64] + (2.2250738585072014e-308,) + row[_F64 + 1:] if row[_F64] == 5e-324 else row for row in FIXTURE_ROWS
]

#: Each server engine with itself and with every other engine, both ways, and the two with each other.
DIRECTIONS = [(server, server) for server in SERVER_URLS] + \
    [pair for server in SERVER_URLS for other in ENGINES for pair in ((server, other), (other, server))] + \
    [("sqlserver", "oracle"), ("oracle", "sqlserver")]


def server_params(engine: str) -> ConnectParams:
    variable = SERVER_URLS[engine]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set: no {get_dialect(engine).display_name} server to test against "
                    f"(set it to {URL_FORMATS[engine]})")
    parsed = parse_connection_url(url)
    assert parsed.type == engine, f"{variable} names a {parsed.type} server"
    params = ConnectParams(host=parsed.host, port=parsed.port, database=parsed.database, user=parsed.user,
                           driver=parsed.driver, options=parsed.options, password=parsed.password)
    if engine == "sqlserver":
        pyodbc_or_skip()
    else:
        oracle_client_or_skip(params)
    return params


def oracle_client_or_skip(params: ConnectParams) -> None:
    """A URL that asks for thick mode needs Oracle's client libraries: when they cannot load,
    the tests skip saying so (or fail, with QDBM_REQUIRE_SERVERS=1)."""
    options = {key.lower(): str(value) for key, value in params.options.items()}
    lib_dir = options.get("instant_client") or options.get("lib_dir")
    if not lib_dir and options.get("thick", "").lower() not in ("1", "yes", "true"):
        return
    try:
        init_thick_mode(lib_dir, options.get("tns_admin") or options.get("config_dir"))
    except UsageError as exc:
        unavailable(str(exc))


def unique(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(3)}"


class ServerSide(Side):
    """A side on a shared server: tables get unique names and are dropped afterwards."""

    def __init__(self, engine: str, params: ConnectParams, label: str) -> None:
        super().__init__(engine, params, label)
        self.made: list[TableName] = []

    def drop_made(self) -> None:
        connection = self.dialect.connect(self.params, 30)
        try:
            for table in self.made:
                self.dialect.drop_table(connection, table)
            connection.commit()
        finally:
            connection.close()


def write_rows(side: Side, table: TableName, rows: Sequence[tuple[Any, ...]]) -> None:
    """What Side.write_fixture does, with the rows this trip can hold."""
    connection = side.dialect.connect(side.params, 30)
    try:
        side.dialect.prepare_for_load(connection)
        side.dialect.create_table(connection, table, FIXTURE_COLUMNS, ("id",))
        connection.commit()
        writer = side.dialect.open_writer(connection, table, FIXTURE_COLUMNS)
        writer.write(rows, 1)
        writer.finish()
        connection.commit()
    finally:
        connection.close()


def side_for(engine: str, request: pytest.FixtureRequest, role: str) -> Side:
    if engine in SERVER_URLS:
        side = ServerSide(engine, server_params(engine), f"{engine} {role}")
        request.addfinalizer(side.drop_made)
        return side
    return make_side(engine, request, role)


def expected(value: Any, column: Column, trip: set[str]) -> Any:
    """The fixture value as it comes back after this trip's documented conversions."""
    value = normalise(value, column.name)
    if "oracle" in trip:
        if value in ("", b""):
            return None  # Oracle stores an empty string (and empty binary) as NULL
        if type(value) is date:
            return datetime(value.year, value.month, value.day)  # Oracle's DATE carries a time
    return value


@pytest.mark.parametrize(("source_engine", "target_engine"), DIRECTIONS)
def test_every_portable_type_survives_the_trip_through_a_real_server(source_engine: str, target_engine: str,
                                                                     request: pytest.FixtureRequest) -> None:
    trip = {source_engine, target_engine}
    for engine in sorted(trip & set(SERVER_URLS)):
        server_params(engine)  # skip before any database is made
    rows_in = SQLSERVER_ROWS if "sqlserver" in trip else FIXTURE_ROWS
    source = side_for(source_engine, request, "source")
    target = source if source_engine == target_engine else side_for(target_engine, request, "target")
    source_table = TableName(unique("fixture_src"))
    target_table = TableName(unique("fixture copy"))
    for side, table in ((source, source_table), (target, target_table)):
        if isinstance(side, ServerSide):
            side.made.append(table)
    write_rows(source, source_table, rows_in)

    result = run_migration(MigrationRequest(
        source=source.endpoint(), target=target.endpoint(), query=source.select_all(source_table),
        table=target_table, mode=LoadMode.REPLACE, batch_size=2))

    assert result.status is Status.SUCCEEDED, result.error
    assert (result.rows_read, result.rows_written) == (3, 3)
    columns, rows = target.read(target.select_all(target_table))
    assert [c.name for c in columns] == [c.name for c in FIXTURE_COLUMNS]
    for want_row, got in zip(rows_in, rows, strict=True):
        for column, want, have in zip(FIXTURE_COLUMNS, want_row, got, strict=True):
            have = normalise(have, column.name)
            assert have == expected(want, column, trip), (
                f"{source_engine}->{target_engine} column {column.name!r} row {want_row[0]}: {have!r} != {want!r}")
    empty_warnings = [e.message for e in result.log if "stored as NULL" in e.message]
    if target_engine == "oracle":
        # Row 2 holds '' in vc and tx and b'' in bin (unless the source already turned them into NULL).
        assert (len(empty_warnings) == 1) == (source_engine != "oracle"), result.log
    else:
        assert empty_warnings == []


@pytest.fixture(params=sorted(SERVER_URLS))
def server(request: pytest.FixtureRequest) -> Iterator[tuple[Dialect, Any, list[TableName]]]:
    engine = request.param
    params = server_params(engine)
    dialect = get_dialect(engine)
    connection = dialect.connect(params, 30)
    dialect.prepare_for_load(connection)
    made: list[TableName] = []
    try:
        yield dialect, connection, made
    finally:
        connection.rollback()
        for table in made:
            dialect.drop_table(connection, table)
        connection.commit()
        connection.close()


KEYED = [Column("id", PortableType(Kind.INT64), nullable=False), Column("name", PortableType(Kind.VARCHAR, length=20))]


def load(dialect: Dialect, connection: Any, table: TableName, rows: list[tuple[Any, ...]], mode: LoadMode,
         keys: Sequence[str] = (), made: list[TableName] | None = None) -> TableName:
    """What the pipeline does: a staging table, the rows, a commit, the final step."""
    staging = TableName(unique("qdbm_stg"), table.schema)
    if made is not None:
        made.append(staging)  # dropped afterwards if the step left it behind
    exists = dialect.table_exists(connection, table)
    dialect.create_table(connection, staging, KEYED, keys if not exists else ())
    connection.commit()
    writer = dialect.open_writer(connection, staging, KEYED)
    writer.write(rows, 1)
    writer.finish()
    connection.commit()
    assert dialect.row_count(connection, staging) == len(rows)
    dialect.finalize(connection, mode, table, staging, KEYED, keys, exists)
    return staging


def contents(dialect: Dialect, connection: Any, table: TableName) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    try:
        cursor.execute(f"SELECT {dialect.quote_identifier('id')}, {dialect.quote_identifier('name')} "
                       f"FROM {dialect.qualified(table)} ORDER BY 1")
        found = [(int(i), n) for i, n in cursor.fetchall()]
    finally:
        cursor.close()
    connection.rollback()
    return found


def test_every_load_mode_ends_with_exactly_the_documented_rows(server: tuple[Dialect, Any, list[TableName]]) -> None:
    dialect, connection, made = server
    table = TableName(unique("modes"))
    made.append(table)

    stagings: list[TableName] = []
    load(dialect, connection, table, [(1, "a"), (2, "b")], LoadMode.CREATE, ["id"], stagings)
    assert contents(dialect, connection, table) == [(1, "a"), (2, "b")]
    load(dialect, connection, table, [(3, "c")], LoadMode.APPEND, made=stagings)
    assert contents(dialect, connection, table) == [(1, "a"), (2, "b"), (3, "c")]
    load(dialect, connection, table, [(2, "B"), (4, "d")], LoadMode.UPSERT, ["id"], stagings)
    assert contents(dialect, connection, table) == [(1, "a"), (2, "B"), (3, "c"), (4, "d")]
    load(dialect, connection, table, [(9, "z")], LoadMode.TRUNCATE, made=stagings)
    assert contents(dialect, connection, table) == [(9, "z")]
    load(dialect, connection, table, [(5, "e"), (6, "f")], LoadMode.REPLACE, made=stagings)
    assert contents(dialect, connection, table) == [(5, "e"), (6, "f")]
    with pytest.raises(UsageError, match="already exists"):
        load(dialect, connection, table, [(7, "g")], LoadMode.CREATE, made=stagings)
    assert contents(dialect, connection, table) == [(5, "e"), (6, "f")]
    made.extend(stagings)
    left = {t.name for t in dialect.list_tables(connection, None, "qdbm_stg_")}
    # Every step dropped or renamed its staging table, except the refused create.
    assert [s.name in left for s in stagings] == [False] * 5 + [True]
    old_names = {t.name for t in dialect.list_tables(connection, None, "qdbm_old_")}
    assert not old_names & {"qdbm_old_" + s.name.removeprefix("qdbm_stg_") for s in stagings}


def test_a_final_step_that_fails_leaves_the_target_as_it_was(server: tuple[Dialect, Any, list[TableName]]) -> None:
    dialect, connection, made = server
    table = TableName(unique("keep"))
    made.append(table)
    load(dialect, connection, table, [(1, "a"), (2, "b")], LoadMode.CREATE, ["id"], made)

    # The second statement of truncate's step (the insert) hits the primary key: the delete before it
    # must be undone with it.
    with pytest.raises(Exception):  # noqa: B017 - the server's own error
        load(dialect, connection, table, [(3, "c"), (3, "d")], LoadMode.TRUNCATE, made=made)
    connection.rollback()
    assert contents(dialect, connection, table) == [(1, "a"), (2, "b")]


def test_values_the_server_refuses_name_their_row(server: tuple[Dialect, Any, list[TableName]]) -> None:
    from qdbm_desktop.core.types import ValueRejected

    dialect, connection, made = server
    table = TableName(unique("narrow"))
    made.append(table)
    dialect.create_table(connection, table, [Column("id", PortableType(Kind.INT64), nullable=False)], ("id",))
    connection.commit()
    writer = dialect.open_writer(connection, table, [Column("id", PortableType(Kind.INT64), nullable=False)])
    with pytest.raises(ValueRejected, match=r"row"):
        writer.write([(1,), (2,), (2,)], 1)
    connection.rollback()


def test_a_read_describes_the_query_and_streams_it_in_batches(server: tuple[Dialect, Any, list[TableName]]) -> None:
    dialect, connection, made = server
    table = TableName(unique("stream"))
    made.append(table)
    load(dialect, connection, table, [(i, f"n{i}") for i in range(1, 26)], LoadMode.CREATE, ["id"], made)

    stream = dialect.open_read(connection, f"SELECT {dialect.quote_identifier('id')}, "
                                           f"{dialect.quote_identifier('name')} FROM {dialect.qualified(table)}", 10)
    try:
        assert [c.name for c in stream.columns] == ["id", "name"]
        assert stream.columns[1].type == PortableType(Kind.VARCHAR, length=20)
        assert [len(b) for b in stream.batches()] == [10, 10, 5]
    finally:
        stream.close()


def test_oracle_puts_the_replaced_table_back_after_a_crash_between_the_two_renames() -> None:
    params = server_params("oracle")
    dialect = get_dialect("oracle")
    connection = dialect.connect(params, 30)
    table = TableName(unique("swapped"))
    try:
        dialect.prepare_for_load(connection)
        load(dialect, connection, table, [(1, "kept")], LoadMode.CREATE, ["id"])
        staging = TableName(unique("qdbm_stg"))
        dialect.create_table(connection, staging, KEYED)
        swap = dialect.swap_statements(table, staging, exists_now=True)  # type: ignore[attr-defined]
        cursor = connection.cursor()
        for statement in swap[:2]:  # marker, target aside: then the process dies
            cursor.execute(statement)
        cursor.close()
        assert not dialect.table_exists(connection, table)

        # The next run drops the leftover staging table, which first puts the target back.
        for leftover in dialect.list_tables(connection, None, "qdbm_stg_"):
            if leftover.name == staging.name:
                dialect.drop_table(connection, leftover)
        assert contents(dialect, connection, table) == [(1, "kept")]
        assert not dialect.table_exists(connection, staging)
    finally:
        dialect.drop_table(connection, table)
        connection.close()


def test_oracle_direct_path_load_writes_the_fixture_rows_when_asked_for() -> None:
    from dataclasses import replace

    params = server_params("oracle")
    params = replace(params, options={**params.options, "direct_path_load": "yes"})
    side = ServerSide("oracle", params, "oracle direct path")
    columns = [c for c in FIXTURE_COLUMNS if c.type.kind is not Kind.TIME]  # time goes by executemany
    keep = [FIXTURE_COLUMNS.index(c) for c in columns]
    rows = [tuple(row[i] for i in keep) for row in FIXTURE_ROWS]
    table = TableName(unique("direct"))
    side.made.append(table)
    try:
        connection = side.dialect.connect(params, 30)
        try:
            side.dialect.create_table(connection, table, columns, ("id",))
            writer = side.dialect.open_writer(connection, table, columns)
            assert getattr(writer, "_direct_path", None) is not None
            writer.write(rows, 1)
            writer.finish()
            connection.commit()
            names = ", ".join(side.dialect.quote_identifier(c.name) for c in columns)
            stream = side.dialect.open_read(connection, f"SELECT {names} FROM {side.dialect.qualified(table)} "
                                                        f"ORDER BY {side.dialect.quote_identifier('id')}", 10)
            try:
                got = [row for batch in stream.batches() for row in batch]
            finally:
                stream.close()
        finally:
            connection.close()
        for want_row, have_row in zip(rows, got, strict=True):
            for column, want, have in zip(columns, want_row, have_row, strict=True):
                assert normalise(have, column.name) == expected(want, column, {"oracle"}), column.name
    finally:
        side.drop_made()
