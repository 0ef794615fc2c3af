"""The Oracle dialect's SQL, read back by sqlglot's Oracle parser, plus its names, type mapping
and value checks.

No Oracle server runs here: every statement the dialect generates is parsed in the "oracle"
dialect and the parsed tree (statement kind, types, quoted names, bind markers) is checked.
tests/integration/test_sqlserver_oracle_servers.py runs the same code against a real server when
QDBM_TEST_ORACLE_URL is set.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from qdbm_desktop.core.dialects import get_dialect
from qdbm_desktop.core.dialects.base import ConnectParams, LoadMode, LocksUnavailable, TableName
from qdbm_desktop.core.dialects.oracle import (
    OracleDialect,
    catalog_spelling,
    old_name,
    portable_from_catalog,
    portable_from_declared,
    reported_name,
    stored_name,
)
from qdbm_desktop.core.dialects.oracle.types import _interval_to_time
from qdbm_desktop.core.dialects.oracle.write import _TextCheck
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.types import Column, PortableType

oracledb = pytest.importorskip("oracledb")
DIALECT = OracleDialect()
T = PortableType.parse

COLUMNS = [
    Column("id", T("int64"), nullable=False), Column("i16", T("int16")), Column("i32", T("int32")),
    Column("d12", T("decimal(12,2)")), Column("dec", T("decimal")), Column("f32", T("float32")),
    Column("f64", T("float64")), Column("flag", T("boolean")), Column("ch", T("char(3)")),
    Column("vc", T("varchar(60)")), Column("long vc", T("varchar(5000)")), Column("tx", T("text")),
    Column("bin", T("binary")), Column("b16", T("binary(16)")), Column("dt", T("date")), Column("tm", T("time")),
    Column("ts", T("timestamp")), Column("tstz", T("timestamptz")), Column("js", T("json")), Column("u", T("uuid")),
    Column("order", T("int32")), Column("Unit Price €", T("decimal(10,4)")), Column("MixedCase", T("int16")),
]
#: Stored name and type (as sqlglot renders the parsed DDL) of each column.
EXPECTED = {
    "ID": "NUMBER(19)", "I16": "NUMBER(5)", "I32": "NUMBER(10)", "D12": "NUMBER(12, 2)", "DEC": "NUMBER",
    "F32": "FLOAT", "F64": "DOUBLE PRECISION", "FLAG": "NUMBER(1)", "CH": "CHAR(3 CHAR)",
    "VC": "VARCHAR2(60 CHAR)", "long vc": "CLOB", "TX": "CLOB", "BIN": "BLOB", "B16": "RAW(16)", "DT": "DATE",
    "TM": "INTERVAL DAY TO SECOND", "TS": "TIMESTAMP(6)", "TSTZ": "TIMESTAMP(6) WITH TIME ZONE", "JS": "CLOB",
    "U": "VARCHAR2(36 CHAR)", "ORDER": "NUMBER(10)", "Unit Price €": "NUMBER(10, 4)", "MixedCase": "NUMBER(5)",
}
TARGET, STAGING = TableName("fixture copy", "app"), TableName("qdbm_stg_0123456789ab", "app")


def parse(sql: str) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read="oracle")
    assert isinstance(tree, exp.Expression)
    return tree


def table_parts(table: exp.Table | None) -> tuple[str | None, str]:
    assert table is not None
    return (table.args["db"].this if table.args.get("db") else None), table.this.this


def test_create_table_parses_as_oracle_with_every_portable_type_declared_as_documented() -> None:
    tree = parse(DIALECT.create_table_sql(TARGET, COLUMNS, ("id",)))

    assert isinstance(tree, exp.Create) and tree.args["kind"] == "TABLE"
    # A simple lower-case name is stored upper-case, as Oracle would store it unquoted; others exactly.
    assert table_parts(tree.this.this) == ("APP", "fixture copy")
    defs = [e for e in tree.this.expressions if isinstance(e, exp.ColumnDef)]
    assert all(d.this.quoted for d in defs)
    assert {d.this.this: d.args["kind"].sql("oracle") for d in defs} == EXPECTED
    assert [d.this.this for d in defs] == list(EXPECTED)
    kinds = {d.this.this: d.args["kind"].this for d in defs}
    assert (kinds["F32"], kinds["F64"]) == (exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE)
    assert kinds["TSTZ"] == exp.DataType.Type.TIMESTAMPTZ
    not_null = [d.this.this for d in defs if any(isinstance(c.kind, exp.NotNullColumnConstraint)
                                                for c in d.constraints)]
    assert not_null == ["ID"]
    key = next(e for e in tree.this.expressions if isinstance(e, exp.PrimaryKey))
    assert [(i.this, i.quoted) for i in key.find_all(exp.Identifier)] == [("ID", True)]


def test_booleans_are_boolean_columns_on_servers_that_have_them() -> None:
    tree = parse(DIALECT.create_table_sql(TARGET, [Column("flag", T("boolean"))], native_boolean=True))
    (column,) = tree.this.expressions
    assert column.args["kind"].this == exp.DataType.Type.BOOLEAN


def test_the_bulk_insert_names_every_column_and_binds_one_marker_each() -> None:
    tree = parse(DIALECT.insert_sql(STAGING, COLUMNS))

    assert isinstance(tree, exp.Insert)
    assert table_parts(tree.this.this) == ("APP", "QDBM_STG_0123456789AB")
    assert [i.this for i in tree.this.expressions] == list(EXPECTED)
    (row,) = tree.expression.expressions
    assert [p.name for p in row.expressions] == [f"v{i}" for i in range(1, len(COLUMNS) + 1)]
    assert all(isinstance(p, exp.Placeholder) for p in row.expressions)


def test_upsert_is_one_merge_matching_on_the_keys_updating_the_rest_and_inserting_the_new() -> None:
    tree = parse(DIALECT.merge_sql(TARGET, STAGING, COLUMNS[:4], ["id", "i16"]))

    assert isinstance(tree, exp.Merge)
    assert table_parts(tree.this) == ("APP", "fixture copy") and tree.this.alias == "t"
    assert table_parts(tree.args["using"]) == ("APP", "QDBM_STG_0123456789AB")
    on = [(eq.this.table, eq.this.name, eq.expression.table, eq.expression.name)
          for eq in tree.args["on"].find_all(exp.EQ)]
    assert on == [("t", "ID", "s", "ID"), ("t", "I16", "s", "I16")]
    matched, not_matched = tree.args["whens"].expressions
    assert (matched.args["matched"], not_matched.args["matched"]) == (True, False)
    assert [e.this.name for e in matched.args["then"].expressions] == ["I32", "D12"]
    assert [i.name for i in not_matched.args["then"].this.expressions] == ["ID", "I16", "I32", "D12"]


def test_upsert_keys_match_columns_however_the_key_is_cased() -> None:
    tree = parse(DIALECT.merge_sql(TARGET, STAGING, COLUMNS[:2], ["ID"]))
    assert [w.args["matched"] for w in tree.args["whens"].expressions] == [True, False]
    with pytest.raises(UsageError, match="upsert key 'nope' is not a column"):
        DIALECT.merge_sql(TARGET, STAGING, COLUMNS[:2], ["nope"])


@pytest.mark.parametrize(("mode", "kinds"), [
    (LoadMode.APPEND, [exp.Insert]),
    # DELETE, not TRUNCATE: TRUNCATE is DDL and commits on its own.
    (LoadMode.TRUNCATE, [exp.Delete, exp.Insert]),
    (LoadMode.UPSERT, [exp.Merge]),
])
def test_append_truncate_and_upsert_are_dml_in_one_transaction(mode: LoadMode, kinds: list[type]) -> None:
    trees = [parse(sql) for sql in DIALECT.data_statements(mode, TARGET, STAGING, COLUMNS, ["id"])]

    assert [type(t) for t in trees] == kinds
    insert = next((t for t in trees if isinstance(t, exp.Insert)), None)
    if insert is not None:
        assert table_parts(insert.this.this) == ("APP", "fixture copy")
        assert table_parts(insert.expression.args["from_"].this) == ("APP", "QDBM_STG_0123456789AB")
        assert [e.name for e in insert.expression.expressions] == list(EXPECTED)
    if mode is LoadMode.TRUNCATE:
        assert table_parts(trees[0].this) == ("APP", "fixture copy")


def test_replace_marks_the_staging_table_then_swaps_by_two_renames_and_purges_the_old_table() -> None:
    trees = [parse(sql) for sql in DIALECT.swap_statements(TARGET, STAGING, exists_now=True)]

    assert [type(t) for t in trees] == [exp.Comment, exp.Alter, exp.Alter, exp.Drop]
    comment, aside, into_place, drop = trees
    assert table_parts(comment.this) == ("APP", "QDBM_STG_0123456789AB")
    assert comment.expression.this == 'qdbm replaces "APP"."fixture copy"'
    assert table_parts(aside.this) == ("APP", "fixture copy")
    (rename,) = aside.args["actions"]
    assert isinstance(rename, exp.AlterRename) and rename.this.name == "QDBM_OLD_0123456789AB"
    assert table_parts(into_place.this) == ("APP", "QDBM_STG_0123456789AB")
    assert into_place.args["actions"][0].this.name == "fixture copy"
    assert table_parts(drop.find(exp.Table)) == ("APP", "QDBM_OLD_0123456789AB") and drop.args["purge"] is True


def test_a_new_target_is_the_renamed_staging_table() -> None:
    (statement,) = DIALECT.swap_statements(TARGET, STAGING, exists_now=False)
    tree = parse(statement)
    assert isinstance(tree, exp.Alter) and tree.args["actions"][0].this.name == "fixture copy"


def test_counting_and_dropping_parse_as_oracle() -> None:
    count = parse(DIALECT.count_sql(TARGET))
    assert isinstance(count, exp.Select) and isinstance(count.expressions[0], exp.Count)
    assert table_parts(count.args["from_"].this) == ("APP", "fixture copy")
    drop = parse(DIALECT.drop_sql(STAGING))
    assert isinstance(drop, exp.Drop) and drop.args["purge"] is True


def test_names_fold_to_upper_case_only_when_oracle_would_fold_them() -> None:
    assert [stored_name(n) for n in ("orders", "order_2", "a$b#c", "Orders", "ORDERS", "my table", "1st", "é")] == \
        ["ORDERS", "ORDER_2", "A$B#C", "Orders", "ORDERS", "my table", "1st", "é"]
    assert [reported_name(n) for n in ("ORDERS", "Orders", "my table", "ORDER_2")] == \
        ["orders", "Orders", "my table", "order_2"]
    assert DIALECT.quote_identifier("orders") == DIALECT.quote_identifier("ORDERS") == '"ORDERS"'
    assert old_name("qdbm_stg_0123456789ab") == "qdbm_old_0123456789ab"
    with pytest.raises(UsageError, match="double quote"):
        DIALECT.quote_identifier('a"b')
    with pytest.raises(UsageError, match=r"longer than Oracle allows \(128 bytes\)"):
        DIALECT.quote_identifier("é" * 65)


def test_types_oracle_cannot_hold_are_refused_when_the_table_is_planned() -> None:
    with pytest.raises(UsageError, match=r"decimal\(39,2\) is wider than Oracle's NUMBER"):
        DIALECT.native_type(T("decimal(39,2)"))
    with pytest.raises(UsageError, match="key column 'tx' is text, which Oracle cannot index"):
        DIALECT.create_table_sql(TARGET, [Column("tx", T("text"))], ("tx",))


@pytest.mark.parametrize(("catalog", "portable"), [
    (("NUMBER", None, None), "decimal"), (("NUMBER", None, 0), "decimal(38,0)"),
    (("NUMBER", 4, 0), "int16"), (("NUMBER", 5, 0), "int32"), (("NUMBER", 10, 0), "int64"),
    (("NUMBER", 19, 0), "decimal(19,0)"), (("NUMBER", 12, 2), "decimal(12,2)"), (("NUMBER", 2, 5), "decimal(5,5)"),
    (("NUMBER", 5, -2), "decimal(7,0)"), (("FLOAT", 126, None), "decimal"),
    (("BINARY_FLOAT", None, None), "float32"), (("BINARY_DOUBLE", None, None), "float64"),
    (("CHAR", None, None, 3), "char(3)"), (("VARCHAR2", None, None, 60), "varchar(60)"),
    (("NVARCHAR2", None, None, 10), "varchar(10)"), (("CLOB", None, None), "text"), (("NCLOB", None, None), "text"),
    (("RAW", None, None, 16), "binary(16)"), (("BLOB", None, None), "binary"), (("DATE", None, None), "timestamp"),
    (("TIMESTAMP(6)", None, 6), "timestamp"), (("TIMESTAMP(6) WITH TIME ZONE", None, 6), "timestamptz"),
    (("TIMESTAMP(6) WITH LOCAL TIME ZONE", None, 6), "timestamptz"),
    (("INTERVAL DAY(2) TO SECOND(6)", 2, 6), "time"), (("BOOLEAN", None, None), "boolean"),
    (("JSON", None, None), "json"), (("ROWID", None, None), "text"),
])
def test_oracle_types_read_as_these_portable_types(catalog: tuple[Any, ...], portable: str) -> None:
    assert str(portable_from_catalog(*catalog)) == portable


def test_result_column_types_are_spelled_as_the_user_knows_them() -> None:
    assert catalog_spelling("DB_TYPE_NUMBER", 12, 2, None) == "NUMBER(12,2)"
    assert catalog_spelling("DB_TYPE_NUMBER", 10, 0, None) == "NUMBER(10)"
    assert catalog_spelling("DB_TYPE_NUMBER", 0, -127, None) == "NUMBER"
    assert catalog_spelling("DB_TYPE_VARCHAR", None, None, 60) == "VARCHAR2(60)"
    assert catalog_spelling("DB_TYPE_TIMESTAMP_TZ", None, None, None) == "TIMESTAMP WITH TIME ZONE"


def test_every_portable_type_written_and_read_back_keeps_its_values_meaning() -> None:
    # Integer widths grow (NUMBER(5) holds 99999), date gains a midnight time, time is an interval,
    # json and uuid come back as text: the values are the same, as documented.
    widened = {"int16": "int32", "int32": "int64", "int64": "decimal(19,0)", "date": "timestamp",
               "json": "text", "uuid": "varchar(36)", "boolean": "int16", "varchar(5000)": "text"}
    for column in COLUMNS:
        back = portable_from_declared(DIALECT.native_type(column.type))
        assert str(back) == widened.get(str(column.type), str(column.type)), column.name
    assert portable_from_declared("BOOLEAN") == T("boolean")  # the 23ai column type


def test_declared_types_read_as_the_catalog_reports_them() -> None:
    declared = ["NUMBER(12,2)", "NUMBER(5, -2)", "NUMBER(38,0)", "varchar2(20 byte)",
                "TIMESTAMP WITH LOCAL TIME ZONE", "INTERVAL DAY(2) TO SECOND(6)"]
    assert [str(portable_from_declared(t)) for t in declared] == \
        ["decimal(12,2)", "decimal(7,0)", "decimal(38,0)", "varchar(20)", "timestamptz", "time"]
    with pytest.raises(UsageError, match="is not an Oracle type"):
        portable_from_declared("NUMBER(")


def check_for(column: Column, native_boolean: bool = False) -> Any:
    check, _ = DIALECT.bind_plan(column, native_boolean, oracledb)
    return check


def test_values_are_checked_and_converted_as_oracle_takes_them() -> None:
    assert check_for(Column("t", T("timestamptz")))(datetime(2024, 3, 31, 3, 30, tzinfo=timezone(timedelta(hours=2)))) \
        == datetime(2024, 3, 31, 1, 30)
    assert check_for(Column("d", T("date")))(date(1900, 1, 1)) == datetime(1900, 1, 1)
    assert check_for(Column("t", T("time")))(time(23, 59, 59, 999999)) == timedelta(hours=23, minutes=59, seconds=59,
                                                                                    microseconds=999999)
    assert check_for(Column("b", T("boolean")))(True) == 1
    assert check_for(Column("b", T("boolean")), native_boolean=True)(1) is True
    assert check_for(Column("f", T("float64")))(float("nan")) != 0  # BINARY_DOUBLE holds NaN
    refused = [
        (Column("d", T("decimal(12,2)")), Decimal("1.005"), "more than 2 decimal places"),
        (Column("d", T("decimal")), Decimal("1" * 39), "39 significant digits; NUMBER keeps 38"),
        (Column("d", T("decimal")), Decimal("Infinity"), "no NaN or Infinity"),
        (Column("i", T("int32")), 2**31, "out of range"),
        (Column("i", T("int32")), "abc", r"'abc' \(text\) cannot be stored in int32: it is not a whole number"),
        (Column("i", T("int64")), Decimal("1.5"), r"1.5 \(decimal\) cannot be stored in int64"),
        (Column("i", T("int16")), float("nan"), r"nan \(float\) cannot be stored in int16"),
        (Column("f", T("float32")), 1e39, "out of range for BINARY_FLOAT"),
        (Column("v", T("varchar(3)")), "abcd", r"4 characters is longer than VARCHAR2\(3 CHAR\)"),
        (Column("v", T("varchar(4000)")), "é" * 2001, r"4002 bytes in UTF-8 is longer than VARCHAR2\(4000 CHAR\)"),
        (Column("v", T("text")), "a\x00b", "NUL"),
        (Column("b", T("binary(2)")), b"abc", r"longer than RAW\(2\)"),
        (Column("v", T("varchar(5)"), nullable=False), "", "Oracle stores '' as NULL"),
    ]
    for column, value, message in refused:
        with pytest.raises(ValueError, match=message):
            check_for(column)(value)


def test_empty_strings_are_counted_for_the_run_log() -> None:
    check = check_for(Column("v", T("varchar(5)")))
    assert isinstance(check, _TextCheck)
    for value in ("", "a", "", ""):
        check(value)
    assert check.empty == 3


def test_an_interval_reads_as_a_time_of_day_only_within_a_day() -> None:
    assert _interval_to_time(timedelta(hours=23, minutes=59, seconds=59, microseconds=1)) == time(23, 59, 59, 1)
    for value in (timedelta(days=1), timedelta(seconds=-1)):
        with pytest.raises(ValueError, match="is not a time of day"):
            _interval_to_time(value)


def test_dsns_are_easy_connect_strings_unless_given() -> None:
    assert DIALECT.make_dsn(ConnectParams(host="db", port=1522, database="FREEPDB1")) == "db:1522/FREEPDB1"
    assert DIALECT.make_dsn(ConnectParams(host="db", database="FREEPDB1")) == "db:1521/FREEPDB1"
    assert DIALECT.make_dsn(ConnectParams(dsn="sales_tns_alias")) == "sales_tns_alias"


def test_the_registry_hands_out_the_full_oracle_dialect() -> None:
    dialect = get_dialect("oracle")
    assert isinstance(dialect, OracleDialect) and dialect.native_type(T("int64")) == "NUMBER(19)"


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """A local TCP port that records each connection made to it (and closes it): where a DSN led."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    seen: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            seen.append("connected")
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    stop.set()
    thread.join()
    server.close()


def test_a_tns_alias_is_resolved_in_the_tns_admin_folder(listener: tuple[int, list[str]], tmp_path: Path) -> None:
    port, seen = listener
    (tmp_path / "tnsnames.ora").write_text(
        f"SALES = (DESCRIPTION = (ADDRESS = (PROTOCOL = TCP)(HOST = 127.0.0.1)(PORT = {port}))"
        "(CONNECT_DATA = (SERVICE_NAME = SALESPDB)))\n")
    with pytest.raises(oracledb.Error):  # our listener is no database
        DIALECT.connect(ConnectParams(dsn="SALES", user="u", password="p", options={"tns_admin": str(tmp_path)}), 2)
    assert seen == ["connected"]
    with pytest.raises(oracledb.Error, match=r'unable to find "NOPE" in .*tnsnames.ora'):
        DIALECT.connect(ConnectParams(dsn="NOPE", user="u", password="p", options={"tns_admin": str(tmp_path)}), 2)


@pytest.mark.parametrize("how", ["fields", "easy connect"])
def test_host_port_and_service_or_an_easy_connect_string_reach_that_host(how: str,
                                                                       listener: tuple[int, list[str]]) -> None:
    port, seen = listener
    params = ConnectParams(host="127.0.0.1", port=port, database="FREEPDB1", user="u", password="p") \
        if how == "fields" else ConnectParams(dsn=f"127.0.0.1:{port}/FREEPDB1", user="u", password="p")
    with pytest.raises(oracledb.Error):
        DIALECT.connect(params, 2)
    assert seen == ["connected"]


@pytest.mark.parametrize("query", [
    "SELECT id, at FROM events -- the events",
    "SELECT id, at FROM events; -- the events",
    "SELECT id, at /* zoned */ FROM events WHERE note <> '--;'",
])
def test_the_utc_wrapper_keeps_a_commented_query_inside_its_parentheses(query: str) -> None:
    sql = DIALECT.utc_query(query, ["ID", "AT"], [False, True])
    tree = parse(sql)
    assert isinstance(tree, exp.Select)
    subquery = tree.find(exp.Subquery)
    assert subquery is not None and subquery.alias == "qdbm_utc"
    assert [s.alias_or_name for s in subquery.this.selects] == ["id", "at"]
    assert [s.alias_or_name for s in tree.selects] == ["ID", "AT"]
    assert 'SYS_EXTRACT_UTC(qdbm_utc."AT") AS "AT"' in sql and 'qdbm_utc."ID"' in sql
# -- locks between runs ---------------------------------------------------------------------------


class _LockCursor:
    """Answers the dialect's lock statements as the server would (there is no Oracle here)."""

    def __init__(self, session: _LockSession) -> None:
        self._session = session

    def execute(self, sql: str, params: Any = None) -> None:
        self._session.seen.append((sql, params))
        if isinstance(self._session.answers[0], Exception):
            raise self._session.answers.pop(0)

    def fetchone(self) -> tuple[Any, ...]:
        return (self._session.answers.pop(0),)

    def close(self) -> None:
        pass


class _LockSession:
    def __init__(self, *answers: Any) -> None:
        self.answers: list[Any] = list(answers)
        self.seen: list[tuple[str, Any]] = []

    def close(self) -> None:
        """Nothing to end: the answers are canned."""

    def cursor(self) -> _LockCursor:
        return _LockCursor(self)


def test_run_locks_are_dbms_lock_user_locks_requested_without_waiting_in_sql_that_parses() -> None:
    for sql, function, arguments in ((OracleDialect.LOCK_SQL, "REQUEST", 3), (OracleDialect.UNLOCK_SQL, "RELEASE", 1)):
        tree = parse(sql)
        assert isinstance(tree, exp.Select)
        (call,) = list(tree.find_all(exp.Anonymous))
        assert call.this == function and len(call.expressions) == arguments
        assert isinstance(call.expressions[0], exp.Placeholder) and call.expressions[0].this == "lock_id"
        assert tree.find(exp.Dot) is not None and "DBMS_LOCK" in tree.sql("oracle")
    request = list(parse(OracleDialect.LOCK_SQL).find_all(exp.Anonymous))[0]
    # Exclusive mode (6), timeout 0: never waits; release_on_commit keeps its default, FALSE.
    assert [e.this for e in request.expressions[1:]] == ["6", "0"]
    assert isinstance(parse(OracleDialect.SCHEMA_SQL), exp.Select)


@pytest.mark.parametrize(("answer", "taken"), [(0, True), (4, True), (1, False), (2, False)])
def test_dbms_lock_request_results_mean_taken_or_held_elsewhere(answer: int, taken: bool) -> None:
    session = _LockSession(answer)
    assert DIALECT.try_lock(session, "qdbm_stg_0123456789ab") is taken
    ((sql, params),) = session.seen
    assert sql == OracleDialect.LOCK_SQL
    assert 0 <= params["lock_id"] < 1 << 30  # the user range; ALLOCATE_UNIQUE's ids lie above it
    assert params["lock_id"] == DIALECT.lock_id("qdbm_stg_0123456789ab") != DIALECT.lock_id("qdbm_stg_0123456789ac")


def test_a_login_without_dbms_lock_gets_one_clear_reason_and_no_traceback() -> None:
    refused = Exception('ORA-06550: line 1, column 7: PLS-00201: identifier \'DBMS_LOCK\' must be declared')
    with pytest.raises(LocksUnavailable, match="GRANT EXECUTE ON SYS.DBMS_LOCK"):
        DIALECT.try_lock(_LockSession(refused), "qdbm_stg_0123456789ab")


def test_table_locks_resolve_the_current_schema_and_fold_names_as_oracle_stores_them() -> None:
    assert DIALECT.table_lock_name(_LockSession("APP"), TableName("orders")) == \
        DIALECT.table_lock_name(_LockSession(), TableName("ORDERS", "app"))
    assert DIALECT.table_lock_name(_LockSession(), TableName("Orders", "app")) != \
        DIALECT.table_lock_name(_LockSession(), TableName("orders", "app"))
