"""The body of an exported Spark job (``qdbm jobs export NAME --spark FILE.py``).

This module is copied, below the job's settings, into the file ``spark_export`` writes; it is
never imported by QDBM itself. It therefore uses the standard library and PySpark only, and
imports PySpark inside the functions that need it.

The run keeps QDBM's promises with what Spark offers:

1. a partitioned JDBC read of the query (one connection per partition, in parallel);
2. the columns cast to the job's mapping and written by the executors into a staging table
   ``qdbm_stg_<run id>`` that the driver created first with QDBM's own DDL;
3. on the driver, over one plain JDBC connection: staged rows = rows read (counted by Spark
   while the rows went by), then the target dialect's swap SQL, in one transaction where the
   target allows it, and the target's row count checked before the commit;
4. exit code 0 when the target holds the new rows, non-zero with one line otherwise; the
   staging table is dropped whatever happened, so a failed run leaves the target as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import sys
import time
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

PROG = "qdbm-spark"
#: Where the swap SQL, generated with the staging table's name as this token, takes the run's name.
RUN_TOKEN = "QDBMRUNID000"
_RUN_ID = re.compile(r"[0-9a-f]{12}")

# The engines' JDBC driver classes, first the one that is tried first.
DRIVER_CLASSES = {
    "postgresql": ("org.postgresql.Driver",),
    "mysql": ("com.mysql.cj.jdbc.Driver", "org.mariadb.jdbc.Driver"),
    "sqlserver": ("com.microsoft.sqlserver.jdbc.SQLServerDriver",),
    "oracle": ("oracle.jdbc.OracleDriver",),
    "sqlite": ("org.sqlite.JDBC",),
}
DRIVER_HINTS = {
    "postgresql": "--packages org.postgresql:postgresql:42.7.4 (or --jars /usr/share/java/postgresql.jar)",
    "mysql": "--packages org.mariadb.jdbc:mariadb-java-client:3.5.1 or com.mysql:mysql-connector-j:9.1.0 "
             "(or --jars /usr/share/java/mariadb-java-client.jar)",
    "sqlserver": "--packages com.microsoft.sqlserver:mssql-jdbc:12.8.1.jre11",
    "oracle": "--packages com.oracle.database.jdbc:ojdbc11:23.6.0.24.10",
    "sqlite": "--packages org.xerial:sqlite-jdbc:3.47.1.0",
}


class JobFailed(Exception):
    """The run failed; the message is the one line the script prints."""

    def __init__(self, message: str, committed: bool = False) -> None:
        super().__init__(message)
        self.committed = committed


class BadInput(Exception):
    """A missing password variable or a bad command-line value: nothing was started."""


# -- the command line ---------------------------------------------------------------------------


def parse_arguments(argv: list[str], job: dict[str, Any]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=f"Run the QDBM job {job['name']!r} on Spark.")
    parser.add_argument("--mark", help="an incremental job's mark to start from (overrides the one "
                        "exported), in the form qdbm jobs reset-mark --to takes")
    parser.add_argument("--full", action="store_true", help="an incremental job reads every row (no mark)")
    parser.add_argument("--partition-by", metavar="COLUMN", help="a numeric, date or timestamp column of "
                        "the query to split the read by")
    parser.add_argument("--lower-bound", help="the partition column's smallest value (default: read)")
    parser.add_argument("--upper-bound", help="the partition column's largest value (default: read)")
    parser.add_argument("--partitions", type=int, metavar="N",
                        help="how many parallel reads and writes (default: the job's, else the "
                        "cluster's default parallelism)")
    args = parser.parse_args(argv)
    if args.partitions is not None and args.partitions < 1:
        raise BadInput("--partitions must be at least 1")
    if (args.lower_bound is None) != (args.upper_bound is None):
        raise BadInput("give both --lower-bound and --upper-bound, or neither")
    return args


def password_of(side: dict[str, Any]) -> str:
    """The side's password from its environment variable (which may be set to an empty value)."""
    name = side["password_variable"]
    value = os.environ.get(name)
    if value is None:
        raise BadInput(f"the environment variable {name} is not set: it holds the password of the "
                       f"connection {side['connection']!r} (set it to an empty value when it has none)")
    return value


# -- the mark -------------------------------------------------------------------------------------


def mark_value(kind: str, text: str) -> Any:
    """An incremental mark as a Python value; ``BadInput`` for a text that is not of its type."""
    text = text.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "decimal":
            value = Decimal(text)
            if not value.is_finite():
                raise ValueError(text)
            return value
        if kind == "date":
            return dt.date.fromisoformat(text)
        if kind in ("timestamp", "timestamptz"):
            moment = dt.datetime.fromisoformat(text)
            if kind == "timestamptz":
                if moment.tzinfo is None:
                    raise ValueError("no time zone")
                return moment.astimezone(dt.timezone.utc)
            if moment.tzinfo is not None:
                raise ValueError("a time zone where the column has none")
            return moment
        if kind == "text":
            return text
    except (ValueError, InvalidOperation):
        raise BadInput(f"--mark {text!r} is not a {kind} value") from None
    raise BadInput(f"unknown mark type {kind!r}")


def mark_text(value: Any) -> str:
    """A mark in the form ``qdbm jobs reset-mark --to`` reads."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def lower_by(value: Any, lookback: dict[str, int] | None) -> Any:
    if not lookback:
        return value
    if "seconds" in lookback:
        return value - dt.timedelta(seconds=lookback["seconds"])
    return value - lookback["count"]


def sql_literal(engine: str, value: Any) -> str:
    """``value`` as a literal of the source's SQL (Spark's JDBC source binds no parameters)."""
    if isinstance(value, bool):
        raise BadInput("a boolean cannot be a mark")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        zoned = value.tzinfo is not None
        if zoned:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        text = value.isoformat(sep=" ", timespec="microseconds")
        if zoned and engine == "postgresql":
            return f"TIMESTAMP WITH TIME ZONE '{text}+00:00'"
        if zoned and engine == "oracle":
            return f"TIMESTAMP '{text} +00:00'"
        # MySQL compares in the session's zone, which the read sets to UTC.
        if engine == "sqlserver":
            return f"CAST('{text}' AS datetime2(7))"
        if engine == "sqlite":
            return f"'{text}'"
        return f"TIMESTAMP '{text}'"
    if isinstance(value, dt.date):
        if engine == "sqlserver":
            return f"CAST('{value.isoformat()}' AS date)"
        if engine == "sqlite":
            return f"'{value.isoformat()}'"
        return f"DATE '{value.isoformat()}'"
    text = str(value).replace("'", "''")
    if engine == "mysql":
        text = text.replace("\\", "\\\\")
    return f"N'{text}'" if engine == "sqlserver" else f"'{text}'"


def source_query(config: dict[str, Any], mark: Any) -> str:
    """The job's query, limited to the rows past ``mark`` for an incremental job."""
    job, incremental = config["job"], config.get("incremental")
    text: str = job["query"].strip().rstrip(";").rstrip()
    if not incremental:
        return text
    placeholder = re.compile(r"\{\{\s*watermark\s*\}\}")
    engine = config["source"]["engine"]
    if mark is None:
        if placeholder.search(text):
            raise BadInput(f"job {job['name']!r}: its query uses {{{{ watermark }}}} and there is no mark: "
                           "give one with --mark VALUE")
        return text
    literal = sql_literal(engine, lower_by(mark, incremental.get("lookback")))
    if placeholder.search(text):
        return placeholder.sub(lambda _m: literal, text)
    return (f"SELECT * FROM (\n{text}\n) qdbm_incremental "
            f"WHERE qdbm_incremental.{incremental['quoted_column']} {incremental['operator']} {literal}")


# -- JDBC on the driver ---------------------------------------------------------------------------


class Jdbc:
    """One plain JDBC connection opened on the driver through py4j (DDL, checks and the swap)."""

    def __init__(self, spark: Any, side: dict[str, Any], driver_class: str, password: str) -> None:
        jvm: Any = spark.sparkContext._jvm
        properties = jvm.java.util.Properties()
        properties.setProperty("user", side["user"] or "")
        properties.setProperty("password", password)
        for key, value in side.get("properties", {}).items():
            properties.setProperty(key, value)
        # Spark's registry wraps a driver loaded from --jars/--packages so that DriverManager,
        # which only trusts drivers from its caller's class loader, hands it out.
        jvm.org.apache.spark.sql.execution.datasources.jdbc.DriverRegistry.register(driver_class)
        self.connection = jvm.java.sql.DriverManager.getConnection(side["url"], properties)
        self.connection.setAutoCommit(True)

    def execute(self, sql: str) -> None:
        statement = self.connection.createStatement()
        try:
            statement.execute(sql)
        finally:
            statement.close()

    def scalar(self, sql: str) -> Any:
        statement = self.connection.createStatement()
        try:
            result = statement.executeQuery(sql)
            result.next()
            return result.getObject(1)
        finally:
            statement.close()

    def count(self, sql: str) -> int:
        return int(str(self.scalar(sql)))

    def exists(self, qualified: str) -> bool:
        # Whether a table answers, in any engine; a missing one fails the query (and in
        # PostgreSQL aborts a transaction, so this runs only outside one).
        statement = self.connection.createStatement()
        try:
            statement.executeQuery(f"SELECT 1 FROM {qualified} WHERE 1 = 0").close()
            return True
        except Exception:  # noqa: BLE001 - any SQLException: the table is not there
            return False
        finally:
            statement.close()

    def begin(self) -> None:
        self.connection.setAutoCommit(False)

    def commit(self) -> None:
        self.connection.commit()
        self.connection.setAutoCommit(True)

    def rollback(self) -> None:
        # The connection may be gone; nothing was committed then either.
        with contextlib.suppress(Exception):
            self.connection.rollback()
            self.connection.setAutoCommit(True)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()


def driver_class(spark: Any, engine: str) -> str:
    """The first JDBC driver class of ``engine`` the driver's JVM can load."""
    jvm: Any = spark.sparkContext._jvm
    loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
    for name in DRIVER_CLASSES[engine]:
        try:
            jvm.java.lang.Class.forName(name, True, loader)
            return name
        except Exception:  # noqa: BLE001 - not on the class path; try the next one
            continue
    raise BadInput(f"no JDBC driver for {engine} on the class path: pass {DRIVER_HINTS[engine]}")


def with_driver(side: dict[str, Any], driver: str) -> dict[str, Any]:
    """MariaDB Connector/J 3 takes jdbc:mysql: URLs (which Spark quotes with backquotes) only when asked."""
    if driver == "org.mariadb.jdbc.Driver":
        url = side["url"] + ("&" if "?" in side["url"] else "?") + "permitMysqlScheme"
        return {**side, "url": url}
    return side


# -- the run --------------------------------------------------------------------------------------


def one_line(exc: BaseException, secrets: list[str]) -> str:
    """The error as one line without a secret: a Java exception's own message, not its trace."""
    java = getattr(exc, "java_exception", None)
    text = str(java.getMessage()) if java is not None and java.getMessage() is not None else str(exc)
    text = " ".join(text.split())
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text[:2000]


def spark_session(config: dict[str, Any]) -> Any:
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    conf = SparkConf()
    options = conf.get("spark.executor.extraJavaOptions", "") or ""
    if "-Duser.timezone" not in options:
        # Executors on a cluster are started after this: they read and write times in UTC, as
        # QDBM's own sessions do (a JVM in another zone shifts timestamps without a zone).
        conf.set("spark.executor.extraJavaOptions", (options + " -Duser.timezone=UTC").strip())
    conf.set("spark.sql.session.timeZone", "UTC")
    # A speculative copy of a write task commits its partition a second time; the count check
    # would then fail the run, so every partition is written by one attempt at a time.
    conf.set("spark.speculation", "false")
    builder = SparkSession.builder.appName(f"qdbm: {config['job']['name']}").config(conf=conf)
    spark = builder.getOrCreate()
    jvm: Any = spark.sparkContext._jvm
    # The driver's JVM (and in local mode the executors in it) was started before this script.
    jvm.java.util.TimeZone.setDefault(jvm.java.util.TimeZone.getTimeZone("UTC"))
    return spark


def read_options(config: dict[str, Any], source: dict[str, Any], password: str,
                 driver: str) -> dict[str, str]:
    options = {"url": source["url"], "driver": driver, "user": source["user"] or "", "password": password,
               "fetchsize": str(config["batch_size"])}
    options.update(source.get("properties", {}))
    if source.get("session_sql"):
        options["sessionInitStatement"] = source["session_sql"]
    return options


def partition_bounds(spark: Any, options: dict[str, str], query: str, column: str) -> tuple[str, str] | None:
    """The query's smallest and largest ``column`` (None when the query returns no row)."""
    bounds_query = f"SELECT MIN({column}) AS lo, MAX({column}) AS hi FROM ({query}) qdbm_bounds"
    row = spark.read.format("jdbc").options(**options).option("query", bounds_query).load().collect()[0]
    if row["lo"] is None:
        return None
    return bound_text(row["lo"]), bound_text(row["hi"])


def bound_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(int(value))
    return str(value)


def run(config: dict[str, Any], args: argparse.Namespace) -> int:
    job, source, target = config["job"], config["source"], config["target"]
    secrets = [password_of(source), password_of(target)]
    incremental = config.get("incremental")
    mark = None
    if incremental and not args.full:
        if args.mark is not None:
            mark = mark_value(incremental["mark_type"], args.mark)
        elif incremental.get("mark") is not None:
            mark = mark_value(incremental["mark_type"], incremental["mark"])
    query = source_query(config, mark)
    run_id = uuid.uuid4().hex[:12]
    assert _RUN_ID.fullmatch(run_id)
    started = time.monotonic()

    spark = spark_session(config)
    jdbc: Jdbc | None = None
    staging_made = swapped = False
    variant: dict[str, Any] = {}
    try:
        source_driver = driver_class(spark, source["engine"])
        target_driver = driver_class(spark, target["engine"])
        source_side = with_driver(source, source_driver)
        target_side = with_driver(target, target_driver)
        jdbc = Jdbc(spark, target_side, target_driver, secrets[1])
        for statement in target["load_session_sql"]:
            jdbc.execute(statement)
        exists = jdbc.exists(target["table"])
        if job["mode"] == "create" and exists:
            raise JobFailed(f"the table {job['table']} already exists (mode create)")
        if job["mode"] == "truncate" and not exists:
            raise JobFailed(f"the table {job['table']} does not exist (mode truncate empties an existing "
                            "table; use append, create or replace to make it)")
        variant = config["variants"]["existing" if exists else "missing"]
        staging = variant["staging"].replace(RUN_TOKEN, run_id)
        before = jdbc.count(f"SELECT COUNT(*) FROM {target['table']}") if exists else 0

        jdbc.execute(variant["create_staging"].replace(RUN_TOKEN, run_id))
        staging_made = True
        print(f"{PROG}: run {run_id}: {job['source']} -> {job['target']}.{job['table']} ({job['mode']}), "
              f"staging table {staging}", file=sys.stderr)

        rows, new_mark = load_staging(spark, config, args, source_side, source_driver, secrets[0],
                                      target_side, target_driver, secrets[1], query, variant, staging)
        staged = jdbc.count(f"SELECT COUNT(*) FROM {staging}")
        if staged != rows:
            raise JobFailed(f"verify failed: {rows:,} rows were read but the staging table holds {staged:,}")
        matched = check_keys(jdbc, config, run_id, rows) if exists and job["mode"] == "upsert" else 0
        expected = {"append": before + rows, "upsert": before + rows - matched}.get(job["mode"], rows)
        swap(jdbc, variant, run_id, target["table"], expected)
        swapped = True
    except (JobFailed, BadInput):
        raise
    except Exception as exc:  # noqa: BLE001 - a Spark, JDBC or py4j error: one line
        raise JobFailed(one_line(exc, secrets)) from None
    finally:
        if jdbc is not None:
            if staging_made and not swapped:
                try:
                    jdbc.rollback()
                    jdbc.execute(f"DROP TABLE IF EXISTS {variant['staging'].replace(RUN_TOKEN, run_id)}")
                except Exception as exc:  # noqa: BLE001 - QDBM's next run into this table drops it
                    print(f"{PROG}: warning: the staging table could not be dropped now "
                          f"({one_line(exc, secrets)}); QDBM's next run into this target drops it",
                          file=sys.stderr)
            jdbc.close()
        spark.stop()
    print(f"{PROG}: succeeded: {rows:,} rows into {job['table']} ({job['mode']}) in "
          f"{time.monotonic() - started:.1f} s")
    if incremental:
        report_mark(job["name"], incremental["mark_type"], mark, new_mark)
    return 0


def load_staging(spark: Any, config: dict[str, Any], args: argparse.Namespace, source: dict[str, Any],
                 source_driver: str, source_password: str, target: dict[str, Any], target_driver: str,
                 target_password: str, query: str, variant: dict[str, Any], staging: str) -> tuple[int, Any]:
    """Read the query with Spark and write it into ``staging``; the rows read and their largest mark."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    options = read_options(config, source, source_password, source_driver)
    if config.get("custom_schema"):
        options["customSchema"] = config["custom_schema"]
    partitioning = config.get("partitioning") or {}
    column = args.partition_by or partitioning.get("column")
    partitions = args.partitions or partitioning.get("partitions") or spark.sparkContext.defaultParallelism
    reader = spark.read.format("jdbc").options(**options)
    lower = args.lower_bound or partitioning.get("lower")
    upper = args.upper_bound or partitioning.get("upper")
    if column and lower is None:
        opening, closing = config["source"]["quote"]
        quoted = opening + column.replace(closing, closing * 2) + closing
        found = partition_bounds(spark, {k: v for k, v in options.items() if k != "customSchema"},
                                 query, quoted)
        if found is None:
            # No row (an incremental run with nothing new): there is nothing to split, and "0"
            # would not be a bound of a date or timestamp column.
            print(f"{PROG}: the query returns no row; reading it in one partition", file=sys.stderr)
            column = None
        else:
            lower, upper = found
    if column:
        print(f"{PROG}: reading in {partitions} partitions by {column} from {lower} to {upper}",
              file=sys.stderr)
        reader = (reader.option("dbtable", f"({query}) qdbm_src").option("partitionColumn", column)
                  .option("lowerBound", lower).option("upperBound", upper)
                  .option("numPartitions", str(partitions)))
    else:
        reader = reader.option("query", query)
    frame = reader.load()

    observation = Observation("qdbm_run")
    metrics = [F.count(F.lit(1)).alias("rows")]
    incremental = config.get("incremental")
    if incremental:
        metrics.append(F.max(F.col(f"`{incremental['column']}`")).alias("mark"))
    frame = frame.observe(observation, *metrics)
    selected = [F.col(f"`{source_name}`").cast(spark_type).alias(name)
                for source_name, name, spark_type in variant["columns"]]
    frame = frame.select(*selected)
    write = {"url": target["url"], "driver": target_driver, "user": target["user"] or "",
             "password": target_password, "dbtable": staging, "batchsize": str(config["batch_size"])}
    write.update(target.get("properties", {}))
    if target.get("session_sql"):
        write["sessionInitStatement"] = target["session_sql"]
    frame.write.format("jdbc").options(**write).mode("append").save()
    seen = observation.get
    return int(seen["rows"]), seen.get("mark")


def check_keys(jdbc: Jdbc, config: dict[str, Any], run_id: str, rows: int) -> int:
    """An upsert's checks: one staged row per key, and how many keys the target has already."""
    keys = config["upsert"]
    if keys.get("unique_key_check"):
        found = jdbc.count(keys["unique_key_check"])
        if not found:
            raise JobFailed(f"upsert into {config['job']['table']} needs a PRIMARY KEY or UNIQUE index on "
                            f"exactly ({', '.join(config['job']['keys'])})")
    distinct = jdbc.count(keys["distinct"].replace(RUN_TOKEN, run_id))
    if distinct != rows:
        raise JobFailed(f"verify failed: the query returns several rows with the same key "
                        f"({', '.join(config['job']['keys'])}); an upsert needs one row per key")
    return jdbc.count(keys["matching"].replace(RUN_TOKEN, run_id))


def swap(jdbc: Jdbc, variant: dict[str, Any], run_id: str, table: str, expected: int) -> None:
    """The target dialect's swap SQL; the target's count checked before the commit where it can be."""
    plan = variant["swap"]
    statements = [s.replace(RUN_TOKEN, run_id) for s in plan["statements"]]
    if plan["transactional"]:
        jdbc.begin()
        try:
            for statement in statements:
                jdbc.execute(statement)
            after = jdbc.count(f"SELECT COUNT(*) FROM {table}")
            if after != expected:
                raise JobFailed(f"verify failed: the table {table} would hold {after:,} rows, not the "
                                f"{expected:,} expected; nothing was committed")
            jdbc.commit()
        except BaseException:
            jdbc.rollback()
            raise
    else:
        for statement in statements:
            jdbc.execute(statement)
        after = jdbc.count(f"SELECT COUNT(*) FROM {table}")
        if after != expected:
            raise JobFailed(f"verify failed: the table {table} should hold {expected:,} rows but holds "
                            f"{after:,}; the rows were committed, so another writer changed it: check it",
                            committed=True)
    for statement in plan["after_commit"]:
        try:
            jdbc.execute(statement.replace(RUN_TOKEN, run_id))
        except Exception as exc:  # noqa: BLE001 - committed already; QDBM's next run drops the leftover
            print(f"{PROG}: warning: {one_line(exc, [])} (the rows are committed)", file=sys.stderr)


def report_mark(job_name: str, mark_type: str, previous: Any, loaded: Any) -> None:
    """Print the mark the next run starts from, as ``qdbm jobs reset-mark --to`` takes it."""
    if isinstance(loaded, dt.datetime) and loaded.tzinfo is None and mark_type == "timestamptz":
        # PySpark hands timestamps over in the driver's zone, which this script set to UTC.
        loaded = loaded.replace(tzinfo=dt.timezone.utc)
    new = loaded
    if previous is not None and (loaded is None or _safe_less(loaded, previous)):
        new = previous
    if new is None:
        print(f"{PROG}: no rows, so no mark yet")
        return
    text = mark_text(new)
    quoted = "'" + job_name.replace("'", "'\"'\"'") + "'"
    print(f"QDBM_MARK={text}")
    print(f"{PROG}: keep the mark in QDBM with: qdbm jobs reset-mark {quoted} --to '{text}'")


def _safe_less(a: Any, b: Any) -> bool:
    try:
        return bool(a < b)
    except TypeError:
        return False


def main(config: dict[str, Any], argv: list[str] | None = None) -> int:
    """Run the job; the exit code says how it went (0 done, 1 failed, 2 bad input)."""
    # PySpark turns timestamps into Python values in this process's zone.
    os.environ["TZ"] = "UTC"
    if hasattr(time, "tzset"):
        time.tzset()
    try:
        args = parse_arguments(sys.argv[1:] if argv is None else argv, config["job"])
        return run(config, args)
    except BadInput as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except JobFailed as exc:
        outcome = "" if exc.committed else "; the target is unchanged"
        print(f"{PROG}: failed: {exc}{outcome}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; the target is unchanged", file=sys.stderr)
        return 130
