"""``qdbm import-legacy``: import Query DB Migrator's config/ folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qdbm_desktop.cli.common import (
    PROG,
    Commands,
    Parser,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.legacy import import_legacy


def _cmd_import_legacy(args: argparse.Namespace, context: AppContext) -> int:
    report = import_legacy(context, Path(args.path).expanduser())
    for line in report.warnings:
        print(f"{PROG}: warning: {line}", file=sys.stderr)
    for line in report.imported:
        print(f"imported: {line}")
    for line in report.skipped:
        print(f"skipped:  {line}")
    print(f"{len(report.imported)} imported, {len(report.skipped)} skipped")
    return 0


def register(commands: Commands[Parser]) -> None:
    legacy = commands.add_parser("import-legacy", help="import Query DB Migrator's config/ folder")
    legacy.add_argument("path", help="the folder holding db_connections.json and .encryption_key")
    legacy.set_defaults(handler=_cmd_import_legacy)
