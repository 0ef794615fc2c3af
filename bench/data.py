"""Deterministic test data: generated in PostgreSQL, then copied byte-exact to MariaDB and SQLite.

Every value is a function of the row number alone (multiplicative hashes, no ``random()``),
so two runs with the same ``--rows`` build the same table. The generation is not timed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import mysql.connector
import psycopg

from bench import schema, shell
from bench.config import DATABASE, SOURCE_TABLE, Servers

# h1..h3: three 32-bit hashes of the row number g, the raw material of every column.
_GENERATE = r"""
INSERT INTO {table}
SELECT g,
       (h1 - 2147483648)::integer,
       (((h2 % 2000000) * 100000 + h3 % 100000 - 100000000000) / 100.0)::numeric(12,2),
       (h3 % 65536 - 32768)::smallint,
       (h1::float8 * 4294967296 + h2) / 18446744073709551616.0 * 2000000 - 1000000,
       left('ñ' || md5(g::text), (4 + g % 17)::integer),
       CASE WHEN g % 10 = 3 THEN NULL
            ELSE 'r' || g || E'\tcafé ☕\n' || left(md5(h2::text), (h1 % 24)::integer)
                 || CASE WHEN g % 5 = 0 THEN E' "q", back\\slash\n日本' ELSE '' END END,
       timestamp '2000-01-01' + (h2 % 788400000) * interval '1 second'
                              + (h3 % 1000000) * interval '1 microsecond',
       timestamptz '2001-01-01 00:00:00+00' + (h3 % 946080000) * interval '1 second'
                                            + (h1 % 1000000) * interval '1 microsecond',
       (h1 / 128) % 2 = 0,
       date '1970-01-01' + (h3 % 30000)::integer
FROM (SELECT g,
             (g * 2654435761) % 4294967296 AS h1,
             (g * 2246822519 + 374761393) % 4294967296 AS h2,
             (g * 3266489917 + 668265263) % 4294967296 AS h3
      FROM generate_series(1::bigint, {rows}::bigint) AS g) AS s
"""

#: The PostgreSQL rows rendered the way MariaDB's LOAD DATA and QDBM's SQLite tables take them.
MYSQL_EXPORT = ("SELECT id, i, num, si, dbl, vc, txt, ts, tstz AT TIME ZONE 'UTC', flag::integer, d "
                "FROM {table}")
SQLITE_EXPORT = ("SELECT id, i, num::text, si, {dbl}, vc, txt, to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US'), "
                 "to_char(tstz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00', "
                 "flag::integer, d::text FROM {table}")


def pg_connect(servers: Servers, database: str = DATABASE) -> psycopg.Connection[Any]:
    return psycopg.connect(host=servers.pg_host, port=servers.pg_port, user=servers.pg_user,
                           dbname=database, autocommit=True, options="-c timezone=UTC")


def mysql_connect(servers: Servers, database: str | None = DATABASE) -> Any:
    kwargs: dict[str, Any] = {"host": servers.mysql_host, "port": servers.mysql_port,
                              "user": servers.mysql_user, "charset": "utf8mb4", "autocommit": True}
    if database:
        kwargs["database"] = database
    conn = mysql.connector.connect(**kwargs)
    cursor = conn.cursor()
    cursor.execute("SET time_zone = '+00:00'")
    cursor.close()
    return conn


def execute_on(engine: str, servers: Servers, *statements: str) -> None:
    """Run ``statements`` on the benchmark database of ``engine`` (its target file for SQLite)."""
    if engine == "postgresql":
        with pg_connect(servers) as conn:
            for statement in statements:
                conn.execute(statement)
    elif engine == "mysql":
        conn = mysql_connect(servers)
        try:
            cursor = conn.cursor()
            for statement in statements:
                cursor.execute(statement)
            cursor.close()
        finally:
            conn.close()
    else:
        lite = sqlite3.connect(servers.sqlite_target)
        try:
            for statement in statements:
                lite.execute(statement)
            lite.commit()
        finally:
            lite.close()


def create_databases(servers: Servers) -> None:
    """Create ``qdbm_bench`` on both servers if missing."""
    with pg_connect(servers, "postgres") as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
            conn.execute(f"CREATE DATABASE {DATABASE}")
    conn = mysql_connect(servers, None)
    try:
        cursor = conn.cursor()
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE} CHARACTER SET utf8mb4")
        cursor.close()
    finally:
        conn.close()


def generate_postgresql(servers: Servers, rows: int, table: str = SOURCE_TABLE) -> None:
    """(Re)create ``table`` with ``rows`` rows in PostgreSQL, vacuumed so that reads are steady."""
    with pg_connect(servers) as conn:
        conn.execute(schema.drop_sql(table))
        conn.execute(schema.create_sql("postgresql", table, schema.SOURCE_TYPES["postgresql"]))
        conn.execute(_GENERATE.format(table=table, rows=int(rows)).encode())
        conn.execute(f"VACUUM (FREEZE, ANALYZE) {table}")


def copy_to_mysql(servers: Servers, table: str = SOURCE_TABLE) -> None:
    """PostgreSQL's rows into MariaDB: ``COPY TO STDOUT`` piped into ``LOAD DATA LOCAL``."""
    conn = mysql_connect(servers)
    try:
        cursor = conn.cursor()
        cursor.execute(schema.drop_sql(table))
        cursor.execute(schema.create_sql("mysql", table, schema.SOURCE_TYPES["mysql"]))
        cursor.close()
    finally:
        conn.close()
    export = shell.psql(servers, f"\\copy ({MYSQL_EXPORT.format(table=table)}) to stdout")
    load = shell.mariadb(servers, "SET time_zone = '+00:00'; SET sql_mode = 'STRICT_ALL_TABLES'; "
                         f"LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE {table} CHARACTER SET utf8mb4",
                         local_infile=True)
    shell.run(f"{export} | {load}")
    conn = mysql_connect(servers)
    try:
        cursor = conn.cursor()
        cursor.execute(f"ANALYZE TABLE {table}")
        cursor.fetchall()
        cursor.close()
    finally:
        conn.close()


def _pg_rows(servers: Servers, table: str) -> Iterator[list[tuple[Any, ...]]]:
    with pg_connect(servers) as conn, conn.cursor(name="bench_export") as cursor:
        conn.autocommit = False
        cursor.execute(SQLITE_EXPORT.format(dbl="dbl", table=table))
        while batch := cursor.fetchmany(50_000):
            yield batch


def copy_to_sqlite(servers: Servers, table: str = SOURCE_TABLE) -> None:
    """PostgreSQL's rows into a fresh SQLite file, in the forms QDBM's SQLite writer uses."""
    path = servers.sqlite_source
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.execute(schema.create_sql("sqlite", table, schema.SOURCE_TYPES["sqlite"]))
        insert = f"INSERT INTO {table} VALUES ({', '.join('?' * 11)})"
        with conn:
            for batch in _pg_rows(servers, table):
                conn.executemany(insert, batch)
    finally:
        conn.close()


def generate(servers: Servers, rows: int, scale_rows: int | None) -> None:
    """Build the source table in all three engines (and the larger PostgreSQL one for the scale check)."""
    create_databases(servers)
    generate_postgresql(servers, rows)
    copy_to_mysql(servers)
    copy_to_sqlite(servers)
    if scale_rows:
        generate_postgresql(servers, scale_rows, SOURCE_TABLE + "_scale")
