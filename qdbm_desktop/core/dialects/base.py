"""The one small interface every database dialect implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConnectParams:
    """Everything needed to open a connection, secrets in plain text: never logged or stored."""

    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    path: str | None = None
    driver: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    password: str | None = field(default=None, repr=False)
    dsn: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        shown = {k: v for k, v in vars(self).items() if k not in ("password", "dsn", "options")}
        return f"ConnectParams({shown}, options={sorted(self.options)}, secrets=********)"

    def secret_values(self) -> list[str]:
        """Every secret plaintext, for scrubbing messages."""
        return [v for v in (self.password, self.dsn) if v]


class Dialect(ABC):
    """One database engine: how to reach it and how to talk to it.

    Dialects are stateless; each connection they open belongs to the caller.
    """

    name: str
    display_name: str
    default_port: int | None = None
    #: Which profile fields the connection form shows for this engine.
    fields: tuple[str, ...] = ("host", "port", "database", "user", "password")

    @abstractmethod
    def connect(self, params: ConnectParams, timeout: float) -> Any:
        """Open a DB-API connection, giving up after ``timeout`` seconds."""

    @abstractmethod
    def server_version(self, connection: Any) -> str:
        """The server's product and version, as the user would recognise it."""

    def describe_location(self, params: ConnectParams) -> str:
        """Where the database is, for lists and messages (never a secret)."""
        if params.path:
            return params.path
        host = params.host or "localhost"
        port = params.port or self.default_port
        location = f"{host}:{port}" if port else host
        return f"{location}/{params.database}" if params.database else location
