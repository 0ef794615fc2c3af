"""The "Recent" button of the query editor: a menu of the queries last run on the source."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from qdbm_desktop.core.recent_queries import RecentQueries

#: Menu entries are cut to this width in pixels; the tooltip holds the whole query.
MAX_ENTRY_WIDTH = 480


def query_title(query: str) -> str:
    """The line a query is listed by: its first non-blank line, marked when more follows."""
    lines = [line.strip() for line in query.splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[0] + (" …" if len(lines) > 1 else "")


class RecentQueriesButton(QToolButton):
    """Offers the queries last run on the current source connection, newest first.

    The menu is read from the store each time it opens, so a query run a moment ago is there.

    Signals:
        query_chosen(str): the full text of the query the user picked.
    """

    query_chosen = Signal(str)

    def __init__(self, recent: RecentQueries, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recentQueriesButton")
        self._recent = recent
        self._connection: str | None = None
        self.setText("Recent")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._menu = QMenu(self)
        self._menu.setToolTipsVisible(True)
        self._menu.aboutToShow.connect(self._on_menu_about_to_show)
        self.setMenu(self._menu)
        self.set_connection(None)

    @property
    def connection(self) -> str | None:
        return self._connection

    def set_connection(self, name: str | None) -> None:
        """List the queries of the source connection ``name`` (None: no source chosen)."""
        self._connection = name
        self.setEnabled(name is not None)
        if name is None:
            self.setToolTip("Choose a source connection to see the queries run on it")
        else:
            self.setToolTip(f"Queries recently run on {name}")
        self.refresh_menu()

    def refresh_menu(self) -> None:
        """Rebuild the menu from the store."""
        self._menu.clear()
        if self._connection is None:
            return
        queries = self._recent.list(self._connection)
        if not queries:
            empty = self._menu.addAction(f"No queries run on {self._connection} yet")
            empty.setEnabled(False)
            return
        metrics = self._menu.fontMetrics()
        for query in queries:
            title = metrics.elidedText(query_title(query), Qt.TextElideMode.ElideRight, MAX_ENTRY_WIDTH)
            # A single "&" would be taken for a mnemonic marker and vanish.
            action = QAction(title.replace("&", "&&"), self._menu)
            action.setToolTip(query)
            action.setData(query)
            action.triggered.connect(self._on_entry_triggered)
            self._menu.addAction(action)
        self._menu.addSeparator()
        clear = self._menu.addAction("Clear this list")
        clear.setObjectName("clearRecentQueries")
        clear.setToolTip(f"Forget the queries run on {self._connection}")
        clear.triggered.connect(self._on_clear_triggered)

    def query_actions(self) -> list[QAction]:
        """The menu's entries that stand for a query."""
        return [action for action in self._menu.actions() if isinstance(action.data(), str)]

    @Slot()
    def _on_menu_about_to_show(self) -> None:
        self.refresh_menu()

    @Slot()
    def _on_entry_triggered(self) -> None:
        action = self.sender()
        if isinstance(action, QAction) and isinstance(action.data(), str):
            self.query_chosen.emit(action.data())

    @Slot()
    def _on_clear_triggered(self) -> None:
        if self._connection is not None:
            self._recent.forget_connection(self._connection)
            self.refresh_menu()
