"""The one small interface every database dialect implements."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.redaction import is_secret_key, secrets_in
from qdbm_desktop.core.types import Column, PortableType


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
    #: Other spellings of the secrets, as the user typed them (a URL's raw, partly percent-encoded
    #: password), so that they are masked too.
    spellings: tuple[str, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        shown = {k: v for k, v in vars(self).items() if k not in ("password", "dsn", "options", "spellings")}
        return f"ConnectParams({shown}, options={sorted(self.options)}, secrets=********)"

    def secret_values(self) -> list[str]:
        """Every secret plaintext, for scrubbing messages: the password, the DSN and the credentials
        it holds, the values of options naming a password, secret or token."""
        values = [v for v in (self.password, self.dsn) if v]
        values += [str(v) for k, v in self.options.items() if v and is_secret_key(k)]
        values += [found for v in self.options.values() for found in secrets_in(str(v))]
        values += secrets_in(self.dsn)
        values += [v for v in self.spellings if v]
        return values


@dataclass(frozen=True)
class TableName:
    """A table, optionally in a schema (MySQL: a database), exactly as the user spelled it."""

    name: str
    schema: str | None = None

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    @classmethod
    def parse(cls, text: str) -> TableName:
        """``table``, ``schema.table``, or either part in double quotes or backquotes
        (``"my schema"."Order Lines"``), so names holding dots can be given."""
        parts = re.findall(r'"((?:[^"]|"")*)"|`((?:[^`]|``)*)`|([^.]+)', text.strip())
        names = [dq.replace('""', '"') if dq else bq.replace("``", "`") if bq else plain.strip()
                 for dq, bq, plain in parts]
        if not names or len(names) > 2 or any(not n for n in names) or \
                text.strip().count(".") < len(names) - 1:
            raise UsageError(f"{text!r} is not a table name (give TABLE or SCHEMA.TABLE)")
        return cls(names[-1], names[0] if len(names) == 2 else None)


class ReadFailed(Exception):
    """Raised by ``copy_between`` when the source side failed (its cause is the driver's error)."""


class LoadMode(str, Enum):
    APPEND = "append"
    TRUNCATE = "truncate"
    REPLACE = "replace"
    CREATE = "create"
    UPSERT = "upsert"


class ReadStream(Protocol):
    """A query being read: its result columns, then its rows in batches."""

    columns: list[Column]

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        """Rows in lists of at most the batch size, as canonical Python values (see types.py)."""
        ...

    def close(self) -> None:
        """Release the cursor and end the read-only transaction (also mid-stream)."""
        ...


class BulkWriter(Protocol):
    """Loads rows into one table with the target's fastest path; never commits."""

    def write(self, rows: Sequence[tuple[Any, ...]], first_row_number: int) -> None:
        """Load ``rows``; ``first_row_number`` (1-based) is for error messages.

        A value the target cannot hold raises ``ValueRejected`` naming the column and row.
        """
        ...

    def finish(self) -> None:
        """Flush whatever is buffered."""
        ...


class Dialect(ABC):
    """One database engine: how to reach it, read from it and load into it.

    Dialects are stateless; each connection they open belongs to the caller. Every method that
    takes a connection works inside the caller's transaction unless it says it commits.
    """

    name: str
    display_name: str
    default_port: int | None = None
    #: Which profile fields the connection form shows for this engine.
    fields: tuple[str, ...] = ("host", "port", "database", "user", "password")
    #: The longest identifier the engine accepts, in bytes of UTF-8 (PostgreSQL 63, MySQL 64).
    max_identifier_length: int = 63
    #: The driver reads ``%`` as the start of a placeholder once parameters are passed (psycopg):
    #: a literal ``%`` in a query read with parameters is then written ``%%``.
    percent_placeholders: bool = False

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

    def unsupported(self) -> UsageError:
        """The error for a migration step this engine does not offer."""
        return UsageError(f"migrations with {self.display_name} are not available in this version")

    # -- names ----------------------------------------------------------------------------------

    def quote_identifier(self, name: str) -> str:
        """``name`` quoted for this engine; ``UsageError`` when it is too long (never truncated)."""
        raise self.unsupported()

    def check_identifier(self, name: str) -> None:
        if not name:
            raise UsageError("an identifier cannot be empty")
        if "\x00" in name:
            raise UsageError(f"the name {name!r} holds a NUL character, which no database takes")
        if len(name.encode("utf-8")) > self.max_identifier_length:
            raise UsageError(f"the name {name!r} is longer than {self.display_name} allows "
                             f"({self.max_identifier_length} bytes)")

    def qualified(self, table: TableName) -> str:
        """The table's quoted, schema-qualified name."""
        if table.schema:
            return f"{self.quote_identifier(table.schema)}.{self.quote_identifier(table.name)}"
        return self.quote_identifier(table.name)

    # -- reading --------------------------------------------------------------------------------

    def open_read(self, connection: Any, query: str, batch_size: int,
                  params: Sequence[Any] | None = None) -> ReadStream:
        """Start ``query`` in a read-only transaction with memory bounded by the batch size.

        ``params`` are bound to the query's markers (see ``param_marker``), in order.
        """
        raise self.unsupported()

    def param_marker(self, index: int) -> str:
        """How a query read by ``open_read`` refers to its ``index``-th (0-based) parameter."""
        raise self.unsupported()

    # -- types ----------------------------------------------------------------------------------

    def native_type(self, ptype: PortableType) -> str:
        """The DDL type for a portable type; ``UsageError`` when this engine cannot hold it."""
        raise self.unsupported()

    # -- loading --------------------------------------------------------------------------------

    def prepare_preview(self, connection: Any, rows: int) -> None:  # noqa: B027 - optional hook
        """Tell the server that only ``rows`` rows of the next query will be read (a preview)."""

    def prepare_for_load(self, connection: Any) -> None:  # noqa: B027 - optional hook
        """Session settings for loading (UTC, strict modes); called once after connecting."""

    def table_exists(self, connection: Any, table: TableName) -> bool:
        raise self.unsupported()

    def table_columns(self, connection: Any, table: TableName) -> list[Column]:
        """The existing table's columns, in order, with portable types."""
        raise self.unsupported()

    def row_count(self, connection: Any, table: TableName) -> int:
        cursor = connection.cursor()
        try:
            cursor.execute(f"SELECT COUNT(*) FROM {self.qualified(table)}")
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()

    def create_table_sql(self, table: TableName, columns: Sequence[Column],
                         primary_key: Sequence[str] = ()) -> str:
        """The CREATE TABLE statement for ``columns``."""
        raise self.unsupported()

    def create_table(self, connection: Any, table: TableName, columns: Sequence[Column],
                     primary_key: Sequence[str] = ()) -> None:
        cursor = connection.cursor()
        try:
            cursor.execute(self.create_table_sql(table, columns, primary_key))
        finally:
            cursor.close()

    def drop_table(self, connection: Any, table: TableName) -> None:
        cursor = connection.cursor()
        try:
            cursor.execute(f"DROP TABLE IF EXISTS {self.qualified(table)}")
        finally:
            cursor.close()

    def list_tables(self, connection: Any, schema: str | None, prefix: str) -> list[TableName]:
        """Tables in ``schema`` (the connection's default when None) whose name starts with ``prefix``."""
        raise self.unsupported()

    def copy_between(self, stream: ReadStream, target_connection: Any, table: TableName,
                     should_stop: Callable[[], bool], on_rows: Callable[[int], None]) -> int | None:
        """Move the rows of ``stream`` (opened by this dialect, not yet read) into ``table`` on a
        connection of the same engine without decoding them, when every column has the same type
        on both sides. Returns the row count, or None when the row path must be used instead.

        Raises ``InterruptedError`` when ``should_stop()`` turns true, ``ReadFailed`` when the
        source fails; ``on_rows`` is told the running count now and then. Never commits.
        """
        return None

    def open_writer(self, connection: Any, table: TableName, columns: Sequence[Column]) -> BulkWriter:
        """A bulk writer into ``table`` (whose columns are ``columns``, in that order)."""
        raise self.unsupported()

    def finalize(self, connection: Any, mode: LoadMode, target: TableName, staging: TableName,
                 columns: Sequence[Column], keys: Sequence[str], target_exists: bool) -> None:
        """Move the loaded staging table into the target in ONE atomic step, then commit.

        append: insert all staging rows; truncate: empty the target and insert them; replace:
        the staging table becomes the target (its old definition and rows gone); create: the
        staging table becomes the target, which must not exist; upsert: insert or update by
        ``keys``. A target that does not exist yet (``target_exists`` False) is made from the
        staging table in every mode (upsert's staging table already carries the key as primary
        key). On any error nothing of the step stays: the target is as it was. The staging
        table is gone afterwards (renamed or dropped), except after an error.
        """
        raise self.unsupported()
