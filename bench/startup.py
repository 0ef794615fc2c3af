"""Start-up figures: ``qdbm --version`` and a one-row ``qdbm migrate``, each a whole process.

The one-row run moves ``SELECT 1 AS a`` from PostgreSQL into a PostgreSQL table: its time is the
fixed cost every run pays (interpreter, imports, two connections, the staging table, the checks
and the swap, the history entry) with no rows to speak of.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench import peers, process
from bench.config import Servers
from bench.data import execute_on
from bench.runner import endpoint_url

ONE_ROW_TABLE = "startup_one_row"


def _median_of(command: list[str], env: dict[str, str], repeat: int) -> dict[str, Any]:
    seconds: list[float] = []
    peaks: list[float] = []
    for _ in range(repeat):
        done = process.run(command, env=env, timeout=120)
        if done.code != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return {"status": "FAILED", "error": f"exit {done.code}: {tail}"}
        seconds.append(done.seconds)
        peaks.append(done.peak_rss_mb)
    return {"status": "ok", "seconds_median": round(statistics.median(seconds), 3),
            "seconds": [round(s, 3) for s in seconds], "peak_rss_mb": round(max(peaks), 1)}


def measure(servers: Servers, repeat: int) -> dict[str, dict[str, Any]]:
    """The start-up figures by name (``qdbm --version``, one-row migrate, and sling's when present)."""
    home = process.QdbmHome()
    url = endpoint_url("postgresql", servers, servers.sqlite_target)
    one_row = [*process.qdbm_command(), "migrate", "--source", url, "--target", url,
               "--query", "SELECT 1 AS a", "--table", ONE_ROW_TABLE, "--mode", "replace"]
    try:
        figures = {
            "qdbm --version": _median_of([*process.qdbm_command(), "--version"], home.env(), repeat),
            "qdbm migrate, one row (pg-pg)": _median_of(one_row, home.env(), repeat),
        }
    finally:
        home.remove()
        execute_on("postgresql", servers, f"DROP TABLE IF EXISTS {ONE_ROW_TABLE}")
    sling = peers.find_sling()
    if sling.command is None:
        figures["sling --version"] = {"status": "skipped", "error": sling.reason}
    else:
        figures["sling --version"] = _median_of([*sling.command, "--version"], process.child_env(), repeat)
    return figures


def text_lines(figures: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for name, figure in figures.items():
        if figure["status"] == "ok":
            lines.append(f"  {name}: {figure['seconds_median']:.3f} s (median of {len(figure['seconds'])}), "
                         f"{figure['peak_rss_mb']:.0f} MB")
        else:
            lines.append(f"  {name}: {figure['status']}: {figure['error']}")
    return lines
