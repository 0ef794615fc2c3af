"""What build_installer.spec leaves out of the bundle: Qt parts the app never loads, the system
libraries only those parts needed, and (on Linux) ICU's 30 MB of locale data.

Each cut and its size is in docs/installers.md. The entries handled are PyInstaller's TOC tuples
``(name in the bundle, source path, type)``.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from collections.abc import Iterable
from pathlib import Path

Entry = tuple[str, str, str]

# Qt shared libraries, plug-ins and translations the hooks bring along that the app never loads
# (it has no translations of its own, so Qt's would only translate a stray standard button).
# Of the plug-ins it keeps the platforms xcb, wayland, offscreen, windows and cocoa, the SVG image
# format and icon engine, input contexts, styles and the xcb GL integrations Qt's xcb needs.
UNUSED_QT = re.compile(
    r"(Qt6?(Qml|Quick|Designer|Help|UiTools|Sql|Test|Pdf|VirtualKeyboard|Labs|Lottie|ShaderTools|"
    r"WebEngine|WebChannel|WebSockets|Multimedia|3D|Charts|Graphs|DataVisualization|Positioning|"
    r"Location|Sensors|SerialPort|Bluetooth|Nfc|RemoteObjects|Scxml|StateMachine|TextToSpeech|"
    r"EglFSDeviceIntegration|EglFsKmsSupport)"
    r"|/plugins/(qmltooling|qmllint|designer|sqldrivers|printsupport|"
    r"wayland-graphics-integration-server|egldeviceintegrations|generic|vectorimageformats|"
    # QtNetwork serves only the local socket of the single-instance check: no TLS, no network state.
    r"tls|networkinformation)/"
    # The GTK theme pulls in GTK's libraries (cairo, pango, gdk-pixbuf ...) for native dialogs.
    r"|/plugins/platformthemes/[^/]*gtk"
    r"|/plugins/platforms/[^/]*(eglfs|linuxfb|minimal|vkkhrdisplay|vnc|direct2d)"
    r"|/plugins/imageformats/(?![^/]*svg)"
    r"|/qml/|/translations/)"
)


def is_unused_qt(entry: Entry) -> bool:
    """Whether this TOC entry is a part of Qt that the app never loads."""
    name, source = entry[0], entry[1]
    return any(UNUSED_QT.search("/" + path.replace("\\", "/")) for path in (name, source))


def without_unused_qt(entries: Iterable[Entry]) -> list[Entry]:
    return [entry for entry in entries if not is_unused_qt(entry)]


def elf_needed(path: Path) -> set[str]:
    """The DT_NEEDED names of a 64- or 32-bit ELF file (empty for anything else)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        return set()
    wide, order = data[4] == 2, "<" if data[5] == 1 else ">"
    if wide:
        shoff, shentsize, shnum = (struct.unpack_from(order + "Q", data, 0x28)[0],
                                   *struct.unpack_from(order + "HH", data, 0x3A))
    else:
        shoff, shentsize, shnum = (struct.unpack_from(order + "I", data, 0x20)[0],
                                   *struct.unpack_from(order + "HH", data, 0x2E))
    sections = []
    for index in range(shnum):
        at = shoff + index * shentsize
        if wide:
            kind, offset, size, link, entsize = (struct.unpack_from(order + "I", data, at + 4)[0],
                                                 *struct.unpack_from(order + "QQ", data, at + 0x18),
                                                 struct.unpack_from(order + "I", data, at + 0x28)[0],
                                                 struct.unpack_from(order + "Q", data, at + 0x38)[0])
        else:
            kind, offset, size, link, entsize = (struct.unpack_from(order + "I", data, at + 4)[0],
                                                 *struct.unpack_from(order + "II", data, at + 0x10),
                                                 struct.unpack_from(order + "I", data, at + 0x18)[0],
                                                 struct.unpack_from(order + "I", data, at + 0x24)[0])
        sections.append((kind, offset, size, link, entsize))
    needed: set[str] = set()
    for kind, offset, size, link, entsize in sections:
        if kind != 6 or not entsize:  # SHT_DYNAMIC
            continue
        strings = sections[link][1]
        pair = order + ("qQ" if wide else "iI")
        for at in range(offset, offset + size, entsize):
            tag, value = struct.unpack_from(pair, data, at)
            if tag == 0:
                break
            if tag == 1:  # DT_NEEDED
                end = data.index(b"\0", strings + value)
                needed.add(data[strings + value:end].decode())
    return needed


def unreferenced_libraries(binaries: Iterable[Entry]) -> set[str]:
    """Names of the system libraries at the bundle's top level that nothing left in it loads.

    PyInstaller collects every library a collected binary links against; once a plug-in is left
    out, the libraries only it used (GTK's, for the GTK theme) are dead weight. Python's own
    library is always kept: the executables load it by path.
    """
    entries = [entry for entry in binaries if entry[2] != "SYMLINK"]
    top = {entry[0]: Path(entry[1]) for entry in entries
           if "/" not in entry[0].replace("\\", "/") and entry[0].startswith("lib")
           and not entry[0].startswith("libpython")}
    todo = [Path(entry[1]) for entry in entries if entry[0] not in top]
    kept: set[str] = set()
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in elf_needed(path) if path.is_file() else ():
            if name in top and name not in kept:
                kept.add(name)
                todo.append(top[name])
    return set(top) - kept


ICU_DATA = re.compile(r"(^|/)libicudata\.so\.(\d+)$")


def icu_data_stub(version: str, folder: Path, compiler: str | None = None) -> Path | None:
    """A stand-in for ICU's data library ``libicudata.so.VERSION``: the one symbol ICU looks for,
    holding no data, compiled with ``compiler`` (``$CC`` or ``cc``); None without a compiler.

    Qt's core library links against ICU, but the app uses none of what needs ICU's data (locale
    collation, legacy text codecs); without it Qt falls back to its own Unicode tables, and its
    file dialog sorts names by code point instead of the locale's alphabet.
    """
    compiler = compiler or os.environ.get("CC") or "cc"
    if shutil.which(compiler) is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "icudata-stub.c"
    target = folder / f"libicudata.so.{version}"
    source.write_text("/* ICU's common data entry point, holding no data: ICU reports its data missing. */\n"
                      f"const unsigned char icudt{version}_dat[64] __attribute__((aligned(16))) = {{0}};\n",
                      encoding="utf-8")
    subprocess.run([compiler, "-shared", "-fPIC", f"-Wl,-soname,libicudata.so.{version}", "-o", str(target),
                    str(source)], check=True)
    return target


def with_icu_data_stub(binaries: Iterable[Entry], folder: Path) -> tuple[list[Entry], bool | None]:
    """``binaries`` with ICU's data library replaced by a stub; whether it was replaced (None:
    there was no ICU data library; False: no compiler to make the stub)."""
    result: list[Entry] = []
    replaced: bool | None = None
    for name, source, kind in binaries:
        found = ICU_DATA.search(name.replace("\\", "/"))
        if found and kind != "SYMLINK":
            stub = icu_data_stub(found.group(2), folder)
            replaced = stub is not None
            source = str(stub) if stub is not None else source
        result.append((name, source, kind))
    return result, replaced
