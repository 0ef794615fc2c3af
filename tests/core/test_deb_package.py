"""installer/linux/build-deb.sh: the .deb packed from a bundle folder (a small stand-in here; the
real bundle is packed, installed, run and removed by make installer and make deb-test)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from qdbm_desktop import __version__

ROOT = Path(__file__).resolve().parents[2]
BUILD_DEB = ROOT / "installer" / "linux" / "build-deb.sh"

pytestmark = pytest.mark.skipif(
    shutil.which("dpkg-deb") is None or (os.geteuid() != 0 and shutil.which("fakeroot") is None),
    reason="needs dpkg-deb (and fakeroot when not root)")


def _bundle(dist: Path) -> Path:
    folder = dist / "qdbm-desktop"
    (folder / "_internal").mkdir(parents=True)
    for name in ("qdbm-desktop", "qdbm"):
        (folder / name).write_text("#!/bin/sh\necho stand-in\n", encoding="utf-8")
        (folder / name).chmod(0o755)
    (folder / "_internal" / "base_library.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    for extra in ("install-linux.sh", "qdbm-desktop.desktop", "qdbm-desktop.svg"):
        (folder / extra).write_text("tarball only\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _bundle(dist)
    env = {**os.environ, "DEB_STAGE": str(tmp_path_factory.mktemp("stage")), "SOURCE_DATE_EPOCH": "1767225600"}
    done = subprocess.run(["sh", str(BUILD_DEB), str(dist)], capture_output=True, text=True, env=env, check=True)
    written = Path(done.stdout.strip().splitlines()[-1])
    assert written.parent == dist and written.is_file()
    return written


def _field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True,
                          check=True).stdout.strip()


def _contents(deb: Path) -> dict[str, str]:
    """Installed path -> its `tar -tv` line (mode, owner, link target)."""
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in listing.splitlines():
        path = line.split(None, 5)[5].split(" -> ")[0]
        found[path.removeprefix(".").rstrip("/") or "/"] = line
    return found


def test_the_package_is_named_after_the_version_and_this_machines_architecture(deb: Path) -> None:
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    assert deb.name == f"qdbm-desktop_{__version__}_{arch}.deb"
    assert (_field(deb, "Package"), _field(deb, "Version"), _field(deb, "Architecture")) == (
        "qdbm-desktop", __version__, arch)
    assert int(_field(deb, "Installed-Size")) > 0


def test_it_depends_on_every_system_library_the_app_prerequisites_name(deb: Path) -> None:
    script = (ROOT / ".ci" / "prerequisites.sh").read_text(encoding="utf-8")
    app_set = script.split("APP_REQUIREMENTS='", 1)[1].split("'", 1)[0]
    libraries = [line.split()[1] for line in app_set.splitlines() if line.startswith("lib:")]
    assert "libxcb-cursor0" in libraries and "libodbc2" in libraries and "libgl1" in libraries
    depends = _field(deb, "Depends").split(", ")
    assert re.fullmatch(r"libc6 \(>= \d+\.\d+\)", depends[0])  # this machine's C library, or newer
    assert depends[1:] == libraries


def test_it_installs_the_folder_under_opt_with_links_a_menu_entry_and_an_icon(deb: Path) -> None:
    contents = _contents(deb)
    assert "/opt/qdbm-desktop/qdbm-desktop" in contents
    assert "/opt/qdbm-desktop/_internal/base_library.zip" in contents
    assert contents["/usr/bin/qdbm-desktop"].endswith("-> /opt/qdbm-desktop/qdbm-desktop")
    assert contents["/usr/bin/qdbm"].endswith("-> /opt/qdbm-desktop/qdbm")
    assert "/usr/share/applications/qdbm-desktop.desktop" in contents
    assert "/usr/share/icons/hicolor/scalable/apps/qdbm-desktop.svg" in contents
    assert "/usr/share/doc/qdbm-desktop/copyright" in contents
    assert {"/usr/share/man/man1/qdbm.1.gz", "/usr/share/man/man1/qdbm-desktop.1.gz"} <= set(contents)
    # What only the tarball's own install script needs is left out.
    assert not {"/opt/qdbm-desktop/install-linux.sh", "/opt/qdbm-desktop/qdbm-desktop.desktop"} & set(contents)
    # Every file belongs to root, and nothing outside /opt and /usr.
    assert all(" root/root " in line for line in contents.values())
    assert {path.split("/")[1] for path in contents if path != "/"} == {"opt", "usr"}
    assert contents["/opt/qdbm-desktop/qdbm-desktop"].startswith("-rwxr-xr-x")


def test_its_menu_entry_starts_the_linked_app_and_names_the_hicolor_icon(deb: Path, tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    entry = (tmp_path / "usr/share/applications/qdbm-desktop.desktop").read_text(encoding="utf-8")
    assert re.search(r"^Exec=qdbm-desktop$", entry, re.M) and re.search(r"^Icon=qdbm-desktop$", entry, re.M)
    assert (tmp_path / "usr/share/icons/hicolor/scalable/apps/qdbm-desktop.svg").read_bytes() == (
        ROOT / "resources" / "icons" / "app.svg").read_bytes()


def test_removing_it_takes_away_what_the_app_left_in_its_folder(deb: Path, tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "-e", str(deb), str(tmp_path)], check=True)
    postrm = tmp_path / "postrm"
    assert postrm.stat().st_mode & stat.S_IXUSR
    script = postrm.read_text(encoding="utf-8")
    assert "remove|purge) rm -rf /opt/qdbm-desktop ;;" in script
    # Only the package's own folder: never a home folder, where the users' data lives.
    assert "HOME" not in script and "/home" not in script and ".local" not in script
    subprocess.run(["sh", "-n", str(postrm)], check=True)
