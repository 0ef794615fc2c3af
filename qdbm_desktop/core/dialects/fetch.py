"""The read stream of every DB-API driver whose rows need only a converter per column
(python-oracledb, pyodbc): ``fetchmany`` a batch at a time, then each converted column in one pass."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from typing import Any

from qdbm_desktop.core.dialects.base import Connection
from qdbm_desktop.core.types import Column, ValueRejected

#: What a converter raises for a value it cannot convert (the reason is its message).
CONVERSION_ERRORS = (ValueError, TypeError, ArithmeticError)


class FetchStream:
    """A query's rows fetched ``batch_size`` at a time, each column through its converter (None:
    the driver's value is canonical already). A value that will not convert is refused naming its
    column and row.

    Closing releases the cursor and, with ``end_transaction``, rolls back (which ends a read-only
    transaction); with ``cancel_unfinished`` it first asks the server to stop a result not read to
    its end (closing alone would read the rest). ``on_close`` runs last.
    """

    def __init__(self, connection: Connection, cursor: Any, columns: list[Column],
                 converters: Sequence[Callable[[Any], Any] | None], batch_size: int, *,
                 end_transaction: bool = True, cancel_unfinished: bool = False,
                 on_close: Callable[[], None] | None = None) -> None:
        if batch_size < 1:
            raise ValueError("the batch size must be at least 1")
        self.columns = columns
        self.warnings: list[str] = []
        self._connection = connection
        self._cursor = cursor
        self._converters = [(i, c) for i, c in enumerate(converters) if c is not None]
        self._batch_size = batch_size
        self._end_transaction = end_transaction
        self._cancel_unfinished = cancel_unfinished
        self._on_close = on_close
        self._finished = False
        self._closed = False

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        row_number = 0
        while True:
            fetched = self._cursor.fetchmany(self._batch_size)
            if not fetched:
                self._finished = True
                return
            if self._converters:
                batch = self._convert(fetched, row_number + 1)
            else:
                batch = [tuple(row) for row in fetched]
            row_number += len(batch)
            yield batch

    def _convert(self, fetched: list[Any], first_row_number: int) -> list[tuple[Any, ...]]:
        columns = [list(values) for values in zip(*fetched, strict=False)]
        for index, convert in self._converters:
            values = columns[index]
            try:
                columns[index] = [None if v is None else convert(v) for v in values]
            except CONVERSION_ERRORS as exc:
                raise self._refusal(index, convert, values, first_row_number, exc) from None
        return list(zip(*columns, strict=False))

    def _refusal(self, index: int, convert: Callable[[Any], Any], values: list[Any],
                 first_row_number: int, exc: BaseException) -> ValueRejected:
        """The refusal of the first value of a column that will not convert, naming its row."""
        name = self.columns[index].name
        for offset, value in enumerate(values):
            if value is None:
                continue
            try:
                convert(value)
            except CONVERSION_ERRORS as found:
                return ValueRejected(f"column {name!r}, row {first_row_number + offset}: {found}")
        return ValueRejected(f"column {name!r}: {exc}")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._cancel_unfinished and not self._finished:
                with suppress(Exception):
                    self._cursor.cancel()
            with suppress(Exception):
                self._cursor.close()
        finally:
            if self._end_transaction:
                with suppress(Exception):
                    self._connection.rollback()
            if self._on_close is not None:
                self._on_close()


__all__ = ["CONVERSION_ERRORS", "FetchStream"]
