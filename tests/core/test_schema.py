"""The stored-file schema: each kind refuses what it must, says where and why, and accepts the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qdbm_desktop.core.jsonfile import JsonDocumentFile
from qdbm_desktop.core.schema import (
    Anything,
    Boolean,
    Choice,
    Integer,
    Invalid,
    ListOf,
    MapOf,
    Nullable,
    Record,
    Text,
    Timestamp,
    check_entries,
)

POINT = Record(fields={"name": Text(non_empty=True, max_length=5), "port": Nullable(Integer(1, 65535)),
                       "tags": ListOf(Choice(("a", "b")), unique=True), "on": Boolean(), "at": Timestamp(),
                       "options": MapOf(Text())},
               required=frozenset({"name"}))


@pytest.mark.parametrize(("value", "where", "words"), [
    ({"port": 1}, "name", "is missing"),
    ({"name": 5}, "name", "5 is a whole number, not text"),
    ({"name": " "}, "name", "is empty"),
    ({"name": "toolong"}, "name", "more than 5"),
    ({"name": "n", "port": "abc"}, "port", '"abc" is text, not a whole number'),
    ({"name": "n", "port": 0}, "port", "below the minimum of 1"),
    ({"name": "n", "port": 10**30}, "port", "above the maximum of 65,535"),
    ({"name": "n", "port": float("nan")}, "port", "NaN is a number"),
    ({"name": "n", "port": float("inf")}, "port", "Infinity is a number"),
    ({"name": "n", "port": 5432.0}, "port", "5432.0 is a number"),
    ({"name": "n", "port": True}, "port", "true is true/false"),
    ({"name": "n", "tags": ["a", "c"]}, "tags[1]", '"c" is not one of a, b'),
    ({"name": "n", "tags": ["a", "a"]}, "tags", 'holds "a" twice'),
    ({"name": "n", "tags": "a"}, "tags", "is text, not a list"),
    ({"name": "n", "on": "yes"}, "on", "not true or false"),
    ({"name": "n", "at": "2026-01-01T00:00:00"}, "at", "has no time zone offset"),
    ({"name": "n", "at": "soon"}, "at", "is not an ISO 8601 date and time"),
    ({"name": "n", "options": {"k": None}}, "options.k", "null instead of text"),
    ({"name": "n", "options": ["k"]}, "options", "is a list, not an object"),
    (None, "", "null instead of an object"),
    ([1], "", "is a list, not an object"),
])
def test_each_kind_names_the_field_and_the_reason(value: Any, where: str, words: str) -> None:
    with pytest.raises(Invalid) as caught:
        POINT.check(value)
    assert caught.value.where == where
    assert words in str(caught.value)


def test_fields_not_declared_and_null_for_an_optional_field_are_accepted() -> None:
    POINT.check({"name": "n", "port": None, "colour": "red", "tags": [], "at": "2026-01-01T00:00:00+01:00"})


def test_a_shown_value_is_cut_to_one_short_line() -> None:
    with pytest.raises(Invalid) as caught:
        POINT.check({"name": "n", "port": "x" * 10_000})
    assert len(str(caught.value)) < 120


def test_entries_are_split_into_good_with_their_index_and_bad_with_their_label() -> None:
    entries = [{"name": "a"}, 1, {"name": "b", "port": "x"}, {"name": "A"}, {"name": "c"}]

    good, bad = check_entries(entries, POINT, key="name", unique_key=True)

    assert [index for index, _ in good] == [0, 4]
    assert [(b.index, b.label) for b in bad] == [(1, "entry 2"), (2, '"b" (entry 3)'), (3, '"A" (entry 4)')]
    assert bad[2].reason == "entry 1 has the same name"


def test_a_newer_file_of_the_wrong_shape_is_read_as_empty_and_never_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "things.json"
    path.write_text(json.dumps({"version": 9, "things": "abc"}), encoding="utf-8")
    file = JsonDocumentFile(path, 1, default=lambda: {"things": []}, shape={"things": ListOf(Anything())})

    assert file.load()["things"] == []

    assert file.read_only and not list(tmp_path.glob("things.json.corrupt-*"))
    assert any('"things" field is wrong' in n for n in file.notices)
    assert json.loads(path.read_text(encoding="utf-8"))["things"] == "abc"


def test_keep_copy_leaves_the_file_in_place_and_names_the_copy(tmp_path: Path) -> None:
    path = tmp_path / "things.json"
    path.write_text('{"version": 1, "things": [1]}', encoding="utf-8")
    file = JsonDocumentFile(path, 1, default=lambda: {"things": []})

    file.keep_copy("an entry that could not be read")

    (kept,) = tmp_path.glob("things.json.corrupt-*")
    assert kept.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    assert kept.name in file.notices[0] and "an entry that could not be read" in file.notices[0]
