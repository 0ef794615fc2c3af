"""The printed table and the JSON file."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.config import COLUMNS
from bench.runner import CaseResult

HEADERS = ("path", "rows", "QDBM s (median)", "run s", "rows/s", "pipe s (median)", "ratio to pipe",
           "peak RSS MB", "check", "sling s", "sling check")


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def rows_of(results: Sequence[CaseResult]) -> list[list[str]]:
    return [[r.case.name, f"{r.case.rows:,}", _num(r.qdbm_median, ".2f"),
             _num(statistics.median(r.qdbm_run_seconds) if r.qdbm_run_seconds else None, ".2f"),
             _num(r.rows_per_second, ",.0f"), _num(r.pipe_median, ".2f"),
             _num(r.ratio, ".1f") + ("x" if r.ratio else ""), _num(r.peak_rss_mb, ".0f"),
             "ok" if r.ok else "FAILED", _num(r.sling_median, ".2f"), _sling_check(r)] for r in results]


def _sling_check(result: CaseResult) -> str:
    if result.sling_skipped:
        return "skipped"
    if result.sling_differs:
        return "differs: " + ", ".join(c for c in COLUMNS if c in result.sling_differs)
    return "failed" if result.sling_failures else ("ok" if result.sling_seconds else "-")


def text_table(results: Sequence[CaseResult]) -> str:
    """A plain aligned table."""
    rows = [list(HEADERS), *rows_of(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = []
    for n, row in enumerate(rows):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in pairs]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: Sequence[CaseResult]) -> str:
    """The same table in Markdown, for docs/performance.md."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row) + " |" for row in rows_of(results)]
    return "\n".join(lines)


def write_json(path: Path, settings: dict[str, Any], machine: dict[str, Any],
               results: Sequence[CaseResult], startup: dict[str, Any] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"settings": settings, "machine": machine, "startup": startup or {},
                "results": [r.as_json() for r in results],
                "markdown_table": markdown_table(results)}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
