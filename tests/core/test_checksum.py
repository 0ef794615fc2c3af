"""The checksum's canonical forms and what its digests tell apart (no server needed)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from qdbm_desktop.core.checksum import Hasher, collect_bucket_rows, find_differences
from qdbm_desktop.core.types import Kind


def digest(rows: list[tuple[Any, ...]], sources: list[Kind], targets: list[Kind] | None = None) -> Any:
    hasher = Hasher([f"c{i}" for i in range(len(sources))], sources, targets or sources)
    hasher.add(rows)
    return hasher.checksum


CEST = timezone(timedelta(hours=2))


@pytest.mark.parametrize(("source", "read", "kinds"), [
    (True, 1, (Kind.BOOLEAN, Kind.BOOLEAN)),
    (Decimal("1.50"), Decimal("1.5"), (Kind.DECIMAL, Kind.DECIMAL)),
    (5, Decimal("5.00"), (Kind.INT32, Kind.DECIMAL)),
    (0.1, Decimal("0.1"), (Kind.FLOAT64, Kind.DECIMAL)),
    (-0.0, 0.0, (Kind.FLOAT64, Kind.FLOAT64)),
    (float("nan"), float("nan"), (Kind.FLOAT64, Kind.FLOAT64)),
    (Decimal("NaN"), Decimal("NaN"), (Kind.DECIMAL, Kind.DECIMAL)),
    (1.2345678901, 1.2345678806304932, (Kind.FLOAT64, Kind.FLOAT32)),
    (datetime(2024, 3, 31, 3, 30, tzinfo=CEST), datetime(2024, 3, 31, 1, 30), (Kind.TIMESTAMPTZ, Kind.TIMESTAMP)),
    (datetime(2024, 3, 31, 3, 30, tzinfo=CEST), datetime(2024, 3, 31, 1, 30, tzinfo=timezone.utc),
     (Kind.TIMESTAMPTZ, Kind.TIMESTAMPTZ)),
    ('{"b": 1, "a": [1, 2]}', '{"a":[1,2],"b":1}', (Kind.JSON, Kind.JSON)),
    ("ab", "ab   ", (Kind.VARCHAR, Kind.CHAR)),
    (b"\x00\xff", memoryview(b"\x00\xff"), (Kind.BINARY, Kind.BINARY)),
])
def test_a_deliberate_change_of_form_hashes_equal(source: Any, read: Any, kinds: tuple[Kind, Kind]) -> None:
    kind, target = kinds
    assert digest([(source,)], [kind], [target]).columns == digest([(read,)], [target], [target]).columns


@pytest.mark.parametrize(("one", "other", "kind"), [
    (-1, -2, Kind.INT64), (0, 2**61 - 1, Kind.INT64), (None, 0, Kind.INT32), (None, "", Kind.TEXT),
    ("a", "A", Kind.TEXT), ("a ", "a", Kind.TEXT), (Decimal("-1"), Decimal("-2"), Kind.DECIMAL),
    (-1.0, -2.0, Kind.FLOAT64), (b"", None, Kind.BINARY), (1.0, 1.0000000000000002, Kind.FLOAT64),
    (True, False, Kind.BOOLEAN),
])
def test_different_values_hash_differently(one: Any, other: Any, kind: Kind) -> None:
    assert digest([(one,)], [kind]).columns != digest([(other,)], [kind]).columns


def test_order_does_not_matter_but_a_value_moved_between_rows_does() -> None:
    kinds = [Kind.INT32, Kind.TEXT]
    rows = [(i, f"row {i}") for i in range(500)]
    base = digest(rows, kinds)
    assert digest(list(reversed(rows)), kinds) == base
    for i in range(0, 400, 2):
        swapped = list(rows)
        swapped[i], swapped[i + 1] = (i, f"row {i + 1}"), (i + 1, f"row {i}")
        moved = digest(swapped, kinds)
        assert moved.columns == base.columns and moved.row_digest != base.row_digest, i


def test_the_rows_of_a_differing_bucket_name_the_key() -> None:
    kinds = [Kind.INT32, Kind.TEXT]
    rows = [(i, json.dumps(i)) for i in range(2000)]
    changed = [r if r[0] != 1234 else (1234, "x") for r in rows if r[0] != 77] + [(5000, "new")]
    mine, theirs = Hasher(["id", "v"], kinds, kinds, [0]), Hasher(["id", "v"], kinds, kinds, [0])
    mine.add(rows)
    theirs.add(changed)
    wanted = set(mine.checksum.differing_buckets(theirs.checksum))
    assert len(wanted) == 3
    found = find_differences(collect_bucket_rows(mine.fresh(), [rows], wanted),
                             collect_bucket_rows(theirs.fresh(), [changed], wanted), [0], 20)
    assert [(d.kind, d.key) for d in found] == [("missing", (77,)), ("different", (1234,)), ("extra", (5000,))]
    assert found[1].source == (1234, "1234") and found[1].target == (1234, "x")
