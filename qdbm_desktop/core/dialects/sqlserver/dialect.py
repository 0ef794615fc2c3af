"""The SQL Server dialect: the connection string, T-SQL text (bracket-quoted names, DDL, MERGE, the
staging swap) and sp_getapplock locks; sending it is the ODBC transport's job (see odbc.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from contextlib import suppress
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
    cursor_session,
    lock_digest,
)
from qdbm_desktop.core.dialects.catalog import Relation, TableShape
from qdbm_desktop.core.dialects.odbc import (
    SQL_SS_TIMESTAMPOFFSET,
    OdbcBatchLoader,
    OdbcParam,
    OdbcReadStream,
    Statement,
    driver_message,
    portable_from_description,
    run_in_transaction,
    sqlstate,
)
from qdbm_desktop.core.dialects.sqlserver import catalog
from qdbm_desktop.core.dialects.sqlserver.connection import SQLServerConnection, _sqlserver
from qdbm_desktop.core.dialects.sqlserver.drivers import _pyodbc, installed_drivers, no_driver_message
from qdbm_desktop.core.dialects.sqlserver.types import (
    _BINDS,
    _FIXED_NATIVE,
    _OWN_CHECKS,
    MAX_IDENTIFIER,
    MAX_NCHAR,
    MAX_PRECISION,
    MAX_VARBINARY,
    UNBOUNDED_DECIMAL,
    _datetimeoffset,
    _read_converter,
    catalog_type_text,
    portable_from_type_name,
)
from qdbm_desktop.core.errors import ConnectFailed, DriverMissing, UsageError
from qdbm_desktop.core.sqlcheck import query_body
from qdbm_desktop.core.types import (
    Column,
    Kind,
    PortableType,
    TargetLimits,
    value_check,
)

#: Friendly option names (URL query, profile options) and the ODBC keywords they set.
OPTION_KEYWORDS = {
    "encrypt": "Encrypt",
    "trust_server_certificate": "TrustServerCertificate",
    "trustservercertificate": "TrustServerCertificate",
    "trusted_connection": "Trusted_Connection",
    "authentication": "Authentication",
    "application_intent": "ApplicationIntent",
    "multi_subnet_failover": "MultiSubnetFailover",
    "host_name_in_certificate": "HostNameInCertificate",
}


def _odbc_value(value: str) -> str:
    # ODBC connection string values with ; { } or spaces at the ends are brace-quoted.
    if any(ch in value for ch in ";{}") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


class SQLServerDialect(Dialect):
    name = "sqlserver"
    display_name = "SQL Server"
    default_port = 1433
    fields = ("host", "port", "database", "user", "password", "driver")
    max_identifier_length = MAX_IDENTIFIER

    # -- connecting -----------------------------------------------------------------------------

    def connection_string(self, params: ConnectParams) -> str:
        """The ODBC connection string: driver (the best installed one unless given), server with
        instance or port, database, login (Windows authentication when no user is given), and
        the options (``encrypt``, ``trust_server_certificate``, ``instance`` ...)."""
        driver = params.driver
        if not driver:
            found = installed_drivers()
            if not found:
                raise DriverMissing(no_driver_message())
            driver = found[0]
        options = dict(params.options)
        instance = next((options.pop(k) for k in list(options) if k.lower() == "instance"), None)
        server = params.host or "localhost"
        if instance and "\\" not in server:
            server = f"{server}\\{instance}"
        if params.port and "\\" not in server:
            server = f"{server},{params.port}"
        parts = {"DRIVER": driver, "SERVER": server}
        if params.database:
            parts["DATABASE"] = params.database
        if params.user:
            parts["UID"] = params.user
            parts["PWD"] = params.password or ""
        elif not any(k.lower() in ("authentication", "trusted_connection") for k in options):
            parts["Trusted_Connection"] = "yes"
        for key, value in options.items():
            parts[OPTION_KEYWORDS.get(key.lower(), key)] = value
        return ";".join(f"{key}={_odbc_value(str(value))}" for key, value in parts.items())

    def connect(self, params: ConnectParams, timeout: float) -> SQLServerConnection:
        pyodbc = _pyodbc()
        conn_str = params.dsn or self.connection_string(params)
        try:
            connection = pyodbc.connect(conn_str, timeout=max(1, int(round(timeout))), autocommit=False)
        except pyodbc.Error as exc:
            state, message = sqlstate(exc), driver_message(exc)
            if state == "IM002" or "can't open lib" in message.lower() or "file not found" in message.lower():
                found = installed_drivers()
                if found:
                    raise DriverMissing(f"the ODBC driver cannot be loaded ({message}); the SQL Server "
                                        f"drivers installed are: {', '.join(found)}") from None
                raise DriverMissing(f"the ODBC driver cannot be loaded ({message}); {no_driver_message()}") \
                    from None
            if "certificate" in message.lower():
                raise ConnectFailed(f"{message}; if the server uses a self-signed certificate, set the "
                                    "option trust_server_certificate=yes (or install its "
                                    "certificate)") from None
            raise
        # pyodbc has no reader for datetimeoffset; it hands over the ODBC struct.
        connection.add_output_converter(SQL_SS_TIMESTAMPOFFSET, _datetimeoffset)
        return SQLServerConnection(connection)

    def cancel_running(self, connection: Connection, params: ConnectParams) -> None:
        """SQLCancel on the cursor of the query being read (pyodbc has no connection-wide cancel)."""
        connection = _sqlserver(connection)
        cursor = _sqlserver(connection).reading
        if cursor is not None:
            cursor.cancel()

    def server_version(self, connection: Connection) -> str:
        connection = _sqlserver(connection)
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)), "
                           "CAST(SERVERPROPERTY('Edition') AS nvarchar(128))")
            version, edition = cursor.fetchone()
        finally:
            cursor.close()
        return f"SQL Server {version} ({edition})"

    # -- names ----------------------------------------------------------------------------------

    def check_identifier(self, name: str) -> None:
        if not name:
            raise UsageError("an identifier cannot be empty")
        if "\x00" in name:
            raise UsageError(f"the name {name!r} holds a NUL character, which no database takes")
        if len(name.encode("utf-16-le", "surrogatepass")) // 2 > MAX_IDENTIFIER:
            raise UsageError(f"the name {name!r} is longer than SQL Server allows "
                             f"({MAX_IDENTIFIER} characters)")

    def quote_identifier(self, name: str) -> str:
        self.check_identifier(name)
        return "[" + name.replace("]", "]]") + "]"

    # -- reading --------------------------------------------------------------------------------

    def describe_sql(self) -> str:
        """The statement that describes a query's result without running it."""
        return "EXEC sp_describe_first_result_set @tsql = ?"

    def _describe(self, connection: SQLServerConnection, query: str) -> list[tuple[str, str, bool]] | None:
        """(name, system type name, nullable) of each result column, or None when the server
        cannot describe the query without running it (temporary tables, dynamic SQL)."""
        pyodbc = _pyodbc()
        cursor = connection.cursor()
        try:
            cursor.execute(self.describe_sql(), query)
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        except pyodbc.Error:
            connection.rollback()
            return None
        finally:
            cursor.close()
        at = {n: i for i, n in enumerate(names)}
        return [(str(r[at["name"]] or ""), str(r[at["system_type_name"]] or ""), bool(r[at["is_nullable"]]))
                for r in rows if not r[at["is_hidden"]]]

    def param_marker(self, index: int) -> str:
        return "?"

    def open_read(self, connection: Connection, query: str, batch_size: int,
                  params: Sequence[Any] | None = None) -> ReadStream:
        """Stream ``query`` with ``fetchmany``. SQL Server has no read-only transaction: give the
        connection a login that may only read (``db_datareader``) to be sure nothing changes.
        ``params`` are bound to the query's ``?`` markers."""
        connection = _sqlserver(connection)
        if batch_size < 1:
            raise UsageError(f"the batch size must be at least 1 (got {batch_size})")
        query = query_body(query, self.name)
        described = None if params else self._describe(connection, query)
        cursor = connection.cursor()
        # pyodbc can only cancel through the cursor running the statement (see cancel_running).
        connection.reading = cursor
        try:
            if params:
                cursor.execute(query, *params)
            else:
                cursor.execute(query)
            description = cursor.description
            if description is None:
                raise UsageError("the query returns no rows: give a SELECT (or another statement with a "
                                 "result)")
            columns: list[Column] = []
            for index, desc in enumerate(description):
                if described is not None and len(described) == len(description):
                    _, type_name, nullable = described[index]
                    if type_name.lower().startswith("sql_variant"):
                        raise UsageError(f"column {desc[0]!r} is sql_variant, which ODBC cannot return as "
                                         "one type; CAST it in the query")
                    columns.append(Column(desc[0], portable_from_type_name(type_name), nullable, type_name))
                else:
                    ptype = portable_from_description(desc)
                    columns.append(Column(desc[0], ptype, bool(desc[6]), desc[1].__name__))
        except BaseException:
            connection.reading = None
            cursor.close()
            connection.rollback()
            raise

        def done_reading() -> None:
            connection.reading = None

        return OdbcReadStream(connection, cursor, columns, [_read_converter(c.type.kind) for c in columns],
                              batch_size, on_close=done_reading)

    # -- types ----------------------------------------------------------------------------------

    def decimal_precision(self, ptype: PortableType) -> tuple[int, int]:
        if ptype.precision is None:
            return UNBOUNDED_DECIMAL
        if ptype.precision > MAX_PRECISION:
            raise UsageError(f"{ptype} is wider than SQL Server's decimal allows (precision "
                             f"{MAX_PRECISION}); "
                             "map the column to a narrower decimal or to text")
        return ptype.precision, ptype.scale or 0

    def native_type(self, ptype: PortableType) -> str:
        kind, length = ptype.kind, ptype.length
        if kind is Kind.DECIMAL:
            precision, scale = self.decimal_precision(ptype)
            return f"decimal({precision},{scale})"
        if kind is Kind.CHAR:
            return f"nchar({length})" if length is not None and length <= MAX_NCHAR else "nvarchar(max)"
        if kind is Kind.VARCHAR:
            return f"nvarchar({length})" if length is not None and length <= MAX_NCHAR else "nvarchar(max)"
        if kind is Kind.BINARY:
            fits = length is not None and length <= MAX_VARBINARY
            return f"varbinary({length})" if fits else "varbinary(max)"
        return _FIXED_NATIVE[kind]

    def limits(self) -> TargetLimits:
        """What SQL Server's column types hold, for the shared value checks: no NaN or infinities,
        no subnormal numbers, text lengths in UTF-16 code units, types named as in its DDL."""
        return TargetLimits(engine="SQL Server", decimal_name="decimal", float_names=("real", "float"),
                            no_nan="SQL Server has no NaN or Infinity", subnormals=False,
                            binary_name="varbinary", text_units="utf-16",
                            decimal_precision=self.decimal_precision, label=self._check_label)

    def _check_label(self, ptype: PortableType) -> str:
        return "nvarchar(max)" if ptype.kind is Kind.JSON else self.native_type(ptype)

    def bulk_params(self, columns: Sequence[Column]) -> list[OdbcParam]:
        """How each column's values are checked and bound for an INSERT into a table of ``columns``."""
        limits = self.limits()
        params = []
        for column in columns:
            ptype, kind = column.type, column.type.kind
            sql_type, size, digits, measure = _BINDS[kind]
            if kind is Kind.DECIMAL:
                size, digits = self.decimal_precision(ptype)
            elif kind in (Kind.CHAR, Kind.VARCHAR, Kind.BINARY):
                longest = MAX_VARBINARY if kind is Kind.BINARY else MAX_NCHAR
                if ptype.length is None or ptype.length > longest:  # a (max) type: no length to check
                    ptype = PortableType(Kind.TEXT if kind is not Kind.BINARY else kind)
            check = _OWN_CHECKS[kind] if kind in _OWN_CHECKS else value_check(ptype, limits)
            params.append(OdbcParam(column.name, sql_type, size, digits, check, measure))
        return params

    # -- statements -----------------------------------------------------------------------------

    def insert_sql(self, table: TableName, columns: Sequence[Column]) -> str:
        names = ", ".join(self.quote_identifier(c.name) for c in columns)
        return f"INSERT INTO {self.qualified(table)} ({names}) VALUES ({', '.join('?' * len(columns))})"

    def count_sql(self, table: TableName) -> str:
        # COUNT(*) is an int and overflows past 2,147,483,647 rows.
        return f"SELECT COUNT_BIG(*) FROM {self.qualified(table)}"

    def create_table_sql(self, table: TableName, columns: Sequence[Column],
                         primary_key: Sequence[str] = ()) -> str:
        if not columns:
            raise UsageError(f"table {table} needs at least one column")
        names = {c.name for c in columns}
        missing = [k for k in primary_key if k not in names]
        if missing:
            raise UsageError(f"key column(s) {', '.join(map(repr, missing))} are not among the columns")
        parts = []
        for column in columns:
            native = self.native_type(column.type)
            if column.name in primary_key and native.endswith("(max)"):
                raise UsageError(f"key column {column.name!r} is {column.type}, which SQL Server cannot "
                                 "index "
                                 f"({native}); give it a varchar(n) with n <= 450 (900 bytes) or binary(n)")
            not_null = " NOT NULL" if not column.nullable or column.name in primary_key else ""
            parts.append(f"{self.quote_identifier(column.name)} {native}{not_null}")
        if primary_key:
            parts.append(f"PRIMARY KEY ({', '.join(self.quote_identifier(k) for k in primary_key)})")
        return f"CREATE TABLE {self.qualified(table)} ({', '.join(parts)})"

    def rename_statement(self, staging: TableName, target: TableName) -> Statement:
        """sp_rename takes the new name bare: brackets there would become part of the name."""
        if (staging.schema or None) != (target.schema or None):
            raise UsageError(f"the staging table {staging} and the target {target} are in different schemas")
        return ("EXEC sp_rename @objname = ?, @newname = ?, @objtype = 'OBJECT'",
                (self.qualified(staging), target.name))

    def merge_sql(self, target: TableName, staging: TableName, columns: Sequence[Column],
                  keys: Sequence[str]) -> str:
        names = [c.name for c in columns]
        if not keys:
            raise UsageError("upsert needs key columns")
        unknown = [k for k in keys if k not in names]
        if unknown:
            raise UsageError(f"upsert key {unknown[0]!r} is not a column of the loaded data")
        q = self.quote_identifier
        on = " AND ".join(f"[t].{q(k)} = [s].{q(k)}" for k in keys)
        updates = ", ".join(f"[t].{q(n)} = [s].{q(n)}" for n in names if n not in keys)
        insert_names = ", ".join(q(n) for n in names)
        insert_values = ", ".join(f"[s].{q(n)}" for n in names)
        # HOLDLOCK: without it two MERGEs at once may both decide to insert the same key.
        statement = (f"MERGE INTO {self.qualified(target)} WITH (HOLDLOCK) AS [t] "
                     f"USING {self.qualified(staging)} AS [s] ON ({on}) ")
        if updates:
            statement += f"WHEN MATCHED THEN UPDATE SET {updates} "
        return statement + f"WHEN NOT MATCHED THEN INSERT ({insert_names}) VALUES ({insert_values});"

    def finalize_statements(self, mode: LoadMode, target: TableName, staging: TableName,
                            columns: Sequence[Column], keys: Sequence[str],
                            exists_now: bool) -> list[Statement]:
        """The final step's statements, run in one transaction (SQL Server DDL is transactional)."""
        target_q, staging_q = self.qualified(target), self.qualified(staging)
        if mode is LoadMode.CREATE and exists_now:
            raise UsageError(f"table {target} already exists (mode 'create' makes a new table; "
                             "use append, truncate, replace or upsert for an existing one)")
        if mode in (LoadMode.REPLACE, LoadMode.CREATE) or not exists_now:
            statements: list[Statement] = []
            if exists_now:
                statements.append((f"DROP TABLE {target_q}", ()))
            return [*statements, self.rename_statement(staging, target)]
        names = ", ".join(self.quote_identifier(c.name) for c in columns)
        insert = (f"INSERT INTO {target_q} ({names}) SELECT {names} FROM {staging_q}", ())
        if mode is LoadMode.APPEND:
            body: list[Statement] = [insert]
        elif mode is LoadMode.TRUNCATE:
            # TRUNCATE is transactional in SQL Server: a rollback brings the rows back.
            body = [(f"TRUNCATE TABLE {target_q}", ()), insert]
        elif mode is LoadMode.UPSERT:
            body = [(self.merge_sql(target, staging, columns, keys), ())]
        else:
            raise UsageError(f"unknown load mode {mode!r}")
        return [*body, (f"DROP TABLE {staging_q}", ())]

    # -- loading --------------------------------------------------------------------------------

    def prepare_for_load(self, connection: Connection) -> None:
        connection = _sqlserver(connection)
        cursor = connection.cursor()
        try:
            # Any error inside a transaction rolls all of it back, not just the failing statement.
            cursor.execute("SET XACT_ABORT ON")
        finally:
            cursor.close()

    def table_exists(self, connection: Connection, table: TableName) -> bool:
        connection = _sqlserver(connection)
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT OBJECT_ID(?, N'U')", self.qualified(table))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return row is not None and row[0] is not None

    def table_columns(self, connection: Connection, table: TableName) -> list[Column]:
        connection = _sqlserver(connection)
        if not self.table_exists(connection, table):
            raise UsageError(f"table {table} does not exist")
        cursor = connection.cursor()
        try:
            cursor.execute(
                "SELECT c.name, "
                "CASE WHEN t.is_assembly_type = 1 THEN t.name ELSE TYPE_NAME(c.system_type_id) END, "
                "c.max_length, c.precision, c.scale, c.is_nullable FROM sys.columns c "
                "JOIN sys.types t ON t.user_type_id = c.user_type_id "
                "WHERE c.object_id = OBJECT_ID(?, N'U') ORDER BY c.column_id", self.qualified(table))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        columns = []
        for name, type_name, max_length, precision, scale, nullable in rows:
            spelled = catalog_type_text(str(type_name), int(max_length), int(precision), int(scale))
            columns.append(Column(str(name), portable_from_type_name(spelled), bool(nullable), spelled))
        return columns

    def row_count(self, connection: Connection, table: TableName) -> int:
        connection = _sqlserver(connection)
        cursor = connection.cursor()
        try:
            cursor.execute(self.count_sql(table))
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()

    def _catalog_query(self, connection: Connection) -> catalog.Query:
        driver = _sqlserver(connection)

        def query(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            cursor = driver.cursor()
            try:
                cursor.execute(sql, *params)
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()
        return query

    def list_schemas(self, connection: Connection) -> list[str]:
        return catalog.list_schemas(self._catalog_query(connection))

    def list_relations(self, connection: Connection, schema: str | None) -> list[Relation]:
        return catalog.list_relations(self._catalog_query(connection), schema)

    def describe_table(self, connection: Connection, table: TableName) -> TableShape:
        return catalog.describe_table(self._catalog_query(connection), self.qualified(table), table)

    def list_tables(self, connection: Connection, schema: str | None, prefix: str) -> list[TableName]:
        connection = _sqlserver(connection)
        like = re.sub(r"([\\%_\[])", r"\\\1", prefix) + "%"
        cursor = connection.cursor()
        try:
            if schema is None:
                cursor.execute("SELECT name FROM sys.tables WHERE schema_id = SCHEMA_ID() "
                               "AND name LIKE ? ESCAPE '\\' ORDER BY name", like)
            else:
                cursor.execute("SELECT name FROM sys.tables WHERE schema_id = SCHEMA_ID(?) "
                               "AND name LIKE ? ESCAPE '\\' ORDER BY name", schema, like)
            names = [str(r[0]) for r in cursor.fetchall()]
        finally:
            cursor.close()
        return [TableName(n, schema) for n in names if n.startswith(prefix)]

    def open_writer(self, connection: Connection, table: TableName, columns: Sequence[Column],
                    work_dir: Path | None = None) -> BulkWriter:
        """Parameter arrays (``fast_executemany``) with explicit input sizes, 10,000 rows a call."""
        connection = _sqlserver(connection)
        return OdbcBatchLoader(connection, self.insert_sql(table, columns), self.bulk_params(columns))

    def finalize(self, connection: Connection, mode: LoadMode, target: TableName, staging: TableName,
                 columns: Sequence[Column], keys: Sequence[str], target_exists: bool) -> None:
        """One transaction: DROP, sp_rename, TRUNCATE, INSERT and MERGE all roll back in SQL Server."""
        connection = _sqlserver(connection)
        exists_now = self.table_exists(connection, target)
        statements = self.finalize_statements(mode, target, staging, columns, keys, exists_now)
        run_in_transaction(connection, statements)


    # -- locks between runs ---------------------------------------------------------------------
    # Application locks owned by the session (not a transaction), per database; the server drops
    # them when the session ends.

    #: Returns sp_getapplock's result: 0 or 1 granted, negative refused (-1: held elsewhere).
    LOCK_SQL = ("SET NOCOUNT ON; DECLARE @result int; "
                "EXEC @result = sp_getapplock @Resource = ?, @LockMode = 'Exclusive', "
                "@LockOwner = 'Session', @LockTimeout = 0; SELECT @result")
    UNLOCK_SQL = "EXEC sp_releaseapplock @Resource = ?, @LockOwner = 'Session'"
    SCHEMA_SQL = "SELECT COALESCE(?, SCHEMA_NAME())"

    def open_lock_session(self, params: ConnectParams, timeout: float) -> SQLServerConnection:
        connection = self.connect(params, timeout)
        connection.odbc.autocommit = True
        return connection

    @staticmethod
    def lock_resource(name: str) -> str:
        """The applock resource for ``name`` (at most 255 characters)."""
        return name if len(name) <= 255 else "qdbm-" + lock_digest(name, 40)

    def try_lock(self, session: LockSession, name: str) -> bool:
        locks = cursor_session(session)
        cursor = locks.cursor()
        try:
            cursor.execute(self.LOCK_SQL, self.lock_resource(name))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return row is not None and row[0] is not None and int(row[0]) >= 0

    def unlock(self, session: LockSession, name: str) -> None:
        locks = cursor_session(session)
        cursor = locks.cursor()
        try:
            # Refused when the session does not hold it (lost with a dropped session): nothing to do.
            with suppress(Exception):
                cursor.execute(self.UNLOCK_SQL, self.lock_resource(name))
        finally:
            cursor.close()

    def table_lock_name(self, session: LockSession, table: TableName) -> str:
        locks = cursor_session(session)
        cursor = locks.cursor()
        try:
            cursor.execute(self.SCHEMA_SQL, table.schema)
            row = cursor.fetchone()
        finally:
            cursor.close()
        schema = str(row[0]) if row and row[0] is not None else (table.schema or "")
        # The default collations compare names without case.
        return "qdbm-table:" + json.dumps([schema.casefold(), table.name.casefold()])
