"""``python -m bench``: generate the data, time every path and its pipe, print and save the results."""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import checksum, data, machine, peers, report, runner, startup
from bench.config import ALL_PATHS, PATHS_BY_KEY, SOURCE_TABLE, BenchPath, Servers
from qdbm_desktop.core.settings import DEFAULT_BATCH_SIZE, VERIFY_LEVELS

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def _paths(text: str) -> list[BenchPath]:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in keys if k not in PATHS_BY_KEY]
    if unknown or not keys:
        raise argparse.ArgumentTypeError(f"unknown path(s) {', '.join(unknown) or text!r}; "
                                         f"known: {', '.join(PATHS_BY_KEY)}")
    return [PATHS_BY_KEY[k] for k in keys]


def _positive(text: str) -> int:
    value = int(text.replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _counts(text: str) -> list[int]:
    return [_positive(part) for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rows", type=_positive, default=1_000_000,
                        help="rows in the table (default 1000000)")
    parser.add_argument("--repeat", type=_positive, default=3, help="runs per path; the median is shown (3)")
    parser.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE,
                        help=f"QDBM batch size (default: the app default, {DEFAULT_BATCH_SIZE:,})")
    parser.add_argument("--paths", type=_paths, default=list(ALL_PATHS),
                        help=f"comma-separated, from {','.join(PATHS_BY_KEY)} (default: all)")
    parser.add_argument("--scale-check", action=argparse.BooleanOptionalAction, default=True,
                        help="also run pg-pg at 3x the rows, once, to see whether memory grows (default on)")
    parser.add_argument("--verify", choices=list(VERIFY_LEVELS), default="counts",
                        help="QDBM's check before the swap: counts (the default) or checksum, to measure "
                             "what --verify checksum costs")
    parser.add_argument("--partitions", type=_counts, default=[],
                        help="also time each path read in these partition counts of id, e.g. 1,2,4 "
                             "(1 is the ordinary one-reader run)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON,
                        help=f"results file (default {DEFAULT_JSON})")
    return parser


def _workdir() -> Path:
    """A scratch folder the MariaDB server may write SELECT ... INTO OUTFILE files into."""
    path = Path(tempfile.mkdtemp(prefix="qdbm_bench_"))
    path.chmod(0o777)
    return path


def _drop_targets(case: runner.Case, servers: Servers) -> None:
    """Free the space of a finished case's target tables."""
    for kind in ("qdbm", "pipe", "sling"):
        table = case.target(kind)
        data.execute_on(case.path.target, servers, f"DROP TABLE IF EXISTS {table}")


def run(args: argparse.Namespace) -> int:
    """The whole benchmark; 1 when any path moved wrong data or failed."""
    servers = replace(Servers(), workdir=_workdir())
    try:
        return _run(args, servers)
    finally:
        shutil.rmtree(servers.workdir, ignore_errors=True)


def _startup(servers: Servers, repeat: int) -> tuple[dict[str, Any], peers.Found]:
    """The start-up figures (printed), and whether sling runs beside QDBM."""
    print("start-up (whole processes):", flush=True)
    figures = startup.measure(servers, max(repeat, 5))
    print("\n".join(startup.text_lines(figures)), flush=True)
    sling = peers.find_sling()
    print(f"sling: {sling.version or 'found'}" if sling.command else f"sling skipped: {sling.reason}",
          flush=True)
    return figures, sling


def _run(args: argparse.Namespace, servers: Servers) -> int:
    scale_rows = args.rows * 3 if args.scale_check else None
    print(f"generating {args.rows:,} rows in PostgreSQL, MariaDB and SQLite"
          + (f" (and {scale_rows:,} in PostgreSQL for the scale check)" if scale_rows else ""), flush=True)
    started = time.perf_counter()
    described = machine.describe(servers)  # before the runs: the code measured, not a later commit
    data.generate(servers, args.rows, scale_rows)
    sqlite3.connect(servers.sqlite_target).close()  # QDBM opens existing SQLite files only
    sources = {engine: checksum.checksum(servers, engine, SOURCE_TABLE, servers.sqlite_source)
               for engine in sorted({p.source for p in args.paths})}
    print(f"generated in {time.perf_counter() - started:.1f} s; source checksums: "
          + ", ".join(f"{e} {c}" for e, c in sources.items()), flush=True)
    if len(set(sources.values())) != 1:
        print("FAILED: the three source tables differ", file=sys.stderr)
        return 1

    cases = [runner.Case(p, args.rows, SOURCE_TABLE, f"-p{n}" if n else "", n)
             for p in args.paths for n in (args.partitions or [0])]
    expected = {SOURCE_TABLE: next(iter(sources.values()))}
    if scale_rows:
        scale_table = SOURCE_TABLE + "_scale"
        cases.append(runner.Case(PATHS_BY_KEY["pg-pg"], scale_rows, scale_table, "-3x"))
        expected[scale_table] = checksum.checksum(servers, "postgresql", scale_table)
    figures, sling = _startup(servers, args.repeat)
    results = []
    for case in cases:
        repeat = 1 if case.suffix and not case.partitions else args.repeat
        print(f"{case.name}: {case.path.label}, {case.rows:,} rows, {repeat} run(s)", flush=True)
        result = runner.run_case(case, servers, repeat, args.batch_size, expected[case.source_table],
                                 log=lambda line: print(line, flush=True), verify=args.verify,
                                 with_pipe=case.partitions == (args.partitions or [0])[0])
        for failure in result.failures:
            print(f"  FAILED {case.name}: {failure}", flush=True)
        results.append(result)
        _drop_targets(case, servers)

    print()
    print(report.text_table(results))
    print("\n".join(["start-up:", *startup.text_lines(figures)]))
    settings = {"rows": args.rows, "repeat": args.repeat, "batch_size": args.batch_size,
                "paths": [p.key for p in args.paths], "scale_check_rows": scale_rows,
                "mode": "replace", "verify": args.verify, "partitions": args.partitions,
                "checksum": "row count + sum of per-row hashes of canonical values"}
    described["sling"] = sling.version or None
    report.write_json(args.json, settings, described, results, figures)
    print(f"\nwritten {args.json}")
    failed = [r.case.name for r in results if not r.ok]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
