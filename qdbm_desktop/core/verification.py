"""The checks of a run's counts and values.

Before the swap, the staging table's row count, and with ``--verify checksum`` a checksum of every
column of what the target holds (read back) against what was read; after it, the target's row
count (and before an upsert, that the staged rows have one row per key).

When the rows passed between two PostgreSQL servers undecoded, each server sums its side instead.
On a checksum difference, the rows of one differing key bucket are read again on both sides to
name an example row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from qdbm_desktop.core.checksum import (
    PG_TEXT_SETTINGS,
    Hasher,
    RowDifference,
    VerifyLevel,
    collect_bucket_rows,
    find_differences,
    pg_checksum_sql,
    shown,
)
from qdbm_desktop.core.dialects.base import LoadMode, ReadStream
from qdbm_desktop.core.errors import QdbmError, one_line
from qdbm_desktop.core.mapping import kept_positions, row_picker
from qdbm_desktop.core.run_context import RunContext
from qdbm_desktop.core.run_model import MigrationRequest, Stage, StageError
from qdbm_desktop.core.sqlcheck import wrap_query
from qdbm_desktop.core.types import Column, Kind


def verify_staging(run: RunContext, target_conn: Any, columns: list[Column]) -> None:
    """Fail the run unless the staging table holds the rows read (and, when asked, the same values)."""
    StagingCheck(run).verify_staging(target_conn, columns)


def count_matching_keys(run: RunContext, target_conn: Any) -> int:
    """Staging rows whose key already exists in the target (they update rather than insert)."""
    dialect = run.request.target.dialect
    keys = run.request.keys
    condition = " AND ".join(
        f"t.{dialect.quote_identifier(k)} = s.{dialect.quote_identifier(k)}" for k in keys
    )
    distinct = ", ".join(dialect.quote_identifier(k) for k in keys)
    cursor = target_conn.cursor()
    try:
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT DISTINCT {distinct} FROM {dialect.qualified(run.staging)}) d"
        )
        (unique_keys,) = cursor.fetchone()
        if int(unique_keys) != run.result.rows_written:
            raise StageError(
                Stage.VERIFY,
                "verify failed: the query returns several rows with the same "
                f"key ({', '.join(keys)}); an upsert needs one row per key",
            )
        cursor.execute(
            f"SELECT COUNT(*) FROM {dialect.qualified(run.staging)} s WHERE EXISTS "
            f"(SELECT 1 FROM {dialect.qualified(run.request.table)} t WHERE {condition})"
        )
        (matched,) = cursor.fetchone()
    finally:
        cursor.close()
    target_conn.commit()
    return int(matched)


def check_target_count(run: RunContext, target_conn: Any, before: int, matched: int) -> int:
    """The target's row count after the final step (which held ``before`` rows, ``matched`` of whose
    keys the staged rows update); a count other than expected fails the run, saying the rows were
    committed."""
    request = run.request
    rows = run.result.rows_written
    after = request.target.dialect.row_count(target_conn, request.table)
    expected = {LoadMode.APPEND: before + rows, LoadMode.UPSERT: before + rows - matched}.get(
        request.mode, rows
    )
    if after != expected:
        # Committed already: say so plainly rather than claim a success.
        raise StageError(
            Stage.VERIFY,
            f"verify failed: the table {request.table} should hold {expected:,} "
            f"rows after this run but holds {after:,}; the rows were committed, so another "
            "writer changed the table at the same time or the count is off: check it",
        )
    return after


def source_hasher(request: MigrationRequest, read: list[Column], columns: list[Column]) -> Hasher | None:
    """The checksum of the rows as read, in the target columns' canonical forms (verify checksum)."""
    if request.verify is not VerifyLevel.CHECKSUM:
        return None
    return source_hasher_for(request, read, columns)


def key_positions(request: MigrationRequest, columns: list[Column]) -> list[int]:
    folded = [c.name.casefold() for c in columns]
    return [folded.index(k.casefold()) for k in request.keys if k.casefold() in folded]


def source_hasher_for(request: MigrationRequest, read: list[Column], columns: list[Column]) -> Hasher:
    return Hasher([c.name for c in columns], [c.type.kind for c in kept(request, read)],
                  [c.type.kind for c in columns], key_positions(request, columns))


def kept(request: MigrationRequest, read: list[Column]) -> list[Column]:
    positions = kept_positions(read, request.column_map)
    return read if positions is None else [read[i] for i in positions]


class StagingCheck:
    """The checks of one run's staging table."""

    def __init__(self, run: RunContext) -> None:
        self.run = run
        self.request = run.request

    def verify_staging(self, target_conn: Any, columns: list[Column]) -> None:
        self.run.check_cancel()
        self.run.progress(Stage.VERIFY, force=True)
        try:
            staged = self.request.target.dialect.row_count(target_conn, self.run.staging)
        except Exception as exc:
            raise self.run.fail(Stage.VERIFY, self.request.target, exc) from exc
        if staged != self.run.result.rows_read:
            raise StageError(
                Stage.VERIFY,
                f"verify failed: {self.run.result.rows_read:,} rows were read but the "
                f"staging table holds {staged:,}",
            )
        if self.run.passed_through and self.request.verify is VerifyLevel.CHECKSUM:
            self.verify_on_servers(target_conn, columns)
            return
        if self.run.hasher is None:
            self.run.note(Stage.VERIFY, f"verified: counts only ({staged:,} rows)")
            self.run.result.verified = VerifyLevel.COUNTS
            return
        self.verify_checksum(target_conn, columns, self.run.hasher)

    def read_back(self, target_conn: Any, columns: list[Column]) -> ReadStream:
        """The staging table's rows as the target holds them: one streamed SELECT."""
        dialect = self.request.target.dialect
        names = ", ".join(dialect.quote_identifier(c.name) for c in columns)
        return dialect.open_read(target_conn, f"SELECT {names} FROM {dialect.qualified(self.run.staging)}",
                                 self.request.batch_size)

    def staged_hasher(self, stream: ReadStream, columns: list[Column], like: Hasher) -> Hasher:
        return Hasher(like.checksum.names, [c.type.kind for c in stream.columns],
                      [c.type.kind for c in columns], like.keys)

    def verify_checksum(self, target_conn: Any, columns: list[Column], hasher: Hasher) -> None:
        """Read the staging table back and compare its checksum with the rows read; fail on a difference."""
        self.run.note(Stage.VERIFY, "reading the staging table back to compare its checksums")
        try:
            stream = self.read_back(target_conn, columns)
            try:
                back = self.staged_hasher(stream, columns, hasher)
                for batch in stream.batches():
                    self.run.check_cancel()
                    back.add(batch)
            finally:
                stream.close()
                target_conn.rollback()
        except QdbmError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self.run.fail(Stage.VERIFY, self.request.target, exc) from exc
        mine, theirs = hasher.checksum, back.checksum
        if mine.equals(theirs):
            self.run.note(Stage.VERIFY, f"verified by checksum, {mine.rows:,} rows "
                                    f"({len(columns)} columns equal)")
            self.run.result.verified = VerifyLevel.CHECKSUM
            return
        differing = mine.differing_columns(theirs)
        named = (f"the column(s) {', '.join(differing)} hold other values in the staging table than were read"
                 if differing else "values moved between rows in the staging table")
        raise StageError(Stage.VERIFY, f"verify failed: checksum mismatch: {named}; "
                                       f"{self.example_row(target_conn, columns, hasher, back)}")

    def verify_on_servers(self, target_conn: Any, columns: list[Column]) -> None:
        """The checksums of rows that passed undecoded: one aggregate on each server, run at once (the
        source runs the query again); on a difference, both sides are read and hashed here to say more."""
        request = self.request
        source_sql = wrap_query("", request.query, "", request.source.type)
        staged = ", ".join(request.target.dialect.quote_identifier(c.name) for c in columns)
        target_sql = f"SELECT {staged} FROM {request.target.dialect.qualified(self.run.staging)}"
        names = [(c.name, c.type.kind) for c in columns]
        self.run.note(Stage.VERIFY, "summing the checksums of the query on the source and of the staging "
                                    "table on the target (the rows passed without being decoded)")
        outcome: list[Any] = []
        source_names = list(zip(self.source_names(columns), [c.type.kind for c in columns], strict=True))
        quote = request.source.dialect.quote_identifier
        reader = threading.Thread(target=lambda: outcome.append(
            _server_sums(self.run.source_conn, source_sql, source_names, quote)), daemon=True)
        reader.start()
        try:
            held = _server_sums(target_conn, target_sql, names, request.target.dialect.quote_identifier)
        finally:
            reader.join()
        read = outcome[0] if outcome else RuntimeError("no result")
        if isinstance(read, BaseException):
            raise self.run.fail(Stage.VERIFY, request.source, read) from read
        if isinstance(held, BaseException):
            raise self.run.fail(Stage.VERIFY, request.target, held) from held
        if read == held:
            self.run.note(Stage.VERIFY, f"verified by checksum, {held[0]:,} rows "
                                        f"({len(columns)} columns equal)")
            self.run.result.verified = VerifyLevel.CHECKSUM
            return
        differing = [c.name for c, a, b in zip(columns, read[1:-1], held[1:-1], strict=True) if a != b]
        named = (f"the column(s) {', '.join(differing)} hold other values in the staging table than the "
                 "query returns" if differing else "values moved between rows in the staging table")
        raise StageError(Stage.VERIFY, f"verify failed: checksum mismatch: {named}; "
                                       f"{self.example_after_servers(target_conn, columns)}")

    def source_names(self, columns: list[Column]) -> list[str]:
        """The query's names of the target's columns (a column map may rename them)."""
        renamed = {m.target.strip(): m.source for m in self.request.column_map
                   if m.target and m.target.strip()}
        return [renamed.get(c.name, c.name) for c in columns]

    def example_after_servers(self, target_conn: Any, columns: list[Column]) -> str:
        """Read and hash both sides here (only after a mismatch), to name an example row."""
        request = self.request
        try:
            stream = request.source.dialect.open_read(self.run.source_conn, request.query, request.batch_size)
            try:
                mine = source_hasher_for(self.request, stream.columns, columns)
                for batch in stream.batches():
                    mine.add(batch)
            finally:
                stream.close()
            stream = self.read_back(target_conn, columns)
            try:
                theirs = self.staged_hasher(stream, columns, mine)
                for batch in stream.batches():
                    theirs.add(batch)
            finally:
                stream.close()
                target_conn.rollback()
        except Exception as exc:  # noqa: BLE001 - the mismatch is the error that matters
            return f"no example row ({one_line(str(exc))})"
        return self.example_row(target_conn, columns, mine, theirs)

    def example_row(self, target_conn: Any, columns: list[Column], mine: Hasher, theirs: Hasher) -> str:
        """One differing row, found by reading again the rows of one differing key bucket on both sides."""
        if not mine.keys:
            return "no key column names an example row (an upsert's keys would)"
        buckets = mine.checksum.differing_buckets(theirs.checksum)
        if not buckets:
            return "no single row differs by key"
        wanted = {buckets[0]}
        request = self.request
        try:
            stream = request.source.dialect.open_read(self.run.source_conn, request.query, request.batch_size,
                                                      request.query_params or None)
            try:
                pick = row_picker(kept_positions(stream.columns, request.column_map))
                batches = (b if pick is None else list(map(pick, b)) for b in stream.batches())
                read = collect_bucket_rows(mine.fresh(), batches, wanted)
            finally:
                stream.close()
            stream = self.read_back(target_conn, columns)
            try:
                held = collect_bucket_rows(theirs.fresh(), stream.batches(), wanted)
            finally:
                stream.close()
                target_conn.rollback()
        except QdbmError:
            raise
        except Exception as exc:  # noqa: BLE001 - the mismatch is the error that matters
            return f"no example row ({one_line(str(exc))})"
        found = find_differences(read, held, mine.keys, 1)
        if not found:
            return "the source returned other rows when read again, so no example row"
        return _example_text(found[0], columns, mine, theirs)


def _server_sums(conn: Any, relation: str, names: list[tuple[str, Kind]], quote: Callable[[str], str]) -> Any:
    """The row count, per-column and row checksums of ``relation`` as one PostgreSQL server sums them."""
    try:
        cursor = conn.cursor()
        try:
            for statement in PG_TEXT_SETTINGS:
                cursor.execute(statement)
            cursor.execute(pg_checksum_sql(relation, names, quote))
            return tuple(cursor.fetchone())
        finally:
            cursor.close()
            conn.rollback()
    except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
        return exc


def _example_text(diff: RowDifference, columns: list[Column], mine: Hasher, theirs: Hasher) -> str:
    key = ", ".join(f"{columns[k].name}={shown(v)!r}" for k, v in zip(mine.keys, diff.key, strict=False))
    if diff.kind == "missing":
        return f"for example the row with {key} was read but is not in the staging table"
    if diff.kind == "extra":
        return f"for example the row with {key} is in the staging table but was not read"
    changed = [f"{c.name} {shown(a)!r} read, {shown(b)!r} staged"
               for i, (c, a, b) in enumerate(zip(columns, diff.source or (), diff.target or (), strict=False))
               if mine.value(i, a) != theirs.value(i, b)]
    return f"for example the row with {key}: " + "; ".join(changed)
