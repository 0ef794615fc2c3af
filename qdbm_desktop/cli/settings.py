"""``qdbm settings get`` and ``qdbm settings set``."""

from __future__ import annotations

import argparse

from qdbm_desktop.cli.common import (
    Commands,
    Parser,
    command_group,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.settings import USER_KEYS


def _cmd_settings_get(args: argparse.Namespace, context: AppContext) -> int:
    settings = context.settings.get()
    keys = [args.key] if args.key is not None else list(USER_KEYS)
    for key in keys:
        if key not in USER_KEYS:
            raise UsageError(f"unknown setting {key!r} (known: {', '.join(USER_KEYS)})")
        value = getattr(settings, key)
        print(value if args.key else f"{key} = {value}")
    return 0


def _cmd_settings_set(args: argparse.Namespace, context: AppContext) -> int:
    if args.key not in USER_KEYS:
        raise UsageError(f"unknown setting {args.key!r} (known: {', '.join(USER_KEYS)})")
    settings = context.settings.set(args.key, args.value)
    print(f"{args.key} = {getattr(settings, args.key)}")
    return 0


def register(commands: Commands[Parser]) -> None:
    actions = command_group(commands, "settings", "global settings")
    get = actions.add_parser("get", help="print one or all settings")
    get.add_argument("key", nargs="?", help=", ".join(USER_KEYS))
    get.set_defaults(handler=_cmd_settings_get)
    put = actions.add_parser("set", help="change a setting")
    put.add_argument("key", help=", ".join(USER_KEYS))
    put.add_argument("value")
    put.set_defaults(handler=_cmd_settings_set)
