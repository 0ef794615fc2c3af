"""The shared value checks (types.VALUE_CHECKS) with each engine's limits, and the shared fetchmany
read stream: no server needed."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from qdbm_desktop.core.dialects.fetch import FetchStream
from qdbm_desktop.core.dialects.mysql import write as mysql
from qdbm_desktop.core.dialects.oracle import OracleDialect
from qdbm_desktop.core.dialects.oracle import write as oracle
from qdbm_desktop.core.dialects.sqlserver import SQLServerDialect
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.types import (
    FLOAT32_MAX,
    VALUE_CHECKS,
    Column,
    Kind,
    PortableType,
    TargetLimits,
    ValueRejected,
    as_float32,
    value_check,
)

P = PortableType.parse
MYSQL = mysql.LIMITS
ORACLE = oracle.LIMITS
ORACLE_NUMERIC_BOOLEAN = oracle.LIMITS_NUMERIC_BOOLEAN
SQLSERVER = SQLServerDialect().limits()
ENGINES = {"mysql": MYSQL, "oracle": ORACLE, "sqlserver": SQLSERVER}


def refusal(ptype: str, limits: TargetLimits, value: Any) -> str:
    with pytest.raises(ValueError) as caught:
        value_check(P(ptype), limits)(value)
    return str(caught.value)


def test_every_kind_but_time_has_a_check() -> None:
    # Each engine sends a time of day in a form of its own (MySQL TIME, Oracle's interval, SQL Server's text).
    assert set(VALUE_CHECKS) == set(Kind) - {Kind.TIME}
    with pytest.raises(UsageError, match="time values cannot be checked for Oracle"):
        value_check(P("time"), ORACLE)


# -- integers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("kind", "low", "high"), [
    ("int16", -(2**15), 2**15 - 1), ("int32", -(2**31), 2**31 - 1), ("int64", -(2**63), 2**63 - 1)])
def test_integers_hold_their_kinds_range_on_every_engine(engine: str, kind: str, low: int, high: int) -> None:
    check = value_check(P(kind), ENGINES[engine])
    assert check(low) == low and check(high) == high
    assert check(Decimal("12")) == 12 and check(12.0) == 12 and check("12") == 12
    assert "out of range" in refusal(kind, ENGINES[engine], high + 1)
    assert "out of range" in refusal(kind, ENGINES[engine], low - 1)
    assert "not a whole number" in refusal(kind, ENGINES[engine], 1.5)


def test_integer_refusals_name_the_engines_type() -> None:
    assert refusal("int16", SQLSERVER, 40000) == "40000 is out of range for smallint"
    assert refusal("int16", ORACLE, 40000) == "40000 is out of range for int16"
    assert refusal("int16", MYSQL, 40000) == "40000 is out of range for int16"


# -- decimals -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_decimals_fit_their_precision_and_scale_or_are_refused(engine: str) -> None:
    limits = ENGINES[engine]
    check = value_check(P("decimal(5,2)"), limits)
    assert check(Decimal("999.99")) == Decimal("999.99")
    assert check(Decimal("1.50")) == Decimal("1.50")  # trailing zeros past the scale are harmless
    assert check(Decimal("1.500")) == Decimal("1.500")
    assert check(3) == Decimal(3) and check(0.25) == Decimal("0.25") and check("1.5") == Decimal("1.5")
    assert "more than 2 decimal places" in refusal("decimal(5,2)", limits, Decimal("1.234"))
    assert "does not fit" in refusal("decimal(5,2)", limits, Decimal("1000"))
    assert "is not a number" in refusal("decimal(5,2)", limits, "abc")
    for bad in (float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity")):
        assert "NaN or Infinity" in refusal("decimal(5,2)", limits, bad)


def test_a_decimal_without_precision_gets_each_engines_widest() -> None:
    # MySQL: DECIMAL(65,30); SQL Server: decimal(38,10); Oracle: NUMBER, 38 significant digits.
    assert value_check(P("decimal"), MYSQL)(Decimal("1." + "1" * 30)) == Decimal("1." + "1" * 30)
    assert "more than 30 decimal places" in refusal("decimal", MYSQL, Decimal("1." + "1" * 31))
    assert "more than 10 decimal places" in refusal("decimal", SQLSERVER, Decimal("1." + "1" * 11))
    assert "does not fit" in refusal("decimal", SQLSERVER, Decimal(10) ** 28)
    oracle_check = value_check(P("decimal"), ORACLE)
    assert oracle_check(Decimal("1" * 38)) == Decimal("1" * 38)
    assert oracle_check(Decimal("1" * 38 + "000")) == Decimal("1" * 38 + "000")  # zeros are not digits kept
    assert refusal("decimal", ORACLE, Decimal("1" * 39)).endswith("has 39 significant digits; NUMBER keeps 38")
    assert "out of NUMBER's range" in refusal("decimal", ORACLE, Decimal("1e126"))
    assert "out of NUMBER's range" in refusal("decimal", ORACLE, Decimal("1e-131"))
    assert oracle_check(Decimal("9.9e125")) == Decimal("9.9e125")


def test_decimals_wider_than_the_engine_are_refused_when_the_check_is_made() -> None:
    with pytest.raises(UsageError, match="65 digits"):
        value_check(P("decimal(66,0)"), MYSQL)
    with pytest.raises(UsageError, match="precision 38"):
        value_check(P("decimal(39,0)"), SQLSERVER)


# -- floats ---------------------------------------------------------------------------------------------


def test_as_float32_rounds_to_the_nearest_float32() -> None:
    assert as_float32(1.2345678) == 1.2345677614212036
    assert as_float32(16777217.0) == 16777216.0
    assert as_float32(3.4028235e38) == FLOAT32_MAX
    assert as_float32(2.0**-149) == 2.0**-149 and as_float32(2.0**-151) == 0.0
    with pytest.raises(OverflowError):
        as_float32(3.5e38)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_largest_float32_is_taken_however_it_is_written(engine: str) -> None:
    check = value_check(P("float32"), ENGINES[engine])
    for written in (FLOAT32_MAX, 3.4028235e38, 3.40282356e38):
        assert check(written) == FLOAT32_MAX and check(-written) == -FLOAT32_MAX
    assert check(1.2345678) == 1.2345677614212036  # sent as the engine stores it
    name = {"mysql": "FLOAT", "oracle": "BINARY_FLOAT", "sqlserver": "real"}[engine]
    assert refusal("float32", ENGINES[engine], 3.5e38) == f"3.5e+38 is out of range for {name}"
    assert refusal("float32", ENGINES[engine], 1e300).endswith(f"out of range for {name}")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_float64_is_sent_as_it_is(engine: str) -> None:
    check = value_check(P("float64"), ENGINES[engine])
    assert check(1.2345678) == 1.2345678 and check(1e308) == 1e308 and check(3) == 3.0


def test_nan_and_infinities_only_where_the_engine_has_them() -> None:
    for kind in ("float32", "float64"):
        for value in (float("nan"), float("inf"), float("-inf")):
            assert "MySQL and MariaDB have no NaN or Infinity" in refusal(kind, MYSQL, value)
            assert "SQL Server has no NaN or Infinity" in refusal(kind, SQLSERVER, value)
        kept = value_check(P(kind), ORACLE)
        assert kept(float("inf")) == float("inf") and kept(float("-inf")) == float("-inf")
        assert kept(float("nan")) != kept(float("nan"))  # NaN is kept (and equals nothing)


def test_subnormal_numbers_only_where_the_engine_holds_them() -> None:
    smallest32, smallest64 = 2.0**-149, 5e-324
    for limits in (MYSQL, ORACLE):
        assert value_check(P("float32"), limits)(smallest32) == smallest32
        assert value_check(P("float64"), limits)(smallest64) == smallest64
    assert "too close to zero for SQL Server's real" in refusal("float32", SQLSERVER, smallest32)
    assert "too close to zero for SQL Server's float" in refusal("float64", SQLSERVER, smallest64)
    assert value_check(P("float32"), SQLSERVER)(2.0**-126) == 2.0**-126  # the smallest normal float32


@pytest.mark.parametrize("engine", ENGINES)
def test_negative_zero_is_passed_on_unchanged(engine: str) -> None:
    for kind in ("float32", "float64"):
        value = value_check(P(kind), ENGINES[engine])(-0.0)
        assert value == 0.0 and str(value) == "-0.0"


# -- booleans, text, binary, dates ------------------------------------------------------------------------


def test_booleans_are_sent_as_each_engine_takes_them() -> None:
    assert value_check(P("boolean"), MYSQL)(True) == 1 and type(value_check(P("boolean"), MYSQL)(True)) is int
    assert value_check(P("boolean"), SQLSERVER)(1) is True
    assert value_check(P("boolean"), ORACLE)(0) is False
    assert value_check(P("boolean"), ORACLE_NUMERIC_BOOLEAN)(True) == 1
    for limits in ENGINES.values():
        assert refusal("boolean", limits, 2) == "2 is not a boolean"


def test_text_lengths_are_counted_as_each_engine_counts() -> None:
    emoji = "😀" * 3  # 3 characters, 6 UTF-16 code units
    assert value_check(P("varchar(3)"), MYSQL)(emoji) == emoji
    assert refusal("varchar(3)", SQLSERVER, emoji) == "text of 6 UTF-16 code units is longer than nvarchar(3)"
    assert refusal("varchar(3)", MYSQL, "abcd") == "text of 4 characters is longer than varchar(3)"
    assert refusal("char(2)", SQLSERVER, "abc") == "text of 3 characters is longer than nchar(2)"
    assert value_check(P("text"), MYSQL)("x" * 100_000) == "x" * 100_000
    assert value_check(P("varchar(5)"), MYSQL)(12) == "12"
    assert "bytes value cannot be stored" in refusal("text", MYSQL, b"abc")
    assert refusal("text", SQLSERVER, "\ud800") == "text holding a lone surrogate is not valid Unicode"


def test_json_must_be_text() -> None:
    for limits in ENGINES.values():
        assert value_check(P("json"), limits)('{"a": 1}') == '{"a": 1}'
        assert refusal("json", limits, {"a": 1}) == "a dict value is not JSON text"


def test_binary_lengths_and_kinds() -> None:
    assert value_check(P("binary(3)"), MYSQL)(bytearray(b"abc")) == b"abc"
    assert value_check(P("binary"), SQLSERVER)(memoryview(b"x" * 9000)) == b"x" * 9000
    assert refusal("binary(2)", MYSQL, b"abc") == "3 bytes are longer than binary(2)"
    assert refusal("binary(2)", SQLSERVER, b"abc") == "3 bytes are longer than varbinary(2)"
    assert refusal("binary", MYSQL, "text") == "a str value is not binary"


def test_dates_refuse_timestamps_and_oracle_stores_them_at_midnight() -> None:
    day = date(2024, 2, 29)
    assert value_check(P("date"), MYSQL)(day) == day
    assert value_check(P("date"), SQLSERVER)(day) == day
    assert value_check(P("date"), ORACLE)(day) == datetime(2024, 2, 29)
    for limits in ENGINES.values():
        assert "is not a date" in refusal("date", limits, datetime(2024, 1, 1))
        assert "is not a date" in refusal("date", limits, "2024-01-01")


@pytest.mark.parametrize("engine", ENGINES)
def test_timestamps_go_in_as_utc_wall_time_and_uuids_as_text(engine: str) -> None:
    limits = ENGINES[engine]
    zoned = datetime(2024, 3, 31, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    assert value_check(P("timestamp"), limits)(zoned) == datetime(2024, 3, 31, 1, 30)
    assert value_check(P("timestamp"), limits)(date(2024, 1, 2)) == datetime(2024, 1, 2)
    assert "is not a timestamp" in refusal("timestamp", limits, time(1, 2))
    value = uuid.UUID(int=1)
    assert value_check(P("uuid"), limits)(value) == str(value) == value_check(P("uuid"), limits)(str(value))
    assert "is not a UUID" in refusal("uuid", limits, "nope")


def test_the_dialects_use_the_table() -> None:
    """The writers' checks are the table's, with the dialect's limits (its own forms aside)."""
    assert mysql.value_checker(P("float32"))(3.4028235e38) == FLOAT32_MAX
    params = SQLServerDialect().bulk_params([Column("r", P("float32")), Column("t", P("varchar(4001)")),
                                            Column("tm", P("time"))])
    assert params[0].convert is not None and params[0].convert(3.4028235e38) == FLOAT32_MAX
    assert params[1].convert is not None and params[1].convert("x" * 5000) == "x" * 5000  # nvarchar(max)
    assert params[2].convert is not None and params[2].convert(time(1, 2, 3)) == "01:02:03.000000"
    import oracledb

    check, bound_as = OracleDialect().bind_plan(Column("f", P("float32")), False, oracledb)
    assert check(3.4028235e38) == FLOAT32_MAX and bound_as is oracledb.DB_TYPE_BINARY_FLOAT
    check, bound_as = OracleDialect().bind_plan(Column("d", P("date")), False, oracledb)
    assert check(date(2024, 1, 2)) == datetime(2024, 1, 2) and bound_as is oracledb.DB_TYPE_DATE


# -- the shared fetchmany stream, over a real sqlite3 cursor ----------------------------------------------


@pytest.fixture
def numbers() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE n (id INTEGER, v TEXT)")
    connection.executemany("INSERT INTO n VALUES (?, ?)", [(i, str(i) if i != 7 else "seven") for i in range(1, 11)]
                           + [(11, None)])
    yield connection
    connection.close()


def open_stream(connection: sqlite3.Connection, batch_size: int) -> FetchStream:
    cursor = connection.execute("SELECT id, v FROM n ORDER BY id")
    columns = [Column("id", P("int64")), Column("v", P("int64"))]
    return FetchStream(connection, cursor, columns, [None, int], batch_size)


def test_the_stream_converts_each_column_in_batches(numbers: sqlite3.Connection) -> None:
    numbers.execute("UPDATE n SET v = '7' WHERE id = 7")
    stream = open_stream(numbers, 4)
    batches = list(stream.batches())
    stream.close()
    assert [len(b) for b in batches] == [4, 4, 3]
    assert [row for batch in batches for row in batch] == [(i, i) for i in range(1, 11)] + [(11, None)]


def test_a_value_that_will_not_convert_is_refused_naming_column_and_row(numbers: sqlite3.Connection) -> None:
    stream = open_stream(numbers, 4)
    batches = stream.batches()
    assert next(batches) == [(1, 1), (2, 2), (3, 3), (4, 4)]
    with pytest.raises(ValueRejected, match=r"^column 'v', row 7: invalid literal for int\(\)"):
        next(batches)
    stream.close()


def test_the_batch_size_must_be_positive(numbers: sqlite3.Connection) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        open_stream(numbers, 0)
