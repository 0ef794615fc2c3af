"""The machine and software a benchmark ran on, for the JSON and the documentation."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from bench.config import Servers
from bench.data import mysql_connect, pg_connect


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _code_version() -> str:
    """The checked-out commit of the code measured, marked ``+dirty`` when the tree has changes."""
    repo = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "qdbm_desktop"], cwd=repo,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def describe(servers: Servers) -> dict[str, Any]:
    """CPU, memory, server and driver versions."""
    import mysql.connector
    import psycopg

    with pg_connect(servers, "postgres") as conn:
        row = conn.execute("SHOW server_version").fetchone()
        pg_version = row[0] if row else "?"
    conn = mysql_connect(servers, None)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT VERSION()")
        (mysql_version,) = cursor.fetchone()
        cursor.close()
    finally:
        conn.close()
    return {
        "qdbm_code": _code_version(), "nproc": os.cpu_count(), "cpu": _cpu_model(), "ram_gib": _ram_gib(),
        "os": platform.platform(), "python": platform.python_version(),
        "postgresql": pg_version, "mariadb": str(mysql_version), "sqlite": sqlite3.sqlite_version,
        "psycopg": psycopg.__version__, "libpq": psycopg.pq.version(),
        "mysql_connector": mysql.connector.__version__,
        "mysql_connector_c_extension": mysql.connector.HAVE_CEXT,
    }
