"""The desktop app's own files (its lock, window state, history, demo) are readable by the user
only, with a umask of 0 and a home folder that was open to everyone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from qdbm_desktop.gui.app import main
from qdbm_desktop.gui.main_window import MainWindow

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


@pytest.fixture
def umask_zero() -> Iterator[None]:
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def test_the_app_tightens_a_wide_home_and_writes_every_file_private(
        tmp_path: Path, memory_keyring: Any, umask_zero: None) -> None:
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(home, 0o777)
    seen: dict[str, bool] = {}

    def look_then_close() -> None:
        seen["lock"] = (home / "app.lock").exists()
        seen["lock_private"] = stat.S_IMODE((home / "app.lock").stat().st_mode) & 0o077 == 0
        for window in [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]:
            window.close()

    QTimer.singleShot(0, look_then_close)
    assert main(["--home", str(home)], keyring_backend=memory_keyring) == 0

    assert seen == {"lock": True, "lock_private": True}
    assert (home / "ui-state.json").exists() and (home / "history.sqlite3").exists()
    wide = [f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p.name}" for p in [home, *home.rglob("*")]
            if stat.S_IMODE(p.lstat().st_mode) & 0o077]
    assert wide == []
