"""``qdbm-desktop --tray``: starting at sign-in with the window hidden behind the tray icon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QSystemTrayIcon

from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.gui.app import build_parser, open_main_window, starts_hidden


@pytest.mark.parametrize(("in_tray", "tray_available", "hidden"), [
    (True, True, True),
    (True, False, False),  # nothing to open a hidden window from: it shows after all
    (False, True, False),
    (False, False, False),
])
def test_the_window_stays_hidden_only_when_asked_and_a_tray_is_there(
        in_tray: bool, tray_available: bool, hidden: bool) -> None:
    assert starts_hidden(in_tray, tray_available=tray_available) is hidden


def test_the_tray_flag_is_an_option_of_the_desktop_app() -> None:
    assert build_parser().parse_args(["--tray"]).tray is True
    assert build_parser().parse_args([]).tray is False
    assert "--tray" in build_parser().format_help()


def test_without_a_system_tray_the_window_opens_even_with_the_tray_flag(
        tmp_path: Path, memory_keyring: Any, qtbot: Any) -> None:
    assert not QSystemTrayIcon.isSystemTrayAvailable()  # the offscreen platform has none
    window = open_main_window(AppPaths(tmp_path / "home"), keyring_backend=memory_keyring, in_tray=True)
    qtbot.addWidget(window)
    assert window.tray is None
    assert window.isVisible()


# Shown on the offscreen platform, a tray icon finds no native tray window to follow.
@pytest.mark.qt_log_ignore(r"No such signal QPlatformNativeInterface::systemTrayWindowChanged")
def test_with_a_system_tray_the_flag_leaves_only_the_tray_icon(
        tmp_path: Path, memory_keyring: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The offscreen platform has no tray; this stands for a desktop that has one.
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    window = open_main_window(AppPaths(tmp_path / "home"), keyring_backend=memory_keyring, in_tray=True)
    qtbot.addWidget(window)
    assert window.tray is not None
    assert not window.isVisible()
    window.show_and_raise()
    assert window.isVisible()
