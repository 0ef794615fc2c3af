"""Versioned JSON documents written atomically, never silently reset or overwritten."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from qdbm_desktop.core.errors import ConfigFileError, ReadOnlyConfigError
from qdbm_desktop.core.paths import PRIVATE_FILE_MODE, private_folder
from qdbm_desktop.core.schema import Kind, check_shape

Document = dict[str, Any]
Migration = Callable[[Document], Document]

_REPLACE_ATTEMPTS = 10
_STALE_TEMP_SECONDS = 60.0


def atomic_write_text(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` so that a reader sees either the old file or the new one, whole.

    The text goes to a temporary file in the same folder, is flushed and fsynced, then
    ``os.replace`` puts it in place. On Windows a replace can fail for a moment while another
    program (an antivirus, an indexer) holds the target open, so it is retried; the old file is
    never deleted first.
    """
    private_folder(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with suppress(OSError):
            os.chmod(tmp, mode)
        _replace_with_retry(tmp, path)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
    _fsync_folder(path.parent)


def _replace_with_retry(source: Path, target: Path) -> None:
    for attempt in range(_REPLACE_ATTEMPTS):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if os.name != "nt" or attempt == _REPLACE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open a folder this way.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _set_aside_name(path: Path, label: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    candidate = path.with_name(f"{path.name}.{label}-{stamp}")
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = path.with_name(f"{path.name}.{label}-{stamp}-{counter}")
    return candidate


@dataclass
class JsonDocumentFile:
    """One JSON file holding a dict with a ``version`` field.

    ``load`` never loses a file: one that cannot be parsed, or whose version this program
    does not know, or whose top-level fields do not have the ``shape`` declared for them, is
    renamed ``NAME.corrupt-<timestamp>`` and reported in ``notices``; one written by a newer
    version is read as far as possible and kept read-only; an older one is backed up as
    ``NAME.v<N>.bak`` and migrated forward.
    """

    path: Path
    version: int
    default: Callable[[], Document]
    migrations: Mapping[int, Migration] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    read_only_reason: str | None = None
    #: What the top-level fields hold (``{"connections": ListOf(Anything())}``); entries are the
    #: stores' to check, one by one, so that one bad entry does not cost the others.
    shape: Mapping[str, Kind] = field(default_factory=dict)

    def notify(self, message: str) -> None:
        """Record something the user must be told, once however often the file is read."""
        if message not in self.notices:
            self.notices.append(message)

    @property
    def read_only(self) -> bool:
        return self.read_only_reason is not None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file's lock, so a read-modify-write by the CLI and the GUI cannot interleave."""
        private_folder(self.path.parent)
        lock = self.path.with_name(f".{self.path.name}.lock")
        with FileLock(str(lock), timeout=30, mode=PRIVATE_FILE_MODE):
            yield

    def load(self) -> Document:
        """The document on disk, or a new default one (written out) when there is none."""
        self._remove_stale_temp_files()
        if not self.path.exists():
            document = {"version": self.version, **self.default()}
            # A full or read-only disk: the default still serves a reading command; a save says why.
            with suppress(ConfigFileError):
                self._write(document)
            return document
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise ConfigFileError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        try:
            # utf-8-sig: an editor such as Notepad puts a byte-order mark in front of what it saves.
            raw = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return self._set_aside(f"it is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                                   f"{exc.start})")
        try:
            document = json.loads(raw)
        except json.JSONDecodeError as exc:
            return self._set_aside(f"it is not valid JSON ({exc.msg} at line {exc.lineno})")
        except (ValueError, RecursionError) as exc:
            # A number of thousands of digits, or brackets nested thousands deep.
            why = str(exc)[:80] or type(exc).__name__
            return self._set_aside(f"it is not JSON this program can read ({why})")
        if not isinstance(document, dict):
            return self._set_aside("it does not hold a JSON object")
        found = document.get("version")
        if not isinstance(found, int) or isinstance(found, bool) or found < 1:
            return self._set_aside(f"its version field is missing or invalid ({found!r})")
        if found > self.version:
            self.read_only_reason = (
                f"{self.path.name} was written by a newer QDBM Desktop (format {found}; this version "
                f"reads format {self.version}); it is open read-only, so nothing in it is changed"
            )
            self.notify(self.read_only_reason)
            wrong = check_shape(document, self.shape)
            if wrong is not None:
                # Not ours to set aside: a newer version may hold something else there.
                self.notify(f"{self.path.name}: {wrong}; it is not read")
                return {"version": found, **self.default()}
            return document
        if found < self.version:
            document = self._migrate(document, found)
        wrong = check_shape(document, self.shape)
        if wrong is not None:
            return self._set_aside(wrong)
        return document

    def save(self, document: Document) -> None:
        """Write the document atomically (refused while the file is read-only)."""
        if self.read_only_reason is not None:
            raise ReadOnlyConfigError(self.read_only_reason)
        document = {"version": self.version, **{k: v for k, v in document.items() if k != "version"}}
        self._write(document)

    def _write(self, document: Document) -> None:
        text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        try:
            atomic_write_text(self.path, text)
        except OSError as exc:
            raise ConfigFileError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def keep_copy(self, why: str) -> None:
        """Copy the file to ``NAME.corrupt-<timestamp>`` before a write that drops what could not be read."""
        if not self.path.exists():
            return
        kept = _set_aside_name(self.path, "corrupt")
        try:
            shutil.copy2(self.path, kept)
        except OSError as exc:
            raise ConfigFileError(f"{self.path} holds {why}, and a copy could not be kept: {exc}") from exc
        self.notify(f"{self.path.name} held {why}; a copy of it as it was is kept as {kept.name} "
                    f"in {kept.parent}")

    def _set_aside(self, why: str) -> Document:
        kept = _set_aside_name(self.path, "corrupt")
        try:
            os.replace(self.path, kept)
        except OSError as exc:
            raise ConfigFileError(
                f"{self.path} cannot be read because {why}, and it could not be moved aside: {exc}"
            ) from exc
        self.notify(
            f"{self.path.name} could not be read because {why}; it was kept as {kept.name} "
            f"in {kept.parent} and a new empty one was started"
        )
        document = {"version": self.version, **self.default()}
        self._write(document)
        return document

    def _migrate(self, document: Document, found: int) -> Document:
        steps = range(found, self.version)
        missing = [step for step in steps if step not in self.migrations]
        if missing:
            return self._set_aside(f"its format {found} is unknown to this version")
        backup = self.path.with_name(f"{self.path.name}.v{found}.bak")
        shutil.copy2(self.path, backup)
        for step in steps:
            document = self.migrations[step](document)
            document["version"] = step + 1
        self._write(document)
        self.notify(
            f"{self.path.name} was upgraded from format {found} to {self.version}; "
            f"the old file is kept as {backup.name}"
        )
        return document

    def _remove_stale_temp_files(self) -> None:
        # A crash between writing a temp file and renaming it leaves the temp file behind;
        # a young one may belong to another process still writing, so only old ones go.
        if not self.path.parent.exists():
            return
        now = time.time()
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with suppress(OSError):
                if now - leftover.stat().st_mtime > _STALE_TEMP_SECONDS:
                    leftover.unlink()
