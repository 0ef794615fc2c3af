"""Running a command as a user starts it: a whole process, timed from start to exit, with its peak memory.

The children run with the environment of the benchmark minus ``PYTHONDONTWRITEBYTECODE``, so that
Python loads the compiled modules it cached, as an installed package does; with that variable
set, every start compiles the modules again (about 0.13 s of a one-row ``qdbm migrate``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Finished:
    """A process that ran: exit code, output, wall-clock seconds and peak resident memory."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra or {})
    return env


#: GNU time measures the peak memory of the command alone: Linux keeps a process's high-water
#: mark across exec, so ``wait4`` on a child forked from this (large) process would report ours.
_GNU_TIME = "/usr/bin/time"
_PEAK_MARK = "qdbm-bench-peak-kib="


def run(command: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 3600) -> Finished:
    """Run ``command`` to its end; its wall-clock time and its own peak RSS."""
    measured = os.access(_GNU_TIME, os.X_OK)
    argv = [_GNU_TIME, "-f", _PEAK_MARK + "%M", *command] if measured else list(command)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=dict(env or child_env()))
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        peak_kib = usage.ru_maxrss
        if measured:
            head, _, mark = stderr.rstrip("\n").rpartition("\n")
            mark = mark if mark.startswith(_PEAK_MARK) else ""
            if mark:
                peak_kib = int(mark[len(_PEAK_MARK):])
                # GNU time's own "Command exited with non-zero status N" line goes too.
                stderr = "\n".join(line for line in head.split("\n")
                                    if not line.startswith(("Command exited with", "Command terminated by")))
        return Finished(proc.returncode, out.read().decode("utf-8", "replace"), stderr, seconds,
                        peak_kib / 1024)


def qdbm_command() -> list[str]:
    """The ``qdbm`` console script of this interpreter's environment (``python -m qdbm_desktop.cli``
    when there is none)."""
    script = Path(sys.executable).with_name("qdbm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "qdbm_desktop.cli"]


class QdbmHome:
    """A throw-away app-data folder for the runs (``QDBM_HOME``), its first-run set-up done once."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="qdbm_bench_home_"))
        run([*qdbm_command(), "connections", "list"], env=self.env())  # creates the demo, not timed

    def env(self) -> dict[str, str]:
        return child_env({"QDBM_HOME": str(self.path)})

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
