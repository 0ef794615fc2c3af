"""What lets runs overlap safely: the locks a run holds on its target, and its private folder.

Runs from the GUI, the command line, the scheduler and other machines may load into one
database at once. A staging table's name alone proves nothing about whether its run is still
going, so every run holds, for its whole life:

* a lock named after its staging table, on a session of its own on the target (PostgreSQL
  advisory lock, MariaDB ``GET_LOCK``, SQL Server applock, Oracle ``DBMS_LOCK``, lock files
  beside a SQLite file). A sweep drops a leftover staging table only after taking that lock
  itself, which succeeds only once its run has ended or died (the server frees a dead session's
  locks; the OS frees a dead process's lock files).
* a lock named after the target table, so that runs into one table go one after the other: the
  later one waits, saying so, and gives up after the request's ``wait_timeout`` before it has
  touched anything.

The per-run folder under the app's data folder holds the temporary files a load needs (MySQL's
LOAD DATA batches), readable by the user only; a lock file beside it tells a later run whether
the folder's run is gone, so what a killed run left is removed by the next one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from qdbm_desktop.core.dialects.base import ConnectParams, Dialect, LocksUnavailable, TableName
from qdbm_desktop.core.errors import QdbmError, one_line

#: How often a waiting run tries the target table's lock again.
WAIT_POLL = 0.25
#: How long a run tries to take a lock of its very own (its run name, its folder): only another
#: run's sweep, trying the lock for a moment to see whether its run is gone, can hold it.
PROBE_WAIT = 10.0


class WaitTimedOut(QdbmError):
    """Another run into the same table went on longer than this run would wait."""


class WaitCancelled(QdbmError):
    """The run was cancelled while it waited for another run into the same table."""


class TargetLocks:
    """The lock session a run keeps on its target, and the locks it holds there.

    When the server offers no locks to the login (``available`` False, ``reason`` says why),
    nothing is held: leftovers are then never dropped and runs into one table are not serialised.
    """

    def __init__(self, dialect: Dialect, params: ConnectParams, timeout: float) -> None:
        self.dialect = dialect
        self.session: Any = dialect.open_lock_session(params, timeout)
        self.available = True
        self.reason: str | None = None
        self._held: list[str] = []

    def _try(self, name: str) -> bool:
        if not self.available:
            return False
        try:
            return self.dialect.try_lock(self.session, name)
        except LocksUnavailable as exc:
            self.available, self.reason = False, str(exc)
            return False

    def hold_own(self, name: str) -> bool:
        """Take ``name``, which only this run uses, for the rest of the run; False when no locks."""
        deadline = time.monotonic() + PROBE_WAIT
        while not self.hold(name):
            if not self.available or time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def hold(self, name: str) -> bool:
        """Take ``name`` for the rest of the run; False when another session holds it (or no locks)."""
        if name in self._held:
            return True
        if not self._try(name):
            return False
        self._held.append(name)
        return True

    def release(self, name: str) -> None:
        if name in self._held:
            self._held.remove(name)
            self.dialect.unlock(self.session, name)

    @contextlib.contextmanager
    def claim(self, name: str) -> Iterator[bool]:
        """True inside the block when ``name``'s holder is gone (the lock is then held until the
        block ends); False when it lives, or when that cannot be known."""
        if name in self._held or not self._try(name):
            yield False
            return
        try:
            yield True
        finally:
            self.dialect.unlock(self.session, name)

    def table_lock_name(self, table: TableName) -> str:
        return self.dialect.table_lock_name(self.session, table)

    def wait_for(self, name: str, timeout: float, cancel: threading.Event,
                 on_wait: Callable[[float], None]) -> float:
        """Take ``name``, waiting up to ``timeout`` seconds for its holder; the seconds waited.

        ``on_wait(seconds_so_far)`` is called before the first retry and then at every retry.
        Raises ``WaitTimedOut`` or ``WaitCancelled``; ``0`` when no locks are available.
        """
        started = time.monotonic()
        while True:
            if self.hold(name) or not self.available:
                return time.monotonic() - started
            waited = time.monotonic() - started
            if waited >= timeout:
                raise WaitTimedOut(f"gave up after waiting {_duration(waited)}")
            on_wait(waited)
            if cancel.wait(min(WAIT_POLL, max(0.0, timeout - waited))):
                raise WaitCancelled("cancelled while waiting")

    def close(self) -> None:
        """Release every lock (the session's end releases them anyway)."""
        with contextlib.suppress(Exception):
            for name in list(reversed(self._held)):
                self.release(name)
        self._held.clear()
        with contextlib.suppress(Exception):
            self.dialect.close_lock_session(self.session)


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def duration_text(seconds: float) -> str:
    """``"10 min"``, ``"1 min 30 s"``, ``"45 s"``: a wait limit as a user reads it."""
    text = _duration(seconds)
    return text.removesuffix(" 0 s")


# -- per-run folders -------------------------------------------------------------------------------


def _lock_file(root: Path, run_id: str) -> Path:
    return root / f"{run_id}.lock"


def _new_lock(path: Path) -> FileLock:
    return FileLock(str(path), mode=0o600, thread_local=False)


def _remove(root: Path, run_id: str, lock: FileLock) -> None:
    """Remove a run's folder and then its lock file, while holding the lock."""
    shutil.rmtree(root / run_id, ignore_errors=True)
    with contextlib.suppress(OSError):
        _lock_file(root, run_id).unlink()
    lock.release()


def sweep_run_folders(root: Path) -> list[str]:
    """Remove the folders (and lock files) of runs that are gone; the run ids removed.

    A folder whose lock file is held belongs to a live run (in this process or another one) and
    stays. A folder without a lock file was left between the two steps of a removal: gone too.
    """
    removed: list[str] = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    run_ids = {e.name.removesuffix(".lock") if e.name.endswith(".lock") else e.name for e in entries}
    for run_id in sorted(run_ids):
        if not run_id or run_id.startswith("."):
            continue
        lock = _new_lock(_lock_file(root, run_id))
        try:
            lock.acquire(timeout=0)
        except (Timeout, OSError):
            continue
        _remove(root, run_id, lock)
        removed.append(run_id)
    return removed


class RunFolder:
    """A run's private folder ``<root>/<run_id>/`` (0700), held by the lock file beside it."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.root = root
        self.run_id = run_id
        self.path = root / run_id
        self._lock: FileLock | None = None

    def create(self) -> list[str]:
        """Sweep the folders of runs that are gone, then make this run's; the run ids swept."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        # The folder may have been made earlier with the umask's wider permissions.
        with contextlib.suppress(OSError):
            os.chmod(self.root, 0o700)
        lock = _new_lock(_lock_file(self.root, self.run_id))
        # Another run's sweep may be trying this new lock file for a moment: wait that out.
        lock.acquire(timeout=PROBE_WAIT)
        self._lock = lock
        swept = sweep_run_folders(self.root)
        self.path.mkdir(mode=0o700, exist_ok=True)
        return swept

    def remove(self) -> None:
        """Remove the folder and everything in it, then let go of it."""
        if self._lock is None:
            return
        lock, self._lock = self._lock, None
        try:
            _remove(self.root, self.run_id, lock)
        except OSError as exc:  # a later run's sweep removes it
            raise QdbmError(f"the run's folder {self.path} could not be removed ({one_line(str(exc))})") \
                from exc
