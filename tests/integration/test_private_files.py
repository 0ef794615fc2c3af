"""Every file QDBM writes in its app-data folder is readable by the user only (0600 files, 0700
folders), with a umask of 0 and in a home folder that already existed open to everyone."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qdbm_desktop.core import paths as paths_module
from qdbm_desktop.core.paths import AppPaths
from tests.integration.conftest import Server

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")

DEMO = "Demo shop (SQLite)"
WAREHOUSE = "Local warehouse (SQLite)"


def qdbm(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    env.pop("QDBM_HOME", None)
    return subprocess.run([sys.executable, "-m", "qdbm_desktop.cli", "--home", str(home), *args], input=stdin,
                          env=env, capture_output=True, text=True, timeout=120, umask=0)


def wide_open(home: Path) -> Path:
    home.mkdir()
    os.chmod(home, 0o777)
    return home


def too_open(home: Path) -> list[str]:
    """Every file or folder under (and including) ``home`` that others could read or enter."""
    found = []
    for entry in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(entry.lstat().st_mode)
        if mode & 0o077 or (entry.is_dir() and mode & 0o700 != 0o700):
            found.append(f"{oct(mode)} {entry.relative_to(home.parent)}")
    return found


def test_every_file_and_folder_is_private_after_runs_jobs_schedules_and_the_scheduler(
        tmp_path: Path, mysql_database: Server) -> None:
    home = wide_open(tmp_path / "home")
    steps = [
        qdbm(home, "migrate", "--source", DEMO, "--target", WAREHOUSE, "--query", "select * from customers",
             "--table", "customers"),
        qdbm(home, "connections", "add", "maria", "--url", mysql_database.url("mysql"), "--password-stdin",
             stdin="not-the-password\n"),
        qdbm(home, "connections", "add", "maria-ok", "--url", mysql_database.url("mysql")),
        qdbm(home, "migrate", "--source", DEMO, "--target", "maria-ok", "--query", "select * from products",
             "--table", "products"),
        qdbm(home, "jobs", "add", "nightly", "--source", DEMO, "--target", WAREHOUSE, "--query",
             "select * from orders", "--table", "orders", "--incremental", "order_id"),
        qdbm(home, "run", "nightly"),
        qdbm(home, "schedule", "add", "nightly", "--every", "1h"),
        qdbm(home, "settings", "set", "batch_size", "1000"),
        qdbm(home, "history", "--limit", "0"),
    ]
    for result in steps:
        assert result.returncode == 0, (result.args, result.stderr)
    assert qdbm(home, "connections", "test", "maria").returncode == 1  # a failure is recorded too
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    scheduler = subprocess.Popen([sys.executable, "-m", "qdbm_desktop.cli", "--home", str(home), "scheduler",
                                  "--check-every", "0.5"], env=env, umask=0, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (home / "scheduler.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)
        assert too_open(home) == []  # while it holds its lock
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.communicate(timeout=30)
    names = {p.name for p in home.rglob("*")}
    assert {"history.sqlite3", "connections.json", "schedules.json", "settings.json", "secret.key",
            "scheduler.lock", "demo_shop.sqlite", "warehouse.sqlite"} <= names
    assert any(name.endswith(".lock") and name.startswith("job-") for name in names)
    assert too_open(home) == []


def test_a_wide_home_left_by_an_older_version_is_tightened_at_start_and_foreign_files_are_not(
        tmp_path: Path) -> None:
    home = wide_open(tmp_path / "home")
    assert qdbm(home, "history").returncode == 0
    # As an older version (or a umask of 0) left them: everything open to everyone.
    (home / "notes.txt").write_text("the user's own file")
    for entry in [*home.rglob("*")]:
        os.chmod(entry, 0o777 if entry.is_dir() else 0o666)
    os.chmod(home, 0o777)
    with sqlite3.connect(home / "history.sqlite3") as db:  # leaves -wal and -shm behind, 0666
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE IF NOT EXISTS scratch (x)")
    (home / "demo" / "copy.sqlite").write_bytes((home / "demo" / "demo_shop.sqlite").read_bytes())
    os.chmod(home / "demo" / "copy.sqlite", 0o666)

    assert qdbm(home, "--version").returncode == 0
    assert qdbm(home, "info").returncode == 0

    assert [line for line in too_open(home) if "notes.txt" not in line] == []
    assert stat.S_IMODE((home / "notes.txt").stat().st_mode) == 0o666


def test_make_private_does_nothing_where_there_are_no_posix_permissions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = wide_open(tmp_path / "home")
    monkeypatch.setattr(paths_module, "_POSIX", False)
    calls: list[object] = []
    monkeypatch.setattr(os, "chmod", lambda *a, **k: calls.append(a))
    AppPaths(home).ensure()
    paths_module.make_private(home)
    assert calls == [] and stat.S_IMODE(home.stat().st_mode) == 0o777
