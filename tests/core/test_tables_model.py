"""The many-tables model without a database: patterns, foreign-key order with cycles, and a
tables job kept in its JSON form."""

from __future__ import annotations

import pytest

from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.catalog import ColumnInfo, ForeignKey, TableShape
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.tables import TableOverride, TableSelection, foreign_key_order, split_pattern


def shape(name: str, *refs: str) -> TableShape:
    return TableShape(TableName(name, "s"), (ColumnInfo("id", "int"),),
                      foreign_keys=tuple(ForeignKey(f"{name}_{r}_fk", ("id",), TableName(r), ("id",))
                                         for r in refs))


def test_parents_come_first_and_cycles_are_reported() -> None:
    ordered, cycles = foreign_key_order([
        shape("child", "parent"), shape("parent"), shape("node", "node"),
        shape("a", "b"), shape("b", "a"), shape("leaf", "child", "a"),
    ])
    names = [s.table.name for s in ordered]
    assert names.index("parent") < names.index("child")
    assert "node" in names[:3]  # a self-reference is no dependency
    assert sorted(names[-3:]) == ["a", "b", "leaf"]  # in the cycle or after it
    assert [sorted(t.name for t in c) for c in cycles] == [["a", "b", "leaf"]]


def test_patterns() -> None:
    assert split_pattern("*") == (None, "*")
    assert split_pattern("sales.*") == ("sales", "*")
    assert split_pattern('"my schema"."Order Lines"') == ("my schema", "Order Lines")
    with pytest.raises(UsageError):
        TableSelection.parse(" , ")


def test_a_tables_job_round_trips_and_validates() -> None:
    selection = TableSelection(patterns=("public.*",), exclude=("tmp_*",), include_views=True,
                               target_schema="copy", constraints=False, continue_on_error=True,
                               overrides=(TableOverride("public.orders", target="orders_2026", mode="replace"),))
    job = Job(name="whole", source="a", target="b", query="", table="", tables=selection)
    job.validate()
    again = Job.from_json(job.to_json())
    assert again.tables == selection
    with pytest.raises(UsageError, match="not both"):
        Job(name="x", source="a", target="b", query="SELECT 1", table="t", tables=selection).validate()
    with pytest.raises(UsageError, match="incremental"):
        Job(name="x", source="a", target="b", query="", table="", tables=selection,
            incremental_column="id").validate()
    assert selection.override(TableName("orders", "public")) == selection.overrides[0]
