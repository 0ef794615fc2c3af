"""The schema browser of the Migrate page: the source's schemas, tables and views, and columns.

Schemas are listed when a source is chosen; a schema's tables and a table's columns are read
when the user expands it, each on a pool thread through ``core.browse``. Results of a source
the user has since left (or of a refresh) are dropped by a generation count, so the tree only
ever shows one connection. Widgets are touched on the GUI thread only.
"""

from __future__ import annotations

import threading
from enum import IntEnum

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from qdbm_desktop.core import browse
from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.dialects.catalog import Relation, RelationKind, TableShape
from qdbm_desktop.core.migration import Endpoint
from qdbm_desktop.gui.error_line import StatusLabel
from qdbm_desktop.gui.workers import TaskReport, TaskRunner

_KIND_ROLE = Qt.ItemDataRole.UserRole
_VALUE_ROLE = Qt.ItemDataRole.UserRole + 1
_STATE_ROLE = Qt.ItemDataRole.UserRole + 2
LOADING_TEXT = "Loading…"


class NodeKind(IntEnum):
    SCHEMA = 1
    RELATION = 2
    COLUMN = 3
    MESSAGE = 4


class _Load(IntEnum):
    NOT_LOADED = 0
    LOADING = 1
    LOADED = 2


class SchemaTree(QWidget):
    """A filterable tree of one connection's schemas → tables and views → columns.

    Signals: ``insert_requested(str)`` with a name quoted for the source's SQL (double-click);
    ``query_requested(str)`` with ``SELECT <columns> FROM <table>`` ("Query this table");
    ``copy_tables_requested()`` from the context menu's "Copy tables…".
    """

    insert_requested = Signal(str)
    query_requested = Signal(str)
    copy_tables_requested = Signal()

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("schemaTree")
        self._runner = runner
        self._endpoint: Endpoint | None = None
        self._generation = 0
        self._shapes: dict[TableName, TableShape] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self._filter = QLineEdit(self)
        self._filter.setObjectName("schemaFilter")
        self._filter.setPlaceholderText("Filter tables")
        self._filter.setClearButtonEnabled(True)
        self._filter.setAccessibleName("Filter the source's tables")
        self._filter.textChanged.connect(self._on_filter_text_changed)
        top.addWidget(self._filter, 1)
        self._refresh_button = QToolButton(self)
        self._refresh_button.setObjectName("schemaRefresh")
        self._refresh_button.setText("⟳")
        self._refresh_button.setToolTip("Read the source's schemas and tables again")
        self._refresh_button.setAccessibleName("Refresh the schema tree")
        self._refresh_button.clicked.connect(self.refresh)
        top.addWidget(self._refresh_button)
        layout.addLayout(top)
        self._tree = QTreeWidget(self)
        self._tree.setObjectName("schemaTreeView")
        self._tree.setHeaderHidden(True)
        self._tree.setAccessibleName("Source tables")
        self._tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._tree.itemExpanded.connect(self._on_tree_item_expanded)
        self._tree.itemDoubleClicked.connect(self._on_tree_item_double_clicked)
        self._tree.customContextMenuRequested.connect(self._on_tree_context_menu_requested)
        layout.addWidget(self._tree, 1)
        self._status = StatusLabel(self, object_name="schemaStatus")
        self._status.setWordWrap(True)
        layout.addWidget(self._status)
        self._copy_button = QPushButton("Cop&y tables…", self)
        self._copy_button.setObjectName("copyTablesOpen")
        self._copy_button.setToolTip("Copy several of the source's tables to the destination in one run")
        self._copy_button.clicked.connect(self.copy_tables_requested)
        layout.addWidget(self._copy_button)

    # -- public -----------------------------------------------------------------------------

    @property
    def tree(self) -> QTreeWidget:
        return self._tree

    @property
    def filter_edit(self) -> QLineEdit:
        return self._filter

    @property
    def copy_button(self) -> QPushButton:
        return self._copy_button

    def current_relation(self) -> Relation | None:
        """The table or view selected in the tree (or the table of a selected column)."""
        item = self._tree.currentItem()
        while item is not None and item.data(0, _KIND_ROLE) not in (NodeKind.RELATION, NodeKind.SCHEMA):
            item = item.parent()
        if item is not None and item.data(0, _KIND_ROLE) == NodeKind.RELATION:
            relation: Relation = item.data(0, _VALUE_ROLE)
            return relation
        return None

    @property
    def refresh_button(self) -> QToolButton:
        return self._refresh_button

    @property
    def endpoint(self) -> Endpoint | None:
        return self._endpoint

    def set_endpoint(self, endpoint: Endpoint | None) -> None:
        """Show this connection's schemas (read in the background); None empties the tree."""
        self._endpoint = endpoint
        self.refresh()

    def refresh(self) -> None:
        """Forget what was read and list the schemas again."""
        self._generation += 1
        self._shapes.clear()
        self._tree.clear()
        self._status.show_message("")
        endpoint = self._endpoint
        if endpoint is None:
            return
        generation = self._generation
        self._status.show_message("Reading the schemas…")
        self._runner.start(
            "Schema list",
            lambda report, cancel: browse.list_schemas(endpoint),
            on_success=lambda schemas: self._on_schemas(generation, schemas),
            on_failure=lambda message: self._on_failed(generation, None, message),
        )

    def cancel(self) -> None:
        """Ignore whatever is still being read (the window is closing)."""
        self._generation += 1

    def relations(self) -> list[Relation]:
        """The tables and views read so far, in tree order."""
        return [item.data(0, _VALUE_ROLE) for schema in self._schemas() for item in _children(schema)
                if item.data(0, _KIND_ROLE) == NodeKind.RELATION]

    def _schemas(self) -> list[QTreeWidgetItem]:
        items = (self._tree.topLevelItem(i) for i in range(self._tree.topLevelItemCount()))
        return [item for item in items if item is not None]

    def schema_item(self, name: str) -> QTreeWidgetItem | None:
        return next((item for item in self._schemas() if item.data(0, _VALUE_ROLE) == name), None)

    def relation_item(self, table: TableName) -> QTreeWidgetItem | None:
        schema = self.schema_item(table.schema or "")
        if schema is None:
            return None
        return next((item for item in _children(schema) if _relation_name(item) == table.name), None)

    def insert_text(self, item: QTreeWidgetItem) -> str | None:
        """What a double-click on ``item`` inserts: its name, quoted where the dialect needs it."""
        endpoint = self._endpoint
        kind = item.data(0, _KIND_ROLE)
        if endpoint is None:
            return None
        dialect = endpoint.dialect
        if kind == NodeKind.SCHEMA:
            return browse.quoted_name(dialect, item.data(0, _VALUE_ROLE))
        if kind == NodeKind.RELATION:
            relation: Relation = item.data(0, _VALUE_ROLE)
            return browse.quoted_table(dialect, relation.name, browse.default_schema(endpoint))
        if kind == NodeKind.COLUMN:
            return browse.quoted_name(dialect, item.data(0, _VALUE_ROLE))
        return None

    def query_table(self, table: TableName) -> None:
        """Emit ``query_requested`` with the table's SELECT (its columns read first if need be)."""
        endpoint = self._endpoint
        if endpoint is None:
            return
        shape = self._shapes.get(table)
        if shape is not None:
            self.query_requested.emit(browse.select_statement(endpoint.dialect, shape,
                                                              browse.default_schema(endpoint)))
            return
        generation = self._generation

        def described(found: TableShape) -> None:
            if generation == self._generation:
                self._shapes[table] = found
                self.query_table(table)

        self._runner.start(
            "Table columns",
            lambda report, cancel: browse.describe_table(endpoint, table),
            on_success=described,
            on_failure=lambda message: self._on_failed(generation, None, message),
        )

    # -- loading ----------------------------------------------------------------------------

    def _on_schemas(self, generation: int, schemas: list[str]) -> None:
        if generation != self._generation:
            return
        self._status.show_message("" if schemas else "No schema holds a table here.")
        for schema in schemas:
            item = QTreeWidgetItem([schema])
            item.setData(0, _KIND_ROLE, NodeKind.SCHEMA)
            item.setData(0, _VALUE_ROLE, schema)
            item.setData(0, _STATE_ROLE, _Load.NOT_LOADED)
            item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
            self._tree.addTopLevelItem(item)
        default = self._endpoint and browse.default_schema(self._endpoint)
        first = self.schema_item(default or "") or (self._schemas()[0] if len(schemas) == 1 else None)
        if first is not None:
            first.setExpanded(True)
        if self._filter.text():
            self._load_every_schema()

    def _on_tree_item_expanded(self, item: QTreeWidgetItem) -> None:
        if item.data(0, _STATE_ROLE) == _Load.NOT_LOADED:
            self._load(item)

    def _load(self, item: QTreeWidgetItem) -> None:
        endpoint = self._endpoint
        if endpoint is None:
            return
        item.setData(0, _STATE_ROLE, _Load.LOADING)
        loading = QTreeWidgetItem([LOADING_TEXT])
        loading.setData(0, _KIND_ROLE, NodeKind.MESSAGE)
        item.addChild(loading)
        generation = self._generation
        if item.data(0, _KIND_ROLE) == NodeKind.SCHEMA:
            schema: str = item.data(0, _VALUE_ROLE)
            self._runner.start(
                "Table list",
                lambda report, cancel: browse.list_relations(endpoint, schema),
                on_success=lambda found: self._on_relations(generation, item, found),
                on_failure=lambda message: self._on_failed(generation, item, message),
            )
            return
        relation: Relation = item.data(0, _VALUE_ROLE)

        def work(report: TaskReport, cancel: threading.Event) -> TableShape:
            return browse.describe_table(endpoint, relation.name)

        self._runner.start(
            "Table columns",
            work,
            on_success=lambda shape: self._on_shape(generation, item, shape),
            on_failure=lambda message: self._on_failed(generation, item, message),
        )

    def _on_relations(self, generation: int, item: QTreeWidgetItem, relations: list[Relation]) -> None:
        if generation != self._generation:
            return
        item.takeChildren()
        item.setData(0, _STATE_ROLE, _Load.LOADED)
        for relation in relations:
            view = relation.kind is RelationKind.VIEW
            child = QTreeWidgetItem([relation.name.name + ("  (view)" if view else "")])
            child.setData(0, _KIND_ROLE, NodeKind.RELATION)
            child.setData(0, _VALUE_ROLE, relation)
            child.setData(0, _STATE_ROLE, _Load.NOT_LOADED)
            child.setToolTip(0, f"{'View' if view else 'Table'} {relation.name}: double-click inserts its "
                                "name; right-click to query it")
            child.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
            item.addChild(child)
        if not relations:
            _message_child(item, "No tables or views")
        self._apply_filter()

    def _on_shape(self, generation: int, item: QTreeWidgetItem, shape: TableShape) -> None:
        if generation != self._generation:
            return
        self._shapes[shape.table] = shape
        item.takeChildren()
        item.setData(0, _STATE_ROLE, _Load.LOADED)
        for column in shape.columns:
            label = browse.column_label(shape, column.name)
            child = QTreeWidgetItem([label])
            child.setToolTip(0, f"{label}\nDouble-click inserts the name")
            child.setData(0, _KIND_ROLE, NodeKind.COLUMN)
            child.setData(0, _VALUE_ROLE, column.name)
            if browse.is_key_column(shape, column.name):
                font = child.font(0)
                font.setBold(True)
                child.setFont(0, font)
            item.addChild(child)

    def _on_failed(self, generation: int, item: QTreeWidgetItem | None, message: str) -> None:
        if generation != self._generation:
            return
        if item is not None:
            item.takeChildren()
            item.setData(0, _STATE_ROLE, _Load.NOT_LOADED)
            item.setExpanded(False)
        self._status.show_message(message, error=True)

    # -- filter -----------------------------------------------------------------------------

    def _on_filter_text_changed(self, _text: str) -> None:
        self._load_every_schema()
        self._apply_filter()

    def _load_every_schema(self) -> None:
        """A filter looks at every schema's tables: read those not read yet."""
        if not self._filter.text().strip():
            return
        for item in self._schemas():
            if item.data(0, _STATE_ROLE) == _Load.NOT_LOADED:
                self._load(item)

    def _apply_filter(self) -> None:
        """Hide the tables and views whose name does not contain the filter (any case)."""
        needle = self._filter.text().strip().lower()
        for schema in self._schemas():
            shown = 0
            for child in _children(schema):
                if child.data(0, _KIND_ROLE) != NodeKind.RELATION:
                    continue
                hidden = bool(needle) and needle not in _relation_name(child).lower()
                child.setHidden(hidden)
                shown += not hidden
            loaded = schema.data(0, _STATE_ROLE) == _Load.LOADED
            schema.setHidden(bool(needle) and loaded and shown == 0)
            if needle and shown:
                schema.setExpanded(True)

    # -- actions ----------------------------------------------------------------------------

    def _on_tree_item_double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        text = self.insert_text(item)
        if text is not None:
            self.insert_requested.emit(text)

    def _on_tree_context_menu_requested(self, point: QPoint) -> None:
        item = self._tree.itemAt(point)
        menu = self._context_menu(item)
        menu.exec(self._tree.viewport().mapToGlobal(point))
        menu.deleteLater()

    def _context_menu(self, item: QTreeWidgetItem | None) -> QMenu:
        menu = QMenu(self)
        if item is not None and item.data(0, _KIND_ROLE) == NodeKind.RELATION:
            relation: Relation = item.data(0, _VALUE_ROLE)
            query = QAction("&Query this table", menu)
            query.triggered.connect(lambda: self.query_table(relation.name))
            menu.addAction(query)
        if item is not None and item.data(0, _KIND_ROLE) != NodeKind.MESSAGE:
            insert = QAction("&Insert the name", menu)
            insert.triggered.connect(lambda: self._on_tree_item_double_clicked(item, 0))
            menu.addAction(insert)
        copy = QAction("&Copy tables…", menu)
        copy.triggered.connect(self.copy_tables_requested)
        menu.addAction(copy)
        refresh = QAction("&Refresh", menu)
        refresh.triggered.connect(self.refresh)
        menu.addAction(refresh)
        return menu

    def context_menu_for(self, item: QTreeWidgetItem | None) -> QMenu:
        """The context menu ``item`` gets (for tests and the keyboard's menu key)."""
        return self._context_menu(item)


def _children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    children = (item.child(j) for j in range(item.childCount()))
    return [child for child in children if child is not None]


def _relation_name(item: QTreeWidgetItem) -> str:
    relation = item.data(0, _VALUE_ROLE)
    return relation.name.name if isinstance(relation, Relation) else ""


def _message_child(item: QTreeWidgetItem, text: str) -> None:
    child = QTreeWidgetItem([text])
    child.setData(0, _KIND_ROLE, NodeKind.MESSAGE)
    child.setDisabled(True)
    item.addChild(child)
