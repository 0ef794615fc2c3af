"""The application context: every store and service, built once at start-up and passed along."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from qdbm_desktop.core.connections import ConnectionStore
from qdbm_desktop.core.history import HistoryStore
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.recent_queries import RecentQueries
from qdbm_desktop.core.schedules import ScheduleStore
from qdbm_desktop.core.secrets import SecretBox
from qdbm_desktop.core.settings import SettingsStore


@dataclass
class AppContext:
    """What the GUI and the command line share. Tests build their own on a temporary home."""

    paths: AppPaths
    secret_box: SecretBox
    settings: SettingsStore
    connections: ConnectionStore
    schedules: ScheduleStore
    recent_queries: RecentQueries
    history: HistoryStore
    first_run_notices: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, paths: AppPaths, keyring_backend: Any | None = None, origin: str = "gui") -> AppContext:
        """Open every store under ``paths``; ``origin`` ("gui", "cli", "scheduler") marks its runs."""
        paths.ensure()
        box = SecretBox(paths.key_file, keyring_backend)
        return cls(paths=paths, secret_box=box, settings=SettingsStore(paths),
                   connections=ConnectionStore(paths, box), schedules=ScheduleStore(paths),
                   recent_queries=RecentQueries(paths), history=HistoryStore(paths.history_file, origin))

    def notices(self) -> list[str]:
        """Things the user must be told: files set aside or read-only, first-run results."""
        return [*self.settings.notices, *self.connections.notices, *self.schedules.notices,
                *self.recent_queries.notices, *self.history.notices, *self.first_run_notices]

    def forget_notices(self, shown: Collection[str]) -> None:
        """Drop notices already shown (``qdbm scheduler`` shows them as they come, not only at its end)."""
        for notices in (self.settings.notices, self.connections.notices, self.schedules.notices,
                        self.recent_queries.notices, self.history.notices, self.first_run_notices):
            notices[:] = [notice for notice in notices if notice not in shown]
