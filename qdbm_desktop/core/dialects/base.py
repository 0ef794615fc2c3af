"""The one small interface every database dialect implements."""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from qdbm_desktop.core.errors import QdbmError, UsageError
from qdbm_desktop.core.redaction import is_secret_key, secrets_in
from qdbm_desktop.core.types import Column, PortableType

if TYPE_CHECKING:
    from qdbm_desktop.core.dialects.catalog import Relation, TableShape


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
    #: The connection only reads (a run's source): SQLite opens the file read-only, the servers
    #: make every transaction of the session read-only.
    read_only: bool = False
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


class LocksUnavailable(QdbmError):
    """The server offers this login no named locks (Oracle without EXECUTE on DBMS_LOCK)."""


def lock_digest(name: str, length: int = 40) -> str:
    """A fixed-length hex digest of a lock name, for engines that cap names or take numbers."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:length]


class ReadFailed(Exception):
    """Raised by ``copy_between`` when the source side failed (its cause is the driver's error)."""


class LoadMode(str, Enum):
    APPEND = "append"
    TRUNCATE = "truncate"
    REPLACE = "replace"
    CREATE = "create"
    UPSERT = "upsert"


@dataclass(frozen=True)
class SwapPlan:
    """The SQL of a finalize step, for a target whose existence is known.

    ``statements`` run in order, in one transaction when ``transactional`` (otherwise there is
    exactly one, atomic on its own, such as MySQL's two-table ``RENAME TABLE``); ``after_commit``
    runs once that has committed (dropping what is left over). ``finalize`` runs it, and an
    exported Spark job runs the same text over JDBC.
    """

    statements: tuple[str, ...]
    transactional: bool
    after_commit: tuple[str, ...] = ()


class Cursor(Protocol):
    """What QDBM uses of a DB-API 2.0 cursor (PEP 249); every driver's own cursor is one.

    Rows are sequences, but drivers type them differently (tuples, ``pyodbc.Row``, untyped), so
    fetched rows are ``Any``; a dialect that needs more uses its driver's own cursor type.
    """

    @property
    def description(self) -> Sequence[Any] | None:
        """One entry per result column, or None after a statement without rows. Entries are the
        PEP 249 7-item sequences (name first) or, in python-oracledb, objects that index alike."""
        ...

    @property
    def rowcount(self) -> int:
        ...

    def execute(self, operation: str, parameters: Any = ..., /) -> object:
        ...

    def fetchone(self) -> Any:
        """The next row, or None when there is none."""
        ...

    def fetchmany(self, size: int = ..., /) -> Sequence[Any]:
        ...

    def fetchall(self) -> Sequence[Any]:
        ...

    def close(self) -> object:
        ...


class Connection(Protocol):
    """What the pipeline uses of a DB-API 2.0 connection: ``Dialect.connect`` returns the driver's
    own connection object, and each dialect uses the rest of its driver's interface itself."""

    def cursor(self) -> Cursor:
        ...

    def commit(self) -> object:
        ...

    def rollback(self) -> object:
        ...

    def close(self) -> object:
        ...


class LockSession(Protocol):
    """A session holding named locks (see ``Dialect.open_lock_session``): a connection of its own,
    or for a database file an object managing the lock files beside it."""

    def close(self) -> object:
        """End the session: every lock it still holds is released."""
        ...


@runtime_checkable
class CursorSession(Protocol):
    """A lock session that is a connection of its own (the servers' sessions): locks are SQL calls."""

    def cursor(self) -> Cursor:
        ...


def cursor_session(session: LockSession) -> CursorSession:
    """``session`` as the connection it is, for a dialect whose lock sessions are connections."""
    if not isinstance(session, CursorSession):
        raise TypeError(f"not a lock session with its own connection: {type(session).__name__}")
    return session


class ReadStream(Protocol):
    """A query being read: its result columns, then its rows in batches."""

    columns: list[Column]

    @property
    def warnings(self) -> Sequence[str]:
        """One line per kind of value changed on the way (zero dates read as NULL ...), complete
        once ``batches`` has ended; the run log shows them. Empty for most streams."""
        ...

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        """Rows in lists of at most the batch size, as canonical Python values (see types.py)."""
        ...

    def close(self) -> None:
        """Release the cursor and end the read-only transaction (also mid-stream)."""
        ...


class BulkWriter(Protocol):
    """Loads rows into one table with the target's fastest path; never commits."""

    @property
    def warnings(self) -> Sequence[str]:
        """One line per kind of value the target changed on the way, complete after ``finish``."""
        ...

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

    Dialects are stateless; each connection they open belongs to the caller, and whatever a
    connection was opened with (an option, a cursor running on it) is kept with that connection,
    never in the dialect or its module. Every method that takes a connection works inside the
    caller's transaction unless it says it commits.

    Every abstract method is part of the contract: a subclass that leaves one out cannot be
    made. The others are shared implementations or optional hooks, each saying which engines
    need it.
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

    # -- connecting -----------------------------------------------------------------------------

    @abstractmethod
    def connect(self, params: ConnectParams, timeout: float) -> Connection:
        """Open a DB-API connection, giving up after ``timeout`` seconds."""

    @abstractmethod
    def server_version(self, connection: Connection) -> str:
        """The server's product and version, as the user would recognise it."""

    @abstractmethod
    def cancel_running(self, connection: Connection, params: ConnectParams) -> None:
        """Stop the statement running on ``connection`` now, if any; called from another thread.

        The interrupted call then fails with the driver's error in the thread that made it, and the
        connection stays usable (after a rollback). Harmless when nothing runs. ``params`` are the
        connection's own, for an engine that needs a second connection to do it.
        """

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

    @abstractmethod
    def quote_identifier(self, name: str) -> str:
        """``name`` quoted for this engine; ``UsageError`` when it is too long (never truncated)."""

    def check_identifier(self, name: str) -> None:
        """``UsageError`` for a name this engine cannot hold (empty, NUL, too long)."""
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

    @abstractmethod
    def open_read(self, connection: Connection, query: str, batch_size: int,
                  params: Sequence[Any] | None = None) -> ReadStream:
        """Start ``query`` in a read-only transaction with memory bounded by the batch size.

        ``params`` are bound to the query's markers (see ``param_marker``), in order.
        """

    @abstractmethod
    def param_marker(self, index: int) -> str:
        """How a query read by ``open_read`` refers to its ``index``-th (0-based) parameter."""

    def prepare_preview(self, connection: Connection, rows: int) -> None:  # noqa: B027 - optional hook
        """Tell the server that only ``rows`` rows of the next query will be read (a preview).

        Only engines whose protocol reads a whole result before a cursor can close (MySQL) need it.
        """

    # -- types ----------------------------------------------------------------------------------

    @abstractmethod
    def native_type(self, ptype: PortableType) -> str:
        """The DDL type for a portable type; ``UsageError`` when this engine cannot hold it."""

    def column_type(self, column: Column) -> str:
        """The DDL type a new table gives ``column``: the source's exact type where the source is
        this engine and the dialect creates it (``Column.native``), else ``native_type``."""
        return self.native_type(column.type)

    # -- loading --------------------------------------------------------------------------------

    def load_session_sql(self) -> tuple[str, ...]:
        """The session settings a load runs under (UTC, strict modes), as statements; none by default."""
        return ()

    def prepare_for_load(self, connection: Connection) -> None:
        """Session settings for loading (UTC, strict modes); called once after connecting."""
        statements = self.load_session_sql()
        if not statements:
            return
        cursor = connection.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()

    @abstractmethod
    def table_exists(self, connection: Connection, table: TableName) -> bool:
        """Whether ``table`` exists, as the engine resolves its name."""

    @abstractmethod
    def table_columns(self, connection: Connection, table: TableName) -> list[Column]:
        """The existing table's columns, in order, with portable types."""

    def row_count(self, connection: Connection, table: TableName) -> int:
        """The table's row count, with ``SELECT COUNT(*)``."""
        cursor = connection.cursor()
        try:
            cursor.execute(f"SELECT COUNT(*) FROM {self.qualified(table)}")
            row = cursor.fetchone()
            return int(row[0])
        finally:
            cursor.close()

    @abstractmethod
    def create_table_sql(self, table: TableName, columns: Sequence[Column],
                         primary_key: Sequence[str] = ()) -> str:
        """The CREATE TABLE statement for ``columns``."""

    def create_table(self, connection: Connection, table: TableName, columns: Sequence[Column],
                     primary_key: Sequence[str] = ()) -> None:
        """Run ``create_table_sql`` inside the caller's transaction."""
        cursor = connection.cursor()
        try:
            cursor.execute(self.create_table_sql(table, columns, primary_key))
        finally:
            cursor.close()

    def drop_table(self, connection: Connection, table: TableName) -> None:
        """``DROP TABLE IF EXISTS`` inside the caller's transaction."""
        cursor = connection.cursor()
        try:
            cursor.execute(f"DROP TABLE IF EXISTS {self.qualified(table)}")
        finally:
            cursor.close()

    @abstractmethod
    def list_tables(self, connection: Connection, schema: str | None, prefix: str) -> list[TableName]:
        """Tables in ``schema`` (the connection's default when None) whose name starts with ``prefix``."""

    # The catalog, as the schema browser and table copies read it (values in dialects/catalog.py).

    @abstractmethod
    def list_schemas(self, connection: Connection) -> list[str]:
        """The schemas (MySQL: databases; SQLite: attached databases) holding user tables, sorted."""

    @abstractmethod
    def list_relations(self, connection: Connection, schema: str | None) -> list[Relation]:
        """Tables and views in ``schema`` (the connection's default when None), sorted by name;
        system objects and partitions of a partitioned table are left out."""

    @abstractmethod
    def describe_table(self, connection: Connection, table: TableName) -> TableShape:
        """A table's or view's columns, keys, indexes and foreign keys; a UsageError naming
        the table when it does not exist."""

    def copy_between(self, stream: ReadStream, target_connection: Connection, table: TableName,
                     should_stop: Callable[[], bool], on_rows: Callable[[int], None]) -> int | None:
        """Move the rows of ``stream`` (opened by this dialect, not yet read) into ``table`` on a
        connection of the same engine without decoding them, when every column has the same type
        on both sides. Returns the row count, or None when the row path must be used instead.

        Raises ``InterruptedError`` when ``should_stop()`` turns true, ``ReadFailed`` when the
        source fails; ``on_rows`` is told the running count now and then. Never commits.
        An optional fast path (PostgreSQL's binary COPY); by default there is none.
        """
        return None

    @abstractmethod
    def open_writer(self, connection: Connection, table: TableName, columns: Sequence[Column],
                    work_dir: Path | None = None) -> BulkWriter:
        """A bulk writer into ``table`` (whose columns are ``columns``, in that order).

        A writer that needs files (MySQL's LOAD DATA) keeps them in a folder of its own under
        ``work_dir`` (the run's private folder), or under the system's temporary folder when None.
        """

    def swap_plan(self, mode: LoadMode, target: TableName, staging: TableName, columns: Sequence[Column],
                  keys: Sequence[str], target_exists: bool,
                  casts: Mapping[str, str] | None = None) -> SwapPlan:
        """The SQL ``finalize`` runs to move ``staging`` into ``target`` (in the same schema).

        ``casts`` gives, per column, a target type its staged text must be cast to on insert
        (types the portable model does not know, staged as text). The checks ``finalize`` makes
        first (the mode against the target's existence, the upsert key) are not part of it.
        Only the engines an exported Spark job loads into (PostgreSQL, MySQL) give one; the
        others finalize with statements of their own and refuse here.
        """
        raise self.unsupported()

    @abstractmethod
    def finalize(self, connection: Connection, mode: LoadMode, target: TableName, staging: TableName,
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

    # -- locks between runs -----------------------------------------------------------------------
    # Runs from other processes and other machines may load into the same database at once. Each
    # run holds a lock named after its staging table for its whole life, so that another run's
    # sweep drops only the staging tables whose lock is free, and a lock named after the target
    # table, so that runs into one table go one after the other. The locks live on a session of
    # their own, kept apart from the loading connection's transactions, and the server (or the
    # operating system) releases them when that session or its process dies.

    @abstractmethod
    def open_lock_session(self, params: ConnectParams, timeout: float) -> LockSession:
        """A session that holds named locks for as long as it is open: a connection of its own in
        autocommit, or for a database file the lock files beside it."""

    @abstractmethod
    def try_lock(self, session: LockSession, name: str) -> bool:
        """Take the exclusive lock ``name`` on ``session`` without waiting; False when another
        session holds it. ``LocksUnavailable`` when the server offers no locks to this login."""

    @abstractmethod
    def unlock(self, session: LockSession, name: str) -> None:
        """Release the lock ``name`` taken on ``session`` (nothing when it does not hold it)."""

    @abstractmethod
    def table_lock_name(self, session: LockSession, table: TableName) -> str:
        """The lock name that stands for ``table``: the same for every spelling that reaches the
        same table (the default schema resolved, case folded as the engine compares names)."""

    def close_lock_session(self, session: LockSession) -> None:
        """End ``session``: every lock it still holds is released."""
        session.close()

    def set_lock_wait(self, connection: Connection, seconds: float) -> None:  # noqa: B027 - optional hook
        """How long a statement on ``connection`` may wait for another connection's write to end.

        Only engines that lock a whole database file for a write (SQLite) need it: there, a run
        into another table of the same file waits for the other run's load to commit.
        """
