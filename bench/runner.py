"""Timing one path: QDBM in a fresh process and the pipe beside it, each checked against the source."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import checksum, peers, pipes, process
from bench.config import COLUMNS, DATABASE, BenchPath, Servers


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
    #: The run's own time (what ``qdbm migrate --json`` reports): the process less start-up.
    qdbm_run_seconds: list[float] = field(default_factory=list)
    pipe_seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    #: sling's whole-process seconds and what went wrong with its runs (not a benchmark failure).
    sling_seconds: list[float] = field(default_factory=list)
    sling_peak_rss_mb: list[float] = field(default_factory=list)
    sling_failures: list[str] = field(default_factory=list)
    #: The columns whose values sling's target holds differently from the source.
    sling_differs: set[str] = field(default_factory=set)
    sling_skipped: str = ""

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
    def sling_median(self) -> float | None:
        return statistics.median(self.sling_seconds) if self.sling_seconds else None

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
                     "run_seconds": self.qdbm_run_seconds,
                     "rows_per_second": r(self.rows_per_second, 0), "peak_rss_mb": r(self.peak_rss_mb, 1),
                     "peak_rss_mb_runs": [r(m, 1) for m in self.qdbm_peak_rss_mb]},
            "pipe": {"seconds_median": r(self.pipe_median), "seconds": [r(s) for s in self.pipe_seconds],
                     "description": self.pipe.description, "command": self.pipe.script},
            "ratio_to_pipe": r(self.ratio, 2),
            "sling": {"seconds_median": r(self.sling_median), "seconds": [r(s) for s in self.sling_seconds],
                      "peak_rss_mb": r(max(self.sling_peak_rss_mb), 1) if self.sling_peak_rss_mb else None,
                      "failures": self.sling_failures, "skipped": self.sling_skipped or None},
        }


def endpoint_url(engine: str, servers: Servers, sqlite_path: Path) -> str:
    """The connection URL ``qdbm migrate --source/--target`` takes for ``engine``."""
    if engine == "postgresql":
        return f"postgresql://{servers.pg_user}@{servers.pg_host}:{servers.pg_port}/{DATABASE}"
    if engine == "mysql":
        return f"mysql://{servers.mysql_user}@{servers.mysql_host}:{servers.mysql_port}/{DATABASE}"
    return f"sqlite:///{sqlite_path.resolve()}"


def qdbm_migrate_command(case: Case, servers: Servers, batch_size: int, verify: str = "counts") -> list[str]:
    """The ``qdbm migrate`` command line of one QDBM run (mode replace, JSON summary)."""
    return [*process.qdbm_command(), "migrate",
            "--source", endpoint_url(case.path.source, servers, servers.sqlite_source),
            "--target", endpoint_url(case.path.target, servers, servers.sqlite_target),
            "--query", f"SELECT {', '.join(COLUMNS)} FROM {case.source_table}",
            "--table", case.target("qdbm"), "--mode", "replace", "--batch-size", str(batch_size),
            "--verify", verify, "--json",
            # --partitions N: N ranges of the id column, each read on its own connection (N=1 included).
            *(["--partitions", str(case.partitions), "--partition-by", "id"] if case.partitions else [])]


def run_qdbm(case: Case, servers: Servers, batch_size: int, verify: str = "counts",
             home: process.QdbmHome | None = None) -> dict[str, Any]:
    """One ``qdbm migrate`` as a user starts it, a whole process: its JSON outcome plus the
    process's wall-clock ``seconds`` and ``peak_rss_mb`` (``run_seconds``: the run's own time)."""
    own_home = home is None
    home = home or process.QdbmHome()
    try:
        done = process.run(qdbm_migrate_command(case, servers, batch_size, verify), env=home.env())
    finally:
        if own_home:
            home.remove()
    try:
        summary: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        return {"status": "crashed", "error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    if summary.get("status") != "succeeded":
        return {"status": summary.get("status"), "error": summary.get("error")}
    return {"status": "succeeded", "seconds": done.seconds, "run_seconds": summary.get("seconds"),
            "peak_rss_mb": done.peak_rss_mb}


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
    home = process.QdbmHome()
    try:
        for run in range(1, repeat + 1):
            _run_once(result, servers, batch_size, expected, log, verify, home, run, with_pipe)
    finally:
        home.remove()
    return result


def _run_once(result: CaseResult, servers: Servers, batch_size: int, expected: checksum.Checksum,
              log: Any, verify: str, home: process.QdbmHome, run: int, with_pipe: bool = True) -> None:
    case, pipe = result.case, result.pipe
    outcome = run_qdbm(case, servers, batch_size, verify, home)
    if outcome.get("status") != "succeeded":
        result.failures.append(f"qdbm run {run}: {outcome.get('status')}: {outcome.get('error')}")
    else:
        result.qdbm_seconds.append(float(outcome["seconds"]))
        result.qdbm_peak_rss_mb.append(float(outcome["peak_rss_mb"]))
        if outcome.get("run_seconds") is not None:
            result.qdbm_run_seconds.append(float(outcome["run_seconds"]))
        _check(result, servers, expected, "qdbm", run)
        log(f"  {case.name} qdbm run {run}: {outcome['seconds']:.2f} s as a process "
            f"(run {outcome.get('run_seconds')} s), {outcome['peak_rss_mb']:.0f} MB")
    if not with_pipe:
        return
    pipes.reset_target(case.path, servers, case.target("pipe"))
    try:
        seconds = pipes.run(pipe)
    except Exception as exc:  # noqa: BLE001 - a failed pipe is reported, the run goes on
        result.failures.append(f"pipe run {run}: {exc}")
    else:
        result.pipe_seconds.append(seconds)
        _check(result, servers, expected, "pipe", run)
        log(f"  {case.name} pipe run {run}: {seconds:.2f} s")
    _run_sling(result, servers, expected, log, run)


def _run_sling(result: CaseResult, servers: Servers, expected: checksum.Checksum, log: Any, run: int) -> None:
    found = peers.find_sling()
    if found.command is None:
        result.sling_skipped = found.reason
        return
    case = result.case
    outcome = peers.run_sling(found, servers, case.path.source, case.path.target, case.source_table,
                              case.target("sling"))
    if outcome["status"] != "succeeded":
        result.sling_failures.append(f"sling run {run}: {outcome['error']}")
        return
    result.sling_seconds.append(float(outcome["seconds"]))
    result.sling_peak_rss_mb.append(float(outcome["peak_rss_mb"]))
    try:
        got = checksum.checksum(servers, case.path.target, case.target("sling"), servers.sqlite_target,
                                lenient=True)
    except Exception as exc:  # noqa: BLE001 - sling's own column types may not read back: reported
        result.sling_failures.append(f"sling run {run}: its table cannot be checked: "
                                     f"{str(exc).splitlines()[0]}")
        return
    if got != expected:
        columns = ", ".join(got.differing(expected)) or "rows"
        result.sling_differs.update(got.differing(expected) or ["rows"])
        result.sling_failures.append(f"sling run {run}: {columns} differ (target has {got}, "
                                     f"source has {expected})")
    log(f"  {case.name} sling run {run}: {outcome['seconds']:.2f} s, {outcome['peak_rss_mb']:.0f} MB")
