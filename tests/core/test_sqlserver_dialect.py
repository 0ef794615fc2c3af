"""The SQL Server dialect's T-SQL, read back by sqlglot's T-SQL parser, plus its type mapping,
connection strings and value checks.

No SQL Server runs here: every statement the dialect generates is parsed in the "tsql" dialect
and the parsed tree (statement kind, types, quoted names, parameter markers) is checked. The ODBC
transport that sends these statements is tested for real in tests/integration/test_odbc_transport.py.
"""

from __future__ import annotations

import math
import struct
import subprocess
import sys
import uuid
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from qdbm_desktop.core.dialects import get_dialect
from qdbm_desktop.core.dialects.base import ConnectParams, LoadMode, TableName
from qdbm_desktop.core.dialects.sqlserver import SQLServerDialect, portable_from_type_name
from qdbm_desktop.core.dialects.sqlserver.types import _datetimeoffset
from qdbm_desktop.core.errors import DriverMissing, UsageError
from qdbm_desktop.core.types import Column, Kind, PortableType
from tests.integration.conftest import pyodbc_or_skip

DIALECT = SQLServerDialect()
T = PortableType.parse

#: One column of every portable kind, and names that need quoting (reserved word, space, unicode, bracket).
COLUMNS = [
    Column("id", T("int64"), nullable=False), Column("i16", T("int16")), Column("i32", T("int32")),
    Column("d12", T("decimal(12,2)")), Column("dec", T("decimal")), Column("f32", T("float32")),
    Column("f64", T("float64")), Column("flag", T("boolean")), Column("ch", T("char(3)")),
    Column("vc", T("varchar(60)")), Column("long vc", T("varchar(5000)")), Column("tx", T("text")),
    Column("bin", T("binary")), Column("b16", T("binary(16)")), Column("dt", T("date")), Column("tm", T("time")),
    Column("ts", T("timestamp")), Column("tstz", T("timestamptz")), Column("js", T("json")), Column("u", T("uuid")),
    Column("order", T("int32")), Column("Unit Price €", T("decimal(10,4)")), Column("odd]name", T("varchar(5)")),
]
#: What each column's type reads back as from sqlglot's T-SQL rendering of the parsed DDL (sqlglot
#: reads T-SQL's real as FLOAT without its width, so real is also checked in the text).
EXPECTED_TYPES = {
    "id": "BIGINT", "i16": "SMALLINT", "i32": "INTEGER", "d12": "NUMERIC(12, 2)", "dec": "NUMERIC(38, 10)",
    "f32": "FLOAT", "f64": "FLOAT", "flag": "BIT", "ch": "NCHAR(3)", "vc": "NVARCHAR(60)",
    "long vc": "NVARCHAR(MAX)", "tx": "NVARCHAR(MAX)", "bin": "VARBINARY(MAX)", "b16": "VARBINARY(16)",
    "dt": "DATE", "tm": "TIME(7)", "ts": "DATETIME2(7)", "tstz": "DATETIMEOFFSET(7)", "js": "NVARCHAR(MAX)",
    "u": "UNIQUEIDENTIFIER", "order": "INTEGER", "Unit Price €": "NUMERIC(10, 4)", "odd]name": "NVARCHAR(5)",
}
TARGET, STAGING = TableName("fixture copy", "dbo"), TableName("qdbm_stg_0123456789ab", "dbo")


def parse(sql: str) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read="tsql")
    assert isinstance(tree, exp.Expression)
    return tree


def identifier_names(node: exp.Expression) -> list[tuple[str, bool]]:
    return [(i.this, i.quoted) for i in node.find_all(exp.Identifier)]


def table_parts(table: exp.Table | None) -> tuple[str | None, str]:
    assert table is not None
    return (table.args["db"].this if table.args.get("db") else None), table.this.this


def test_create_table_parses_as_tsql_with_every_portable_type_declared_as_documented() -> None:
    ddl = DIALECT.create_table_sql(TARGET, COLUMNS, ("id",))
    tree = parse(ddl)

    assert "[f32] real," in ddl and "[f64] float," in ddl
    assert isinstance(tree, exp.Create) and tree.args["kind"] == "TABLE"
    schema = tree.this
    assert table_parts(schema.this) == ("dbo", "fixture copy")
    assert all(i.quoted for i in schema.this.find_all(exp.Identifier))
    defs = [e for e in schema.expressions if isinstance(e, exp.ColumnDef)]
    assert [d.this.this for d in defs] == [c.name for c in COLUMNS]
    assert all(d.this.quoted for d in defs)
    assert {d.this.this: d.args["kind"].sql("tsql") for d in defs} == EXPECTED_TYPES
    not_null = [d.this.this for d in defs if any(isinstance(c.kind, exp.NotNullColumnConstraint)
                                                for c in d.constraints)]
    assert not_null == ["id"]
    key = next(e for e in schema.expressions if isinstance(e, exp.PrimaryKey))
    assert [(i.this, i.quoted) for i in key.find_all(exp.Identifier)] == [("id", True)]


def test_a_bracket_in_a_name_is_doubled_and_reads_back_as_the_same_name() -> None:
    assert DIALECT.quote_identifier("odd]name") == "[odd]]name]"
    tree = parse(f"SELECT {DIALECT.quote_identifier('odd]name')} FROM {DIALECT.qualified(TARGET)}")
    assert ("odd]name", True) in identifier_names(tree)


def test_the_bulk_insert_names_every_column_and_binds_one_marker_each() -> None:
    tree = parse(DIALECT.insert_sql(STAGING, COLUMNS))

    assert isinstance(tree, exp.Insert)
    assert table_parts(tree.this.this) == ("dbo", STAGING.name)
    assert [(i.this, i.quoted) for i in tree.this.expressions] == [(c.name, True) for c in COLUMNS]
    values = tree.expression
    assert isinstance(values, exp.Values)
    (row,) = values.expressions
    assert len(row.expressions) == len(COLUMNS) and all(isinstance(e, exp.Placeholder) for e in row.expressions)


def test_upsert_is_one_merge_matching_on_the_keys_updating_the_rest_and_inserting_the_new() -> None:
    columns = COLUMNS[:4]
    tree = parse(DIALECT.merge_sql(TARGET, STAGING, columns, ["id", "i16"]))

    assert isinstance(tree, exp.Merge)
    assert table_parts(tree.this) == ("dbo", "fixture copy") and tree.this.alias == "t"
    assert table_parts(tree.args["using"]) == ("dbo", STAGING.name) and tree.args["using"].alias == "s"
    on = [(eq.this.table, eq.this.name, eq.expression.table, eq.expression.name) for eq in tree.args["on"].find_all(exp.EQ)]
    assert on == [("t", "id", "s", "id"), ("t", "i16", "s", "i16")]
    whens = tree.args["whens"].expressions
    assert [w.args["matched"] for w in whens] == [True, False]
    update = whens[0].args["then"]
    assert isinstance(update, exp.Update)
    assert [(e.this.name, e.expression.table, e.expression.name) for e in update.expressions] == \
        [("i32", "s", "i32"), ("d12", "s", "d12")]
    insert = whens[1].args["then"]
    assert isinstance(insert, exp.Insert)
    assert [i.name for i in insert.this.expressions] == ["id", "i16", "i32", "d12"]
    assert "WITH (HOLDLOCK)" in DIALECT.merge_sql(TARGET, STAGING, columns, ["id"])


def test_upsert_where_every_column_is_a_key_only_inserts() -> None:
    tree = parse(DIALECT.merge_sql(TARGET, STAGING, COLUMNS[:2], ["id", "i16"]))
    whens = tree.args["whens"].expressions
    assert [w.args["matched"] for w in whens] == [False]


def test_upsert_keys_must_be_loaded_columns() -> None:
    with pytest.raises(UsageError, match="upsert key 'nope' is not a column of the loaded data"):
        DIALECT.merge_sql(TARGET, STAGING, COLUMNS[:2], ["nope"])


@pytest.mark.parametrize(("mode", "kinds"), [
    (LoadMode.APPEND, [exp.Insert, exp.Drop]),
    (LoadMode.TRUNCATE, [exp.TruncateTable, exp.Insert, exp.Drop]),
    (LoadMode.UPSERT, [exp.Merge, exp.Drop]),
    (LoadMode.REPLACE, [exp.Drop, exp.Execute]),
])
def test_each_final_step_into_an_existing_table_is_these_statements(mode: LoadMode, kinds: list[type]) -> None:
    statements = DIALECT.finalize_statements(mode, TARGET, STAGING, COLUMNS, ["id"], exists_now=True)
    trees = [parse(sql) for sql, _ in statements]

    assert [type(t) for t in trees] == kinds
    for tree in trees:
        for table in tree.find_all(exp.Table):
            if table.name != "sp_rename":
                assert all(i.quoted for i in table.find_all(exp.Identifier))
    if mode in (LoadMode.APPEND, LoadMode.TRUNCATE):
        insert = next(t for t in trees if isinstance(t, exp.Insert))
        assert table_parts(insert.this.this) == ("dbo", "fixture copy")
        select = insert.expression
        assert isinstance(select, exp.Select)
        assert table_parts(select.args["from_"].this) == ("dbo", STAGING.name)
        assert [e.name for e in select.expressions] == [c.name for c in COLUMNS]
    if mode in (LoadMode.TRUNCATE, LoadMode.REPLACE):  # TRUNCATE TABLE / DROP TABLE the target
        assert table_parts(trees[0].find(exp.Table)) == ("dbo", "fixture copy")
    if mode is not LoadMode.REPLACE:  # the staging table dropped last
        assert table_parts(trees[-1].find(exp.Table)) == ("dbo", STAGING.name)


def test_the_swap_renames_with_sp_rename_taking_the_new_name_bare() -> None:
    statements = DIALECT.finalize_statements(LoadMode.REPLACE, TARGET, STAGING, COLUMNS, (), exists_now=True)
    sql, params = statements[-1]
    tree = parse(sql)

    assert isinstance(tree, exp.Execute) and tree.this.name == "sp_rename"
    arguments = {e.this.name: e.expression for e in tree.expressions}
    assert isinstance(arguments["objname"], exp.Placeholder) and isinstance(arguments["newname"], exp.Placeholder)
    assert arguments["objtype"].this == "OBJECT"
    # Brackets in the new name would become part of the table's name.
    assert params == ("[dbo].[qdbm_stg_0123456789ab]", "fixture copy")


def test_a_new_target_is_the_renamed_staging_table_in_every_mode() -> None:
    for mode in LoadMode:
        statements = DIALECT.finalize_statements(mode, TARGET, STAGING, COLUMNS, ["id"], exists_now=False)
        assert [type(parse(sql)) for sql, _ in statements] == [exp.Execute]


def test_create_refuses_an_existing_target() -> None:
    with pytest.raises(UsageError, match="already exists"):
        DIALECT.finalize_statements(LoadMode.CREATE, TARGET, STAGING, COLUMNS, (), exists_now=True)


def test_counting_uses_count_big_so_large_tables_do_not_overflow() -> None:
    tree = parse(DIALECT.count_sql(TARGET))
    assert isinstance(tree, exp.Select)
    count = tree.expressions[0]
    assert isinstance(count, exp.Count) and count.args.get("big_int") is True
    assert table_parts(tree.args["from_"].this) == ("dbo", "fixture copy")


def test_describing_a_query_is_one_call_of_sp_describe_first_result_set() -> None:
    tree = parse(DIALECT.describe_sql())
    assert isinstance(tree, exp.Execute) and tree.this.name == "sp_describe_first_result_set"


def test_dropping_a_table_parses_as_drop_if_exists() -> None:
    tree = parse(f"DROP TABLE IF EXISTS {DIALECT.qualified(STAGING)}")
    assert isinstance(tree, exp.Drop) and tree.args["exists"] is True


def test_types_sql_server_cannot_hold_are_refused_when_the_table_is_planned() -> None:
    with pytest.raises(UsageError, match=r"decimal\(39,2\) is wider than SQL Server's decimal allows"):
        DIALECT.native_type(T("decimal(39,2)"))
    with pytest.raises(UsageError, match="key column 'tx' is text, which SQL Server cannot index"):
        DIALECT.create_table_sql(TARGET, [Column("tx", T("text"))], ("tx",))
    with pytest.raises(UsageError, match="longer than SQL Server allows"):
        DIALECT.quote_identifier("x" * 129)
    DIALECT.quote_identifier("é" * 128)


@pytest.mark.parametrize(("spelled", "portable"), [
    ("bit", "boolean"), ("tinyint", "int16"), ("smallint", "int16"), ("int", "int32"), ("bigint", "int64"),
    ("decimal(12,2)", "decimal(12,2)"), ("numeric(38,0)", "decimal(38,0)"), ("money", "decimal(19,4)"),
    ("smallmoney", "decimal(10,4)"), ("real", "float32"), ("float", "float64"), ("float(24)", "float32"),
    ("nchar(3)", "char(3)"), ("char(10)", "char(10)"), ("nvarchar(50)", "varchar(50)"),
    ("varchar(max)", "text"), ("nvarchar(max)", "text"), ("ntext", "text"), ("xml", "text"),
    ("varbinary(16)", "binary(16)"), ("varbinary(max)", "binary"), ("image", "binary"),
    ("rowversion", "binary(8)"), ("date", "date"), ("time(7)", "time"), ("datetime", "timestamp"),
    ("datetime2(7)", "timestamp"), ("smalldatetime", "timestamp"), ("datetimeoffset(7)", "timestamptz"),
    ("uniqueidentifier", "uuid"), ("geography", "binary"), ("sysname", "varchar(128)"),
])
def test_sql_server_types_read_as_these_portable_types(spelled: str, portable: str) -> None:
    assert str(portable_from_type_name(spelled)) == portable


def test_every_portable_type_written_and_read_back_keeps_its_meaning() -> None:
    for column in COLUMNS:
        back = portable_from_type_name(DIALECT.native_type(column.type))
        if column.type.kind in (Kind.JSON,):
            assert back.kind is Kind.TEXT
        elif column.type == T("decimal"):
            assert (back.precision, back.scale) == (38, 10)
        elif column.name == "long vc":
            assert back.kind is Kind.TEXT
        else:
            assert back == column.type, column.name


def test_connection_strings_carry_instance_port_encryption_and_windows_authentication() -> None:
    driver = "ODBC Driver 18 for SQL Server"
    with_login = DIALECT.connection_string(ConnectParams(
        host="db.example.com", port=1444, database="sales", user="loader", password="p;w}d", driver=driver,
        options={"encrypt": "yes", "trust_server_certificate": "yes"}))
    assert with_login == ("DRIVER=ODBC Driver 18 for SQL Server;SERVER=db.example.com,1444;DATABASE=sales;"
                          "UID=loader;PWD={p;w}}d};Encrypt=yes;TrustServerCertificate=yes")
    windows = DIALECT.connection_string(ConnectParams(host="db", database="sales", driver=driver,
                                                      options={"instance": "SQLEXPRESS"}))
    assert windows == "DRIVER=ODBC Driver 18 for SQL Server;SERVER=db\\SQLEXPRESS;DATABASE=sales;Trusted_Connection=yes"
    entra = DIALECT.connection_string(ConnectParams(host="db", driver=driver,
                                                    options={"authentication": "ActiveDirectoryIntegrated"}))
    assert "Trusted_Connection" not in entra and entra.endswith("Authentication=ActiveDirectoryIntegrated")


def test_without_a_sql_server_driver_the_error_says_which_drivers_exist_and_how_to_get_one() -> None:
    pyodbc = pyodbc_or_skip()
    if any("SQL Server" in d for d in pyodbc.drivers()):
        pytest.skip("a SQL Server ODBC driver is installed here")
    with pytest.raises(DriverMissing) as caught:
        DIALECT.connection_string(ConnectParams(host="db"))
    message = str(caught.value)
    assert "ODBC Driver 18 for SQL Server" in message and "msodbcsql18" in message
    assert "ODBC drivers found:" in message
    for name in pyodbc.drivers():
        assert name in message


def test_connecting_through_a_driver_that_is_not_installed_says_so_plainly() -> None:
    pyodbc = pyodbc_or_skip()
    if "ODBC Driver 18 for SQL Server" in pyodbc.drivers():
        pytest.skip("the driver is installed here")
    with pytest.raises(DriverMissing) as caught:
        DIALECT.connect(ConnectParams(host="127.0.0.1", user="u", password="p",
                                      driver="ODBC Driver 18 for SQL Server"), 1)
    message = str(caught.value)
    assert message.startswith("the ODBC driver cannot be loaded (Can't open lib 'ODBC Driver 18 for SQL Server'")
    assert "[unixODBC]" not in message and "msodbcsql18" in message


def convert(column: Column, value: Any) -> Any:
    (param,) = DIALECT.bulk_params([column])
    assert param.convert is not None
    return param.convert(value)


def test_values_are_checked_and_converted_as_sql_server_takes_them() -> None:
    assert convert(Column("t", T("timestamptz")), datetime(2024, 3, 31, 3, 30, 0, 1, tzinfo=timezone(timedelta(hours=2)))) \
        == "2024-03-31T03:30:00.000001+02:00"
    assert convert(Column("t", T("timestamptz")), datetime(2024, 1, 1)) == "2024-01-01T00:00:00.000000+00:00"
    assert convert(Column("t", T("timestamp")), datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))) \
        == datetime(2024, 1, 1, 10)
    assert convert(Column("t", T("time")), time(23, 59, 59, 999999)) == "23:59:59.999999"
    assert convert(Column("u", T("uuid")), uuid.UUID(int=5)) == "00000000-0000-0000-0000-000000000005"
    assert convert(Column("b", T("boolean")), 1) is True
    # Whole numbers of another kind are stored as the integers they are.
    assert [convert(Column("i", T("int32")), v) for v in ("42", Decimal("7.000"), 8.0, "-3")] == [42, 7, 8, -3]
    assert convert(Column("d", T("decimal(12,2)")), Decimal("1.50")) == Decimal("1.50")
    refused = [
        (Column("f", T("float64")), math.inf, "SQL Server has no NaN or Infinity"),
        (Column("f", T("float32")), 1e39, "out of range for real"),
        (Column("f", T("float64")), 5e-324, "too close to zero for SQL Server's float"),
        (Column("f", T("float32")), 1e-39, "too close to zero for SQL Server's real"),
        (Column("d", T("decimal(12,2)")), Decimal("1.005"), "more than 2 decimal places"),
        (Column("d", T("decimal(4,2)")), Decimal("100"), "out of range"),
        (Column("d", T("decimal")), Decimal("NaN"), "no NaN"),
        (Column("i", T("int16")), 32768, "out of range for smallint"),
        (Column("i", T("int32")), "abc", r"'abc' \(text\) cannot be stored in int: it is not a whole number"),
        (Column("i", T("int64")), Decimal("1.5"), r"1.5 \(decimal\) cannot be stored in bigint"),
        (Column("i", T("int64")), 2.5, r"2.5 \(float\) cannot be stored in bigint"),
        # nvarchar(n) counts UTF-16 code units: an emoji takes two.
        (Column("v", T("varchar(2)")), "a🎉", r"3 UTF-16 code units is longer than nvarchar\(2\)"),
        (Column("v", T("varchar(2)")), "abc", r"3 characters is longer than nvarchar\(2\)"),
        (Column("v", T("text")), "\ud800", "lone surrogate"),
        (Column("b", T("binary(2)")), b"abc", r"3 bytes are longer than varbinary\(2\)"),
        (Column("d", T("date")), datetime(2024, 1, 1), "is not a date"),
        (Column("u", T("uuid")), "nope", "is not a UUID"),
    ]
    for column, value, message in refused:
        with pytest.raises(ValueError, match=message):
            convert(column, value)


def test_datetimeoffset_values_are_read_with_their_offset() -> None:
    raw = struct.pack("<6hI2h", 2024, 3, 31, 3, 30, 0, 123456700, 2, 0)
    assert _datetimeoffset(raw) == datetime(2024, 3, 31, 3, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    raw = struct.pack("<6hI2h", 1, 1, 1, 0, 0, 0, 0, -5, -30)
    assert _datetimeoffset(raw).utcoffset() == -timedelta(hours=5, minutes=30)


def test_the_registry_hands_out_the_full_sql_server_dialect() -> None:
    dialect = get_dialect("sqlserver")
    assert isinstance(dialect, SQLServerDialect)
    assert dialect.native_type(T("date")) == "date"


def test_without_unixodbc_the_command_line_says_how_to_get_it_instead_of_crashing(
        without_unixodbc: dict[str, str], tmp_path: Path) -> None:
    def qdbm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "qdbm_desktop.cli", "--home", str(tmp_path / "home"), *args],
                              env=without_unixodbc, capture_output=True, text=True, timeout=120)

    loads = subprocess.run([sys.executable, "-c", "import pyodbc"], env=without_unixodbc,
                           capture_output=True, text=True)
    assert loads.returncode != 0 and "libodbc.so.2" in loads.stderr  # the machine this test stands for

    info = qdbm("info")
    assert info.returncode == 0, info.stderr
    (line,) = [line for line in info.stdout.splitlines() if "SQL Server" in line]
    assert "not available: pyodbc cannot be loaded" in line and "apt-get install unixodbc" in line
    assert "PostgreSQL" in info.stdout and "Traceback" not in info.stdout + info.stderr

    run = qdbm("migrate", "--source", "Demo shop (SQLite)", "--target", "mssql://loader:s3cret@127.0.0.1:1/sales",
               "--query", "SELECT * FROM orders", "--table", "orders")
    assert run.returncode != 0
    assert "Traceback" not in run.stderr and "s3cret" not in run.stdout + run.stderr
    assert "unixODBC" in run.stderr and "apt-get install unixodbc" in run.stderr
# -- locks between runs ---------------------------------------------------------------------------


class _LockCursor:
    """Answers the dialect's lock statements as the server would (there is no SQL Server here)."""

    def __init__(self, answers: list[Any], seen: list[tuple[str, tuple[Any, ...]]]) -> None:
        self._answers, self._seen = answers, seen

    def execute(self, sql: str, *params: Any) -> None:
        self._seen.append((sql, params))

    def fetchone(self) -> tuple[Any, ...]:
        return (self._answers.pop(0),)

    def close(self) -> None:
        pass


class _LockSession:
    def __init__(self, *answers: Any) -> None:
        self.answers: list[Any] = list(answers)
        self.seen: list[tuple[str, tuple[Any, ...]]] = []

    def close(self) -> None:
        """Nothing to end: the answers are canned."""

    def cursor(self) -> _LockCursor:
        return _LockCursor(self.answers, self.seen)


def test_run_lock_is_an_exclusive_session_applock_taken_without_waiting_in_tsql_that_parses() -> None:
    statements = sqlglot.parse(SQLServerDialect.LOCK_SQL, read="tsql")
    assert [type(s).__name__ for s in statements] == ["Set", "Declare", "Execute", "Select"]
    call = statements[2]
    assert call is not None
    text = call.sql("tsql")
    # Owned by the session, not a transaction: it outlives the run's commits, dies with the session.
    for part in ("sp_getapplock", "@Resource = ?", "@LockMode = 'Exclusive'", "@LockOwner = 'Session'",
                 "@LockTimeout = 0"):
        assert part in text
    (release,) = sqlglot.parse(SQLServerDialect.UNLOCK_SQL, read="tsql")
    assert isinstance(release, exp.Execute)
    assert "sp_releaseapplock" in release.sql("tsql") and "@LockOwner = 'Session'" in release.sql("tsql")
    assert isinstance(parse(SQLServerDialect.SCHEMA_SQL), exp.Select)


@pytest.mark.parametrize(("answer", "taken"), [(0, True), (1, True), (-1, False), (-3, False), (-999, False)])
def test_applock_result_codes_mean_taken_or_held_elsewhere(answer: int, taken: bool) -> None:
    session = _LockSession(answer)
    assert DIALECT.try_lock(session, "qdbm_stg_0123456789ab") is taken
    assert session.seen == [(SQLServerDialect.LOCK_SQL, ("qdbm_stg_0123456789ab",))]


def test_applock_resources_stay_within_255_characters_and_table_locks_ignore_case_and_the_default_schema() -> None:
    long = "x" * 300
    assert len(DIALECT.lock_resource(long)) <= 255 and DIALECT.lock_resource(long) != DIALECT.lock_resource("y" * 300)
    assert DIALECT.lock_resource("qdbm_stg_0123456789ab") == "qdbm_stg_0123456789ab"
    unqualified = DIALECT.table_lock_name(_LockSession("dbo"), TableName("Orders"))
    qualified = DIALECT.table_lock_name(_LockSession("DBO"), TableName("orders", "DBO"))
    assert unqualified == qualified
    assert DIALECT.table_lock_name(_LockSession("sales"), TableName("orders")) != unqualified
