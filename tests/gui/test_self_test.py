"""``qdbm-desktop --self-test``: the smoke test a built bundle runs, here from the source tree."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from qdbm_desktop.gui.self_test import run_self_test


def test_self_test_passes_offscreen_on_a_temporary_folder_and_leaves_qdbm_home_alone(tmp_path: Path) -> None:
    home = tmp_path / "home-that-must-stay-empty"
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["QDBM_HOME"] = str(home)
    done = subprocess.run([sys.executable, "-m", "qdbm_desktop", "--self-test", "--home", str(home)],
                          env=env, capture_output=True, text=True, timeout=240)

    assert done.returncode == 0, done.stdout + done.stderr
    report = done.stdout
    assert "platform offscreen" in report
    assert "ok   main window:" in report
    assert "ok   demo migration: 3000 rows from 'Demo shop (SQLite)' into 'Local warehouse (SQLite)'" in report
    assert "equal to the source's orders" in report
    assert "(C extension)" in report
    for line in ("icons", "PostgreSQL driver", "Oracle driver", "SQLite", "SQL dialects", "database dialects",
                 "scheduler plug-ins", "keyring backends", "cron descriptions", "time zones"):
        assert f"ok   {line}:" in report
    assert report.rstrip().splitlines()[-1].startswith("self-test passed (15 checks, 0 failed")
    assert not home.exists()


def test_self_test_fails_with_the_reason_when_the_demo_migration_fails(qapp: QApplication) -> None:
    out = io.StringIO()

    status = run_self_test(out, query="SELECT order_id FROM no_such_table")

    report = out.getvalue()
    assert status == 1
    assert "FAIL demo migration: RuntimeError: the run failed" in report
    assert "no such table" in report
    last = report.rstrip().splitlines()[-1]
    assert last.startswith("self-test FAILED (15 checks, 1 failed")
    assert "demo migration:" in last and "no such table" in last
    # The other checks still ran and passed.
    assert "ok   main window:" in report and "ok   time zones:" in report
    assert not QApplication.topLevelWidgets() or not any(w.isVisible() for w in QApplication.topLevelWidgets())


def test_self_test_fails_when_the_warehouse_holds_fewer_rows_than_the_source(qapp: QApplication) -> None:
    out = io.StringIO()

    status = run_self_test(out, query="SELECT order_id, total FROM orders WHERE order_id <= 10")

    assert status == 1
    assert "FAIL demo migration: RuntimeError: the warehouse holds 10 rows, the source 3000 orders" in out.getvalue()


def test_self_test_without_unixodbc_passes_with_a_warning_that_says_how_to_get_it(
        without_unixodbc: dict[str, str], tmp_path: Path) -> None:
    env = {key: value for key, value in without_unixodbc.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run([sys.executable, "-m", "qdbm_desktop", "--self-test"],
                          env=env, capture_output=True, text=True, timeout=240)

    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = [line for line in done.stdout.splitlines() if "SQL Server driver:" in line]
    assert line.split()[0] == "warn" and "pyodbc cannot be loaded" in line
    assert "apt-get install unixodbc" in line and "brew install unixodbc" in line
    assert "1 warnings" in done.stdout.rstrip().splitlines()[-1]
