"""``--verify checksum``: the staging table, read back, must hash like the rows read, or the run fails
with the target unchanged."""

from __future__ import annotations

import mysql.connector
import psycopg
import pytest

from qdbm_desktop.core.checksum import VerifyLevel
from qdbm_desktop.core.dialects.base import LoadMode, TableName
from qdbm_desktop.core.migration import Endpoint, MigrationRequest, Stage, Status, run_migration
from tests.integration.conftest import Server
from tests.integration.test_migration_matrix import ENGINES, make_side
from tests.integration.test_migration_pipeline import mysql_endpoint, pg_endpoint

#: Makes every staging table that PostgreSQL creates from now on in this database change one value
#: as it is loaded: QDBM's own read-back must notice.
TAMPER = """
CREATE FUNCTION qdbm_t_tamper_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id = 2 THEN NEW.label := NEW.label || ' (changed)'; END IF;
  RETURN NEW;
END $$;
CREATE FUNCTION qdbm_t_watch_staging() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE created record;
BEGIN
  FOR created IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' LOOP
    IF created.object_identity LIKE '%qdbm_stg_%' THEN
      EXECUTE format('CREATE TRIGGER qdbm_t_tamper BEFORE INSERT ON %s FOR EACH ROW '
                     'EXECUTE FUNCTION qdbm_t_tamper_row()', created.object_identity);
    END IF;
  END LOOP;
END $$;
CREATE EVENT TRIGGER qdbm_t_watch ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
  EXECUTE FUNCTION qdbm_t_watch_staging();
"""


@pytest.mark.parametrize("source_engine", ENGINES)
@pytest.mark.parametrize("target_engine", ENGINES)
def test_exact_data_verifies_by_checksum(source_engine: str, target_engine: str,
                                         request: pytest.FixtureRequest) -> None:
    source = make_side(source_engine, request, "source")
    target = source if source_engine == target_engine != "sqlite" else make_side(target_engine, request, "target")
    source.write_fixture(TableName("fixture_src"))

    result = run_migration(MigrationRequest(
        source=source.endpoint(), target=target.endpoint(), query=source.select_all(TableName("fixture_src")),
        table=TableName("fixture copy"), mode=LoadMode.REPLACE, batch_size=2, verify=VerifyLevel.CHECKSUM))

    assert result.status is Status.SUCCEEDED, result.error
    messages = [entry.message for entry in result.log]
    assert "verified by checksum, 3 rows (19 columns equal)" in messages
    # Between two PostgreSQL databases the rows pass undecoded and each server sums its side.
    summed = any("the rows passed without being decoded" in m for m in messages)
    assert summed is (source_engine == target_engine == "postgresql")


def test_counts_only_is_what_a_run_records_without_checksum(pg_database: Server) -> None:
    side = pg_side(pg_database)
    result = run_migration(MigrationRequest(
        source=side, target=side, query="SELECT g AS id FROM generate_series(1, 5) g", table=TableName("t")))
    assert result.status is Status.SUCCEEDED, result.error
    assert "verified: counts only (5 rows)" in [entry.message for entry in result.log]


def pg_side(server: Server) -> Endpoint:
    return pg_endpoint(server)


def tampered(server: Server) -> None:
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database,
                         autocommit=True) as conn:
        conn.execute(TAMPER)
        conn.execute("CREATE TABLE target_t (id integer PRIMARY KEY, label text, n integer)")
        conn.execute("INSERT INTO target_t VALUES (1, 'before', 0)")


def target_rows(server: Server) -> list[tuple[object, ...]]:
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database) as conn:
        rows = conn.execute("SELECT * FROM target_t ORDER BY id").fetchall()
        staging = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'qdbm_stg_%'").fetchone()
    assert staging == (0,)
    return [tuple(r) for r in rows]


QUERY = "SELECT g AS id, 'row ' || g AS label, g * 10 AS n FROM generate_series(1, 1000) g"


@pytest.mark.parametrize("mode", [LoadMode.UPSERT, LoadMode.REPLACE])
def test_a_value_changed_in_staging_fails_the_run_and_names_the_column(pg_database: Server,
                                                                       mode: LoadMode) -> None:
    tampered(pg_database)
    side = pg_side(pg_database)
    keys = ("id",) if mode is LoadMode.UPSERT else ()

    result = run_migration(MigrationRequest(source=side, target=side, query=QUERY, table=TableName("target_t"),
                                            mode=mode, keys=keys, batch_size=64, verify=VerifyLevel.CHECKSUM))

    assert result.status is Status.FAILED
    assert result.stage is Stage.VERIFY
    assert any("the rows passed without being decoded" in entry.message for entry in result.log)
    assert result.error is not None
    assert "checksum mismatch: the column(s) label hold other values in the staging table" in result.error
    if keys:
        assert "the row with id=2: label 'row 2' read, 'row 2 (changed)' staged" in result.error
    else:
        assert "no key column names an example row" in result.error
    assert target_rows(pg_database) == [(1, "before", 0)]


def test_without_checksum_the_change_goes_through(pg_database: Server) -> None:
    """The counts alone cannot see it: what the checksum is for."""
    tampered(pg_database)
    side = pg_side(pg_database)
    result = run_migration(MigrationRequest(source=side, target=side, query=QUERY, table=TableName("target_t"),
                                            mode=LoadMode.REPLACE, batch_size=64))
    assert result.status is Status.SUCCEEDED, result.error
    assert (2, "row 2 (changed)", 20) in target_rows(pg_database)


def test_a_value_changed_in_staging_fails_a_decoded_run_too(pg_database: Server, mysql_database: Server) -> None:
    """MariaDB -> PostgreSQL: the rows are hashed as they are read, the staging table as read back."""
    tampered(pg_database)
    conn = mysql.connector.connect(host=mysql_database.host, port=mysql_database.port, user=mysql_database.user,
                                   password=mysql_database.password, database=mysql_database.database,
                                   autocommit=True)
    cursor = conn.cursor()
    cursor.execute("CREATE TABLE src (id int PRIMARY KEY, label varchar(40), n int)")
    cursor.executemany("INSERT INTO src VALUES (%s, %s, %s)", [(i, f"row {i}", i * 10) for i in range(1, 501)])
    conn.close()

    result = run_migration(MigrationRequest(
        source=mysql_endpoint(mysql_database), target=pg_side(pg_database), query="SELECT id, label, n FROM src",
        table=TableName("target_t"), mode=LoadMode.UPSERT, keys=("id",), batch_size=64,
        verify=VerifyLevel.CHECKSUM))

    assert result.status is Status.FAILED and result.stage is Stage.VERIFY
    assert result.error is not None
    assert "the column(s) label hold other values in the staging table than were read" in result.error
    assert "the row with id=2: label 'row 2' read, 'row 2 (changed)' staged" in result.error
    assert target_rows(pg_database) == [(1, "before", 0)]
