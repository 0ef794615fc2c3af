"""Recent queries per source connection: persistence, order, dedupe, cap, renames, damaged files."""

from __future__ import annotations

import errno
import json

import pytest

from qdbm_desktop.core import jsonfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.recent_queries import MAX_QUERY_CHARS, RecentQueries


def test_queries_are_listed_newest_first_and_survive_a_new_instance(paths: AppPaths) -> None:
    recent = RecentQueries(paths)
    recent.add("Shop", "SELECT 1")
    recent.add("Shop", "SELECT 2")

    assert RecentQueries(paths).list("Shop") == ["SELECT 2", "SELECT 1"]
    on_disk = json.loads(paths.recent_queries_file.read_text(encoding="utf-8"))
    assert on_disk == {"version": 1, "connections": {"Shop": ["SELECT 2", "SELECT 1"]}}


def test_each_connection_has_its_own_list(paths: AppPaths) -> None:
    recent = RecentQueries(paths)
    recent.add("Shop", "SELECT * FROM orders")
    recent.add("Warehouse", "SELECT * FROM stock")

    assert recent.list("Shop") == ["SELECT * FROM orders"]
    assert recent.list("Warehouse") == ["SELECT * FROM stock"]
    assert recent.list("Unknown") == []


def test_running_a_query_again_moves_it_to_the_front_without_a_duplicate(paths: AppPaths) -> None:
    recent = RecentQueries(paths)
    for query in ("SELECT 1", "SELECT 2", "SELECT 3"):
        recent.add("Shop", query)

    recent.add("Shop", "SELECT 1\n\n")

    assert recent.list("Shop") == ["SELECT 1", "SELECT 3", "SELECT 2"]


def test_only_the_newest_queries_up_to_the_limit_are_kept(paths: AppPaths) -> None:
    recent = RecentQueries(paths, limit=3)
    for number in range(5):
        recent.add("Shop", f"SELECT {number}")

    assert recent.list("Shop") == ["SELECT 4", "SELECT 3", "SELECT 2"]
    assert RecentQueries(paths, limit=20).list("Shop") == ["SELECT 4", "SELECT 3", "SELECT 2"]


def test_default_limit_is_twenty(paths: AppPaths) -> None:
    recent = RecentQueries(paths)
    for number in range(25):
        recent.add("Shop", f"SELECT {number}")

    assert len(recent.list("Shop")) == 20
    assert recent.list("Shop")[0] == "SELECT 24"


def test_multi_line_queries_keep_their_lines_and_indentation(paths: AppPaths) -> None:
    query = "SELECT id,\n       name\n  FROM customers\n WHERE country = 'DE'"
    recent = RecentQueries(paths)
    recent.add("Shop", "\n" + query + "   \n")

    assert RecentQueries(paths).list("Shop") == [query]


@pytest.mark.parametrize("query", ["", "   ", "\n\n", "x" * (MAX_QUERY_CHARS + 1)])
def test_empty_or_huge_texts_are_not_kept(paths: AppPaths, query: str) -> None:
    recent = RecentQueries(paths)
    recent.add("Shop", query)

    assert recent.list("Shop") == []


def test_renamed_connection_keeps_its_queries(paths: AppPaths) -> None:
    recent = RecentQueries(paths)
    recent.add("Shop", "SELECT 1")

    recent.rename_connection("Shop", "Shop (prod)")

    assert RecentQueries(paths).list("Shop (prod)") == ["SELECT 1"]
    assert RecentQueries(paths).list("Shop") == []


def test_forgotten_connection_has_no_queries_left(paths: AppPaths) -> None:
    recent = RecentQueries(paths)
    recent.add("Shop", "SELECT 1")
    recent.add("Warehouse", "SELECT 2")

    recent.forget_connection("Shop")

    assert RecentQueries(paths).list("Shop") == []
    assert RecentQueries(paths).list("Warehouse") == ["SELECT 2"]


def test_corrupt_file_is_set_aside_with_a_notice_and_a_new_one_started(paths: AppPaths) -> None:
    paths.home.mkdir(parents=True)
    paths.recent_queries_file.write_text("{not json", encoding="utf-8")
    recent = RecentQueries(paths)

    assert recent.list("Shop") == []
    recent.add("Shop", "SELECT 1")

    assert RecentQueries(paths).list("Shop") == ["SELECT 1"]
    assert len(recent.notices) == 1 and "recent-queries.json" in recent.notices[0]
    kept = list(paths.home.glob("recent-queries.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == "{not json"


def test_hand_edited_entries_of_the_wrong_type_are_skipped(paths: AppPaths) -> None:
    paths.home.mkdir(parents=True)
    paths.recent_queries_file.write_text(json.dumps(
        {"version": 1, "connections": {"Shop": ["SELECT 1", 7, None, "SELECT 1", "  "], "Other": "SELECT 2"}}),
        encoding="utf-8")
    recent = RecentQueries(paths)

    assert recent.list("Shop") == ["SELECT 1"]
    assert recent.list("Other") == []
    recent.add("Other", "SELECT 3")
    assert recent.list("Other") == ["SELECT 3"]


def test_file_from_a_newer_version_is_read_but_never_written(paths: AppPaths) -> None:
    paths.home.mkdir(parents=True)
    text = json.dumps({"version": 99, "connections": {"Shop": ["SELECT 1"]}})
    paths.recent_queries_file.write_text(text, encoding="utf-8")
    recent = RecentQueries(paths)

    recent.add("Shop", "SELECT 2")
    recent.forget_connection("Shop")

    assert recent.list("Shop") == ["SELECT 1"]
    assert paths.recent_queries_file.read_text(encoding="utf-8") == text
    assert any("newer QDBM Desktop" in notice for notice in recent.notices)


def test_failed_write_is_a_notice_not_an_error(paths: AppPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    recent = RecentQueries(paths)
    recent.add("Shop", "SELECT 1")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jsonfile, "atomic_write_text", disk_full)
    recent.add("Shop", "SELECT 2")
    monkeypatch.undo()

    assert recent.list("Shop") == ["SELECT 1"]
    assert any("recent queries cannot be saved" in notice and "No space left" in notice
               for notice in recent.notices)


def test_app_context_offers_the_recent_queries(context: AppContext) -> None:
    context.recent_queries.add("Shop", "SELECT 1")

    assert RecentQueries(context.paths).list("Shop") == ["SELECT 1"]


def test_a_connection_entry_that_is_not_a_list_is_named_and_kept_aside_before_it_is_replaced(
        paths: AppPaths) -> None:
    paths.home.mkdir(parents=True)
    original = json.dumps({"version": 1, "connections": {"Shop": ["SELECT 1"], "Other": {"q": "SELECT 2"}}})
    paths.recent_queries_file.write_text(original, encoding="utf-8")
    recent = RecentQueries(paths)

    assert recent.list("Other") == []
    assert recent.list("Shop") == ["SELECT 1"]
    (notice,) = recent.notices
    assert '"Other"' in notice and "is an object, not a list" in notice
    recent.add("Other", "SELECT 3")

    assert RecentQueries(paths).list("Other") == ["SELECT 3"]
    (kept,) = paths.home.glob("recent-queries.json.corrupt-*")
    assert kept.read_text(encoding="utf-8") == original
    assert any(kept.name in n for n in recent.notices)
    # A list no bad entry was dropped from needs no copy.
    recent.add("Shop", "SELECT 4")
    assert len(list(paths.home.glob("recent-queries.json.corrupt-*"))) == 1


@pytest.mark.parametrize("connections", ["abc", [], None, 5])
def test_a_connections_field_of_the_wrong_shape_sets_the_file_aside_instead_of_resetting_it(
        paths: AppPaths, connections: object) -> None:
    paths.home.mkdir(parents=True)
    original = json.dumps({"version": 1, "connections": connections})
    paths.recent_queries_file.write_text(original, encoding="utf-8")
    recent = RecentQueries(paths)

    assert recent.list("Shop") == []
    recent.add("Shop", "SELECT 1")

    (kept,) = paths.home.glob("recent-queries.json.corrupt-*")
    assert kept.read_text(encoding="utf-8") == original
    assert RecentQueries(paths).list("Shop") == ["SELECT 1"]
    assert "could not be read" in recent.notices[0]


def test_a_query_that_is_not_text_is_named_once_and_the_rest_of_the_list_is_kept(paths: AppPaths) -> None:
    paths.home.mkdir(parents=True)
    paths.recent_queries_file.write_text(
        json.dumps({"version": 1, "connections": {"Shop": ["SELECT 1", 7, None, "SELECT 2"]}}), encoding="utf-8")
    recent = RecentQueries(paths)

    for _ in range(3):
        assert recent.list("Shop") == ["SELECT 1", "SELECT 2"]

    assert sorted(recent.notices) == sorted(['recent-queries.json: query 2 of "Shop" is skipped: 7 is a whole '
                                             'number, not text; it is kept in the file',
                                             'recent-queries.json: query 3 of "Shop" is skipped: null instead of '
                                             'text; it is kept in the file'])
