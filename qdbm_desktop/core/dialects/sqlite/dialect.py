"""The SQLite dialect: connecting read-only or read-write, names, DDL and the atomic finalize step."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qdbm_desktop.core.dialects.base import (
    BulkWriter,
    Connection,
    ConnectParams,
    Dialect,
    LoadMode,
    LockSession,
    ReadStream,
    TableName,
)
from qdbm_desktop.core.dialects.catalog import Relation, TableShape
from qdbm_desktop.core.dialects.sqlite import catalog
from qdbm_desktop.core.dialects.sqlite.locks import SQLiteLockSession
from qdbm_desktop.core.dialects.sqlite.read import _SQLiteReadStream
from qdbm_desktop.core.dialects.sqlite.types import _NATIVE, _inferred_type, portable_type
from qdbm_desktop.core.dialects.sqlite.write import _bind_value, _SQLiteWriter
from qdbm_desktop.core.errors import ConnectFailed, UsageError
from qdbm_desktop.core.sqlcheck import query_body
from qdbm_desktop.core.types import (
    Column,
    Kind,
    PortableType,
)


def _sqlite(connection: Connection) -> sqlite3.Connection:
    """The ``sqlite3`` connection behind ``connection`` (``SQLiteDialect.connect`` opened it)."""
    if not isinstance(connection, sqlite3.Connection):
        raise TypeError(f"not a SQLite connection: {type(connection).__name__}")
    return connection


def _session(session: LockSession) -> SQLiteLockSession:
    if not isinstance(session, SQLiteLockSession):
        raise TypeError(f"not a SQLite lock session: {type(session).__name__}")
    return session


def _read_only_authorizer(action: int, arg1: str | None, arg2: str | None, database: str | None,
                          trigger: str | None) -> int:
    # VACUUM INTO attaches its new file, so refusing ATTACH refuses it too.
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


class SQLiteDialect(Dialect):
    name = "sqlite"
    display_name = "SQLite"
    default_port = None
    fields = ("path",)
    #: SQLite sets no limit; ours keeps names sane for every other engine's messages.
    max_identifier_length = 1024

    def connect(self, params: ConnectParams, timeout: float) -> sqlite3.Connection:
        if not params.path:
            raise ConnectFailed("no database file is set")
        path = Path(params.path).expanduser()
        # Opening a missing file would silently create an empty database; a typo in a path
        # must say so instead. New files are made on purpose (connection dialog, demo).
        if not path.is_file():
            raise ConnectFailed(f"database file not found: {path}")
        if not params.read_only:
            connection = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
            connection.execute("PRAGMA schema_version").fetchone()  # fails now if it is no database
            return connection
        # A source is opened read-only, so nothing the query does can change the file; ATTACH and
        # VACUUM INTO would still create other files, which the authorizer refuses.
        uri = path.resolve().as_uri() + "?mode=ro"
        connection = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
        connection.set_authorizer(_read_only_authorizer)
        try:
            connection.execute("PRAGMA schema_version").fetchone()
        except sqlite3.OperationalError as exc:
            connection.close()
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_READONLY_DIRECTORY":
                # Reading a WAL-mode file needs its -shm file, which SQLite makes beside it.
                raise ConnectFailed(
                    f"cannot read {path}: it is in WAL mode and has no {path.name}-shm file, and its folder "
                    "is not writable, so SQLite cannot read it safely; make the folder writable for this "
                    "user, or switch the file out of WAL mode (sqlite3 FILE 'PRAGMA journal_mode=DELETE')"
                ) from None
            raise
        return connection

    def cancel_running(self, connection: Connection, params: ConnectParams) -> None:
        """``sqlite3_interrupt``: safe from any thread, a no-op when no statement runs."""
        connection = _sqlite(connection)
        connection.interrupt()

    def server_version(self, connection: Connection) -> str:
        connection = _sqlite(connection)
        (version,) = connection.execute("SELECT sqlite_version()").fetchone()
        return f"SQLite {version}"

    def describe_location(self, params: ConnectParams) -> str:
        return params.path or ""

    # -- names ------------------------------------------------------------------------------------

    def quote_identifier(self, name: str) -> str:
        self.check_identifier(name)
        return '"' + name.replace('"', '""') + '"'

    def _schema(self, table: TableName) -> str:
        return table.schema or "main"

    # -- reading ----------------------------------------------------------------------------------

    def param_marker(self, index: int) -> str:
        return f":qdbm_param_{index}"

    def open_read(self, connection: Connection, query: str, batch_size: int,
                  params: Sequence[Any] | None = None) -> ReadStream:
        """Read ``query`` with ``fetchmany``; ``params`` fill its ``:qdbm_param_N`` markers, timestamps
        in the text form QDBM writes (so they compare with such text as times), decimals as text."""
        connection = _sqlite(connection)
        if batch_size < 1:
            raise UsageError(f"batch size must be at least 1, not {batch_size}")
        query = query_body(query, self.name)
        bound = {f"qdbm_param_{i}": _bind_value(v) for i, v in enumerate(params or ())}
        # A view cannot hold parameters; the markers' values do not change the columns' types.
        declared = self._declared_types(connection, re.sub(r":qdbm_param_\d+\b", "NULL", query)
                                        if bound else query)
        (query_only_before,) = connection.execute("PRAGMA query_only").fetchone()
        connection.execute("PRAGMA query_only = ON")
        cursor = connection.cursor()
        try:
            if bound:
                cursor.execute(query, bound)
            else:
                cursor.execute(query)
            if cursor.description is None:
                raise UsageError("the query returns no rows (it is not a SELECT)")
            first = cursor.fetchmany(batch_size)
            columns = []
            for i, description in enumerate(cursor.description):
                text = declared[i] if declared is not None and i < len(declared) else ""
                ptype = portable_type(text)
                if ptype is None:
                    ptype, text = _inferred_type([row[i] for row in first])
                columns.append(Column(description[0], ptype, True, text))
        except BaseException:
            cursor.close()
            connection.execute(f"PRAGMA query_only = {int(query_only_before)}")
            raise
        return _SQLiteReadStream(connection, cursor, columns, first, batch_size, int(query_only_before))

    def _declared_types(self, connection: sqlite3.Connection, query: str) -> list[str] | None:
        """Declared types of the query's result columns, from a temporary view over it.

        None when no view can be made of the query (a PRAGMA, or a statement that is no SELECT):
        then every column's kind comes from its values, or the query fails when it runs.
        """
        view = f"qdbm_describe_{uuid.uuid4().hex[:12]}"
        try:
            connection.execute(f'CREATE TEMP VIEW "{view}" AS {query}')
        except sqlite3.Error:
            return None
        try:
            rows = connection.execute("SELECT type FROM pragma_table_info(?, 'temp')", (view,)).fetchall()
            return [declared for (declared,) in rows]
        finally:
            connection.execute(f'DROP VIEW temp."{view}"')

    # -- types ------------------------------------------------------------------------------------

    def native_type(self, ptype: PortableType) -> str:
        kind = ptype.kind
        if kind is Kind.DECIMAL:
            if ptype.precision is None:
                return "DECIMAL_TEXT"
            return f"DECIMAL_TEXT({ptype.precision},{ptype.scale or 0})"
        if kind in (Kind.CHAR, Kind.VARCHAR):
            name = "CHAR" if kind is Kind.CHAR else "VARCHAR"
            return f"{name}({ptype.length})" if ptype.length else name
        if kind is Kind.BINARY:
            return f"BLOB({ptype.length})" if ptype.length else "BLOB"
        return _NATIVE[kind]

    # -- loading ----------------------------------------------------------------------------------

    def prepare_for_load(self, connection: Connection) -> None:
        """Nothing to set: no session time zone, and the journal stays as it is.

        Switching the journal off (``journal_mode = OFF``/``synchronous = OFF``) would buy a little
        speed at the cost of a corrupt file after a crash mid-load, against our all-or-nothing rule.
        """

    def _begin(self, connection: sqlite3.Connection) -> None:
        # sqlite3 does not open a transaction before DDL: without this a CREATE or DROP would be
        # committed at once, out of the caller's reach.
        if not connection.in_transaction:
            connection.execute("BEGIN")

    def table_exists(self, connection: Connection, table: TableName) -> bool:
        connection = _sqlite(connection)
        return self._exists(connection, table)

    def _exists(self, connection: sqlite3.Connection, table: TableName) -> bool:
        # SQLite compares names without regard to ASCII case, and so does this.
        row = connection.execute(
            f"SELECT 1 FROM {self.quote_identifier(self._schema(table))}.sqlite_master "
            "WHERE type = 'table' AND name = ? COLLATE NOCASE", (table.name,)).fetchone()
        return row is not None

    def table_columns(self, connection: Connection, table: TableName) -> list[Column]:
        connection = _sqlite(connection)
        rows = connection.execute('SELECT name, type, "notnull" FROM pragma_table_info(?, ?)',
                                  (table.name, self._schema(table))).fetchall()
        if not rows:
            raise UsageError(f"the table {table} does not exist")
        # An undeclared column holds anything; text is the kind that can carry any value.
        return [Column(name, portable_type(declared) or PortableType(Kind.TEXT), not notnull, declared)
                for name, declared, notnull in rows]

    def create_table_sql(self, table: TableName, columns: Sequence[Column],
                         primary_key: Sequence[str] = ()) -> str:
        if not columns:
            raise UsageError(f"the table {table} needs at least one column")
        lines = [f"    {self.quote_identifier(c.name)} {self.column_type(c)}"
                 + ("" if c.nullable else " NOT NULL") for c in columns]
        if primary_key:
            lines.append(f"    PRIMARY KEY ({', '.join(self.quote_identifier(k) for k in primary_key)})")
        return f"CREATE TABLE {self.qualified(table)} (\n" + ",\n".join(lines) + "\n)"

    def column_type(self, column: Column) -> str:
        """The portable type's declared type; an enum's labels (PostgreSQL's, MySQL's) as a CHECK."""
        declared = self.native_type(column.type)
        if column.labels and column.type.kind in (Kind.CHAR, Kind.VARCHAR, Kind.TEXT):
            labels = ", ".join("'" + label.replace("'", "''") + "'" for label in column.labels)
            return f"{declared} CHECK ({self.quote_identifier(column.name)} IN ({labels}))"
        return declared

    def create_table(self, connection: Connection, table: TableName, columns: Sequence[Column],
                     primary_key: Sequence[str] = ()) -> None:
        connection = _sqlite(connection)
        sql = self.create_table_sql(table, columns, primary_key)
        self._begin(connection)
        connection.execute(sql)

    def drop_table(self, connection: Connection, table: TableName) -> None:
        connection = _sqlite(connection)
        sql = f"DROP TABLE IF EXISTS {self.qualified(table)}"
        self._begin(connection)
        connection.execute(sql)

    def list_schemas(self, connection: Connection) -> list[str]:
        return catalog.list_schemas(_sqlite(connection))

    def list_relations(self, connection: Connection, schema: str | None) -> list[Relation]:
        return catalog.list_relations(_sqlite(connection), schema, self.quote_identifier(schema or "main"))

    def describe_table(self, connection: Connection, table: TableName) -> TableShape:
        return catalog.describe_table(_sqlite(connection), table, self.quote_identifier(self._schema(table)))

    def list_tables(self, connection: Connection, schema: str | None, prefix: str) -> list[TableName]:
        connection = _sqlite(connection)
        rows = connection.execute(
            f"SELECT name FROM {self.quote_identifier(schema or 'main')}.sqlite_master "
            "WHERE type = 'table' AND substr(name, 1, length(?)) = ? ORDER BY name",
            (prefix, prefix)).fetchall()
        return [TableName(name, schema) for (name,) in rows]

    def open_writer(self, connection: Connection, table: TableName, columns: Sequence[Column],
                    work_dir: Path | None = None) -> BulkWriter:
        connection = _sqlite(connection)
        names = ", ".join(self.quote_identifier(c.name) for c in columns)
        marks = ", ".join("?" * len(columns))
        return _SQLiteWriter(connection, f"INSERT INTO {self.qualified(table)} ({names}) VALUES ({marks})",
                             columns)

    # -- locks between runs ---------------------------------------------------------------------

    def open_lock_session(self, params: ConnectParams, timeout: float) -> SQLiteLockSession:
        if not params.path:
            raise ConnectFailed("no database file is set")
        session = SQLiteLockSession(Path(params.path).expanduser().resolve())
        session.sweep()
        return session

    def try_lock(self, session: LockSession, name: str) -> bool:
        session = _session(session)
        return bool(session.try_lock(name))

    def unlock(self, session: LockSession, name: str) -> None:
        session = _session(session)
        session.unlock(name)

    def table_lock_name(self, session: LockSession, table: TableName) -> str:
        # SQLite compares names ignoring the case of ASCII letters only.
        fold = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
        return "qdbm-table:" + json.dumps([(table.schema or "main").translate(fold),
                                           table.name.translate(fold)])

    def set_lock_wait(self, connection: Connection, seconds: float) -> None:
        connection = _sqlite(connection)
        # A write locks the whole file: a run into another table waits for it as for a lock.
        connection.execute(f"PRAGMA busy_timeout = {max(0, int(seconds * 1000))}")

    def finalize(self, connection: Connection, mode: LoadMode, target: TableName, staging: TableName,
                 columns: Sequence[Column], keys: Sequence[str], target_exists: bool) -> None:
        """One transaction for every mode (SQLite's DDL is transactional), committed here.

        ``target_exists`` is checked again inside the transaction, which holds the write lock,
        so what the step does matches what the table is at that moment.
        """
        connection = _sqlite(connection)
        nested = connection.in_transaction
        connection.execute("SAVEPOINT qdbm_finalize" if nested else "BEGIN IMMEDIATE")
        try:
            self._finalize_steps(connection, mode, target, staging, columns, keys)
            if nested:
                connection.execute("RELEASE qdbm_finalize")
            connection.commit()
        except BaseException:
            if nested:
                connection.execute("ROLLBACK TO qdbm_finalize")
                connection.execute("RELEASE qdbm_finalize")
            else:
                connection.rollback()
            raise

    def _finalize_steps(self, connection: sqlite3.Connection, mode: LoadMode, target: TableName,
                        staging: TableName, columns: Sequence[Column], keys: Sequence[str]) -> None:
        exists = self._exists(connection, target)
        if mode is LoadMode.CREATE and exists:
            raise UsageError(f"the table {target} already exists (mode create)")
        if mode is LoadMode.REPLACE and exists:
            connection.execute(f"DROP TABLE {self.qualified(target)}")
            exists = False
        if not exists:
            self._rename(connection, staging, target)
            if mode is LoadMode.UPSERT and keys:
                # The new table gets its key, so that the next upsert into it finds one.
                index = TableName(f"{target.name}_upsert_key", self._schema(target))
                connection.execute(f"CREATE UNIQUE INDEX {self.qualified(index)} "
                                   f"ON {self.quote_identifier(target.name)} "
                                   f"({', '.join(self.quote_identifier(k) for k in keys)})")
            return
        names = ", ".join(self.quote_identifier(c.name) for c in columns)
        insert = (f"INSERT INTO {self.qualified(target)} ({names}) "
                  f"SELECT {names} FROM {self.qualified(staging)}")
        if mode is LoadMode.TRUNCATE:
            connection.execute(f"DELETE FROM {self.qualified(target)}")
        if mode is LoadMode.UPSERT:
            self._check_unique_key(connection, target, keys)
            key_set = {k.lower() for k in keys}
            updates = ", ".join(f"{self.quote_identifier(c.name)} = excluded.{self.quote_identifier(c.name)}"
                                for c in columns if c.name.lower() not in key_set)
            # "WHERE true" ends the SELECT, so SQLite does not read ON CONFLICT as a join constraint.
            insert += (f" WHERE true ON CONFLICT ({', '.join(self.quote_identifier(k) for k in keys)}) "
                       + (f"DO UPDATE SET {updates}" if updates else "DO NOTHING"))
        connection.execute(insert)
        connection.execute(f"DROP TABLE {self.qualified(staging)}")

    def _rename(self, connection: sqlite3.Connection, staging: TableName, target: TableName) -> None:
        # With the modern rename SQLite re-checks every view and trigger and fails when one names
        # the target just dropped; nothing refers to the staging table, so the legacy rename is exact.
        (legacy,) = connection.execute("PRAGMA legacy_alter_table").fetchone()
        connection.execute("PRAGMA legacy_alter_table = ON")
        try:
            connection.execute(f"ALTER TABLE {self.qualified(staging)} "
                               f"RENAME TO {self.quote_identifier(target.name)}")
        finally:
            connection.execute(f"PRAGMA legacy_alter_table = {int(legacy)}")

    def _check_unique_key(self, connection: sqlite3.Connection, target: TableName,
                          keys: Sequence[str]) -> None:
        schema = self._schema(target)
        wanted = {k.lower() for k in keys}
        primary = {name.lower() for name, pk in connection.execute(
            "SELECT name, pk FROM pragma_table_info(?, ?)", (target.name, schema)) if pk}
        if primary == wanted:
            return
        indexes = connection.execute(
            'SELECT name FROM pragma_index_list(?, ?) WHERE "unique" AND NOT partial',
            (target.name, schema)).fetchall()
        for (index,) in indexes:
            names = [name for (name,) in connection.execute("SELECT name FROM pragma_index_info(?, ?)",
                                                            (index, schema))]
            if None not in names and {n.lower() for n in names} == wanted:
                return
        raise UsageError(f"upsert into {target} needs a primary key or unique index on exactly "
                         f"({', '.join(keys)}); there is none")
