"""Catalog names for the Migrate page's completions, read on pool threads.

The SQL editor completes the source's table and column names; the destination's Table field
completes the destination's existing tables. Each is read again when its connection changes;
the answer of a connection the user has since left is dropped.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QLineEdit

from qdbm_desktop.core import browse
from qdbm_desktop.core.dialects.catalog import Relation
from qdbm_desktop.core.migration import Endpoint
from qdbm_desktop.gui.sql_editor import SqlEditor
from qdbm_desktop.gui.workers import TaskRunner


class CatalogFeeds(QObject):
    """Feeds the editor's completion from the source and the Table field's from the destination."""

    def __init__(self, runner: TaskRunner, editor: SqlEditor, table_edit: QLineEdit) -> None:
        super().__init__(editor)
        self._runner = runner
        self._editor = editor
        self._source_generation = 0
        self._target_generation = 0
        self._table_model = QStringListModel(self)
        self._table_completer = QCompleter(self._table_model, self)
        self._table_completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._table_completer.setFilterMode(Qt.MatchFlag.MatchContains)
        table_edit.setCompleter(self._table_completer)

    @property
    def table_completer(self) -> QCompleter:
        return self._table_completer

    def set_source(self, endpoint: Endpoint | None) -> None:
        self._source_generation += 1
        generation = self._source_generation
        self._editor.completion.set_words({})
        if endpoint is None:
            return
        dialect, default = endpoint.dialect, browse.default_schema(endpoint)

        def fill(names: browse.CatalogNames) -> None:
            if generation != self._source_generation:
                return
            inserts = {column: browse.quoted_name(dialect, column) for column in names.columns}
            for table in names.tables:
                schema, _, name = table.rpartition(".")
                parts = (schema, name) if schema else (name,)
                inserts[table] = ".".join(browse.quoted_name(dialect, part) for part in parts)
                if schema == default:
                    inserts.pop(table)
            self._editor.completion.set_words(inserts)

        self._runner.start("Source catalog", lambda report, cancel: browse.catalog_names(endpoint),
                           on_success=fill)

    def set_target(self, endpoint: Endpoint | None) -> None:
        self._target_generation += 1
        generation = self._target_generation
        self._table_model.setStringList([])
        if endpoint is None:
            return
        default = browse.default_schema(endpoint)

        def fill(relations: list[Relation]) -> None:
            if generation == self._target_generation:
                self._table_model.setStringList([
                    r.name.name if r.name.schema in (None, default) else str(r.name) for r in relations])

        self._runner.start("Destination tables", lambda report, cancel: browse.all_relations(endpoint),
                           on_success=fill)

    def cancel(self) -> None:
        self._source_generation += 1
        self._target_generation += 1
