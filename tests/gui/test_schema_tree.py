"""The Migrate page's schema tree and completions, against real PostgreSQL, MariaDB and SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mysql.connector
import psycopg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem
from pytestqt.qtbot import QtBot

from qdbm_desktop.core.connections import ConnectionProfile
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.catalog import Relation
from qdbm_desktop.gui.main_window import MainWindow
from qdbm_desktop.gui.migrate_page import MigratePage
from qdbm_desktop.gui.schema_tree import LOADING_TEXT
from tests.integration.conftest import Server

SOURCE = "Browser source"
ODD = "Order Lines"


def _ddl(quote: Callable[[str], str], text_type: str) -> list[str]:
    odd = quote(ODD)
    return [
        f"CREATE TABLE browser_customers (id INTEGER PRIMARY KEY, name {text_type} NOT NULL, "
        f"email {text_type} UNIQUE)",
        f"CREATE TABLE {odd} (order_id INTEGER NOT NULL, line_no INTEGER NOT NULL, customer_id INTEGER, "
        f"{quote('Amount')} NUMERIC(10, 2), PRIMARY KEY (order_id, line_no), "
        f"FOREIGN KEY (customer_id) REFERENCES browser_customers (id))",
        "CREATE VIEW browser_customer_names AS SELECT name FROM browser_customers",
        "INSERT INTO browser_customers VALUES (1, 'Ada', 'ada@example.org'), (2, 'Bob', NULL)",
        f"INSERT INTO {odd} VALUES (10, 1, 1, 2.50), (10, 2, 2, 4.00)",
    ]


@dataclass
class Source:
    """A database holding the fixture, saved as the connection SOURCE."""

    engine: str
    #: The odd table's name as the engine quotes it.
    odd_quoted: str
    run: Callable[[str], None]
    default_schema: str


def _pg(server: Server, context: AppContext) -> Source:
    def run(sql: str) -> None:
        with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database,
                             autocommit=True) as conn:
            conn.execute(sql)

    for sql in _ddl(lambda n: f'"{n}"', "varchar(40)"):
        run(sql)
    context.connections.add(ConnectionProfile(name=SOURCE, type="postgresql", host=server.host,
                                              port=server.port, database=server.database, user=server.user))
    return Source("pg", f'"{ODD}"', run, "public")


def _mysql(server: Server, context: AppContext) -> Source:
    def run(sql: str) -> None:
        conn = mysql.connector.connect(host=server.host, port=server.port, user=server.user,
                                       password=server.password, database=server.database, autocommit=True)
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()

    for sql in _ddl(lambda n: f"`{n}`", "varchar(40)"):
        run(sql)
    context.connections.add(ConnectionProfile(name=SOURCE, type="mysql", host=server.host, port=server.port,
                                              database=server.database, user=server.user))
    return Source("mysql", f"`{ODD}`", run, server.database)


def _sqlite(path: Path, context: AppContext) -> Source:
    def run(sql: str) -> None:
        with sqlite3.connect(path) as conn:
            conn.execute(sql)

    for sql in _ddl(lambda n: f'"{n}"', "TEXT"):
        run(sql)
    context.connections.add(ConnectionProfile(name=SOURCE, type="sqlite", path=str(path)))
    return Source("sqlite", f'"{ODD}"', run, "main")


@pytest.fixture(params=["pg", "mysql", "sqlite"])
def source(request: pytest.FixtureRequest, context: AppContext, tmp_path: Path) -> Source:
    if request.param == "pg":
        return _pg(request.getfixturevalue("pg_database"), context)
    if request.param == "mysql":
        return _mysql(request.getfixturevalue("mysql_database"), context)
    return _sqlite(tmp_path / "browser-source.sqlite", context)


@pytest.fixture
def page(qtbot: QtBot, context: AppContext, source: Source) -> Iterator[MigratePage]:
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    with qtbot.waitExposed(window):
        window.show()
    page = window.migrate_page
    page.select_source(SOURCE)
    yield page
    page.cancel_all()


def _wait_for_tables(qtbot: QtBot, page: MigratePage, source: Source) -> QTreeWidgetItem:
    tree = page.schema_tree
    qtbot.waitUntil(lambda: tree.schema_item(source.default_schema) is not None, timeout=45_000)
    schema = tree.schema_item(source.default_schema)
    assert schema is not None
    qtbot.waitUntil(lambda: schema.isExpanded() and schema.childCount() > 0
                    and _text(schema, 0) != LOADING_TEXT, timeout=45_000)
    return schema


def _text(item: QTreeWidgetItem, row: int) -> str:
    child = item.child(row)
    return child.text(0) if child is not None else ""


def _names(schema: QTreeWidgetItem, *, visible: bool = False) -> list[str]:
    children = [schema.child(i) for i in range(schema.childCount())]
    return [c.text(0) for c in children if c is not None and not (visible and c.isHidden())]


def _relation(page: MigratePage, source: Source, name: str) -> QTreeWidgetItem:
    item = page.schema_tree.relation_item(TableName(name, source.default_schema))
    assert item is not None, name
    return item


def test_the_tree_lists_tables_and_views_and_reads_columns_only_on_expand(
        qtbot: QtBot, page: MigratePage, source: Source) -> None:
    schema = _wait_for_tables(qtbot, page, source)
    # Sorted by each engine's own collation, so compared as a set.
    assert sorted(_names(schema)) == sorted([ODD, "browser_customer_names  (view)", "browser_customers"])
    odd = _relation(page, source, ODD)
    assert odd.childCount() == 0  # lazily: nothing read before the user expands it
    odd.setExpanded(True)
    qtbot.waitUntil(lambda: odd.childCount() == 4 and _text(odd, 0) != LOADING_TEXT, timeout=45_000)
    labels = [_text(odd, i) for i in range(odd.childCount())]
    assert labels[0].startswith("order_id") and "[PK]" in labels[0] and "NOT NULL" in labels[0]
    assert "[PK]" in labels[1]
    assert labels[2].startswith("customer_id") and "[FK]" in labels[2]
    assert labels[3].startswith("Amount") and "10" in labels[3] and "[" not in labels[3]
    customers = _relation(page, source, "browser_customers")
    customers.setExpanded(True)
    qtbot.waitUntil(lambda: customers.childCount() == 3 and _text(customers, 0) != LOADING_TEXT,
                    timeout=45_000)
    assert "[UQ]" in _text(customers, 2)


def test_the_filter_hides_other_tables_and_refresh_reads_new_ones(
        qtbot: QtBot, page: MigratePage, source: Source) -> None:
    schema = _wait_for_tables(qtbot, page, source)
    page.schema_tree.filter_edit.setText("ORDER")
    assert _names(schema, visible=True) == [ODD]
    page.schema_tree.filter_edit.setText("")
    assert len(_names(schema, visible=True)) == 3
    source.run("CREATE TABLE browser_added (x INTEGER)")
    assert "browser_added" not in _names(schema)
    qtbot.mouseClick(page.schema_tree.refresh_button, Qt.MouseButton.LeftButton)
    schema = _wait_for_tables(qtbot, page, source)
    assert "browser_added" in _names(schema)


def test_double_click_inserts_the_quoted_name_and_query_this_table_writes_a_select_that_runs(
        qtbot: QtBot, page: MigratePage, source: Source) -> None:
    _wait_for_tables(qtbot, page, source)
    page.editor.set_query("SELECT * FROM ")
    cursor = page.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    page.editor.setTextCursor(cursor)
    tree = page.schema_tree.tree
    odd = _relation(page, source, ODD)
    rect = tree.visualItemRect(odd)
    # A user's double-click: Qt sees a press and release, then the double-click.
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert page.editor.query() == f"SELECT * FROM {source.odd_quoted}"

    menu = page.schema_tree.context_menu_for(odd)
    action = next(a for a in menu.actions() if a.text() == "&Query this table")
    action.trigger()
    quote = source.odd_quoted[0]
    expected = f"SELECT order_id, line_no, customer_id, {quote}Amount{quote}\nFROM {source.odd_quoted}"
    qtbot.waitUntil(lambda: page.editor.query() == expected, timeout=45_000)
    page.preview()
    qtbot.waitUntil(lambda: page.preview_button.isEnabled() and page.preview_status_label.text() != "",
                    timeout=45_000)
    assert page.preview_model.rowCount() == 2, page.preview_status_label.text()
    assert page.preview_model.columnCount() == 4


def test_the_editor_completes_the_sources_table_and_column_names(
        qtbot: QtBot, page: MigratePage, source: Source) -> None:
    completion = page.editor.completion
    qtbot.waitUntil(lambda: "browser_customers" in completion.words(), timeout=45_000)
    assert {ODD, "browser_customer_names", "customer_id", "Amount", "email"} <= set(completion.words())
    page.editor.set_query("")
    page.editor.setFocus()
    qtbot.keyClicks(page.editor, "SELECT * FROM browser_cu")
    qtbot.waitUntil(lambda: completion.popup.isVisible(), timeout=5_000)
    shown = [completion.completer.completionModel().index(i, 0).data()
             for i in range(completion.completer.completionCount())]
    assert shown == ["browser_customer_names", "browser_customers"]
    completion.popup.setCurrentIndex(completion.completer.completionModel().index(1, 0))
    qtbot.keyClick(completion.popup, Qt.Key.Key_Return)
    assert page.editor.query() == "SELECT * FROM browser_customers"
    qtbot.keyClicks(page.editor, " WHERE Ord")
    qtbot.waitUntil(lambda: completion.popup.isVisible(), timeout=5_000)
    qtbot.keyClick(completion.popup, Qt.Key.Key_Return)
    assert page.editor.query() == f"SELECT * FROM browser_customers WHERE {source.odd_quoted}"


@pytest.mark.parametrize("source", ["sqlite"], indirect=True)
def test_the_table_field_completes_the_destinations_tables_and_shows_their_columns(
        qtbot: QtBot, page: MigratePage, context: AppContext, tmp_path: Path) -> None:
    target = tmp_path / "browser-target.sqlite"
    with sqlite3.connect(target) as conn:
        conn.execute("CREATE TABLE browser_existing (id INTEGER PRIMARY KEY, label TEXT)")
    context.connections.add(ConnectionProfile(name="Browser target", type="sqlite", path=str(target)))
    page.refresh_connections()
    page.select_target("Browser target")
    model: Any = page.catalog_feeds.table_completer.model()
    qtbot.waitUntil(lambda: model.stringList() == ["browser_existing"], timeout=45_000)
    page.table_edit.setText("browser_existing")
    qtbot.waitUntil(lambda: "label" in page.table_edit.toolTip(), timeout=45_000)
    assert "id" in page.table_edit.toolTip()
    assert "exists" in page.target_status_label.text()


def test_relations_read_so_far_are_offered(qtbot: QtBot, page: MigratePage, source: Source) -> None:
    _wait_for_tables(qtbot, page, source)
    relations: list[Relation] = page.schema_tree.relations()
    assert {r.name.name for r in relations} >= {ODD, "browser_customers", "browser_customer_names"}
