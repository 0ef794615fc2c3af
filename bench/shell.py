"""Client command lines (psql, mariadb, sqlite3) and running shell pipelines."""

from __future__ import annotations

import os
import shlex
import subprocess
import time

from bench.config import DATABASE, Servers


class CommandFailed(RuntimeError):
    """A shell pipeline exited non-zero; the message carries the end of its stderr."""


def psql(servers: Servers, command: str, database: str = DATABASE) -> str:
    """``psql`` running one backslash or SQL command on ``database``, quoted for a shell."""
    return (f"psql -X -q -v ON_ERROR_STOP=1 -h {servers.pg_host} -p {servers.pg_port} "
            f"-U {servers.pg_user} -d {database} -c {shlex.quote(command)}")


def mariadb(servers: Servers, sql: str, database: str = DATABASE, local_infile: bool = False) -> str:
    """``mariadb`` running ``sql`` (one or more statements) on ``database``, quoted for a shell."""
    infile = " --local-infile=1" if local_infile else ""
    return (f"mariadb{infile} -h {servers.mysql_host} -P {servers.mysql_port} -u {servers.mysql_user} "
            f"--default-character-set=utf8mb4 {database} -e {shlex.quote(sql)}")


def sqlite3_shell(path: os.PathLike[str] | str, *args: str) -> str:
    """The ``sqlite3`` shell on ``path`` with ``args`` (options and commands), quoted for a shell."""
    return " ".join(["sqlite3", *map(shlex.quote, args[:-1]), shlex.quote(str(path)),
                     shlex.quote(args[-1])]) if args else f"sqlite3 {shlex.quote(str(path))}"


def run(script: str) -> float:
    """Run ``script`` in bash with ``pipefail``; return its wall-clock seconds, raise on failure."""
    started = time.perf_counter()
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise CommandFailed(f"exit {proc.returncode}: {' | '.join(tail)}\n  command: {script}")
    return seconds
