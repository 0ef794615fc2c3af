"""Icons read from the ``qdbm_desktop.resources`` package (plain SVG files, no compiled .qrc)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

_RESOURCES = "qdbm_desktop.resources"
# Sizes rendered when the SVG is not a plain file (a zipped install): menus up to window icons.
_RASTER_SIZES = (16, 20, 24, 32, 48, 64, 128, 256)


def load_icon(name: str) -> QIcon:
    """The icon ``icons/<name>.svg``; a null icon when there is no such file."""
    resource = files(_RESOURCES) / "icons" / f"{name}.svg"
    if not resource.is_file():
        return QIcon()
    if isinstance(resource, Path):
        # A checkout, a wheel install or a frozen bundle: Qt's SVG icon engine reads the file
        # itself and renders it sharp at every size and device pixel ratio.
        return QIcon(str(resource))
    return _rendered_icon(resource.read_bytes())


def _rendered_icon(svg: bytes) -> QIcon:
    renderer = QSvgRenderer(QByteArray(svg))
    icon = QIcon()
    if not renderer.isValid():
        return icon
    for size in _RASTER_SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        icon.addPixmap(pixmap)
    return icon


def app_icon() -> QIcon:
    return load_icon("app")


def database_icon(type_name: str) -> QIcon:
    """The icon of a database type (``postgresql``, ``sqlite`` ...); null for an unknown type."""
    return load_icon(type_name)
