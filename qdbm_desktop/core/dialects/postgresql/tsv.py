"""A query's rows as the tab-separated text MySQL's ``LOAD DATA`` reads, straight from ``COPY``.

PostgreSQL's text ``COPY`` and ``LOAD DATA ... FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'`` agree
on almost everything: a tab between fields, a newline after each row, ``\\N`` for NULL and
backslash escapes for backslash, tab, newline, carriage return and backspace. So for columns
whose text is already what MariaDB parses back to the same value, the rows need no decoding:
integers, ``numeric``, ``float8`` (shortest exact digits, ``extra_float_digits`` > 0), ``varchar``
and ``text``, ``date`` and ``timestamp`` (ISO), ``timestamptz`` read ``AT TIME ZONE 'UTC'`` (what
the row path stores) and ``boolean`` read as 0/1. The two escapes ``LOAD DATA`` does not know,
``\\f`` and ``\\v``, are turned into the characters they stand for. Any other column type, a
domain or a non-UTF-8 connection leaves the query to the row path. A value MariaDB still cannot
take (a year before 1000, a number too wide) makes a warning, and any warning fails the load.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from qdbm_desktop.core.dialects.postgresql.read import _PgReadStream
from qdbm_desktop.core.dialects.postgresql.types import (
    BOOL,
    DATE,
    FLOAT8,
    INT2,
    INT4,
    INT8,
    NUMERIC,
    TEXT,
    TIMESTAMP,
    TIMESTAMPTZ,
    VARCHAR,
)
from qdbm_desktop.core.sqlcheck import wrap_query
from qdbm_desktop.core.types import Column

#: The select-list expression of each column type whose COPY text LOAD DATA reads as the same value.
_AS_LOADED: dict[int, str] = {
    INT2: "{}", INT4: "{}", INT8: "{}", NUMERIC: "{}", FLOAT8: "{}", VARCHAR: "{}", TEXT: "{}",
    DATE: "{}", TIMESTAMP: "{}", TIMESTAMPTZ: "({} AT TIME ZONE 'UTC')", BOOL: "({})::integer",
}
#: Rows per chunk handed to the loader (about 2 MB of the benchmark's rows).
CHUNK_ROWS = 10_000
_ESCAPE_PAIR = re.compile(rb"\\[\\fv]")
_LOAD_DATA_FORM = {b"\\\\": b"\\\\", b"\\f": b"\x0c", b"\\v": b"\x0b"}


def _for_load_data(chunk: bytes) -> bytes:
    r"""``\f`` and ``\v`` as the characters themselves (LOAD DATA reads ``\f`` as ``f``).

    Pairs are matched left to right, so ``\\f`` (a backslash, then ``f``) stays as it is."""
    if b"\\f" not in chunk and b"\\v" not in chunk:
        return chunk
    return _ESCAPE_PAIR.sub(lambda m: _LOAD_DATA_FORM[m.group()], chunk)


def load_data_select(stream: _PgReadStream, quote: Callable[[str], str]) -> str | None:
    """The stream's query with each column rendered for LOAD DATA; None when a column type cannot be."""
    if stream.started or stream.params:
        return None
    if any(oid not in _AS_LOADED for oid, _ in stream.type_ids):
        return None
    names = [c.name for c in stream.columns]
    if len(set(names)) != len(names):
        return None
    select = ", ".join(_AS_LOADED[oid].format("q." + quote(name))
                       for (oid, _), name in zip(stream.type_ids, names, strict=True))
    return wrap_query(f"COPY (SELECT {select} FROM (", stream._query, ") q) TO STDOUT", "postgresql")


def same_types(source: Sequence[Column], target: Sequence[Column]) -> bool:
    """Every target column has its source column's portable type (no mapping in between)."""
    return len(source) == len(target) and all(s.type == t.type for s, t in zip(source, target, strict=True))


def tsv_chunks(stream: _PgReadStream, statement: str) -> Iterator[tuple[bytes, int]]:
    """``(chunk, rows)`` of the COPY's text, ``CHUNK_ROWS`` rows a chunk (the server sends one
    message per row); run in the stream's read-only transaction with ISO dates and exact doubles."""
    cursor: Any = stream._cursor
    cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
    cursor.execute("SET LOCAL extra_float_digits = 1")
    with cursor.copy(statement) as copy:
        stream._copy = copy
        parts: list[bytes] = []
        for block in copy:
            parts.append(block)
            if len(parts) >= CHUNK_ROWS:
                yield _for_load_data(b"".join(parts)), len(parts)
                parts = []
        if parts:
            yield _for_load_data(b"".join(parts)), len(parts)


def utf8(stream: _PgReadStream) -> bool:
    return str(stream._connection.info.encoding).lower().replace("-", "") == "utf8"
