"""Every file location of QDBM Desktop, decided in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

HOME_ENV = "QDBM_HOME"
APP_DIR_NAME = "QDBM Desktop"


@dataclass(frozen=True)
class AppPaths:
    """The app-data folder and the files inside it."""

    home: Path

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, override: str | None = None) -> AppPaths:
        """The folder named by ``override``, else by ``QDBM_HOME``, else the platform's user app-data dir."""
        env = os.environ if env is None else env
        chosen = override or env.get(HOME_ENV)
        if chosen:
            return cls(Path(chosen).expanduser().resolve())
        return cls(Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False, roaming=True)))

    def ensure(self) -> None:
        """Create the folder (readable only by the user where the OS supports it)."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)

    @property
    def connections_file(self) -> Path:
        return self.home / "connections.json"

    @property
    def settings_file(self) -> Path:
        return self.home / "settings.json"

    @property
    def schedules_file(self) -> Path:
        return self.home / "schedules.json"

    @property
    def ui_state_file(self) -> Path:
        """Window geometry and the last page: UI state, kept apart from preferences."""
        return self.home / "ui-state.json"

    @property
    def recent_queries_file(self) -> Path:
        return self.home / "recent-queries.json"

    @property
    def history_file(self) -> Path:
        """Every run and its log (SQLite)."""
        return self.home / "history.sqlite3"

    @property
    def key_file(self) -> Path:
        """The Fernet key, used only when no OS keyring is available."""
        return self.home / "secret.key"

    @property
    def demo_dir(self) -> Path:
        return self.home / "demo"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def runs_dir(self) -> Path:
        """One private folder per running migration for its temporary files (MySQL load batches),
        removed when the run ends, or by a later run when it was killed."""
        return self.home / "runs"

    @property
    def locks_dir(self) -> Path:
        """One lock file per job while it runs, shared by every process on this folder."""
        return self.home / "locks"
