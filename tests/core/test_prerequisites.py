"""The system packages `make run` and `make test` check (.ci/prerequisites.sh), and the README's
Prerequisites table that lists them for each system."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "prerequisites.sh"
#: The script's package columns, in its order, and the README rows that name the same system.
COLUMNS = {"Debian, Ubuntu (apt-get)": 1, "Fedora (dnf)": 2, "macOS (Homebrew)": 3}


def script_packages(variable: str, column: int) -> list[str]:
    text = SCRIPT.read_text()
    body = re.search(rf"^{variable}='\n(.*?)^'", text, re.S | re.M)
    assert body, f"{variable} is not in {SCRIPT}"
    packages = [line.split()[column] for line in body.group(1).splitlines() if line.strip()]
    return list(dict.fromkeys(p for p in packages if p != "-"))


def readme_rows() -> dict[str, tuple[list[str], list[str]]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Prerequisites", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in (*COLUMNS, "Windows"):
            rows[cells[0]] = (cells[1].split(), cells[2].split())
    return rows


def test_the_readme_lists_exactly_the_packages_the_check_installs_for_each_system() -> None:
    rows = readme_rows()
    assert set(rows) == {*COLUMNS, "Windows"}
    for system, column in COLUMNS.items():
        app = script_packages("APP_REQUIREMENTS", column)
        test = [p for p in script_packages("TEST_REQUIREMENTS", column) if p not in app]
        assert rows[system] == (app, test), system


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("apt-get") is None,
                    reason="the apt-get branch of the check")
def test_a_missing_package_that_cannot_be_installed_stops_with_one_line_naming_it_and_the_command() -> None:
    # An interpreter that cannot make a virtual environment stands for a machine without
    # python3-venv; QDBM_NO_SYSTEM_INSTALL=1 for a user who cannot install (no root, no sudo).
    env = {**os.environ, "PYTHON": "/nonexistent/python3", "QDBM_NO_SYSTEM_INSTALL": "1"}
    done = subprocess.run(["sh", str(SCRIPT), "app"], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    named = re.fullmatch(r"qdbm: make run needs these system packages: (python3-venv[^;]*); "
                         r"install them with: (sudo )?apt-get install -y (.*)", line)
    assert named, line
    assert named.group(1) == named.group(3)  # the command installs exactly what the line names

    usage = subprocess.run(["sh", str(SCRIPT), "everything"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "usage:" in usage.stderr
