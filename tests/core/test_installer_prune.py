"""installer/prune.py: what build_installer.spec leaves out of the bundle."""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _prune() -> ModuleType:
    spec = importlib.util.spec_from_file_location("qdbm_installer_prune", ROOT / "installer" / "prune.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prune = _prune()
needs_cc = pytest.mark.skipif(shutil.which("cc") is None or not sys.platform.startswith("linux"),
                              reason="needs a C compiler (cc) making ELF libraries")


@pytest.mark.parametrize("name", [
    "PySide6/Qt/plugins/platforms/libqxcb.so",
    "PySide6/Qt/plugins/platforms/libqwayland.so",
    "PySide6/Qt/plugins/platforms/libqoffscreen.so",
    "PySide6\\plugins\\platforms\\qwindows.dll",
    "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
    "PySide6/Qt/plugins/imageformats/libqsvg.so",
    "PySide6/Qt/plugins/iconengines/libqsvgicon.so",
    "PySide6/Qt/plugins/platforminputcontexts/libcomposeplatforminputcontextplugin.so",
    "PySide6/Qt/plugins/xcbglintegrations/libqxcb-glx-integration.so",
    "PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so",
    "PySide6\\plugins\\styles\\qmodernwindowsstyle.dll",
    "PySide6/Qt/lib/libQt6XcbQpa.so.6",
    "PySide6/Qt/lib/libQt6Network.so.6",
    "PySide6/Qt/lib/libQt6WaylandClient.so.6",
    "PySide6/QtSvg.abi3.so",
])
def test_what_the_app_loads_stays(name: str) -> None:
    assert not prune.is_unused_qt((name, "/site-packages/" + name.replace("\\", "/"), "BINARY"))


@pytest.mark.parametrize("name", [
    "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
    "PySide6/Qt/plugins/tls/libqopensslbackend.so",
    "PySide6\\plugins\\tls\\qschannelbackend.dll",
    "PySide6/Qt/plugins/networkinformation/libqnetworkmanager.so",
    "PySide6/Qt/plugins/platforms/libqeglfs.so",
    "PySide6/Qt/plugins/platforms/libqvnc.so",
    "PySide6/Qt/plugins/platforms/libqminimal.so",
    "PySide6/Qt/plugins/platforms/libqlinuxfb.so",
    "PySide6\\plugins\\platforms\\qdirect2d.dll",
    "PySide6/Qt/plugins/imageformats/libqjpeg.so",
    "PySide6/Qt/plugins/imageformats/libqgif.dylib",
    "PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6",
    "PySide6/Qt/lib/libQt6Qml.so.6",
    "PySide6/Qt/translations/qtbase_de.qm",
])
def test_what_the_app_never_loads_goes(name: str) -> None:
    assert prune.is_unused_qt((name, "/site-packages/" + name.replace("\\", "/"), "BINARY"))


def test_a_non_elf_file_links_nothing(tmp_path: Path) -> None:
    text = tmp_path / "libnot.so.1"
    text.write_text("not a library", encoding="utf-8")
    assert prune.elf_needed(text) == set()


def _library(folder: Path, name: str, *needs: Path) -> Path:
    source = folder / f"{name}.c"
    source.write_text(f"int {name.split('.')[0].replace('-', '_')}_here(void) {{ return 1; }}\n", encoding="utf-8")
    target = folder / name
    links = [f"-l:{need.name}" for need in needs]
    subprocess.run(["cc", "-shared", "-fPIC", f"-Wl,-soname,{name}", "-Wl,--no-as-needed", "-o", str(target),
                    str(source), f"-L{folder}", *links], check=True)
    return target


@needs_cc
def test_elf_needed_reads_the_libraries_a_library_links_against(tmp_path: Path) -> None:
    base = _library(tmp_path, "libbase.so.1")
    top = _library(tmp_path, "libtop.so.2", base)
    assert {"libbase.so.1", "libc.so.6"} <= prune.elf_needed(top)
    assert "libtop.so.2" not in prune.elf_needed(base)


@needs_cc
def test_system_libraries_only_a_left_out_plugin_used_are_unreferenced(tmp_path: Path) -> None:
    # plugin -> libmid -> libdeep is still loaded; libgtkish was only the dropped plug-in's.
    deep = _library(tmp_path, "libdeep.so.1")
    mid = _library(tmp_path, "libmid.so.1", deep)
    gtkish = _library(tmp_path, "libgtkish.so.0")
    plugin = _library(tmp_path, "libplugin.so", mid)
    python = _library(tmp_path, "libpython3.99.so.1.0")
    binaries = [
        ("PySide6/Qt/plugins/platforms/libplugin.so", str(plugin), "BINARY"),
        ("libmid.so.1", str(mid), "BINARY"),
        ("libdeep.so.1", str(deep), "BINARY"),
        ("libgtkish.so.0", str(gtkish), "BINARY"),
        ("libpython3.99.so.1.0", str(python), "BINARY"),
        ("libgtkish.so", "libgtkish.so.0", "SYMLINK"),
    ]
    assert prune.unreferenced_libraries(binaries) == {"libgtkish.so.0"}


@needs_cc
def test_the_icu_data_stub_is_a_loadable_library_with_icus_entry_point(tmp_path: Path) -> None:
    stub = prune.icu_data_stub("73", tmp_path)
    assert stub is not None and stub.name == "libicudata.so.73"
    assert stub.stat().st_size < 100_000
    library = ctypes.CDLL(str(stub))
    assert bytes((ctypes.c_ubyte * 4).in_dll(library, "icudt73_dat")) == b"\0\0\0\0"


@needs_cc
def test_only_icus_data_library_is_replaced(tmp_path: Path) -> None:
    binaries = [("PySide6/Qt/lib/libicudata.so.73", "/wheel/libicudata.so.73", "BINARY"),
                ("PySide6/Qt/lib/libicuuc.so.73", "/wheel/libicuuc.so.73", "BINARY")]
    replaced, stubbed = prune.with_icu_data_stub(binaries, tmp_path / "icu")
    assert stubbed is True
    assert replaced == [("PySide6/Qt/lib/libicudata.so.73", str(tmp_path / "icu" / "libicudata.so.73"), "BINARY"),
                        binaries[1]]
    assert prune.with_icu_data_stub(binaries[1:], tmp_path) == (binaries[1:], None)


def test_without_a_compiler_the_full_icu_data_stays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", "no-such-compiler-qdbm")
    binaries = [("PySide6/Qt/lib/libicudata.so.73", "/wheel/libicudata.so.73", "BINARY")]
    assert prune.with_icu_data_stub(binaries, tmp_path) == (binaries, False)
