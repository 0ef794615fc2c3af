"""Other tools timed beside QDBM and the pipe on the same tables: sling (https://slingdata.io).

sling's command line comes from the PyPI wheel ``sling`` (``pip install sling``): a small Python
wrapper that, on first use, downloads the sling binary of its version from GitHub releases into
``~/.sling/bin`` (``SLING_HOME_DIR`` moves that folder; ``SLING_BINARY`` names a binary to use
instead, which is how it runs offline). ``QDBM_BENCH_SLING`` names the command to run when it
is not ``sling`` on the PATH. When none of that gives a working binary, the sling columns are
skipped with the reason. Its targets are checked with the same checksum as QDBM's; sling picks
its own column types, so a mismatch it makes is reported in its column, not as a benchmark failure.
"""

from __future__ import annotations

import functools
import os
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


@functools.cache
def find_sling() -> Found:
    """sling's command line when it can run here (its binary loaded or downloaded once)."""
    name = os.environ.get("QDBM_BENCH_SLING", "sling")
    beside = Path(sys.executable).with_name(name)  # the wheel's script in this environment
    path = str(beside) if beside.exists() else shutil.which(name)
    if path is None:
        return Found(None, f"{name!r} not found (pip install sling, or set QDBM_BENCH_SLING)")
    try:
        done = process.run([path, "--version"], env=process.child_env(), timeout=300)
    except OSError as exc:
        return Found(None, f"{path} cannot start: {exc}")
    if done.code != 0:
        tail = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        return Found(None, f"{path} --version failed (its binary is downloaded on first use; offline, "
                           f"set SLING_BINARY): {tail[:300]}")
    return Found([path], version=done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "")


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
