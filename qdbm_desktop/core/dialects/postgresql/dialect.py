"""The PostgreSQL dialect through psycopg 3: connecting, describing a query, DDL, locks and the
finalize step (one transaction: PostgreSQL's DDL is transactional)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qdbm_desktop.core.dialects.base import (
    BulkWriter,
    Connection,
    ConnectParams,
    Dialect,
    LoadMode,
    LockSession,
    ReadFailed,
    ReadStream,
    SwapPlan,
    TableName,
    lock_digest,
)
from qdbm_desktop.core.dialects.catalog import Relation, TableShape
from qdbm_desktop.core.dialects.postgresql import catalog
from qdbm_desktop.core.dialects.postgresql.read import _numbered_markers, _PgReadStream
from qdbm_desktop.core.dialects.postgresql.types import (
    _KIND_BY_OID,
    _NATIVE_LOAD,
    _NATIVE_TYPES,
    MONEY,
    TIME,
    _catalog_types,
    _PgType,
    column_of,
    pg_connection,
)
from qdbm_desktop.core.dialects.postgresql.values import array_loader, text_loaders
from qdbm_desktop.core.dialects.postgresql.write import _PgCopyWriter
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.sqlcheck import query_body, query_error
from qdbm_desktop.core.types import (
    Column,
    Kind,
    PortableType,
)

if TYPE_CHECKING:
    import psycopg

def _register_loaders(cursor: psycopg.Cursor[Any], types: Sequence[tuple[int, _PgType]]) -> None:
    """How each result column is read: JSON stays the server's text (no parse and re-serialise),
    arrays become JSON arrays, money a decimal, time keeps 24:00; types without a portable kind
    (interval, enums ...) are read as their text representation."""
    from psycopg.pq import Format
    from psycopg.types.string import TextLoader

    own = text_loaders()
    for oid, t in types:
        if t.is_array:
            cursor.adapters.register_loader(oid, array_loader(t.element_oid))
        elif t.oid == MONEY:
            cursor.adapters.register_loader(oid, own["money"])
        elif t.oid == TIME:
            cursor.adapters.register_loader(oid, own["time"])
        elif t.oid not in _NATIVE_LOAD:
            cursor.adapters.register_loader(oid, TextLoader)
        elif oid != t.oid:  # a domain over a known type loads as its base type
            base_loader = cursor.adapters.get_loader(t.oid, Format.TEXT)
            if base_loader is not None:
                cursor.adapters.register_loader(oid, base_loader)


#: Seconds a cancel request may take to reach the server.
_CANCEL_TIMEOUT = 2.0


class PostgreSQLDialect(Dialect):
    name = "postgresql"
    display_name = "PostgreSQL"
    default_port = 5432
    max_identifier_length = 63

    def connect(self, params: ConnectParams, timeout: float) -> psycopg.Connection[Any]:
        import psycopg

        kwargs: dict[str, Any] = {
            "host": params.host or "localhost",
            "port": params.port or self.default_port,
            "dbname": params.database or None,
            "user": params.user or None,
            "password": params.password or None,
            "connect_timeout": max(1, int(round(timeout))),
            "application_name": "QDBM Desktop",
        }
        kwargs.update(params.options)
        if params.read_only:
            # Every transaction of a source session is read-only, whatever runs in it.
            kwargs["options"] = f"{kwargs.get('options') or ''} -c default_transaction_read_only=on".strip()
        return psycopg.connect(**{k: v for k, v in kwargs.items() if v is not None})

    def server_version(self, connection: Connection) -> str:
        connection = pg_connection(connection)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            row = cursor.fetchone()
        return f"PostgreSQL {row[0] if row else 'unknown'}"

    # -- names ----------------------------------------------------------------------------------

    def quote_identifier(self, name: str) -> str:
        """Double-quoted, embedded quotes doubled (as psycopg's ``sql.Identifier``)."""
        self.check_identifier(name)
        if "\x00" in name:
            raise UsageError(f"the name {name!r} holds a NUL character, which PostgreSQL does not allow")
        return '"' + name.replace('"', '""') + '"'

    # -- reading --------------------------------------------------------------------------------

    percent_placeholders = True

    def param_marker(self, index: int) -> str:
        return "%s"

    def open_read(self, connection: Connection, query: str, batch_size: int,
                  params: Sequence[Any] | None = None) -> ReadStream:
        """Stream ``query`` in a read-only transaction, ``batch_size`` rows per server round trip.

        With ``params``, the query's ``%s`` markers are bound server-side (a literal ``%`` is ``%%``)."""
        connection = pg_connection(connection)
        import psycopg

        if batch_size < 1:
            raise UsageError(f"the batch size must be at least 1 (got {batch_size})")
        query = query_body(query, self.name)
        described = self._describe(connection, _numbered_markers(query) if params else query)
        transaction = connection.transaction()
        transaction.__enter__()
        try:
            with connection.cursor() as cursor:
                # A read-only transaction makes the server refuse any write the query attempts,
                # including data-modifying CTEs and volatile functions that write.
                cursor.execute("SET TRANSACTION READ ONLY")
                # Intervals in ISO 8601 (what other engines can hold as text), money without locale.
                cursor.execute("SET LOCAL intervalstyle = 'iso_8601'")
                cursor.execute("SET LOCAL lc_monetary = 'C'")
            types = _catalog_types(connection, [(oid, mod) for _, oid, mod in described])
            columns = [column_of(name, t) for (name, _, _), t in zip(described, types, strict=True)]
            cursor = connection.cursor()
            _register_loaders(cursor, [(oid, t) for (_, oid, _), t in zip(described, types, strict=True)])
        except BaseException:
            transaction.__exit__(psycopg.Rollback, psycopg.Rollback(), None)
            raise
        return _PgReadStream(connection, query, batch_size, columns, cursor, transaction,
                             [(oid, mod) for _, oid, mod in described], params)

    def cancel_running(self, connection: Connection, params: ConnectParams) -> None:
        """libpq's cancel request (its own short connection to the server); ignored by an idle session."""
        connection = pg_connection(connection)
        if not (connection.closed or connection.broken):
            connection.cancel_safe(timeout=_CANCEL_TIMEOUT)

    def _describe(self, connection: psycopg.Connection[Any], query: str) -> list[tuple[str, int, int]]:
        """The result columns (name, type OID, typmod) of ``query``, without running it."""
        import psycopg
        from psycopg.pq import DiagnosticField, ExecStatus

        encoding = connection.info.encoding
        pgconn = connection.pgconn
        # The unnamed statement is only parsed and analysed here: nothing executes.
        result = pgconn.prepare(b"", query.encode(encoding), None)
        if result.status == ExecStatus.COMMAND_OK:
            result = pgconn.describe_prepared(b"")
        if result.status != ExecStatus.COMMAND_OK:
            sqlstate = (result.error_field(DiagnosticField.SQLSTATE) or b"").decode()
            message = result.error_message.decode(encoding, "replace")
            error_class = psycopg.errors.lookup(sqlstate) if sqlstate else psycopg.OperationalError
            # The lines stay: the caller turns the echoed "LINE n:" into the query's line number.
            raise error_class(message.removeprefix("ERROR:").strip())
        if result.nfields == 0:
            raise UsageError("the query returns no rows: give a SELECT (or another statement with a result)")
        return [((result.fname(i) or b"").decode(encoding), result.ftype(i), result.fmod(i))
                for i in range(result.nfields)]

    # -- types ----------------------------------------------------------------------------------

    def native_type(self, ptype: PortableType) -> str:
        kind = ptype.kind
        if kind is Kind.DECIMAL:
            if ptype.precision is None:
                return "numeric"
            if ptype.precision > 1000:
                raise UsageError(f"{ptype} is wider than PostgreSQL's numeric allows (precision 1000)")
            return f"numeric({ptype.precision},{ptype.scale or 0})"
        if kind is Kind.CHAR:
            # char without a length is char(1) in PostgreSQL, which would cut values: use text.
            return f"char({ptype.length})" if ptype.length else "text"
        if kind is Kind.VARCHAR:
            return f"varchar({ptype.length})" if ptype.length else "varchar"
        if kind is Kind.JSON and ptype.variant:
            return "jsonb"
        return _NATIVE_TYPES[kind]

    # -- loading --------------------------------------------------------------------------------

    def load_session_sql(self) -> tuple[str, ...]:
        return ("SET TIME ZONE 'UTC'", "SET lc_monetary TO 'C'")

    def _regclass(self, connection: psycopg.Connection[Any], table: TableName) -> int | None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)::oid", (self.qualified(table),))
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def table_exists(self, connection: Connection, table: TableName) -> bool:
        connection = pg_connection(connection)
        return self._regclass(connection, table) is not None

    def _column_rows(self, connection: psycopg.Connection[Any],
                     table: TableName) -> list[tuple[str, int, int, bool]]:
        relid = self._regclass(connection, table)
        if relid is None:
            raise UsageError(f"table {table} does not exist")
        with connection.cursor() as cursor:
            cursor.execute("SELECT attname, atttypid, atttypmod, attnotnull FROM pg_catalog.pg_attribute "
                           "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                           (relid,))
            return [(str(n), int(o), int(m), bool(nn)) for n, o, m, nn in cursor.fetchall()]

    def _column_types(self, connection: psycopg.Connection[Any], table: TableName) -> dict[str, _PgType]:
        rows = self._column_rows(connection, table)
        types = _catalog_types(connection, [(oid, mod) for _, oid, mod, _ in rows])
        return {name: t for (name, _, _, _), t in zip(rows, types, strict=True)}

    def table_columns(self, connection: Connection, table: TableName) -> list[Column]:
        connection = pg_connection(connection)
        rows = self._column_rows(connection, table)
        types = _catalog_types(connection, [(oid, mod) for _, oid, mod, _ in rows])
        return [column_of(name, t, not notnull) for (name, _, _, notnull), t in zip(rows, types, strict=True)]

    def create_table_sql(self, table: TableName, columns: Sequence[Column],
                         primary_key: Sequence[str] = ()) -> str:
        if not columns:
            raise UsageError(f"table {table} needs at least one column")
        parts = [f"{self.quote_identifier(c.name)} {self.column_type(c)}"
                 + ("" if c.nullable else " NOT NULL") for c in columns]
        if primary_key:
            parts.append(f"PRIMARY KEY ({', '.join(self.quote_identifier(k) for k in primary_key)})")
        return f"CREATE TABLE {self.qualified(table)} ({', '.join(parts)})"

    def list_schemas(self, connection: Connection) -> list[str]:
        return catalog.list_schemas(pg_connection(connection))

    def list_relations(self, connection: Connection, schema: str | None) -> list[Relation]:
        return catalog.list_relations(pg_connection(connection), schema)

    def describe_table(self, connection: Connection, table: TableName) -> TableShape:
        return catalog.describe_table(pg_connection(connection), self.qualified(table), table)

    def column_type(self, column: Column) -> str:
        """A PostgreSQL source's exact type as it is; an enum's labels (PostgreSQL's or MySQL's) as
        a CHECK on its text."""
        spelled = column.native_for(self.name) or self.native_type(column.type)
        if column.labels and (spelled == "text[]" or not spelled.endswith("]")):
            labels = ", ".join("'" + label.replace("'", "''") + "'" for label in column.labels)
            name = self.quote_identifier(column.name)
            test = f"{name} IN ({labels})" if spelled != "text[]" else f"{name} <@ ARRAY[{labels}]::text[]"
            return f"{spelled} CHECK ({test})"
        return spelled

    def list_tables(self, connection: Connection, schema: str | None, prefix: str) -> list[TableName]:
        connection = pg_connection(connection)
        with connection.cursor() as cursor:
            cursor.execute("SELECT c.relname FROM pg_catalog.pg_class c "
                           "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = coalesce(%s, current_schema()) AND c.relkind IN ('r', 'p') "
                           "AND starts_with(c.relname, %s) ORDER BY c.relname", (schema, prefix))
            return [TableName(str(name), schema) for (name,) in cursor.fetchall()]

    def load_data_chunks(self, stream: ReadStream,
                         target_columns: Sequence[Column]) -> Iterator[tuple[bytes, int]] | None:
        """The rows as MySQL ``LOAD DATA`` text straight from text ``COPY`` (see ``tsv``), as
        ``(chunk, rows)``; None when a column must be decoded (its type, a mapping) or the
        stream cannot be copied (parameters, already started, not UTF-8)."""
        from qdbm_desktop.core.dialects.postgresql import tsv

        if not isinstance(stream, _PgReadStream) or not tsv.utf8(stream):
            return None
        if not tsv.same_types(stream.columns, target_columns):
            return None
        statement = tsv.load_data_select(stream, self.quote_identifier)
        return None if statement is None else tsv.tsv_chunks(stream, statement)

    def copy_between(self, stream: ReadStream, target_connection: Connection, table: TableName,
                     should_stop: Callable[[], bool], on_rows: Callable[[int], None]) -> int | None:
        """Binary COPY out of the source straight into binary COPY in: no row is decoded.

        Binary COPY carries each value in its type's wire format, so it is only used when every
        column has the same type OID and modifier on both sides (built-in types have the same
        OIDs on every server; user types such as enums do not, and take the row path).
        """
        target_connection = pg_connection(target_connection)
        if not isinstance(stream, _PgReadStream) or stream.started or stream.params:
            return None  # COPY takes no parameters
        target_types = [(oid, mod) for _, oid, mod, _ in self._column_rows(target_connection, table)]
        if target_types != stream.type_ids:
            return None
        columns = ", ".join(self.quote_identifier(c.name) for c in stream.columns)
        copy_in_sql = f"COPY {self.qualified(table)} ({columns}) FROM STDIN (FORMAT BINARY)"
        # The server sends one COPY message per row (the first one also carries the header).
        blocks = 0
        finished = threading.Event()

        def watch() -> None:
            # A query still computing its first row blocks the loop below: cancel it from here.
            while not finished.wait(0.2):
                if should_stop():
                    stream.cancel()
                    return

        watchdog = threading.Thread(target=watch, name="qdbm-copy-watchdog", daemon=True)
        watchdog.start()
        try:
            with ExitStack() as copies:
                try:
                    copy_out = copies.enter_context(stream.raw_copy())
                except Exception as exc:  # noqa: BLE001 - starting the COPY of the user's query: a source error
                    if should_stop():
                        raise InterruptedError("stopped") from exc
                    raise ReadFailed(query_error(str(exc))) from exc
                cursor = copies.enter_context(target_connection.cursor())
                copy_in = copies.enter_context(cursor.copy(copy_in_sql))
                source_blocks = iter(copy_out)
                while True:
                    try:
                        block = next(source_blocks)
                    except StopIteration:
                        break
                    except Exception as exc:  # noqa: BLE001 - the source's error, told apart from ours
                        if should_stop():
                            raise InterruptedError("stopped") from exc
                        raise ReadFailed(query_error(str(exc))) from exc
                    if should_stop():
                        raise InterruptedError("stopped")
                    copy_in.write(block)
                    blocks += 1
                    if blocks % 2_000 == 0:
                        on_rows(blocks)
        finally:
            finished.set()
            watchdog.join()
        rows = stream.copied_rows()
        on_rows(rows)
        return rows

    def open_writer(self, connection: Connection, table: TableName, columns: Sequence[Column],
                    work_dir: Path | None = None) -> BulkWriter:
        """Binary COPY when every column type allows it, else text COPY (the server parses)."""
        connection = pg_connection(connection)
        return _PgCopyWriter(connection, self, table, columns)

    # -- locks between runs ---------------------------------------------------------------------

    def open_lock_session(self, params: ConnectParams, timeout: float) -> psycopg.Connection[Any]:
        connection = self.connect(params, timeout)
        # Session advisory locks outlive transactions; autocommit keeps the session from sitting
        # idle in a transaction (and holding back VACUUM) for a whole run.
        connection.autocommit = True
        return connection

    @staticmethod
    def lock_key(name: str) -> int:
        """The advisory lock key for ``name``: 64 bits of its digest (keys are per database)."""
        return int.from_bytes(bytes.fromhex(lock_digest(name, 16)), "big", signed=True)

    def try_lock(self, session: LockSession, name: str) -> bool:
        session = pg_connection(session)
        with session.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key(name),))
            row = cursor.fetchone()
        return bool(row and row[0])

    def unlock(self, session: LockSession, name: str) -> None:
        session = pg_connection(session)
        with session.cursor() as cursor:
            # Without the lock the server only warns; the session may have lost it with a restart.
            cursor.execute("SELECT pg_advisory_unlock(%s)", (self.lock_key(name),))

    def table_lock_name(self, session: LockSession, table: TableName) -> str:
        session = pg_connection(session)
        with session.cursor() as cursor:
            cursor.execute("SELECT coalesce(%s, current_schema())", (table.schema,))
            row = cursor.fetchone()
        # Quoted names are case-sensitive in PostgreSQL: the spelling is the identity.
        return "qdbm-table:" + json.dumps([row[0] if row else table.schema, table.name])

    def finalize(self, connection: Connection, mode: LoadMode, target: TableName, staging: TableName,
                 columns: Sequence[Column], keys: Sequence[str], target_exists: bool) -> None:
        """One transaction: PostgreSQL DDL is transactional, so even a swap is all or nothing."""
        connection = pg_connection(connection)
        with connection.transaction(), connection.cursor() as cursor:
            exists = self._regclass(connection, target) is not None
            if mode is LoadMode.CREATE and exists:
                raise UsageError(f"table {target} already exists (mode 'create' makes a new table; "
                                 "use append, truncate, replace or upsert for an existing one)")
            renames = mode in (LoadMode.REPLACE, LoadMode.CREATE) or not exists
            casts: dict[str, str] = {}
            if renames:
                if (target.schema or None) != (staging.schema or None):
                    staging = self._move_to_schema(cursor, staging, target)
            else:
                casts = self._insert_casts(connection, target, columns)
                if mode is LoadMode.UPSERT:
                    self._check_upsert_keys(cursor, target, columns, keys)
            for statement in self.swap_plan(mode, target, staging, columns, keys, exists, casts).statements:
                cursor.execute(statement)
            if renames:
                self._rename_constraints(cursor, target, staging)
            new_upsert_table = renames and mode is LoadMode.UPSERT and keys
            if new_upsert_table and not self._has_unique_key(cursor, target, keys):
                # A new table made by upsert gets its key, so the next upsert finds it.
                cursor.execute(f"ALTER TABLE {self.qualified(target)} ADD PRIMARY KEY "
                               f"({', '.join(self.quote_identifier(k) for k in keys)})")
        if not connection.autocommit:
            connection.commit()

    def _rename_constraints(self, cursor: psycopg.Cursor[Any], target: TableName, staging: TableName) -> None:
        """Constraints the server named after the staging table (``qdbm_stg_..._pkey``) take the
        target's name, as if the table had been made under it; one whose new name is taken keeps its own."""
        cursor.execute("SELECT c.conname, n.nspname FROM pg_catalog.pg_constraint c "
                       "JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace "
                       "WHERE c.conrelid = to_regclass(%s) AND starts_with(c.conname, %s)",
                       (self.qualified(target), staging.name))
        for name, schema in cursor.fetchall():
            renamed = _fit_name(target.name + str(name)[len(staging.name):])
            cursor.execute("SELECT to_regclass(%s) IS NULL AND NOT EXISTS (SELECT 1 FROM "
                           "pg_catalog.pg_constraint WHERE conname = %s AND connamespace = %s::regnamespace)",
                           (self.qualified(TableName(renamed, str(schema))), renamed,
                            self.quote_identifier(str(schema))))
            free = cursor.fetchone()
            if free and free[0]:
                cursor.execute(f"ALTER TABLE {self.qualified(target)} RENAME CONSTRAINT "
                               f"{self.quote_identifier(str(name))} TO {self.quote_identifier(renamed)}")

    def swap_plan(self, mode: LoadMode, target: TableName, staging: TableName, columns: Sequence[Column],
                  keys: Sequence[str], target_exists: bool,
                  casts: Mapping[str, str] | None = None) -> SwapPlan:
        target_q, staging_q = self.qualified(target), self.qualified(staging)
        statements: list[str] = []
        if mode in (LoadMode.REPLACE, LoadMode.CREATE) or not target_exists:
            if mode is LoadMode.REPLACE and target_exists:
                statements.append(f"DROP TABLE {target_q}")
            # RENAME TO takes a bare name: the table stays in its (the target's) schema.
            statements.append(f"ALTER TABLE {staging_q} RENAME TO {self.quote_identifier(target.name)}")
            return SwapPlan(tuple(statements), transactional=True)
        if mode is LoadMode.TRUNCATE:
            statements.append(f"TRUNCATE TABLE {target_q}")
        names = [c.name for c in columns]
        selected = [f"CAST({self.quote_identifier(n)} AS {casts[n]})" if casts and n in casts
                    else self.quote_identifier(n) for n in names]
        column_list = ", ".join(self.quote_identifier(n) for n in names)
        statement = f"INSERT INTO {target_q} ({column_list}) SELECT {', '.join(selected)} FROM {staging_q}"
        if mode is LoadMode.UPSERT:
            if not keys:
                raise UsageError("upsert needs key columns")
            updates = [f"{self.quote_identifier(n)} = EXCLUDED.{self.quote_identifier(n)}"
                       for n in names if n not in keys]
            conflict = f" ON CONFLICT ({', '.join(self.quote_identifier(k) for k in keys)}) "
            statement += conflict + (f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING")
        statements.append(statement)
        statements.append(f"DROP TABLE {staging_q}")
        return SwapPlan(tuple(statements), transactional=True)

    def _move_to_schema(self, cursor: psycopg.Cursor[Any], staging: TableName,
                        target: TableName) -> TableName:
        cursor.execute("SELECT current_schema()")
        row = cursor.fetchone()
        default = row[0] if row else None
        if default is None and target.schema is None:
            raise UsageError(f"the session has no current schema (its search_path is empty): give {target}'s "
                             "schema")
        if (target.schema or default) == (staging.schema or default):
            return TableName(staging.name, target.schema)
        cursor.execute(f"ALTER TABLE {self.qualified(staging)} SET SCHEMA "
                       f"{self.quote_identifier(target.schema or str(default))}")
        return TableName(staging.name, target.schema)

    def _insert_casts(self, connection: psycopg.Connection[Any], target: TableName,
                      columns: Sequence[Column]) -> dict[str, str]:
        """Target types without a portable kind (enums, interval, arrays ...) were staged as their
        text form; an explicit cast runs their input function. Known types rely on assignment
        casts, which refuse rather than truncate (varchar(n), numeric overflow)."""
        target_types = self._column_types(connection, target)
        casts = {}
        for column in columns:
            pg_type = target_types.get(column.name)
            if pg_type is None:
                raise UsageError(f"table {target} has no column {column.name!r}")
            if pg_type.oid not in _KIND_BY_OID:
                casts[column.name] = pg_type.display
        return casts

    def _check_upsert_keys(self, cursor: psycopg.Cursor[Any], target: TableName, columns: Sequence[Column],
                           keys: Sequence[str]) -> None:
        if not keys:
            raise UsageError("upsert needs key columns")
        unknown = [k for k in keys if k not in [c.name for c in columns]]
        if unknown:
            raise UsageError(f"upsert key {unknown[0]!r} is not a column of the loaded data")
        if not self._has_unique_key(cursor, target, keys):
            raise UsageError(f"upsert into {target} needs a primary key or unique index on exactly "
                             f"({', '.join(keys)}); create one or choose other key columns")

    def _has_unique_key(self, cursor: psycopg.Cursor[Any], table: TableName, keys: Sequence[str]) -> bool:
        # ON CONFLICT (keys) needs a non-partial unique index whose columns are exactly the keys.
        wanted = sorted(set(keys))
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = to_regclass(%s) "
            "AND i.indisunique AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL "
            "AND i.indnkeyatts = cardinality(%s::text[]) "
            "AND (SELECT array_agg(a.attname::text) FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o) "
            "     JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n "
            "     WHERE k.o <= i.indnkeyatts) @> %s::text[])",
            (self.qualified(table), wanted, wanted))
        row = cursor.fetchone()
        return bool(row and row[0])


def _fit_name(name: str) -> str:
    """``name`` cut to PostgreSQL's 63 bytes (NAMEDATALEN - 1) on a character boundary."""
    return name.encode("utf-8")[:63].decode("utf-8", "ignore")
