"""The command-line pipe beside each path: the practical limit QDBM is compared with.

Each pipe loads a table created beforehand with the same definition QDBM gives its target
(``schema.TARGET_TYPES``), emptied before every run. The exact shell text is recorded in the
JSON output. Where a client's plain export would not carry the values exactly, the export query
renders them the way the loader takes them (booleans as 0/1, timestamptz in UTC, SQLite doubles
with 17 significant digits); those choices are part of the documented command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench import schema, shell
from bench.config import COLUMNS, BenchPath, Servers
from bench.data import MYSQL_EXPORT, SQLITE_EXPORT, execute_on

SELECT_ALL = f"SELECT {', '.join(COLUMNS)} FROM {{table}}"
#: SQLite's own text-to-double parser is not correctly rounded: ``.import`` of PostgreSQL's
#: shortest double text left 6 of 1,000,000 values one unit in the last place off. The pipe
#: therefore sends each double as an integer mantissa and a power-of-two shift (both exact;
#: the shift is one or two more than needed so that an estimate off by one still gives an
#: integer), and SQLite multiplies them back exactly.
_SHIFT = "(53 - floor(ln(abs(dbl)) / ln(2)))"
_DOUBLE_AS_BITS = (f"CASE WHEN dbl = 0 THEN 0 ELSE (dbl * power(2::float8, {_SHIFT}))::bigint END AS dbl_m, "
                   f"CASE WHEN dbl = 0 THEN 0 ELSE {_SHIFT}::integer END AS dbl_s")


@dataclass(frozen=True)
class Pipe:
    """A pipe for one path: what it is, in words and as the shell runs it."""

    description: str
    script: str
    #: A file the pipe writes (SELECT ... INTO OUTFILE), removed before each run.
    scratch: Path | None = None


def _psql(servers: Servers, command: str) -> str:
    return "PGTZ=UTC " + shell.psql(servers, command)


def build(path: BenchPath, servers: Servers, source_table: str, target_table: str) -> Pipe:
    """The pipe moving ``source_table`` along ``path`` into ``target_table``."""
    key = path.key
    outfile = servers.workdir / f"{target_table}.tsv"
    outfile_sql = (f"SET time_zone = '+00:00'; SELECT {', '.join(COLUMNS)} INTO OUTFILE '{outfile}' "
                   f"CHARACTER SET utf8mb4 FROM {source_table}")
    if key == "pg-pg":
        out = _psql(servers, f"\\copy ({SELECT_ALL.format(table=source_table)}) to stdout (format binary)")
        into = _psql(servers, f"\\copy {target_table} from stdin (format binary)")
        return Pipe("psql \\copy (SELECT ...) to stdout (format binary) | psql \\copy from stdin "
                    "(format binary)", f"{out} | {into}")
    if key == "mysql-pg":
        out = shell.mariadb(servers, outfile_sql)
        into = _psql(servers, f"\\copy {target_table} from '{outfile}'")
        return Pipe("mariadb SELECT ... INTO OUTFILE (tab-separated, \\N for NULL), then psql \\copy from "
                    "the file (text format)", f"{out} && {into}", outfile)
    if key == "pg-mysql":
        out = _psql(servers, f"\\copy ({MYSQL_EXPORT.format(table=source_table)}) to stdout")
        into = shell.mariadb(servers, "SET time_zone = '+00:00'; LOAD DATA LOCAL INFILE '/dev/stdin' "
                             f"INTO TABLE {target_table} CHARACTER SET utf8mb4", local_infile=True)
        return Pipe("psql \\copy (SELECT ...) to stdout (text) | mariadb LOAD DATA LOCAL INFILE "
                    "'/dev/stdin'", f"{out} | {into}")
    if key == "mysql-mysql":
        out = shell.mariadb(servers, outfile_sql)
        into = shell.mariadb(servers, f"SET time_zone = '+00:00'; LOAD DATA LOCAL INFILE '{outfile}' "
                             f"INTO TABLE {target_table} CHARACTER SET utf8mb4", local_infile=True)
        return Pipe("mariadb SELECT ... INTO OUTFILE, then mariadb LOAD DATA LOCAL INFILE of the file",
                    f"{out} && {into}", outfile)
    if key == "sqlite-pg":
        columns = ", ".join("printf('%!.17g', dbl)" if c == "dbl" else c for c in COLUMNS)
        out = shell.sqlite3_shell(servers.sqlite_source, "-csv", f"SELECT {columns} FROM {source_table}")
        into = _psql(servers, f"\\copy {target_table} from stdin (format csv)")
        return Pipe("sqlite3 -csv 'SELECT ...' (doubles as printf('%!.17g')) | psql \\copy from stdin "
                    "(format csv)", f"{out} | {into}")
    if key == "pg-sqlite":
        export = SQLITE_EXPORT.format(dbl=_DOUBLE_AS_BITS, table=source_table)
        out = _psql(servers, f"\\copy ({export}) to stdout (format csv)")
        values = ", ".join("dbl_m * power(2.0, -dbl_s)" if c == "dbl" else "NULLIF(txt, '')" if c == "txt"
                           else c for c in COLUMNS)
        stage = ", ".join("dbl_m INTEGER, dbl_s INTEGER" if c == "dbl" else c for c in COLUMNS)
        into = shell.sqlite3_shell(servers.sqlite_target, "-cmd", f"CREATE TEMP TABLE stage ({stage})",
                                   "-cmd", ".import --csv --schema temp /dev/stdin stage",
                                   f"INSERT INTO {target_table} SELECT {values} FROM temp.stage")
        return Pipe("psql \\copy (SELECT ...) to stdout (format csv) | sqlite3 .import --csv /dev/stdin into "
                    "a temp table, then INSERT ... SELECT into the target (doubles travel as integer "
                    "mantissa and binary exponent, empty text becomes NULL)", f"{out} | {into}")
    raise ValueError(f"no pipe for {key}")


def reset_target(path: BenchPath, servers: Servers, table: str) -> None:
    """(Re)create the pipe's target table, empty, with QDBM's target definition (not timed)."""
    engine = path.target
    ddl = schema.create_sql(engine, table, schema.TARGET_TYPES[engine])
    execute_on(engine, servers, schema.drop_sql(table), ddl)


def run(pipe: Pipe) -> float:
    """Run the pipe once; its wall-clock seconds."""
    if pipe.scratch is not None:
        pipe.scratch.unlink(missing_ok=True)
    try:
        return shell.run(pipe.script)
    finally:
        if pipe.scratch is not None:
            pipe.scratch.unlink(missing_ok=True)
