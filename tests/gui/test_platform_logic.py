"""The Windows and macOS code paths of the single-instance check and the file dialogs, run on any OS."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from qdbm_desktop.gui.single_instance import server_name

GUI = Path(__file__).resolve().parents[2] / "qdbm_desktop" / "gui"
# Qt hands a native dialog (Windows, macOS) only filters of this shape (qt_file_dialog_filter_reg_exp).
QT_FILTER = re.compile(r"^(.*)\(([a-zA-Z0-9_.,*? +;#\-\[\]@\{\}/!<>\$%&=^~:\|]*)\)$")
# The longest local-socket path Qt can use: sockaddr_un's sun_path (104 bytes on macOS, 108 on
# Linux) less its terminating NUL; on Windows a pipe name of up to 256 characters.
SOCKET_LIMITS = {"darwin": 103, "linux": 107, "win32": 256}
# Where Qt puts the socket: the temporary folder (a long per-user one on macOS) or the pipe space.
SOCKET_FOLDERS = {"darwin": "/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/", "linux": "/tmp/",
                  "win32": "\\\\.\\pipe\\"}


@pytest.mark.parametrize("platform", sorted(SOCKET_LIMITS))
def test_the_socket_name_is_short_and_plain_enough_for_every_platform(platform: str, tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a-long-folder-name"] * 12)
    name = server_name(deep, platform)
    assert re.fullmatch(r"qdbm-desktop-[0-9a-f]{16}", name)
    assert len(SOCKET_FOLDERS[platform] + name) <= SOCKET_LIMITS[platform]


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_on_case_blind_file_systems_one_folder_spelled_two_ways_has_one_name(platform: str, tmp_path: Path) -> None:
    assert server_name(tmp_path / "Home", platform) == server_name(tmp_path / "hOME", platform)
    assert server_name(tmp_path / "home", platform) != server_name(tmp_path / "other", platform)


def test_on_linux_case_tells_folders_apart(tmp_path: Path) -> None:
    assert server_name(tmp_path / "Home", "linux") != server_name(tmp_path / "home", "linux")
    assert server_name(tmp_path / "home", "linux") == server_name(tmp_path / "x" / ".." / "home", "linux")


def _file_dialog_filters() -> list[tuple[str, str]]:
    """(module, filter) of every QFileDialog.get*FileName call in the GUI with a literal filter."""
    found = []
    for module in sorted(GUI.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("getSaveFileName", "getOpenFileName", "getOpenFileNames")):
                given = node.args[3] if len(node.args) > 3 else next(
                    (k.value for k in node.keywords if k.arg == "filter"), None)
                if given is not None:
                    found.append((module.name, ast.literal_eval(given)))
    return found


def test_the_gui_has_file_dialogs_with_filters() -> None:
    assert {module for module, _ in _file_dialog_filters()} >= {"history_page.py", "schedules_page.py"}


@pytest.mark.parametrize(("module", "filters"), _file_dialog_filters())
def test_every_file_dialog_filter_is_one_a_native_dialog_understands(module: str, filters: str) -> None:
    for one in filters.split(";;"):
        match = QT_FILTER.match(one)
        assert match, f"{module}: {one!r}"
        patterns = match.group(2).split()
        assert patterns and all(re.fullmatch(r"\*(\.[A-Za-z0-9]+)?", p) for p in patterns), f"{module}: {one!r}"
