"""A driver whose shared library cannot load makes its tests skip with the reason, never stops
the run; with QDBM_REQUIRE_SERVERS=1 (CI) they fail instead. Each case runs pytest in a child
process on a machine made to lack the library."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pytest_run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


def test_without_unixodbc_the_odbc_tests_skip_saying_how_to_get_it(without_unixodbc: dict[str, str]) -> None:
    env = {k: v for k, v in without_unixodbc.items() if k != "QDBM_REQUIRE_SERVERS"}
    done = pytest_run(env, "tests/integration/test_odbc_transport.py",
                      "tests/core/test_sqlserver_dialect.py::test_connecting_through_a_driver_that_is_not_installed_says_so_plainly")

    assert done.returncode == 0, done.stdout + done.stderr
    skips = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skips and all("pyodbc cannot be loaded" in line and "apt-get install unixodbc" in line for line in skips)
    assert done.stdout.splitlines()[-1].startswith("2 skipped in"), done.stdout

    required = pytest_run({**env, "QDBM_REQUIRE_SERVERS": "1"}, "tests/integration/test_odbc_transport.py")
    assert required.returncode != 0
    assert "pyodbc cannot be loaded" in required.stdout and "(QDBM_REQUIRE_SERVERS=1)" in required.stdout


def test_an_oracle_server_url_asking_for_an_instant_client_that_is_missing_skips_its_tests(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("QDBM_REQUIRE_SERVERS", "QDBM_TEST_SQLSERVER_URL")}
    env["QDBM_TEST_ORACLE_URL"] = f"oracle://scott:tiger@127.0.0.1:1/FREEPDB1?instant_client={tmp_path / 'none'}"
    done = pytest_run(env, "tests/integration/test_sqlserver_oracle_servers.py")

    assert done.returncode == 0, done.stdout + done.stderr
    skips = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    oracle = [line for line in skips if "the Oracle Instant Client cannot be loaded from" in line]
    assert oracle and all("DPI-1047" in line for line in oracle), done.stdout
    assert all(line in oracle or "QDBM_TEST_SQLSERVER_URL is not set" in line for line in skips), done.stdout
    assert re.fullmatch(r"\d+ skipped in .*", done.stdout.splitlines()[-1]), done.stdout  # nothing else ran
