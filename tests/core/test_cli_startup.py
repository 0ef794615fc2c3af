"""Start-up imports: `qdbm --version` answers before the core loads (no database driver, SQL parser
or scheduler), and a run loads the driver and dialect of the engines it uses only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


#: A one-row SQLite -> SQLite `qdbm migrate`, then what it imported of the drivers, the
#: scheduler, Qt and the dialect packages.
MIGRATE_SCRIPT = """
import json, sqlite3, sys
from qdbm_desktop.cli import main
source, target = sys.argv[1], sys.argv[2]
with sqlite3.connect(source) as c:
    c.execute("CREATE TABLE one (a INTEGER)")
    c.execute("INSERT INTO one VALUES (1)")
sqlite3.connect(target).close()
sys.argv = ["qdbm", "migrate", "--source", "sqlite:///" + source, "--target", "sqlite:///" + target,
            "--query", "SELECT a FROM one", "--table", "copied", "--mode", "replace"]
try:
    code = main()
except SystemExit as stop:
    code = stop.code
tops = sorted({m.split(".")[0] for m in sys.modules})
dialects = sorted({m.split(".")[3] for m in sys.modules
                   if m.startswith("qdbm_desktop.core.dialects.") and m.count(".") >= 3})
print(json.dumps({"code": code, "tops": tops, "dialects": dialects,
                  "rows": sqlite3.connect(target).execute("SELECT a FROM copied").fetchall()}))
"""
UNUSED_BY_SQLITE = ("psycopg", "psycopg_binary", "mysql", "oracledb", "pyodbc", "apscheduler", "keyring",
                    "PySide6", "shiboken6")


def test_a_sqlite_migrate_imports_no_other_engines_driver_nor_the_scheduler(tmp_path: Path) -> None:
    env = {**os.environ, "QDBM_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", MIGRATE_SCRIPT, str(tmp_path / "one.db"),
                           str(tmp_path / "two.db")], capture_output=True,
                          text=True, timeout=120, check=False, env=env)
    report = json.loads(done.stdout.splitlines()[-1])
    assert (report["code"], report["rows"]) == (0, [[1]]), done.stderr
    assert [m for m in UNUSED_BY_SQLITE if m in report["tops"]] == []
    # Only the engine the run uses is loaded (modules directly under dialects/, like base, aside).
    assert set(report["dialects"]) <= {"sqlite", "base", "catalog", "ddl", "fetch"}, report["dialects"]
    assert "sqlite" in report["dialects"]
