"""PostgreSQL's text forms and the portable ones: arrays <-> JSON arrays, money, time 24:00, and the
column's exact type kept or dropped by the mapping."""

from __future__ import annotations

import json
from datetime import time, timedelta
from decimal import Decimal

import pytest

from qdbm_desktop.core.dialects import get_dialect
from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.postgresql.values import (
    array_to_json,
    array_writer,
    json_to_array,
    money_value,
    time_value,
)
from qdbm_desktop.core.mapping import ColumnMap, map_columns
from qdbm_desktop.core.types import END_OF_DAY, Column, Kind, NegativeZeros, PortableType, plain_time

INT4, TEXT, BOOL, FLOAT8, BOX = 23, 25, 16, 701, 603


@pytest.mark.parametrize(("literal", "element", "expected"), [
    ("{1,2,NULL}", INT4, [1, 2, None]),
    ("{{1,2},{3,4}}", INT4, [[1, 2], [3, 4]]),
    ("{}", INT4, []),
    ('{"a b","c\\"d",NULL,"",NULL2,"{x}","NULL","back\\\\slash"}', TEXT,
     ["a b", 'c"d', None, "", "NULL2", "{x}", "NULL", "back\\slash"]),
    ("{t,f}", BOOL, [True, False]),
    ("{1.5,NaN,-Infinity}", FLOAT8, [1.5, "NaN", "-Infinity"]),
    ("[0:1]={7,8}", INT4, [7, 8]),
    ("{(1,1),(0,0);(3,3),(2,2)}", BOX, ["(1,1),(0,0)", "(3,3),(2,2)"]),
    ('{"é 🎉"}', TEXT, ["é 🎉"]),
])
def test_an_array_literal_reads_as_a_json_array_and_goes_back(literal: str, element: int,
                                                              expected: list[object]) -> None:
    text = array_to_json(literal, element)
    assert json.loads(text) == expected
    # Back to a literal, and read again: the same array.
    assert json.loads(array_to_json(json_to_array(text, element), element)) == expected


def test_a_vector_type_reads_as_a_json_array_of_its_elements() -> None:
    assert array_to_json("1 2 3", 21) == '["1", "2", "3"]'


def test_numbers_in_arrays_keep_their_digits() -> None:
    assert array_to_json("{1.50,-2.25,12345678901234567890.000001}", 1700) == \
        "[1.50,-2.25,12345678901234567890.000001]"
    assert json_to_array("[1.50, 1e400]", 1700) == "{1.50,1e400}"


def test_the_array_writer_takes_json_arrays_and_leaves_array_literals() -> None:
    convert = array_writer(INT4)
    assert convert('[1,null,"x"]') == '{1,NULL,"x"}'
    assert convert("{1,2}") == "{1,2}"
    with pytest.raises(ValueError, match="is not a JSON array"):
        json_to_array('{"a": 1}', INT4)
    with pytest.raises(ValueError, match="neither a PostgreSQL array nor a JSON array"):
        json_to_array("[1,", INT4)


def test_money_and_time_read_exactly() -> None:
    assert money_value("-$1,234.56") == Decimal("-1234.56")
    assert money_value("$0.07") == Decimal("0.07")
    assert time_value("24:00:00") == END_OF_DAY == timedelta(hours=24)
    assert time_value("23:59:59.999999") == time(23, 59, 59, 999999)
    with pytest.raises(ValueError, match="24:00:00 cannot be stored: SQLite's time ends"):
        plain_time(END_OF_DAY, "SQLite")


def test_negative_zeros_are_counted_per_column() -> None:
    zeros = NegativeZeros([Column("a", PortableType(Kind.FLOAT64)), Column("n", PortableType(Kind.INT32)),
                           Column("b", PortableType(Kind.FLOAT32))])
    zeros.count([(-0.0, 0, 0.0), (0.0, 0, -0.0), (None, None, -0.0), (1.0, 1, 2.0)])
    assert zeros.warnings("MariaDB") == (
        "3 negative zero(s) (-0.0) stored as 0.0, which is all MariaDB holds ('a': 1, 'b': 2)",)
    assert NegativeZeros([]).warnings("SQLite") == ()


def test_a_type_the_user_picks_drops_the_exact_type() -> None:
    pg = get_dialect("postgresql")
    source = [Column("tags", PortableType(Kind.JSON), True, "text[]", "text[]", "postgresql"),
              Column("doc", PortableType(Kind.JSON), True, "json", "json", "postgresql"),
              Column("mood", PortableType(Kind.TEXT), True, "mood", "text", "postgresql", ("sad", "ok"))]
    kept = map_columns(source, {})
    assert [pg.column_type(c) for c in kept] == ["text[]", "json", "text CHECK (\"mood\" IN ('sad', 'ok'))"]
    picked = map_columns(source, {"doc": PortableType.parse("jsonb")},
                         [ColumnMap("tags", type=PortableType(Kind.TEXT))])
    assert [pg.column_type(c) for c in picked] == ["text", "jsonb", "text CHECK (\"mood\" IN ('sad', 'ok'))"]
    sql = pg.create_table_sql(TableName("t"), kept)
    assert '"tags" text[]' in sql and '"doc" json' in sql
    # The exact type is for its own engine only: MySQL takes the portable type, an enum as ENUM.
    my = get_dialect("mysql")
    assert [my.column_type(c) for c in kept] == ["JSON", "JSON", "ENUM('sad','ok')"]
    assert str(PortableType.parse("jsonb")) == "jsonb" and PortableType.parse("JSONB").kind is Kind.JSON
