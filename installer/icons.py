"""The Windows and macOS app icons (.ico, .icns), drawn from resources/icons/app.svg while building.

build_installer.spec calls these; nothing generated is kept in the repository. Run on its own it
writes both into a folder: ``python installer/icons.py OUT_DIR``.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterable
from pathlib import Path

ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 128, 256)
# The PNG-holding element types of an .icns file, by image size.
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09", 1024: b"ic10"}


def png_sizes(svg: Path, sizes: Iterable[int]) -> dict[int, bytes]:
    """PNG bytes of ``svg`` drawn at each size, with Qt's SVG renderer (into QImages: no display)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG")
    pngs: dict[int, bytes] = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")  # type: ignore[call-overload]  # PySide6 takes str; its stubs say bytes
        buffer.close()
        pngs[size] = bytes(data.data())
    return pngs


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico file holding the given PNG images (a 256-pixel side is written as 0)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    entries, blobs = b"", b""
    offset = len(header) + 16 * len(pngs)
    for size, png in pngs.items():
        side = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset + len(blobs))
        blobs += png
    return header + entries + blobs


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns file holding the given PNG images (sizes from ``ICNS_TYPES`` only)."""
    body = b"".join(ICNS_TYPES[size] + struct.pack(">I", 8 + len(png)) + png for size, png in pngs.items())
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write_ico(svg: Path, target: Path) -> Path:
    """A Windows .ico holding PNG images from 16 to 256 pixels; ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(ico_bytes(png_sizes(svg, ICO_SIZES)))
    return target


def write_icns(svg: Path, target: Path) -> Path:
    """A macOS .icns holding PNG images from 16 to 1024 pixels; ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(icns_bytes(png_sizes(svg, ICNS_TYPES)))
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python installer/icons.py OUT_DIR", file=sys.stderr)
        return 2
    svg = Path(__file__).resolve().parents[1] / "resources" / "icons" / "app.svg"
    out = Path(argv[0])
    for written in (write_ico(svg, out / "qdbm-desktop.ico"), write_icns(svg, out / "qdbm-desktop.icns")):
        print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
