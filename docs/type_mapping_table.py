"""Build the "what each source type becomes in each target" table of docs/type-mapping.md.

It creates a table of common column types in each engine, describes a query over it with that
engine's real reader, and asks every target dialect for its DDL type: the table shows what the
code does, not what was meant. SQL Server and Oracle sources go through the type-name mapping
their readers use on what the server describes (sp_describe_first_result_set, the catalog), as
no such server runs where this is built. Run with PostgreSQL and MariaDB up:

    .venv/bin/python docs/type_mapping_table.py > /tmp/table.md

The integration tests rebuild it and compare it with the copy in docs/type-mapping.md.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

from qdbm_desktop.core.dialects import ConnectParams, get_dialect
from qdbm_desktop.core.dialects.oracle import portable_from_declared
from qdbm_desktop.core.dialects.sqlserver import portable_from_type_name
from qdbm_desktop.core.types import Column

TARGETS = ("postgresql", "mysql", "sqlite", "sqlserver", "oracle")
SOURCE_TYPES: dict[str, list[str]] = {
    "postgresql": ["smallint", "integer", "bigint", "numeric(12,2)", "numeric", "real", "double precision",
                   "boolean", "char(3)", "varchar(50)", "text", "bytea", "date", "time", "time(3)",
                   "timestamp", "timestamp(3)", "timestamptz", "json", "jsonb", "uuid", "interval",
                   "interval day to second",
                   "timetz", "inet", "cidr", "macaddr", "macaddr8", "bit(4)", "varbit(8)", "int4range",
                   "numrange", "tstzrange", "daterange", "money", "tsvector", "tsquery", "xml", "point",
                   "box", "integer[]", "text[]", "numeric(5,2)[]", "qdbm_probe_mood", "qdbm_probe_mood[]",
                   "qdbm_probe_positive"],
    "mysql": ["TINYINT(1)", "TINYINT", "SMALLINT", "INT", "INT UNSIGNED", "BIGINT", "BIGINT UNSIGNED",
              "DECIMAL(12,2)", "FLOAT", "DOUBLE", "CHAR(3)", "VARCHAR(50)", "LONGTEXT", "VARBINARY(16)",
              "LONGBLOB", "DATE", "TIME(6)", "DATETIME(6)", "TIMESTAMP(6)", "JSON", "ENUM('a','bc')", "YEAR"],
    "sqlite": ["INTEGER", "SMALLINT", "DECIMAL(12,2)", "REAL", "BOOLEAN", "VARCHAR(50)", "TEXT", "BLOB",
               "DATE", "TIME", "TIMESTAMP", "TIMESTAMPTZ", "JSON", "UUID"],
}
#: Types as the server describes them, read with the dialect's own mapping.
DESCRIBED_TYPES: dict[str, list[str]] = {
    "sqlserver": ["bit", "tinyint", "smallint", "int", "bigint", "decimal(12,2)", "money", "real", "float",
                  "nchar(3)", "nvarchar(50)", "varchar(50)", "nvarchar(max)", "varbinary(16)",
                  "varbinary(max)", "date", "time(7)", "datetime", "datetime2(7)", "datetimeoffset(7)",
                  "uniqueidentifier", "xml"],
    "oracle": ["NUMBER(5)", "NUMBER(10)", "NUMBER(19)", "NUMBER(12,2)", "NUMBER", "BINARY_FLOAT",
               "BINARY_DOUBLE", "CHAR(3 CHAR)", "VARCHAR2(50 CHAR)", "NVARCHAR2(50)", "CLOB", "NCLOB",
               "RAW(16)", "BLOB", "DATE", "TIMESTAMP(6)", "TIMESTAMP(6) WITH TIME ZONE",
               "TIMESTAMP(6) WITH LOCAL TIME ZONE", "INTERVAL DAY TO SECOND", "BOOLEAN", "JSON"],
}
#: What the probe table's types need first, and how it is undone (PostgreSQL's enum and domain).
SETUP: dict[str, tuple[list[str], list[str]]] = {
    "postgresql": (["CREATE TYPE qdbm_probe_mood AS ENUM ('sad', 'happy')",
                    "CREATE DOMAIN qdbm_probe_positive AS integer CHECK (VALUE > 0)"],
                   ["DROP DOMAIN qdbm_probe_positive", "DROP TYPE qdbm_probe_mood"]),
}
NAMES = {"postgresql": "PostgreSQL", "mysql": "MySQL / MariaDB", "sqlite": "SQLite",
         "sqlserver": "SQL Server", "oracle": "Oracle"}


def _read_columns(engine: str, params: ConnectParams, types: list[str]) -> list[Column]:
    """The columns (portable type, exact type) the engine's reader gives each declared type."""
    dialect = get_dialect(engine)
    setup, teardown = SETUP.get(engine, ([], []))
    conn = dialect.connect(params, 10)
    try:
        cursor = conn.cursor()
        cursor.execute("DROP TABLE IF EXISTS qdbm_type_probe")
        for statement in setup:
            cursor.execute(statement)
        body = ", ".join(f"c{i} {t}" + (" NULL" if engine == "mysql" and t.startswith("TIMESTAMP") else "")
                         for i, t in enumerate(types))
        cursor.execute(f"CREATE TABLE qdbm_type_probe ({body})")
        cursor.close()
        conn.commit()
        stream = dialect.open_read(conn, "SELECT * FROM qdbm_type_probe", 10)
        try:
            found = list(stream.columns)
        finally:
            stream.close()
        conn.rollback()
        cursor = conn.cursor()
        cursor.execute("DROP TABLE qdbm_type_probe")
        for statement in teardown:
            cursor.execute(statement)
        cursor.close()
        conn.commit()
        return found
    finally:
        conn.close()


def build(pg: ConnectParams, mysql: ConnectParams) -> str:
    from qdbm_desktop.core.types import PortableType

    lines: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "probe.sqlite"
        sqlite3.connect(path).close()
        sources = {"postgresql": pg, "mysql": mysql, "sqlite": ConnectParams(path=str(path))}
        for engine, params in sources.items():
            header = " | ".join(f"in {NAMES[t]}" for t in TARGETS)
            lines += [f"### From {NAMES[engine]}", "", f"| source type | portable type | {header} |",
                      "|---|---|" + "---|" * len(TARGETS)]
            declared_types = SOURCE_TYPES[engine]
            columns = _read_columns(engine, params, declared_types)
            for declared, column in zip(declared_types, columns, strict=True):
                cells = [f"`{get_dialect(t).column_type(column)}`".replace("|", "\\|") for t in TARGETS]
                lines.append(f"| `{declared}` | {column.type} | " + " | ".join(cells) + " |")
            lines.append("")
    for engine, declared_types in DESCRIBED_TYPES.items():
        header = " | ".join(f"in {NAMES[t]}" for t in TARGETS)
        lines += [f"### From {NAMES[engine]}", "", f"| source type | portable type | {header} |",
                  "|---|---|" + "---|" * len(TARGETS)]
        for declared in declared_types:
            if engine == "sqlserver":
                portable = str(portable_from_type_name(declared))
            else:
                portable = str(portable_from_declared(declared))
            ptype = PortableType.parse(portable)
            cells = [f"`{get_dialect(t).native_type(ptype)}`" for t in TARGETS]
            lines.append(f"| `{declared}` | {portable} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    pg = ConnectParams(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    my = ConnectParams(host="127.0.0.1", port=3306, user="root", database="test")
    sys.stdout.write(build(pg, my))
