"""Every file location of QDBM Desktop, decided in one place, and every one readable by the user only.

On POSIX every file QDBM writes in its app-data folder is 0600 and every folder 0700, whatever
the umask, and a folder that already existed with wider permissions (a ``--home`` pointing at
one, a folder made by an older version) is tightened at start. On Windows the app-data folder
sits in the user's profile, whose access list already keeps other users out; ``chmod`` there
would only toggle the read-only flag, so nothing is changed.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import platformdirs

HOME_ENV = "QDBM_HOME"
APP_DIR_NAME = "QDBM Desktop"
PRIVATE_FILE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700
_POSIX = os.name == "posix"

# What QDBM keeps in its folder (and the lock, temporary, set-aside and backup files beside each):
# only these are tightened, so a --home pointing at a folder of the user's own changes nothing else.
_OWN_FILES = ("connections.json", "settings.json", "schedules.json", "ui-state.json", "recent-queries.json",
              "history.sqlite3", "secret.key", "scheduler.", "app.lock")
_OWN_FOLDERS = ("demo", "locks", "logs", "runs", "tmp")


def make_private(path: Path) -> None:
    """Take group and other permissions away from ``path`` (POSIX; symbolic links are left alone).

    Never raises: a file of another owner or on a read-only disk keeps its mode.
    """
    if not _POSIX:
        return
    try:
        info = path.lstat()
    except OSError:
        return
    if stat.S_ISLNK(info.st_mode):
        return
    mode = stat.S_IMODE(info.st_mode)
    wanted = (mode | 0o700 if stat.S_ISDIR(info.st_mode) else mode) & ~0o077
    if wanted != mode:
        with suppress(OSError):
            os.chmod(path, wanted)


def private_folder(path: Path) -> Path:
    """Create ``path`` and its missing parents as 0700 folders, tighten it when it exists; ``path``."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_FOLDER_MODE)
        make_private(folder)
    if not missing:
        make_private(path)
    return path


def create_private_file(path: Path) -> None:
    """Create ``path`` empty as a 0600 file unless it exists (SQLite then gives its journal, WAL
    and shared-memory files the same mode); an existing one is tightened."""
    private_folder(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(fd)
    make_private(path)


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (not atomically: for small bookkeeping files), as a 0600 file."""
    create_private_file(path)
    path.write_text(text, encoding="utf-8")


def _is_own(name: str) -> bool:
    bare = name.lstrip(".")
    return any(bare.startswith(own) for own in _OWN_FILES) or name in _OWN_FOLDERS


def default_home(platform: str = sys.platform) -> str:
    """The user's app-data folder on ``platform`` (a ``sys.platform`` value) when nothing names one:
    ``%APPDATA%\\QDBM Desktop`` (roaming, no vendor folder) on Windows, ``~/Library/Application
    Support/QDBM Desktop`` on macOS, ``$XDG_DATA_HOME/QDBM Desktop`` elsewhere."""
    dirs: type[platformdirs.PlatformDirsABC]
    if platform == "win32":
        from platformdirs.windows import Windows as dirs
    elif platform == "darwin":
        from platformdirs.macos import MacOS as dirs
    else:
        from platformdirs.unix import Unix as dirs
    return dirs(APP_DIR_NAME, appauthor=False, roaming=True).user_data_dir


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
        return cls(Path(default_home()))

    def ensure(self) -> None:
        """Create the folder readable only by the user, or tighten it and what QDBM keeps in it."""
        private_folder(self.home)
        if not _POSIX:
            return
        with suppress(OSError):
            for entry in self.home.iterdir():
                if not _is_own(entry.name):
                    continue
                make_private(entry)
                if entry.name in _OWN_FOLDERS and entry.is_dir() and not entry.is_symlink():
                    for inner in entry.rglob("*"):
                        make_private(inner)

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
