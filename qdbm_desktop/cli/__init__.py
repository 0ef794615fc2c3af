"""``qdbm``: the command line over the same core as the desktop app.

Exit codes: 0 success, 1 a failed operation, 2 bad usage, 128 + the signal's number (130 for
SIGINT, 143 for SIGTERM) for a run cancelled by that signal. Expected errors print one line on
stderr, once, and never a traceback (set QDBM_DEBUG=1 to see one for an unexpected error).

One module per command group: ``connections``, ``settings``, ``migrate``, ``jobs``, ``run``,
``schedules`` (``qdbm schedule``), ``scheduler``, ``legacy`` (``qdbm import-legacy``), ``history``
and ``info``. Each has a ``register(commands)`` that adds its command to the parser and sets each
action's ``handler``: a ``Handler``, called with the parsed arguments and the app context, that
returns the exit code. Adding a command group is adding one such module and naming it in
``command_groups`` below (the order there is the order of ``qdbm --help``). What several groups
share lives in ``common`` (parser, output, argument types) and ``running`` (a run's progress,
cancelling by signal and summary).

Start-up stays lean: this module imports no more than ``argparse`` at its top, so that
``qdbm --version`` answers before the core is loaded; a group module imports what its commands
use (no database driver is imported before a connection is opened).
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from qdbm_desktop import APP_NAME, __version__

if TYPE_CHECKING:
    from qdbm_desktop.cli.common import Commands, Parser
    from qdbm_desktop.core.context import AppContext

__all__ = ["build_parser", "command_groups", "main"]

PROG = "qdbm"


def command_groups() -> tuple[Callable[[Commands[Parser]], None], ...]:
    """The commands, in the order ``qdbm --help`` lists them: each adds itself to the parser.

    Imported here, not at the top: ``qdbm --version`` answers without loading the core.
    """
    from qdbm_desktop.cli import (
        compare,
        connections,
        history,
        info,
        jobs,
        legacy,
        migrate,
        run,
        scheduler,
        schedules,
        settings,
    )

    return (connections.register, settings.register, migrate.register, jobs.register, run.register,
            schedules.register, scheduler.register, legacy.register, history.register, info.register,
            compare.register)


def build_parser() -> argparse.ArgumentParser:
    from qdbm_desktop.cli.common import Parser, home_folder

    parser = Parser(prog=PROG, description=f"{APP_NAME} command line.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--home", type=home_folder,
                        help="app-data folder (default: $QDBM_HOME or the platform's)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for register in command_groups():
        register(commands)
    return parser


def _open_context(args: argparse.Namespace) -> AppContext:
    """The app context over ``--home`` (or $QDBM_HOME): a folder that cannot be used is one line."""
    from qdbm_desktop.core.context import AppContext
    from qdbm_desktop.core.errors import QdbmError, one_line
    from qdbm_desktop.core.paths import AppPaths

    try:
        return AppContext.create(AppPaths.from_environment(override=args.home),
                                 origin=getattr(args, "origin", "cli"))
    except (OSError, sqlite3.Error, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else one_line(str(exc))
        shown = str(args.home or os.environ.get("QDBM_HOME") or "")
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        raise QdbmError(f"cannot use the app-data folder {shown}: {reason}") from None


class _StderrFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from qdbm_desktop.core.errors import redact

        return f"{PROG}: {record.levelname.lower()}: {redact(record.getMessage())}"


def _not_a_run_note(record: logging.LogRecord) -> bool:
    """A run's own log lines reach stderr once, through its log callback (see _ProgressLine.log)."""
    return record.name != "qdbm_desktop.core.migration" or record.msg != "[%s] %s"


def _parse(arguments: list[str]) -> argparse.Namespace:
    parser = build_parser()
    for number, text in enumerate(arguments, start=1):
        # Not echoed: a NUL, or bytes that are not UTF-8, would not survive a message or a file.
        if "\x00" in text:
            parser.error(f"argument {number} holds a NUL character")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            parser.error(f"argument {number} is not valid UTF-8 text")
    return parser.parse_args(arguments)


def _log_to_stderr(args: argparse.Namespace) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_StderrFormatter())
    if getattr(args, "origin", "cli") != "scheduler":
        handler.addFilter(_not_a_run_note)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments == ["--version"]:
        # What argparse's version action does, before the core (drivers, SQL parser, scheduler) loads.
        sys.stdout.write(f"{PROG} {__version__}\n")
        raise SystemExit(0)
    from qdbm_desktop.cli.common import shown
    from qdbm_desktop.cli.running import RunCancelled
    from qdbm_desktop.core.demo import ensure_first_run
    from qdbm_desktop.core.errors import QdbmError, one_line, redact

    args = _parse(arguments)
    _log_to_stderr(args)
    context: AppContext | None = None
    error: str | None = None
    try:
        context = _open_context(args)
        try:
            ensure_first_run(context)
        except (QdbmError, OSError, sqlite3.Error) as exc:
            # A full or read-only app-data disk: the demo can wait; the command still runs.
            context.first_run_notices.append(f"the demo could not be set up: {exc}")
        code = int(args.handler(args, context))
    except RunCancelled as exc:  # asked for, so not an error
        error, code = str(exc), exc.exit_code
    except QdbmError as exc:
        error, code = f"error: {exc}", exc.exit_code
    except BrokenPipeError:
        # The reader went away (`qdbm connections list | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except KeyboardInterrupt:
        error, code = "interrupted", 130
    except OSError as exc:  # a file or folder named on the command line
        where = f": {shown(str(exc.filename), 200)}" if exc.filename else ""
        error, code = f"error: {exc.strerror or one_line(str(exc))}{where}", 1
    except Exception as exc:  # noqa: BLE001 - last resort: one line, no traceback
        if os.environ.get("QDBM_DEBUG"):
            sys.stderr.write(redact(traceback.format_exc()))
        first_line = str(exc).splitlines()[0][:300] if str(exc) else ""
        error = f"unexpected error: {type(exc).__name__}: {first_line} (set QDBM_DEBUG=1 for details)"
        code = 1
    # Notices first, so that the error (when there is one) is the last line a user sees.
    for notice in context.notices() if context else []:
        print(f"{PROG}: notice: {redact(notice)}", file=sys.stderr)
    if error:
        # A driver's or the parser's message may echo a connection string given on the command line;
        # and it stays one line, whatever it quotes (a file name may hold a line break).
        print(f"{PROG}: {redact(error)}".replace("\r", "\\r").replace("\n", "\\n"), file=sys.stderr)
    return code

