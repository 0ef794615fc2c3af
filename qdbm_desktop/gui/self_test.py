"""``qdbm-desktop --self-test``: prove an installation (a built bundle above all) really works.

It opens the main window on a temporary app-data folder, runs the demo SQLite migration through
the real pipeline, checks that every row arrived, and checks that each database driver, the
icons and the plug-ins found through package metadata (APScheduler, keyring) load. Nothing of
the user's is read or written: not their app-data folder and not their OS keyring.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from importlib.metadata import entry_points, version
from importlib.resources import files
from pathlib import Path
from typing import TextIO

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from qdbm_desktop import APP_NAME, __version__
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import DEMO_QUERY, DEMO_SOURCE_NAME, DEMO_TARGET_NAME
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.history import RunTrigger
from qdbm_desktop.core.migration import MigrationRequest, Status, resolve_endpoint
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.runs import run_recorded
from qdbm_desktop.gui.icons import load_icon

#: The demo migration's target table.
SELF_TEST_TABLE = "self_test_orders"
_CONNECT_TIMEOUT = 5
#: Where the report goes when the process has no standard output (qdbm-desktop.exe on Windows).
REPORT_FILE = Path(tempfile.gettempdir()) / "qdbm-desktop-self-test.txt"


@dataclass(frozen=True)
class CheckResult:
    """One line of the report. A check that is not ``required`` only warns when it fails."""

    name: str
    ok: bool
    detail: str
    required: bool = True

    @property
    def label(self) -> str:
        if self.ok:
            return "ok"
        return "FAIL" if self.required else "warn"


class _TemporaryKeyring:
    """Holds the temporary folder's key in memory, so the self-test never touches the OS keyring."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._entries[(service, username)] = password


def run_self_test(out: TextIO | None = None, *, query: str = DEMO_QUERY) -> int:
    """Run every check, print the report to ``out`` (stdout by default); 0 when all required ones pass.

    Needs a QApplication. ``query`` is the demo migration's query (the orders with their customers).
    Without a standard output the report is written to ``REPORT_FILE``.
    """
    if out is None and sys.stdout is None:
        # A windowed Windows executable has no console: the report goes to a file instead.
        with REPORT_FILE.open("w", encoding="utf-8") as report:
            return run_self_test(report, query=query)
    out = sys.stdout if out is None else out
    started = time.monotonic()
    print(f"{APP_NAME} {__version__} self-test", file=out)
    results: list[CheckResult] = []

    def record(result: CheckResult) -> None:
        results.append(result)
        print(f"  {result.label:<4} {result.name}: {result.detail}", file=out)
        out.flush()

    with _temporary_home() as home:
        for check in _app_checks(home, query):
            record(check)
    for name, probe, required in _library_checks():
        record(_run_check(name, probe, required))

    failed = [r for r in results if not r.ok and r.required]
    warned = [r for r in results if not r.ok and not r.required]
    took = time.monotonic() - started
    summary = f"{len(results)} checks, {len(failed)} failed, {len(warned)} warnings, {took:.1f} s"
    if failed:
        reasons = "; ".join(f"{r.name}: {r.detail}" for r in failed)
        print(f"self-test FAILED ({summary}): {reasons}", file=out)
        return 1
    print(f"self-test passed ({summary})", file=out)
    return 0


@contextmanager
def _temporary_home() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="qdbm-self-test-"))
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run_check(name: str, probe: Callable[[], str], required: bool = True) -> CheckResult:
    try:
        return CheckResult(name, True, probe(), required)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a line of the report
        return CheckResult(name, False, _reason(exc), required)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- the app: window, demo migration --------------------------------------------------------


def _app_checks(home: Path, query: str) -> Iterator[CheckResult]:
    # Imported here: app.py imports this module when it is given --self-test.
    from qdbm_desktop.gui.app import open_main_window

    app = QApplication.instance()
    platform = QGuiApplication.platformName() if app is not None else "none"
    yield CheckResult("Qt", app is not None, f"PySide6 {pyside_version}, platform {platform}, "
                      f"system tray {'available' if QSystemTrayIcon.isSystemTrayAvailable() else 'absent'}")
    try:
        window = open_main_window(AppPaths(home), _TemporaryKeyring(), start_scheduler=False)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a line of the report
        yield CheckResult("main window", False, f"did not open: {_reason(exc)}")
        return
    try:
        QApplication.processEvents()
        shot = window.grab()
        size = window.size()
        yield CheckResult("main window", window.isVisible() and not shot.isNull(),
                          f"{window.windowTitle()!r} shown at {size.width()}x{size.height()} "
                          f"on {home.name}, {len(window.context.connections.list())} connections")
        yield _run_check("demo migration", lambda: _demo_migration(window.context, query))
    finally:
        window.close()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()


def _demo_migration(context: AppContext, query: str) -> str:
    source = resolve_endpoint(context.connections, DEMO_SOURCE_NAME)
    target = resolve_endpoint(context.connections, DEMO_TARGET_NAME)
    request = MigrationRequest(source=source, target=target, query=query, table=TableName(SELF_TEST_TABLE),
                               mode=LoadMode.REPLACE, work_dir=context.paths.runs_dir)
    result = run_recorded(context.history, request, trigger=RunTrigger.MANUAL)
    if result.status is not Status.SUCCEEDED:
        raise RuntimeError(f"the run {result.status.value} at {result.stage.value}: {result.error}")
    expected = _count(source.params.path, "orders")
    arrived = _count(target.params.path, SELF_TEST_TABLE)
    if arrived != expected:
        raise RuntimeError(f"the warehouse holds {arrived} rows, the source {expected} orders")
    recorded = context.history.find_run_id(result.run_id)
    if recorded is None or recorded.status.value != "succeeded":
        raise RuntimeError("the run is missing from the history or not marked succeeded")
    return (f"{arrived} rows from {DEMO_SOURCE_NAME!r} into {DEMO_TARGET_NAME!r} table {SELF_TEST_TABLE} "
            f"(replace) in {result.seconds:.2f} s, equal to the source's orders, recorded in the history")


def _count(path: str | None, table: str) -> int:
    if not path:
        raise RuntimeError("a demo connection has no file")
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return int(db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])


# -- drivers and the libraries found at run time ----------------------------------------------


def _library_checks() -> list[tuple[str, Callable[[], str], bool]]:
    return [
        ("icons", _icons, True),
        ("PostgreSQL driver", _postgresql, True),
        ("MySQL / MariaDB driver", _mysql, True),
        ("Oracle driver", _oracle, True),
        # pyodbc needs the system's ODBC driver manager (unixODBC on Linux and macOS), which
        # the user installs with their SQL Server driver: its absence is reported, not fatal.
        ("SQL Server driver", _sql_server, False),
        ("SQLite", _sqlite, True),
        ("SQL dialects", _sql_dialects, True),
        ("database dialects", _database_dialects, True),
        ("scheduler plug-ins", _scheduler_plugins, True),
        ("keyring backends", _keyring_backends, True),
        ("cron descriptions", _cron_descriptions, True),
        ("time zones", _time_zones, True),
    ]


def _icons() -> str:
    folder = files("qdbm_desktop.resources") / "icons"
    names = sorted(entry.name[:-4] for entry in folder.iterdir() if entry.name.endswith(".svg"))
    if "app" not in names:
        raise RuntimeError(f"no app.svg in {folder}")
    blank = [name for name in names if load_icon(name).pixmap(32, 32).isNull()]
    if blank:
        raise RuntimeError(f"these icons do not render: {', '.join(blank)} (is Qt's SVG plug-in there?)")
    return f"{len(names)} render ({', '.join(names)})"


def _refused_port() -> int:
    """A local port nothing listens on, so a driver's connect fails at once with 'refused'."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_Errors = type[BaseException] | tuple[type[BaseException], ...]


def _expect_refused(connect: Callable[[], object], errors: _Errors) -> str:
    """Connecting to a closed port must fail as the driver's own connection error, not an ImportError."""
    try:
        connection = connect()
    except errors:
        return "its connect path loads"
    close = getattr(connection, "close", None)
    if callable(close):
        close()
    return "connected"


def _postgresql() -> str:
    import psycopg

    if psycopg.pq.__impl__ not in ("binary", "c"):
        raise RuntimeError(f"psycopg uses its {psycopg.pq.__impl__} libpq wrapper, not the binary one")
    port = _refused_port()
    probe = _expect_refused(lambda: psycopg.connect(host="127.0.0.1", port=port, dbname="x", user="x",
                                                    connect_timeout=_CONNECT_TIMEOUT),
                            psycopg.OperationalError)
    return f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__}, libpq {psycopg.pq.version()}), {probe}"


def _mysql() -> str:
    import mysql.connector

    from qdbm_desktop.core.dialects.mysql import driver_description

    description = driver_description()
    if not mysql.connector.HAVE_CEXT:
        raise RuntimeError(description)
    port = _refused_port()
    probe = _expect_refused(lambda: mysql.connector.connect(host="127.0.0.1", port=port, use_pure=False,
                                                            connection_timeout=_CONNECT_TIMEOUT),
                            mysql.connector.Error)
    return f"{description}, {probe}"


def _oracle() -> str:
    import oracledb

    port = _refused_port()
    probe = _expect_refused(lambda: oracledb.connect(user="x", password="x", host="127.0.0.1", port=port,
                                                     service_name="x", tcp_connect_timeout=_CONNECT_TIMEOUT),
                            oracledb.Error)
    mode = "thin mode" if oracledb.is_thin_mode() else "thick mode"
    return f"oracledb {oracledb.__version__} ({mode}), {probe}"


def _sql_server() -> str:
    from qdbm_desktop.core.dialects.odbc import load_pyodbc

    pyodbc = load_pyodbc()  # without unixODBC: says how to install it
    drivers = pyodbc.drivers()
    return f"pyodbc {pyodbc.version}, ODBC drivers: {', '.join(drivers) if drivers else 'none installed'}"


def _sqlite() -> str:
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute("SELECT json('{}')")
    return f"sqlite3 {sqlite3.sqlite_version}"


def _sql_dialects() -> str:
    import sqlglot

    from qdbm_desktop.core.sqlcheck import SQLGLOT_DIALECTS

    for dialect in SQLGLOT_DIALECTS.values():
        sqlglot.parse_one("SELECT a FROM t WHERE b = 1", read=dialect)
    return f"sqlglot {sqlglot.__version__} parses {', '.join(sorted(SQLGLOT_DIALECTS.values()))}"


def _database_dialects() -> str:
    """Every engine's dialect and DDL forms load (both are imported by name when first used)."""
    from qdbm_desktop.core.dialects import DIALECTS
    from qdbm_desktop.core.table_ddl import rules_for

    names = sorted(DIALECTS)
    for name in names:
        rules_for(DIALECTS[name])
    return f"dialects and DDL forms of {', '.join(names)}"


def _plugins(group: str, names: tuple[str, ...]) -> list[str]:
    found = {entry.name: entry for entry in entry_points(group=group)}
    missing = [name for name in names if name not in found]
    if missing:
        raise RuntimeError(f"no {group} entry points for {', '.join(missing)} (package metadata missing?)")
    for name in names:
        found[name].load()
    return list(names)


def _scheduler_plugins() -> str:
    triggers = _plugins("apscheduler.triggers", ("cron", "interval", "date"))
    executors = _plugins("apscheduler.executors", ("threadpool",))
    stores = _plugins("apscheduler.jobstores", ("memory",))
    return f"triggers {', '.join(triggers)}; executor {executors[0]}; job store {stores[0]}"


def _keyring_backends() -> str:
    import keyring.backend

    if not list(entry_points(group="keyring.backends")):
        raise RuntimeError("no keyring.backends entry points (package metadata missing?)")
    # Listing the backends asks each whether it works here; none is read or written.
    backends = keyring.backend.get_all_keyring()
    names = sorted({type(backend).__module__.rsplit(".", 1)[-1] for backend in backends})
    usable = ", ".join(names) if names else "none (the key-file fallback is used)"
    return f"keyring {version('keyring')}; usable here: {usable}"


def _cron_descriptions() -> str:
    from cron_descriptor import Options, get_description

    options = Options()
    options.locale_code = "en_US"
    options.use_24hour_time_format = True
    # cron-descriptor reads even English from its locale files: without them this is empty.
    text = get_description("0 9 * * 1-5", options)
    if "09:00" not in text:
        raise RuntimeError(f"'0 9 * * 1-5' reads {text!r}")
    return repr(text)


def _time_zones() -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import tzlocal

    summer = datetime(2026, 7, 1, 12, tzinfo=ZoneInfo("Europe/Berlin")).utcoffset()
    if summer is None or summer.total_seconds() != 7200:
        raise RuntimeError(f"Europe/Berlin in July is UTC+{summer}, not UTC+2")
    return f"Europe/Berlin known; this computer's zone: {tzlocal.get_localzone_name()}"
