"""Scheduled migrations (schedules.json): the source of truth the scheduler is rebuilt from."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from qdbm_desktop.core.errors import QdbmError, UsageError
from qdbm_desktop.core.jsonfile import JsonDocumentFile
from qdbm_desktop.core.paths import AppPaths

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ScheduledMigration:
    """A migration to run once at ``run_at`` (ISO 8601 with its UTC offset)."""

    id: str
    source: str
    destination: str
    query: str
    target_table: str
    run_at: str
    mode: str = "append"
    enabled: bool = True
    origin: str | None = None
    created_at: str | None = None

    @property
    def run_at_datetime(self) -> datetime:
        return datetime.fromisoformat(self.run_at)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScheduledMigration:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def new_schedule_id() -> str:
    return uuid.uuid4().hex[:12]


class ScheduleStore:
    def __init__(self, paths: AppPaths) -> None:
        self._file = JsonDocumentFile(paths.schedules_file, FORMAT_VERSION, default=lambda: {"schedules": []})

    @property
    def notices(self) -> list[str]:
        return self._file.notices

    def list(self) -> list[ScheduledMigration]:
        entries = self._file.load().get("schedules", [])
        result = []
        for entry in entries:
            try:
                result.append(ScheduledMigration.from_json(entry))
            except TypeError:
                continue
        return result

    def add(self, schedule: ScheduledMigration) -> ScheduledMigration:
        if schedule.run_at_datetime.tzinfo is None:
            raise UsageError("a schedule's time must carry its time zone")
        with self._file.locked():
            document = self._file.load()
            entries = document.setdefault("schedules", [])
            if any(e.get("id") == schedule.id for e in entries):
                schedule = replace(schedule, id=new_schedule_id())
            entries.append({k: v for k, v in asdict(schedule).items() if v is not None})
            self._file.save(document)
        return schedule

    def remove(self, schedule_id: str) -> None:
        with self._file.locked():
            document = self._file.load()
            entries = document.setdefault("schedules", [])
            kept = [e for e in entries if e.get("id") != schedule_id]
            if len(kept) == len(entries):
                raise QdbmError(f"no schedule with id {schedule_id!r}")
            document["schedules"] = kept
            self._file.save(document)
