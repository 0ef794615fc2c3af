from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt

from qdbm_desktop.core.connections import ConnectionProfile, SecretState
from qdbm_desktop.core.errors import MASK
from qdbm_desktop.gui.connections_model import (
    REENTER_PASSWORD,
    SORT_ROLE,
    TESTING,
    Column,
    ConnectionRow,
    ConnectionsModel,
    ConnectionsProxyModel,
)


def _rows() -> list[ConnectionRow]:
    profiles = [
        (ConnectionProfile(name="Orders (prod)", type="postgresql", host="db.example.org", database="shop",
                           user="reporter", last_used="2026-01-30T10:15:00+01:00",
                           last_test="ok: PostgreSQL 16.4", last_test_at="2026-01-30T10:14:00+01:00"),
         SecretState.STORED),
        (ConnectionProfile(name="Legacy ERP", type="oracle", host="erp", port=1522, database="ERP",
                           user="scott", last_test="failed: ORA-12541: no listener"),
         SecretState.UNREADABLE),
        (ConnectionProfile(name="Shop mirror", type="mysql", host="mirror", user="app",
                           last_used="2025-12-01T08:00:00+00:00"), SecretState.NONE),
        (ConnectionProfile(name="Reports", type="sqlserver", host="sql01", database="reports"),
         SecretState.STORED),
        (ConnectionProfile(name="Local file", type="sqlite", path="/data/local.sqlite"), SecretState.NONE),
        (ConnectionProfile(name="Edited by hand", type="db2", host="mainframe"), SecretState.NONE),
    ]
    return [ConnectionRow.from_profile(profile, state) for profile, state in profiles]


def _texts(model: Any, column: Column) -> list[str]:
    return [model.index(row, column).data() for row in range(model.rowCount())]


def test_model_with_rows_passes_the_model_tester(qtmodeltester: Any) -> None:
    model = ConnectionsModel()
    model.reload(_rows())
    qtmodeltester.check(model)
    # The tester stays attached: a reload must emit consistent signals too.
    model.reload(_rows()[:2])
    model.reload([])


def test_proxy_over_the_model_passes_the_model_tester(qtmodeltester: Any) -> None:
    model = ConnectionsModel()
    model.reload(_rows())
    proxy = ConnectionsProxyModel()
    proxy.setSourceModel(model)
    proxy.sort(Column.NAME)
    proxy.set_filter_text("e")
    qtmodeltester.check(proxy)


def test_password_column_masks_a_stored_password_and_asks_again_for_an_unreadable_one() -> None:
    model = ConnectionsModel()
    model.reload(_rows())
    assert _texts(model, Column.PASSWORD) == [MASK, REENTER_PASSWORD, "", MASK, "", ""]


def test_location_is_host_and_port_or_the_file() -> None:
    model = ConnectionsModel()
    model.reload(_rows())
    assert _texts(model, Column.LOCATION) == [
        "db.example.org:5432", "erp:1522", "mirror:3306", "sql01:1433", "/data/local.sqlite", "mainframe"]


def test_type_column_has_an_icon_per_known_type() -> None:
    model = ConnectionsModel()
    model.reload(_rows())
    icons = [model.index(row, Column.TYPE).data(Qt.ItemDataRole.DecorationRole) for row in range(6)]
    assert all(not icon.isNull() for icon in icons[:5])
    assert len({icon.cacheKey() for icon in icons[:5]}) == 5
    assert icons[5].isNull()  # an unknown type still shows, just without an icon
    assert model.index(5, Column.TYPE).data() == "db2"


def test_header_names_every_column() -> None:
    model = ConnectionsModel()
    titles = [model.headerData(c, Qt.Orientation.Horizontal) for c in Column]
    assert titles == ["Name", "Type", "Host / file", "Database", "User", "Password", "Last used",
                      "Last test"]


def test_last_used_sorts_by_instant_and_never_used_sorts_first() -> None:
    model = ConnectionsModel()
    model.reload(_rows())
    proxy = ConnectionsProxyModel()
    proxy.setSourceModel(model)
    proxy.sort(Column.LAST_USED, Qt.SortOrder.DescendingOrder)
    assert _texts(proxy, Column.NAME)[:2] == ["Orders (prod)", "Shop mirror"]
    assert proxy.index(0, Column.LAST_USED).data(SORT_ROLE) > proxy.index(1, Column.LAST_USED).data(SORT_ROLE)


def test_filter_needs_every_word_but_each_may_match_any_column() -> None:
    model = ConnectionsModel()
    model.reload(_rows())
    proxy = ConnectionsProxyModel()
    proxy.setSourceModel(model)
    proxy.set_filter_text("POSTGRESQL reporter")
    assert _texts(proxy, Column.NAME) == ["Orders (prod)"]
    proxy.set_filter_text("sqlite reporter")
    assert proxy.rowCount() == 0
    proxy.set_filter_text("  ")
    assert proxy.rowCount() == 6


def test_invalid_index_has_no_data() -> None:
    model = ConnectionsModel()
    model.reload(_rows())
    assert model.data(QModelIndex()) is None
    assert model.rowCount(model.index(0, 0)) == 0


def test_unreadable_password_and_last_test_outcome_carry_an_icon() -> None:
    model = ConnectionsModel()
    model.reload(_rows())

    def icon(row: int, column: Column) -> Any:
        return model.index(row, column).data(Qt.ItemDataRole.DecorationRole)

    assert not icon(1, Column.PASSWORD).isNull()  # unreadable
    assert icon(0, Column.PASSWORD) is None  # stored
    ok, failed = icon(0, Column.LAST_TEST), icon(1, Column.LAST_TEST)
    assert not ok.isNull() and not failed.isNull() and ok.cacheKey() != failed.cacheKey()
    assert icon(2, Column.LAST_TEST) is None  # never tested


def test_a_connection_being_tested_shows_testing_until_it_ends(qtmodeltester: Any) -> None:
    model = ConnectionsModel()
    model.reload(_rows())
    qtmodeltester.check(model)
    changed: list[int] = []
    model.dataChanged.connect(lambda top, bottom, roles=(): changed.append(top.row()))
    model.set_testing({"Orders (prod)"})
    assert changed == [0]
    assert model.index(0, Column.LAST_TEST).data() == TESTING
    assert model.index(0, Column.LAST_TEST).data(Qt.ItemDataRole.DecorationRole) is None
    assert model.is_testing("Orders (prod)")
    model.set_testing(set())
    assert model.index(0, Column.LAST_TEST).data() == "ok: PostgreSQL 16.4"
    assert changed == [0, 0]
