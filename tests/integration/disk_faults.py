"""Real full and read-only filesystems for the app-data folder: a small tmpfs filled to the last
byte, and a read-only bind mount. Both need root; the fixtures skip with the reason otherwise and
always unmount."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount ({' '.join(args)}): {result.stderr.strip()}")


def _unmount(mountpoint: Path) -> None:
    subprocess.run(["umount", str(mountpoint)], capture_output=True)
    if os.path.ismount(mountpoint):
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def _need_root() -> None:
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a filesystem for the app-data folder needs root (and mount)")


def fill(folder: Path) -> None:
    """Write into ``folder`` until its filesystem has no byte left (again after SQLite freed some)."""
    number = len(list(folder.glob("filler-*")))
    for size in (65536, 1):
        number += 1
        with open(folder / f"filler-{number}", "wb", buffering=0) as handle, suppress(OSError):
            while True:
                handle.write(b"\0" * size)


def empty(folder: Path) -> None:
    """Free what ``fill`` took."""
    for filler in folder.glob("filler-*"):
        filler.unlink()


@pytest.fixture(name="small_disk")
def small_disk_fixture(tmp_path: Path) -> Iterator[Path]:
    """An empty 8 MB filesystem of its own (fill it with ``fill``)."""
    _need_root()
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    _mount("-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mountpoint))
    try:
        yield mountpoint
    finally:
        _unmount(mountpoint)


@pytest.fixture(name="read_only_view")
def read_only_view_fixture(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A writable folder and a read-only bind mount of it: ``(writable, read_only)``."""
    _need_root()
    writable, view = tmp_path / "writable", tmp_path / "read-only"
    writable.mkdir()
    view.mkdir()
    _mount("--bind", str(writable), str(view))
    try:
        _mount("-o", "remount,bind,ro", str(view))
        yield writable, view
    finally:
        _unmount(view)
