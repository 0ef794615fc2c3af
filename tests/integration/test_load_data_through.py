"""PostgreSQL -> MariaDB through the source's text COPY (nothing decoded) holds the same values as
the row path, escapes and all; a column type it cannot carry, or a mapping, takes the row path."""

from __future__ import annotations

from typing import Any

import pytest

from qdbm_desktop.core.checksum import VerifyLevel
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.migration import MigrationRequest, MigrationResult, Status, run_migration
from tests.integration.conftest import Server
from tests.integration.test_migration_pipeline import mysql_endpoint, pg_endpoint, snapshot

pytestmark = [pytest.mark.mysql, pytest.mark.postgresql]

TEXT_COPY_NOTE = "as the source's text COPY"
#: Every character the two formats escape differently or alike, the numbers' and times' edges.
EDGES = r"""
SELECT * FROM (VALUES
  (1, '32767'::int2, '2147483647'::int4, '9223372036854775807'::int8, 1234567890.12::numeric(12,2),
   5e-324::float8, 'plain'::varchar(20), E'tab\there\nnew\rcr\bbs\ffeed\x0bvt\\back\\fslash'::text,
   '2000-02-29 23:59:59.999999'::timestamp, '2001-06-01 12:00:00.000001+05:30'::timestamptz,
   true, '1000-01-01'::date),
  (2, '-32768'::int2, '-2147483648'::int4, '-9223372036854775808'::int8, -0.01::numeric(12,2),
   1.7976931348623157e308::float8, ''::varchar(20), E'\\N is not NULL, \\\\ two, ☕ 日本 \\v'::text,
   '9999-12-31 23:59:59.999999'::timestamp, '1970-01-01 00:00:00+00'::timestamptz, false,
   '9999-12-31'::date),
  (3, NULL::int2, NULL::int4, NULL::int8, NULL::numeric(12,2), -0.1::float8, NULL::varchar(20),
   NULL::text, NULL::timestamp, NULL::timestamptz, NULL::boolean, NULL::date),
  (4, 0::int2, 0::int4, 0::int8, 0::numeric(12,2), 0.30000000000000004::float8, 'x'::varchar(20),
   E'ends with a backslash \\'::text, '2024-01-01'::timestamp, '2024-03-31 01:30:00-07'::timestamptz,
   true, '2024-02-29'::date)
) AS t(id, si, i, bi, num, dbl, vc, txt, ts, tstz, flag, d)
"""


def _migrate(pg: Server, maria: Server, table: str, verify: VerifyLevel = VerifyLevel.COUNTS,
             query: str = EDGES) -> MigrationResult:
    result = run_migration(MigrationRequest(source=pg_endpoint(pg), target=mysql_endpoint(maria), query=query,
                                            table=TableName(table), mode=LoadMode.REPLACE, verify=verify))
    assert result.status is Status.SUCCEEDED, result.error
    return result


def _notes(result: MigrationResult) -> str:
    return "\n".join(entry.message for entry in result.log)


def test_the_text_copy_holds_exactly_what_the_row_path_holds(pg_database: Server, mysql_database: Server) -> None:
    through = _migrate(pg_database, mysql_database, "through")
    # Checksum verification reads every row back, so that run decodes them: the row path.
    rows = _migrate(pg_database, mysql_database, "by_rows", VerifyLevel.CHECKSUM)

    assert TEXT_COPY_NOTE in _notes(through)
    assert TEXT_COPY_NOTE not in _notes(rows)
    assert (through.rows_read, through.rows_written) == (4, 4)
    got: list[tuple[Any, ...]] = snapshot(mysql_endpoint(mysql_database), "through")[0]
    assert got == snapshot(mysql_endpoint(mysql_database), "by_rows")[0]
    text = {row[0]: row[7] for row in got}
    assert text[1] == "tab\there\nnew\rcr\bbs\ffeed\x0bvt\\back\\fslash"
    assert text[2] == "\\N is not NULL, \\\\ two, ☕ 日本 \\v"
    assert text[4] == "ends with a backslash \\"
    assert got[2][1:] == (None, None, None, None, -0.1, None, None, None, None, None, None)


def test_a_type_the_text_copy_cannot_carry_takes_the_row_path(pg_database: Server, mysql_database: Server) -> None:
    result = _migrate(pg_database, mysql_database, "uuids",
                      query="SELECT 1 AS id, '6f1c1b0e-8a4b-4bd3-9a57-0d5b0b5e0a11'::uuid AS u")
    assert TEXT_COPY_NOTE not in _notes(result)
    assert snapshot(mysql_endpoint(mysql_database), "uuids")[0] == [(1, "6f1c1b0e-8a4b-4bd3-9a57-0d5b0b5e0a11")]


def test_a_value_the_server_refuses_fails_the_load_and_leaves_no_table(pg_database: Server,
                                                                      mysql_database: Server) -> None:
    result = run_migration(MigrationRequest(
        source=pg_endpoint(pg_database), target=mysql_endpoint(mysql_database),
        query="SELECT 1 AS id, 'infinity'::timestamp AS ts", table=TableName("refused"),
        mode=LoadMode.REPLACE))
    assert result.status is Status.FAILED
    assert "'ts', row 1" in (result.error or ""), result.error
    assert snapshot(mysql_endpoint(mysql_database), "refused")[0] == []
