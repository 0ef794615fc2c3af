"""Other tools timed beside QDBM and the pipe on the same tables: sling (https://slingdata.io).

sling's command line is found, in this order: ``QDBM_BENCH_SLING`` (a command to run); the
binary inside sling's platform wheel from PyPI (``pip install sling-linux-amd64``, or the
``-linux-arm64``, ``-mac-arm64``, ``-mac-amd64``, ``-windows-amd64`` one), which needs no network
once installed; the ``sling`` wrapper wheel (``pip install sling``), which on first use downloads
the binary of its version from GitHub releases into ``~/.sling/bin`` (``SLING_BINARY`` names a
binary to use instead). When none of that gives a working binary, the sling columns are
skipped with the reason. Its targets are checked with the same checksum as QDBM's; sling picks
its own column types, so a mismatch it makes is reported in its column, not as a benchmark failure.
"""

from __future__ import annotations

import functools
import importlib
import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import process
from bench.config import COLUMNS, DATABASE, Servers


@dataclass(frozen=True)
class Found:
    """The command that runs sling, or why there is none."""

    command: list[str] | None
    reason: str = ""
    version: str = ""


def _platform_wheel_binary() -> str | None:
    """The binary of sling's platform wheel (``sling_linux_amd64`` and the like), if installed."""
    system = {"Linux": "linux", "Darwin": "mac", "Windows": "windows"}.get(platform.system())
    machine = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "amd64"
    if system is None:
        return None
    try:
        module = importlib.import_module(f"sling_{system}_{machine}")
    except ImportError:
        return None
    binary = getattr(module, "SLING_BIN", "")
    if not binary or not Path(binary).is_file():
        return None
    if not os.access(binary, os.X_OK):  # a wheel does not keep the executable bit everywhere
        Path(binary).chmod(Path(binary).stat().st_mode | 0o111)
    return str(binary)


@functools.cache
def find_sling() -> Found:
    """sling's command line when it can run here (its binary installed, loaded or downloaded once)."""
    name = os.environ.get("QDBM_BENCH_SLING")
    path = None if name else _platform_wheel_binary()
    if path is None:
        name = name or "sling"
        beside = Path(sys.executable).with_name(name)  # the wheel's script in this environment
        path = str(beside) if beside.exists() else shutil.which(name)
    if path is None:
        return Found(None, f"{name!r} not found (pip install sling-linux-amd64 or sling, "
                           "or set QDBM_BENCH_SLING)")
    try:
        done = process.run([path, "--version"], env=process.child_env(), timeout=300)
    except OSError as exc:
        return Found(None, f"{path} cannot start: {exc}")
    if done.code != 0:
        tail = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        return Found(None, f"{path} --version failed (its binary is downloaded on first use; offline, "
                           f"set SLING_BINARY): {tail[:300]}")
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    return Found([path], version=last.removeprefix("Version:").strip())


def _url(engine: str, servers: Servers, sqlite_path: Path) -> str:
    if engine == "postgresql":
        return (f"postgresql://{servers.pg_user}@{servers.pg_host}:{servers.pg_port}/{DATABASE}"
                "?sslmode=disable")
    if engine == "mysql":
        return f"mysql://{servers.mysql_user}:@{servers.mysql_host}:{servers.mysql_port}/{DATABASE}"
    return f"sqlite://{sqlite_path.resolve()}"


def _object(engine: str, table: str) -> str:
    return {"postgresql": f"public.{table}", "mysql": f"{DATABASE}.{table}"}.get(engine, f"main.{table}")


def sling_command(found: Found, source: str, target: str, source_table: str, target_table: str) -> list[str]:
    assert found.command is not None
    return [*found.command, "run", "--src-conn", "QDBM_BENCH_SRC",
            "--src-stream", f"SELECT {', '.join(COLUMNS)} FROM {source_table}",
            "--tgt-conn", "QDBM_BENCH_TGT", "--tgt-object", _object(target, target_table),
            "--mode", "full-refresh"]


def run_sling(found: Found, servers: Servers, source: str, target: str, source_table: str,
              target_table: str) -> dict[str, Any]:
    """One sling run (a whole process) from ``source_table`` into ``target_table``."""
    env = process.child_env({"QDBM_BENCH_SRC": _url(source, servers, servers.sqlite_source),
                             "QDBM_BENCH_TGT": _url(target, servers, servers.sqlite_target),
                             "SLING_LOADED_AT_COLUMN": "false", "DO_NOT_TRACK": "true"})
    done = process.run(sling_command(found, source, target, source_table, target_table), env=env)
    if done.code != 0:
        lines = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()
        return {"status": "failed", "error": f"exit {done.code}: {lines[-1][:300]}"}
    return {"status": "succeeded", "seconds": done.seconds, "peak_rss_mb": done.peak_rss_mb}
