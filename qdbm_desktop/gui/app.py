"""Start-up of the desktop app: arguments, the QApplication, the context, the main window."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from qdbm_desktop import APP_NAME, __version__
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import ensure_first_run
from qdbm_desktop.core.errors import QdbmError, redact
from qdbm_desktop.core.paths import HOME_ENV, AppPaths
from qdbm_desktop.core.redaction import RedactingFormatter
from qdbm_desktop.gui.icons import app_icon
from qdbm_desktop.gui.main_window import MainWindow
from qdbm_desktop.gui.single_instance import SingleInstance

log = logging.getLogger(__name__)

# How often the event loop hands control to Python, so a Ctrl+C is noticed within a blink.
_SIGNAL_POLL_MS = 200


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qdbm-desktop", description=f"{APP_NAME}: the desktop app.")
    parser.add_argument("--home", metavar="DIR",
                        help=f"the app-data folder to use (overrides {HOME_ENV} and the platform default)")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--tray", action="store_true",
                        help="start in the system tray with the window hidden (as the Windows installer's "
                             "start-at-login entry does); without a system tray the window opens as usual")
    parser.add_argument("--self-test", action="store_true",
                        help="open the main window on a temporary app-data folder (offscreen when there is "
                             "no display), run the demo migration, check every driver, print a report "
                             "and exit (0 when all is well)")
    return parser


def application(qt_argv: Sequence[str]) -> QApplication:
    """The running QApplication (a test's, say), or a new one; named and given the app icon."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(qt_argv))
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    # Lets Wayland and the Linux desktop file match the running window to its icon.
    app.setDesktopFileName("qdbm-desktop")
    app.setWindowIcon(app_icon())
    return app


def open_main_window(paths: AppPaths, keyring_backend: Any | None = None, *,
                     start_scheduler: bool = False, in_tray: bool = False) -> MainWindow:
    """Everything start-up does before the event loop runs: context, first run, window shown.

    ``keyring_backend`` replaces the system keyring (tests pass an in-memory one). ``in_tray``
    leaves the window hidden when the tray icon is there to open it from.
    """
    context = AppContext.create(paths, keyring_backend=keyring_backend)
    try:
        ensure_first_run(context)
    except (QdbmError, OSError, sqlite3.Error) as exc:
        # A full or read-only app-data disk: the demo can wait; the app still starts.
        context.first_run_notices.append(f"the demo could not be set up: {exc}")
    try:
        removed = context.history.apply_retention(context.settings.get().history_retention_days)
    except (QdbmError, OSError, sqlite3.Error) as exc:
        log.warning("old runs could not be removed from the history: %s", exc)
    else:
        if removed:
            log.info("%d runs older than the retention setting removed from the history", removed)
    window = MainWindow(context, start_scheduler=start_scheduler)
    if not starts_hidden(in_tray, tray_available=window.tray is not None):
        window.show()
    return window


def starts_hidden(in_tray: bool, *, tray_available: bool) -> bool:
    """Whether the window stays hidden at start: asked for (--tray) and a tray icon to reach it by.

    Without a system tray a hidden window could never be opened, so it shows after all.
    """
    return in_tray and tray_available


def main(argv: Sequence[str] | None = None, *, keyring_backend: Any | None = None) -> int:
    """Run the desktop app until its last window closes; returns the exit status."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    # Options this parser does not know (-platform, -style ...) are Qt's, so they go to Qt.
    args, qt_args = build_parser().parse_known_args(args_in)
    if args.self_test:
        return _self_test(qt_args)
    # Warnings and tracebacks on stderr pass through the mask: a driver's message may hold a DSN.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(f"{APP_NAME}: %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    if sys.excepthook is sys.__excepthook__:  # a test harness's own hook stays
        sys.excepthook = _redacted_excepthook
    app = application([sys.argv[0] if sys.argv else "qdbm-desktop", *qt_args])
    paths = AppPaths.from_environment(override=args.home)
    try:
        paths.ensure()
        instance = SingleInstance(paths.home)
        if not instance.acquire():
            # Another QDBM Desktop runs on this app-data folder: it comes to the front instead.
            if instance.activate_running():
                print(f"{APP_NAME} is already running; its window was brought to the front", file=sys.stderr)
                return 0
            raise QdbmError(f"another {APP_NAME} holds {paths.home / 'app.lock'} but does not answer; "
                            "if it hangs, end it and start again")
        window = open_main_window(paths, keyring_backend, start_scheduler=True, in_tray=args.tray)
    except (QdbmError, OSError) as exc:
        # Without a window the user would see nothing at all when started from a desktop menu.
        message = f"{APP_NAME} cannot start: {exc}"
        print(message, file=sys.stderr)
        QMessageBox.critical(None, APP_NAME, message)
        return 1
    instance.activation_requested.connect(window.show_and_raise)
    # With a tray icon the app lives on when its window is closed (File > Quit ends it).
    app.setQuitOnLastWindowClosed(window.tray is None)
    try:
        with _closing_on_termination_signals(window):
            status = app.exec()
    finally:
        instance.release()
    # Dropped here, while the QApplication still exists, never after it is gone.
    del window
    return int(status)


def _redacted_excepthook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
    """An exception no slot caught, printed as Python would, its credentials masked."""
    sys.stderr.write(redact("".join(traceback.format_exception(kind, error, tb))))


def _self_test(qt_args: Sequence[str]) -> int:
    """``--self-test``: on a temporary folder, whatever --home or QDBM_HOME say; offscreen with no display."""
    no_display = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if (sys.platform.startswith("linux") and no_display and not os.environ.get("QT_QPA_PLATFORM")
            and QApplication.instance() is None):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    application([sys.argv[0] if sys.argv else "qdbm-desktop", *qt_args])
    from qdbm_desktop.gui.self_test import run_self_test

    return run_self_test()


@contextmanager
def _closing_on_termination_signals(window: QWidget) -> Iterator[None]:
    """Ctrl+C in a terminal or a SIGTERM closes ``window`` as File > Quit would (state saved).

    Python runs signal handlers only when it has control, and the Qt event loop keeps it in C++,
    so a timer wakes Python up now and then. The previous handlers come back afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def close_window(signum: int, frame: FrameType | None) -> None:
        if isinstance(window, MainWindow):
            window.quit_app()
        else:
            window.close()

    wanted = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    previous = {signum: signal.signal(signum, close_window) for signum in wanted}
    timer = QTimer()
    timer.timeout.connect(lambda: None)
    timer.start(_SIGNAL_POLL_MS)
    try:
        yield
    finally:
        timer.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
