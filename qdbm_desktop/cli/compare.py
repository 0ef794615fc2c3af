"""``qdbm compare``: a source query against a target table, read-only on both sides."""

from __future__ import annotations

import argparse
import json
import sys

from qdbm_desktop.cli.common import (
    Commands,
    Parser,
    keys_from_args,
    query_from_args,
    whole_number,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects.base import TableName
from qdbm_desktop.core.migration import resolve_endpoint
from qdbm_desktop.core.settings import MAX_BATCH_SIZE


def _cmd_compare(args: argparse.Namespace, context: AppContext) -> int:
    from qdbm_desktop.core.compare import compare, describe_text

    result = compare(resolve_endpoint(context.connections, args.source), query_from_args(args),
                     resolve_endpoint(context.connections, args.target), TableName.parse(args.table),
                     keys_from_args(args.key), args.batch_size)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print("\n".join(describe_text(result)))
    return 0 if result.equal else 1


def register(commands: Commands[Parser]) -> None:
    compare = commands.add_parser(
        "compare", help="compare a source query with a target table (counts, checksums, differing keys)",
        description="Read the query on the source and the table on the target (both read-only) and compare "
                    "row counts and per-column checksums; with --key, list the first 20 keys missing, extra "
                    "or different. Exit code 0 when equal, 1 when not, 2 on bad input.")
    compare.add_argument("--source", required=True, help="saved connection name or URL to read the query on")
    what = compare.add_mutually_exclusive_group(required=True)
    what.add_argument("--query", help="the SELECT to run on the source")
    what.add_argument("--query-file", help="a file holding the query")
    compare.add_argument("--target", required=True, help="saved connection name or URL holding the table")
    compare.add_argument("--table", required=True, help="the target table, [SCHEMA.]TABLE")
    compare.add_argument("--key", help="key columns, COL[,COL]: list the rows that differ")
    compare.add_argument("--batch-size", type=whole_number(1, MAX_BATCH_SIZE), default=50_000,
                         help="rows per read (default 50,000)")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")
    compare.set_defaults(handler=_cmd_compare)
