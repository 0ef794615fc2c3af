"""The Oracle dialect: thin or thick mode, names, DDL, the finalize step and DBMS_LOCK locks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qdbm_desktop.core.dialects.base import (
    BulkWriter,
    Connection,
    ConnectParams,
    Dialect,
    LoadMode,
    LockSession,
    LocksUnavailable,
    ReadStream,
    TableName,
    cursor_session,
    lock_digest,
)
from qdbm_desktop.core.dialects.catalog import Relation, TableShape
from qdbm_desktop.core.dialects.fetch import FetchStream
from qdbm_desktop.core.dialects.oracle import catalog
from qdbm_desktop.core.dialects.oracle.types import (
    _CATALOG_NAME,
    _FIXED_NATIVE,
    _PLAIN_BINDS,
    MAX_ARRAYSIZE,
    MAX_CHAR_BYTES,
    MAX_PRECISION,
    MAX_RAW_BYTES,
    MAX_VARCHAR2_BYTES,
    SWAP_MARKER,
    _db_type_name,
    _opt_int,
    _output_type_handler,
    _read_converter,
    catalog_spelling,
    old_name,
    portable_from_catalog,
    reported_name,
    stored_name,
)
from qdbm_desktop.core.dialects.oracle.write import (
    LIMITS,
    LIMITS_NUMERIC_BOOLEAN,
    OracleBulkWriter,
    _BinaryCheck,
    _TextCheck,
    _time_interval,
)
from qdbm_desktop.core.errors import UsageError, one_line
from qdbm_desktop.core.sqlcheck import query_body, wrap_query
from qdbm_desktop.core.types import (
    Column,
    Kind,
    PortableType,
    uuid_text,
    value_check,
)

if TYPE_CHECKING:
    from qdbm_desktop.core.dialects.oracle.connection import OracleConnection


class OracleReadStream(FetchStream):
    """A query's rows, ``batch_size`` at a time, in a read-only transaction (ended on close)."""


_THICK_OPTIONS = ("instant_client", "lib_dir")
#: Kinds direct path loads take as the executemany path binds them.
_DIRECT_PATH_KINDS = frozenset(Kind) - {Kind.TIME}
_CONFIG_OPTIONS = ("tns_admin", "config_dir")


def _init_thick_mode(lib_dir: str | None, config_dir: str | None) -> None:
    import oracledb

    if not oracledb.is_thin_mode():
        return  # already thick: the process-wide client is set up once
    try:
        oracledb.init_oracle_client(lib_dir=lib_dir or None, config_dir=config_dir or None)
    except oracledb.Error as exc:
        message = one_line(str(exc))
        if "DPY-2019" in message or "thin mode" in message.lower():
            raise UsageError("thick mode (an Instant Client) must be chosen before the first Oracle "
                             "connection "
                             "of this process; restart the app and connect with it first") from None
        raise UsageError(f"the Oracle Instant Client cannot be loaded from {lib_dir or 'the system path'}: "
                         f"{message}") from None


class OracleDialect(Dialect):
    name = "oracle"
    display_name = "Oracle"
    default_port = 1521
    fields = ("host", "port", "database", "user", "password", "dsn")
    #: Oracle 12.2 and later; older servers refuse names over 30 bytes themselves.
    max_identifier_length = 128

    # -- connecting -----------------------------------------------------------------------------

    def make_dsn(self, params: ConnectParams) -> str:
        """The DSN given by the user (Easy Connect string, TNS alias or descriptor), or an Easy
        Connect string host:port/service_name."""
        if params.dsn:
            return params.dsn
        host = params.host or "localhost"
        port = params.port or self.default_port
        return f"{host}:{port}/{params.database or ''}"

    def cancel_running(self, connection: Connection, params: ConnectParams) -> None:
        """python-oracledb's break: the running call fails with ORA-01013."""
        connection = _oracle(connection)
        connection.cancel()

    def connect(self, params: ConnectParams, timeout: float) -> OracleConnection:
        """Thin mode unless the options name an Instant Client (``instant_client=/opt/instantclient``)
        or ask for ``thick=yes``; ``tns_admin`` is the folder holding tnsnames.ora for aliases."""
        options = dict(params.options)
        lower = {k.lower(): k for k in options}
        lib_dir = next((options.pop(lower[k]) for k in _THICK_OPTIONS if k in lower), None)
        config_dir = next((options.pop(lower[k]) for k in _CONFIG_OPTIONS if k in lower), None)
        thick = "thick" in lower and str(options.pop(lower["thick"])).lower() in ("1", "yes", "true")
        direct = "direct_path_load" in lower and \
            str(options.pop(lower["direct_path_load"])).lower() in ("1", "yes", "true")
        if lib_dir or thick:
            _init_thick_mode(lib_dir, config_dir)
        kwargs: dict[str, Any] = {"user": params.user, "password": params.password,
                                  "dsn": self.make_dsn(params),
                                  "tcp_connect_timeout": float(timeout)}
        if config_dir:
            kwargs["config_dir"] = config_dir
        kwargs.update(options)
        from qdbm_desktop.core.dialects.oracle.connection import OracleConnection

        # What oracledb.connect(conn_class=OracleConnection) does, with the class's own type.
        connection = OracleConnection(**kwargs)
        connection.wants_direct_path = direct
        try:
            cursor = connection.cursor()
            # TIMESTAMP WITH LOCAL TIME ZONE is read, and zoned values are written, in UTC.
            cursor.execute("ALTER SESSION SET TIME_ZONE = '+00:00'")
            cursor.close()
        except BaseException:
            connection.close()
            raise
        return connection

    def server_version(self, connection: Connection) -> str:
        connection = _oracle(connection)
        return f"Oracle {connection.version}"

    # -- names ----------------------------------------------------------------------------------

    def check_identifier(self, name: str) -> None:
        super().check_identifier(name)
        if '"' in name:
            raise UsageError(f"the name {name!r} holds a double quote, which Oracle does not allow in names")

    def quote_identifier(self, name: str) -> str:
        self.check_identifier(name)
        return '"' + stored_name(name) + '"'

    # -- reading --------------------------------------------------------------------------------

    def param_marker(self, index: int) -> str:
        return f":qdbm_param_{index}"

    def open_read(self, connection: Connection, query: str, batch_size: int,
                  params: Sequence[Any] | None = None) -> ReadStream:
        """Stream ``query`` in a READ ONLY transaction, ``arraysize`` rows a round trip; LOBs are
        fetched as values, NUMBER as exact decimals, TIMESTAMP WITH TIME ZONE as UTC instants.
        ``params`` fill the query's ``:qdbm_param_N`` markers."""
        connection = _oracle(connection)
        bound = {f"qdbm_param_{i}": v for i, v in enumerate(params or ())}
        import oracledb

        if batch_size < 1:
            raise UsageError(f"the batch size must be at least 1 (got {batch_size})")
        query = query_body(query, self.name)  # Oracle refuses a statement's own semicolon
        connection.rollback()
        cursor = connection.cursor()
        try:
            cursor.execute("SET TRANSACTION READ ONLY")
            size = min(batch_size, MAX_ARRAYSIZE)
            cursor.arraysize = size
            cursor.prefetchrows = size + 1  # one round trip also tells the result is done
            cursor.outputtypehandler = _output_type_handler
            cursor.parse(query)  # describes a query without running it
            description, executed = cursor.description, False
            if description is None:
                cursor.execute(query, bound)
                description, executed = cursor.description, True
            if description is None:
                raise UsageError("the query returns no rows: give a SELECT")
            names = [d[0] for d in description]
            zoned = [d[1] is oracledb.DB_TYPE_TIMESTAMP_TZ for d in description]
            if any(zoned):
                # python-oracledb returns TIMESTAMP WITH TIME ZONE without its zone: read the
                # instant in UTC instead (the offset is not kept, the instant is).
                if len(set(names)) != len(names):
                    raise UsageError("the query returns several columns with the same name; give them "
                                     "distinct names with AS")
                query = self.utc_query(query, names, zoned)
                cursor.execute(query, bound)
            elif not executed:
                cursor.execute(query, bound)
            columns, converters = [], []
            described = cursor.description
            if described is None:  # the rewritten query still returns the same columns
                raise UsageError("the query returns no rows: give a SELECT")
            for desc, was_zoned in zip(described, zoned, strict=True):
                name, db_type = desc[0], desc[1]
                type_name = "DB_TYPE_TIMESTAMP_TZ" if was_zoned else db_type.name
                length = desc[2] if type_name in ("DB_TYPE_CHAR", "DB_TYPE_NCHAR", "DB_TYPE_VARCHAR",
                                                  "DB_TYPE_NVARCHAR") else desc[3]
                precision, scale = desc[4], desc[5]
                spelled = catalog_spelling(type_name, precision, scale, length)
                catalog_name = _CATALOG_NAME.get(type_name, type_name)
                ptype = portable_from_catalog(catalog_name, precision, scale, length)
                columns.append(Column(reported_name(name), ptype, bool(desc[6]), spelled))
                converters.append(_read_converter(type_name))
        except BaseException:
            with suppress(Exception):
                cursor.close()
            with suppress(Exception):
                connection.rollback()
            raise
        return OracleReadStream(connection, cursor, columns, converters, batch_size)

    def utc_query(self, query: str, names: Sequence[str], zoned: Sequence[bool]) -> str:
        """``query`` wrapped so that its zoned timestamp columns come back as UTC instants."""
        selected = ", ".join(f'SYS_EXTRACT_UTC(qdbm_utc."{n}") AS "{n}"' if z else f'qdbm_utc."{n}"'
                             for n, z in zip(names, zoned, strict=True))
        return wrap_query(f"SELECT {selected} FROM (", query, ") qdbm_utc", self.name)

    # -- types ----------------------------------------------------------------------------------

    def native_type(self, ptype: PortableType) -> str:
        kind, length = ptype.kind, ptype.length
        if kind is Kind.DECIMAL:
            if ptype.precision is None:
                return "NUMBER"
            if ptype.precision > MAX_PRECISION:
                raise UsageError(f"{ptype} is wider than Oracle's NUMBER allows (precision {MAX_PRECISION}); "
                                 "map the column to a narrower decimal, to decimal without precision, or "
                                 "to text")
            return f"NUMBER({ptype.precision},{ptype.scale or 0})"
        if kind is Kind.CHAR and length is not None and length <= MAX_CHAR_BYTES:
            return f"CHAR({length} CHAR)"
        if kind in (Kind.CHAR, Kind.VARCHAR):
            fits = length is not None and length <= MAX_VARCHAR2_BYTES
            return f"VARCHAR2({length} CHAR)" if fits else "CLOB"
        if kind is Kind.BINARY:
            return f"RAW({length})" if length is not None and length <= MAX_RAW_BYTES else "BLOB"
        return _FIXED_NATIVE[kind]

    def bind_plan(self, column: Column, native_boolean: bool,
                  oracledb: Any) -> tuple[Callable[[Any], Any], Any]:
        """The check (non-NULL value -> value to bind) and the input type for one column."""
        ptype, kind = column.type, column.type.kind
        native = self.native_type(ptype)
        limits = LIMITS if native_boolean else LIMITS_NUMERIC_BOOLEAN
        if kind in _PLAIN_BINDS:
            return value_check(ptype, limits), getattr(oracledb, _PLAIN_BINDS[kind])
        if kind in (Kind.CHAR, Kind.VARCHAR, Kind.TEXT, Kind.JSON):
            if native == "CLOB":
                # LONG binds any length and goes into a CLOB without a temporary LOB per value.
                return _TextCheck(column, None, None, native, kind is Kind.JSON), oracledb.DB_TYPE_LONG
            limit = MAX_CHAR_BYTES if kind is Kind.CHAR and native.startswith("CHAR") else MAX_VARCHAR2_BYTES
            # Bound at the column's byte limit: every value that passed the check fits it.
            return _TextCheck(column, ptype.length, limit, native), limit
        if kind is Kind.BINARY:
            if native == "BLOB":
                return _BinaryCheck(column, None), oracledb.DB_TYPE_LONG_RAW
            return _BinaryCheck(column, ptype.length), oracledb.DB_TYPE_RAW
        if kind is Kind.TIME:
            return _time_interval, oracledb.DB_TYPE_INTERVAL_DS
        return uuid_text, 36

    # -- statements -----------------------------------------------------------------------------

    def insert_sql(self, table: TableName, columns: Sequence[Column]) -> str:
        names = ", ".join(self.quote_identifier(c.name) for c in columns)
        # Named markers bound by position (a list of values); sqlglot does not read ":1".
        markers = ", ".join(f":v{i}" for i in range(1, len(columns) + 1))
        return f"INSERT INTO {self.qualified(table)} ({names}) VALUES ({markers})"

    def count_sql(self, table: TableName) -> str:
        return f"SELECT COUNT(*) FROM {self.qualified(table)}"

    def create_table_sql(self, table: TableName, columns: Sequence[Column],
                         primary_key: Sequence[str] = (), native_boolean: bool = False) -> str:
        """CREATE TABLE; booleans are NUMBER(1) holding 0/1, or BOOLEAN with ``native_boolean``
        (Oracle 23ai and later)."""
        if not columns:
            raise UsageError(f"table {table} needs at least one column")
        names = {stored_name(c.name) for c in columns}
        missing = [k for k in primary_key if stored_name(k) not in names]
        if missing:
            raise UsageError(f"key column(s) {', '.join(map(repr, missing))} are not among the columns")
        keys = {stored_name(k) for k in primary_key}
        parts = []
        for column in columns:
            boolean = native_boolean and column.type.kind is Kind.BOOLEAN
            native = "BOOLEAN" if boolean else self.native_type(column.type)
            if stored_name(column.name) in keys and native in ("CLOB", "BLOB"):
                raise UsageError(f"key column {column.name!r} is {column.type}, which Oracle cannot index "
                                 f"({native}); give it a varchar(n) with n <= 4000 or binary(n)")
            parts.append(f"{self.quote_identifier(column.name)} {native}"
                         + ("" if column.nullable else " NOT NULL"))
        if primary_key:
            parts.append(f"PRIMARY KEY ({', '.join(self.quote_identifier(k) for k in primary_key)})")
        return f"CREATE TABLE {self.qualified(table)} ({', '.join(parts)})"

    def merge_sql(self, target: TableName, staging: TableName, columns: Sequence[Column],
                  keys: Sequence[str]) -> str:
        names = [c.name for c in columns]
        stored = {stored_name(n) for n in names}
        if not keys:
            raise UsageError("upsert needs key columns")
        unknown = [k for k in keys if stored_name(k) not in stored]
        if unknown:
            raise UsageError(f"upsert key {unknown[0]!r} is not a column of the loaded data")
        key_set = {stored_name(k) for k in keys}
        q = self.quote_identifier
        on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in keys)
        updates = ", ".join(f"t.{q(n)} = s.{q(n)}" for n in names if stored_name(n) not in key_set)
        statement = f"MERGE INTO {self.qualified(target)} t USING {self.qualified(staging)} s ON ({on}) "
        if updates:
            statement += f"WHEN MATCHED THEN UPDATE SET {updates} "
        return statement + (f"WHEN NOT MATCHED THEN INSERT ({', '.join(q(n) for n in names)}) "
                            f"VALUES ({', '.join(f's.{q(n)}' for n in names)})")

    def rename_sql(self, table: TableName, new_name: str) -> str:
        # RENAME TO takes a bare name: the table stays in its schema.
        return f"ALTER TABLE {self.qualified(table)} RENAME TO {self.quote_identifier(new_name)}"

    def swap_marker_sql(self, staging: TableName, target: TableName) -> str:
        text = (SWAP_MARKER + self.qualified(target)).replace("'", "''")
        return f"COMMENT ON TABLE {self.qualified(staging)} IS '{text}'"

    def drop_sql(self, table: TableName) -> str:
        return f"DROP TABLE {self.qualified(table)} PURGE"

    def data_statements(self, mode: LoadMode, target: TableName, staging: TableName,
                        columns: Sequence[Column], keys: Sequence[str]) -> list[str]:
        """The final step of append, truncate and upsert: DML only, so one transaction holds it."""
        target_q, staging_q = self.qualified(target), self.qualified(staging)
        names = ", ".join(self.quote_identifier(c.name) for c in columns)
        insert = f"INSERT INTO {target_q} ({names}) SELECT {names} FROM {staging_q}"
        if mode is LoadMode.APPEND:
            return [insert]
        if mode is LoadMode.TRUNCATE:
            # DELETE, not TRUNCATE: TRUNCATE is DDL and would commit on its own.
            return [f"DELETE FROM {target_q}", insert]
        if mode is LoadMode.UPSERT:
            return [self.merge_sql(target, staging, columns, keys)]
        raise UsageError(f"mode {mode.value} is not a data step")

    def swap_statements(self, target: TableName, staging: TableName, exists_now: bool) -> list[str]:
        """replace/create: rename the staging table to the target (the target aside first when it
        exists). Each is DDL that commits; see :meth:`drop_table` for the crash in between."""
        if not exists_now:
            return [self.rename_sql(staging, target.name)]
        old = TableName(old_name(staging.name), target.schema)
        return [self.swap_marker_sql(staging, target), self.rename_sql(target, old.name),
                self.rename_sql(staging, target.name), self.drop_sql(old)]

    # -- loading --------------------------------------------------------------------------------

    def _owner(self, cursor: Any, schema: str | None) -> str:
        if schema is not None:
            return stored_name(schema)
        cursor.execute("SELECT SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') FROM dual")
        return str(cursor.fetchone()[0])

    def table_exists(self, connection: Connection, table: TableName) -> bool:
        connection = _oracle(connection)
        cursor = connection.cursor()
        try:
            owner = self._owner(cursor, table.schema)
            cursor.execute("SELECT COUNT(*) FROM all_tables WHERE owner = :1 AND table_name = :2",
                           [owner, stored_name(table.name)])
            return int(cursor.fetchone()[0]) > 0
        finally:
            cursor.close()

    def table_columns(self, connection: Connection, table: TableName) -> list[Column]:
        connection = _oracle(connection)
        cursor = connection.cursor()
        try:
            owner = self._owner(cursor, table.schema)
            cursor.execute("SELECT column_name, data_type, data_precision, data_scale, char_length, "
                           "data_length, "
                           "nullable FROM all_tab_columns WHERE owner = :1 AND table_name = :2 "
                           "ORDER BY column_id", [owner, stored_name(table.name)])
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not rows:
            raise UsageError(f"table {table} does not exist")
        columns = []
        for name, data_type, precision, scale, char_length, data_length, nullable in rows:
            text = str(data_type)
            is_text = text.upper() in ("CHAR", "NCHAR", "VARCHAR2", "NVARCHAR2")
            length = char_length if is_text else data_length
            ptype = portable_from_catalog(text, _opt_int(precision), _opt_int(scale), _opt_int(length))
            spelled = catalog_spelling(_db_type_name(text), _opt_int(precision), _opt_int(scale),
                                       _opt_int(length))
            columns.append(Column(reported_name(str(name)), ptype, nullable == "Y", spelled))
        return columns

    def _server_major(self, connection: OracleConnection) -> int:
        try:
            return int(str(connection.version).split(".", 1)[0])
        except (AttributeError, ValueError):
            return 0

    def create_table(self, connection: Connection, table: TableName, columns: Sequence[Column],
                     primary_key: Sequence[str] = ()) -> None:
        connection = _oracle(connection)
        cursor = connection.cursor()
        try:
            cursor.execute(self.create_table_sql(table, columns, primary_key,
                                                 native_boolean=self._server_major(connection) >= 23))
        finally:
            cursor.close()

    def drop_table(self, connection: Connection, table: TableName) -> None:
        """Drop ``table`` if it exists. A staging table marked for a swap whose target is missing
        while the replaced table still sits aside (a crash between the two renames) first puts the
        replaced table back, so no run's leftovers ever cost the user's table."""
        connection = _oracle(connection)
        if not self.table_exists(connection, table):
            return
        cursor = connection.cursor()
        try:
            self._undo_half_swap(cursor, connection, table)
            cursor.execute(self.drop_sql(table))
        finally:
            cursor.close()

    def _undo_half_swap(self, cursor: Any, connection: OracleConnection, staging: TableName) -> None:
        owner = self._owner(cursor, staging.schema)
        cursor.execute("SELECT comments FROM all_tab_comments WHERE owner = :1 AND table_name = :2",
                       [owner, stored_name(staging.name)])
        row = cursor.fetchone()
        comment = str(row[0]) if row and row[0] else ""
        if not comment.startswith(SWAP_MARKER):
            return
        target = TableName.parse(comment[len(SWAP_MARKER):])
        target = TableName(reported_name(target.name), target.schema and reported_name(target.schema))
        old = TableName(old_name(staging.name), staging.schema)
        if not self.table_exists(connection, target) and self.table_exists(connection, old):
            cursor.execute(self.rename_sql(old, target.name))

    def _catalog_query(self, connection: Connection) -> catalog.Query:
        driver = _oracle(connection)

        def query(sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
            cursor = driver.cursor()
            try:
                cursor.execute(sql, dict(params))
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()
        return query

    def _catalog_owner(self, connection: Connection, schema: str | None) -> str:
        cursor = _oracle(connection).cursor()
        try:
            return self._owner(cursor, schema)
        finally:
            cursor.close()

    def list_schemas(self, connection: Connection) -> list[str]:
        return catalog.list_schemas(self._catalog_query(connection))

    def list_relations(self, connection: Connection, schema: str | None) -> list[Relation]:
        owner = self._catalog_owner(connection, schema)
        return catalog.list_relations(self._catalog_query(connection), owner, schema)

    def describe_table(self, connection: Connection, table: TableName) -> TableShape:
        def spelling(text: str, precision: int | None, scale: int | None, length: int | None) -> str:
            return catalog_spelling(_db_type_name(text), precision, scale, length)
        owner = self._catalog_owner(connection, table.schema)
        return catalog.describe_table(self._catalog_query(connection), owner, stored_name(table.name), table,
                                      spelling)

    def list_tables(self, connection: Connection, schema: str | None, prefix: str) -> list[TableName]:
        connection = _oracle(connection)
        like = re.sub(r"([\\%_])", r"\\\1", stored_name(prefix)) + "%"
        cursor = connection.cursor()
        try:
            owner = self._owner(cursor, schema)
            cursor.execute("SELECT table_name FROM all_tables WHERE owner = :1 "
                           "AND table_name LIKE :2 ESCAPE '\\' "
                           "ORDER BY table_name", [owner, like])
            names = [reported_name(str(r[0])) for r in cursor.fetchall()]
        finally:
            cursor.close()
        return [TableName(n, schema) for n in names if stored_name(n).startswith(stored_name(prefix))]

    def open_writer(self, connection: Connection, table: TableName, columns: Sequence[Column],
                    work_dir: Path | None = None) -> BulkWriter:
        connection = _oracle(connection)
        native_boolean = False
        if any(c.type.kind is Kind.BOOLEAN for c in columns):
            cursor = connection.cursor()
            try:
                owner = self._owner(cursor, table.schema)
                cursor.execute("SELECT column_name FROM all_tab_columns WHERE owner = :1 AND table_name = :2 "
                               "AND data_type = 'BOOLEAN'", [owner, stored_name(table.name)])
                native_boolean = bool(cursor.fetchall())
            finally:
                cursor.close()
        direct_path: tuple[str, str, list[str]] | None = None
        if self._direct_path_load(connection) and all(c.type.kind in _DIRECT_PATH_KINDS for c in columns):
            cursor = connection.cursor()
            try:
                owner = self._owner(cursor, table.schema)
            finally:
                cursor.close()
            direct_path = (owner, stored_name(table.name), [stored_name(c.name) for c in columns])
        return OracleBulkWriter(self, connection, table, columns, native_boolean, direct_path)

    @staticmethod
    def _direct_path_load(connection: Connection) -> bool:
        """Whether ``connection`` was opened with ``direct_path_load=yes`` and can do it (thin mode)."""
        from qdbm_desktop.core.dialects.oracle.connection import OracleConnection

        return isinstance(connection, OracleConnection) and connection.wants_direct_path and connection.thin

    def finalize(self, connection: Connection, mode: LoadMode, target: TableName, staging: TableName,
                 columns: Sequence[Column], keys: Sequence[str], target_exists: bool) -> None:
        """append, truncate, upsert: one transaction of DML, committed, then the staging table
        dropped. replace, create: renames, each committing on its own (Oracle DDL always does);
        a failure or crash between them is undone (here, or by :meth:`drop_table` next run)."""
        connection = _oracle(connection)
        exists_now = self.table_exists(connection, target)
        if mode is LoadMode.CREATE and exists_now:
            raise UsageError(f"table {target} already exists (mode 'create' makes a new table; "
                             "use append, truncate, replace or upsert for an existing one)")
        cursor = connection.cursor()
        try:
            if mode in (LoadMode.REPLACE, LoadMode.CREATE) or not exists_now:
                statements = self.swap_statements(target, staging, exists_now)
                for index, statement in enumerate(statements):
                    try:
                        cursor.execute(statement)
                    except BaseException:
                        if exists_now and index == 2:  # the target is aside: put it back
                            with suppress(Exception):
                                aside = TableName(old_name(staging.name), target.schema)
                                cursor.execute(self.rename_sql(aside, target.name))
                        if exists_now and index == 3:
                            # The swap is done: the old table is a leftover the next run drops.
                            return
                        raise
                return
            try:
                for statement in self.data_statements(mode, target, staging, columns, keys):
                    cursor.execute(statement)
                connection.commit()
            except BaseException:
                with suppress(Exception):
                    connection.rollback()
                raise
            # Committed: a staging table that will not drop now is a leftover the next run drops.
            with suppress(Exception):
                cursor.execute(self.drop_sql(staging))
        finally:
            cursor.close()


    # -- locks between runs ---------------------------------------------------------------------
    # DBMS_LOCK user locks by number, held by the session (REQUEST's release_on_commit defaults to
    # FALSE) and freed by the server when it ends. Numbers, not ALLOCATE_UNIQUE's names: that one
    # commits and writes a catalog row per name. The login needs EXECUTE on SYS.DBMS_LOCK.

    #: REQUEST(id, lockmode 6 = exclusive, timeout 0): 0 granted, 1 held elsewhere, 4 held already.
    LOCK_SQL = "SELECT DBMS_LOCK.REQUEST(:lock_id, 6, 0) FROM dual"
    UNLOCK_SQL = "SELECT DBMS_LOCK.RELEASE(:lock_id) FROM dual"
    SCHEMA_SQL = "SELECT SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') FROM dual"
    #: User lock ids run from 0 to 1073741823 (the rest belong to ALLOCATE_UNIQUE).
    LOCK_IDS = 1 << 30

    def open_lock_session(self, params: ConnectParams, timeout: float) -> Any:
        return self.connect(params, timeout)

    def lock_id(self, name: str) -> int:
        """The user lock number for ``name`` (30 bits of its digest; lock numbers are instance-wide)."""
        return int(lock_digest(name, 16), 16) % self.LOCK_IDS

    def _lock_call(self, session: LockSession, sql: str, name: str) -> int:
        cursor = cursor_session(session).cursor()
        try:
            cursor.execute(sql, {"lock_id": self.lock_id(name)})
            (result,) = cursor.fetchone()
        except Exception as exc:  # noqa: BLE001 - any refusal means no locks for this login
            text = one_line(str(exc))
            if "DBMS_LOCK" in text.upper() or "ORA-00904" in text or "PLS-00201" in text:
                raise LocksUnavailable(f"this login cannot use DBMS_LOCK ({text}); ask for "
                                       "GRANT EXECUTE ON SYS.DBMS_LOCK") from exc
            raise
        finally:
            cursor.close()
        return int(result)

    def try_lock(self, session: LockSession, name: str) -> bool:
        return self._lock_call(session, self.LOCK_SQL, name) in (0, 4)

    def unlock(self, session: LockSession, name: str) -> None:
        self._lock_call(session, self.UNLOCK_SQL, name)

    def table_lock_name(self, session: LockSession, table: TableName) -> str:
        if table.schema is not None:
            owner = stored_name(table.schema)
        else:
            cursor = cursor_session(session).cursor()
            try:
                cursor.execute(self.SCHEMA_SQL)
                owner = str(cursor.fetchone()[0])
            finally:
                cursor.close()
        return "qdbm-table:" + json.dumps([owner, stored_name(table.name)])


def _oracle(connection: Connection) -> OracleConnection:
    """The python-oracledb connection ``OracleDialect.connect`` opened."""
    from qdbm_desktop.core.dialects.oracle.connection import OracleConnection

    if not isinstance(connection, OracleConnection):
        raise TypeError(f"not an Oracle connection: {type(connection).__name__}")
    return connection
