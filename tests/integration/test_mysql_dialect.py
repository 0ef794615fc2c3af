"""The MySQL/MariaDB dialect against the real server: names, types, loads, final steps, reads."""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest

from qdbm_desktop.core.dialects.base import ConnectParams, LoadMode, TableName
from qdbm_desktop.core.dialects.mysql import MySQLDialect, MySQLReadStream
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.types import Column, Kind, PortableType, ValueRejected

from .conftest import Server

pytestmark = pytest.mark.mysql

P = PortableType.parse


def connect(server: Server, dialect: MySQLDialect | None = None) -> Any:
    return (dialect or MySQLDialect()).connect(
        ConnectParams(host=server.host, port=server.port, user=server.user, password=server.password,
                      database=server.database), timeout=5)


@pytest.fixture
def dialect() -> MySQLDialect:
    return MySQLDialect()


@pytest.fixture
def target(mysql_database: Server, dialect: MySQLDialect) -> Iterator[Any]:
    connection = connect(mysql_database, dialect)
    dialect.prepare_for_load(connection)
    yield connection
    connection.close()


@pytest.fixture
def source(mysql_database: Server, dialect: MySQLDialect) -> Iterator[Any]:
    connection = connect(mysql_database, dialect)
    yield connection
    connection.close()


def execute(connection: Any, *statements: str) -> None:
    cursor = connection.cursor()
    for statement in statements:
        cursor.execute(statement)
    cursor.close()
    connection.commit()


def fetch(connection: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor = connection.cursor()
    cursor.execute(sql)
    rows: list[tuple[Any, ...]] = cursor.fetchall()
    cursor.close()
    connection.commit()
    return rows


def load(dialect: MySQLDialect, connection: Any, table: TableName, columns: Sequence[Column],
         rows: Sequence[tuple[Any, ...]], batch: int = 1000) -> None:
    writer = dialect.open_writer(connection, table, columns)
    for start in range(0, len(rows), batch):
        writer.write(rows[start:start + batch], start + 1)
    writer.finish()
    connection.commit()


def stage_and_finalize(dialect: MySQLDialect, connection: Any, mode: LoadMode, target_table: TableName,
                       columns: Sequence[Column], rows: Sequence[tuple[Any, ...]],
                       keys: Sequence[str] = (), staging_name: str = "qdbm_stg_run1") -> None:
    staging = TableName(staging_name)
    dialect.create_table(connection, staging, columns)
    connection.commit()
    load(dialect, connection, staging, columns, rows)
    assert dialect.row_count(connection, staging) == len(rows)
    dialect.finalize(connection, mode, target_table, staging, columns, keys,
                     dialect.table_exists(connection, target_table))


def read_all(dialect: MySQLDialect, connection: Any, query: str, batch_size: int = 1000
             ) -> tuple[MySQLReadStream, list[tuple[Any, ...]]]:
    stream = dialect.open_read(connection, query, batch_size)
    rows = [row for batch in stream.batches() for row in batch]
    stream.close()
    return stream, rows


# -- names ---------------------------------------------------------------------------------------

WEIRD_NAMES = ["order", "select", "my column", "MixedCase", "Größe 名前", "we`ird\"q'uote", "a.b"]


def test_weird_names_are_quoted_in_a_real_create_insert_and_select(dialect: MySQLDialect, target: Any,
                                                                   source: Any) -> None:
    columns = [Column(name, P("int32")) for name in WEIRD_NAMES]
    table = TableName("Order Lines `x`")
    dialect.create_table(target, table, columns)
    load(dialect, target, table, columns, [tuple(range(len(columns)))])
    stream, rows = read_all(dialect, source, f"SELECT * FROM {dialect.qualified(table)}")
    assert [c.name for c in stream.columns] == WEIRD_NAMES
    assert rows == [tuple(range(len(columns)))]
    assert dialect.quote_identifier("a`b") == "`a``b`"


def test_too_long_or_unstorable_names_are_refused_not_truncated(dialect: MySQLDialect) -> None:
    assert dialect.quote_identifier("x" * 64) == f"`{'x' * 64}`"
    assert dialect.quote_identifier("é" * 64) == f"`{'é' * 64}`"  # 64 characters, 128 bytes: allowed
    with pytest.raises(UsageError, match="longer than"):
        dialect.quote_identifier("x" * 65)
    with pytest.raises(UsageError, match="emoji"):
        dialect.quote_identifier("smile 😀")
    with pytest.raises(UsageError, match="space"):
        dialect.quote_identifier("trailing ")
    with pytest.raises(UsageError):
        dialect.quote_identifier("")


# -- every kind round-trips ---------------------------------------------------------------------------

KINDS = [("i16", "int16"), ("i32", "int32"), ("i64", "int64"), ("d38", "decimal(38,10)"),
         ("d12", "decimal(12,2)"), ("dn", "decimal"), ("f32", "float32"), ("f64", "float64"),
         ("b", "boolean"), ("c", "char(5)"), ("v", "varchar(40)"), ("t", "text"), ("bin", "binary"),
         ("bin8", "binary(8)"), ("da", "date"), ("ti", "time"), ("ts", "timestamp"),
         ("tz", "timestamptz"), ("j", "json"), ("u", "uuid")]
BERLIN_DST = dt.timezone(dt.timedelta(hours=2))
ROWS: list[tuple[Any, ...]] = [
    (32767, 2**31 - 1, 2**63 - 1, Decimal("1234567890123456789012345678.0123456789"),
     Decimal("9999999999.99"), Decimal("0.000000000000000000000000000001"), 1.5, 1e308, True, "ab",
     "😀 e\u0301\t\n'\"\\ \\N", "x" * 5000, b"\x00\x01\\\t\n\r\xff", b"\x00" * 8, dt.date(1900, 1, 1),
     dt.time(23, 59, 59, 999999), dt.datetime(2199, 12, 31, 23, 59, 59, 123456),
     dt.datetime(2024, 3, 31, 3, 0, 0, 1, tzinfo=BERLIN_DST), '{"a": ["ü", 1, {"😀": null}]}',
     uuid.UUID("12345678-1234-5678-1234-567812345678")),
    (-32768, -(2**31), -(2**63), Decimal("-0.0000000001"), Decimal("0.10"), Decimal("-5"), -3.25, 5e-324,
     False, "", "", "", b"", b"", dt.date(2199, 12, 31), dt.time(0, 0), dt.datetime(1900, 1, 1),
     dt.datetime(2024, 10, 27, 1, 59, tzinfo=dt.timezone.utc), "[]", uuid.UUID(int=0)),
    (None,) * len(KINDS),
]


def expected_after_mysql(kind: str, value: Any) -> Any:
    """What MySQL gives back: timestamptz as its UTC wall time, uuid as its text (no such types)."""
    if value is None:
        return None
    if kind == "timestamptz":
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if kind == "uuid":
        return str(value)
    return value


@pytest.mark.parametrize("use_load_data", [True, False], ids=["load-data", "insert"])
def test_every_kind_round_trips_exactly_with_nulls_and_extremes(dialect: MySQLDialect, target: Any,
                                                                source: Any, use_load_data: bool) -> None:
    dialect = MySQLDialect(use_load_data=use_load_data)
    columns = [Column(name, P(text)) for name, text in KINDS]
    table = TableName("all_kinds")
    stage_and_finalize(dialect, target, LoadMode.REPLACE, table, columns, ROWS)
    stream, rows = read_all(dialect, source, "SELECT * FROM all_kinds ORDER BY i16")
    assert rows[0] == (None,) * len(KINDS)  # NULLs sort first
    for sent, got in zip(ROWS[:2], [rows[2], rows[1]], strict=True):
        for (name, kind), value, back in zip(KINDS, sent, got, strict=True):
            if kind == "json":
                assert json.loads(back) == json.loads(value), name
            else:
                assert back == expected_after_mysql(kind, value), name
                assert type(back) is type(expected_after_mysql(kind, value)), name
    assert rows[1][9] == "" and rows[0][9] is None  # empty string and NULL stay apart
    assert not stream.warnings


def test_table_columns_and_native_types_follow_the_mapping(dialect: MySQLDialect, target: Any) -> None:
    columns = [Column(name, P(text), nullable=name != "i64") for name, text in KINDS]
    table = TableName("typed")
    sql = dialect.create_table_sql(table, columns, primary_key=["i64"])
    assert "DECIMAL(65,30)" in sql and "TINYINT(1)" in sql and "DATETIME(6)" in sql and "`i64` BIGINT NOT NULL" in sql
    assert "COLLATE=utf8mb4_bin" in sql
    dialect.create_table(target, table, columns, primary_key=["i64"])
    found = {c.name: c for c in dialect.table_columns(target, table)}
    assert found["d12"].type == P("decimal(12,2)") and found["b"].type.kind is Kind.BOOLEAN
    assert found["v"].type == P("varchar(40)") and found["j"].type.kind is Kind.JSON
    assert found["tz"].type.kind is Kind.TIMESTAMP and found["u"].type == P("char(36)")
    assert not found["i64"].nullable and found["i32"].nullable
    with pytest.raises(UsageError, match="65"):
        dialect.native_type(P("decimal(66,2)"))


def test_many_wide_varchars_become_text_types_to_fit_the_row_limit(dialect: MySQLDialect, target: Any) -> None:
    columns = [Column(f"c{i}", P("varchar(5000)")) for i in range(8)]
    dialect.create_table(target, TableName("wide"), columns)
    load(dialect, target, TableName("wide"), columns, [("é" * 5000,) * 8])
    with pytest.raises(ValueRejected, match=r"column 'c0', row 1: text of 5001"):
        load(dialect, target, TableName("wide"), columns, [("é" * 5001,) * 8])


# -- describing query columns -------------------------------------------------------------------------


def test_query_columns_get_source_types_and_portable_types(dialect: MySQLDialect, target: Any,
                                                            source: Any) -> None:
    execute(target, "CREATE TABLE src (flag TINYINT(1), tu TINYINT UNSIGNED, su SMALLINT UNSIGNED, "
                    "mi MEDIUMINT, iu INT UNSIGNED, bu BIGINT UNSIGNED NOT NULL, amount DECIMAL(12,2), "
                    "f FLOAT, name VARCHAR(20), body MEDIUMTEXT, raw VARBINARY(16), blobby BLOB, y YEAR, "
                    "bit1 BIT(1), bit8 BIT(8), e ENUM('small','large'), s SET('a','b'), doc JSON, "
                    "stamp TIMESTAMP(6) NULL, moment DATETIME, d DATE, t TIME(3))",
            "INSERT INTO src VALUES (1, 255, 65535, -8388608, 4294967295, 18446744073709551615, 12.34, 1.5, "
            "'n', 'body', x'00ff', x'01', 2024, b'1', b'10000001', 'large', 'a,b', '{\"k\": 1}', "
            "'2024-06-01 12:00:00.5', '2024-06-01 12:00:00', '2024-06-01', '12:34:56.789')")
    stream, rows = read_all(dialect, source, "SELECT src.*, bu + 0 AS expr, 'x' AS lit FROM src")
    described = {c.name: (c.source_type, str(c.type), c.nullable) for c in stream.columns}
    assert described["flag"] == ("tinyint(1)", "boolean", True)
    assert described["tu"][1:] == ("int16", True) and described["su"][1] == "int32"
    assert described["mi"][1] == "int32" and described["iu"][1] == "int64"
    assert described["bu"] == ("bigint(20) unsigned", "decimal(20,0)", False)
    assert described["amount"] == ("decimal(12,2)", "decimal(12,2)", True)
    assert described["name"][:2] == ("varchar(20)", "varchar(20)") and described["body"][1] == "text"
    assert described["raw"][1] == "binary(16)" and described["blobby"][1] == "binary"
    assert described["y"][1] == "int16" and described["bit1"][1] == "boolean" and described["bit8"][1] == "int64"
    assert described["e"] == ("enum('small','large')", "varchar(5)", True) and described["s"][1] == "varchar(3)"
    assert described["doc"][1] == "json" and described["stamp"][1] == "timestamptz"
    assert described["moment"][1] == "timestamp" and described["t"][1] == "time"
    assert described["expr"][1] == "decimal(20,0)" and described["expr"][0] == "bigint unsigned"
    assert described["lit"][1] == "text"
    row = dict(zip([c.name for c in stream.columns], rows[0], strict=True))
    assert row["flag"] is True and row["bit1"] is True and row["bit8"] == 129 and row["su"] == 65535
    assert row["bu"] == Decimal(18446744073709551615) and row["expr"] == Decimal(18446744073709551615)
    assert row["amount"] == Decimal("12.34") and row["raw"] == b"\x00\xff" and row["e"] == "large"
    assert row["stamp"] == dt.datetime(2024, 6, 1, 12, 0, 0, 500000, tzinfo=dt.timezone.utc)
    assert row["t"] == dt.time(12, 34, 56, 789000) and json.loads(row["doc"]) == {"k": 1}


def test_zero_dates_are_read_as_null_and_counted(dialect: MySQLDialect, target: Any, source: Any) -> None:
    execute(target, "SET SESSION sql_mode = ''", "CREATE TABLE z (id INT, d DATE, ts DATETIME)",
            "INSERT INTO z VALUES (1, '0000-00-00', '0000-00-00 00:00:00'), (2, '2024-01-02', NULL), "
            "(3, '0000-00-00', '2024-01-02 03:04:05')")
    stream, rows = read_all(dialect, source, "SELECT * FROM z ORDER BY id")
    assert rows == [(1, None, None), (2, dt.date(2024, 1, 2), None), (3, None, dt.datetime(2024, 1, 2, 3, 4, 5))]
    assert stream.zero_dates == 3
    assert stream.warnings == ["3 zero date(s) (0000-00-00) read as NULL ('d': 2, 'ts': 1)"]


def test_a_time_beyond_24_hours_is_refused_with_column_and_row(dialect: MySQLDialect, target: Any,
                                                              source: Any) -> None:
    execute(target, "CREATE TABLE durations (id INT, span TIME)",
            "INSERT INTO durations VALUES (1, '10:00:00'), (2, '-01:00:00'), (3, '838:59:59')")
    with pytest.raises(ValueRejected, match=r"column 'span', row 2: TIME value '-01:00:00'"):
        read_all(dialect, source, "SELECT * FROM durations ORDER BY id")


# -- load modes -------------------------------------------------------------------------------------

COLS = [Column("id", P("int32"), nullable=False), Column("name", P("varchar(20)"))]


def make_target(connection: Any) -> None:
    execute(connection, "CREATE TABLE people (id INT NOT NULL PRIMARY KEY, name VARCHAR(20), "
                        "extra INT DEFAULT 7) COMMENT 'keep me'",
            "INSERT INTO people (id, name) VALUES (1, 'one'), (2, 'two')")


def people(connection: Any) -> list[tuple[Any, ...]]:
    return fetch(connection, "SELECT id, name FROM people ORDER BY id")


def leftovers(dialect: MySQLDialect, connection: Any) -> list[TableName]:
    return dialect.list_tables(connection, None, "qdbm_")


def test_append_adds_rows(dialect: MySQLDialect, target: Any) -> None:
    make_target(target)
    stage_and_finalize(dialect, target, LoadMode.APPEND, TableName("people"), COLS, [(3, "three")])
    assert people(target) == [(1, "one"), (2, "two"), (3, "three")]
    assert leftovers(dialect, target) == []


def test_append_or_upsert_into_a_missing_table_makes_it_from_the_staging_table(dialect: MySQLDialect,
                                                                               target: Any) -> None:
    stage_and_finalize(dialect, target, LoadMode.APPEND, TableName("people"), COLS, [(1, "a")])
    stage_and_finalize(dialect, target, LoadMode.UPSERT, TableName("made"), COLS, [(1, "b")], keys=["id"])
    assert people(target) == [(1, "a")] and fetch(target, "SELECT * FROM made") == [(1, "b")]
    assert leftovers(dialect, target) == []


def test_truncate_replaces_the_rows_but_keeps_the_table(dialect: MySQLDialect, target: Any) -> None:
    make_target(target)
    stage_and_finalize(dialect, target, LoadMode.TRUNCATE, TableName("people"), COLS, [(5, "five")])
    assert people(target) == [(5, "five")]
    assert fetch(target, "SELECT extra FROM people") == [(7,)]
    assert fetch(target, "SELECT TABLE_COMMENT FROM information_schema.TABLES "
                         "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'people'") == [("keep me",)]


def test_replace_recreates_the_table_and_leaves_no_old_copy(dialect: MySQLDialect, target: Any) -> None:
    make_target(target)
    stage_and_finalize(dialect, target, LoadMode.REPLACE, TableName("people"), COLS, [(9, "nine")],
                       staging_name="qdbm_stg_abc123")
    assert people(target) == [(9, "nine")]
    assert [c.name for c in dialect.table_columns(target, TableName("people"))] == ["id", "name"]
    assert leftovers(dialect, target) == []


def test_create_makes_the_table_and_refuses_an_existing_one(dialect: MySQLDialect, target: Any) -> None:
    stage_and_finalize(dialect, target, LoadMode.CREATE, TableName("fresh"), COLS, [(1, "a")])
    assert fetch(target, "SELECT * FROM fresh") == [(1, "a")]
    make_target(target)
    with pytest.raises(UsageError, match="already exists"):
        stage_and_finalize(dialect, target, LoadMode.CREATE, TableName("people"), COLS, [(3, "x")])
    assert people(target) == [(1, "one"), (2, "two")]


def test_upsert_updates_existing_keys_and_inserts_new_ones(dialect: MySQLDialect, target: Any) -> None:
    make_target(target)
    stage_and_finalize(dialect, target, LoadMode.UPSERT, TableName("people"), COLS,
                       [(2, "TWO"), (4, "four")], keys=["id"])
    assert people(target) == [(1, "one"), (2, "TWO"), (4, "four")]
    assert leftovers(dialect, target) == []


def test_upsert_without_a_unique_key_on_the_keys_fails_and_leaves_the_target(dialect: MySQLDialect,
                                                                             target: Any) -> None:
    make_target(target)
    with pytest.raises(UsageError, match="UNIQUE index on exactly"):
        stage_and_finalize(dialect, target, LoadMode.UPSERT, TableName("people"), COLS, [(2, "TWO")],
                           keys=["name"])
    assert people(target) == [(1, "one"), (2, "two")]


def test_append_with_a_type_clash_fails_and_leaves_the_target(dialect: MySQLDialect, target: Any) -> None:
    make_target(target)
    clash = [Column("id", P("varchar(20)")), Column("name", P("varchar(20)"))]
    import mysql.connector

    with pytest.raises(mysql.connector.Error):
        stage_and_finalize(dialect, target, LoadMode.APPEND, TableName("people"), clash,
                           [("7", "ok"), ("not a number", "bad")])
    target.rollback()
    assert people(target) == [(1, "one"), (2, "two")]


def test_list_tables_finds_leftovers_by_prefix(dialect: MySQLDialect, target: Any,
                                               mysql_database: Server) -> None:
    execute(target, "CREATE TABLE qdbm_stg_1 (a INT)", "CREATE TABLE qdbm_stgX (a INT)", "CREATE TABLE other (a INT)")
    assert dialect.list_tables(target, None, "qdbm_stg_") == [TableName("qdbm_stg_1")]
    assert dialect.list_tables(target, mysql_database.database, "qdbm_stg_") == [
        TableName("qdbm_stg_1", mysql_database.database)]
    assert dialect.table_exists(target, TableName("other"))
    assert not dialect.table_exists(target, TableName("OTHER"))


# -- refused values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("use_load_data", [True, False], ids=["load-data", "insert"])
@pytest.mark.parametrize(("kind", "bad", "why"), [
    ("int16", 32768, "out of range"), ("float64", float("nan"), "NaN"), ("float64", float("inf"), "Infinity"),
    ("decimal(12,2)", Decimal("1.234"), "more than 2 decimal places"),
    ("decimal(12,2)", Decimal("12345678901"), "does not fit"), ("varchar(3)", "abcd", "longer than"),
    ("binary(2)", b"abc", "longer than"), ("int64", 2**63, "out of range"),
])
def test_a_value_the_target_cannot_hold_is_refused_naming_column_and_row(
        dialect: MySQLDialect, target: Any, kind: str, bad: Any, why: str, use_load_data: bool) -> None:
    dialect = MySQLDialect(use_load_data=use_load_data)
    columns = [Column("id", P("int32")), Column("val", P(kind))]
    table = TableName("refuse")
    dialect.create_table(target, table, columns)
    writer = dialect.open_writer(target, table, columns)
    with pytest.raises(ValueRejected, match=rf"column 'val', row 12: .*{why}"):
        writer.write([(10, None), (11, None), (12, bad)], 10)
    target.rollback()
    assert dialect.row_count(target, table) == 0


# -- streaming reads ---------------------------------------------------------------------------------


def test_streaming_200k_rows_comes_in_bounded_batches_without_holding_the_result(
        dialect: MySQLDialect, target: Any, source: Any) -> None:
    columns = [Column("id", P("int32"), nullable=False), Column("pad", P("char(100)"))]
    dialect.create_table(target, TableName("big"), columns, primary_key=["id"])
    load(dialect, target, TableName("big"), columns, [(i, "x" * 100) for i in range(200_000)], batch=100_000)
    stream = dialect.open_read(source, "SELECT id, pad FROM big", 10_000)
    assert not getattr(stream._cursor, "_buffered", False)
    assert type(stream._cursor).__name__ == "CMySQLCursorRaw"  # the unbuffered raw cursor
    tracemalloc.start()
    total, largest, peak_seen = 0, 0, 0
    for batch in stream.batches():
        total += len(batch)
        largest = max(largest, len(batch))
        peak_seen = max(peak_seen, tracemalloc.get_traced_memory()[1])
        del batch
    tracemalloc.stop()
    stream.close()
    assert total == 200_000 and largest <= 10_000
    # The whole result is ~30 MB as Python objects; a batch is a twentieth of that.
    assert peak_seen < 8 * 1024 * 1024, peak_seen


def test_the_read_runs_in_a_read_only_transaction(dialect: MySQLDialect, target: Any, source: Any) -> None:
    import mysql.connector

    execute(target, "CREATE TABLE ro (a INT)", "INSERT INTO ro VALUES (1)")
    stream = dialect.open_read(source, "SELECT a FROM ro", 10)
    assert [row for batch in stream.batches() for row in batch] == [(1,)]
    cursor = source.cursor()
    with pytest.raises(mysql.connector.Error, match="READ ONLY"):
        cursor.execute("INSERT INTO ro VALUES (2)")
    cursor.close()
    stream.close()
    assert fetch(target, "SELECT COUNT(*) FROM ro") == [(1,)]


def test_closing_mid_stream_ends_the_read_and_frees_the_connection(dialect: MySQLDialect, target: Any,
                                                                   source: Any) -> None:
    dialect.create_table(target, TableName("mid"), [Column("a", P("int32"))])
    load(dialect, target, TableName("mid"), [Column("a", P("int32"))], [(i,) for i in range(5000)])
    stream = dialect.open_read(source, "SELECT a FROM mid", 100)
    assert len(next(iter(stream.batches()))) == 100
    stream.close()
    assert fetch(source, "SELECT COUNT(*) FROM mid") == [(5000,)]


# -- large batches -----------------------------------------------------------------------------------


@pytest.mark.parametrize("use_load_data", [True, False], ids=["load-data", "insert"])
def test_a_wide_200k_row_load_at_batch_size_100k_stays_under_max_allowed_packet(
        dialect: MySQLDialect, target: Any, use_load_data: bool) -> None:
    dialect = MySQLDialect(use_load_data=use_load_data)
    columns = [Column(name, P(kind)) for name, kind in [
        ("id", "int64"), ("n", "int32"), ("amount", "decimal(12,2)"), ("f", "float64"), ("ok", "boolean"),
        ("name", "varchar(100)"), ("note", "text"), ("day", "date"), ("at", "timestamp"), ("blob", "binary")]]
    note = "long text with a tab\t and a newline\n " * 6
    day, at = dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 12, 0, 0, 1)
    rows = [(i, i % 1000, Decimal(i) / 100, i / 3, i % 2 == 0, f"name {i}", note, day, at, b"\x00\xff" * 8)
            for i in range(200_000)]
    # Each 100k-row batch holds well over the server's 16 MB max_allowed_packet.
    assert sum(len(r[6]) for r in rows[:100_000]) > 16 * 1024 * 1024
    table = TableName("wide_load")
    dialect.create_table(target, table, columns)
    load(dialect, target, table, columns, rows, batch=100_000)
    assert dialect.row_count(target, table) == 200_000
    assert fetch(target, "SELECT note, `blob` FROM wide_load WHERE id = 199999") == [(note, b"\x00\xff" * 8)]


# -- column-wise TSV -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "values"), [
    ("int16", [0, -32768, 32767, None, True, Decimal(3)]),
    ("int64", [2**63 - 1, -(2**63), None]),
    ("decimal(12,2)", [Decimal("1.50"), Decimal("-0.01"), Decimal("0E-5"), Decimal("9999999999.99"), None, 7, 1.25]),
    ("decimal", [Decimal("1E+3"), Decimal("-123456.789"), None]),
    ("float32", [0.1, -0.0, 3.0e38, None, 2]),
    ("float64", [1e300, 1 / 3, None]),
    ("boolean", [True, False, None, 1, 0]),
    ("varchar(6)", ["a\tb", "x\\y", "é\n", "\r\x00", "", None, 12]),
    ("json", ['{"a": "\\t"}', None]),
    ("date", [dt.date(2024, 2, 29), None]),
    ("time", [dt.time(12, 0, 1, 5), dt.time(1, tzinfo=dt.timezone.utc), None]),
    ("timestamp", [dt.datetime(2024, 1, 1, 0, 0, 0, 1), dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), None]),
    ("timestamptz", [dt.datetime(2024, 1, 1, 1, tzinfo=dt.timezone.utc), None]),
    ("timestamptz", [dt.datetime(2024, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))), None]),
    ("timestamptz", [dt.datetime(2024, 1, 1, 1), dt.date(2024, 1, 2)]),
    ("uuid", [uuid.UUID(int=5), "00000000-0000-0000-0000-000000000007", None]),
])
def test_column_wise_tsv_is_byte_for_byte_the_per_value_tsv(kind: str, values: list[Any]) -> None:
    from qdbm_desktop.core.dialects.mysql import write as mysql

    columns = [Column("id", P("int32")), Column("val", P(kind))]
    writer = mysql.LoadDataWriter.__new__(mysql.LoadDataWriter)
    writer._columns = columns
    writer._formatters = [mysql.tsv_formatter(c.type) for c in columns]
    writer._checks = [mysql.value_checker(c.type) for c in columns]
    writer._column_formatters = [f for f in map(mysql.column_formatter, (c.type for c in columns)) if f]
    rows = [(i, v) for i, v in enumerate(values)]
    expected = writer._rows_tsv(rows, 1)
    assert writer._format(rows, 1) == expected


def test_a_batch_of_canonical_values_is_formatted_column_wise_and_a_bad_one_named() -> None:
    from qdbm_desktop.core.dialects.mysql import write as mysql

    kinds = ["int16", "int32", "int64", "decimal(12,2)", "float32", "float64", "boolean", "varchar(5)", "text",
             "json", "date", "timestamp", "timestamptz"]
    columns = [Column(f"c{i}", P(k)) for i, k in enumerate(kinds)]
    writer = mysql.LoadDataWriter.__new__(mysql.LoadDataWriter)
    writer._columns = columns
    writer._formatters = [mysql.tsv_formatter(c.type) for c in columns]
    writer._checks = [mysql.value_checker(c.type) for c in columns]
    writer._column_formatters = [f for f in map(mysql.column_formatter, (c.type for c in columns)) if f]
    utc = dt.timezone.utc
    rows: list[tuple[Any, ...]] = [(i, -i, 2**40 + i, Decimal(i) / 100, i / 4, i / 3, i % 2 == 0, "a\tb\\"[:i % 5], "é\n\r\x00",
             "{}", dt.date(2024, 1, 1 + i), dt.datetime(2024, 1, 1, 0, 0, i, i),
             dt.datetime(2024, 1, 1, 0, 0, i, tzinfo=utc)) for i in range(20)]
    rows.append((None,) * len(kinds))
    fast = writer._columns_tsv(rows)
    assert fast is not None and fast == writer._rows_tsv(rows, 1)
    rows[7] = rows[7][:3] + (Decimal("0.001"),) + rows[7][4:]
    assert writer._columns_tsv(rows) is None
    with pytest.raises(ValueRejected, match=r"column 'c3', row 17: .*more than 2 decimal places"):
        writer._format(rows, 10)


@pytest.mark.parametrize(("later_bad", "expected"), [
    (None, r"column 'val', row 15: the server refused the value"),
    ("x" * 9, r"column 'val', row 19: text of 9 characters is longer than varchar\(8\)"),
])
def test_a_batch_loaded_in_chunks_reports_as_one_load(dialect: MySQLDialect, target: Any,
                                                      monkeypatch: pytest.MonkeyPatch, later_bad: str | None,
                                                      expected: str) -> None:
    from qdbm_desktop.core.dialects.mysql import write as mysql

    monkeypatch.setattr(mysql, "CHUNK_ROWS", 3)
    columns = [Column("id", P("int32")), Column("val", P("varchar(8)"))]
    # The table is narrower than the columns say: only the server can refuse "abcdef".
    execute(target, "CREATE TABLE chunked (id INT, val VARCHAR(4))")
    rows = [(i, "abcd") for i in range(10, 20)]
    rows[5] = (15, "abcdef")
    if later_bad is not None:
        rows[9] = (19, later_bad)
    writer = dialect.open_writer(target, TableName("chunked"), columns)
    assert isinstance(writer, mysql.LoadDataWriter)
    with pytest.raises(ValueRejected, match=expected):
        writer.write(rows, 10)
    target.rollback()
    writer.finish()
    # The good chunks alone load in full, in order.
    writer = dialect.open_writer(target, TableName("chunked"), columns)
    writer.write([(i, "ab") for i in range(10)], 1)
    writer.finish()
    target.commit()
    assert fetch(target, "SELECT id FROM chunked ORDER BY id") == [(i,) for i in range(10)]


def test_a_preview_keeps_the_catalog_types_of_every_column_not_only_the_first(
        source: Any, dialect: MySQLDialect) -> None:
    # A preview's sql_select_limit must not cut the information_schema look-up short as well.
    cursor = source.cursor()
    cursor.execute("CREATE TABLE flags (id BIGINT, note LONGTEXT, flag TINYINT(1), amount DECIMAL(12,2))")
    source.commit()
    cursor.close()
    dialect.prepare_preview(source, 1)
    stream = dialect.open_read(source, "SELECT * FROM flags", 10)
    try:
        kinds = {c.name: (c.type.kind, c.source_type) for c in stream.columns}
    finally:
        stream.close()
    assert kinds["flag"] == (Kind.BOOLEAN, "tinyint(1)")
    assert kinds["amount"][1] == "decimal(12,2)"
