"""Checks on the user's SQL before it reaches a server."""

from __future__ import annotations

import sqlglot
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from qdbm_desktop.core.errors import UsageError

#: Our connection types by sqlglot's dialect names.
SQLGLOT_DIALECTS = {
    "postgresql": "postgres",
    "mysql": "mysql",
    "sqlite": "sqlite",
    "sqlserver": "tsql",
    "oracle": "oracle",
}


def ensure_single_statement(sql: str, connection_type: str) -> None:
    """Refuse a source "query" holding more than one statement (``SELECT 1; DELETE ...``).

    The text is tokenized in the source's own dialect, so semicolons inside strings, quoted
    names and comments do not count; a trailing semicolon is allowed.
    """
    try:
        tokens = sqlglot.tokenize(sql, read=SQLGLOT_DIALECTS.get(connection_type))
    except SqlglotError as exc:
        raise UsageError(f"the query cannot be read: {str(exc).splitlines()[0]}") from None
    statements, current = 0, 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements += 1 if current else 0
            current = 0
        else:
            current += 1
    statements += 1 if current else 0
    if statements == 0:
        raise UsageError("the query is empty")
    if statements > 1:
        raise UsageError(
            f"the query holds {statements} statements; give exactly one SELECT (a "
            "migration reads with one query and never runs other statements on the source)"
        )
