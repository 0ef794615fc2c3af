"""One run's steps: hold the target, create the staging table, load it, check it, swap it in.

A run never changes the target before every row is in the staging table and checked (see
:mod:`qdbm_desktop.core.verification`); whatever fails before the final step, or inside it,
leaves the target exactly as it was.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from qdbm_desktop.core.dialects.base import LoadMode, ReadStream
from qdbm_desktop.core.errors import QdbmError, UsageError, one_line, redact
from qdbm_desktop.core.fidelity import consent_error, run_report
from qdbm_desktop.core.mapping import map_columns, match_existing, target_key
from qdbm_desktop.core.origins import Carried, Traced, trace_source
from qdbm_desktop.core.pipeline import load_data_through, pass_through, stream_rows
from qdbm_desktop.core.run_context import RunContext
from qdbm_desktop.core.run_locks import RunFolder, TargetLocks, WaitCancelled, WaitTimedOut, duration_text
from qdbm_desktop.core.run_model import (
    CANCELLED_NOTE,
    OLD_PREFIX,
    STAGING_PREFIX,
    Cancelled,
    MigrationResult,
    QueryFailed,
    Stage,
    StageError,
    Status,
    validate_request,
)
from qdbm_desktop.core.sqlcheck import query_error, wrap_query
from qdbm_desktop.core.types import Column
from qdbm_desktop.core.verification import check_target_count, count_matching_keys, verify_staging


class MigrationRun(RunContext):
    """One run; ``execute`` never raises for a failed run, it returns the result."""

    def execute(self) -> MigrationResult:
        request = self.request
        self.note(
            Stage.CONNECT,
            f"run {self.run_id}: {request.source.label} -> {request.target.label} "
            f"table {request.table}, mode {request.mode.value}, batch {request.batch_size:,}",
        )
        for level, message in request.log_lines:
            self.note(Stage.CONNECT, message, level)
        source_conn = target_conn = None
        watchdog = threading.Thread(target=self.watch_cancel, name=f"qdbm-cancel-{self.run_id}", daemon=True)
        watchdog.start()
        try:
            validate_request(request)
            self.progress(Stage.CONNECT, force=True)
            source_conn = self.source_conn = self.connect(request.source.for_reading())
            target_conn = self.connect(request.target)
            self.hold_target(target_conn)
            self.load(source_conn, target_conn)
            self.result.status = Status.SUCCEEDED
            self.progress(Stage.DONE, force=True)
            self.note(
                Stage.DONE,
                f"succeeded: {self.result.rows_written:,} rows in {time.monotonic() - self.started:.2f} s",
            )
        except Cancelled as exc:
            self.result.status, self.result.error = Status.CANCELLED, str(exc)
            self.note(self.result.stage, CANCELLED_NOTE, "warning")
        except QdbmError as exc:
            if isinstance(exc, StageError):
                self.result.stage = exc.stage
            if self.cancel.is_set() and not self.committed:
                # The cancel stopped a statement, which then failed: that failure is the cancel.
                self.result.status, self.result.error = Status.CANCELLED, "cancelled by the user"
                self.note(self.result.stage, CANCELLED_NOTE, "warning")
                return self.result
            self.result.error = redact(str(exc), self.secrets)
            outcome = "the rows were committed" if self.committed else "the target is unchanged"
            self.note(self.result.stage, f"failed: {self.result.error}; {outcome}", "error")
        finally:
            self.stop_interrupting()
            self.over.set()
            watchdog.join()
            if target_conn is not None:
                self.cleanup(target_conn)
            # Only now, with the staging table gone or renamed, may another run's sweep look at it.
            self.let_go()
            for conn in (source_conn, target_conn):
                if conn is not None:
                    with suppress(Exception):  # closing a broken connection may fail too
                        conn.close()
            self.result.seconds = time.monotonic() - self.started
        return self.result

    def hold_target(self, target_conn: Any) -> None:
        """Take this run's locks on the target (waiting for another run into the same table) and
        make its private folder, before anything on the target is touched."""
        self.check_cancel()
        if self.request.work_dir is not None:
            self.make_folder(self.request.work_dir)
        locks, table_lock = self.take_own_lock()
        request, target = self.request, self.request.target
        target.dialect.set_lock_wait(target_conn, max(request.connect_timeout, request.wait_timeout))
        waited, waiting = self.wait_for_table(locks, table_lock)
        if not locks.available:
            self.note(Stage.CONNECT, f"{target.label} offers no locks to this login ({locks.reason}): "
                                     "staging tables left by other runs are kept, and runs into the same "
                                     "table are not kept apart", "warning")
        elif waiting:
            self.note(Stage.WAIT, f"the other run into {request.table} ended after {waited:.1f} s; "
                                  "this run goes on")

    def make_folder(self, work_dir: Path) -> None:
        """The run's private folder under ``work_dir``, sweeping those of interrupted runs."""
        folder = RunFolder(work_dir, self.run_id)
        try:
            swept = folder.create()
        except Exception as exc:  # noqa: BLE001 - a full or read-only app-data disk
            # does not stop a run: load files (if the target needs any) go to a private folder in
            # the system's temporary folder instead.
            self.note(Stage.CONNECT, f"cannot make the run's folder under {work_dir} "
                                     f"({one_line(str(exc))}); temporary load files, if any, go to a "
                                     "folder of this user's in the system's temporary folder", "warning")
            return
        self.folder = folder
        if swept:
            self.note(Stage.CONNECT, f"removed the temporary files of {len(swept)} interrupted "
                                     f"run(s) ({', '.join(swept)})", "warning")

    def take_own_lock(self) -> tuple[TargetLocks, str]:
        """The target's locks, holding the lock named after this run; and the name of the table's lock."""
        request, target = self.request, self.request.target
        try:
            locks = self.locks = TargetLocks(target.dialect, target.params, request.connect_timeout)
            if not locks.hold_own(self.staging.name) and locks.available:
                raise StageError(Stage.CONNECT, f"another run holds this run's name {self.staging.name} "
                                                f"on {target.label!r}; run it again")
            return locks, locks.table_lock_name(request.table)
        except QdbmError:
            raise
        except Exception as exc:
            raise self.fail(Stage.CONNECT, target, exc) from exc

    def wait_for_table(self, locks: TargetLocks, table_lock: str) -> tuple[float, bool]:
        """Wait for the table's lock (another run into the same table): the seconds waited, and
        whether the run had to wait."""
        request, target = self.request, self.request.target
        limit = duration_text(request.wait_timeout)
        waiting = False

        def on_wait(seconds: float) -> None:
            nonlocal waiting
            if not waiting:
                waiting = True
                self.note(Stage.WAIT, f"waiting for another run into {request.table} on {target.label} to "
                                      f"end (gives up after {limit})")
                self.progress(Stage.WAIT, force=True)
            else:
                self.progress(Stage.WAIT)

        try:
            waited = locks.wait_for(table_lock, request.wait_timeout, self.cancel, on_wait)
        except WaitCancelled as exc:
            raise Cancelled("cancelled by the user while waiting for another run") from exc
        except WaitTimedOut as exc:
            raise StageError(Stage.WAIT, f"another run into {request.table} on {target.label!r} is still "
                                         f"going: {exc} (the limit is {limit}); nothing was changed") from exc
        except Exception as exc:
            raise self.fail(Stage.WAIT, target, exc) from exc
        return waited, waiting

    def let_go(self) -> None:
        """Release the target's locks and remove the run's folder (the run's very last step)."""
        if self.locks is not None:
            self.locks.close()
            self.locks = None
        if self.folder is not None:
            try:
                self.folder.remove()
            except QdbmError as exc:
                self.note(self.result.stage, f"{exc}; the next run removes it", "warning")
            self.folder = None

    def load(self, source_conn: Any, target_conn: Any) -> None:
        request = self.request
        if request.count_rows:
            self.total = self.count_rows(source_conn)
        traced = self.trace(source_conn)
        stream = self.open_stream(source_conn, request.query, request.query_params)
        try:
            columns, target_exists, before = self.create_staging(target_conn, stream.columns, traced)
            if not pass_through(self, stream, target_conn) and \
                    not load_data_through(self, stream, target_conn, columns):
                stream_rows(self, stream, target_conn, columns)
        finally:
            self.close_stream(stream)
        verify_staging(self, target_conn, columns)
        self.finalize(target_conn, columns, target_exists, before)

    def trace(self, source_conn: Any) -> Traced | None:
        """The catalog of the tables the query reads, looked up before the query's own transaction."""
        source = self.request.source
        if not self.request.carry_source_shape:
            return None
        return trace_source(source.dialect, source_conn, self.request.query, source.type)

    def open_stream(self, source_conn: Any, query: str, params: tuple[Any, ...]) -> ReadStream:
        """``query`` started on ``source_conn``; its failure fails the read stage in the query's terms."""
        source = self.request.source
        try:
            return source.dialect.open_read(source_conn, query, self.request.batch_size, params or None)
        except QdbmError:
            raise
        except Exception as exc:
            raise self.fail(Stage.READ, source, QueryFailed(query_error(str(exc)))) from exc

    def create_staging(self, target_conn: Any, source_columns: list[Column],
                       traced: Traced | None = None) -> tuple[list[Column], bool, int]:
        """The staging table, made for the query's columns: its columns, whether the target exists
        and the target's row count before the run. ``traced`` carries NOT NULL and the key of the
        tables the query reads (core/origins.py)."""
        request = self.request
        dialect = request.target.dialect
        self.progress(Stage.CREATE, force=True)
        try:
            dialect.prepare_for_load(target_conn)
            self.drop_leftovers(target_conn)
            target_exists = dialect.table_exists(target_conn, request.table)
            shaped = list(source_columns)
            if not request.carry_source_shape:  # a NOT NULL the reader saw is left out too
                shaped = [dataclasses.replace(c, nullable=True) for c in shaped]
            carried = traced.carry(shaped) if traced else Carried(shaped)
            columns = self.target_columns(carried.columns, target_conn, target_exists)
            for column in columns:
                dialect.native_type(column.type)  # an unsupported type stops the run here
            # A refused column, or a lossy one not accepted, stops the run here.
            report = run_report(request, source_columns, target_conn, columns, target_exists)
            problem = consent_error(report, request.accept_lossy)
            if problem:
                raise UsageError(problem)
            self.note(Stage.CREATE, f"fidelity: {report.summary()}")
            if request.mode is LoadMode.CREATE and target_exists:
                raise UsageError(f"the table {request.table} already exists (mode create)")
            if request.mode is LoadMode.TRUNCATE and not target_exists:
                raise UsageError(
                    f"the table {request.table} does not exist (mode truncate empties an "
                    "existing table; use append, create or replace to make it)"
                )
            before = dialect.row_count(target_conn, request.table) if target_exists else 0
            self._staging_table(target_conn, columns, carried.primary_key, target_exists)
        except QdbmError:
            raise
        except Exception as exc:
            raise self.fail(Stage.CREATE, request.target, exc) from exc
        self.result.columns = columns
        self.note(Stage.CREATE, f"staging table {self.staging} created with {len(columns)} columns")
        return columns, target_exists, before

    def _staging_table(self, target_conn: Any, columns: list[Column], source_key: tuple[str, ...],
                       target_exists: bool) -> None:
        """The staging table, with the primary key a new target table gets.

        A new table loaded by upsert gets its keys, so the next upsert works. A new table made
        from a query that keeps a table's primary key gets that key (see core/origins.py); one the
        target cannot make (a key over a type it cannot index) is left out with a warning.
        """
        request = self.request
        dialect = request.target.dialect
        new_table = not target_exists or request.mode is LoadMode.REPLACE
        if request.mode is LoadMode.UPSERT and not target_exists:
            dialect.create_table(target_conn, self.staging, columns, request.keys)
            target_conn.commit()
            return
        key = target_key(source_key, request.column_map) if new_table else ()
        if key:
            try:
                dialect.create_table(target_conn, self.staging, columns, key)
                target_conn.commit()
                self.note(Stage.CREATE, f"primary key ({', '.join(key)}) carried from the source table")
                return
            except Exception as exc:  # noqa: BLE001 - the key is an extra: the load goes on without it
                target_conn.rollback()
                self.note(Stage.CREATE, f"the source's primary key ({', '.join(key)}) is not carried: "
                                        f"{one_line(str(exc))}", "warning")
        dialect.create_table(target_conn, self.staging, columns, ())
        target_conn.commit()

    def count_rows(self, source_conn: Any) -> int:
        """The query's row count, read through the same read-only path as the rows."""
        source = self.request.source
        # The query is one SELECT (checked), so it can stand as a subquery.
        counting = wrap_query("SELECT COUNT(*) AS row_count FROM (", self.request.query, ") qdbm_count",
                              source.type)
        try:
            stream = source.dialect.open_read(source_conn, counting, 1, self.request.query_params or None)
            try:
                total = int(next(iter(stream.batches()))[0][0])
            finally:
                stream.close()
            source_conn.rollback()
        except QdbmError:
            raise
        except Exception as exc:
            raise self.fail(Stage.READ, source, QueryFailed(query_error(str(exc)))) from exc
        self.note(Stage.READ, f"the query returns {total:,} rows")
        return total

    def target_columns(
        self, source_columns: list[Column], target_conn: Any, target_exists: bool
    ) -> list[Column]:
        request = self.request
        mapped = map_columns(source_columns, request.type_overrides, request.column_map)
        if not target_exists or request.mode in (LoadMode.REPLACE, LoadMode.CREATE):
            for column in mapped:
                request.target.dialect.check_identifier(column.name)
            return mapped
        existing = request.target.dialect.table_columns(target_conn, request.table)
        matched = match_existing(mapped, existing, request.table)
        missing = sorted(set(request.keys) - {c.name for c in matched})
        if missing:
            raise UsageError(f"key column {missing[0]!r} is not among the query's columns")
        return matched

    def finalize(self, target_conn: Any, columns: list[Column], target_exists: bool, before: int) -> None:
        request = self.request
        dialect = request.target.dialect
        # A cancel from here on lets the final step finish: cut in two, it might not be atomic.
        self.stop_interrupting()
        self.check_cancel()
        self.progress(Stage.FINALIZE, force=True)
        try:
            matched = count_matching_keys(self, target_conn) if target_exists and request.keys else 0
            dialect.finalize(
                target_conn, request.mode, request.table, self.staging, columns, request.keys, target_exists
            )
        except QdbmError:
            raise
        except Exception as exc:
            raise self.fail(Stage.FINALIZE, request.target, exc) from exc
        self.committed = True
        after = check_target_count(self, target_conn, before, matched)
        self.note(Stage.FINALIZE, f"committed: {request.table} holds {after:,} rows ({request.mode.value})")

    def drop_leftovers(self, target_conn: Any) -> None:
        """Drop the staging tables of runs that are gone (a crash, a killed process).

        A staging (or set-aside) table is its run's as long as that run holds the lock named after
        it: only a table whose lock this run can take itself is dropped, so the tables of runs
        going on now, in any process or on any machine, are left alone.
        """
        dialect = self.request.target.dialect
        schema = self.request.table.schema
        kept: list[str] = []
        for prefix in (STAGING_PREFIX, OLD_PREFIX):
            for table in dialect.list_tables(target_conn, schema, prefix):
                owner = STAGING_PREFIX + table.name[len(prefix):]
                if owner == self.staging.name or self.locks is None:
                    continue
                with self.locks.claim(owner) as gone:
                    if not gone:
                        if not self.locks.available:
                            kept.append(str(table))
                        continue
                    dialect.drop_table(target_conn, table)
                    target_conn.commit()
                self.note(Stage.CREATE, f"dropped {table}, left behind by an interrupted run", "warning")
        if kept:
            self.note(Stage.CREATE, f"kept {', '.join(kept)}: without locks there is no telling whether "
                                    "their runs are still going; drop them by hand once no run is", "warning")
        target_conn.commit()

    def cleanup(self, target_conn: Any) -> None:
        if self.result.status is Status.SUCCEEDED:
            return
        try:
            target_conn.rollback()
            self.request.target.dialect.drop_table(target_conn, self.staging)
            target_conn.commit()
        except Exception as exc:  # noqa: BLE001 - the next run drops it
            self.note(
                self.result.stage,
                f"the staging table {self.staging} could not be dropped now "
                f"({one_line(str(exc))}); the next run drops it",
                "warning",
            )
