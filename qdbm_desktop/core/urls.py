"""Connection URLs (``postgresql://user:pw@host:5432/db``) to profile fields."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from qdbm_desktop.core.errors import MASK, UsageError

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

    def __repr__(self) -> str:
        from qdbm_desktop.core.connections import is_secret_option

        shown = {k: v for k, v in vars(self).items() if k not in ("password", "options")}
        options = {k: (MASK if is_secret_option(k) else v) for k, v in self.options.items()}
        return f"ParsedUrl({shown}, options={options}, password={MASK if self.password else None})"


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
        raise UsageError(f"unknown URL scheme {scheme!r} (known: {', '.join(sorted(set(_SCHEMES)))})")
    if kind == "sqlite":
        rest = url.split("://", 1)[1]
        if not rest.startswith("/") or rest == "/":
            raise UsageError("a SQLite URL looks like sqlite:///relative/file.db or sqlite:////abs/file.db")
        raw_path, _, query = rest[1:].partition("?")
        path = unquote(raw_path)
        if not path:
            raise UsageError("the SQLite URL names no file")
        return ParsedUrl(type=kind, path=os.path.abspath(os.path.expanduser(path)),
                         options=dict(parse_qsl(query)))
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
    )
