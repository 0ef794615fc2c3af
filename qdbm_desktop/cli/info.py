"""``qdbm info``: versions, drivers, keyring and app-data folder."""

from __future__ import annotations

import argparse
import platform

from qdbm_desktop import APP_NAME, __version__
from qdbm_desktop.cli.common import (
    Commands,
    Parser,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.drivers import driver_versions
from qdbm_desktop.core.errors import QdbmError


def _cmd_info(args: argparse.Namespace, context: AppContext) -> int:
    print(f"{APP_NAME} {__version__}")
    print(f"Python {platform.python_version()} on {platform.platform()}")
    print(f"app data: {context.paths.home}")
    try:
        status = context.secret_box.status
    except QdbmError as exc:  # a full or read-only disk where the key file would go
        print(f"keyring: unavailable ({exc})")
    else:
        print(f"keyring: {status.backend}" + (" (fallback: no OS keyring)" if status.file_fallback else ""))
    for label, text in driver_versions():
        print(f"{label}: {text}")
    return 0


def register(commands: Commands[Parser]) -> None:
    info = commands.add_parser("info", help="versions, drivers, keyring and app-data folder")
    info.set_defaults(handler=_cmd_info)
