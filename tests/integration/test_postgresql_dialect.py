"""The PostgreSQL dialect against the real server: names, types, streaming reads, COPY loads, finalize."""

from __future__ import annotations

import json
import math
import struct
import tracemalloc
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from qdbm_desktop.core.dialects.base import ConnectParams, LoadMode, TableName
from qdbm_desktop.core.dialects.postgresql import PostgreSQLDialect
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.types import Column, Kind, PortableType, ValueRejected
from tests.integration.conftest import Server

dialect = PostgreSQLDialect()


@pytest.fixture
def conn(pg_database: Server) -> Iterator[Any]:
    connection = dialect.connect(ConnectParams(host=pg_database.host, port=pg_database.port,
                                               database=pg_database.database, user=pg_database.user), 5)
    try:
        yield connection
    finally:
        connection.close()


def execute(conn: Any, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with conn.cursor() as cursor:
        cursor.execute(statement, params or None)
        rows = cursor.fetchall() if cursor.description else []
    conn.commit()
    return rows


def read_all(conn: Any, query: str, batch_size: int = 1000) -> tuple[list[Column], list[tuple[Any, ...]]]:
    stream = dialect.open_read(conn, query, batch_size)
    try:
        rows = [row for batch in stream.batches() for row in batch]
    finally:
        stream.close()
    return stream.columns, rows


def load(conn: Any, table: TableName, columns: Sequence[Column], rows: Sequence[tuple[Any, ...]],
         mode: LoadMode = LoadMode.REPLACE, keys: Sequence[str] = ()) -> None:
    """What the pipeline does: staging table, COPY, count check, finalize."""
    staging = TableName(f"qdbm_stg_{uuid.uuid4().hex[:8]}", table.schema)
    dialect.prepare_for_load(conn)
    target_exists = dialect.table_exists(conn, table)
    staged = dialect.table_columns(conn, table) if target_exists and mode in (
        LoadMode.APPEND, LoadMode.TRUNCATE, LoadMode.UPSERT) else list(columns)
    by_name = {c.name: c for c in staged}
    dialect.create_table(conn, staging, [by_name[c.name] for c in columns])
    conn.commit()
    try:
        writer = dialect.open_writer(conn, staging, columns)
        writer.write(rows, 1)
        writer.finish()
        conn.commit()
        assert dialect.row_count(conn, staging) == len(rows)
        dialect.finalize(conn, mode, table, staging, columns, keys, target_exists)
    except BaseException:
        conn.rollback()
        dialect.drop_table(conn, staging)
        conn.commit()
        raise


# -- names --------------------------------------------------------------------------------------


def test_weird_names_are_quoted_in_real_create_insert_and_select(conn: Any) -> None:
    names = ["order", "select", "with space", "MixedCase", "ünïcødé 名前", 'say "hi"', "semi;colon--"]
    table = TableName('Weird "table" name', "public")
    columns = [Column(n, PortableType(Kind.INT32)) for n in names]
    load(conn, table, columns, [tuple(range(len(names)))])
    read_columns, rows = read_all(conn, f"SELECT * FROM {dialect.qualified(table)}")
    assert [c.name for c in read_columns] == names
    assert rows == [tuple(range(len(names)))]
    assert dialect.quote_identifier('a"b') == '"a""b"'


def test_names_longer_than_63_bytes_are_refused_not_truncated() -> None:
    assert dialect.quote_identifier("x" * 63) == '"' + "x" * 63 + '"'
    with pytest.raises(UsageError, match="63 bytes"):
        dialect.quote_identifier("x" * 64)
    with pytest.raises(UsageError, match="63 bytes"):
        dialect.quote_identifier("é" * 32)  # 32 characters but 64 bytes
    with pytest.raises(UsageError):
        dialect.create_table_sql(TableName("t"), [Column("y" * 64, PortableType(Kind.TEXT))])


# -- type fidelity ------------------------------------------------------------------------------

ALL_KINDS = [
    Column("i16", PortableType(Kind.INT16)),
    Column("i32", PortableType(Kind.INT32)),
    Column("i64", PortableType(Kind.INT64)),
    Column("d38", PortableType(Kind.DECIMAL, precision=38, scale=10)),
    Column("d12", PortableType(Kind.DECIMAL, precision=12, scale=2)),
    Column("dany", PortableType(Kind.DECIMAL)),
    Column("f32", PortableType(Kind.FLOAT32)),
    Column("f64", PortableType(Kind.FLOAT64)),
    Column("flag", PortableType(Kind.BOOLEAN)),
    Column("code", PortableType(Kind.CHAR, length=4)),
    Column("label", PortableType(Kind.VARCHAR, length=40)),
    Column("body", PortableType(Kind.TEXT)),
    Column("blob", PortableType(Kind.BINARY)),
    Column("day", PortableType(Kind.DATE)),
    Column("clock", PortableType(Kind.TIME)),
    Column("stamp", PortableType(Kind.TIMESTAMP)),
    Column("instant", PortableType(Kind.TIMESTAMPTZ)),
    Column("doc", PortableType(Kind.JSON)),
    Column("id", PortableType(Kind.UUID), nullable=False),
]

BERLIN = ZoneInfo("Europe/Berlin")
EXTREME_ROWS: list[tuple[Any, ...]] = [
    (-32768, -2147483648, -(2**63), Decimal("-1234567890123456789012345678.0123456789"),
     Decimal("-9999999999.99"), Decimal("-0.000000000000000000000000000001"), -3.4028234663852886e38,
     -1e308, False, "abcd", "tab\there\nnew line 'q' \"dq\" back\\slash", "😀 e\u0301 👩‍👩‍👧", b"\x00\x01\xff\x00",
     date(1900, 1, 1), time(0, 0, 0), datetime(1900, 1, 1, 0, 0, 0, 1),
     datetime(2021, 3, 28, 2, 0, 0, tzinfo=timezone(timedelta(hours=1))),  # instant Berlin skips 2:00
     '{"name": "Zoë 😀", "nested": {"list": [1, 2.5, null, "\\u00e9"]}}', uuid.UUID(int=0)),
    (32767, 2147483647, 2**63 - 1, Decimal("9999999999999999999999999999.9999999999"),
     Decimal("9999999999.99"), Decimal("123456789012345678901234567890.123456789012345678901234567890"),
     1.5, 5e-324, True, "   x", "", "", b"", date(2199, 12, 31), time(23, 59, 59, 999999),
     datetime(2199, 12, 31, 23, 59, 59, 999999),
     datetime(2021, 10, 31, 2, 30, 0, 123456, tzinfo=BERLIN, fold=1),  # the second 02:30 (CET)
     "[]", uuid.UUID("12345678-1234-5678-9abc-def012345678")),
    (0, 0, 0, Decimal("0.1000000001"), Decimal("0.10"), Decimal("1E+40"), float("inf"), float("nan"),
     None, "", None, "x", None, None, None, None, None, "null", uuid.uuid4()),
    tuple([None] * 18) + (uuid.uuid4(),),
]


def assert_rows_equal(expected: Sequence[tuple[Any, ...]], actual: Sequence[tuple[Any, ...]],
                      columns: Sequence[Column]) -> None:
    assert len(expected) == len(actual)
    for want_row, got_row in zip(expected, actual, strict=True):
        for column, want, got in zip(columns, want_row, got_row, strict=True):
            where = f"column {column.name}: {want!r} != {got!r}"
            if want is None or got is None:
                assert want is got, where
            elif column.type.kind is Kind.JSON:
                assert isinstance(got, str), where
                assert json.loads(got) == json.loads(want), where
            elif isinstance(want, float) and math.isnan(want):
                assert math.isnan(got), where
            elif column.type.kind is Kind.TIMESTAMPTZ:
                # Compared as instants: Python never calls a fold=1 time equal across zones.
                assert got.tzinfo is not None, where
                assert got.astimezone(timezone.utc) == want.astimezone(timezone.utc), where
            elif column.type.kind is Kind.FLOAT32:
                # real is read as the shortest decimal naming the same float32 (as psql shows it).
                assert struct.pack("<f", got) == struct.pack("<f", want), where
            elif column.type.kind is Kind.CHAR and column.type.length:
                assert got == want.ljust(column.type.length), where  # char(n) pads with spaces
            else:
                assert type(got) is type(want), where
                assert got == want, where
                if isinstance(want, Decimal):
                    assert str(got.normalize()) == str(want.normalize()), where


def test_every_portable_kind_round_trips_exactly_with_nulls_and_extremes(conn: Any) -> None:
    table = TableName("all_kinds")
    load(conn, table, ALL_KINDS, EXTREME_ROWS)
    columns, rows = read_all(conn, "SELECT * FROM all_kinds ORDER BY i16 = 0, i16", batch_size=2)
    assert [c.type for c in columns] == [c.type if c.type.kind is not Kind.JSON else PortableType(Kind.JSON)
                                         for c in ALL_KINDS]
    assert_rows_equal(EXTREME_ROWS, rows, ALL_KINDS)
    # Zoned instants compare equal across offsets; prove the DST ones kept their instant.
    assert rows[0][16].astimezone(timezone.utc) == datetime(2021, 3, 28, 1, 0, tzinfo=timezone.utc)
    assert rows[1][16].astimezone(timezone.utc) == datetime(2021, 10, 31, 1, 30, 0, 123456,
                                                            tzinfo=timezone.utc)
    assert rows[1][16].tzinfo is not None


def test_table_columns_keep_types_and_not_null(conn: Any) -> None:
    load(conn, TableName("kinds"), ALL_KINDS, [])
    columns = dialect.table_columns(conn, TableName("kinds"))
    assert [(c.name, c.type) for c in columns] == [(c.name, c.type) for c in ALL_KINDS]
    assert [c.nullable for c in columns] == [c.nullable for c in ALL_KINDS]
    assert columns[3].source_type == "numeric(38,10)" and columns[-2].source_type == "json"
    assert "NOT NULL" in dialect.create_table_sql(TableName("t"), ALL_KINDS[-1:])


def test_query_columns_are_described_with_source_type_and_portable_type(conn: Any) -> None:
    execute(conn, "CREATE TYPE mood AS ENUM ('sad', 'happy')")
    execute(conn, "CREATE DOMAIN positive AS integer CHECK (VALUE > 0)")
    columns, rows = read_all(conn, """
        SELECT 1.5::numeric(12,2) AS amount, 2::numeric AS n, 'ab'::varchar(20) AS v, 'x'::char(3) AS c,
               1::int2 AS small, now() AS at, '{"b": 1, "a": [2]}'::json AS j, '{"b": 1}'::jsonb AS jb,
               '{1,2}'::int[] AS arr, '1 day 02:00'::interval AS span, '12:00+02'::timetz AS tz_clock,
               'happy'::mood AS feeling, 5::positive AS pos, 'x'::name AS nm, '10.0.0.1'::inet AS addr,
               1.5::real AS r, gen_random_uuid() AS u, 'a'::bytea AS b""")
    described = {c.name: (c.source_type, str(c.type)) for c in columns}
    assert described == {
        "amount": ("numeric(12,2)", "decimal(12,2)"), "n": ("numeric", "decimal"),
        "v": ("character varying(20)", "varchar(20)"), "c": ("character(3)", "char(3)"),
        "small": ("smallint", "int16"), "at": ("timestamp with time zone", "timestamptz"),
        "j": ("json", "json"), "jb": ("jsonb", "jsonb"), "arr": ("integer[]", "json"),
        "span": ("interval", "text"), "tz_clock": ("time with time zone", "text"), "feeling": ("mood", "text"),
        "pos": ("integer", "int32"), "nm": ("name", "text"), "addr": ("inet", "text"),
        "r": ("real", "float32"), "u": ("uuid", "uuid"), "b": ("bytea", "binary"),
    }
    row = dict(zip([c.name for c in columns], rows[0], strict=True))
    # JSON arrives as the server's own text, not re-serialised; arrays as JSON arrays, intervals in
    # ISO 8601, other types as their text form.
    assert row["j"] == '{"b": 1, "a": [2]}'
    assert (row["arr"], row["span"], row["tz_clock"], row["feeling"], row["addr"]) == \
        ("[1,2]", "P1DT2H", "12:00:00+02", "happy", "10.0.0.1")
    # The exact type, for a PostgreSQL target; an enum is text with its labels.
    natives = {c.name: c.native_for("postgresql") for c in columns}
    assert (natives["amount"], natives["arr"], natives["span"], natives["feeling"], natives["jb"]) == \
        ("numeric(12,2)", "integer[]", "interval", "text", "jsonb")
    assert next(c.labels for c in columns if c.name == "feeling") == ("sad", "happy")
    assert row["pos"] == 5 and row["amount"] == Decimal("1.50") and row["b"] == b"a"


def test_empty_result_still_describes_its_columns(conn: Any) -> None:
    columns, rows = read_all(conn, "SELECT 1::bigint AS a, 'x'::text AS b WHERE false")
    assert rows == [] and [(c.name, c.type.kind) for c in columns] == [("a", Kind.INT64), ("b", Kind.TEXT)]


def test_a_bad_query_fails_with_the_server_message_and_no_result_statement_is_refused(conn: Any) -> None:
    with pytest.raises(psycopg.errors.UndefinedTable, match="no_such_table"):
        dialect.open_read(conn, "SELECT * FROM no_such_table", 10)
    with pytest.raises(psycopg.Error, match="multiple commands"):
        dialect.open_read(conn, "SELECT 1; SELECT 2", 10)
    execute(conn, "CREATE TABLE t (a int)")
    with pytest.raises(UsageError, match="no rows"):
        dialect.open_read(conn, "INSERT INTO t VALUES (1)", 10)
    assert execute(conn, "SELECT count(*) FROM t") == [(0,)]


# -- reading ------------------------------------------------------------------------------------


def test_streaming_200k_rows_yields_bounded_batches_without_holding_the_result(conn: Any) -> None:
    query = "SELECT g AS id, repeat('x', 100) || g AS payload FROM generate_series(1, 200000) g"
    stream = dialect.open_read(conn, query, 5000)
    sizes, peak_batch_bytes = [], 0
    tracemalloc.start()
    try:
        for batch in stream.batches():
            sizes.append(len(batch))
            assert batch[0][0] == len(sizes) * 5000 - 4999
        _, peak_batch_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        stream.close()
    assert sum(sizes) == 200_000 and max(sizes) == 5000
    # The whole result is over 30 MB as Python objects; a streaming reader holds about one batch.
    assert peak_batch_bytes < 8_000_000


def test_the_read_runs_in_a_read_only_transaction(conn: Any) -> None:
    execute(conn, "CREATE TABLE t (a int)")
    execute(conn, "INSERT INTO t VALUES (1), (2)")
    stream = dialect.open_read(conn, "WITH gone AS (DELETE FROM t RETURNING a) SELECT a FROM gone", 10)
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        list(stream.batches())
    stream.close()
    assert execute(conn, "SELECT count(*) FROM t") == [(2,)]


def test_closing_mid_stream_cancels_and_leaves_the_connection_usable(conn: Any) -> None:
    stream = dialect.open_read(conn, "SELECT g FROM generate_series(1, 1000000) g", 1000)
    first = next(iter(stream.batches()))
    stream.close()
    assert len(first) == 1000
    assert execute(conn, "SELECT 42") == [(42,)]
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


# -- loading: refusals --------------------------------------------------------------------------


def write_one(conn: Any, column: Column, values: Sequence[Any]) -> None:
    table = TableName("refusal")
    dialect.drop_table(conn, table)
    dialect.create_table(conn, table, [Column("id", PortableType(Kind.INT32)), column])
    writer = dialect.open_writer(conn, table, [Column("id", PortableType(Kind.INT32)), column])
    writer.write([(i, v) for i, v in enumerate(values)], 101)
    writer.finish()


@pytest.mark.parametrize(("column", "values", "why"), [
    (Column("note", PortableType(Kind.TEXT)), ["ok", None, "bad\x00byte"], "NUL"),
    (Column("code", PortableType(Kind.VARCHAR, length=3)), ["ok", "too long"], "too long"),
    (Column("doc", PortableType(Kind.JSON)), ["{}", "{not json"], "json"),
    (Column("small", PortableType(Kind.INT16)), [1, 40000], "out of range"),
    (Column("whole", PortableType(Kind.INT32)), [1, 2**31], "out of range"),
    (Column("big", PortableType(Kind.INT64)), [1, 2**63], "int"),
    (Column("ratio", PortableType(Kind.FLOAT32)), [1.0, 1e300], "out of range"),
    (Column("tiny", PortableType(Kind.FLOAT32)), [1.0, 5e-324], "too close to zero"),
    (Column("money", PortableType(Kind.DECIMAL, precision=5, scale=2)), [Decimal("1"), Decimal("12345")],
     "out of range for decimal"),
    (Column("cents", PortableType(Kind.DECIMAL, precision=9, scale=2)), [Decimal("1.10"), Decimal("1.005")],
     "decimal places"),
    (Column("uid", PortableType(Kind.UUID)), [uuid.uuid4(), "not-a-uuid"], "'not-a-uuid' is not a UUID"),
])
def test_a_value_the_target_cannot_hold_is_refused_naming_column_and_row(
        conn: Any, column: Column, values: list[Any], why: str) -> None:
    with pytest.raises(ValueRejected, match=rf"column '{column.name}', row {100 + len(values)}: .*{why}"):
        write_one(conn, column, values)
    conn.rollback()


def test_zoned_datetimes_go_into_a_column_without_zone_as_utc(conn: Any) -> None:
    column = Column("stamp", PortableType(Kind.TIMESTAMP))
    write_one(conn, column, [datetime(2024, 7, 1, 14, 0, tzinfo=BERLIN)])
    conn.commit()
    assert execute(conn, "SELECT stamp FROM refusal") == [(datetime(2024, 7, 1, 12, 0),)]


def test_column_types_without_a_portable_kind_load_through_text(conn: Any) -> None:
    execute(conn, "CREATE TYPE mood AS ENUM ('sad', 'happy')")
    execute(conn, "CREATE TABLE feelings (id int PRIMARY KEY, m mood, span interval, tags text[])")
    columns = dialect.table_columns(conn, TableName("feelings"))
    load(conn, TableName("feelings"), columns, [(1, "happy", "1 day", "{a,b}")], LoadMode.APPEND)
    assert execute(conn, "SELECT m::text, span, tags FROM feelings") == [("happy", timedelta(days=1), ["a", "b"])]


# -- finalize -----------------------------------------------------------------------------------

PEOPLE = [Column("id", PortableType(Kind.INT32), nullable=False), Column("name", PortableType(Kind.TEXT))]


def people(conn: Any) -> list[tuple[Any, ...]]:
    return execute(conn, "SELECT id, name FROM people ORDER BY id")


@pytest.fixture
def people_table(conn: Any) -> TableName:
    execute(conn, "CREATE TABLE people (id integer PRIMARY KEY, name text, note text DEFAULT 'kept')")
    execute(conn, "INSERT INTO people (id, name) VALUES (1, 'Ann'), (2, 'Bob')")
    return TableName("people")


def test_append_adds_rows_to_the_existing_table(conn: Any, people_table: TableName) -> None:
    load(conn, people_table, PEOPLE, [(3, "Cy")], LoadMode.APPEND)
    assert people(conn) == [(1, "Ann"), (2, "Bob"), (3, "Cy")]
    assert dialect.list_tables(conn, None, "qdbm_stg_") == []


def test_truncate_replaces_rows_but_keeps_the_table(conn: Any, people_table: TableName) -> None:
    load(conn, people_table, PEOPLE, [(7, "Dee")], LoadMode.TRUNCATE)
    assert people(conn) == [(7, "Dee")]
    assert execute(conn, "SELECT note FROM people") == [("kept",)]  # same table: its default applied


def test_replace_recreates_the_table_from_the_loaded_columns(conn: Any, people_table: TableName) -> None:
    load(conn, people_table, PEOPLE, [(9, "Eve")], LoadMode.REPLACE)
    assert people(conn) == [(9, "Eve")]
    assert [c.name for c in dialect.table_columns(conn, people_table)] == ["id", "name"]
    assert dialect.list_tables(conn, "public", "qdbm_stg_") == []


def test_create_makes_a_new_table_and_fails_clearly_when_it_exists(conn: Any, people_table: TableName) -> None:
    load(conn, TableName("fresh", "public"), PEOPLE, [(1, "New")], LoadMode.CREATE)
    assert execute(conn, "SELECT * FROM fresh") == [(1, "New")]
    with pytest.raises(UsageError, match="people already exists"):
        load(conn, people_table, PEOPLE, [(5, "X")], LoadMode.CREATE)
    assert people(conn) == [(1, "Ann"), (2, "Bob")]


def test_upsert_updates_existing_keys_and_inserts_new_ones(conn: Any, people_table: TableName) -> None:
    load(conn, people_table, PEOPLE, [(2, "Robert"), (4, "Flo")], LoadMode.UPSERT, keys=["id"])
    assert people(conn) == [(1, "Ann"), (2, "Robert"), (4, "Flo")]


def test_upsert_without_a_unique_key_fails_and_leaves_the_target_unchanged(
        conn: Any, people_table: TableName) -> None:
    with pytest.raises(UsageError, match=r"primary key or unique index on exactly \(name\)"):
        load(conn, people_table, PEOPLE, [(2, "Ann")], LoadMode.UPSERT, keys=["name"])
    assert people(conn) == [(1, "Ann"), (2, "Bob")]


def test_append_with_a_type_clash_fails_and_leaves_the_target_unchanged(
        conn: Any, people_table: TableName) -> None:
    staging = TableName("qdbm_stg_clash")
    clash = [Column("id", PortableType(Kind.TEXT)), Column("name", PortableType(Kind.TEXT))]
    dialect.create_table(conn, staging, clash)
    writer = dialect.open_writer(conn, staging, clash)
    writer.write([("3", "Cy")], 1)
    writer.finish()
    conn.commit()
    with pytest.raises(psycopg.errors.DatatypeMismatch):
        dialect.finalize(conn, LoadMode.APPEND, people_table, staging, clash, [], True)
    conn.rollback()
    assert people(conn) == [(1, "Ann"), (2, "Bob")]
    assert dialect.table_exists(conn, staging)  # left for the pipeline to drop


def test_replace_that_fails_midway_keeps_the_old_table(conn: Any, people_table: TableName) -> None:
    execute(conn, "CREATE VIEW people_view AS SELECT * FROM people")  # DROP TABLE without CASCADE fails
    with pytest.raises(psycopg.errors.DependentObjectsStillExist):
        load(conn, people_table, PEOPLE, [(9, "Eve")], LoadMode.REPLACE)
    assert people(conn) == [(1, "Ann"), (2, "Bob")]


def test_list_tables_finds_leftover_staging_tables_by_prefix(conn: Any) -> None:
    execute(conn, "CREATE SCHEMA other")
    execute(conn, "CREATE TABLE qdbm_stg_a (x int); CREATE TABLE qdbm_stg_b (x int); "
                  "CREATE TABLE keep_me (x int); CREATE TABLE other.qdbm_stg_c (x int)")
    assert dialect.list_tables(conn, None, "qdbm_stg_") == [TableName("qdbm_stg_a"), TableName("qdbm_stg_b")]
    assert dialect.list_tables(conn, "other", "qdbm_stg_") == [TableName("qdbm_stg_c", "other")]
    assert dialect.table_exists(conn, TableName("qdbm_stg_c", "other"))
    assert not dialect.table_exists(conn, TableName("qdbm_stg_c"))


def test_upsert_into_a_new_table_creates_it_with_the_keys_as_primary_key(conn: Any) -> None:
    load(conn, TableName("fresh"), PEOPLE, [(1, "Ann"), (2, "Bob")], LoadMode.UPSERT, keys=["id"])
    load(conn, TableName("fresh"), PEOPLE, [(2, "Robert")], LoadMode.UPSERT, keys=["id"])
    assert execute(conn, "SELECT id, name FROM fresh ORDER BY id") == [(1, "Ann"), (2, "Robert")]
    # The pipeline may create the staging table with the primary key already.
    staging = TableName("qdbm_stg_pk")
    dialect.create_table(conn, staging, PEOPLE, primary_key=["id"])
    dialect.finalize(conn, LoadMode.UPSERT, TableName("fresh2"), staging, PEOPLE, ["id"], False)
    assert execute(conn, "SELECT count(*) FROM pg_index WHERE indrelid = 'fresh2'::regclass") == [(1,)]


def test_a_server_side_refusal_names_a_column_whose_name_holds_commas_and_colons(conn: Any) -> None:
    with pytest.raises(ValueRejected, match=r"column 'a, b: c', row 102: value too long"):
        write_one(conn, Column("a, b: c", PortableType(Kind.VARCHAR, length=2)), ["ok", "abc"])


@pytest.mark.parametrize(("oid", "typmod", "values"), [
    (21, -1, [0, None, 32767, -32768, True]), (21, -1, [32768]), (21, -1, [-32769, 0]), (21, -1, [1.0]),
    (23, -1, [2**31 - 1, -(2**31)]), (23, -1, [2**31]), (20, -1, [2**63 - 1, -(2**63), None]), (20, -1, [2**63]),
    (20, -1, [Decimal(1)]), (20, -1, [None, None]),
    (1700, (12 << 16 | 2) + 4, [Decimal("9999999999.99"), Decimal("-9999999999.99"), Decimal("0.000"), None]),
    (1700, (12 << 16 | 2) + 4, [Decimal("10000000000.00")]), (1700, (12 << 16 | 2) + 4, [Decimal("-1E+10")]),
    (1700, (12 << 16 | 2) + 4, [Decimal("1.005")]), (1700, (12 << 16 | 2) + 4, [Decimal("1.000"), Decimal("1.5")]),
    (1700, (12 << 16 | 2) + 4, [Decimal("NaN")]), (1700, (12 << 16 | 2) + 4, [Decimal("Infinity")]),
    (1700, (12 << 16 | 2) + 4, [3]), (1700, (2 << 16 | 2) + 4, [Decimal("0.99"), Decimal("-0.5")]),
    (1700, (2 << 16 | 2) + 4, [Decimal("1.00")]),
    (1114, -1, [datetime(2024, 1, 1), None]), (1114, -1, [datetime(2024, 1, 1, tzinfo=timezone.utc)]),
    (1184, -1, [datetime(2024, 1, 1, tzinfo=BERLIN), None]), (1184, -1, [datetime(2024, 1, 1)]),
    (1184, -1, ["2024-01-01"]),
])
def test_a_column_passed_whole_is_one_every_value_of_which_its_converter_leaves_alone(
        oid: int, typmod: int, values: list[Any]) -> None:
    from qdbm_desktop.core.dialects.postgresql.types import _PgType
    from qdbm_desktop.core.dialects.postgresql.write import _PgCopyWriter, _unchanged_column_check

    pg_type = _PgType(oid, typmod, "t")
    convert = _PgCopyWriter._converter_for(pg_type, True)
    check = _unchanged_column_check(pg_type, True)
    assert convert is not None and check is not None

    def untouched(value: Any) -> bool:
        try:
            return value is None or convert(value) is value
        except (ValueError, ArithmeticError, AttributeError, TypeError):
            return False

    if check(values):
        assert all(untouched(v) for v in values)
    expected_whole = all(untouched(v) for v in values)
    assert check(values) == expected_whole or not check(values)
