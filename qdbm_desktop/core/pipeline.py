"""The rows' way from the source to the staging table.

Either straight through (same engine, same column types: the dialect copies them undecoded), or
a reader thread pulls batches from the source into a short queue while the run's thread writes
them into the staging table.
"""

from __future__ import annotations

import functools
import operator
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from qdbm_desktop.core.checksum import Hasher, VerifyLevel
from qdbm_desktop.core.dialects.base import BulkWriter, ReadFailed, ReadStream
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.gcpause import collector_paused
from qdbm_desktop.core.mapping import kept_positions, row_picker, tracked_position
from qdbm_desktop.core.run_context import POLL, RunContext
from qdbm_desktop.core.run_model import Cancelled, Stage, StageError
from qdbm_desktop.core.sqlcheck import query_error
from qdbm_desktop.core.types import Column, ValueRejected
from qdbm_desktop.core.verification import source_hasher

#: How many batches may wait between the reader and the writer. One is enough to overlap the two
#: (measured: as fast as two), and each more costs a batch of memory.
QUEUE_DEPTH = 1
#: How long an abandoned read may take to end once its statement was cancelled.
_READER_GRACE = 2.0


def pass_through(run: RunContext, stream: ReadStream, target_conn: Any) -> bool:
    """Same engine, same column types: move the rows without decoding them (False when not)."""
    request = run.request
    if request.source.type != request.target.type or request.type_overrides or request.track_max_column:
        return False
    if request.verify is VerifyLevel.CHECKSUM and request.source.type != "postgresql":
        return False  # the rows must be decoded to be hashed as they pass
    if any(not m.include or m.type is not None for m in request.column_map):
        return False

    def on_rows(count: int) -> None:
        run.result.rows_read = run.result.rows_written = count
        run.progress(Stage.LOAD)

    try:
        rows = request.source.dialect.copy_between(stream, target_conn, run.staging, run.cancel.is_set,
                                                   on_rows)
    except InterruptedError as exc:
        raise Cancelled("cancelled by the user") from exc
    except ReadFailed as exc:
        raise run.fail(Stage.READ, request.source, exc) from exc
    except QdbmError:
        raise
    except Exception as exc:
        raise run.fail(Stage.LOAD, request.target, exc) from exc
    if rows is None:
        return False
    run.passed_through = True
    target_conn.commit()
    run.result.rows_read = run.result.rows_written = rows
    run.note(Stage.LOAD, f"{rows:,} rows passed straight into the staging table (same column types "
                          "on both sides, nothing decoded)")
    return True


def load_data_through(run: RunContext, stream: ReadStream, target_conn: Any, columns: list[Column]) -> bool:
    """PostgreSQL -> MySQL/MariaDB with the same column types: the source's text COPY, in LOAD
    DATA's form, loaded chunk by chunk with nothing decoded (False when the rows need decoding)."""
    request = run.request
    chunks_of = getattr(request.source.dialect, "load_data_chunks", None)
    if chunks_of is None or request.target.type != "mysql" or request.type_overrides:
        return False
    if request.track_max_column or request.verify is VerifyLevel.CHECKSUM:
        return False  # the rows must be decoded to be looked at
    chunks = chunks_of(stream, columns)
    if chunks is None:
        return False
    writer = request.target.dialect.open_writer(target_conn, run.staging, columns,
                                                run.folder.path if run.folder else None)
    if not hasattr(writer, "load_tsv"):
        writer.finish()  # e.g. local_infile off: the row path's INSERT writer
        return False

    def on_rows(count: int) -> None:
        run.result.rows_read = run.result.rows_written = count
        run.progress(Stage.LOAD)

    read = [0]
    try:
        try:
            loaded = writer.load_tsv(_read_chunks(run, chunks, read), 1, on_rows)
        finally:
            # Stopped mid-way (a cancel, a refused value): ending the COPY cancels it on the server.
            chunks.close()
        writer.finish()
    except (QdbmError, Cancelled):
        raise
    except ReadFailed as exc:
        raise run.fail(Stage.READ, request.source, exc) from exc
    except ValueRejected as exc:
        raise StageError(Stage.LOAD, f"load failed on {request.target.label!r}: {exc}") from exc
    except Exception as exc:
        raise run.fail(Stage.LOAD, request.target, exc) from exc
    target_conn.commit()
    run.result.rows_read = read[0]
    run.result.rows_written = loaded
    for warning in writer.warnings:
        run.note(Stage.LOAD, warning, "warning")
    run.note(Stage.LOAD, f"{loaded:,} rows loaded into the staging table as the source's text COPY "
                         "(same column types on both sides, nothing decoded)")
    return True


def _read_chunks(run: RunContext, chunks: Iterator[tuple[bytes, int]],
                 read: list[int]) -> Iterator[tuple[bytes, int]]:
    """The source's chunks, a cancel checked between them and the source's errors told apart;
    ``read[0]`` counts the rows read."""
    while True:
        run.check_cancel()
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except Exception as exc:
            run.check_cancel()  # a query stopped by the cancel
            raise ReadFailed(query_error(str(exc))) from exc
        read[0] += chunk[1]
        yield chunk


def stream_rows(run: RunContext, stream: ReadStream, target_conn: Any, columns: list[Column]) -> None:
    """Reads in one thread and writes in this one, a batch at a time through a short queue."""
    with collector_paused():
        _stream_rows(run, stream, target_conn, columns)


def _stream_rows(run: RunContext, stream: ReadStream, target_conn: Any, columns: list[Column]) -> None:
    request = run.request
    batches: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
    done = object()
    stop = threading.Event()
    pick = row_picker(kept_positions(stream.columns, request.column_map))
    hasher = run.hasher = source_hasher(run.request, stream.columns, columns)
    tracked = tracked_position(stream.columns, request.track_max_column)

    def hand_over(item: object) -> bool:
        """Put ``item`` on the queue unless the writer side has stopped (then False)."""
        while not stop.is_set():
            try:
                batches.put(item, timeout=POLL)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            if _read_batches(run, stream, pick, tracked, hasher, hand_over):
                hand_over(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the writer side
            hand_over(exc)

    reader = threading.Thread(target=read, name=f"qdbm-reader-{run.run_id}", daemon=True)
    reader.start()
    writer = request.target.dialect.open_writer(target_conn, run.staging, columns,
                                                run.folder.path if run.folder else None)
    try:
        _write_batches(run, batches, done, writer)
        writer.finish()
        target_conn.commit()
    except BaseException:
        stop.set()
        if reader.is_alive():
            # The reader may be waiting on the server (a query still computing): stop the
            # statement there, or the join below would wait for it.
            run.interrupt(run.source_conn)
        raise
    finally:
        reader.join(timeout=_READER_GRACE)
    for warning in stream.warnings:
        run.note(Stage.READ, warning, "warning")
    for warning in writer.warnings:
        run.note(Stage.LOAD, warning, "warning")
    run.note(Stage.LOAD, f"{run.result.rows_written:,} rows loaded into the staging table")


def _read_batches(
    run: RunContext, stream: ReadStream, pick: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None,
    tracked: Callable[[Any], Any] | None, hasher: Hasher | None,
    hand_over: Callable[[object], bool]
) -> bool:
    """The reader's side: each batch, with the tracked column's highest value noted and only the
    mapped columns kept, hashed when verifying, handed over. False when the writer side stopped
    taking them."""
    not_null = functools.partial(operator.is_not, None)
    for batch in stream.batches():
        if tracked is not None:
            # One pass in C over the batch's column; NULLs are no mark.
            top = max(filter(not_null, map(tracked, batch)), default=None)
            if top is not None and (run.result.max_value is None or top > run.result.max_value):
                run.result.max_value = top
        if pick is not None:
            batch = list(map(pick, batch))
        if hasher is not None:
            hasher.add(batch)
        if not hand_over(batch):
            return False
    return True


def _write_batches(run: RunContext, batches: queue.Queue[object], done: object, writer: BulkWriter) -> None:
    """The writer's side: every batch the reader hands over until ``done``; a reader's error
    fails the read stage."""
    request = run.request
    while True:
        run.check_cancel()
        try:
            item = batches.get(timeout=POLL)
        except queue.Empty:
            continue
        if item is done:
            return
        if isinstance(item, BaseException):
            raise run.fail(Stage.READ, request.source, item) from item
        rows: list[tuple[Any, ...]] = item  # type: ignore[assignment]
        run.result.rows_read += len(rows)
        run.progress(Stage.LOAD)
        try:
            writer.write(rows, run.result.rows_written + 1)
        except ValueRejected as exc:
            raise StageError(Stage.LOAD, f"load failed on {request.target.label!r}: {exc}") from exc
        except Exception as exc:
            first = run.result.rows_written + 1
            raise run.fail(
                Stage.LOAD,
                request.target,
                RuntimeError(f"rows {first:,}-{first + len(rows) - 1:,}: {exc}"),
            ) from exc
        run.result.rows_written += len(rows)
        run.progress(Stage.LOAD)
