"""Reading: a query streamed in chunks inside a read-only transaction."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, cast

from qdbm_desktop.core.sqlcheck import wrap_query
from qdbm_desktop.core.types import (
    Column,
    Kind,
)

if TYPE_CHECKING:
    import psycopg


def _numbered_markers(query: str) -> str:
    """psycopg's form of a query with parameters (``%s`` markers, ``%%`` for a percent sign) in
    the server's own form (``$1``, ``$2`` ... and ``%``), for describing it without running it."""
    numbers = iter(range(1, 1_000_000))
    return re.sub(r"%[%s]", lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", query)


class _PgReadStream:
    """A query streamed in chunks of ``batch_size`` rows (libpq chunked-rows mode)."""

    #: Nothing is changed on the way: a value with no equal elsewhere ('infinity') fails the read.
    warnings: tuple[str, ...] = ()

    def __init__(self, connection: psycopg.Connection[Any], query: str, batch_size: int,
                 columns: list[Column], cursor: psycopg.Cursor[Any],
                 transaction: AbstractContextManager[psycopg.Transaction],
                 type_ids: list[tuple[int, int]], params: Sequence[Any] | None = None) -> None:
        self.columns = columns
        #: Values bound to the query's ``%s`` markers (none: the query's text is sent as it is).
        self.params = list(params) if params else None
        #: (type OID, typmod) of each result column, as the server described them.
        self.type_ids = type_ids
        self._connection = connection
        self._query = query
        self._batch_size = batch_size
        self._cursor = cursor
        self._transaction = transaction
        self._rows: Generator[Any, None, None] | None = None
        self._copy: Any = None
        self._closed = False

    @property
    def started(self) -> bool:
        return self._rows is not None or self._copy is not None

    def raw_copy(self) -> AbstractContextManager[psycopg.Copy]:
        """``COPY (query) TO STDOUT (FORMAT BINARY)`` in this stream's read-only transaction."""
        statement = wrap_query("COPY (", self._query, ") TO STDOUT (FORMAT BINARY)", "postgresql")
        copy: AbstractContextManager[psycopg.Copy] = self._cursor.copy(statement)
        self._copy = copy
        return copy

    def cancel(self) -> None:
        """Ask the server to stop the running query (safe from another thread)."""
        self._connection.cancel_safe()

    def copied_rows(self) -> int:
        """The row count of the finished raw copy, as the server reported it."""
        return int(self._cursor.rowcount)

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        import psycopg

        size = self._batch_size
        # psycopg's stream() is a generator: closing it mid-way cancels the query.
        rows = cast("Generator[Any, None, None]", self._cursor.stream(self._query, self.params, size=size))
        self._rows = rows
        batch: list[tuple[Any, ...]] = []
        try:
            for row in rows:
                batch.append(row)
                if len(batch) >= size:
                    yield batch
                    batch = []
        except psycopg.DataError as exc:
            raise self._explained(exc) from exc
        if batch:
            yield batch

    def _explained(self, exc: Exception) -> Exception:
        """psycopg's "date too large: 'infinity'" names no column: name the ones it can be."""
        text = str(exc)
        if "infinity" not in text and "too large" not in text and "too small" not in text:
            return exc
        dated = (Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ)
        suspects = [c.name for c in self.columns if c.type.kind in dated]
        where = f" (date and time columns of the query: {', '.join(suspects)})" if suspects else ""
        return ValueError(
            f"{text.strip()}{where}: PostgreSQL's 'infinity' and dates beyond year 9999 have no equal in the "
            "other databases; turn them into NULL or a date in the query, e.g. "
            "NULLIF(col, 'infinity'::timestamp)"
        )

    def close(self) -> None:
        import psycopg

        if self._closed:
            return
        self._closed = True
        try:
            if self._rows is not None:
                try:
                    self._rows.close()  # mid-stream: psycopg cancels the query and drains it
                except ValueError:
                    # Still running in the reader thread: cancel it there; the lock waits for it.
                    self._connection.cancel_safe()
            self._cursor.close()
        finally:
            if not (self._connection.closed or self._connection.broken):
                # Nothing was written, so ending with a rollback is the same as a commit and
                # also works after a cancelled or failed query.
                self._transaction.__exit__(psycopg.Rollback, psycopg.Rollback(), None)
