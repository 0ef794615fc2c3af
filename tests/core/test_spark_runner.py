"""The exported Spark job's own helpers: password variables, marks and the literals they become."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from qdbm_desktop.core.spark_export import password_variable, spark_type
from qdbm_desktop.core.spark_runner import BadInput, mark_text, mark_value, source_query, sql_literal
from qdbm_desktop.core.types import PortableType
from qdbm_desktop.core.watermark import Watermark


@pytest.mark.parametrize(("connection", "variable"), [
    ("warehouse", "QDBM_PASSWORD_WAREHOUSE"),
    ("Shop DB (prod)", "QDBM_PASSWORD_SHOP_DB__PROD_"),
    ("café-1", "QDBM_PASSWORD_CAF__1"),
])
def test_each_connections_password_variable_is_its_name_upper_cased_with_other_characters_as_underscores(
        connection: str, variable: str) -> None:
    assert password_variable(connection) == variable


def test_text_marks_are_quoted_so_that_no_mark_can_end_the_literal() -> None:
    assert sql_literal("postgresql", "it's") == "'it''s'"
    assert sql_literal("mysql", "a\\' OR 1=1 -- ") == "'a\\\\'' OR 1=1 -- '"
    assert sql_literal("sqlserver", "x'y") == "N'x''y'"


def test_zoned_marks_are_compared_as_utc_instants_and_naive_ones_as_written() -> None:
    moment = datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert sql_literal("postgresql", moment) == "TIMESTAMP WITH TIME ZONE '2026-03-01 10:00:00.000005+00:00'"
    assert sql_literal("mysql", moment) == "TIMESTAMP '2026-03-01 10:00:00.000005'"
    assert sql_literal("sqlserver", datetime(2026, 3, 1)) == "CAST('2026-03-01 00:00:00.000000' AS datetime2(7))"
    assert sql_literal("oracle", date(2026, 3, 1)) == "DATE '2026-03-01'"
    assert sql_literal("mysql", Decimal("12.500")) == "12.500"


@pytest.mark.parametrize("kind,text", [("int", "12.5"), ("timestamptz", "2026-01-01 10:00"),
                                       ("timestamp", "2026-01-01T10:00+00:00"), ("decimal", "NaN"),
                                       ("date", "yesterday")])
def test_a_mark_of_the_wrong_type_is_refused(kind: str, text: str) -> None:
    with pytest.raises(BadInput, match="is not a"):
        mark_value(kind, text)


@pytest.mark.parametrize("value", [12, Decimal("1.50"), datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc),
                                   datetime(2026, 1, 2, 3, 4, 5), date(2026, 1, 2), "abc"])
def test_the_printed_mark_is_one_that_qdbm_reads_back_as_the_same_value(value: object) -> None:
    assert Watermark.parse(mark_text(value)).value() == value


def test_an_incremental_query_is_wrapped_or_takes_the_mark_in_its_placeholder() -> None:
    config: dict[str, Any] = {"job": {"name": "j", "query": "SELECT * FROM t;"}, "source": {"engine": "postgresql"},
              "incremental": {"quoted_column": '"id"', "operator": ">", "lookback": None}}
    assert source_query(config, None) == "SELECT * FROM t"
    assert source_query(config, 41) == 'SELECT * FROM (\nSELECT * FROM t\n) qdbm_incremental WHERE qdbm_incremental."id" > 41'
    config["job"]["query"] = "SELECT * FROM t WHERE id > {{ watermark }} - 1"
    config["incremental"]["lookback"] = {"count": 10}
    assert source_query(config, 41) == "SELECT * FROM t WHERE id > 31 - 1"
    with pytest.raises(BadInput, match="give one with --mark"):
        source_query(config, None)


def test_decimals_wider_than_spark_holds_travel_as_their_exact_text() -> None:
    assert spark_type(PortableType.parse("decimal(38,10)")) == "decimal(38,10)"
    assert spark_type(PortableType.parse("decimal(65,30)")) == "string"
    assert spark_type(PortableType.parse("decimal")) == "string"
