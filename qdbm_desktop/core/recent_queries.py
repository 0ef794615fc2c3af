"""The queries last run on each source connection (recent-queries.json), newest first."""

from __future__ import annotations

import builtins
import copy
import json
import logging
from collections.abc import Callable
from typing import Any

from qdbm_desktop.core.errors import ConfigFileError
from qdbm_desktop.core.jsonfile import Document, JsonDocumentFile
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.schema import Anything, Invalid, ListOf, MapOf, Text, shown

FORMAT_VERSION = 1
DEFAULT_LIMIT = 20
#: A longer text is a pasted data dump rather than a query worth offering again, and would bloat the file.
MAX_QUERY_CHARS = 100_000

log = logging.getLogger(__name__)


def _empty() -> Document:
    return {"connections": {}}


#: Each connection's entry: its queries, newest first. A blank or repeated text carries nothing and
#: is dropped quietly; anything else that is not text is a notice, and kept until the list changes.
QUERY_LIST = ListOf(Anything())
QUERY_TEXT = Text(max_length=MAX_QUERY_CHARS)


def _clean(queries: Any, limit: int) -> list[str]:
    """The stored list of a hand-edited file, keeping only distinct non-empty texts."""
    if not isinstance(queries, list):
        return []
    kept: list[str] = []
    for query in queries:
        if isinstance(query, str) and query.strip() and query not in kept and len(query) <= MAX_QUERY_CHARS:
            kept.append(query)
    return kept[:limit]


def _problems(connection: str, queries: Any) -> builtins.list[str]:
    """Why (part of) a connection's stored entry cannot be read: one reason per bad part."""
    try:
        QUERY_LIST.check(queries)
    except Invalid as exc:
        return [f"the queries of {shown(connection)} are skipped: {exc}"]
    found = []
    for number, query in enumerate(queries, start=1):
        try:
            QUERY_TEXT.check(query)
        except Invalid as exc:
            found.append(f"query {number} of {shown(connection)} is skipped: {exc}")
    return found


def _same(first: Any, second: Any) -> bool:
    # As JSON text: a NaN a hand edit left in the file never equals itself as a float.
    return json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


class RecentQueries:
    """Per connection name, the last ``limit`` distinct queries, newest first.

    Remembering a query is a convenience: a file that cannot be written (read-only, written by
    a newer version, a full disk) is reported in ``notices`` and never stops the caller.
    """

    def __init__(self, paths: AppPaths, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._limit = limit
        self._file = JsonDocumentFile(paths.recent_queries_file, FORMAT_VERSION, default=_empty,
                                      shape={"connections": MapOf(Anything())})

    @property
    def notices(self) -> builtins.list[str]:
        return self._file.notices

    @property
    def limit(self) -> int:
        return self._limit

    def list(self, connection: str) -> builtins.list[str]:
        """The queries run on ``connection``, newest first (empty for an unknown name)."""
        connections = self._connections(self._file.load())
        for problem in _problems(connection, connections.get(connection, [])):
            self._file.notify(f"{self._file.path.name}: {problem}; it is kept in the file")
        return _clean(connections.get(connection), self._limit)

    def add(self, connection: str, query: str) -> None:
        """Put ``query`` first for ``connection``; an identical earlier entry moves up instead of repeating.

        Surrounding blank lines and trailing spaces are dropped, so re-running a query with a
        stray newline does not make a second entry; an empty or huge text is not kept.
        """
        text = query.strip("\n\r").rstrip()
        if not text.strip() or len(text) > MAX_QUERY_CHARS:
            return

        def change(connections: dict[str, Any]) -> None:
            previous = [q for q in _clean(connections.get(connection), self._limit) if q != text]
            connections[connection] = [text, *previous][: self._limit]

        self._change(change)

    def rename_connection(self, old: str, new: str) -> None:
        """Keep the queries of a renamed connection; they replace any the new name had."""
        if old == new:
            return

        def change(connections: dict[str, Any]) -> None:
            if old in connections:
                connections[new] = connections.pop(old)

        self._change(change)

    def forget_connection(self, name: str) -> None:
        """Drop the queries of a deleted connection."""

        def change(connections: dict[str, Any]) -> None:
            connections.pop(name, None)

        self._change(change)

    def _connections(self, document: Document) -> dict[str, Any]:
        connections = document.get("connections")
        if not isinstance(connections, dict):
            # Only when the file is read-only: otherwise a wrong shape was set aside at load.
            connections = {}
            document["connections"] = connections
        return connections

    def _change(self, change: Callable[[dict[str, Any]], None]) -> None:
        try:
            with self._file.locked():
                document = self._file.load()
                if self._file.read_only:
                    return
                connections = self._connections(document)
                before = copy.deepcopy(connections)
                change(connections)
                if not _same(connections, before):
                    dropped = [shown(name) for name, queries in before.items()
                               if _problems(name, queries) and not _same(connections.get(name), queries)]
                    if dropped:
                        self._file.keep_copy(f"queries that could not be read ({', '.join(dropped)})")
                    self._file.save(document)
        except (ConfigFileError, OSError) as exc:
            message = f"recent queries cannot be saved: {exc}"
            log.warning("%s", message)
            self._file.notify(message)
