"""The same job never runs twice at once, across processes: a lock file per job while it runs.

The scheduler (in the desktop app or ``qdbm scheduler``) and ``qdbm run`` both take it, so a
job started by hand while its schedule fires elsewhere is refused instead of loading twice. The
operating system releases the lock when its process dies, so a crash leaves no stale lock.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.paths import PRIVATE_FILE_MODE, AppPaths, private_folder


class JobAlreadyRunning(QdbmError):
    """A run of this job is going on (in this process or another one)."""


def job_lock_file(paths: AppPaths, job: str) -> Path:
    """The lock file of ``job``: named by a hash, since a job name may hold any character."""
    digest = hashlib.sha256(job.encode("utf-8")).hexdigest()[:24]
    return paths.locks_dir / f"job-{digest}.lock"


class JobRunLock:
    """Held while one run of a job goes; ``acquire`` never waits."""

    def __init__(self, paths: AppPaths, job: str) -> None:
        self.job = job
        self.path = job_lock_file(paths, job)
        # One holder per instance, possibly released from another thread than the one that took it.
        self._lock = FileLock(str(self.path), thread_local=False, mode=PRIVATE_FILE_MODE)

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def acquire(self) -> bool:
        """Take the lock; ``False`` when a run of the job holds it already."""
        private_folder(self.path.parent)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()

    def __enter__(self) -> JobRunLock:
        if not self.acquire():
            raise JobAlreadyRunning(f"job {self.job!r} is already running; it never runs twice at once")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
