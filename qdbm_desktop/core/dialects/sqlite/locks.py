"""Named locks between runs: lock files beside the database file."""

from __future__ import annotations

import contextlib
import glob
import re
from pathlib import Path

from filelock import FileLock, Timeout

from qdbm_desktop.core.dialects.base import (
    LocksUnavailable,
    lock_digest,
)
from qdbm_desktop.core.errors import one_line

# -- locks between runs --------------------------------------------------------------------------------


class SQLiteLockSession:
    """Named locks as lock files beside the database file, which every process that can write the
    file can also create: ``app.sqlite.qdbm-<name>.lock``, held with the OS's file lock (which the
    OS drops when the process dies) and removed when released.
    """

    def __init__(self, database: Path) -> None:
        self.database = database
        self._held: dict[str, FileLock] = {}
        # Whoever may write the database may take its locks: a file shared by a group gets lock
        # files the group can open too. They hold no data.
        try:
            self._mode = (database.stat().st_mode & 0o666) | 0o600
        except OSError:
            self._mode = 0o600

    def path_for(self, name: str) -> Path:
        key = name if re.fullmatch(r"[A-Za-z0-9_]{1,40}", name) else lock_digest(name, 24)
        return self.database.with_name(f"{self.database.name}.qdbm-{key}.lock")

    def _take(self, path: Path) -> FileLock | None:
        lock = FileLock(str(path), mode=self._mode, thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return None
        except OSError as exc:
            raise LocksUnavailable(f"cannot create the lock file {path} beside the database "
                                   f"({one_line(str(exc))})") from exc
        return lock

    @staticmethod
    def _drop(path: Path, lock: FileLock) -> None:
        # Removed while still held: a process that opened it meanwhile finds it unlinked once it
        # gets the lock and opens the path again (filelock checks), so no two hold one name.
        with contextlib.suppress(OSError):
            path.unlink()
        lock.release()

    def try_lock(self, name: str) -> bool:
        if name in self._held:
            return True
        lock = self._take(self.path_for(name))
        if lock is None:
            return False
        self._held[name] = lock
        return True

    def unlock(self, name: str) -> None:
        lock = self._held.pop(name, None)
        if lock is not None:
            self._drop(self.path_for(name), lock)

    def sweep(self) -> None:
        """Remove the lock files that killed processes left (their lock is free)."""
        pattern = glob.escape(str(self.database)) + ".qdbm-*.lock"
        for found in glob.glob(pattern):
            path = Path(found)
            if any(self.path_for(name) == path for name in self._held):
                continue
            with contextlib.suppress(LocksUnavailable):
                lock = self._take(path)
                if lock is not None:
                    self._drop(path, lock)

    def close(self) -> None:
        for name in list(self._held):
            self.unlock(name)
