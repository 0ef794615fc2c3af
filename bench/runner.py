"""Timing one path: QDBM in a fresh process and the pipe beside it, each checked against the source."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import checksum, pipes
from bench.config import COLUMNS, DATABASE, BenchPath, Servers

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Case:
    """One path to time: its source table, target tables and row count."""

    path: BenchPath
    rows: int
    source_table: str
    suffix: str = ""
    #: Read in this many partitions of ``id`` (``--partitions``); 0 is the ordinary one-reader run.
    partitions: int = 0

    @property
    def name(self) -> str:
        return self.path.key + self.suffix

    def target(self, kind: str) -> str:
        return self.path.target_table(kind) + self.suffix.replace("-", "_")


@dataclass
class CaseResult:
    """Everything measured for one case; ``failures`` empty when every run moved the right data."""

    case: Case
    pipe: pipes.Pipe
    qdbm_seconds: list[float] = field(default_factory=list)
    qdbm_peak_rss_mb: list[float] = field(default_factory=list)
    pipe_seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def qdbm_median(self) -> float | None:
        return statistics.median(self.qdbm_seconds) if self.qdbm_seconds else None

    @property
    def pipe_median(self) -> float | None:
        return statistics.median(self.pipe_seconds) if self.pipe_seconds else None

    @property
    def rows_per_second(self) -> float | None:
        median = self.qdbm_median
        return self.case.rows / median if median else None

    @property
    def ratio(self) -> float | None:
        q, p = self.qdbm_median, self.pipe_median
        return q / p if q and p else None

    @property
    def peak_rss_mb(self) -> float | None:
        return max(self.qdbm_peak_rss_mb) if self.qdbm_peak_rss_mb else None

    def as_json(self) -> dict[str, Any]:
        def r(x: float | None, digits: int = 3) -> float | None:
            return None if x is None else round(x, digits)

        return {
            "path": self.case.name, "label": self.case.path.label, "rows": self.case.rows,
            "status": "ok" if self.ok else "FAILED", "failures": self.failures,
            "qdbm": {"seconds_median": r(self.qdbm_median), "seconds": [r(s) for s in self.qdbm_seconds],
                     "rows_per_second": r(self.rows_per_second, 0), "peak_rss_mb": r(self.peak_rss_mb, 1),
                     "peak_rss_mb_runs": [r(m, 1) for m in self.qdbm_peak_rss_mb]},
            "pipe": {"seconds_median": r(self.pipe_median), "seconds": [r(s) for s in self.pipe_seconds],
                     "description": self.pipe.description, "command": self.pipe.script},
            "ratio_to_pipe": r(self.ratio, 2),
        }


def _endpoint_spec(engine: str, servers: Servers, sqlite_path: Path) -> dict[str, Any]:
    if engine == "postgresql":
        return {"type": engine, "host": servers.pg_host, "port": servers.pg_port, "database": DATABASE,
                "user": servers.pg_user}
    if engine == "mysql":
        return {"type": engine, "host": servers.mysql_host, "port": servers.mysql_port,
                "database": DATABASE, "user": servers.mysql_user}
    return {"type": engine, "path": str(sqlite_path)}


def run_qdbm(case: Case, servers: Servers, batch_size: int, verify: str = "counts") -> dict[str, Any]:
    """One QDBM migration in a fresh interpreter; its JSON outcome (status, seconds, peak_rss_mb)."""
    spec = {
        "source": _endpoint_spec(case.path.source, servers, servers.sqlite_source),
        "target": _endpoint_spec(case.path.target, servers, servers.sqlite_target),
        "query": f"SELECT {', '.join(COLUMNS)} FROM {case.source_table}",
        "table": case.target("qdbm"),
        "batch_size": batch_size,
        "verify": verify,
        "partitions": case.partitions,
    }
    proc = subprocess.run([sys.executable, "-m", "bench.worker", json.dumps(spec)], cwd=REPO,
                          capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if not lines:
        return {"status": "crashed", "error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    outcome: dict[str, Any] = json.loads(lines[-1])
    return outcome


def _check(result: CaseResult, servers: Servers, expected: checksum.Checksum, kind: str, run: int) -> None:
    case = result.case
    got = checksum.checksum(servers, case.path.target, case.target(kind), servers.sqlite_target)
    if got != expected:
        result.failures.append(f"{kind} run {run}: target has {got}, source has {expected}")


def run_case(case: Case, servers: Servers, repeat: int, batch_size: int,
             expected: checksum.Checksum, log: Any = print, verify: str = "counts",
             with_pipe: bool = True) -> CaseResult:
    """Time ``case`` ``repeat`` times with QDBM and with its pipe (unless ``with_pipe`` is false: a
    partitioned case beside the same path's first one), checking the target after each run."""
    pipe = pipes.build(case.path, servers, case.source_table, case.target("pipe"))
    result = CaseResult(case, pipe)
    for run in range(1, repeat + 1):
        outcome = run_qdbm(case, servers, batch_size, verify)
        if outcome.get("status") != "succeeded":
            result.failures.append(f"qdbm run {run}: {outcome.get('status')}: {outcome.get('error')}")
        else:
            result.qdbm_seconds.append(float(outcome["seconds"]))
            result.qdbm_peak_rss_mb.append(float(outcome["peak_rss_mb"]))
            _check(result, servers, expected, "qdbm", run)
            log(f"  {case.name} qdbm run {run}: {outcome['seconds']:.2f} s, "
                f"{outcome['peak_rss_mb']:.0f} MB")
        if not with_pipe:
            continue
        pipes.reset_target(case.path, servers, case.target("pipe"))
        try:
            seconds = pipes.run(pipe)
        except Exception as exc:  # noqa: BLE001 - a failed pipe is reported, the run goes on
            result.failures.append(f"pipe run {run}: {exc}")
        else:
            result.pipe_seconds.append(seconds)
            _check(result, servers, expected, "pipe", run)
            log(f"  {case.name} pipe run {run}: {seconds:.2f} s")
    return result
