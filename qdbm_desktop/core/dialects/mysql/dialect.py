"""The MySQL/MariaDB dialect through mysql-connector-python: connecting, describing a query,
DDL, the atomic finalize step (RENAME TABLE) and GET_LOCK locks."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from qdbm_desktop.core.dialects.base import (
    BulkWriter,
    Connection,
    ConnectParams,
    Dialect,
    LoadMode,
    LockSession,
    SwapPlan,
    TableName,
    lock_digest,
)
from qdbm_desktop.core.dialects.catalog import Relation, TableShape
from qdbm_desktop.core.dialects.mysql import catalog
from qdbm_desktop.core.dialects.mysql.driver import (
    MySQLConnection,
    MySQLCursor,
    _mysql,
    driver_connection,
    one_row,
)
from qdbm_desktop.core.dialects.mysql.read import (
    _NO_LIMIT,
    MySQLReadStream,
    _catalog_of_result,
    _fetch_fields,
    _int_or_none,
    _may_select_float,
    _origins,
    _prepared_fields,
    _text,
    referenced_tables,
)
from qdbm_desktop.core.dialects.mysql.types import (
    _FIXED_NATIVE,
    _FLAG_NOT_NULL,
    _FLOAT,
    _UTC,
    _blob_type,
    _field_type_name,
    _fit_row_size,
    _text_type,
    enum_labels,
    enum_type,
    portable_from_column_type,
    portable_from_field,
    verbatim_type,
)
from qdbm_desktop.core.dialects.mysql.write import InsertWriter, LoadDataWriter, _decimal_precision
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.sqlcheck import query_body
from qdbm_desktop.core.types import (
    TEXT_KINDS,
    Column,
    Kind,
    PortableType,
)

log = logging.getLogger(__name__)

#: Session settings for loads: strict so that an overflow errors instead of being clipped, no zero
#: dates, and 0 kept in AUTO_INCREMENT columns instead of drawing a new number.
LOAD_SQL_MODE = ("STRICT_ALL_TABLES,STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
                 "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO")


#: Seconds a cancel may take to reach the server (it opens a connection of its own).
_CANCEL_TIMEOUT = 2.0


def driver_description() -> str:
    """The driver's version and whether its C extension is in use (it is 2-5x faster)."""
    import mysql.connector

    flavour = "C extension" if mysql.connector.HAVE_CEXT else "pure Python: C extension did not load"
    return f"mysql-connector-python {mysql.connector.__version__} ({flavour})"


# -- the dialect --------------------------------------------------------------------------------


class MySQLDialect(Dialect):
    name = "mysql"
    display_name = "MySQL / MariaDB"
    default_port = 3306
    #: MySQL counts identifier length in characters, not bytes.
    max_identifier_length = 64

    def __init__(self, use_load_data: bool = True) -> None:
        #: LOAD DATA LOCAL measured 2-2.5x multi-row INSERT; False makes every writer use INSERT
        #: (tests, comparisons). An option of this instance: the shared one in DIALECTS keeps True.
        self.use_load_data = use_load_data

    def connect(self, params: ConnectParams, timeout: float) -> Connection:
        return self._connect(params, timeout)

    def _connect(self, params: ConnectParams, timeout: float) -> MySQLConnection:
        import mysql.connector

        if not mysql.connector.HAVE_CEXT:
            log.warning("%s", driver_description())
        kwargs: dict[str, Any] = {
            "host": params.host or "localhost",
            "port": params.port or self.default_port,
            "user": params.user or "",
            "password": params.password or "",
            "connection_timeout": max(1, int(round(timeout))),
            "charset": "utf8mb4",
            "use_pure": not mysql.connector.HAVE_CEXT,
        }
        if params.database:
            kwargs["database"] = params.database
        kwargs.update(params.options)
        opened = mysql.connector.connect(**kwargs)
        try:
            connection = driver_connection(opened)
        except TypeError:  # a pooled connection (pool_* options): not one this dialect can drive
            opened.close()
            raise
        if params.read_only:
            # Every transaction of a source session is read-only, also the ones open_read does not start.
            cursor = connection.cursor()
            try:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
            finally:
                cursor.close()
        return connection

    def cancel_running(self, connection: Connection, params: ConnectParams) -> None:
        """``KILL QUERY`` from a second connection: the protocol cannot stop a statement from its own."""
        thread_id = _mysql(connection).connection_id
        if thread_id is None:  # not connected: nothing runs
            return
        killer = self.connect(params, _CANCEL_TIMEOUT)
        try:
            cursor = killer.cursor()
            try:
                cursor.execute(f"KILL QUERY {thread_id}")
            finally:
                cursor.close()
        finally:
            killer.close()

    def server_version(self, connection: Connection) -> str:
        cursor = _mysql(connection).cursor()
        try:
            cursor.execute("SELECT VERSION()")
            (version,) = one_row(cursor)
        finally:
            cursor.close()
        version = version.decode() if isinstance(version, (bytes, bytearray)) else str(version)
        product = "MariaDB" if "mariadb" in version.lower() else "MySQL"
        return f"{product} {version}"

    # -- names ----------------------------------------------------------------------------------

    def check_identifier(self, name: str) -> None:
        if not name:
            raise UsageError("an identifier cannot be empty")
        if len(name) > self.max_identifier_length:
            raise UsageError(f"the name {name!r} is longer than {self.display_name} allows "
                             f"({self.max_identifier_length} characters)")
        if "\x00" in name or any(ord(ch) > 0xFFFF for ch in name):
            raise UsageError(f"the name {name!r} holds a character {self.display_name} does not allow "
                             "in names (NUL or one outside the Basic Multilingual Plane, such as emoji)")
        if name.endswith(" "):
            raise UsageError(f"the name {name!r} ends with a space, which {self.display_name} does not allow")

    def quote_identifier(self, name: str) -> str:
        self.check_identifier(name)
        return "`" + name.replace("`", "``") + "`"

    # -- reading --------------------------------------------------------------------------------

    def param_marker(self, index: int) -> str:
        # A session variable set from a bound value just before the query: the driver would
        # otherwise interpolate into the query's own text, where a literal %s would be taken too.
        return f"@qdbm_param_{index}"

    def open_read(self, connection: Connection, query: str, batch_size: int,
                  params: Sequence[Any] | None = None) -> MySQLReadStream:
        """Stream ``query`` in a read-only transaction; ``params`` fill its ``@qdbm_param_N`` markers
        (a zoned datetime is bound as naive UTC, as the session's zone is UTC)."""
        if batch_size < 1:
            raise UsageError(f"the batch size must be at least 1 (got {batch_size})")
        # Without its trailing semicolon: the server would take "SELECT 1; -- note" for two statements.
        query = query_body(query, self.name)
        driver = _mysql(connection)
        cursor = driver.cursor()
        try:
            cursor.execute("SET SESSION time_zone = '+00:00'")
            if params:
                values = [v.astimezone(_UTC).replace(tzinfo=None)
                          if isinstance(v, dt.datetime) and v.tzinfo is not None else v for v in params]
                cursor.execute("SET " + ", ".join(f"{self.param_marker(i)} = %s" for i in range(len(values))),
                               values)
            cursor.execute("START TRANSACTION READ ONLY")
        finally:
            cursor.close()
        try:
            cursor, description, catalog, binary = self._run_query(driver, query)
        except BaseException:
            with contextlib.suppress(Exception):
                driver.rollback()
            raise
        columns: list[Column] = []
        stream = MySQLReadStream(driver, cursor, columns, [], batch_size, binary)
        for index, desc in enumerate(description):
            name, type_code, flags, charset = desc[0], int(desc[1]), int(desc[7]), int(desc[8])
            known = catalog.get(index)
            collation = ""
            if known is not None:
                ptype, source_type, nullable, collation = known
                # The catalog knows the column, the server the query: an outer join's other side
                # may be NULL in a NOT NULL column, and the result's flags say so.
                nullable = nullable or not flags & _FLAG_NOT_NULL
            else:
                ptype = portable_from_field(type_code, flags, charset)
                source_type = _field_type_name(type_code, flags, charset)
                nullable = not flags & _FLAG_NOT_NULL
            native = verbatim_type(source_type) if known is not None else ""
            columns.append(Column(name, ptype, nullable, source_type, collation=collation, native=native,
                                  native_engine="mysql" if native else "",
                                  labels=enum_labels(source_type) if known is not None else ()))
            stream._converters.append(stream._converter(index, ptype.kind, type_code))
        return stream

    def _run_query(self, connection: MySQLConnection, query: str
                   ) -> tuple[MySQLCursor, Sequence[tuple[Any, ...]],
                              dict[int, tuple[PortableType, str, bool, str]], bool]:
        """Run ``query`` unbuffered: the cursor, its description, the catalog types of its columns
        and whether it is read with the binary protocol (when it holds a FLOAT column, which the
        text protocol sends with 6 significant digits only)."""
        referenced = referenced_tables(query)
        looked_up: dict[tuple[str, str, str], Column] | None = None
        catalog: dict[int, tuple[PortableType, str, bool, str]] = {}
        if referenced is None:
            catalog = self._describe_query(connection, query)
        else:
            # Looked up before the query runs, so that it runs once (a describe would compute
            # its derived tables a first time).
            tables = self._resolved(connection, referenced)
            looked_up = self._catalog_columns(connection, tables) if tables else {}
        if looked_up is None:
            text_first = not any(ptype.kind is Kind.FLOAT32 for ptype, _, _, _ in catalog.values())
        else:
            text_first = not _may_select_float(query, looked_up.values())
        if text_first:
            cursor = connection.cursor(buffered=False, raw=True)
            cursor.execute(query)
            description = cursor.description or ()
            if not any(int(d[1]) == _FLOAT for d in description):
                if looked_up is not None:
                    catalog = _catalog_of_result(looked_up, _fetch_fields(connection, cursor))
                return cursor, description, catalog, False
            # A FLOAT the catalog did not foresee (an expression, a table found by a describe):
            # drop the text result unread and run the query again in the binary protocol.
            connection.consume_results()
            cursor.close()
        cursor = connection.cursor(prepared=True)
        cursor.execute(query)
        description = cursor.description or ()
        if looked_up is not None:
            catalog = _catalog_of_result(looked_up, _prepared_fields(cursor))
        return cursor, description, catalog, True

    def _resolved(self, connection: MySQLConnection,
                  tables: Sequence[tuple[str | None, str]]) -> list[tuple[str, str]]:
        """``(database, table)`` pairs, the connection's current database where none is named."""
        if all(db for db, _ in tables):
            return sorted({(str(db), name) for db, name in tables})
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT DATABASE()")
            (current,) = one_row(cursor)
        finally:
            cursor.close()
        pairs = {(db or _text(current), name) for db, name in tables if db or current is not None}
        return sorted(pairs)

    def _describe_query(self, connection: MySQLConnection,
                        query: str) -> dict[int, tuple[PortableType, str, bool, str]]:
        """Catalog types of the result columns that come straight from a table, for a query whose
        tables sqlglot cannot name (see ``referenced_tables``).

        The C extension's metadata has no lengths or precisions (and so no tinyint(1)), so the
        query runs once with ``sql_select_limit = 0`` for its column origins, which are then looked
        up in information_schema. (A query with its own LIMIT returns rows here; they are dropped.)
        The server still computes derived tables then, so this costs a second run of them.
        """
        cursor = connection.cursor(buffered=False, raw=True)
        try:
            # Put back what was set before (a preview's limit), not the default.
            cursor.execute("SELECT @@SESSION.sql_select_limit")
            ((limit,),) = cursor.fetchall()
            cursor.execute("SET SESSION sql_select_limit = 0")
            try:
                cursor.execute(query)
                fields = _fetch_fields(connection, cursor)
                cursor.fetchall()
            finally:
                cursor.execute(f"SET SESSION sql_select_limit = {int(limit)}")
        finally:
            cursor.close()
        origins = _origins(fields)
        if not origins:
            return {}
        tables = sorted({(db, table) for db, table, _ in origins.values()})
        return _catalog_of_result(self._catalog_columns(connection, tables), fields)

    def _catalog_columns(self, connection: MySQLConnection,
                         tables: Sequence[tuple[str, str]]) -> dict[tuple[str, str, str], Column]:
        where = " OR ".join(["(c.TABLE_SCHEMA = %s AND c.TABLE_NAME = %s)"] * len(tables))
        params = [part for pair in tables for part in pair]
        cursor = connection.cursor()
        try:
            cursor.execute(
                "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, "
                "c.CHARACTER_MAXIMUM_LENGTH, c.IS_NULLABLE, c.DATA_TYPE, c.COLLATION_NAME "
                # The LIMIT overrides a preview's sql_select_limit, which would cut the catalog short.
                f"FROM information_schema.COLUMNS c WHERE {where} ORDER BY c.ORDINAL_POSITION "
                f"LIMIT {_NO_LIMIT}", params)
            rows = cursor.fetchall()
            json_columns = self._mariadb_json_columns(cursor, tables) if any(
                _text(r[6]).lower() == "longtext" for r in rows) else set()
        finally:
            cursor.close()
        found: dict[tuple[str, str, str], Column] = {}
        for schema, table, column, column_type, char_len, nullable, _, collation in rows:
            schema, table, column = _text(schema), _text(table), _text(column)
            column_type = _text(column_type)
            is_json = (schema, table, column) in json_columns
            ptype = portable_from_column_type(column_type, _int_or_none(char_len), is_json)
            source = "json" if is_json else column_type
            kept = _text(collation) if collation is not None and ptype.kind in TEXT_KINDS else ""
            native = verbatim_type(source)
            found[(schema, table, column)] = Column(
                column, ptype, _text(nullable) == "YES", source, collation=kept, native=native,
                native_engine="mysql" if native else "", labels=enum_labels(source))
        return found

    def _mariadb_json_columns(self, cursor: MySQLCursor,
                              tables: Sequence[tuple[str, str]]) -> set[tuple[str, str, str]]:
        # MariaDB's JSON is LONGTEXT plus a CHECK (json_valid(`col`)) constraint; MySQL has no
        # such table before 8.0.16 and a real JSON type anyway.
        where = " OR ".join(["(CONSTRAINT_SCHEMA = %s AND TABLE_NAME = %s)"] * len(tables))
        try:
            cursor.execute("SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE "
                           f"FROM information_schema.CHECK_CONSTRAINTS WHERE {where} LIMIT {_NO_LIMIT}",
                           [p for pair in tables for p in pair])
            rows = cursor.fetchall()
        except Exception:  # noqa: BLE001 - an old server without the table has no JSON checks
            return set()
        found = set()
        for schema, table, clause in rows:
            match = re.fullmatch(r"\s*json_valid\(`((?:[^`]|``)*)`\)\s*", _text(clause))
            if match:
                found.add((_text(schema), _text(table), match.group(1).replace("``", "`")))
        return found

    # -- types ----------------------------------------------------------------------------------

    def native_type(self, ptype: PortableType) -> str:
        kind, length = ptype.kind, ptype.length
        if kind is Kind.DECIMAL:
            precision, scale = _decimal_precision(ptype)
            return f"DECIMAL({precision},{scale})"
        if kind is Kind.CHAR and length is not None and length <= 255:
            return f"CHAR({length})"
        if kind in (Kind.CHAR, Kind.VARCHAR):
            if length is None:
                return "LONGTEXT"
            # 4 bytes a character in utf8mb4 against the 65,535-byte row limit.
            return f"VARCHAR({length})" if length <= 16383 else _text_type(length * 4)
        if kind is Kind.BINARY:
            if length is None:
                return "LONGBLOB"
            return f"VARBINARY({length})" if length <= 8192 else _blob_type(length)
        return _FIXED_NATIVE[kind]

    def prepare_preview(self, connection: Connection, rows: int) -> None:
        # The protocol cannot stop a result half-way (closing reads the rest), so a preview of a big
        # query would read all of it; the server stops a top-level SELECT at sql_select_limit.
        cursor = _mysql(connection).cursor()
        try:
            cursor.execute(f"SET SESSION sql_select_limit = {int(rows)}")
        finally:
            cursor.close()

    # -- loading --------------------------------------------------------------------------------

    def load_session_sql(self) -> tuple[str, ...]:
        return ("SET SESSION time_zone = '+00:00'", f"SET SESSION sql_mode = '{LOAD_SQL_MODE}'",
                "SET NAMES utf8mb4")

    def _locate(self, connection: MySQLConnection, table: TableName) -> tuple[str, str] | None:
        """The (schema, name) the server stores for ``table``, or None when it does not exist."""
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT TABLE_SCHEMA, TABLE_NAME, @@lower_case_table_names "
                           "FROM information_schema.TABLES "
                           "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s",
                           (table.schema, table.name))
            rows = [(_text(s), _text(n), int(lc)) for s, n, lc in cursor.fetchall()]
        finally:
            cursor.close()
        # information_schema compares names without case; the server does only where
        # lower_case_table_names is set (Windows, macOS).
        for schema, name, _ in rows:
            if name == table.name:
                return schema, name
        if rows and rows[0][2]:
            return rows[0][0], rows[0][1]
        return None

    def table_exists(self, connection: Connection, table: TableName) -> bool:
        return self._locate(_mysql(connection), table) is not None

    def table_columns(self, connection: Connection, table: TableName) -> list[Column]:
        driver = _mysql(connection)
        located = self._locate(driver, table)
        if located is None:
            raise UsageError(f"table {table} does not exist")
        found = self._catalog_columns(driver, [located])
        return list(found.values())

    def create_table_sql(self, table: TableName, columns: Sequence[Column],
                         primary_key: Sequence[str] = ()) -> str:
        if not columns:
            raise UsageError(f"table {table} needs at least one column")
        natives = [self.column_type(c) for c in columns]
        keys = set(primary_key)
        for index, column in enumerate(columns):
            if column.name in keys and natives[index].upper().endswith(("TEXT", "BLOB")):
                raise UsageError(f"key column {column.name!r} is {column.type}, which {self.display_name} "
                                 "cannot index; give it a varchar(n) or binary(n) type")
        natives = _fit_row_size(natives, [c.name in keys for c in columns])
        parts = [f"{self.quote_identifier(c.name)} {native}{_collate(c, native)}"
                 + ("" if c.nullable else " NOT NULL") for c, native in zip(columns, natives, strict=True)]
        missing = [k for k in primary_key if k not in {c.name for c in columns}]
        if missing:
            raise UsageError(f"key column(s) {', '.join(map(repr, missing))} are not among the columns")
        if primary_key:
            parts.append(f"PRIMARY KEY ({', '.join(self.quote_identifier(k) for k in primary_key)})")
        # utf8mb4 holds every character (utf8mb3 loses 4-byte ones such as emoji); the binary
        # collation keeps 'a' and 'A' (and 'a' and 'a ') distinct, as other engines' keys do.
        # A column read from MySQL/MariaDB keeps its own collation (and so its character set).
        return (f"CREATE TABLE {self.qualified(table)} (\n  " + ",\n  ".join(parts) +
                "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")

    def list_schemas(self, connection: Connection) -> list[str]:
        return catalog.list_schemas(_mysql(connection))

    def list_relations(self, connection: Connection, schema: str | None) -> list[Relation]:
        return catalog.list_relations(_mysql(connection), schema)

    def describe_table(self, connection: Connection, table: TableName) -> TableShape:
        driver = _mysql(connection)
        located = self._locate(driver, table)
        if located is None:
            raise UsageError(f"table {table} does not exist")
        return catalog.describe_table(driver, located, table)

    def create_table(self, connection: Connection, table: TableName, columns: Sequence[Column],
                     primary_key: Sequence[str] = ()) -> None:
        """As the base does, with each column's collation kept where this server has it (a MySQL 8
        ``utf8mb4_0900_ai_ci`` is unknown to MariaDB: such a column takes the table's own)."""
        wanted = sorted({c.collation for c in columns if c.collation})
        if wanted:
            cursor = _mysql(connection).cursor()
            try:
                cursor.execute("SELECT COLLATION_NAME FROM information_schema.COLLATIONS "
                               "WHERE COLLATION_NAME IN (" + ", ".join(["%s"] * len(wanted)) + ")", wanted)
                known = {_text(r[0]) for r in cursor.fetchall()}
            finally:
                cursor.close()
            columns = [c if not c.collation or c.collation in known else replace(c, collation="")
                       for c in columns]
        super().create_table(connection, table, columns, primary_key)

    def column_type(self, column: Column) -> str:
        """A MySQL source's exact type as it is; an enum's labels (a PostgreSQL enum) as ENUM."""
        native = column.native_for(self.name)
        if native:
            # VARCHAR(n) / VARBINARY(n) as the row-size fitting spells them (no label to keep).
            return native.upper() if re.fullmatch(r"(?i)(varchar|varbinary)\(\d+\)", native) else native
        if column.labels and column.type.kind in (Kind.CHAR, Kind.VARCHAR, Kind.TEXT):
            return enum_type(column.labels) or self.native_type(column.type)
        return self.native_type(column.type)

    def list_tables(self, connection: Connection, schema: str | None, prefix: str) -> list[TableName]:
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        cursor = _mysql(connection).cursor()
        try:
            cursor.execute("SELECT TABLE_NAME FROM information_schema.TABLES "
                           "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME LIKE %s "
                           "ORDER BY TABLE_NAME", (schema, like))
            names = [_text(r[0]) for r in cursor.fetchall()]
        finally:
            cursor.close()
        return [TableName(n, schema) for n in names if n.startswith(prefix)]

    def open_writer(self, connection: Connection, table: TableName, columns: Sequence[Column],
                    work_dir: Path | None = None) -> BulkWriter:
        driver = _mysql(connection)
        cursor = driver.cursor()
        try:
            cursor.execute("SELECT @@GLOBAL.local_infile, @@max_allowed_packet")
            local_infile, max_packet = one_row(cursor)
        finally:
            cursor.close()
        # Both driver classes have set_allow_local_infile_in_path (the narrowing admits only them).
        if self.use_load_data and int(local_infile):
            return LoadDataWriter(self, driver, table, columns, work_dir)
        log.info("loading with multi-row INSERT (server local_infile=%s)", local_infile)
        return InsertWriter(self, driver, table, columns, int(max_packet))

    # -- locks between runs ---------------------------------------------------------------------

    def open_lock_session(self, params: ConnectParams, timeout: float) -> LockSession:
        connection = self._connect(params, timeout)
        connection.autocommit = True
        return connection

    @staticmethod
    def lock_name(name: str) -> str:
        """The ``GET_LOCK`` name for ``name``: such names are server-wide and 64 characters at most."""
        if len(name) <= 64 and name.isascii():
            return name
        return "qdbm-" + lock_digest(name, 40)

    def try_lock(self, session: LockSession, name: str) -> bool:
        cursor = _mysql(session).cursor()
        try:
            cursor.execute("SELECT GET_LOCK(%s, 0)", (self.lock_name(name),))
            (got,) = one_row(cursor)
        finally:
            cursor.close()
        return got is not None and int(got) == 1

    def unlock(self, session: LockSession, name: str) -> None:
        cursor = _mysql(session).cursor()
        try:
            cursor.execute("SELECT RELEASE_LOCK(%s)", (self.lock_name(name),))
            cursor.fetchall()
        finally:
            cursor.close()

    def table_lock_name(self, session: LockSession, table: TableName) -> str:
        cursor = _mysql(session).cursor()
        try:
            cursor.execute("SELECT COALESCE(%s, DATABASE()), @@lower_case_table_names", (table.schema,))
            schema, lower = one_row(cursor)
        finally:
            cursor.close()
        schema, name = _text(schema) if schema is not None else "", table.name
        if int(lower):  # the server compares table names without case (Windows, macOS)
            schema, name = schema.lower(), name.lower()
        return "qdbm-table:" + json.dumps([schema, name])

    def finalize(self, connection: Connection, mode: LoadMode, target: TableName, staging: TableName,
                 columns: Sequence[Column], keys: Sequence[str], target_exists: bool) -> None:
        driver = _mysql(connection)
        cursor = driver.cursor()
        try:
            # A writer that failed may have left these off; upserts need the unique checks.
            cursor.execute("SET SESSION unique_checks = 1, SESSION foreign_key_checks = 1")
            driver.commit()
            exists_now = self.table_exists(driver, target)
            if mode is LoadMode.CREATE and exists_now:
                raise UsageError(f"table {target} already exists (mode create); choose append, "
                                 "truncate, replace or upsert")
            if exists_now and mode is LoadMode.UPSERT:
                self._check_unique_key(driver, target, keys, [c.name for c in columns])
            plan = self.swap_plan(mode, target, staging, columns, keys, exists_now)
            if not plan.transactional:
                for statement in plan.statements:
                    cursor.execute(statement)
            else:
                cursor.execute("START TRANSACTION")
                try:
                    for statement in plan.statements:
                        cursor.execute(statement)
                    driver.commit()
                except BaseException:
                    driver.rollback()
                    raise
            for statement in plan.after_commit:
                cursor.execute(statement)
        finally:
            cursor.close()

    def swap_plan(self, mode: LoadMode, target: TableName, staging: TableName, columns: Sequence[Column],
                  keys: Sequence[str], target_exists: bool,
                  casts: Mapping[str, str] | None = None) -> SwapPlan:
        target_q, staging_q = self.qualified(target), self.qualified(staging)
        names = ", ".join(self.quote_identifier(c.name) for c in columns)
        # A missing target is made from the staging table in every mode (the pipeline gave
        # the staging table the upsert key in that case).
        if mode is LoadMode.CREATE or not target_exists:
            # RENAME is one DDL statement: it either happens or not (it fails if the target
            # appeared meanwhile).
            return SwapPlan((f"RENAME TABLE {staging_q} TO {target_q}",), transactional=False)
        if mode is LoadMode.REPLACE:
            old = self.qualified(TableName(_old_name(staging.name), target.schema))
            # Both renames in one statement are atomic; a crash before the DROP leaves a
            # qdbm_old_<run> table that the next run finds by name and drops.
            return SwapPlan((f"RENAME TABLE {target_q} TO {old}, {staging_q} TO {target_q}",),
                            transactional=False, after_commit=(f"DROP TABLE {old}",))
        insert = f"INSERT INTO {target_q} ({names}) SELECT {names} FROM {staging_q}"
        if mode is LoadMode.TRUNCATE:
            # DELETE, not TRUNCATE: TRUNCATE is DDL and would commit on its own.
            statements: tuple[str, ...] = (f"DELETE FROM {target_q}", insert)
        elif mode is LoadMode.APPEND:
            statements = (insert,)
        elif mode is LoadMode.UPSERT:
            if not keys:
                raise UsageError("upsert needs key columns")
            updates = [c.name for c in columns if c.name not in set(keys)] or list(keys[:1])
            # VALUES(col) is the form MariaDB understands (MySQL 8 still accepts it).
            assignments = ", ".join(f"{self.quote_identifier(n)} = VALUES({self.quote_identifier(n)})"
                                    for n in updates)
            statements = (f"{insert} ON DUPLICATE KEY UPDATE {assignments}",)
        else:
            raise UsageError(f"unknown load mode {mode!r}")
        # After the commit: DROP is DDL and would have committed the step half-way.
        return SwapPlan(statements, transactional=True, after_commit=(f"DROP TABLE IF EXISTS {staging_q}",))

    def _check_unique_key(self, connection: MySQLConnection, target: TableName, keys: Sequence[str],
                          names: Sequence[str]) -> None:
        if not keys:
            raise UsageError("upsert needs key columns")
        missing = [k for k in keys if k not in names]
        if missing:
            raise UsageError(f"key column(s) {', '.join(map(repr, missing))} are not loaded columns")
        located = self._locate(connection, target)
        assert located is not None
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
                           "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND NON_UNIQUE = 0", located)
            indexes: dict[str, set[str]] = {}
            for index, column in cursor.fetchall():
                indexes.setdefault(_text(index), set()).add(_text(column))
        finally:
            cursor.close()
        wanted = set(keys)
        if wanted not in indexes.values():
            raise UsageError(f"upsert into {target} needs a PRIMARY KEY or UNIQUE index on exactly "
                             f"({', '.join(keys)}); {self.display_name} matches rows only through one")


def _old_name(staging_name: str) -> str:
    """The name the replaced table gets for the moment between the swap and its DROP."""
    if staging_name.startswith("qdbm_stg_"):
        name = "qdbm_old_" + staging_name[len("qdbm_stg_"):]
    else:
        name = "qdbm_old_" + staging_name
    if len(name) > 64:
        name = "qdbm_old_" + hashlib.sha1(staging_name.encode()).hexdigest()[:16]
    return name


_COLLATION_NAME = re.compile(r"[A-Za-z0-9_]+")
_TEXT_NATIVE = ("CHAR", "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET")


def _collate(column: Column, native: str) -> str:
    """`` COLLATE x`` for a column that keeps its source collation (a text type only)."""
    if not column.collation or not _COLLATION_NAME.fullmatch(column.collation):
        return ""
    return f" COLLATE {column.collation}" if native.upper().startswith(_TEXT_NATIVE) else ""
