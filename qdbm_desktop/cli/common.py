"""Shared by the command groups: the parser class, output helpers, argument types and the
arguments of a migration."""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

from qdbm_desktop.cli import PROG as PROG
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.dialects.base import LoadMode
from qdbm_desktop.core.errors import QdbmError, UsageError
from qdbm_desktop.core.migration import ColumnMap
from qdbm_desktop.core.partition_plan import parse_bounds, parse_count
from qdbm_desktop.core.schedules import Schedule
from qdbm_desktop.core.settings import MAX_BATCH_SIZE, VERIFY_LEVELS
from qdbm_desktop.core.types import PortableType

Handler = Callable[[argparse.Namespace, AppContext], int]



class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def print_table(rows: list[list[str]], headers: list[str], out: TextIO) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    out.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n")
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")


def read_secret(prompt: str) -> str:
    """A secret from standard input: prompted without echo on a terminal, else its first line."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise UsageError("--password-stdin was given but standard input is empty")
    return line.rstrip("\r\n")


def shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, cut short when it is long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def positive_seconds(text: str) -> float:
    # float() would also take " 5", "1_0", "nan" and "inf".
    if not re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,6})?|\.[0-9]{1,6}", text):
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a number of seconds")
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("give a number of seconds between 0 and 3600")
    return value


def wait_seconds(text: str) -> float:
    try:
        value = float(text.strip()) if text.strip().isascii() else float("nan")
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 7 * 24 * 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds from 0 to 604800 (7 days)")
    return value


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: digits only (int() would also take " 5", "+5", "1_0" and other scripts' digits)."""

    def parse(text: str) -> int:
        if not re.fullmatch(r"[0-9]{1,19}", text) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number from {low:,} to {high:,}")
        return int(text)

    return parse


def home_folder(text: str) -> str:
    """``--home``: a folder that exists or can be made (checked before anything is written there)."""
    if not text.strip() or "\x00" in text:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a folder name")
    try:
        encoded = os.fsencode(text)
    except UnicodeError:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a folder name") from None
    if len(encoded) >= 4096 or any(len(part) > 255 for part in encoded.split(b"/")):
        raise argparse.ArgumentTypeError(f"{shown(text)} is too long for a folder name")
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a folder")
    return text


def local_time(moment: datetime | str | None) -> str:
    """A time as this computer's wall clock shows it (an ISO text that does not parse is shown as it is)."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return str(moment)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""


def query_from_args(args: argparse.Namespace) -> str:
    """The query of ``--query``/``--query-file``, and ``--table`` given with it."""
    if not args.query and not args.query_file:
        raise UsageError("give --query, --query-file or --tables")
    if not getattr(args, "table", None) and hasattr(args, "table"):
        raise UsageError("--query and --query-file need --table (the target table)")
    if args.query_file:
        try:
            return Path(args.query_file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the query file {args.query_file}: {exc.strerror or exc}") from None
    return str(args.query)


def column_map_from_args(items: Sequence[str] | None) -> tuple[ColumnMap, ...]:
    """``--map COLUMN=TYPE`` (repeatable; the last one for a column wins) as a job's column mapping."""
    overrides: dict[str, PortableType] = {}
    for item in items or []:
        column, sep, type_text = item.partition("=")
        if not sep or not column.strip():
            raise UsageError(f"--map takes COLUMN=TYPE, not {item!r}")
        overrides[column.strip()] = PortableType.parse(type_text)
    return tuple(ColumnMap(column, type=type_) for column, type_ in overrides.items())


def keys_from_args(text: str | None) -> tuple[str, ...]:
    return tuple(k.strip() for k in (text or "").split(",") if k.strip())


def add_migration_arguments(parser: argparse.ArgumentParser, connection: str) -> None:
    parser.add_argument("--source", required=True, help=f"{connection} to read from")
    parser.add_argument("--target", required=True, help=f"{connection} to load into")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--query", help="the SELECT to run on the source")
    what.add_argument("--query-file", help="a file holding the query")
    what.add_argument("--tables", metavar="PATTERN[,PATTERN...]",
                      help="copy these source tables instead of a query's result: names, SCHEMA.*, * "
                           "(one step per table, in foreign-key order)")
    parser.add_argument("--table", help="target table, [SCHEMA.]TABLE (with --query/--query-file)")
    parser.add_argument("--exclude", action="append", metavar="PATTERN",
                        help="with --tables: leave out the tables matching PATTERN[,PATTERN] (repeatable)")
    parser.add_argument("--include-views", action="store_true",
                        help="with --tables: copy views as tables too")
    parser.add_argument("--target-schema", metavar="SCHEMA",
                        help="with --tables: create the copies in this schema (default: the target's own)")
    parser.add_argument("--no-constraints", action="store_true",
                        help="with --tables: do not create keys, indexes and foreign keys after the loads")
    parser.add_argument("--continue-on-error", action="store_true",
                        help="with --tables: a failed table does not stop the others")
    parser.add_argument("--mode", choices=[m.value for m in LoadMode],
                        help="default: the default_mode setting (append)")
    parser.add_argument("--key", help="key columns for upsert, COL[,COL]")
    parser.add_argument("--batch-size", type=whole_number(1, MAX_BATCH_SIZE),
                        help="rows per batch (default: the batch_size setting)")
    parser.add_argument("--map", action="append", metavar="COL=TYPE",
                        help="target type for a column, e.g. total=decimal(14,2) (repeatable)")
    parser.add_argument("--count", action="store_true",
                        help="count the query's rows first, to show a percentage and an ETA")
    parser.add_argument("--verify", choices=list(VERIFY_LEVELS),
                        help="before the swap, check the staging table's row count (counts) or also a "
                             "checksum of every column read back from the target (checksum); default: the "
                             "verify setting (counts)")
    parser.add_argument("--partitions", type=_partition_count, metavar="N|auto",
                        help="read the query in N ranges of --partition-by on N connections at once, loaded "
                             "by N writers and swapped in as one run (auto: the count measured best here)")
    parser.add_argument("--partition-by", metavar="COL",
                        help="the number, date or timestamp column of the query that --partitions splits")
    parser.add_argument("--partition-bounds", type=_partition_bounds, metavar="LOW,HIGH|LOW,B1,...,HIGH",
                        help="the range to split (default: the query's min and max), or the split points")
    parser.add_argument("--accept-lossy", metavar="COL[,COL]|all",
                        help="run although these columns are lossy (the fidelity report of --plan says "
                             "which are); without it a lossy column stops the run before anything is "
                             "created")


def _partition_count(text: str) -> int:
    try:
        return parse_count(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _partition_bounds(text: str) -> tuple[str, ...]:
    try:
        return parse_bounds(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None



def next_fire(schedule: Schedule, now: datetime) -> datetime | None:
    """When ``schedule`` fires next; None too when its trigger cannot say."""
    try:
        return schedule.next_fire(now)
    except QdbmError:
        return None


def next_run_text(schedule: Schedule, now: datetime) -> str:
    if schedule.done:
        return "done"
    if not schedule.enabled:
        return "disabled"
    fire = next_fire(schedule, now)
    return local_time(fire) if fire is not None else "none"


Commands = argparse._SubParsersAction  # noqa: SLF001 - argparse has no public name for it


def command_group(commands: Commands[Parser], name: str, help_text: str, **options: Any) -> Commands[Parser]:
    """``qdbm NAME ACTION``: a command whose actions are sub-commands of their own, one of them required."""
    group = commands.add_parser(name, help=help_text, **options)
    actions = group.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
    actions.required = True
    return actions
