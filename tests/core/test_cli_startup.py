"""`qdbm --version` answers before the core loads: no database driver, SQL parser or scheduler."""

from __future__ import annotations

import json
import subprocess
import sys

from qdbm_desktop import __version__

HEAVY = ("psycopg", "mysql", "oracledb", "pyodbc", "sqlglot", "apscheduler", "cryptography", "keyring",
         "qdbm_desktop.core")
#: What the `qdbm` console script runs, then the heavy modules that got imported.
SCRIPT = f"""
import json, sys
from qdbm_desktop.cli import main
sys.argv = ["qdbm", "--version"]
try:
    main()
except SystemExit as stop:
    code = stop.code
print(json.dumps({{"code": code, "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


def test_version_imports_no_driver_no_sql_parser_and_no_core_module() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    version, report = done.stdout.splitlines()
    assert version == f"qdbm {__version__}"
    assert json.loads(report) == {"code": 0, "loaded": []}


def test_python_m_qdbm_desktop_cli_version_is_the_same_answer() -> None:
    done = subprocess.run([sys.executable, "-m", "qdbm_desktop.cli", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"qdbm {__version__}\n", "")
