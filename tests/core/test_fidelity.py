"""The fidelity report's verdicts, the preview's value checks and the consent they need."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qdbm_desktop.core.dialects import get_dialect
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.fidelity import (
    ENGINES,
    FidelityReport,
    Verdict,
    check_values,
    classify,
    column_report,
    consent_error,
    parse_accepted,
)
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.types import Column, Kind, PortableType

P = PortableType.parse


def verdict(source: str, target: str, engine: str, source_type: str = "", source_engine: str = "") -> Verdict:
    native = get_dialect(engine).native_type(P(target))
    return classify(Column("c", P(source), source_type=source_type), Column("c", P(target)), native, engine,
                    source_engine).verdict


@pytest.mark.parametrize(("source", "target", "engine", "expected"), [
    ("int32", "int32", "postgresql", Verdict.EXACT),
    ("varchar(20)", "varchar(20)", "postgresql", Verdict.EXACT),
    ("boolean", "boolean", "mysql", Verdict.CONVERTED),
    ("uuid", "uuid", "mysql", Verdict.CONVERTED),
    ("uuid", "uuid", "sqlite", Verdict.CONVERTED),
    ("int32", "int64", "postgresql", Verdict.CONVERTED),
    ("float32", "float64", "postgresql", Verdict.CONVERTED),
    ("decimal(10,2)", "decimal(12,2)", "postgresql", Verdict.CONVERTED),
    ("int64", "int32", "postgresql", Verdict.LOSSY),
    ("float64", "float32", "postgresql", Verdict.LOSSY),
    ("text", "varchar(10)", "postgresql", Verdict.LOSSY),
    ("varchar(20)", "varchar(10)", "mysql", Verdict.LOSSY),
    ("decimal(12,4)", "decimal(12,2)", "postgresql", Verdict.LOSSY),
    ("decimal", "decimal", "mysql", Verdict.LOSSY),  # DECIMAL(65,30) holds less than numeric
    ("timestamptz", "timestamp", "postgresql", Verdict.LOSSY),
    ("int64", "float64", "postgresql", Verdict.LOSSY),
    ("binary", "int32", "postgresql", Verdict.REFUSED),
    ("date", "int64", "mysql", Verdict.REFUSED),
    ("text", "binary", "sqlite", Verdict.REFUSED),
])
def test_verdicts(source: str, target: str, engine: str, expected: Verdict) -> None:
    assert verdict(source, target, engine) is expected


def test_a_zoned_source_with_offsets_loses_them_where_the_target_has_no_zones() -> None:
    # PostgreSQL's timestamptz is an instant: kept as UTC. SQL Server's datetimeoffset holds an offset.
    assert verdict("timestamptz", "timestamptz", "mysql", "timestamp with time zone", "postgresql") \
        is Verdict.CONVERTED
    assert verdict("timestamptz", "timestamptz", "mysql", "datetimeoffset", "sqlserver") is Verdict.LOSSY


def test_json_into_jsonb_is_lossy() -> None:
    report = classify(Column("j", P("json"), source_type="json"), Column("j", P("json")), "jsonb", "postgresql")
    assert report.verdict is Verdict.LOSSY and "duplicate keys" in report.reason


def test_a_kind_the_classifier_does_not_know_is_never_called_exact_when_it_changes() -> None:
    # Any change of kind not proved lossless is lossy (a new kind falls back the same way).
    assert verdict("time", "date", "postgresql") is Verdict.LOSSY


def test_every_engine_has_facts() -> None:
    from qdbm_desktop.core.dialects import DIALECTS

    assert set(DIALECTS) <= set(ENGINES)


def test_preview_values_are_checked_naming_column_and_row() -> None:
    columns = [("name", P("varchar(3)"), None), ("note", P("varchar(50)"), "utf8mb3"),
               ("n", P("int16"), None), ("x", P("float64"), None), ("d", P("decimal(4,2)"), None)]
    rows = [("abc", "plain", 1, 1.0, Decimal("1.5")),
            ("abcd", "smile \U0001F600", 40000, -0.0, Decimal("123.4"))]
    issues = check_values(columns, rows, "mysql")
    found = {(i.column, i.row) for i in issues}
    assert found == {("name", 2), ("note", 2), ("n", 2), ("x", 2), ("d", 2)}
    assert "4-byte character" in next(str(i) for i in issues if i.column == "note")
    # PostgreSQL keeps -0.0 and holds 4-byte characters in any column.
    unlimited = [("note", P("text"), None), ("x", P("float64"), None)]
    assert check_values(unlimited, [(r[1], r[3]) for r in rows], "postgresql") == []


def test_consent() -> None:
    dialect = get_dialect("postgresql")
    report = column_report([Column("a", P("text")), Column("b", P("int64"))],
                           [Column("a", P("varchar(5)")), Column("b", P("int32"))], dialect, "postgresql", False)
    assert [c.verdict for c in report.columns] == [Verdict.LOSSY, Verdict.LOSSY]
    assert report.summary() == "2 lossy"
    problem = consent_error(report, ())
    assert problem is not None and "--accept-lossy a,b" in problem
    assert "--accept-lossy b" in (consent_error(report, ("A",)) or "")
    assert consent_error(report, ("a", "b")) is None
    assert consent_error(report, ("all",)) is None
    assert consent_error(report, None) is None
    refused = column_report([Column("a", P("binary"))], [Column("a", P("int32"))], dialect, "postgresql", False)
    assert "refused" in (consent_error(refused, ("all",)) or "")
    assert FidelityReport([]).summary() == "no columns"


def test_accept_lossy_parsing_and_the_job_field() -> None:
    assert parse_accepted("a, b") == ("a", "b")
    assert parse_accepted(None) == ()
    with pytest.raises(UsageError):
        parse_accepted(" , ")
    job = Job(name="j", source="s", target="t", query="select 1", table="x", accept_lossy=("a",))
    assert Job.from_json(job.to_json()).accept_lossy == ("a",)
    with pytest.raises(UsageError, match="accept_lossy"):
        Job.from_json({**job.to_json(), "accept_lossy": [1]})
    assert "accept_lossy" not in Job(name="j", source="s", target="t", query="q", table="x").to_json()


def test_kind_values_in_the_data_are_known_or_future_kinds() -> None:
    known = {k.value for k in Kind}
    from qdbm_desktop.core.fidelity import FAMILIES

    assert set(FAMILIES) <= known
