"""Checks on the user's SQL before it reaches a server, and the text that wraps it.

A source query is read, never run for its effects: it must be one statement that only returns
rows. Everything here works on sqlglot's tokens in the source's own dialect, so strings,
quoted names, dollar-quoted bodies and comments (``--``, ``/* */``, MySQL's ``#``) are told
apart from the SQL around them exactly as the engine does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlglot
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

from qdbm_desktop.core.errors import UsageError, one_line

#: Our connection types by sqlglot's dialect names.
SQLGLOT_DIALECTS = {
    "postgresql": "postgres",
    "mysql": "mysql",
    "sqlite": "sqlite",
    "sqlserver": "tsql",
    "oracle": "oracle",
}

#: Statements that only return rows, by the token that starts them (after any opening parentheses).
_READING = {TokenType.SELECT, TokenType.VALUES, TokenType.TABLE}
#: What may follow ``WITH ...`` at the top level: the statement the CTEs belong to.
_MAIN = _READING | {TokenType.INSERT, TokenType.UPDATE, TokenType.DELETE, TokenType.MERGE, TokenType.REPLACE}
#: Statements that write, when they start a parenthesised body (a data-modifying CTE).
_WRITING = {TokenType.INSERT, TokenType.UPDATE, TokenType.DELETE, TokenType.MERGE}
#: MySQL and MariaDB run the text of ``/*! ... */``, ``/*!50100 ... */`` and ``/*M! ... */``.
_EXECUTABLE_COMMENT = re.compile(r"/\*M?!\d{0,6}(.*?)\*/", re.DOTALL)


def _tokens(sql: str, connection_type: str) -> list[Token]:
    try:
        return sqlglot.tokenize(sql, read=SQLGLOT_DIALECTS.get(connection_type))
    except SqlglotError as exc:
        raise UsageError(f"the query cannot be read: {one_line(str(exc).splitlines()[0])}") from None


def _statements(tokens: Sequence[Token]) -> list[list[Token]]:
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if s]


def ensure_single_statement(sql: str, connection_type: str) -> None:
    """Refuse a source "query" holding more than one statement (``SELECT 1; DELETE ...``).

    The text is tokenized in the source's own dialect, so semicolons inside strings, quoted
    names and comments do not count; a trailing semicolon is allowed.
    """
    count = len(_statements(_tokens(sql, connection_type)))
    if count == 0:
        raise UsageError("the query is empty")
    if count > 1:
        raise UsageError(
            f"the query holds {count} statements; give exactly one SELECT (a "
            "migration reads with one query and never runs other statements on the source)"
        )


def _kind(token: Token) -> str:
    """The statement's kind as the user wrote it: its first word, in capitals."""
    word = token.text.split()[0] if token.text.split() else token.token_type.name
    return word.upper()


#: Where the rows of a statement that only shows something can be selected instead.
_READ_INSTEAD = {
    "SHOW": "select the same from information_schema (or PostgreSQL's pg_settings) instead",
    "DESCRIBE": "select the columns from information_schema.columns instead",
    "DESC": "select the columns from information_schema.columns instead",
    "PRAGMA": "read a pragma with its table-valued function instead, e.g. "
              "SELECT * FROM pragma_table_info('t')",
}


def _refusal(kind: str, why: str = "") -> UsageError:
    article = "an" if kind[:1] in "AEIOU" else "a"
    instead = _READ_INSTEAD.get(kind, "a migration only reads its source")
    return UsageError(f"the query must be one SELECT (this is {article} {kind}{why}); {instead}")


def check_source_query(sql: str, connection_type: str) -> None:
    """Refuse, before anything is sent, a source query that is not one statement returning rows.

    Allowed: ``SELECT``, ``WITH ... SELECT``, ``VALUES``, PostgreSQL's and MySQL's ``TABLE t``,
    each possibly in parentheses or combined by UNION and the like. Refused, naming the kind:
    every other statement (UPDATE, INSERT, CREATE, PRAGMA, ATTACH, VACUUM, CALL, SET, SHOW,
    EXPLAIN ...), a data-modifying CTE, and ``SELECT ... INTO`` (a table, a file on the server,
    a variable), also when hidden in one of MySQL's executable comments.
    """
    ensure_single_statement(sql, connection_type)
    texts = [sql]
    if connection_type == "mysql" and _EXECUTABLE_COMMENT.search(sql):
        # Checked as the server will run it: the comments' text is SQL there.
        texts.append(_EXECUTABLE_COMMENT.sub(lambda m: f" {m.group(1)} ", sql))
    for text in texts:
        statements = _statements(_tokens(text, connection_type))
        if len(statements) > 1:
            raise UsageError(f"the query holds {len(statements)} statements (some in /*! */ comments, which "
                             "MySQL runs); give exactly one SELECT")
        if statements:
            _check_reading(statements[0], connection_type)


def _check_reading(tokens: Sequence[Token], connection_type: str) -> None:
    position = 0
    while position < len(tokens) - 1 and tokens[position].token_type == TokenType.L_PAREN:
        position += 1
    first = tokens[position]
    if first.token_type == TokenType.WITH:
        main = _after_ctes(tokens, position + 1)
        if main is None:
            raise UsageError("the query starts with WITH but holds no SELECT after its common table "
                             "expressions")
        first = main
        if first.token_type not in _READING:
            raise _refusal(_kind(first), " with common table expressions")
    elif first.token_type not in _READING:
        raise _refusal(_kind(first))
    for before, token in zip(tokens, tokens[1:], strict=False):
        if before.token_type == TokenType.L_PAREN and token.token_type in _WRITING:
            raise UsageError(f"the query must be one SELECT (this one holds {_kind(token)} ... inside "
                             "parentheses, which would change data); a migration only reads its source")
        if token.token_type == TokenType.INTO:
            raise UsageError(f"the query must be one SELECT without INTO (SELECT ... INTO "
                             f"{_into_what(tokens, token)}); a migration only reads its source")


def _after_ctes(tokens: Sequence[Token], position: int) -> Token | None:
    """The token that starts the statement after ``WITH name [(cols)] AS [NOT MATERIALIZED] (...), ...``."""
    count = len(tokens)
    if position < count and tokens[position].token_type == TokenType.RECURSIVE:
        position += 1
    while True:
        depth = 0
        while position < count and not (depth == 0 and tokens[position].token_type == TokenType.ALIAS):
            depth += _depth_change(tokens[position])
            position += 1
        while position < count and tokens[position].token_type != TokenType.L_PAREN:
            position += 1  # NOT MATERIALIZED
        depth = 0
        while position < count:
            depth += _depth_change(tokens[position])
            position += 1
            if depth == 0:
                break
        # PostgreSQL's SEARCH and CYCLE clauses may follow a recursive body.
        while position < count and tokens[position].token_type not in (TokenType.COMMA, TokenType.L_PAREN) \
                and tokens[position].token_type not in _MAIN:
            position += 1
        if position >= count:
            return None
        if tokens[position].token_type == TokenType.COMMA:
            position += 1
            continue
        while position < count - 1 and tokens[position].token_type == TokenType.L_PAREN:
            position += 1
        return tokens[position]


def _depth_change(token: Token) -> int:
    if token.token_type == TokenType.L_PAREN:
        return 1
    return -1 if token.token_type == TokenType.R_PAREN else 0


def _into_what(tokens: Sequence[Token], into: Token) -> str:
    following = list(tokens[tokens.index(into) + 1:])
    word = following[0].text.upper() if following else ""
    if word in ("OUTFILE", "DUMPFILE"):
        return f"{word} writes a file on the server"
    if following and following[0].token_type == TokenType.PARAMETER:
        return "@variable sets a variable"
    return f"{word.lower() or 'a table'} creates a table"


def query_body(sql: str, connection_type: str) -> str:
    """The query without its trailing semicolons, ready to stand inside parentheses.

    Comments stay where they are (a ``--`` comment at the end runs to the end of the text, so a
    wrapper puts a newline before its closing parenthesis). Nothing inside a string, a quoted
    name or a comment is touched.
    """
    tokens = _tokens(sql, connection_type)
    trailing: list[Token] = []
    for token in reversed(tokens):
        if token.token_type != TokenType.SEMICOLON:
            break
        trailing.append(token)
    if not trailing or len(trailing) == len(tokens):
        return sql.strip()
    chars = list(sql)
    for token in trailing:
        chars[token.start:token.end + 1] = [" "] * (token.end + 1 - token.start)
    return "".join(chars).strip()


def wrap_query(prefix: str, sql: str, suffix: str, connection_type: str) -> str:
    """``prefix`` + the query + a newline + ``suffix``: a comment at the end of the query ends at the
    newline, and the query's line numbers (in the engine's messages) stay its own."""
    return f"{prefix}{query_body(sql, connection_type)}\n{suffix}"


_PG_CONTEXT_LINE = re.compile(r"^LINE (\d+):")
_CARET_LINE = re.compile(r"^\s*\^\s*$")
#: The end of our wrappers (``\n) qdbm_count``, ``\n) qdbm_incremental WHERE ...``) as MySQL quotes it.
_WRAPPER_TAIL = re.compile(r"\n\) qdbm_\w+.*?(?=' at line|\Z)", re.DOTALL)


def query_error(message: str) -> str:
    """A driver's error about the query, without the text of any wrapper around it, on one line.

    PostgreSQL echoes the failing line (``LINE 1: SELECT COUNT(*) ... FROM (SELECT ...``): that
    becomes "(line N of the query)". MySQL quotes the text after the error (``near '...\\n)
    qdbm_count'``): the wrapper's part of it is cut.
    """
    lines = str(message).splitlines()
    kept: list[str] = []
    line_number: str | None = None
    skip_next_caret = False
    for line in lines:
        match = _PG_CONTEXT_LINE.match(line.strip())
        if match:
            line_number = match.group(1)
            skip_next_caret = True
            continue
        if skip_next_caret and _CARET_LINE.match(line):
            skip_next_caret = False
            continue
        kept.append(line)
    text = "\n".join(kept).strip()
    text = _WRAPPER_TAIL.sub("", text)
    text = one_line(text)
    if line_number is not None:
        text += f" (line {line_number} of the query)"
    return text
