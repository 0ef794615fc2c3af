"""Running a saved job: the one place that turns a job and its mark into a run and keeps the new mark.

``qdbm run``, the scheduler and the GUI (through the scheduler) all call :func:`run_job`.

An incremental job reads only the rows past its mark. With key columns the rows whose
incremental value is at least the mark (less the lookback) are read and upserted by the keys:
rows that share the mark's exact value are read again and replace themselves, so none is lost
and none is doubled. Without key columns the rows strictly past the mark are appended; a row
that arrives later with exactly the mark's value is then not read (the log says so).

The mark is the largest value of the column among the rows this run streamed, and it is stored
only once the run's final commit has happened: a failed or cancelled run leaves it where it was.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from qdbm_desktop.core.connections import ConnectionStore
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError, UsageError
from qdbm_desktop.core.history import RunTrigger
from qdbm_desktop.core.jobs import WATERMARK_PLACEHOLDER, Job
from qdbm_desktop.core.migration import (
    LogCallback,
    MigrationRequest,
    MigrationResult,
    ProgressCallback,
    Status,
)
from qdbm_desktop.core.runs import run_recorded
from qdbm_desktop.core.settings import Settings
from qdbm_desktop.core.sqlcheck import check_source_query, query_body
from qdbm_desktop.core.watermark import Lookback, Watermark

log = logging.getLogger(__name__)

#: What a job file says it is, so that another JSON file is not taken for one.
JOB_FILE_FORMAT = "qdbm-job"
JOB_FILE_VERSION = 1


def job_request(job: Job, mark: Watermark | None, connections: ConnectionStore,
                settings: Settings, *, work_dir: Path | None = None) -> MigrationRequest:
    """The run ``job`` describes now: for an incremental job, its query limited to the rows past ``mark``.

    The mark is bound as a query parameter, never pasted into the SQL.
    """
    job.validate()
    request = job.request(connections, settings, work_dir=work_dir)
    column = job.incremental_column
    if column is None:
        return request
    # Checked as the user wrote it, before the filter wraps it (the mark's marker stands for a value).
    check_source_query(WATERMARK_PLACEHOLDER.sub("NULL", job.query), request.source.type)
    lines: list[tuple[str, str]] = []
    if not job.keys:
        lines.append(("warning", f"incremental job without key columns: rows past the mark are appended, "
                                 f"and a row that arrives later with exactly the mark's {column} is not "
                                 "read; give key columns for an exact load"))
    placeholder = WATERMARK_PLACEHOLDER.search(job.query) is not None
    if mark is None:
        if placeholder:
            raise UsageError(f"job {job.name!r}: its query uses {{{{ watermark }}}} and it has no mark yet; "
                             f"set the first one with: qdbm jobs reset-mark {job.name!r} --to VALUE")
        lines.append(("info", f"incremental on {column}: no mark yet, so every row of the query is read"))
        return replace(request, track_max_column=column, log_lines=tuple(lines))
    lookback = Lookback.parse(job.lookback) if job.lookback else None
    bound = mark.minus(lookback) if lookback is not None else mark.value()
    dialect = request.source.dialect
    text = query_body(job.query, request.source.type)
    if dialect.percent_placeholders:
        text = text.replace("%", "%%")
    operator = ">=" if job.keys else ">"
    if placeholder:
        count = 0

        def marker(_match: Any) -> str:
            nonlocal count
            count += 1
            return dialect.param_marker(count - 1)

        query = WATERMARK_PLACEHOLDER.sub(marker, text)
        params: tuple[Any, ...] = (bound,) * count
    else:
        # A comment at the end of the user's query ends at the newline; the query's first line stays
        # line 1, so the engine's line numbers are the user's.
        condition = f"{dialect.quote_identifier(column)} {operator} {dialect.param_marker(0)}"
        query = f"SELECT * FROM ({text}\n) qdbm_incremental WHERE qdbm_incremental.{condition}"
        params = (bound,)
    since = f"{bound} ({mark.text} less {lookback.text})" if lookback is not None else mark.text
    lines.append(("info", f"incremental on {column}: reading rows with {column} {operator} {since}"))
    return replace(request, query=query, query_params=params, track_max_column=column, log_lines=tuple(lines))


def next_mark(previous: Watermark | None, result: MigrationResult) -> Watermark | None:
    """The mark after a successful run: the largest value loaded, never below the previous mark
    (a lookback run that found nothing new leaves it)."""
    if result.max_value is None:
        return previous
    loaded = Watermark.of(result.max_value)
    if previous is None:
        return loaded
    try:
        return loaded if loaded.value() > previous.value() else previous
    except TypeError:  # a mark of another type, set by hand: what was loaded wins
        return loaded


def job_snapshot(job: Job, mark: Watermark | None) -> dict[str, Any]:
    """What a history entry keeps of the job it ran: its definition, and the mark it started from."""
    snapshot = job.to_json()
    if mark is not None:
        snapshot["watermark"] = mark.to_json()
    return snapshot


def run_job(
    context: AppContext,
    job: Job,
    *,
    trigger: RunTrigger = RunTrigger.MANUAL,
    saved: bool = True,
    on_progress: ProgressCallback | None = None,
    on_log: LogCallback | None = None,
    cancel: threading.Event | None = None,
) -> tuple[MigrationRequest, MigrationResult]:
    """Run ``job`` now and record it in the history; a saved incremental job's mark moves on success.

    ``saved=False`` runs a job read from a file: its mark is neither read nor kept, so an incremental
    job run that way reads every row of its query. ``QdbmError`` when the run cannot be built (a
    connection gone, a bad definition): nothing was recorded then.
    """
    if job.tables is not None:
        from qdbm_desktop.core.table_runs import run_table_job_summary

        return run_table_job_summary(job, context.connections, context.settings.get(), context.history,
                                     work_dir=context.paths.runs_dir, trigger=trigger,
                                     on_progress=on_progress, on_log=on_log, cancel=cancel)
    mark = context.schedules.watermark(job.name) if saved and job.incremental_column else None
    request = job_request(job, mark, context.connections, context.settings.get(),
                          work_dir=context.paths.runs_dir)
    result = run_recorded(context.history, request, trigger=trigger, job=job.name,
                          job_snapshot=job_snapshot(job, mark), on_progress=on_progress, on_log=on_log,
                          cancel=cancel, connections=context.connections)
    if saved and job.incremental_column and result.status is Status.SUCCEEDED:
        new = next_mark(mark, result)
        if new is not None and new != mark:
            try:
                context.schedules.set_watermark(job.name, new, job.incremental_column)
            except (QdbmError, OSError) as exc:
                # The rows are in; the next run reads them again (upserted with keys).
                log.error("job %r: the new mark %s could not be saved: %s", job.name, new.text, exc)
    return request, result


# -- jobs as files ------------------------------------------------------------------------------


def job_file_text(job: Job) -> str:
    """A job as a readable JSON file: its definition, connections by name, no secret, no mark."""
    document = {"format": JOB_FILE_FORMAT, "version": JOB_FILE_VERSION, "job": job.to_json()}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def job_from_file_text(text: str, where: str = "the job file") -> Job:
    """The job a job file holds, checked; ``UsageError`` naming what is wrong."""
    try:
        document = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where} is not JSON: {exc.msg} (line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{where} is not JSON this program can read ({str(exc)[:80] or type(exc).__name__})"
                         ) from None
    if not isinstance(document, Mapping) or document.get("format") != JOB_FILE_FORMAT:
        raise UsageError(f"{where} is not a QDBM job file (it lacks \"format\": \"{JOB_FILE_FORMAT}\")")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= JOB_FILE_VERSION:
        raise UsageError(f"{where} has format version {version!r}; this QDBM reads version "
                         f"{JOB_FILE_VERSION}")
    data = document.get("job")
    if not isinstance(data, Mapping):
        raise UsageError(f"{where} holds no job")
    try:
        job = Job.from_json(data)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None
    for side in (job.source, job.target):
        if "://" in side:
            raise UsageError(f"{where}: a job names saved connections, never a URL (a job holds no password)")
    job.validate()
    return job


def read_job_file(path: str | Path) -> Job:
    file = Path(path).expanduser()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{file} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
                         ) from None
    return job_from_file_text(text, str(file))
