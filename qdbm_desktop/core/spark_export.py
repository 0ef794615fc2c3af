"""A saved job as one self-contained PySpark script (``qdbm jobs export NAME --spark FILE.py``).

The script reads the job's query with Spark's JDBC source, partitioned when asked, writes the rows
into a staging table made with QDBM's own DDL, and then runs the checks and the swap SQL of the
target's dialect (``Dialect.swap_plan``, the text ``finalize`` runs) over one JDBC connection on
the driver. Its body is :mod:`qdbm_desktop.core.spark_runner`; this module describes the job's
columns (as ``--dry-run`` does) and writes the settings above that body. No password goes in the
file: each comes from an environment variable the script names at its top.
"""

from __future__ import annotations

import pprint
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from qdbm_desktop.core import spark_runner
from qdbm_desktop.core.connections import ConnectionProfile, ConnectionStore
from qdbm_desktop.core.dialects import get_dialect
from qdbm_desktop.core.dialects.base import Dialect, LoadMode, SwapPlan, TableName
from qdbm_desktop.core.errors import UsageError
from qdbm_desktop.core.jobs import WATERMARK_PLACEHOLDER, Job
from qdbm_desktop.core.migration import (
    STAGING_PREFIX,
    Endpoint,
    describe_target,
    kept_positions,
    map_columns,
    match_existing,
    preview_query,
    resolve_endpoint,
)
from qdbm_desktop.core.settings import Settings
from qdbm_desktop.core.types import Column, Kind, PortableType
from qdbm_desktop.core.watermark import Lookback, Watermark

#: The engines an exported job can load into: those whose swap SQL is plain statements.
TARGET_ENGINES = ("postgresql", "mysql")
SOURCE_ENGINES = ("postgresql", "mysql", "sqlserver", "oracle", "sqlite")
#: Spark's widest exact decimal; wider (or unconstrained) decimals travel as their exact text.
SPARK_MAX_PRECISION = 38

_SPARK_TYPES = {
    Kind.INT16: "smallint", Kind.INT32: "int", Kind.INT64: "bigint", Kind.FLOAT32: "float",
    Kind.FLOAT64: "double", Kind.BOOLEAN: "boolean", Kind.CHAR: "string", Kind.VARCHAR: "string",
    Kind.TEXT: "string", Kind.BINARY: "binary", Kind.DATE: "date", Kind.TIME: "string",
    # With every JVM and session in UTC, a timestamp without a zone keeps its wall-clock value and
    # one with a zone arrives as UTC, as QDBM stores it where the target has no zone.
    Kind.TIMESTAMP: "timestamp", Kind.TIMESTAMPTZ: "timestamp", Kind.JSON: "string", Kind.UUID: "string",
}
_QUOTES = {"postgresql": ('"', '"'), "mysql": ("`", "`"), "sqlserver": ("[", "]"), "oracle": ('"', '"'),
           "sqlite": ('"', '"')}
_MARK_TYPES = {Kind.INT16: "int", Kind.INT32: "int", Kind.INT64: "int", Kind.DECIMAL: "decimal",
               Kind.DATE: "date", Kind.TIMESTAMP: "timestamp", Kind.TIMESTAMPTZ: "timestamptz",
               Kind.CHAR: "text", Kind.VARCHAR: "text", Kind.TEXT: "text"}


@dataclass(frozen=True)
class SparkPartitioning:
    """How the script splits the read: Spark's partitionColumn, lowerBound, upperBound, numPartitions.

    Without bounds the script reads the column's smallest and largest value first.
    """

    column: str | None = None
    lower: str | None = None
    upper: str | None = None
    partitions: int | None = None

    def validate(self) -> None:
        if (self.lower is None) != (self.upper is None):
            raise UsageError("give both --lower-bound and --upper-bound, or neither")
        if self.lower is not None and self.column is None:
            raise UsageError("bounds need --partition-by COLUMN")
        if self.partitions is not None and not 1 <= self.partitions <= 10_000:
            raise UsageError("--partitions must be between 1 and 10,000")


def password_variable(connection: str) -> str:
    """``QDBM_PASSWORD_<CONNECTION>``: the name upper-cased, every other character as ``_``."""
    return "QDBM_PASSWORD_" + re.sub(r"[^A-Z0-9]", "_", connection.upper())


def spark_type(ptype: PortableType) -> str:
    """The Spark SQL type a column is cast to on its way to the target."""
    if ptype.kind is Kind.DECIMAL:
        if ptype.precision is None or ptype.precision > SPARK_MAX_PRECISION:
            return "string"
        return f"decimal({ptype.precision},{ptype.scale or 0})"
    return _SPARK_TYPES[ptype.kind]


def jdbc_url(profile: ConnectionProfile, role: str) -> str:
    """The JDBC URL of a saved connection (no secret: user and password are properties)."""
    engine = profile.type
    host = profile.host or "localhost"
    port = profile.port or get_dialect(engine).default_port
    database = quote(profile.database or "", safe="")
    if engine == "postgresql":
        # unspecified: text sent for uuid, json and time columns is parsed by the server;
        # the executors' batches of INSERTs go as multi-row statements.
        options = "stringtype=unspecified" + ("&reWriteBatchedInserts=true" if role == "target" else "")
        return f"jdbc:postgresql://{host}:{port}/{database}?{options}"
    if engine == "mysql":
        # jdbc:mysql: (not jdbc:mariadb:) so that Spark quotes names with backquotes.
        options = "useUnicode=true&characterEncoding=UTF-8&zeroDateTimeBehavior=CONVERT_TO_NULL"
        if role == "target":
            options += "&rewriteBatchedStatements=true"
        return f"jdbc:mysql://{host}:{port}/{database}?{options}"
    if engine == "sqlserver":
        return f"jdbc:sqlserver://{host}:{port};databaseName={profile.database or ''}"
    if engine == "oracle":
        return f"jdbc:oracle:thin:@//{host}:{port}/{profile.database or ''}"
    if engine == "sqlite":
        if not profile.path:
            raise UsageError(f"connection {profile.name!r} names no SQLite file")
        return f"jdbc:sqlite:{Path(profile.path).expanduser().resolve()}"
    raise UsageError(f"a Spark job cannot read {engine} connections")


def _source_session(engine: str) -> str | None:
    if engine == "postgresql":
        return "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; SET TIME ZONE 'UTC'"
    if engine == "mysql":
        return "SET SESSION time_zone = '+00:00'"
    if engine == "oracle":
        return "ALTER SESSION SET TIME_ZONE = '+00:00'"
    return None


def _one_statement(engine: str, statements: Sequence[str]) -> str | None:
    """The target's load settings as the one statement Spark's sessionInitStatement takes."""
    if not statements:
        return None
    if engine == "postgresql":
        return "; ".join(statements)  # the PostgreSQL JDBC driver runs several in one call
    # MySQL takes several SESSION assignments in one SET; the connector negotiates utf8mb4 itself.
    parts = [s[len("SET SESSION "):] for s in statements if s.upper().startswith("SET SESSION ")]
    return "SET SESSION " + ", SESSION ".join(parts) if parts else None


def _side(profile: ConnectionProfile, role: str) -> dict[str, Any]:
    return {"connection": profile.name, "engine": profile.type, "url": jdbc_url(profile, role),
            "user": profile.user or "", "password_variable": password_variable(profile.name),
            "quote": list(_QUOTES[profile.type])}


def _variant(dialect: Dialect, job: Job, mode: LoadMode, table: TableName, staging: TableName,
             source_names: Sequence[str], columns: Sequence[Column], exists: bool) -> dict[str, Any]:
    primary_key = job.keys if mode is LoadMode.UPSERT and not exists else ()
    plan: SwapPlan = dialect.swap_plan(mode, table, staging, columns, job.keys, exists)
    return {
        "staging": dialect.qualified(staging),
        "create_staging": dialect.create_table_sql(staging, columns, primary_key),
        "columns": [[src, c.name, spark_type(c.type)] for src, c in zip(source_names, columns, strict=True)],
        "swap": {"statements": list(plan.statements), "transactional": plan.transactional,
                 "after_commit": list(plan.after_commit)},
    }


def _upsert_checks(dialect: Dialect, engine: str, job: Job, table: TableName,
                   staging: TableName) -> dict[str, Any]:
    keys = [dialect.quote_identifier(k) for k in job.keys]
    staging_q, table_q = dialect.qualified(staging), dialect.qualified(table)
    condition = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    checks: dict[str, Any] = {
        "distinct": f"SELECT COUNT(*) FROM (SELECT DISTINCT {', '.join(keys)} FROM {staging_q}) d",
        "matching": f"SELECT COUNT(*) FROM {staging_q} s WHERE EXISTS "
                    f"(SELECT 1 FROM {table_q} t WHERE {condition})",
        "unique_key_check": None,
    }
    if engine == "mysql":
        # MySQL's ON DUPLICATE KEY needs a unique index on exactly the keys, or it appends
        # duplicates (PostgreSQL's ON CONFLICT refuses by itself).
        def text(value: str) -> str:
            return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
        schema = text(table.schema) if table.schema else "DATABASE()"
        names = ", ".join(text(k) for k in job.keys)
        checks["unique_key_check"] = (
            "SELECT COUNT(*) FROM (SELECT INDEX_NAME FROM information_schema.STATISTICS "
            f"WHERE TABLE_SCHEMA = {schema} AND TABLE_NAME = {text(table.name)} AND NON_UNIQUE = 0 "
            f"GROUP BY INDEX_NAME HAVING COUNT(*) = {len(job.keys)} "
            f"AND SUM(COLUMN_NAME IN ({names})) = {len(job.keys)}) k")
    return checks


def _describe_query(source: Endpoint, job: Job, mark: Watermark | None) -> list[Column]:
    """The query's columns, read as a preview reads them (an incremental query with its mark)."""
    query = job.query
    if job.incremental_column and WATERMARK_PLACEHOLDER.search(query):
        if mark is None:
            raise UsageError(f"job {job.name!r}: its query uses {{{{ watermark }}}} and it has no mark yet; "
                             f"set the first one with: qdbm jobs reset-mark {job.name!r} --to VALUE")
        literal = spark_runner.sql_literal(source.type, mark.value())
        query = WATERMARK_PLACEHOLDER.sub(lambda _m: literal, query)
    return preview_query(source, query, limit=1).columns


def spark_job_config(job: Job, connections: ConnectionStore, settings: Settings,
                     mark: Watermark | None = None,
                     partitioning: SparkPartitioning | None = None) -> dict[str, Any]:
    """Everything the exported script needs to know, as plain values (the source and target are
    asked for the query's columns and the table's, as ``qdbm migrate --dry-run`` does)."""
    job.validate()
    partitioning = partitioning or SparkPartitioning()
    partitioning.validate()
    source_profile, target_profile = connections.get(job.source), connections.get(job.target)
    if source_profile.type not in SOURCE_ENGINES:
        raise UsageError(f"a Spark job cannot read {source_profile.display_type} connections")
    if target_profile.type not in TARGET_ENGINES:
        raise UsageError(f"a Spark job loads into PostgreSQL or MySQL/MariaDB; {target_profile.display_type} "
                         "is not available as its target yet")
    mode = LoadMode(job.mode)
    table = TableName.parse(job.table)
    source, target = resolve_endpoint(connections, job.source), resolve_endpoint(connections, job.target)
    dialect = target.dialect
    staging = TableName(STAGING_PREFIX + spark_runner.RUN_TOKEN, table.schema)
    if spark_runner.RUN_TOKEN in job.query or spark_runner.RUN_TOKEN in job.table:
        raise UsageError(f"the job names {spark_runner.RUN_TOKEN}, which the script uses for itself")

    source_columns = _describe_query(source, job, mark)
    mapped = map_columns(source_columns, {}, job.column_map)
    positions = kept_positions(source_columns, job.column_map)
    kept = source_columns if positions is None else [source_columns[i] for i in positions]
    source_names = [c.name for c in kept]
    for column in mapped:
        dialect.check_identifier(column.name)
        dialect.native_type(column.type)
    info = describe_target(target, table)
    existing = mapped
    if info.exists and mode in (LoadMode.APPEND, LoadMode.TRUNCATE, LoadMode.UPSERT):
        existing = match_existing(mapped, info.columns, table)
        missing = sorted(set(job.keys) - {c.name for c in existing})
        if missing:
            raise UsageError(f"key column {missing[0]!r} is not among the query's columns")

    config: dict[str, Any] = {
        "job": {"name": job.name, "source": job.source, "target": job.target, "table": job.table,
                "mode": mode.value, "keys": list(job.keys), "query": job.query},
        "batch_size": job.batch_size or settings.batch_size,
        "source": {**_side(source_profile, "source"), "session_sql": _source_session(source_profile.type)},
        "target": {**_side(target_profile, "target"), "table": dialect.qualified(table),
                   "load_session_sql": list(dialect.load_session_sql()),
                   "session_sql": _one_statement(target_profile.type, dialect.load_session_sql())},
        "custom_schema": _custom_schema(source_columns),
        "partitioning": {"column": partitioning.column, "lower": partitioning.lower,
                         "upper": partitioning.upper, "partitions": partitioning.partitions},
        "incremental": _incremental(job, source, source_columns, mark),
        "variants": {
            "missing": _variant(dialect, job, mode, table, staging, source_names, mapped, False),
            "existing": _variant(dialect, job, mode, table, staging, source_names, existing, True),
        },
        "upsert": _upsert_checks(dialect, target_profile.type, job, table, staging)
        if mode is LoadMode.UPSERT else None,
    }
    if partitioning.column is not None and partitioning.column not in [c.name for c in source_columns]:
        raise UsageError(f"--partition-by {partitioning.column!r} is not a column of the query "
                         f"(columns: {', '.join(c.name for c in source_columns)})")
    return config


def _custom_schema(columns: Sequence[Column]) -> str | None:
    """Columns Spark would read lossily, read as their text instead (decimals wider than Spark's
    38 digits or without a precision, times of day)."""
    wide = [c for c in columns if spark_type(c.type) == "string" and c.type.kind in (Kind.DECIMAL, Kind.TIME)]
    if not wide:
        return None
    return ", ".join("`" + c.name.replace("`", "``") + "` STRING" for c in wide)


def _incremental(job: Job, source: Endpoint, columns: Sequence[Column],
                 mark: Watermark | None) -> dict[str, Any] | None:
    column = job.incremental_column
    if column is None:
        return None
    by_name = {c.name: c for c in columns}
    found = by_name.get(column) or next((c for c in columns if c.name.casefold() == column.casefold()), None)
    if found is None:
        raise UsageError(f"the incremental column {column!r} is not a column of the query "
                         f"(columns: {', '.join(by_name)})")
    mark_type = mark.type if mark is not None else _MARK_TYPES.get(found.type.kind)
    if mark_type is None:
        raise UsageError(f"the incremental column {column!r} holds {found.type} values, "
                         "which cannot be a mark")
    lookback = Lookback.parse(job.lookback) if job.lookback else None
    return {
        "column": found.name,
        "quoted_column": source.dialect.quote_identifier(column),
        "operator": ">=" if job.keys else ">",
        "mark_type": mark_type,
        "mark": mark.text if mark is not None else None,
        "lookback": None if lookback is None else
        ({"seconds": lookback.seconds} if lookback.seconds is not None else {"count": lookback.count}),
    }


def spark_script(config: dict[str, Any]) -> str:
    """The script's text: what it is and how to run it, the settings, then the runner's code."""
    job, source, target = config["job"], config["source"], config["target"]
    variables = sorted({source["password_variable"], target["password_variable"]})
    title = _docstring_safe(f"QDBM job {job['name']!r} on Apache Spark: {job['source']} -> "
                            f"{job['target']}.{job['table']} ({job['mode']}).")
    header = f'''#!/usr/bin/env python3
"""{title}

Written by qdbm jobs export --spark. It holds no password: set these environment variables first
(an empty value for a connection without one):

{chr(10).join(f"    {v}" for v in variables)}

Run it unchanged on one machine or a cluster, with the JDBC drivers of both engines:

    spark-submit --master 'local[*]' \\
        --jars /usr/share/java/postgresql.jar,/usr/share/java/mariadb-java-client.jar FILE.py
    spark-submit --master yarn --deploy-mode cluster \\
        --packages org.postgresql:postgresql:42.7.4,org.mariadb.jdbc:mariadb-java-client:3.5.1 FILE.py

Options: --mark VALUE (an incremental job's starting mark), --full, --partition-by COLUMN,
--lower-bound/--upper-bound, --partitions N. Exit code 0: the target holds the new rows;
1: the run failed and the target is unchanged; 2: bad input, nothing started.
See docs/scaling-out.md in QDBM Desktop.
"""
'''
    settings = ("\n# The job, as exported. Edit the JDBC URLs here if the cluster reaches the databases by "
                "other names.\n"
                f"PASSWORD_VARIABLES = {variables!r}\n"
                f"CONFIG = {pprint.pformat(config, width=108, sort_dicts=False)}\n\n")
    body = resources.files("qdbm_desktop.core").joinpath("spark_runner.py").read_text(encoding="utf-8")
    # The runner's own docstring and __future__ line go first in the file, then the settings.
    future = "from __future__ import annotations\n"
    before, _, after = body.partition(future)
    code = after.lstrip("\n")
    return (header + future + "\n" + _without_docstring(before) + settings + code
            + '\n\nif __name__ == "__main__":\n    sys.exit(main(CONFIG))\n')


def _docstring_safe(text: str) -> str:
    """``text`` on one line, unable to end the docstring it goes in (names may hold any character)."""
    return " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')


def _without_docstring(text: str) -> str:
    return re.sub(r'^\s*""".*?"""\s*', "", text, count=1, flags=re.S)


def export_spark_job(job: Job, connections: ConnectionStore, settings: Settings, path: str | Path,
                     mark: Watermark | None = None,
                     partitioning: SparkPartitioning | None = None) -> Path:
    """Write the job's Spark script to ``path``; ``UsageError`` naming what stops it."""
    file = Path(path).expanduser()
    if file.suffix.lower() != ".py":
        raise UsageError("a Spark job is a Python file: give a FILE ending in .py")
    text = spark_script(spark_job_config(job, connections, settings, mark, partitioning))
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {file}: {exc.strerror or exc}") from None
    return file
