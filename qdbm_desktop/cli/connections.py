"""``qdbm connections``: add, list, test, remove and set-password."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from qdbm_desktop.cli.common import (
    Commands,
    Parser,
    command_group,
    positive_seconds,
    print_table,
    read_secret,
    whole_number,
)
from qdbm_desktop.core.connections import (
    ConnectionProfile,
    SecretState,
    check_connection,
    check_params,
    no_connection_named,
)
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.demo import create_empty_database
from qdbm_desktop.core.dialects import DIALECTS
from qdbm_desktop.core.errors import MASK, QdbmError, UsageError, one_line, redact
from qdbm_desktop.core.urls import parse_connection_url


def _password_text(state: SecretState) -> str:
    return {SecretState.NONE: "", SecretState.STORED: MASK,
            SecretState.UNREADABLE: "re-enter password"}[state]


def _profile_from_args(args: argparse.Namespace) -> tuple[ConnectionProfile, dict[str, str | None]]:
    options: dict[str, str] = {}
    for item in args.option or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option takes KEY=VALUE, not {item!r}")
        options[key.strip()] = value
    secrets: dict[str, str | None] = {}
    if args.url:
        parsed = parse_connection_url(args.url)
        if args.type and args.type != parsed.type:
            raise UsageError(f"--type {args.type} contradicts the URL's scheme ({parsed.type})")
        base = ConnectionProfile(name=args.name, type=parsed.type, host=parsed.host, port=parsed.port,
                                 database=parsed.database, user=parsed.user, path=parsed.path,
                                 driver=parsed.driver, options={**parsed.options, **options})
        if parsed.password is not None:
            secrets["password"] = parsed.password
    elif args.type:
        base = ConnectionProfile(name=args.name, type=args.type, options=options)
        if args.type != "sqlite" and not args.host:
            base = replace(base, host="localhost")
    else:
        raise UsageError("give the database type with --type TYPE, or a --url")
    overrides = {k: getattr(args, k) for k in ("host", "port", "database", "user", "driver")
                 if getattr(args, k) is not None}
    if args.path is not None:
        overrides["path"] = os.path.abspath(os.path.expanduser(args.path))
    profile = replace(base, **overrides)
    if args.password_stdin:
        secrets["password"] = read_secret(f"Password for {args.name}: ")
    if args.dsn_stdin:
        secrets["dsn"] = read_secret(f"DSN for {args.name}: ")
    return profile, secrets


def _cmd_connections_add(args: argparse.Namespace, context: AppContext) -> int:
    profile, secrets = _profile_from_args(args)
    clash = context.connections.find(profile.name)
    if clash is not None:  # said before a file is looked at or made
        raise QdbmError(f"a connection named {clash.name!r} already exists")
    created = _sqlite_file_for(profile, create=args.create)
    try:
        profile = context.connections.add(profile, secrets)
    except BaseException:
        if created is not None:
            created.unlink(missing_ok=True)
        raise
    made = f"; created the empty database {created}" if created is not None else ""
    print(f"saved connection {profile.name!r} ({profile.display_type}, {profile.location}){made}")
    return 0


def _sqlite_file_for(profile: ConnectionProfile, *, create: bool) -> Path | None:
    """A SQLite profile's file must exist, or be made now with ``--create``: the file it made, if any."""
    if profile.type != "sqlite":
        if create:
            raise UsageError("--create makes a new SQLite database file; it does not apply to "
                             f"{profile.display_type}")
        return None
    if not profile.path:
        raise UsageError("a SQLite connection needs the database file: give --path FILE or a sqlite:/// URL")
    path = Path(profile.path)
    try:
        if path.is_file():
            return None
        if path.exists():
            raise UsageError(f"{path} is not a file (a SQLite connection needs a database file)")
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot use {str(path)[:200]!r} as a SQLite database file: "
                         f"{getattr(exc, 'strerror', None) or one_line(str(exc))}") from None
    if not create:
        raise UsageError(f"the SQLite database file {path} does not exist; give --create to make an empty "
                         "database there")
    try:
        create_empty_database(path)
    except (OSError, sqlite3.Error, ValueError) as exc:
        with suppress(OSError, ValueError):
            path.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else one_line(str(exc))
        raise UsageError(f"cannot create the SQLite database {path}: {reason}") from None
    return path


def _cmd_connections_list(args: argparse.Namespace, context: AppContext) -> int:
    profiles = context.connections.list()
    states = {p.name: context.connections.secret_state(p) for p in profiles}
    if args.json:
        items = []
        for p in profiles:
            data: dict[str, Any] = {
                "name": p.name, "type": p.type, "host": p.host, "port": p.effective_port,
                "database": p.database, "user": p.user, "path": p.path, "driver": p.driver,
                "options": {**p.options, **{k.removeprefix("option:"): MASK
                                            for k in p.secrets if k.startswith("option:")}},
                "password": MASK if "password" in p.secrets else None,
                "dsn": MASK if "dsn" in p.secrets else None,
                "secrets": states[p.name].value,
                "last_used": p.last_used, "last_test": p.last_test, "last_test_at": p.last_test_at,
            }
            items.append(data)
        json.dump(items, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if not profiles:
        print("no saved connections (add one with: qdbm connections add NAME --url URL)")
        return 0
    rows = [[p.name, p.type, p.location, p.user or "", _password_text(states[p.name]), p.last_test or ""]
            for p in profiles]
    print_table(rows, ["NAME", "TYPE", "LOCATION", "USER", "PASSWORD", "LAST TEST"], sys.stdout)
    return 0


def _cmd_connections_test(args: argparse.Namespace, context: AppContext) -> int:
    profile = context.connections.find(args.name)
    if profile is None and "://" in args.name:
        parsed = parse_connection_url(args.name)
        params = parsed.connect_params()
        result = check_params(parsed.type, params, args.timeout)
        label = redact(parsed.label, params.secret_values())
    elif profile is None:
        raise QdbmError(no_connection_named(args.name))
    else:
        result = check_connection(context.connections, profile, args.timeout)
        label = profile.name
    if not result.ok:
        raise QdbmError(f"connection {label!r} failed: {result.message}")
    print(f"ok: {result.message} ({result.seconds:.2f} s)")
    return 0


def _cmd_connections_remove(args: argparse.Namespace, context: AppContext) -> int:
    context.connections.remove(args.name)
    print(f"removed connection {args.name!r}")
    return 0


def _cmd_connections_set_password(args: argparse.Namespace, context: AppContext) -> int:
    profile = context.connections.get(args.name)
    field = "dsn" if args.dsn else "password"
    value = read_secret(f"{field.capitalize()} for {profile.name}: ")
    context.connections.set_secret(profile.name, field, value or None)
    print(f"{'stored' if value else 'removed'} the {field} of {profile.name!r}")
    return 0


def _add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a unique name for the connection")
    parser.add_argument("--type", choices=list(DIALECTS), help="database type")
    parser.add_argument("--url", help="e.g. postgresql://user:password@host:5432/db, sqlite:///file.db")
    parser.add_argument("--host")
    parser.add_argument("--port", type=whole_number(1, 65535))
    parser.add_argument("--database", help="database name (Oracle: service name)")
    parser.add_argument("--user")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input (prompted on a terminal)")
    parser.add_argument("--dsn-stdin", action="store_true",
                        help="Oracle DSN or SQL Server connection string from standard input "
                        "(kept encrypted)")
    parser.add_argument("--path", help="SQLite database file")
    parser.add_argument("--create", action="store_true",
                        help="SQLite: make an empty database file when it does not exist yet")
    parser.add_argument("--driver", help="SQL Server ODBC driver name")
    parser.add_argument("--option", action="append", metavar="KEY=VALUE",
                        help="driver option such as sslmode=require (repeatable)")


def register(commands: Commands[Parser]) -> None:
    actions = command_group(commands, "connections", "manage saved connections")
    add = actions.add_parser("add", help="save a connection")
    _add_connection_arguments(add)
    add.set_defaults(handler=_cmd_connections_add)
    lst = actions.add_parser("list", help="list saved connections (secrets shown as ********)")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=_cmd_connections_list)
    test = actions.add_parser("test", help="connect and print the server version")
    test.add_argument("name", help="saved connection name (or a connection URL)")
    test.add_argument("--timeout", type=positive_seconds, default=10.0, help="seconds (default 10)")
    test.set_defaults(handler=_cmd_connections_test)
    rm = actions.add_parser("remove", help="delete a saved connection")
    rm.add_argument("name")
    rm.set_defaults(handler=_cmd_connections_remove)
    pw = actions.add_parser("set-password", help="store a new password (read from standard input)")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true", help="accepted for symmetry with add")
    pw.add_argument("--dsn", action="store_true", help="set the DSN / connection string instead")
    pw.set_defaults(handler=_cmd_connections_set_password)
