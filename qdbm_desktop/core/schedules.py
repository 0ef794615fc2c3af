"""Saved jobs and their schedules (schedules.json): what the scheduler is rebuilt from at every start.

Format 2 holds two lists: ``jobs`` (named migrations) and ``schedules`` (a trigger attached to a
job, with its state: when its fire times were last handled, its last run, whether a one-off is
done). Format 1 held one-off migrations only; each becomes a job and a one-off schedule.

A job's entry may also hold ``state``: what its runs left behind, apart from its definition
(an incremental job's mark: ``{"column": ..., "watermark": {"type": ..., "text": ...}, "at": ...}``).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from qdbm_desktop.core.connections import now_iso
from qdbm_desktop.core.errors import QdbmError, UsageError
from qdbm_desktop.core.jobs import JOB_ENTRY, Job
from qdbm_desktop.core.jsonfile import Document, JsonDocumentFile
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.schema import (
    Anything,
    Boolean,
    Integer,
    Kind,
    ListOf,
    Nullable,
    Record,
    Text,
    Timestamp,
    bad_entry_notice,
    check_entries,
    keep_undeclared,
    require,
    shown,
)
from qdbm_desktop.core.triggers import TRIGGER_ENTRY, ScheduleTrigger, TriggerKind, local_zone_name
from qdbm_desktop.core.watermark import Watermark

FORMAT_VERSION = 2
#: A grace period longer than a year would run a job that missed its time months ago.
MAX_GRACE_SECONDS = 366 * 86400


def new_schedule_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Schedule:
    """A trigger attached to a job, and what has happened to it so far."""

    id: str
    job: str
    trigger: ScheduleTrigger
    enabled: bool = True
    #: A fire time missed while QDBM was not running is run at start when it is at most this late.
    grace_seconds: int = 0
    #: A one-off whose run succeeded: kept visible, never fired again.
    done: bool = False
    origin: str | None = None
    created_at: str | None = None
    #: Every fire time up to here has been handled (run, skipped or reported as missed).
    checked_until: str | None = None
    last_run_at: str | None = None
    last_status: str | None = None
    last_error: str | None = None

    @property
    def active(self) -> bool:
        return self.enabled and not self.done

    def next_fire(self, now: datetime) -> datetime | None:
        """When it fires next after ``now``: None when it is disabled or done, or has no time left.

        ``QdbmError`` when its trigger cannot say (a zone or an expression this machine cannot read):
        each caller says so its own way.
        """
        if not self.active:
            return None
        times = self.trigger.next_fire_times(now, 1)
        return times[0] if times else None

    def checked_until_time(self) -> datetime:
        text = self.checked_until or self.created_at
        try:
            return datetime.fromisoformat(text) if text else datetime.now(timezone.utc)
        except ValueError:
            return datetime.now(timezone.utc)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "job": self.job, "trigger": self.trigger.to_json(),
                                "enabled": self.enabled}
        for key in ("grace_seconds", "done", "origin", "created_at", "checked_until", "last_run_at",
                    "last_status", "last_error"):
            value = getattr(self, key)
            if value not in (None, False, 0):
                data[key] = value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schedule:
        """The schedule a stored entry holds; ``UsageError`` naming the field when it does not pass."""
        require(SCHEDULE_ENTRY, data, "schedule")
        return cls.from_checked(data)

    @classmethod
    def from_checked(cls, data: Mapping[str, Any]) -> Schedule:
        """The schedule of an entry that has passed ``SCHEDULE_ENTRY``."""
        return cls(
            id=data["id"], job=data["job"], trigger=ScheduleTrigger.from_checked(data["trigger"]),
            enabled=bool(data.get("enabled", True)), grace_seconds=int(data.get("grace_seconds") or 0),
            done=bool(data.get("done", False)), origin=data.get("origin"), created_at=data.get("created_at"),
            checked_until=data.get("checked_until"), last_run_at=data.get("last_run_at"),
            last_status=data.get("last_status"), last_error=data.get("last_error"),
        )


_STATE_TEXT = Nullable(Text(max_length=10_000))
#: What one schedule of schedules.json holds.
SCHEDULE_ENTRY = Record(
    fields={
        "id": Text(max_length=64, non_empty=True), "job": Text(non_empty=True), "trigger": TRIGGER_ENTRY,
        "enabled": Boolean(), "grace_seconds": Nullable(Integer(0, MAX_GRACE_SECONDS)),
        "done": Boolean(), "origin": _STATE_TEXT, "created_at": Nullable(Timestamp()),
        "checked_until": Nullable(Timestamp()), "last_run_at": Nullable(Timestamp()),
        "last_status": _STATE_TEXT, "last_error": _STATE_TEXT,
    },
    required=frozenset({"id", "job", "trigger"}),
)


def _entry_field(entry: Any, key: str) -> Any:
    """A field of a stored entry, whether or not the rest of it can be read (None for a non-object)."""
    return entry.get(key) if isinstance(entry, dict) else None


def _from_v1(document: Document) -> Document:
    """Format 1 (one-off migrations with their own query) to jobs plus one-off schedules."""
    jobs: list[dict[str, Any]] = []
    schedules: list[dict[str, Any]] = []
    names: set[str] = set()
    for entry in document.get("schedules") or []:
        if not isinstance(entry, dict) or not entry.get("run_at"):
            continue
        base = f"{entry.get('target_table') or 'table'} from {entry.get('source') or 'source'}"
        name, number = base, 2
        while name in names:
            name, number = f"{base} ({number})", number + 1
        names.add(name)
        jobs.append({"name": name, "source": entry.get("source", ""),
                     "target": entry.get("destination", ""),
                     "query": entry.get("query", ""), "table": entry.get("target_table", ""),
                     "mode": entry.get("mode") or "append",
                     "created_at": entry.get("created_at") or now_iso()})
        schedule: dict[str, Any] = {
            "id": entry.get("id") or new_schedule_id(), "job": name,
            "trigger": {"kind": "once", "timezone": local_zone_name(), "at": entry["run_at"]},
            "enabled": bool(entry.get("enabled", True)),
        }
        for key in ("origin", "created_at"):
            if entry.get(key):
                schedule[key] = entry[key]
        schedules.append(schedule)
    return {"jobs": jobs, "schedules": schedules}


class ScheduleStore:
    """Jobs and schedules in schedules.json; every change is one locked read-modify-write."""

    def __init__(self, paths: AppPaths) -> None:
        self._file = JsonDocumentFile(paths.schedules_file, FORMAT_VERSION,
                                      default=lambda: {"jobs": [], "schedules": []}, migrations={1: _from_v1},
                                      shape={"jobs": ListOf(Anything()), "schedules": ListOf(Anything())})

    @property
    def notices(self) -> list[str]:
        return self._file.notices

    @property
    def read_only_reason(self) -> str | None:
        return self._file.read_only_reason

    @property
    def path(self) -> Any:
        return self._file.path

    # -- jobs -------------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        return sorted(self._entries("jobs", JOB_ENTRY, Job.from_checked), key=lambda j: j.name.casefold())

    def find_job(self, name: str) -> Job | None:
        return next((j for j in self.jobs() if j.name == name), None)

    def get_job(self, name: str) -> Job:
        job = self.find_job(name)
        if job is None:
            raise UsageError(f"no saved job named {name!r}")
        return job

    def save_job(self, job: Job, replace_name: str | None = None) -> Job:
        """Add ``job``, or replace the job called ``replace_name`` (its schedules follow a rename)."""
        job.validate()
        job = replace(job, name=job.name.strip())

        def change(document: Document) -> None:
            jobs = document.setdefault("jobs", [])
            taken = [e for e in jobs if _entry_field(e, "name") == job.name and job.name != replace_name]
            if taken:
                raise UsageError(f"a job named {job.name!r} already exists")
            if replace_name is None:
                jobs.append(job.to_json())
                return
            index = next((i for i, e in enumerate(jobs) if _entry_field(e, "name") == replace_name), None)
            if index is None:
                raise UsageError(f"no saved job named {replace_name!r}")
            created = jobs[index].get("created_at") or job.created_at
            state = jobs[index].get("state")
            jobs[index] = keep_undeclared(replace(job, created_at=created, updated_at=now_iso()).to_json(),
                                          jobs[index], JOB_ENTRY)
            # The mark belongs to its column: a job that now follows another column starts afresh.
            if isinstance(state, dict) and state.get("column") == job.incremental_column:
                jobs[index]["state"] = state
            for schedule in document.setdefault("schedules", []):
                if _entry_field(schedule, "job") == replace_name:
                    schedule["job"] = job.name

        self._change(change)
        return job

    def remove_job(self, name: str) -> int:
        """Remove a job and its schedules; how many schedules went with it."""
        removed = 0

        def change(document: Document) -> None:
            nonlocal removed
            jobs = document.setdefault("jobs", [])
            # Also an entry that cannot be read: removing it is how a user fixes the file.
            kept = [e for e in jobs if _entry_field(e, "name") != name]
            if len(kept) == len(jobs):
                raise UsageError(f"no saved job named {name!r}")
            document["jobs"] = kept
            schedules = document.setdefault("schedules", [])
            document["schedules"] = [s for s in schedules if _entry_field(s, "job") != name]
            removed = len(schedules) - len(document["schedules"])

        self._change(change)
        return removed

    def watermark(self, name: str) -> Watermark | None:
        """The incremental job's mark (None before its first successful run, or after a reset)."""
        for _, entry in self._good("jobs", JOB_ENTRY, self._load()):
            if entry.get("name") == name:
                state = entry.get("state")
                if not isinstance(state, Mapping) or not isinstance(state.get("watermark"), Mapping):
                    return None
                if state.get("column") != entry.get("incremental_column"):
                    return None
                try:
                    return Watermark.from_json(state["watermark"])
                except (QdbmError, ValueError) as exc:
                    self._file.notify(f"{self._file.path.name}: the mark of job {name!r} is ignored ({exc})")
                    return None
        raise UsageError(f"no saved job named {name!r}")

    def set_watermark(self, name: str, mark: Watermark | None, column: str | None = None) -> None:
        """Store the job's mark (``None`` forgets it: the next run loads everything). ``column`` is the
        incremental column it was taken from (default: the job's current one)."""

        def change(document: Document) -> None:
            for _, entry in self._good("jobs", JOB_ENTRY, document):
                if entry.get("name") == name:
                    if mark is None:
                        entry.pop("state", None)
                    else:
                        entry["state"] = {"column": column or entry.get("incremental_column"),
                                          "watermark": mark.to_json(), "at": now_iso()}
                    return
            raise UsageError(f"no saved job named {name!r}")

        self._change(change)

    def jobs_using(self, connection: str) -> list[str]:
        """The jobs that read from or load into ``connection``."""
        return [j.name for j in self.jobs() if connection in (j.source, j.target)]

    def rename_connection(self, old: str, new: str) -> int:
        """Jobs follow a renamed connection; how many changed."""
        changed = 0

        def change(document: Document) -> None:
            nonlocal changed
            # Entries that cannot be read follow too: a rename must not leave them pointing nowhere.
            for entry in document.setdefault("jobs", []):
                for key in ("source", "target"):
                    if isinstance(entry, dict) and entry.get(key) == old:
                        entry[key] = new
                        changed += 1

        if old != new:
            self._change(change)
        return changed

    # -- schedules --------------------------------------------------------------------------

    def schedules(self) -> list[Schedule]:
        return self._entries("schedules", SCHEDULE_ENTRY, Schedule.from_checked)

    def get_schedule(self, schedule_id: str) -> Schedule:
        found = next((s for s in self.schedules() if s.id == schedule_id), None)
        if found is None:
            raise UsageError(f"no schedule with id {schedule_id!r}")
        return found

    def add_schedule(self, schedule: Schedule, now: datetime | None = None) -> Schedule:
        """Attach a trigger to a saved job; the trigger is checked (a one-off in the past is refused)."""
        schedule.trigger.validate(now)
        now_text = (now or datetime.now(timezone.utc)).isoformat()
        schedule = replace(schedule, created_at=schedule.created_at or now_text,
                           checked_until=schedule.checked_until or now_text)

        def change(document: Document) -> None:
            nonlocal schedule
            if not any(e.get("name") == schedule.job for _, e in self._good("jobs", JOB_ENTRY, document)):
                raise UsageError(f"no saved job named {schedule.job!r}")
            entries = document.setdefault("schedules", [])
            if any(_entry_field(e, "id") == schedule.id for e in entries):
                schedule = replace(schedule, id=new_schedule_id())
            entries.append(schedule.to_json())

        self._change(change)
        # With the id it was stored under (a new one when the given id was taken).
        return schedule

    def update_schedule(self, schedule_id: str, **changes: Any) -> Schedule:
        """Change fields of one schedule (its trigger, enabled, its state after a run ...)."""
        updated: Schedule | None = None

        def change(document: Document) -> None:
            nonlocal updated
            entries = document.setdefault("schedules", [])
            for index, entry in self._good("schedules", SCHEDULE_ENTRY, document):
                if entry.get("id") == schedule_id:
                    updated = replace(Schedule.from_checked(entry), **changes)
                    entries[index] = keep_undeclared(updated.to_json(), entry, SCHEDULE_ENTRY)
                    return
            raise UsageError(f"no schedule with id {schedule_id!r}")

        if "trigger" in changes:
            changes["trigger"].validate()
            if changes["trigger"].kind is not TriggerKind.ONCE:
                changes.setdefault("done", False)
        self._change(change)
        assert updated is not None
        return updated

    def update_schedules(self, changes: Mapping[str, Mapping[str, Any]]) -> None:
        """Change the state of several schedules in one write (ids no longer stored are left out)."""

        def change(document: Document) -> None:
            entries = document.setdefault("schedules", [])
            for index, entry in self._good("schedules", SCHEDULE_ENTRY, document):
                fields = changes.get(entry["id"])
                if fields is not None:
                    changed = replace(Schedule.from_checked(entry), **fields)
                    entries[index] = keep_undeclared(changed.to_json(), entry, SCHEDULE_ENTRY)

        if changes:
            self._change(change)

    def remove_schedule(self, schedule_id: str) -> None:
        def change(document: Document) -> None:
            entries = document.setdefault("schedules", [])
            kept = [e for e in entries if _entry_field(e, "id") != schedule_id]
            if len(kept) == len(entries):
                raise UsageError(f"no schedule with id {schedule_id!r}")
            document["schedules"] = kept

        self._change(change)

    def mtime(self) -> float:
        """When the file last changed (the scheduler reloads when another process edits it)."""
        try:
            return self._file.path.stat().st_mtime
        except OSError:
            return 0.0

    # -- plumbing ---------------------------------------------------------------------------

    def _entries(self, key: str, record: Kind, parse: Callable[[Mapping[str, Any]], Any]) -> list[Any]:
        return [parse(entry) for _, entry in self._good(key, record, self._load())]

    def _load(self) -> Document:
        """The document, its bad entries (jobs and schedules alike) each reported once as a notice."""
        document = self._file.load()
        self._report(document)
        return document

    def _report(self, document: Document) -> None:
        self._good("jobs", JOB_ENTRY, document)
        self._good("schedules", SCHEDULE_ENTRY, document)

    def _good(self, key: str, record: Kind, document: Document) -> list[tuple[int, dict[str, Any]]]:
        """The entries of ``key`` that pass ``record``, with their index; each bad one is a notice."""
        name_key = "name" if key == "jobs" else "id"
        good, bad = check_entries(document.get(key) or [], record, key=name_key, unique_key=True)
        what = "job" if key == "jobs" else "schedule"
        entries = document.get(key) or []
        for entry in bad:
            job = _entry_field(entries[entry.index], "job") if key == "schedules" else None
            if isinstance(job, str):
                entry = dataclasses.replace(entry, label=f"{entry.label} of job {shown(job)}")
            self._file.notify(bad_entry_notice(self._file.path.name, what, entry))
        return good

    def _change(self, change: Callable[[Document], None]) -> None:
        with self._file.locked():
            document = self._file.load()
            self._report(document)
            change(document)
            self._file.save(document)
