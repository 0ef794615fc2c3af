"""The checks on a source query before anything is sent, and the text that wraps it."""

from __future__ import annotations

import pytest
import sqlglot

from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.sqlcheck import (
    SQLGLOT_DIALECTS,
    check_source_query,
    query_body,
    query_error,
    wrap_query,
)

ENGINES = list(SQLGLOT_DIALECTS)


@pytest.mark.parametrize(("query", "engine", "kind"), [
    ("UPDATE orders SET total = 0", "sqlite", "an UPDATE"),
    ("update orders set total = 0 -- all of them", "postgresql", "an UPDATE"),
    ("  insert into t values (1)", "mysql", "an INSERT"),
    ("DELETE FROM t", "sqlserver", "a DELETE"),
    ("delete from t", "oracle", "a DELETE"),
    ("create table x (a int)", "postgresql", "a CREATE"),
    ("DROP TABLE orders", "mysql", "a DROP"),
    ("pragma journal_mode = wal", "sqlite", "a PRAGMA"),
    ("PRAGMA /* why not */ journal_mode=WAL;", "sqlite", "a PRAGMA"),
    ("pragma table_info(t)", "sqlite", "a PRAGMA"),
    ("ATTACH DATABASE '/tmp/x.db' AS x", "sqlite", "an ATTACH"),
    ("detach x", "sqlite", "a DETACH"),
    ("vacuum into '/tmp/copy.db'", "sqlite", "a VACUUM"),
    ("VACUUM", "sqlite", "a VACUUM"),
    ("call refresh_all()", "mysql", "a CALL"),
    ("set @a = 1", "mysql", "a SET"),
    ("SET search_path = x", "postgresql", "a SET"),
    ("show tables", "mysql", "a SHOW"),
    ("explain analyze delete from t", "postgresql", "an EXPLAIN"),
    ("exec sp_who", "sqlserver", "an EXEC"),
    ("replace into t values (1)", "mysql", "a REPLACE"),
    ("copy t to '/tmp/t.csv'", "postgresql", "a COPY"),
    ("with x as (select 1 as a) delete from t", "postgresql", "a DELETE with common table expressions"),
    ("with x as (select 1 as a), y as (select 2) update t set a = 1", "postgresql",
     "an UPDATE with common table expressions"),
    ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", "mysql", "an INSERT with common table expressions"),
    ("(update t set a = 1)", "sqlite", "an UPDATE"),
])
def test_a_query_that_is_no_select_is_refused_naming_its_kind(query: str, engine: str, kind: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_source_query(query, engine)
    assert str(caught.value).startswith(f"the query must be one SELECT (this is {kind})")


@pytest.mark.parametrize(("query", "engine", "says"), [
    ("select 1 into outfile '/tmp/x'", "mysql", "INTO OUTFILE writes a file on the server"),
    ("SELECT 1 /* here */ INTO /* there */ DUMPFILE '/tmp/x'", "mysql", "INTO DUMPFILE writes a file"),
    ("select a from t into outfile '/tmp/x' -- done", "mysql", "INTO OUTFILE"),
    ("select 1 into @v", "mysql", "INTO @variable sets a variable"),
    ("select 1 /*! into outfile '/tmp/x' */", "mysql", "INTO OUTFILE"),
    ("select 1 /*!50100 INTO DUMPFILE '/tmp/x' */", "mysql", "INTO DUMPFILE"),
    ("select 1 /*M!100000 into outfile '/tmp/x' */", "mysql", "INTO OUTFILE"),
    ("select * into copy_of_t from t", "postgresql", "INTO copy_of_t creates a table"),
    ("select * into #t from t", "sqlserver", "creates a table"),
])
def test_select_into_is_refused_saying_what_it_would_write(query: str, engine: str, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_source_query(query, engine)
    assert "the query must be one SELECT without INTO" in str(caught.value)
    assert says in str(caught.value)


@pytest.mark.parametrize("query", [
    "with x as (delete from t returning *) select * from x",
    "WITH x AS MATERIALIZED (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x",
    "with a as (select 1), b as (insert into t values (1) returning *) select * from a, b",
])
def test_a_data_modifying_cte_is_refused(query: str) -> None:
    with pytest.raises(UsageError, match="inside parentheses, which would change data"):
        check_source_query(query, "postgresql")


def test_a_statement_hidden_in_a_mysql_executable_comment_counts() -> None:
    with pytest.raises(UsageError, match="statements"):
        check_source_query("select 1 /*!; delete from t */", "mysql")


@pytest.mark.parametrize(("query", "engine"), [
    ("select g from generate_series(1,10) g -- ten rows", "postgresql"),
    ("select 1; -- and a comment after the semicolon", "postgresql"),
    ("select 1 /* block */;", "sqlite"),
    ("select 1 # a MySQL comment", "mysql"),
    ("select 1 --1", "mysql"),
    ("TABLE orders", "postgresql"),
    ("(select 1) union (select 2)", "postgresql"),
    ("((select 1))", "sqlite"),
    ("values (1), (2)", "sqlite"),
    ("with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select * from r",
     "postgresql"),
    ("with x as (select 1 as a) (select a from x) union (select 2)", "postgresql"),
    ("with recursive r(n) as not materialized (select 1) search depth first by n set o select n from r",
     "postgresql"),
    ("with a (x) as (select 1), b as materialized (select 2 as select_) select * from a, b", "postgresql"),
    ("select 'into', \"into\" from t", "postgresql"),
    ("select '-- not a comment; nor this' as a", "sqlite"),
    ("select $$ ; -- $$ as a -- a comment", "postgresql"),
    ("select $tag$ it's; INTO $tag$ as a", "postgresql"),
    ("select 1 for update", "postgresql"),
    ("-- a header\nselect 1", "oracle"),
    (";with x as (select 1 as a) select a from x", "sqlserver"),
    ("select 1 from dual", "oracle"),
])
def test_reading_queries_pass(query: str, engine: str) -> None:
    check_source_query(query, engine)


@pytest.mark.parametrize(("query", "engine", "body"), [
    ("select 1;", "postgresql", "select 1"),
    ("select 1 ; ; ", "sqlite", "select 1"),
    ("select 1; -- c", "postgresql", "select 1  -- c"),
    ("select ';' as a;", "mysql", "select ';' as a"),
    ("select 1 -- c;", "postgresql", "select 1 -- c;"),
    ("select $$;$$ as a;", "postgresql", "select $$;$$ as a"),
])
def test_query_body_drops_only_the_trailing_semicolons(query: str, engine: str, body: str) -> None:
    assert query_body(query, engine) == body


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("query", [
    "select 1 as a -- the end",
    "select 1 as a; -- the end",
    "select 1 as a /* the end */",
    "select 1 as a\n-- line one\n-- line two\n",
    "select '--' as a -- the end",
])
def test_a_wrapped_query_keeps_its_comments_inside_the_parentheses(query: str, engine: str) -> None:
    wrapped = wrap_query("SELECT COUNT(*) AS row_count FROM (", query, ") qdbm_count", engine)
    tree = sqlglot.parse_one(wrapped, read=SQLGLOT_DIALECTS[engine])
    subquery = tree.find(sqlglot.exp.Subquery)
    assert subquery is not None and subquery.alias == "qdbm_count"
    assert [s.alias_or_name for s in subquery.this.selects] == ["a"]


def test_a_wrapped_query_keeps_its_line_numbers() -> None:
    wrapped = wrap_query("SELECT COUNT(*) AS row_count FROM (", "select a\nfrom t\nwhere b", ") qdbm_count",
                         "postgresql")
    assert wrapped.splitlines()[2] == "where b"


def test_query_error_drops_postgresql_s_echo_of_the_wrapper() -> None:
    message = ('relation "orders" does not exist\nLINE 1: SELECT COUNT(*) AS row_count FROM (SELECT * FROM '
               'orders\n                                                             ^')
    assert query_error(message) == 'relation "orders" does not exist (line 1 of the query)'


def test_query_error_cuts_the_wrapper_out_of_mysql_s_quote() -> None:
    message = ("1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to "
               "your MariaDB server version for the right syntax to use near 'frm t\n) qdbm_count' at line 1")
    assert query_error(message).endswith("near 'frm t' at line 1")
    assert "qdbm" not in query_error(message)


def test_an_unreadable_query_is_one_line() -> None:
    with pytest.raises(UsageError, match="^the query cannot be read: ") as caught:
        check_source_query("select 'unterminated", "postgresql")
    assert "\n" not in str(caught.value)


def test_a_statement_that_only_shows_something_is_told_where_to_select_it() -> None:
    with pytest.raises(UsageError, match="information_schema"):
        check_source_query("SHOW TABLES", "mysql")
    with pytest.raises(UsageError, match=r"pragma_table_info\('t'\)"):
        check_source_query("pragma table_info(t)", "sqlite")
