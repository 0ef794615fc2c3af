"""The Windows and macOS icons build_installer.spec draws (installer/icons.py) from resources/icons/app.svg."""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtGui import QImageReader
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "build_installer.spec"
ICONS = ROOT / "installer" / "icons.py"
APP_SVG = ROOT / "resources" / "icons" / "app.svg"


def _icon_writers() -> ModuleType:
    """installer/icons.py, loaded by its path as build_installer.spec loads it."""
    spec = importlib.util.spec_from_file_location("qdbm_installer_icons", ICONS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _images(path: Path) -> list[tuple[int, int, bool]]:
    reader = QImageReader(str(path))
    found = []
    for index in range(reader.imageCount()):
        reader.jumpToImage(index)
        image = reader.read()
        # The middle pixel of the app icon is painted, not transparent.
        painted = image.pixelColor(image.width() // 2, image.height() // 2).alpha() > 0
        found.append((image.width(), image.height(), painted))
    return found


def test_the_spec_takes_its_icon_writers_from_installer_icons() -> None:
    spec = SPEC.read_text(encoding="utf-8")
    assert '_installer_module("icons")' in spec
    assert "def write_ico" not in spec and "struct" not in spec


@pytest.mark.parametrize(("writer", "suffix", "sizes"), [
    ("write_ico", ".ico", [16, 20, 24, 32, 40, 48, 64, 128, 256]),
    ("write_icns", ".icns", [16, 32, 64, 128, 256, 512, 1024]),
])
def test_spec_draws_an_icon_file_holding_every_size_from_the_app_svg(
        qapp: QApplication, tmp_path: Path, writer: str, suffix: str, sizes: list[int]) -> None:
    write: Callable[[Path, Path], Path] = getattr(_icon_writers(), writer)

    written = write(APP_SVG, tmp_path / "icons" / f"qdbm-desktop{suffix}")

    assert bytes(QImageReader(str(written)).format().data()).decode() == suffix[1:]
    assert _images(written) == [(size, size, True) for size in sizes]


def test_the_user_guide_ships_in_the_package_data_and_the_installer_bundle() -> None:
    import glob

    tomllib = pytest.importorskip("tomllib")
    guide = ROOT / "resources" / "user-guide.html"
    assert guide.is_file()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["qdbm_desktop.resources"]
    assert any(guide.match(pattern) for pattern in package_data), package_data
    # The spec's first `datas = [...]`, evaluated as PyInstaller would (it needs no build context).
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    assign = next(node for node in tree.body if isinstance(node, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == "datas" for t in node.targets))
    datas = eval(compile(ast.Expression(assign.value), str(SPEC), "eval"),  # noqa: S307 - our own spec
                 {"str": str, "RESOURCES": ROOT / "resources"})
    bundled = [(Path(found), dest) for source, dest in datas for found in glob.glob(source)]
    assert (guide, "qdbm_desktop/resources") in bundled, datas
