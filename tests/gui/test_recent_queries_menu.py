"""The Recent button: lists a source's recent queries and hands back the one picked."""

from __future__ import annotations

from typing import Any

import pytest

from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.recent_queries import RecentQueries
from qdbm_desktop.gui.recent_queries_menu import RecentQueriesButton, query_title


@pytest.fixture
def recent(paths: AppPaths) -> RecentQueries:
    return RecentQueries(paths)


@pytest.fixture
def button(qtbot: Any, recent: RecentQueries) -> RecentQueriesButton:
    widget = RecentQueriesButton(recent)
    qtbot.addWidget(widget)
    return widget


def _open_menu(button: RecentQueriesButton) -> None:
    # What opening the drop-down does, without a popup that needs a mouse to close.
    button.menu().aboutToShow.emit()


def test_lists_the_sources_queries_newest_first_by_their_first_line(
        button: RecentQueriesButton, recent: RecentQueries) -> None:
    recent.add("Shop", "SELECT 1")
    recent.add("Shop", "-- open orders\nSELECT * FROM orders\nWHERE status = 'open'")
    recent.add("Warehouse", "SELECT * FROM stock")
    button.set_connection("Shop")

    _open_menu(button)

    actions = button.query_actions()
    assert [a.text() for a in actions] == ["-- open orders …", "SELECT 1"]
    assert actions[0].toolTip() == "-- open orders\nSELECT * FROM orders\nWHERE status = 'open'"
    assert button.menu().toolTipsVisible()


def test_choosing_an_entry_emits_the_whole_query(qtbot: Any, button: RecentQueriesButton,
                                                 recent: RecentQueries) -> None:
    query = "SELECT id,\n       name\n  FROM customers"
    recent.add("Shop", query)
    button.set_connection("Shop")
    _open_menu(button)

    with qtbot.waitSignal(button.query_chosen) as blocker:
        button.query_actions()[0].trigger()

    assert blocker.args == [query]


def test_menu_shows_a_query_run_after_the_source_was_chosen(button: RecentQueriesButton,
                                                             recent: RecentQueries) -> None:
    button.set_connection("Shop")
    recent.add("Shop", "SELECT 42")

    _open_menu(button)

    assert [a.toolTip() for a in button.query_actions()] == ["SELECT 42"]


def test_long_first_line_is_elided_and_ampersands_are_shown(button: RecentQueriesButton,
                                                             recent: RecentQueries) -> None:
    long_query = "SELECT " + ", ".join(f"column_number_{n}" for n in range(60)) + " FROM t"
    recent.add("Shop", long_query)
    recent.add("Shop", "SELECT a & b FROM t")
    button.set_connection("Shop")

    _open_menu(button)

    short, long_ = button.query_actions()
    assert short.text() == "SELECT a && b FROM t"
    assert long_.text().endswith("…") and len(long_.text()) < len(long_query)
    assert long_.toolTip() == long_query


def test_source_without_queries_says_so(button: RecentQueriesButton) -> None:
    button.set_connection("Shop")

    _open_menu(button)

    assert button.query_actions() == []
    entries = button.menu().actions()
    assert len(entries) == 1 and not entries[0].isEnabled()
    assert entries[0].text() == "No queries run on Shop yet"


def test_button_is_disabled_until_a_source_is_chosen(button: RecentQueriesButton) -> None:
    assert not button.isEnabled()
    assert "Choose a source" in button.toolTip()

    button.set_connection("Shop")

    assert button.isEnabled()
    assert button.connection == "Shop"


def test_clear_forgets_only_this_sources_queries(button: RecentQueriesButton, recent: RecentQueries,
                                                 paths: AppPaths) -> None:
    recent.add("Shop", "SELECT 1")
    recent.add("Warehouse", "SELECT 2")
    button.set_connection("Shop")
    _open_menu(button)

    clear = [a for a in button.menu().actions() if a.objectName() == "clearRecentQueries"]
    clear[0].trigger()

    assert RecentQueries(paths).list("Shop") == []
    assert RecentQueries(paths).list("Warehouse") == ["SELECT 2"]
    assert button.query_actions() == []


@pytest.mark.parametrize(("query", "title"), [
    ("SELECT 1", "SELECT 1"),
    ("\n\n   SELECT 1  \n", "SELECT 1"),
    ("SELECT a,\n  b FROM t", "SELECT a, …"),
    ("", ""),
])
def test_query_title_is_the_first_non_blank_line(query: str, title: str) -> None:
    assert query_title(query) == title
