"""The Windows and macOS code paths of the app-data folder and the keyring, run on any OS."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path, PureWindowsPath

import keyring.backends
import platformdirs.windows
import pytest

from qdbm_desktop.core.paths import HOME_ENV, AppPaths, default_home


def test_on_windows_the_data_folder_is_the_roaming_appdata_one_without_a_vendor_folder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Windows answers the known-folder question itself; off Windows the variable stands for it.
    monkeypatch.setattr(platformdirs.windows, "_RESOLVE_WIN_FOLDER", platformdirs.windows.get_win_folder_from_env_vars)
    monkeypatch.setenv("APPDATA", r"C:\Users\Ana\AppData\Roaming")
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\Ana\AppData\Local")
    assert PureWindowsPath(default_home("win32")) == PureWindowsPath(r"C:\Users\Ana\AppData\Roaming\QDBM Desktop")


def test_on_macos_the_data_folder_is_in_application_support(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Path(default_home("darwin")) == tmp_path / "Library" / "Application Support" / "QDBM Desktop"


@pytest.mark.parametrize("platform", ["linux", "freebsd14"])
def test_elsewhere_the_data_folder_follows_xdg_data_home(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, platform: str) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert Path(default_home(platform)) == tmp_path / "data" / "QDBM Desktop"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Path(default_home(platform)) == tmp_path / ".local" / "share" / "QDBM Desktop"


def test_this_platforms_default_is_what_app_paths_uses_when_nothing_names_a_folder(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert AppPaths.from_environment(env={}).home == Path(default_home())
    assert AppPaths.from_environment(env={HOME_ENV: str(tmp_path / "x")}).home == tmp_path / "x"


# The keyring backend each OS's bundle relies on (the spec collects every keyring.backends module).
PLATFORM_BACKENDS = {
    "win32": ("keyring.backends.Windows", "WinVaultKeyring"),
    "darwin": ("keyring.backends.macOS", "Keyring"),
    "linux": ("keyring.backends.SecretService", "Keyring"),
}


@pytest.mark.parametrize("platform", sorted(PLATFORM_BACKENDS))
def test_each_platforms_keyring_backend_is_a_module_the_bundle_collects(platform: str) -> None:
    module_name, class_name = PLATFORM_BACKENDS[platform]
    collected = {f"keyring.backends.{info.name}" for info in pkgutil.iter_modules(keyring.backends.__path__)}
    assert module_name in collected
    backend = getattr(importlib.import_module(module_name), class_name)
    if sys.platform != platform:
        # Off its OS the backend declines (priority raises), so keyring never picks it here.
        with pytest.raises(Exception):  # noqa: B017 - each backend raises its own kind
            backend.priority  # noqa: B018 - a class property that raises when not viable
