"""Import from Query DB Migrator, the web tool QDBM Desktop succeeds.

Its ``config/`` folder holds ``db_connections.json`` (connections grouped by type, beside a
``settings`` object), ``.encryption_key`` (a Fernet key) and ``schedules.json``. It encrypted
``password`` and ``dsn`` and stored each as base64 of the Fernet token (so a value starts
``Z0FBQUFB``); older versions stored plain text. Secrets are decrypted with its key and saved
again under ours; the old key is used only here and never copied.
"""

from __future__ import annotations

import base64
import binascii
import json
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from qdbm_desktop.core.connections import ConnectionProfile, now_iso
from qdbm_desktop.core.context import AppContext
from qdbm_desktop.core.errors import QdbmError
from qdbm_desktop.core.jobs import Job
from qdbm_desktop.core.schedules import Schedule, new_schedule_id
from qdbm_desktop.core.triggers import ScheduleTrigger

LEGACY_TYPES = {"oracle": "oracle", "postgresql": "postgresql", "postgres": "postgresql",
                "mysql": "mysql", "mariadb": "mysql", "sqlserver": "sqlserver", "mssql": "sqlserver",
                "sqlite": "sqlite"}
_HOST_KEYS = ("host", "server", "hostname")
_DATABASE_KEYS = ("database", "dbname", "db", "service_name", "service", "sid")
_USER_KEYS = ("user", "username", "uid")
_PASSWORD_KEYS = ("password", "pwd", "passwd")
_PATH_KEYS = ("path", "file", "filename")
_ENCRYPTED_PREFIXES = ("Z0FBQUFB", "gAAAAA")


@dataclass
class LegacyImportReport:
    """What was imported and what was skipped, each with its reason, in order."""

    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _candidate_tokens(value: str) -> list[bytes]:
    """The Fernet tokens a stored value may be: its base64 decodings, then the value itself."""
    raw = value.encode("ascii", "ignore")
    found = []
    with suppress(binascii.Error, ValueError):
        found.append(base64.b64decode(raw, validate=True))
    with suppress(binascii.Error, ValueError):
        found.append(base64.urlsafe_b64decode(raw))
    return [*found, raw]


class _Decryptor:
    def __init__(self, key: bytes | None) -> None:
        self._fernet = Fernet(key) if key else None

    def reveal(self, value: str) -> str | None:
        """The plain text of a stored value; ``None`` when it is encrypted but will not open."""
        if self._fernet is not None:
            for token in _candidate_tokens(value):
                try:
                    return self._fernet.decrypt(token).decode("utf-8")
                except (InvalidToken, UnicodeDecodeError, ValueError):
                    continue
        if value.startswith(_ENCRYPTED_PREFIXES):
            return None
        return value  # stored in plain text by an older version


def _pick(entry: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = entry.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise QdbmError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except UnicodeDecodeError as exc:
        raise QdbmError(f"{path} is not UTF-8 text (offset {exc.start})") from None
    except (ValueError, RecursionError) as exc:
        raise QdbmError(f"{path} is not JSON this program can read ({str(exc)[:80]})") from None
    except OSError as exc:
        raise QdbmError(f"cannot read {path}: {exc.strerror or exc}") from exc


def import_legacy(context: AppContext, folder: Path) -> LegacyImportReport:
    """Import connections, the batch size and future schedules from a Query DB Migrator folder."""
    if not folder.is_dir():
        raise QdbmError(f"{folder} is not a folder (expected Query DB Migrator's config/ folder)")
    connections_file = folder / "db_connections.json"
    if not connections_file.is_file():
        raise QdbmError(f"{folder} holds no db_connections.json: is it Query DB Migrator's config/ folder?")
    document = _read_json(connections_file)
    if not isinstance(document, dict):
        raise QdbmError(f"{connections_file} does not hold the expected object of connection groups")
    report = LegacyImportReport()
    decryptor = _Decryptor(_read_key(folder / ".encryption_key", report))
    names = _import_connections(context, document, decryptor, report)
    _import_settings(context, document.get("settings"), report)
    _import_schedules(context, folder / "schedules.json", names, report)
    history = folder / "migration_history.json"
    if history.is_file():
        try:
            entries = _read_json(history)
            count = len(entries) if isinstance(entries, list) else 0
        except QdbmError:
            count = 0
        report.skipped.append(f"migration_history.json ({count} entries): past runs are not imported")
    return report


def _read_key(path: Path, report: LegacyImportReport) -> bytes | None:
    if not path.is_file():
        report.warnings.append(".encryption_key not found: encrypted passwords cannot be imported")
        return None
    key = path.read_bytes().strip()
    try:
        Fernet(key)
    except ValueError:
        report.warnings.append(".encryption_key is not a valid Fernet key: encrypted passwords "
                               "cannot be imported")
        return None
    return key


def _import_connections(context: AppContext, document: dict[str, Any], decryptor: _Decryptor,
                        report: LegacyImportReport) -> dict[str, str]:
    """Import each connection; returns legacy reference ("type/name") -> our connection name."""
    store = context.connections
    mapping: dict[str, str] = {}
    taken: dict[str, str] = {p.name.casefold(): p.type for p in store.list()}
    for group, entries in document.items():
        if group == "settings":
            continue
        kind = LEGACY_TYPES.get(str(group).lower())
        if kind is None or not isinstance(entries, dict):
            report.skipped.append(f"group {group!r}: not a database type QDBM Desktop knows")
            continue
        for legacy_name, entry in entries.items():
            ref = f"{group}/{legacy_name}"
            if not isinstance(entry, dict):
                report.skipped.append(f"{ref}: its entry is not an object")
                continue
            name = str(legacy_name).strip()
            existing_type = taken.get(name.casefold())
            if existing_type == kind:
                mapping[ref] = next(p.name for p in store.list() if p.name.casefold() == name.casefold())
                report.skipped.append(f"{ref}: a {kind} connection named {name!r} already exists")
                continue
            if existing_type is not None:
                name = f"{name} ({kind})"
                if name.casefold() in taken:
                    report.skipped.append(f"{ref}: the names {legacy_name!r} and {name!r} are both taken")
                    continue
            imported = _import_one(context, kind, name, ref, entry, decryptor, report)
            if imported:
                taken[name.casefold()] = kind
                mapping[ref] = name
    return mapping


def _import_one(context: AppContext, kind: str, name: str, ref: str, entry: dict[str, Any],
                decryptor: _Decryptor, report: LegacyImportReport) -> bool:
    secrets: dict[str, str | None] = {}
    lost: list[str] = []
    for field_name, keys in (("password", _PASSWORD_KEYS), ("dsn", ("dsn",))):
        raw = _pick(entry, keys)
        if raw is None:
            continue
        plain = decryptor.reveal(raw)
        if plain is None:
            lost.append(field_name)
        else:
            secrets[field_name] = plain
    port_text = _pick(entry, ("port",))
    try:
        port = int(port_text) if port_text else None
    except ValueError:
        report.skipped.append(f"{ref}: port {port_text!r} is not a number")
        return False
    used = set(_HOST_KEYS + _DATABASE_KEYS + _USER_KEYS + _PASSWORD_KEYS + _PATH_KEYS + ("port", "dsn",
                                                                                         "driver"))
    options = {str(k): str(v) for k, v in entry.items() if k not in used and v not in (None, "")}
    profile = ConnectionProfile(
        name=name, type=kind, host=_pick(entry, _HOST_KEYS), port=port,
        database=_pick(entry, _DATABASE_KEYS), user=_pick(entry, _USER_KEYS), path=_pick(entry, _PATH_KEYS),
        driver=_pick(entry, ("driver",)), options=options, created_at=now_iso(),
    )
    try:
        context.connections.add(profile, secrets)
    except QdbmError as exc:
        report.skipped.append(f"{ref}: {exc}")
        return False
    line = f"connection {ref} as {name!r}"
    if lost:
        line += (f" without its {' and '.join(lost)}: it cannot be decrypted with the given key; "
                 f"re-enter it (qdbm connections set-password {name!r})")
    report.imported.append(line)
    return True


def _import_settings(context: AppContext, settings: Any, report: LegacyImportReport) -> None:
    if not isinstance(settings, dict) or "batch_size" not in settings:
        return
    try:
        context.settings.set("batch_size", settings["batch_size"])
    except QdbmError as exc:
        report.skipped.append(f"settings.batch_size: {exc}")
        return
    report.imported.append(f"setting batch_size = {context.settings.get().batch_size}")


def _import_schedules(context: AppContext, path: Path, names: dict[str, str],
                      report: LegacyImportReport) -> None:
    if not path.is_file():
        return
    entries = _read_json(path)
    if not isinstance(entries, list):
        report.skipped.append("schedules.json: it does not hold a list of schedules")
        return
    already = {s.origin for s in context.schedules.schedules() if s.origin}
    now = datetime.now().astimezone()
    for entry in entries:
        if not isinstance(entry, dict):
            report.skipped.append("a schedule entry that is not an object")
            continue
        job_id = str(entry.get("job_id") or "?")
        label = f"schedule {job_id}"
        origin = f"legacy:{job_id}"
        if origin in already:
            report.skipped.append(f"{label}: already imported")
            continue
        try:
            # The web tool stored naive local times; they are read in this computer's zone.
            when = datetime.strptime(str(entry.get("schedule_time")), "%Y-%m-%d %H:%M:%S").astimezone()
        except ValueError:
            shown = entry.get("schedule_time")
            report.skipped.append(f"{label}: its time {shown!r} is not YYYY-MM-DD HH:MM:SS")
            continue
        if when <= now:
            report.skipped.append(f"{label}: its time {when:%Y-%m-%d %H:%M} has passed")
            continue
        source, destination = names.get(str(entry.get("source"))), names.get(str(entry.get("destination")))
        if source is None or destination is None:
            missing = entry.get("source") if source is None else entry.get("destination")
            report.skipped.append(f"{label}: connection {missing!r} was not imported")
            continue
        query, table = str(entry.get("query") or "").strip(), str(entry.get("target_table") or "").strip()
        if not query or not table:
            report.skipped.append(f"{label}: it has no query or no target table")
            continue
        taken = {j.name for j in context.schedules.jobs()}
        base = name = f"{table} from {source}"
        number = 2
        while name in taken:
            name, number = f"{base} ({number})", number + 1
        context.schedules.save_job(Job(name=name, source=source, target=destination, query=query,
                                       table=table))
        context.schedules.add_schedule(Schedule(id=new_schedule_id(), job=name,
                                                trigger=ScheduleTrigger.once(when), origin=origin,
                                                created_at=now_iso()))
        report.imported.append(f"{label}: job {name!r}, {source} -> {destination}.{table} "
                               f"at {when:%Y-%m-%d %H:%M %Z}")
