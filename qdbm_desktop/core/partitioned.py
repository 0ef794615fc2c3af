"""A partitioned run: the query read in N ranges of one column on N source connections at once,
loaded into the one staging table by N writers, then checked and swapped in as one run.

It is a :class:`~qdbm_desktop.core.run.MigrationRun` whose load step alone differs; the dialects'
own readers (``open_read``, ``copy_between``) and writers (``open_writer``) move the rows, and the
staging table, its check and the final step are the ordinary run's. Whatever fails or is
cancelled in any partition stops every partition and fails (or cancels) the whole run, the target
unchanged.

What the readers see together (the log says it for each run):

* PostgreSQL: one state. A coordinating connection opens a REPEATABLE READ transaction and exports
  its snapshot (``pg_export_snapshot()``); each reader imports it (``SET TRANSACTION SNAPSHOT``)
  before its query, so a row committed after the run began is seen by none of them. The bounds,
  the row count and a server-side checksum are read in that snapshot too.
* MySQL/MariaDB: a snapshot per reader. Each reader's InnoDB read view opens when its query
  starts; the queries start together, but a transaction committed in between may be seen by the
  partitions whose query started after it. Tables of engines without transactions (MyISAM, Aria)
  are read as they are at each moment.
* SQLite: each reader sees the file as it is when its own read begins (WAL mode lets a write
  commit in between; the default journal mode blocks writers while any reader reads).

A SQLite target has one writer (a database file takes one write at a time): the readers still
read in parallel and hand their batches to it.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from qdbm_desktop.core.checksum import MASK, Hasher, VerifyLevel
from qdbm_desktop.core.dialects.base import ReadFailed, ReadStream
from qdbm_desktop.core.errors import QdbmError, UsageError
from qdbm_desktop.core.mapping import kept_positions, row_picker
from qdbm_desktop.core.partition_plan import (
    Partitioning,
    auto_count,
    filters,
    given_points,
    parse_value,
    partition_kind,
    split_points,
)
from qdbm_desktop.core.pipeline import QUEUE_DEPTH
from qdbm_desktop.core.run import MigrationRun
from qdbm_desktop.core.run_context import POLL
from qdbm_desktop.core.run_model import Cancelled, QueryFailed, Stage, StageError
from qdbm_desktop.core.sqlcheck import query_error, wrap_query
from qdbm_desktop.core.types import Column, ValueRejected
from qdbm_desktop.core.verification import source_hasher, verify_staging

#: How long the partitions' threads may take to end once their statements were cancelled.
_GRACE = 5.0
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f-]+$")
_CONSISTENCY = {
    "postgresql": "one snapshot shared by every reader (pg_export_snapshot / SET TRANSACTION SNAPSHOT): "
                  "a row committed after the run began is seen by none",
    "mysql": "a snapshot per reader: each reader's InnoDB read view opens as its query starts (all start "
             "together); a transaction committed in between may be seen by some partitions only, and "
             "non-transactional tables (MyISAM, Aria) are read as they are",
    "sqlite": "each reader sees the file as it is when its own read begins (in WAL mode a write may "
              "commit in between)",
}


@dataclass
class _Lane:
    """One partition: its range, its reader's connection and what it read."""

    number: int
    condition: str
    label: str
    connection: Any = None
    rows: int = 0
    hasher: Hasher | None = None
    passed: bool = False
    warnings: list[str] = field(default_factory=list)


class PartitionedRun(MigrationRun):
    """A run whose rows are read in ranges of one column, in parallel."""

    def load(self, source_conn: Any, target_conn: Any) -> None:
        request = self.request
        spec = request.partitions
        assert spec is not None
        count = spec.count or auto_count(request.source.type, request.target.type)
        if spec.count == 0:
            self.note(Stage.READ, f"--partitions auto: {count} for {request.source.type} -> "
                                  f"{request.target.type} on this machine")
        if count == 1 and not spec.bounds:
            super().load(source_conn, target_conn)
            return
        traced = self.trace(source_conn)
        snapshot = self.export_snapshot(source_conn)
        probe = self.probe_columns(source_conn)
        lanes = self.plan_lanes(source_conn, spec, count, probe)
        if request.count_rows:
            self.total = self.count_in_snapshot(source_conn)
        extra_targets: list[Any] = []
        try:
            self.open_readers(lanes, snapshot)
            columns, target_exists, before = self.create_staging(target_conn, probe, traced)
            writers = 1 if request.target.type == "sqlite" else len(lanes)
            extra_targets = [self.open_writer_connection() for _ in range(writers - 1)]
            self.note(Stage.LOAD, self.plan_text(spec, lanes, writers))
            _Coordinator(self, lanes, [target_conn, *extra_targets], probe, columns).go()
        finally:
            self.close_lanes(lanes, extra_targets)
        self.gather(lanes, probe, columns)
        verify_staging(self, target_conn, columns)
        self.finalize(target_conn, columns, target_exists, before)

    # -- before the rows ------------------------------------------------------------------------

    def export_snapshot(self, source_conn: Any) -> str | None:
        """On PostgreSQL, the coordinating connection's snapshot id (its transaction stays open)."""
        if self.request.source.type != "postgresql":
            return None
        try:
            cursor = source_conn.cursor()
            try:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SELECT pg_export_snapshot()")
                (snapshot,) = cursor.fetchone()
            finally:
                cursor.close()
        except Exception as exc:
            raise self.fail(Stage.READ, self.request.source, exc) from exc
        if not _SNAPSHOT_ID.match(str(snapshot)):
            raise StageError(Stage.READ, f"the server exported an unexpected snapshot id {snapshot!r}")
        return str(snapshot)

    def probe_columns(self, source_conn: Any) -> list[Column]:
        """The query's columns, from a read of none of its rows."""
        request = self.request
        probe = wrap_query("SELECT * FROM (", request.query, ") qdbm_part WHERE 1 = 0", request.source.type)
        stream = self.open_stream(source_conn, probe, request.query_params)
        try:
            for _ in stream.batches():
                pass
            return list(stream.columns)
        finally:
            stream.close()

    def read_one_row(self, source_conn: Any, sql: str) -> tuple[Any, ...]:
        stream = self.open_stream(source_conn, sql, self.request.query_params)
        try:
            return tuple(next(iter(stream.batches()))[0])
        except QdbmError:
            raise
        except Exception as exc:
            raise self.fail(Stage.READ, self.request.source, QueryFailed(query_error(str(exc)))) from exc
        finally:
            stream.close()

    def count_in_snapshot(self, source_conn: Any) -> int:
        request = self.request
        sql = wrap_query("SELECT COUNT(*) AS row_count FROM (", request.query, ") qdbm_count",
                         request.source.type)
        total = int(self.read_one_row(source_conn, sql)[0])
        self.note(Stage.READ, f"the query returns {total:,} rows")
        return total

    def plan_lanes(self, source_conn: Any, spec: Partitioning, count: int,
                   probe: list[Column]) -> list[_Lane]:
        """The partitions' ranges: split points from the bounds given, or the query's min and max."""
        request = self.request
        folded = {c.name.casefold(): c for c in probe}
        column = folded.get(spec.column.strip().casefold())
        if column is None:
            raise UsageError(f"the partition column {spec.column!r} is not among the query's columns "
                             f"({', '.join(c.name for c in probe)})")
        partition_kind(column.type.kind, column.name)
        quoted = request.source.dialect.quote_identifier(column.name)
        if spec.bounds:
            points, low, high = given_points(spec, column.type.kind, count)
            how = "given"
        else:
            sql = wrap_query(f"SELECT MIN({quoted}) AS low, MAX({quoted}) AS high FROM (", request.query,
                             ") qdbm_bounds", request.source.type)
            low, high = (v if not isinstance(v, str) else parse_value(v, column.type.kind, column.name)
                         for v in self.read_one_row(source_conn, sql))
            points, how = split_points(low, high, count), "the query's min and max"
        self.note(Stage.READ, f"partition column {column.name}: {low} to {high} ({how})")
        conditions = filters(quoted, points, request.source.type)
        return [_Lane(i, condition, _range_label(points, i)) for i, condition in enumerate(conditions)]

    def open_readers(self, lanes: list[_Lane], snapshot: str | None) -> None:
        """One source connection per partition, in the shared snapshot where there is one."""
        source = self.request.source.for_reading()
        for lane in lanes:
            self.check_cancel()
            try:
                lane.connection = self.connect_or_cancel(source)
                if snapshot is not None:
                    cursor = lane.connection.cursor()
                    try:
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                    finally:
                        cursor.close()
            except Cancelled:
                raise
            except Exception as exc:
                raise self.fail(Stage.CONNECT, source, exc) from exc
        self.note(Stage.CONNECT, f"opened {len(lanes)} reader connections to {source.label}")

    def open_writer_connection(self) -> Any:
        target = self.request.target
        try:
            conn = self.connect_or_cancel(target)
            target.dialect.prepare_for_load(conn)
            target.dialect.set_lock_wait(conn, max(self.request.connect_timeout, self.request.wait_timeout))
            return conn
        except Cancelled:
            raise
        except Exception as exc:
            raise self.fail(Stage.CONNECT, target, exc) from exc

    def plan_text(self, spec: Partitioning, lanes: list[_Lane], writers: int) -> str:
        source, target = self.request.source, self.request.target
        ranges = "; ".join(f"{lane.number + 1}: {lane.label}" for lane in lanes)
        text = (f"reading in {len(lanes)} partitions by {spec.column} ({ranges}) on {len(lanes)} "
                f"connections, "
                f"each in batches of {max(1, self.request.batch_size // len(lanes)):,} rows, "
                f"loaded by {writers} writer{'s' if writers > 1 else ''}; consistency: "
                f"{_CONSISTENCY.get(source.type, 'none shared')}")
        if target.type == "sqlite":
            text += ("; a SQLite target takes one writer (one write at a time per file), the readers "
                     "read in parallel")
        return text

    # -- after the rows -------------------------------------------------------------------------

    def close_lanes(self, lanes: list[_Lane], extra_targets: list[Any]) -> None:
        """Close the partitions' connections (before the staging table may be dropped)."""
        for conn in [lane.connection for lane in lanes if lane.connection is not None] + extra_targets:
            self.live[:] = [(side, live) for side, live in self.live if live is not conn]
            with suppress(Exception):  # closing a broken connection may fail too
                conn.rollback()
            with suppress(Exception):
                conn.close()

    def gather(self, lanes: list[_Lane], probe: list[Column], columns: list[Column]) -> None:
        """The partitions' counts, warnings and checksums as the run's."""
        self.result.rows_read = self.result.rows_written = sum(lane.rows for lane in lanes)
        self.passed_through = all(lane.passed for lane in lanes)
        for lane in lanes:
            for warning in lane.warnings:
                self.note(Stage.READ, f"partition {lane.number + 1}: {warning}", "warning")
        hashers = [lane.hasher for lane in lanes if lane.hasher is not None]
        if hashers and not self.passed_through:
            self.hasher = _merged(hashers)
        self.note(Stage.LOAD, f"{self.result.rows_written:,} rows loaded into the staging table by "
                              f"{len(lanes)} partitions ({', '.join(f'{lane.rows:,}' for lane in lanes)})")


def _merged(hashers: list[Hasher]) -> Hasher:
    """One checksum of all the partitions' rows (the checksums are sums, so they add up)."""
    total = hashers[0].fresh()
    whole = total.checksum
    for hasher in hashers:
        part = hasher.checksum
        whole.rows += part.rows
        whole.columns = [(a + b) & MASK for a, b in zip(whole.columns, part.columns, strict=True)]
        whole.row_digest = (whole.row_digest + part.row_digest) & MASK
        whole.buckets = [a + b for a, b in zip(whole.buckets, part.buckets, strict=True)]
    return total


def _range_label(points: list[Any], index: int) -> str:
    if not points:
        return "all rows"
    if index == 0:
        return f"below {points[0]} or NULL"
    if index == len(points):
        return f"from {points[-1]}"
    return f"{points[index - 1]} to below {points[index]}"


class _Coordinator:
    """The partitions' threads: readers handing batches to writers (or, between two PostgreSQL
    servers with the same types, each partition copying straight through), watched from the run's
    thread, which reports progress and stops every one at the first failure or a cancel."""

    def __init__(self, run: PartitionedRun, lanes: list[_Lane], targets: list[Any], probe: list[Column],
                 columns: list[Column]) -> None:
        self.run, self.lanes, self.targets = run, lanes, targets
        self.probe, self.columns = probe, columns
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.error: BaseException | None = None
        #: The writers' warnings, noted by the run's thread once they are done.
        self.writer_warnings: list[str] = []
        self.queues: list[queue.Queue[object]] = [queue.Queue(maxsize=QUEUE_DEPTH) for _ in targets]
        self.done = object()
        self.pick = row_picker(kept_positions(probe, run.request.column_map))
        #: Each partition reads batches of 1/N of the run's batch size, so the N partitions hold about
        #: as many rows in memory at once as one run does.
        self.batch_size = max(1, run.request.batch_size // len(lanes))

    def go(self) -> None:
        threads = [threading.Thread(target=self.guarded, args=(self.read_lane, lane), daemon=True,
                                    name=f"qdbm-part-{self.run.run_id}-{lane.number}") for lane in self.lanes]
        if not self.straight_through():
            threads += [threading.Thread(target=self.guarded, args=(self.write_queue, number), daemon=True,
                                         name=f"qdbm-write-{self.run.run_id}-{number}")
                        for number in range(len(self.targets))]
        for thread in threads:
            thread.start()
        straight = self.straight_through()
        try:
            while any(thread.is_alive() for thread in threads):
                self.stop.wait(POLL / 2)
                self.run.result.rows_read = sum(lane.rows for lane in self.lanes)
                if straight:
                    self.run.result.rows_written = self.run.result.rows_read
                self.run.progress(Stage.LOAD)
                if self.run.cancel.is_set() or self.error is not None:
                    self.halt(threads)
                    break
        except BaseException:
            self.halt(threads)
            raise
        self.run.check_cancel()
        if self.error is not None:
            raise self.error
        for warning in self.writer_warnings:
            self.run.note(Stage.LOAD, warning, "warning")

    def halt(self, threads: list[threading.Thread]) -> None:
        """Stop every partition: its loop at once, its statement on the server."""
        self.stop.set()
        for conn in [lane.connection for lane in self.lanes] + self.targets:
            self.run.interrupt(conn)
        for thread in threads:
            thread.join(_GRACE)

    def straight_through(self) -> bool:
        """Whether each partition copies its rows straight into the staging table (no decoding)."""
        request = self.run.request
        return (len(self.targets) == len(self.lanes) and request.source.type == request.target.type
                and not request.type_overrides and not request.track_max_column
                and not (request.verify is VerifyLevel.CHECKSUM and request.source.type != "postgresql")
                and all(m.include and m.type is None for m in request.column_map))

    def guarded(self, work: Callable[[Any], None], arg: Any) -> None:
        try:
            work(arg)
        except BaseException as exc:  # noqa: BLE001 - handed to the run's thread
            with self.lock:
                if self.error is None and not self.stop.is_set():
                    self.error = exc
            self.stop.set()

    def open_lane(self, lane: _Lane) -> ReadStream:
        request = self.run.request
        sql = wrap_query("SELECT * FROM (", request.query, f") qdbm_part WHERE {lane.condition}",
                         request.source.type)
        try:
            return request.source.dialect.open_read(lane.connection, sql, self.batch_size,
                                                    request.query_params or None)
        except QdbmError:
            raise
        except Exception as exc:
            raise self.lane_failed(lane, exc) from exc

    def lane_failed(self, lane: _Lane, exc: BaseException) -> StageError:
        source = self.run.request.source
        text = query_error(str(exc)) or type(exc).__name__
        return self.run.fail(Stage.READ, source, QueryFailed(
            f"partition {lane.number + 1} of {len(self.lanes)} ({lane.label}): {text}"))

    def read_lane(self, lane: _Lane) -> None:
        stream = self.open_lane(lane)
        try:
            if self.straight_through() and self.copy_lane(lane, stream):
                return
            lane.hasher = source_hasher(self.run.request, stream.columns, self.columns)
            out = self.queues[lane.number % len(self.queues)]
            try:
                for batch in stream.batches():
                    if self.pick is not None:
                        batch = list(map(self.pick, batch))
                    if lane.hasher is not None:
                        lane.hasher.add(batch)
                    if not self.hand_over(out, batch):
                        return
                    lane.rows += len(batch)
            except QdbmError:
                raise
            except Exception as exc:
                raise self.lane_failed(lane, exc) from exc
            lane.warnings.extend(stream.warnings)
            self.hand_over(out, self.done)
        finally:
            stream.close()

    def copy_lane(self, lane: _Lane, stream: ReadStream) -> bool:
        """The partition's rows copied straight into the staging table on its own target connection."""
        request = self.run.request
        conn = self.targets[lane.number]

        def on_rows(count: int) -> None:
            lane.rows = count

        try:
            rows = request.source.dialect.copy_between(stream, conn, self.run.staging, self.stop.is_set,
                                                       on_rows)
        except InterruptedError as exc:
            raise Cancelled("cancelled by the user") from exc
        except ReadFailed as exc:
            raise self.lane_failed(lane, exc) from exc
        except QdbmError:
            raise
        except Exception as exc:
            raise self.run.fail(Stage.LOAD, request.target, exc) from exc
        if rows is None:
            # Other types on the two sides: this partition takes the row path on its own writer.
            self.write_inline(lane, stream, conn)
            return True
        conn.commit()
        lane.rows, lane.passed = rows, True
        return True

    def write_inline(self, lane: _Lane, stream: ReadStream, conn: Any) -> None:
        """The partition's rows read and written in this one thread, on its own writer."""
        request = self.run.request
        lane.hasher = source_hasher(request, stream.columns, self.columns)
        writer = request.target.dialect.open_writer(conn, self.run.staging, self.columns,
                                                    self.run.folder.path if self.run.folder else None)
        try:
            batches = stream.batches()
            while not self.stop.is_set():
                batch = next(batches, None)
                if batch is None:
                    break
                if self.pick is not None:
                    batch = list(map(self.pick, batch))
                if lane.hasher is not None:
                    lane.hasher.add(batch)
                self.write(writer, batch)
                lane.rows += len(batch)
        except QdbmError:
            raise
        except Exception as exc:
            raise self.lane_failed(lane, exc) from exc
        if self.stop.is_set():
            return
        writer.finish()
        conn.commit()
        lane.warnings.extend(stream.warnings)
        with self.lock:
            self.writer_warnings.extend(w for w in writer.warnings if w not in self.writer_warnings)

    def hand_over(self, out: queue.Queue[object], item: object) -> bool:
        while not self.stop.is_set():
            try:
                out.put(item, timeout=POLL)
                return True
            except queue.Full:
                continue
        return False

    def write_queue(self, number: int) -> None:
        """One writer: the batches of its partitions into the staging table, then its commit."""
        request = self.run.request
        conn = self.targets[number]
        feeding = sum(1 for lane in self.lanes if lane.number % len(self.targets) == number)
        writer = request.target.dialect.open_writer(conn, self.run.staging, self.columns,
                                                    self.run.folder.path if self.run.folder else None)
        source = self.queues[number]
        while feeding:
            if self.stop.is_set():
                return
            try:
                item = source.get(timeout=POLL)
            except queue.Empty:
                continue
            if item is self.done:
                feeding -= 1
                continue
            rows: list[tuple[Any, ...]] = item  # type: ignore[assignment]
            self.write(writer, rows)
        writer.finish()
        conn.commit()
        with self.lock:
            self.writer_warnings.extend(w for w in writer.warnings if w not in self.writer_warnings)

    def write(self, writer: Any, rows: list[tuple[Any, ...]]) -> None:
        request = self.run.request
        with self.lock:
            first = self.run.result.rows_written + 1
            self.run.result.rows_written += len(rows)
        try:
            writer.write(rows, first)
        except ValueRejected as exc:
            raise StageError(Stage.LOAD, f"load failed on {request.target.label!r}: {exc}") from exc
        except Exception as exc:
            raise self.run.fail(Stage.LOAD, request.target,
                                RuntimeError(f"a batch of {len(rows):,} rows: {exc}")) from exc

