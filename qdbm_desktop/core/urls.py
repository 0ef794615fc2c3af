"""Connection URLs (``postgresql://user:pw@host:5432/db``) to profile fields."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from qdbm_desktop.core.dialects.base import ConnectParams
from qdbm_desktop.core.errors import MASK, UsageError
from qdbm_desktop.core.redaction import is_secret_key, mask_url

_SCHEMES = {
    "postgresql": "postgresql", "postgres": "postgresql", "pg": "postgresql",
    "mysql": "mysql", "mariadb": "mysql",
    "sqlite": "sqlite", "sqlite3": "sqlite",
    "sqlserver": "sqlserver", "mssql": "sqlserver",
    "oracle": "oracle",
}


@dataclass
class ParsedUrl:
    type: str
    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    path: str | None = None
    driver: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    #: The secrets as the URL spells them (percent-encoded, partly or not at all).
    raw_secrets: tuple[str, ...] = field(default=(), repr=False)
    #: The URL fit to show: password and secret options masked.
    label: str = ""

    def __repr__(self) -> str:
        shown = {k: v for k, v in vars(self).items() if k not in ("password", "options", "raw_secrets")}
        options = {k: (MASK if is_secret_key(k) else v) for k, v in self.options.items()}
        return f"ParsedUrl({shown}, options={options}, password={MASK if self.password else None})"

    def connect_params(self) -> ConnectParams:
        """The parameters to connect with, the secrets' every spelling known for masking."""
        return ConnectParams(host=self.host, port=self.port, database=self.database, user=self.user,
                             path=self.path, driver=self.driver, options=dict(self.options),
                             password=self.password, spellings=self.raw_secrets)


def _raw_secrets(url: str) -> tuple[str, ...]:
    """The password and secret option values exactly as written in ``url`` (not decoded)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    found: list[str] = []
    userinfo = rest[:end].rpartition("@")[0]
    if ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    query = rest.partition("?")[2].partition("#")[0]
    for item in query.split("&"):
        key, eq, value = item.partition("=")
        if eq and value and is_secret_key(unquote(key)):
            found.append(value)
    return tuple(found)


def _password_spills_over(url: str) -> bool:
    """Whether an "@" past the host shows a password cut short by a raw "/", "?" or "#".

    The URL would otherwise be read with the password's tail as host and database (as libpq and
    urlsplit read it), and that tail shown in every label. An "@" in a query value
    (``application_name=me@host``) is fine.
    """
    rest = url.split("://", 1)[1]
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    if ":" not in netloc and "@" not in netloc:
        return False  # no user:password before the host: an "@" further on is the user's own
    path, _, after = tail.partition("?")
    query, _, fragment = (after if "?" in tail else "").partition("#")
    path, hash_, path_fragment = path.partition("#")
    if "@" in path or "@" in fragment or (hash_ and "@" in path_fragment):
        return True
    return any("@" in item.partition("=")[0] for item in query.split("&"))


def parse_connection_url(url: str) -> ParsedUrl:
    """Split a URL into connection fields; a clear ``UsageError`` when it is not one we know.

    ``sqlite:///relative.db`` and ``sqlite:////absolute/path.db`` follow SQLAlchemy's rule;
    ``dialect+driver://`` forms are accepted and the driver part ignored.
    """
    if "://" not in url:
        raise UsageError("a connection URL looks like postgresql://user:password@host:5432/database")
    scheme = url.split("://", 1)[0].lower().split("+", 1)[0]
    kind = _SCHEMES.get(scheme)
    if kind is None:
        # What precedes "://" may be anything (jdbc:oracle:thin:scott/tiger@...): named only when
        # it looks like a scheme, and masked all the same.
        shown = f" {mask_url(scheme)!r}" if re.fullmatch(r"[a-z][a-z0-9+.:\-]{0,30}", scheme) else ""
        raise UsageError(f"unknown URL scheme{shown} (known: {', '.join(sorted(set(_SCHEMES)))})")
    if kind == "sqlite":
        rest = url.split("://", 1)[1]
        if not rest.startswith("/") or rest == "/":
            raise UsageError("a SQLite URL looks like sqlite:///relative/file.db or sqlite:////abs/file.db")
        raw_path, _, query = rest[1:].partition("?")
        path = unquote(raw_path)
        if not path:
            raise UsageError("the SQLite URL names no file")
        return ParsedUrl(type=kind, path=os.path.abspath(os.path.expanduser(path)),
                         options=dict(parse_qsl(query)), raw_secrets=_raw_secrets(url), label=mask_url(url))
    if _password_spills_over(url):
        raise UsageError("the URL's password holds a '/', '?' or '#' that is not percent-encoded: write "
                         "them as %2F, %3F and %23 (and '@' as %40, ':' as %3A)")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:
        # The URL is not echoed: it may hold a password.
        raise UsageError(f"the connection URL is not valid ({exc}); it looks like "
                         "postgresql://user:password@host:5432/database") from None
    try:
        port = parts.port
    except ValueError:
        raise UsageError("the port in the URL is not a number from 1 to 65535") from None
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    database = unquote(parts.path.lstrip("/")) or None
    driver = None
    if kind == "sqlserver":
        driver = next((options.pop(k) for k in list(options) if k.lower() == "driver"), None)
    return ParsedUrl(
        type=kind,
        host=unquote(hostname) if hostname else None,
        port=port,
        database=database,
        user=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        driver=driver,
        options=options,
        raw_secrets=_raw_secrets(url),
        label=mask_url(url),
    )
