"""The SQLite dialect against real SQLite files: names, types both ways, the load modes, streaming."""

from __future__ import annotations

import json
import sqlite3
import threading
import time as clock
import tracemalloc
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from qdbm_desktop.core.demo import DEMO_QUERY, create_demo_database
from qdbm_desktop.core.dialects.base import ConnectParams, LoadMode, TableName
from qdbm_desktop.core.dialects.sqlite import SQLiteDialect, portable_type
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.types import Column, Kind, PortableType, ValueRejected

DIALECT = SQLiteDialect()
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    path = tmp_path / "test.sqlite"
    sqlite3.connect(path).close()
    connection = DIALECT.connect(ConnectParams(path=str(path)), 5)
    yield connection
    connection.close()


def col(name: str, type_text: str, nullable: bool = True) -> Column:
    return Column(name, PortableType.parse(type_text), nullable)


def load(connection: sqlite3.Connection, table: TableName, columns: Sequence[Column],
         rows: Sequence[tuple[Any, ...]], mode: LoadMode = LoadMode.REPLACE, keys: Sequence[str] = (),
         staging_name: str = "qdbm_stg_test") -> TableName:
    """What the pipeline does: staging table, rows, commit, then the final step."""
    staging = TableName(staging_name, table.schema)
    DIALECT.create_table(connection, staging, columns)
    connection.commit()
    writer = DIALECT.open_writer(connection, staging, columns)
    writer.write(rows, 1)
    writer.finish()
    connection.commit()
    assert DIALECT.row_count(connection, staging) == len(rows)
    DIALECT.finalize(connection, mode, table, staging, columns, keys, DIALECT.table_exists(connection, table))
    return staging


def read_all(connection: sqlite3.Connection, query: str, batch_size: int = 100) -> tuple[list[Column], list[Any]]:
    stream = DIALECT.open_read(connection, query, batch_size)
    try:
        rows = [row for batch in stream.batches() for row in batch]
    finally:
        stream.close()
    return stream.columns, rows


def table_rows(connection: sqlite3.Connection, table: str, order: str = "1") -> list[tuple[Any, ...]]:
    return connection.execute(f'SELECT * FROM "{table}" ORDER BY {order}').fetchall()


# -- names -------------------------------------------------------------------------------------------

WEIRD_NAMES = ["order", "select", "Mixed Case", "with space", "naïve 名前 😀", 'quo"te', "it's", "dot.ted"]


def test_quoted_weird_names_work_in_a_real_create_insert_and_select(db: sqlite3.Connection) -> None:
    table = TableName('Order "Lines" 2024')
    columns = [col(name, "int64") for name in WEIRD_NAMES]
    load(db, table, columns, [tuple(range(len(WEIRD_NAMES)))])
    names = ", ".join(DIALECT.quote_identifier(n) for n in WEIRD_NAMES)
    read_columns, rows = read_all(db, f"SELECT {names} FROM {DIALECT.qualified(table)}")
    assert [c.name for c in read_columns] == WEIRD_NAMES
    assert rows == [tuple(range(len(WEIRD_NAMES)))]
    assert DIALECT.quote_identifier('quo"te') == '"quo""te"'


def test_too_long_empty_or_nul_names_are_refused_never_truncated() -> None:
    assert DIALECT.quote_identifier("x" * 1024) == '"' + "x" * 1024 + '"'
    with pytest.raises(UsageError, match="longer than SQLite allows"):
        DIALECT.quote_identifier("x" * 1025)
    with pytest.raises(UsageError, match="longer"):
        DIALECT.quote_identifier("é" * 513)  # 1026 bytes of UTF-8
    with pytest.raises(UsageError, match="empty"):
        DIALECT.quote_identifier("")
    with pytest.raises(UsageError, match="NUL"):
        DIALECT.quote_identifier("a\x00b")


def test_list_tables_matches_the_prefix_literally_in_the_given_schema(db: sqlite3.Connection, tmp_path: Path) -> None:
    for name in ("qdbm_stg_a", "qdbmXstgXb", "QDBM_STG_upper", "other"):
        db.execute(f'CREATE TABLE "{name}" (x)')
    db.execute("ATTACH DATABASE ? AS side", (str(tmp_path / "side.sqlite"),))
    db.execute('CREATE TABLE side."qdbm_stg_side" (x)')
    db.commit()
    assert DIALECT.list_tables(db, None, "qdbm_stg_") == [TableName("qdbm_stg_a")]
    assert DIALECT.list_tables(db, "side", "qdbm_stg_") == [TableName("qdbm_stg_side", "side")]
    assert DIALECT.table_exists(db, TableName("OTHER"))  # SQLite names ignore ASCII case
    assert not DIALECT.table_exists(db, TableName("missing"))
    assert DIALECT.table_exists(db, TableName("qdbm_stg_side", "side"))


# -- types: every kind round-trips -------------------------------------------------------------------

ALL_KINDS = [
    col("i16", "int16"), col("i32", "int32"), col("i64", "int64"),
    col("d38", "decimal(38,10)"), col("d12", "decimal(12,2)"), col("dany", "decimal"),
    col("f32", "float32"), col("f64", "float64"), col("flag", "boolean"),
    col("code", "char(3)"), col("label", "varchar(50)"), col("body", "text"),
    col("blob", "binary"), col("day", "date"), col("clock", "time"),
    col("stamp", "timestamp"), col("instant", "timestamptz"), col("doc", "json"), col("id", "uuid"),
    col("required", "text", nullable=False),
]
JSON_DOC = '{"name": "Zoë 😀", "nested": {"list": [1, 2.5, null, "ü\\u00e9"], "empty": {}}}'
ROUND_TRIP_ROWS: list[tuple[Any, ...]] = [
    (-(2**15), -(2**31), -(2**63), Decimal("1234567890123456789012345678.1234567891"), Decimal("9999999999.99"),
     Decimal("3.14159265358979323846264338327950288419716939937510"), 1.5, 1e308, False,
     "abc", "😀🎉 4-byte emoji", "e\u0301 combining, tab\there\nnew line 'single' \"double\" back\\slash",
     b"\x00\x01\x00\xff", date(1900, 1, 1), time(0, 0), datetime(1900, 1, 1, 0, 0, 0, 1),
     datetime(2024, 3, 31, 3, 0, 0, 1, tzinfo=BERLIN), JSON_DOC, uuid.UUID("12345678-1234-5678-1234-567812345678"),
     ""),
    (2**15 - 1, 2**31 - 1, 2**63 - 1, Decimal("-0.0000000001"), Decimal("-0.01"), Decimal("-1E+30"),
     -3.25, 5e-324, True, "x", "", "NUL \x00 inside", b"", date(2199, 12, 31), time(23, 59, 59, 999999),
     datetime(2199, 12, 31, 23, 59, 59, 999999), datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=BERLIN), "123",
     uuid.UUID(int=0), "required"),
    (None,) * (len(ALL_KINDS) - 1) + ("",),
    (0, 0, 0, Decimal("0E-10"), Decimal("0.00"), Decimal("0"), float("inf"), float("-inf"), None,
     None, None, None, None, None, None, None, datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
     "[]", None, "z"),
]


def test_every_portable_kind_round_trips_exactly_with_nulls_and_extremes(db: sqlite3.Connection) -> None:
    table = TableName("all kinds")
    load(db, table, ALL_KINDS, ROUND_TRIP_ROWS)
    columns, rows = read_all(db, f"SELECT * FROM {DIALECT.qualified(table)} ORDER BY rowid", batch_size=3)
    assert [(c.name, c.type) for c in columns] == [(c.name, c.type) for c in ALL_KINDS]
    assert len(rows) == len(ROUND_TRIP_ROWS)
    for got, want in zip(rows, ROUND_TRIP_ROWS, strict=True):
        for column, g, w in zip(ALL_KINDS, got, want, strict=True):
            if column.type.kind is Kind.JSON and w is not None:
                assert json.loads(g) == json.loads(w)
                continue
            if isinstance(w, datetime) and w.tzinfo is not None:
                # As instants: Python never calls an ambiguous (fold=1) time equal across zones.
                assert g.tzinfo is not None and g.astimezone(timezone.utc) == w.astimezone(timezone.utc)
                continue
            assert g == w, column.name
            assert type(g) is type(w), column.name  # Decimal stays Decimal, bool stays bool ...
            if isinstance(w, Decimal):
                assert str(g) == str(w) or g.as_tuple().exponent == -(column.type.scale or 0)


def test_exact_decimals_are_stored_as_text_not_rounded_through_a_float(db: sqlite3.Connection) -> None:
    columns = [col("amount", "decimal(38,10)"), col("doc", "json")]
    load(db, TableName("money"), columns, [(Decimal("1234567890123456789012345678.1234567891"), "123")])
    assert db.execute("SELECT amount, typeof(amount), doc, typeof(doc) FROM money").fetchone() == (
        "1234567890123456789012345678.1234567891", "text", "123", "text")


def test_writer_stores_timestamps_as_iso_text_and_timestamptz_as_utc(db: sqlite3.Connection) -> None:
    columns = [col("stamp", "timestamp"), col("instant", "timestamptz"), col("day", "date"), col("clock", "time")]
    aware = datetime(2024, 3, 31, 3, 0, 0, 5, tzinfo=BERLIN)
    load(db, TableName("times"), columns, [(aware, aware, date(2024, 2, 29), time(12, 0))])
    assert db.execute("SELECT stamp, instant, day, clock, typeof(stamp) FROM times").fetchone() == (
        "2024-03-31 01:00:00.000005", "2024-03-31 01:00:00.000005+00:00", "2024-02-29", "12:00:00.000000", "text")


def test_declared_sqlite_types_map_to_portable_types() -> None:
    expected = {
        "INTEGER": "int64", "int": "int64", "BIGINT": "int64", "SMALLINT": "int16", "INT4": "int32",
        "DECIMAL(12,2)": "decimal(12,2)", "numeric(10)": "decimal(10,0)", "NUMERIC": "decimal",
        "DECIMAL_TEXT(38,10)": "decimal(38,10)", "REAL": "float64", "DOUBLE PRECISION": "float64",
        "FLOAT": "float64", "FLOAT4": "float32", "BOOLEAN": "boolean", "CHAR(2)": "char(2)",
        "VARCHAR(100)": "varchar(100)", "NVARCHAR(20)": "varchar(20)", "TEXT": "text", "CLOB": "text",
        "BLOB": "binary", "DATE": "date", "TIME": "time", "TIMESTAMP": "timestamp", "DATETIME": "timestamp",
        "TIMESTAMP WITH TIME ZONE": "timestamptz", "timestamptz": "timestamptz", "JSON": "json",
        "JSON_TEXT": "json", "UUID": "uuid", "UUID_TEXT": "uuid",
        # Unknown names follow SQLite's affinity rules.
        "POINT": "int64", "VARYING STUFF CHAR": "text", "MY_BLOB": "binary", "DOUBLEISH": "float64",
        "MONEY": "decimal",
    }
    assert {k: str(portable_type(k)) for k in expected} == expected
    assert portable_type("") is None


def test_every_written_type_has_the_affinity_that_keeps_its_values() -> None:
    affinity = {"decimal(38,10)": "TEXT", "json": "TEXT", "uuid": "TEXT", "timestamptz": "NUMERIC",
                "int64": "INTEGER", "float64": "REAL", "binary": "BLOB"}
    for text, want in affinity.items():
        native = DIALECT.native_type(PortableType.parse(text)).upper()
        got = ("INTEGER" if "INT" in native else "TEXT" if any(s in native for s in ("CHAR", "CLOB", "TEXT"))
               else "BLOB" if "BLOB" in native else "REAL" if any(s in native for s in ("REAL", "FLOA", "DOUB"))
               else "NUMERIC")
        assert got == want, (text, native)
    for kind in Kind:
        assert portable_type(DIALECT.native_type(PortableType(kind))) == PortableType(kind)
    assert DIALECT.native_type(PortableType(Kind.DECIMAL)) == "DECIMAL_TEXT"


# -- reading -----------------------------------------------------------------------------------------


def test_demo_query_reads_with_declared_types_and_canonical_values(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite"
    create_demo_database(path)
    connection = DIALECT.connect(ConnectParams(path=str(path)), 5)
    try:
        columns, rows = read_all(connection, DEMO_QUERY, batch_size=500)
    finally:
        connection.close()
    types = {c.name: str(c.type) for c in columns}
    assert types == {"order_id": "int64", "customer": "varchar(100)", "country": "char(2)",
                     "ordered_at": "timestamp", "paid_at": "timestamptz", "status": "varchar(20)",
                     "total": "decimal(12,2)"}
    assert {c.name: c.source_type for c in columns}["paid_at"] == "TIMESTAMP WITH TIME ZONE"
    assert len(rows) == 3000
    for order_id, _, _, ordered_at, paid_at, _, total in rows:
        assert isinstance(order_id, int)
        assert isinstance(ordered_at, datetime) and ordered_at.tzinfo is None
        assert paid_at is None or (isinstance(paid_at, datetime) and paid_at.tzinfo is not None)
        assert isinstance(total, Decimal) and total.as_tuple().exponent == -2


def test_query_columns_without_declared_type_take_their_kind_from_the_first_batch(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE t (n INTEGER NOT NULL, price DECIMAL(10,2), name TEXT)")
    db.executemany("INSERT INTO t VALUES (?, ?, ?)", [(1, "1.10", "a"), (2, "2.5", "b")])
    db.commit()
    columns, rows = read_all(db, "SELECT n, price, count(*) OVER () AS c, avg(n) OVER () AS a, name || '!' AS s, "
                                 "NULL AS empty, x'00ff' AS raw, CASE n WHEN 1 THEN 1 ELSE 2.5 END AS mixed "
                                 "FROM t ORDER BY n")
    assert [(c.name, str(c.type), c.source_type) for c in columns] == [
        ("n", "int64", "INTEGER"), ("price", "decimal(10,2)", "DECIMAL(10,2)"),
        ("c", "int64", "INTEGER (inferred)"), ("a", "float64", "REAL (inferred)"), ("s", "text", "TEXT (inferred)"),
        ("empty", "text", "NULL (inferred)"), ("raw", "binary", "BLOB (inferred)"),
        ("mixed", "float64", "INTEGER/REAL (inferred)")]
    assert rows == [(1, Decimal("1.10"), 2, 1.5, "a!", None, b"\x00\xff", 1.0),
                    (2, Decimal("2.50"), 2, 1.5, "b!", None, b"\x00\xff", 2.5)]


def test_reader_converts_what_other_programs_store_in_sqlite(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE t (price DECIMAL(10,2), plain NUMERIC, flag BOOLEAN, id UUID, stamp DATETIME, "
               "instant TIMESTAMPTZ, day DATE, clock TIME, doc JSON, n SMALLINT)")
    value = uuid.uuid4()
    db.execute("INSERT INTO t VALUES (0.1 + 0.2, 7, 1, ?, '2024-05-06T07:08:09.5', '2024-05-06 07:08', "
               "'2024-05-06', '07:08', '{\"a\": 1}', 12)", (value.bytes,))
    db.execute("INSERT INTO t VALUES (12, 0.5, 0, ?, '2024-05-06 07:08:09+02:00', '2024-05-06T07:08:09.123Z', "
               "NULL, '07:08:09.25', '123', -3)", (str(value).upper(),))
    db.commit()
    _, rows = read_all(db, "SELECT * FROM t ORDER BY rowid")
    assert rows == [
        (Decimal("0.30"), Decimal("7"), True, value, datetime(2024, 5, 6, 7, 8, 9, 500000),
         datetime(2024, 5, 6, 7, 8, tzinfo=timezone.utc), date(2024, 5, 6), time(7, 8), '{"a": 1}', 12),
        (Decimal("12.00"), Decimal("0.5"), False, value, datetime(2024, 5, 6, 5, 8, 9),
         datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=timezone.utc), None, time(7, 8, 9, 250000), "123", -3),
    ]
    assert isinstance(rows[0][2], bool) and rows[1][8] == "123"


@pytest.mark.parametrize(("declared", "stored", "why"), [
    ("DATE", "abc", "is not an ISO date"),
    ("TIMESTAMP", "2024-13-01 00:00:00", "month must be in 1..12"),
    ("TIMESTAMPTZ", "yesterday", "is not an ISO date and time"),
    ("DECIMAL(10,2)", "1.005x", "is not a decimal number"),
    ("DECIMAL_TEXT(10,2)", "1.005", "has more than 2 decimal places"),
    ("BOOLEAN", 2, "is not a boolean"),
    ("SMALLINT", 40000, "out of range for int16"),
    ("UUID", "not-a-uuid", "badly formed"),
    ("INTEGER", "twelve", "is not an integer"),
    ("TIMESTAMP", "2024-01-01 00:00:00.1234567", "finer than microseconds"),
])
def test_a_stored_value_that_is_not_its_declared_type_is_rejected_with_column_and_row(
        db: sqlite3.Connection, declared: str, stored: Any, why: str) -> None:
    db.execute(f"CREATE TABLE t (good INTEGER, bad {declared})")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(1, None), (2, None), (3, stored)])
    db.commit()
    stream = DIALECT.open_read(db, "SELECT good, bad AS \"the col\" FROM t ORDER BY good", 2)
    try:
        with pytest.raises(ValueRejected, match=rf"column 'the col', row 3: .*{why}"):
            for _ in stream.batches():
                pass
    finally:
        stream.close()


def test_streaming_200k_rows_yields_bounded_batches_and_never_holds_the_whole_result(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE big (id INTEGER, name TEXT, amount DECIMAL(12,2))")
    db.executemany("INSERT INTO big VALUES (?, ?, ?)",
                   ((i, f"name number {i} with some padding", f"{i}.25") for i in range(200_000)))
    db.commit()
    tracemalloc.start()
    try:
        stream = DIALECT.open_read(db, "SELECT * FROM big", 1000)
        sizes, total = [], 0
        for batch in stream.batches():
            sizes.append(len(batch))
            total += len(batch)
        stream.close()
        _, streaming_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        whole = db.execute("SELECT * FROM big").fetchall()
        _, whole_peak = tracemalloc.get_traced_memory()
        del whole
    finally:
        tracemalloc.stop()
    assert total == 200_000
    assert max(sizes) == 1000 and len(sizes) == 200
    assert streaming_peak < whole_peak / 20, (streaming_peak, whole_peak)


def test_the_read_runs_query_only_so_a_data_modifying_statement_fails(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE t (x INTEGER)")
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        DIALECT.open_read(db, "DELETE FROM t RETURNING x", 10)
    stream = DIALECT.open_read(db, "SELECT x FROM t", 10)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("INSERT INTO t VALUES (2)")
    stream.close()
    db.execute("INSERT INTO t VALUES (3)")  # query_only is off again
    db.commit()
    assert table_rows(db, "t") == [(1,), (3,)]


def test_closing_the_stream_from_another_thread_interrupts_a_long_fetch(db: sqlite3.Connection) -> None:
    # Two rows at once (sqlite3 steps one row ahead), then a scan that never ends: the reader sits in fetchmany.
    endless = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
               "SELECT x FROM c WHERE x <= 2 OR x < 0")
    stream = DIALECT.open_read(db, endless, 1)
    got: list[Any] = []
    reader = threading.Thread(target=lambda: got.extend(stream.batches()), daemon=True)
    reader.start()
    clock.sleep(0.3)
    assert reader.is_alive()
    started = clock.monotonic()
    stream.close()
    reader.join(5)
    assert not reader.is_alive() and clock.monotonic() - started < 2
    assert got == [[(1,)]]
    assert db.execute("PRAGMA query_only").fetchone() == (0,)
    assert db.execute("SELECT 42").fetchone() == (42,)  # the interrupt does not linger


def test_closing_a_stream_after_its_connection_closed_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    sqlite3.connect(path).close()
    connection = DIALECT.connect(ConnectParams(path=str(path)), 5)
    stream = DIALECT.open_read(connection, "SELECT 1 AS one", 10)
    assert [c.name for c in stream.columns] == ["one"]
    connection.close()
    stream.close()


# -- writing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("column", "value", "why"), [
    (col("f", "float64"), float("nan"), "NaN cannot be stored"),
    (col("f", "float32"), float("nan"), "NaN cannot be stored"),
    (col("d", "decimal(12,2)"), Decimal("1.005"), "more than 2 decimal places"),
    (col("d", "decimal(5,2)"), Decimal("1000.00"), "out of range for decimal"),
    (col("d", "decimal"), Decimal("NaN"), "cannot be stored in an exact decimal"),
    (col("i", "int16"), 2**15, "out of range for int16"),
    (col("i", "int64"), 2**63, "out of range for int64"),
    (col("i", "int64", nullable=False), None, "NULL in a NOT NULL column"),
    (col("t", "text"), "bad \ud800 surrogate", "not valid Unicode"),
    (col("c", "time"), time(1, 0, tzinfo=timezone.utc), "has a time zone"),
])
def test_a_value_the_target_cannot_hold_is_rejected_naming_column_and_row(
        db: sqlite3.Connection, column: Column, value: Any, why: str) -> None:
    table = TableName("qdbm_stg_reject")
    DIALECT.create_table(db, table, [col("n", "int64"), column])
    writer = DIALECT.open_writer(db, table, [col("n", "int64"), column])
    with pytest.raises(ValueRejected, match=rf"column '{column.name}', row 12: .*{why}"):
        writer.write([(1, None if column.nullable else 0), (2, value)], 11)
    db.rollback()
    assert not DIALECT.table_exists(db, table)  # the DDL was in the same, rolled back, transaction


def test_infinities_are_stored_and_read_back(db: sqlite3.Connection) -> None:
    load(db, TableName("inf"), [col("f", "float64")], [(float("inf"),), (float("-inf"),)])
    assert [r[0] for r in read_all(db, "SELECT f FROM inf ORDER BY rowid")[1]] == [float("inf"), float("-inf")]


def test_create_table_keeps_not_null_and_the_primary_key(db: sqlite3.Connection) -> None:
    sql = DIALECT.create_table_sql(TableName("t", "main"), [col("id", "int64", False), col("v", "varchar(5)")],
                                   primary_key=["id"])
    assert sql == 'CREATE TABLE "main"."t" (\n    "id" BIGINT NOT NULL,\n    "v" VARCHAR(5),\n    PRIMARY KEY ("id")\n)'
    db.execute(sql)
    assert [(c.name, str(c.type), c.nullable, c.source_type) for c in DIALECT.table_columns(db, TableName("t"))] == [
        ("id", "int64", False, "BIGINT"), ("v", "varchar(5)", True, "VARCHAR(5)")]
    with pytest.raises(UsageError, match="does not exist"):
        DIALECT.table_columns(db, TableName("nope"))


def test_staging_rows_are_part_of_the_callers_transaction_until_it_commits(db: sqlite3.Connection) -> None:
    table = TableName("qdbm_stg_tx")
    DIALECT.create_table(db, table, [col("x", "int64")])
    db.commit()
    writer = DIALECT.open_writer(db, table, [col("x", "int64")])
    writer.write([(1,), (2,)], 1)
    db.rollback()
    assert DIALECT.row_count(db, table) == 0
    DIALECT.drop_table(db, table)
    db.rollback()
    assert DIALECT.table_exists(db, table)
    DIALECT.drop_table(db, table)
    db.commit()
    assert not DIALECT.table_exists(db, table)


# -- the final step ----------------------------------------------------------------------------------

KEYED = [col("id", "int64", False), col("name", "text")]


def make_target(db: sqlite3.Connection, ddl: str = 'CREATE TABLE target (id INTEGER PRIMARY KEY, name TEXT)') -> None:
    db.execute(ddl)
    db.executemany("INSERT INTO target (id, name) VALUES (?, ?)", [(1, "one"), (2, "two")])
    db.execute("CREATE VIEW target_names AS SELECT name FROM target")
    db.commit()


def test_append_adds_the_rows_and_drops_the_staging_table(db: sqlite3.Connection) -> None:
    make_target(db)
    staging = load(db, TableName("target"), KEYED, [(3, "three")], LoadMode.APPEND)
    assert table_rows(db, "target") == [(1, "one"), (2, "two"), (3, "three")]
    assert not DIALECT.table_exists(db, staging)
    assert not db.in_transaction  # committed


def test_append_into_a_missing_table_creates_it(db: sqlite3.Connection) -> None:
    load(db, TableName("fresh"), KEYED, [(1, "a")], LoadMode.APPEND)
    assert table_rows(db, "fresh") == [(1, "a")]


def test_truncate_replaces_the_rows_and_keeps_the_table_and_its_index(db: sqlite3.Connection) -> None:
    make_target(db)
    db.execute("CREATE INDEX target_name ON target (name)")
    db.commit()
    load(db, TableName("target"), KEYED, [(7, "seven")], LoadMode.TRUNCATE)
    assert table_rows(db, "target") == [(7, "seven")]
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'target_name'").fetchone() == (1,)


def test_replace_recreates_the_table_with_the_new_columns_even_under_a_view(db: sqlite3.Connection) -> None:
    make_target(db)
    columns = [col("id", "int64"), col("name", "text"), col("extra", "decimal(5,1)")]
    load(db, TableName("target"), columns, [(9, "nine", Decimal("1.5"))], LoadMode.REPLACE)
    assert table_rows(db, "target") == [(9, "nine", "1.5")]
    assert [c.source_type for c in DIALECT.table_columns(db, TableName("target"))] == ["BIGINT", "TEXT",
                                                                                      "DECIMAL_TEXT(5,1)"]
    assert db.execute("SELECT * FROM target_names").fetchall() == [("nine",)]  # the view sees the new table


def test_create_makes_the_table_and_fails_clearly_when_it_exists(db: sqlite3.Connection) -> None:
    load(db, TableName("made"), KEYED, [(1, "a")], LoadMode.CREATE)
    assert table_rows(db, "made") == [(1, "a")]
    with pytest.raises(UsageError, match="already exists"):
        load(db, TableName("made"), KEYED, [(2, "b")], LoadMode.CREATE, staging_name="qdbm_stg_2")
    assert table_rows(db, "made") == [(1, "a")]
    assert DIALECT.table_exists(db, TableName("qdbm_stg_2"))  # kept after an error, for the pipeline to drop
    assert not db.in_transaction


def test_upsert_updates_existing_keys_and_inserts_new_ones(db: sqlite3.Connection) -> None:
    make_target(db)
    load(db, TableName("target"), KEYED, [(2, "TWO"), (3, "three")], LoadMode.UPSERT, keys=["id"])
    assert table_rows(db, "target") == [(1, "one"), (2, "TWO"), (3, "three")]


def test_upsert_into_a_new_table_gives_it_a_unique_key_for_the_next_upsert(db: sqlite3.Connection) -> None:
    load(db, TableName("fresh"), KEYED, [(1, "one")], LoadMode.UPSERT, keys=["id"])
    load(db, TableName("fresh"), KEYED, [(1, "ONE"), (2, "two")], LoadMode.UPSERT, keys=["id"])
    assert table_rows(db, "fresh") == [(1, "ONE"), (2, "two")]


def test_upsert_works_with_a_unique_index_on_several_columns(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE target (a TEXT, b INTEGER, v TEXT)")
    db.execute("CREATE UNIQUE INDEX target_ab ON target (b, a)")
    db.execute("INSERT INTO target VALUES ('x', 1, 'old')")
    db.commit()
    columns = [col("a", "text"), col("b", "int64"), col("v", "text")]
    load(db, TableName("target"), columns, [("x", 1, "new"), ("y", 1, "other")], LoadMode.UPSERT, keys=["a", "b"])
    assert table_rows(db, "target", "a") == [("x", 1, "new"), ("y", 1, "other")]


def test_upsert_without_a_unique_key_fails_clearly_and_leaves_the_target_unchanged(db: sqlite3.Connection) -> None:
    make_target(db, "CREATE TABLE target (id INTEGER, name TEXT)")
    with pytest.raises(UsageError, match=r"needs a primary key or unique index on exactly \(name\)"):
        load(db, TableName("target"), KEYED, [(2, "TWO")], LoadMode.UPSERT, keys=["name"])
    assert table_rows(db, "target") == [(1, "one"), (2, "two")]
    assert not db.in_transaction


def test_a_failing_final_step_leaves_the_target_exactly_as_it_was(db: sqlite3.Connection) -> None:
    # A STRICT table refuses text in an INTEGER column: the type clash shows only in the final INSERT,
    # after the truncate's DELETE ran, which must be undone with it.
    make_target(db, "CREATE TABLE target (id INTEGER PRIMARY KEY, name TEXT) STRICT")
    clashing = [col("id", "text", False), col("name", "text")]
    for mode in (LoadMode.APPEND, LoadMode.TRUNCATE, LoadMode.UPSERT):
        with pytest.raises(sqlite3.IntegrityError, match="datatype mismatch|cannot store TEXT"):
            load(db, TableName("target"), clashing, [("3", "x"), ("not a number", "y")], mode,
                 keys=["id"] if mode is LoadMode.UPSERT else (), staging_name=f"qdbm_stg_{mode.value}")
        assert table_rows(db, "target") == [(1, "one"), (2, "two")], mode
        assert DIALECT.table_exists(db, TableName(f"qdbm_stg_{mode.value}"))
        assert not db.in_transaction


def test_the_final_step_inside_an_open_transaction_undoes_only_itself_on_error(db: sqlite3.Connection) -> None:
    make_target(db)
    staging = TableName("qdbm_stg_b")
    DIALECT.create_table(db, staging, KEYED)
    DIALECT.open_writer(db, staging, KEYED).write([(1, "duplicate key")], 1)
    assert db.in_transaction  # the caller has not committed the staging rows yet
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        DIALECT.finalize(db, LoadMode.APPEND, TableName("target"), staging, KEYED, (), True)
    assert table_rows(db, "target") == [(1, "one"), (2, "two")]
    assert DIALECT.row_count(db, staging) == 1  # the caller's own work is still there to commit or roll back
    db.rollback()
    assert not DIALECT.table_exists(db, staging)


#: Per declared type: values in the writer's own form, in other accepted forms, and refused ones.
_ODD_VALUES: dict[str, list[Any]] = {
    "SMALLINT": [0, 1, -32768, 32767, 40000, -40000, 2.0, 2.5, " 7 ", "x"],
    "INT4": [0, 2**31 - 1, -(2**31), 2**31, 3.0, "12"],
    "BOOLEAN": [0, 1, 0.0, 1.0, -0.0, 2, float("nan"), "true", " N ", "maybe"],
    "DATE": ["2024-05-06", "2024-02-30", "2024-5-06", " 2024-05-06", "20240506", "2024-W01-1",
             "\u0662\u0660\u0662\u0664-05-06", 5],
    "TIMESTAMP": ["2024-05-06 07:08:09.123456", "2024-05-06T07:08:09.123456", "2024-05-06 07:08:09",
                  "2024-05-06 07:08:09+02:00", "2024-13-06 07:08:09.123456", "2024-05-06 07:08:09.1234+1", 1.5],
    "TIMESTAMPTZ": ["2024-05-06 07:08:09.123456+00:00", "2024-05-06T07:08:09.123456-05:30",
                    "2024-05-06 07:08:09.123456", "2024-05-06 07:08Z", "2024-05-06 07:08:09.123456+25:00"],
    "DECIMAL_TEXT(10,2)": ["1.50", "1.5", " 2.25 ", "1_000.00", "1.005", "1.000", "NaN", "-Infinity",
                           "1e2", "\u0661.50", 3, 2.5, "x"],
    "DECIMAL_TEXT": ["1.50", "1E+5", "NaN", "snan", 3],
    "DECIMAL_TEXT(10,3)": ["1.500", "1.5_0", "1.5_00", "1.50", " 1.500", "1.5e0", "12", "-.125", "\u0661.500"],
    "DECIMAL_TEXT(10,0)": ["5", "5.", "5.0", "1e2", "1_0", " 7 ", "-0", "5.5"],
}


@pytest.mark.parametrize("declared", sorted(_ODD_VALUES))
def test_column_wise_conversion_gives_what_the_row_by_row_one_gives(db: sqlite3.Connection, declared: str) -> None:
    db.execute(f"CREATE TABLE t (k INTEGER, v {declared}, w {declared})")
    values = _ODD_VALUES[declared]
    for value in values:
        db.execute("DELETE FROM t")
        # The value among many of the writer's own form (and NULLs), in both columns at other rows.
        good = values[0]
        rows = [(n, good if n % 3 else None, value if n == 7 else good) for n in range(10)]
        rows.append((10, value, good))
        db.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
        stream = DIALECT.open_read(db, "SELECT * FROM t ORDER BY k", 100)
        try:
            fetched = db.execute("SELECT * FROM t ORDER BY k").fetchall()
            expected: Any
            try:
                expected = stream._convert_rows(fetched, 0)  # type: ignore[attr-defined]
            except ValueRejected as exc:
                expected = str(exc)
            try:
                got: Any = stream._convert(fetched, 0)  # type: ignore[attr-defined]
            except ValueRejected as exc:
                got = str(exc)
        finally:
            stream.close()
        assert repr(got) == repr(expected), value


_BERLIN_SUMMER = datetime(2024, 7, 1, 14, 0, 0, 250000, tzinfo=BERLIN)


@pytest.mark.parametrize(("type_text", "values"), [
    ("decimal(6,2)", [Decimal("1.50"), Decimal("-9999.99"), Decimal("1.5"), Decimal("0E-7"), Decimal("1.000")]),
    ("decimal(6,2)", [Decimal("1.50"), Decimal("10000")]),
    ("decimal(6,2)", [Decimal("1.50"), Decimal("-1E+4")]),
    ("decimal(6,2)", [Decimal("1.50"), Decimal("1.005")]),
    ("decimal(6,2)", [Decimal("1.50"), Decimal("NaN")]),
    ("decimal(6,2)", [Decimal("1.50"), Decimal("-Infinity")]),
    ("decimal(6,2)", [Decimal("1.50"), 7]),
    ("decimal(2,2)", [Decimal("0.99"), Decimal("-0.5"), Decimal("1.00")]),
    ("decimal", [Decimal("1E+5"), Decimal("-0.000001"), 3]),
    ("decimal", [Decimal("1"), Decimal("sNaN")]),
    ("timestamp", [datetime(2024, 1, 1), datetime(2024, 1, 1, 2, 3, 4, 5)]),
    ("timestamp", [datetime(2024, 1, 1), _BERLIN_SUMMER]),
    ("timestamp", [datetime(2024, 1, 1), date(2024, 1, 1)]),
    ("timestamptz", [datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC"))]),
    ("timestamptz", [datetime(2024, 1, 1, tzinfo=timezone.utc), _BERLIN_SUMMER]),
    ("timestamptz", [datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 1)]),
    ("timestamptz", [datetime(2024, 1, 1, tzinfo=timezone.utc), "2024-01-01"]),
    ("date", [date(2024, 1, 1), date(1, 1, 1)]),
    ("date", [date(2024, 1, 1), "2024-01-01"]),
    ("int16", [1, -32768, 32767, True]),
    ("int16", [1, 32768]),
    ("int32", [1, -(2**31) - 1]),
    ("int32", [1, 2.5]),
    ("float64", [1.0, 0.0, float("inf"), 3]),
    ("float64", [1.0, float("nan")]),
])
def test_column_wise_writing_stores_and_refuses_what_row_by_row_writing_does(
        db: sqlite3.Connection, type_text: str, values: list[Any]) -> None:
    columns = [col("k", "int64"), col("v", type_text), col("w", type_text)]
    # Each value among NULLs and the column's first value, in both columns at different rows.
    rows = [(n, values[0] if n % 3 else None, values[n % len(values)]) for n in range(12)]
    rows += [(100 + n, value, values[0]) for n, value in enumerate(values)]

    def stored(by_columns: bool) -> Any:
        table = TableName(f"t_{by_columns}")
        DIALECT.create_table(db, table, columns)
        writer: Any = DIALECT.open_writer(db, table, columns)
        if not by_columns:  # the row-by-row conversion alone
            writer._convert_columns = lambda rows, first: writer._convert(rows, first, writer._converters)
        try:
            writer.write(rows, 1)
        except ValueRejected as exc:
            return str(exc)
        return [tuple(map(repr, row)) for row in db.execute(f"SELECT * FROM {table.name} ORDER BY k")]

    assert stored(True) == stored(False)
