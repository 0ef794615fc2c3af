"""Saved connection profiles (connections.json), their secrets encrypted by the secret box."""

from __future__ import annotations

import builtins
import re
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from filelock import Timeout

from qdbm_desktop.core.dialects import DIALECTS, ConnectParams, get_dialect
from qdbm_desktop.core.errors import (
    ConfigFileError,
    QdbmError,
    SecretUnavailable,
    UsageError,
    one_line,
    redact,
)
from qdbm_desktop.core.jsonfile import Document, JsonDocumentFile
from qdbm_desktop.core.paths import AppPaths
from qdbm_desktop.core.redaction import is_secret_key, mask_credentials
from qdbm_desktop.core.schema import (
    Anything,
    BadEntry,
    Choice,
    Integer,
    Invalid,
    ListOf,
    MapOf,
    Nullable,
    Record,
    Text,
    Timestamp,
    bad_entry_notice,
    check_entries,
    keep_undeclared,
    shown,
)
from qdbm_desktop.core.secrets import SecretBox

FORMAT_VERSION = 1
SECRET_FIELDS = ("password", "dsn")
_OPTION_PREFIX = "option:"
_MAX_NAME = 100


def is_secret_option(key: str) -> bool:
    """Driver options whose value is a credential (sslpassword, Pwd, api_token ...) are encrypted too."""
    return is_secret_key(key)


def no_connection_named(name: str) -> str:
    """Says that no saved connection is called ``name``; a connection string is not echoed.

    What was typed may be a DSN, an ODBC string or an Oracle ``user/password@host`` that holds
    a password the masks cannot all recognise (an unquoted "@" or space in it).
    """
    if redact(name) != name or re.search(r"[@=;]|/.*@", name):
        return ("no saved connection of that name (it looks like a connection string, which is not "
                "repeated here: give it as a URL such as postgresql://user:password@host/db, its "
                "password percent-encoded, or save it with qdbm connections add)")
    return f"no saved connection named {name!r}"


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


class SecretState(Enum):
    NONE = "none"
    STORED = "stored"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class ConnectionProfile:
    """One saved connection. ``secrets`` maps a field to its Fernet token, never to plain text."""

    name: str
    type: str
    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    path: str | None = None
    driver: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    created_at: str | None = None
    last_used: str | None = None
    last_test: str | None = None
    last_test_at: str | None = None

    @property
    def display_type(self) -> str:
        return get_dialect(self.type).display_name

    @property
    def location(self) -> str:
        """Host and port, or the file, for lists (never a secret)."""
        return get_dialect(self.type).describe_location(self.public_params())

    @property
    def effective_port(self) -> int | None:
        return self.port or get_dialect(self.type).default_port

    def public_params(self) -> ConnectParams:
        """Connection parameters without any secret."""
        return ConnectParams(host=self.host, port=self.port, database=self.database, user=self.user,
                             path=self.path, driver=self.driver, options=dict(self.options))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["options"] = dict(self.options)
        data["secrets"] = dict(self.secrets)
        return {k: v for k, v in data.items() if v not in (None, {}, "")}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConnectionProfile:
        """The profile an entry of connections.json holds; the entry must have passed ``CONNECTION_ENTRY``."""
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["options"] = dict(data.get("options") or {})
        values["secrets"] = dict(data.get("secrets") or {})
        return cls(**values)


def _check_secret_key(key: str) -> None:
    if key not in SECRET_FIELDS and not key.startswith(_OPTION_PREFIX):
        raise Invalid(f"{shown(key)} is not a secret field (password, dsn or option:NAME)")


def _check_stored_profile(data: Mapping[str, Any]) -> None:
    validate_profile(ConnectionProfile.from_json(data))


_OPTIONAL_TEXT = Nullable(Text(max_length=4096))
#: What one entry of connections.json holds; read through :func:`check_entries`.
CONNECTION_ENTRY = Record(
    fields={
        "name": Text(max_length=_MAX_NAME, non_empty=True),
        "type": Choice(tuple(DIALECTS)),
        "host": _OPTIONAL_TEXT, "port": Nullable(Integer(1, 65535)), "database": _OPTIONAL_TEXT,
        "user": _OPTIONAL_TEXT, "path": _OPTIONAL_TEXT, "driver": _OPTIONAL_TEXT,
        "options": Nullable(MapOf(Text(max_length=4096))),
        "secrets": Nullable(MapOf(Text(non_empty=True), check_key=_check_secret_key)),
        "created_at": Nullable(Timestamp()), "last_used": Nullable(Timestamp()),
        "last_test": Nullable(Text()), "last_test_at": Nullable(Timestamp()),
    },
    required=frozenset({"name", "type"}),
    check_record=_check_stored_profile,
)


def validate_profile(profile: ConnectionProfile) -> None:
    """Raise ``UsageError`` saying what is wrong with a profile's fields."""
    name = profile.name
    if not name or not name.strip():
        raise UsageError("a connection needs a name")
    if name != name.strip() or len(name) > _MAX_NAME or any(ord(c) < 32 for c in name):
        raise UsageError(f"connection name {name!r} must be 1-{_MAX_NAME} printable characters "
                         "without leading or trailing spaces")
    dialect = get_dialect(profile.type)
    if profile.port is not None and not 1 <= profile.port <= 65535:
        raise UsageError(f"port {profile.port} is out of range (1-65535)")
    if dialect.name == "sqlite":
        if not profile.path:
            raise UsageError("a SQLite connection needs a database file (--path)")
    elif dialect.name == "oracle":
        if not (profile.host or "dsn" in profile.secrets):
            raise UsageError("an Oracle connection needs a host and service name, or a DSN")
    elif not profile.host:
        raise UsageError(f"a {dialect.display_name} connection needs a host")


_Indexed = list[tuple[int, dict[str, Any]]]


class ConnectionStore:
    """The saved connections, read from and written to connections.json under its lock."""

    def __init__(self, paths: AppPaths, box: SecretBox) -> None:
        self._file = JsonDocumentFile(paths.connections_file, FORMAT_VERSION,
                                      default=lambda: {"connections": []},
                                      shape={"connections": ListOf(Anything())})
        self._box = box

    @property
    def notices(self) -> list[str]:
        return self._file.notices

    @property
    def read_only_reason(self) -> str | None:
        return self._file.read_only_reason

    @property
    def secret_box(self) -> SecretBox:
        return self._box

    # -- reading ------------------------------------------------------------------------------

    def list(self) -> list[ConnectionProfile]:
        return [ConnectionProfile.from_json(entry) for _, entry in self._good(self._file.load())]

    def bad_entries(self) -> builtins.list[BadEntry]:
        """The entries of connections.json that cannot be read (kept in the file as they are)."""
        return self._check(self._file.load())[1]

    def _check(self, document: Document) -> tuple[_Indexed, builtins.list[BadEntry]]:
        good, bad = check_entries(document.get("connections") or [], CONNECTION_ENTRY, key="name",
                                  unique_key=True)
        for entry in bad:
            self._file.notify(bad_entry_notice(self._file.path.name, "connection", entry))
        return good, bad

    def _good(self, document: Document) -> _Indexed:
        """The entries that pass the schema, with their index in the stored list."""
        return self._check(document)[0]

    def get(self, name: str) -> ConnectionProfile:
        for profile in self.list():
            if profile.name == name:
                return profile
        raise QdbmError(no_connection_named(name))

    def find(self, name: str) -> ConnectionProfile | None:
        return next((p for p in self.list() if p.name.casefold() == name.casefold()), None)

    def secret_state(self, profile: ConnectionProfile) -> SecretState:
        if not profile.secrets:
            return SecretState.NONE
        if all(self._box.can_decrypt(token) for token in profile.secrets.values()):
            return SecretState.STORED
        return SecretState.UNREADABLE

    def connect_params(self, profile: ConnectionProfile) -> ConnectParams:
        """Parameters with secrets decrypted; ``SecretUnavailable`` names the connection."""
        plain: dict[str, str] = {}
        for key, token in profile.secrets.items():
            plain[key] = self._box.decrypt(token, what=f"the {key.removeprefix(_OPTION_PREFIX)} of "
                                                        f"connection {profile.name!r}")
        options = dict(profile.options)
        options.update({k.removeprefix(_OPTION_PREFIX): v for k, v in plain.items()
                        if k.startswith(_OPTION_PREFIX)})
        return replace(profile.public_params(), options=options, password=plain.get("password"),
                       dsn=plain.get("dsn"))

    # -- writing ------------------------------------------------------------------------------

    def add(self, profile: ConnectionProfile, secrets: Mapping[str, str | None] | None = None,
            *, replace_existing: bool = False) -> ConnectionProfile:
        """Save a new profile; ``secrets`` are plain text and are encrypted here."""
        profile = self._with_secrets(profile, secrets or {})
        profile = replace(profile, created_at=profile.created_at or now_iso())
        validate_profile(profile)
        with self._file.locked():
            document = self._file.load()
            entries = document.setdefault("connections", [])
            good = {index for index, _ in self._good(document)}
            clash = [i for i, e in enumerate(entries) if _entry_name(e).casefold() == profile.name.casefold()]
            if clash and not replace_existing:
                existing = _entry_name(entries[clash[0]])
                if clash[0] in good:
                    raise QdbmError(f"a connection named {existing!r} already exists")
                raise QdbmError(f"connections.json holds an entry named {existing!r} that cannot be read "
                                "(see the notice); fix or remove it there, or replace it")
            # Replacing by name is the user's explicit wish, also for an entry that cannot be read.
            entries[:] = [e for i, e in enumerate(entries) if i not in clash] + [profile.to_json()]
            self._file.save(document)
        return profile

    def update(self, name: str, profile: ConnectionProfile,
               secrets: Mapping[str, str | None] | None = None) -> ConnectionProfile:
        """Replace profile ``name`` (possibly renamed); secrets not given are kept as they were."""
        with self._file.locked():
            document = self._file.load()
            entries = document.setdefault("connections", [])
            index = next((i for i, e in self._good(document) if e.get("name") == name), None)
            if index is None:
                raise QdbmError(no_connection_named(name))
            stored = ConnectionProfile.from_json(entries[index])
            # A profile built from an edit form carries no tokens and no bookkeeping.
            profile = replace(
                profile, secrets={**stored.secrets, **profile.secrets},
                created_at=profile.created_at or stored.created_at,
                last_used=profile.last_used or stored.last_used,
                last_test=profile.last_test or stored.last_test,
                last_test_at=profile.last_test_at or stored.last_test_at)
            profile = self._with_secrets(profile, secrets or {})
            validate_profile(profile)
            if any(i != index and _entry_name(e).casefold() == profile.name.casefold()
                   for i, e in enumerate(entries)):
                raise QdbmError(f"a connection named {profile.name!r} already exists")
            entries[index] = keep_undeclared(profile.to_json(), entries[index], CONNECTION_ENTRY)
            self._file.save(document)
        return profile

    def set_secret(self, name: str, key: str, plaintext: str | None) -> ConnectionProfile:
        profile = self.get(name)
        return self.update(name, profile, {key: plaintext})

    def remove(self, name: str) -> None:
        with self._file.locked():
            document = self._file.load()
            entries = document.setdefault("connections", [])
            # Also an entry that cannot be read: removing it is how a user fixes the file.
            kept = [e for e in entries if _entry_name(e) != name]
            if len(kept) == len(entries):
                raise QdbmError(no_connection_named(name))
            document["connections"] = kept
            self._file.save(document)

    def record_test(self, name: str, result: str) -> None:
        """Remember the last test's result (shown in the connections list)."""
        self._touch(name, last_test=result[:300], last_test_at=now_iso())

    def record_use(self, name: str) -> None:
        self._touch(name, last_used=now_iso())

    def _touch(self, name: str, **changes: str) -> None:
        # Bookkeeping only: a full or read-only disk is never worth failing a run or a test over.
        with suppress(ConfigFileError, OSError, Timeout):
            self._touch_locked(name, **changes)

    def _touch_locked(self, name: str, **changes: str) -> None:
        with self._file.locked():
            document = self._file.load()
            if self._file.read_only:
                return  # bookkeeping only: not worth refusing the test or the run over
            for _, entry in self._good(document):
                if entry.get("name") == name:
                    entry.update(changes)
                    self._file.save(document)
                    return

    def _with_secrets(self, profile: ConnectionProfile,
                      secrets: Mapping[str, str | None]) -> ConnectionProfile:
        """Move secret-looking options into ``secrets`` and encrypt every plain value given.

        A value of ``None`` removes that secret; an absent key keeps the stored one.
        """
        tokens = dict(profile.secrets)
        options: dict[str, str] = {}
        plain: dict[str, str | None] = dict(secrets)
        for key, value in profile.options.items():
            # An option of any name whose value holds a credential (options='... password=x') too.
            if is_secret_option(key) or mask_credentials(value) != value:
                plain[_OPTION_PREFIX + key] = value
            else:
                options[key] = value
        for key, secret in plain.items():
            if key not in SECRET_FIELDS and not key.startswith(_OPTION_PREFIX):
                raise UsageError(f"{key!r} is not a secret field")
            if secret is None or secret == "":
                tokens.pop(key, None)
            else:
                tokens[key] = self._box.encrypt(secret)
        return replace(profile, options=options, secrets=tokens)


def _entry_name(entry: Any) -> str:
    """The name a stored entry gives itself, whether or not the rest of it can be read ("" for none)."""
    name = entry.get("name") if isinstance(entry, dict) else None
    return name if isinstance(name, str) else ""


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    seconds: float


def check_params(type_name: str, params: ConnectParams, timeout: float = 10.0) -> ConnectionCheck:
    """Connect, ask the server for its version, disconnect. Never raises for a failed connection."""
    started = time.monotonic()
    secrets = params.secret_values()
    try:
        dialect = get_dialect(type_name)
        connection = dialect.connect(params, timeout)
        try:
            version = dialect.server_version(connection)
        finally:
            connection.close()
        return ConnectionCheck(True, version, time.monotonic() - started)
    except QdbmError as exc:
        return ConnectionCheck(False, redact(str(exc), secrets), time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - every driver has its own exception tree
        message = redact(one_line(str(exc)) or type(exc).__name__, secrets)
        message = message.removeprefix("connection failed: ")  # psycopg's prefix; ours says it already
        return ConnectionCheck(False, message, time.monotonic() - started)


def check_connection(
    store: ConnectionStore, profile: ConnectionProfile, timeout: float = 10.0
) -> ConnectionCheck:
    """Check a saved connection and remember the outcome in its ``last_test``."""
    try:
        params = store.connect_params(profile)
    except SecretUnavailable as exc:
        result = ConnectionCheck(False, str(exc), 0.0)
    else:
        result = check_params(profile.type, params, timeout)
    store.record_test(profile.name, ("ok: " if result.ok else "failed: ") + result.message)
    return result
